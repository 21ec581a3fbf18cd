"""Serving entry files: only to those who may see the entry, seekable, never revealing the uploader."""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask

from judging.extensions import db
from judging.models import Contest, EntryFile, Phase, User
from judging.services import contests, panel
from tests.conftest import submitted_video_entry


def fetch(client, url: str, **kwargs):  # type: ignore[no-untyped-def]
    """GET a URL and close the (streamed) response: status, headers and body."""
    with client.get(url, **kwargs) as response:
        return response.status_code, response.headers, response.get_data()


def _entry_file_id(app: Flask, short_video: Path) -> int:
    with app.app_context():
        entry = submitted_video_entry(app, "entrant-a", short_video, "浦东的作品")
        return entry.files[0].id


def _assign_judge(app: Flask) -> None:
    with app.app_context():
        contest = db.session.scalar(db.select(Contest).where(Contest.slug == "micro-video"))
        organizer = db.session.scalar(db.select(User).where(User.username == "organizer"))
        judge = db.session.scalar(db.select(User).where(User.username == "judge"))
        contests.change_phase(db.session, organizer, contest, Phase.REVIEW)
        panel.add_to_panel(db.session, organizer, contest, judge)
        panel.assign_every_judge(db.session, organizer, contest)
        db.session.commit()


def test_entrant_streams_its_own_video_with_ranges(app: Flask, client_for, short_video: Path) -> None:  # type: ignore[no-untyped-def]
    file_id = _entry_file_id(app, short_video)
    client = client_for("entrant-a")
    status, headers, data = fetch(client, f"/files/{file_id}")
    assert status == 200
    assert headers["Accept-Ranges"] == "bytes"
    with app.app_context():  # the stored copy (container metadata stripped), byte for byte
        assert hashlib.sha256(data).hexdigest() == db.session.get(EntryFile, file_id).sha256
    assert data[4:8] == b"ftyp"
    status, headers, part = fetch(client, f"/files/{file_id}", headers={"Range": "bytes=100-199"})
    assert status == 206
    assert headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    assert part == data[100:200]
    status, headers, thumbnail = fetch(client, f"/files/{file_id}/thumbnail")
    assert headers["Content-Type"] == "image/jpeg" and thumbnail[:2] == b"\xff\xd8"


def test_other_organisation_and_anonymous_cannot_reach_the_file(app: Flask, client_for, short_video: Path) -> None:  # type: ignore[no-untyped-def]
    file_id = _entry_file_id(app, short_video)
    assert fetch(client_for("entrant-b"), f"/files/{file_id}")[0] == 404
    assert fetch(client_for("entrant-b"), f"/files/{file_id}/thumbnail")[0] == 404
    assert fetch(client_for("judge"), f"/files/{file_id}")[0] == 404  # not assigned
    assert fetch(app.test_client(), f"/files/{file_id}")[0] == 404  # public only once published and awarded
    assert fetch(client_for("organizer"), f"/files/{file_id}")[0] == 200


def test_assigned_judge_gets_the_file_under_the_entry_code_only(app: Flask, client_for, short_video: Path) -> None:  # type: ignore[no-untyped-def]
    file_id = _entry_file_id(app, short_video)
    _assign_judge(app)
    status, headers, _ = fetch(client_for("judge"), f"/files/{file_id}")
    assert status == 200
    assert headers["Content-Disposition"] == "inline; filename=MV-001.mp4"
    assert "原始文件名" not in str(headers) and "浦东" not in str(headers)
    _, owner_headers, _ = fetch(client_for("entrant-a"), f"/files/{file_id}")
    assert "filename*=UTF-8''%E5%8E%9F%E5%A7%8B%E6%96%87%E4%BB%B6%E5%90%8D.mp4" in owner_headers["Content-Disposition"]
