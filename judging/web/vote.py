"""The public vote page (issue 19): the shortlisted works with the gallery's player, one vote button each.

Reading works without JavaScript; voting needs the page's script, which fetches a signed challenge,
finds the proof of work and posts it with the vote (:mod:`judging.vote_proof`). The device cookie is a
long random id set here; the service hashes it with what the browser reports of itself.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, current_app, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from judging.extensions import db
from judging.models import Contest
from judging.services import votes
from judging.services.contests import allowed
from judging.web.actions import attempt
from judging.web.permissions import public
from judging.web.vote_forms import VoteForm
from judging.workflow import Action

bp = Blueprint("vote", __name__)
DEVICE_COOKIE = "vote_device"
DEVICE_COOKIE_DAYS = 365


def _voting_contest(slug: str) -> Contest:
    return votes.voting_contest(db.session, slug)


def _key() -> bytes:
    return str(current_app.config["SECRET_KEY"]).encode("utf-8")


def _device_id() -> str:
    value = request.cookies.get(DEVICE_COOKIE, "")
    return value if len(value) >= votes.MIN_DEVICE_ID and value.isalnum() else ""


@bp.get("/vote/<slug>")
@public
def page(slug: str) -> ResponseReturnValue:
    contest = _voting_contest(slug)
    spec = votes.vote_spec(contest)
    window = votes.window_of(db.session, contest)
    response = make_response(
        render_template(
            "public/vote.html",
            contest=contest,
            spec=spec,
            window=window,
            works=votes.shortlisted_entries(db.session, contest),
            counts=votes.counts(db.session, contest) if spec and spec.counts == "live" else None,
            voting=allowed(Action.CAST_VOTE, contest),
            closes=votes.vote_closing_text(window) if window else "",
            form=VoteForm(),
            needs_account=spec is not None and spec.identity == "account" and not current_user.is_authenticated,
        )
    )
    if not _device_id():
        response.set_cookie(
            DEVICE_COOKIE,
            secrets.token_hex(24),
            max_age=DEVICE_COOKIE_DAYS * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        )
    return response


def _new_challenge(ballot: votes.Ballot) -> dict[str, object]:
    token = votes.ballot_challenge(ballot, _key(), int(current_app.config["VOTE_POW_DIFFICULTY"]))
    return {"token": token, "difficulty": int(token.split(".")[3])}


@bp.get("/vote/<slug>/challenge")
@public
def challenge(slug: str) -> ResponseReturnValue:
    """A fresh signed challenge (JSON) for the page's script to solve."""
    return jsonify(_new_challenge(votes.ballot(db.session, slug)))


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.post("/vote/<slug>/<code>")
@public
def cast(slug: str, code: str) -> ResponseReturnValue:
    """Record a vote. The page's script asks for JSON (the message, the work's count when counts are
    live, and the next challenge, so that a vote costs one request); a plain form post is answered with
    a flash and a redirect to the page."""
    ballot = votes.last_ballot(db.session, slug)
    form = VoteForm()
    wants_json = _wants_json()
    if not form.validate():
        message = _("The vote's check is not valid. Please reload the page and vote again.")
        if wants_json:
            return jsonify({"ok": False, "message": message}), 400
        flash(message, "danger")
        return redirect(url_for("vote.page", slug=slug))
    voter = votes.Voter(
        account_id=current_user.id if ballot.box.spec.identity != "device" and current_user.is_authenticated else None,
        device_id=_device_id(),
        address=request.remote_addr or "",
        user_agent=request.headers.get("User-Agent", ""),
        language=request.headers.get("Accept-Language", "")[:100],
        screen=form.screen.data or "",
        time_zone=form.time_zone.data or "",
    )
    entry_id = ballot.box.shortlist.get(code)
    thanks = _("Thank you: your vote is counted.")
    outcome = attempt(
        lambda: votes.cast_ballot(
            db.session,
            ballot,
            code,
            voter,
            form.token.data or "",
            form.nonce.data or "",
            _key(),
            current_app.config["DISPLAY_TIMEZONE"],
        ),
        None if wants_json else thanks,
        announce=not wants_json,
    )
    if wants_json:
        answer: dict[str, object] = {
            "ok": outcome.ok,
            "message": thanks if outcome.ok else (outcome.refusal.message if outcome.refusal else ""),
        }
        if ballot.box.spec.counts == "live" and entry_id is not None:
            answer["count"] = votes.live_count(db.session, ballot, entry_id, voted=outcome.ok)
        if ballot.open():
            answer["challenge"] = _new_challenge(ballot)
        return jsonify(answer), 200 if outcome.ok else 409
    return redirect(url_for("vote.page", slug=slug) + (f"#work-{code}" if entry_id is not None else ""))
