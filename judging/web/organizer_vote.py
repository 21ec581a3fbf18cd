"""The organisers' vote desk (issue 19): open the public vote on the shortlist, close it, review the
rigging flags with their evidence, void votes (a selection or a flagged group) or restore them with a
reason, and preview the combined result with its what-ifs."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from judging.extensions import db
from judging.models import Contest, Role
from judging.services import NotFound, ServiceError, votes
from judging.services.contests import allowed
from judging.web import confirmation, lookups
from judging.web.actions import attempt
from judging.web.pages import display_zone
from judging.web.permissions import role_required
from judging.web.vote_forms import CloseVoteForm, OpenVoteForm, VoidForm
from judging.workflow import Action

bp = Blueprint("organizer_vote", __name__, url_prefix="/organizer")
organizer_only = role_required(Role.ORGANIZER)
SHOWN_VOTES = 200
"""Votes listed under a flag for picking one by one; the group's button voids all of them."""


def _contest(slug: str) -> Contest:
    contest = lookups.contest_for_organizer(slug)
    if votes.vote_spec(contest) is None:
        raise NotFound(_("This contest has no public vote."))
    return contest


def _back(slug: str) -> ResponseReturnValue:
    return redirect(url_for("organizer_vote.desk", slug=slug))


@bp.get("/contests/<slug>/vote")
@organizer_only
def desk(slug: str) -> ResponseReturnValue:
    contest = _contest(slug)
    spec = votes.vote_spec(contest)
    window = votes.window_of(db.session, contest)
    candidates: list[tuple[int, str]] = []
    problem = ""
    try:
        scores = votes.expert_scores(db.session, contest)
        codes = votes.entry_codes(db.session, contest)
        candidates = [(entry_id, f"{codes[entry_id]} · {score}") for entry_id, score in scores.items()]
    except ServiceError as refusal:
        problem = refusal.message
    open_form = OpenVoteForm()
    open_form.picked.choices = candidates
    combined = flags = None
    if window is not None:
        combined = votes.combined_result(db.session, contest)
        flags = votes.rigging_flags(db.session, contest)
    flagged_votes = {
        votes.group_key(flag): votes.votes_by_id(db.session, list(flag.vote_ids)[:SHOWN_VOTES]) for flag in flags or []
    }
    return render_template(
        "organizer/vote.html",
        contest=contest,
        spec=spec,
        window=window,
        problem=problem,
        open_form=open_form,
        close_form=CloseVoteForm(),
        void_form=VoidForm(),
        combined=combined,
        flags=flags or [],
        flagged_votes=flagged_votes,
        voided_groups=votes.voided_groups(db.session, contest) if window is not None else [],
        group_key=votes.group_key,
        can_open=allowed(Action.OPEN_VOTE, contest),
        can_close=allowed(Action.CLOSE_VOTE, contest),
        can_void=allowed(Action.VOID_VOTES, contest),
        shown_votes=SHOWN_VOTES,
    )


@bp.post("/contests/<slug>/vote/open")
@organizer_only
def open_vote(slug: str) -> ResponseReturnValue:
    contest = _contest(slug)
    form = OpenVoteForm()
    form.picked.choices = []
    if not form.validate_on_submit() or form.closes_at.data is None:
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "danger")
        if not form.errors:
            flash(_("Please give the time the vote closes."), "danger")
        return _back(slug)
    closes_at: datetime = form.closes_at.data.replace(tzinfo=display_zone())
    attempt(
        lambda: votes.open_vote(db.session, current_user, contest, closes_at, form.picked.data or []),
        _("The vote is open."),
    )
    return _back(slug)


@bp.post("/contests/<slug>/vote/close")
@organizer_only
def close_vote(slug: str) -> ResponseReturnValue:
    contest = _contest(slug)
    if CloseVoteForm().validate_on_submit():
        if confirmation.needed(Action.CLOSE_VOTE, contest):
            counted = sum(votes.counts(db.session, contest).values())
            return confirmation.ask(
                confirmation.Consequences(
                    _("Close the vote?"),
                    [
                        _("No vote is accepted after this; the vote cannot be opened again."),
                        ngettext("%(num)d vote is counted so far.", "%(num)d votes are counted so far.", counted),
                        _("Votes can still be voided or restored until the results are frozen."),
                    ],
                    _("Close the vote"),
                    url_for("organizer_vote.desk", slug=slug),
                )
            )
        attempt(lambda: votes.close_vote(db.session, current_user, contest), _("The vote is closed."))
    return _back(slug)


def _void_or_restore(slug: str, restore: bool) -> ResponseReturnValue:
    contest = _contest(slug)
    form = VoidForm()
    if not form.validate_on_submit():
        flash(_("Please give the reason, and select the votes."), "danger")
        return _back(slug)

    def act() -> int:
        ids = list(form.vote_ids.data or [])
        if form.group.data:
            ids += votes.flagged_group(db.session, contest, form.group.data)
        change = votes.restore_votes if restore else votes.void_votes
        return change(db.session, current_user, contest, ids, form.reason.data or "")

    outcome = attempt(act)
    if outcome.ok:
        count = outcome.value or 0
        if restore:
            flash(ngettext("%(num)d vote counts again.", "%(num)d votes count again.", count), "success")
        else:
            flash(ngettext("%(num)d vote was voided.", "%(num)d votes were voided.", count), "success")
    return _back(slug)


@bp.post("/contests/<slug>/vote/void")
@organizer_only
def void(slug: str) -> ResponseReturnValue:
    return _void_or_restore(slug, restore=False)


@bp.post("/contests/<slug>/vote/restore")
@organizer_only
def restore(slug: str) -> ResponseReturnValue:
    return _void_or_restore(slug, restore=True)
