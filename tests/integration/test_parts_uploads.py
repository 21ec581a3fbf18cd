"""Resumable uploads on both storages (local disk, and a real S3 server: SeaweedFS): declared, sent in parts,
interrupted and continued by another client, verified server side, refused when tampered, expired and cleaned.
"""

from __future__ import annotations

import hashlib
import io
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from judging.extensions import db
from judging.media import generate_test_video
from judging.models import EntryFile, PartsUpload, User
from judging.services import entries, parts_uploads
from judging.storage import storage_from_config
from tests.conftest import csrf_token, open_contest_for_entries

PART = 5 * 1024 * 1024  # S3's smallest part


@pytest.fixture
def app(storage_app: Flask) -> Flask:
    """Every test here runs on local disk and on SeaweedFS (and on both databases)."""
    storage_app.config["UPLOAD_PART_BYTES"] = PART
    return storage_app


@pytest.fixture(scope="session")
def multipart_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real H.264 clip of three 5 MiB parts (the last one shorter)."""
    path = tmp_path_factory.mktemp("videos") / "multipart.mp4"
    generate_test_video(path, 14, pattern="testsrc2", size="1280x720", rate=25)
    assert 2 * PART < path.stat().st_size < 3 * PART, path.stat().st_size
    return path


def _draft(app: Flask) -> int:
    with app.app_context():
        contest = open_contest_for_entries("micro-video")
        entrant = db.session.scalar(db.select(User).where(User.username == "entrant-a"))
        entry = entries.create_draft(db.session, entrant, contest, title="分段上传", fields={"theme": "主题"})
        db.session.commit()
        return entry.id


def _headers(client: FlaskClient, entry_id: int) -> dict[str, str]:
    return {"X-CSRFToken": csrf_token(client, f"/entrant/entries/{entry_id}"), "X-Requested-With": "XMLHttpRequest"}


def _begin(client: FlaskClient, entry_id: int, name: str, size: int) -> Any:
    return client.post(
        f"/entrant/entries/{entry_id}/uploads", json={"name": name, "size": size}, headers=_headers(client, entry_id)
    )


def _put(client: FlaskClient, url: str, data: bytes, headers: dict[str, str]) -> int:
    """PUT a part where the server said: the app itself (local disk), or the object store (presigned)."""
    if url.startswith("/"):
        return client.put(url, data=data, headers=headers, content_type="application/octet-stream").status_code
    request = urllib.request.Request(url, data=data, method="PUT")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _objects(app: Flask) -> list[str]:
    """Every file the storage holds under a key, and every upload it still holds parts of."""
    with app.app_context():
        storage = storage_from_config(app.config)
        return storage.keys() + [token for token, _ref, _at in storage.unfinished_parts()]


def _parts(data: bytes, part_size: int) -> list[bytes]:
    return [data[i : i + part_size] for i in range(0, len(data), part_size)]


def test_an_upload_interrupted_after_k_parts_is_continued_by_a_new_client_with_the_same_sha256(  # type: ignore[no-untyped-def]
    app: Flask, client_for, multipart_video: Path
) -> None:
    data = multipart_video.read_bytes()
    entry_id = _draft(app)
    first = client_for("entrant-a")
    begun = _begin(first, entry_id, "长视频.mp4", len(data))
    assert begun.status_code == 201, begun.get_data(as_text=True)
    answer = begun.get_json()
    assert answer["parts"] == 3 and answer["part_size"] == PART and answer["received"] == []
    chunks = _parts(data, answer["part_size"])
    headers = _headers(first, entry_id)
    assert _put(first, answer["urls"]["1"], chunks[0], headers) == 200  # then the connection drops

    second = client_for("entrant-a")  # a reload, or another browser of the same organisation
    status = second.get(answer["status_url"]).get_json()
    assert status["received"] == [1] and status["received_bytes"] == PART
    assert sorted(status["urls"]) == ["2", "3"]
    refused = second.post(status["complete_url"], json={}, headers=_headers(second, entry_id))
    assert (
        refused.status_code == 409 and refused.get_json()["message"] == "上传尚未完成：还缺 2 段。"
    )  # nothing discarded
    headers = _headers(second, entry_id)
    for number in ("2", "3"):
        assert _put(second, status["urls"][number], chunks[int(number) - 1], headers) == 200
    done = second.post(
        status["complete_url"], json={"sha256": hashlib.sha256(data).hexdigest()}, headers=_headers(second, entry_id)
    )
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.get_json()["ok"] is True and "长视频.mp4" in done.get_json()["files_html"]
    with app.app_context():
        stored = db.session.scalar(db.select(EntryFile).where(EntryFile.entry_id == entry_id))
        assert stored.sha256 == hashlib.sha256(data).hexdigest()
        assert stored.size_bytes == len(data) and stored.duration_seconds is not None
        assert stored.thumbnail_key is not None and stored.blind_key is not None  # the contest is blind
        storage = storage_from_config(app.config)
        assert hashlib.sha256(storage.path(stored.storage_key).read_bytes()).hexdigest() == stored.sha256
        assert db.session.scalar(db.select(db.func.count(PartsUpload.id))) == 0
        assert sorted(_objects(app)) == sorted(stored.stored_keys)  # no part, no joined object left


def test_a_tampered_part_is_refused_and_leaves_no_object(  # type: ignore[no-untyped-def]
    app: Flask, client_for, multipart_video: Path
) -> None:
    data = multipart_video.read_bytes()
    entry_id = _draft(app)
    client = client_for("entrant-a")
    answer = _begin(client, entry_id, "作品.mp4", len(data)).get_json()
    chunks = _parts(data, answer["part_size"])
    tampered = chunks[1][:100] + bytes(256) + chunks[1][356:]  # same length, other bytes
    headers = _headers(client, entry_id)
    for number, chunk in zip(("1", "2", "3"), (chunks[0], tampered, chunks[2]), strict=True):
        assert _put(client, answer["urls"][number], chunk, headers) == 200
    refused = client.post(
        answer["complete_url"], json={"sha256": hashlib.sha256(data).hexdigest()}, headers=_headers(client, entry_id)
    )
    assert refused.status_code == 400
    assert refused.get_json()["message"] == "收到的文件与发送的文件不同（SHA-256 不一致），未保存任何内容。"
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(EntryFile.id))) == 0
        assert db.session.scalar(db.select(db.func.count(PartsUpload.id))) == 0
    assert _objects(app) == []
    assert client.get(answer["status_url"]).status_code == 404  # the upload is gone


def test_parts_that_do_not_add_up_to_the_declared_size_are_refused_and_leave_no_object(  # type: ignore[no-untyped-def]
    app: Flask, client_for, multipart_video: Path
) -> None:
    data = multipart_video.read_bytes()
    entry_id = _draft(app)
    client = client_for("entrant-a")
    answer = _begin(client, entry_id, "作品.mp4", len(data)).get_json()
    chunks = _parts(data, answer["part_size"])
    headers = _headers(client, entry_id)
    assert _put(client, answer["urls"]["1"], chunks[0], headers) == 200
    assert _put(client, answer["urls"]["2"], chunks[1], headers) == 200
    short_last = chunks[2][:-10]
    status = _put(client, answer["urls"]["3"], short_last, headers)
    if answer["urls"]["3"].startswith("/"):
        assert status == 400  # the app refuses a part of the wrong size at once
        assert client.get(answer["status_url"]).get_json()["received"] == [1, 2]
    else:  # the store took it: the server finds out on completion
        assert status == 200
        refused = client.post(answer["complete_url"], json={}, headers=_headers(client, entry_id))
        assert refused.status_code == 400
        assert refused.get_json()["message"].startswith("收到的各段与声明的文件")
        assert _objects(app) == []
        with app.app_context():
            assert db.session.scalar(db.select(db.func.count(EntryFile.id))) == 0
            assert db.session.scalar(db.select(db.func.count(PartsUpload.id))) == 0


def test_the_declaration_is_refused_early_with_the_rubric_limits(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    entry_id = _draft(app)
    client = client_for("entrant-a")
    too_large = _begin(client, entry_id, "a.mp4", 1025 * 1024 * 1024)
    assert too_large.status_code == 413
    assert too_large.get_json()["message"] == "文件超过 1024 MB，超出本评选的上限。"
    wrong_type = _begin(client, entry_id, "a.exe", 1000)
    assert wrong_type.status_code == 400
    assert wrong_type.get_json()["message"] == "该文件的实际内容不属于接受的格式：mp4, mov。"
    assert _begin(client, entry_id, "a.mp4", 0).get_json()["message"] == "文件为空。"
    other = client_for("entrant-b")  # another organisation's entry does not exist for it
    headers = {"X-CSRFToken": csrf_token(other, "/entrant/")}
    assert (
        other.post(
            f"/entrant/entries/{entry_id}/uploads", json={"name": "a.mp4", "size": 1000}, headers=headers
        ).status_code
        == 404
    )
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(PartsUpload.id))) == 0
    assert _objects(app) == []


def test_another_organisation_cannot_see_or_feed_an_upload(  # type: ignore[no-untyped-def]
    app: Flask, client_for
) -> None:
    entry_id = _draft(app)
    owner = client_for("entrant-a")
    answer = _begin(owner, entry_id, "a.mp4", 1000).get_json()
    intruder = client_for("entrant-b")
    assert intruder.get(answer["status_url"]).status_code == 404
    headers = {"X-CSRFToken": csrf_token(intruder, "/entrant/")}
    part_url = f"/entrant/uploads/{answer['upload']}/parts/1"
    assert intruder.put(part_url, data=b"x" * 1000, headers=headers).status_code == 404
    assert intruder.post(answer["complete_url"], json={}, headers=headers).status_code == 404
    assert owner.get(answer["status_url"]).get_json()["received"] == []


def test_unfinished_uploads_expire_and_their_parts_are_deleted(  # type: ignore[no-untyped-def]
    app: Flask, client_for, multipart_video: Path
) -> None:
    data = multipart_video.read_bytes()
    entry_id = _draft(app)
    client = client_for("entrant-a")
    answer = _begin(client, entry_id, "a.mp4", len(data)).get_json()
    assert _put(client, answer["urls"]["1"], data[:PART], _headers(client, entry_id)) == 200
    with app.app_context():
        storage = storage_from_config(app.config)
        orphan = storage.begin_parts("f" * 32)  # a begin whose row was rolled back
        assert len(storage.unfinished_parts()) == 2
        upload = db.session.scalar(db.select(PartsUpload))
        upload.expires_at -= timedelta(days=2)
        db.session.commit()
        assert parts_uploads.expire(db.session, storage) == 1  # the orphan is younger than an hour: kept
        db.session.commit()
        assert [token for token, _r, _a in storage.unfinished_parts()] == ["f" * 32]
        parts_uploads.ORPHAN_AGE = timedelta(seconds=-60)
        try:
            assert parts_uploads.expire(db.session, storage) == 1
        finally:
            parts_uploads.ORPHAN_AGE = timedelta(hours=1)
        assert orphan is not None
        assert db.session.scalar(db.select(db.func.count(PartsUpload.id))) == 0
    assert _objects(app) == []
    assert client.get(answer["status_url"]).status_code == 404


def test_parts_outside_the_declared_file_are_refused(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    """A sender cannot add parts beyond the declared size (to slip a larger file past the quota) nor send a
    part larger than its place; on local disk the app refuses at once and keeps nothing."""
    if app.config["STORAGE_BACKEND"] != "local":
        pytest.skip("parts go to the app only on local disk; the store's parts are checked on completion")
    entry_id = _draft(app)
    client = client_for("entrant-a")
    answer = _begin(client, entry_id, "a.mp4", PART + 10).get_json()
    headers = _headers(client, entry_id)
    base = f"/entrant/uploads/{answer['upload']}/parts"
    for number in (0, 3, 10_001):
        response = client.put(f"{base}/{number}", data=b"x" * 10, headers=headers)
        assert response.status_code == 400
    assert client.put(f"{base}/2", data=b"x" * 11, headers=headers).get_json()["message"] == (
        "第 2 段的大小与声明的不符（应为 10 字节）。"
    )
    assert client.get(answer["status_url"]).get_json()["received"] == []
    assert _objects(app) == [answer["upload"]]  # the upload itself, with no part in it
    upload_folder = Path(app.config["UPLOAD_FOLDER"])
    assert [p for p in (upload_folder / "parts").rglob("*") if p.is_file()] == []
    assert [p for p in (upload_folder / "tmp").glob(".part-*")] == []


def test_with_the_object_store_a_part_sent_to_the_app_is_refused_and_kept_nowhere(  # type: ignore[no-untyped-def]
    app: Flask, client_for
) -> None:
    if app.config["STORAGE_BACKEND"] == "local":
        pytest.skip("on local disk the app is where parts go")
    entry_id = _draft(app)
    client = client_for("entrant-a")
    answer = _begin(client, entry_id, "a.mp4", PART + 10).get_json()
    response = client.put(
        f"/entrant/uploads/{answer['upload']}/parts/1", data=b"x" * PART, headers=_headers(client, entry_id)
    )
    assert response.status_code == 400
    assert response.get_json()["message"] == "请把这一段发送到上传状态给出的地址，而不是本站。"
    assert client.get(answer["status_url"]).get_json()["received"] == []
    assert _objects(app) == [answer["upload"]]


def test_the_page_may_reach_the_object_store_and_nothing_else(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    entry_id = _draft(app)
    csp = client_for("entrant-a").get(f"/entrant/entries/{entry_id}").headers["Content-Security-Policy"]
    assert "media-src 'self' blob:;" in csp  # a chosen video's duration is read before it is sent
    if app.config["STORAGE_BACKEND"] == "s3":
        assert f"connect-src 'self' {app.config['S3_ENDPOINT_URL']};" in csp
    else:
        assert "connect-src 'self';" in csp


def test_the_storage_contract_holds_on_both_backends(app: Flask) -> None:
    """Saved files come back byte for byte; a publication withdrawn (a rollback) leaves no object, one settled
    (a commit) keeps its files and drops the retiring ones once asked; deleted keys are gone."""
    with app.app_context():
        storage = storage_from_config(app.config)
        saved = storage.save(io.BytesIO(b"x" * 3000))
        assert storage.exists(saved.key) and storage.path(saved.key).read_bytes() == b"x" * 3000
        assert saved.sha256 == hashlib.sha256(b"x" * 3000).hexdigest()
        staged = storage.stage(io.BytesIO(b"kept"))
        published = storage.publish([staged], retiring=[saved.key], database="test", ticket=1)
        assert storage.exists(staged.key)
        storage.withdraw(published, [saved.key])  # the commit went through: the retiring file goes
        assert not storage.exists(saved.key) and storage.path(staged.key).read_bytes() == b"kept"
        rolled_back = storage.stage(io.BytesIO(b"gone"))
        storage.withdraw(storage.publish([rolled_back], database="test", ticket=2))
        assert not storage.exists(rolled_back.key)
        assert storage.interrupted_publications() == []
        assert storage.keys() == [staged.key]
        storage.delete(staged.key)
        assert not storage.exists(staged.key) and storage.keys() == []
        with pytest.raises(ValueError):
            storage.path("../../etc/passwd")


def test_flask_expire_uploads_removes_an_expired_upload(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    entry_id = _draft(app)
    client = client_for("entrant-a")
    answer = _begin(client, entry_id, "a.mp4", 1000).get_json()
    with app.app_context():
        upload = db.session.scalar(db.select(PartsUpload))
        upload.expires_at -= timedelta(days=2)
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["expire-uploads"])
    assert result.exit_code == 0, result.output
    assert result.output == "1 unfinished uploads removed.\n"
    assert _objects(app) == []
    assert client.get(answer["status_url"]).status_code == 404
