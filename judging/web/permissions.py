"""Who may use which view, and which objects a user may reach: the one place where access rules are stated.

Every view is decorated with exactly one of :func:`public` or :func:`role_required`; the decorator
records the rule on the view function, so the test suite can walk the URL map and check each
route against each role (and fail on a route whose rule was never stated). The predicates below
say which objects a signed-in user may reach; :mod:`judging.web.lookups` applies them to every
object a request names.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort
from flask_login import current_user

from judging.extensions import db, login_manager
from judging.models import Entry, Role, User
from judging.services.visibility import can_view_entry

F = TypeVar("F", bound=Callable[..., Any])

ACCESS_ATTRIBUTE = "access_roles"
PUBLIC = "public"
AUTHENTICATED = "authenticated"
API_TOKEN = "api-token"  # noqa: S105 - the name of an access rule, not a secret
"""The JSON API's organiser operations: a bearer token, never a login cookie (:mod:`judging.web.api_access`)."""


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
    return cast(F, wrapped)


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
        return cast(F, wrapped)

    return decorator


def home_endpoint(role: Role) -> str:
    """Where a user of a role lands after logging in."""
    return {Role.ORGANIZER: "organizer.dashboard", Role.JUDGE: "judge.dashboard", Role.ENTRANT: "entrant.dashboard"}[
        role
    ]


def has_role(user: User | None, role: Role) -> bool:
    """Whether ``user`` is signed in with ``role``."""
    return user is not None and user.is_authenticated and user.role is role


def coordinates(user: User, entry: Entry) -> bool:
    """Whether an entrant may comment on or nominate ``entry``: it belongs to the user's organisation or
    to a unit directly under it."""
    organization = entry.organization
    return (
        has_role(user, Role.ENTRANT)
        and user.organization_id is not None
        and user.organization_id in (organization.parent_id, organization.id)
    )


def may_view_entry(user: User | None, entry: Entry) -> bool:
    """Whether ``user`` may see ``entry`` and its files (:func:`judging.services.visibility.can_view_entry`)."""
    return can_view_entry(db.session, user, entry)
