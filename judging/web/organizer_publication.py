"""The organisers' publication desk: freeze, public notice and objections, publish, correct, export."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, redirect, render_template, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from judging.exports import publication as documents
from judging.exports.booklet import booklet_applies
from judging.extensions import db
from judging.models import ObjectionStatus, Role, SnapshotStatus
from judging.services import contests, jobs, objections, publication, snapshots
from judging.storage import storage_from_config
from judging.web import confirmation, lookups
from judging.web.actions import attempt
from judging.web.forms import ConfirmForm
from judging.web.organizer_jobs import make_public_documents, prepared_document
from judging.web.permissions import role_required
from judging.web.publication_forms import AnswerForm, BulkAnswerForm, FreezeForm
from judging.web.sheet_forms import ReasonForm
from judging.workflow import Action

bp = Blueprint("organizer_publication", __name__, url_prefix="/organizer")
BULK_PREFIX = "bulk"  # the page also holds one answer form per objection, with the same field names
organizer_only = role_required(Role.ORGANIZER)

DOCUMENTS = {
    "award-list.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "award-list.csv": "text/csv; charset=utf-8",
    "award-list.pdf": "application/pdf",
    "certificates.pdf": "application/pdf",
    "booklet.pdf": "application/pdf",
}


def document_labels() -> dict[str, str]:
    return {
        "award-list.xlsx": _("Award list (xlsx)"),
        "award-list.csv": _("Award list (CSV)"),
        "award-list.pdf": _("Award list (PDF)"),
        "certificates.pdf": _("Certificates (PDF)"),
        "booklet.pdf": _("Case booklet (PDF)"),
    }


def _back(slug: str) -> ResponseReturnValue:
    return redirect(url_for("organizer_publication.desk", slug=slug))


@bp.get("/contests/<slug>/publication")
@organizer_only
def desk(slug: str) -> ResponseReturnValue:
    contest = lookups.contest_for_organizer(slug)
    history = snapshots.snapshots_of(db.session, contest)
    on_notice = next((s for s in history if s.status is SnapshotStatus.FROZEN), None)
    freeze_form = FreezeForm(publicity_days=contest.publicity_days)
    return render_template(
        "organizer/publication.html",
        contest=contest,
        snapshots=list(reversed(history)),
        on_notice=on_notice,
        published=snapshots.latest_publication(db.session, contest),
        freeze_form=freeze_form,
        answer_form=AnswerForm(),
        bulk_form=BulkAnswerForm(prefix=BULK_PREFIX),
        reason_form=ReasonForm(),
        confirm=ConfirmForm(),
        award_rows=snapshots.award_rows,
        payload_of=snapshots.payload_of,
        intact=snapshots.snapshot_intact,
        documents=document_labels(),
        heavy_documents=jobs.HEAVY_DOCUMENTS,
        has_booklet=booklet_applies(contests.current_rubric(contest)),
        pending=ObjectionStatus.PENDING,
        now=publication.utcnow(),
    )


@bp.post("/contests/<slug>/freeze")
@organizer_only
def freeze(slug: str) -> ResponseReturnValue:
    contest = lookups.contest_for_organizer(slug)
    form = FreezeForm()
    if not form.validate_on_submit():
        flash(_("The notice period must be a whole number of days between 1 and 60."), "danger")
        return _back(slug)
    frozen = attempt(
        lambda: publication.freeze(db.session, current_user, contest, form.publicity_days.data),
        _("The results are frozen and on public notice."),
    )
    if frozen.ok and frozen.value is not None:
        make_public_documents(frozen.value)
    return _back(slug)


@bp.post("/contests/<slug>/snapshots/<int:number>/publish")
@organizer_only
def publish(slug: str, number: int) -> ResponseReturnValue:
    contest = lookups.contest_for_organizer(slug)
    snapshot = lookups.snapshot_of(contest, number)
    if ConfirmForm().validate_on_submit():
        if confirmation.needed(Action.PUBLISH_RESULTS, contest, snapshot):
            return confirmation.ask(confirmation.publish(snapshot, url_for("organizer_publication.desk", slug=slug)))
        published = attempt(
            lambda: publication.publish(db.session, current_user, snapshot),
            _("The results are published and the certificates issued."),
        )
        if published.ok:
            make_public_documents(snapshot)
    return _back(slug)


@bp.post("/contests/<slug>/snapshots/<int:number>/reopen")
@organizer_only
def reopen(slug: str, number: int) -> ResponseReturnValue:
    contest = lookups.contest_for_organizer(slug)
    snapshot = lookups.snapshot_of(contest, number)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("Please give the reason for reopening review."), "danger")
        return _back(slug)
    attempt(
        lambda: publication.reopen_review(db.session, current_user, snapshot, form.reason.data or ""),
        _("Review is reopened; the withdrawn result stays on record."),
    )
    return _back(slug)


@bp.post("/contests/<slug>/correction")
@organizer_only
def correction(slug: str) -> ResponseReturnValue:
    contest = lookups.contest_for_organizer(slug)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("Please give the reason for the correction."), "danger")
        return _back(slug)
    attempt(
        lambda: publication.start_correction(db.session, current_user, contest, form.reason.data or ""),
        _("Review is reopened for a correction; the publication stays public until the corrected one replaces it."),
    )
    return _back(slug)


@bp.get("/objections/<int:objection_id>/evidence/<int:attachment_id>")
@organizer_only
def evidence(objection_id: int, attachment_id: int) -> ResponseReturnValue:
    """A file filed with an objection, as a download (never shown inline: it is anyone's upload)."""
    attachment = lookups.evidence_of(lookups.objection_for_organizer(objection_id), attachment_id)
    response = send_file(
        storage_from_config(current_app.config).path(attachment.storage_key),
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.original_name,
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/objections/<int:objection_id>/answer")
@organizer_only
def answer(objection_id: int) -> ResponseReturnValue:
    objection = lookups.objection_for_organizer(objection_id)
    slug = objection.snapshot.contest.slug
    form = AnswerForm()
    if not form.validate_on_submit():
        flash(_("Please choose a decision and write the answer."), "danger")
        return _back(slug)
    if form.decision.data == "uphold" and confirmation.needed(
        Action.REOPEN_REVIEW, objection.snapshot.contest, objection.snapshot
    ):
        return confirmation.ask(
            confirmation.uphold(objection.snapshot, [objection], url_for("organizer_publication.desk", slug=slug))
        )
    attempt(
        lambda: objections.answer_objection(
            db.session, current_user, objection, uphold=form.decision.data == "uphold", answer=form.answer.data or ""
        ),
        _("The answer is recorded."),
    )
    return _back(slug)


@bp.post("/contests/<slug>/snapshots/<int:number>/answers")
@organizer_only
def answer_several(slug: str, number: int) -> ResponseReturnValue:
    contest = lookups.contest_for_organizer(slug)
    snapshot = lookups.snapshot_of(contest, number)
    form = BulkAnswerForm(prefix=BULK_PREFIX)
    form.objection_ids.choices = [(objection.id, objection.reference) for objection in snapshot.objections]
    if not form.validate_on_submit():
        flash(_("Please tick the objections, choose a decision and write the answer."), "danger")
        return _back(slug)
    chosen = [objection for objection in snapshot.objections if objection.id in (form.objection_ids.data or [])]
    if form.decision.data == "uphold" and chosen and confirmation.needed(Action.REOPEN_REVIEW, contest, snapshot):
        return confirmation.ask(confirmation.uphold(snapshot, chosen, url_for("organizer_publication.desk", slug=slug)))
    outcome = attempt(
        lambda: objections.answer_objections(
            db.session,
            current_user,
            snapshot,
            form.objection_ids.data or [],
            uphold=form.decision.data == "uphold",
            answer=form.answer.data or "",
        )
    )
    if outcome.ok and outcome.value is not None:
        flash(_("The answer is recorded for %(n)d objections.", n=len(outcome.value)), "success")
    return _back(slug)


@bp.get("/contests/<slug>/snapshots/<int:number>/<document>")
@organizer_only
def download(slug: str, number: int, document: str) -> ResponseReturnValue:
    lookups.one_of(document, DOCUMENTS)
    if document in jobs.HEAVY_DOCUMENTS:  # made once by a job and stored (see organizer_jobs)
        return prepared_document(slug, number, document)
    contest = lookups.contest_for_organizer(slug)
    snapshot = lookups.snapshot_of(contest, number)
    storage = storage_from_config(current_app.config)
    outcome = attempt(lambda: documents.render(db.session, snapshot, document, storage))
    if not outcome.ok or outcome.value is None:
        return _back(slug)
    filename = f"{contest.slug}-{number}-{document}"
    return Response(
        outcome.value,
        mimetype=DOCUMENTS[document],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
