"""Reading and validating long-format score tables: every problem names its row and value."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from judging.rubric import load_rubric
from judging.scoring.score_table import ScoreTableError, parse_score_frame, read_score_table

MICRO_VIDEO = load_rubric("rubrics/micro_video.toml")  # content ≤ 40, form ≤ 30, influence ≤ 30, step 0.5
CASES = load_rubric("rubrics/exemplary_cases.toml")  # categories case, collective, individual
HEADER = "entry,judge,criterion,score\n"


def write_csv(tmp_path: Path, text: str, name: str = "scores.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def problems(tmp_path: Path, text: str, rubric=MICRO_VIDEO) -> list[str]:
    path = write_csv(tmp_path, text)
    with pytest.raises(ScoreTableError) as raised:
        read_score_table(path, rubric)
    return [line.replace(str(path), "scores.csv") for line in raised.value.errors]


def test_reads_csv_exactly_with_and_without_bom(tmp_path):
    text = HEADER + "MV-001,张老师,content,35.5\nMV-001,张老师,form,20.50\nMV-002,李老师,内容,40\n"
    plain = read_score_table(write_csv(tmp_path, text, "plain.csv"), MICRO_VIDEO)
    with_bom = read_score_table(write_csv(tmp_path, text, "bom.csv", "utf-8-sig"), MICRO_VIDEO)
    for table in (plain, with_bom):
        assert table.to_frame()[["entry", "judge", "criterion", "score"]].values.tolist() == [
            ["MV-001", "张老师", "content", Decimal("35.5")],
            ["MV-001", "张老师", "form", Decimal("20.5")],
            ["MV-002", "李老师", "content", Decimal("40")],  # a criterion may be named by its label
        ]
        assert table.hundredths.tolist() == [3550, 2050, 4000]


def test_reads_gb18030_csv_saved_by_chinese_excel(tmp_path):
    table = read_score_table(write_csv(tmp_path, HEADER + "MV-001,张老师,形式,30\n", encoding="gb18030"), MICRO_VIDEO)
    assert table.judges.tolist() == ["张老师"]
    assert table.to_frame()["criterion"].tolist() == ["form"]


def test_reads_xlsx_with_numbers_and_text(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Entry", "Judge", "Criterion", "Score", "备注"])  # header case and extra columns do not matter
    sheet.append(["MV-001", "张老师", "content", 35.5, "好"])
    sheet.append(["MV-001", "张老师", "influence", "29.5", None])
    sheet.append([101, 7, "form", 30, None])
    path = tmp_path / "scores.xlsx"
    workbook.save(path)
    table = read_score_table(path, MICRO_VIDEO)
    assert table.to_frame()[["entry", "judge", "criterion", "score"]].values.tolist() == [
        ["MV-001", "张老师", "content", Decimal("35.5")],
        ["MV-001", "张老师", "influence", Decimal("29.5")],
        ["101", "7", "form", Decimal("30")],
    ]


def test_xlsx_problem_names_the_spreadsheet_row(tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["entry", "judge", "criterion", "score"])
    sheet.append(["MV-001", "张老师", "content", 35.5])
    sheet.append([])
    sheet.append(["MV-001", "张老师", "form", 20.25])
    path = tmp_path / "scores.xlsx"
    workbook.save(path)
    with pytest.raises(ScoreTableError) as raised:
        read_score_table(path, MICRO_VIDEO)
    assert raised.value.errors == [
        f"{path}: row 4: score '20.25' for criterion 'form' is not a multiple of its step 0.5"
    ]


def test_blank_lines_keep_their_row_numbers(tmp_path):
    text = HEADER + "MV-001,张老师,content,35.5\n\n,,,\nMV-001,张老师,form,abc\n"
    assert problems(tmp_path, text) == ["scores.csv: row 5: score 'abc' is not a number"]


def test_missing_column(tmp_path):
    assert problems(tmp_path, "entry,criterion,score\nMV-001,content,30\n") == [
        "scores.csv: row 1: missing column 'judge' (the header must name entry, judge, criterion, score[, category])"
    ]


def test_missing_category_column_when_the_rubric_has_categories(tmp_path):
    assert problems(tmp_path, HEADER + "C1,J1,reach,10\n", CASES) == [
        "scores.csv: row 1: missing column 'category' (the rubric ranks the categories case, collective, "
        "individual separately)"
    ]


def test_unknown_criterion(tmp_path):
    assert problems(tmp_path, HEADER + "MV-001,张老师,content,30\nMV-001,张老师,contnet,30\n") == [
        "scores.csv: row 3: unknown criterion 'contnet' (expected one of content, form, influence)"
    ]


@pytest.mark.parametrize(
    ("score", "message"),
    [
        ("41", "score '41' for criterion 'content' is outside 0 to 40"),
        ("-0.5", "score '-0.5' for criterion 'content' is outside 0 to 40"),
        ("40.001", "score '40.001' for criterion 'content' is outside 0 to 40"),
        ("35.25", "score '35.25' for criterion 'content' is not a multiple of its step 0.5"),
        ("35.123", "score '35.123' for criterion 'content' is not a multiple of its step 0.5"),
        ("abc", "score 'abc' is not a number"),
        ("NaN", "score 'NaN' is not a number"),
        ("3,5", "score '3,5' is not a number"),
        ("", "empty score"),
    ],
)
def test_bad_score(tmp_path, score, message):
    quoted = f'"{score}"' if "," in score else score
    assert problems(tmp_path, HEADER + f"MV-001,张老师,content,{quoted}\n") == [f"scores.csv: row 2: {message}"]


def test_duplicate_entry_judge_criterion(tmp_path):
    text = HEADER + "MV-001,张老师,content,30\nMV-001,张老师,form,20\nMV-001, 张老师 ,content,31\n"
    assert problems(tmp_path, text) == [
        "scores.csv: row 4: duplicate score for entry 'MV-001', judge '张老师', criterion 'content' "
        "(already given in row 2)"
    ]


def test_empty_entry_and_judge(tmp_path):
    assert problems(tmp_path, HEADER + ",张老师,content,30\nMV-001,,content,30\n") == [
        "scores.csv: row 2: empty entry",
        "scores.csv: row 3: empty judge",
    ]


def test_inconsistent_category_for_one_entry(tmp_path):
    text = "entry,judge,criterion,score,category\nC1,J1,reach,10,case\nC1,J2,reach,12,collective\n"
    assert problems(tmp_path, text, CASES) == [
        "scores.csv: row 3: category 'collective' for entry 'C1' differs from 'case' in row 2"
    ]


def test_unknown_and_empty_category(tmp_path):
    text = "entry,judge,criterion,score,category\nC1,J1,reach,10,cases\nC2,J1,reach,10,\n"
    assert problems(tmp_path, text, CASES) == [
        "scores.csv: row 2: unknown category 'cases' (expected one of case, collective, individual)",
        "scores.csv: row 3: empty category",
    ]


def test_category_given_to_a_rubric_without_categories(tmp_path):
    text = "entry,judge,criterion,score,category\nMV-001,J1,content,10,case\n"
    assert problems(tmp_path, text) == ["scores.csv: row 2: category 'case' given, but the rubric has no categories"]


def test_category_by_key_or_label(tmp_path):
    text = (
        "entry,judge,criterion,score,category\nC1,J1,reach,10,优秀案例\nC1,J2,reach,12,case\nP1,J1,reach,5,individual\n"
    )
    table = read_score_table(write_csv(tmp_path, text), CASES)
    assert table.entry_category.tolist() == ["case", "individual"]


def test_many_problems_are_capped(tmp_path):
    text = HEADER + "".join(f"MV-{i:03d},张老师,content,99\n" for i in range(25))
    lines = problems(tmp_path, text)
    assert len(lines) == 21
    assert lines[0] == "scores.csv: row 2: score '99' for criterion 'content' is outside 0 to 40"
    assert lines[-1] == "scores.csv: … and 5 more problems"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("scores.txt", b"x", "unsupported table type '.txt' (use .csv or .xlsx)"),
        ("scores.csv", b"", "the table is empty"),
        ("scores.csv", HEADER.encode(), "no scores (the table has no data rows below its header)"),
        ("scores.xlsx", b"not a zip", "cannot be read as an .xlsx workbook (File is not a zip file)"),
    ],
)
def test_unreadable_files(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ScoreTableError) as raised:
        read_score_table(path, MICRO_VIDEO)
    assert raised.value.errors == [f"{path}: {message}"]


def test_missing_file(tmp_path):
    with pytest.raises(ScoreTableError) as raised:
        read_score_table(tmp_path / "nowhere.csv", MICRO_VIDEO)
    assert raised.value.errors == [f"{tmp_path / 'nowhere.csv'}: no such file"]


def test_frame_from_the_web_with_decimal_scores():
    frame = pd.DataFrame(
        {
            "entry": ["MV-001", "MV-001"],
            "judge": ["J1", "J1"],
            "criterion": ["content", "form"],
            "score": [Decimal("35.50"), Decimal("31")],
        }
    )
    with pytest.raises(ScoreTableError) as raised:
        parse_score_frame(frame, MICRO_VIDEO, source="sheet")
    assert raised.value.errors == ["sheet: row 3: score '31' for criterion 'form' is outside 0 to 30"]


@pytest.mark.parametrize("score", ["1e400", "1E+999999", "123456789012345678901234567890"])
def test_absurdly_large_scores_are_out_of_range(tmp_path, score):
    assert problems(tmp_path, HEADER + f"MV-001,张老师,content,{score}\n") == [
        f"scores.csv: row 2: score '{score}' for criterion 'content' is outside 0 to 40"
    ]


def test_float_and_integer_columns_are_checked_too():
    frame = pd.DataFrame(
        {
            "entry": ["A", "A", "B", "B"],
            "judge": ["J1", "J1", "J1", "J1"],
            "criterion": ["content", "form", "content", "form"],
            "score": [35.5, 1e30, float("nan"), 20.25],
        }
    )
    with pytest.raises(ScoreTableError) as raised:
        parse_score_frame(frame, MICRO_VIDEO)
    assert raised.value.errors == [
        "scores: row 3: score '1e+30' for criterion 'form' is outside 0 to 30",
        "scores: row 4: empty score",
        "scores: row 5: score '20.25' for criterion 'form' is not a multiple of its step 0.5",
    ]
    whole = frame.assign(score=[35, 20, 40, 10**20])
    with pytest.raises(ScoreTableError) as raised:
        parse_score_frame(whole, MICRO_VIDEO)
    assert raised.value.errors == [
        "scores: row 5: score '100000000000000000000' for criterion 'form' is outside 0 to 30"
    ]
