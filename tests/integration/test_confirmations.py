"""Consequential actions ask first: the first post changes nothing and says exactly what will happen; the
confirmed post (same fields, same CSRF token, ``confirmed=1``) does it."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from judging.extensions import db
from judging.models import (
    Certificate,
    Contest,
    Entry,
    EntryStatus,
    Objection,
    ObjectionStatus,
    PanelMember,
    Phase,
    ResultSnapshot,
    SnapshotStatus,
    User,
    utcnow,
)
from judging.services import objections, publication, snapshots
from tests.conftest import csrf_token, submitted_video_entry
from tests.scenarios import recuse_expert5, seed_review_contest

DESK = "/organizer/contests/micro-video/publication"
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def _contest() -> Contest:
    return db.session.scalar(select(Contest).where(Contest.slug == "micro-video"))


def _organizer() -> User:
    return db.session.scalar(select(User).where(User.username == "organizer"))


def _confirm(client: FlaskClient, url: str, page: str):  # type: ignore[no-untyped-def]
    """Press Confirm on a confirmation page: post back exactly the hidden fields it carries."""
    start = page.index(f'<form method="post" action="{url}"')
    fields = HIDDEN.findall(page[start : page.index("</form>", start)])
    assert ("confirmed", "1") in fields
    return client.post(url, data=MultiDict(fields))


@pytest.fixture
def review(app: Flask, users: dict[str, int], short_video: Path) -> dict[str, str]:
    with app.app_context():
        codes = seed_review_contest(app, short_video)
        recuse_expert5()
    return codes


def _frozen(app: Flask, *, notice_over: bool) -> int:
    with app.app_context():
        snapshot = publication.freeze(db.session, _organizer(), _contest(), 5)
        if notice_over:
            snapshot.publicity_ends_at = _contest().publicity_ends_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
        return snapshot.number


def test_publish_says_how_many_certificates_and_publishes_only_when_confirmed(
    app: Flask, review: dict[str, str], client_for
) -> None:  # type: ignore[no-untyped-def]
    number = _frozen(app, notice_over=True)
    with app.app_context():
        snapshot = db.session.scalar(select(ResultSnapshot))
        payload = snapshots.payload_of(snapshot)
        expected = len(snapshots.award_rows(payload)) + len(snapshots.level_rows(payload))
        assert expected > 0
    organizer = client_for("organizer")
    url = f"/organizer/contests/micro-video/snapshots/{number}/publish"
    asked = organizer.post(url, data={"csrf_token": csrf_token(organizer, DESK)})
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200
    assert f"确定发布“网络安全微视频评选”第 {number} 号结果？" in page or f"第 {number} 号结果？" in page
    assert f"将颁发 {expected} 张证书" in page and "不再更改" in page
    with app.app_context():
        assert db.session.scalar(select(ResultSnapshot.status)) is SnapshotStatus.FROZEN
        assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0
        assert _contest().phase is Phase.PUBLICITY
    done = _confirm(organizer, url, page)
    assert done.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(ResultSnapshot.status)) is SnapshotStatus.PUBLISHED
        assert db.session.scalar(select(func.count()).select_from(Certificate)) == expected


def test_upholding_an_objection_asks_first_rejecting_does_not(app: Flask, review: dict[str, str], client_for) -> None:  # type: ignore[no-untyped-def]
    _frozen(app, notice_over=False)
    with app.app_context():
        snapshot = db.session.scalar(select(ResultSnapshot))
        filed = [
            objections.file_objection(
                db.session, snapshot, name=name, contact=contact, subject=review[letter], reason=reason
            )
            for name, contact, letter, reason in (
                ("甲", "13800000000", "A", "我认为评分偏高，请复核。"),
                ("乙", "13900000000", "B", "该作品时长超过规定，请核实。"),
            )
        ]
        assert filed[0].id != filed[1].id
        db.session.commit()
        (first_id, first_ref), (second_id, _ref) = [(o.id, o.reference) for o in filed]
    organizer = client_for("organizer")
    url = f"/organizer/objections/{first_id}/answer"
    asked = organizer.post(
        url, data={"csrf_token": csrf_token(organizer, DESK), "decision": "uphold", "answer": "经核实，重新评审。"}
    )
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and f"确定支持异议 {first_ref}？" in page
    assert "将撤下公示" in page and "退回评审阶段" in page
    with app.app_context():
        assert db.session.get(Objection, first_id).status is ObjectionStatus.PENDING
        assert db.session.scalar(select(ResultSnapshot.status)) is SnapshotStatus.FROZEN
    # Rejecting changes no result: answered at once.
    rejected = organizer.post(
        f"/organizer/objections/{second_id}/answer",
        data={"csrf_token": csrf_token(organizer, DESK), "decision": "reject", "answer": "评分符合细则。"},
    )
    assert rejected.status_code == 302
    done = _confirm(organizer, url, page)
    assert done.status_code == 302
    with app.app_context():
        assert db.session.get(Objection, first_id).status is ObjectionStatus.UPHELD
        assert db.session.get(Objection, first_id).answer == "经核实，重新评审。"
        assert db.session.get(Objection, second_id).status is ObjectionStatus.REJECTED
        assert db.session.scalar(select(ResultSnapshot.status)) is SnapshotStatus.WITHDRAWN
        assert _contest().phase is Phase.REVIEW


def test_reopening_submissions_states_what_is_kept_and_moves_back_only_when_confirmed(
    app: Flask, review: dict[str, str], client_for
) -> None:  # type: ignore[no-untyped-def]
    organizer = client_for("organizer")
    url = "/organizer/contests/micro-video/phase"
    token = csrf_token(organizer, "/organizer/contests/micro-video")
    asked = organizer.post(url, data={"csrf_token": token, "phase": "open"})
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200
    assert "将从“评审中”退回到“征集中”" in page or "退回到" in page
    assert "已提交的 5 件作品保持不变" in page
    with app.app_context():
        assert _contest().phase is Phase.REVIEW
    # The confirmation carries the same CSRF token; without it, nothing happens.
    assert ("csrf_token", token) in HIDDEN.findall(page)
    forged = organizer.post(url, data={"phase": "open", "confirmed": "1"})
    assert forged.status_code == 400
    with app.app_context():
        assert _contest().phase is Phase.REVIEW
    assert _confirm(organizer, url, page).status_code == 302
    with app.app_context():
        assert _contest().phase is Phase.OPEN
    # A forward move needs no confirmation.
    forward = organizer.post(url, data={"csrf_token": token, "phase": "review"})
    assert forward.status_code == 302
    with app.app_context():
        assert _contest().phase is Phase.REVIEW


def test_removing_a_judge_counts_what_goes_and_removes_only_when_confirmed(
    app: Flask, review: dict[str, str], client_for
) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        judge = db.session.scalar(select(User).where(User.username == "expert4"))
        judge_id = judge.id
    organizer = client_for("organizer")
    url = f"/organizer/contests/micro-video/judging/panel/{judge_id}/remove"
    asked = organizer.post(url, data={"csrf_token": csrf_token(organizer, "/organizer/contests/micro-video/judging")})
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "确定将 Expert4 移出评审组？" in page
    assert re.search(r"\d+ 份评分表仍会保存，但不计入结果", page)
    with app.app_context():
        assert db.session.scalar(select(PanelMember.id).where(PanelMember.judge_id == judge_id)) is not None
    assert _confirm(organizer, url, page).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(PanelMember.id).where(PanelMember.judge_id == judge_id)) is None


def test_withdrawing_an_entry_asks_first(app: Flask, users: dict[str, int], short_video: Path, client_for) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        entry = submitted_video_entry(app, "entrant-a", short_video, title="城市守护者")
        entry_id, code = entry.id, entry.code
    entrant = client_for("entrant-a")
    url = f"/entrant/entries/{entry_id}/withdraw"
    asked = entrant.post(url, data={"csrf_token": csrf_token(entrant, f"/entrant/entries/{entry_id}")})
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200
    assert f"确定撤回 {code}？" in page and "《城市守护者》" in page and "名额将被释放" in page
    assert f'href="/entrant/entries/{entry_id}"' in page  # Cancel goes back to the entry
    with app.app_context():
        assert db.session.get(Entry, entry_id).status is EntryStatus.SUBMITTED
    assert _confirm(entrant, url, page).status_code == 302
    with app.app_context():
        assert db.session.get(Entry, entry_id).status is EntryStatus.WITHDRAWN


def test_an_action_the_workflow_refuses_is_refused_at_once_not_confirmed(
    app: Flask, review: dict[str, str], client_for
) -> None:  # type: ignore[no-untyped-def]
    number = _frozen(app, notice_over=False)  # the notice period is still running: publishing is refused
    organizer = client_for("organizer")
    url = f"/organizer/contests/micro-video/snapshots/{number}/publish"
    refused = organizer.post(url, data={"csrf_token": csrf_token(organizer, DESK)}, follow_redirects=True)
    page = refused.get_data(as_text=True)
    assert "data-confirm-title" not in page and 'name="confirmed"' not in page
    assert 'class="alert alert-danger"' in page
    with app.app_context():
        assert db.session.scalar(select(ResultSnapshot.status)) is SnapshotStatus.FROZEN


def test_upholding_several_objections_at_once_asks_first(app: Flask, review: dict[str, str], client_for) -> None:  # type: ignore[no-untyped-def]
    number = _frozen(app, notice_over=False)
    with app.app_context():
        snapshot = db.session.scalar(select(ResultSnapshot))
        filed = [
            objections.file_objection(
                db.session, snapshot, name=name, contact=contact, subject=review[letter], reason=reason
            )
            for name, contact, letter, reason in (
                ("甲", "13800000000", "A", "我认为评分偏高，请复核。"),
                ("乙", "13900000000", "B", "该作品时长超过规定，请核实。"),
            )
        ]
        db.session.commit()
        ids = [str(objection.id) for objection in filed]
        references = [objection.reference for objection in filed]
    organizer = client_for("organizer")
    url = f"/organizer/contests/micro-video/snapshots/{number}/answers"
    data = MultiDict(
        [
            ("bulk-csrf_token", csrf_token(organizer, DESK)),
            ("bulk-decision", "uphold"),
            ("bulk-answer", "经核实，重新评审。"),
            *(("bulk-objection_ids", value) for value in ids),
        ]
    )
    asked = organizer.post(url, data=data)
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and f"确定支持异议 {references[0]}, {references[1]}？" in page
    with app.app_context():
        assert {o.status for o in db.session.scalars(select(Objection))} == {ObjectionStatus.PENDING}
    assert _confirm(organizer, url, page).status_code == 302
    with app.app_context():
        assert {o.status for o in db.session.scalars(select(Objection))} == {ObjectionStatus.UPHELD}
        assert db.session.scalar(select(ResultSnapshot.status)) is SnapshotStatus.WITHDRAWN
