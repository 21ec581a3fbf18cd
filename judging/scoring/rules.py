"""The aggregation rules of DESIGN.md §3, one function per rule, each stating its rule in its docstring.

Pure and array-based: a rule reads integer arrays (scores in hundredths, sheet totals in 10^-(2+w)
points) and returns arrays; :mod:`judging.scoring.ranking` runs them in order. Arithmetic is exact:
means, trimmed means and medians are kept as exact fractions (numerator, denominator) per entry and
rounded half up (四舍五入) exactly once (:func:`round_half_up`); the z-score method is the one float
path, rounded the same way (:func:`round_float_half_up`).

Each valid sheet's fate in the aggregation is a :class:`SheetFate`; the rules record it per sheet as
a small integer code (:data:`FATE_CODES`) so that a contest of thousands of sheets stays an array.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

import numpy as np


class SheetFate(StrEnum):
    """What became of one judge's sheet (or, at criterion level, of one criterion score) in the
    aggregation. The value is a stable machine word (the offline JSON writes it)."""

    COUNTED = "counted"
    TRIMMED_LOW = "trimmed_low"
    """Dropped by ``trimmed_mean`` at the low end."""
    TRIMMED_HIGH = "trimmed_high"
    """Dropped by ``trimmed_mean`` at the high end."""
    OUTSIDE_MEDIAN = "outside_median"
    """Not one of the one or two middle values the median is taken from."""
    INCOMPLETE = "incomplete"
    """The sheet lacks a score for some criterion: it is dropped before any aggregation."""


class DecidedBy(StrEnum):
    """What set an entry apart from its neighbour in the ranking (:func:`deciding_key`). The value is a
    stable machine word."""

    FINAL_SCORE = "final_score"
    TIE_BREAK = "tie_break"
    """Equal final scores; the tie-break criterion named beside it decided."""
    SHARED_RANK = "shared_rank"
    """Equal on the final score and on every tie-break: the two share a rank."""


COUNTED, TRIMMED_LOW, TRIMMED_HIGH, OUTSIDE_MEDIAN, INCOMPLETE = 0, 1, 2, 3, 4
FATE_CODES: tuple[SheetFate, ...] = (
    SheetFate.COUNTED,
    SheetFate.TRIMMED_LOW,
    SheetFate.TRIMMED_HIGH,
    SheetFate.OUTSIDE_MEDIAN,
    SheetFate.INCOMPLETE,
)
"""The fate of each code the rules write into their ``status`` arrays: ``FATE_CODES[code]``."""

_SAFE_INT64 = 2**62
_ZSCORE_FIXED_DECIMALS = 9


@dataclass(frozen=True, eq=False)
class SheetGroups:
    """Valid sheets grouped by entry: ``entry[k]`` is the entry of sheet k (ascending), and entry e's
    sheets are ``starts[e] : starts[e] + counts[e]``."""

    entry: np.ndarray
    starts: np.ndarray
    counts: np.ndarray

    @classmethod
    def of(cls, entry_of_sheet: np.ndarray, n_entries: int) -> SheetGroups:
        counts = np.bincount(entry_of_sheet, minlength=n_entries).astype(np.int64)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
        return cls(entry=entry_of_sheet, starts=starts, counts=counts)

    def sorting(self, values: np.ndarray) -> np.ndarray:
        """The permutation that sorts the sheets by entry and, within an entry, by value (stable: among
        equal values the earlier sheet comes first)."""
        n_entries = len(self.counts)
        if len(values) == 0:
            return np.zeros(0, dtype=np.int64)
        per_entry = int(self.counts[0])
        if per_entry > 0 and len(values) == per_entry * n_entries and (self.counts == per_entry).all():
            # Every entry has the same number of sheets (the usual "all judges score all entries").
            within = np.argsort(values.reshape(n_entries, per_entry), axis=1, kind="stable")
            return (within + self.starts[:, None]).ravel()
        lowest, span = _largest(-values), _largest(values) + _largest(-values) + 1
        if values.dtype != object and n_entries * span < _SAFE_INT64:
            return np.argsort(self.entry * span + (values + lowest), kind="stable")
        return np.lexsort((values, self.entry))

    def position(self) -> np.ndarray:
        """Each sheet's position (0-based) within its entry's sheets."""
        return np.arange(len(self.entry), dtype=np.int64) - self.starts[self.entry]


@dataclass(frozen=True, eq=False)
class ExactAggregate:
    """Per entry the exact value ``num / (den × unit)`` (``den == 0``: no value), and per sheet whether
    it counted (``status``: COUNTED, TRIMMED_LOW, TRIMMED_HIGH or OUTSIDE_MEDIAN)."""

    num: np.ndarray
    den: np.ndarray
    unit: int
    status: np.ndarray


def sheet_totals(scores: np.ndarray, weight_units: np.ndarray) -> np.ndarray:
    """A judge's **sheet total** for an entry is Σ weight × score over the criteria.

    ``scores`` holds one valid sheet per row in hundredths, ``weight_units`` each criterion's weight
    in 10^-w; the totals are exact integers of 10^-(2+w) points.
    """
    bound = int(scores.max(initial=0)) * int(weight_units.sum())
    if bound >= _SAFE_INT64:
        return scores.astype(object) @ weight_units.astype(object)
    return scores @ weight_units


def mean_across_judges(values: np.ndarray, groups: SheetGroups, unit: int) -> ExactAggregate:
    """**mean**: the sum of the entry's valid sheet values divided by their number."""
    sums = _group_sums(values, groups.starts, groups.starts + groups.counts)
    return ExactAggregate(sums, groups.counts.copy(), unit, np.full(len(values), COUNTED, dtype=np.int8))


def trimmed_mean(values: np.ndarray, groups: SheetGroups, unit: int, trim: int) -> ExactAggregate:
    """**trimmed_mean**: sort the entry's valid sheet values, drop ``trim`` from each end, average the rest.

    It needs more than 2 × trim sheets; an entry with fewer has no value (it is not ranked, and the
    result says why). Equal values are interchangeable; the explanation names as dropped, among equal
    values, the sheet of the judge who appears first in the table at the low end and last at the high end.
    """
    order = groups.sorting(values)
    ordered = values[order]
    counts, starts = groups.counts, groups.starts
    enough = counts > 2 * trim
    kept_from = starts + np.where(enough, trim, 0)
    kept_to = starts + np.where(enough, counts - trim, 0)
    sums = _group_sums(ordered, kept_from, np.maximum(kept_to, kept_from))
    position = groups.position()
    count_of_sheet = counts[groups.entry]
    status_sorted = np.where(
        ~enough[groups.entry],
        COUNTED,
        np.where(position < trim, TRIMMED_LOW, np.where(position >= count_of_sheet - trim, TRIMMED_HIGH, COUNTED)),
    ).astype(np.int8)
    status = np.empty_like(status_sorted)
    status[order] = status_sorted
    return ExactAggregate(np.where(enough, sums, 0), np.where(enough, counts - 2 * trim, 0), unit, status)


def median_across_judges(values: np.ndarray, groups: SheetGroups, unit: int) -> ExactAggregate:
    """**median**: the middle of the entry's sorted valid sheet values; with an even number of sheets,
    the mean of the two middle ones (kept exact as a half)."""
    order = groups.sorting(values)
    ordered = values[order]
    counts, starts = groups.counts, groups.starts
    has = counts > 0
    lower = np.where(has, starts + (counts - 1) // 2, 0)
    upper = np.where(has, starts + counts // 2, 0)
    if len(ordered):
        num = np.where(has, ordered[lower] + ordered[upper], 0)
    else:
        num = np.zeros(len(counts), dtype=np.int64)
    position = groups.position()
    count_of_sheet = counts[groups.entry]
    middle = (position == (count_of_sheet - 1) // 2) | (position == count_of_sheet // 2)
    status = np.empty(len(values), dtype=np.int8)
    status[order] = np.where(middle, COUNTED, OUTSIDE_MEDIAN)
    return ExactAggregate(num, np.where(has, 2, 0), unit, status)


@dataclass(frozen=True, eq=False)
class ZScores:
    """The z-score method's result: per entry ``points`` (float; NaN without sheets), per valid sheet
    ``z``, the panel's ``overall_mean`` / ``overall_sd`` and each judge's mean and s.d. (0: no spread)."""

    points: np.ndarray
    z: np.ndarray
    mean_z: np.ndarray
    overall_mean: float
    overall_sd: float
    judge_mean: np.ndarray
    judge_sd: np.ndarray


def zscore_across_judges(
    values: np.ndarray, unit: int, judge_of_sheet: np.ndarray, n_judges: int, groups: SheetGroups
) -> ZScores:
    """**zscore**: per judge, standardise the judge's valid sheet values over the entries that judge
    scored (population s.d.): z = (value − judge's mean) / judge's s.d.; a judge whose values have zero
    spread (all equal, decided exactly) contributes z = 0. An entry's score is
    ``overall_mean + overall_sd × mean_z``, with mean_z the mean of its sheets' z and the overall mean
    and population s.d. taken over all valid sheet values, so that it reads as points.

    Every valid sheet counts, including sheets of entries that a check later excludes or that have
    too few sheets: they are part of how the judge scored.
    """
    points_of_sheet = values.astype(np.float64) / unit
    n_of_judge = np.bincount(judge_of_sheet, minlength=n_judges)
    with np.errstate(invalid="ignore", divide="ignore"):
        judge_mean = np.bincount(judge_of_sheet, weights=points_of_sheet, minlength=n_judges) / n_of_judge
        deviation = points_of_sheet - judge_mean[judge_of_sheet]
        judge_sd = np.sqrt(np.bincount(judge_of_sheet, weights=deviation**2, minlength=n_judges) / n_of_judge)
    highest = np.full(n_judges, np.iinfo(np.int64).min, dtype=np.int64)
    lowest = np.full(n_judges, np.iinfo(np.int64).max, dtype=np.int64)
    np.maximum.at(highest, judge_of_sheet, values.astype(np.int64))
    np.minimum.at(lowest, judge_of_sheet, values.astype(np.int64))
    spread = highest > lowest
    judge_sd = np.where(spread, judge_sd, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(spread[judge_of_sheet], deviation / np.where(spread, judge_sd, 1.0)[judge_of_sheet], 0.0)
        mean_z = np.bincount(groups.entry, weights=z, minlength=len(groups.counts)) / groups.counts
    overall_mean = float(points_of_sheet.mean()) if len(values) else math.nan
    overall_sd = float(points_of_sheet.std()) if len(values) else math.nan
    points = overall_mean + overall_sd * mean_z
    return ZScores(points, z, mean_z, overall_mean, overall_sd, judge_mean, judge_sd)


def round_half_up(num: np.ndarray, den: np.ndarray, unit: int, decimals: int) -> np.ndarray:
    """The displayed value of ``v = num / (den × unit) ≥ 0`` in units of 10^-decimals:
    ⌊v × 10^decimals + ½⌋, i.e. rounded **half up** (四舍五入): 84.125 → 84.13, 84.124 → 84.12.

    Exact integer arithmetic; this is the one and only rounding of a score. ``den == 0`` gives 0.
    """
    scale = 10**decimals
    bound = 2 * _largest(num) * scale + _largest(den) * unit
    if bound >= _SAFE_INT64:
        num, den = num.astype(object), den.astype(object)
    safe_den = np.where(den > 0, den, 1)
    rounded = (2 * num * scale + safe_den * unit) // (2 * safe_den * unit)
    return np.where(den > 0, rounded, 0)


def round_float_half_up(points: np.ndarray, decimals: int) -> np.ndarray:
    """The float path's displayed value in units of 10^-decimals: the float is first fixed to 9
    decimals (far below a score's precision, far above float noise, so 84.12499999999999 is 84.125),
    then rounded **half up** (a half away from zero), as the exact path does: 84.125 → 84.13.
    NaN gives 0."""
    finite = np.isfinite(points)
    safe = np.where(finite, points, 0.0)
    if np.abs(safe).max(initial=0.0) < 9e9:
        fixed = np.rint(safe * 10.0**_ZSCORE_FIXED_DECIMALS).astype(np.int64)
        step = 10 ** (_ZSCORE_FIXED_DECIMALS - decimals)
        magnitude = (np.abs(fixed) * 2 + step) // (2 * step)
        return np.where(finite, np.sign(fixed) * magnitude, 0)
    return np.array(  # pragma: no cover - scores of billions of points
        [
            _decimal_half_up(Decimal(f"{value:.9f}"), decimals) if ok else 0
            for value, ok in zip(safe, finite, strict=True)
        ],
        dtype=object,
    )


def check_passes(passes: np.ndarray, answers: np.ndarray, rule: str) -> np.ndarray:
    """A pass/fail **check** of an entry, from the judges who answered it for that entry:
    ``majority``: more than half answered pass; ``all``: every one did; ``any``: at least one did.
    An entry nobody answered the check for is not excluded by it."""
    if rule == "majority":
        verdict = 2 * passes > answers
    elif rule == "all":
        verdict = passes == answers
    else:
        verdict = passes > 0
    return verdict | (answers == 0)


def ranking_order(category_order: np.ndarray, keys: np.ndarray, entry_order: np.ndarray) -> np.ndarray:
    """**Ranking** order of entries: by category (rubric order), then descending final score rounded to
    ``decimals``, then descending tie-break criterion aggregates (rounded the same way) in the order the
    rubric lists them; entries equal on all of these are listed by entry label.

    ``keys`` has one row per entry: the rounded final score, then each tie-break aggregate.
    """
    columns = [entry_order] + [-keys[:, k] for k in range(keys.shape[1] - 1, -1, -1)] + [category_order]
    return np.lexsort(columns)


def competition_ranks(category: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """**Shared ranks**, competition style: in ranking order, an entry equal to the one before it on
    every ranking key (rounded final score and each tie-break) shares its rank; any other entry's rank
    is its 1-based position in its category: 1, 2, 2, 4."""
    n = len(category)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    same_category = np.concatenate(([False], category[1:] == category[:-1]))
    same_keys = np.concatenate(([False], (keys[1:] == keys[:-1]).all(axis=1)))
    shares_rank = same_category & same_keys
    index = np.arange(n, dtype=np.int64)
    category_start = np.maximum.accumulate(np.where(same_category, 0, index))
    own_rank = index - category_start + 1
    leader = np.maximum.accumulate(np.where(shares_rank, 0, index))
    return own_rank[leader]


def deciding_key(category: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """For each entry in ranking order, which key set it apart from the entry above: 0 the final score
    (:attr:`DecidedBy.FINAL_SCORE`), k ≥ 1 the k-th tie-break (:attr:`DecidedBy.TIE_BREAK`), -1 a shared
    rank (:attr:`DecidedBy.SHARED_RANK`), -2 none (first of its category)."""
    n = len(category)
    decided = np.full(n, -2, dtype=np.int64)
    if n < 2:
        return decided
    differs = keys[1:] != keys[:-1]
    first = np.where(differs.any(axis=1), differs.argmax(axis=1), -1)
    decided[1:] = np.where(category[1:] == category[:-1], first, -2)
    return decided


def weighted_sum_of_criteria(
    criterion_aggregates: Sequence[ExactAggregate], weight_units: np.ndarray, unit: int
) -> ExactAggregate:
    """**level = "criterion"**: the final score is Σ weight × criterion aggregate, each criterion having
    been aggregated across judges on its own first; exact (the aggregates of one entry share their
    denominator: the number of sheets counted, or 2 for a median)."""
    weights = [int(w) for w in weight_units]
    bound = sum(_largest(a.num) * w for w, a in zip(weights, criterion_aggregates, strict=True))
    exact = (lambda a: a.num.astype(object)) if bound >= _SAFE_INT64 else (lambda a: a.num)
    num = sum(w * exact(a) for w, a in zip(weights, criterion_aggregates, strict=True))
    first = criterion_aggregates[0]
    return ExactAggregate(num, first.den, unit, first.status)


# --- exact integer arrays ------------------------------------------------------------------------


def _group_sums(values: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """Exact sums of ``values[start[i]:stop[i]]`` (integers; Python integers if int64 could overflow)."""
    if len(values) and _largest(values) * len(values) >= _SAFE_INT64:
        values = values.astype(object)
    running = np.concatenate((np.zeros(1, dtype=values.dtype), np.cumsum(values)))
    return running[stop] - running[start]


def _largest(values: np.ndarray) -> int:
    if len(values) == 0:
        return 0
    return int(max(abs(int(values.max())), abs(int(values.min()))))


def _decimal_half_up(value: Decimal, decimals: int) -> int:
    return int(value.scaleb(decimals).quantize(Decimal(1), rounding=ROUND_HALF_UP))
