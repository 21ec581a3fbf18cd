"""The organisers' pages of a collection of activity reports: who has reported and who is missing, reopening
one report, reminding the missing organisations, and the exports (figures workbook, files zip, compiled PDF)."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from flask import Blueprint, current_app, flash, redirect, render_template, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import IntegerField, SubmitField
from wtforms.validators import InputRequired, NumberRange

from judging.exports.reports import reports_pdf, reports_workbook, state_label, write_files_zip
from judging.exports.workbook import XLSX_MIMETYPE
from judging.extensions import db
from judging.links import absolute_url
from judging.models import Contest, Role
from judging.services import NotFound, contests, reports
from judging.services.entries import show_deadline
from judging.services.mail import MailSettings, record_mailing
from judging.storage import Storage, storage_from_config
from judging.web.actions import attempt
from judging.web.forms import AppForm, ConfirmForm
from judging.web.lookups import contest_for_organizer
from judging.web.pages import display_zone
from judging.web.permissions import role_required
from judging.workflow import Action

bp = Blueprint("organizer_reports", __name__, url_prefix="/organizer")
organizer_only = role_required(Role.ORGANIZER)


class ReopenForm(AppForm):
    days = IntegerField(
        _l("Days to correct it"),
        default=3,
        validators=[InputRequired(), NumberRange(min=1, max=reports.MAX_GRACE_DAYS)],
        render_kw={"inputmode": "numeric"},
    )
    submit = SubmitField(_l("Reopen"))


def _collection(slug: str) -> Contest:
    contest = contest_for_organizer(slug)
    if not contests.is_collection(contest):
        raise NotFound(_("No such contest."))
    return contest


def _storage() -> Storage:
    return storage_from_config(current_app.config)


@bp.get("/contests/<slug>/reports")
@organizer_only
def reports_page(slug: str) -> ResponseReturnValue:
    contest = _collection(slug)
    rows = reports.report_rows(db.session, contest)
    return render_template(
        "organizer/reports.html",
        contest=contest,
        rubric=contests.current_rubric(contest),
        rows=rows,
        State=reports.ReportState,
        state_label=state_label,
        deadline=show_deadline(contest),
        remind_form=ConfirmForm(),
        reopen_form=ReopenForm(),
        may_remind=contests.allowed(Action.REMIND_MISSING, contest),
        may_reopen=contests.allowed(Action.REOPEN_REPORTS, contest),
        mail=MailSettings.from_config(current_app.config) is not None,
        pause_hours=int(reports.REMINDER_PAUSE.total_seconds() // 3600),
    )


@bp.post("/contests/<slug>/reports/remind")
@organizer_only
def remind(slug: str) -> ResponseReturnValue:
    contest = _collection(slug)
    back = redirect(url_for("organizer_reports.reports_page", slug=slug))
    if not ConfirmForm().validate_on_submit():
        flash(_("The form has expired; please try again."), "danger")
        return back
    settings = MailSettings.from_config(current_app.config)
    if settings is None:
        flash(_("No mail server is configured: nothing was sent."), "warning")
        return back
    outcome = attempt(
        lambda: reports.remind_missing(
            db.session,
            current_user,
            contest,
            settings,
            deadline=show_deadline(contest),
            link=absolute_url("entrant.dashboard"),
        )
    )
    if not outcome.ok or outcome.value is None:
        return back
    done = outcome.value
    if done.mail.sent or done.mail.failed or done.mail.without_address:
        attempt(lambda: record_mailing(db.session, current_user, "report_reminders", done.mail, contest.id))
    if done.reminded:
        flash(_("Reminded: %(names)s.", names="、".join(done.reminded)), "success")
    if done.recently_reminded:
        flash(
            _(
                "Not reminded again, reminded less than %(hours)d hours ago: %(names)s.",
                hours=int(reports.REMINDER_PAUSE.total_seconds() // 3600),
                names="、".join(done.recently_reminded),
            ),
            "info",
        )
    if done.without_account:
        flash(
            _("No active entrant account, nobody to remind: %(names)s.", names="、".join(done.without_account)),
            "warning",
        )
    if done.mail.without_address:
        flash(_("No e-mail address, nothing sent: %(names)s.", names="、".join(done.mail.without_address)), "warning")
    if done.mail.failed:
        flash(_("The mail server did not accept mail for: %(names)s.", names="、".join(done.mail.failed)), "danger")
    if not (done.reminded or done.recently_reminded or done.without_account or done.mail.failed):
        flash(_("Every expected organisation has reported: nobody to remind."), "info")
    return back


@bp.post("/contests/<slug>/reports/<int:entry_id>/reopen")
@organizer_only
def reopen(slug: str, entry_id: int) -> ResponseReturnValue:
    contest = _collection(slug)
    report = reports.get_report(db.session, contest, entry_id)
    form = ReopenForm()
    if form.validate_on_submit():
        attempt(
            lambda: reports.reopen_report(db.session, current_user, report, form.days.data or 0),
            _("The report of %(organization)s is open again for changes.", organization=report.organization.name),
        )
    else:
        flash(_("Give the organisation from 1 to %(n)d days.", n=reports.MAX_GRACE_DAYS), "danger")
    return redirect(url_for("organizer_reports.reports_page", slug=slug))


@bp.get("/contests/<slug>/reports/figures.xlsx")
@organizer_only
def figures_xlsx(slug: str) -> ResponseReturnValue:
    contest = _collection(slug)
    data = reports_workbook(db.session, contest, display_zone())
    return send_file(
        io.BytesIO(data), mimetype=XLSX_MIMETYPE, as_attachment=True, download_name=f"{contest.slug}-figures.xlsx"
    )


@bp.get("/contests/<slug>/reports/files.zip")
@organizer_only
def files_zip(slug: str) -> ResponseReturnValue:
    contest = _collection(slug)
    # Written to a temporary file, never held whole in memory, and removed once the response is sent.
    with tempfile.NamedTemporaryFile(suffix=".zip", delete=False) as target:
        path = Path(target.name)
        try:
            write_files_zip(db.session, contest, _storage(), target)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    response = send_file(
        path, mimetype="application/zip", as_attachment=True, download_name=f"{contest.slug}-files.zip"
    )
    response.call_on_close(lambda: path.unlink(missing_ok=True))
    return response


@bp.get("/contests/<slug>/reports/reports.pdf")
@organizer_only
def compiled_pdf(slug: str) -> ResponseReturnValue:
    contest = _collection(slug)
    data = reports_pdf(db.session, contest, _storage())
    return send_file(
        io.BytesIO(data), mimetype="application/pdf", as_attachment=True, download_name=f"{contest.slug}-reports.pdf"
    )
