"""``app.py``'s app plus one route that the load benchmark uses to measure its floor (``--floor``).

``POST /bench/floor/<entry code>`` does what the sheet submission does *around* its transaction, and
nothing inside it: the signed-in judge is loaded (Flask-Login, one query), the score sheet form of the
contest's rubric is built and validated (Flask-WTF's CSRF check, the scores, the checks), a message is
flashed and the answer is the same redirect to the judge's page. It does not look up the assignment,
save the sheet, append the audit event or commit. Comparing it with ``/healthz`` says how much of the
throughput target the framework's handling of an authenticated form post leaves to the database work.

Served only by ``bench/load.py --floor``; the application never registers this route.
"""

from __future__ import annotations

from functools import cache

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _

from app import app
from judging.extensions import db
from judging.models import Role
from judging.rubric import Rubric
from judging.services import contests
from judging.web.permissions import role_required
from judging.web.sheet_forms import score_sheet_form


@cache
def _rubric_of(slug: str) -> Rubric:
    return contests.current_rubric(contests.get_contest(db.session, slug))


@role_required(Role.JUDGE)
def floor(entry_ref: str):  # type: ignore[no-untyped-def]
    form = score_sheet_form(_rubric_of("micro-video"), None)
    if not form.validate_on_submit():
        abort(400)
    form.scores(), form.checks(), form.expected_version()
    flash(_("Your sheet for %(code)s has been submitted.", code=entry_ref), "success")
    return redirect(url_for("judge.dashboard"))


app.add_url_rule("/bench/floor/<entry_ref>", "bench_floor", floor, methods=["POST"])
