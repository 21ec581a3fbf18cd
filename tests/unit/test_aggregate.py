"""The rules of the engine (DESIGN.md §3), each pinned with worked numbers."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from judging.rubric import load_rubric
from judging.scoring.aggregate import (
    TABLE_COLUMNS,
    SheetGroups,
    check_passes,
    competition_ranks,
    rank_entries,
    round_float_half_up,
    round_half_up,
    sheet_totals,
    trimmed_mean,
)
from judging.scoring.score_table import ScoreTableError
from tests.scenarios import CHECK, scores, table_rows, work_rubric

TWO_CRITERIA = (
    '[[criteria]]\nkey = "content"\nlabel = "内容"\nmax = 50\nweight = 1\nstep = 0.5\n'
    '[[criteria]]\nkey = "form"\nlabel = "形式"\nmax = 50\nweight = 1\nstep = 0.5\n'
)


# --- exact arithmetic, rounded half up once -------------------------------------------------------


def test_mean_of_84_125_is_shown_as_84_13():
    result = rank_entries(scores({"E1": {"J1": 84, "J2": 84.5, "J3": 84, "J4": 84}}), work_rubric())
    assert result.table["final_score"].tolist() == [Decimal("84.13")]
    assert str(result.table["final_score"][0]) == "84.13"
    assert round(84.125, 2) == 84.12  # what Python's round() would have shown
    explanation = result.explain("E1")
    assert explanation.computation == "mean of 4 sheet totals: (84 + 84.5 + 84 + 84) / 4 = 84.125 → 84.13"


def test_round_half_up_is_exact_on_fractions():
    num = np.array([16825, 33649, 8413, 250, 0])  # 84.125, 84.1225, 84.13, 83.33…, no value
    den = np.array([2, 4, 1, 3, 0])
    assert round_half_up(num, den, 100, 2).tolist() == [8413, 8412, 8413, 83, 0]
    assert round_half_up(np.array([16825]), np.array([2]), 100, 0).tolist() == [84]
    assert round_half_up(np.array([16900]), np.array([2]), 100, 0).tolist() == [85]  # 84.5 → 85


def test_round_float_half_up_ignores_float_noise():
    points = np.array([84.125, 84.12499999999999, 2.675, 84.1249, -1.125, np.nan])
    assert round_float_half_up(points, 2).tolist() == [8413, 8413, 268, 8412, -113, 0]


def test_sheet_total_is_weighted_sum():
    scores_in_hundredths = np.array([[3550, 2000], [4000, 1250]])  # 35.5 & 20, 40 & 12.5
    weight_units = np.array([15000, 2500])  # 1.5 and 0.25 with four decimals
    # 1.5 × 35.5 + 0.25 × 20 = 58.25; 1.5 × 40 + 0.25 × 12.5 = 63.125 (units of 10^-6)
    assert sheet_totals(scores_in_hundredths, weight_units).tolist() == [58_250_000, 63_125_000]


def test_weights_with_four_decimals_stay_exact():
    criteria = (
        '[[criteria]]\nkey = "content"\nlabel = "内容"\nmax = 50\nweight = 0.3333\nstep = 0.5\n'
        '[[criteria]]\nkey = "form"\nlabel = "形式"\nmax = 50\nweight = 0.6667\nstep = 0.5\n'
    )
    frame = scores({"E1": {"J1": (45.5, 30), "J2": (40, 31.5)}}, ("content", "form"))
    result = rank_entries(frame, work_rubric(criteria=criteria))
    # J1: 0.3333 × 45.5 + 0.6667 × 30 = 35.16615; J2: 13.332 + 21.00105 = 34.33305; mean 34.7496 → 34.75
    assert result.explain("E1").computation == "mean of 2 sheet totals: (35.16615 + 34.33305) / 2 = 34.7496 → 34.75"
    assert table_rows(result) == [(1, "E1", "34.75", "")]


def test_score_columns_as_text_decimal_and_float_give_the_same_result():
    text = scores({"E1": {"J1": 84, "J2": 84.5, "J3": 84, "J4": 84}})
    as_decimal = text.assign(score=[Decimal(value) for value in text["score"]])
    as_float = text.assign(score=text["score"].astype(float))
    results = [rank_entries(frame, work_rubric()) for frame in (text, as_decimal, as_float)]
    assert {str(result.table["final_score"][0]) for result in results} == {"84.13"}


# --- across judges -------------------------------------------------------------------------------


def test_trimmed_mean_drops_one_at_each_end():
    frame = scores({"E1": {"J1": 80, "J2": 95, "J3": 82, "J4": 70, "J5": 84}})
    result = rank_entries(frame, work_rubric(across_judges="trimmed_mean", trim=1, min_judges=3))
    assert table_rows(result) == [(1, "E1", "82.00", "")]
    explanation = result.explain("E1")
    assert [(sheet.judge, str(sheet.total), sheet.status) for sheet in explanation.sheets] == [
        ("J1", "80", "counted"),
        ("J2", "95", "dropped: trimmed (highest)"),
        ("J3", "82", "counted"),
        ("J4", "70", "dropped: trimmed (lowest)"),
        ("J5", "84", "counted"),
    ]
    assert explanation.computation == (
        "trimmed mean of 5 sheet totals, dropping the 1 lowest and 1 highest: (80 + 82 + 84) / 3 = 82 → 82.00"
    )


def test_trimmed_mean_without_more_than_two_trim_sheets_has_no_value():
    groups = SheetGroups.of(np.array([0, 0, 1, 1, 1]), 2)
    aggregate = trimmed_mean(np.array([10, 20, 10, 20, 60]), groups, 1, trim=1)
    assert aggregate.den.tolist() == [0, 1]  # entry 0 has 2 sheets: not more than 2 × 1
    assert aggregate.num.tolist() == [0, 20]


def test_median_of_even_number_of_sheets_is_mean_of_middle_two():
    frame = scores({"E1": {"J1": 70, "J2": 95, "J3": 80, "J4": 85.5}})
    result = rank_entries(frame, work_rubric(across_judges="median"))
    assert table_rows(result) == [(1, "E1", "82.75", "")]
    statuses = [sheet.status for sheet in result.explain("E1").sheets]
    assert statuses == ["not counted: outside the median", "not counted: outside the median", "counted", "counted"]


def test_zscore_with_a_judge_of_zero_spread():
    frame = scores(
        {
            "A": {"J1": 60, "J2": 75, "J3": 50},
            "B": {"J1": 70, "J2": 75, "J3": 70},
            "C": {"J1": 80, "J2": 75, "J3": 90},
        }
    )
    result = rank_entries(frame, work_rubric(across_judges="zscore"))
    # J1 and J3 give z = -1.2247, 0, 1.2247; J2 (75 for all) gives 0. Mean z: -0.8165, 0, 0.8165.
    # Overall mean of the nine totals 71.6667, population s.d. 10.8012:
    # A = 71.6667 - 10.8012 × 0.8165 = 62.8475 → 62.85; C = 80.4858 → 80.49.
    assert table_rows(result) == [(1, "C", "80.49", ""), (2, "B", "71.67", ""), (3, "A", "62.85", "")]
    sheets = {sheet.judge: sheet.z for sheet in result.explain("A").sheets}
    assert sheets["J2"] == 0.0
    assert sheets["J1"] == pytest.approx(-1.224744871)
    assert result.explain("A").computation == (
        "z-scores of 3 sheet totals, overall mean + overall s.d. × mean z: 71.666667 + 10.801234 × "
        "-0.816497 = 62.847496 → 62.85"
    )


def test_criterion_level_differs_from_sheet_level():
    frame = scores(
        {"E1": {"J1": (10, 0), "J2": (2, 9), "J3": (4, 4)}},
        ("content", "form"),
    )
    by_sheet = rank_entries(
        frame, work_rubric(criteria=TWO_CRITERIA, across_judges="trimmed_mean", trim=1, min_judges=3)
    )
    by_criterion = rank_entries(
        frame, work_rubric(criteria=TWO_CRITERIA, across_judges="trimmed_mean", trim=1, min_judges=3, level="criterion")
    )
    # Sheet totals 10, 11, 8: the middle one is 10. Criteria: content 2, 4, 10 → 4; form 0, 4, 9 → 4; 4 + 4 = 8.
    assert table_rows(by_sheet) == [(1, "E1", "10.00", "")]
    assert table_rows(by_criterion) == [(1, "E1", "8.00", "")]
    assert by_sheet.table[["content", "form"]].astype(str).values.tolist() == [["4.00", "4.00"]]
    explanation = by_criterion.explain("E1")
    assert explanation.computation == "weighted sum of criterion trimmed means: 1 × 4 + 1 × 4 = 8 → 8.00"
    assert dict(explanation.sheets[0].criterion_status) == {
        "content": "dropped: trimmed (highest)",
        "form": "dropped: trimmed (lowest)",
    }


def test_criterion_level_mean_with_weights():
    criteria = (
        '[[criteria]]\nkey = "content"\nlabel = "内容"\nmax = 50\nweight = 1.5\nstep = 0.5\n'
        '[[criteria]]\nkey = "form"\nlabel = "形式"\nmax = 50\nweight = 0.5\nstep = 0.5\n'
    )
    frame = scores({"E1": {"J1": (40, 30), "J2": (41.5, 33), "J3": (45, 20)}}, ("content", "form"))
    result = rank_entries(frame, work_rubric(criteria=criteria, level="criterion"))
    # content mean 42.1666…, form mean 27.6666…: 1.5 × 42.1666… + 0.5 × 27.6666… = 77.0833… → 77.08
    assert table_rows(result) == [(1, "E1", "77.08", "")]
    assert result.table[["content", "form"]].astype(str).values.tolist() == [["42.17", "27.67"]]


# --- who is ranked -------------------------------------------------------------------------------


def test_min_judges_not_met_is_not_ranked_with_reason():
    frame = scores({"E1": {"J1": 80, "J2": 82, "J3": 84}, "E2": {"J1": 90, "J2": 91}})
    result = rank_entries(frame, work_rubric(min_judges=3))
    assert table_rows(result) == [(1, "E1", "82.00", "")]
    assert result.excluded.to_dict(orient="records") == [
        {
            "entry": "E2",
            "category": "",
            "status": "not ranked",
            "n_sheets": 2,
            "reason": "2 valid sheets, fewer than min_judges (3)",
        }
    ]
    explanation = result.explain("E2")
    assert (explanation.status, explanation.rank, explanation.final_score) == ("not ranked", None, None)


def test_incomplete_sheet_is_dropped_and_named():
    frame = scores({"E1": {"J1": (30, 20), "J2": (31, 21), "J3": (32, 22)}}, ("content", "form"))
    frame = frame.drop(index=3).reset_index(drop=True)  # J2 gave no form score
    result = rank_entries(frame, work_rubric(criteria=TWO_CRITERIA, min_judges=3))
    assert result.excluded["reason"].tolist() == [
        "2 valid sheets (1 incomplete sheet dropped), fewer than min_judges (3)"
    ]
    sheet = result.explain("E1").sheets[1]
    assert (sheet.judge, sheet.status, sheet.missing, sheet.total) == (
        "J2",
        "dropped: incomplete sheet",
        ("form",),
        None,
    )


@pytest.mark.parametrize(
    ("rule", "answers", "excluded"),
    [
        ("majority", [True, False, False], True),
        ("majority", [True, True, False], False),
        ("majority", [True, True, False, False], True),  # half is not more than half
        ("all", [True, True, False], True),
        ("all", [True, True, True], False),
        ("any", [False, False, True], False),
        ("any", [False, False, False], True),
    ],
)
def test_check_rules(rule, answers, excluded):
    passes = np.array([sum(answers)])
    verdict = check_passes(passes, np.array([len(answers)]), rule)
    assert verdict.tolist() == [not excluded]


def test_failed_check_excludes_entry_with_reason():
    frame = scores({"E1": {"J1": 90, "J2": 91, "J3": 92}, "E2": {"J1": 80, "J2": 81, "J3": 82}})
    checks = pd.DataFrame(
        {
            "entry": ["E1", "E1", "E1", "E2", "E2", "E2"],
            "judge": ["J1", "J2", "J3", "J1", "J2", "J3"],
            "check": ["ip"] * 6,
            "passed": [True, False, False, True, True, False],
        }
    )
    result = rank_entries(frame, work_rubric(extra=CHECK.format(rule="majority")), checks)
    assert table_rows(result) == [(1, "E2", "81.00", "")]
    assert result.excluded.to_dict(orient="records") == [
        {
            "entry": "E1",
            "category": "",
            "status": "excluded",
            "n_sheets": 3,
            "reason": "failed check '包含“玉兰”“沪宝”' (majority: 1 of 3 judges answered pass)",
        }
    ]
    assert result.explain("E1").status == "excluded"


def test_entry_without_check_answers_is_not_excluded():
    frame = scores({"E1": {"J1": 90}, "E2": {"J1": 80}})
    checks = pd.DataFrame({"entry": ["E2"], "judge": ["J1"], "check": ["ip"], "passed": ["否"]})
    result = rank_entries(frame, work_rubric(extra=CHECK.format(rule="all")), checks)
    assert table_rows(result) == [(1, "E1", "90.00", "")]
    assert result.excluded["entry"].tolist() == ["E2"]


# --- ranking -------------------------------------------------------------------------------------


def test_competition_ranks_1_2_2_4():
    category = np.array([0, 0, 0, 0, 1, 1])
    keys = np.array([[90], [85], [85], [80], [85], [85]])
    assert competition_ranks(category, keys).tolist() == [1, 2, 2, 4, 1, 1]


def test_tie_broken_by_first_tie_break_criterion():
    frame = scores(
        {
            "E1": {"J1": (40, 45), "J2": (40, 45)},  # 85, content 40
            "E2": {"J1": (45, 40), "J2": (45, 40)},  # 85, content 45
            "E3": {"J1": (40, 40), "J2": (40, 40)},  # 80
        },
        ("content", "form"),
    )
    result = rank_entries(frame, work_rubric(criteria=TWO_CRITERIA, tie_break=("content", "form")))
    assert table_rows(result) == [(1, "E2", "85.00", ""), (2, "E1", "85.00", ""), (3, "E3", "80.00", "")]
    first, second = result.explain("E2"), result.explain("E1")
    assert (first.above, first.below.entry, first.below.decided_by, first.below.criterion) == (
        None,
        "E1",
        "tie_break",
        "content",
    )
    assert (second.above.entry, second.above.decided_by, second.above.criterion) == ("E2", "tie_break", "content")
    assert (second.below.entry, second.below.decided_by) == ("E3", "final_score")


def test_second_tie_break_decides_when_first_is_equal():
    criteria = TWO_CRITERIA + '[[criteria]]\nkey = "reach"\nlabel = "传播"\nmax = 50\nweight = 1\nstep = 0.5\n'
    frame = scores(
        {"E1": {"J1": (40, 20, 24)}, "E2": {"J1": (40, 22, 22)}},
        ("content", "form", "reach"),
    )
    result = rank_entries(frame, work_rubric(criteria=criteria, tie_break=("content", "form")))
    # Both total 84 and have content 40: form 22 against 20 decides for E2.
    assert table_rows(result) == [(1, "E2", "84.00", ""), (2, "E1", "84.00", "")]
    above = result.explain("E1").above
    assert (above.entry, above.decided_by, above.criterion) == ("E2", "tie_break", "form")


def test_full_tie_shares_rank_3_and_next_is_rank_5():
    frame = scores(
        {
            "A": {"J1": (45, 45)},
            "B": {"J1": (44, 44)},
            "D": {"J1": (40, 40)},
            "C": {"J1": (40, 40)},
            "E": {"J1": (35, 35)},
        },
        ("content", "form"),
    )
    result = rank_entries(frame, work_rubric(criteria=TWO_CRITERIA, tie_break=("content", "form")))
    assert table_rows(result) == [
        (1, "A", "90.00", ""),
        (2, "B", "88.00", ""),
        (3, "C", "80.00", ""),
        (3, "D", "80.00", ""),
        (5, "E", "70.00", ""),
    ]
    c, d = result.explain("C"), result.explain("D")
    assert (c.below.entry, c.below.decided_by) == ("D", "shared_rank")
    assert (d.above.entry, d.above.decided_by) == ("C", "shared_rank")


def test_rank_compares_rounded_scores():
    criteria = '[[criteria]]\nkey = "score"\nlabel = "得分"\nmax = 100\nweight = 1\nstep = 0.01\n'
    frame = scores({"E1": {"J1": 84.12, "J2": 84.13, "J3": 84.12, "J4": 84.12}, "E2": {"J1": 84.12}})
    result = rank_entries(frame, work_rubric(criteria=criteria))
    # E1 = 336.49 / 4 = 84.1225 and E2 = 84.12 both show as 84.12: they share rank 1.
    assert table_rows(result) == [(1, "E1", "84.12", ""), (1, "E2", "84.12", "")]
    assert result.explain("E2").above.decided_by == "shared_rank"


def test_categories_ranked_separately_with_their_awards():
    rubric = load_rubric("rubrics/exemplary_cases.toml")  # level criterion, mean, min_judges 3
    sheets = {
        "C1": {"J1": (20, 25, 20, 15), "J2": (21, 25, 20, 15), "J3": (22, 26, 21, 15)},  # totals 80, 81, 84
        "C2": {"J1": (10, 15, 10, 10), "J2": (11, 15, 10, 10), "J3": (12, 16, 11, 11)},
        "K1": {"J1": (15, 20, 15, 12), "J2": (15, 20, 15, 12), "J3": (15, 20, 15, 12)},
        "P1": {"J1": (5, 5, 5, 5), "J2": (5, 5, 5, 5), "J3": (5, 5, 5, 5)},
    }
    category = {"C1": "case", "C2": "case", "K1": "collective", "P1": "优秀个人"}  # a label works too
    frame = scores(sheets, ("innovation", "effectiveness", "exemplary", "reach"), category=category)
    result = rank_entries(frame, rubric)
    assert result.table[list(TABLE_COLUMNS)].astype(str).values.tolist() == [
        ["1", "C1", "case", "81.67", "优秀案例", "3"],
        ["2", "C2", "case", "47.00", "优秀案例", "3"],
        ["1", "K1", "collective", "62.00", "优秀集体", "3"],
        ["1", "P1", "individual", "20.00", "优秀个人", "3"],
    ]
    assert list(result.table.columns) == [*TABLE_COLUMNS, "innovation", "effectiveness", "exemplary", "reach"]


# --- the result ----------------------------------------------------------------------------------


def test_result_serialises_scores_as_strings_with_decimals():
    frame = scores({"E1": {"J1": 84, "J2": 84.5, "J3": 84, "J4": 84}, "E2": {"J1": 70}})
    result = rank_entries(frame, work_rubric(min_judges=2, decimals=1))
    data = json.loads(json.dumps(result.to_json_dict()))
    assert data["rows"] == [
        {
            "rank": 1,
            "entry": "E1",
            "category": "",
            "final_score": "84.1",
            "award": "",
            "n_sheets": 4,
            "score": "84.1",
            "note": "",
        },
        {
            "rank": None,
            "entry": "E2",
            "category": "",
            "final_score": None,
            "award": "",
            "n_sheets": 1,
            "score": None,
            "note": "1 valid sheet, fewer than min_judges (2)",
        },
    ]
    assert data["contest"] == "test"
    assert data["aggregation"]["decimals"] == 1
    assert [item["entry"] for item in data["explanations"]] == ["E1", "E2"]
    assert data["explanations"][0]["sheets"][1] == {
        "judge": "J2",
        "scores": {"score": "84.5"},
        "total": "84.5",
        "status": "counted",
    }


def test_empty_score_frame_gives_empty_result():
    frame = pd.DataFrame({"entry": [], "judge": [], "criterion": [], "score": []})
    result = rank_entries(frame, work_rubric())
    assert list(result.table.columns) == [*TABLE_COLUMNS, "score"]
    assert result.table.empty and result.excluded.empty
    assert result.to_json_dict()["rows"] == []


def test_bad_frame_raises_score_table_error():
    frame = scores({"E1": {"J1": 84.25}})
    with pytest.raises(ScoreTableError) as raised:
        rank_entries(frame, work_rubric())
    assert raised.value.errors == [
        "scores: row 2: score '84.25' for criterion 'score' is not a multiple of its step 0.5"
    ]


# --- against a plain reference -------------------------------------------------------------------


def reference_final(sheet_totals: list[Fraction], across_judges: str, trim: int) -> Fraction:
    """The §3 rules written the slow, obvious way with Fractions."""
    ordered = sorted(sheet_totals)
    if across_judges == "trimmed_mean":
        kept = ordered[trim : len(ordered) - trim]
        return sum(kept, Fraction(0)) / len(kept)
    if across_judges == "median":
        middle = len(ordered) // 2
        return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return sum(ordered, Fraction(0)) / len(ordered)


def half_up(value: Fraction, decimals: int) -> str:
    """Round half up the schoolbook way: add half a unit of the last place, cut off the rest."""
    scaled = value * 10**decimals + Fraction(1, 2)
    return str(Decimal(scaled.numerator // scaled.denominator).scaleb(-decimals))


@pytest.mark.parametrize("across_judges", ["mean", "trimmed_mean", "median"])
@pytest.mark.parametrize("seed", range(5))
def test_engine_matches_a_fraction_reference(across_judges, seed):
    rng = np.random.default_rng(seed)
    weights = ("1.25", "0.3333", "2")
    criteria = "".join(
        f'[[criteria]]\nkey = "c{i}"\nlabel = "c{i}"\nmax = 20\nweight = {weight}\nstep = 0.25\n'
        for i, weight in enumerate(weights)
    )
    trim = 1 if across_judges == "trimmed_mean" else 0
    rubric = work_rubric(
        criteria=criteria, across_judges=across_judges, trim=trim, min_judges=3, decimals=int(seed % 3)
    )
    sheets: dict[str, dict[str, tuple]] = {}
    for e in range(40):
        judges = rng.choice(12, size=int(rng.integers(3, 9)), replace=False)
        sheets[f"E{e:02d}"] = {f"J{j}": tuple(int(v) / 4 for v in rng.integers(0, 81, 3)) for j in judges}
    result = rank_entries(scores(sheets, ("c0", "c1", "c2")), rubric)
    got = dict(zip(result.table["entry"], result.table["final_score"].astype(str), strict=True))
    for entry, by_judge in sheets.items():
        totals = [
            sum(
                (Fraction(w) * Fraction(v) for w, v in zip(weights, values, strict=True)),
                Fraction(0),
            )
            for values in by_judge.values()
        ]
        assert got[entry] == half_up(reference_final(totals, across_judges, trim), rubric.aggregation.decimals), entry


# --- more paths ----------------------------------------------------------------------------------


def test_zscore_at_criterion_level_with_one_criterion_matches_sheet_level():
    frame = scores(
        {
            "A": {"J1": 60, "J2": 75, "J3": 50},
            "B": {"J1": 70, "J2": 75, "J3": 70},
            "C": {"J1": 80, "J2": 75, "J3": 90},
        }
    )
    result = rank_entries(frame, work_rubric(across_judges="zscore", level="criterion"))
    assert table_rows(result) == [(1, "C", "80.49", ""), (2, "B", "71.67", ""), (3, "A", "62.85", "")]
    sheet = result.explain("A").sheets[1]
    assert (sheet.judge, dict(sheet.criterion_z)) == ("J2", {"score": 0.0})
    assert result.explain("A").computation == (
        "weighted sum of criterion z-score points: 1 × (71.666667 + 10.801234 × -0.816497) → 62.85"
    )


def test_decimals_zero_rounds_half_up_to_whole_points():
    frame = scores({"E1": {"J1": 84, "J2": 85}, "E2": {"J1": 84, "J2": 84.5}})
    result = rank_entries(frame, work_rubric(decimals=0))
    # 84.5 → 85 (half up); 84.25 → 84
    assert table_rows(result) == [(1, "E1", "85", ""), (2, "E2", "84", "")]


def test_huge_scores_fall_back_to_python_integers():
    criteria = '[[criteria]]\nkey = "score"\nlabel = "得分"\nmax = 1000000000000\nweight = 12345.6789\n'
    frame = scores({"E1": {"J1": 999999999999, "J2": 999999999998, "J3": 1}})
    result = rank_entries(frame, work_rubric(criteria=criteria, decimals=4))
    expected = (Decimal("12345.6789") * (999999999999 + 999999999998 + 1) / 3).quantize(Decimal("0.0001"))
    assert str(result.table["final_score"][0]) == str(expected) == "8230452599991769.5474"


def test_sheet_table_lists_every_sheet_with_its_status():
    frame = scores({"E1": {"J1": (30, 20), "J2": (31, 21), "J3": (32, 22), "J4": (10, 10)}}, ("content", "form"))
    frame = frame.drop(index=7).reset_index(drop=True)  # J4 gave no form score
    result = rank_entries(
        frame, work_rubric(criteria=TWO_CRITERIA, across_judges="trimmed_mean", trim=1, min_judges=3, level="criterion")
    )
    sheets = result.sheet_table()
    assert list(sheets.columns) == ["entry", "category", "judge", "content", "form", "total", "status", "note"]
    assert [[str(value) for value in row] for row in sheets.itertuples(index=False)] == [
        [
            "E1",
            "",
            "J1",
            "30.00",
            "20.00",
            "50.00",
            "counted",
            "content dropped: trimmed (lowest); form dropped: trimmed (lowest)",
        ],
        ["E1", "", "J2", "31.00", "21.00", "52.00", "counted", ""],
        [
            "E1",
            "",
            "J3",
            "32.00",
            "22.00",
            "54.00",
            "counted",
            "content dropped: trimmed (highest); form dropped: trimmed (highest)",
        ],
        ["E1", "", "J4", "10.00", "None", "None", "dropped: incomplete sheet", "missing form"],
    ]


def test_criterion_key_that_clashes_with_a_result_column_is_refused():
    criteria = '[[criteria]]\nkey = "rank"\nlabel = "名次分"\nmax = 10\nweight = 1\n'
    with pytest.raises(ValueError, match=r"^test: criterion key 'rank' clashes with a result column$"):
        rank_entries(scores({"E1": {"J1": 5}}, ("rank",)), work_rubric(criteria=criteria))
