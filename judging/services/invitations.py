"""Invitation links for many people at once: for printed letters, a spreadsheet, or mail.

Only a hash of each link is stored (see :mod:`judging.services.accounts`), so a link can be handed
out only when it is made. Issuing links for a group therefore makes a new link per person and ends
the earlier one: print the letters, download the spreadsheet or send the mails from one issue. Only
accounts still waiting for their holder (active, no password yet) get a link this way; someone who
has set a password and lost it gets a new link from the accounts page, one at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from judging.models import Invitation, User
from judging.services import ServiceError, accounts, audit

MAX_PEOPLE = 2000


@dataclass(frozen=True)
class IssuedInvitation:
    user: User
    token: str
    expires_at: datetime


def waiting_people(session: Session, user_ids: Sequence[int] | None = None) -> list[User]:
    """Active accounts whose holder has not set a password yet (of ``user_ids``, if given), by name."""
    query = select(User).where(User.active.is_(True), User.password_hash.is_(None))
    if user_ids is not None:
        query = query.where(User.id.in_(list(user_ids)))
    return sorted(session.scalars(query), key=lambda user: (user.role.value, user.display_name, user.username))


def issue_invitations(session: Session, actor: User, users: Sequence[User], days: int) -> list[IssuedInvitation]:
    """A new link for each person (their earlier links end); refused when anyone is not waiting for one."""
    if not users:
        raise ServiceError(_("Nobody is waiting for an invitation link."))
    if len(users) > MAX_PEOPLE:
        raise ServiceError(_("At most %(n)d people at a time.", n=MAX_PEOPLE))
    not_waiting = [user.display_name for user in users if not user.active or user.password_hash is not None]
    if not_waiting:
        raise ServiceError(
            _(
                "These people are deactivated or have set their password already: %(names)s.",
                names="、".join(not_waiting),
            )
        )
    issued = []
    for user in users:
        token = accounts.issue_invitation(session, actor, user, days)
        expires_at = session.scalar(
            select(Invitation.expires_at).where(Invitation.token_hash == accounts.token_hash(token))
        )
        assert expires_at is not None  # just written
        issued.append(IssuedInvitation(user, token, expires_at))
    audit.record(
        session,
        actor,
        "account.invite_many",
        object_type="user",
        data={"usernames": [user.username for user in users], "days": days},
    )
    return issued
