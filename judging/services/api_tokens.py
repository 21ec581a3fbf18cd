"""Organisers' personal API tokens: created and revoked by their owner, stored hashed, scoped.

A token is ``jt_`` followed by 43 random URL-safe characters (256 bits), shown once when it is created;
only its sha256 is kept, so the table alone does not let anyone call the API. A ``read`` token may read;
a ``write`` token may also change data (import scores). A token works only while it is not revoked and
its owner is an active organiser: deactivating the account stops every token at once. Creating and
revoking are written to the audit log; using a token records when it was last used (at most once a
minute, so that a busy client does not write on every request).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from judging.models import ApiToken, Role, User, utcnow
from judging.services import NotFound, ServiceError, audit
from judging.services.accounts import token_hash

TOKEN_PREFIX = "jt_"  # noqa: S105 - the marker every token begins with, not a secret
SCOPES = ("read", "write")
NAME_LENGTH = 80
LAST_USED_PRECISION = timedelta(minutes=1)
SCOPE_GRANTS = {"read": {"read"}, "write": {"read", "write"}}
"""What each scope allows: a write token also reads."""


@dataclass(frozen=True)
class CreatedToken:
    token: ApiToken
    secret: str
    """The token itself: shown once, never stored."""


def create_token(session: Session, actor: User, name: str, scope: str) -> CreatedToken:
    """A new token of ``actor`` (an organiser), named ``name`` (1–80 characters), ``read`` or ``write``."""
    name = name.strip()
    if actor.role is not Role.ORGANIZER:
        raise ServiceError(_("Only organisers may create API tokens."))
    if not name or len(name) > NAME_LENGTH:
        raise ServiceError(_("Give the token a name of at most %(n)d characters.", n=NAME_LENGTH))
    if scope not in SCOPES:
        raise ServiceError(_("The scope must be read or write."))
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=actor.id, name=name, scope=scope, token_hash=token_hash(secret), prefix=secret[:10])
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor,
        "api_token.create",
        object_type="api_token",
        object_id=token.id,
        data={"name": name, "scope": scope},
    )
    return CreatedToken(token, secret)


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    """The user's tokens, newest first, revoked ones included (they say when they were revoked)."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())))


def revoke_token(session: Session, actor: User, token_id: int) -> ApiToken:
    """Revoke one of ``actor``'s own tokens; from now on it is refused. Revoking twice changes nothing."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != actor.id:
        raise NotFound(_("There is no such token."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
        audit.record(
            session, actor, "api_token.revoke", object_type="api_token", object_id=token.id, data={"name": token.name}
        )
    return token


def authenticate(session: Session, presented: str, now: datetime | None = None) -> ApiToken | None:
    """The live token ``presented`` is, or None: unknown, revoked, or its owner no longer an active organiser.

    Records the moment of use (to the minute) on the token.
    """
    if not presented.startswith(TOKEN_PREFIX) or len(presented) > 200:
        return None
    digest = token_hash(presented)
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if token is None or not hmac.compare_digest(token.token_hash, digest) or token.revoked_at is not None:
        return None
    user = token.user
    if not user.is_active or user.role is not Role.ORGANIZER:
        return None
    now = now or utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        token.last_used_at = now
        session.flush()
    return token


def allows(token: ApiToken, scope: str) -> bool:
    """Whether ``token`` grants ``scope`` (a write token also reads)."""
    return scope in SCOPE_GRANTS.get(token.scope, set())
