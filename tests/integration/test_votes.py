"""The public vote through its service (issue 19): opening on the experts' shortlist, the limits (also
under concurrency on PostgreSQL), proof-of-work attacks, voiding with an audit trail and the combined
result."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from judging import vote_proof
from judging.extensions import db
from judging.models import AuditEvent, Contest, Entry, User, Vote, utcnow
from judging.rubric import parse_rubric
from judging.services import ServiceError, contests, publication, votes
from tests.conftest import ROOT
from tests.scenarios import seed_review_contest

KEY = b"vote-test-key-0123456789abcdef01"
SLUG = "micro-video"
ZONE = "Asia/Shanghai"
DIFFICULTY = 4

VOTE_SECTION = """
[vote]
identity = "device"
counts = "live"
per_entry_per_day = 2
per_day = 3
pow_difficulty = 4
shortlist = "top"
shortlist_size = 3
expert_weight = 0.7
vote_weight = 0.3
normalisation = "share_of_max"
"""


def with_vote(section: str = VOTE_SECTION) -> None:
    """Give micro-video a [vote] section (before any sheet exists, so the rubric may still change)."""
    text = (ROOT / "rubrics" / "micro_video.toml").read_text(encoding="utf-8") + section
    contests.sync_rubric(db.session, None, parse_rubric(text, "micro_video.toml"), edition="2026")
    db.session.commit()


def contest() -> Contest:
    found = db.session.scalar(select(Contest).where(Contest.slug == SLUG))
    assert found is not None
    return found


def organizer() -> User:
    found = db.session.scalar(select(User).where(User.username == "organizer"))
    assert found is not None
    return found


def entry_id(code: str) -> int:
    found = db.session.scalar(select(Entry.id).where(Entry.code == code))
    assert found is not None
    return found


def device(n: int, address: str | None = None, agent: str = "Mozilla/5.0 test") -> votes.Voter:
    return votes.Voter(
        account_id=None,
        device_id=f"{n:040d}",
        address=address or f"198.51.{n % 256}.{n % 200 + 1}",
        user_agent=agent,
        language="zh-CN",
        screen="1920x1080",
        time_zone="Asia/Shanghai",
    )


def proof() -> tuple[str, str]:
    token = votes.issue_challenge(contest(), KEY, DIFFICULTY)
    return token, vote_proof.solve(token, DIFFICULTY)


PATHS = ["one insert", "kept ballot", "full"]
"""A vote goes through :func:`votes.cast_ballot` (one insert, the full path deciding whatever that insert
does not store) on a ballot just read in the request's transaction ("one insert"), or as the vote page
casts it: on the process's kept ballot (:func:`votes.last_ballot`), read only when there is none, with no
transaction begun, so that the insert runs alone in autocommit ("kept ballot"); or through
:func:`votes.cast_vote` (the full path alone). Every limit, attack and race below holds on all three."""


CURRENT_PATH = ["full"]


@pytest.fixture(params=PATHS, autouse=True)
def vote_path(request: pytest.FixtureRequest) -> str:
    CURRENT_PATH[0] = str(request.param)
    return CURRENT_PATH[0]


def cast_on(path: str, code: str, voter: votes.Voter, token: str, nonce: str, now: datetime | None = None) -> Vote:
    """One vote by ``path`` (uncommitted): the stored row."""
    if path == "full":
        return votes.cast_vote(db.session, contest(), entry_id(code), voter, token, nonce, KEY, ZONE, now=now)
    if path == "kept ballot":
        votes.last_ballot(db.session, SLUG)  # read when this process keeps none
        db.session.commit()  # a vote request begins with no transaction
        current = votes.last_ballot(db.session, SLUG)
        assert not db.session().in_transaction()
    else:
        current = votes.ballot(db.session, SLUG)
    votes.cast_ballot(db.session, current, code, voter, token, nonce, KEY, ZONE, now=now)
    stored = db.session.scalar(select(Vote).where(Vote.challenge == token.split(".")[1]))
    assert stored is not None
    return stored


def cast(code: str, voter: votes.Voter, token_nonce: tuple[str, str] | None = None) -> Vote:
    token, nonce = token_nonce or proof()
    vote = cast_on(CURRENT_PATH[0], code, voter, token, nonce)
    db.session.commit()
    return vote


def vote_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Vote)) or 0


@pytest.fixture
def voting(app: Flask, users: dict[str, int], short_video: Path):  # type: ignore[no-untyped-def]
    """micro-video with a vote, its experts' result in, and the vote open for a week on the top 3."""
    with app.app_context():
        with_vote()
        codes = seed_review_contest(app, short_video)
        votes.open_vote(db.session, organizer(), contest(), utcnow() + timedelta(days=7))
        db.session.commit()
        yield codes


def test_the_vote_opens_on_the_experts_top_three(app: Flask, voting: dict[str, str]) -> None:
    window = votes.window_of(db.session, contest())
    assert window is not None
    codes = {i: c for c, i in ((c, entry_id(c)) for c in voting.values())}
    assert [codes[i] for i in window.shortlist] == [voting["B"], voting["A"], voting["C"]]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "vote.open"))
    assert event is not None and event.data["shortlist"] == window.shortlist


def test_votes_within_the_limits_are_stored_with_their_signals(app: Flask, voting: dict[str, str]) -> None:
    vote = cast(voting["B"], device(1, address="203.0.113.77"))
    assert (vote.network, vote.user_agent, vote.day_slot, vote.entry_slot) == (
        "203.0.113.0/24",
        "Mozilla/5.0 test",
        1,
        1,
    )
    assert vote.voter == f"device:{vote.device_hash}" and len(vote.signature_hash) == 64
    assert votes.network_prefix("2001:db8:1234:5678::1") == "2001:db8:1234::/48"
    assert votes.network_prefix("::ffff:192.0.2.9") == "192.0.2.0/24"


def test_over_limit_votes_are_refused_and_not_stored(app: Flask, voting: dict[str, str]) -> None:
    voter = device(1)
    cast(voting["B"], voter)
    cast(voting["B"], voter)
    with pytest.raises(ServiceError) as per_entry:
        cast(voting["B"], voter)
    assert per_entry.value.message == "您今天已为该作品投了 2 票，明天可以再投。"
    cast(voting["A"], voter)
    with pytest.raises(ServiceError) as per_day:
        cast(voting["C"], voter)
    assert per_day.value.message == "您今天的 3 票已全部用完，明天可以再投。"
    db.session.rollback()
    assert vote_count() == 3


def test_a_replayed_or_forged_proof_is_refused_and_nothing_is_stored(app: Flask, voting: dict[str, str]) -> None:
    used = proof()
    cast(voting["B"], device(1), used)
    with pytest.raises(ServiceError) as replayed:
        cast(voting["A"], device(2), used)
    assert replayed.value.message == "该投票校验已使用过，请重新投票。"
    token, _nonce = proof()
    forged = token.replace(f".{DIFFICULTY}.", ".0.")
    with pytest.raises(ServiceError) as forged_error:
        cast(voting["B"], device(3), (forged, "0"))
    assert forged_error.value.message == "投票校验无效，请刷新页面后重新投票。"
    unsolved = next(str(n) for n in range(1000) if not vote_proof.solves(token, str(n), DIFFICULTY))
    with pytest.raises(ServiceError) as unsolved_error:
        cast(voting["B"], device(3), (token, unsolved))
    assert "投票校验未完成" in unsolved_error.value.message
    old = vote_proof.issue_challenge(KEY, contest().id, DIFFICULTY, int(utcnow().timestamp()) - 3600)
    with pytest.raises(ServiceError) as expired:
        cast(voting["B"], device(3), (old, vote_proof.solve(old, DIFFICULTY)))
    assert expired.value.message == "投票校验已过期，请重新投票。"
    db.session.rollback()
    assert vote_count() == 1


def test_votes_off_the_shortlist_outside_the_window_or_after_closing_are_refused(
    app: Flask, voting: dict[str, str]
) -> None:
    with pytest.raises(ServiceError) as off_list:
        cast(voting["D"], device(1))
    assert off_list.value.message == "该作品不在投票候选名单中。"
    token, nonce = proof()
    later = utcnow() + timedelta(days=8)
    with pytest.raises(ServiceError) as too_late:
        cast_on(CURRENT_PATH[0], voting["B"], device(1), token, nonce, now=later)
    assert too_late.value.message == "投票已结束。"
    votes.close_vote(db.session, organizer(), contest())
    db.session.commit()
    with pytest.raises(ServiceError) as closed:
        cast(voting["B"], device(1))
    assert closed.value.message == "投票已结束。"
    db.session.rollback()
    assert vote_count() == 0


def test_a_device_without_its_cookie_or_an_anonymous_voter_where_accounts_are_needed_is_refused(
    app: Flask, voting: dict[str, str]
) -> None:
    with pytest.raises(ServiceError) as no_cookie:
        cast(voting["B"], votes.Voter(None, "", "198.51.100.1"))
    assert no_cookie.value.message.startswith("无法识别您的浏览器。")
    db.session.rollback()
    assert vote_count() == 0


def test_sheets_are_settled_and_freezing_waits_for_the_vote(app: Flask, voting: dict[str, str]) -> None:
    with pytest.raises(ServiceError) as frozen:
        contests.require(contests.Action.FREEZE_RESULTS, contest())
    assert frozen.value.message == "公众投票仍在进行，请先结束投票再冻结结果。"
    with pytest.raises(ServiceError) as sheets:
        contests.require(contests.Action.SAVE_SHEETS, contest())
    assert sheets.value.message == "公众投票已基于专家评审结果开始，评分表不能再修改。"


def test_voided_votes_leave_the_combined_score_and_show_why(app: Flask, voting: dict[str, str]) -> None:
    """Experts (trimmed mean of four sheets, one dropped at each end): B 84.50, A 84.00, C 76.50; the top
    three go to the vote.

    Votes: A 4, B 2, C 1 → A leads with 4. Combined (70 % experts + 30 % share of the most votes × 100):
      A: 0.7 × 84.00 + 0.3 × 100 = 58.8 + 30 = 88.80
      B: 0.7 × 84.50 + 0.3 × 50  = 59.15 + 15 = 74.15
      C: 0.7 × 76.50 + 0.3 × 25  = 53.55 + 7.5 = 61.05
    The organiser voids A's last three (one network); then A 1, B 2, C 1:
      B: 59.15 + 30 = 89.15;  A: 58.8 + 15 = 73.80;  C: 53.55 + 15 = 68.55
    """
    a, b, c = voting["A"], voting["B"], voting["C"]
    cast(a, device(1))
    rigged = [cast(a, device(n, address=f"203.0.113.{n}")) for n in (2, 3, 4)]
    cast(b, device(5))
    cast(b, device(6))
    cast(c, device(7))
    result = votes.combined_result(db.session, contest())
    assert [(line.entry, str(line.expert_score), line.votes, str(line.combined)) for line in result.lines] == [
        (a, "84.00", 4, "88.80"),
        (b, "84.50", 2, "74.15"),
        (c, "76.50", 1, "61.05"),
    ]
    voided = votes.void_votes(db.session, organizer(), contest(), [v.id for v in rigged], "一个网段的刷票")
    db.session.commit()
    assert voided == 3
    result = votes.combined_result(db.session, contest())
    assert [
        (line.entry, line.votes, line.voided_count, dict(line.voided), str(line.combined)) for line in result.lines
    ] == [
        (b, 2, 0, {}, "89.15"),
        (a, 1, 3, {"一个网段的刷票": 3}, "73.80"),
        (c, 1, 0, {}, "68.55"),
    ]
    assert result.changed_if_voided_counted == [a, b]
    assert result.awards == {b: "一等奖", a: "二等奖", c: "二等奖"}
    assert [
        (x.entry, x.award, x.award_then, x.rank_then, str(x.combined_then))
        for x in result.award_changes_if_voided_counted
    ] == [
        (b, "一等奖", "二等奖", 2, "74.15"),
        (a, "二等奖", "一等奖", 1, "88.80"),
    ]
    assert result.award_changes_without_a_judge == []  # the votes, not a single judge, decide B over A
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "vote.void"))
    assert event is not None
    assert (event.data["votes"], event.data["reason"], event.data["per_entry"]) == (
        sorted(v.id for v in rigged),
        "一个网段的刷票",
        {a: 3},
    )
    restored = votes.restore_votes(db.session, organizer(), contest(), [rigged[0].id], "误判：同一单位的三位同事")
    db.session.commit()
    assert restored == 1
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "vote.restore")) is not None
    assert {line.entry: line.votes for line in votes.combined_result(db.session, contest()).lines}[a] == 2


def test_voiding_needs_a_reason_and_votes_of_this_contest(app: Flask, voting: dict[str, str]) -> None:
    vote = cast(voting["A"], device(1))
    with pytest.raises(ServiceError) as no_reason:
        votes.void_votes(db.session, organizer(), contest(), [vote.id], "  ")
    assert no_reason.value.message == "请填写理由。"
    with pytest.raises(ServiceError) as unknown:
        votes.void_votes(db.session, organizer(), contest(), [vote.id, 999999], "x")
    assert unknown.value.message == "所选投票中有的不属于本评选。"
    db.session.rollback()
    assert db.session.scalar(select(func.count()).where(Vote.voided_at.is_not(None))) == 0


def test_the_combined_result_is_frozen_once_the_vote_closes(app: Flask, voting: dict[str, str]) -> None:
    cast(voting["C"], device(1))
    votes.close_vote(db.session, organizer(), contest())
    db.session.commit()
    # expert5's draft sheet on A would be left out silently: submit-or-remove is the organiser's call
    db.session.execute(
        db.text("DELETE FROM score WHERE sheet_id IN (SELECT id FROM score_sheet WHERE status = 'draft')")
    )
    db.session.execute(
        db.text("DELETE FROM check_answer WHERE sheet_id IN (SELECT id FROM score_sheet WHERE status = 'draft')")
    )
    db.session.execute(db.text("DELETE FROM score_sheet WHERE status = 'draft'"))
    db.session.commit()
    snapshot = publication.freeze(db.session, organizer(), contest())
    db.session.commit()
    payload = json.loads(snapshot.payload)
    assert [
        (line["rank"], line["entry"], line["combined"], line["votes"], line["voided"])
        for line in payload["vote"]["lines"]
    ] == [
        (1, voting["C"], "83.55", 1, 0),
        (2, voting["B"], "59.15", 0, 0),
        (3, voting["A"], "58.80", 0, 0),
    ]
    page = app.test_client().get(f"/results/micro-video/{snapshot.number}").get_data(as_text=True)
    assert f'<tr data-entry="{voting["C"]}"><td>1</td>' in page and "公众投票与综合得分" in page


def test_concurrent_votes_cannot_both_take_the_last_slot(
    app: Flask, voting: dict[str, str], database_url: str, vote_path: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers; the race is PostgreSQL's")
    voter = device(1)
    cast(voting["B"], voter)
    cast(voting["A"], voter)  # one of three left today
    contest_id = contest().id
    ids = {code: entry_id(code) for code in voting.values()}
    proofs = [proof() for _ in range(8)]
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def attempt(index: int) -> None:
        with app.app_context():
            target = db.session.get(Contest, contest_id)
            assert target is not None
            token, nonce = proofs[index]
            code = voting["C"] if index % 2 else voting["B"]
            barrier.wait()
            try:
                if vote_path == "full":
                    votes.cast_vote(db.session, target, ids[code], voter, token, nonce, KEY, ZONE)
                else:
                    if vote_path == "kept ballot":
                        db.session.remove()  # the insert alone, in autocommit
                    current = (
                        votes.last_ballot(db.session, SLUG)
                        if vote_path == "kept ballot"
                        else votes.ballot(db.session, SLUG)
                    )
                    votes.cast_ballot(db.session, current, code, voter, token, nonce, KEY, ZONE)
                db.session.commit()
                outcomes.append("stored")
            except ServiceError as refused:
                db.session.rollback()
                outcomes.append(refused.message)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("stored") == 1
    assert outcomes.count("您今天的 3 票已全部用完，明天可以再投。") == 7
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).where(Vote.voter == f"device:{votes.device_of(voter)}")) == 3
