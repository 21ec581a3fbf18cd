"""The judges' area: the assigned entries and progress, the entry page with its score sheet, conflicts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from judging.extensions import db
from judging.models import Assignment, AssignmentStatus, Role, SheetStatus
from judging.rubric import format_points
from judging.services import exclusions, organizations
from judging.services.blind_view import entry_for_judge, organization_names
from judging.services.panel import declare_conflict, declare_relation
from judging.services.paper_origins import paper_origin
from judging.services.progress import open_for_conflicts, open_for_scores, progress_of_judge
from judging.services.rounds import round_label, rubric_for_assignment, sheet_round_refusal
from judging.services.sheets import InvalidSheet, StaleSheet, save_sheet, sheet_gaps, sheet_values
from judging.web.actions import attempt, flash_refusal
from judging.web.forms import ConfirmForm
from judging.web.lookups import assignment_for_judge
from judging.web.permissions import role_required
from judging.web.sheet_forms import OwnRelationForm, ReasonForm, ScoreSheetForm, score_sheet_form

bp = Blueprint("judge", __name__, url_prefix="/judge")
judge_only = role_required(Role.JUDGE)


@bp.get("/")
@judge_only
def dashboard() -> ResponseReturnValue:
    groups = progress_of_judge(db.session, current_user)
    names = organization_names(db.session)
    shown = {a.id: entry_for_judge(db.session, a.entry, names) for group in groups for a in group.assignments}
    return render_template("judge/dashboard.html", groups=groups, shown=shown)


@bp.get("/relations")
@judge_only
def relations() -> ResponseReturnValue:
    return render_template(
        "judge/relations.html",
        relations=exclusions.relations_of(db.session, current_user),
        form=OwnRelationForm(),
        confirm=ConfirmForm(),
    )


@bp.post("/relations")
@judge_only
def add_relation() -> ResponseReturnValue:
    form = OwnRelationForm()
    if not form.validate_on_submit():
        flash(_("Please type the full name of the organisation."), "danger")
        return redirect(url_for("judge.relations"))
    name = (form.organization.data or "").strip()
    organization = organizations.find_organization(db.session, name)
    if organization is None:
        flash(_("There is no organisation named “%(name)s”.", name=name), "danger")
        return redirect(url_for("judge.relations"))
    attempt(
        lambda: declare_relation(db.session, current_user, current_user, organization, form.note.data or ""),
        _("Your relation with %(name)s is recorded: its entries will not be assigned to you.", name=organization.name),
    )
    return redirect(url_for("judge.relations"))


@bp.post("/relations/<int:relation_id>/remove")
@judge_only
def remove_relation(relation_id: int) -> ResponseReturnValue:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    attempt(
        lambda: exclusions.remove_relation(db.session, current_user, exclusions.get_relation(db.session, relation_id)),
        _("The relation has been withdrawn."),
    )
    return redirect(url_for("judge.relations"))


@bp.app_template_global("judge_entry_url")
def entry_url(endpoint: str, code: str, round_key: str) -> str:
    """A judge's page of an entry (or its sheet or conflict form) in one round: the round names which of
    the judge's assignments to the entry it is (a judge on two rounds has the entry in both)."""
    return url_for(endpoint, entry_ref=code, round=round_key or None)


def _render_entry(
    assignment: Assignment, form: ScoreSheetForm, stored: dict[str, Any] | None = None, status: int = 200
) -> ResponseReturnValue:
    contest = assignment.entry.contest
    progress = next((g for g in progress_of_judge(db.session, current_user) if g.contest.id == contest.id), None)
    # A frozen round's sheet stays readable; its round, not only the contest, must be open to change it.
    round_closed = sheet_round_refusal(db.session, contest, assignment) if open_for_scores(contest) else None
    scoring = open_for_scores(contest) and round_closed is None
    to_do = [
        a
        for a in (progress.assignments if progress and scoring else [])
        if a.id != assignment.id
        and a.round_key == assignment.round_key
        and a.status is AssignmentStatus.ASSIGNED
        and (a.sheet is None or a.sheet.status is SheetStatus.DRAFT)
    ]
    rubric = rubric_for_assignment(contest, assignment)
    return render_template(
        "judge/entry.html",
        assignment=assignment,
        entry=entry_for_judge(db.session, assignment.entry),
        files=assignment.entry.files,
        rubric=rubric,
        form=form,
        problems=form.problems(),
        gaps=sheet_gaps(rubric, assignment.sheet),
        reason_form=ReasonForm(),
        stored=stored,
        open_for_scores=scoring,
        round_closed=round_closed,
        round_label=round_label(contest, assignment.round_key) if assignment.round_key else "",
        open_for_conflicts=open_for_conflicts(contest) and round_closed is None,
        progress=progress,
        next_assignment=to_do[0] if to_do else None,
        number=format_points,
        paper=paper_origin(db.session, assignment.sheet) if assignment.sheet else "",
    ), status


@bp.get("/entries/<entry_ref>")
@judge_only
def entry(entry_ref: str) -> ResponseReturnValue:
    assignment = assignment_for_judge(entry_ref)
    rubric = rubric_for_assignment(assignment.entry.contest, assignment)
    return _render_entry(assignment, score_sheet_form(rubric, assignment.sheet))


@bp.post("/entries/<entry_ref>/sheet")
@judge_only
def save(entry_ref: str) -> ResponseReturnValue:
    assignment = assignment_for_judge(entry_ref)
    form = score_sheet_form(rubric_for_assignment(assignment.entry.contest, assignment), None)
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            flash(_("The form has expired. Please reload and retry."), "danger")
        return _render_entry(assignment, form, status=400)
    submit = bool(form.submit_sheet.data)
    # Read before the commit expires them: no reload of the assignment and entry.
    code, round_key = assignment.entry.code, assignment.round_key
    outcome = attempt(
        lambda: save_sheet(
            db.session,
            current_user,
            assignment,
            scores=form.scores(),
            checks=form.checks(),
            comment=form.comment.data or "",
            submit=submit,
            expected_version=form.expected_version(),
        ),
        _("Your sheet for %(code)s has been submitted.", code=code) if submit else _("Draft saved."),
        warnings=(StaleSheet,),
        announce=False,
    )
    if isinstance(outcome.refusal, InvalidSheet):
        # Each message goes next to its own field, and the summary at the top links to each of them.
        form.mark_problems(outcome.refusal.sheet_problems)
        return _render_entry(assignment_for_judge(entry_ref), form, status=400)
    if outcome.refusal is not None:
        flash_refusal(outcome.refusal, "warning" if isinstance(outcome.refusal, StaleSheet) else "danger")
    if isinstance(outcome.refusal, StaleSheet):
        # Keep what the judge typed in the form, and let the next save knowingly replace the newer sheet.
        assignment = assignment_for_judge(entry_ref)
        form.version.data = str(assignment.sheet.version) if assignment.sheet else "0"
        stored = sheet_values(assignment.sheet) if assignment.sheet else None
        return _render_entry(assignment, form, stored=stored, status=409)
    if not outcome.ok:
        return _render_entry(assignment_for_judge(entry_ref), form, status=400)
    if submit:
        return redirect(url_for("judge.dashboard"))
    return redirect(entry_url("judge.entry", entry_ref, round_key))


@bp.post("/entries/<entry_ref>/conflict")
@judge_only
def conflict(entry_ref: str) -> ResponseReturnValue:
    assignment = assignment_for_judge(entry_ref)
    form = ReasonForm()
    code, round_key = assignment.entry.code, assignment.round_key
    if not form.validate_on_submit():
        flash(_("Please give the reason for the conflict of interest."), "danger")
        return redirect(entry_url("judge.entry", entry_ref, round_key))
    outcome = attempt(lambda: declare_conflict(db.session, current_user, assignment, form.reason.data or ""))
    if not outcome.ok:
        return redirect(entry_url("judge.entry", entry_ref, round_key))
    flash(_("You have declared a conflict of interest for %(code)s; the organisers have been told.", code=code), "info")
    return redirect(url_for("judge.dashboard"))
