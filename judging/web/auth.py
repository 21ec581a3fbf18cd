"""Logging in and out, invitations, and password changes."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from judging.extensions import db, limiter
from judging.services import NotFound, ServiceError, accounts, login_throttle
from judging.web.forms import ChangePasswordForm, ConfirmForm, LoginForm, SetPasswordForm
from judging.web.pages import safe_next
from judging.web.permissions import home_endpoint, login_required, public

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"])
def login():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint(current_user.role)))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(
                db.session, form.username.data or "", form.password.data or "", request.remote_addr or ""
            )
        except login_throttle.LoginThrottled as refusal:
            db.session.rollback()
            flash(refusal.message, "danger")
            seconds = max(1, int(refusal.wait.total_seconds() + 0.999))
            return render_template("auth/login.html", form=form), 429, {"Retry-After": str(seconds)}
        if user is None:
            db.session.commit()  # the failure counts towards the throttles
            flash(_("Wrong username or password."), "danger")
        else:
            db.session.commit()
            locale = session.get("locale")
            session.clear()  # a fresh session on login: nothing carried over from before
            if locale:
                session["locale"] = locale
            login_user(user)
            return redirect(safe_next(form.next.data) or url_for(home_endpoint(user.role)))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():  # type: ignore[no-untyped-def]
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    accounts.log_out(db.session, current_user._get_current_object())
    db.session.commit()
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
def accept_invitation(token: str):  # type: ignore[no-untyped-def]
    try:
        invitation = accounts.find_invitation(db.session, token)
    except NotFound as refusal:
        return render_template("auth/invitation_invalid.html", message=refusal.message), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            user = accounts.accept_invitation(db.session, token, form.password.data or "")
        except ServiceError as refusal:
            db.session.rollback()
            form.password.errors = [refusal.message]
        else:
            db.session.commit()
            logout_user()
            login_user(user)
            flash(_("Welcome! Your password is set."), "success")
            return redirect(url_for(home_endpoint(user.role)))
    return render_template("auth/invitation.html", form=form, invited=invitation.user)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():  # type: ignore[no-untyped-def]
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(db.session, current_user, form.current.data or "", form.password.data or "")
        except ServiceError as refusal:
            db.session.rollback()
            form.password.errors = [refusal.message]
        else:
            db.session.commit()
            login_user(
                current_user._get_current_object()
            )  # the session id changed with the password: keep this session
            flash(_("Your password has been changed. Other sessions have been signed out."), "success")
            return redirect(url_for(home_endpoint(current_user.role)))
    return render_template("auth/change_password.html", form=form)
