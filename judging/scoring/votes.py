"""The public vote's arithmetic and its rigging detection (issue 19): pure, no Flask, no database.

**Combined score** (:func:`combine`): per shortlisted entry,
``combined = expert_weight × expert_score + vote_weight × vote_points``, computed exactly (``Decimal``)
and rounded half up to the rubric's ``decimals`` once, at the end. ``vote_points`` puts the counted
(not voided) votes on the experts' points scale (``scale``, the highest possible sheet total):

- ``share_of_max``: ``scale × votes / most votes`` (0 for everyone when nobody has a vote);
- ``rank_bands``: entries ranked by votes (competition style, 1, 2, 2, 4) get the points of the first
  band whose ``up_to_rank`` covers their rank, 0 beyond the last band;
- ``zscore``: ``mean + sd × z`` of the shortlist's expert scores, z the entry's standardised vote count
  (population s.d.; 0 when the counts do not vary), so the vote part reads as points like the experts'.

**Rigging flags** (:func:`detect_rigging`), per entry, over its counted votes, with the thresholds of the
rubric's ``[vote.flags]`` (:class:`judging.rubric.VoteFlagsSpec`, defaults in brackets):

- ``burst``: an hour with at least ``burst_min`` (10) votes and more than ``burst_factor`` (5) times the entry's
  own mean per hour over the rest of its history (the hours from its first to its last vote);
- ``network``: one network prefix (IPv4 /24, IPv6 /48) gives at least ``group_min`` (10) votes and at least
  ``group_share`` (0.3) of the entry's votes;
- ``device``: the same for one device signature (the client's signals without its cookie);
- ``regular``: ``regular_run`` (10) consecutive votes whose intervals vary less than ``regular_cv`` (0.1)
  (coefficient of variation): people do not vote at machine regularity.

A flag carries the ids of the votes it concerns and its evidence, so that an organiser can void the
group (never silently: the service audits it).
"""

from __future__ import annotations

import enum
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext
from itertools import pairwise

import numpy as np
import pandas as pd

from judging.rubric import Award, Rubric, VoteFlagsSpec, VoteSpec
from judging.scoring.awards import allocate_awards
from judging.scoring.ranking import rank_entries
from judging.scoring.robustness import table_without_judge
from judging.scoring.score_table import ScoreTable

ZERO = Decimal(0)


@dataclass(frozen=True)
class VoteTally:
    """What the combination needs of one shortlisted entry: its experts' score, its counted votes, and the
    votes voided with their reasons (reason → how many)."""

    entry: str
    expert_score: Decimal
    votes: int
    voided: Mapping[str, int] = field(default_factory=dict)

    @property
    def voided_count(self) -> int:
        return sum(self.voided.values())


@dataclass(frozen=True)
class CombinedLine:
    """One entry of the combined result, with every number behind it."""

    entry: str
    expert_score: Decimal
    votes: int
    voided: Mapping[str, int]
    vote_points: Decimal
    """The normalised vote part on the points scale, exact (not rounded)."""
    expert_part: Decimal
    vote_part: Decimal
    exact: Decimal
    """``expert_part + vote_part`` before rounding."""
    combined: Decimal
    """Rounded half up to the rubric's decimals, once."""
    rank: int

    @property
    def voided_count(self) -> int:
        return sum(self.voided.values())


def half_up(value: Decimal, decimals: int) -> Decimal:
    """``value`` rounded half up (四舍五入) to ``decimals`` places: 84.125 → 84.13."""
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def competition_ranks(values: Sequence[Decimal | int]) -> list[int]:
    """Competition ranks of ``values`` in descending order (1, 2, 2, 4), in the input's order."""
    return [1 + sum(1 for other in values if other > value) for value in values]


def vote_points(tallies: Sequence[VoteTally], spec: VoteSpec, scale: Decimal) -> list[Decimal]:
    """Each tally's vote count on the points scale, by ``spec.normalisation`` (see the module docstring)."""
    counts = [t.votes for t in tallies]
    if not counts:
        return []
    if spec.normalisation == "share_of_max":
        most = max(counts)
        return [scale * count / most if most else ZERO for count in counts]
    if spec.normalisation == "rank_bands":
        points = []
        for rank in competition_ranks(counts):
            band = next((b for b in spec.bands if rank <= b.up_to_rank), None)
            points.append(band.points if band else ZERO)
        return points
    with localcontext() as context:  # zscore: exact up to 40 digits, rounded once at the end like the rest
        context.prec = 40
        n = Decimal(len(counts))
        mean_votes = sum((Decimal(c) for c in counts), ZERO) / n
        sd_votes = (sum(((Decimal(c) - mean_votes) ** 2 for c in counts), ZERO) / n).sqrt()
        experts = [t.expert_score for t in tallies]
        mean_expert = sum(experts, ZERO) / n
        sd_expert = (sum(((e - mean_expert) ** 2 for e in experts), ZERO) / n).sqrt()
        if sd_votes == 0:
            return [mean_expert for _ in counts]
        return [mean_expert + sd_expert * (Decimal(c) - mean_votes) / sd_votes for c in counts]


def combine(tallies: Sequence[VoteTally], spec: VoteSpec, scale: Decimal, decimals: int) -> list[CombinedLine]:
    """The combined result of the shortlist, best first (ties by experts' score, then entry label; the
    rank is shared on equal combined scores): ``expert_weight × expert + vote_weight × vote_points``,
    exact, rounded half up to ``decimals`` once."""
    points = vote_points(tallies, spec, scale)
    lines = []
    for tally, vote_point in zip(tallies, points, strict=True):
        expert_part = spec.expert_weight * tally.expert_score
        vote_part = spec.vote_weight * vote_point
        exact = expert_part + vote_part
        lines.append((tally, vote_point, expert_part, vote_part, exact, half_up(exact, decimals)))
    ranks = competition_ranks([line[5] for line in lines])
    combined = [
        CombinedLine(
            entry=tally.entry,
            expert_score=tally.expert_score,
            votes=tally.votes,
            voided=dict(tally.voided),
            vote_points=vote_point,
            expert_part=expert_part,
            vote_part=vote_part,
            exact=exact,
            combined=rounded,
            rank=rank,
        )
        for (tally, vote_point, expert_part, vote_part, exact, rounded), rank in zip(lines, ranks, strict=True)
    ]
    return sorted(combined, key=lambda line: (line.rank, -line.expert_score, line.entry))


def combined_awards(lines: Sequence[CombinedLine], awards: Sequence[Award], decimals: int) -> dict[str, str]:
    """The rubric's awards given down the combined ranking (:func:`judging.scoring.awards.allocate_awards`,
    one category: the shortlist), entry → award ("" for none)."""
    units = np.array([int(line.combined.scaleb(decimals)) for line in lines], dtype=np.int64)
    allocation = allocate_awards(
        [""] * len(lines),
        np.array([line.rank for line in lines], dtype=np.int64),
        units,
        [line.entry for line in lines],
        [award for award in awards if award.category is None],
        decimals,
    )
    return {line.entry: str(award) for line, award in zip(lines, allocation.award, strict=True)}


@dataclass(frozen=True)
class CombinedChange:
    """What would become of an entry's combined award under a what-if: ``without`` names the judge left
    out ("" for the what-if of counting the voided votes)."""

    entry: str
    award: str
    award_then: str
    rank_then: int
    combined_then: Decimal
    without: str = ""


def award_changes(
    lines: Sequence[CombinedLine],
    other: Sequence[CombinedLine],
    awards: Sequence[Award],
    decimals: int,
    without: str = "",
) -> list[CombinedChange]:
    """The entries whose award differs between two combined results of the same shortlist."""
    now = combined_awards(lines, awards, decimals)
    then_lines = {line.entry: line for line in other}
    then = combined_awards(other, awards, decimals)
    return [
        CombinedChange(entry, now[entry], then[entry], then_lines[entry].rank, then_lines[entry].combined, without)
        for entry in now
        if entry in then and now[entry] != then[entry]
    ]


def leave_one_judge_out_combined(
    table: ScoreTable,
    rubric: Rubric,
    checks: pd.DataFrame | None,
    tallies: Sequence[VoteTally],
    lines: Sequence[CombinedLine],
) -> list[CombinedChange]:
    """For each judge with sheets: the experts' result without that judge, combined with the same votes;
    every shortlisted entry whose combined award would change (or that would no longer be ranked by the
    experts, shown with the award "")."""
    assert rubric.vote is not None and rubric.aggregation is not None
    decimals = rubric.aggregation.decimals
    changes: list[CombinedChange] = []
    judge_column = checks["judge"].astype(str).str.strip() if checks is not None else None
    for judge in sorted(set(table.sheet_judge.tolist())):
        label = str(table.judges[judge])
        other_checks = None
        if checks is not None and judge_column is not None:
            other_checks = checks.loc[judge_column != label.strip()].reset_index(drop=True)
        without = rank_entries(table_without_judge(table, judge), rubric, other_checks).table
        expert = {str(e): Decimal(score) for e, score in zip(without["entry"], without["final_score"], strict=True)}
        still = [VoteTally(t.entry, expert[t.entry], t.votes, t.voided) for t in tallies if t.entry in expert]
        other = combine(still, rubric.vote, rubric.max_total, decimals)
        changes += award_changes(lines, other, rubric.awards, decimals, without=label)
        now = combined_awards(lines, rubric.awards, decimals)
        for tally in tallies:
            if tally.entry not in expert:
                changes.append(CombinedChange(tally.entry, now[tally.entry], "", 0, ZERO, without=label))
    return changes


# --- rigging -------------------------------------------------------------------------------------


class FlagKind(enum.StrEnum):
    BURST = "burst"
    NETWORK = "network"
    DEVICE = "device"
    REGULAR = "regular"


@dataclass(frozen=True)
class CastVote:
    """A vote as the detection sees it: when, for which entry, and from where."""

    id: int
    entry: str
    at: datetime
    network: str
    signature: str


@dataclass(frozen=True)
class Flag:
    """A suspicious group of one entry's votes: ``subject`` is the hour (burst), the network, the device
    signature, or the first vote's time (regular); ``count`` of the entry's ``total`` votes; ``baseline``
    the entry's mean per hour elsewhere (burst) or the intervals' coefficient of variation (regular)."""

    entry: str
    kind: FlagKind
    subject: str
    vote_ids: tuple[int, ...]
    count: int
    total: int
    baseline: str = ""


DEFAULT_FLAGS = VoteFlagsSpec()
"""The thresholds of a ``[vote]`` without ``[vote.flags]``."""


def detect_rigging(votes: Iterable[CastVote], thresholds: VoteFlagsSpec = DEFAULT_FLAGS) -> list[Flag]:
    """Every flag of every entry (see the module docstring) under the rubric's ``[vote.flags]`` thresholds
    (their defaults when not given), by entry then kind."""
    by_entry: defaultdict[str, list[CastVote]] = defaultdict(list)
    for vote in votes:
        by_entry[vote.entry].append(vote)
    flags: list[Flag] = []
    for entry in sorted(by_entry):
        entry_votes = sorted(by_entry[entry], key=lambda v: (v.at, v.id))
        flags += _bursts(entry, entry_votes, thresholds)
        flags += _groups(entry, entry_votes, FlagKind.NETWORK, lambda v: v.network, thresholds)
        flags += _groups(entry, entry_votes, FlagKind.DEVICE, lambda v: v.signature, thresholds)
        flags += _regular(entry, entry_votes, thresholds)
    return flags


def _hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _bursts(entry: str, votes: Sequence[CastVote], t: VoteFlagsSpec) -> list[Flag]:
    hours: defaultdict[datetime, list[int]] = defaultdict(list)
    for vote in votes:
        hours[_hour(vote.at)].append(vote.id)
    first, last = _hour(votes[0].at), _hour(votes[-1].at)
    span = int((last - first).total_seconds() // 3600) + 1
    flags = []
    for hour, ids in sorted(hours.items()):
        others = len(votes) - len(ids)
        other_hours = max(span - 1, 1)
        # The baseline is at least one vote an hour: a quiet entry is not flagged for its first ten votes
        # only because it had none before.
        baseline = max(Decimal(others) / other_hours, Decimal(1))
        if len(ids) >= t.burst_min and len(ids) > t.burst_factor * baseline:
            flags.append(
                Flag(
                    entry, FlagKind.BURST, hour.isoformat(), tuple(ids), len(ids), len(votes), str(half_up(baseline, 2))
                )
            )
    return flags


def _groups(entry: str, votes: Sequence[CastVote], kind: FlagKind, key: object, t: VoteFlagsSpec) -> list[Flag]:
    assert callable(key)
    counts = Counter(key(vote) for vote in votes)
    flags = []
    for subject, count in sorted(counts.items()):
        if subject and count >= t.group_min and count >= t.group_share * len(votes):
            ids = tuple(vote.id for vote in votes if key(vote) == subject)
            flags.append(Flag(entry, kind, subject, ids, count, len(votes)))
    return flags


def _regular(entry: str, votes: Sequence[CastVote], t: VoteFlagsSpec) -> list[Flag]:
    """Runs of ``regular_run`` consecutive votes with near-constant intervals, merged where they overlap."""
    run = t.regular_run
    if len(votes) < run:
        return []
    regular_ids: dict[int, None] = {}  # an ordered set: the votes of every regular window, once each
    cvs: list[float] = []
    for start in range(len(votes) - run + 1):
        window = votes[start : start + run]
        intervals = [(b.at - a.at).total_seconds() for a, b in pairwise(window)]
        mean = statistics.fmean(intervals)
        if mean <= 0:
            cv = 0.0  # all at once: as regular as it gets
        else:
            cv = statistics.pstdev(intervals) / mean
        if Decimal(cv) < t.regular_cv:  # the float's exact value: the threshold is written in decimal
            cvs.append(cv)
            regular_ids.update((vote.id, None) for vote in window)
    if not regular_ids:
        return []
    first_id = next(iter(regular_ids))
    first = next(vote for vote in votes if vote.id == first_id)
    return [
        Flag(
            entry,
            FlagKind.REGULAR,
            first.at.isoformat(),
            tuple(regular_ids),
            len(regular_ids),
            len(votes),
            f"{max(cvs):.3f}",
        )
    ]
