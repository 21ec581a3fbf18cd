"""Where an organisation may sit, by kind, and circles in the tree (pure)."""

from __future__ import annotations

import pytest

from judging.organization_places import Misplaced, OrganizationKind, cycle_through, placement_problem

K = OrganizationKind


@pytest.mark.parametrize(
    ("kind", "parent", "problem"),
    [
        (K.DISTRICT, None, None),
        (K.DISTRICT, K.COMPANY, Misplaced.TOP_ONLY),
        (K.DISTRICT, K.DISTRICT, Misplaced.TOP_ONLY),
        (K.INDUSTRY, K.DISTRICT, Misplaced.TOP_ONLY),
        (K.ORGANIZER, K.INDUSTRY, Misplaced.TOP_ONLY),
        (K.GRASSROOTS, None, Misplaced.NEEDS_PARENT),
        (K.GRASSROOTS, K.DISTRICT, None),
        (K.GRASSROOTS, K.INDUSTRY, None),
        (K.GRASSROOTS, K.COMPANY, None),
        (K.GRASSROOTS, K.GRASSROOTS, Misplaced.PARENT_HOLDS_NO_UNITS),
        (K.GRASSROOTS, K.ORGANIZER, Misplaced.PARENT_HOLDS_NO_UNITS),
        (K.COMPANY, None, None),
        (K.COMPANY, K.COMPANY, None),
        (K.COMPANY, K.GRASSROOTS, Misplaced.PARENT_HOLDS_NO_UNITS),
    ],
)
def test_placement_follows_the_kind(kind: K, parent: K | None, problem: Misplaced | None) -> None:
    assert placement_problem(kind, parent) is problem


def test_a_circle_is_named_from_the_new_parent_up_to_the_moved_one() -> None:
    parents = {"集团": None, "子公司": "集团", "孙公司": "子公司", "别的": None}
    assert cycle_through(parents, "集团", "孙公司") == ["孙公司", "子公司", "集团"]
    assert cycle_through(parents, "集团", "集团") == ["集团"]
    assert cycle_through(parents, "孙公司", "集团") is None
    assert cycle_through(parents, "集团", "别的") is None


def test_a_circle_already_in_the_data_ends_the_walk() -> None:
    assert cycle_through({"a": "b", "b": "a"}, "c", "a") is None
