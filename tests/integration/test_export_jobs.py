"""Large exports and public documents as background jobs (issue 18): the results workbook is made by a job
once per state of the data, with progress, downloadable by organisers only, a reason when it fails and a
retry that makes one file; the public award list PDF is made once per version and language and stored, by
the worker as soon as a result is published. With JOB_QUEUE_URL set they go through a real Redis to a real
``flask worker``."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import event, func, select, update

from judging.extensions import db
from judging.models import AuditEvent, BackgroundJob, Entry, JobStatus, ResultSnapshot
from judging.services import jobs, results
from judging.storage import LocalStorage
from tests.background_jobs import all_jobs, read_get, run_worker
from tests.conftest import csrf_token
from tests.scenarios import freeze_micro_video, publish_micro_video, recuse_expert5, seed_review_contest

EXPORT = "/organizer/contests/micro-video/results.xlsx"
DESK = "/organizer/contests/micro-video/publication"
PUBLIC_PDF = "/results/micro-video/1/award-list.pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def codes(app: Flask, users: dict[str, int], short_video: Path) -> dict[str, str]:
    with app.app_context():
        return seed_review_contest(app, short_video)


def _requests() -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "job.request")) or 0


def _ranking(data: bytes) -> list[list[object]]:
    ranking = pd.read_excel(io.BytesIO(data), sheet_name="排名", dtype=object)
    return ranking[["名次", "作品编号", "总成绩", "奖项"]].values.tolist()[:4]


def test_the_results_workbook_is_a_job_made_by_a_real_worker_for_organisers_only(
    app: Flask, codes: dict[str, str], client_for, job_queue_url: str
) -> None:  # type: ignore[no-untyped-def]
    app.config["JOB_QUEUE_URL"] = job_queue_url
    organizer = client_for("organizer")
    asked = read_get(organizer, EXPORT)
    assert asked.status_code == 302 and "/organizer/jobs/" in asked.headers["Location"]
    location = asked.headers["Location"]
    waiting = organizer.get(location).get_data(as_text=True)
    assert 'data-status="queued"' in waiting and "等待" in waiting and 'http-equiv="refresh"' in waiting
    assert "/organizer/contests/micro-video/results" in waiting  # back to the results, not the desk
    with app.app_context():
        (job,) = all_jobs()
        assert (job.kind, job.status, job.params["export"], job.params["locale"]) == (
            "export",
            JobStatus.QUEUED,
            "results.xlsx",
            "zh_Hans_CN",
        )
        job_id = job.id

    # Nobody but an organiser reaches the job, its page or its file, not even by its URL.
    for who in ("judge", "entrant-a"):
        other = client_for(who)
        assert read_get(other, location).status_code in (403, 404)
        assert read_get(other, f"/organizer/jobs/{job_id}/file").status_code in (403, 404)
        assert read_get(other, EXPORT).status_code in (403, 404)
    anonymous = app.test_client()
    answer = read_get(anonymous, f"/organizer/jobs/{job_id}/file")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    assert read_get(organizer, f"/organizer/jobs/{job_id}/file").status_code == 302  # not made yet: its page

    run_worker(app)
    with app.app_context():
        (job,) = all_jobs()
        assert (job.status, job.done_steps, job.total_steps, job.attempts, job.error) == (
            JobStatus.DONE,
            3,
            3,
            1,
            "",
        )
        stored = LocalStorage(app.config["UPLOAD_FOLDER"]).path(job.result_key).read_bytes()
    done = organizer.get(location).get_data(as_text=True)
    assert 'id="job-file"' in done and 'http-equiv="refresh"' not in done
    download = read_get(organizer, f"/organizer/jobs/{job_id}/file")
    assert download.status_code == 200 and download.mimetype == XLSX
    assert "micro-video-results-preview.xlsx" in download.headers["Content-Disposition"]
    assert download.get_data() == stored
    assert _ranking(stored) == [
        [1, codes["B"], 84.5, "一等奖"],
        [2, codes["A"], 84.0, "二等奖"],
        [3, codes["C"], 76.5, "二等奖"],
        [4, codes["D"], 61.75, "二等奖"],
    ]
    for who in ("judge", "entrant-a"):
        assert read_get(client_for(who), f"/organizer/jobs/{job_id}/file").status_code in (403, 404)

    again = read_get(organizer, EXPORT)  # the same data: the stored file at once, no new job, no new event
    assert again.status_code == 200 and again.get_data() == stored
    with app.app_context():
        assert len(all_jobs()) == 1 and _requests() == 1


def test_progress_advances_and_the_same_data_makes_one_file(app: Flask, codes: dict[str, str], client_for) -> None:  # type: ignore[no-untyped-def]
    organizer = client_for("organizer")
    seen: list[tuple[str, int, int]] = []
    with app.app_context():

        def after_commit(session) -> None:  # type: ignore[no-untyped-def]
            with db.engine.connect() as connection:  # what another connection (the job's page) reads
                row = connection.execute(
                    select(BackgroundJob.status, BackgroundJob.done_steps, BackgroundJob.total_steps)
                ).first()
            if row is not None and (not seen or seen[-1] != (row[0].value, row[1], row[2])):
                seen.append((row[0].value, row[1], row[2]))

        event.listen(db.session, "after_commit", after_commit)
        try:
            first = read_get(organizer, EXPORT)  # no queue: the request runs the job itself
        finally:
            event.remove(db.session, "after_commit", after_commit)
    assert first.status_code == 200 and first.mimetype == XLSX
    assert seen[-4:] == [("running", 0, 3), ("running", 1, 3), ("running", 2, 3), ("done", 3, 3)]
    second = read_get(organizer, EXPORT)
    assert second.get_data() == first.get_data()
    with app.app_context():
        (job,) = all_jobs()
        assert job.attempts == 1 and _requests() == 1
        entry = db.session.scalar(select(Entry).where(Entry.code == codes["A"]))
        entry.title = "作品A（改名）"  # the workbook shows titles: another version, another file
        db.session.commit()
    third = read_get(organizer, EXPORT)
    assert third.status_code == 200 and third.get_data() != first.get_data()
    with app.app_context():
        assert [j.status for j in all_jobs()] == [JobStatus.DONE, JobStatus.DONE] and _requests() == 2


def test_a_failed_export_says_why_and_a_retry_makes_the_file_once(
    app: Flask, codes: dict[str, str], client_for, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    organizer = client_for("organizer")

    def broken(*_args, **_kwargs) -> bytes:  # type: ignore[no-untyped-def]
        raise OSError("disk full")

    monkeypatch.setattr(results, "results_workbook", broken)  # the writer fails as a full disk would
    asked = read_get(organizer, EXPORT)
    assert asked.status_code == 302
    location = asked.headers["Location"]
    page = organizer.get(location).get_data(as_text=True)
    assert "出现意外错误（OSError）" in page and 'id="job-error"' in page and "重试" in page
    with app.app_context():
        (job,) = all_jobs()
        assert (job.status, job.result_key, job.attempts) == (JobStatus.FAILED, None, 1)
        files_before = set(LocalStorage(app.config["UPLOAD_FOLDER"]).keys())
    again = read_get(organizer, EXPORT)  # asking again finds the failed job: its page, not a second job
    assert again.status_code == 302 and again.headers["Location"] == location
    monkeypatch.undo()

    token = csrf_token(organizer, location)
    assert organizer.post(location + "/retry", data={"csrf_token": token}).status_code == 302
    with app.app_context():
        (job,) = all_jobs()
        assert (job.status, job.attempts, job.error, job.done_steps) == (JobStatus.DONE, 2, "", 3)
        storage = LocalStorage(app.config["UPLOAD_FOLDER"])
        assert set(storage.keys()) - files_before == {job.result_key}  # one file, the retry's
        stored = storage.path(job.result_key).read_bytes()
    assert organizer.post(location + "/retry", data={"csrf_token": token}).status_code == 302
    assert "此任务已完成" in organizer.get(location).get_data(as_text=True)
    assert read_get(organizer, EXPORT).get_data() == stored
    with app.app_context():
        (job,) = all_jobs()
        assert job.attempts == 2 and _requests() == 1
    assert _ranking(stored)[0] == [1, codes["B"], 84.5, "一等奖"]


def test_data_changed_while_queued_fails_with_the_reason_and_asking_again_is_current(
    app: Flask, codes: dict[str, str], client_for, job_queue_url: str
) -> None:  # type: ignore[no-untyped-def]
    app.config["JOB_QUEUE_URL"] = job_queue_url
    organizer = client_for("organizer")
    location = read_get(organizer, EXPORT).headers["Location"]
    with app.app_context():
        db.session.execute(update(Entry).where(Entry.code == codes["C"]).values(title="作品C（改名）"))
        db.session.commit()
    run_worker(app)
    page = organizer.get(location).get_data(as_text=True)
    assert "导出申请之后评分或作品有变化" in page
    with app.app_context():
        (job,) = all_jobs()
        assert (job.status, job.result_key) == (JobStatus.FAILED, None)
    newer = read_get(organizer, EXPORT)
    assert newer.headers["Location"] != location
    run_worker(app)
    with app.app_context():
        assert [j.status for j in all_jobs()] == [JobStatus.FAILED, JobStatus.DONE]
        stored = LocalStorage(app.config["UPLOAD_FOLDER"]).path(all_jobs()[1].result_key).read_bytes()
    workbook = pd.read_excel(io.BytesIO(stored), sheet_name="排名", dtype=object)
    assert "作品C（改名）" in workbook.astype(str).values


def test_an_export_of_nothing_is_refused_before_any_job(app: Flask, users: dict[str, int], client_for) -> None:  # type: ignore[no-untyped-def]
    organizer = client_for("organizer")
    no_panel = read_get(organizer, "/organizer/contests/isg-skills/results.xlsx")  # a skills contest: no panel
    assert no_panel.status_code == 302
    page = organizer.get(no_panel.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "本活动不由评审专家组评分，因此没有评委评分结果。" in page
    no_sheets = read_get(organizer, EXPORT)  # micro-video, no sheet submitted yet
    assert no_sheets.headers["Location"].endswith("/organizer/contests/micro-video/results")
    page = organizer.get(no_sheets.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "暂无可下载的结果。" in page
    with app.app_context():
        assert all_jobs() == [] and _requests() == 0


# --- the public award list PDF, made once and stored ------------------------------------------------------


@pytest.fixture
def reviewed(app: Flask, users: dict[str, int], short_video: Path) -> None:
    with app.app_context():
        seed_review_contest(app, short_video)
        recuse_expert5()


def test_publishing_has_the_worker_make_the_public_pdf_in_every_language(
    app: Flask, reviewed: None, client_for, job_queue_url: str
) -> None:  # type: ignore[no-untyped-def]
    app.config["JOB_QUEUE_URL"] = job_queue_url
    organizer = client_for("organizer")
    freeze_micro_video(organizer)
    publish_micro_video(app, organizer)
    with app.app_context():
        queued = [(j.params["document"], j.params["locale"], j.status) for j in all_jobs()]
        # Frozen (on notice) and published are two versions of the list, each in both languages.
        assert sorted(queued) == sorted(
            (document, locale, JobStatus.QUEUED)
            for document in ("award-list.pdf", "award-list.pdf")
            for locale in ("zh_Hans_CN", "en")
        )
    reader = app.test_client()
    early = reader.get(PUBLIC_PDF)  # the worker has not run yet: a short page that tries again
    assert early.status_code == 503 and early.headers["Retry-After"] == "5"
    assert "正在准备" in early.get_data(as_text=True) and early.headers["Cache-Control"] == "no-store"

    run_worker(app)
    with app.app_context():
        assert {j.status for j in all_jobs()} == {JobStatus.DONE}
        published = db.session.scalar(select(ResultSnapshot))
        storage = LocalStorage(app.config["UPLOAD_FOLDER"])
        stored = storage.path(
            db.session.scalar(
                select(BackgroundJob.result_key).where(
                    BackgroundJob.key == jobs.document_key(published, "award-list.pdf", "zh_Hans_CN")
                )
            )
        ).read_bytes()
    answer = reader.get(PUBLIC_PDF)
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert answer.get_data() == stored and answer.headers["ETag"]
    text = PdfReader(io.BytesIO(stored)).pages[0].extract_text()
    assert "获奖名单" in text and published.digest[:16] in text.replace("\n", "")
    assert reader.get(PUBLIC_PDF, headers={"If-None-Match": answer.headers["ETag"]}).status_code == 304
    organiser_copy = read_get(client_for("organizer"), "/organizer/contests/micro-video/snapshots/1/award-list.pdf")
    assert organiser_copy.status_code == 200 and organiser_copy.get_data() == stored
    with app.app_context():
        assert len(all_jobs()) == 4  # nobody's request made another


def test_without_a_queue_the_first_reader_makes_and_stores_the_public_pdf_once(
    app: Flask, reviewed: None, client_for
) -> None:  # type: ignore[no-untyped-def]
    organizer = client_for("organizer")
    freeze_micro_video(organizer)
    publish_micro_video(app, organizer)
    with app.app_context():
        assert all_jobs() == []  # nothing queued at publication without a queue
    first = app.test_client().get(PUBLIC_PDF)
    assert first.status_code == 200 and len(PdfReader(io.BytesIO(first.get_data())).pages) >= 1
    with app.app_context():
        (job,) = all_jobs()
        assert (job.status, job.created_by_id, job.params["locale"]) == (JobStatus.DONE, None, "zh_Hans_CN")
        assert LocalStorage(app.config["UPLOAD_FOLDER"]).path(job.result_key).read_bytes() == first.get_data()
    second = app.test_client().get(PUBLIC_PDF)
    assert second.get_data() == first.get_data()
    with app.app_context():
        assert len(all_jobs()) == 1


def test_the_worker_refuses_a_priority_out_of_range_and_a_missing_queue(app: Flask) -> None:
    runner = app.test_cli_runner()
    out_of_range = runner.invoke(args=["worker", "--burst", "--nice", "20"])
    assert out_of_range.exit_code == 2 and "0<=x<=19" in out_of_range.output
    app.config["JOB_QUEUE_URL"] = ""
    no_queue = runner.invoke(args=["worker", "--burst"])  # refused before anything is niced or started
    assert no_queue.exit_code == 1 and "JOB_QUEUE_URL is not set" in no_queue.output
