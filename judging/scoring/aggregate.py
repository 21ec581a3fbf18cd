"""The scoring engine for ``kind = "work"`` contests: from judges' scores to a ranked, explained award list.

Pure: a long-format score table in (``entry, judge, criterion, score[, category]``, as a DataFrame or a
validated :class:`~judging.scoring.score_table.ScoreTable`), a :class:`RankingResult` out. No Flask, no
database. Each rule of DESIGN.md §3 is one function below whose docstring states it; the tests pin
them with worked numbers.

Arithmetic is exact: scores are integers of hundredths, weights integers of 10^-w (w = the most
decimals of any weight), so a sheet total is an integer of 10^-(2+w) points. Means, trimmed means
and medians are kept as exact fractions (numerator, denominator) per entry and rounded half up
(四舍五入) exactly once, at ``decimals``. The z-score method is the one float path, rounded the same way.

Terms used throughout:

- A *sheet* is one judge's scores for one entry. It is *valid* when it has a score for every
  criterion; an incomplete sheet is dropped (the explanation says which criteria it lacks).
- ``n_sheets`` of an entry is its number of valid sheets, before any trimming.
- A *criterion aggregate* is one criterion's scores over the entry's valid sheets, aggregated across
  judges by the rubric's method on their own (for ``trimmed_mean`` the criterion's own highest and
  lowest are dropped), rounded like the final score. They are the per-criterion columns of the result
  and what ``tie_break`` compares.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, localcontext
from functools import cached_property, lru_cache
from typing import Literal

import numpy as np
import pandas as pd

from judging.rubric import AggregationSpec, Rubric
from judging.scoring.awards import AwardNote, allocate_awards
from judging.scoring.score_table import HUNDREDTHS_PER_POINT, ScoreTable, parse_score_frame

TABLE_COLUMNS = ("rank", "entry", "category", "final_score", "award", "n_sheets")
"""The first columns of :attr:`RankingResult.table`; one column per criterion follows."""

COUNTED, TRIMMED_LOW, TRIMMED_HIGH, OUTSIDE_MEDIAN, INCOMPLETE = 0, 1, 2, 3, 4
SHEET_STATUS = {
    COUNTED: "counted",
    TRIMMED_LOW: "dropped: trimmed (lowest)",
    TRIMMED_HIGH: "dropped: trimmed (highest)",
    OUTSIDE_MEDIAN: "not counted: outside the median",
    INCOMPLETE: "dropped: incomplete sheet",
}
_SAFE_INT64 = 2**62
_ZSCORE_FIXED_DECIMALS = 9

Status = Literal["ranked", "excluded", "not ranked"]


# --- the rules -----------------------------------------------------------------------------------


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
    """For each entry in ranking order, which key set it apart from the entry above: 0 the final score,
    k ≥ 1 the k-th tie-break, -1 a shared rank, -2 none (first of its category)."""
    n = len(category)
    decided = np.full(n, -2, dtype=np.int64)
    if n < 2:
        return decided
    differs = keys[1:] != keys[:-1]
    first = np.where(differs.any(axis=1), differs.argmax(axis=1), -1)
    decided[1:] = np.where(category[1:] == category[:-1], first, -2)
    return decided


# --- the result ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Neighbour:
    """The entry just above or below in the ranking, and what decided the order between the two:
    ``"final_score"``, ``"tie_break"`` (naming ``criterion``) or ``"shared_rank"``."""

    entry: str
    decided_by: Literal["final_score", "tie_break", "shared_rank"]
    criterion: str | None = None

    def to_json_dict(self) -> dict[str, str | None]:
        return {"entry": self.entry, "decided_by": self.decided_by, "criterion": self.criterion}


@dataclass(frozen=True)
class SheetExplanation:
    """One judge's sheet for an entry: the scores as given, the total, and whether it counted."""

    judge: str
    scores: Mapping[str, Decimal]
    total: Decimal | None
    status: str
    """``counted``, ``dropped: trimmed (lowest|highest)``, ``not counted: outside the median`` or
    ``dropped: incomplete sheet`` (then ``missing`` names the criteria without a score)."""
    missing: tuple[str, ...] = ()
    z: float | None = None
    """The sheet total's z within its judge's sheets (zscore at sheet level)."""
    criterion_status: Mapping[str, str] = field(default_factory=dict)
    """At criterion level: how each criterion score fared in that criterion's own aggregation."""
    criterion_z: Mapping[str, float] = field(default_factory=dict)
    """At criterion level with zscore: each criterion score's z within its judge's scores."""

    def to_json_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "judge": self.judge,
            "scores": {key: _text(value) for key, value in self.scores.items()},
            "total": None if self.total is None else _text(self.total),
            "status": self.status,
        }
        if self.missing:
            data["missing"] = list(self.missing)
        if self.z is not None:
            data["z"] = round(self.z, 6)  # a display of the float path, not a score
        if self.criterion_status:
            data["criterion_status"] = dict(self.criterion_status)
        if self.criterion_z:
            data["criterion_z"] = {key: round(value, 6) for key, value in self.criterion_z.items()}
        return data


@dataclass(frozen=True)
class EntryExplanation:
    """Everything behind one entry's line in the result: its sheets, what was dropped and why, the
    computation of its score, its criterion aggregates, and what decided its place."""

    entry: str
    category: str
    status: Status
    rank: int | None
    final_score: Decimal | None
    award: str
    computation: str
    reasons: tuple[str, ...]
    sheets: tuple[SheetExplanation, ...]
    criteria: Mapping[str, Decimal | None]
    above: Neighbour | None
    below: Neighbour | None
    award_note: str = ""

    def to_json_dict(self) -> dict[str, object]:
        return {
            "entry": self.entry,
            "category": self.category,
            "status": self.status,
            "rank": self.rank,
            "final_score": None if self.final_score is None else str(self.final_score),
            "award": self.award,
            "award_note": self.award_note,
            "computation": self.computation,
            "reasons": list(self.reasons),
            "criteria": {key: None if value is None else str(value) for key, value in self.criteria.items()},
            "above": None if self.above is None else self.above.to_json_dict(),
            "below": None if self.below is None else self.below.to_json_dict(),
            "sheets": [sheet.to_json_dict() for sheet in self.sheets],
        }


@dataclass(frozen=True, eq=False)
class _Detail:
    """What the engine computed, kept as arrays so that explanations are built only when asked for."""

    entries: np.ndarray
    judges: np.ndarray
    criteria: tuple[str, ...]
    weights: tuple[Decimal, ...]
    entry_category: np.ndarray
    sheet_entry: np.ndarray
    sheet_judge: np.ndarray
    sheet_scores: np.ndarray
    sheet_valid: np.ndarray
    sheet_total: np.ndarray
    total_unit: int
    sheet_status: np.ndarray
    criterion_status: np.ndarray | None
    sheet_z: np.ndarray | None
    criterion_z: np.ndarray | None
    entry_sheet_start: np.ndarray
    n_valid: np.ndarray
    status: np.ndarray
    reasons: Mapping[int, tuple[str, ...]]
    rank: np.ndarray
    award: np.ndarray
    award_note: np.ndarray
    final_units: np.ndarray
    criterion_units: np.ndarray
    final_exact: ExactAggregate | None
    zscores: ZScores | None
    criterion_exact: tuple[ExactAggregate, ...]
    criterion_zscores: tuple[ZScores, ...]
    valid_sheet_of: np.ndarray
    ranked_order: np.ndarray
    position_in_ranking: np.ndarray
    decided: np.ndarray


@dataclass(frozen=True, eq=False)
class RankingResult:
    """The outcome of ranking one contest's scores.

    - ``table``: the ranked entries, by category (rubric order) then rank, with the columns
      ``rank, entry, category, final_score, award, n_sheets`` and one per criterion (the criterion
      aggregates); scores are ``Decimal`` with exactly ``decimals`` places.
    - ``excluded``: entries that are not ranked, with ``entry, category, status, n_sheets, reason``:
      status ``excluded`` (a check failed) or ``not ranked`` (too few valid sheets).
    - ``award_notes``: awards that went to more entries than their places because of a shared rank.
    - :meth:`explain` / :attr:`explanations`: per entry, the sheets and every step behind its number.
    """

    contest: str
    rubric_sha256: str
    aggregation: AggregationSpec
    criteria: tuple[str, ...]
    table: pd.DataFrame
    excluded: pd.DataFrame
    award_notes: tuple[AwardNote, ...]
    _detail: _Detail = field(repr=False)

    @property
    def decimals(self) -> int:
        return self.aggregation.decimals

    def explain(self, entry: str) -> EntryExplanation:
        """The explanation of one entry (by its label); ``KeyError`` for an unknown entry."""
        return _explain(self, self._entry_index[entry])

    @cached_property
    def _entry_index(self) -> dict[str, int]:
        return {str(name): index for index, name in enumerate(self._detail.entries)}

    @cached_property
    def explanations(self) -> Mapping[str, EntryExplanation]:
        """Every entry's explanation, ranked entries first in ranking order (built on first use)."""
        return {explanation.entry: explanation for explanation in self._iter_explanations()}

    def _iter_explanations(self) -> Iterator[EntryExplanation]:
        detail = self._detail
        ranked = detail.ranked_order.tolist()
        others = [int(e) for e in np.flatnonzero(detail.status != 0)]
        for index in ranked + others:
            yield _explain(self, int(index))

    def listing(self) -> pd.DataFrame:
        """The table the ``rank`` command writes: the ranked entries, then the entries that are not
        ranked (empty rank, score and award), and a trailing ``note`` column: for a ranked entry the
        award note when it shares a rank across an award boundary, else empty; for the others the
        reason they are not ranked."""
        ranked = self.table.copy()
        ranked["rank"] = ranked["rank"].astype(object)
        detail = self._detail
        ranked["note"] = detail.award_note[detail.ranked_order] if len(ranked) else []
        rest = pd.DataFrame(
            {
                "rank": [None] * len(self.excluded),
                "entry": self.excluded["entry"],
                "category": self.excluded["category"],
                "final_score": [None] * len(self.excluded),
                "award": [""] * len(self.excluded),
                "n_sheets": self.excluded["n_sheets"],
                **{key: [None] * len(self.excluded) for key in self.criteria},
                "note": self.excluded["reason"],
            }
        )
        if rest.empty:
            return ranked.reset_index(drop=True)
        if ranked.empty:
            return rest.reset_index(drop=True)
        return pd.concat([ranked.astype(object), rest.astype(object)], ignore_index=True)

    def sheet_table(self) -> pd.DataFrame:
        """Every judge's sheet, by entry then judge: ``entry, category, judge``, the scores (None where
        missing), ``total`` (None for an incomplete sheet), ``status`` (see :class:`SheetExplanation`),
        ``z`` when the z-score method works on sheet totals, and ``note``: the missing criteria of an
        incomplete sheet or, at criterion level, the criterion scores that did not count."""
        detail = self._detail
        valid_of = detail.valid_sheet_of
        valid = valid_of >= 0
        columns: dict[str, object] = {
            "entry": detail.entries[detail.sheet_entry],
            "category": detail.entry_category[detail.sheet_entry],
            "judge": detail.judges[detail.sheet_judge],
        }
        for c, key in enumerate(detail.criteria):
            scores = detail.sheet_scores[:, c]
            column = _decimal_column(np.where(scores >= 0, scores, 0), 2)
            column[scores < 0] = None
            columns[key] = column
        total = np.zeros(len(valid_of), dtype=detail.sheet_total.dtype)
        total[valid] = detail.sheet_total[valid_of[valid]]
        total_column = _decimal_column(total, 2 + _decimal_exponent(detail.total_unit))
        total_column[~valid] = None
        columns["total"] = total_column
        columns["status"] = np.array([SHEET_STATUS[code] for code in range(5)], dtype=object)[detail.sheet_status]
        if detail.sheet_z is not None:
            z = np.full(len(valid_of), np.nan)
            z[valid] = detail.sheet_z[valid_of[valid]]
            columns["z"] = z
        note = np.full(len(valid_of), "", dtype=object)
        for s in np.flatnonzero(~valid).tolist():
            missing = [key for c, key in enumerate(detail.criteria) if detail.sheet_scores[s, c] < 0]
            note[s] = "missing " + ", ".join(missing)
        if detail.criterion_status is not None:
            for s in np.flatnonzero(valid & (detail.criterion_status != COUNTED).any(axis=1)[valid_of]).tolist():
                statuses = detail.criterion_status[valid_of[s]]
                note[s] = "; ".join(
                    f"{key} {SHEET_STATUS[int(code)]}"
                    for key, code in zip(detail.criteria, statuses, strict=True)
                    if code != COUNTED
                )
        columns["note"] = note
        return pd.DataFrame(columns)

    def to_json_dict(self, *, explanations: bool = True) -> dict[str, object]:
        """A JSON-ready view: scores as strings with exactly ``decimals`` places (e.g. "84.13")."""
        rows = []
        for record in self.listing().to_dict(orient="records"):
            rows.append({key: _json_cell(value) for key, value in record.items()})
        data: dict[str, object] = {
            "contest": self.contest,
            "rubric_sha256": self.rubric_sha256,
            "aggregation": {
                "level": self.aggregation.level,
                "across_judges": self.aggregation.across_judges,
                "trim": self.aggregation.trim,
                "min_judges": self.aggregation.min_judges,
                "tie_break": list(self.aggregation.tie_break),
                "decimals": self.aggregation.decimals,
            },
            "rows": rows,
            "award_notes": [note.message for note in self.award_notes],
        }
        if explanations:
            data["explanations"] = [explanation.to_json_dict() for explanation in self.explanations.values()]
        return data


# --- the pipeline --------------------------------------------------------------------------------


def rank_entries(
    scores: pd.DataFrame | ScoreTable,
    rubric: Rubric,
    checks: pd.DataFrame | None = None,
) -> RankingResult:
    """Rank a ``kind = "work"`` contest from its judges' scores, by the rules of DESIGN.md §3.

    ``scores`` is the long-format table (validated here when given as a DataFrame, raising
    :class:`~judging.scoring.score_table.ScoreTableError`); ``checks`` the optional long frame
    ``entry, judge, check, passed`` of the pass/fail checks. In order:

    1. Sheets with a score for every criterion are valid; the others are dropped as incomplete.
    2. An entry is **excluded** when a check fails by its rule (:func:`check_passes`), and **not
       ranked** with fewer than ``min_judges`` valid sheets (or, for ``trimmed_mean``, not more than
       2 × trim); the result states each reason.
    3. ``level = "sheet"``: each sheet total (:func:`sheet_totals`) is aggregated across judges;
       ``level = "criterion"``: each criterion is aggregated across judges, then the final score is
       Σ weight × criterion aggregate. Either way the final score is rounded half up once
       (:func:`round_half_up`, or :func:`round_float_half_up` for zscore).
    4. Within each category: :func:`ranking_order`, :func:`competition_ranks`, then the awards
       (:func:`~judging.scoring.awards.allocate_awards`).
    """
    if rubric.contest.kind != "work" or rubric.aggregation is None:
        raise ValueError(f'{rubric.slug}: ranking by judges needs a rubric with contest.kind = "work"')
    clashes = sorted({c.key for c in rubric.criteria} & {*TABLE_COLUMNS, "note"})
    if clashes:
        raise ValueError(f"{rubric.slug}: criterion key {clashes[0]!r} clashes with a result column")
    table = scores if isinstance(scores, ScoreTable) else parse_score_frame(scores, rubric)
    if table.criteria != tuple(c.key for c in rubric.criteria):
        raise ValueError(
            f"{rubric.slug}: the score table was read against other criteria ({', '.join(table.criteria)})"
        )
    spec = rubric.aggregation
    decimals = spec.decimals
    criteria = table.criteria
    n_entries, n_judges, n_criteria = len(table.entries), len(table.judges), len(criteria)

    sheet_entry, sheet_judge = table.sheet_entry, table.sheet_judge
    n_sheets_all = len(sheet_entry)
    sheet_scores = np.full((n_sheets_all, n_criteria), -1, dtype=np.int64)
    sheet_scores[table.sheet_of_score, table.criterion_code] = table.hundredths
    sheet_valid = np.asarray((sheet_scores >= 0).all(axis=1))

    valid_index = np.flatnonzero(sheet_valid)
    valid_scores = sheet_scores[valid_index]
    groups = SheetGroups.of(sheet_entry[valid_index], n_entries)
    scored = _score_entries(rubric, valid_scores, sheet_judge[valid_index], n_judges, groups)
    final_units, criterion_units = scored.final_units, scored.criterion_units
    sheet_status = np.full(n_sheets_all, INCOMPLETE, dtype=np.int8)
    sheet_status[valid_index] = scored.sheet_status

    n_valid = groups.counts
    reasons, status = _eligibility(table, rubric, checks, n_valid, sheet_entry, sheet_valid)

    ranked = np.flatnonzero(status == 0)
    category_rank = {c.key: index for index, c in enumerate(rubric.categories)}
    category_order = np.array([category_rank.get(key, -1) for key in table.entry_category], dtype=np.int64)
    tie_break_index = [criteria.index(key) for key in spec.tie_break]
    keys = np.column_stack([final_units, *(criterion_units[:, c] for c in tie_break_index)])
    entry_order = np.argsort(np.argsort(table.entries.astype(str), kind="stable"), kind="stable")
    order = ranked[ranking_order(category_order[ranked], keys[ranked], entry_order[ranked])]
    ordered_category = category_order[order]
    ordered_keys = keys[order]
    rank_sorted = competition_ranks(ordered_category, ordered_keys)
    decided = deciding_key(ordered_category, ordered_keys)
    allocation = allocate_awards(
        table.entry_category[order], rank_sorted, final_units[order], table.entries[order], rubric.awards, decimals
    )

    rank = np.zeros(n_entries, dtype=np.int64)
    rank[order] = rank_sorted
    award = np.full(n_entries, "", dtype=object)
    award[order] = allocation.award
    award_note = np.full(n_entries, "", dtype=object)
    entry_index = {name: index for index, name in enumerate(table.entries)}
    for note in allocation.notes:
        for name in note.entries:
            award_note[entry_index[name]] = note.message
    position_in_ranking = np.full(n_entries, -1, dtype=np.int64)
    position_in_ranking[order] = np.arange(len(order))

    result_table = pd.DataFrame(
        {
            "rank": rank_sorted,
            "entry": table.entries[order],
            "category": table.entry_category[order],
            "final_score": _decimal_column(final_units[order], decimals),
            "award": allocation.award,
            "n_sheets": n_valid[order],
            **{key: _decimal_column(criterion_units[order, c], decimals) for c, key in enumerate(criteria)},
        }
    )
    excluded_index = np.flatnonzero(status != 0)
    excluded_index = excluded_index[np.lexsort((excluded_index, category_order[excluded_index]))]
    excluded = pd.DataFrame(
        {
            "entry": table.entries[excluded_index],
            "category": table.entry_category[excluded_index],
            "status": [_STATUS_NAMES[s] for s in status[excluded_index]],
            "n_sheets": n_valid[excluded_index],
            "reason": ["; ".join(reasons[e]) for e in excluded_index.tolist()],
        }
    )

    valid_sheet_of = np.full(n_sheets_all, -1, dtype=np.int64)
    valid_sheet_of[valid_index] = np.arange(len(valid_index))
    detail = _Detail(
        entries=table.entries,
        judges=table.judges,
        criteria=criteria,
        weights=tuple(c.weight for c in rubric.criteria),
        entry_category=table.entry_category,
        sheet_entry=sheet_entry,
        sheet_judge=sheet_judge,
        sheet_scores=sheet_scores,
        sheet_valid=sheet_valid,
        sheet_total=scored.totals,
        total_unit=scored.total_unit,
        sheet_status=sheet_status,
        criterion_status=scored.criterion_status,
        sheet_z=scored.final_zscores.z if scored.final_zscores is not None else None,
        criterion_z=np.stack([z.z for z in scored.criterion_zscores], axis=1) if scored.criterion_zscores else None,
        entry_sheet_start=np.searchsorted(sheet_entry, np.arange(n_entries + 1)),
        n_valid=n_valid,
        status=status,
        reasons=reasons,
        rank=rank,
        award=award,
        award_note=award_note,
        final_units=final_units,
        criterion_units=criterion_units,
        final_exact=scored.final_exact,
        zscores=scored.final_zscores,
        criterion_exact=scored.criterion_exact,
        criterion_zscores=scored.criterion_zscores,
        valid_sheet_of=valid_sheet_of,
        ranked_order=order,
        position_in_ranking=position_in_ranking,
        decided=decided,
    )
    return RankingResult(
        contest=rubric.slug,
        rubric_sha256=rubric.sha256,
        aggregation=spec,
        criteria=criteria,
        table=result_table,
        excluded=excluded,
        award_notes=allocation.notes,
        _detail=detail,
    )


@dataclass(frozen=True, eq=False)
class _EntryScores:
    """Step 3 of :func:`rank_entries`: every entry's final score and criterion aggregates, rounded
    (units of 10^-decimals), with the exact or z-score values behind them."""

    final_units: np.ndarray
    criterion_units: np.ndarray
    totals: np.ndarray
    total_unit: int
    sheet_status: np.ndarray
    criterion_status: np.ndarray | None
    final_exact: ExactAggregate | None
    final_zscores: ZScores | None
    criterion_exact: tuple[ExactAggregate, ...]
    criterion_zscores: tuple[ZScores, ...]


def _score_entries(
    rubric: Rubric, valid_scores: np.ndarray, valid_judge: np.ndarray, n_judges: int, groups: SheetGroups
) -> _EntryScores:
    """Aggregate the valid sheets by the rubric's level and method (step 3 of :func:`rank_entries`)."""
    spec = rubric.aggregation
    assert spec is not None
    decimals = spec.decimals
    n_entries, n_criteria = len(groups.counts), valid_scores.shape[1]
    weight_decimals = max((_decimal_places(c.weight) for c in rubric.criteria), default=0)
    weight_units = np.array([int(c.weight.scaleb(weight_decimals)) for c in rubric.criteria], dtype=np.int64)
    total_unit = HUNDREDTHS_PER_POINT * 10**weight_decimals
    totals = sheet_totals(valid_scores, weight_units)

    def aggregate(values: np.ndarray, unit: int) -> ExactAggregate:
        if spec.across_judges == "trimmed_mean":
            return trimmed_mean(values, groups, unit, spec.trim)
        if spec.across_judges == "median":
            return median_across_judges(values, groups, unit)
        return mean_across_judges(values, groups, unit)

    zscore = spec.across_judges == "zscore"
    criterion_exact: tuple[ExactAggregate, ...] = ()
    criterion_zscores: tuple[ZScores, ...] = ()
    if zscore:
        criterion_zscores = tuple(
            zscore_across_judges(valid_scores[:, c], HUNDREDTHS_PER_POINT, valid_judge, n_judges, groups)
            for c in range(n_criteria)
        )
        criterion_units = np.stack(
            [round_float_half_up(z.points, decimals) for z in criterion_zscores]
            or [np.zeros(n_entries, dtype=np.int64)],
            axis=1,
        )
    else:
        criterion_exact = tuple(aggregate(valid_scores[:, c], HUNDREDTHS_PER_POINT) for c in range(n_criteria))
        criterion_units = np.stack(
            [round_half_up(a.num, a.den, a.unit, decimals) for a in criterion_exact]
            or [np.zeros(n_entries, dtype=np.int64)],
            axis=1,
        )

    final_exact: ExactAggregate | None = None
    final_zscores: ZScores | None = None
    sheet_status = np.full(len(valid_scores), COUNTED, dtype=np.int8)
    criterion_status: np.ndarray | None = None
    if spec.level == "sheet":
        if zscore:
            final_zscores = zscore_across_judges(totals, total_unit, valid_judge, n_judges, groups)
            final_units = round_float_half_up(final_zscores.points, decimals)
        else:
            final_exact = aggregate(totals, total_unit)
            final_units = round_half_up(final_exact.num, final_exact.den, total_unit, decimals)
            sheet_status = final_exact.status
    elif zscore:
        points = sum(
            (float(c.weight) * z.points for c, z in zip(rubric.criteria, criterion_zscores, strict=True)),
            np.zeros(n_entries),
        )
        final_units = round_float_half_up(points, decimals)
    else:
        final_exact = weighted_sum_of_criteria(criterion_exact, weight_units, total_unit)
        final_units = round_half_up(final_exact.num, final_exact.den, total_unit, decimals)
        criterion_status = np.stack([a.status for a in criterion_exact], axis=1)

    return _EntryScores(
        final_units=final_units,
        criterion_units=criterion_units,
        totals=totals,
        total_unit=total_unit,
        sheet_status=sheet_status,
        criterion_status=criterion_status,
        final_exact=final_exact,
        final_zscores=final_zscores,
        criterion_exact=criterion_exact,
        criterion_zscores=criterion_zscores,
    )


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


_STATUS_NAMES: dict[int, Status] = {0: "ranked", 1: "excluded", 2: "not ranked"}


def _eligibility(
    table: ScoreTable,
    rubric: Rubric,
    checks: pd.DataFrame | None,
    n_valid: np.ndarray,
    sheet_entry: np.ndarray,
    sheet_valid: np.ndarray,
) -> tuple[dict[int, tuple[str, ...]], np.ndarray]:
    """The reasons of each entry that is not ranked (by entry index), and every entry's status:
    0 ranked, 1 excluded (a check failed), 2 not ranked (too few valid sheets)."""
    spec = rubric.aggregation
    assert spec is not None
    n_entries = len(table.entries)
    failed: dict[int, list[str]] = {}
    if checks is not None and rubric.checks:
        for entry, message in _failed_checks(checks, rubric, table.entries):
            failed.setdefault(entry, []).append(message)
    too_few = n_valid < spec.min_judges
    if spec.across_judges == "trimmed_mean":
        too_few_to_trim = ~too_few & (n_valid <= 2 * spec.trim)
    else:
        too_few_to_trim = np.zeros(n_entries, dtype=bool)
    incomplete = np.bincount(sheet_entry[~sheet_valid], minlength=n_entries)
    status = np.where(too_few | too_few_to_trim, 2, 0).astype(np.int8)
    status[list(failed)] = 1
    reasons: dict[int, tuple[str, ...]] = {}
    for e in np.flatnonzero(status).tolist():
        lines = failed.get(e, [])
        dropped = f" ({_count(incomplete[e], 'incomplete sheet')} dropped)" if incomplete[e] else ""
        if too_few[e]:
            lines.append(f"{_count(n_valid[e], 'valid sheet')}{dropped}, fewer than min_judges ({spec.min_judges})")
        if too_few_to_trim[e]:
            lines.append(
                f"trimmed_mean with trim = {spec.trim} needs more than {2 * spec.trim} valid sheets, "
                f"found {n_valid[e]}{dropped}"
            )
        reasons[e] = tuple(lines)
    return reasons, status


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _failed_checks(checks: pd.DataFrame, rubric: Rubric, entries: np.ndarray) -> Iterator[tuple[int, str]]:
    """(entry index, reason) for every check an entry fails; see :func:`check_passes`."""
    missing = [name for name in ("entry", "judge", "check", "passed") if name not in checks.columns]
    if missing:
        raise ValueError(f"checks: missing column {missing[0]!r} (entry, judge, check, passed)")
    keys = [check.key for check in rubric.checks]
    entry_index = pd.Index(entries.astype(str))
    entry = entry_index.get_indexer(checks["entry"].astype(str).str.strip())
    check = pd.Index(keys).get_indexer(checks["check"].astype(str).str.strip())
    unknown = np.flatnonzero(check < 0)
    if len(unknown):
        value = checks["check"].iloc[unknown[0]]
        raise ValueError(f"checks: row {unknown[0] + 2}: unknown check {value!r} (expected one of {', '.join(keys)})")
    passed = np.array([_passed(value, row + 2) for row, value in enumerate(checks["passed"])], dtype=bool)
    duplicated = checks.assign(_e=entry, _c=check, _j=checks["judge"].astype(str).str.strip()).duplicated(
        ["_e", "_j", "_c"]
    )
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise ValueError(f"checks: row {row + 2}: duplicate answer of one judge to one check for one entry")
    known = entry >= 0  # answers about entries without scores do not matter
    flat = entry[known] * len(keys) + check[known]
    answers = np.bincount(flat, minlength=len(entries) * len(keys)).reshape(len(entries), len(keys))
    passes = np.bincount(flat, weights=passed[known], minlength=len(entries) * len(keys))
    passes = passes.astype(np.int64).reshape(len(entries), len(keys))
    for k, definition in enumerate(rubric.checks):
        verdict = check_passes(passes[:, k], answers[:, k], definition.rule)
        for e in np.flatnonzero(~verdict):
            yield (
                int(e),
                f"failed check '{definition.label}' ({definition.rule}: {passes[e, k]} of {answers[e, k]} "
                f"judges answered pass)",
            )


_PASS_WORDS = {"true", "yes", "pass", "passed", "y", "1", "是", "通过", "符合"}
_FAIL_WORDS = {"false", "no", "fail", "failed", "n", "0", "否", "不通过", "不符合"}


def _passed(value: object, row: int) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _PASS_WORDS:
        return True
    if text in _FAIL_WORDS:
        return False
    raise ValueError(f"checks: row {row}: passed {value!r} is neither pass nor fail")


# --- arrays --------------------------------------------------------------------------------------


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


def _decimal_exponent(unit: int) -> int:
    """w for a unit of 10^(2+w) per point: the number of decimals a sheet total may have beyond two."""
    return len(str(unit)) - 1 - 2


def _decimal_places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _decimal_column(units: np.ndarray, decimals: int) -> np.ndarray:
    """Integers of 10^-decimals as ``Decimal`` with exactly ``decimals`` places (8413 → 84.13)."""
    codes, distinct = pd.factorize(units)
    decimal_of = np.array([Decimal(int(value)).scaleb(-decimals) for value in distinct] + [None], dtype=object)
    return decimal_of[codes]


@lru_cache(maxsize=8192)
def _hundredths_decimal(value: int) -> Decimal:
    """A score held in hundredths as the exact Decimal it was given as (3550 → 35.5)."""
    return Decimal(value).scaleb(-2).normalize() if value % 100 else Decimal(value // 100)


def _decimal_half_up(value: Decimal, decimals: int) -> int:
    return int(value.scaleb(decimals).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _text(value: Decimal) -> str:
    """An exact number without trailing zeros or exponent: 35.5, 84, 0.25."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _exact_text(num: int, den: int, unit: int) -> str:
    """``num / (den × unit)`` exactly when it ends within 10 decimals, else to 7 decimals and "…"."""
    with localcontext() as context:
        context.prec = 60
        value = Decimal(num) / Decimal(den * unit)
        shown = value.quantize(Decimal(1).scaleb(-10))
        if shown * den * unit == num:
            return _text(shown)
        return format(value.quantize(Decimal(1).scaleb(-7)), "f") + "…"


def _json_cell(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


# --- explanations --------------------------------------------------------------------------------


def _explain(result: RankingResult, e: int) -> EntryExplanation:
    detail = result._detail
    spec = result.aggregation
    decimals = spec.decimals
    criteria = detail.criteria
    status = _STATUS_NAMES[int(detail.status[e])]
    ranked = status == "ranked"

    first, last = int(detail.entry_sheet_start[e]), int(detail.entry_sheet_start[e + 1])
    valid_of = detail.valid_sheet_of[first:last].tolist()
    counted = [v for v in valid_of if v >= 0]
    totals = detail.sheet_total[counted].tolist() if counted else []
    z_of = detail.sheet_z[counted].tolist() if detail.sheet_z is not None and counted else None
    criterion_z = detail.criterion_z[counted].tolist() if detail.criterion_z is not None and counted else None
    criterion_status = (
        detail.criterion_status[counted].tolist() if detail.criterion_status is not None and counted else None
    )
    sheets = []
    k = 0
    for judge_code, row, status_code, v in zip(
        detail.sheet_judge[first:last].tolist(),
        detail.sheet_scores[first:last].tolist(),
        detail.sheet_status[first:last].tolist(),
        valid_of,
        strict=True,
    ):
        judge = str(detail.judges[judge_code])
        scores = {key: _hundredths_decimal(value) for key, value in zip(criteria, row, strict=True) if value >= 0}
        if v < 0:
            missing = tuple(key for key, value in zip(criteria, row, strict=True) if value < 0)
            sheets.append(SheetExplanation(judge, scores, None, SHEET_STATUS[INCOMPLETE], missing))
            continue
        sheets.append(
            SheetExplanation(
                judge=judge,
                scores=scores,
                total=Decimal(totals[k]) / Decimal(detail.total_unit),
                status=SHEET_STATUS[status_code],
                z=None if z_of is None else z_of[k],
                criterion_status={}
                if criterion_status is None
                else {key: SHEET_STATUS[code] for key, code in zip(criteria, criterion_status[k], strict=True)},
                criterion_z={}
                if criterion_z is None or spec.level != "criterion"
                else dict(zip(criteria, criterion_z[k], strict=True)),
            )
        )
        k += 1

    has_value = detail.n_valid[e] > 0 and not (
        spec.across_judges == "trimmed_mean" and detail.n_valid[e] <= 2 * spec.trim
    )
    criterion_values = {
        key: Decimal(int(detail.criterion_units[e, c])).scaleb(-decimals) if has_value else None
        for c, key in enumerate(criteria)
    }
    above = below = None
    if ranked:
        position = int(detail.position_in_ranking[e])
        above = _neighbour(detail, position, position - 1, criteria, spec.tie_break)
        below = _neighbour(detail, position, position + 1, criteria, spec.tie_break)
    return EntryExplanation(
        entry=str(detail.entries[e]),
        category=str(detail.entry_category[e]),
        status=status,
        rank=int(detail.rank[e]) if ranked else None,
        final_score=Decimal(int(detail.final_units[e])).scaleb(-decimals) if ranked else None,
        award=str(detail.award[e]),
        computation=_computation(result, e, tuple(sheets)) if has_value else "no score: too few valid sheets",
        reasons=detail.reasons.get(e, ()),
        sheets=tuple(sheets),
        criteria=criterion_values,
        above=above,
        below=below,
        award_note=str(detail.award_note[e]),
    )


def _neighbour(
    detail: _Detail, position: int, other: int, criteria: tuple[str, ...], tie_break: tuple[str, ...]
) -> Neighbour | None:
    order = detail.ranked_order
    if other < 0 or other >= len(order):
        return None
    lower = max(position, other)
    decided = int(detail.decided[lower])
    if decided == -2:
        return None
    name = str(detail.entries[order[other]])
    if decided == -1:
        return Neighbour(name, "shared_rank")
    if decided == 0:
        return Neighbour(name, "final_score")
    return Neighbour(name, "tie_break", tie_break[decided - 1])


def _computation(result: RankingResult, e: int, sheets: tuple[SheetExplanation, ...]) -> str:
    """The arithmetic behind an entry's final score, in words and numbers."""
    detail = result._detail
    spec = result.aggregation
    shown = format(Decimal(int(detail.final_units[e])).scaleb(-spec.decimals), "f")
    valid = [sheet for sheet in sheets if sheet.total is not None]
    if spec.across_judges == "zscore":
        if spec.level == "sheet" and detail.zscores is not None:
            z = detail.zscores
            return (
                f"z-scores of {len(valid)} sheet totals, overall mean + overall s.d. × mean z: {z.overall_mean:.6f}"
                f" + {z.overall_sd:.6f} × {z.mean_z[e]:.6f} = {z.points[e]:.6f} → {shown}"
            )
        parts = [
            f"{_text(weight)} × ({z.overall_mean:.6f} + {z.overall_sd:.6f} × {z.mean_z[e]:.6f})"
            for weight, z in zip(detail.weights, detail.criterion_zscores, strict=True)
        ]
        return f"weighted sum of criterion z-score points: {' + '.join(parts)} → {shown}"
    if spec.level == "sheet":
        counted = [sheet for sheet in valid if sheet.status == SHEET_STATUS[COUNTED]]
        totals = " + ".join(_text(sheet.total) for sheet in counted if sheet.total is not None)
        exact = detail.final_exact
        assert exact is not None
        value = _exact_text(int(exact.num[e]), int(exact.den[e]), exact.unit)
        if spec.across_judges == "median":
            how = f"median of {len(valid)} sheet totals"
            divisor = 2 if len(counted) == 2 else 1
            return f"{how}: ({totals}) / {divisor} = {value} → {shown}" if divisor == 2 else f"{how}: {value} → {shown}"
        if spec.across_judges == "trimmed_mean":
            how = f"trimmed mean of {len(valid)} sheet totals, dropping the {spec.trim} lowest and {spec.trim} highest"
        else:
            how = f"mean of {len(valid)} sheet totals"
        return f"{how}: ({totals}) / {len(counted)} = {value} → {shown}"
    parts = []
    for weight, aggregate in zip(detail.weights, detail.criterion_exact, strict=True):
        value = _exact_text(int(aggregate.num[e]), int(aggregate.den[e]), aggregate.unit)
        parts.append(f"{_text(weight)} × {value}")
    exact = detail.final_exact
    assert exact is not None
    total = _exact_text(int(exact.num[e]), int(exact.den[e]), exact.unit)
    return f"weighted sum of criterion {spec.across_judges.replace('_', ' ')}s: {' + '.join(parts)} = {total} → {shown}"
