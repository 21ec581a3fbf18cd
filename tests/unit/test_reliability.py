"""Inter-rater reliability: ICC (Shrout & Fleiss 1979), Kendall's W, judge severity, validation."""

import json
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from judging.scoring.reliability import reliability_report

# Shrout & Fleiss (1979), Table 1: 6 targets (rows) rated by 4 judges (columns).
SHROUT_FLEISS = {
    "T1": [9, 2, 5, 8],
    "T2": [6, 1, 3, 2],
    "T3": [8, 4, 6, 8],
    "T4": [7, 1, 2, 6],
    "T5": [10, 5, 6, 9],
    "T6": [6, 2, 4, 7],
}


def long_table(wide: dict[str, list], judges: list[str] | None = None) -> pd.DataFrame:
    """Entries as keys, one total per judge in order; None marks a sheet that was never submitted."""
    width = len(next(iter(wide.values())))
    judges = judges or [f"J{number}" for number in range(1, width + 1)]
    rows = [
        (entry, judge, total)
        for entry, totals in wide.items()
        for judge, total in zip(judges, totals, strict=True)
        if total is not None
    ]
    return pd.DataFrame(rows, columns=["entry", "judge", "total"])


def test_icc_reproduces_shrout_fleiss_table_2():
    report = reliability_report(long_table(SHROUT_FLEISS))

    assert {form: round(value, 2) for form, value in report["icc"].items()} == {
        "ICC1": 0.17,  # ICC(1,1)
        "ICC2": 0.29,  # ICC(2,1)
        "ICC3": 0.71,  # ICC(3,1)
        "ICC1k": 0.44,  # ICC(1,4)
        "ICC2k": 0.62,  # ICC(2,4)
        "ICC3k": 0.91,  # ICC(3,4)
    }


def test_icc_mean_squares_match_shrout_fleiss_table_1():
    report = reliability_report(long_table(SHROUT_FLEISS))

    assert {name: round(value, 2) for name, value in report["mean_squares"].items()} == {
        "BMS": 11.24,
        "WMS": 6.26,
        "JMS": 32.49,
        "EMS": 1.02,
    }


def test_report_has_the_keys_the_cli_promises_and_is_json_serialisable():
    report = reliability_report(long_table(SHROUT_FLEISS))

    assert report["n_entries"] == 6
    assert report["n_judges"] == 4
    assert report["complete"] is True
    assert report["n_complete_entries"] == 6
    assert report["n_complete_judges"] == 4
    assert report["excluded_entries"] == []
    assert report["excluded_judges"] == []
    assert report["notes"] == {}
    assert list(report["icc"]) == ["ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"]
    assert [judge["judge"] for judge in report["judges"]] == ["J1", "J2", "J3", "J4"]
    assert set(report["judges"][0]) == {"judge", "n", "mean", "sd", "severity"}
    assert json.loads(json.dumps(report)) == report


def test_report_rounds_to_four_decimals_by_default_and_keeps_full_precision_on_request():
    assert reliability_report(long_table(SHROUT_FLEISS))["icc"]["ICC1"] == 0.1657
    assert reliability_report(long_table(SHROUT_FLEISS), decimals=None)["icc"]["ICC1"] == pytest.approx(
        (11.241666 - 6.263888) / (11.241666 + 3 * 6.263888), abs=1e-6
    )


def test_report_accepts_decimal_int_float_and_numeric_string_totals():
    as_ints = long_table(SHROUT_FLEISS)
    mixed = as_ints.copy()
    mixed["total"] = [
        [Decimal(total), str(total), float(total), f" {total}.00 ", np.int64(total)][row % 5]
        for row, total in enumerate(as_ints["total"])
    ]

    assert reliability_report(mixed) == reliability_report(as_ints)


def test_report_labels_from_numpy_are_plain_python():
    table = long_table(SHROUT_FLEISS)
    table["entry"] = table["entry"].str[1:].astype(int)
    table["judge"] = table["judge"].str[1:].astype(int)
    incomplete = table.iloc[:-1]

    report = reliability_report(incomplete)

    assert report["excluded_entries"] == [6]
    assert [judge["judge"] for judge in report["judges"]] == [1, 2, 3, 4]
    assert json.loads(json.dumps(report)) == report


def test_kendall_w_without_ties():
    # Ranks (1 = lowest) per judge over entries E1..E4:
    #   J1 10, 8, 6, 4 -> 4, 3, 2, 1
    #   J2  9, 7, 8, 5 -> 4, 2, 3, 1
    #   J3  7, 9, 6, 5 -> 3, 4, 2, 1
    # Rank sums R = 11, 9, 7, 3; R̄ = m(n+1)/2 = 3·5/2 = 7.5; S = 3.5² + 1.5² + 0.5² + 4.5² = 35.
    # W = 12 S / (m²(n³ − n)) = 12·35 / (9·60) = 420/540 = 7/9 = 0.7778.
    table = long_table({"E1": [10, 9, 7], "E2": [8, 7, 9], "E3": [6, 8, 6], "E4": [4, 5, 5]})

    assert reliability_report(table)["kendall_w"] == 0.7778


def test_kendall_w_with_ties_applies_the_correction():
    # J1 10, 8, 8, 4 -> 4, 2.5, 2.5, 1   T1 = 2³ − 2 = 6
    # J2  9, 7, 8, 5 -> 4, 2,   3,   1   T2 = 0
    # J3  7, 7, 7, 5 -> 3, 3,   3,   1   T3 = 3³ − 3 = 24
    # R = 11, 7.5, 8.5, 3; R̄ = 7.5; S = 3.5² + 0² + 1² + 4.5² = 33.5.
    # W = 12 S / (m²(n³ − n) − m ΣT) = 402 / (540 − 3·30) = 402/450 = 0.8933
    # (uncorrected it would be 402/540 = 0.7444).
    table = long_table({"E1": [10, 9, 7], "E2": [8, 7, 7], "E3": [8, 8, 7], "E4": [4, 5, 5]})

    assert reliability_report(table)["kendall_w"] == 0.8933


def test_kendall_w_is_one_when_judges_rank_alike():
    # Different scales, same order: the ranks agree perfectly.
    table = long_table({"E1": [90, 9, 60], "E2": [70, 5, 55], "E3": [80, 8, 58], "E4": [60, 2, 40]})

    assert reliability_report(table)["kendall_w"] == 1.0


def test_kendall_w_is_null_with_a_note_when_every_judge_gives_one_total():
    table = long_table({"E1": [5, 7], "E2": [5, 7], "E3": [5, 7]})

    report = reliability_report(table)

    assert report["kendall_w"] is None
    assert report["notes"]["kendall_w"] == (
        "Kendall's W is undefined: every judge gave all entries of the complete block the same total"
    )
    # BMS = EMS = 0, WMS = JMS = 2: the forms divided by BMS (+ (k − 1) EMS) are undefined; ICC1 = −WMS/WMS = −1
    # and ICC2 = 0 / (k JMS / n) = 0 are not.
    assert report["icc"] == {"ICC1": -1.0, "ICC2": 0.0, "ICC3": None, "ICC1k": None, "ICC2k": 0.0, "ICC3k": None}
    assert report["notes"]["icc"] == "ICC3, ICC1k, ICC3k undefined: no spread between the entries of the complete block"


def test_icc_and_w_are_null_when_the_complete_block_has_one_entry():
    table = long_table({"E1": [8, 6, 7]})

    report = reliability_report(table)

    assert report["icc"] == dict.fromkeys(["ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"])
    assert report["mean_squares"] is None
    assert report["kendall_w"] is None
    reason = (
        "the complete block is only 1 × 3 (entries × judges); at least 2 entries scored by the same 2 judges are needed"
    )
    assert report["notes"] == {"icc": f"ICC is undefined: {reason}", "kendall_w": f"Kendall's W is undefined: {reason}"}


def test_icc_and_w_are_null_when_no_two_judges_share_two_entries():
    table = long_table({"E1": [8, None], "E2": [None, 6], "E3": [7, None]})

    report = reliability_report(table)

    assert report["complete"] is False
    assert report["icc"]["ICC2"] is None
    assert report["kendall_w"] is None
    assert report["notes"]["icc"].startswith("ICC is undefined: the complete block is only 2 × 1 (entries × judges)")


def test_severity_is_mean_offset_from_the_panel_mean_of_the_same_entries():
    # Panel means: E1 (8 + 6)/2 = 7, E2 (4 + 2)/2 = 3, E3 6 (A alone).
    # A: offsets +1, +1, 0 -> severity 2/3 = 0.6667; mean 18/3 = 6; population sd √((4 + 4 + 0)/3) = 1.633.
    # B: offsets −1, −1     -> severity −1 (harsher); mean 4; population sd √((4 + 4)/2) = 2.
    table = long_table({"E1": [8, 6], "E2": [4, 2], "E3": [6, None]}, judges=["A", "B"])

    report = reliability_report(table)

    assert report["judges"] == [
        {"judge": "A", "n": 3, "mean": 6.0, "sd": 1.633, "severity": 0.6667},
        {"judge": "B", "n": 2, "mean": 4.0, "sd": 2.0, "severity": -1.0},
    ]


def test_severity_is_zero_for_a_judge_in_line_with_the_panel():
    table = long_table({"E1": [7, 7], "E2": [3, 3]}, judges=["A", "B"])

    assert [judge["severity"] for judge in reliability_report(table)["judges"]] == [0.0, 0.0]


def test_incomplete_panel_drops_the_entry_a_judge_missed_from_icc_and_w_only():
    missing_one = dict(SHROUT_FLEISS, T6=[6, 2, 4, None])
    first_five = {entry: totals for entry, totals in SHROUT_FLEISS.items() if entry != "T6"}

    report = reliability_report(long_table(missing_one))
    on_complete_part = reliability_report(long_table(first_five))

    assert report["complete"] is False
    assert (report["n_entries"], report["n_judges"]) == (6, 4)
    assert (report["n_complete_entries"], report["n_complete_judges"]) == (5, 4)
    assert report["excluded_entries"] == ["T6"]
    assert report["excluded_judges"] == []
    assert report["icc"] == on_complete_part["icc"]
    assert report["kendall_w"] == on_complete_part["kendall_w"]
    assert report["notes"]["block"] == (
        "ICC and Kendall's W use the complete block of 5 × 4 (entries × judges); "
        "entries left out: 1, judges left out: 0"
    )
    # Judge statistics still count T6: J1 scored 6 sheets, J4 five.
    assert [(judge["judge"], judge["n"]) for judge in report["judges"]] == [("J1", 6), ("J2", 6), ("J3", 6), ("J4", 5)]
    assert report["judges"][0]["mean"] == round(46 / 6, 4)


def test_incomplete_panel_drops_a_judge_who_scored_only_one_entry():
    # Keeping J5 would shrink the block to 1 entry × 5 judges (5 totals); dropping J5 keeps 6 × 4 = 24.
    with_extra_judge = pd.concat(
        [long_table(SHROUT_FLEISS), pd.DataFrame([{"entry": "T1", "judge": "J5", "total": 3}])], ignore_index=True
    )

    report = reliability_report(with_extra_judge)

    assert report["complete"] is False
    assert (report["n_entries"], report["n_judges"]) == (6, 5)
    assert report["excluded_entries"] == []
    assert report["excluded_judges"] == ["J5"]
    assert report["icc"] == reliability_report(long_table(SHROUT_FLEISS))["icc"]
    # T1's panel mean counts J5 too: (9 + 2 + 5 + 8 + 3)/5 = 5.4, so J5's offset is 3 − 5.4 = −2.4.
    assert report["judges"][-1] == {"judge": "J5", "n": 1, "mean": 3.0, "sd": 0.0, "severity": -2.4}


def test_identical_float_totals_are_no_spread_not_noise():
    # 0.1 + 0.1 + 0.1 is not 0.3 in binary floats; the entries still have no spread between them.
    table = long_table({"E1": [0.1, 0.1, 0.1], "E2": [0.1, 0.1, 0.1]})

    report = reliability_report(table)

    assert report["mean_squares"] == {"BMS": 0.0, "WMS": 0.0, "JMS": 0.0, "EMS": 0.0}
    assert set(report["icc"].values()) == {None}


def test_validation_rejects_missing_columns():
    with pytest.raises(ValueError) as error:
        reliability_report(pd.DataFrame({"entry": ["E1"], "score": [5]}))

    assert str(error.value) == "totals is missing column(s): judge, total (expected columns: entry, judge, total)"


def test_validation_rejects_a_duplicate_entry_judge_pair():
    table = pd.DataFrame({"entry": ["E1", "E2", "E2"], "judge": ["A", "B", "B"], "total": [5, 6, 7]})

    with pytest.raises(ValueError) as error:
        reliability_report(table)

    assert str(error.value) == "duplicate total for entry 'E2' and judge 'B'"


@pytest.mark.parametrize(
    ("bad", "shown"),
    [
        ("abc", "'abc'"),
        ("", "''"),
        ("nan", "'nan'"),
        ("1_000", "'1_000'"),
        (None, "None"),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (True, "True"),
        (Decimal("NaN"), "Decimal('NaN')"),
    ],
)
def test_validation_rejects_a_non_numeric_total(bad, shown):
    table = pd.DataFrame({"entry": ["E1", "E2"], "judge": ["A", "A"], "total": [5, bad]}, dtype=object)

    with pytest.raises(ValueError) as error:
        reliability_report(table)

    assert str(error.value) == f"non-numeric total {shown} for entry 'E2', judge 'A'"


def test_validation_rejects_a_missing_judge_label():
    table = pd.DataFrame({"entry": ["E1", "E2"], "judge": ["A", None], "total": [5, 6]})

    with pytest.raises(ValueError) as error:
        reliability_report(table)

    assert str(error.value) == "missing judge label in row 1"


def test_empty_table_reports_nothing_to_measure():
    report = reliability_report(pd.DataFrame({"entry": [], "judge": [], "total": []}))

    assert (report["n_entries"], report["n_judges"], report["complete"]) == (0, 0, True)
    assert report["judges"] == []
    assert report["kendall_w"] is None


def test_validation_rejects_a_blank_total_in_a_numeric_column():
    # What a CSV with an empty cell reads as: a float column holding NaN.
    table = pd.DataFrame({"entry": ["E1", "E2"], "judge": ["A", "A"], "total": [5.0, float("nan")]})

    with pytest.raises(ValueError) as error:
        reliability_report(table)

    assert str(error.value) == "non-numeric total nan for entry 'E2', judge 'A'"
