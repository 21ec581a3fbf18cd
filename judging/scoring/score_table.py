"""Long-format score tables: read from ``.csv`` / ``.xlsx`` and validated against a rubric.

A score table has one row per score, with the columns ``entry, judge, criterion, score`` and, when the
rubric ranks categories separately, ``category``. Header names are matched without regard to case or
surrounding spaces; other columns are ignored. The same shape arrives from the web as a DataFrame.

Rules of a valid table (each problem is reported with the row number a spreadsheet shows, the header
being row 1, and the offending value):

- every required column is present (``category`` is required exactly when the rubric has categories);
- ``entry`` and ``judge`` are not empty;
- ``criterion`` names a rubric criterion by its key (or, for paper forms, by its label);
- ``score`` is a number, read exactly from its text (never through a binary float), within
  ``0 … max`` of its criterion and a multiple of the criterion's ``step``;
- no entry/judge/criterion appears twice;
- ``category`` is one of the rubric's categories (by key or label) and the same on every row of an entry.

Rows whose cells are all empty are skipped (they keep their place in the row numbering). A missing row
(a judge who left a criterion out) is not an error here: the engine drops that judge's sheet for the
entry as incomplete and says so.

Scores are held as integers of hundredths of a point (criteria have steps of at most two decimals), so
everything downstream is integer arithmetic.
"""

from __future__ import annotations

import io
import math
import warnings
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pandas as pd

from judging.rubric import Rubric

HUNDREDTHS_PER_POINT = 100
"""Scores are stored as integers of this many units per point."""

REQUIRED_COLUMNS = ("entry", "judge", "criterion", "score")
MAX_REPORTED_PROBLEMS = 20
"""A table with more problems than this reports the first ones and how many more there are."""


class ScoreTableError(ValueError):
    """A score table that cannot be used; ``errors`` holds one line per problem."""

    def __init__(self, errors: Sequence[str]):
        super().__init__("\n".join(errors))
        self.errors = list(errors)


@dataclass(frozen=True, eq=False)
class ScoreTable:
    """A validated score table, held as integer codes so that the engine can aggregate it quickly.

    ``entries`` and ``judges`` are the distinct labels in order of first appearance; ``criteria`` the
    rubric's criterion keys in rubric order. Each score ``i`` is ``hundredths[i] / 100`` points, given by
    judge ``judges[judge_code[i]]`` to entry ``entries[entry_code[i]]`` on criterion
    ``criteria[criterion_code[i]]``, and came from spreadsheet row ``rows[i]``. ``entry_category`` holds
    each entry's category key ("" when the rubric has no categories).

    A *sheet* is one judge's scores for one entry: score ``i`` belongs to sheet ``sheet_of_score[i]``,
    given by judge ``sheet_judge[k]`` to entry ``sheet_entry[k]``; sheets are ordered by entry, then by
    judge (in order of first appearance).
    """

    entries: np.ndarray
    judges: np.ndarray
    criteria: tuple[str, ...]
    entry_code: np.ndarray
    judge_code: np.ndarray
    criterion_code: np.ndarray
    hundredths: np.ndarray
    entry_category: np.ndarray
    rows: np.ndarray
    sheet_entry: np.ndarray
    sheet_judge: np.ndarray
    sheet_of_score: np.ndarray

    def __len__(self) -> int:
        return len(self.hundredths)

    def to_frame(self) -> pd.DataFrame:
        """The table in its long format again, with exact ``Decimal`` scores."""
        return pd.DataFrame(
            {
                "entry": self.entries[self.entry_code],
                "judge": self.judges[self.judge_code],
                "criterion": np.asarray(self.criteria, dtype=object)[self.criterion_code],
                "score": [Decimal(int(value)).scaleb(-2) for value in self.hundredths],
                "category": self.entry_category[self.entry_code],
            }
        )


# --- reading files -------------------------------------------------------------------------------


def read_score_table(path: str | Path, rubric: Rubric) -> ScoreTable:
    """Read a ``.csv`` (UTF-8, with or without BOM) or ``.xlsx`` (first sheet) score table and validate it.

    The file's path as given names it in every error; a table without data rows is an error.
    """
    path = Path(path)
    cells, rows = read_table_cells(path)
    if cells.empty:
        raise ScoreTableError([f"{path}: no scores (the table has no data rows below its header)"])
    return parse_score_frame(cells, rubric, source=str(path), rows=rows)


def read_table_cells(path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """The cells of a table file below its header row, and the spreadsheet row number of each data row.

    The header is the first row that is not blank; blank rows after it are dropped. CSV cells are
    read as text (``dtype=str``) so that no score ever passes through a binary float; a CSV that is not
    UTF-8 is tried as GB18030 (what Excel on a Chinese Windows saves as "CSV") before giving up.
    """
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ScoreTableError([f"{path}: unsupported table type {path.suffix or '(none)'!r} (use .csv or .xlsx)"])
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ScoreTableError([f"{path}: no such file"]) from None
    except OSError as exc:
        raise ScoreTableError([f"{path}: cannot be read ({exc.strerror})"]) from None
    grid = _csv_grid(path, raw) if suffix == ".csv" else _xlsx_grid(path, raw)

    blank = np.ones(len(grid), dtype=bool)
    for position in range(grid.shape[1]):
        codes, _ = _codes_and_labels(grid.iloc[:, position])
        blank &= codes < 0
    filled = np.flatnonzero(~blank)
    if len(filled) == 0:
        raise ScoreTableError([f"{path}: the table is empty"])
    header_at = filled[0]
    header = [cell_text(value) for value in grid.iloc[header_at]]
    data_at = filled[1:]
    cells = grid.iloc[data_at].copy()
    cells.columns = header
    cells = cells.reset_index(drop=True)
    return cells, (data_at + 1).astype(np.int64)


def _csv_grid(path: Path, raw: bytes) -> pd.DataFrame:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            raise ScoreTableError([f"{path}: not UTF-8 text"]) from None
    try:
        return pd.read_csv(
            io.StringIO(text),
            header=None,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
        )
    except pd.errors.EmptyDataError:
        raise ScoreTableError([f"{path}: the table is empty"]) from None
    except pd.errors.ParserError as exc:
        raise ScoreTableError([f"{path}: cannot be read as CSV ({str(exc).strip()})"]) from None


def _xlsx_grid(path: Path, raw: bytes) -> pd.DataFrame:
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it ignores in files written by other programs.
            warnings.simplefilter("ignore", UserWarning)
            return pd.read_excel(io.BytesIO(raw), header=None, dtype=object, engine="openpyxl", sheet_name=0)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ScoreTableError([f"{path}: cannot be read as an .xlsx workbook ({exc})"]) from None


# --- validating ----------------------------------------------------------------------------------


def parse_score_frame(
    frame: pd.DataFrame,
    rubric: Rubric,
    *,
    source: str = "scores",
    rows: np.ndarray | None = None,
) -> ScoreTable:
    """Validate a long-format score frame against ``rubric`` and return it as a :class:`ScoreTable`.

    ``score`` may hold text, ``Decimal``, integers or floats (a float is taken as the decimal number it
    was written as, e.g. 35.5, and must be within a millionth of a hundredth); ``rows`` gives each
    row's spreadsheet row number (default: its position + 2, as under a header row). Every problem
    names its row and value, as listed in the module docstring; all are raised together as one
    :class:`ScoreTableError`.
    """
    rows = np.arange(2, len(frame) + 2, dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
    columns = _find_columns(frame, rubric, source)
    criteria = tuple(c.key for c in rubric.criteria)
    problems = _RowProblems(rows)

    entry_code, entries = _codes_and_labels(frame[columns["entry"]])
    judge_code, judges = _codes_and_labels(frame[columns["judge"]])
    problems.add(entry_code < 0, lambda i: "empty entry")
    problems.add(judge_code < 0, lambda i: "empty judge")

    criterion_code, criterion_texts = _criterion_codes(frame[columns["criterion"]], rubric)
    problems.add(criterion_code == _EMPTY, lambda i: "empty criterion")
    problems.add(
        criterion_code == _UNKNOWN,
        lambda i: f"unknown criterion '{criterion_texts(i)}' (expected one of {', '.join(criteria)})",
    )

    score_column = frame[columns["score"]]
    hundredths, score_state, score_texts = _score_hundredths(score_column)
    known = criterion_code >= 0
    code = np.where(known, criterion_code, 0)
    maxima = np.array([int(c.max * HUNDREDTHS_PER_POINT) for c in rubric.criteria], dtype=np.int64)
    steps = np.array([int(c.step * HUNDREDTHS_PER_POINT) for c in rubric.criteria], dtype=np.int64)
    problems.add(score_state == _EMPTY, lambda i: "empty score")
    problems.add(score_state == _NOT_A_NUMBER, lambda i: f"score '{score_texts(i)}' is not a number")
    exact = score_state == _OK
    out_of_range = known & exact & ((hundredths < 0) | (hundredths > maxima[code]))
    off_step = known & exact & ~out_of_range & (hundredths % steps[code] != 0)
    not_hundredths = known & (score_state == _NOT_HUNDREDTHS)
    beyond_range = np.zeros(len(frame), dtype=bool)
    for i in np.flatnonzero(not_hundredths):
        value = Decimal(score_texts(int(i)))
        beyond_range[i] = value < 0 or value > rubric.criteria[int(code[i])].max
    out_of_range |= beyond_range
    off_step |= not_hundredths & ~beyond_range

    def range_message(i: int) -> str:
        criterion = rubric.criteria[code[i]]
        return f"score '{score_texts(i)}' for criterion '{criterion.key}' is outside 0 to {_points(criterion.max)}"

    def step_message(i: int) -> str:
        criterion = rubric.criteria[code[i]]
        return (
            f"score '{score_texts(i)}' for criterion '{criterion.key}' is not a multiple of its step "
            f"{_points(criterion.step)}"
        )

    problems.add(out_of_range, range_message)
    problems.add(off_step, step_message)

    entry_category = np.full(len(entries), "", dtype=object)
    if "category" in columns:
        entry_category = _entry_categories(frame[columns["category"]], rubric, entry_code, entries, rows, problems)

    sheet_slot, sheet_of_score = _sheets(entry_code, judge_code, (entry_code >= 0) & (judge_code >= 0), len(judges))
    duplicated, first_of_key = _duplicates(sheet_of_score, criterion_code, len(sheet_slot), len(criteria))
    problems.add(
        duplicated,
        lambda i: (
            f"duplicate score for entry '{entries[entry_code[i]]}', judge '{judges[judge_code[i]]}', "
            f"criterion '{criteria[criterion_code[i]]}' (already given in row {rows[first_of_key[i]]})"
        ),
    )

    problems.raise_if_any(source)
    return ScoreTable(
        entries=np.asarray(entries, dtype=object),
        judges=np.asarray(judges, dtype=object),
        criteria=criteria,
        entry_code=entry_code,
        judge_code=judge_code,
        criterion_code=criterion_code,
        hundredths=hundredths,
        entry_category=entry_category,
        rows=rows,
        sheet_entry=sheet_slot // max(len(judges), 1),
        sheet_judge=sheet_slot % max(len(judges), 1),
        sheet_of_score=sheet_of_score,
    )


def _sheets(
    entry_code: np.ndarray, judge_code: np.ndarray, usable: np.ndarray, n_judges: int
) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (entry, judge) pairs of the usable rows as slots ``entry × n_judges + judge``, in
    ascending order (so a sheet's entry is ``slot // n_judges``), and each row's sheet (-1 if unusable)."""
    slot = np.where(usable, entry_code * max(n_judges, 1) + judge_code, 0)
    span = int(slot.max(initial=-1)) + 1
    if span <= max(4 * len(slot), 1 << 20):
        present = np.zeros(span, dtype=bool)
        present[slot[usable]] = True
        slots = np.flatnonzero(present).astype(np.int64)
        sheet_of_row = (np.cumsum(present) - 1)[slot]
    else:
        slots, inverse = np.unique(slot[usable], return_inverse=True)
        sheet_of_row = np.zeros(len(slot), dtype=np.int64)
        sheet_of_row[usable] = inverse
    return slots, np.where(usable, sheet_of_row, -1)


def _duplicates(
    sheet_of_row: np.ndarray, criterion_code: np.ndarray, n_sheets: int, n_criteria: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rows that repeat an earlier row's entry/judge/criterion, and for each row the first row of its key."""
    identified = (sheet_of_row >= 0) & (criterion_code >= 0)
    key = np.where(identified, sheet_of_row * n_criteria + criterion_code, 0)
    counts = np.bincount(key[identified], minlength=n_sheets * n_criteria)
    if not (counts > 1).any():
        return np.zeros(len(key), dtype=bool), np.arange(len(key))
    key = np.where(identified, key, -1 - np.arange(len(key), dtype=np.int64))
    duplicated = pd.Series(key).duplicated().to_numpy() & identified
    first_of_key = pd.Series(np.arange(len(key))).groupby(key).transform("first").to_numpy()
    return duplicated, first_of_key


def _find_columns(frame: pd.DataFrame, rubric: Rubric, source: str) -> dict[str, object]:
    """Map each wanted column name to the frame's own column label (matched trimmed, case-insensitive)."""
    found: dict[str, object] = {}
    errors = []
    for label in frame.columns:
        name = cell_text(label).lower()
        if name in (*REQUIRED_COLUMNS, "category"):
            if name in found:
                errors.append(f"{source}: row 1: column '{name}' appears twice")
            found.setdefault(name, label)
    wanted = ", ".join(REQUIRED_COLUMNS)
    for name in REQUIRED_COLUMNS:
        if name not in found:
            errors.append(f"{source}: row 1: missing column '{name}' (the header must name {wanted}[, category])")
    if rubric.categories and "category" not in found:
        keys = ", ".join(c.key for c in rubric.categories)
        errors.append(f"{source}: row 1: missing column 'category' (the rubric ranks the categories {keys} separately)")
    if errors:
        raise ScoreTableError(errors)
    return found


class _RowProblems:
    """Problems found row by row; reported in row order, the first MAX_REPORTED_PROBLEMS in full."""

    def __init__(self, rows: np.ndarray):
        self.rows = rows
        self.kinds: list[tuple[np.ndarray, Callable[[int], str]]] = []

    def add(self, mask: np.ndarray, message: Callable[[int], str]) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            self.kinds.append((mask, message))

    def raise_if_any(self, source: str) -> None:
        if not self.kinds:
            return
        total = sum(int(mask.sum()) for mask, _ in self.kinds)
        bad = np.zeros(len(self.rows), dtype=bool)
        for mask, _ in self.kinds:
            bad |= mask
        lines: list[str] = []
        for i in np.flatnonzero(bad):
            for mask, message in self.kinds:
                if mask[i] and len(lines) < MAX_REPORTED_PROBLEMS:
                    lines.append(f"{source}: row {self.rows[i]}: {message(int(i))}")
            if len(lines) >= MAX_REPORTED_PROBLEMS:
                break
        if total > len(lines):
            lines.append(f"{source}: … and {total - len(lines)} more problems")
        raise ScoreTableError(lines)


# --- cells ---------------------------------------------------------------------------------------

_OK, _EMPTY, _NOT_A_NUMBER, _NOT_HUNDREDTHS, _UNKNOWN = 0, -1, -3, -4, -2
"""Cell states; _NOT_HUNDREDTHS: a number with more than two decimals, or too large to hold as hundredths
(its range and step are then checked on the exact Decimal)."""
_LARGEST_HUNDREDTHS = 10**15


def cell_text(value: object) -> str:
    """A cell as the user sees it: text trimmed, whole-number floats without ".0", empty for blanks."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value).strip()


def _codes_and_labels(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes for a column's trimmed text (first appearance order); -1 where the cell is empty.

    The column is factorised first and only its distinct values are trimmed, so a million rows cost
    one hashing pass.
    """
    raw_codes, raw_uniques = pd.factorize(column.to_numpy(dtype=object))
    labels: list[str] = []
    index_of: dict[str, int] = {}
    remap = np.empty(len(raw_uniques) + 1, dtype=np.int64)
    remap[-1] = -1
    for position, value in enumerate(raw_uniques):
        text = cell_text(value)
        if text == "":
            remap[position] = -1
            continue
        if text not in index_of:
            index_of[text] = len(labels)
            labels.append(text)
        remap[position] = index_of[text]
    return remap[raw_codes], labels


def _criterion_codes(column: pd.Series, rubric: Rubric) -> tuple[np.ndarray, Callable[[int], str]]:
    """Rubric criterion index per row (by key, else by label; _EMPTY or _UNKNOWN otherwise), and the
    row's text for messages."""
    codes, labels = _codes_and_labels(column)
    by_key = {c.key: index for index, c in enumerate(rubric.criteria)}
    by_label = {c.label: index for index, c in enumerate(rubric.criteria)}
    index_of_label = np.array(
        [by_key.get(label, by_label.get(label, _UNKNOWN)) for label in labels] + [_EMPTY], dtype=np.int64
    )
    texts = np.asarray([*labels, ""], dtype=object)
    return index_of_label[codes], lambda row: texts[codes[row]]


def _entry_categories(
    column: pd.Series,
    rubric: Rubric,
    entry_code: np.ndarray,
    entries: list[str],
    rows: np.ndarray,
    problems: _RowProblems,
) -> np.ndarray:
    """Each entry's category key, taken from its first row; other rows of the entry must agree.

    A category is named by its key or its label. With no categories in the rubric the column must
    be empty.
    """
    category_code, labels = _codes_and_labels(column)
    by_key = {c.key: c.key for c in rubric.categories}
    by_label = {c.label: c.key for c in rubric.categories}
    keys = [by_key.get(label, by_label.get(label, "")) for label in labels]
    key_of_row = np.asarray([*keys, ""], dtype=object)[category_code]
    if rubric.categories:
        expected = ", ".join(c.key for c in rubric.categories)
        problems.add(category_code < 0, lambda i: "empty category")
        problems.add(
            (category_code >= 0) & (key_of_row == ""),
            lambda i: f"unknown category '{labels[category_code[i]]}' (expected one of {expected})",
        )
    else:
        problems.add(
            category_code >= 0,
            lambda i: f"category '{labels[category_code[i]]}' given, but the rubric has no categories",
        )

    entry_category = np.full(len(entries), "", dtype=object)
    usable = np.flatnonzero((key_of_row != "") & (entry_code >= 0))
    if len(usable) == 0:
        return entry_category
    with_category, first_position = np.unique(entry_code[usable], return_index=True)
    first_row_of_entry = np.full(len(entries), -1, dtype=np.int64)
    first_row_of_entry[with_category] = usable[first_position]
    entry_category[with_category] = key_of_row[first_row_of_entry[with_category]]
    reference = np.full(len(key_of_row), -1, dtype=np.int64)
    reference[usable] = first_row_of_entry[entry_code[usable]]
    inconsistent = np.zeros(len(key_of_row), dtype=bool)
    inconsistent[usable] = key_of_row[usable] != key_of_row[reference[usable]]
    problems.add(
        inconsistent,
        lambda i: (
            f"category '{key_of_row[i]}' for entry '{entries[entry_code[i]]}' differs from "
            f"'{key_of_row[reference[i]]}' in row {rows[reference[i]]}"
        ),
    )
    return entry_category


def _score_hundredths(column: pd.Series) -> tuple[np.ndarray, np.ndarray, Callable[[int], str]]:
    """Each score as an integer of hundredths, a state per row, and the cell's text for messages.

    Text and ``Decimal`` cells are parsed exactly; integer columns are exact; a float cell is the
    decimal number it was written as when it lies within 1e-6 hundredths of one.
    """
    values = column.to_numpy()
    n = len(values)
    if values.dtype.kind in "iu" and np.abs(values).max(initial=0) < _LARGEST_HUNDREDTHS // HUNDREDTHS_PER_POINT:
        hundredths = values.astype(np.int64) * HUNDREDTHS_PER_POINT
        return hundredths, np.zeros(n, dtype=np.int64), lambda i: str(values[i])
    if values.dtype.kind == "f":
        scaled = values * HUNDREDTHS_PER_POINT
        rounded = np.rint(scaled)
        with np.errstate(invalid="ignore"):
            close = (np.abs(scaled - rounded) <= 1e-6) & (np.abs(rounded) < _LARGEST_HUNDREDTHS)
        if close.all():
            return rounded.astype(np.int64), np.zeros(n, dtype=np.int64), lambda i: cell_text(float(values[i]))
        state = np.where(
            np.isnan(values),
            _EMPTY,
            np.where(~np.isfinite(values), _NOT_A_NUMBER, np.where(close, _OK, _NOT_HUNDREDTHS)),
        )
        hundredths = np.where(close, rounded, 0).astype(np.int64)
        return hundredths, state.astype(np.int64), lambda i: cell_text(float(values[i]))

    raw_codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    unique_hundredths = np.zeros(len(uniques) + 1, dtype=np.int64)
    unique_state = np.full(len(uniques) + 1, _EMPTY, dtype=np.int64)
    unique_texts = []
    for position, value in enumerate(uniques):
        text = "" if isinstance(value, bool) else cell_text(value)
        unique_texts.append(str(value) if isinstance(value, bool) else text)
        unique_state[position], unique_hundredths[position] = _parse_points(value, text)
    unique_texts.append("")
    texts = np.asarray(unique_texts, dtype=object)
    return unique_hundredths[raw_codes], unique_state[raw_codes], lambda i: texts[raw_codes[i]]


def _parse_points(value: object, text: str) -> tuple[int, int]:
    """(state, hundredths) of one distinct score cell, parsed exactly from its text."""
    if isinstance(value, bool):
        return _NOT_A_NUMBER, 0
    if text == "":
        return _EMPTY, 0
    try:
        number = Decimal(text)
    except InvalidOperation:
        return _NOT_A_NUMBER, 0
    if not number.is_finite():
        return _NOT_A_NUMBER, 0
    if abs(number) >= _LARGEST_HUNDREDTHS:
        return _NOT_HUNDREDTHS, 0
    scaled = number * HUNDREDTHS_PER_POINT
    if scaled != scaled.to_integral_value():
        return _NOT_HUNDREDTHS, 0
    return _OK, int(scaled)


def _points(value: Decimal) -> str:
    """A rubric number as people write it: 40, 0.5 (no trailing zeros, no exponent)."""
    return format(value.normalize(), "f")
