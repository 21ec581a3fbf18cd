"""The organisers' people pages: edit a person, confirm a deactivation, create many people from a table,
hand out invitation links (printed letters, a spreadsheet, or mail), remind judges and notify entrants."""

from __future__ import annotations

import io

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from judging.exports.invitations import Letter, invitation_letters_pdf, invitation_links_xlsx
from judging.exports.workbook import XLSX_MIMETYPE, Sheet, xlsx_bytes
from judging.extensions import db
from judging.links import absolute_url
from judging.models import JudgeRelation, Role, User
from judging.services import (
    NotFound,
    ServiceError,
    contests,
    exclusions,
    invitations,
    notices,
    organizations,
    panel,
    people,
    people_import,
)
from judging.services.mail import MailReport, MailSettings, record_mailing, send_notices
from judging.services.progress import progress_of_judge
from judging.web import lookups
from judging.web.actions import attempt, flash_refusal
from judging.web.forms import AppForm, ConfirmForm, role_choices
from judging.web.labels import role_label
from judging.web.permissions import role_required
from judging.web.sheet_forms import RelationForm
from judging.web.table_uploads import (
    ConfirmImportForm,
    TableUploadForm,
    confirm_token,
    confirmed_upload,
    discard_upload,
    keep_upload,
)

bp = Blueprint("organizer_people", __name__, url_prefix="/organizer")
organizer_only = role_required(Role.ORGANIZER)


class PersonForm(AppForm):
    display_name = StringField(validators=[DataRequired(), Length(max=120)])
    role = SelectField(choices=[])
    organization_id = SelectField(coerce=int, choices=[])
    email = StringField(validators=[Optional(), Length(max=254)])
    submit = SubmitField()


class InvitationsForm(AppForm):
    """Which people (ids, comma-separated; empty: everyone waiting) and how: pdf, xlsx or mail."""

    people = HiddenField()
    output = HiddenField()


class NoticeForm(AppForm):
    contest = SelectField(coerce=int, choices=[])
    subject = StringField(validators=[DataRequired(), Length(max=150)])
    text = TextAreaField(validators=[DataRequired(), Length(max=5000)])


class ReminderForm(AppForm):
    contest = SelectField(coerce=int, choices=[])


def _mail_settings() -> MailSettings | None:
    return MailSettings.from_config(current_app.config)


def _person_form(user_obj: object | None = None) -> PersonForm:
    form = PersonForm(obj=user_obj) if user_obj is not None else PersonForm()
    form.role.choices = role_choices()
    form.organization_id.choices = [(0, "—")] + [
        (org.id, org.name) for org in organizations.list_organizations(db.session)
    ]
    return form


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@organizer_only
def edit_person(user_id: int) -> ResponseReturnValue:
    user = lookups.user_for_organizer(user_id)
    form = _person_form()
    if request.method == "GET":
        form.display_name.data = user.display_name
        form.role.data = user.role.value
        form.organization_id.data = user.organization_id or 0
        form.email.data = user.email or ""
    elif form.validate_on_submit():
        organization_id = form.organization_id.data
        outcome = attempt(
            lambda: people.edit_person(
                db.session,
                current_user,
                user,
                display_name=form.display_name.data or "",
                role=Role(form.role.data),
                organization=organizations.get_organization(db.session, organization_id) if organization_id else None,
                email=form.email.data or "",
            )
        )
        if outcome.ok and outcome.value is not None:
            if not outcome.value.changes:
                flash(_("Nothing was changed."), "info")
            else:
                flash(_("The account of %(name)s has been updated.", name=user.display_name), "success")
            if outcome.value.recused:
                flash(
                    _(
                        "Recused because of the new affiliation: %(codes)s.",
                        codes="、".join(outcome.value.recused),
                    ),
                    "info",
                )
            return redirect(url_for("organizer.user_list"))
        return _person_page(user, form, 400)
    else:
        for errors in form.errors.values():
            flash(errors[0], "danger")
        return _person_page(user, form, 400)
    return _person_page(user, form)


def _relations(user: User) -> list[JudgeRelation]:
    return exclusions.relations_of(db.session, user) if user.role is Role.JUDGE else []


def _relation_form() -> RelationForm:
    form = RelationForm()
    form.organization_id.choices = [(o.id, o.name) for o in organizations.pickable_organizations(db.session)]
    return form


def _person_page(user: User, form: PersonForm, status: int = 200) -> ResponseReturnValue:
    return render_template(
        "organizer/person.html",
        person=user,
        form=form,
        relations=_relations(user),
        relation_form=_relation_form(),
        confirm=ConfirmForm(),
    ), status


@bp.post("/users/<int:user_id>/relations")
@organizer_only
def add_relation(user_id: int) -> ResponseReturnValue:
    """Declare, for a judge, an organisation the judge is related to: open conflicting assignments are recused."""
    user = lookups.user_for_organizer(user_id)
    form = _relation_form()
    if not form.validate_on_submit():
        flash(_("Please choose an organisation."), "danger")
    else:
        organization = organizations.get_organization(db.session, form.organization_id.data)
        outcome = attempt(
            lambda: panel.declare_relation(db.session, current_user, user, organization, form.note.data or ""),
            _("%(judge)s's relation with %(name)s is recorded.", judge=user.display_name, name=organization.name),
        )
        if outcome.ok and outcome.value:
            flash(_("%(n)d open assignments were recused because of this relation.", n=outcome.value), "info")
    return redirect(url_for("organizer_people.edit_person", user_id=user.id))


@bp.post("/users/<int:user_id>/relations/<int:relation_id>/remove")
@organizer_only
def remove_relation(user_id: int, relation_id: int) -> ResponseReturnValue:
    user = lookups.user_for_organizer(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    relation = exclusions.get_relation(db.session, relation_id)
    if relation.judge_id != user.id:
        raise NotFound(_("No such relation."))
    attempt(
        lambda: exclusions.remove_relation(db.session, current_user, relation),
        _("The relation has been withdrawn."),
    )
    return redirect(url_for("organizer_people.edit_person", user_id=user.id))


# --- many people from a table -----------------------------------------------------------------------


@bp.get("/people/import")
@organizer_only
def import_people() -> ResponseReturnValue:
    return render_template(
        "organizer/people_import.html",
        form=TableUploadForm(),
        columns=people_import.template_headers(),
    )


@bp.get("/people/import-template.xlsx")
@organizer_only
def import_template() -> ResponseReturnValue:
    """An empty table with the expected headers, in the user's language, and a sheet explaining them."""
    headers = people_import.template_headers()
    explained = [
        (headers[0], _("Required. The name shown on the site and on the letter.")),
        (headers[1], _("Required. judge or entrant (评审专家 or 参赛单位).")),
        (headers[2], _("An entrant's organisation (required), or a judge's affiliation, by its name on the site.")),
        (headers[3], _("Judges only: organisations the judge is related to, separated by 、")),
        (headers[4], _("Optional: invitations can then go by e-mail.")),
        (headers[5], _("Optional: made up (judge-001, entrant-001, …) when empty.")),
    ]
    content = xlsx_bytes(
        [
            Sheet(_("People"), headers, []),
            Sheet(_("Explanation"), [_("Column"), _("What to write")], explained),
        ]
    )
    return send_file(
        io.BytesIO(content), mimetype=XLSX_MIMETYPE, as_attachment=True, download_name="people-template.xlsx"
    )


@bp.post("/people/import/preview")
@organizer_only
def preview_people() -> ResponseReturnValue:
    form = TableUploadForm()
    if not form.validate_on_submit():
        flash(_("Please choose a .csv or .xlsx file."), "danger")
        return redirect(url_for("organizer_people.import_people"))
    path, name = keep_upload(form)
    try:
        rows = people_import.read_people(db.session, path, name)
    except ServiceError as refusal:
        discard_upload(path)
        flash_refusal(refusal)
        flash(_("Nothing was imported."), "warning")
        return render_template(
            "organizer/people_import.html", form=TableUploadForm(), columns=people_import.template_headers()
        ), 400
    return render_template(
        "organizer/people_preview.html",
        rows=rows,
        file=name,
        form=ConfirmImportForm(token=confirm_token(path, name)),
    )


@bp.post("/people/import/confirm")
@organizer_only
def confirm_people() -> ResponseReturnValue:
    pending = confirmed_upload()
    if pending is None:
        return redirect(url_for("organizer_people.import_people"))
    path, name = pending
    try:
        outcome = attempt(
            lambda: people_import.create_people(
                db.session, current_user, path, name, current_app.config["INVITATION_DAYS"]
            )
        )
    finally:
        discard_upload(path)
    if not outcome.ok or outcome.value is None:
        flash(_("Nothing was imported."), "warning")
        return redirect(url_for("organizer_people.import_people"))
    created = [person.user for person in outcome.value]
    flash(_("%(n)d accounts created.", n=len(created)), "success")
    return render_template(
        "organizer/people_created.html",
        created=created,
        people=",".join(str(user.id) for user in created),
        form=InvitationsForm(),
        mail=_mail_settings() is not None,
    )


# --- invitation links for many --------------------------------------------------------------------


@bp.get("/people/invitations")
@organizer_only
def invitations_page() -> ResponseReturnValue:
    return render_template(
        "organizer/people_invitations.html",
        waiting=invitations.waiting_people(db.session),
        form=InvitationsForm(),
        mail=_mail_settings() is not None,
    )


def _chosen_ids(text: str) -> list[int] | None:
    if not text.strip():
        return None
    parts = [part.strip() for part in text.split(",")]
    if not all(part.isdigit() and len(part) < 12 for part in parts):
        abort(400)
    return [int(part) for part in parts]


@bp.post("/people/invitations")
@organizer_only
def issue_invitations() -> ResponseReturnValue:
    """New links for the chosen people (or everyone waiting), as letters, a spreadsheet or mail."""
    form = InvitationsForm()
    output = form.output.data or ""
    if not form.validate_on_submit() or output not in ("pdf", "xlsx", "mail"):
        abort(400)
    settings = _mail_settings()
    if output == "mail" and settings is None:
        flash(_("No mail server is configured: print the letters or download the links instead."), "warning")
        return redirect(url_for("organizer_people.invitations_page"))
    ids = _chosen_ids(form.people.data or "")
    days = current_app.config["INVITATION_DAYS"]
    waiting = invitations.waiting_people(db.session, ids)
    if ids is not None and len(waiting) != len(set(ids)):
        flash(_("Some of these people are no longer waiting for a link: see the list below."), "warning")
        return redirect(url_for("organizer_people.invitations_page"))
    outcome = attempt(lambda: invitations.issue_invitations(db.session, current_user, waiting, days))
    if not outcome.ok or outcome.value is None:
        return redirect(url_for("organizer_people.invitations_page"))
    site = current_app.config.get("SITE_NAME") or ""
    written = [
        (issued, notices.invitation_notice(issued.user, _link(issued.token), issued.expires_at, site))
        for issued in outcome.value
    ]
    if output == "mail":
        assert settings is not None
        _mailed(send_notices(settings, [notice for _issued, notice in written]), "invitations")
        return redirect(url_for("organizer_people.invitations_page"))
    if output == "xlsx":
        headers = [
            _("Full name"),
            _("Username"),
            _("Role"),
            _("Organisation"),
            _("E-mail"),
            _("Invitation link"),
            _("Expires"),
        ]
        rows = [
            [
                issued.user.display_name,
                issued.user.username,
                role_label(issued.user.role),
                issued.user.organization.name if issued.user.organization else "",
                issued.user.email or "",
                notice.link,
                issued.expires_at,
            ]
            for issued, notice in written
        ]
        content = invitation_links_xlsx(headers, rows, _("Invitation links"))
        return send_file(
            io.BytesIO(content), mimetype=XLSX_MIMETYPE, as_attachment=True, download_name="invitation-links.xlsx"
        )
    letters = [_letter(issued, notice, site) for issued, notice in written]
    lang = "en" if str(get_locale()).startswith("en") else "zh-CN"
    return send_file(
        io.BytesIO(invitation_letters_pdf(letters, lang)),
        mimetype="application/pdf",
        as_attachment=True,
        download_name="invitation-letters.pdf",
    )


def _link(token: str) -> str:
    return absolute_url("auth.accept_invitation", token=token)


def _letter(issued: invitations.IssuedInvitation, notice: notices.Notice, site: str) -> Letter:
    user = issued.user
    return Letter(
        title=_("Invitation letter"),
        facts=[
            (_("Full name"), user.display_name),
            (_("Organisation"), user.organization.name if user.organization else "—"),
            (_("Role"), role_label(user.role)),
            (_("Username"), user.username),
        ],
        greeting=notice.greeting,
        paragraphs=notice.paragraphs,
        link_label=notice.link_label,
        link=notice.link,
        expires=_("Valid until %(when)s", when=format_datetime(issued.expires_at, "yyyy-MM-dd HH:mm")),
        issuer=site or _("The organisers"),
    )


def _mailed(report: MailReport, what: str, contest_id: int | None = None) -> None:
    """Record the mailing in the audit log and tell the organiser who got it and who did not."""
    attempt(lambda: record_mailing(db.session, current_user, what, report, contest_id))
    _flash_mail_report(report)


def _flash_mail_report(report: MailReport) -> None:
    if report.sent:
        flash(_("Mail sent to %(n)d people.", n=len(report.sent)), "success")
    if report.without_address:
        flash(
            _("No e-mail address, nothing sent: %(names)s.", names="、".join(report.without_address)),
            "warning",
        )
    if report.failed:
        flash(_("The mail server did not accept mail for: %(names)s.", names="、".join(report.failed)), "danger")


# --- reminders and notices by mail --------------------------------------------------------------------


def _contest_choices() -> list[tuple[int, str]]:
    return [(contest.id, contest.title) for contest in contests.list_contests(db.session)]


@bp.get("/people/mail")
@organizer_only
def mail_page() -> ResponseReturnValue:
    reminder, notice = ReminderForm(), NoticeForm()
    reminder.contest.choices = notice.contest.choices = _contest_choices()
    return render_template(
        "organizer/people_mail.html", mail=_mail_settings() is not None, reminder=reminder, notice=notice
    )


def _contest_from(form_contest_id: int | None):  # type: ignore[no-untyped-def]
    for contest in contests.list_contests(db.session):
        if contest.id == form_contest_id:
            return contest
    abort(400)


@bp.post("/people/mail/reminders")
@organizer_only
def send_reminders() -> ResponseReturnValue:
    """Mail each judge of the contest who has not submitted every assigned sheet."""
    form = ReminderForm()
    form.contest.choices = _contest_choices()
    settings = _mail_settings()
    if not form.validate_on_submit():
        abort(400)
    if settings is None:
        flash(_("No mail server is configured: nothing was sent."), "warning")
        return redirect(url_for("organizer_people.mail_page"))
    contest = _contest_from(form.contest.data)
    behind = []
    for member in contest.panel:
        judge = member.judge
        if not judge.active:
            continue
        for progress in progress_of_judge(db.session, judge):
            if progress.contest.id == contest.id and progress.done < progress.total:
                link = absolute_url("judge.dashboard")
                behind.append(notices.reminder_notice(judge, contest, progress.done, progress.total, link))
    if not behind:
        flash(_("Every judge of this contest has submitted every sheet: nobody to remind."), "info")
    else:
        _mailed(send_notices(settings, behind), "reminders", contest.id)
    return redirect(url_for("organizer_people.mail_page"))


@bp.post("/people/mail/notice")
@organizer_only
def send_entrant_notice() -> ResponseReturnValue:
    """Mail a notice to every active entrant account of the organisations with entries in the contest."""
    form = NoticeForm()
    form.contest.choices = _contest_choices()
    settings = _mail_settings()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            flash(errors[0], "danger")
        return redirect(url_for("organizer_people.mail_page"))
    if settings is None:
        flash(_("No mail server is configured: nothing was sent."), "warning")
        return redirect(url_for("organizer_people.mail_page"))
    contest = _contest_from(form.contest.data)
    organization_ids = {entry.organization_id for entry in contest.entries}
    link = absolute_url("entrant.dashboard")
    recipients = [
        notices.entrant_notice(user, contest, form.subject.data or "", form.text.data or "", link)
        for user in people.entrant_accounts(db.session, organization_ids)
    ]
    if not recipients:
        flash(_("No entrant of this contest has an account: nothing was sent."), "info")
    else:
        _mailed(send_notices(settings, recipients), "notice", contest.id)
    return redirect(url_for("organizer_people.mail_page"))
