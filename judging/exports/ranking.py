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

import pandas as pd

from judging.exports.workbook import csv_text, frame_sheet, write_xlsx
from judging.result_words import listing_note_text, sheet_fate_label, sheet_note_text
from judging.scoring.ranking import RankingResult


def listing_csv(result: RankingResult) -> str:
    """The listing as CSV text (no BOM: the command adds one to a file, not to standard output)."""
    listing = worded_listing(result)
    return csv_text(list(listing.columns), listing.itertuples(index=False, name=None), line_end="\n")


def listing_json(result: RankingResult) -> str:
    """The listing with each entry's explanation, as indented JSON."""
    return json.dumps(result.to_json_dict(listing_note_text), ensure_ascii=False, indent=2) + "\n"


def ranking_xlsx(result: RankingResult, target: Path | IO[bytes]) -> None:
    """A workbook with the sheet "ranking" (the listing, scores as numbers shown with ``decimals``
    places) and the sheet "sheets" (every judge's sheet: scores, total and whether it counted)."""
    number_format = "0" if result.decimals == 0 else "0." + "0" * result.decimals
    write_xlsx(
        [frame_sheet("ranking", worded_listing(result), number_format), frame_sheet("sheets", worded_sheets(result))],
        target,
    )


def worded_listing(result: RankingResult) -> pd.DataFrame:
    """The engine's listing with its ``note`` in words."""
    listing = result.listing()
    listing["note"] = [listing_note_text(note) for note in listing["note"]]
    return listing


def worded_sheets(result: RankingResult) -> pd.DataFrame:
    """The engine's sheet table with each sheet's ``status`` in words and a ``note`` in words (the
    missing criteria of an incomplete sheet, or the criterion scores that did not count)."""
    sheets = result.sheet_table()
    sheets["status"] = [sheet_fate_label(fate) for fate in sheets["status"]]
    sheets["note"] = [
        sheet_note_text(missing, fates, {})
        for missing, fates in zip(sheets.pop("missing"), sheets.pop("criterion_status"), strict=True)
    ]
    return sheets
