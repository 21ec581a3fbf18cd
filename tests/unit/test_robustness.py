"""Leave-one-judge-out robustness (judging/scoring/robustness.py), pinned with worked examples."""

from __future__ import annotations

import time
from decimal import Decimal

import numpy as np
import pandas as pd

from judging.scoring.aggregate import rank_entries
from judging.scoring.robustness import AwardChange, leave_one_judge_out, table_without_judge
from judging.scoring.score_table import parse_score_frame
from tests.scenarios import CHECK, scores, table_rows, work_rubric

TWO_AWARDS = '[[awards]]\nname = "一等奖"\ncount = 1\n[[awards]]\nname = "二等奖"\ncount = 1\n'


def test_award_that_hinges_on_one_judge():
    # Means: A (90+80+80+80)/4 = 82.5, B (70+84+84+84)/4 = 80.5, C 60.
    # Without J1: A 80, B 84, so B takes 一等奖 and A drops to 二等奖; without J2 (or J3, J4):
    # A (90+80+80)/3 = 83.33, B (70+84+84)/3 = 79.33, the same order.
    frame = scores(
        {
            "A": {"J1": 90, "J2": 80, "J3": 80, "J4": 80},
            "B": {"J1": 70, "J2": 84, "J3": 84, "J4": 84},
            "C": {"J1": 60, "J2": 60, "J3": 60, "J4": 60},
        }
    )
    rubric = work_rubric(extra=TWO_AWARDS)
    assert table_rows(rank_entries(frame, rubric)) == [
        (1, "A", "82.50", "一等奖"),
        (2, "B", "80.50", "二等奖"),
        (3, "C", "60.00", ""),
    ]

    report = leave_one_judge_out(frame, rubric)

    assert report.judges == ("J1", "J2", "J3", "J4")
    assert [item.entry for item in report.hinging] == ["A", "B"]
    assert report.of("A").changes == (AwardChange("J1", "ranked", "二等奖", 2, Decimal("80.00")),)
    assert report.of("B").changes == (AwardChange("J1", "ranked", "一等奖", 1, Decimal("84.00")),)
    assert report.of("A").hinge_judges == ("J1",)
    assert report.of("C").hinges is False
    assert report.of("C").undetermined == ()


def test_award_that_does_not_hinge_on_any_judge():
    # A leads by at least 10 points on every sheet: no single judge can change the order.
    frame = scores(
        {
            "A": {"J1": 95, "J2": 90, "J3": 92},
            "B": {"J1": 80, "J2": 79, "J3": 82},
            "C": {"J1": 60, "J2": 65, "J3": 61},
        }
    )
    report = leave_one_judge_out(frame, work_rubric(extra=TWO_AWARDS))
    assert report.hinging == ()
    assert [(item.entry, item.award, item.changes, item.undetermined) for item in report.entries] == [
        ("A", "一等奖", (), ()),
        ("B", "二等奖", (), ()),
        ("C", "", (), ()),
    ]


def test_judge_who_never_scored_an_entry_can_still_decide_its_award():
    # A is scored by J1 and J2 only: 85. B by all three: (80 + 80 + 98) / 3 = 86, so B is first.
    # Without J3, who never saw A, B has 80 and A comes first.
    frame = scores({"A": {"J1": 85, "J2": 85}, "B": {"J1": 80, "J2": 80, "J3": 98}})
    report = leave_one_judge_out(frame, work_rubric(extra=TWO_AWARDS))
    assert report.of("A").award == "二等奖"
    assert report.of("A").changes == (AwardChange("J3", "ranked", "一等奖", 1, Decimal("85.00")),)
    assert report.of("B").changes == (AwardChange("J3", "ranked", "二等奖", 2, Decimal("80.00")),)


def test_failed_check_without_a_judge_is_a_hinge():
    # Majority rule: A passes 2 of 3. Without J1 or J2 it is 1 of 2, not a majority, so A would be
    # excluded; without J3 it is 2 of 2.
    frame = scores({"A": {"J1": 90, "J2": 90, "J3": 90}, "B": {"J1": 50, "J2": 50, "J3": 50}})
    checks = pd.DataFrame(
        {
            "entry": ["A", "A", "A", "B", "B", "B"],
            "judge": ["J1", "J2", "J3", "J1", "J2", "J3"],
            "check": ["ip"] * 6,
            "passed": [True, True, False, True, True, True],
        }
    )
    rubric = work_rubric(extra=CHECK.format(rule="majority") + TWO_AWARDS)
    report = leave_one_judge_out(frame, rubric, checks)
    assert report.of("A").changes == (
        AwardChange("J1", "excluded", "", None, None),
        AwardChange("J2", "excluded", "", None, None),
    )
    assert report.of("B").changes == (
        AwardChange("J1", "ranked", "一等奖", 1, Decimal("50.00")),
        AwardChange("J2", "ranked", "一等奖", 1, Decimal("50.00")),
    )


def test_too_few_sheets_without_a_judge_is_undetermined_not_a_hinge():
    # min_judges = 3 with three judges: leaving any one out leaves every entry unranked.
    frame = scores({"A": {"J1": 90, "J2": 88, "J3": 86}, "B": {"J1": 70, "J2": 72, "J3": 74}})
    report = leave_one_judge_out(frame, work_rubric(min_judges=3, extra=TWO_AWARDS))
    assert report.hinging == ()
    assert [change.judge for change in report.of("A").undetermined] == ["J1", "J2", "J3"]
    assert {change.status for change in report.of("B").undetermined} == {"not ranked"}
    assert report.to_frame()[["entry", "judge", "status_without"]].values.tolist()[:2] == [
        ["A", "J1", "not ranked"],
        ["A", "J2", "not ranked"],
    ]


def test_table_without_judge_ranks_as_the_table_read_without_that_judge():
    frame = scores(
        {
            "A": {"J1": (30, 20.5), "J2": (35, 21), "J3": (28, 19)},
            "B": {"J1": (25, 25), "J2": (31.5, 18), "J3": (40, 22.5)},
            "C": {"J2": (20, 20), "J3": (21, 19.5)},
        },
        criteria=("content", "form"),
    )
    rubric = work_rubric(
        criteria=(
            '[[criteria]]\nkey = "content"\nlabel = "内容"\nmax = 50\nweight = 1.5\nstep = 0.5\n'
            '[[criteria]]\nkey = "form"\nlabel = "形式"\nmax = 50\nweight = 1\nstep = 0.5\n'
        ),
        across_judges="zscore",
        extra=TWO_AWARDS,
    )
    table = parse_score_frame(frame, rubric)
    for j, label in enumerate(table.judges):
        subset = rank_entries(table_without_judge(table, j), rubric).table
        reread = rank_entries(frame[frame["judge"] != label], rubric).table
        pd.testing.assert_frame_equal(subset, reread)


def test_twenty_judges_and_three_hundred_entries_take_seconds():
    rng = np.random.default_rng(5)
    n_entries, n_judges = 300, 20
    entry = np.repeat([f"E{e:03d}" for e in range(n_entries)], n_judges * 2)
    judge = np.tile(np.repeat([f"J{j:02d}" for j in range(n_judges)], 2), n_entries)
    criterion = np.tile(["content", "form"], n_entries * n_judges)
    score = rng.integers(0, 101, size=len(entry)) / 2
    frame = pd.DataFrame({"entry": entry, "judge": judge, "criterion": criterion, "score": score})
    rubric = work_rubric(
        criteria=(
            '[[criteria]]\nkey = "content"\nlabel = "内容"\nmax = 50\nweight = 1\nstep = 0.5\n'
            '[[criteria]]\nkey = "form"\nlabel = "形式"\nmax = 50\nweight = 1\nstep = 0.5\n'
        ),
        across_judges="trimmed_mean",
        trim=2,
        min_judges=5,
        extra='[[awards]]\nname = "一等奖"\ncount = 10\n[[awards]]\nname = "二等奖"\ncount = 30\n',
    )
    started = time.perf_counter()
    report = leave_one_judge_out(frame, rubric)
    elapsed = time.perf_counter() - started
    assert len(report.entries) == n_entries
    assert len(report.judges) == n_judges
    assert elapsed < 10, f"leave-one-judge-out took {elapsed:.1f} s"
