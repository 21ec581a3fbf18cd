"""Who may use which view: the one place where access rules are stated.

Every view is decorated with exactly one of :func:`public` or :func:`role_required`; the decorator
records the rule on the view function, so the test suite can walk the URL map and check each
route against each role (and fail on a route whose rule was never stated).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user

from judging.extensions import login_manager
from judging.models import Role

F = TypeVar("F", bound=Callable[..., Any])

ACCESS_ATTRIBUTE = "access_roles"
PUBLIC = "public"
AUTHENTICATED = "authenticated"


def public(view: F) -> F:
    """Anyone, signed in or not."""
    setattr(view, ACCESS_ATTRIBUTE, PUBLIC)
    return view


def login_required(view: F) -> F:
    """Any signed-in user, whatever the role."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return view(*args, **kwargs)

    setattr(wrapped, ACCESS_ATTRIBUTE, AUTHENTICATED)
    return wrapped  # type: ignore[return-value]


def role_required(*roles: Role) -> Callable[[F], F]:
    """Only users with one of ``roles``: anonymous visitors are sent to log in, other roles get 403."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        setattr(wrapped, ACCESS_ATTRIBUTE, frozenset(roles))
        return wrapped  # type: ignore[return-value]

    return decorator


def home_endpoint(role: Role) -> str:
    """Where a user of a role lands after logging in."""
    return {Role.ORGANIZER: "organizer.dashboard", Role.JUDGE: "judge.dashboard", Role.ENTRANT: "entrant.dashboard"}[
        role
    ]
