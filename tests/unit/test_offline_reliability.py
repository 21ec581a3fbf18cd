"""`flask reliability` on real files: Shrout & Fleiss (1979) reproduced, bad tables named by row."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from judging.offline import reliability_command

ROOT = Path(__file__).resolve().parents[2]

# Shrout & Fleiss (1979), Table 1: six targets rated by four judges.
TABLE_1 = {1: (9, 2, 5, 8), 2: (6, 1, 3, 2), 3: (8, 4, 6, 8), 4: (7, 1, 2, 6), 5: (10, 5, 6, 9), 6: (6, 2, 4, 7)}
# Table 2 of the paper: the six forms, to two decimals.
TABLE_2 = {"ICC1": 0.17, "ICC2": 0.29, "ICC3": 0.71, "ICC1k": 0.44, "ICC2k": 0.62, "ICC3k": 0.91}


def _write_table_1(path: Path) -> None:
    rows = ["entry,judge,criterion,score"]
    for target, ratings in TABLE_1.items():
        rows += [f"{target},{judge},rating,{score}" for judge, score in zip("ABCD", ratings, strict=True)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_reliability_reproduces_shrout_fleiss_table_2(tmp_path: Path) -> None:
    table = tmp_path / "sf.csv"
    _write_table_1(table)
    result = CliRunner().invoke(reliability_command, ["--scores", str(table)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["n_entries"], report["n_judges"], report["complete"]) == (6, 4, True)
    assert {form: round(value, 2) for form, value in report["icc"].items()} == TABLE_2
    assert report["incomplete_sheets"] == []
    judges = {row["judge"]: row for row in report["judges"]}
    assert judges["B"]["severity"] < 0 < judges["A"]["severity"]  # B is the harshest judge of the table


def test_reliability_with_rubric_uses_weighted_totals_from_xlsx(tmp_path: Path) -> None:
    rows = []
    for entry, (content, form, influence) in {"MV-1": (30, 20, 20), "MV-2": (35, 25, 22), "MV-3": (20, 15, 10)}.items():
        for judge, offset in (("j1", 0), ("j2", 1), ("j3", -2)):
            rows += [
                {"entry": entry, "judge": judge, "criterion": "content", "score": content + offset},
                {"entry": entry, "judge": judge, "criterion": "form", "score": form},
                {"entry": entry, "judge": judge, "criterion": "influence", "score": influence},
            ]
    table = tmp_path / "scores.xlsx"
    pd.DataFrame(rows).to_excel(table, index=False)
    result = CliRunner().invoke(
        reliability_command, ["--scores", str(table), "--rubric", str(ROOT / "rubrics" / "micro_video.toml")]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    judges = {row["judge"]: row for row in report["judges"]}
    assert judges["j1"]["mean"] == round((70 + 82 + 45) / 3, 4)
    assert (judges["j2"]["severity"], judges["j3"]["severity"]) == (round(1 - (-1 / 3), 4), round(-2 + 1 / 3, 4))


def test_incomplete_sheet_is_left_out_and_listed(tmp_path: Path) -> None:
    table = tmp_path / "scores.csv"
    table.write_text(
        "entry,judge,criterion,score\nE1,A,x,1\nE1,A,y,2\nE1,B,x,3\nE1,B,y,4\nE2,A,x,5\nE2,A,y,6\nE2,B,x,7\n",
        encoding="utf-8",
    )
    report = json.loads(CliRunner().invoke(reliability_command, ["--scores", str(table)]).output)
    assert report["incomplete_sheets"] == [{"entry": "E2", "judge": "B"}]
    assert report["complete"] is False


def test_bad_tables_name_row_and_value_and_exit_1(tmp_path: Path) -> None:
    table = tmp_path / "bad.csv"
    missing = f"{table}: missing column(s) criterion (expected entry, judge, criterion, score)"
    cases = {
        "entry,judge,score\nE1,A,1\n": missing,
        "entry,judge,criterion,score\nE1,A,x,abc\n": f"{table}: row 2: score 'abc' is not a number",
        "entry,judge,criterion,score\nE1,A,x,1\nE1,A,x,2\n": f"{table}: row 3: duplicate of row 2 (E1, A, x)",
        "entry,judge,criterion,score\nE1,,x,1\n": f"{table}: row 2: empty judge",
    }
    for text, message in cases.items():
        table.write_text(text, encoding="utf-8")
        result = CliRunner().invoke(reliability_command, ["--scores", str(table)])
        assert result.exit_code == 1, text
        assert result.output.strip() == message
        assert "Traceback" not in result.output


def test_bad_rubric_is_reported_by_file_and_key(tmp_path: Path) -> None:
    table = tmp_path / "sf.csv"
    _write_table_1(table)
    rubric = tmp_path / "r.toml"
    rubric.write_text("[contest]\nslug = 'x'\n", encoding="utf-8")
    result = CliRunner().invoke(reliability_command, ["--scores", str(table), "--rubric", str(rubric)])
    assert result.exit_code == 1
    assert f"{rubric}: contest.title: required key is missing" in result.output
