"""The one spreadsheet writer on real files: text that looks like a formula stays text, numbers stay
numbers, and `flask rank` output goes through it."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from click.testing import CliRunner
from openpyxl import load_workbook

from judging.exports.workbook import (
    Sheet,
    csv_text,
    excel_csv,
    frame_sheet,
    safe_sheet_title,
    write_xlsx,
    xlsx_bytes,
)
from judging.offline import rank_command

FORMULAS = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def sheet_xml(data: bytes) -> dict[str, str]:
    """Every worksheet's XML of an .xlsx, by its part name."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {
            name: archive.read(name).decode("utf-8")
            for name in archive.namelist()
            if name.startswith("xl/worksheets/") and name.endswith(".xml")
        }


def assert_no_formula(data: bytes) -> None:
    for name, xml in sheet_xml(data).items():
        assert "<f>" not in xml and "<f " not in xml, name
        assert 't="f"' not in xml, name


def inline_texts(xml: str) -> list[str]:
    """The inline strings of a sheet, with the XML escapes the writer uses undone."""
    texts = re.findall(r'<c r="[A-Z]+\d+"[^>]*t="inlineStr"[^>]*><is><t[^>]*>(.*?)</t></is></c>', xml, flags=re.S)
    return [t.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"') for t in texts]


def test_formula_like_text_is_a_string_cell_with_a_quote_prefix() -> None:
    data = xlsx_bytes([Sheet("表", ["标题"], [[text] for text in FORMULAS])])

    assert_no_formula(data)
    (xml,) = sheet_xml(data).values()
    texts = inline_texts(xml)
    assert texts[0] == "标题"
    assert texts[1:] == FORMULAS
    sheet = load_workbook(io.BytesIO(data))["表"]
    cells = [sheet.cell(row=row, column=1) for row in range(2, 8)]
    # an XML reader turns the raw carriage return into a line feed; the cell is text either way
    assert [cell.value for cell in cells] == [*FORMULAS[:5], "\n=1"]
    assert [cell.data_type for cell in cells] == ["s"] * 6
    assert all(cell.quotePrefix for cell in cells)
    assert not sheet["A1"].quotePrefix


def test_formula_like_text_in_csv_starts_with_a_single_quote() -> None:
    text = csv_text(["标题", "分数"], [[formula, Decimal("-2.50")] for formula in FORMULAS])

    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["标题", "分数"]
    assert [row[0] for row in rows[1:]] == ["'" + formula for formula in FORMULAS]
    assert {row[1] for row in rows[1:]} == {"-2.50"}  # a negative number stays a number


def test_negative_numbers_stay_numbers_and_decimals_keep_their_places() -> None:
    data = xlsx_bytes(
        [Sheet("s", ["a", "b", "c", "d", "e"], [[Decimal("-2.50"), -3, Decimal("84.13"), Decimal("86"), -0.5]])]
    )

    assert_no_formula(data)
    row = [cell for cell in load_workbook(io.BytesIO(data))["s"][2]]
    assert [cell.value for cell in row] == [-2.5, -3, 84.13, 86, -0.5]
    assert [cell.data_type for cell in row] == ["n"] * 5
    assert [cell.number_format for cell in row] == ["0.00", "General", "0.00", "0", "General"]


def test_a_sheet_number_format_applies_to_every_decimal() -> None:
    data = xlsx_bytes([Sheet("s", ["x"], [[Decimal("86.5")], [Decimal("84.125")]], number_format="0.00")])

    sheet = load_workbook(io.BytesIO(data))["s"]
    assert [(sheet[f"A{r}"].value, sheet[f"A{r}"].number_format) for r in (2, 3)] == [(86.5, "0.00"), (84.125, "0.00")]


def test_round_trip_through_pandas_keeps_numbers_and_text() -> None:
    frame = pd.DataFrame(
        {
            "作品编号": ["MV-001", "MV-002", "MV-003"],
            "作品名称": ['=HYPERLINK("http://x","y")', "-2+3", "守护·网络安全"],
            "总成绩": [Decimal("84.13"), Decimal("-1.50"), None],
            "名次": [1, 2, None],
        }
    )
    data = xlsx_bytes([frame_sheet("排名", frame)])

    read = pd.read_excel(io.BytesIO(data), sheet_name="排名", dtype=object)
    assert read["作品名称"].tolist() == ['=HYPERLINK("http://x","y")', "-2+3", "守护·网络安全"]
    assert read["总成绩"].tolist()[:2] == [84.13, -1.5] and pd.isna(read["总成绩"][2])
    assert read["名次"].tolist()[:2] == [1, 2] and pd.isna(read["名次"][2])
    cell = load_workbook(io.BytesIO(data))["排名"]["C2"]
    assert (cell.value, cell.data_type, cell.number_format) == (84.13, "n", "0.00")


def test_blanks_numpy_and_dates() -> None:
    zone = ZoneInfo("Asia/Shanghai")
    at = datetime(2026, 9, 1, 16, 30, tzinfo=UTC)
    row = [None, "", float("nan"), pd.NA, pd.NaT, np.int64(7), np.float64(1.5), at, date(2026, 9, 11), True]
    data = xlsx_bytes([Sheet("s", [f"c{i}" for i in range(len(row))], [row])], zone=zone)

    values = [cell.value for cell in load_workbook(io.BytesIO(data))["s"][2]]
    assert values == [None, None, None, None, None, 7, 1.5, datetime(2026, 9, 2, 0, 30), datetime(2026, 9, 11), True]
    sheet = load_workbook(io.BytesIO(data))["s"]
    assert (sheet["H2"].number_format, sheet["I2"].number_format) == ("yyyy-mm-dd hh:mm", "yyyy-mm-dd")
    text = csv_text(["a", "b", "c", "d"], [[None, np.int64(7), at, Decimal("NaN")]], zone=zone)
    assert text == "a,b,c,d\r\n,7,2026-09-02 00:30,\r\n"


def test_header_is_bold_frozen_and_columns_fit_chinese_text() -> None:
    data = xlsx_bytes([Sheet("s", ["编号", "作品名称"], [["MV-001", "守护网络安全守护网络安全守护网络安全"]])])

    sheet = load_workbook(io.BytesIO(data))["s"]
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.b and sheet["B1"].font.b and not sheet["B2"].font.b
    assert sheet.column_dimensions["A"].width == 8  # "MV-001" is narrow: the minimum
    assert sheet.column_dimensions["B"].width == 38  # 18 CJK characters × 2 + 2


def test_text_excel_cannot_hold_is_cleaned_instead_of_failing() -> None:
    data = xlsx_bytes([Sheet("s", ["标题"], [["作品\x01\x0b名称"], ["长" * 40_000]])])

    sheet = load_workbook(io.BytesIO(data))["s"]
    assert sheet["A2"].value == "作品名称"
    assert sheet["A3"].value == "长" * 32_767


def test_sheet_titles_are_made_acceptable_and_unique() -> None:
    assert safe_sheet_title("优秀案例/集体:2026?") == "优秀案例_集体_2026_"
    assert safe_sheet_title("'引号'") == "引号"
    assert safe_sheet_title("") == "Sheet"
    assert safe_sheet_title("排名", ["排名"]) == "排名 (2)"
    assert len(safe_sheet_title("类" * 40)) == 31
    data = xlsx_bytes([Sheet("A/B", ["x"], [[1]]), Sheet("a_b", ["x"], [[2]]), Sheet("=SUM(1)", ["x"], [[3]])])
    assert load_workbook(io.BytesIO(data)).sheetnames == ["A_B", "a_b (2)", "=SUM(1)"]
    assert_no_formula(data)


def test_excel_csv_has_a_bom_and_crlf() -> None:
    assert excel_csv(["名称"], [["甲"], ["=1"]]) == "\ufeff名称\r\n甲\r\n'=1\r\n".encode()


def test_write_xlsx_to_a_path(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    write_xlsx([Sheet("s", ["x"], [["+1+1"]])], path)
    assert_no_formula(path.read_bytes())
    assert load_workbook(path)["s"]["A2"].value == "+1+1"


# --- flask rank --------------------------------------------------------------------------------------

RUBRIC = "rubrics/micro_video.toml"  # trimmed_mean, trim 1, min_judges 3
ENTRIES = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)"]


def _scores_csv(path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["entry", "judge", "criterion", "score"])
        for offset, entry in enumerate(ENTRIES):
            for judge in ("J1", "J2", "J3"):
                for criterion, score in (("content", 30 + offset), ("form", 20), ("influence", 20)):
                    writer.writerow([entry, judge, criterion, score])
    return path


def test_rank_csv_quotes_formula_like_entries_and_keeps_scores_plain(tmp_path: Path) -> None:
    out = tmp_path / "ranking.csv"
    result = CliRunner().invoke(
        rank_command, ["--rubric", RUBRIC, "--scores", str(_scores_csv(tmp_path / "s.csv")), "--out", str(out)]
    )

    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"), newline="")))
    assert [row["entry"] for row in rows] == ["'@SUM(A1)", "'-2+3", "'+1+1", '\'=HYPERLINK("http://x","y")']
    assert [row["final_score"] for row in rows] == ["73.00", "72.00", "71.00", "70.00"]
    assert [row["rank"] for row in rows] == ["1", "2", "3", "4"]


def test_rank_xlsx_holds_no_formula(tmp_path: Path) -> None:
    out = tmp_path / "ranking.xlsx"
    result = CliRunner().invoke(
        rank_command, ["--rubric", RUBRIC, "--scores", str(_scores_csv(tmp_path / "s.csv")), "--out", str(out)]
    )

    assert result.exit_code == 0, result.stderr
    data = out.read_bytes()
    assert_no_formula(data)
    workbook = load_workbook(out)
    ranking = workbook["ranking"]
    assert [ranking[f"B{row}"].value for row in range(2, 6)] == ["@SUM(A1)", "-2+3", "+1+1", ENTRIES[0]]
    assert (ranking["D2"].value, ranking["D2"].number_format) == (73, "0.00")
    assert {workbook["sheets"][f"A{row}"].value for row in range(2, 14)} == set(ENTRIES)
