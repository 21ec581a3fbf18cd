"""Direct uploads verified in the background (issue 18): completing an upload joins its parts in the store
(SeaweedFS: CompleteMultipartUpload; no byte through the app) and queues a job; the job runs every check of
an upload in the worker; meanwhile the entry cannot be submitted; a refused file leaves no object and says
why; a check that stopped says why and is retried; running the job twice changes nothing. Against a real
SeaweedFS and a real Redis, on both databases (and on local disk where the backend does not matter)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from judging import s3_storage, worker
from judging.extensions import db
from judging.models import (
    JOB_TIMEOUT_SECONDS,
    AuditEvent,
    BackgroundJob,
    Entry,
    EntryFile,
    EntryStatus,
    JobStatus,
    PartsUpload,
    utcnow,
)
from judging.services import parts_uploads
from judging.storage import storage_from_config
from tests.conftest import csrf_token
from tests.integration.test_parts_uploads import PART, _begin, _draft, _headers, _objects, _parts, _put

POLL = {"X-Requested-With": "XMLHttpRequest"}  # as upload.js polls the check
SUBMIT_FIELDS = {"declaration_0": "y", "declaration_1": "y"}


@pytest.fixture
def app(storage_app: Flask, job_queue_url: str) -> Flask:
    """Local disk and SeaweedFS, with a job queue (a real Redis): completion only queues the check."""
    storage_app.config["UPLOAD_PART_BYTES"] = PART
    storage_app.config["JOB_QUEUE_URL"] = job_queue_url
    return storage_app


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real H.264 clip of two 5 MiB parts (the last one shorter)."""
    from judging.media import generate_test_video

    path = tmp_path_factory.mktemp("verified") / "clip.mp4"
    generate_test_video(path, 8, pattern="testsrc2", size="1280x720", rate=25)
    data = path.read_bytes()
    assert PART < len(data) < 2 * PART, len(data)
    return data


def _send(client: FlaskClient, entry_id: int, name: str, data: bytes) -> dict[str, Any]:
    """Declare, send every part where the server says; the status of the upload (not yet completed)."""
    begun = _begin(client, entry_id, name, len(data))
    assert begun.status_code == 201, begun.get_data(as_text=True)
    answer: dict[str, Any] = begun.get_json()
    headers = _headers(client, entry_id)
    for number, chunk in enumerate(_parts(data, answer["part_size"]), start=1):
        assert _put(client, answer["urls"][str(number)], chunk, headers) == 200
    return answer


def _complete(client: FlaskClient, entry_id: int, answer: dict[str, Any], sha256: str = "") -> Any:
    return client.post(answer["complete_url"], json={"sha256": sha256}, headers=_headers(client, entry_id))


def _job_id(app: Flask) -> int:
    with app.app_context():
        job_id = db.session.scalar(db.select(PartsUpload.job_id))
        assert job_id is not None
        return int(job_id)


def _submit(client: FlaskClient, entry_id: int) -> str:
    """POST the submission as a script would (the page offers no form while a file is checked)."""
    page = f"/entrant/entries/{entry_id}"
    response = client.post(
        f"{page}/submit", data={**SUBMIT_FIELDS, "csrf_token": csrf_token(client, page)}, follow_redirects=True
    )
    return response.get_data(as_text=True)


def _status(app: Flask, entry_id: int) -> EntryStatus:
    with app.app_context():
        entry = db.session.get(Entry, entry_id)
        assert entry is not None
        return entry.status


def _s3_calls(app: Flask) -> list[str]:
    """Every S3 operation the app's own client sends from now on (botocore's event hooks: a real client)."""
    called: list[str] = []
    client = s3_storage.client_from_config(app.config)
    client.meta.events.register("before-call.s3", lambda model, **_kw: called.append(model.name))
    return called


def test_completion_moves_no_bytes_through_the_app(app: Flask, client_for, video: bytes) -> None:  # type: ignore[no-untyped-def]
    if app.config["STORAGE_BACKEND"] != "s3":
        pytest.skip("on local disk the app receives the parts itself")
    entry_id = _draft(app)
    client = client_for("entrant-a")
    answer = _send(client, entry_id, "直传.mp4", video)
    scratch = Path(app.config["UPLOAD_FOLDER"])
    called = _s3_calls(app)
    done = _complete(client, entry_id, answer, hashlib.sha256(video).hexdigest())
    assert done.status_code == 200, done.get_data(as_text=True)
    reply = done.get_json()
    assert reply["ok"] is True and reply["verifying"] is True
    assert reply["message"] == "文件 直传.mp4 已送达，正在校验……"
    assert 'data-state="verifying"' in reply["files_html"] and "正在校验" in reply["files_html"]
    # The request listed the parts and had the store join them: nothing read, nothing written.
    assert set(called) == {"ListParts", "CompleteMultipartUpload"}, called
    assert not [p for p in scratch.rglob("*") if p.is_file() and p.stat().st_size >= PART]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(EntryFile.id))) == 0
        upload = db.session.scalar(db.select(PartsUpload))
        assert upload is not None and upload.job is not None and upload.job.status is JobStatus.QUEUED
        storage = storage_from_config(app.config)
        joined = storage.client.head_object(Bucket=storage.bucket, Key=storage.uploads_prefix + upload.token)
        assert joined["ContentLength"] == len(video)  # one object, joined in the store


def test_the_job_verifies_a_good_video_submit_waits_for_it_and_a_second_run_changes_nothing(  # type: ignore[no-untyped-def]
    app: Flask, client_for, video: bytes
) -> None:
    entry_id = _draft(app)
    client = client_for("entrant-a")
    answer = _send(client, entry_id, "好视频.mp4", video)
    assert _complete(client, entry_id, answer).get_json()["verifying"] is True
    page = client.get(f"/entrant/entries/{entry_id}").get_data(as_text=True)
    assert "文件 好视频.mp4 正在校验，校验完成后才能提交作品。" in page and "data-submit-form" not in page

    # The attack: submit by POST while the file is being checked.
    refused = _submit(client, entry_id)
    assert "文件 好视频.mp4 正在校验，校验完成后才能提交作品。" in refused
    assert _status(app, entry_id) is EntryStatus.DRAFT

    job_id = _job_id(app)
    checking = client.get(f"/entrant/entries/{entry_id}/checks/{job_id}", headers=POLL).get_json()
    assert (checking["verifying"], checking["percent"]) == (True, 0)
    with app.app_context():
        worker.perform(job_id)  # what `flask worker` does with the queued job
    with app.app_context():
        (stored,) = db.session.scalars(db.select(EntryFile).where(EntryFile.entry_id == entry_id)).all()
        assert stored.sha256 == hashlib.sha256(video).hexdigest() and stored.size_bytes == len(video)
        assert stored.duration_seconds is not None and stored.codec == "h264"
        assert stored.thumbnail_key and stored.blind_key and stored.blind_sha256  # micro-video is blind
        job = db.session.get(BackgroundJob, job_id)
        steps = -(-len(video) // parts_uploads.PROGRESS_STEP_BYTES) + 1  # the bytes read, then the checks
        assert job is not None and job.status is JobStatus.DONE and job.done_steps == job.total_steps == steps
        assert db.session.scalar(db.select(db.func.count(PartsUpload.id))) == 0
        keys = sorted(stored.stored_keys)
    assert sorted(_objects(app)) == keys  # the joined upload object is gone: the file lives at its key
    ready = client.get(f"/entrant/entries/{entry_id}/checks/{job_id}", headers=POLL).get_json()
    assert (
        ready["ok"] is True and ready["message"] == "文件 好视频.mp4 已上传。" and "好视频.mp4" in ready["files_html"]
    )

    with app.app_context():  # the job again (a retry of the queue's message, a second worker): nothing changes
        job = db.session.get(BackgroundJob, job_id)
        assert job is not None
        job.status = JobStatus.QUEUED
        db.session.commit()
        worker.perform(job_id)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(EntryFile.id))) == 1
        assert db.session.scalar(db.select(db.func.count(EntryFile.blind_key))) == 1
    assert sorted(_objects(app)) == keys

    _submit(client, entry_id)
    assert _status(app, entry_id) is EntryStatus.SUBMITTED


def test_a_disguised_file_is_removed_from_the_store_with_its_reason(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    entry_id = _draft(app)
    client = client_for("entrant-a")
    text = ("这不是视频，只是改了扩展名的文字。\n" * 40_000).encode("utf-8")  # two parts
    answer = _send(client, entry_id, "伪装.mp4", text)
    assert _complete(client, entry_id, answer).get_json()["verifying"] is True
    job_id = _job_id(app)
    with app.app_context():
        worker.perform(job_id)
    reason = "该文件不是可播放的视频。"
    with app.app_context():
        upload = db.session.scalar(db.select(PartsUpload))
        assert upload is not None and upload.refusal == reason
        assert db.session.scalar(db.select(db.func.count(EntryFile.id))) == 0
        refusal = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "entry.upload_refused"))
        assert refusal is not None and refusal.data["reason"] == reason
        token = upload.token
        if app.config["STORAGE_BACKEND"] == "s3":
            storage = storage_from_config(app.config)
            listed = storage.client.list_objects_v2(Bucket=storage.bucket, Prefix=storage.uploads_prefix)
            assert listed.get("KeyCount", 0) == 0  # no orphan: the joined object went with the refusal
    assert _objects(app) == []
    checked = client.get(f"/entrant/entries/{entry_id}/checks/{job_id}", headers=POLL).get_json()
    assert checked == {"ok": False, "message": reason, "image": None, "thumbnail": None}
    page = client.get(f"/entrant/entries/{entry_id}").get_data(as_text=True)
    assert 'data-state="refused"' in page and reason in page
    refused = _submit(client, entry_id)
    assert f"文件 伪装.mp4 未被接受（{reason}），请先从列表中移除，再提交。" in refused
    assert _status(app, entry_id) is EntryStatus.DRAFT

    page_url = f"/entrant/entries/{entry_id}"
    removed = client.post(
        f"/entrant/uploads/{token}/dismiss", data={"csrf_token": csrf_token(client, page_url)}, follow_redirects=True
    ).get_data(as_text=True)
    assert "文件已删除。" in removed and "伪装.mp4" not in removed
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(PartsUpload.id))) == 0


def test_a_check_that_could_not_start_says_why_and_is_retried(  # type: ignore[no-untyped-def]
    app: Flask, client_for, video: bytes, tmp_path: Path
) -> None:
    app.config["JOB_QUEUE_URL"] = f"unix://{tmp_path / 'no-redis.sock'}"  # the queue is down
    entry_id = _draft(app)
    client = client_for("entrant-a")
    answer = _send(client, entry_id, "重试.mp4", video)
    stopped = _complete(client, entry_id, answer)
    assert stopped.status_code == 400
    assert stopped.get_json()["message"] == "无法连接任务队列，任务未能开始。请稍后重试。"
    page_url = f"/entrant/entries/{entry_id}"
    page = client.get(page_url).get_data(as_text=True)
    assert 'data-state="stopped"' in page and "无法连接任务队列" in page and "重新校验" in page
    assert "文件 重试.mp4 的校验因错误中断，请重新校验或移除该文件后再提交。" in _submit(client, entry_id)
    with app.app_context():
        upload = db.session.scalar(db.select(PartsUpload))
        assert upload is not None
        token = upload.token

    app.config["JOB_QUEUE_URL"] = ""  # back to checking inside the request
    other = client_for("entrant-b")  # another organisation cannot retry it
    assert (
        other.post(f"/entrant/uploads/{token}/retry", data={"csrf_token": csrf_token(other, "/entrant/")}).status_code
        == 404
    )
    retried = client.post(
        f"/entrant/uploads/{token}/retry", data={"csrf_token": csrf_token(client, page_url)}, follow_redirects=True
    ).get_data(as_text=True)
    assert "重试.mp4" in retried and 'data-state="stopped"' not in retried
    with app.app_context():
        (stored,) = db.session.scalars(db.select(EntryFile)).all()
        assert stored.sha256 == hashlib.sha256(video).hexdigest()
        job = db.session.scalar(db.select(BackgroundJob))
        assert job is not None and (job.status, job.attempts) == (JobStatus.DONE, 1)
        assert db.session.scalar(db.select(db.func.count(PartsUpload.id))) == 0
        assert db.session.scalar(db.select(db.func.count(AuditEvent.id)).where(AuditEvent.action == "job.retry")) == 1


def test_a_check_whose_worker_died_says_so_and_is_checked_again(app: Flask, client_for, video: bytes) -> None:  # type: ignore[no-untyped-def]
    entry_id = _draft(app)
    client = client_for("entrant-a")
    answer = _send(client, entry_id, "中断.mp4", video)
    assert _complete(client, entry_id, answer).get_json()["verifying"] is True
    page_url = f"/entrant/entries/{entry_id}"
    with app.app_context():  # a worker took the job, then was killed: the row says running, for too long
        job = db.session.scalar(db.select(BackgroundJob))
        assert job is not None
        job.status, job.started_at = JobStatus.RUNNING, utcnow() - timedelta(seconds=JOB_TIMEOUT_SECONDS - 60)
        db.session.commit()
        token = db.session.scalar(db.select(PartsUpload.token))
    retry = {"csrf_token": csrf_token(client, page_url)}
    early = client.post(f"/entrant/uploads/{token}/retry", data=retry, follow_redirects=True).get_data(as_text=True)
    assert "此任务正在进行中。" in early and 'data-state="verifying"' in early  # not yet past the job's limit
    with app.app_context():
        job = db.session.scalar(db.select(BackgroundJob))
        assert job is not None
        job.started_at = utcnow() - timedelta(seconds=JOB_TIMEOUT_SECONDS + 1)
        db.session.commit()
    page = client.get(page_url).get_data(as_text=True)
    assert 'data-state="stopped"' in page and "校验没有结果就中断了（处理它的后台进程可能已停止），请重新校验。" in page
    assert "文件 中断.mp4 的校验因错误中断，请重新校验或移除该文件后再提交。" in _submit(client, entry_id)

    app.config["JOB_QUEUE_URL"] = ""  # checked again inside the request
    client.post(f"/entrant/uploads/{token}/retry", data={"csrf_token": csrf_token(client, page_url)})
    with app.app_context():
        (stored,) = db.session.scalars(db.select(EntryFile)).all()
        assert stored.sha256 == hashlib.sha256(video).hexdigest()
        job = db.session.scalar(db.select(BackgroundJob))
        assert job is not None and (job.status, job.attempts) == (JobStatus.DONE, 1)


def test_a_withdrawn_drafts_stopped_check_leaves_no_object(  # type: ignore[no-untyped-def]
    app: Flask, client_for, video: bytes, tmp_path: Path
) -> None:
    app.config["JOB_QUEUE_URL"] = f"unix://{tmp_path / 'no-redis.sock'}"  # the check cannot start: stopped
    entry_id = _draft(app)
    client = client_for("entrant-a")
    assert _complete(client, entry_id, _send(client, entry_id, "撤回.mp4", video)).status_code == 400
    page_url = f"/entrant/entries/{entry_id}"
    withdrawn = client.post(f"{page_url}/withdraw", data={"csrf_token": csrf_token(client, page_url), "confirmed": "1"})
    assert withdrawn.status_code == 302 and _status(app, entry_id) is EntryStatus.WITHDRAWN
    result = app.test_cli_runner().invoke(args=["expire-uploads"])
    assert result.exit_code == 0 and result.output == "1 unfinished uploads removed.\n", result.output
    assert _objects(app) == []
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(PartsUpload.id))) == 0
        if app.config["STORAGE_BACKEND"] == "s3":
            storage = storage_from_config(app.config)
            listed = storage.client.list_objects_v2(Bucket=storage.bucket, Prefix=storage.uploads_prefix)
            assert listed.get("KeyCount", 0) == 0
