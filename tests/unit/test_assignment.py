"""Balanced assignment: its properties hold for random panels, and a worked example spreads pairs exactly."""

from __future__ import annotations

from collections import Counter
from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from judging.assignment import assign_balanced, pair_counts


def _loads(assignment: dict[int, tuple[str, ...]], judges: list[str]) -> Counter[str]:
    loads: Counter[str] = Counter({judge: 0 for judge in judges})
    for panel in assignment.values():
        loads.update(panel)
    return loads


@st.composite
def panels(draw, with_conflicts: bool):  # type: ignore[no-untyped-def]
    n_judges = draw(st.integers(1, 8))
    n_entries = draw(st.integers(0, 14))
    k = draw(st.integers(1, n_judges + 1))
    judges = [f"J{i}" for i in range(n_judges)]
    entries = list(range(n_entries))
    conflicts: set[tuple[int, str]] = set()
    if with_conflicts and n_entries:
        conflicts = draw(st.sets(st.tuples(st.sampled_from(entries), st.sampled_from(judges)), max_size=n_entries * 2))
    return entries, judges, k, conflicts


@settings(max_examples=150, deadline=None)
@given(panels(with_conflicts=False))
def test_balanced_assignment_without_conflicts_is_even(panel) -> None:  # type: ignore[no-untyped-def]
    entries, judges, k, _ = panel
    assignment = assign_balanced(entries, judges, k)
    assert set(assignment) == set(entries)
    for judges_of_entry in assignment.values():
        assert len(judges_of_entry) == min(k, len(judges)) == len(set(judges_of_entry))
    loads = _loads(assignment, judges)
    assert max(loads.values()) - min(loads.values()) <= 1
    assert assignment == assign_balanced(entries, judges, k)  # deterministic


@settings(max_examples=150, deadline=None)
@given(panels(with_conflicts=True))
def test_balanced_assignment_never_assigns_a_conflict_and_balances_where_allowed(panel) -> None:  # type: ignore[no-untyped-def]
    entries, judges, k, conflicts = panel
    assignment = assign_balanced(entries, judges, k, conflicts=conflicts)
    loads = _loads(assignment, judges)
    for entry, judges_of_entry in assignment.items():
        eligible = [j for j in judges if (entry, j) not in conflicts]
        assert len(judges_of_entry) == min(k, len(eligible))
        assert not any((entry, judge) in conflicts for judge in judges_of_entry)
        # No single move to another eligible judge would even out two loads that differ by two or more.
        for heavy in judges_of_entry:
            for light in eligible:
                if light not in judges_of_entry:
                    assert loads[heavy] - loads[light] <= 1, (entry, heavy, light)


@settings(max_examples=100, deadline=None)
@given(panels(with_conflicts=True), st.data())
def test_balanced_assignment_keeps_the_pairs_it_is_told_to_keep(panel, data) -> None:  # type: ignore[no-untyped-def]
    entries, judges, k, conflicts = panel
    first = assign_balanced(entries, judges, k, conflicts=conflicts)
    kept = {(entry, judge) for entry, panel_ in first.items() for judge in panel_}
    keep = data.draw(st.sets(st.sampled_from(sorted(kept)), max_size=len(kept))) if kept else set()
    # A judge leaves: the pairs with sheets stay, everything else is redistributed among the others.
    leaving = judges[0]
    again = assign_balanced(entries, judges, k, conflicts=conflicts | {(e, leaving) for e in entries}, keep=keep)
    for entry, judge in keep:
        assert judge in again[entry]
    for entry, judges_of_entry in again.items():
        assert all(judge != leaving or (entry, judge) in keep for judge in judges_of_entry)


def test_four_judges_two_per_entry_sit_together_exactly_once_over_six_entries() -> None:
    judges = ["A", "B", "C", "D"]
    assignment = assign_balanced(list(range(6)), judges, 2)
    assert set(pair_counts(assignment, judges).values()) == {1}
    assert _loads(assignment, judges) == Counter({"A": 3, "B": 3, "C": 3, "D": 3})


def test_pairs_spread_within_one_on_a_larger_panel() -> None:
    judges = [f"J{i}" for i in range(7)]
    assignment = assign_balanced(list(range(21)), judges, 3)  # a Fano-like design exists: each pair ≤ 2
    counts = pair_counts(assignment, judges)
    assert max(counts.values()) - min(counts.values()) <= 1
    assert sum(counts.values()) == 21 * len(list(combinations(range(3), 2)))
