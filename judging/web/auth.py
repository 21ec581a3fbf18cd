"""Logging in and out, invitations, and password changes."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from judging.extensions import db, limiter
from judging.services import NotFound, accounts, login_throttle
from judging.web.actions import attempt
from judging.web.forms import ChangePasswordForm, ConfirmForm, LoginForm, SetPasswordForm
from judging.web.pages import safe_next
from judging.web.permissions import home_endpoint, login_required, public

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint(current_user.role)))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        outcome = attempt(
            lambda: accounts.authenticate(
                db.session, form.username.data or "", form.password.data or "", request.remote_addr or ""
            )
        )
        if isinstance(outcome.refusal, login_throttle.LoginThrottled):  # this scope must still wait (shown)
            seconds = max(1, int(outcome.refusal.wait.total_seconds() + 0.999))
            return render_template("auth/login.html", form=form), 429, {"Retry-After": str(seconds)}
        if not outcome.ok:
            return render_template("auth/login.html", form=form)
        user = outcome.value
        if user is None:  # the failure is committed: it counts towards the throttles
            flash(_("Wrong username or password."), "danger")
        else:
            locale = session.get("locale")
            session.clear()  # a fresh session on login: nothing carried over from before
            if locale:
                session["locale"] = locale
            login_user(user)
            return redirect(safe_next(form.next.data) or url_for(home_endpoint(user.role)))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    attempt(lambda: accounts.log_out(db.session, current_user._get_current_object()))
    locale = session.get("locale")
    logout_user()
    session.clear()
    if locale:
        session["locale"] = locale
    flash(_("You have logged out."), "info")
    return redirect(url_for("public.index"))


@bp.route("/invite/<token>", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"])
def accept_invitation(token: str) -> ResponseReturnValue:
    try:
        invitation = accounts.find_invitation(db.session, token)
    except NotFound as refusal:
        return render_template("auth/invitation_invalid.html", message=refusal.message), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        outcome = attempt(
            lambda: accounts.accept_invitation(db.session, token, form.password.data or ""), announce=False
        )
        if outcome.refusal is not None:
            form.password.errors = [outcome.refusal.message]
        elif outcome.value is not None:
            user = outcome.value
            logout_user()
            login_user(user)
            flash(_("Welcome! Your password is set."), "success")
            return redirect(url_for(home_endpoint(user.role)))
    return render_template("auth/invitation.html", form=form, invited=invitation.user)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> ResponseReturnValue:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        outcome = attempt(
            lambda: accounts.change_password(
                db.session, current_user, form.current.data or "", form.password.data or ""
            ),
            announce=False,
        )
        if outcome.refusal is not None:
            form.password.errors = [outcome.refusal.message]
        else:
            login_user(
                current_user._get_current_object()
            )  # the session id changed with the password: keep this session
            flash(_("Your password has been changed. Other sessions have been signed out."), "success")
            return redirect(url_for(home_endpoint(current_user.role)))
    return render_template("auth/change_password.html", form=form)
