"""The organisers' rounds page of a contest judged in ``[[rounds]]``: open a round, place judges on its
panel, assign its entries, watch its standings and freeze it (with the picks and reasons of a pick round)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from judging.extensions import db
from judging.models import Role
from judging.rubric import format_points
from judging.scoring.rounds import AdvanceRule, advance_rule
from judging.services import NotFound, ServiceError, rounds
from judging.services.round_paths import rule_text
from judging.web import confirmation, lookups
from judging.web.actions import attempt
from judging.web.forms import ConfirmForm
from judging.web.permissions import role_required
from judging.web.round_forms import PlaceJudgeForm, freeze_round_form
from judging.workflow import RoundAction, RoundStatus

bp = Blueprint("organizer_rounds", __name__, url_prefix="/organizer")
organizer_only = role_required(Role.ORGANIZER)


def _back(slug: str) -> ResponseReturnValue:
    return redirect(url_for("organizer_rounds.page", slug=slug))


def _place_form(contest, key: str | None = None) -> PlaceJudgeForm:  # type: ignore[no-untyped-def]
    """Putting a panel judge on a round's panel. Shown for the round ``key``, it offers the panel's judges
    who do not sit on that round yet; posted, it takes any panel judge (the service says why one who
    already sits there is not placed again)."""
    seated = {judge.id for judge in rounds.round_judges(contest, key)} if key else set()
    form = PlaceJudgeForm()
    form.judge_id.choices = [(m.judge.id, m.judge.display_name) for m in contest.panel if m.judge_id not in seated]
    return form


@bp.get("/contests/<slug>/rounds")
@organizer_only
def page(slug: str) -> ResponseReturnValue:
    contest = lookups.contest_for_organizer(slug)
    views = rounds.round_views(db.session, contest)
    if not views:
        raise NotFound(_("This contest has no such judging round."))
    outcomes: dict[str, rounds.RoundOutcome | None] = {}
    for view in views:
        if view.status is not RoundStatus.WAITING:
            try:
                outcomes[view.spec.key] = rounds.round_outcome(db.session, contest, view.spec.key)
            except ServiceError:
                outcomes[view.spec.key] = None
    freeze_forms = {
        key: freeze_round_form([standing.entry for standing in outcome.standings])
        for key, outcome in outcomes.items()
        if outcome is not None
    }
    return render_template(
        "organizer/rounds.html",
        contest=contest,
        views=views,
        outcomes=outcomes,
        place_forms={view.spec.key: _place_form(contest, view.spec.key) for view in views},
        round_judges={view.spec.key: rounds.round_judges(contest, view.spec.key) for view in views},
        started=rounds.started_seats(db.session, contest),
        freeze_forms=freeze_forms,
        confirm=ConfirmForm(),
        advance_texts={view.spec.key: _advance_text(view) for view in views if view.spec.advance},
        RoundStatus=RoundStatus,
        allows={
            (view.spec.key, action.value): rounds.round_allowed(action, contest, view, views)
            for view in views
            for action in RoundAction
        },
    )


def _advance_text(view: rounds.RoundView) -> str:
    advance = view.spec.advance
    assert advance is not None
    rule = advance_rule(advance)
    value = getattr(advance, rule.value)
    return rule_text(rule.value, "" if rule is AdvanceRule.PICK else format_points(value))


@bp.post("/contests/<slug>/rounds/<key>/open")
@organizer_only
def open_round(slug: str, key: str) -> ResponseReturnValue:
    contest = lookups.contest_for_organizer(slug)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    attempt(lambda: rounds.open_round(db.session, current_user, contest, key), _("The round is open."))
    return _back(slug)


@bp.post("/contests/<slug>/rounds/<key>/judges")
@organizer_only
def place_judge(slug: str, key: str) -> ResponseReturnValue:
    contest = lookups.contest_for_organizer(slug)
    form = _place_form(contest)
    if not form.validate_on_submit():
        flash(_("Please choose a judge of the panel."), "danger")
        return _back(slug)
    judge = lookups.user_for_organizer(form.judge_id.data)
    attempt(
        lambda: rounds.place_judge(db.session, current_user, contest, judge, key),
        _("%(name)s judges in this round.", name=judge.display_name),
    )
    return _back(slug)


@bp.post("/contests/<slug>/rounds/<key>/judges/<int:user_id>/remove")
@organizer_only
def unplace_judge(slug: str, key: str, user_id: int) -> ResponseReturnValue:
    contest = lookups.contest_for_organizer(slug)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    judge = lookups.user_for_organizer(user_id)
    attempt(
        lambda: rounds.unplace_judge(db.session, current_user, contest, judge, key),
        _("%(name)s no longer judges in this round.", name=judge.display_name),
    )
    return _back(slug)


@bp.post("/contests/<slug>/rounds/<key>/assign")
@organizer_only
def assign(slug: str, key: str) -> ResponseReturnValue:
    contest = lookups.contest_for_organizer(slug)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    outcome = attempt(lambda: rounds.assign_round(db.session, current_user, contest, key))
    if outcome.ok:
        flash(_("%(n)d assignments created.", n=outcome.value), "success")
    return _back(slug)


@bp.post("/contests/<slug>/rounds/<key>/freeze")
@organizer_only
def freeze(slug: str, key: str) -> ResponseReturnValue:
    contest = lookups.contest_for_organizer(slug)
    view = rounds.round_view(db.session, contest, key)
    codes = [entry.code for entry in rounds.round_entries(db.session, contest, key)]
    form = freeze_round_form(codes)
    if not form.validate_on_submit():
        flash(_("The form has expired. Please reload and retry."), "danger")
        return _back(slug)
    picks = form.picks() if view.spec.advance and view.spec.advance.pick else None
    if not confirmation.confirmed():
        preview = attempt(lambda: rounds.round_outcome(db.session, contest, key, picks))
        if not preview.ok or preview.value is None:
            return _back(slug)
        advancing = sum(1 for a in (preview.value.advancement or {}).values() if a.advanced)
        return confirmation.ask(
            confirmation.freeze_round(
                contest, view.spec.label, advancing, len(codes), url_for("organizer_rounds.page", slug=slug)
            )
        )
    attempt(
        lambda: rounds.freeze_round(db.session, current_user, contest, key, picks),
        _("The round “%(round)s” is frozen.", round=view.spec.label),
    )
    return _back(slug)
