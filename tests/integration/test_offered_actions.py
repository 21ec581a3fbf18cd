"""The entrant's pages offer "New entry" and the submit form exactly when the service would accept the POST
(quota, phase, deadline, the work uploaded), and otherwise say why; the POST itself is refused the same way."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from judging.extensions import db
from judging.models import Contest, Entry, EntryStatus, User, utcnow
from judging.services import contests, entries, entry_files
from judging.storage import LocalStorage
from tests.conftest import csrf_token, open_contest_for_entries

NEW = "/entrant/contests/micro-video/entries/new"
DECLARATIONS = {"declaration_0": "y", "declaration_1": "y"}


def _micro_video_row(client: FlaskClient) -> str:
    page = client.get("/entrant/").get_data(as_text=True)
    start = page.index('data-contest="micro-video"')
    return page[start : page.index("</li>", start)]


def _entry_count() -> int:
    return db.session.scalar(select(func.count(Entry.id))) or 0


def _post_new(client: FlaskClient, title: str) -> None:
    token = csrf_token(client, "/entrant/")
    client.post(NEW, data={"csrf_token": token, "title": title, "summary": "", "field_theme": "主题"})


def _offered(client: FlaskClient) -> bool:
    row = _micro_video_row(client)
    offered = "data-new-entry>" in row
    assert offered != ("data-new-entry-refusal" in row)  # a button, or a sentence saying why: never both
    return offered


def _draft_with_work(app: Flask, username: str, video: Path, title: str) -> int:
    contest = db.session.scalar(select(Contest).where(Contest.slug == "micro-video"))
    entrant = db.session.scalar(select(User).where(User.username == username))
    entry = entries.create_draft(db.session, entrant, contest, title=title, fields={"theme": "主题"})
    with video.open("rb") as stream:
        entry_files.attach_work(
            db.session, entrant, entry, LocalStorage(app.config["UPLOAD_FOLDER"]), stream, "a.mp4", "video/mp4"
        )
    db.session.commit()
    return entry.id


def test_new_entry_is_offered_exactly_when_a_draft_would_be_accepted(
    app: Flask,
    users,
    client_for,
    short_video: Path,  # type: ignore[no-untyped-def]
) -> None:
    client = client_for("entrant-a")
    # In preparation: no button, the reason, and the POST is refused too.
    assert not _offered(client)
    assert "该评选当前不接受报送。" in _micro_video_row(client)
    with app.app_context():
        _post_new(client, "准备阶段")
        assert _entry_count() == 0
        open_contest_for_entries("micro-video")
    # Open: offered, and accepted.
    assert _offered(client)
    with app.app_context():
        _post_new(client, "第一部")
        assert _entry_count() == 1
        first = db.session.scalar(select(Entry.id))
        second = _draft_with_work(app, "entrant-a", short_video, "第二部")
    # Submitting fills the quota of 1: no new draft that could never be submitted, and the POST agrees.
    token = csrf_token(client, f"/entrant/entries/{second}")
    client.post(f"/entrant/entries/{second}/submit", data={"csrf_token": token, **DECLARATIONS})
    with app.app_context():
        assert db.session.get(Entry, second).status is EntryStatus.SUBMITTED
    assert not _offered(client)
    assert "本单位已报送 1 件作品，已达上限。撤回已报送的作品后才能开始新的作品。" in _micro_video_row(client)
    with app.app_context():
        _post_new(client, "第三部")
        assert _entry_count() == 2
    # Another organisation is not held by entrant-a's quota.
    assert _offered(client_for("entrant-b"))
    # Withdrawing frees the quota: offered again, and accepted.
    client.post(f"/entrant/entries/{second}/withdraw", data={"csrf_token": token, "confirmed": "1"})
    assert _offered(client)
    with app.app_context():
        _post_new(client, "第三部")
        assert _entry_count() == 3
        _post_new(client, "第四部")
        assert _entry_count() == 4  # drafts: 第一部, 第三部, 第四部 = quota 1 + 2, the most kept
    assert not _offered(client)
    assert (
        "已有 3 份草稿，已达上限（名额 1 份另加 2 份）。请先撤回不会报送的草稿，再新建："
        "MV-001 《第一部》；MV-003 《第三部》；MV-004 《第四部》。"
    ) in _micro_video_row(client)
    with app.app_context():
        _post_new(client, "第五部")
        assert _entry_count() == 4
        db.session.get(Entry, first)  # still there
    # After the deadline: nothing offered, the deadline named, and the POST refused.
    assert _offered(client_for("entrant-b"))
    with app.app_context():
        contest = db.session.scalar(select(Contest).where(Contest.slug == "micro-video"))
        contests.set_deadlines(
            db.session,
            None,
            contest,
            submission_deadline=utcnow() - timedelta(minutes=1),
            review_deadline=None,  # type: ignore[arg-type]
        )
        db.session.commit()
    entrant_b = client_for("entrant-b")
    assert not _offered(entrant_b)
    assert re.search(r"报送截止时间（[^）]+）已过", _micro_video_row(entrant_b))
    with app.app_context():
        _post_new(entrant_b, "迟到的作品")
        assert _entry_count() == 4


def test_submit_form_is_offered_exactly_when_the_submission_would_be_accepted(
    app: Flask,
    users,
    client_for,
    short_video: Path,  # type: ignore[no-untyped-def]
) -> None:
    client = client_for("entrant-a")
    with app.app_context():
        open_contest_for_entries("micro-video")
        contest = db.session.scalar(select(Contest).where(Contest.slug == "micro-video"))
        entrant = db.session.scalar(select(User).where(User.username == "entrant-a"))
        bare = entries.create_draft(db.session, entrant, contest, title="未上传", fields={"theme": "主题"}).id
        db.session.commit()
        ready = _draft_with_work(app, "entrant-a", short_video, "已上传")
        other = _draft_with_work(app, "entrant-a", short_video, "另一部")

    def offered(entry_id: int) -> bool:
        page = client.get(f"/entrant/entries/{entry_id}").get_data(as_text=True)
        shown = "data-submit-form >" in page  # a form waiting hidden for the work is not offered
        assert shown != ("data-submit-refusal" in page)
        return shown

    def submit(entry_id: int) -> EntryStatus:
        token = csrf_token(client, f"/entrant/entries/{entry_id}")
        client.post(f"/entrant/entries/{entry_id}/submit", data={"csrf_token": token, **DECLARATIONS})
        with app.app_context():
            return db.session.get(Entry, entry_id).status

    # No work uploaded: the reason instead of the form, and the POST refused.
    assert not offered(bare)
    page = client.get(f"/entrant/entries/{bare}").get_data(as_text=True)
    assert "请先上传作品再提交。" in page
    # Only the work is missing: the form waits hidden, for entry_page.js to show after an upload in place.
    assert "data-waits-for-work" in page and "data-submit-form hidden>" in page
    assert submit(bare) is EntryStatus.DRAFT
    # Work uploaded, quota free: offered and accepted.
    assert offered(ready) and offered(other)
    assert submit(ready) is EntryStatus.SUBMITTED
    # The quota is now full: the other draft is not offered the form, and the POST is refused.
    assert not offered(other)
    page = client.get(f"/entrant/entries/{other}").get_data(as_text=True)
    assert "本单位已报送 1 件作品，已达上限。" in page and "data-submit-form" not in page
    assert submit(other) is EntryStatus.DRAFT
