"""Accounts: creating users, one-time invitations, passwords and authentication."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

from judging.models import Invitation, Organization, OrganizationKind, Role, User, utcnow
from judging.services import NotFound, ServiceError, audit, login_throttle

MIN_PASSWORD_LENGTH = 10
MIN_PASSWORD_SCORE = 3
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,39}$")
MAX_EMAIL = 254
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# A fixed hash to compare against when the user does not exist, so both paths take the same time.
_DUMMY_HASH = generate_password_hash("not a real password", method="scrypt")


def hash_password(password: str) -> str:
    """scrypt unless the PASSWORD_HASH_METHOD setting says otherwise (the test suite uses a cheap one)."""
    return generate_password_hash(password, method=current_app.config.get("PASSWORD_HASH_METHOD", "scrypt"))


def password_problem(password: str, username: str = "", display_name: str = "") -> str | None:
    """The policy: at least 10 characters, not only digits, not containing the username, and not easy to guess.

    "Easy to guess" is zxcvbn's estimate (Dropbox's password strength estimator, kept up as the ``zxcvbn``
    package): below score 3, i.e. fewer than 10^8 guesses, against its lists of the most common leaked
    passwords, names and words, and patterns (repeats, sequences, keyboard rows, dates, l33t). A shipped
    list of common passwords alone would pass ``aaaaaaaaaa`` and ``1q2w3e4r5t``-style variants.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
    if password.isdigit():
        return _("The password must not consist of digits only.")
    if username and username.lower() in password.lower():
        return _("The password must not contain the username.")
    hints = [hint for hint in (username, display_name) if hint]
    # zxcvbn's time grows with the length; 72 characters are plenty to judge a password by.
    if zxcvbn(password[:72], user_inputs=hints)["score"] < MIN_PASSWORD_SCORE:
        return _(
            "This password is too easy to guess. Avoid common passwords, single words and names, "
            "repeated characters and keyboard or number sequences; a few unrelated words work well."
        )
    return None


def email_problem(email: str) -> str | None:
    """An address is optional; when given it has one @, a dot in the domain and no spaces (at most 254)."""
    if email and (len(email) > MAX_EMAIL or not EMAIL_PATTERN.match(email)):
        return _("“%(email)s” is not an e-mail address.", email=email)
    return None


def entrant_organization_problem(role: Role, organization: Organization | None) -> str | None:
    """Entrants belong to an organisation that can enter (not the organiser's own)."""
    if role is Role.ENTRANT:
        if organization is None:
            return _("An entrant account must belong to an organisation.")
        if organization.kind is OrganizationKind.ORGANIZER:
            return _("Entrant accounts belong to entrant organisations, not the organiser.")
    return None


def token_hash(token: str) -> str:
    """What is stored of an invitation token: its sha256."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


class AccountDeactivated(ServiceError):
    """The right password for an account an organiser has deactivated."""


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
    email: str = "",
) -> NewAccount:
    """Create an account without a password and an invitation with which its holder sets one.

    Entrants must belong to an organisation that can enter (not the organiser's own); judges may
    have an affiliation, which drives automatic recusal.
    """
    user = _new_user(
        session, username=username, display_name=display_name, role=role, organization=organization, email=email
    )
    token = issue_invitation(session, actor, user, invitation_days)
    _record_creation(session, actor, user)
    return NewAccount(user, token)


def create_account_with_password(
    session: Session,
    actor: User | None,
    *,
    username: str,
    display_name: str,
    role: Role,
    organization: Organization | None,
    password: str,
) -> User:
    """Create an account whose password is set at once (``flask user create``, the first-run page).

    The same rules as :func:`create_account`, and the password policy of :func:`password_problem`.
    """
    problem = password_problem(password, username.strip(), display_name.strip())
    if problem:
        raise ServiceError(problem)
    user = _new_user(session, username=username, display_name=display_name, role=role, organization=organization)
    user.password_hash = hash_password(password)
    session.flush()
    _record_creation(session, actor, user)
    return user


def _new_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    role: Role,
    organization: Organization | None,
    email: str = "",
) -> User:
    username = username.strip()
    if not USERNAME_PATTERN.match(username):
        raise ServiceError(
            _("A username has 3 to 40 letters, digits, dots, dashes or underscores, starting with a letter or digit.")
        )
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ServiceError(_("The username %(name)s is already taken.", name=username))
    if not display_name.strip():
        raise ServiceError(_("Please enter the name to display."))
    if organization is not None and organization.retired:
        raise ServiceError(_("%(name)s is retired: it takes no new accounts.", name=organization.name))
    email = email.strip()
    problem = email_problem(email) or entrant_organization_problem(role, organization)
    if problem:
        raise ServiceError(problem)
    user = User(
        username=username,
        display_name=display_name.strip(),
        role=role,
        organization=organization,
        email=email or None,
        password_hash=None,
        session_token=secrets.token_hex(16),
    )
    session.add(user)
    session.flush()
    return user


def _record_creation(session: Session, actor: User | None, user: User) -> None:
    organization = user.organization
    audit.record(
        session,
        actor,
        "account.create",
        object_type="user",
        object_id=user.id,
        data={
            "username": user.username,
            "role": user.role.value,
            "organization": organization.name if organization else None,
        },
    )


def issue_invitation(session: Session, actor: User | None, user: User, days: int) -> str:
    """A new one-time link for the user, valid ``days``; any earlier open link of the user ends. Not audited."""
    now = utcnow()
    for old in session.scalars(select(Invitation).where(Invitation.user_id == user.id, Invitation.used_at.is_(None))):
        old.expires_at = now  # a new link replaces any earlier one
    token = secrets.token_urlsafe(32)
    session.add(
        Invitation(
            user_id=user.id,
            token_hash=token_hash(token),
            created_by_id=actor.id if actor else None,
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
    )
    session.flush()
    return token


def reissue_invitation(session: Session, actor: User, user: User, invitation_days: int = 7) -> str:
    """A fresh one-time link for a user who lost theirs or forgot the password; earlier links stop working."""
    token = issue_invitation(session, actor, user, invitation_days)
    audit.record(session, actor, "account.invite", object_type="user", object_id=user.id)
    return token


def find_invitation(session: Session, token: str) -> Invitation:
    """The open invitation for a token; NotFound when unknown, used or expired."""
    invitation = session.scalar(select(Invitation).where(Invitation.token_hash == token_hash(token)))
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= utcnow():
        raise NotFound(_("This invitation link is not valid: it was already used, replaced or has expired."))
    if not invitation.user.active:
        raise NotFound(_("This account has been deactivated."))
    return invitation


def accept_invitation(session: Session, token: str, password: str) -> User:
    """Set the password of the invited account and use up the link."""
    invitation = find_invitation(session, token)
    user = invitation.user
    problem = password_problem(password, user.username, user.display_name)
    if problem:
        raise ServiceError(problem)
    user.password_hash = hash_password(password)
    end_sessions(user)
    login_throttle.forget_account(session, user.username)
    invitation.used_at = utcnow()
    audit.record(session, user, "account.accept_invitation", object_type="user", object_id=user.id)
    return user


def authenticate(session: Session, username: str, password: str, client: str = "") -> User | None:
    """The active user with these credentials, or None. The caller commits either way: failures count.

    ``client`` is the address the attempt comes from. Before any password is checked, the attempt must
    pass :mod:`judging.services.login_throttle` (which raises ``LoginThrottled``); a failure is counted
    there, a success clears the (account, client) pair and makes ``client`` the account's usual one.
    Takes the same time whether or not the user exists. The right password of a deactivated account
    raises :class:`AccountDeactivated` (no failure is counted: it was not a guess).
    """
    username = username.strip()
    user = session.scalar(select(User).where(User.username == username))
    usual_client = user.usual_client if user is not None else None
    login_throttle.check(session, username, client, usual_client)
    if user is None or user.password_hash is None:
        check_password_hash(_DUMMY_HASH, password)
        login_throttle.record_failure(session, username, client, usual_client)
        return None
    if not check_password_hash(user.password_hash, password):
        login_throttle.record_failure(session, username, client, usual_client)
        return None
    if not user.active:  # only the holder of the right password learns this
        raise AccountDeactivated(
            _("This account has been deactivated. Please ask the organisers if you need it again.")
        )
    login_throttle.record_success(session, user, client)
    return user


def end_sessions(user: User) -> None:
    """Every copy of the user's login session stops working: the loader compares this token on each request."""
    user.session_token = secrets.token_hex(16)


def log_out(session: Session, user: User) -> None:
    """Logging out ends every copy of the session, including a cookie copied before."""
    end_sessions(user)
    session.flush()


def change_password(session: Session, user: User, current: str, new: str) -> None:
    """Change a password after checking the current one; other sessions of the user are signed out."""
    if user.password_hash is None or not check_password_hash(user.password_hash, current):
        raise ServiceError(_("The current password is not correct."))
    problem = password_problem(new, user.username, user.display_name)
    if problem:
        raise ServiceError(problem)
    if check_password_hash(user.password_hash, new):
        raise ServiceError(_("The new password must differ from the current one."))
    user.password_hash = hash_password(new)
    end_sessions(user)
    audit.record(session, user, "account.change_password", object_type="user", object_id=user.id)


def set_active(session: Session, actor: User, user: User, active: bool) -> None:
    """Deactivate or reactivate an account.

    Deactivated: it cannot log in (:class:`AccountDeactivated` names why), every session of it ends on
    its next request, and its open invitation links stop working (reactivating does not revive them:
    issue a new link). Its sheets and entries stay as they are, on record. Nobody deactivates their own
    account, and the last active organiser stays active.
    """
    if user.active == active:
        return
    if user.id == actor.id and not active:
        raise ServiceError(_("You cannot deactivate your own account."))
    if not active and user.role is Role.ORGANIZER:
        others = session.scalar(
            select(func.count(User.id)).where(User.role == Role.ORGANIZER, User.active.is_(True), User.id != user.id)
        )
        if not others:
            raise ServiceError(_("%(name)s is the last active organiser and stays active.", name=user.display_name))
    organization = user.organization
    if active and organization is not None and organization.retired and user.role is not Role.JUDGE:
        raise ServiceError(
            _("%(name)s is retired: take the organisation back into use before its accounts.", name=organization.name)
        )
    user.active = active
    end_sessions(user)
    ended = 0
    if active:
        login_throttle.forget_account(session, user.username)
    else:
        now = utcnow()
        for invitation in session.scalars(
            select(Invitation).where(
                Invitation.user_id == user.id, Invitation.used_at.is_(None), Invitation.expires_at > now
            )
        ):
            invitation.expires_at = now
            ended += 1
    audit.record(
        session,
        actor,
        "account.activate" if active else "account.deactivate",
        object_type="user",
        object_id=user.id,
        data={"username": user.username} | ({} if active else {"invitations_ended": ended}),
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
