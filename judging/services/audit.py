"""The append-only, hash-chained audit log.

Each event's ``hash`` is the sha256 of the previous event's hash followed by a canonical JSON
serialisation of the event's own fields (sorted keys, no whitespace, UTF-8). Editing, deleting or
inserting a row out of band breaks the chain at that row, which :func:`verify_chain` names.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from judging.exports.workbook import csv_lines
from judging.models import AuditEvent, User, utcnow

GENESIS_HASH = "0" * 64


def _json_default(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def event_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    """sha256(prev_hash ‖ canonical JSON of the event's fields), hex."""
    return hashlib.sha256((prev_hash + canonical_json(fields)).encode("utf-8")).hexdigest()


def _hashed_fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": event.at.isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor_name": event.actor_name,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "contest_id": event.contest_id,
        "data": json.loads(canonical_json(event.data)),
    }


def record(
    session: Session,
    actor: User | None,
    action: str,
    *,
    object_type: str = "",
    object_id: object = "",
    contest_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction.

    On PostgreSQL a transaction-scoped advisory lock serialises appends, so two concurrent writers
    never chain to the same predecessor. SQLite serialises writers, but only from a transaction's first
    write: a transaction whose first write is this event would read the end of the chain before holding
    the lock, and a concurrent append would then make its insert fail on the unique ``seq``. A write
    that changes nothing takes the lock first. The unique ``seq`` is the last line of defence either way.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(7240001)"))
    elif dialect == "sqlite":
        session.execute(text("UPDATE audit_event SET seq = seq WHERE 0 = 1"))
    last = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).first()
    event = AuditEvent(
        seq=(last.seq + 1) if last else 1,
        at=utcnow(),
        actor_id=actor.id if actor else None,
        actor_name=actor.username if actor else "system",
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id != "" else "",
        contest_id=contest_id,
        data=json.loads(canonical_json(data or {})),
        prev_hash=last.hash if last else GENESIS_HASH,
    )
    event.hash = event_hash(event.prev_hash, _hashed_fields(event))
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str


def verify_chain(session: Session) -> ChainBreak | None:
    """Walk the chain in ``seq`` order; return the first broken link, or None when intact."""
    prev_hash = GENESIS_HASH
    expected_seq = 1
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).yield_per(1000):
        if event.seq != expected_seq:
            return ChainBreak(expected_seq, f"event {expected_seq} is missing (next is {event.seq})")
        if event.prev_hash != prev_hash:
            return ChainBreak(event.seq, "does not link to the event before it")
        if event.hash != event_hash(prev_hash, _hashed_fields(event)):
            return ChainBreak(event.seq, "its content does not match its hash")
        prev_hash = event.hash
        expected_seq += 1
    return None


AUDIT_CSV_COLUMNS = ("seq", "at", "actor", "action", "object_type", "object_id", "contest_id", "data", "hash")


def audit_csv_lines(session: Session) -> Iterator[str]:
    """The whole log as CSV text, oldest first, one line at a time (UTF-8 BOM first, so that Excel
    reads the Chinese correctly): every event's fields, its data as canonical JSON, and its hash, so that
    a reader can re-check the chain outside the service. The cells are written by
    :mod:`judging.exports.workbook`: a text cell that a spreadsheet would evaluate (an actor named
    ``=…``) starts with a single quote, which such a reader drops before hashing."""
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).yield_per(1000)
    yield from csv_lines(
        AUDIT_CSV_COLUMNS,
        (
            (
                event.seq,
                event.at.isoformat(timespec="microseconds"),
                event.actor_name,
                event.action,
                event.object_type,
                event.object_id,
                event.contest_id,
                canonical_json(event.data),
                event.hash,
            )
            for event in events
        ),
    )
