"""The public vote's pages (issue 19): the visitor's page and vote, and the organiser's vote desk."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select, text

from judging import vote_proof
from judging.extensions import db
from judging.models import AuditEvent, Contest, Vote, utcnow
from judging.rubric import parse_rubric
from judging.rubric_document import same_rubric
from judging.rubric_form import form_data_of
from judging.services import contests, votes
from tests.conftest import ROOT, csrf_token
from tests.integration.test_votes import VOTE_SECTION, contest, organizer, with_vote
from tests.scenarios import seed_review_contest

PAGE = "/vote/micro-video"
DESK = "/organizer/contests/micro-video/vote"


def open_vote_on(app: Flask, video: Path, section: str = VOTE_SECTION) -> dict[str, str]:
    with app.app_context():
        with_vote(section)
        codes = seed_review_contest(app, video)
        votes.open_vote(db.session, organizer(), contest(), utcnow() + timedelta(days=7))
        db.session.commit()
    return codes


def vote_fields(client: FlaskClient, screen: str = "1x1", **fields: str) -> dict[str, str]:
    """A vote's form as the page's script posts it: the page's CSRF token and a fresh challenge, solved."""
    token = csrf_token(client, PAGE)
    challenge = client.get(f"{PAGE}/challenge").get_json()
    nonce = vote_proof.solve(challenge["token"], challenge["difficulty"])
    return {"csrf_token": token, "token": challenge["token"], "nonce": nonce, "screen": screen, **fields}


def vote_in(client: FlaskClient, code: str, nonce_for=None, **fields: str):  # type: ignore[no-untyped-def]
    data = vote_fields(client, screen="390x844", time_zone="Asia/Shanghai", **fields)
    return client.post(f"{PAGE}/{code}", data=data, headers={"User-Agent": "Mozilla/5.0 phone"}, follow_redirects=True)


def script_votes(target: Contest, entry_id: int, n: int, start: datetime) -> None:
    """``n`` votes for the entry as a script casts them: one network, every 15 seconds from ``start``, a
    fresh cookie each time (committed)."""
    for i in range(n):
        token = vote_proof.issue_challenge(b"k" * 32, target.id, 0, int(start.timestamp()))
        votes.cast_vote(
            db.session,
            target,
            entry_id,
            votes.Voter(None, f"{i:040d}", f"203.0.113.{i + 1}", "bot", "zh", "1x1", "UTC"),
            token,
            "0",
            b"k" * 32,
            "Asia/Shanghai",
            now=start + timedelta(seconds=15 * i),
        )
    db.session.commit()


def count_of(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Vote)) or 0


def test_the_vote_page_reads_without_script_and_counts_show_live(
    app: Flask, users: dict[str, int], short_video: Path
) -> None:
    codes = open_vote_on(app, short_video)
    client = app.test_client()
    page = client.get(PAGE)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "vote_device=" in page.headers["Set-Cookie"] and "HttpOnly" in page.headers["Set-Cookie"]
    shown = re.findall(r'id="work-([A-Z0-9-]+)"', html)
    assert shown == sorted([codes["A"], codes["B"], codes["C"]])
    assert "<video" in html and 'data-vote-count="' in html
    assert "不启用 JavaScript 也可观看作品；投票需要启用 JavaScript" in html  # the noscript note, in Chinese by default
    answer = vote_in(client, codes["B"])
    assert "感谢您的投票" in answer.get_data(as_text=True)
    assert re.search(rf'data-vote-count="{codes["B"]}"[^>]*>1 票<', answer.get_data(as_text=True))
    # the work's video plays for everyone while it is on the shortlist
    video = re.search(r'<source src="(/files/\d+)"', html)
    assert video
    with app.test_client().get(video.group(1)) as played:
        assert played.status_code == 200 and played.mimetype == "video/mp4"


def test_hidden_counts_are_not_shown(app: Flask, users: dict[str, int], short_video: Path) -> None:
    codes = open_vote_on(app, short_video, VOTE_SECTION.replace('counts = "live"', 'counts = "hidden"'))
    client = app.test_client()
    vote_in(client, codes["A"])
    assert count_of(app) == 1
    assert "data-vote-count" not in client.get(PAGE).get_data(as_text=True)


def test_refused_votes_say_why_in_the_users_language_and_store_nothing(
    app: Flask, users: dict[str, int], short_video: Path
) -> None:
    codes = open_vote_on(app, short_video)
    client = app.test_client()
    client.get(PAGE)
    off_list = vote_in(client, codes["E"])
    assert "该作品不在投票候选名单中。" in off_list.get_data(as_text=True)
    no_proof = client.post(f"{PAGE}/{codes['A']}", data={"csrf_token": csrf_token(client, PAGE)}, follow_redirects=True)
    assert "投票校验无效，请刷新页面后重新投票。" in no_proof.get_data(as_text=True)
    no_csrf = client.post(f"{PAGE}/{codes['A']}", data={"token": "x", "nonce": "1"})
    assert no_csrf.status_code in (302, 400)
    english = app.test_client()
    english.get("/lang/en")
    english.get(PAGE)
    vote_in(english, codes["A"])
    vote_in(english, codes["A"])
    third = vote_in(english, codes["A"])
    assert "You have already voted 2 times for this work today." in third.get_data(as_text=True)
    assert count_of(app) == 2
    assert app.test_client().get("/vote/isg-skills").status_code == 404


def test_an_archived_contests_vote_is_not_found_and_takes_no_vote(
    app: Flask, users: dict[str, int], short_video: Path
) -> None:
    codes = open_vote_on(app, short_video)
    client = app.test_client()
    client.get(PAGE)
    data = vote_fields(client)
    with app.app_context():
        contests.archive(db.session, organizer(), contest())
        db.session.commit()
    assert client.get(f"{PAGE}/challenge").status_code == 404
    assert client.post(f"{PAGE}/{codes['A']}", data=data, headers={"Accept": "application/json"}).status_code == 404
    assert count_of(app) == 0


def _change_behind_the_process(app: Flask, change: str) -> None:
    """What another worker, the organiser or an insider with the database does while this process keeps
    its ballot: in its own connection, committed."""
    with app.app_context(), db.engine.begin() as connection:
        target = connection.execute(select(Contest.id).where(Contest.slug == "micro-video")).scalar_one()
        if change == "closed":
            connection.execute(
                text("UPDATE vote_window SET closed_at = :now WHERE contest_id = :id"), {"now": utcnow(), "id": target}
            )
        elif change == "closing time moved to the past":
            connection.execute(
                text("UPDATE vote_window SET closes_at = :then WHERE contest_id = :id"),
                {"then": utcnow() - timedelta(minutes=1), "id": target},
            )
        else:
            connection.execute(
                text("UPDATE contest SET archived_at = :now WHERE id = :id"), {"now": utcnow(), "id": target}
            )


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ("closed", 409, "投票已结束。"),
        ("closing time moved to the past", 409, "投票已结束。"),
        ("archived", 404, None),
    ],
)
def test_a_vote_judged_on_a_ballot_the_database_no_longer_holds_is_not_stored(
    app: Flask, users: dict[str, int], short_video: Path, change: str, status: int, message: str | None
) -> None:
    """The process keeps the ballot it last read and judges a vote on it; the vote's insert stores it only
    if the database still holds that state. Changed behind the process's back, the vote goes to the full
    path, which refuses it, and the next vote reads the ballot again."""
    codes = open_vote_on(app, short_video)
    client = app.test_client()
    assert vote_in(client, codes["A"]).status_code == 200  # the ballot is kept now
    data = vote_fields(client)
    _change_behind_the_process(app, change)
    answer = client.post(f"{PAGE}/{codes['B']}", data=data, headers={"Accept": "application/json"})
    assert answer.status_code == status
    if message is not None:
        assert answer.get_json()["message"] == message
        with app.app_context():
            kept = votes.last_ballot(db.session, "micro-video")  # read again: the one it holds now
            assert not kept.open()
    assert count_of(app) == 1


def test_a_vote_on_the_kept_ballot_is_one_statement(app: Flask, users: dict[str, int], short_video: Path) -> None:
    """A vote reads nothing: one ``INSERT … SELECT`` (hidden counts: no count read in its answer)."""
    codes = open_vote_on(app, short_video, VOTE_SECTION.replace('counts = "live"', 'counts = "hidden"'))
    client = app.test_client()
    vote_in(client, codes["A"])
    data = vote_fields(client)
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def seen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement.split()[0])

    event.listen(engine, "before_cursor_execute", seen)
    try:
        answer = client.post(f"{PAGE}/{codes['B']}", data=data, headers={"Accept": "application/json"})
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert answer.status_code == 200 and answer.get_json()["ok"] is True
    assert statements == ["INSERT"]
    assert count_of(app) == 2


def test_the_organiser_voids_a_flagged_group_and_restores_it_with_reasons(
    app: Flask,
    users: dict[str, int],
    short_video: Path,
    client_for,  # type: ignore[no-untyped-def]
) -> None:
    codes = open_vote_on(app, short_video, VOTE_SECTION.replace("per_day = 3", "per_day = 30"))
    with app.app_context():
        target = contest()
        start = utcnow() - timedelta(hours=2)
        entry_ids = {e.code: e.id for e in votes.shortlisted_entries(db.session, target)}
        script_votes(target, entry_ids[codes["C"]], 12, start)
    organizer_client = client_for("organizer")
    desk = organizer_client.get(DESK).get_data(as_text=True)
    assert f'data-flag="network" data-flag-entry="{codes["C"]}"' in desk
    assert "203.0.113.0/24" in desk
    token = csrf_token(organizer_client, DESK)
    group = f"{codes['C']}|network|203.0.113.0/24"
    voided = organizer_client.post(
        f"{DESK}/void", data={"csrf_token": token, "group": group, "reason": "同一网段定时刷票"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "已作废 12 票。" in voided
    assert re.search(
        rf'data-voided="{codes["C"]}">\s*<p class="mb-1">{codes["C"]}：已作废 12 票——同一网段定时刷票', voided
    )
    assert 'id="no-flags"' in voided
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "vote.void"))
        assert event is not None and event.data["reason"] == "同一网段定时刷票" and len(event.data["votes"]) == 12
        vote_ids = [str(v) for v in event.data["votes"]]
    no_reason = organizer_client.post(
        f"{DESK}/restore", data={"csrf_token": token, "vote_ids": vote_ids, "reason": ""}, follow_redirects=True
    ).get_data(as_text=True)
    assert "请说明理由，并选择投票。" in no_reason
    restored = organizer_client.post(
        f"{DESK}/restore",
        data={"csrf_token": token, "vote_ids": vote_ids[:2], "reason": "核实为真实投票"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "2 票重新计入。" in restored
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Vote.voided_at.is_(None))) == 2


@pytest.mark.parametrize(
    ("flags", "flagged"),
    [("", False), ("\n[vote.flags]\ngroup_min = 5\nregular_run = 5\n", True)],
    ids=["default", "stricter"],
)
def test_the_desk_flags_by_the_rubrics_thresholds(
    app: Flask,
    users: dict[str, int],
    short_video: Path,
    client_for,  # type: ignore[no-untyped-def]
    flags: str,
    flagged: bool,
) -> None:
    """Six scripted votes (one network, every 15 seconds) pass under the default thresholds (ten of a kind)
    and are flagged, as a group and as machine-regular, once the rubric's [vote.flags] ask for five."""
    codes = open_vote_on(app, short_video, VOTE_SECTION.replace("per_day = 3", "per_day = 30") + flags)
    with app.app_context():
        target = contest()
        start = utcnow() - timedelta(hours=2)
        entry_ids = {e.code: e.id for e in votes.shortlisted_entries(db.session, target)}
        script_votes(target, entry_ids[codes["C"]], 6, start)
        kinds = [(flag.entry, flag.kind.value, flag.count) for flag in votes.rigging_flags(db.session, target)]
    desk = client_for("organizer").get(DESK).get_data(as_text=True)
    if flagged:
        assert kinds == [(codes["C"], "network", 6), (codes["C"], "device", 6), (codes["C"], "regular", 6)]
        assert f'data-flag="network" data-flag-entry="{codes["C"]}"' in desk
        assert 'id="no-flags"' not in desk
    else:
        assert kinds == []
        assert 'id="no-flags"' in desk


def test_the_builder_shows_and_saves_the_vote_section(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    """The organiser adds [vote] in the browser builder; it is saved as typed and shown again unchanged."""
    editor = "/organizer/contests/micro-video/rubric"
    text = (ROOT / "rubrics" / "micro_video.toml").read_text(encoding="utf-8") + VOTE_SECTION
    wanted = parse_rubric(text)
    client = client_for("organizer")
    saved = client.post(editor, data={**form_data_of(wanted), "op": "save", "csrf_token": csrf_token(client, editor)})
    assert saved.status_code in (200, 302)
    with app.app_context():
        assert same_rubric(parse_rubric(contest().current_rubric.text), wanted)
    page = client.get(editor).get_data(as_text=True)
    assert "公众投票" in page and 'name="vote.expert_weight"' in page and "投票人身份" in page
