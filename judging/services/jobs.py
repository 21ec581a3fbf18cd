"""Long work done outside the request: the documents of a published result that take seconds to minutes
(certificates, the case booklet, the award list PDF), the organisers' large exports (the results
workbook) and the verification of a file uploaded straight to the object store
(:func:`judging.services.parts_uploads.verify`), with progress, a stored outcome, a reason when it fails,
and retry.

A job is named by its exact inputs (:func:`document_key`: the snapshot, its digest and status, the document,
the language; for an export, the digest of the data it shows), so asking again finds the same job and, once
done, its stored file: the work is done once.
With ``JOB_QUEUE_URL`` set (``redis://…``) a job is put on an RQ queue for ``flask worker`` (see
:mod:`judging.worker`); without it (the embedded default) :func:`start` runs it at once, in the caller's
process. Either way :func:`run` does the work and owns its transactions, as a worker's unit of work does:
progress is committed as it goes, so a page can show it from another connection.
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from sqlalchemy import Connection, Engine, Table, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from judging import models
from judging.exports import publication as documents
from judging.models import BackgroundJob, Contest, JobStatus, ResultSnapshot, User, utcnow
from judging.services import NotFound, ServiceError, audit, results
from judging.storage import Storage

log = logging.getLogger(__name__)

QUEUE_NAME = "judging"
JOB_TIMEOUT_SECONDS = models.JOB_TIMEOUT_SECONDS

HEAVY_DOCUMENTS = {
    "certificates.pdf": "application/pdf",
    "booklet.pdf": "application/pdf",
    "award-list.pdf": "application/pdf",
}
"""The documents of a result made by a job rather than inside the request, and stored once made: one page a
certificate; the booklet's cases; the award list, a page of a table per few dozen holders, which the public
asks for by the thousand after a ceremony (WeasyPrint with CJK fonts takes seconds for it)."""

PUBLIC_DOCUMENTS = ("award-list.pdf",)
"""Heavy documents anyone may read: made in every language as soon as a result is frozen or published."""

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Made:
    data: bytes
    name: str
    mimetype: str


def document_key(snapshot: ResultSnapshot, document: str, locale: str) -> str:
    parts = ("document", str(snapshot.id), snapshot.digest, str(snapshot.status), document, locale)
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def document_job(
    session: Session, actor: User | None, snapshot: ResultSnapshot, document: str, locale: str | None = None
) -> BackgroundJob:
    """The job that makes one heavy document of a result in ``locale`` (the current language by default):
    found again for the same inputs (done, running or failed), else created, queued and audited (``actor``
    None: the site itself, for a public document). The caller commits, then :func:`start`."""
    if document not in HEAVY_DOCUMENTS:
        raise NotFound(_("Unknown document."))
    documents.check_document(session, snapshot, document)
    locale = locale or str(get_locale())
    return _found_or_requested(
        session,
        actor,
        BackgroundJob(
            key=document_key(snapshot, document, locale),
            kind="document",
            params={"snapshot_id": snapshot.id, "document": document, "locale": locale},
            contest_id=snapshot.contest_id,
            created_by_id=actor.id if actor else None,
            result_name=f"{snapshot.contest.slug}-{snapshot.number}-{document}",
            result_type=HEAVY_DOCUMENTS[document],
        ),
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORTS = {"results.xlsx": XLSX}
"""Organiser exports of live data made by a job: they grow with entries × judges (every sheet, the
reliability and robustness tables) and recompute the ranking. The other organiser exports stay in the
request because they are bounded or streamed: the entry list, organisations and certificate list are one
short row per entry, organisation or certificate, with no computation (milliseconds for thousands); the
audit log is streamed row by row; a result's award list (xlsx, CSV) is one row per award holder."""


def export_job(session: Session, actor: User, contest: Contest, export: str) -> BackgroundJob:
    """The job that makes one export of a contest's current data in the current language: found again while
    the data is unchanged (:func:`judging.services.results.workbook_version`), else created, queued and
    audited. The caller commits, then :func:`start`."""
    if export not in EXPORTS:
        raise NotFound(_("Unknown document."))
    version = results.workbook_version(session, contest)
    locale = str(get_locale())
    parts = ("export", str(contest.id), export, version, locale)
    return _found_or_requested(
        session,
        actor,
        BackgroundJob(
            key=hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest(),
            kind="export",
            params={"contest_id": contest.id, "export": export, "version": version, "locale": locale},
            contest_id=contest.id,
            created_by_id=actor.id,
            result_name=f"{contest.slug}-results-preview.xlsx",
            result_type=EXPORTS[export],
        ),
        audited={"export": export, "locale": locale},
    )


def public_document_jobs(session: Session, actor: User | None, snapshot: ResultSnapshot) -> list[BackgroundJob]:
    """The jobs that make the public documents of a frozen or published result, one per language, so that
    they are stored before the first reader asks. The caller commits, then starts those that need it."""
    made = []
    for language in current_app.config["LANGUAGES"]:
        with force_locale(language):
            locale = str(get_locale())
        for document in PUBLIC_DOCUMENTS:
            made.append(document_job(session, actor, snapshot, document, locale))
    return made


def public_document(
    session: Session, snapshot: ResultSnapshot, document: str, storage: Storage
) -> BackgroundJob | None:
    """The job of a public document of a vouched result in the current language, asked for by a reader:
    found (normally made already, when the result was frozen or published), else created by the site and
    started, which without a queue makes and stores it now. None when another request created it at the
    same instant and it is gone again (the caller renders the document itself)."""
    key = document_key(snapshot, document, str(get_locale()))
    job = _job_by_key(session, key)
    if job is None:
        try:
            with session.begin_nested():  # two first readers at once: one inserts, the other finds it
                job = document_job(session, None, snapshot, document)
            session.commit()
        except IntegrityError:
            session.rollback()
            job = _job_by_key(session, key)
            if job is None:
                return None
    if needs_start(job, storage):
        start(session, job, storage)
    return job


def queued(app_config: Mapping[str, object]) -> bool:
    """Whether jobs go to a queue (``JOB_QUEUE_URL``), rather than being run by the request that asks."""
    return bool(app_config.get("JOB_QUEUE_URL"))


def get_job(session: Session, job_id: int) -> BackgroundJob:
    job = session.get(BackgroundJob, job_id)
    if job is None:
        raise NotFound(_("No such job."))
    return job


def result_ready(job: BackgroundJob, storage: Storage) -> bool:
    return job.status is JobStatus.DONE and job.result_key is not None and storage.exists(job.result_key)


def finished(job: BackgroundJob, storage: Storage) -> bool:
    """Done, with its stored file for a job that makes one (a verification makes none)."""
    if job.status is not JobStatus.DONE:
        return False
    return result_ready(job, storage) if job.result_type else True


def create(
    session: Session, actor: User, *, kind: str, key: str, params: dict[str, Any], contest_id: int | None
) -> BackgroundJob:
    """A new job making no file (its work changes rows), queued and audited; the caller commits, then
    :func:`start`. ``kind`` names a runner of :data:`RUNNERS`."""
    assert kind in RUNNERS, kind
    return _requested(
        session,
        actor,
        BackgroundJob(key=key, kind=kind, params=params, contest_id=contest_id, created_by_id=actor.id),
    )


def _job_by_key(session: Session, key: str) -> BackgroundJob | None:
    return session.scalar(select(BackgroundJob).where(BackgroundJob.key == key))


def _found_or_requested(
    session: Session, actor: User | None, job: BackgroundJob, audited: Mapping[str, object] | None = None
) -> BackgroundJob:
    """The job already made for ``job``'s key (its inputs), whatever its state; else ``job``, requested."""
    return _job_by_key(session, job.key) or _requested(session, actor, job, audited)


def _requested(
    session: Session, actor: User | None, job: BackgroundJob, audited: Mapping[str, object] | None = None
) -> BackgroundJob:
    """A new job added, queued, and its request audited with its kind and ``audited`` (its parameters by
    default)."""
    session.add(job)
    session.flush()
    audit.record(
        session,
        actor,
        "job.request",
        object_type="job",
        object_id=job.id,
        contest_id=job.contest_id,
        data={"kind": job.kind, **(job.params if audited is None else audited)},
    )
    return job


def retry(session: Session, actor: User, job: BackgroundJob) -> None:
    """Queue a failed job again (or one whose stored file went missing, or one whose worker died:
    :attr:`BackgroundJob.stalled`); anything else is refused."""
    if job.status is JobStatus.DONE and job.result_key is not None:
        raise ServiceError(_("This job is done; its file is ready."))
    if job.status is JobStatus.DONE and not job.result_type:
        raise ServiceError(_("This job is done."))
    if job.status in (JobStatus.QUEUED, JobStatus.RUNNING) and not job.stalled:
        raise ServiceError(_("This job is already under way."))
    job.status = JobStatus.QUEUED
    job.error = ""
    job.done_steps = 0
    audit.record(session, actor, "job.retry", object_type="job", object_id=job.id, contest_id=job.contest_id)


def needs_start(job: BackgroundJob, storage: Storage) -> bool:
    """Whether :func:`start` has work to do: a queued job, or a done one whose file is gone."""
    if job.status is JobStatus.DONE and not finished(job, storage):
        return True
    return job.status is JobStatus.QUEUED and job.started_at is None


def start(session: Session, job: BackgroundJob, storage: Storage) -> None:
    """Hand a committed job to the queue, or (no queue configured) run it now."""
    url = current_app.config.get("JOB_QUEUE_URL") or ""
    if job.status is JobStatus.DONE:  # its file went missing: make it again
        job.status = JobStatus.QUEUED
        job.result_key = None
        session.commit()
    if not url:
        run(session, job.id, storage)
        return
    import redis
    from rq import Queue

    try:
        queue = Queue(QUEUE_NAME, connection=redis.Redis.from_url(url))
        queue.enqueue(
            "judging.worker.perform",
            job.id,
            job_id=f"judging-{job.id}-{job.attempts}",
            job_timeout=JOB_TIMEOUT_SECONDS,
        )
    except redis.RedisError:
        log.exception("job %s could not be queued", job.id)
        _fail(session, job.id, _("The job queue cannot be reached, so the work did not start. Try again later."))


def run(session: Session, job_id: int, storage: Storage) -> None:
    """Do a job: mark it running, make its outcome with progress, store it and mark it done; or mark it
    failed with the reason. Idempotent: a job done (with its file) or running elsewhere is left alone."""
    job = session.get(BackgroundJob, job_id)
    if job is None or (job.status is JobStatus.RUNNING and not job.stalled) or finished(job, storage):
        return
    job.status = JobStatus.RUNNING
    job.started_at = job.heartbeat_at = utcnow()
    job.heartbeat_seconds = float(current_app.config["JOB_HEARTBEAT_SECONDS"])
    job.finished_at = None
    job.attempts += 1
    job.error = ""
    session.commit()

    def progress(done: int, total: int) -> None:
        job.done_steps, job.total_steps = done, total
        session.commit()

    try:
        with (
            _heartbeat(session.get_bind(), job_id, job.heartbeat_seconds),
            force_locale(job.params.get("locale") or current_app.config["BABEL_DEFAULT_LOCALE"]),
        ):
            made = RUNNERS[job.kind](session, job, storage, progress)
        stored = storage.save(io.BytesIO(made.data)) if made is not None else None
    except ServiceError as refusal:
        _fail(session, job_id, refusal.message)
        return
    except Exception as error:
        log.exception("job %s failed", job_id)
        _fail(
            session,
            job_id,
            _(
                "The work stopped on an unexpected error (%(kind)s). Try again; if it fails again, tell the "
                "administrator (the server's log has the details).",
                kind=type(error).__name__,
            ),
        )
        return
    if stored is not None:
        job.result_key = stored.key
        job.result_size = stored.size
    job.status = JobStatus.DONE
    job.finished_at = utcnow()
    job.done_steps = job.total_steps = max(job.total_steps, 1)
    session.commit()


@contextmanager
def _heartbeat(bind: Engine | Connection, job_id: int, seconds: float) -> Iterator[None]:
    """While the job runs, say every ``seconds`` that its process is alive (``heartbeat_at``, on a
    connection of its own, from a thread, as the job's own work may hold the process for minutes in one
    call). A process that dies stops saying so, and the job is :attr:`BackgroundJob.stalled` soon after,
    not an hour later.

    A beat never waits on the job's own work: when that work's transaction holds the job's row (changed,
    not committed yet), the beat skips it (PostgreSQL: ``SKIP LOCKED``; SQLite, one writer at a time: it
    gives up after 0.1 s): the process is plainly alive. So the thread ends as soon as the job does; a beat
    the database refuses is logged and the next one tried."""
    engine = bind.engine
    stop = threading.Event()
    table = BackgroundJob.__table__
    assert isinstance(table, Table)
    mine = (
        select(table.c.id)
        .where(table.c.id == job_id, table.c.status == JobStatus.RUNNING)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )

    def beat() -> None:
        while not stop.wait(seconds):
            try:
                with engine.begin() as connection:
                    with _briefly_busy(connection):
                        connection.execute(update(table).where(table.c.id == mine).values(heartbeat_at=utcnow()))
            except SQLAlchemyError:
                log.warning("job %s: its heartbeat could not be written", job_id, exc_info=True)

    beating = threading.Thread(target=beat, name=f"job-{job_id}-heartbeat", daemon=True)
    beating.start()
    try:
        yield
    finally:
        stop.set()
        beating.join()


@contextmanager
def _briefly_busy(connection: Connection) -> Iterator[None]:
    """On SQLite, wait at most 0.1 s for the database's one writer (the connection's busy timeout, as the
    app sets it, is back afterwards: the connection returns to the pool)."""
    if connection.dialect.name != "sqlite":
        yield
        return
    usual = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    connection.exec_driver_sql("PRAGMA busy_timeout = 100")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(usual or 0)}")


def _fail(session: Session, job_id: int, message: str) -> None:
    session.rollback()
    job = session.get(BackgroundJob, job_id)
    if job is None:
        return
    job.status = JobStatus.FAILED
    job.error = message
    job.finished_at = utcnow()
    session.commit()


def _make_document(session: Session, job: BackgroundJob, storage: Storage, progress: Progress) -> Made:
    snapshot = session.get(ResultSnapshot, job.params["snapshot_id"])
    if snapshot is None:
        raise ServiceError(_("The result this document was asked for no longer exists."))
    document = job.params["document"]
    if document == "certificates.pdf":
        data = documents.certificates_document(session, snapshot, progress=progress)
    else:
        progress(0, 1)
        data = documents.render(session, snapshot, document, storage)
    return Made(data, job.result_name, job.result_type)


def _make_export(session: Session, job: BackgroundJob, storage: Storage, progress: Progress) -> Made:
    contest = session.get(Contest, job.params["contest_id"])
    if contest is None:
        raise ServiceError(_("The contest this export was asked for no longer exists."))
    progress(0, 3)
    if results.workbook_version(session, contest) != job.params["version"]:
        raise ServiceError(
            _(
                "The scores or entries changed after this export was asked for. Ask for it again to get the "
                "current ones."
            )
        )
    computed = results.compute_results(session, contest)
    progress(1, 3)
    data = results.results_workbook(computed)
    progress(2, 3)
    return Made(data, job.result_name, job.result_type)


RUNNERS: dict[str, Callable[[Session, BackgroundJob, Storage, Progress], Made | None]] = {
    "document": _make_document,
    "export": _make_export,
}
"""What each kind of job does: a file to store (:class:`Made`), or None when the work is in the rows it
changed. Services whose work runs as a job add their runner here (``parts_uploads``: ``verify_upload``)."""
