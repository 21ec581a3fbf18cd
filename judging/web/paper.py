"""Paper double entry: the clerks' entry form and the third look (the reconciliation page).

Clerks are judge (or organiser) accounts named per contest (:mod:`judging.services.paper_sheets`); the
routes admit both roles and the service checks the grant, so that a judge who is no clerk of a contest
finds nothing there. An organiser names the clerks and settles disagreements on the reconciliation
page; a third clerk may settle the sheets they typed neither entry of. A clerk never sees another
clerk's entry: the entry page lists only their own, and the reconciliation page shows a clerk only the
pairs they may settle.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from judging.extensions import db
from judging.models import Contest, Role
from judging.rubric import format_points
from judging.services import NotFound, contests
from judging.services.paper_sheets import (
    PaperPair,
    assignment_for_paper,
    backlog_message,
    clerk_candidates,
    clerk_contests,
    clerks_of,
    enter_paper_sheet,
    entries_typed_by,
    is_clerk,
    may_settle,
    name_clerk,
    open_pairs,
    pair_of,
    paper_backlog,
    paper_round,
    paper_rubric,
    remove_clerk,
    settle_pair,
)
from judging.services.progress import open_for_scores
from judging.services.sheets import InvalidSheet
from judging.web import lookups
from judging.web.actions import attempt
from judging.web.forms import ConfirmForm
from judging.web.paper_forms import paper_sheet_form, settle_form, settlement_choices
from judging.web.permissions import role_required
from judging.web.sheet_forms import AddJudgeForm

bp = Blueprint("paper", __name__, url_prefix="/paper")
clerks_and_organizers = role_required(Role.JUDGE, Role.ORGANIZER)
organizer_only = role_required(Role.ORGANIZER)


@bp.app_template_global()
def paper_backlog_note(contest: Contest) -> str:
    """What the progress, results and publication pages say about paper sheets that do not count yet
    ("" when there are none)."""
    backlog = paper_backlog(db.session, contest)
    return "" if backlog.empty else backlog_message(backlog)


def _contest_for_clerk(slug: str) -> Contest:
    contest = contests.get_contest(db.session, slug)
    if not is_clerk(db.session, current_user, contest):
        raise NotFound(_("You are not a clerk of this contest."))
    return contest


def _contest_for_reconciler(slug: str) -> Contest:
    contest = contests.get_contest(db.session, slug, archived=current_user.role is Role.ORGANIZER)
    if current_user.role is not Role.ORGANIZER and not is_clerk(db.session, current_user, contest):
        raise NotFound(_("You are not a clerk of this contest."))
    return contest


@bp.get("/")
@clerks_and_organizers
def home() -> ResponseReturnValue:
    return render_template("paper/home.html", contests=clerk_contests(db.session, current_user))


def _judge_choices(contest: Contest) -> list[tuple[int, str]]:
    return [
        (member.judge.id, f"{member.judge.display_name} ({member.judge.username})")
        for member in sorted(contest.panel, key=lambda m: (m.judge.display_name, m.judge.id))
        if member.judge_id != current_user.id
    ]


def _render_entry_page(contest: Contest, form: object, status: int = 200) -> ResponseReturnValue:
    rubric = paper_rubric(db.session, contest)
    return render_template(
        "paper/enter.html",
        contest=contest,
        rubric=rubric,
        typed_round=paper_round(db.session, contest),
        form=form,
        problems=form.problems(),  # type: ignore[attr-defined]
        typed=entries_typed_by(db.session, current_user, contest),
        open_for_scores=open_for_scores(contest),
        number=format_points,
    ), status


@bp.get("/contests/<slug>")
@clerks_and_organizers
def enter(slug: str) -> ResponseReturnValue:
    contest = _contest_for_clerk(slug)
    judge = request.args.get("judge", type=int)
    form = paper_sheet_form(paper_rubric(db.session, contest), _judge_choices(contest), {"judge_id": judge})
    return _render_entry_page(contest, form)


@bp.post("/contests/<slug>")
@clerks_and_organizers
def record(slug: str) -> ResponseReturnValue:
    contest = _contest_for_clerk(slug)
    rubric = paper_rubric(db.session, contest)
    form = paper_sheet_form(rubric, _judge_choices(contest))
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            flash(_("The form has expired. Please reload and retry."), "danger")
        else:
            flash(_("Please choose the judge and type the entry code and the paper sheet number."), "danger")
        return _render_entry_page(contest, form, 400)
    try:
        assignment = assignment_for_paper(db.session, contest, form.entry_code.data or "", form.judge_id.data)
    except NotFound as missing:
        form.entry_code.errors = [missing.message]
        return _render_entry_page(contest, form, 400)
    code = assignment.entry.code
    outcome = attempt(
        lambda: enter_paper_sheet(
            db.session,
            current_user,
            contest,
            assignment,
            paper_number=form.paper_number.data or "",
            scores=form.scores(),
            checks=form.checks(),
            comment=form.comment.data or "",
        ),
        announce=False,
    )
    if isinstance(outcome.refusal, InvalidSheet):
        form.mark_problems(outcome.refusal.sheet_problems)
        return _render_entry_page(contest, form, 400)
    if outcome.refusal is not None:
        flash(outcome.refusal.message, "danger")
        return _render_entry_page(contest, form, 400)
    state = outcome.value.state if outcome.value else ""
    messages = {
        "waiting": _("Recorded: %(code)s, paper no. %(number)s. It counts once a second clerk has typed it alike."),
        "counted": _("Recorded: %(code)s, paper no. %(number)s. Both entries agree: the sheet now counts."),
        "disagreement": _(
            "Recorded: %(code)s, paper no. %(number)s. The two entries differ: the sheet goes to reconciliation."
        ),
    }
    flash(messages[state] % {"code": code, "number": form.paper_number.data}, "success")
    return redirect(url_for("paper.enter", slug=slug, judge=form.judge_id.data))


# --- the third look ---------------------------------------------------------------------------------


def _shown_pairs(contest: Contest) -> list[PaperPair]:
    pairs = open_pairs(db.session, contest)
    if current_user.role is Role.ORGANIZER:
        return pairs
    # A clerk sees the pairs they may settle, and of the waiting ones only who typed what, never values.
    return [pair for pair in pairs if pair.waiting or may_settle(db.session, current_user, contest, pair)]


def _render_reconcile(
    contest: Contest, forms: dict[int, object] | None = None, status: int = 200
) -> ResponseReturnValue:
    pairs = _shown_pairs(contest)
    forms = dict(forms or {})
    for pair in pairs:
        if not pair.waiting and pair.assignment.id not in forms:
            forms[pair.assignment.id] = settle_form(pair.differences)
    add_form = AddJudgeForm()
    add_form.judge_id.label.text = _("Account")
    add_form.submit.label.text = _("Name as clerk")
    add_form.judge_id.choices = [
        (user.id, f"{user.display_name} ({user.username})") for user in clerk_candidates(db.session, contest)
    ]
    return render_template(
        "paper/reconcile.html",
        contest=contest,
        pairs=pairs,
        forms=forms,
        clerks=clerks_of(db.session, contest),
        add_form=add_form,
        confirm=ConfirmForm(),
        may_settle=lambda pair: may_settle(db.session, current_user, contest, pair),
        backlog=paper_backlog(db.session, contest),
    ), status


@bp.get("/contests/<slug>/reconcile")
@clerks_and_organizers
def reconcile(slug: str) -> ResponseReturnValue:
    return _render_reconcile(_contest_for_reconciler(slug))


@bp.post("/contests/<slug>/reconcile/<int:assignment_id>")
@clerks_and_organizers
def settle(slug: str, assignment_id: int) -> ResponseReturnValue:
    contest = _contest_for_reconciler(slug)
    pair = pair_of(db.session, contest, assignment_id)
    if not may_settle(db.session, current_user, contest, pair):
        raise NotFound(_("No paper sheet of this contest waits for a settlement there."))
    form = settle_form(pair.differences, request.form)
    if not form.validate_on_submit():
        flash(_("Please say why (e.g. what the paper sheet shows)."), "danger")
        return _render_reconcile(contest, {assignment_id: form}, 400)
    code = pair.assignment.entry.code
    outcome = attempt(
        lambda: settle_pair(
            db.session,
            current_user,
            contest,
            assignment_id,
            settlement_choices(form, pair.differences),
            form.reason.data or "",
        ),
        _("The paper sheet for %(code)s is settled and now counts.", code=code),
    )
    if not outcome.ok:
        return _render_reconcile(contest, {assignment_id: form}, 400)
    return redirect(url_for("paper.reconcile", slug=slug))


@bp.post("/contests/<slug>/clerks")
@organizer_only
def add_clerk(slug: str) -> ResponseReturnValue:
    contest = contests.get_contest(db.session, slug)
    form = AddJudgeForm()
    form.judge_id.choices = [(user.id, user.username) for user in clerk_candidates(db.session, contest)]
    if not form.validate_on_submit():
        flash(_("Please choose an account."), "danger")
        return redirect(url_for("paper.reconcile", slug=slug))
    user = lookups.user_for_organizer(form.judge_id.data)
    attempt(
        lambda: name_clerk(db.session, current_user, contest, user),
        _("%(name)s may now type this contest's paper sheets.", name=user.display_name),
    )
    return redirect(url_for("paper.reconcile", slug=slug))


@bp.post("/contests/<slug>/clerks/<int:user_id>/remove")
@organizer_only
def drop_clerk(slug: str, user_id: int) -> ResponseReturnValue:
    contest = contests.get_contest(db.session, slug)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    user = lookups.user_for_organizer(user_id)
    attempt(
        lambda: remove_clerk(db.session, current_user, contest, user),
        _("%(name)s is no longer a clerk of this contest.", name=user.display_name),
    )
    return redirect(url_for("paper.reconcile", slug=slug))
