"""Per-entry explanations: every number in a result, and how it came about, as typed data.

Pure. The engine keeps what it computed as arrays (:class:`RankingDetail`); :func:`explain_entry`
builds one entry's :class:`EntryExplanation` from them on demand: its sheets and each sheet's
:class:`~judging.scoring.rules.SheetFate`, the :class:`Computation` of its final score (operands,
operation, exact and rounded result), its criterion aggregates, what decided its place against its
neighbours (:class:`DecidedBy`), its award note and, when it is not ranked, the reasons.

Nothing here is a sentence: the words live with the callers (the web's labels, the exports, the
command line), in the user's language; :meth:`EntryExplanation.to_json_dict` writes enums as their
stable machine words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from enum import StrEnum
from fractions import Fraction
from functools import lru_cache

import numpy as np

from judging.rubric import AggregationSpec
from judging.scoring.awards import AwardNote
from judging.scoring.eligibility import RANK_STATUS_CODES, NotRankedReason, RankStatus
from judging.scoring.rules import FATE_CODES, DecidedBy, ExactAggregate, SheetFate, ZScores


@dataclass(frozen=True)
class Neighbour:
    """The entry just above or below in the ranking, and what decided the order between the two
    (naming the tie-break ``criterion`` when a tie-break did)."""

    entry: str
    decided_by: DecidedBy
    criterion: str | None = None

    def to_json_dict(self) -> dict[str, str | None]:
        return {"entry": self.entry, "decided_by": self.decided_by.value, "criterion": self.criterion}


class Operation(StrEnum):
    """How a final score is computed from its operands. The value is a stable machine word."""

    MEAN = "mean"
    """(sum of the operands) / divisor."""
    TRIMMED_MEAN = "trimmed_mean"
    """The same over the operands left after dropping ``trim`` at each end."""
    MEDIAN = "median"
    """The middle operand (divisor 1), or the two middle ones summed and halved (divisor 2)."""
    ZSCORE = "zscore"
    """overall mean + overall s.d. × mean z (the float path)."""
    WEIGHTED_SUM = "weighted_sum"
    """Σ weight × criterion aggregate (``level = "criterion"``), each criterion aggregated ``across``."""


@dataclass(frozen=True)
class ZScorePoints:
    """A mean z-score mapped back to points: ``overall_mean + overall_sd × mean_z = points``."""

    overall_mean: float
    overall_sd: float
    mean_z: float
    points: float

    def to_json_dict(self) -> dict[str, float]:
        return {
            "overall_mean": round(self.overall_mean, 6),
            "overall_sd": round(self.overall_sd, 6),
            "mean_z": round(self.mean_z, 6),
            "points": round(self.points, 6),
        }


@dataclass(frozen=True)
class WeightedTerm:
    """One criterion's term of a weighted sum: ``weight × value`` (exact), or ``weight × zscore.points``."""

    criterion: str
    weight: Decimal
    value: Fraction | None = None
    zscore: ZScorePoints | None = None

    def to_json_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"criterion": self.criterion, "weight": number_text(self.weight)}
        if self.value is not None:
            data["value"] = exact_text(self.value)
        if self.zscore is not None:
            data["zscore"] = self.zscore.to_json_dict()
        return data


@dataclass(frozen=True)
class Computation:
    """The arithmetic behind an entry's final score: what was combined, how, and the result.

    - MEAN / TRIMMED_MEAN: ``operands`` are the sheet totals that counted (in sheet order), summed
      and divided by ``divisor`` (their number); ``trim`` sheets were dropped at each end.
    - MEDIAN: ``operands`` are the one or two middle totals, ``divisor`` 1 or 2.
    - ZSCORE: ``zscore`` holds the overall mean, s.d., the entry's mean z and the points.
    - WEIGHTED_SUM: ``terms`` are the criteria's weights and aggregates (each aggregated ``across``).

    ``exact`` is the value before rounding (None on the z-score path, whose value is a float), and
    ``result`` the final score, rounded half up to the rubric's decimals.
    """

    operation: Operation
    sheets: int
    """The valid sheets the method looked at."""
    result: Decimal
    exact: Fraction | None = None
    operands: tuple[Decimal, ...] = ()
    divisor: int = 1
    trim: int = 0
    across: str = ""
    terms: tuple[WeightedTerm, ...] = ()
    zscore: ZScorePoints | None = None

    def to_json_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"operation": self.operation.value, "sheets": self.sheets}
        if self.operation in (Operation.MEAN, Operation.TRIMMED_MEAN, Operation.MEDIAN):
            data["operands"] = [number_text(value) for value in self.operands]
            data["divisor"] = self.divisor
        if self.operation is Operation.TRIMMED_MEAN:
            data["trim"] = self.trim
        if self.operation is Operation.WEIGHTED_SUM:
            data["across"] = self.across
            data["terms"] = [term.to_json_dict() for term in self.terms]
        if self.zscore is not None:
            data["zscore"] = self.zscore.to_json_dict()
        data["exact"] = None if self.exact is None else exact_text(self.exact)
        data["result"] = str(self.result)
        return data


@dataclass(frozen=True)
class SheetExplanation:
    """One judge's sheet for an entry: the scores as given, the total, and what became of it."""

    judge: str
    scores: Mapping[str, Decimal]
    total: Decimal | None
    status: SheetFate
    """INCOMPLETE: ``missing`` names the criteria without a score, and ``total`` is None."""
    missing: tuple[str, ...] = ()
    z: float | None = None
    """The sheet total's z within its judge's sheets (zscore at sheet level)."""
    criterion_status: Mapping[str, SheetFate] = field(default_factory=dict)
    """At criterion level: what became of each criterion score in that criterion's own aggregation."""
    criterion_z: Mapping[str, float] = field(default_factory=dict)
    """At criterion level with zscore: each criterion score's z within its judge's scores."""

    def to_json_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "judge": self.judge,
            "scores": {key: number_text(value) for key, value in self.scores.items()},
            "total": None if self.total is None else number_text(self.total),
            "status": self.status.value,
        }
        if self.missing:
            data["missing"] = list(self.missing)
        if self.z is not None:
            data["z"] = round(self.z, 6)  # a display of the float path, not a score
        if self.criterion_status:
            data["criterion_status"] = {key: fate.value for key, fate in self.criterion_status.items()}
        if self.criterion_z:
            data["criterion_z"] = {key: round(value, 6) for key, value in self.criterion_z.items()}
        return data


@dataclass(frozen=True)
class EntryExplanation:
    """Everything behind one entry's line in the result: its sheets, what was dropped and why, the
    computation of its score, its criterion aggregates, and what decided its place.

    ``computation`` is None when the entry has too few valid sheets for a score; ``reasons`` says
    why an entry is not ranked (empty for a ranked one); ``award_note`` is set when the entry shares
    its rank across an award boundary."""

    entry: str
    category: str
    status: RankStatus
    rank: int | None
    final_score: Decimal | None
    award: str
    computation: Computation | None
    reasons: tuple[NotRankedReason, ...]
    sheets: tuple[SheetExplanation, ...]
    criteria: Mapping[str, Decimal | None]
    above: Neighbour | None
    below: Neighbour | None
    award_note: AwardNote | None = None

    def to_json_dict(self) -> dict[str, object]:
        return {
            "entry": self.entry,
            "category": self.category,
            "status": self.status.value,
            "rank": self.rank,
            "final_score": None if self.final_score is None else str(self.final_score),
            "award": self.award,
            "award_note": None if self.award_note is None else self.award_note.to_json_dict(),
            "computation": None if self.computation is None else self.computation.to_json_dict(),
            "reasons": [reason.to_json_dict() for reason in self.reasons],
            "criteria": {key: None if value is None else str(value) for key, value in self.criteria.items()},
            "above": None if self.above is None else self.above.to_json_dict(),
            "below": None if self.below is None else self.below.to_json_dict(),
            "sheets": [sheet.to_json_dict() for sheet in self.sheets],
        }


@dataclass(frozen=True, eq=False)
class RankingDetail:
    """What the engine computed, kept as arrays so that explanations are built only when asked for."""

    aggregation: AggregationSpec
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
    reasons: Mapping[int, tuple[NotRankedReason, ...]]
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


def explain_entry(detail: RankingDetail, e: int) -> EntryExplanation:
    """The explanation of the entry with index ``e`` (see :class:`EntryExplanation`)."""
    spec = detail.aggregation
    decimals = spec.decimals
    criteria = detail.criteria
    status = RANK_STATUS_CODES[int(detail.status[e])]
    ranked = status is RankStatus.RANKED

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
            sheets.append(SheetExplanation(judge, scores, None, SheetFate.INCOMPLETE, missing))
            continue
        sheets.append(
            SheetExplanation(
                judge=judge,
                scores=scores,
                total=Decimal(totals[k]) / Decimal(detail.total_unit),
                status=FATE_CODES[status_code],
                z=None if z_of is None else z_of[k],
                criterion_status={}
                if criterion_status is None
                else {key: FATE_CODES[code] for key, code in zip(criteria, criterion_status[k], strict=True)},
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
        above = _neighbour(detail, position, position - 1, spec.tie_break)
        below = _neighbour(detail, position, position + 1, spec.tie_break)
    note = detail.award_note[e]
    return EntryExplanation(
        entry=str(detail.entries[e]),
        category=str(detail.entry_category[e]),
        status=status,
        rank=int(detail.rank[e]) if ranked else None,
        final_score=Decimal(int(detail.final_units[e])).scaleb(-decimals) if ranked else None,
        award=str(detail.award[e]),
        computation=_computation(detail, e, tuple(sheets)) if has_value else None,
        reasons=detail.reasons.get(e, ()),
        sheets=tuple(sheets),
        criteria=criterion_values,
        above=above,
        below=below,
        award_note=note if isinstance(note, AwardNote) else None,
    )


def _neighbour(detail: RankingDetail, position: int, other: int, tie_break: tuple[str, ...]) -> Neighbour | None:
    order = detail.ranked_order
    if other < 0 or other >= len(order):
        return None
    lower = max(position, other)
    decided = int(detail.decided[lower])
    if decided == -2:
        return None
    name = str(detail.entries[order[other]])
    if decided == -1:
        return Neighbour(name, DecidedBy.SHARED_RANK)
    if decided == 0:
        return Neighbour(name, DecidedBy.FINAL_SCORE)
    return Neighbour(name, DecidedBy.TIE_BREAK, tie_break[decided - 1])


def _zscore_points(z: ZScores, e: int) -> ZScorePoints:
    return ZScorePoints(float(z.overall_mean), float(z.overall_sd), float(z.mean_z[e]), float(z.points[e]))


def _exact(aggregate: ExactAggregate, e: int) -> Fraction:
    return Fraction(int(aggregate.num[e]), int(aggregate.den[e]) * aggregate.unit)


def _computation(detail: RankingDetail, e: int, sheets: tuple[SheetExplanation, ...]) -> Computation:
    """The arithmetic behind an entry's final score (see :class:`Computation`)."""
    spec = detail.aggregation
    result = Decimal(int(detail.final_units[e])).scaleb(-spec.decimals)
    valid = [sheet for sheet in sheets if sheet.total is not None]
    if spec.level == "criterion":
        if spec.across_judges == "zscore":
            terms = tuple(
                WeightedTerm(key, weight, zscore=_zscore_points(z, e))
                for key, weight, z in zip(detail.criteria, detail.weights, detail.criterion_zscores, strict=True)
            )
            exact = None
        else:
            terms = tuple(
                WeightedTerm(key, weight, value=_exact(aggregate, e))
                for key, weight, aggregate in zip(detail.criteria, detail.weights, detail.criterion_exact, strict=True)
            )
            assert detail.final_exact is not None
            exact = _exact(detail.final_exact, e)
        return Computation(Operation.WEIGHTED_SUM, len(valid), result, exact, across=spec.across_judges, terms=terms)
    if spec.across_judges == "zscore":
        assert detail.zscores is not None
        return Computation(Operation.ZSCORE, len(valid), result, zscore=_zscore_points(detail.zscores, e))
    assert detail.final_exact is not None
    exact = _exact(detail.final_exact, e)
    operands = tuple(sheet.total for sheet in valid if sheet.status is SheetFate.COUNTED and sheet.total is not None)
    if spec.across_judges == "median":
        return Computation(Operation.MEDIAN, len(valid), result, exact, operands, divisor=len(operands))
    if spec.across_judges == "trimmed_mean":
        return Computation(
            Operation.TRIMMED_MEAN, len(valid), result, exact, operands, divisor=len(operands), trim=spec.trim
        )
    return Computation(Operation.MEAN, len(valid), result, exact, operands, divisor=len(operands))


@lru_cache(maxsize=8192)
def _hundredths_decimal(value: int) -> Decimal:
    """A score held in hundredths as the exact Decimal it was given as (3550 → 35.5)."""
    return Decimal(value).scaleb(-2).normalize() if value % 100 else Decimal(value // 100)


def number_text(value: Decimal) -> str:
    """An exact number without trailing zeros or exponent: 35.5, 84, 0.25."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def exact_text(value: Fraction) -> str:
    """An exact fraction as a decimal: exactly when it ends within 10 decimals (86.5, 84.125), else
    to 7 decimals followed by "…" (86.3333333…)."""
    with localcontext() as context:
        context.prec = 60
        decimal = Decimal(value.numerator) / Decimal(value.denominator)
        shown = decimal.quantize(Decimal(1).scaleb(-10))
        if shown * value.denominator == value.numerator:
            return number_text(shown)
        return format(decimal.quantize(Decimal(1).scaleb(-7)), "f") + "…"
