"""Leave-one-judge-out robustness: which awards hinge on a single judge.

Pure (no Flask, no database): the same inputs as :func:`~judging.scoring.ranking.rank_entries`
in, a :class:`RobustnessReport` out.

The rule (:func:`leave_one_judge_out`), stated once:

- For every judge who has a sheet in the table, the engine is rerun by the same rubric on the same
  table *without that judge*: all of the judge's sheets and all of the judge's check answers are
  left out; nothing else changes (``min_judges``, ``trim``, the tie-break chain, the awards stay
  as the rubric says). A judge's absence can move entries the judge never scored, through the
  z-scores of the others and through the places left to count and share awards, so every judge is
  left out in turn for every entry.
- Only the entries ranked in the full result are assessed. For each of them and each judge, the
  outcome without the judge is one of:

  - the entry is still ranked with the **same award** ("" = no award counts as a tier): robust;
  - it is still ranked with **another award** (or none, or one where it had none): the award
    **hinges** on that judge;
  - it is **excluded** because a pass/fail check fails without the judge's answer: the award
    hinges on that judge too (it would be lost);
  - it is **not ranked** because too few valid sheets remain (``min_judges``, or more than
    2 × ``trim`` for ``trimmed_mean``): the panel is too small to tell, so this is *undetermined*
    and is listed apart, not as a hinge.

- An entry *hinges* when at least one judge's absence changes its award; :attr:`EntryRobustness.changes`
  names the judges and what the entry would get without each.

Speed: the table is subset in its integer-coded form (:func:`table_without_judge`), never re-parsed,
so a panel of 20 judges over a few hundred entries is 20 engine runs on a few thousand scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from judging.rubric import Rubric
from judging.scoring.eligibility import RankStatus
from judging.scoring.ranking import RankingResult, rank_entries
from judging.scoring.score_table import ScoreTable, parse_score_frame


@dataclass(frozen=True)
class AwardChange:
    """What an entry would get if ``judge`` were left out."""

    judge: str
    status: RankStatus
    """RANKED or EXCLUDED (a hinge), or NOT_RANKED (undetermined: too few sheets)."""
    award: str
    """The award without the judge ("" for none, and always "" unless ranked)."""
    rank: int | None
    final_score: Decimal | None


@dataclass(frozen=True)
class EntryRobustness:
    """One ranked entry: its award in the full result and what leaving each judge out changes."""

    entry: str
    category: str
    award: str
    changes: tuple[AwardChange, ...]
    """Judges whose absence changes the award (still ranked with another award, or excluded)."""
    undetermined: tuple[AwardChange, ...]
    """Judges without whom the entry has too few valid sheets to be ranked at all."""

    @property
    def hinges(self) -> bool:
        return bool(self.changes)

    @property
    def hinge_judges(self) -> tuple[str, ...]:
        return tuple(change.judge for change in self.changes)


@dataclass(frozen=True)
class RobustnessReport:
    """Leave-one-judge-out outcome of every ranked entry, in the full result's ranking order."""

    judges: tuple[str, ...]
    entries: tuple[EntryRobustness, ...]

    @property
    def hinging(self) -> tuple[EntryRobustness, ...]:
        return tuple(entry for entry in self.entries if entry.hinges)

    def of(self, entry: str) -> EntryRobustness:
        """The outcome of one entry (by label); ``KeyError`` if it was not ranked."""
        for item in self.entries:
            if item.entry == entry:
                return item
        raise KeyError(entry)

    def to_frame(self) -> pd.DataFrame:
        """One row per (entry, judge) whose absence changes the entry's award or leaves it unranked:
        ``entry, category, award, judge, status_without, award_without, rank_without, final_score_without``."""
        rows = [
            {
                "entry": item.entry,
                "category": item.category,
                "award": item.award,
                "judge": change.judge,
                "status_without": change.status,
                "award_without": change.award,
                "rank_without": change.rank,
                "final_score_without": change.final_score,
            }
            for item in self.entries
            for change in (*item.changes, *item.undetermined)
        ]
        columns = [
            "entry",
            "category",
            "award",
            "judge",
            "status_without",
            "award_without",
            "rank_without",
            "final_score_without",
        ]
        return pd.DataFrame(rows, columns=columns)


def table_without_judge(table: ScoreTable, judge: int) -> ScoreTable:
    """The validated table without the scores of judge number ``judge`` (an index into ``table.judges``).

    Entries and judges keep their labels and codes (an entry only that judge scored stays, with no
    sheets), so results with and without the judge line up entry by entry.
    """
    keep_score = table.judge_code != judge
    keep_sheet = table.sheet_judge != judge
    new_sheet = np.cumsum(keep_sheet) - 1
    return ScoreTable(
        entries=table.entries,
        judges=table.judges,
        criteria=table.criteria,
        entry_code=table.entry_code[keep_score],
        judge_code=table.judge_code[keep_score],
        criterion_code=table.criterion_code[keep_score],
        hundredths=table.hundredths[keep_score],
        entry_category=table.entry_category,
        rows=table.rows[keep_score],
        sheet_entry=table.sheet_entry[keep_sheet],
        sheet_judge=table.sheet_judge[keep_sheet],
        sheet_of_score=new_sheet[table.sheet_of_score[keep_score]],
    )


def leave_one_judge_out(
    scores: pd.DataFrame | ScoreTable,
    rubric: Rubric,
    checks: pd.DataFrame | None = None,
    *,
    full: RankingResult | None = None,
) -> RobustnessReport:
    """For each entry ranked in the full result, whether its award would change if any single judge
    were left out, by the rule in this module's docstring. ``full`` is the full result when the
    caller already has it (it must come from the same inputs)."""
    table = scores if isinstance(scores, ScoreTable) else parse_score_frame(scores, rubric)
    if full is None:
        full = rank_entries(table, rubric, checks)
    ranked = full.table
    entry_labels = [str(entry) for entry in ranked["entry"]]
    award_of = dict(zip(entry_labels, ranked["award"].astype(str), strict=True))
    judges_with_sheets = sorted(set(table.sheet_judge.tolist()))
    changes: dict[str, list[AwardChange]] = {entry: [] for entry in entry_labels}
    undetermined: dict[str, list[AwardChange]] = {entry: [] for entry in entry_labels}
    judge_labels: list[str] = []
    check_judges = checks["judge"].astype(str).str.strip() if checks is not None else None

    for judge in judges_with_sheets:
        label = str(table.judges[judge])
        judge_labels.append(label)
        other_checks = None
        if checks is not None and check_judges is not None:
            other_checks = checks.loc[check_judges != label.strip()].reset_index(drop=True)
        without = rank_entries(table_without_judge(table, judge), rubric, other_checks)
        outcome = _outcomes(without)
        for entry in entry_labels:
            status, award, rank, final = outcome[entry]
            change = AwardChange(label, status, award, rank, final)
            if status is RankStatus.NOT_RANKED:
                undetermined[entry].append(change)
            elif status is RankStatus.EXCLUDED or award != award_of[entry]:
                changes[entry].append(change)

    categories = [str(category) for category in ranked["category"]]
    return RobustnessReport(
        judges=tuple(judge_labels),
        entries=tuple(
            EntryRobustness(
                entry=entry,
                category=category,
                award=award_of[entry],
                changes=tuple(changes[entry]),
                undetermined=tuple(undetermined[entry]),
            )
            for entry, category in zip(entry_labels, categories, strict=True)
        ),
    )


def _outcomes(result: RankingResult) -> dict[str, tuple[RankStatus, str, int | None, Decimal | None]]:
    """Per entry label: (status, award, rank, final score) in one engine result."""
    table = result.table
    outcome: dict[str, tuple[RankStatus, str, int | None, Decimal | None]] = {
        str(entry): (RankStatus.RANKED, str(award), int(rank), final)
        for entry, award, rank, final in zip(
            table["entry"], table["award"], table["rank"], table["final_score"], strict=True
        )
    }
    excluded = result.excluded
    for entry, status in zip(excluded["entry"], excluded["status"], strict=True):
        outcome[str(entry)] = (RankStatus(status), "", None, None)
    return outcome
