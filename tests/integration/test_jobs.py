"""Long documents made outside the request (issue 18): certificates and booklets are jobs with progress, a
stored outcome made once per version, a reason when they fail, and retry; with JOB_QUEUE_URL set they go
through a real Redis to a real `flask worker`."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import func, select

from judging.exports import publication as documents
from judging.extensions import db
from judging.models import AuditEvent, Certificate, JobStatus, utcnow
from judging.services import jobs
from judging.storage import LocalStorage
from tests.background_jobs import all_jobs, read_get, run_worker, worker_env
from tests.conftest import ROOT, csrf_token
from tests.scenarios import freeze_micro_video, publish_micro_video, recuse_expert5, seed_review_contest

DESK = "/organizer/contests/micro-video/publication"
PREPARE = "/organizer/contests/micro-video/snapshots/1/{}/prepare"


@pytest.fixture
def published(app: Flask, users: dict[str, int], short_video: Path, client_for) -> FlaskClient:  # type: ignore[no-untyped-def]
    with app.app_context():
        seed_review_contest(app, short_video)
        recuse_expert5()
    organizer = client_for("organizer")
    freeze_micro_video(organizer)
    publish_micro_video(app, organizer)
    return organizer


def _prepare(client: FlaskClient, document: str):  # type: ignore[no-untyped-def]
    """POST the desk's button; a file answer is read and closed (send_file streams it from storage)."""
    response = client.post(PREPARE.format(document), data={"csrf_token": csrf_token(client, DESK)})
    response.get_data()
    response.close()
    return response


def test_certificates_are_made_once_per_version_in_parts_with_progress(
    app: Flask, published: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(documents, "CERTIFICATES_PER_PART", 3)  # 4 certificates: parts of 3 and 1, joined
    first = _prepare(published, "certificates.pdf")
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    assert "micro-video-1-certificates.pdf" in first.headers["Content-Disposition"]
    pdf = PdfReader(io.BytesIO(first.get_data()))
    with app.app_context():
        holders = [c.holder for c in db.session.scalars(select(Certificate).order_by(Certificate.id))]
        assert len(pdf.pages) == len(holders) == 4
        for page, holder in zip(pdf.pages, holders, strict=True):
            assert holder in page.extract_text()
        (job,) = all_jobs()
        assert (job.status, job.done_steps, job.total_steps, job.attempts) == (JobStatus.DONE, 4, 4, 1)
        assert job.params == {"snapshot_id": 1, "document": "certificates.pdf", "locale": "zh_Hans_CN"}
        stored = LocalStorage(app.config["UPLOAD_FOLDER"]).path(job.result_key)
        assert stored.read_bytes() == first.get_data()
        key = job.result_key
        requests = db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "job.request"))
        assert requests == 1

    again = _prepare(published, "certificates.pdf")  # the same inputs: the stored file, no new work
    assert again.get_data() == first.get_data()
    also = read_get(published, "/organizer/contests/micro-video/snapshots/1/certificates.pdf")
    assert also.get_data() == first.get_data()
    with app.app_context():
        (job,) = all_jobs()
        assert (job.result_key, job.attempts) == (key, 1)

    published.get("/lang/en")
    english = _prepare(published, "certificates.pdf")  # another language, another document
    with app.app_context():
        assert [j.params["locale"] for j in all_jobs()] == ["zh_Hans_CN", "en"]
    assert english.status_code == 200 and english.get_data() != first.get_data()
    published.get("/lang/zh_CN")

    with app.app_context():  # the stored file goes missing: asking again makes it again
        LocalStorage(app.config["UPLOAD_FOLDER"]).path(key).unlink()
    remade = _prepare(published, "certificates.pdf")
    assert remade.status_code == 200 and len(PdfReader(io.BytesIO(remade.get_data())).pages) == 4
    with app.app_context():
        assert all_jobs()[0].attempts == 2 and all_jobs()[0].result_key != key


def test_a_document_the_result_cannot_make_is_refused_before_any_job(app: Flask, published: FlaskClient) -> None:
    answer = _prepare(published, "booklet.pdf")
    assert answer.status_code == 302
    page = published.get(answer.headers["Location"]).get_data(as_text=True)
    assert "只有案例类评选（文档和图片）才能汇编案例集；本评选的作品不是案例。" in page
    with app.app_context():
        assert all_jobs() == []
    assert (
        published.post(PREPARE.format("ranking.exe"), data={"csrf_token": csrf_token(published, DESK)}).status_code
        == 404
    )


def test_a_failed_job_says_why_and_can_be_retried(
    app: Flask, published: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args, **_kwargs) -> bytes:  # type: ignore[no-untyped-def]
        raise OSError("disk full")

    monkeypatch.setattr(documents, "certificate_pdf", broken)  # the renderer fails as a full disk would
    answer = _prepare(published, "certificates.pdf")
    assert answer.status_code == 302
    page = published.get(answer.headers["Location"]).get_data(as_text=True)
    assert "出现意外错误（OSError）" in page and "重试" in page
    with app.app_context():
        (job,) = all_jobs()
        assert (job.status, job.result_key, job.attempts) == (JobStatus.FAILED, None, 1)
    monkeypatch.undo()
    retried = published.post(
        f"/organizer/jobs/{job.id}/retry", data={"csrf_token": csrf_token(published, f"/organizer/jobs/{job.id}")}
    )
    assert retried.status_code == 302
    page = published.get(f"/organizer/jobs/{job.id}").get_data(as_text=True)
    assert 'id="job-file"' in page
    with app.app_context():
        (job,) = all_jobs()
        assert (job.status, job.attempts, job.error) == (JobStatus.DONE, 2, "")
    refused = published.post(
        f"/organizer/jobs/{job.id}/retry", data={"csrf_token": csrf_token(published, f"/organizer/jobs/{job.id}")}
    )
    assert "此任务已完成" in published.get(refused.headers["Location"]).get_data(as_text=True)


def test_other_people_cannot_see_a_job(app: Flask, published: FlaskClient, client_for) -> None:  # type: ignore[no-untyped-def]
    _prepare(published, "certificates.pdf")
    with app.app_context():
        (job,) = all_jobs()
    for who in ("judge", "entrant-a"):
        client = client_for(who)
        assert client.get(f"/organizer/jobs/{job.id}").status_code in (403, 404)
        assert read_get(client, f"/organizer/jobs/{job.id}/file").status_code in (403, 404)
    assert app.test_client().get(f"/organizer/jobs/{job.id}/file").status_code == 302  # to the login page


def test_with_a_queue_a_real_worker_makes_the_document(app: Flask, published: FlaskClient, job_queue_url: str) -> None:
    app.config["JOB_QUEUE_URL"] = job_queue_url
    answer = _prepare(published, "certificates.pdf")
    assert answer.status_code == 302
    location = answer.headers["Location"]
    waiting = published.get(location).get_data(as_text=True)
    assert 'data-status="queued"' in waiting and 'http-equiv="refresh"' in waiting and "等待" in waiting
    worker = run_worker(app)
    with app.app_context():
        (job,) = all_jobs()
        assert (job.status, job.done_steps, job.total_steps) == (JobStatus.DONE, 4, 4), (
            job.error,
            worker.stderr[-3000:],
        )
    done = published.get(location).get_data(as_text=True)
    assert 'id="job-file"' in done and 'http-equiv="refresh"' not in done
    pdf = read_get(published, f"/organizer/jobs/{job.id}/file")
    assert pdf.mimetype == "application/pdf" and len(PdfReader(io.BytesIO(pdf.get_data())).pages) == 4


def test_a_running_job_says_it_is_alive_and_one_silent_for_six_beats_may_be_retried(
    app: Flask, published: FlaskClient
) -> None:
    app.config["JOB_HEARTBEAT_SECONDS"] = 0.05
    assert _prepare(published, "certificates.pdf").status_code == 200  # made in the request (no queue)
    with app.app_context():
        (job,) = all_jobs()
        assert job.heartbeat_seconds == 0.05
        # It beat while it ran (rendering four certificates takes far longer than 50 ms), and not after.
        assert job.started_at < job.heartbeat_at <= job.finished_at
        job.status, job.started_at = JobStatus.RUNNING, utcnow() - timedelta(minutes=59)
        job.heartbeat_at = utcnow()  # started long ago, but its process spoke just now: still at work
        db.session.commit()
        assert not job.stalled
        job_id = job.id
    page = published.get(f"/organizer/jobs/{job_id}").get_data(as_text=True)
    assert 'http-equiv="refresh"' in page and "data-stalled" not in page
    refused = published.post(
        f"/organizer/jobs/{job_id}/retry", data={"csrf_token": csrf_token(published, f"/organizer/jobs/{job_id}")}
    )
    assert "此任务正在进行中。" in published.get(refused.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        (job,) = all_jobs()
        job.heartbeat_at = utcnow() - timedelta(seconds=6 * 0.05 + 0.01)  # six beats missed
        db.session.commit()
        assert job.stalled
    page = published.get(f"/organizer/jobs/{job_id}").get_data(as_text=True)
    assert "data-stalled" in page and "处理它的后台进程已停止或失联" in page and 'http-equiv="refresh"' not in page
    retried = published.post(
        f"/organizer/jobs/{job_id}/retry", data={"csrf_token": csrf_token(published, f"/organizer/jobs/{job_id}")}
    )
    assert retried.status_code == 302
    with app.app_context():
        (job,) = all_jobs()
        assert (job.status, job.attempts) == (JobStatus.DONE, 2)


def test_a_beat_never_holds_up_a_job_whose_own_transaction_holds_its_row(app: Flask, published: FlaskClient) -> None:
    """The work may leave its job's row changed but not committed when it ends: a beat then skips the row
    rather than wait for it (the job would wait for the beat, which waited for the job), and the beating
    thread has ended when the job goes on (one left behind kept a pooled connection past the app's end)."""
    assert _prepare(published, "certificates.pdf").status_code == 200
    with app.app_context():
        (job,) = all_jobs()
        job.status = JobStatus.RUNNING
        db.session.commit()
        job.done_steps = 1
        db.session.flush()  # the row is the work's now, until it commits
        began = time.monotonic()
        with jobs._heartbeat(db.session.get_bind(), job.id, 0.05):
            time.sleep(0.3)  # beats come due while the row is the work's
        ended = time.monotonic() - began
        assert not [thread for thread in threading.enumerate() if thread.name.endswith("-heartbeat")]
        db.session.commit()
        assert ended < 5, ended  # it returned: no beat waited on the row


def test_a_worker_frozen_mid_job_leaves_it_to_retry_within_seconds_not_an_hour(
    app: Flask, published: FlaskClient, job_queue_url: str
) -> None:
    """A real worker takes the job and is frozen (SIGSTOP: a host that hangs) in the middle of it: its
    heartbeats stop, so after six of them (0.2 s each here) the organiser may try again, and another worker
    makes the document."""
    app.config["JOB_QUEUE_URL"] = job_queue_url
    app.config["JOB_HEARTBEAT_SECONDS"] = 0.2
    answer = _prepare(published, "certificates.pdf")
    assert answer.status_code == 302
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "worker"],
        cwd=ROOT,
        env=worker_env(app),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        with app.app_context():
            while True:
                (job,) = all_jobs()
                if job.status is JobStatus.RUNNING or time.monotonic() > deadline:
                    break
                time.sleep(0.005)
                db.session.rollback()
            os.kill(worker.pid, signal.SIGSTOP)
            assert job.status is JobStatus.RUNNING, (job.status, job.error)
            job_id = job.id
            db.session.rollback()
        refused = published.post(
            f"/organizer/jobs/{job_id}/retry", data={"csrf_token": csrf_token(published, f"/organizer/jobs/{job_id}")}
        )
        assert "此任务正在进行中。" in published.get(refused.headers["Location"]).get_data(as_text=True)
        time.sleep(6 * 0.2 + 0.5)
        page = published.get(f"/organizer/jobs/{job_id}").get_data(as_text=True)
        assert "data-stalled" in page
        retried = published.post(
            f"/organizer/jobs/{job_id}/retry", data={"csrf_token": csrf_token(published, f"/organizer/jobs/{job_id}")}
        )
        assert retried.status_code == 302
    finally:
        worker.kill()  # SIGKILL reaches a stopped process
        worker.wait(timeout=30)
    run_worker(app)
    with app.app_context():
        (job,) = all_jobs()
        assert (job.status, job.attempts, job.done_steps) == (JobStatus.DONE, 2, 4), job.error
    pdf = read_get(published, f"/organizer/jobs/{job_id}/file")
    assert len(PdfReader(io.BytesIO(pdf.get_data())).pages) == 4


def test_an_unreachable_queue_fails_the_job_with_a_reason(app: Flask, published: FlaskClient, tmp_path: Path) -> None:
    app.config["JOB_QUEUE_URL"] = f"unix://{tmp_path / 'no-redis.sock'}"
    answer = _prepare(published, "certificates.pdf")
    page = published.get(answer.headers["Location"]).get_data(as_text=True)
    assert "无法连接任务队列" in page
    with app.app_context():
        assert all_jobs()[0].status is JobStatus.FAILED
