"""Double entry of paper score sheets: two independently typed copies of the same sheets, compared.

Two clerks type the same signed paper sheets; only what both typed alike may count. This module holds
the comparison, on plain data, for the offline command (two long-format score tables, see
:mod:`judging.scoring.score_table`) and for the web (two entries of one paper sheet).

The rule: two copies agree when they hold the same scores (as exact numbers: ``35.5`` and ``35.50``
agree), the same check answers and the same paper sheet number; a value present in one copy only is a
disagreement too. Every difference is listed, never only the first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from judging.scoring.score_table import ScoreTable, ScoreTableError, cell_text

SHEET_COLUMN = "sheet"
"""The optional column of a score table that holds the judge's paper sheet number."""


@dataclass(frozen=True)
class TableDifference:
    """One place where two score tables differ: ``field`` is a criterion key, ``"sheet"`` (the paper
    number) or ``"category"``; a value is None when that table has no such row."""

    entry: str
    judge: str
    field: str
    first: str | None
    second: str | None


def sheet_numbers(cells: pd.DataFrame, rows: np.ndarray, source: str) -> dict[tuple[str, str], str] | None:
    """The paper sheet number of each (entry, judge) from a table's optional ``sheet`` column (None when
    the table has no such column). A sheet whose rows carry two different numbers is an error."""
    columns = {str(name).strip().lower(): name for name in cells.columns}
    if SHEET_COLUMN not in columns or "entry" not in columns or "judge" not in columns:
        return None
    numbers: dict[tuple[str, str], str] = {}
    first_row: dict[tuple[str, str], int] = {}
    problems: list[str] = []
    for row, entry, judge, number in zip(
        rows,
        cells[columns["entry"]].map(cell_text),
        cells[columns["judge"]].map(cell_text),
        cells[columns[SHEET_COLUMN]].map(cell_text),
        strict=True,
    ):
        if not entry or not judge or not number:
            continue
        key = (entry, judge)
        if key in numbers and numbers[key] != number:
            problems.append(
                f"{source}: row {row}: sheet '{number}' differs from '{numbers[key]}' on row {first_row[key]} "
                f"(entry {entry}, judge {judge})"
            )
            continue
        numbers.setdefault(key, number)
        first_row.setdefault(key, int(row))
    if problems:
        raise ScoreTableError(problems)
    return numbers


def _table_values(table: ScoreTable) -> dict[tuple[str, str, str], Decimal]:
    frame = table.to_frame()
    return {
        (str(entry), str(judge), str(criterion)): score
        for entry, judge, criterion, score in zip(
            frame["entry"], frame["judge"], frame["criterion"], frame["score"], strict=True
        )
    }


def _categories(table: ScoreTable) -> dict[str, str]:
    return {str(entry): str(category) for entry, category in zip(table.entries, table.entry_category, strict=True)}


def _text(value: Decimal) -> str:
    """A score as its reader typed it, without trailing zeros (35.50 → 35.5, 36.00 → 36)."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def compare_tables(
    first: ScoreTable,
    second: ScoreTable,
    first_sheets: Mapping[tuple[str, str], str] | None = None,
    second_sheets: Mapping[tuple[str, str], str] | None = None,
) -> list[TableDifference]:
    """Every difference between two validated score tables of the same rubric, in entry, judge,
    rubric-criterion order: scores that differ or are in one table only, categories, and the paper
    sheet numbers (compared when either table has a ``sheet`` column; a number missing on one side
    differs). An empty list means the tables agree and either may be ranked."""
    order = {key: position for position, key in enumerate(first.criteria)}
    a_values, b_values = _table_values(first), _table_values(second)
    differences: list[TableDifference] = []
    for key in set(a_values) | set(b_values):
        a, b = a_values.get(key), b_values.get(key)
        if a != b:
            differences.append(TableDifference(*key, None if a is None else _text(a), None if b is None else _text(b)))
    a_categories, b_categories = _categories(first), _categories(second)
    for entry in set(a_categories) & set(b_categories):
        if a_categories[entry] != b_categories[entry]:
            differences.append(TableDifference(entry, "", "category", a_categories[entry], b_categories[entry]))
    if first_sheets is not None or second_sheets is not None:
        a_sheets, b_sheets = first_sheets or {}, second_sheets or {}
        scored = {(entry, judge) for entry, judge, _criterion in set(a_values) | set(b_values)}
        for entry, judge in scored:
            a_number, b_number = a_sheets.get((entry, judge)), b_sheets.get((entry, judge))
            if a_number != b_number:
                differences.append(TableDifference(entry, judge, SHEET_COLUMN, a_number, b_number))

    def sort_key(difference: TableDifference) -> tuple[str, str, int, str]:
        place = {"category": -2, SHEET_COLUMN: -1}.get(difference.field, order.get(difference.field, len(order)))
        return (difference.entry, difference.judge, place, difference.field)

    return sorted(differences, key=sort_key)


def describe_difference(difference: TableDifference, first_name: str, second_name: str) -> str:
    """One line naming a difference and both tables' values, e.g.
    ``entry MV-001, judge J2, criterion content: A.csv has 35.5, B.csv has 36``."""
    where = f"entry {difference.entry}"
    if difference.judge:
        where += f", judge {difference.judge}"
    if difference.field == SHEET_COLUMN:
        what = "sheet number"
    elif difference.field == "category":
        what = "category"
    else:
        what = f"criterion {difference.field}"
    if difference.first is None:
        return f"{where}, {what}: only in {second_name} ({difference.second}), missing from {first_name}"
    if difference.second is None:
        return f"{where}, {what}: only in {first_name} ({difference.first}), missing from {second_name}"
    return f"{where}, {what}: {first_name} has {difference.first}, {second_name} has {difference.second}"
