"""The conflict rule of :mod:`judging.conflicts` on a small tree of districts and units, and the differences
between two rubric versions (:func:`judging.rubric.rubric_differences`)."""

from __future__ import annotations

import pytest

from judging.conflicts import ConflictReason, OrganizationTree, conflict_reason
from judging.rubric import Difference, rubric_differences
from tests.scenarios import work_rubric

# 1 浦东新区 ← 11 陆家嘴街道, 12 花木街道 ← 121 a community under 花木; 2 黄浦区 ← 21 外滩街道
TREE = OrganizationTree({1: None, 11: 1, 12: 1, 121: 12, 2: None, 21: 2})


def reason(judge: int | None, entry: int, nominated_by: int | None = None, declared=(), tree_rule=True):  # type: ignore[no-untyped-def]
    return conflict_reason(
        TREE,
        judge_organization=judge,
        declared=declared,
        entry_organization=entry,
        nominated_by=nominated_by,
        tree_rule=tree_rule,
    )


@pytest.mark.parametrize(
    ("judge", "entry", "nominated_by", "expected"),
    [
        (1, 1, None, ConflictReason.SAME_ORGANIZATION),
        (1, 11, 1, ConflictReason.ENTRANT_BELOW),  # the district's judge, its unit's case it nominated
        (1, 121, 12, ConflictReason.ENTRANT_BELOW),  # two levels down
        (121, 1, None, ConflictReason.ENTRANT_ABOVE),
        (12, 11, 1, ConflictReason.NOMINATED),  # a sibling unit: their district nominated the case
        (21, 11, 1, None),
        (None, 11, 1, None),
        (2, 11, 1, None),
    ],
)
def test_conflicts_follow_the_tree(judge, entry, nominated_by, expected) -> None:  # type: ignore[no-untyped-def]
    assert reason(judge, entry, nominated_by) is expected


def test_declared_relation_covers_the_tree_and_the_nominator_even_without_the_tree_rule() -> None:
    assert reason(None, 21, 2, declared={2}, tree_rule=False) is ConflictReason.DECLARED
    assert reason(None, 2, None, declared={21}) is ConflictReason.DECLARED  # the relation's district
    assert reason(21, 11, 1, declared={1}) is ConflictReason.DECLARED
    assert reason(None, 11, 1, declared={2}) is None
    assert reason(1, 11, 1, declared={1}, tree_rule=False) is ConflictReason.DECLARED
    assert reason(1, 11, 1, tree_rule=False) is None


def test_a_cycle_in_the_tree_ends_the_walk() -> None:
    looped = OrganizationTree({1: 2, 2: 1, 3: None})
    assert looped.ancestors(1) == [2]
    assert (
        conflict_reason(
            looped, judge_organization=3, declared=(), entry_organization=1, nominated_by=None, tree_rule=True
        )
        is None
    )


def test_rubric_differences_name_each_changed_setting() -> None:
    old = work_rubric(extra='[[awards]]\nname = "一等奖"\ncount = 1\n')
    new = work_rubric(
        criteria='[[criteria]]\nkey = "score"\nlabel = "得分"\nmax = 50\nweight = 2\nstep = 0.5\n',
        across_judges="median",
        extra='[[awards]]\nname = "一等奖"\ncount = 2\n\n[[awards]]\nname = "二等奖"\ncount = 3\n',
    )
    assert rubric_differences(old, new) == [
        Difference("criteria[score].max", "100", "50"),
        Difference("criteria[score].weight", "1", "2"),
        Difference("aggregation.across_judges", "mean", "median"),
        Difference("awards[一等奖].count", "1", "2"),
        Difference("awards[二等奖]", None, "name = 二等奖, count = 3"),
    ]
    assert rubric_differences(old, old) == []
