"""The offline ranking (``flask rank``) as a file: the listing as CSV, JSON or xlsx.

The CSV is a stable, machine-readable interface (DESIGN.md §5): columns
``rank,entry,category,final_score,award,n_sheets,`` one per criterion, then ``note``; scores with exactly
the rubric's decimals, empty cells for no value, ``\\n`` line ends. Text that a spreadsheet would evaluate
is quoted as :mod:`judging.exports.workbook` says (a leading ``'``); numbers never are.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

from judging.exports.workbook import csv_text, frame_sheet, write_xlsx
from judging.scoring.aggregate import RankingResult


def listing_csv(result: RankingResult) -> str:
    """The listing as CSV text (no BOM: the command adds one to a file, not to standard output)."""
    listing = result.listing()
    return csv_text(list(listing.columns), listing.itertuples(index=False, name=None), line_end="\n")


def listing_json(result: RankingResult) -> str:
    """The listing with each entry's explanation, as indented JSON."""
    return json.dumps(result.to_json_dict(), ensure_ascii=False, indent=2) + "\n"


def ranking_xlsx(result: RankingResult, target: Path | IO[bytes]) -> None:
    """A workbook with the sheet "ranking" (the listing, scores as numbers shown with ``decimals``
    places) and the sheet "sheets" (every judge's sheet: scores, total and whether it counted)."""
    number_format = "0" if result.decimals == 0 else "0." + "0" * result.decimals
    write_xlsx(
        [frame_sheet("ranking", result.listing(), number_format), frame_sheet("sheets", result.sheet_table())], target
    )
