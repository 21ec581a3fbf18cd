"""The entrant portal through the test client: drafts with rubric fields, streamed uploads checked by
content, submission with declarations, withdrawal, deadlines, and what another organisation cannot reach.
"""

from __future__ import annotations

import io
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from judging.extensions import db
from judging.media import ffmpeg_executable, generate_test_video
from judging.models import Contest, Entry, EntryFile, EntryStatus
from judging.storage import LocalStorage
from tests.conftest import csrf_token, open_contest_for_entries

XHR = {"X-Requested-With": "XMLHttpRequest"}
DECLARATIONS = {"declaration_0": "y", "declaration_1": "y"}


@pytest.fixture
def portal(app: Flask, users: dict[str, int]) -> Flask:
    with app.app_context():
        open_contest_for_entries("micro-video")
    return app


def stored_files(app: Flask) -> list[Path]:
    return [p for p in Path(app.config["UPLOAD_FOLDER"]).rglob("*") if p.is_file()]


def create_entry(client: FlaskClient, title: str = "守护市民的网络安全", **fields: str) -> int:
    url = "/entrant/contests/micro-video/entries/new"
    data = {"csrf_token": csrf_token(client, url), "title": title, "summary": "简介", "field_theme": "主题"}
    data.update(fields)
    response = client.post(url, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def multipart(fields: dict[str, object]) -> dict[str, object]:
    """A multipart body built in memory (the test client would spool a large one to a temporary file
    that it never closes), as keyword arguments for ``client.post``."""
    values = {
        key: FileStorage(value[0], filename=value[1], content_type="application/octet-stream")
        if isinstance(value, tuple)
        else value
        for key, value in fields.items()
    }
    boundary, body = encode_multipart(values)
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def upload(client: FlaskClient, entry_id: int, content: bytes, name: str, *, xhr: bool = True):  # type: ignore[no-untyped-def]
    token = csrf_token(client, f"/entrant/entries/{entry_id}")
    return client.post(
        f"/entrant/entries/{entry_id}/upload",
        **multipart({"csrf_token": token, "file": (io.BytesIO(content), name)}),
        headers=XHR if xhr else {},
    )


def test_draft_fields_are_typed_and_checked_on_the_server(portal: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for("entrant-a")
    url = "/entrant/contests/micro-video/entries/new"
    token = csrf_token(client, url)
    page = client.post(url, data={"csrf_token": token, "title": "作品", "field_theme": "", "field_views": "很多"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "不是有效的整数" in html or "Not a valid integer" in html
    with portal.app_context():
        assert db.session.scalar(db.select(db.func.count(Entry.id))) == 0
    entry_id = create_entry(client, field_views="1200", field_published_url="https://example.org/v")
    with portal.app_context():
        entry = db.session.get(Entry, entry_id)
        assert entry.fields == {"theme": "主题", "views": 1200, "published_url": "https://example.org/v"}
        assert entry.status is EntryStatus.DRAFT and entry.title == "守护市民的网络安全"


def test_upload_is_stored_with_a_safe_name_and_a_thumbnail(portal: Flask, client_for, short_video: Path) -> None:  # type: ignore[no-untyped-def]
    client = client_for("entrant-a")
    entry_id = create_entry(client)
    response = upload(client, entry_id, short_video.read_bytes(), "../../宣传片 最终版.mp4")
    answer = response.get_json()
    assert response.status_code == 200 and answer["ok"] is True
    assert answer["message"] == "文件 宣传片 最终版.mp4 已上传。"
    with portal.app_context():
        stored = db.session.scalar(db.select(EntryFile).where(EntryFile.entry_id == entry_id))
        assert stored.original_name == "宣传片 最终版.mp4"
        assert stored.content_type == "video/mp4"
        assert stored.duration_seconds == pytest.approx(5, abs=0.1)
        assert answer["thumbnail"] == f"/files/{stored.id}/thumbnail"
    with client.get(answer["thumbnail"]) as thumbnail:
        assert thumbnail.status_code == 200 and thumbnail.get_data()[:3] == b"\xff\xd8\xff"
    page = client.get(f"/entrant/entries/{entry_id}").get_data(as_text=True)
    assert "宣传片 最终版.mp4" in page and f"/files/{stored.id}/thumbnail" in page


def test_video_of_170_seconds_is_accepted(portal: Flask, client_for, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    video = tmp_path / "170.mp4"
    generate_test_video(video, 170, size="64x48")
    client = client_for("entrant-a")
    entry_id = create_entry(client)
    response = upload(client, entry_id, video.read_bytes(), "170.mp4")
    assert response.status_code == 200, response.get_json()
    with portal.app_context():
        stored = db.session.scalar(db.select(EntryFile).where(EntryFile.entry_id == entry_id))
        assert 169.9 <= float(stored.duration_seconds) <= 170.1


def test_video_title_tags_are_stripped_from_the_blind_copy(portal: Flask, client_for, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tagged = tmp_path / "tagged.mp4"
    generate_test_video(tmp_path / "plain.mp4", 3, size="64x48")
    subprocess.run(
        [
            ffmpeg_executable(),
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(tmp_path / "plain.mp4"),
            "-c",
            "copy",
            "-metadata",
            "title=浦东新区网信办出品",
            "-metadata",
            "artist=PUDONG-SECRET",
            str(tagged),
        ],
        check=True,
    )
    assert b"PUDONG-SECRET" in tagged.read_bytes()
    client = client_for("entrant-a")
    entry_id = create_entry(client)
    assert upload(client, entry_id, tagged.read_bytes(), "tagged.mp4").status_code == 200
    with portal.app_context():
        stored = db.session.scalar(db.select(EntryFile).where(EntryFile.entry_id == entry_id))
        file_id = stored.id
    with client.get(f"/files/{file_id}") as served:  # the entrant gets its own upload back as sent
        assert served.get_data() == tagged.read_bytes()
    with portal.app_context():
        copy = LocalStorage(portal.config["UPLOAD_FOLDER"]).path(stored.blind_key).read_bytes()
    assert b"PUDONG-SECRET" not in copy and "浦东新区网信办出品".encode() not in copy
    assert copy[4:8] == b"ftyp"


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ("这不是视频".encode(), "fake.mp4", "该文件不是可播放的视频。"),
        (b"%PDF-1.4\n%%EOF\n", "renamed.mp4", "该文件不是可播放的视频。"),
        (b"", "empty.mp4", "文件为空。"),
    ],
)
def test_wrong_content_is_refused_whatever_its_name_and_leaves_nothing(  # type: ignore[no-untyped-def]
    portal: Flask, client_for, content: bytes, name: str, message: str
) -> None:
    client = client_for("entrant-a")
    entry_id = create_entry(client)
    response = upload(client, entry_id, content, name)
    assert response.status_code == 400
    assert response.get_json() == {"ok": False, "message": message, "thumbnail": None, "image": None}
    with portal.app_context():
        assert db.session.scalar(db.select(db.func.count(EntryFile.id))) == 0
    assert stored_files(portal) == []


def test_upload_without_javascript_flashes_the_refusal(portal: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for("entrant-a")
    entry_id = create_entry(client)
    response = upload(client, entry_id, b"plain text", "x.mov", xhr=False)
    assert response.status_code == 302
    assert "该文件不是可播放的视频。" in client.get(f"/entrant/entries/{entry_id}").get_data(as_text=True)


def test_oversize_upload_gets_the_friendly_413_page(portal: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for("entrant-a")
    entry_id = create_entry(client)
    token = csrf_token(client, f"/entrant/entries/{entry_id}")
    portal.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    response = client.post(
        f"/entrant/entries/{entry_id}/upload",
        **multipart({"csrf_token": token, "file": (io.BytesIO(b"\0" * 200_000), "big.mp4")}),
    )
    assert response.status_code == 413
    assert "文件过大" in response.get_data(as_text=True)
    with portal.app_context():
        assert db.session.scalar(db.select(db.func.count(EntryFile.id))) == 0
    assert stored_files(portal) == []


def test_submit_with_declarations_then_withdraw_frees_the_quota(  # type: ignore[no-untyped-def]
    portal: Flask, client_for, short_video: Path
) -> None:
    client = client_for("entrant-a")
    first = create_entry(client, "第一部")
    second = create_entry(client, "第二部")
    for entry_id in (first, second):
        assert upload(client, entry_id, short_video.read_bytes(), "作品.mp4").status_code == 200

    token = csrf_token(client, f"/entrant/entries/{first}")
    client.post(f"/entrant/entries/{first}/submit", data={"csrf_token": token, "declaration_0": "y"})
    page = client.get(f"/entrant/entries/{first}").get_data(as_text=True)
    assert "请确认：作品为本单位原创" in page
    client.post(f"/entrant/entries/{first}/submit", data={"csrf_token": token, **DECLARATIONS})
    client.post(f"/entrant/entries/{second}/submit", data={"csrf_token": token, **DECLARATIONS})
    assert "本单位已报送 1 件作品，已达上限。" in client.get(f"/entrant/entries/{second}").get_data(as_text=True)
    with portal.app_context():
        assert db.session.get(Entry, first).status is EntryStatus.SUBMITTED
        assert db.session.get(Entry, first).quota_slot == 1
        assert db.session.get(Entry, second).status is EntryStatus.DRAFT

    client.post(f"/entrant/entries/{first}/withdraw", data={"csrf_token": token, "confirmed": "1"})
    client.post(f"/entrant/entries/{second}/submit", data={"csrf_token": token, **DECLARATIONS})
    with portal.app_context():
        assert db.session.get(Entry, first).status is EntryStatus.WITHDRAWN
        assert db.session.get(Entry, first).quota_slot is None
        assert db.session.get(Entry, second).status is EntryStatus.SUBMITTED
        assert db.session.get(Entry, second).quota_slot == 1
    dashboard = client.get("/entrant/").get_data(as_text=True)
    assert "已撤回" in dashboard and "已提交" in dashboard


def test_late_edit_and_withdrawal_are_refused_with_the_deadline(  # type: ignore[no-untyped-def]
    portal: Flask, client_for, short_video: Path
) -> None:
    client = client_for("entrant-a")
    entry_id = create_entry(client)
    token = csrf_token(client, f"/entrant/entries/{entry_id}")
    with portal.app_context():
        contest = db.session.scalar(db.select(Contest).where(Contest.slug == "micro-video"))
        contest.submission_deadline = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)
        db.session.commit()
    client.post(f"/entrant/entries/{entry_id}/withdraw", data={"csrf_token": token, "confirmed": "1"})
    page = client.get(f"/entrant/entries/{entry_id}").get_data(as_text=True)
    assert "报送截止时间（2026-09-01 18:00 中国标准时间）已过。" in page
    response = upload(client, entry_id, short_video.read_bytes(), "late.mp4")
    assert response.get_json()["message"] == "报送截止时间（2026-09-01 18:00 中国标准时间）已过。"
    with portal.app_context():
        assert db.session.get(Entry, entry_id).status is EntryStatus.DRAFT
        assert db.session.scalar(db.select(db.func.count(EntryFile.id))) == 0


def test_another_organisations_entry_is_unreachable(portal: Flask, client_for, short_video: Path) -> None:  # type: ignore[no-untyped-def]
    owner = client_for("entrant-a")
    entry_id = create_entry(owner)
    other = client_for("entrant-b")
    token = csrf_token(other, "/entrant/")
    assert other.get(f"/entrant/entries/{entry_id}").status_code == 404
    assert other.get(f"/entrant/entries/{entry_id}/edit").status_code == 404
    assert other.post(f"/entrant/entries/{entry_id}/withdraw", data={"csrf_token": token}).status_code == 404
    response = other.post(
        f"/entrant/entries/{entry_id}/upload",
        **multipart({"csrf_token": token, "file": (io.BytesIO(short_video.read_bytes()), "x.mp4")}),
    )
    assert response.status_code == 404
    with portal.app_context():
        assert db.session.get(Entry, entry_id).status is EntryStatus.DRAFT
        assert db.session.scalar(db.select(db.func.count(EntryFile.id))) == 0


def test_dashboard_shows_the_deadline_in_shanghai_time_with_a_countdown(portal: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    with portal.app_context():
        contest = db.session.scalar(db.select(Contest).where(Contest.slug == "micro-video"))
        contest.submission_deadline = datetime(2099, 9, 1, 10, 0, tzinfo=UTC)
        db.session.commit()
    page = client_for("entrant-a").get("/entrant/").get_data(as_text=True)
    assert "2099-09-01 18:00 中国标准时间" in page
    assert 'data-deadline="2099-09-01T10:00:00+00:00"' in page and "js/countdown.js" in page
    assert "/entrant/contests/micro-video/entries/new" in page


def test_upload_answer_is_json_only_for_script_requests(portal: Flask, client_for, short_video: Path) -> None:  # type: ignore[no-untyped-def]
    client = client_for("entrant-a")
    entry_id = create_entry(client)
    response = upload(client, entry_id, short_video.read_bytes(), "作品.mp4", xhr=False)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/entrant/entries/{entry_id}")
    assert "文件 作品.mp4 已上传。" in client.get(f"/entrant/entries/{entry_id}").get_data(as_text=True)
    with portal.app_context():
        assert [f.original_name for f in db.session.get(Entry, entry_id).files] == ["作品.mp4"]
