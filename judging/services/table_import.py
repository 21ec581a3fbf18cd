"""Importing a table (.csv or .xlsx) that people filled in: all or nothing, every problem named.

The shared pattern of every import (skills rosters and part scores, organisations): the file is read into
its cells with the row number a spreadsheet shows (the header is row 1, blank rows keep their number),
the columns are found by any of their accepted header names (Chinese or English, case and surrounding
spaces ignored), every row is validated before anything is written, and one bad row refuses the whole
file with :class:`ImportRefused`, whose ``problems`` name each row (and column) in the user's language.
Imports that change existing data show a preview first and validate the file again when confirmed.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd
from flask_babel import gettext as _

from judging.scoring.score_table import ScoreTableError, read_table_cells
from judging.services import ServiceError


class ImportRefused(ServiceError):
    """The file cannot be imported; ``problems`` lists every row's problem, one line each."""

    def __init__(self, problems: list[str]):
        super().__init__(problems[0] if len(problems) == 1 else _("%(n)d problems in the file.", n=len(problems)))
        self.problems = problems


def find_columns(
    cells: pd.DataFrame, names: dict[str, tuple[str, ...]], required: Iterable[str], source: str
) -> dict[str, object]:
    """Column key → the header of the file's column for it, found by any of its accepted ``names``;
    refused, naming what to call them, when a ``required`` one is missing."""
    by_header = {str(header).strip().lower(): header for header in cells.columns}
    found: dict[str, object] = {}
    for key, aliases in names.items():
        for alias in aliases:
            if alias.lower() in by_header:
                found[key] = by_header[alias.lower()]
                break
    missing = [key for key in required if key not in found]
    if missing:
        wanted = "; ".join(" / ".join(names[key]) for key in missing)
        raise ImportRefused([_("%(file)s: missing column: %(columns)s", file=source, columns=wanted)])
    return found


def read_cells(path: Path) -> tuple[pd.DataFrame, list[int]]:
    """The cells below the header of a .csv or .xlsx file, and each data row's spreadsheet row number."""
    try:
        cells, rows = read_table_cells(path)
    except ScoreTableError as exc:
        raise ImportRefused(list(exc.errors)) from None
    return cells, [int(row) for row in rows]
