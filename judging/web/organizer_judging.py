"""The organisers' judging dashboard: panel, assignment, progress matrix, disagreements, recusals, reopening."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from judging.extensions import db
from judging.models import Role
from judging.rubric import format_points
from judging.services import NotFound, contests, exclusions, organizations, panel, progress, sheets
from judging.web import confirmation, lookups
from judging.web.actions import attempt
from judging.web.forms import ConfirmForm
from judging.web.permissions import role_required
from judging.web.sheet_forms import (
    AddJudgeForm,
    ReasonForm,
    RelationForm,
    RemoveJudgeForm,
    ReopenForm,
    SpreadForm,
)
from judging.workflow import Action

bp = Blueprint("organizer_judging", __name__, url_prefix="/organizer")
organizer_only = role_required(Role.ORGANIZER)
DEFAULT_SPREAD = 15


def _back(slug: str) -> ResponseReturnValue:
    return redirect(url_for("organizer_judging.dashboard", slug=slug))


@bp.get("/contests/<slug>/judging")
@organizer_only
def dashboard(slug: str) -> ResponseReturnValue:
    contest = lookups.contest_for_organizer(slug)
    spread_form = SpreadForm(request.args, spread=current_app.config.get("DISAGREEMENT_SPREAD", DEFAULT_SPREAD))
    spread = (
        spread_form.spread.data
        if spread_form.validate() and spread_form.spread.data is not None
        else current_app.config.get("DISAGREEMENT_SPREAD", DEFAULT_SPREAD)
    )
    add_form = AddJudgeForm()
    add_form.judge_id.choices = [(j.id, j.display_name) for j in panel.judges_off_panel(db.session, contest)]
    matrix = progress.panel_progress(db.session, contest, Decimal(spread))
    rubric = contests.current_rubric(contest)
    judges = [member.judge for member in contest.panel]
    return render_template(
        "organizer/judging.html",
        contest=contest,
        rubric=rubric,
        progress=matrix,
        excluded=exclusions.excluded_pairs(db.session, contest, rubric, judges, matrix.entries, matrix.recusals),
        relations=exclusions.relations_by_judge(db.session, judges),
        relation_form=_relation_form(),
        remove_form=RemoveJudgeForm(),
        spread=spread,
        spread_form=spread_form,
        add_form=add_form,
        confirm=ConfirmForm(),
        reopen_form=_reopen_form(matrix),
        number=format_points,
    )


def _relation_form() -> RelationForm:
    form = RelationForm()
    form.organization_id.choices = [(o.id, o.name) for o in organizations.pickable_organizations(db.session)]
    return form


def _reopen_form(matrix: progress.PanelProgress) -> ReopenForm:
    form = ReopenForm()
    form.assignment_id.choices = [
        (cell.assignment.id, f"{cell.assignment.entry.code} · {row.judge.display_name}")
        for row in matrix.rows
        for cell in row.cells
        if cell.state == "done" and cell.assignment is not None
    ]
    return form


def _run(slug: str, action: Callable[[], object], success: str) -> ResponseReturnValue:
    """Call one service (:func:`attempt`), then go back to the judging dashboard."""
    attempt(action, success)
    return _back(slug)


@bp.post("/contests/<slug>/judging/panel")
@organizer_only
def add_judge(slug: str) -> ResponseReturnValue:
    contest = lookups.contest_for_organizer(slug)
    form = AddJudgeForm()
    form.judge_id.choices = [(j.id, j.display_name) for j in panel.judges_off_panel(db.session, contest)]
    if not form.validate_on_submit():
        flash(_("Please choose a judge who is not on the panel yet."), "danger")
        return _back(slug)
    judge = lookups.user_for_organizer(form.judge_id.data)
    return _run(
        slug,
        lambda: panel.add_to_panel(db.session, current_user, contest, judge),
        _("%(name)s has joined the panel.", name=judge.display_name),
    )


@bp.post("/contests/<slug>/judging/panel/<int:user_id>/remove")
@organizer_only
def remove_judge(slug: str, user_id: int) -> ResponseReturnValue:
    contest = lookups.contest_for_organizer(slug)
    form = RemoveJudgeForm()
    if not form.validate_on_submit():
        abort(400)
    judge = lookups.user_for_organizer(user_id)
    keep = bool(form.keep_sheets.data)
    if confirmation.needed(Action.CHANGE_PANEL, contest):
        return confirmation.ask(
            confirmation.remove_judge(contest, judge, keep, url_for("organizer_judging.dashboard", slug=slug))
        )
    return _run(
        slug,
        lambda: panel.remove_from_panel(
            db.session, current_user, contest, judge, keep_sheets=keep, reason=form.reason.data or ""
        ),
        _(
            "%(name)s has left the panel and no longer sees the contest's entries; the sheets stay in the result.",
            name=judge.display_name,
        )
        if keep
        else _(
            "%(name)s has left the panel and no longer sees the contest's entries; "
            "the sheets are left out of the result.",
            name=judge.display_name,
        ),
    )


@bp.post("/contests/<slug>/judging/panel/<int:user_id>/relations")
@organizer_only
def add_relation(slug: str, user_id: int) -> ResponseReturnValue:
    contest = lookups.contest_for_organizer(slug)
    member = next((m for m in contest.panel if m.judge_id == user_id), None)
    if member is None:
        raise NotFound(_("This judge is not on the panel."))
    form = _relation_form()
    if not form.validate_on_submit():
        flash(_("Please choose an organisation."), "danger")
        return _back(slug)
    organization = organizations.get_organization(db.session, form.organization_id.data)
    return _run(
        slug,
        lambda: panel.declare_relation(db.session, current_user, member.judge, organization, form.note.data or ""),
        _("%(judge)s's relation with %(name)s is recorded.", judge=member.judge.display_name, name=organization.name),
    )


@bp.post("/contests/<slug>/judging/relations/<int:relation_id>/remove")
@organizer_only
def remove_relation(slug: str, relation_id: int) -> ResponseReturnValue:
    lookups.contest_for_organizer(slug)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return _run(
        slug,
        lambda: exclusions.remove_relation(db.session, current_user, exclusions.get_relation(db.session, relation_id)),
        _("The relation has been withdrawn."),
    )


@bp.post("/contests/<slug>/judging/assign")
@organizer_only
def assign(slug: str) -> ResponseReturnValue:
    contest = lookups.contest_for_organizer(slug)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return _run(
        slug,
        lambda: panel.assign_judges(db.session, current_user, contest),
        _("The judges have been assigned."),
    )


@bp.post("/contests/<slug>/judging/reopen")
@organizer_only
def reopen(slug: str) -> ResponseReturnValue:
    contest = lookups.contest_for_organizer(slug)
    form = ReopenForm()
    form.assignment_id.choices = [(a.id, "") for a in sheets.submitted_assignments(db.session, contest)]
    if not form.validate_on_submit():
        flash(_("Please choose a submitted sheet and give the reason for reopening it."), "danger")
        return _back(slug)
    assignment = lookups.assignment_for_organizer(contest, form.assignment_id.data)
    return _run(
        slug,
        lambda: sheets.reopen_sheet(db.session, current_user, assignment, form.reason.data or ""),
        _("The sheet has been reopened for the judge."),
    )


@bp.post("/contests/<slug>/judging/assignments/<int:assignment_id>/override")
@organizer_only
def override(slug: str, assignment_id: int) -> ResponseReturnValue:
    assignment = lookups.assignment_for_organizer(lookups.contest_for_organizer(slug), assignment_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("Please give the reason for the override."), "danger")
        return _back(slug)
    return _run(
        slug,
        lambda: panel.override_recusal(db.session, current_user, assignment, form.reason.data or ""),
        _("The judge is assigned to the entry again."),
    )
