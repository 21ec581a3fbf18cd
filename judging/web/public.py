"""Pages for everyone: what the service is, the contests and their phases, the language switch."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from judging.extensions import db
from judging.services.contests import current_rubric, public_contests
from judging.services.editions import editions_of, series_of
from judging.services.snapshots import current_snapshot
from judging.web.lookups import contest_for_public
from judging.web.pages import safe_next
from judging.web.permissions import public

bp = Blueprint("public", __name__)


@bp.get("/")
@public
def index() -> ResponseReturnValue:
    judged = public_contests(db.session)
    return render_template("public/index.html", series=series_of(judged))


@bp.get("/contests/<slug>")
@public
def contest(slug: str) -> ResponseReturnValue:
    found = contest_for_public(slug)
    return render_template(
        "public/contest.html",
        contest=found,
        rubric=current_rubric(found),
        public_result=current_snapshot(db.session, found),
        other_editions=[c for c in editions_of(db.session, found.series) if c.id != found.id],
    )


@bp.get("/lang/<code>")
@public
def switch_language(code: str) -> ResponseReturnValue:
    if code in current_app.config["LANGUAGES"]:
        session["locale"] = code
    return redirect(safe_next(request.args.get("next")) or url_for("public.index"))


@bp.get("/healthz")
@public
def health() -> ResponseReturnValue:
    return {"status": "ok"}
