"""Public pages of published results: award lists (on notice and final), objections, the winners'
gallery and certificate verification. Everything shown comes from a frozen snapshot's payload."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from judging.exports import publication as documents
from judging.extensions import db, limiter
from judging.models import Contest, Entry, JobStatus, ResultSnapshot, SnapshotStatus
from judging.services import NotFound, audit, certificates, integrity, jobs, objections, snapshots
from judging.storage import storage_from_config
from judging.web import lookups
from judging.web.actions import attempt
from judging.web.permissions import public
from judging.web.publication_forms import ObjectionForm, TrackObjectionForm, VerifyForm
from judging.web.published_pages import conditional, recent

bp = Blueprint("publication", __name__)


def _objection_limit() -> str:
    return current_app.config["OBJECTION_RATE_LIMIT"]


@bp.get("/results")
@public
def index() -> ResponseReturnValue:
    series: dict[str, list[tuple[Contest, ResultSnapshot]]] = {}
    for contest, snapshot in snapshots.public_contests(db.session):  # newest edition first
        series.setdefault(contest.series or contest.slug, []).append((contest, snapshot))
    return render_template(
        "publication/index.html",
        series=series,
        open_for_objections=objections.open_for_objections,
        has_gallery=snapshots.has_gallery,
    )


@bp.get("/results/<slug>")
@public
@recent
def current(slug: str) -> ResponseReturnValue:
    contest = lookups.contest_for_public(slug)
    snapshot = lookups.public_or_withdrawn_snapshot(contest)
    if snapshot.status is SnapshotStatus.WITHDRAWN:
        # An upheld objection withdrew the list and reopened review: the page stays and says so.
        return render_template("publication/reopened.html", contest=contest, snapshot=snapshot)
    return _show(contest, snapshot)


@bp.get("/results/<slug>/<int:number>")
@public
@recent
def snapshot(slug: str, number: int) -> ResponseReturnValue:
    contest = lookups.contest_for_public(slug)
    return _show(contest, lookups.snapshot_of(contest, number))


def _vouched(snapshot: ResultSnapshot) -> bool:
    return integrity.snapshot_vouched(db.session, snapshot, audit.current_seal().key)


def _refuse_unvouched(contest: Contest, snapshot: ResultSnapshot) -> ResponseReturnValue:
    """A result whose payload is not what was frozen: nothing of it is shown, and the page says why."""
    return render_template("publication/unverified.html", contest=contest, snapshot=snapshot), 409


def _being_made(contest: Contest, snapshot: ResultSnapshot) -> ResponseReturnValue:
    """The few seconds after a freeze or publication while the worker makes a public document."""
    page = render_template("publication/being_made.html", contest=contest, snapshot=snapshot)
    return page, 503, {"Retry-After": "5", "Cache-Control": "no-store"}


def _version(contest: Contest, snapshot: ResultSnapshot, history: list[ResultSnapshot]) -> list[object]:
    """What a published page of this snapshot shows besides its frozen payload: the contest's other
    snapshots and their statuses, a correction, whether objections are open."""
    corrected_by = snapshots.correction_among(history, snapshot)
    return [
        contest.id,
        contest.title,
        contest.edition,
        contest.phase,
        snapshot.number,
        snapshot.digest,
        snapshot.status,
        *(f"{other.number}:{other.status}" for other in history),
        corrected_by.number if corrected_by else "-",
        objections.open_for_objections(snapshot),
        snapshots.has_gallery(contest),
    ]


def _show(contest: Contest, snapshot: ResultSnapshot) -> ResponseReturnValue:
    if not _vouched(snapshot):
        return _refuse_unvouched(contest, snapshot)

    history = snapshots.snapshots_of(db.session, contest)

    def render() -> bytes:
        payload = snapshots.payload_of(snapshot)
        return render_template(
            "publication/results.html",
            contest=contest,
            snapshot=snapshot,
            payload=payload,
            rows=snapshots.award_rows(payload),
            history=history,
            corrected_by=snapshots.correction_among(history, snapshot),
            open_for_objections=objections.open_for_objections(snapshot),
            has_gallery=snapshots.has_gallery(contest),
            statuses=SnapshotStatus,
            heads=snapshots.recorded_heads(snapshot),
        ).encode("utf-8")

    return conditional(["results", *_version(contest, snapshot, history)], render, "text/html")


@bp.get("/results/<slug>/<int:number>/award-list.pdf")
@public
@recent
def award_list_pdf(slug: str, number: int) -> ResponseReturnValue:
    contest = lookups.contest_for_public(slug)
    snapshot = lookups.snapshot_of(contest, number)
    if not _vouched(snapshot):
        return _refuse_unvouched(contest, snapshot)
    storage = storage_from_config(current_app.config)
    job = jobs.public_document(db.session, snapshot, "award-list.pdf", storage)
    if job is not None and job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
        return _being_made(contest, snapshot)
    stored = job.result_key if job is not None and jobs.result_ready(job, storage) else None
    return conditional(
        ["award-list.pdf", contest.id, snapshot.number, snapshot.digest, snapshot.status],
        # Made once and stored (by the worker when the result was frozen or published); a job that failed
        # leaves the reader no worse off than before: the document is drawn here.
        (lambda: storage.path(stored).read_bytes()) if stored else (lambda: documents.award_list_document(snapshot)),
        "application/pdf",
        **{"Content-Disposition": f'inline; filename="{contest.slug}-{number}-award-list.pdf"'},
    )


@bp.route("/results/<slug>/<int:number>/objection", methods=["GET", "POST"])
@public
@limiter.limit(_objection_limit, methods=["POST"])
def objection(slug: str, number: int) -> ResponseReturnValue:
    contest = lookups.contest_for_public(slug)
    snapshot = lookups.snapshot_of(contest, number)
    if not objections.open_for_objections(snapshot):
        flash(_("Objections can be filed only while the result is on public notice."), "warning")
        return redirect(url_for("publication.snapshot", slug=slug, number=number))
    form = ObjectionForm()
    form.subject.choices = [("", _("Choose…")), *snapshots.objection_subjects(snapshots.payload_of(snapshot))]
    if request.method == "POST":
        if form.validate_on_submit():
            sent_files = [sent for sent in request.files.getlist(form.evidence.name) if sent and sent.filename]
            outcome = attempt(
                lambda: objections.file_objection(
                    db.session,
                    snapshot,
                    name=form.name.data or "",
                    contact=form.contact.data or "",
                    subject=form.subject.data or "",
                    reason=form.reason.data or "",
                    client=request.remote_addr or "",
                    attachments=[(sent.stream, sent.filename or "") for sent in sent_files],
                    storage=storage_from_config(current_app.config),
                )
            )
            for sent in sent_files:
                sent.close()  # the parser's temporary files go now, not when collected
            if outcome.ok:
                return render_template(
                    "publication/objection_filed.html", contest=contest, snapshot=snapshot, objection=outcome.value
                )
        else:
            flash(_("Please correct the marked fields."), "danger")
    return render_template(
        "publication/objection.html",
        contest=contest,
        snapshot=snapshot,
        form=form,
        max_files=objections.MAX_ATTACHMENTS,
        max_mb=objections.ATTACHMENT_MB,
    )


def _lookup_limit() -> str:
    return current_app.config["OBJECTION_LOOKUP_RATE_LIMIT"]


@bp.route("/objections/track", methods=["GET", "POST"])
@public
@limiter.limit(_lookup_limit, methods=["POST"])
def track_objection() -> ResponseReturnValue:
    """Whoever filed an objection reads its status and the organisers' answer: the reference number and the
    contact given are both needed (posted, so that the contact is not kept in URLs and logs)."""
    form = TrackObjectionForm(reference=request.args.get("reference", "")[:32])
    found, refusal = None, None
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                found = objections.track_objection(db.session, form.reference.data or "", form.contact.data or "")
            except NotFound as missing:
                refusal = missing.message
        else:
            refusal = _("Please give the reference number and the telephone or e-mail given with the objection.")
    status = 404 if refusal else 200
    return render_template("publication/objection_track.html", form=form, objection=found, refusal=refusal), status


@bp.get("/results/<slug>/gallery")
@public
@recent
def gallery(slug: str) -> ResponseReturnValue:
    contest = lookups.contest_for_public(slug)
    snapshot = lookups.gallery_snapshot(contest)
    if not _vouched(snapshot):
        return _refuse_unvouched(contest, snapshot)

    def render() -> bytes:
        rows = snapshots.award_rows(snapshots.payload_of(snapshot))
        ids = [row.entry_id for row in rows if row.entry_id]
        entries = {entry.id: entry for entry in db.session.scalars(db.select(Entry).where(Entry.id.in_(ids)))}
        return render_template(
            "publication/gallery.html", contest=contest, snapshot=snapshot, rows=rows, entries=entries
        ).encode("utf-8")

    return conditional(
        ["gallery", *_version(contest, snapshot, snapshots.snapshots_of(db.session, contest))], render, "text/html"
    )


@bp.get("/verify")
@public
def verify() -> ResponseReturnValue:
    form = VerifyForm(request.args)
    if request.args.get("code") is not None and form.validate():
        # A serial keeps its own dashes (ISG-2026-0013); regrouping it in fours as a code mangled it.
        return redirect(url_for("publication.verify_code", code=certificates.normalise_serial(form.code.data or "")))
    return render_template("publication/verify.html", form=form, certificate=None)


@bp.get("/verify/<code>")
@public
def verify_code(code: str) -> ResponseReturnValue:
    form = VerifyForm(code=code)
    try:
        certificate = certificates.verify_certificate(db.session, code)
    except NotFound as refusal:
        return render_template("publication/verify.html", form=form, certificate=None, refusal=refusal.message), 404
    snapshot = certificate.snapshot
    # Vouched for only when the result is what was frozen and the certificate is one of its awards.
    payload = snapshots.payload_of(snapshot) if _vouched(snapshot) else None
    return render_template(
        "publication/verify.html",
        form=form,
        certificate=certificate,
        snapshot=snapshot,
        contest=snapshot.contest,
        corrected_by=snapshots.correction_of(db.session, snapshot),
        intact=payload is not None and integrity.certificate_in_payload(certificate, payload),
    )
