"""The skills engine with worked numbers: weighted parts, half-up rounding, tie-breaks by part and by
time, collectives, and certificate eligibility."""

from __future__ import annotations

import random
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest

from judging.result_words import missing_parts_text
from judging.rubric import load_rubric, parse_rubric
from judging.scoring.ranking import rank_entries
from judging.scoring.rules import DecidedBy
from judging.scoring.skills import (
    Decision,
    MissingPart,
    SkillsInputError,
    judged_part_score,
    judging_rubric,
    rank_contestants,
    time_over_parts,
)

ROOT = Path(__file__).resolve().parents[2]
TWO_PARTS_TEXT = """
[contest]
slug = "skills-two-parts"
title = "技能竞赛（理论 + 实操）"
kind = "skills"
ceremony = "opening"

[[parts]]
key = "theory"
label = "理论知识"
max = 100
weight = 0.3

[[parts]]
key = "practical"
label = "实操技能"
max = 100
weight = 0.7

[ranking]
tie_break = ["practical", "time"]
decimals = 2

[collectives]
name = "优秀集体"
rule = "best_k_sum"
k = 3
min_contestants = 3
count = 5

[[awards]]
name = "一等奖"
share = 0.05

[[awards]]
name = "二等奖"
share = 0.10

[[awards]]
name = "三等奖"
share = 0.15

[[levels]]
key = "level2"
label = "二级/技师"
min_score = 85
max_rank = 10

[[levels]]
key = "level3"
label = "三级/高级工"
min_score = 70

[[levels]]
key = "level4"
label = "四级/中级工"
min_score = 60
"""
ISG = parse_rubric(TWO_PARTS_TEXT, "two_parts.toml")
BY_TIME = Decision(DecidedBy.TIE_BREAK, "time")
"""The engine's rules pinned on a theory 30 % + practical 70 % contest, both parts imported."""


def contestants(*rows: tuple[str, str, str | None]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"contestant": c, "name": f"选手{c}", "organization": org, "declared_level": level} for c, org, level in rows],
        columns=["contestant", "name", "organization", "declared_level"],
    )


def scores(*rows: tuple[str, str, str, int | None]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["contestant", "part", "score", "time_used"])


def two_parts(contestant: str, theory: str, practical: str, time: int | None = 1000) -> list[tuple]:
    return [(contestant, "theory", theory, time), (contestant, "practical", practical, time)]


def test_final_is_the_weighted_sum_rounded_half_up_once() -> None:
    result = rank_contestants(
        ISG,
        contestants(("A", "甲公司", None), ("B", "甲公司", None)),
        scores(*two_parts("A", "81.5", "90"), *two_parts("B", "80.15", "80")),
    )
    finals = dict(zip(result.table["contestant"], result.table["final_score"], strict=True))
    assert finals == {"A": Decimal("87.45"), "B": Decimal("80.05")}  # 24.045 + 56 = 80.045 → 80.05, not 80.04


def test_equal_finals_are_ordered_by_practical_score() -> None:
    result = rank_contestants(
        ISG,
        contestants(("A", "甲", None), ("B", "乙", None)),
        scores(*two_parts("A", "87", "82"), *two_parts("B", "80", "85")),  # both 83.50
    )
    assert list(result.table["contestant"]) == ["B", "A"]
    assert list(result.table["rank"]) == [1, 2]
    assert list(result.table["final_score"]) == [Decimal("83.50"), Decimal("83.50")]
    assert result.table["decided_by"].iloc[1] == Decision(DecidedBy.TIE_BREAK, "practical")


def test_equal_scores_are_ordered_by_less_time_used() -> None:
    result = rank_contestants(
        ISG,
        contestants(("A", "甲", None), ("B", "乙", None), ("C", "丙", None)),
        scores(*two_parts("A", "90", "90", 1800), *two_parts("B", "90", "90", 1500), *two_parts("C", "90", "90", None)),
    )
    assert list(result.table["contestant"]) == ["B", "A", "C"]
    assert list(result.table["time_used"]) == [3000, 3600, None]
    assert list(result.table["decided_by"]) == [None, BY_TIME, BY_TIME]
    assert [d.machine_word for d in result.table["decided_by"][1:]] == ["tie_break:time", "tie_break:time"]


def test_times_in_one_part_only_still_decide_ties() -> None:
    """A theory exam without a clock: only the practical part has times. Everyone's time used to become
    unknown, the 用时 column showed "—" and the time tie-break silently did nothing."""
    result = rank_contestants(
        ISG,
        contestants(("A", "甲", None), ("B", "乙", None), ("C", "丙", None), ("D", "丁", None)),
        scores(
            ("A", "theory", "90", None),
            ("A", "practical", "90", 2400),
            ("B", "theory", "90", None),
            ("B", "practical", "90", 1500),
            ("C", "theory", "90", None),
            ("C", "practical", "90", None),  # not timed: after every known time
            ("D", "theory", "80", None),
            ("D", "practical", "95", 1200),  # 90.50: ahead, time not needed
        ),
    )
    assert list(result.table["contestant"]) == ["D", "B", "A", "C"]
    assert list(result.table["rank"]) == [1, 2, 3, 4]
    assert list(result.table["time_used"]) == [1200, 1500, 2400, None]
    assert list(result.table["decided_by"])[2:] == [BY_TIME, BY_TIME]


def test_time_over_parts_sums_the_timed_parts_and_is_unknown_when_one_is_missing() -> None:
    assert time_over_parts({"theory": None, "practical": 1500}, {"practical"}) == 1500
    assert time_over_parts({"theory": 600, "practical": 1500}, {"theory", "practical"}) == 2100
    assert time_over_parts({"theory": 600, "practical": None}, {"theory", "practical"}) is None
    assert time_over_parts({"theory": None}, set()) is None


def test_a_full_tie_shares_the_rank_and_the_next_rank_is_skipped() -> None:
    result = rank_contestants(
        ISG,
        contestants(("A", "甲", None), ("B", "乙", None), ("C", "丙", None)),
        scores(*two_parts("A", "90", "90"), *two_parts("B", "90", "90"), *two_parts("C", "70", "70")),
    )
    assert list(result.table["rank"]) == [1, 1, 3]
    assert result.table["decided_by"].iloc[1] == Decision(DecidedBy.SHARED_RANK)


def test_a_missing_part_leaves_the_contestant_unranked_with_the_reason() -> None:
    result = rank_contestants(
        ISG,
        contestants(("A", "甲", None), ("B", "乙", None)),
        scores(*two_parts("A", "60", "60"), ("B", "theory", "99", 10)),
    )
    assert list(result.table["contestant"]) == ["A"]
    assert result.excluded.to_dict("records") == [
        {"contestant": "B", "name": "选手B", "organization": "乙", "reasons": (MissingPart("practical"),)}
    ]
    assert missing_parts_text(result.excluded["reasons"][0], {"practical": "实操"}) == "No score for the part 实操."


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("A", "theory", "101", 1)], "part scores row 1: score 101 for part 'theory' is outside 0 to 100"),
        ([("A", "theory", "九十", 1)], "part scores row 1: score '九十' is not a number"),
        ([("A", "essay", "50", 1)], "part scores row 1: unknown part 'essay' (expected one of theory, practical)"),
        ([("Z", "theory", "50", 1)], "part scores row 1: unknown contestant 'Z'"),
        (
            [("A", "theory", "50", 1), ("A", "theory", "60", 1)],
            "part scores row 2: a second 'theory' score for contestant 'A'",
        ),
    ],
)
def test_bad_part_scores_are_refused_with_row_and_value(rows: list[tuple], message: str) -> None:
    with pytest.raises(SkillsInputError) as refusal:
        rank_contestants(ISG, contestants(("A", "甲", None)), scores(*rows))
    assert str(refusal.value) == message


def test_a_part_out_of_200_is_scaled_to_100_before_weighting() -> None:
    text = TWO_PARTS_TEXT.replace('label = "实操技能"\nmax = 100', 'label = "实操技能"\nmax = 200')
    rubric = parse_rubric(text, "isg200.toml")
    result = rank_contestants(rubric, contestants(("A", "甲", None)), scores(*two_parts("A", "80", "150")))
    assert result.table["final_score"].iloc[0] == Decimal("76.50")  # 0.3 × 80 + 0.7 × 75


def test_collectives_sum_the_best_three_and_need_three_contestants() -> None:
    people = [
        ("X1", "X", None),
        ("X2", "X", None),
        ("X3", "X", None),
        ("X4", "X", None),
        ("Y1", "Y", None),
        ("Y2", "Y", None),
        ("Y3", "Y", None),
        ("Z1", "Z", None),
        ("Z2", "Z", None),
    ]
    marks = {"X1": "90", "X2": "80", "X3": "70", "X4": "60", "Y1": "85", "Y2": "85", "Y3": "85", "Z1": "99", "Z2": "99"}
    rows = [row for key, mark in marks.items() for row in two_parts(key, mark, mark)]
    result = rank_contestants(ISG, contestants(*people), scores(*rows))
    assert result.collectives.to_dict("records") == [
        {"rank": 1, "organization": "Y", "value": Decimal("255.00"), "contestants": 3, "honoured": "优秀集体"},
        {"rank": 2, "organization": "X", "value": Decimal("240.00"), "contestants": 3, "honoured": "优秀集体"},
    ]


def test_certificate_needs_both_the_declared_eligibility_and_the_condition() -> None:
    people = [
        ("high-but-declared-lower", "甲", "level3"),  # 88: enough for level2 by score, but declared level3
        ("declared-high-score-low", "甲", "level2"),  # 65: declared level2, the score only reaches level4
        ("no-declaration", "甲", None),  # 95: no declaration, no certificate
        ("declared-but-below", "甲", "level4"),  # 55: below every level
        ("top", "甲", "level2"),  # 95, rank 1 ≤ 10: level2
    ]
    marks = {
        "high-but-declared-lower": "88",
        "declared-high-score-low": "65",
        "no-declaration": "95",
        "declared-but-below": "55",
        "top": "96",
    }
    rows = [row for key, mark in marks.items() for row in two_parts(key, mark, mark)]
    result = rank_contestants(ISG, contestants(*people), scores(*rows))
    certificates = dict(zip(result.table["contestant"], result.table["certificate"], strict=True))
    assert certificates == {
        "top": "level2",
        "no-declaration": None,
        "high-but-declared-lower": "level3",
        "declared-high-score-low": "level4",
        "declared-but-below": None,
    }


def test_level_with_a_rank_condition_is_refused_beyond_that_rank() -> None:
    people = [(f"C{i:02d}", "甲", "level2") for i in range(12)]
    rows = [row for i in range(12) for row in two_parts(f"C{i:02d}", str(99 - i), str(99 - i))]
    result = rank_contestants(ISG, contestants(*people), scores(*rows))
    assert list(result.table["certificate"]) == ["level2"] * 10 + ["level3"] * 2  # ranks 11 and 12 fail max_rank 10


def test_realistic_roster_keeps_its_invariants() -> None:
    rng = random.Random(7)
    organisations = [f"单位{i:02d}" for i in range(30)]
    people, rows = [], []
    for number in range(400):
        key = f"ISG{number:04d}"
        people.append((key, rng.choice(organisations), rng.choice(["level2", "level3", "level4", None])))
        rows += two_parts(
            key, str(rng.randrange(300, 1000) / 10), str(rng.randrange(300, 1000) / 10), rng.randrange(1800, 7200)
        )
    result = rank_contestants(ISG, contestants(*people), scores(*rows))
    table = result.table
    assert len(table) == 400
    assert table["final_score"].is_monotonic_decreasing
    assert table["rank"].is_monotonic_increasing
    assert (table["award"] == "一等奖").sum() >= 20  # share 0.05 of 400 (more only through a shared rank)
    assert set(result.collectives["honoured"]) <= {"优秀集体", ""}
    assert (result.collectives["honoured"] == "优秀集体").sum() >= 5
    counts = table.groupby("organization").size()
    assert set(result.collectives["organization"]) == set(counts[counts >= 3].index)


# --- judged parts ----------------------------------------------------------------------------------

SHIPPED = load_rubric(ROOT / "rubrics" / "isg_skills.toml")
"""The shipped ISG rubric: theory 30 % and practical 40 % imported, operations 30 % judged."""


def three_parts(contestant: str, theory: str, practical: str, operations: object, time: int | None = 1000) -> list:
    return [
        (contestant, "theory", theory, time),
        (contestant, "practical", practical, time),
        (contestant, "operations", operations, None),
    ]


def test_judging_rubric_is_the_judged_parts_as_a_work_contest_with_one_category_per_part() -> None:
    panel = judging_rubric(SHIPPED)
    assert panel.contest.kind == "work" and SHIPPED.contest.kind == "skills"
    assert [(c.key, c.label) for c in panel.categories] == [("operations", "运维实操（裁判评分）")]
    assert panel.awards == () and panel.parts == () and panel.levels == ()
    assert [c.key for c in panel.criteria] == ["procedure", "operation", "report"]
    assert panel.max_total == Decimal(100)
    assert panel.sha256 == SHIPPED.sha256  # the sheets were scored against the skills rubric's text
    with pytest.raises(ValueError, match="no part has source"):
        judging_rubric(ISG)


def test_trimmed_mean_of_the_panel_becomes_the_part_score_and_the_final_is_rounded_once() -> None:
    # Four judges' sheet totals 83, 88.5, 67.5, 84.5: trim 1 at each end leaves (83 + 84.5) / 2 = 83.75.
    sheets = [
        ("ISG-001", "j1", {"procedure": "25.5", "operation": "41", "report": "16.5"}),
        ("ISG-001", "j2", {"procedure": "27", "operation": "44.5", "report": "17"}),
        ("ISG-001", "j3", {"procedure": "20", "operation": "35", "report": "12.5"}),
        ("ISG-001", "j4", {"procedure": "26", "operation": "42.5", "report": "16"}),
    ]
    table = pd.DataFrame(
        [
            {"entry": entry, "judge": judge, "criterion": key, "score": value, "category": "operations"}
            for entry, judge, marks in sheets
            for key, value in marks.items()
        ]
    )
    panel = rank_entries(table, judging_rubric(SHIPPED))
    assert panel.table["final_score"].tolist() == [Decimal("83.75")]
    part = SHIPPED.parts[2]
    score = judged_part_score(panel.table["final_score"].iloc[0], part, judging_rubric(SHIPPED).max_total)
    assert score == Fraction("83.75")
    result = rank_contestants(SHIPPED, contestants(("A", "甲", None)), scores(*three_parts("A", "80", "90", score)))
    # 0.3 × 80 + 0.4 × 90 + 0.3 × 83.75 = 24 + 36 + 25.125 = 85.125 → 85.13 (half up)
    assert result.table["final_score"].tolist() == [Decimal("85.13")]
    assert result.table["operations"].tolist() == [Decimal("83.75")]


def test_a_panel_score_on_another_scale_is_scaled_exactly_onto_the_part() -> None:
    part = SHIPPED.parts[2]  # out of 100
    assert judged_part_score(Decimal("47.5"), part, Decimal(60)) == Fraction(475, 6)  # 79.1666…, not 79.17
    assert judged_part_score(Decimal("83.75"), part, Decimal(100)) == Fraction("83.75")
    assert judged_part_score(Decimal("104.2"), part, Decimal(100)) == 100  # a z-score can leave the scale
    assert judged_part_score(Decimal("-1.5"), part, Decimal(100)) == 0
    result = rank_contestants(
        SHIPPED, contestants(("A", "甲", None)), scores(*three_parts("A", "80", "90", Fraction(475, 6)))
    )
    # 24 + 36 + 0.3 × 475/6 = 60 + 23.75 = 83.75 exactly: no rounding of the scaled part on the way
    assert result.table["final_score"].tolist() == [Decimal("83.75")]
    assert result.table["operations"].tolist() == [Decimal("79.17")]  # shown to the hundredth


def test_judged_parts_take_no_time_so_the_time_tie_break_still_works() -> None:
    result = rank_contestants(
        SHIPPED,
        contestants(("A", "甲", None), ("B", "乙", None)),
        scores(*three_parts("A", "90", "80", Fraction(70), 1800), *three_parts("B", "80", "80", Fraction(80), 1500)),
    )
    # Both 0.3 × 90 + 32 + 21 = 80 = 24 + 32 + 24; practical equal; B used less time.
    assert list(result.table["contestant"]) == ["B", "A"]
    assert list(result.table["time_used"]) == [3000, 3600]
    assert list(result.table["decided_by"]) == [None, BY_TIME]


def test_missing_reasons_name_why_a_part_has_no_score() -> None:
    result = rank_contestants(
        SHIPPED,
        contestants(("A", "甲", None), ("B", "乙", None)),
        scores(*three_parts("A", "60", "60", Fraction(60)), ("B", "theory", "99", 10)),
        missing_reasons={("B", "operations"): "运维实操：有效评分表 2 份"},
    )
    assert list(result.table["contestant"]) == ["A"]
    assert result.excluded["reasons"].tolist() == [
        (MissingPart("operations", "运维实操：有效评分表 2 份"), MissingPart("practical"))
    ]
    assert missing_parts_text(result.excluded["reasons"][0], {}) == (
        "运维实操：有效评分表 2 份; No score for the part practical."
    )
