"""Reading an uploaded table (.csv or .xlsx) for an all-or-nothing import: its cells, the spreadsheet row
number of each data row, and columns found by any of their accepted header names.

Every import built on it validates every row before writing anything; one bad row writes nothing, and
each problem names the row as a spreadsheet shows it (the header is row 1) and the column.
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
    """Column key → the header that names it (any accepted alias, case and spaces aside); a missing
    required column refuses the file, naming every accepted header."""
    by_header = {str(header).strip().lower(): header for header in cells.columns}
    found = {}
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


def read_table(path: Path) -> tuple[pd.DataFrame, list[int]]:
    """The cells below the header and each data row's spreadsheet row number; an unreadable file is refused."""
    try:
        cells, rows = read_table_cells(path)
    except ScoreTableError as exc:
        raise ImportRefused(list(exc.errors)) from None
    return cells, [int(row) for row in rows]
