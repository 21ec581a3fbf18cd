"""Award allocation: count, share and min_score, per category, with ties across a boundary."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from judging.result_words import award_note_text
from judging.rubric import Award
from judging.scoring.awards import AwardNote, allocate_awards, min_score_threshold, places_for_share
from judging.scoring.ranking import rank_entries
from judging.scoring.rules import competition_ranks
from tests.scenarios import work_rubric


def allocate(finals: list[str], awards: list[Award], categories: list[str] | None = None, decimals: int = 2):
    """Allocate over entries E1, E2, … given in ranking order, ranked by their scores."""
    units = np.array([int(Decimal(value).scaleb(decimals)) for value in finals])
    categories = categories or [""] * len(finals)
    rank = competition_ranks(pd.factorize(np.array(categories, dtype=object))[0], units[:, None])
    entries = [f"E{i + 1}" for i in range(len(finals))]
    return allocate_awards(categories, rank, units, entries, awards, decimals)


def test_count_awards_take_the_next_entries():
    allocation = allocate(
        ["90", "85", "80", "75", "70"],
        [Award(name="一等奖", count=1), Award(name="二等奖", count=2)],
    )
    assert allocation.award.tolist() == ["一等奖", "二等奖", "二等奖", "", ""]
    assert allocation.notes == ()


def test_award_boundary_inside_a_tie_gives_all_tied_the_higher_award():
    allocation = allocate(
        ["90", "85", "85", "80", "75", "70"],
        [Award(name="一等奖", count=2), Award(name="二等奖", count=2)],
    )
    # Rank 2 is shared by E2 and E3 across the last place of 一等奖: both get it; 二等奖 takes the next two.
    assert allocation.award.tolist() == ["一等奖", "一等奖", "一等奖", "二等奖", "二等奖", ""]
    (note,) = allocation.notes
    assert (note.award, note.rank, note.entries, note.places, note.given) == ("一等奖", 2, ("E2", "E3"), 2, 3)
    assert note.category == ""
    assert award_note_text(note) == (
        "Rank 2 is shared across the last place of 一等奖 (2 places): all of E2, E3 receive it."
    )


def test_tie_exactly_at_the_boundary_needs_no_note():
    allocation = allocate(["90", "85", "85", "80"], [Award(name="一等奖", count=3)])
    assert allocation.award.tolist() == ["一等奖", "一等奖", "一等奖", ""]
    assert allocation.notes == ()


@pytest.mark.parametrize(
    ("share", "ranked", "places"),
    [("0.15", 16, 2), ("0.25", 10, 3), ("0.1", 4, 0), ("0.3", 5, 2), ("1", 7, 7), ("0.125", 4, 1)],
)
def test_share_places_round_half_up(share, ranked, places):
    assert places_for_share(Decimal(share), ranked) == places


def test_share_award_counts_ranked_entries_of_the_category():
    allocation = allocate(
        ["90", "85", "80", "75", "95", "60"],
        [Award(name="优秀", share=Decimal("0.5"))],
        categories=["a", "a", "a", "a", "b", "b"],
    )
    # Category a: 0.5 × 4 = 2 places; category b: 0.5 × 2 = 1 place.
    assert allocation.award.tolist() == ["优秀", "优秀", "", "", "优秀", ""]


def test_min_score_takes_remaining_entries_at_or_above_it():
    allocation = allocate(
        ["90", "85", "70.00", "69.99", "50"],
        [Award(name="一等奖", count=1), Award(name="优秀奖", min_score=Decimal("70"))],
    )
    assert allocation.award.tolist() == ["一等奖", "优秀奖", "优秀奖", "", ""]


def test_min_score_compares_the_displayed_score():
    assert min_score_threshold(Decimal("70"), 2) == 7000
    assert min_score_threshold(Decimal("70.005"), 2) == 7001
    allocation = allocate(["70.01", "70.00"], [Award(name="优秀奖", min_score=Decimal("70.005"))])
    assert allocation.award.tolist() == ["优秀奖", ""]


def test_award_with_category_applies_only_there_and_without_in_every_category():
    allocation = allocate(
        ["90", "80", "95", "85"],
        [Award(name="优秀案例", count=1, category="case"), Award(name="入围", count=1)],
        categories=["case", "case", "person", "person"],
    )
    assert allocation.award.tolist() == ["优秀案例", "入围", "入围", ""]


def test_awards_through_the_engine_with_a_tie_across_the_boundary():
    awards = '[[awards]]\nname = "一等奖"\ncount = 1\n[[awards]]\nname = "二等奖"\ncount = 1\n'
    rows = [
        ("A", 90),
        ("B", 90),
        ("C", 85),
        ("D", 80),
    ]
    frame = pd.DataFrame(
        [{"entry": entry, "judge": "J1", "criterion": "score", "score": str(value)} for entry, value in rows]
    )
    result = rank_entries(frame, work_rubric(extra=awards))
    assert result.table[["rank", "entry", "award"]].values.tolist() == [
        [1, "A", "一等奖"],
        [1, "B", "一等奖"],
        [3, "C", "二等奖"],
        [4, "D", ""],
    ]
    assert result.award_notes == (
        AwardNote(award="一等奖", category="", rank=1, entries=("A", "B"), places=1, given=2),
    )
    assert result.explain("A").award_note == result.award_notes[0]
    assert result.explain("C").award_note is None
    assert result.listing()["note"].tolist() == [result.award_notes[0]] * 2 + [None, None]


def test_awards_skip_entries_that_are_not_ranked():
    awards = '[[awards]]\nname = "一等奖"\ncount = 1\n[[awards]]\nname = "优秀奖"\nmin_score = 60\n'
    frame = pd.DataFrame(
        [
            {"entry": entry, "judge": judge, "criterion": "score", "score": value}
            for entry, judge, value in [
                ("A", "J1", "95"),  # one sheet only: not ranked
                ("B", "J1", "90"),
                ("B", "J2", "88"),
                ("C", "J1", "61"),
                ("C", "J2", "59"),
            ]
        ]
    )
    result = rank_entries(frame, work_rubric(min_judges=2, extra=awards))
    assert result.table[["rank", "entry", "final_score", "award"]].astype(str).values.tolist() == [
        ["1", "B", "89.00", "一等奖"],
        ["2", "C", "60.00", "优秀奖"],
    ]
    assert result.excluded["entry"].tolist() == ["A"]


def test_one_place_is_said_in_the_singular() -> None:
    allocation = allocate(["90", "90", "80"], [Award(name="一等奖", count=1)])
    (note,) = allocation.notes
    assert award_note_text(note) == (
        "Rank 1 is shared across the last place of 一等奖 (1 place): all of E1, E2 receive it."
    )
