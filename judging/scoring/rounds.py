"""Judging rounds (初评 → 终评): a round's standings and which entries advance to the next round.

Pure: no Flask, no database. A round's *standings* are its entries with their result there — a final
score and rank from the engine for a scored round, a number of passes and a rank for a pass/fail round
(:func:`pass_fail_standings`) — and :func:`select_advancing` applies the rubric's ``advance`` rule to
them, per category (as awards are given per category), giving every entry of the round an
:class:`Advancement` that says whether it goes on and why.

The rules, stated once:

- **Pass/fail**: an entry's result is its number of passes among the judges who answered; entries are
  ranked by it, most first, with shared ranks in competition style (1, 2, 2, 4). An entry nobody
  answered for is not ranked.
- **top N**: the ranked entries whose rank is at most the rank of the N-th entry. **Ties at the
  boundary never split**: every entry sharing the N-th place advances, so more than N may go on (the
  advancement says so: ``tied``). Fewer than N ranked entries: all of them advance.
- **share s**: as top N with N = ⌈s × ranked entries⌉, computed exactly (``Decimal``), at least 1.
- **min_score m**: the ranked entries whose result is at least m (a score, or a number of passes).
- **pick**: exactly the entries the organiser picked, each with a non-empty reason; any entry of the
  round may be picked, ranked or not.
- An entry that is not ranked never advances by a rule (only by a pick).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from judging.rubric import AdvanceSpec


class AdvanceRule(enum.StrEnum):
    TOP = "top"
    SHARE = "share"
    MIN_SCORE = "min_score"
    PICK = "pick"


def advance_rule(spec: AdvanceSpec) -> AdvanceRule:
    """Which of the four rules a (validated) ``advance`` table sets."""
    if spec.pick:
        return AdvanceRule.PICK
    for rule in (AdvanceRule.TOP, AdvanceRule.SHARE, AdvanceRule.MIN_SCORE):
        if getattr(spec, rule.value) is not None:
            return rule
    raise ValueError("advance sets no rule")


@dataclass(frozen=True)
class Standing:
    """An entry's result in one round: ``result`` a final score (scored) or a number of passes
    (pass/fail), ``None`` with ``rank`` ``None`` when it is not ranked there; ``judges`` the sheets that
    counted."""

    entry: str
    category: str
    result: Decimal | None
    rank: int | None
    judges: int


@dataclass(frozen=True)
class Advancement:
    """Whether an entry goes on from a round, and why: ``rule`` the round's rule; ``tied`` it advanced
    only because it shares the last place that goes on; ``reason`` the organiser's reason for a pick."""

    entry: str
    advanced: bool
    rule: AdvanceRule
    tied: bool = False
    reason: str = ""


class AdvanceError(ValueError):
    """An organiser's pick that cannot be applied: ``kind`` is ``unknown_entry`` (not in the round),
    ``missing_reason`` (a picked entry without a reason) or ``nothing_picked``; ``entry`` names it."""

    def __init__(self, kind: str, entry: str = "") -> None:
        super().__init__(f"{kind}: {entry}" if entry else kind)
        self.kind = kind
        self.entry = entry


def pass_fail_standings(
    answers: Mapping[str, Sequence[bool]], categories: Mapping[str, str] | None = None
) -> list[Standing]:
    """Standings of a pass/fail round from each entry's answers (one bool per judge who answered).

    Ranked by number of passes, most first, per category; equal passes share a rank (1, 2, 2, 4); an
    entry with no answer is not ranked. Within a shared rank, entries are listed by their code.
    """
    categories = categories or {}
    standings: list[Standing] = []
    by_category: dict[str, list[tuple[str, int, int]]] = {}
    for entry in sorted(answers):
        given = answers[entry]
        category = categories.get(entry, "")
        if not given:
            standings.append(Standing(entry, category, None, None, 0))
            continue
        by_category.setdefault(category, []).append((entry, sum(1 for answer in given if answer), len(given)))
    ranked: list[Standing] = []
    for category in sorted(by_category):
        rows = sorted(by_category[category], key=lambda row: (-row[1], row[0]))
        rank = 0
        for position, (entry, passes, judges) in enumerate(rows, start=1):
            if position == 1 or passes != rows[position - 2][1]:
                rank = position
            ranked.append(Standing(entry, category, Decimal(passes), rank, judges))
    return ranked + standings


def places_for_share(share: Decimal, ranked: int) -> int:
    """How many places a ``share`` gives among ``ranked`` entries: ⌈share × ranked⌉, at least 1 (none
    when nothing is ranked). Exact: 0.3 of 10 is 3, never 4 from a float's 3.0000000000000004."""
    if ranked == 0:
        return 0
    return max(1, math.ceil(Decimal(share) * ranked))


def select_advancing(
    standings: Sequence[Standing], spec: AdvanceSpec, picks: Mapping[str, str] | None = None
) -> dict[str, Advancement]:
    """Apply a round's ``advance`` rule to its standings (see the module docstring): every entry of the
    round with its :class:`Advancement`. ``picks`` (entry → reason) is read only for the ``pick`` rule,
    and raises :class:`AdvanceError` when an entry is unknown or a reason is empty."""
    rule = advance_rule(spec)
    if rule is AdvanceRule.PICK:
        return _picked(standings, picks or {})
    outcome: dict[str, Advancement] = {}
    by_category: dict[str, list[Standing]] = {}
    for standing in standings:
        if standing.rank is None or standing.result is None:
            outcome[standing.entry] = Advancement(standing.entry, False, rule)
        else:
            by_category.setdefault(standing.category, []).append(standing)
    for rows in by_category.values():
        rows = sorted(rows, key=lambda standing: (standing.rank or 0, standing.entry))
        if rule is AdvanceRule.MIN_SCORE:
            assert spec.min_score is not None
            for standing in rows:
                assert standing.result is not None
                outcome[standing.entry] = Advancement(standing.entry, standing.result >= spec.min_score, rule)
            continue
        places = spec.top if rule is AdvanceRule.TOP else places_for_share(Decimal(spec.share or 0), len(rows))
        assert places is not None
        last_rank = rows[min(places, len(rows)) - 1].rank or 0
        for position, standing in enumerate(rows, start=1):
            advanced = (standing.rank or 0) <= last_rank
            outcome[standing.entry] = Advancement(standing.entry, advanced, rule, tied=advanced and position > places)
    return {standing.entry: outcome[standing.entry] for standing in standings}


def _picked(standings: Sequence[Standing], picks: Mapping[str, str]) -> dict[str, Advancement]:
    entries = {standing.entry for standing in standings}
    for entry in sorted(picks):
        if entry not in entries:
            raise AdvanceError("unknown_entry", entry)
        if not picks[entry].strip():
            raise AdvanceError("missing_reason", entry)
    if not picks:
        raise AdvanceError("nothing_picked")
    return {
        standing.entry: Advancement(
            standing.entry,
            standing.entry in picks,
            AdvanceRule.PICK,
            reason=picks.get(standing.entry, "").strip(),
        )
        for standing in standings
    }
