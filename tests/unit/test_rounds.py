"""Judging rounds: the ``[[rounds]]`` rubric keys and the domain rules of advancement, with exact outcomes."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from judging.rubric import AdvanceSpec, RubricError, load_rubric, parse_rubric
from judging.rubric_document import rubric_toml, same_rubric
from judging.scoring.rounds import (
    AdvanceError,
    AdvanceRule,
    Standing,
    pass_fail_standings,
    places_for_share,
    select_advancing,
)
from judging.workflow import Phase, RoundAction, RoundRefusal, RoundStatus, round_refusal
from tests.unit.test_rubric import VALID, errors_of

ROOT = Path(__file__).resolve().parents[2]

TWO_ROUNDS = (
    VALID
    + """
[[rounds]]
key = "screening"
label = "初评"
mode = "pass_fail"
judges_per_entry = 3

[rounds.advance]
top = 5

[[rounds]]
key = "final"
label = "终评"
mode = "scored"
"""
)


def standings(*rows: tuple[str, str | None]) -> list[Standing]:
    """Scored standings with competition ranks from (entry, score) in order; ``None``: not ranked."""
    out: list[Standing] = []
    ranked = [(entry, Decimal(score)) for entry, score in rows if score is not None]
    for position, (entry, score) in enumerate(ranked, start=1):
        rank = position
        for earlier in out:
            if earlier.result == score:
                rank = earlier.rank or rank
                break
        out.append(Standing(entry, "", score, rank, 3))
    out += [Standing(entry, "", None, None, 0) for entry, score in rows if score is None]
    return out


# --- the rubric keys ---------------------------------------------------------------------------------


def test_two_round_template_is_valid_and_round_trips_through_the_builder() -> None:
    rubric = load_rubric(ROOT / "rubrics/templates/two_rounds.toml")
    assert [(r.key, r.mode, r.judges_per_entry) for r in rubric.rounds] == [
        ("screening", "pass_fail", 3),
        ("final", "scored", None),
    ]
    assert rubric.rounds[0].advance == AdvanceSpec(top=5)
    again = parse_rubric(rubric_toml(rubric))
    assert same_rubric(rubric, again)
    assert again.rounds == rubric.rounds


def test_rubric_without_rounds_has_none() -> None:
    assert parse_rubric(VALID).rounds == ()


def test_round_view_of_a_pass_fail_round_has_one_check_and_no_awards() -> None:
    rubric = parse_rubric(TWO_ROUNDS)
    screening = rubric.for_round("screening")
    assert screening.criteria == ()
    assert [check.key for check in screening.checks] == ["passes"]
    assert screening.awards == ()
    assert screening.assignment is not None and screening.assignment.judges_per_entry == 3
    final = rubric.for_round("final")
    assert [c.key for c in final.criteria] == ["content", "form"]
    assert [a.name for a in final.awards] == ["一等奖"]
    assert final.assignment is not None and final.assignment.judges_per_entry == "all"
    assert final.sha256 == rubric.sha256


def test_round_with_own_criteria_is_scored_with_them() -> None:
    text = TWO_ROUNDS.replace(
        'mode = "scored"\n',
        'mode = "scored"\n\n[[rounds.criteria]]\nkey = "overall"\nlabel = "总体"\nmax = 10\nweight = 1\n'
        '\n[rounds.aggregation]\nacross_judges = "median"\n',
    )
    final = parse_rubric(text).for_round("final")
    assert [c.key for c in final.criteria] == ["overall"]
    assert final.aggregation is not None and final.aggregation.across_judges == "median"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (
            ("top = 5", "top = 5\nshare = 0.5"),
            "rounds[0].advance: set exactly one of top, share, min_score, pick (found top, share)",
        ),
        (("top = 5", "top = 0"), "rounds[0].advance.top: must be >= 1"),
        (("top = 5", "pick = false"), "rounds[0].advance: set exactly one of top, share, min_score, pick (found none)"),
        (
            ("top = 5", "min_score = 1.5"),
            "rounds[0].advance.min_score: counts passes in a pass/fail round: a whole number",
        ),
        (("[rounds.advance]\ntop = 5\n", ""), "rounds[0].advance: required for every round but the last"),
        (('key = "final"', 'key = "screening"'), "rounds[1].key: duplicate key 'screening'"),
        (('mode = "scored"', 'mode = "vote"'), "rounds[1].mode: must be one of 'scored' or 'pass_fail'"),
        (
            ('mode = "scored"', 'mode = "pass_fail"'),
            'rounds[1].mode: the last round gets the awards, so it must be "scored"',
        ),
        (('mode = "scored"', 'mode = "scored"\nsize = 3'), "rounds[1].size: unknown key"),
        (
            ('mode = "scored"', 'mode = "scored"\n[rounds.advance]\ntop = 2'),
            "rounds[1].advance: the last round has no advance rule: its result gets the awards",
        ),
        (
            ("judges_per_entry = 3", "judges_per_entry = 0"),
            'rounds[0].judges_per_entry: must be "all" or a whole number >= 1',
        ),
    ],
)
def test_round_mistakes_are_named_by_key_path(change: tuple[str, str], error: str) -> None:
    old, new = change
    assert old in TWO_ROUNDS
    assert errors_of(TWO_ROUNDS.replace(old, new, 1)) == [f"rubrics/demo.toml: {error}"]


def test_scored_round_min_score_above_the_highest_total_is_refused() -> None:
    text = TWO_ROUNDS.replace('mode = "pass_fail"', 'mode = "scored"').replace("top = 5", "min_score = 101")
    assert errors_of(text) == [
        "rubrics/demo.toml: rounds[0].advance.min_score: exceeds the highest possible total (100)"
    ]


def test_round_tie_break_on_unknown_criterion_and_single_round_are_refused() -> None:
    text = TWO_ROUNDS.replace(
        'mode = "scored"', 'mode = "scored"\n[rounds.aggregation]\nacross_judges = "mean"\ntie_break = ["nope"]'
    )
    assert errors_of(text) == ["rubrics/demo.toml: rounds[1].aggregation.tie_break[0]: unknown criterion 'nope'"]
    single = VALID + '\n[[rounds]]\nkey = "final"\nlabel = "终评"\nmode = "scored"\n'
    assert errors_of(single) == [
        "rubrics/demo.toml: rounds: needs at least two rounds (a contest without [[rounds]] is judged in one)"
    ]


def test_pass_fail_round_with_criteria_is_refused() -> None:
    text = TWO_ROUNDS.replace(
        "judges_per_entry = 3", 'judges_per_entry = 3\n[[rounds.criteria]]\nkey = "x"\nlabel = "X"\nmax = 1\nweight = 1'
    )
    assert errors_of(text) == ['rubrics/demo.toml: rounds[0].criteria: not used when mode = "pass_fail"']


def test_flask_rubric_check_reads_rounds(tmp_path: Path) -> None:
    from judging.rubric import check_rubric_files

    good = tmp_path / "good.toml"
    good.write_text(TWO_ROUNDS, encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(TWO_ROUNDS.replace("top = 5", "top = 5\npick = true"), encoding="utf-8")
    assert check_rubric_files([good]) == []
    assert check_rubric_files([bad]) == [
        f"{bad}: rounds[0].advance: set exactly one of top, share, min_score, pick (found top, pick)"
    ]
    with pytest.raises(RubricError):
        load_rubric(bad)


# --- pass/fail counting --------------------------------------------------------------------------------


def test_pass_fail_ranks_by_passes_with_shared_ranks() -> None:
    result = pass_fail_standings(
        {
            "E1": [True, True, False],
            "E2": [True, True, True],
            "E3": [False, True, True],
            "E4": [False, False, False],
            "E5": [],
        }
    )
    assert [(s.entry, s.result, s.rank, s.judges) for s in result] == [
        ("E2", Decimal(3), 1, 3),
        ("E1", Decimal(2), 2, 3),
        ("E3", Decimal(2), 2, 3),
        ("E4", Decimal(0), 4, 3),
        ("E5", None, None, 0),
    ]


def test_pass_fail_ranks_each_category_on_its_own() -> None:
    result = pass_fail_standings({"A1": [True], "A2": [False], "B1": [False]}, {"A1": "a", "A2": "a", "B1": "b"})
    assert [(s.entry, s.category, s.rank) for s in result] == [("A1", "a", 1), ("A2", "a", 2), ("B1", "b", 1)]


# --- advancement -----------------------------------------------------------------------------------------


def test_top_n_takes_exactly_n_without_a_tie() -> None:
    rows = standings(("E1", "90"), ("E2", "85"), ("E3", "80"), ("E4", "70"))
    outcome = select_advancing(rows, AdvanceSpec(top=2))
    assert [e for e, a in outcome.items() if a.advanced] == ["E1", "E2"]
    assert outcome["E3"] == outcome["E3"].__class__("E3", False, AdvanceRule.TOP)


def test_top_n_takes_every_entry_tied_at_the_boundary() -> None:
    rows = standings(("E1", "90"), ("E2", "85"), ("E3", "85"), ("E4", "70"))
    outcome = select_advancing(rows, AdvanceSpec(top=2))
    assert {e: (a.advanced, a.tied) for e, a in outcome.items()} == {
        "E1": (True, False),
        "E2": (True, False),
        "E3": (True, True),
        "E4": (False, False),
    }


def test_top_five_of_pass_fail_with_a_tie_at_fifth_place_takes_six() -> None:
    answers = {
        "E01": [True, True, True],
        "E02": [True, True, True],
        "E03": [True, True, False],
        "E04": [True, True, False],
        "E05": [True, False, False],
        "E06": [False, True, False],
        "E07": [False, False, False],
    }
    outcome = select_advancing(pass_fail_standings(answers), AdvanceSpec(top=5))
    assert sorted(e for e, a in outcome.items() if a.advanced) == ["E01", "E02", "E03", "E04", "E05", "E06"]
    assert outcome["E06"].tied and not outcome["E05"].tied
    assert not outcome["E07"].advanced


def test_top_n_larger_than_the_field_takes_all_ranked_but_never_the_unranked() -> None:
    rows = standings(("E1", "90"), ("E2", None))
    outcome = select_advancing(rows, AdvanceSpec(top=5))
    assert {e: a.advanced for e, a in outcome.items()} == {"E1": True, "E2": False}


def test_share_takes_the_ceiling_of_share_times_ranked_exactly() -> None:
    assert places_for_share(Decimal("0.3"), 10) == 3
    assert places_for_share(Decimal("0.25"), 10) == 3
    assert places_for_share(Decimal("0.01"), 10) == 1
    assert places_for_share(Decimal("1"), 7) == 7
    assert places_for_share(Decimal("0.5"), 0) == 0
    rows = standings(("E1", "90"), ("E2", "85"), ("E3", "80"), ("E4", "70"), ("E5", None))
    outcome = select_advancing(rows, AdvanceSpec(share=Decimal("0.5")))
    assert [e for e, a in outcome.items() if a.advanced] == ["E1", "E2"]
    assert all(a.rule is AdvanceRule.SHARE for a in outcome.values())


def test_min_score_takes_every_entry_at_or_above_it() -> None:
    rows = standings(("E1", "90"), ("E2", "80.00"), ("E3", "79.99"), ("E4", None))
    outcome = select_advancing(rows, AdvanceSpec(min_score=Decimal(80)))
    assert {e: a.advanced for e, a in outcome.items()} == {"E1": True, "E2": True, "E3": False, "E4": False}


def test_min_passes_in_a_pass_fail_round() -> None:
    rows = pass_fail_standings({"E1": [True, True, False], "E2": [True, False, False]})
    outcome = select_advancing(rows, AdvanceSpec(min_score=Decimal(2)))
    assert {e: a.advanced for e, a in outcome.items()} == {"E1": True, "E2": False}


def test_pick_takes_exactly_the_picked_with_their_reasons() -> None:
    rows = standings(("E1", "90"), ("E2", "85"), ("E3", None))
    outcome = select_advancing(rows, AdvanceSpec(pick=True), {"E2": " 题材独特 ", "E3": "补评后入围"})
    assert {e: (a.advanced, a.reason) for e, a in outcome.items()} == {
        "E1": (False, ""),
        "E2": (True, "题材独特"),
        "E3": (True, "补评后入围"),
    }


@pytest.mark.parametrize(
    ("picks", "kind", "entry"),
    [({"E1": "  "}, "missing_reason", "E1"), ({"E9": "好"}, "unknown_entry", "E9"), ({}, "nothing_picked", "")],
)
def test_pick_without_a_reason_or_of_an_unknown_entry_is_refused(picks: dict[str, str], kind: str, entry: str) -> None:
    with pytest.raises(AdvanceError) as caught:
        select_advancing(standings(("E1", "90")), AdvanceSpec(pick=True), picks)
    assert (caught.value.kind, caught.value.entry) == (kind, entry)


def test_the_builder_form_keeps_every_round_with_its_own_criteria_and_aggregation() -> None:
    from judging.rubric_form import form_data_of, form_toml

    text = TWO_ROUNDS.replace("top = 5", "share = 0.3").replace(
        'mode = "scored"\n',
        'mode = "scored"\n\n[[rounds.criteria]]\nkey = "overall"\nlabel = "总体"\nmax = 10\nweight = 1\n'
        '\n[rounds.aggregation]\nacross_judges = "median"\n',
    )
    rubric = parse_rubric(text)
    data = form_data_of(rubric)
    assert data["rounds[0].advance.share"] == "0.3"
    assert data["rounds[1].criteria[0].key"] == "overall"
    again = parse_rubric(form_toml(data))
    assert same_rubric(rubric, again)
    assert again.rounds == rubric.rounds


# --- the round rules of the workflow table ----------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "phase", "status", "previous", "refusal"),
    [
        (RoundAction.OPEN_ROUND, Phase.REVIEW, RoundStatus.WAITING, None, None),
        (RoundAction.OPEN_ROUND, Phase.REVIEW, RoundStatus.WAITING, RoundStatus.OPEN, RoundRefusal.PREVIOUS_NOT_FROZEN),
        (
            RoundAction.OPEN_ROUND,
            Phase.REVIEW,
            RoundStatus.WAITING,
            RoundStatus.WAITING,
            RoundRefusal.PREVIOUS_NOT_FROZEN,
        ),
        (RoundAction.OPEN_ROUND, Phase.REVIEW, RoundStatus.WAITING, RoundStatus.FROZEN, None),
        (RoundAction.OPEN_ROUND, Phase.REVIEW, RoundStatus.OPEN, None, RoundRefusal.ROUND_ALREADY_OPEN),
        (RoundAction.OPEN_ROUND, Phase.OPEN, RoundStatus.WAITING, None, RoundRefusal.WRONG_PHASE),
        (RoundAction.PLACE_JUDGES, Phase.REVIEW, RoundStatus.WAITING, RoundStatus.OPEN, None),
        (RoundAction.ASSIGN_ROUND, Phase.REVIEW, RoundStatus.WAITING, None, RoundRefusal.ROUND_NOT_OPEN),
        (RoundAction.SAVE_ROUND_SHEETS, Phase.REVIEW, RoundStatus.OPEN, RoundStatus.FROZEN, None),
        (RoundAction.SAVE_ROUND_SHEETS, Phase.REVIEW, RoundStatus.FROZEN, None, RoundRefusal.ROUND_FROZEN),
        (RoundAction.SAVE_ROUND_SHEETS, Phase.PUBLICITY, RoundStatus.OPEN, None, RoundRefusal.WRONG_PHASE),
        (RoundAction.FREEZE_ROUND, Phase.REVIEW, RoundStatus.FROZEN, None, RoundRefusal.ROUND_FROZEN),
    ],
)
def test_round_rules_of_the_workflow(
    action: RoundAction, phase: Phase, status: RoundStatus, previous: RoundStatus | None, refusal: RoundRefusal | None
) -> None:
    assert round_refusal(action, phase, status, previous) is refusal
