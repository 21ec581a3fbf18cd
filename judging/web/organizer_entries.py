"""The organisers' list of a contest's entries: filters, file details, disqualify or reinstate, xlsx export,
each entry's full page, and the blind check of what judges would read."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import HiddenField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from judging.exports.entry_list import entry_list_xlsx
from judging.extensions import db
from judging.models import Contest, Entry, EntryStatus, Role
from judging.services import contests, entries, organizations
from judging.services.blind_check import blind_check as check_names
from judging.services.blind_view import is_blind
from judging.web import lookups
from judging.web.actions import attempt
from judging.web.forms import AppForm
from judging.web.labels import entry_status_label
from judging.web.permissions import role_required
from judging.workflow import Action

bp = Blueprint("organizer_entries", __name__, url_prefix="/organizer")
organizer_only = role_required(Role.ORGANIZER)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class EntryFilterForm(AppForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    organization = SelectField(_l("Organisation"), coerce=int, choices=[])
    status = SelectField(_l("Status"), choices=[])
    eligibility = SelectField(_l("Eligibility"), choices=[], validate_choice=False)  # unknown values: no filter


class EntryStatusForm(AppForm):
    action = HiddenField(validators=[DataRequired()])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Confirm"))


def _filter_form() -> EntryFilterForm:
    form = EntryFilterForm(request.args)
    form.organization.choices = [(0, _("All organisations"))] + [
        (org.id, org.name) for org in organizations.list_organizations(db.session)
    ]
    form.status.choices = [("", _("All statuses"))] + [(s.value, entry_status_label(s)) for s in EntryStatus]
    form.eligibility.choices = [
        ("", _("Eligible or not")),
        ("eligible", _("Goes before the panel")),
        ("ineligible", _("Does not go before the panel")),
    ]
    return form


def _filtered(slug: str) -> tuple[Contest, EntryFilterForm, list[Entry]]:
    contest = lookups.contest_for_organizer(slug)
    form = _filter_form()
    organization_id = form.organization.data if form.organization.data and form.validate() else None
    status = EntryStatus(form.status.data) if form.status.data in {s.value for s in EntryStatus} else None
    eligible = {"eligible": True, "ineligible": False}.get(form.eligibility.data or "")
    listed = entries.entries_of_contest(
        db.session, contest, organization_id=organization_id, status=status, eligible=eligible
    )
    return contest, form, listed


@bp.get("/contests/<slug>/entries")
@organizer_only
def entry_list(slug: str) -> ResponseReturnValue:
    contest, form, listed = _filtered(slug)
    return render_template(
        "organizer/entries.html",
        contest=contest,
        rubric=contests.current_rubric(contest),
        form=form,
        entries=listed,
        status_form=EntryStatusForm(),
        frozen=not contests.allowed(Action.DISQUALIFY_ENTRIES, contest),
    )


@bp.get("/entries/<int:entry_id>")
@organizer_only
def entry_detail(entry_id: int) -> ResponseReturnValue:
    """Everything an entry holds: every rubric field (identifying ones too), the declarations, the
    coordinator's comment, and every file with its links and checks."""
    entry = lookups.entry_for_organizer(entry_id)
    return render_template(
        "organizer/entry.html",
        entry=entry,
        contest=entry.contest,
        rubric=contests.current_rubric(entry.contest),
    )


@bp.get("/contests/<slug>/blind-check")
@organizer_only
def blind_check(slug: str) -> ResponseReturnValue:
    contest = lookups.contest_for_organizer(slug)
    return render_template(
        "organizer/blind_check.html",
        contest=contest,
        findings=check_names(db.session, contest),
        blind=is_blind(contest),
    )


@bp.get("/contests/<slug>/entries.xlsx")
@organizer_only
def entry_list_export(slug: str) -> Response:
    contest, _form, listed = _filtered(slug)
    content = entry_list_xlsx(listed, contests.current_rubric(contest), entry_status_label)
    response = Response(content, mimetype=XLSX)
    response.headers["Content-Disposition"] = f'attachment; filename="{contest.slug}-entries.xlsx"'
    return response


@bp.post("/entries/<int:entry_id>/status")
@organizer_only
def change_status(entry_id: int) -> ResponseReturnValue:
    entry = lookups.entry_for_organizer(entry_id)
    form = EntryStatusForm()
    if form.validate_on_submit() and form.action.data in ("disqualify", "reinstate"):
        change = entries.disqualify_entry if form.action.data == "disqualify" else entries.reinstate_entry
        attempt(
            lambda: change(db.session, current_user, entry, form.reason.data or ""),
            _("The status of %(code)s has been changed.", code=entry.code),
        )
    else:
        flash(_("Please give the reason."), "danger")
    return redirect(url_for("organizer_entries.entry_list", slug=entry.contest.slug))
