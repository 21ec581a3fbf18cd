"""Login throttling: growing waits after failed logins, which an attacker cannot turn against the owner.

Failures are counted in three scopes, each with its own allowance before waits begin:

- the (account, client) pair: guessing one account from one address;
- the client: one address guessing many accounts;
- the account, counting only clients other than its usual one (the address of its last successful
  login): guessing one account from many addresses.

Once a scope has used its allowance, every further failure in it makes the next attempt wait twice as
long as the one before, up to a ceiling. A wait refuses the attempt before the password is looked at.
The owner at the usual client is touched by none of the scopes an attacker elsewhere can fill, so
hammering an account from elsewhere never keeps its owner out. A scope's count starts over a day after
its last failure; a successful login clears its (account, client) pair. Usernames are counted as typed,
whether or not the account exists, so a wait reveals nothing about which accounts exist.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import format_timedelta
from flask_babel import gettext as _
from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from judging.models import LoginThrottle, User, utcnow
from judging.services import NotFound, ServiceError, audit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Policy:
    allowance: int
    """Failures allowed before the first wait."""
    first_wait: timedelta
    longest_wait: timedelta


ACCOUNT_CLIENT = "account_client"
CLIENT = "client"
ACCOUNT = "account"
POLICIES = {
    ACCOUNT_CLIENT: Policy(5, timedelta(seconds=30), timedelta(minutes=15)),
    CLIENT: Policy(20, timedelta(seconds=30), timedelta(minutes=15)),
    ACCOUNT: Policy(10, timedelta(seconds=30), timedelta(minutes=15)),
}
FORGET_AFTER = timedelta(days=1)


class LoginThrottled(ServiceError):
    """An attempt refused because its scope must still wait; ``wait`` says how long."""

    def __init__(self, message: str, wait: timedelta) -> None:
        super().__init__(message)
        self.wait = wait


def wait_after(policy: Policy, failures: int) -> timedelta:
    """The wait after ``failures`` failures: none within the allowance, then doubling up to the ceiling."""
    beyond = failures - policy.allowance
    if beyond < 0:
        return timedelta(0)
    return min(policy.first_wait * (2 ** min(beyond, 30)), policy.longest_wait)


def _scopes(username: str, client: str, usual_client: str | None) -> list[tuple[str, str, str]]:
    scopes = [(ACCOUNT_CLIENT, username, client), (CLIENT, "", client)]
    if client != usual_client:
        scopes.append((ACCOUNT, username, ""))
    return scopes


def check(session: Session, username: str, client: str, usual_client: str | None, now: datetime | None = None) -> None:
    """Raise :class:`LoginThrottled` when any scope of this attempt must still wait."""
    now = now or utcnow()
    conditions = [
        (LoginThrottle.scope == scope) & (LoginThrottle.username == name) & (LoginThrottle.client == address)
        for scope, name, address in _scopes(username, client, usual_client)
    ]
    longest = session.scalar(
        select(LoginThrottle.blocked_until)
        .where(or_(*conditions), LoginThrottle.blocked_until > now)
        .order_by(LoginThrottle.blocked_until.desc())
        .limit(1)
    )
    if longest is not None:
        wait = longest - now
        raise LoginThrottled(
            _(
                "Too many failed logins. Please wait %(wait)s before trying again.",
                wait=format_timedelta(max(wait, timedelta(seconds=1)), threshold=1.0),
            ),
            wait,
        )


def record_failure(
    session: Session, username: str, client: str, usual_client: str | None, now: datetime | None = None
) -> None:
    """Count a failed login in each of its scopes and set the wait that follows."""
    now = now or utcnow()
    for scope, name, address in _scopes(username, client, usual_client):
        row = _row(session, scope, name, address, now)
        if row.last_failure_at < now - FORGET_AFTER:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        wait = wait_after(POLICIES[scope], row.failures)
        if wait:
            row.blocked_until = now + wait
            if row.failures == POLICIES[scope].allowance:
                logger.warning("login throttle begins: %s %r from %r", scope, name, address)
    session.flush()


def _row(session: Session, scope: str, username: str, client: str, now: datetime) -> LoginThrottle:
    """The scope's row, created when missing; two workers creating it at once both end up with the one row."""
    query = select(LoginThrottle).where(
        LoginThrottle.scope == scope, LoginThrottle.username == username, LoginThrottle.client == client
    )
    row = session.scalar(query)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = LoginThrottle(
                scope=scope, username=username, client=client, failures=0, last_failure_at=now, blocked_until=None
            )
            session.add(row)
    except IntegrityError:
        row = session.scalars(query).one()
    return row


def record_success(session: Session, user: User, client: str) -> None:
    """A login went through: its (account, client) pair starts afresh and the client becomes the usual one.

    The client and account scopes keep their counts: an attacker cannot wipe them by logging in to an
    account of their own.
    """
    pair = (LoginThrottle.scope == ACCOUNT_CLIENT) & (LoginThrottle.username == user.username)
    session.execute(delete(LoginThrottle).where(pair, LoginThrottle.client == client))
    user.usual_client = client or None
    user.last_login_at = utcnow()


def current_throttles(session: Session, now: datetime | None = None) -> list[LoginThrottle]:
    """Scopes with failures counted in the last day, those that must wait first, longest wait first."""
    now = now or utcnow()
    return list(
        session.scalars(
            select(LoginThrottle)
            .where(or_(LoginThrottle.last_failure_at >= now - FORGET_AFTER, LoginThrottle.blocked_until > now))
            .order_by(LoginThrottle.blocked_until.desc().nulls_last(), LoginThrottle.failures.desc())
        )
    )


def clear_throttle(session: Session, actor: User, throttle_id: int) -> LoginThrottle:
    """An organiser lifts a throttle (e.g. a whole office behind one address); its count starts over."""
    row = session.get(LoginThrottle, throttle_id)
    if row is None:
        raise NotFound(_("This throttle has already been cleared or has expired."))
    audit.record(
        session,
        actor,
        "login_throttle.clear",
        object_type="login_throttle",
        object_id=row.id,
        data={"scope": row.scope, "username": row.username, "client": row.client, "failures": row.failures},
    )
    session.delete(row)
    session.flush()
    return row


def forget_account(session: Session, username: str) -> None:
    """Clear every scope of an account (a new invitation or a reactivation starts it afresh)."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.username == username))
