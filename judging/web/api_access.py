"""Who is calling the JSON API, and how it says no: bearer tokens, scopes, and the one error shape.

Organiser operations take only ``Authorization: Bearer <token>`` (see :mod:`judging.services.api_tokens`):
a login cookie is never accepted there, so a page on another site cannot make a signed-in organiser's
browser write through the API, and the API is exempt from the forms' CSRF check. Every refusal of
``/api/v1`` — ours, and Flask's own 404/405 — is ``{"error": {"code", "message", "fields"}}`` in the
caller's language.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Response, g, jsonify, request
from flask_babel import gettext as _

from judging.extensions import db
from judging.models import ApiToken
from judging.services import api_tokens
from judging.web.actions import attempt
from judging.web.api_schema import API_PREFIX
from judging.web.permissions import ACCESS_ATTRIBUTE, API_TOKEN

F = TypeVar("F", bound=Callable[..., Any])

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "unprocessable",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


class ApiRefusal(Exception):
    """A refusal of an API request: its status, stable ``code``, message and per-field problems."""

    def __init__(
        self, status: int, message: str, *, code: str | None = None, fields: dict[str, list[str]] | None = None
    ):
        super().__init__(message)
        self.status = status
        self.code = code or CODES.get(status, "error")
        self.message = message
        self.fields = fields or {}


def is_api_request() -> bool:
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def error_response(
    status: int, message: str, *, code: str | None = None, fields: dict[str, list[str]] | None = None
) -> Response:
    response = jsonify(
        {"error": {"code": code or CODES.get(status, "error"), "message": message, "fields": fields or {}}}
    )
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("Accept-Language")
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def refusal_response(refusal: ApiRefusal) -> Response:
    return error_response(refusal.status, refusal.message, code=refusal.code, fields=refusal.fields)


def _scope_label(scope: str) -> str:
    return _("write") if scope == "write" else _("read")


def current_token() -> ApiToken:
    """The token this request was authenticated with (inside a :func:`token_required` view)."""
    return cast(ApiToken, g.api_token)


def token_required(scope: str) -> Callable[[F], F]:
    """Only callers presenting a live organiser's token whose scope grants ``scope``: 401 without one,
    403 with a token of too narrow a scope. Records the token's use."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            scheme, _space, presented = request.headers.get("Authorization", "").partition(" ")
            presented = presented.strip()
            if scheme.lower() != "bearer" or not presented:
                raise ApiRefusal(
                    401,
                    _("An API token is needed: send the header Authorization: Bearer followed by the token."),
                    code="missing_token",
                )
            outcome = attempt(lambda: api_tokens.authenticate(db.session, presented), announce=False)
            token = outcome.value
            if token is None:
                raise ApiRefusal(
                    401,
                    _("This API token is not valid: it is unknown, revoked, or its owner's account is inactive."),
                    code="invalid_token",
                )
            if not api_tokens.allows(token, scope):
                raise ApiRefusal(
                    403,
                    _(
                        "This token's scope is %(scope)s; this operation needs a token with scope %(needed)s.",
                        scope=_scope_label(token.scope),
                        needed=_scope_label(scope),
                    ),
                    code="insufficient_scope",
                )
            g.api_token = token
            return view(*args, **kwargs)

        setattr(wrapped, ACCESS_ATTRIBUTE, API_TOKEN)
        return cast(F, wrapped)

    return decorator
