"""The entrants' area: the contests open to the organisation, its entries from draft to submission,
uploads (streamed, with a progress bar when JavaScript runs), and the coordinator's nomination round.
"""

from __future__ import annotations

from urllib.parse import unquote

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from judging.exports.pdf import certificate_pdf
from judging.exports.publication import certificate_data
from judging.extensions import db
from judging.models import Entry, EntryFile, Role
from judging.services import ServiceError, entrant_results, entries, entry_files, jobs, nomination, parts_uploads
from judging.services.contests import current_rubric, list_contests
from judging.services.snapshots import payload_of
from judging.storage import Storage, storage_from_config
from judging.web import confirmation, lookups
from judging.web.actions import attempt
from judging.web.entry_forms import (
    CommentForm,
    UploadForm,
    entry_form_class,
    field_values,
    form_data_of,
    submit_form_class,
    ticked_declarations,
)
from judging.web.forms import ConfirmForm
from judging.web.permissions import role_required

bp = Blueprint("entrant", __name__, url_prefix="/entrant")
entrant_only = role_required(Role.ENTRANT)


def _storage() -> Storage:
    return storage_from_config(current_app.config)


def _wants_json() -> bool:
    return request.headers.get("X-Requested-With") == "XMLHttpRequest"


@bp.get("/")
@entrant_only
def dashboard() -> ResponseReturnValue:
    organization = current_user.organization
    contests = [
        (contest, rubric)
        for contest in list_contests(db.session)
        if (rubric := current_rubric(contest)).contest.kind in ("work", "collection")
        and entries.may_enter(rubric, organization)
    ]
    coordinating = [
        contest
        for contest in list_contests(db.session)
        if current_rubric(contest).nomination is not None and organization.children
    ]
    return render_template(
        "entrant/dashboard.html",
        contests=contests,
        new_entry_refusals={
            contest.id: entries.new_entry_refusal(db.session, organization, contest) for contest, _rubric in contests
        },
        coordinating=coordinating,
        entries=entries.entries_of_organization(db.session, organization),
        organization=organization,
        is_open=entries.is_open_for_entries,
        show_deadline=entries.show_deadline,
    )


@bp.route("/contests/<slug>/entries/new", methods=["GET", "POST"])
@entrant_only
def new_entry(slug: str) -> ResponseReturnValue:
    contest, rubric = lookups.contest_for_entrant(slug)
    form = entry_form_class(rubric)()
    if form.validate_on_submit():
        outcome = attempt(
            lambda: entries.create_draft(
                db.session,
                current_user,
                contest,
                title=form.title.data,
                summary=form.summary.data or "",
                fields=field_values(form, rubric),
                category=form.category.data if rubric.categories else None,
            ),
            _("The draft has been saved. Now upload its documents and photos.")
            if rubric.collection
            else _("The draft has been saved. Now upload the work."),
        )
        if outcome.ok and outcome.value is not None:
            return redirect(url_for("entrant.entry", entry_id=outcome.value.id))
    return render_template("entrant/entry_form.html", form=form, contest=contest, rubric=rubric, entry=None)


@bp.route("/entries/<int:entry_id>/edit", methods=["GET", "POST"])
@entrant_only
def edit_entry(entry_id: int) -> ResponseReturnValue:
    entry = lookups.entry_for_entrant(entry_id)
    rubric = current_rubric(entry.contest)
    form_class = entry_form_class(rubric)
    form = form_class() if request.method == "POST" else form_class(data=form_data_of(entry, rubric))
    if form.validate_on_submit():
        outcome = attempt(
            lambda: entries.update_draft(
                db.session,
                current_user,
                entry,
                title=form.title.data,
                summary=form.summary.data or "",
                fields=field_values(form, rubric),
                category=form.category.data if rubric.categories else None,
            ),
            _("The draft has been saved."),
        )
        if outcome.ok:
            return redirect(url_for("entrant.entry", entry_id=entry.id))
    return render_template("entrant/entry_form.html", form=form, contest=entry.contest, rubric=rubric, entry=entry)


@bp.get("/entries/<int:entry_id>")
@entrant_only
def entry(entry_id: int) -> ResponseReturnValue:
    found = lookups.entry_for_entrant(entry_id)
    rubric = current_rubric(found.contest)
    return render_template(
        "entrant/entry.html",
        entry=found,
        rubric=rubric,
        upload_form=UploadForm(),
        submit_form=submit_form_class(rubric)(),
        confirm_form=ConfirmForm(),
        pending=parts_uploads.verifying(db.session, found),
        is_open=entries.is_open_for_entries(found.contest, found),
        submit_refusal=entries.submit_refusal(db.session, found),
        submit_refusal_once_uploaded=entries.submit_refusal(db.session, found, once_uploaded=True),
        show_deadline=entries.show_deadline,
        result=entrant_results.entry_outcome(db.session, found, _letters_key()),
    )


def _letters_key() -> bytes:
    """The key that keeps the judges' letters (Judge A, B, …) untraceable: the application's secret."""
    return str(current_app.config["SECRET_KEY"]).encode()


@bp.get("/entries/<int:entry_id>/certificate.pdf")
@entrant_only
def certificate(entry_id: int) -> ResponseReturnValue:
    issued, snapshot = lookups.certificate_of_entry(lookups.entry_for_entrant(entry_id))
    return Response(
        certificate_pdf([certificate_data(issued, payload_of(snapshot))]),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{issued.serial}.pdf"'},
    )


RAW_UPLOAD_TYPE = "application/octet-stream"


@bp.post("/entries/<int:entry_id>/upload")
@entrant_only
def upload(entry_id: int) -> ResponseReturnValue:
    found = lookups.entry_for_entrant(entry_id)
    if request.mimetype == RAW_UPLOAD_TYPE:
        # The browser's uploader sends the file itself as the body (CSRF token in a header, checked by
        # CSRFProtect): it streams from the socket into storage, with no multipart parsing and no spool copy.
        stream, name = request.stream, unquote(request.headers.get("X-File-Name", ""))
    else:
        form = UploadForm()
        if not form.validate_on_submit():
            message = next(iter(form.errors.values()))[0] if form.errors else _("Please choose a file.")
            return _upload_answer(found, False, str(message), 400)
        # Without JavaScript: the multipart parser has spooled the body to a temporary file.
        stream, name = request.files["file"].stream, request.files["file"].filename or ""
    outcome = attempt(
        lambda: entry_files.attach_file(db.session, current_user, found, _storage(), stream, name), announce=False
    )
    if outcome.refusal is not None:
        status = 413 if isinstance(outcome.refusal, entry_files.FileTooLarge) else 400
        return _upload_answer(found, False, outcome.refusal.message, status)
    stored = outcome.value
    assert stored is not None
    return _upload_answer(
        found, True, _("The file %(name)s has been uploaded.", name=stored.original_name), 200, stored
    )


# Resumable uploads (static/js/upload.js): declare the file, send its parts (to the object store's presigned
# URLs, or to upload_part below), ask what arrived after an interruption, complete. JSON in and out.


def _progress_answer(found: Entry, progress: parts_uploads.Progress) -> dict[str, object]:
    upload = progress.upload
    return {
        "ok": True,
        "upload": upload.token,
        "size": upload.size_bytes,
        "part_size": upload.part_size,
        "parts": len(parts_uploads.part_sizes(upload)),
        "received": [part.number for part in progress.received],
        "received_bytes": progress.received_bytes,
        "urls": {
            str(number): url or url_for("entrant.upload_part", token=upload.token, number=number)
            for number, url in progress.urls.items()
        },
        "status_url": url_for("entrant.upload_status", token=upload.token),
        "complete_url": url_for("entrant.upload_complete", token=upload.token),
    }


def _json_refusal(refusal: ServiceError) -> tuple[Response, int]:
    status = 413 if isinstance(refusal, entry_files.FileTooLarge) else 400
    return jsonify(ok=False, message=refusal.message), status


@bp.post("/entries/<int:entry_id>/uploads")
@entrant_only
def upload_begin(entry_id: int) -> ResponseReturnValue:
    found = lookups.entry_for_entrant(entry_id)
    declared = request.get_json(silent=True) or {}
    name, size = declared.get("name"), declared.get("size")
    if not isinstance(name, str) or not name or isinstance(size, bool) or not isinstance(size, int):
        return jsonify(ok=False, message=_("Please choose a file.")), 400
    storage = _storage()
    outcome = attempt(
        lambda: parts_uploads.begin(
            db.session,
            current_user,
            found,
            storage,
            name=name,
            size=size,
            part_size=current_app.config["UPLOAD_PART_BYTES"],
            expiry_hours=current_app.config["UPLOAD_EXPIRY_HOURS"],
        ),
        announce=False,
    )
    if outcome.refusal is not None:
        return _json_refusal(outcome.refusal)
    assert outcome.value is not None
    return jsonify(_progress_answer(found, parts_uploads.progress(storage, outcome.value))), 201


@bp.get("/uploads/<token>")
@entrant_only
def upload_status(token: str) -> ResponseReturnValue:
    upload = lookups.upload_for_entrant(token)
    return jsonify(_progress_answer(upload.entry, parts_uploads.progress(_storage(), upload)))


@bp.put("/uploads/<token>/parts/<int:number>")
@entrant_only
def upload_part(token: str, number: int) -> ResponseReturnValue:
    upload = lookups.upload_for_entrant(token)
    outcome = attempt(
        lambda: parts_uploads.write_part(current_user, upload, _storage(), number, request.stream), announce=False
    )
    if outcome.refusal is not None:
        return _json_refusal(outcome.refusal)
    assert outcome.value is not None
    return jsonify(ok=True, number=outcome.value.number, size=outcome.value.size)


@bp.post("/uploads/<token>/complete")
@entrant_only
def upload_complete(token: str) -> ResponseReturnValue:
    upload = lookups.upload_for_entrant(token)
    found = upload.entry
    sent = request.get_json(silent=True) or {}
    declared = sent.get("sha256")
    sha256 = declared if isinstance(declared, str) else ""
    storage = _storage()
    outcome = attempt(
        lambda: parts_uploads.complete(db.session, current_user, upload, storage, sha256=sha256), announce=False
    )
    if outcome.refusal is not None:
        if not isinstance(outcome.refusal, parts_uploads.PartsMissing):  # refused for good: the upload goes
            gone = lookups.upload_for_entrant(token)
            attempt(lambda: parts_uploads.abandon(db.session, current_user, gone, storage), announce=False)
        return _upload_answer(
            found,
            False,
            outcome.refusal.message,
            409 if isinstance(outcome.refusal, parts_uploads.PartsMissing) else 400,
        )
    assert outcome.value is not None and outcome.value.job is not None
    job = outcome.value.job
    if jobs.needs_start(job, storage):
        jobs.start(db.session, job, storage)  # queued for a worker; without a queue, verified here and now
    return _check_answer(found, job.id, storage)


def _check_answer(found: Entry, job_id: int, storage: Storage) -> ResponseReturnValue:
    """The verification's state (JSON): being checked (with its progress), or its outcome with the file list."""
    db.session.expire_all()  # the job's own transactions (inline) or another process's (a worker)
    state = parts_uploads.check(db.session, found, job_id)
    if state.state == "refused" and state.upload is not None and not current_app.config.get("JOB_QUEUE_URL"):
        # Checked inside this request: the answer says why, as for any upload, and nothing stays behind.
        refused = state.upload
        attempt(lambda: parts_uploads.abandon(db.session, current_user, refused, storage), announce=False)
    if state.state == "ready":
        return _upload_answer(found, True, state.message, 200, state.entry_file)
    if state.state in ("refused", "stopped", "gone"):
        return _upload_answer(found, False, state.message, 400)
    return jsonify(
        ok=True,
        verifying=True,
        message=state.message,
        percent=state.percent,
        check_url=url_for("entrant.upload_check", entry_id=found.id, job_id=job_id),
        files_html=_files_html(found),
    )


@bp.get("/entries/<int:entry_id>/checks/<int:job_id>")
@entrant_only
def upload_check(entry_id: int, job_id: int) -> ResponseReturnValue:
    """Polled by upload.js while a file uploaded to the object store is verified by its job."""
    found = lookups.entry_for_entrant(entry_id)
    answer = _check_answer(found, job_id, _storage())
    if isinstance(answer, tuple):  # an outcome refused: the poll itself went well
        return answer[0], 200
    return answer


@bp.post("/uploads/<token>/retry")
@entrant_only
def upload_retry(token: str) -> ResponseReturnValue:
    upload = lookups.upload_for_entrant(token)
    found = upload.entry
    if not ConfirmForm().validate_on_submit():
        abort(400)
    storage = _storage()
    outcome = attempt(lambda: parts_uploads.retry(db.session, current_user, upload))
    if outcome.ok and outcome.value is not None:
        jobs.start(db.session, outcome.value, storage)
    return redirect(url_for("entrant.entry", entry_id=found.id))


@bp.post("/uploads/<token>/dismiss")
@entrant_only
def upload_dismiss(token: str) -> ResponseReturnValue:
    upload = lookups.upload_for_entrant(token)
    found = upload.entry
    if not ConfirmForm().validate_on_submit():
        abort(400)
    attempt(
        lambda: parts_uploads.abandon(db.session, current_user, upload, _storage()), _("The file has been removed.")
    )
    return redirect(url_for("entrant.entry", entry_id=found.id))


@bp.post("/uploads/<token>/cancel")
@entrant_only
def upload_cancel(token: str) -> ResponseReturnValue:
    upload = lookups.upload_for_entrant(token)
    attempt(lambda: parts_uploads.abandon(db.session, current_user, upload, _storage()), announce=False)
    return jsonify(ok=True)


def _upload_answer(
    entry: Entry, ok: bool, message: str, status: int, stored: EntryFile | None = None
) -> Response | tuple[Response, int]:
    if _wants_json():
        thumbnail = (
            url_for("files.thumbnail", file_id=stored.id) if stored is not None and stored.thumbnail_key else None
        )
        image = url_for("files.serve", file_id=stored.id) if stored is not None and stored.purpose == "image" else None
        if not ok:  # a refusal changed nothing: the list on the page is still right
            return jsonify(ok=ok, message=message, thumbnail=thumbnail, image=image), status
        files_html = _files_html(entry)
        return jsonify(ok=ok, message=message, thumbnail=thumbnail, image=image, files_html=files_html), status
    flash(message, "success" if ok else "danger")
    return redirect(url_for("entrant.entry", entry_id=entry.id))


def _files_html(entry: Entry) -> str:
    return render_template(
        "entrant/_files.html",
        entry=entry,
        pending=parts_uploads.verifying(db.session, entry),
        confirm_form=ConfirmForm(),
        is_open=entries.is_open_for_entries(entry.contest, entry),
    )


@bp.post("/entries/<int:entry_id>/files/<int:file_id>/delete")
@entrant_only
def delete_file(entry_id: int, file_id: int) -> ResponseReturnValue:
    found = lookups.entry_for_entrant(entry_id)
    entry_file = lookups.file_of_entry(found, file_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    attempt(
        lambda: entry_files.remove_file(db.session, current_user, entry_file, _storage()),
        _("The file has been removed."),
    )
    return redirect(url_for("entrant.entry", entry_id=found.id))


@bp.post("/entries/<int:entry_id>/submit")
@entrant_only
def submit(entry_id: int) -> ResponseReturnValue:
    found = lookups.entry_for_entrant(entry_id)
    rubric = current_rubric(found.contest)
    form = submit_form_class(rubric)()
    if form.validate_on_submit():
        attempt(
            lambda: entries.submit_entry(db.session, current_user, found, ticked_declarations(form, rubric)),
            _("The report has been submitted.") if rubric.collection else _("The entry has been submitted."),
        )
    else:
        flash(_("The form has expired. Please reload and retry."), "danger")
    return redirect(url_for("entrant.entry", entry_id=found.id))


@bp.post("/entries/<int:entry_id>/withdraw")
@entrant_only
def withdraw(entry_id: int) -> ResponseReturnValue:
    found = lookups.entry_for_entrant(entry_id)
    if ConfirmForm().validate_on_submit():
        if not confirmation.confirmed():
            return confirmation.ask(confirmation.withdraw(found, url_for("entrant.entry", entry_id=found.id)))
        attempt(
            lambda: entry_files.withdraw(db.session, current_user, found, _storage()),
            _("The entry has been withdrawn; your organisation may submit another."),
        )
    return redirect(url_for("entrant.entry", entry_id=found.id))


@bp.get("/contests/<slug>/units")
@entrant_only
def units(slug: str) -> ResponseReturnValue:
    contest, rubric = lookups.contest_for_coordinator(slug)
    listed = nomination.units_entries(db.session, current_user, contest)
    nominated = sum(1 for e in listed if e.nominated_by_id == current_user.organization_id)
    return render_template(
        "entrant/units.html",
        contest=contest,
        rubric=rubric,
        entries=listed,
        nominated=nominated,
        may_nominate={e.id for e in listed if nomination.nominating_organization(e).id == current_user.organization_id},
        confirm_form=ConfirmForm(),
        comment_form=CommentForm(),
        is_open=entries.is_open_for_entries(contest),
    )


@bp.post("/entries/<int:entry_id>/comment")
@entrant_only
def comment(entry_id: int) -> ResponseReturnValue:
    found = lookups.entry_for_coordinator(entry_id)
    form = CommentForm()
    if form.validate_on_submit():
        attempt(
            lambda: nomination.comment_on_entry(db.session, current_user, found, form.comment.data or ""),
            _("The comment on %(code)s has been saved.", code=found.code),
        )
    return redirect(url_for("entrant.units", slug=found.contest.slug))


@bp.post("/entries/<int:entry_id>/nominate")
@entrant_only
def nominate(entry_id: int) -> ResponseReturnValue:
    found = lookups.entry_for_coordinator(entry_id)
    nominating = request.form.get("action") != "withdraw"
    if ConfirmForm().validate_on_submit():
        if nominating:
            attempt(
                lambda: nomination.nominate_entry(db.session, current_user, found),
                _("%(code)s is nominated to the city round.", code=found.code),
            )
        else:
            attempt(
                lambda: nomination.withdraw_nomination(db.session, current_user, found),
                _("The nomination of %(code)s has been withdrawn.", code=found.code),
            )
    return redirect(url_for("entrant.units", slug=found.contest.slug))
