"""The organiser's own API tokens (settings of the account): create one (shown once), list, revoke."""

from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from judging.extensions import db
from judging.models import Role
from judging.services import api_tokens
from judging.web import confirmation, lookups
from judging.web.actions import attempt
from judging.web.api_token_forms import NewApiTokenForm
from judging.web.forms import ConfirmForm
from judging.web.permissions import role_required

bp = Blueprint("organizer_tokens", __name__, url_prefix="/organizer/account/api-tokens")
organizer_only = role_required(Role.ORGANIZER)


def _page(form: NewApiTokenForm, status: int = 200) -> ResponseReturnValue:
    return render_template(
        "organizer/api_tokens.html",
        tokens=api_tokens.tokens_of(db.session, current_user),
        form=form,
        confirm=ConfirmForm(),
    ), status


@bp.get("")
@organizer_only
def token_list() -> ResponseReturnValue:
    return _page(NewApiTokenForm())


@bp.post("")
@organizer_only
def create_token() -> ResponseReturnValue:
    form = NewApiTokenForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            flash(errors[0], "danger")
        return _page(form, 400)
    outcome = attempt(
        lambda: api_tokens.create_token(db.session, current_user, form.name.data or "", form.scope.data or "")
    )
    if not outcome.ok or outcome.value is None:
        return _page(form, 400)
    shown = make_response(render_template("organizer/api_token_created.html", created=outcome.value))
    shown.headers["Cache-Control"] = "no-store"  # the token itself is on this page: no copy in any cache
    return shown


@bp.post("/<int:token_id>/revoke")
@organizer_only
def revoke_token(token_id: int) -> ResponseReturnValue:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    token = lookups.own_api_token(token_id)
    if token.revoked_at is None and not confirmation.confirmed():
        return confirmation.ask(confirmation.revoke_api_token(token, url_for("organizer_tokens.token_list")))
    attempt(
        lambda: api_tokens.revoke_token(db.session, current_user, token_id),
        _("The token “%(name)s” has been revoked.", name=token.name),
    )
    return redirect(url_for("organizer_tokens.token_list"))
