"""The ranking pipeline for ``kind = "work"`` contests: from judges' scores to a ranked, explained award list.

Pure: a long-format score table in (``entry, judge, criterion, score[, category]``, as a DataFrame or a
validated :class:`~judging.scoring.score_table.ScoreTable`), a :class:`RankingResult` out. No Flask, no
database. :func:`rank_entries` runs the rules of DESIGN.md §3 (:mod:`judging.scoring.rules`) in order,
decides who is ranked (:mod:`judging.scoring.eligibility`) and keeps what it computed so that every
number can be explained (:mod:`judging.scoring.explanation`).

Arithmetic is exact: scores are integers of hundredths, weights integers of 10^-w (w = the most
decimals of any weight), so a sheet total is an integer of 10^-(2+w) points.

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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

import numpy as np
import pandas as pd

from judging.rubric import AggregationSpec, Rubric
from judging.scoring.awards import AwardNote, allocate_awards
from judging.scoring.eligibility import RANK_STATUS_CODES, NotRankedReason, eligibility
from judging.scoring.explanation import EntryExplanation, RankingDetail, explain_entry
from judging.scoring.rules import (
    COUNTED,
    FATE_CODES,
    INCOMPLETE,
    ExactAggregate,
    SheetGroups,
    ZScores,
    competition_ranks,
    deciding_key,
    mean_across_judges,
    median_across_judges,
    ranking_order,
    round_float_half_up,
    round_half_up,
    sheet_totals,
    trimmed_mean,
    weighted_sum_of_criteria,
    zscore_across_judges,
)
from judging.scoring.score_table import HUNDREDTHS_PER_POINT, ScoreTable, parse_score_frame

TABLE_COLUMNS = ("rank", "entry", "category", "final_score", "award", "n_sheets")
"""The first columns of :attr:`RankingResult.table`; one column per criterion follows."""

ListingNote = AwardNote | tuple[NotRankedReason, ...] | None
"""The ``note`` of a line of :meth:`RankingResult.listing`."""


@dataclass(frozen=True, eq=False)
class RankingResult:
    """The outcome of ranking one contest's scores.

    - ``table``: the ranked entries, by category (rubric order) then rank, with the columns
      ``rank, entry, category, final_score, award, n_sheets`` and one per criterion (the criterion
      aggregates); scores are ``Decimal`` with exactly ``decimals`` places.
    - ``excluded``: entries that are not ranked, with ``entry, category, status, n_sheets, reasons``:
      status a :class:`~judging.scoring.eligibility.RankStatus` (EXCLUDED: a check failed, NOT_RANKED:
      too few valid sheets), reasons a tuple of :class:`~judging.scoring.eligibility.NotRankedReason`.
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
    _detail: RankingDetail = field(repr=False)

    @property
    def decimals(self) -> int:
        return self.aggregation.decimals

    def explain(self, entry: str) -> EntryExplanation:
        """The explanation of one entry (by its label); ``KeyError`` for an unknown entry."""
        return explain_entry(self._detail, self._entry_index[entry])

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
            yield explain_entry(detail, int(index))

    def listing(self) -> pd.DataFrame:
        """The table the ``rank`` command writes: the ranked entries, then the entries that are not
        ranked (empty rank, score and award), and a trailing ``note`` column (a :data:`ListingNote`):
        for a ranked entry its :class:`~judging.scoring.awards.AwardNote` when it shares a rank across
        an award boundary, else None; for the others the reasons they are not ranked."""
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
                "note": self.excluded["reasons"],
            }
        )
        if rest.empty:
            return ranked.reset_index(drop=True)
        if ranked.empty:
            return rest.reset_index(drop=True)
        return pd.concat([ranked.astype(object), rest.astype(object)], ignore_index=True)

    def sheet_table(self) -> pd.DataFrame:
        """Every judge's sheet, by entry then judge: ``entry, category, judge``, the scores (None where
        missing), ``total`` (None for an incomplete sheet), ``status`` (a
        :class:`~judging.scoring.rules.SheetFate`), ``z`` when the z-score method works on sheet
        totals, ``missing`` (the criteria an incomplete sheet lacks, a tuple) and ``criterion_status``
        (at criterion level, the fate of each criterion score that did not count, a dict)."""
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
        columns["status"] = np.array(FATE_CODES, dtype=object)[detail.sheet_status]
        if detail.sheet_z is not None:
            z = np.full(len(valid_of), np.nan)
            z[valid] = detail.sheet_z[valid_of[valid]]
            columns["z"] = z
        missing = np.empty(len(valid_of), dtype=object)
        missing[:] = [()] * len(valid_of)
        for s in np.flatnonzero(~valid).tolist():
            missing[s] = tuple(key for c, key in enumerate(detail.criteria) if detail.sheet_scores[s, c] < 0)
        columns["missing"] = missing
        not_counted = np.empty(len(valid_of), dtype=object)
        not_counted[:] = [{} for _ in range(len(valid_of))]
        if detail.criterion_status is not None:
            for s in np.flatnonzero(valid & (detail.criterion_status != COUNTED).any(axis=1)[valid_of]).tolist():
                statuses = detail.criterion_status[valid_of[s]]
                not_counted[s] = {
                    key: FATE_CODES[int(code)]
                    for key, code in zip(detail.criteria, statuses, strict=True)
                    if code != COUNTED
                }
        columns["criterion_status"] = not_counted
        return pd.DataFrame(columns)

    def to_json_dict(
        self, note_text: Callable[[ListingNote], str] | None = None, *, explanations: bool = True
    ) -> dict[str, object]:
        """A JSON-ready view: scores as strings with exactly ``decimals`` places (e.g. "84.13"), enums
        as their machine words. Each row's ``note`` is worded by ``note_text`` when given (the caller's
        words, in its language), else written as data (the award note or the reasons, or null)."""
        rows = []
        for record in self.listing().to_dict(orient="records"):
            note = record.pop("note")
            row = {key: _json_cell(value) for key, value in record.items()}
            row["note"] = note_text(note) if note_text is not None else _note_data(note)
            rows.append(row)
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
            "award_notes": [note.to_json_dict() for note in self.award_notes],
        }
        if explanations:
            data["explanations"] = [explanation.to_json_dict() for explanation in self.explanations.values()]
        return data


def listing_note_word(note: ListingNote) -> str:
    """A listing note as stable machine words, for records that must not depend on a language: ""
    (none), ``award_shared_rank`` (an award note), or the reasons' kinds separated by spaces."""
    if isinstance(note, AwardNote):
        return "award_shared_rank"
    if isinstance(note, tuple):
        return " ".join(reason.kind.value for reason in note)
    return ""


def _note_data(note: ListingNote) -> object:
    if isinstance(note, AwardNote):
        return note.to_json_dict()
    if isinstance(note, tuple):
        return [reason.to_json_dict() for reason in note]
    return None


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
    sheet_valid: np.ndarray = np.asarray((sheet_scores >= 0).all(axis=1), dtype=bool)

    valid_index = np.flatnonzero(sheet_valid)
    valid_scores = sheet_scores[valid_index]
    groups = SheetGroups.of(sheet_entry[valid_index], n_entries)
    scored = _score_entries(rubric, valid_scores, sheet_judge[valid_index], n_judges, groups)
    final_units, criterion_units = scored.final_units, scored.criterion_units
    sheet_status = np.full(n_sheets_all, INCOMPLETE, dtype=np.int8)
    sheet_status[valid_index] = scored.sheet_status

    n_valid = groups.counts
    reasons, status = eligibility(table, rubric, checks, n_valid, sheet_entry, sheet_valid)

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
    award_note = np.full(n_entries, None, dtype=object)
    entry_index = {name: index for index, name in enumerate(table.entries)}
    for note in allocation.notes:
        for name in note.entries:
            award_note[entry_index[name]] = note
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
            "status": [RANK_STATUS_CODES[s] for s in status[excluded_index]],
            "n_sheets": n_valid[excluded_index],
            "reasons": [reasons[e] for e in excluded_index.tolist()],
        }
    )

    valid_sheet_of = np.full(n_sheets_all, -1, dtype=np.int64)
    valid_sheet_of[valid_index] = np.arange(len(valid_index))
    detail = RankingDetail(
        aggregation=spec,
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


# --- exact numbers as Decimals -------------------------------------------------------------------


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


def _json_cell(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, np.integer):
        return int(value)
    return value
