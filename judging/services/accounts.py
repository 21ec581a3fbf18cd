"""Accounts: creating users, one-time invitations, passwords and authentication."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from judging.models import Invitation, Organization, OrganizationKind, Role, User, utcnow
from judging.services import NotFound, ServiceError, audit

MIN_PASSWORD_LENGTH = 10
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,39}$")
# A fixed hash to compare against when the user does not exist, so both paths take the same time.
_DUMMY_HASH = generate_password_hash("not a real password", method="scrypt")


def hash_password(password: str) -> str:
    """scrypt unless the PASSWORD_HASH_METHOD setting says otherwise (the test suite uses a cheap one)."""
    return generate_password_hash(password, method=current_app.config.get("PASSWORD_HASH_METHOD", "scrypt"))


def password_problem(password: str, username: str = "") -> str | None:
    """The policy: at least 10 characters, not only digits, and not containing the username."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
    if password.isdigit():
        return _("The password must not consist of digits only.")
    if username and username.lower() in password.lower():
        return _("The password must not contain the username.")
    return None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


@dataclass(frozen=True)
class NewAccount:
    user: User
    invitation_token: str
    """Shown once to the organiser as a link to hand over; only its hash is stored."""


def create_account(
    session: Session,
    actor: User | None,
    *,
    username: str,
    display_name: str,
    role: Role,
    organization: Organization | None,
    invitation_days: int = 7,
) -> NewAccount:
    """Create an account without a password and an invitation with which its holder sets one.

    Entrants must belong to an organisation that can enter (not the organiser's own); judges may
    have an affiliation, which drives automatic recusal.
    """
    username = username.strip()
    if not USERNAME_PATTERN.match(username):
        raise ServiceError(
            _("A username has 3 to 40 letters, digits, dots, dashes or underscores, starting with a letter or digit.")
        )
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ServiceError(_("The username %(name)s is already taken.", name=username))
    if not display_name.strip():
        raise ServiceError(_("Please enter the name to display."))
    if role is Role.ENTRANT:
        if organization is None:
            raise ServiceError(_("An entrant account must belong to an organisation."))
        if organization.kind is OrganizationKind.ORGANIZER:
            raise ServiceError(_("Entrant accounts belong to entrant organisations, not the organiser."))
    user = User(
        username=username,
        display_name=display_name.strip(),
        role=role,
        organization=organization,
        password_hash=None,
        session_token=secrets.token_hex(16),
    )
    session.add(user)
    session.flush()
    token = _issue_invitation(session, actor, user, invitation_days)
    audit.record(
        session,
        actor,
        "account.create",
        object_type="user",
        object_id=user.id,
        data={"username": username, "role": role.value, "organization": organization.name if organization else None},
    )
    return NewAccount(user, token)


def _issue_invitation(session: Session, actor: User | None, user: User, days: int) -> str:
    now = utcnow()
    for old in session.scalars(select(Invitation).where(Invitation.user_id == user.id, Invitation.used_at.is_(None))):
        old.expires_at = now  # a new link replaces any earlier one
    token = secrets.token_urlsafe(32)
    session.add(
        Invitation(
            user_id=user.id,
            token_hash=_token_hash(token),
            created_by_id=actor.id if actor else None,
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
    )
    session.flush()
    return token


def reissue_invitation(session: Session, actor: User, user: User, invitation_days: int = 7) -> str:
    """A fresh one-time link for a user who lost theirs or forgot the password; earlier links stop working."""
    token = _issue_invitation(session, actor, user, invitation_days)
    audit.record(session, actor, "account.invite", object_type="user", object_id=user.id)
    return token


def find_invitation(session: Session, token: str) -> Invitation:
    """The open invitation for a token; NotFound when unknown, used or expired."""
    invitation = session.scalar(select(Invitation).where(Invitation.token_hash == _token_hash(token)))
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= utcnow():
        raise NotFound(_("This invitation link is not valid: it was already used, replaced or has expired."))
    if not invitation.user.active:
        raise NotFound(_("This account has been deactivated."))
    return invitation


def accept_invitation(session: Session, token: str, password: str) -> User:
    """Set the password of the invited account and use up the link."""
    invitation = find_invitation(session, token)
    user = invitation.user
    problem = password_problem(password, user.username)
    if problem:
        raise ServiceError(problem)
    user.password_hash = hash_password(password)
    user.session_token = secrets.token_hex(16)
    _unlock(user)
    invitation.used_at = utcnow()
    audit.record(session, user, "account.accept_invitation", object_type="user", object_id=user.id)
    return user


LOCKOUT_AFTER_FAILURES = 5
LOCKOUT_MINUTES = 15


class AccountLocked(ServiceError):
    """The right password for an account that is locked after repeated failed logins."""


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with these credentials, or None. The caller commits either way: failures count.

    Takes the same time whether or not the user exists. After ``LOCKOUT_AFTER_FAILURES`` consecutive
    failures an account is locked for ``LOCKOUT_MINUTES``, even against the right password (per-address
    throttling alone does not stop guessing from many addresses). Only someone who presents the right
    password learns that the account is locked, so the lock reveals nothing about which accounts exist.
    A new invitation link or a reactivation by an organiser unlocks it.
    """
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None or user.password_hash is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    correct = check_password_hash(user.password_hash, password)
    now = utcnow()
    if user.locked_until is not None and user.locked_until > now:
        if correct and user.active:
            minutes = max(1, -(-int((user.locked_until - now).total_seconds()) // 60))
            raise AccountLocked(
                _(
                    "This account is locked for %(minutes)d more minutes after repeated failed logins. "
                    "Try again then, or ask the organisers for a new link.",
                    minutes=minutes,
                )
            )
        return None
    if not correct or not user.active:
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= LOCKOUT_AFTER_FAILURES:
            user.failed_logins = 0
            user.locked_until = now + timedelta(minutes=LOCKOUT_MINUTES)
            audit.record(
                session,
                None,
                "account.locked",
                object_type="user",
                object_id=user.id,
                data={"until": user.locked_until.isoformat()},
            )
        return None
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    return user


def _unlock(user: User) -> None:
    user.failed_logins = 0
    user.locked_until = None


def change_password(session: Session, user: User, current: str, new: str) -> None:
    """Change a password after checking the current one; other sessions of the user are signed out."""
    if user.password_hash is None or not check_password_hash(user.password_hash, current):
        raise ServiceError(_("The current password is not correct."))
    problem = password_problem(new, user.username)
    if problem:
        raise ServiceError(problem)
    if check_password_hash(user.password_hash, new):
        raise ServiceError(_("The new password must differ from the current one."))
    user.password_hash = hash_password(new)
    user.session_token = secrets.token_hex(16)
    audit.record(session, user, "account.change_password", object_type="user", object_id=user.id)


def set_active(session: Session, actor: User, user: User, active: bool) -> None:
    if user.id == actor.id and not active:
        raise ServiceError(_("You cannot deactivate your own account."))
    user.active = active
    user.session_token = secrets.token_hex(16)
    if active:
        _unlock(user)
    audit.record(
        session, actor, "account.activate" if active else "account.deactivate", object_type="user", object_id=user.id
    )


def load_user_by_session_id(session: Session, session_id: str) -> User | None:
    """Flask-Login's loader: ``"<id>:<session token>"``; a stale token (password changed) signs out."""
    user_id, _sep, token = session_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = session.get(User, int(user_id))
    if user is None or not secrets.compare_digest(user.session_token, token) or not user.is_active:
        return None
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_("No such account."))
    return user
