"""Long work the organisers asked for (certificates, booklets, large exports): its progress, its file, and a
retry when it failed. The work itself is :mod:`judging.services.jobs`."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from judging.extensions import db
from judging.models import BackgroundJob, JobStatus, ResultSnapshot, Role
from judging.services import jobs
from judging.storage import Storage, storage_from_config
from judging.web import lookups
from judging.web.actions import attempt
from judging.web.forms import ConfirmForm
from judging.web.permissions import role_required

bp = Blueprint("organizer_jobs", __name__, url_prefix="/organizer")
organizer_only = role_required(Role.ORGANIZER)


def _storage() -> Storage:
    return storage_from_config(current_app.config)


def prepared_document(slug: str, number: int, document: str) -> ResponseReturnValue:
    """A heavy document of a result: its stored file when made, else its job started and its page."""
    contest = lookups.contest_for_organizer(slug)
    snapshot = lookups.snapshot_of(contest, number)
    outcome = attempt(lambda: jobs.document_job(db.session, current_user, snapshot, document), announce=True)
    if not outcome.ok or outcome.value is None:
        return redirect(url_for("organizer_publication.desk", slug=slug))
    return _started_file_or_page(outcome.value)


def _started_file_or_page(job: BackgroundJob) -> ResponseReturnValue:
    """A requested job started if it has work to do; then its stored file when made, else its page."""
    if jobs.needs_start(job, _storage()):
        jobs.start(db.session, job, _storage())
    if jobs.result_ready(job, _storage()):
        return _file(job)
    return redirect(url_for("organizer_jobs.job", job_id=job.id))


def prepared_export(slug: str, export: str) -> ResponseReturnValue:
    """A large export of a contest's current data: its stored file when made for this very data, else its
    job started and its page (a refusal, e.g. nothing to export yet, goes back to the results page)."""
    contest = lookups.contest_for_organizer(slug)
    outcome = attempt(lambda: jobs.export_job(db.session, current_user, contest, export))
    if not outcome.ok or outcome.value is None:
        return redirect(url_for("organizer_results.results_page", slug=slug))
    return _started_file_or_page(outcome.value)


def make_public_documents(snapshot: ResultSnapshot) -> None:
    """After a freeze or a publication, with a queue: the worker makes the result's public documents in
    every language before readers ask for them (without a queue the first reader's request makes and
    stores each, as it would have drawn it anyway)."""
    if not jobs.queued(current_app.config):
        return
    outcome = attempt(lambda: jobs.public_document_jobs(db.session, current_user, snapshot), announce=False)
    for made in outcome.value or []:
        if jobs.needs_start(made, _storage()):
            jobs.start(db.session, made, _storage())


def _file(job: BackgroundJob) -> ResponseReturnValue:
    return send_file(
        _storage().path(job.result_key or ""),  # result_ready: set and stored
        mimetype=job.result_type,
        as_attachment=True,
        download_name=job.result_name,
        max_age=0,
    )


@bp.post("/contests/<slug>/snapshots/<int:number>/<document>/prepare")
@organizer_only
def prepare(slug: str, number: int, document: str) -> ResponseReturnValue:
    return prepared_document(slug, number, document)


@bp.get("/jobs/<int:job_id>")
@organizer_only
def job(job_id: int) -> ResponseReturnValue:
    found = lookups.job_for_organizer(job_id)
    return render_template(
        "organizer/job.html",
        job=found,
        ready=jobs.result_ready(found, _storage()),
        working=found.status is JobStatus.QUEUED or (found.status is JobStatus.RUNNING and not found.stalled),
        statuses=JobStatus,
        retry_form=ConfirmForm(),
    )


@bp.get("/jobs/<int:job_id>/file")
@organizer_only
def download(job_id: int) -> ResponseReturnValue:
    found = lookups.job_for_organizer(job_id)
    if not jobs.result_ready(found, _storage()):
        return redirect(url_for("organizer_jobs.job", job_id=job_id))
    return _file(found)


@bp.post("/jobs/<int:job_id>/retry")
@organizer_only
def retry(job_id: int) -> ResponseReturnValue:
    found = lookups.job_for_organizer(job_id)
    if ConfirmForm().validate_on_submit():
        outcome = attempt(lambda: jobs.retry(db.session, current_user, found))
        if outcome.ok:
            jobs.start(db.session, found, _storage())
    return redirect(url_for("organizer_jobs.job", job_id=job_id))
