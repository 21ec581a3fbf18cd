"""Award allocation: who receives which award, given the ranked entries of each category.

Rules (DESIGN.md §3), stated once here and pinned by ``tests/unit/test_awards.py``:

- Awards are allocated per category, top-down in the order the rubric lists them, to the ranked
  entries in rank order. An award with ``category`` applies only in that category; an award without
  one applies in every category (or to the single list when the rubric has no categories).
- ``count = N`` takes the next N ranked entries.
- ``share = s`` takes the next ``places_for_share(s, n)`` entries, where n is the number of *ranked*
  entries in the category (see :func:`places_for_share`).
- ``min_score = m`` takes every remaining entry whose final score, rounded as displayed, is at least m.
- Entries that share a rank across the last place of a ``count`` or ``share`` award all receive that
  (higher) award, so the award goes to more entries than its places; an :class:`AwardNote` records it.
  The next award starts after them and still takes its own full number of places.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

import numpy as np

from judging.rubric import Award


@dataclass(frozen=True)
class AwardNote:
    """An award given to more entries than its places because a rank was shared across its boundary:
    ``entries`` share rank ``rank`` across the last of the award's ``places`` in ``category``, and all
    receive it, ``given`` entries in total. Data, not a sentence: the callers word it."""

    award: str
    category: str
    rank: int
    entries: tuple[str, ...]
    places: int
    given: int

    def to_json_dict(self) -> dict[str, object]:
        return {
            "award": self.award,
            "category": self.category,
            "rank": self.rank,
            "entries": list(self.entries),
            "places": self.places,
            "given": self.given,
        }


@dataclass(frozen=True, eq=False)
class AwardAllocation:
    """``award[i]`` is the award name of the i-th ranked entry ("" for none), in the order given."""

    award: np.ndarray
    notes: tuple[AwardNote, ...]


def places_for_share(share: Decimal, ranked_in_category: int) -> int:
    """Places of a ``share`` award: share × ranked entries in the category, rounded half up (四舍五入).

    0.15 of 16 entries is 2.4 → 2 places; 0.25 of 10 is 2.5 → 3; 0.1 of 4 is 0.4 → 0 (no minimum of
    one: a share that rounds to nothing gives nothing).
    """
    return int((share * ranked_in_category).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def min_score_threshold(min_score: Decimal, decimals: int) -> int:
    """The smallest final score, in units of 10^-decimals, that reaches ``min_score``."""
    return int((min_score.scaleb(decimals)).to_integral_value(rounding=ROUND_CEILING))


def allocate_awards(
    category: Sequence[str] | np.ndarray,
    rank: np.ndarray,
    final_units: np.ndarray,
    entry: Sequence[str] | np.ndarray,
    awards: Sequence[Award],
    decimals: int,
) -> AwardAllocation:
    """Give each ranked entry its award by the rules in this module's docstring.

    The arrays describe the ranked entries sorted by category and then by rank (as the ranking
    produces them): each entry's category key, its competition rank within the category, its final
    score in units of 10^-decimals, and its label (for the notes).
    """
    category = np.asarray(category, dtype=object)
    entry = np.asarray(entry, dtype=object)
    given = np.full(len(rank), "", dtype=object)
    notes: list[AwardNote] = []
    if len(rank) == 0:
        return AwardAllocation(given, ())
    boundaries = np.flatnonzero(category[1:] != category[:-1]) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [len(rank)]))
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        key = category[start]
        ranks = rank[start:end]
        finals = final_units[start:end]
        position = 0
        for award in awards:
            if award.category is not None and award.category != key:
                continue
            if position >= len(ranks):
                break
            if award.min_score is not None:
                threshold = min_score_threshold(award.min_score, decimals)
                stop = position + int(np.count_nonzero(finals[position:] >= threshold))
            else:
                if award.count is not None:
                    places = award.count
                else:
                    assert award.share is not None  # the rubric gives every award a count, a share or a minimum score
                    places = places_for_share(award.share, len(ranks))
                stop = min(position + places, len(ranks))
                if position < stop < len(ranks) and ranks[stop] == ranks[stop - 1]:
                    stop = int(np.searchsorted(ranks, ranks[stop - 1], side="right"))
                    tied = np.flatnonzero(ranks == ranks[stop - 1])
                    notes.append(
                        AwardNote(
                            award=award.name,
                            category=key,
                            rank=int(ranks[stop - 1]),
                            entries=tuple(str(name) for name in entry[start + tied]),
                            places=places,
                            given=stop - position,
                        )
                    )
            given[start + position : start + stop] = award.name
            position = stop
    return AwardAllocation(given, tuple(notes))
