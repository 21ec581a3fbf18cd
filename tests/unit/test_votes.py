"""The public vote's pure parts: the ``[vote]`` rubric section, the combined score, rigging flags and
the proof of work (issue 19)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from judging import vote_proof
from judging.rubric import RubricError, VoteBand, VoteFlagsSpec, VoteSpec, parse_rubric
from judging.rubric_document import rubric_toml, same_rubric
from judging.rubric_form import form_data_of, form_toml
from judging.scoring.score_table import parse_score_frame
from judging.scoring.votes import (
    CastVote,
    CombinedChange,
    FlagKind,
    VoteTally,
    combine,
    detect_rigging,
    half_up,
    leave_one_judge_out_combined,
    vote_points,
)
from tests.scenarios import scores, work_rubric
from tests.unit.test_robustness import TWO_AWARDS
from tests.unit.test_rubric import VALID

VOTE = """
[vote]
identity = "both"
counts = "live"
per_entry_per_day = 1
per_day = 5
pow_difficulty = 12
shortlist = "top"
shortlist_size = 3
expert_weight = 0.7
vote_weight = 0.3
normalisation = "share_of_max"
"""

BANDS = """
[vote]
shortlist = "pick"
expert_weight = 0.5
vote_weight = 0.5
normalisation = "rank_bands"

[[vote.bands]]
up_to_rank = 1
points = 100

[[vote.bands]]
up_to_rank = 3
points = 80
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises(RubricError) as caught:
        parse_rubric(text, "rubrics/demo.toml")
    return caught.value.errors


def test_vote_section_is_read_with_its_defaults() -> None:
    vote = parse_rubric(VALID + VOTE).vote
    assert vote is not None
    assert (vote.identity, vote.counts, vote.per_entry_per_day, vote.per_day, vote.pow_difficulty) == (
        "both",
        "live",
        1,
        5,
        12,
    )
    assert (vote.expert_weight, vote.vote_weight) == (Decimal("0.7"), Decimal("0.3"))
    minimal = parse_rubric(VALID + '[vote]\nshortlist = "pick"\nexpert_weight = 1\nvote_weight = 0\n').vote
    assert minimal is not None
    assert (minimal.identity, minimal.counts, minimal.per_day, minimal.normalisation) == (
        "device",
        "hidden",
        10,
        "share_of_max",
    )
    assert parse_rubric(VALID).vote is None


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (
            ("vote_weight = 0.3", "vote_weight = 0.31"),
            "vote: expert_weight and vote_weight must add up to 1 (they add up to 1.01)",
        ),
        (('identity = "both"', 'identity = "phone"'), "vote.identity: must be one of 'account', 'device' or 'both'"),
        (("shortlist_size = 3\n", ""), 'vote.shortlist_size: required when vote.shortlist = "top"'),
        (("per_entry_per_day = 1", "per_entry_per_day = 6"), "vote.per_entry_per_day: must be <= vote.per_day (5)"),
        (("per_day = 5", "per_day = 0"), "vote.per_day: must be >= 1"),
        (("pow_difficulty = 12", "pow_difficulty = 40"), "vote.pow_difficulty: must be <= 28"),
        (
            ('normalisation = "share_of_max"', 'normalisation = "rank_bands"'),
            'vote.bands: at least one band is required when vote.normalisation = "rank_bands"',
        ),
        (('counts = "live"', 'counts = "live"\nsecret = 1'), "vote.secret: unknown key"),
        (("expert_weight = 0.7", "expert_weight = 1.7"), "vote.expert_weight: must be <= 1"),
    ],
)
def test_vote_section_mistakes_are_named_by_key_path(change: tuple[str, str], error: str) -> None:
    text = VALID + VOTE.replace(*change)
    assert f"rubrics/demo.toml: {error}" in errors_of(text)


def test_vote_bands_must_rise_and_stay_on_the_points_scale() -> None:
    text = VALID + BANDS.replace("up_to_rank = 3", "up_to_rank = 1").replace("points = 80", "points = 101")
    assert errors_of(text) == [
        "rubrics/demo.toml: vote.bands[1].up_to_rank: must be > 1 (the previous band's)",
        "rubrics/demo.toml: vote.bands[1].points: exceeds the highest possible total (100)",
    ]
    shared = VALID + VOTE + "[[vote.bands]]\nup_to_rank = 1\npoints = 10\n"
    assert 'rubrics/demo.toml: vote.bands: applies only to vote.normalisation = "rank_bands"' in errors_of(shared)


@pytest.mark.parametrize("section", [VOTE, BANDS])
def test_the_builder_keeps_the_vote_section(section: str) -> None:
    rubric = parse_rubric(VALID + section)
    assert same_rubric(parse_rubric(rubric_toml(rubric)), rubric)
    data = form_data_of(rubric)
    assert data["vote"] == "on"
    assert same_rubric(parse_rubric(form_toml(data)), rubric)


# --- the combined score --------------------------------------------------------------------------

SHARE = parse_rubric(VALID + VOTE).vote
assert SHARE is not None


def test_combined_score_worked_example_seventy_thirty_share_of_max() -> None:
    """70 % experts + 30 % votes as a share of the most votes, on the 100-point scale.

    A: 80.00 and 200 votes (the most) → 0.7 × 80 + 0.3 × 100 = 56 + 30 = 86.00
    B: 90.00 and 150 votes → 0.7 × 90 + 0.3 × 75 = 63 + 22.5 = 85.50
    C: 85.25 and 1 vote → 0.7 × 85.25 + 0.3 × 0.5 = 59.675 + 0.15 = 59.825 → 59.83 (half up; float gives 59.82)
    D: 70.05 and 0 votes → 0.7 × 70.05 = 49.035 → 49.04 (half up once, at the end)
    """
    tallies = [
        VoteTally("A", Decimal("80.00"), 200),
        VoteTally("B", Decimal("90.00"), 150),
        VoteTally("C", Decimal("85.25"), 1),
        VoteTally("D", Decimal("70.05"), 0),
    ]
    lines = combine(tallies, SHARE, Decimal(100), 2)
    assert [(line.rank, line.entry, str(line.combined)) for line in lines] == [
        (1, "A", "86.00"),
        (2, "B", "85.50"),
        (3, "C", "59.83"),
        (4, "D", "49.04"),
    ]
    c = lines[2]
    assert (c.vote_points, c.expert_part, c.vote_part, c.exact) == (
        Decimal("0.5"),
        Decimal("59.675"),
        Decimal("0.15"),
        Decimal("59.825"),
    )
    assert round(0.7 * 70.05, 2) == 49.03  # what binary floats would have said


def test_voided_votes_leave_the_combined_score() -> None:
    counted = combine(
        [VoteTally("A", Decimal(80), 100, {"one network": 100}), VoteTally("B", Decimal(80), 50)],
        SHARE,
        Decimal(100),
        2,
    )
    assert [(line.entry, line.votes, line.voided_count, str(line.combined)) for line in counted] == [
        ("A", 100, 100, "86.00"),
        ("B", 50, 0, "71.00"),
    ]


def test_equal_combined_scores_share_a_rank() -> None:
    lines = combine(
        [VoteTally("A", Decimal(80), 10), VoteTally("B", Decimal(80), 10), VoteTally("C", Decimal(1), 0)],
        SHARE,
        Decimal(100),
        2,
    )
    assert [line.rank for line in lines] == [1, 1, 3]


def test_rank_bands_give_the_band_points_by_vote_rank() -> None:
    spec = parse_rubric(VALID + BANDS).vote
    assert spec is not None
    tallies = [
        VoteTally(name, Decimal(60), votes) for name, votes in (("A", 9), ("B", 7), ("C", 7), ("D", 3), ("E", 1))
    ]
    assert vote_points(tallies, spec, Decimal(100)) == [Decimal(100), Decimal(80), Decimal(80), Decimal(0), Decimal(0)]
    assert [str(line.combined) for line in combine(tallies, spec, Decimal(100), 2)] == [
        "80.00",
        "70.00",
        "70.00",
        "30.00",
        "30.00",
    ]


def test_zscore_puts_the_votes_on_the_experts_scale() -> None:
    spec = VoteSpec.model_validate(
        {"shortlist": "pick", "expert_weight": 0.5, "vote_weight": 0.5, "normalisation": "zscore"}
    )
    # experts 70 and 90: mean 80, s.d. 10; votes 10 and 30: z = -1 and +1 → 70 and 90
    tallies = [VoteTally("A", Decimal(70), 10), VoteTally("B", Decimal(90), 30)]
    assert vote_points(tallies, spec, Decimal(100)) == [Decimal(70), Decimal(90)]
    same = [VoteTally("A", Decimal(70), 5), VoteTally("B", Decimal(90), 5)]
    assert vote_points(same, spec, Decimal(100)) == [Decimal(80), Decimal(80)]


def test_half_up_rounds_the_half_away_from_zero() -> None:
    assert [str(half_up(Decimal(v), 2)) for v in ("84.125", "84.135", "0.005", "2.675")] == [
        "84.13",
        "84.14",
        "0.01",
        "2.68",
    ]


# --- rigging -------------------------------------------------------------------------------------

START = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def organic_votes(entry: str, n: int, first_id: int, seed: int) -> list[CastVote]:
    """People: many networks and devices, at irregular times over ten days."""
    rng = random.Random(seed)
    votes = []
    for index in range(n):
        at = START + timedelta(seconds=rng.randrange(0, 10 * 24 * 3600))
        network = f"10.{rng.randrange(256)}.{rng.randrange(256)}.0/24"
        votes.append(CastVote(first_id + index, entry, at, network, f"sig-{rng.randrange(10**9)}"))
    return votes


def rigged_votes(entry: str, n: int, first_id: int) -> list[CastVote]:
    """A script: one network, a vote every 20 seconds, a fresh cookie and user agent each time."""
    return [
        CastVote(
            first_id + index, entry, START + timedelta(days=3, seconds=20 * index), "203.0.113.0/24", f"sig-{index}"
        )
        for index in range(n)
    ]


def test_a_rigging_pattern_is_flagged_and_the_same_number_of_organic_votes_is_not() -> None:
    votes = organic_votes("HONEST", 60, 1, seed=7) + rigged_votes("RIGGED", 60, 1000)
    flags = detect_rigging(votes)
    assert {flag.entry for flag in flags} == {"RIGGED"}
    by_kind = {flag.kind: flag for flag in flags}
    assert set(by_kind) == {FlagKind.BURST, FlagKind.NETWORK, FlagKind.REGULAR}
    network = by_kind[FlagKind.NETWORK]
    assert (network.subject, network.count, network.total) == ("203.0.113.0/24", 60, 60)
    assert by_kind[FlagKind.REGULAR].vote_ids == tuple(range(1000, 1060))
    assert by_kind[FlagKind.REGULAR].baseline == "0.000"
    burst = by_kind[FlagKind.BURST]
    assert (burst.subject, burst.count) == ("2026-09-04T08:00:00+00:00", 60)


def test_one_device_signature_is_flagged_even_from_many_networks() -> None:
    votes = organic_votes("E", 30, 1, seed=3)
    phone = [
        CastVote(500 + i, "E", START + timedelta(hours=7 * i + (i * i) % 5), f"172.16.{i}.0/24", "same-phone")
        for i in range(15)
    ]
    flags = detect_rigging(votes + phone)
    assert [(flag.kind, flag.subject, flag.count, flag.total) for flag in flags] == [
        (FlagKind.DEVICE, "same-phone", 15, 45)
    ]


def test_a_burst_is_measured_against_the_entrys_own_history() -> None:
    """A popular entry's busy hour is not a burst; a quiet entry's sudden forty votes are."""
    popular = [
        CastVote(i, "POP", START + timedelta(minutes=3 * i + (i % 2)), f"10.0.{i % 200}.0/24", f"s{i}")
        for i in range(400)
    ]
    quiet = organic_votes("QUIET", 20, 1000, seed=11)
    quiet += [
        CastVote(
            2000 + i, "QUIET", START + timedelta(days=5, minutes=i, seconds=(i * 37) % 50), f"10.9.{i}.0/24", f"q{i}"
        )
        for i in range(40)
    ]
    kinds = {(flag.entry, flag.kind) for flag in detect_rigging(popular + quiet)}
    assert ("QUIET", FlagKind.BURST) in kinds
    assert ("POP", FlagKind.BURST) not in kinds


FLAGS = """
[vote.flags]
burst_min = 5
burst_factor = 2.5
group_min = 4
group_share = 0.2
regular_run = 5
regular_cv = 0.25
"""


def test_vote_flags_are_read_from_the_rubric_and_default_to_the_built_in_thresholds() -> None:
    vote = parse_rubric(VALID + VOTE + FLAGS).vote
    assert vote is not None
    flags = vote.flags
    assert (flags.burst_min, flags.burst_factor, flags.group_min, flags.group_share) == (
        5,
        Decimal("2.5"),
        4,
        Decimal("0.2"),
    )
    assert (flags.regular_run, flags.regular_cv) == (5, Decimal("0.25"))
    default = SHARE.flags
    assert (default.burst_min, default.burst_factor, default.group_min, default.group_share) == (
        10,
        Decimal(5),
        10,
        Decimal("0.3"),
    )
    assert (default.regular_run, default.regular_cv) == (10, Decimal("0.1"))


def few_machine_votes() -> list[CastVote]:
    """Six votes in one hour, one a minute (± a few seconds), four of them from one network, among people."""
    organic = organic_votes("SMALL", 12, 1, seed=5)
    jitter = [0, 4, -3, 5, -2, 3]
    machine = [
        CastVote(
            100 + i,
            "SMALL",
            START + timedelta(days=4, minutes=i, seconds=10 + jitter[i]),
            "198.51.100.0/24" if i < 4 else f"10.77.{i}.0/24",
            f"m{i}",
        )
        for i in range(6)
    ]
    return organic + machine


def test_stricter_vote_flags_catch_a_small_pattern_the_defaults_let_pass() -> None:
    votes = few_machine_votes()
    assert detect_rigging(votes) == []
    vote = parse_rubric(VALID + VOTE + FLAGS).vote
    assert vote is not None
    flags = detect_rigging(votes, vote.flags)
    assert [(flag.kind, flag.subject, flag.vote_ids, flag.count, flag.total) for flag in flags] == [
        (FlagKind.BURST, "2026-09-05T08:00:00+00:00", (100, 101, 102, 103, 104, 105), 6, 18),
        (FlagKind.NETWORK, "198.51.100.0/24", (100, 101, 102, 103), 4, 18),
        (FlagKind.REGULAR, "2026-09-05T08:00:10+00:00", (100, 101, 102, 103, 104, 105), 6, 18),
    ]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (("burst_min = 5", "burst_min = 0"), "vote.flags.burst_min: must be >= 1"),
        (("burst_factor = 2.5", "burst_factor = 0.5"), "vote.flags.burst_factor: must be >= 1"),
        (("group_min = 4", 'group_min = "four"'), "vote.flags.group_min: must be an integer"),
        (("group_share = 0.2", "group_share = 1.5"), "vote.flags.group_share: must be <= 1"),
        (("group_share = 0.2", "group_share = 0"), "vote.flags.group_share: must be > 0"),
        (("regular_run = 5", "regular_run = 2"), "vote.flags.regular_run: must be >= 3"),
        (("regular_cv = 0.25", "regular_cv = 0"), "vote.flags.regular_cv: must be > 0"),
        (("regular_cv = 0.25", "regular_cv = 0.25\nburst_window = 2"), "vote.flags.burst_window: unknown key"),
    ],
)
def test_bad_vote_flags_are_refused_by_key_path(change: tuple[str, str], error: str) -> None:
    text = VALID + VOTE + FLAGS.replace(*change)
    assert errors_of(text) == [f"rubrics/demo.toml: {error}"]


def test_the_builder_keeps_the_vote_flags() -> None:
    rubric = parse_rubric(VALID + VOTE + FLAGS)
    assert same_rubric(parse_rubric(rubric_toml(rubric)), rubric)
    assert "[vote.flags]" in rubric_toml(rubric)
    data = form_data_of(rubric)
    assert (data["vote.flags"], data["vote.flags.burst_factor"], data["vote.flags.regular_cv"]) == ("on", "2.5", "0.25")
    assert same_rubric(parse_rubric(form_toml(data)), rubric)
    plain = parse_rubric(VALID + VOTE)
    assert "flags" not in rubric_toml(plain)
    assert "vote.flags" not in form_data_of(plain)


def test_every_vote_key_is_documented() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "rubric-vote.md").read_text(encoding="utf-8")
    keys = [*VoteSpec.model_fields, *VoteBand.model_fields, *VoteFlagsSpec.model_fields]
    written = [f"\n{key} = " for key in keys if key not in ("bands", "flags")] + ["[[vote.bands]]", "[vote.flags]"]
    assert [line for line in written if line not in page] == []


# --- proof of work -------------------------------------------------------------------------------

KEY = b"k" * 32


def test_a_solved_challenge_verifies_once_for_its_contest() -> None:
    token = vote_proof.issue_challenge(KEY, 7, 8, now=1_000_000)
    nonce = vote_proof.solve(token, 8)
    challenge = vote_proof.verify(KEY, token, nonce, 7, now=1_000_100)
    assert isinstance(challenge, vote_proof.Challenge)
    assert (challenge.contest_id, challenge.difficulty) == (7, 8)


def test_forged_expired_unsolved_and_foreign_challenges_are_refused() -> None:
    P = vote_proof.ProofProblem
    token = vote_proof.issue_challenge(KEY, 7, 8, now=1_000_000)
    nonce = vote_proof.solve(token, 8)
    easier = token.replace(".8.", ".0.")  # the attacker lowers the difficulty: the signature no longer fits
    assert vote_proof.verify(KEY, easier, "0", 7, now=1_000_001) is P.FORGED
    assert vote_proof.verify(b"x" * 32, token, nonce, 7, now=1_000_001) is P.FORGED
    assert vote_proof.verify(KEY, token, nonce, 8, now=1_000_001) is P.WRONG_CONTEST
    assert vote_proof.verify(KEY, token, nonce, 7, now=1_000_000 + vote_proof.CHALLENGE_SECONDS + 1) is P.EXPIRED
    unsolved = next(str(n) for n in range(1000) if not vote_proof.solves(token, str(n), 8))
    assert vote_proof.verify(KEY, token, unsolved, 7, now=1_000_001) is P.UNSOLVED
    assert vote_proof.verify(KEY, "garbage", nonce, 7, now=1_000_001) is P.MALFORMED
    assert vote_proof.verify(KEY, token, "9" * 100, 7, now=1_000_001) is P.MALFORMED


def test_a_combined_award_that_hinges_on_one_judge_is_named() -> None:
    """The experts' means: A (90 + 80 + 80 + 80) / 4 = 82.50, B (70 + 84 + 84 + 84) / 4 = 80.50, C 60.00.
    Both A and B have the most votes (100 points each); C none. Combined, 70 % + 30 %:
    A 0.7 × 82.50 + 30 = 87.75 (一等奖), B 0.7 × 80.50 + 30 = 86.35 (二等奖), C 0.7 × 60 = 42.00.
    Without J1: A 80.00 → 86.00, B 84.00 → 88.80: B takes 一等奖 and A drops to 二等奖. Without J2, J3
    or J4: A 83.33 → 88.33, B 79.33 → 85.53, the same awards."""
    rubric = work_rubric(extra=TWO_AWARDS + VOTE)
    assert rubric.vote is not None
    frame = scores(
        {
            "A": {"J1": 90, "J2": 80, "J3": 80, "J4": 80},
            "B": {"J1": 70, "J2": 84, "J3": 84, "J4": 84},
            "C": {"J1": 60, "J2": 60, "J3": 60, "J4": 60},
        }
    )
    tallies = [
        VoteTally("A", Decimal("82.50"), 120),
        VoteTally("B", Decimal("80.50"), 120),
        VoteTally("C", Decimal("60.00"), 0),
    ]
    lines = combine(tallies, rubric.vote, rubric.max_total, 2)
    assert [(line.rank, line.entry, str(line.combined)) for line in lines] == [
        (1, "A", "87.75"),
        (2, "B", "86.35"),
        (3, "C", "42.00"),
    ]
    changes = leave_one_judge_out_combined(parse_score_frame(frame, rubric), rubric, None, tallies, lines)
    assert changes == [
        CombinedChange("A", "一等奖", "二等奖", 2, Decimal("86.00"), without="J1"),
        CombinedChange("B", "二等奖", "一等奖", 1, Decimal("88.80"), without="J1"),
    ]
