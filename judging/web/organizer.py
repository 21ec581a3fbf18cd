"""The organisers' area: contests and their phases, accounts and invitations, audit (organisations:
:mod:`judging.web.organizer_organizations`)."""

from __future__ import annotations

from datetime import datetime

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from judging import workflow
from judging.extensions import db
from judging.links import absolute_url
from judging.models import Phase, Role, utcnow
from judging.services import NotFound, accounts, audit, contests, login_throttle, organizations, overview, people
from judging.web import confirmation, lookups
from judging.web.actions import attempt
from judging.web.forms import (
    AuditFilterForm,
    ConfirmForm,
    DeadlinesForm,
    NewUserForm,
    PhaseForm,
    phase_choices,
    role_choices,
)
from judging.web.pages import display_zone
from judging.web.permissions import role_required

bp = Blueprint("organizer", __name__, url_prefix="/organizer")
organizer_only = role_required(Role.ORGANIZER)
MAX_AUDIT_PAGE = 1_000_000


@bp.get("/")
@organizer_only
def dashboard() -> ResponseReturnValue:
    return render_template(
        "organizer/dashboard.html",
        rows=overview.contest_overview(db.session),
        archived=contests.archived_contests(db.session),
    )


@bp.get("/contests/<slug>")
@organizer_only
def contest(slug: str) -> ResponseReturnValue:
    found = lookups.contest_for_organizer(slug)
    phase_form = PhaseForm()
    phase_form.phase.choices = phase_choices(contests.plain_move_targets(found))
    tz = display_zone()
    deadlines = DeadlinesForm(
        submission_deadline=found.submission_deadline.astimezone(tz).replace(tzinfo=None)
        if found.submission_deadline
        else None,
        review_deadline=found.review_deadline.astimezone(tz).replace(tzinfo=None) if found.review_deadline else None,
    )
    return render_template(
        "organizer/contest.html",
        contest=found,
        rubric=contests.current_rubric(found),
        summary=overview.contest_summary(db.session, found),
        phase_form=phase_form,
        deadlines_form=deadlines,
        confirm_form=ConfirmForm(),
    )


@bp.post("/contests/<slug>/phase")
@organizer_only
def change_phase(slug: str) -> ResponseReturnValue:
    found = lookups.contest_for_organizer(slug)
    form = PhaseForm()
    form.phase.choices = phase_choices(contests.plain_move_targets(found))
    if form.validate_on_submit():
        target = Phase(form.phase.data)
        move = workflow.move_between(found.phase, target, collection=contests.is_collection(found))
        if move is not None and move.backwards and confirmation.needed(move.action, found):
            return confirmation.ask(confirmation.phase_back(found, target, url_for("organizer.contest", slug=slug)))
        attempt(
            lambda: contests.change_phase(db.session, current_user, found, target),
            _("The contest has moved to a new phase."),
        )
    else:
        flash(_("Please choose one of the phases offered."), "danger")
    return redirect(url_for("organizer.contest", slug=slug))


def _aware(value: datetime | None) -> datetime | None:
    """A datetime typed in the display time zone, made aware."""
    return value.replace(tzinfo=display_zone()) if value else None


@bp.post("/contests/<slug>/deadlines")
@organizer_only
def set_deadlines(slug: str) -> ResponseReturnValue:
    found = lookups.contest_for_organizer(slug)
    form = DeadlinesForm()
    if form.validate_on_submit():
        attempt(
            lambda: contests.set_deadlines(
                db.session,
                current_user,
                found,
                submission_deadline=_aware(form.submission_deadline.data),
                review_deadline=_aware(form.review_deadline.data),
            ),
            _("The deadlines have been saved."),
        )
    else:
        fields = (form.submission_deadline, form.review_deadline)
        out_of_range = [field.errors[0] for field in fields if field.errors and field.data is not None]
        flash(out_of_range[0] if out_of_range else _("Please enter the deadlines as date and time."), "danger")
    return redirect(url_for("organizer.contest", slug=slug))


def _user_form() -> NewUserForm:
    form = NewUserForm()
    form.role.choices = role_choices()
    form.organization_id.choices = [(0, "—")] + [
        (org.id, org.name) for org in organizations.pickable_organizations(db.session)
    ]
    return form


def _invitation_url(token: str) -> str:
    return absolute_url("auth.accept_invitation", token=token)


@bp.get("/users")
@organizer_only
def user_list() -> ResponseReturnValue:
    return render_template(
        "organizer/users.html", users=overview.users_with_status(db.session), form=_user_form(), confirm=ConfirmForm()
    )


@bp.post("/users")
@organizer_only
def create_user() -> ResponseReturnValue:
    form = _user_form()
    if form.validate_on_submit():
        organization_id = form.organization_id.data
        outcome = attempt(
            lambda: accounts.create_account(
                db.session,
                current_user,
                username=form.username.data or "",
                display_name=form.display_name.data or "",
                role=Role(form.role.data),
                organization=organizations.get_organization(db.session, organization_id) if organization_id else None,
                invitation_days=current_app.config["INVITATION_DAYS"],
                email=form.email.data or "",
            )
        )
        if outcome.ok and outcome.value is not None:
            return render_template(
                "organizer/invitation.html",
                user=outcome.value.user,
                link=_invitation_url(outcome.value.invitation_token),
                days=current_app.config["INVITATION_DAYS"],
            )
    else:
        for errors in form.errors.values():
            flash(errors[0], "danger")
    return render_template(
        "organizer/users.html", users=overview.users_with_status(db.session), form=form, confirm=ConfirmForm()
    ), 400


@bp.post("/users/<int:user_id>/invitation")
@organizer_only
def reissue_invitation(user_id: int) -> ResponseReturnValue:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    user = lookups.user_for_organizer(user_id)
    outcome = attempt(
        lambda: accounts.reissue_invitation(db.session, current_user, user, current_app.config["INVITATION_DAYS"])
    )
    if not outcome.ok or outcome.value is None:
        return redirect(url_for("organizer.user_list"))
    return render_template(
        "organizer/invitation.html",
        user=user,
        link=_invitation_url(outcome.value),
        days=current_app.config["INVITATION_DAYS"],
    )


@bp.post("/users/<int:user_id>/active")
@organizer_only
def toggle_active(user_id: int) -> ResponseReturnValue:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    user = lookups.user_for_organizer(user_id)
    if user.active and not confirmation.confirmed():  # say what deactivating will do, then do it
        effects = people.deactivation_effects(db.session, user)
        return confirmation.ask(confirmation.deactivate(user, effects, url_for("organizer.user_list")))
    attempt(
        lambda: accounts.set_active(db.session, current_user, user, active=not user.active),
        _("The account of %(name)s has been updated.", name=user.display_name),
    )
    return redirect(url_for("organizer.user_list"))


@bp.get("/users/throttles")
@organizer_only
def login_throttles():  # type: ignore[no-untyped-def]
    """Who has been failing to log in, from where, and how long they must wait."""
    return render_template(
        "organizer/login_throttles.html",
        throttles=login_throttle.current_throttles(db.session),
        now=utcnow(),
        confirm=ConfirmForm(),
    )


@bp.post("/users/throttles/<int:throttle_id>/clear")
@organizer_only
def clear_login_throttle(throttle_id: int):  # type: ignore[no-untyped-def]
    if not ConfirmForm().validate_on_submit():
        abort(400)
    outcome = attempt(lambda: login_throttle.clear_throttle(db.session, current_user, throttle_id))
    if outcome.ok:
        flash(_("The throttle has been cleared: attempts from there count from zero again."), "success")
    return redirect(url_for("organizer.login_throttles"))


@bp.get("/audit.csv")
@organizer_only
def audit_export() -> ResponseReturnValue:
    """The whole audit log as CSV, streamed (it grows with every change)."""
    lines = stream_with_context(audit.audit_csv_lines(db.session))
    return Response(
        lines,
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit-log.csv"', "Cache-Control": "no-store"},
    )


@bp.get("/audit")
@organizer_only
def audit_log() -> ResponseReturnValue:
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    if page > MAX_AUDIT_PAGE:
        raise NotFound(_("There is no such page."))  # an offset beyond what the database can count
    actions, actors = overview.audit_actions_and_actors(db.session)
    form = AuditFilterForm(request.args)
    form.action.choices = [("", _("All actions"))] + [(a, a) for a in actions]
    form.actor.choices = [("", _("Everyone"))] + [(a, a) for a in actors]
    form.contest.choices = [(0, _("All contests"))] + [(c.id, c.title) for c in contests.list_contests(db.session)]
    shown = overview.AuditFilter(
        action=form.action.data if form.action.data in actions else None,
        actor=form.actor.data if form.actor.data in actors else None,
        contest_id=form.contest.data if form.contest.validate(form) and form.contest.data else None,
    )
    events, has_more = overview.audit_page(db.session, page=page, shown=shown)
    filters = {"action": shown.action, "actor": shown.actor, "contest": shown.contest_id}
    return render_template(
        "organizer/audit.html",
        events=events,
        page=page,
        has_more=has_more,
        form=form,
        filters={k: v for k, v in filters.items() if v},
    )
