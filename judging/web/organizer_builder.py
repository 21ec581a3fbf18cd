"""The contest builder's rubric editor: every section of a contest's rubric in a form, checked by the
validator of ``flask rubric check`` with each problem next to its field, a live preview of the
entrant's entry form and the judge's score sheet, TOML download and upload, and the versions with the
differences between any two.

The form's values are named by key path (:mod:`judging.rubric_form`); the buttons that add, remove and
move rows are ordinary submit buttons (``op=add:criteria``), so the editor works without JavaScript;
``static/js/rubric_builder.js`` only refreshes the preview and the errors as one types.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from wtforms import SubmitField

from judging.extensions import db
from judging.models import Contest, Role, RubricVersion
from judging.rubric import Rubric, format_points
from judging.rubric_form import RUBRIC_SECTIONS, edit_rows, field_of, form_data_of, form_toml, row_count
from judging.services import contests, rubric_editing
from judging.services.rubric_editing import Problem, RubricRejected
from judging.web import lookups
from judging.web.actions import attempt
from judging.web.entry_forms import entry_form_class
from judging.web.forms import AppForm
from judging.web.permissions import role_required
from judging.web.rubric_labels import rubric_choice_label, rubric_section_label, rubric_setting_label
from judging.web.sheet_forms import score_sheet_form

bp = Blueprint("organizer_builder", __name__, url_prefix="/organizer")
organizer_only = role_required(Role.ORGANIZER)
BUILDER_SOURCE = "builder"


class BuilderForm(AppForm):
    """Only the CSRF token: the rubric's own values are named by key path and read from the request."""


class RubricUploadForm(AppForm):
    file = FileField(_l("Rubric file (.toml)"), validators=[FileRequired(message=_l("Please choose a file."))])
    submit = SubmitField(_l("Upload and save"))


def _posted_values() -> dict[str, str]:
    return {name: value for name, value in request.form.items() if name not in ("csrf_token", "op", "based_on")}


def _preview_rubric(rubric: Rubric) -> Rubric:
    """The rubric without its text: a preview's forms are built afresh, never cached by text."""
    return Rubric.model_validate(rubric.model_dump())


def _preview(rubric: Rubric | None) -> str:
    """The entrant's entry form and the judge's score sheet of ``rubric``, from the forms they use."""
    if rubric is None:
        return render_template("organizer/_builder_preview.html", rubric=None, number=format_points)
    shown = _preview_rubric(rubric)
    entry_form = entry_form_class(shown)(formdata=None) if shown.entry is not None else None
    sheet = score_sheet_form(shown, None) if shown.criteria else None
    return render_template(
        "organizer/_builder_preview.html", rubric=shown, entry_form=entry_form, sheet_form=sheet, number=format_points
    )


def _errors_by_field(details: list[Problem], values: dict[str, str]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for problem in details:
        errors.setdefault(field_of(problem.path, values) if problem.path else "", []).append(problem.message)
    return errors


def _editor(
    contest: Contest, values: dict[str, str], details: list[Problem] | None, rubric: Rubric | None, status: int = 200
) -> ResponseReturnValue:
    return (
        render_template(
            "organizer/builder.html",
            contest=contest,
            values=values,
            sections=RUBRIC_SECTIONS,
            row_count=row_count,
            section_label=rubric_section_label,
            setting_label=rubric_setting_label,
            choice_label=rubric_choice_label,
            problems=details or [],
            errors=_errors_by_field(details or [], values),
            preview=_preview(rubric),
            refusal=rubric_editing.editing_refusal(db.session, contest),
            form=BuilderForm(),
            upload_form=RubricUploadForm(),
        ),
        status,
    )


@bp.get("/contests/<slug>/rubric")
@organizer_only
def editor(slug: str) -> ResponseReturnValue:
    contest = lookups.contest_for_organizer(slug)
    rubric = contests.current_rubric(contest)
    return _editor(contest, form_data_of(rubric), None, rubric)


@bp.post("/contests/<slug>/rubric")
@organizer_only
def edit(slug: str) -> ResponseReturnValue:
    contest = lookups.contest_for_organizer(slug)
    form = BuilderForm()
    if not form.validate_on_submit():
        return _editor(
            contest,
            form_data_of(contests.current_rubric(contest)),
            [Problem("", _("The form has expired; please try again."))],
            None,
            400,
        )
    values = _posted_values()
    operation = request.form.get("op", "check")
    if operation not in ("check", "save"):
        values = edit_rows(values, operation)
        rubric, _details = rubric_editing.check_text(form_toml(values), BUILDER_SOURCE)
        return _editor(contest, values, None, rubric)
    rubric, details = rubric_editing.check_text(form_toml(values), BUILDER_SOURCE)
    if details or operation == "check":
        return _editor(contest, values, details, rubric, 422 if details else 200)
    outcome = attempt(
        lambda: rubric_editing.save_rubric(
            db.session,
            current_user,
            contest,
            form_toml(values),
            BUILDER_SOURCE,
            based_on=request.form.get("based_on", type=int),
        ),
        announce=False,
    )
    if not outcome.ok:
        refusal = outcome.refusal
        details = (
            refusal.details
            if isinstance(refusal, RubricRejected)
            else [Problem("", refusal.message if refusal else "")]
        )
        return _editor(contest, values, details, rubric, 422)
    return _saved(contest, outcome.value)


def _saved(contest: Contest, version: RubricVersion | None) -> ResponseReturnValue:
    if version is None:
        flash(
            _("No change: the rubric's settings are those of version %(n)d.", n=contest.current_rubric.version), "info"
        )
    else:
        flash(_("Saved as rubric version %(n)d.", n=version.version), "success")
    return redirect(url_for("organizer_builder.versions", slug=contest.slug))


@bp.post("/contests/<slug>/rubric/preview")
@organizer_only
def preview(slug: str) -> ResponseReturnValue:
    """The live preview: the rubric being edited, checked; its problems by field and both forms."""
    lookups.contest_for_organizer(slug)
    form = BuilderForm()
    if not form.validate_on_submit():
        return {"errors": {}, "problems": [_("The form has expired; please reload the page.")], "preview": ""}, 400
    values = _posted_values()
    rubric, details = rubric_editing.check_text(form_toml(values), BUILDER_SOURCE)
    return {
        "errors": _errors_by_field(details, values),
        "problems": [problem.line for problem in details],
        "preview": _preview(rubric),
    }


@bp.post("/contests/<slug>/rubric/upload")
@organizer_only
def upload(slug: str) -> ResponseReturnValue:
    contest = lookups.contest_for_organizer(slug)
    form = RubricUploadForm()
    if not form.validate_on_submit():
        details = [Problem("", message) for messages in form.errors.values() for message in messages]
        return _editor(contest, form_data_of(contests.current_rubric(contest)), details, None, 422)
    name = (form.file.data.filename or "rubric.toml")[:200]
    source = f"upload: {name}"

    def save() -> Any:
        text = rubric_editing.decode_upload(form.file.data.read(rubric_editing.MAX_RUBRIC_BYTES + 1))
        return rubric_editing.save_rubric(db.session, current_user, contest, text, source)

    outcome = attempt(save, announce=False)
    if not outcome.ok:
        refusal = outcome.refusal
        details = (
            refusal.details
            if isinstance(refusal, RubricRejected)
            else [Problem("", refusal.message if refusal else "")]
        )
        heading = Problem("", _("The uploaded file %(name)s was not saved:", name=name))
        rubric = contests.current_rubric(contest)
        return _editor(contest, form_data_of(rubric), [heading, *details], rubric, 422)
    return _saved(contest, outcome.value)


@bp.get("/contests/<slug>/rubric/versions/<int:number>.toml")
@organizer_only
def download(slug: str, number: int) -> ResponseReturnValue:
    """A version's text exactly as stored: what ``flask rubric check`` and a new upload accept."""
    contest = lookups.contest_for_organizer(slug)
    version = lookups.rubric_version_of(contest, number)
    return Response(
        version.text,
        mimetype="application/toml",
        headers={"Content-Disposition": f'attachment; filename="{contest.slug}-v{version.version}.toml"'},
    )


@bp.get("/contests/<slug>/rubric/versions")
@organizer_only
def versions(slug: str) -> ResponseReturnValue:
    contest = lookups.contest_for_organizer(slug)
    newest = contest.current_rubric.version
    new_number = request.args.get("new", type=int) or newest
    old_number = request.args.get("old", type=int) or max(1, new_number - 1)
    old = lookups.rubric_version_of(contest, old_number)
    new = lookups.rubric_version_of(contest, new_number)
    return render_template(
        "organizer/builder_versions.html",
        contest=contest,
        old=old,
        new=new,
        differences=rubric_editing.version_differences(old, new),
    )
