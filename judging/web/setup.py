"""The first run: the setup page that creates the first organiser, and the notice on every other page
while there is none (a login form that can never succeed would only mislead)."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_user, logout_user

from judging.extensions import db, limiter
from judging.services import NotFound, first_run
from judging.web.actions import attempt
from judging.web.forms import FirstOrganizerForm
from judging.web.permissions import public

bp = Blueprint("setup", __name__)

SET_UP = "judging.set_up"
"""``app.extensions`` key: this process has seen an organiser, so the notice is no longer checked.
Only ever turns true (an install does not become un-set-up), so a process may remember it."""
ALWAYS_REACHABLE = ("static", "bootstrap.static", "public.health", "public.switch_language", "setup.first_organizer")


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.before_app_request
def _not_set_up_notice() -> ResponseReturnValue | None:
    """While no organiser exists, every page but the setup page says how to set the service up."""
    if not current_app.config.get("FIRST_RUN_NOTICE", True) or current_app.extensions.get(SET_UP):
        return None
    if request.endpoint in ALWAYS_REACHABLE:
        return None
    if first_run.organizer_exists(db.session):
        current_app.extensions[SET_UP] = True
        return None
    return render_template("setup/not_set_up.html", setup_pending=True), 503, {"Retry-After": "60"}


@bp.route("/setup/<token>", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"])
def first_organizer(token: str) -> ResponseReturnValue:
    try:
        first_run.check_setup_token(db.session, token)
    except NotFound as refusal:
        return render_template(
            "setup/link_invalid.html", message=refusal.message, setup_pending=not first_run.organizer_exists(db.session)
        ), 404
    form = FirstOrganizerForm()
    form.set_organizations([(org.id, org.name) for org in first_run.organizer_organizations(db.session)])
    if form.validate_on_submit():
        outcome = attempt(
            lambda: first_run.complete_setup(
                db.session,
                token,
                username=form.username.data or "",
                display_name=form.display_name.data or "",
                password=form.password.data or "",
                organization_id=form.organization_id(),
                new_organization=form.new_organization.data or "",
            ),
            _("The service is set up. Welcome! You can now create the other accounts."),
        )
        if outcome.value is not None:
            current_app.extensions[SET_UP] = True
            logout_user()
            login_user(outcome.value)
            return redirect(url_for("organizer.dashboard"))
    return render_template("setup/first_organizer.html", form=form, setup_pending=True)
