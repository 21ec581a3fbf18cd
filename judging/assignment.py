"""Balanced assignment of judges to entries (``judges_per_entry = k``): pure, deterministic, no database.

The rule, stated once:

- every entry gets ``k`` judges, or every eligible judge when fewer than ``k`` are eligible;
- a conflicted pair (entry, judge) is never assigned; pairs to *keep* (a judge who already has a sheet
  for the entry) are always assigned and count toward ``k`` and toward the judge's load;
- judges' loads differ by at most one where conflicts allow: no single move of an entry from one judge
  to another eligible judge would bring two loads that differ by two or more closer together;
- pairs of judges sit on the same entry as evenly as the numbers allow: among assignments with the same
  loads, the sum of squares of the pair counts is locally minimal (no exchange of two judges between two
  entries lowers it);
- the same input always gives the same output (ties go to the judge and the entry listed first).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from itertools import combinations
from typing import TypeVar

E = TypeVar("E", bound=Hashable)
J = TypeVar("J", bound=Hashable)

_MAX_ROUNDS = 500
"""Pair spreading stops after this many exchanges (it nearly always settles long before)."""


def assign_balanced(
    entries: Sequence[E],
    judges: Sequence[J],
    k: int,
    conflicts: Iterable[tuple[E, J]] = (),
    keep: Iterable[tuple[E, J]] = (),
) -> dict[E, tuple[J, ...]]:
    """Assign ``k`` judges to every entry following the module's rule; returns entry → judges (in panel order)."""
    if k < 1:
        raise ValueError("k must be at least 1")
    order = {judge: index for index, judge in enumerate(judges)}
    banned = set(conflicts)
    kept: dict[E, set[J]] = {entry: set() for entry in entries}
    for entry, judge in keep:
        if entry in kept and judge in order:
            kept[entry].add(judge)
    eligible = {entry: [j for j in judges if (entry, j) not in banned or j in kept[entry]] for entry in entries}
    chosen: dict[E, set[J]] = {entry: set(kept[entry]) for entry in entries}
    load: Counter[J] = Counter({judge: 0 for judge in judges})
    pairs: Counter[tuple[J, J]] = Counter()
    for entry in entries:
        for judge in chosen[entry]:
            load[judge] += 1
        _count_pairs(pairs, chosen[entry], order, +1)

    # Hardest entries first: those with the fewest eligible judges have the least room to choose.
    position = {entry: index for index, entry in enumerate(entries)}
    for entry in sorted(entries, key=lambda e: (len(eligible[e]), position[e])):
        target = min(k, len(eligible[entry]))
        while len(chosen[entry]) < target:
            candidates = [j for j in eligible[entry] if j not in chosen[entry]]
            best = min(
                candidates,
                key=lambda j: (load[j], sum(pairs[_pair(j, o, order)] for o in chosen[entry]), order[j]),
            )
            _count_pairs(pairs, chosen[entry], order, -1)
            chosen[entry].add(best)
            _count_pairs(pairs, chosen[entry], order, +1)
            load[best] += 1

    movable = {entry: chosen[entry] - kept[entry] for entry in entries}
    # Each move lowers the sum of squared loads, so this ends; exchanges below never change a load.
    while _rebalance_loads(entries, eligible, chosen, movable, load, pairs, order):
        pass
    for _round in range(_MAX_ROUNDS):
        if not _spread_pairs(entries, eligible, chosen, movable, pairs, order):
            break
    return {entry: tuple(sorted(chosen[entry], key=order.__getitem__)) for entry in entries}


def _pair(a: J, b: J, order: dict[J, int]) -> tuple[J, J]:
    return (a, b) if order[a] < order[b] else (b, a)


def _count_pairs(pairs: Counter[tuple[J, J]], panel: set[J], order: dict[J, int], sign: int) -> None:
    for a, b in combinations(sorted(panel, key=order.__getitem__), 2):
        pairs[(a, b)] += sign


def _rebalance_loads(
    entries: Sequence[E],
    eligible: dict[E, list[J]],
    chosen: dict[E, set[J]],
    movable: dict[E, set[J]],
    load: Counter[J],
    pairs: Counter[tuple[J, J]],
    order: dict[J, int],
) -> bool:
    """Move one entry from a judge to an eligible judge with a load at least two lower; True if moved."""
    for entry in entries:
        for heavy in sorted(movable[entry], key=lambda j: (-load[j], order[j])):
            for light in sorted(eligible[entry], key=lambda j: (load[j], order[j])):
                if light in chosen[entry] or load[heavy] - load[light] < 2:
                    continue
                _replace(entry, heavy, light, chosen, movable, pairs, order)
                load[heavy] -= 1
                load[light] += 1
                return True
    return False


def _spread_pairs(
    entries: Sequence[E],
    eligible: dict[E, list[J]],
    chosen: dict[E, set[J]],
    movable: dict[E, set[J]],
    pairs: Counter[tuple[J, J]],
    order: dict[J, int],
) -> bool:
    """Exchange judges a and b between two entries (loads unchanged) when that evens out pair counts.

    Whether an exchange helps depends only on the two entries' panels (chosen, movable and eligible
    judges) and on the pair counts, so entries alike in all three are tried once, through the first of
    them: with a handful of judges there are few distinct panels however many entries there are."""
    representatives: dict[tuple[frozenset[J], frozenset[J], frozenset[J]], E] = {}
    for entry in entries:
        signature = (frozenset(chosen[entry]), frozenset(movable[entry]), frozenset(eligible[entry]))
        representatives.setdefault(signature, entry)
    for first, second in combinations(representatives.values(), 2):
        for a in sorted(movable[first] - chosen[second], key=order.__getitem__):
            if a not in eligible[second]:
                continue
            for b in sorted(movable[second] - chosen[first], key=order.__getitem__):
                if b not in eligible[first]:
                    continue
                touched = _pairs_within(chosen[first] | {b}, order) | _pairs_within(chosen[second] | {a}, order)
                before = sum(pairs[p] ** 2 for p in touched)
                _replace(first, a, b, chosen, movable, pairs, order)
                _replace(second, b, a, chosen, movable, pairs, order)
                if sum(pairs[p] ** 2 for p in touched) < before:
                    return True
                _replace(second, a, b, chosen, movable, pairs, order)
                _replace(first, b, a, chosen, movable, pairs, order)
    return False


def _pairs_within(panel: set[J], order: dict[J, int]) -> set[tuple[J, J]]:
    return set(combinations(sorted(panel, key=order.__getitem__), 2))


def _replace(
    entry: E,
    old: J,
    new: J,
    chosen: dict[E, set[J]],
    movable: dict[E, set[J]],
    pairs: Counter[tuple[J, J]],
    order: dict[J, int],
) -> None:
    _count_pairs(pairs, chosen[entry], order, -1)
    chosen[entry].discard(old)
    movable[entry].discard(old)
    chosen[entry].add(new)
    movable[entry].add(new)
    _count_pairs(pairs, chosen[entry], order, +1)


def pair_counts(assignment: dict[E, tuple[J, ...]], judges: Sequence[J]) -> Counter[tuple[J, J]]:
    """How often each pair of judges (in panel order) sits on the same entry, zero pairs included."""
    order = {judge: index for index, judge in enumerate(judges)}
    counts: Counter[tuple[J, J]] = Counter({pair: 0 for pair in combinations(judges, 2)})
    for panel in assignment.values():
        for pair in combinations(sorted(panel, key=order.__getitem__), 2):
            counts[pair] += 1
    return counts
