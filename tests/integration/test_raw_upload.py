"""The browser's uploader sends the file itself as the request body: streamed straight into storage,
CSRF-checked through its header, kept as sent, and copied without metadata for blind judges."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import quote

from flask import Flask
from flask.testing import FlaskClient

from judging.extensions import db
from judging.media import run_ffmpeg
from judging.models import Entry, EntryFile, User
from judging.services import entries
from judging.storage import LocalStorage
from tests.conftest import csrf_token, open_contest_for_entries


def _draft(app: Flask) -> int:
    with app.app_context():
        contest = open_contest_for_entries("micro-video")
        entrant = db.session.scalar(db.select(User).where(User.username == "entrant-a"))
        entry = entries.create_draft(db.session, entrant, contest, title="原始上传", fields={"theme": "主题"})
        db.session.commit()
        return entry.id


def _send(client: FlaskClient, entry_id: int, data: bytes, name: str, token: str | None):  # type: ignore[no-untyped-def]
    headers = {"X-Requested-With": "XMLHttpRequest", "X-File-Name": quote(name)}
    if token:
        headers["X-CSRFToken"] = token
    return client.post(
        f"/entrant/entries/{entry_id}/upload", data=data, headers=headers, content_type="application/octet-stream"
    )


def _tagged_copy(source: Path, target: Path) -> None:
    run_ffmpeg(
        "-i",
        str(source),
        "-c",
        "copy",
        "-metadata",
        "title=浦东新区委网信办出品",
        "-metadata",
        "artist=张三",
        str(target),
    )


def test_raw_body_upload_stores_an_untagged_video_byte_for_byte(  # type: ignore[no-untyped-def]
    app: Flask, client_for, short_video: Path
) -> None:
    entry_id = _draft(app)
    client = client_for("entrant-a")
    token = csrf_token(client, f"/entrant/entries/{entry_id}")
    response = _send(client, entry_id, short_video.read_bytes(), "我们的作品.mp4", token)
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    assert answer["ok"] is True
    assert "我们的作品.mp4" in answer["files_html"] and 'id="entry-files"' in answer["files_html"]
    with app.app_context():
        stored = db.session.scalar(db.select(EntryFile).where(EntryFile.entry_id == entry_id))
        assert stored.original_name == "我们的作品.mp4"
        assert stored.sha256 == hashlib.sha256(short_video.read_bytes()).hexdigest()  # no remux was needed
        assert stored.thumbnail_key is not None


def test_raw_body_upload_keeps_the_original_and_a_blind_copy_without_tags(  # type: ignore[no-untyped-def]
    app: Flask, client_for, short_video: Path, tmp_path: Path
) -> None:
    tagged = tmp_path / "tagged.mp4"
    _tagged_copy(short_video, tagged)
    entry_id = _draft(app)
    client = client_for("entrant-a")
    response = _send(
        client, entry_id, tagged.read_bytes(), "tagged.mp4", csrf_token(client, f"/entrant/entries/{entry_id}")
    )
    assert response.get_json()["ok"] is True
    with app.app_context():
        stored = db.session.scalar(db.select(EntryFile).where(EntryFile.entry_id == entry_id))
        storage = LocalStorage(app.config["UPLOAD_FOLDER"])
        original = storage.path(stored.storage_key).read_bytes()
        copy = storage.path(stored.blind_key).read_bytes()
    assert original == tagged.read_bytes()  # the entrant's upload, as sent
    assert stored.blind_sha256 == hashlib.sha256(copy).hexdigest() != stored.sha256
    assert "浦东新区".encode() not in copy and "张三".encode() not in copy


def test_raw_body_upload_without_csrf_token_is_refused_and_stores_nothing(  # type: ignore[no-untyped-def]
    app: Flask, client_for, short_video: Path
) -> None:
    entry_id = _draft(app)
    response = _send(client_for("entrant-a"), entry_id, short_video.read_bytes(), "x.mp4", None)
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(EntryFile.id))) == 0
    assert [p for p in Path(app.config["UPLOAD_FOLDER"]).rglob("*") if p.is_file()] == []


def test_raw_body_over_the_request_limit_gets_413(app: Flask, client_for, short_video: Path) -> None:  # type: ignore[no-untyped-def]
    entry_id = _draft(app)
    client = client_for("entrant-a")
    token = csrf_token(client, f"/entrant/entries/{entry_id}")
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = _send(client, entry_id, short_video.read_bytes(), "x.mp4", token)
    assert response.status_code == 413
    with app.app_context():
        assert db.session.get(Entry, entry_id).files == []
