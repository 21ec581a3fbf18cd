"""``flask rank`` on real CSV and XLSX files: exact output, exact errors, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from openpyxl import Workbook, load_workbook

from judging.offline import output_format, rank_command

RUBRIC = "rubrics/micro_video.toml"  # trimmed_mean, trim 1, min_judges 3, tie_break content, influence
CRITERIA = ("content", "form", "influence")
SHEETS = {
    # totals 85, 88, 70, 94 → drop 70 and 94 → (85 + 88) / 2 = 86.5
    "MV-001": {"J1": (35, 25, 25), "J2": (36, 26, 26), "J3": (30, 20, 20), "J4": (38, 28, 28)},
    # totals 86, 87, 80 → 86; content 32, 34, 35 → 34
    "MV-002": {"J1": (34, 26, 26), "J2": (35, 26, 26), "J3": (32, 24, 24)},
    # totals 86 × 4 → 86; content 35.5, 36, 36, 36 → 36: ahead of MV-002 on the first tie-break
    "MV-003": {"J1": (36, 25, 25), "J2": (35.5, 25.5, 25), "J3": (36, 25, 25), "J4": (36, 25, 25)},
    # two sheets: not ranked
    "MV-004": {"J1": (20, 15, 15), "J2": (21, 15, 15)},
    "MV-005": {"J1": (30, 20, 20), "J2": (30, 20, 20), "J3": (30, 20, 20)},
}
EXPECTED_CSV = (
    "rank,entry,category,final_score,award,n_sheets,content,form,influence,note\n"
    "1,MV-001,,86.50,一等奖,4,35.50,25.50,25.50,\n"
    "2,MV-003,,86.00,二等奖,4,36.00,25.00,25.00,\n"
    "3,MV-002,,86.00,二等奖,3,34.00,26.00,26.00,\n"
    "4,MV-005,,70.00,二等奖,3,30.00,20.00,20.00,\n"
    ',MV-004,,,,2,,,,"2 valid sheets, fewer than the 3 required."\n'
)


def score_rows() -> list[list[object]]:
    return [
        [entry, judge, key, value]
        for entry, by_judge in SHEETS.items()
        for judge, values in by_judge.items()
        for key, value in zip(CRITERIA, values, strict=True)
    ]


def write_scores_csv(path: Path, rows: list[list[object]] | None = None, header: str = "entry,judge,criterion,score"):
    lines = [header] + [",".join(str(cell) for cell in row) for row in (rows if rows is not None else score_rows())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(*args: str):
    return CliRunner().invoke(rank_command, list(args))


def test_rank_csv_to_stdout(tmp_path):
    scores = write_scores_csv(tmp_path / "scores.csv")
    result = run("--rubric", RUBRIC, "--scores", str(scores))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == EXPECTED_CSV
    assert result.stderr == ""


def test_rank_csv_file_has_a_bom_for_excel(tmp_path):
    scores = write_scores_csv(tmp_path / "scores.csv")
    out = tmp_path / "ranking.csv"
    result = run("--rubric", RUBRIC, "--scores", str(scores), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert out.read_bytes() == b"\xef\xbb\xbf" + EXPECTED_CSV.encode("utf-8")


def test_rank_from_xlsx_to_xlsx(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["entry", "judge", "criterion", "score"])
    for row in score_rows():
        sheet.append(row)
    scores = tmp_path / "scores.xlsx"
    workbook.save(scores)
    out = tmp_path / "ranking.xlsx"
    result = run("--rubric", RUBRIC, "--scores", str(scores), "--out", str(out))
    assert result.exit_code == 0, result.stderr

    ranking = load_workbook(out)["ranking"]
    values = [[cell.value for cell in row] for row in ranking.iter_rows()]
    assert values[0] == ["rank", "entry", "category", "final_score", "award", "n_sheets", *CRITERIA, "note"]
    assert values[1] == [1, "MV-001", None, 86.5, "一等奖", 4, 35.5, 25.5, 25.5, None]
    assert values[5] == [
        None,
        "MV-004",
        None,
        None,
        None,
        2,
        None,
        None,
        None,
        "2 valid sheets, fewer than the 3 required.",
    ]
    assert ranking["D2"].number_format == "0.00"
    sheets = load_workbook(out)["sheets"]
    header = [cell.value for cell in sheets[1]]
    assert header == ["entry", "category", "judge", *CRITERIA, "total", "status", "note"]
    third = [cell.value for cell in sheets[4]]
    assert third == ["MV-001", None, "J3", 30, 20, 20, 70, "dropped: trimmed (lowest)", None]


def test_rank_json_with_explanations(tmp_path):
    scores = write_scores_csv(tmp_path / "scores.csv")
    out = tmp_path / "ranking.json"
    result = run("--rubric", RUBRIC, "--scores", str(scores), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["contest"] == "micro-video"
    assert len(data["rubric_sha256"]) == 64
    assert data["rows"][1] == {
        "rank": 2,
        "entry": "MV-003",
        "category": "",
        "final_score": "86.00",
        "award": "二等奖",
        "n_sheets": 4,
        "content": "36.00",
        "form": "25.00",
        "influence": "25.00",
        "note": "",
    }
    explanation = data["explanations"][2]
    assert explanation["entry"] == "MV-002"
    assert explanation["above"] == {"entry": "MV-003", "decided_by": "tie_break", "criterion": "content"}
    assert explanation["computation"] == {
        "operation": "trimmed_mean",
        "sheets": 3,
        "operands": ["86"],
        "divisor": 1,
        "trim": 1,
        "exact": "86",
        "result": "86.00",
    }
    assert [sheet["status"] for sheet in explanation["sheets"]] == ["counted", "trimmed_high", "trimmed_low"]
    unranked = data["explanations"][4]
    assert (unranked["entry"], unranked["status"]) == ("MV-004", "not_ranked")
    assert unranked["reasons"] == [{"reason": "too_few_sheets", "valid_sheets": 2, "required": 3}]
    assert data["rows"][4]["note"] == "2 valid sheets, fewer than the 3 required."


def test_format_option_overrides_the_suffix(tmp_path):
    scores = write_scores_csv(tmp_path / "scores.csv")
    result = run("--rubric", RUBRIC, "--scores", str(scores), "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["rows"][0]["final_score"] == "86.50"


@pytest.mark.parametrize(
    ("out", "requested", "expected"),
    [
        (None, None, "csv"),
        ("a.XLSX", None, "xlsx"),
        ("a.json", None, "json"),
        ("a.txt", None, "csv"),
        ("a.csv", "json", "json"),
    ],
)
def test_output_format(out, requested, expected):
    assert output_format(out, requested) == expected


BAD_TABLES = [
    (
        "entry,criterion,score\nMV-001,content,30\n",
        "row 1: missing column 'judge' (the header must name entry, judge, criterion, score[, category])",
    ),
    (
        "entry,judge,criterion,score\nMV-001,J1,contnet,30\n",
        "row 2: unknown criterion 'contnet' (expected one of content, form, influence)",
    ),
    (
        "entry,judge,criterion,score\nMV-001,J1,content,30\nMV-001,J1,form,31\n",
        "row 3: score '31' for criterion 'form' is outside 0 to 30",
    ),
    (
        "entry,judge,criterion,score\nMV-001,J1,content,30.3\n",
        "row 2: score '30.3' for criterion 'content' is not a multiple of its step 0.5",
    ),
    (
        "entry,judge,criterion,score\nMV-001,J1,content,30\nMV-001,J1,content,31\n",
        "row 3: duplicate score for entry 'MV-001', judge 'J1', criterion 'content' (already given in row 2)",
    ),
    ("entry,judge,criterion,score\nMV-001,J1,content,三十\n", "row 2: score '三十' is not a number"),
    ("entry,judge,criterion,score\nMV-001,J1,content,\n", "row 2: empty score"),
    (
        "entry,judge,criterion,score,category\nMV-001,J1,content,30,case\n",
        "row 2: category 'case' given, but the rubric has no categories",
    ),
]


@pytest.mark.parametrize(("table", "message"), BAD_TABLES)
def test_bad_table_exits_1_with_row_and_value(tmp_path, table, message):
    scores = tmp_path / "scores.csv"
    scores.write_text(table, encoding="utf-8")
    result = run("--rubric", RUBRIC, "--scores", str(scores))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"{scores}: {message}\n"


def test_inconsistent_category_exits_1(tmp_path):
    scores = tmp_path / "scores.csv"
    scores.write_text(
        "entry,judge,criterion,score,category\nC1,J1,reach,10,case\nC1,J2,reach,12,collective\n", encoding="utf-8"
    )
    result = run("--rubric", "rubrics/exemplary_cases.toml", "--scores", str(scores))
    assert result.exit_code == 1
    assert result.stderr == f"{scores}: row 3: category 'collective' for entry 'C1' differs from 'case' in row 2\n"


def test_bad_xlsx_table_exits_1(tmp_path):
    workbook = Workbook()
    workbook.active.append(["entry", "judge", "criterion", "score"])
    workbook.active.append(["MV-001", "J1", "content", "x"])
    scores = tmp_path / "scores.xlsx"
    workbook.save(scores)
    result = run("--rubric", RUBRIC, "--scores", str(scores))
    assert (result.exit_code, result.stderr) == (1, f"{scores}: row 2: score 'x' is not a number\n")


def test_bad_rubric_exits_1_with_one_line_per_error(tmp_path):
    rubric = tmp_path / "bad.toml"
    text = (
        Path(RUBRIC)
        .read_text(encoding="utf-8")
        .replace("max = 40", "max = -40")
        .replace('rule = "all"', 'rule = "most"')
    )
    rubric.write_text(text, encoding="utf-8")
    scores = write_scores_csv(tmp_path / "scores.csv")
    result = run("--rubric", str(rubric), "--scores", str(scores))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{rubric}: criteria[0].max: must be > 0",
        f"{rubric}: checks[1].rule: must be one of 'majority', 'all' or 'any'",
    ]


def test_missing_files_exit_1(tmp_path):
    result = run("--rubric", RUBRIC, "--scores", str(tmp_path / "none.csv"))
    assert (result.exit_code, result.stderr) == (1, f"{tmp_path / 'none.csv'}: no such file\n")
    result = run("--rubric", str(tmp_path / "none.toml"), "--scores", str(tmp_path / "none.csv"))
    assert (result.exit_code, result.stderr) == (1, f"{tmp_path / 'none.toml'}: no such file\n")


def test_skills_rubric_exits_1(tmp_path):
    scores = write_scores_csv(tmp_path / "scores.csv")
    result = run("--rubric", "rubrics/isg_skills.toml", "--scores", str(scores))
    assert result.exit_code == 1
    assert result.stderr == ('rubrics/isg_skills.toml: contest.kind is "skills"; rank ranks judged ("work") contests\n')


def test_xlsx_to_stdout_exits_1(tmp_path):
    scores = write_scores_csv(tmp_path / "scores.csv")
    result = run("--rubric", RUBRIC, "--scores", str(scores), "--format", "xlsx")
    assert (result.exit_code, result.stderr) == (1, "--format xlsx needs --out FILE\n")


def test_runs_as_a_flask_command_without_an_app_context(tmp_path):
    app = Flask(__name__)
    app.cli.add_command(rank_command)
    scores = write_scores_csv(tmp_path / "scores.csv")
    result = app.test_cli_runner().invoke(args=["rank", "--rubric", RUBRIC, "--scores", str(scores)])
    assert result.exit_code == 0, result.output
    assert result.stdout == EXPECTED_CSV


# --- double entry: two clerks' copies of the same paper sheets --------------------------------------------


def sheet_rows() -> list[list[object]]:
    """The score rows with the judge's paper sheet number (one per entry and judge) as a fifth column."""
    numbers: dict[tuple[str, str], int] = {}
    return [[*row, numbers.setdefault((str(row[0]), str(row[1])), 100 + len(numbers))] for row in score_rows()]


def test_rank_two_agreeing_tables_gives_the_one_table_output(tmp_path):
    first = write_scores_csv(tmp_path / "A.csv", sheet_rows(), header="entry,judge,criterion,score,sheet")
    # The second clerk typed the rows in another order, 35.50 for 35.5, and the criterion by its label.
    rows = [list(row) for row in reversed(sheet_rows())]
    for row in rows:
        if row[3] == 35.5:
            row[3] = "35.50"
        if row[2] == "content":
            row[2] = "内容"
    second = write_scores_csv(tmp_path / "B.csv", rows, header="entry,judge,criterion,score,sheet")
    result = run("--rubric", RUBRIC, "--scores", str(first), "--scores", str(second))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == EXPECTED_CSV
    assert result.stderr == ""


def test_rank_two_tables_names_every_disagreement_and_ranks_nothing(tmp_path):
    first = write_scores_csv(tmp_path / "A.csv", sheet_rows(), header="entry,judge,criterion,score,sheet")
    rows = sheet_rows()
    rows[0][3] = 36  # MV-001 J1 content: 35 on A
    rows[5][3] = 27  # MV-001 J2 influence: 26 on A
    rows[12][4] = 999  # MV-002 J1: every row of the sheet says 999 … (sheet 104 on A)
    rows[13][4] = 999
    rows[14][4] = 999
    dropped = rows.pop(29)  # MV-003 J3 influence: only in A
    rows.append(["MV-005", "J4", "form", 20, 200])  # only in B
    second = write_scores_csv(tmp_path / "B.csv", rows, header="entry,judge,criterion,score,sheet")
    assert dropped[:3] == ["MV-003", "J3", "influence"]
    out = tmp_path / "ranking.csv"
    result = run("--rubric", RUBRIC, "--scores", str(first), "--scores", str(second), "--out", str(out))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert not out.exists()
    a, b = str(first), str(second)
    assert result.stderr.splitlines() == [
        f"{a} and {b} disagree in 6 place(s); nothing was ranked:",
        f"entry MV-001, judge J1, criterion content: {a} has 35, {b} has 36",
        f"entry MV-001, judge J2, criterion influence: {a} has 26, {b} has 27",
        f"entry MV-002, judge J1, sheet number: {a} has 104, {b} has 999",
        f"entry MV-003, judge J3, criterion influence: only in {a} (25), missing from {b}",
        f"entry MV-005, judge J4, sheet number: only in {b} (200), missing from {a}",
        f"entry MV-005, judge J4, criterion form: only in {b} (20), missing from {a}",
    ]


def test_rank_two_tables_without_sheet_numbers_compares_scores(tmp_path):
    first = write_scores_csv(tmp_path / "A.csv")
    rows = score_rows()
    rows[1][3] = 25.5
    second = write_scores_csv(tmp_path / "B.csv", rows)
    result = run("--rubric", RUBRIC, "--scores", str(first), "--scores", str(second))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[1:] == [
        f"entry MV-001, judge J1, criterion form: {first} has 25, {second} has 25.5"
    ]


def test_rank_two_tables_reports_a_bad_table_before_comparing(tmp_path):
    first = write_scores_csv(tmp_path / "A.csv")
    rows = score_rows()
    rows[0][3] = 41
    second = write_scores_csv(tmp_path / "B.csv", rows)
    result = run("--rubric", RUBRIC, "--scores", str(first), "--scores", str(second))
    assert result.exit_code == 1
    assert result.stderr == f"{second}: row 2: score '41' for criterion 'content' is outside 0 to 40\n"


def test_rank_refuses_three_tables(tmp_path):
    scores = write_scores_csv(tmp_path / "A.csv")
    result = run("--rubric", RUBRIC, "--scores", str(scores), "--scores", str(scores), "--scores", str(scores))
    assert result.exit_code == 1
    assert result.stderr == "--scores: give one score table, or two copies of the same sheets to reconcile\n"
