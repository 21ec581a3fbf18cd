"""The first run: while no active organiser account exists, a one-time setup link creates the first one.

A fresh install has no account, and organisers create every other account. ``flask init`` therefore
issues a setup link while no active organiser exists (:func:`issue_setup_token`); whoever holds it (the
person at the server's shell) opens the setup page and creates the first organiser with it
(:func:`complete_setup`). The token is stored hashed, works once, expires after ``SETUP_LINK_HOURS``,
and a new one replaces the earlier ones. Once an organiser exists, no link works and none is issued:
later accounts are made by organisers (or with ``flask user create``).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from judging.models import Organization, OrganizationKind, Role, SetupToken, User, utcnow
from judging.services import NotFound, ServiceError, accounts, audit, organizations


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def organizer_exists(session: Session) -> bool:
    """Whether an organiser can log in: an active organiser account with its password set."""
    return (
        session.scalar(
            select(User.id)
            .where(User.role == Role.ORGANIZER, User.active.is_(True), User.password_hash.is_not(None))
            .limit(1)
        )
        is not None
    )


def issue_setup_token(session: Session, hours: int = 24) -> str | None:
    """A new one-time setup token (earlier unused ones stop working), or None once an organiser exists."""
    if organizer_exists(session):
        return None
    now = utcnow()
    session.execute(update(SetupToken).where(SetupToken.used_at.is_(None)).values(expires_at=now))
    token = secrets.token_urlsafe(32)
    session.add(SetupToken(token_hash=_token_hash(token), created_at=now, expires_at=now + timedelta(hours=hours)))
    session.flush()
    audit.record(session, None, "setup.issue_link", data={"hours": hours})
    return token


def _dead_link() -> NotFound:
    return NotFound(_("This setup link is not valid: it was already used, replaced by a newer one or has expired."))


def check_setup_token(session: Session, token: str) -> None:
    """Raise NotFound unless ``token`` is the open setup link and no organiser exists yet."""
    if organizer_exists(session):
        raise NotFound(_("This service is already set up: please log in."))
    found = session.scalar(select(SetupToken).where(SetupToken.token_hash == _token_hash(token)))
    if found is None or found.used_at is not None or found.expires_at <= utcnow():
        raise _dead_link()


def organizer_organizations(session: Session) -> list[Organization]:
    """The organiser organisations the first account may belong to."""
    return list(
        session.scalars(
            select(Organization).where(Organization.kind == OrganizationKind.ORGANIZER).order_by(Organization.id)
        )
    )


def complete_setup(
    session: Session,
    token: str,
    *,
    username: str,
    display_name: str,
    password: str,
    organization_id: int | None,
    new_organization: str = "",
) -> User:
    """Create the first organiser with the setup link, which is used up: only one setup ever wins.

    The organisation is an existing organiser organisation (``organization_id``) or a new one named
    ``new_organization``. The link is claimed by one conditional UPDATE (used_at still empty, not
    expired), so of two setups racing with the same link exactly one claims it; the other is refused.
    """
    check_setup_token(session, token)
    now = utcnow()
    claimed = session.execute(
        update(SetupToken)
        .where(
            SetupToken.token_hash == _token_hash(token),
            SetupToken.used_at.is_(None),
            SetupToken.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        raise _dead_link()
    new_organization = new_organization.strip()
    if organization_id is not None and new_organization:
        raise ServiceError(_("Choose an existing organisation or name a new one, not both."))
    if new_organization:
        organization = organizations.create_organization(
            session, None, name=new_organization, kind=OrganizationKind.ORGANIZER, parent=None
        )
    elif organization_id is not None:
        organization = organizations.get_organization(session, organization_id)
        if organization.kind is not OrganizationKind.ORGANIZER:
            raise ServiceError(_("The first account belongs to an organiser organisation."))
    else:
        raise ServiceError(_("Choose the organiser's organisation or name a new one."))
    user = accounts.create_account_with_password(
        session,
        None,
        username=username,
        display_name=display_name,
        role=Role.ORGANIZER,
        organization=organization,
        password=password,
    )
    audit.record(session, user, "setup.complete", object_type="user", object_id=user.id)
    return user
