"""The one spreadsheet writer: every .xlsx and .csv the product writes goes through here.

This module owns how a value becomes a cell, the same rule for every caller:

- **numbers stay numbers**: an ``int`` is written as an integer, a ``Decimal`` as a number shown with
  its own number of places (``84.10`` → ``0.00``, unless the sheet names a format), a ``float`` as it is;
  numpy scalars are unwrapped first;
- **no value** (``None``, ``""``, NaN, ``pd.NA``, ``NaT``) is an empty cell;
- **dates**: a ``date`` is a date cell (``yyyy-mm-dd``); a ``datetime`` is shown in the writer's time
  zone (the caller passes the configured display zone) as ``yyyy-mm-dd hh:mm``;
- **text is never a formula**: a text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
  return (:data:`FORMULA_TRIGGERS`) is written in xlsx as a string cell with Excel's quote prefix (never an
  ``<f>`` element), and in CSV with a leading single quote (OWASP's advice for CSV injection), so neither
  Excel nor LibreOffice evaluates it. Negative *numbers* are numbers and keep no prefix.
  Characters that XML 1.0 cannot carry are dropped, and text is cut at Excel's 32,767 characters per cell.

An xlsx sheet has a bold, frozen header row, column widths fitted to the content (CJK characters count
double) and a title that Excel accepts (at most 31 characters, none of ``[]:*?/\\``, unique in its book).
A CSV meant for Excel users is UTF-8 with a BOM and CRLF line ends (:func:`excel_csv`); a caller that
promises a machine-readable format chooses its own line end (:func:`csv_text`).

Pure: no Flask, no database. Callers translate their headers before handing them over.
"""

from __future__ import annotations

import csv
import io
import math
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import IO

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""A text cell that begins with one of these would be read as a formula by Excel or LibreOffice."""

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
MAX_CELL_TEXT = 32_767  # Excel's limit; a longer cell makes Excel "repair" the file
MIN_WIDTH, MAX_WIDTH = 8, 60
SHEET_TITLE_FORBIDDEN = "[]:*?/\\"


@dataclass(frozen=True)
class Sheet:
    """One table: a header row, then the rows. ``number_format`` applies to every ``Decimal`` cell of the
    sheet (e.g. "0.00" for a rubric's two decimals); ``None`` shows each Decimal with its own places."""

    title: str
    headers: Sequence[object]
    rows: Iterable[Sequence[object]]
    number_format: str | None = None


def frame_sheet(title: str, frame: pd.DataFrame, number_format: str | None = None) -> Sheet:
    """A sheet of a DataFrame: its column names as the header, one row per frame row."""
    return Sheet(title, list(frame.columns), frame.itertuples(index=False, name=None), number_format)


# --- one value -----------------------------------------------------------------------------------


def is_blank(value: object) -> bool:
    """No value: None, an empty string, NaN, or pandas' missing markers (NA, NaT)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, str):
        return value == ""
    if isinstance(value, float | Decimal):
        return value.is_nan() if isinstance(value, Decimal) else math.isnan(value)
    return False


def is_formula_like(text: str) -> bool:
    """Whether a spreadsheet would evaluate this text if it were typed into a cell."""
    return text.startswith(FORMULA_TRIGGERS)


def csv_safe_text(text: str) -> str:
    """Text for a CSV cell: prefixed with a single quote when a spreadsheet would evaluate it."""
    return "'" + text if is_formula_like(text) else text


def _unwrap(value: object) -> object:
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalars
        return value.item()
    return value


def _in_zone(value: datetime, zone: tzinfo | None) -> datetime:
    """A datetime as a wall-clock time in ``zone`` (naive, as spreadsheets keep them)."""
    if value.tzinfo is not None and zone is not None:
        value = value.astimezone(zone)
    return value.replace(tzinfo=None)


def _clean_text(value: object) -> str:
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    return text[:MAX_CELL_TEXT]


def _decimal_format(value: Decimal) -> str:
    exponent = value.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return "0" if places == 0 else "0." + "0" * places


def _plain_decimal(value: Decimal) -> str:
    return format(value, "f")


def csv_value(value: object, zone: tzinfo | None = None) -> str:
    """One CSV cell: numbers as plain digits (a Decimal keeps its places), no value as "", a datetime
    as ``YYYY-MM-DD HH:MM`` in ``zone``, and text quoted against formula evaluation."""
    value = _unwrap(value)
    if is_blank(value):
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, Decimal):
        return _plain_decimal(value) if value.is_finite() else ""
    if isinstance(value, datetime):
        return _in_zone(value, zone).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return csv_safe_text(str(value))


# --- xlsx ----------------------------------------------------------------------------------------


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def safe_sheet_title(title: str, taken: Iterable[str] = ()) -> str:
    """A title Excel accepts: at most 31 characters, none of ``[]:*?/\\``, not starting or ending with an
    apostrophe, not empty, and different (case-insensitively) from the titles already ``taken``."""
    cleaned = "".join("_" if ch in SHEET_TITLE_FORBIDDEN else ch for ch in ILLEGAL_CHARACTERS_RE.sub("", title))
    cleaned = cleaned.strip("'")[:31] or "Sheet"
    used = {name.lower() for name in taken}
    candidate, number = cleaned, 1
    while candidate.lower() in used:
        number += 1
        suffix = f" ({number})"
        candidate = cleaned[: 31 - len(suffix)] + suffix
    return candidate


def _write_cell(
    sheet: Worksheet, row: int, column: int, value: object, number_format: str | None, zone: tzinfo | None
) -> int:
    """Write one value by the module's rules; return the width it needs."""
    value = _unwrap(value)
    if is_blank(value):
        return 0
    cell = sheet.cell(row=row, column=column)
    if isinstance(value, int):  # bool included
        cell.value = value
        return len(str(value))
    if isinstance(value, float):
        if math.isinf(value):
            return 0
        cell.value = value
        return len(f"{value:.2f}")
    if isinstance(value, Decimal):
        if not value.is_finite():
            return 0
        cell.value = float(value)
        cell.number_format = number_format or _decimal_format(value)
        return len(_plain_decimal(value)) + 1
    if isinstance(value, datetime):
        cell.value = _in_zone(value, zone)
        cell.number_format = DATETIME_FORMAT
        return len(DATETIME_FORMAT)
    if isinstance(value, date):
        cell.value = value
        cell.number_format = DATE_FORMAT
        return len(DATE_FORMAT)
    text = _clean_text(value)
    cell.value = text
    cell.data_type = "s"  # openpyxl would otherwise turn "=…" into a formula
    if is_formula_like(text):
        cell.quotePrefix = True  # Excel and LibreOffice keep it text even when the cell is edited
    return max((_display_width(line) for line in text.splitlines()), default=0)


def _fill_sheet(sheet: Worksheet, spec: Sheet, zone: tzinfo | None) -> None:
    bold = Font(bold=True)
    widths: dict[int, int] = {}
    for column, header in enumerate(spec.headers, start=1):
        widths[column] = _write_cell(sheet, 1, column, header, None, zone)
        sheet.cell(row=1, column=column).font = bold
    for row_number, values in enumerate(spec.rows, start=2):
        for column, value in enumerate(values, start=1):
            width = _write_cell(sheet, row_number, column, value, spec.number_format, zone)
            if width > widths.get(column, 0):
                widths[column] = width
    for column, width in widths.items():
        sheet.column_dimensions[get_column_letter(column)].width = max(MIN_WIDTH, min(MAX_WIDTH, width + 2))
    sheet.freeze_panes = "A2"


def write_xlsx(sheets: Iterable[Sheet], target: Path | IO[bytes], zone: tzinfo | None = None) -> None:
    """Write the sheets, in order, as one workbook to a path or a binary stream."""
    workbook = Workbook()
    for blank in list(workbook.worksheets):  # the sheet a new workbook opens with
        workbook.remove(blank)
    titles: list[str] = []
    for spec in sheets:
        title = safe_sheet_title(spec.title, titles)
        titles.append(title)
        _fill_sheet(workbook.create_sheet(title), spec, zone)
    if not titles:
        workbook.create_sheet("Sheet")
    workbook.save(target)


def xlsx_bytes(sheets: Iterable[Sheet], zone: tzinfo | None = None) -> bytes:
    """The sheets as the bytes of one .xlsx file."""
    buffer = io.BytesIO()
    write_xlsx(sheets, buffer, zone)
    return buffer.getvalue()


# --- csv -----------------------------------------------------------------------------------------


def csv_lines(
    headers: Sequence[object],
    rows: Iterable[Sequence[object]],
    *,
    line_end: str = "\r\n",
    bom: bool = True,
    zone: tzinfo | None = None,
) -> Iterator[str]:
    """The table as CSV text, one line at a time (for streaming a table that grows, like the audit
    log); the first line starts with the BOM when ``bom``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=line_end)

    def line(values: Iterable[object]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([csv_value(value, zone) for value in values])
        return buffer.getvalue()

    yield ("\ufeff" if bom else "") + line(headers)
    for values in rows:
        yield line(values)


def csv_text(
    headers: Sequence[object],
    rows: Iterable[Sequence[object]],
    *,
    line_end: str = "\r\n",
    bom: bool = False,
    zone: tzinfo | None = None,
) -> str:
    """The whole table as CSV text."""
    return "".join(csv_lines(headers, rows, line_end=line_end, bom=bom, zone=zone))


def excel_csv(headers: Sequence[object], rows: Iterable[Sequence[object]], zone: tzinfo | None = None) -> bytes:
    """A CSV file for Excel users: UTF-8 with a BOM (so Excel reads Chinese) and CRLF line ends."""
    return csv_text(headers, rows, line_end="\r\n", bom=True, zone=zone).encode("utf-8")
