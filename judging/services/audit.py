"""The append-only, hash-chained audit log, keyed so that an insider cannot re-chain it.

Each event's ``hash`` is the HMAC-SHA256, under the instance's audit key (``AUDIT_KEY``, kept outside
the database), of the previous event's hash followed by a canonical JSON serialisation of the event's
own fields (sorted keys, no whitespace, UTF-8). Editing, deleting or inserting a row out of band breaks
the chain at that row, which :func:`verify_chain` names; whoever can write the database but cannot read
the key cannot compute the hashes that would hide the edit. Events written before the log was keyed
carry ``hash_version`` 1 (plain sha256); they may only come before every keyed event, which anchors them.

Deleting the newest events leaves a shorter chain that is still whole, so the chain's head (count and
hash) is also kept outside the database: after every commit that appended events it is written, keyed,
to the head file (``AUDIT_HEAD_FILE``, beside the key), and :func:`head_findings` compares it with the
chain. Snapshots, publications and backups record the head too (:func:`chain_head`).
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event as orm_event
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from judging.exports.workbook import csv_lines
from judging.models import AuditEvent, User, utcnow

GENESIS_HASH = "0" * 64
UNKEYED = 1
"""Hash version of the events written before the log was keyed: sha256(prev ‖ fields)."""
KEYED = 2
"""Hash version of the events written now: HMAC-SHA256(audit key, prev ‖ fields)."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuditSeal:
    """What keys the log: the secret (never stored in the database) and the file that keeps the head."""

    key: bytes
    head_file: Path


def init_app(app: Flask) -> None:
    key = str(app.config.get("AUDIT_KEY") or "")
    if len(key) < 16:
        raise RuntimeError("AUDIT_KEY must be at least 16 characters (it keys the audit log)")
    app.extensions["audit_seal"] = AuditSeal(key.encode("utf-8"), Path(app.config["AUDIT_HEAD_FILE"]))


def current_seal() -> AuditSeal:
    """The running application's seal (set by :func:`init_app`)."""
    return current_app.extensions["audit_seal"]


def _json_default(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def event_hash(prev_hash: str, fields: dict[str, Any], key: bytes | None = None) -> str:
    """HMAC-SHA256(key, prev_hash ‖ canonical JSON of the event's fields), hex; without a key, the plain
    sha256 of the same bytes (the hash of the events written before the log was keyed)."""
    message = (prev_hash + canonical_json(fields)).encode("utf-8")
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _hashed_fields(event: AuditEvent) -> dict[str, Any]:
    fields = {
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
    if event.hash_version != UNKEYED:
        fields["hash_version"] = event.hash_version
    return fields


def _expected_hash(event: AuditEvent, prev_hash: str, key: bytes) -> str:
    return event_hash(prev_hash, _hashed_fields(event), None if event.hash_version == UNKEYED else key)


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

    The event is keyed with the running application's audit key; once the transaction commits, the new
    head is written to the head file (see :func:`_record_head_after_commit`).
    """
    seal = current_seal()
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
        hash_version=KEYED,
    )
    event.hash = _expected_hash(event, event.prev_hash, seal.key)
    session.add(event)
    session.flush()
    session.info["audit_appended"] = (seal, ChainHead(event.seq, event.hash))
    return event


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str


def verify_chain(session: Session, key: bytes | None = None) -> ChainBreak | None:
    """Walk the chain in ``seq`` order; return the first broken link, or None when intact.

    Keyed events are checked with ``key`` (default: the running application's). Unkeyed events are
    accepted only before the first keyed one: one after it was not written by this service.
    """
    key = key if key is not None else current_seal().key
    prev_hash = GENESIS_HASH
    expected_seq = 1
    keyed = False
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).yield_per(1000):
        if event.seq != expected_seq:
            return ChainBreak(expected_seq, f"event {expected_seq} is missing (next is {event.seq})")
        if event.prev_hash != prev_hash:
            return ChainBreak(event.seq, "does not link to the event before it")
        if event.hash_version not in (UNKEYED, KEYED):
            return ChainBreak(event.seq, f"unknown hash version {event.hash_version}")
        if event.hash_version == UNKEYED and keyed:
            return ChainBreak(event.seq, "it is unkeyed, after keyed events: it was not written by this service")
        if event.hash != _expected_hash(event, prev_hash, key):
            return ChainBreak(event.seq, "its content does not match its hash")
        keyed = keyed or event.hash_version == KEYED
        prev_hash = event.hash
        expected_seq += 1
    return None


def event_sealed(event: AuditEvent, key: bytes) -> bool:
    """Whether one event's hash holds for its content and its stored predecessor's hash (without walking
    the chain: a quick check that the event was written with the key, for the public pages)."""
    return event.hash_version in (UNKEYED, KEYED) and event.hash == _expected_hash(event, event.prev_hash, key)


def anchor_unkeyed_events(session: Session) -> AuditEvent | None:
    """Key a log that ends with unkeyed events (written before the upgrade), by appending a keyed event
    that chains to them: from then on they cannot be rewritten without the key either."""
    last = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).first()
    if last is None or last.hash_version != UNKEYED:
        return None
    return record(session, None, "audit.keyed", data={"unkeyed_events": last.seq, "head": last.hash})


# --- The chain's head, inside and outside the database -------------------------------------------------


@dataclass(frozen=True)
class ChainHead:
    """How long the chain is and the hash of its last event (``count`` 0 and the genesis hash when empty)."""

    count: int
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "hash": self.hash}


def chain_head(session: Session) -> ChainHead:
    """The chain's head as the caller's transaction sees it."""
    last = session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    return ChainHead(last.seq, last.hash) if last else ChainHead(0, GENESIS_HASH)


def hash_at(session: Session, count: int) -> str | None:
    """The hash of event number ``count`` (the genesis hash for 0), or None when there is no such event."""
    if count == 0:
        return GENESIS_HASH
    return session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == count))


def _head_mac(key: bytes, head: ChainHead) -> str:
    return hmac.new(key, f"audit-head:{head.count}:{head.hash}".encode("ascii"), hashlib.sha256).hexdigest()


class HeadFileError(Exception):
    """The head file exists but is not one this instance's key sealed."""


HEAD_RECORD_SIZE = 256
"""The head file holds one record padded to this size, rewritten in place with a single write."""


def _parse_head(raw: bytes, seal: AuditSeal) -> ChainHead:
    try:
        stored = json.loads(raw.decode("ascii"))
        head = ChainHead(int(stored["count"]), str(stored["hash"]))
        mac = str(stored["mac"])
    except (ValueError, KeyError, TypeError):
        raise HeadFileError(f"{seal.head_file} is not a head file") from None
    if not hmac.compare_digest(mac, _head_mac(seal.key, head)):
        raise HeadFileError(f"{seal.head_file} is not sealed with this instance's audit key")
    return head


def read_head(seal: AuditSeal) -> ChainHead | None:
    """The head recorded in the head file, or None when there is no file; HeadFileError when it is not
    sealed with this key (edited, or another instance's)."""
    try:
        with open(seal.head_file, "rb") as handle:
            fcntl.flock(handle, fcntl.LOCK_SH)
            raw = handle.read()
    except FileNotFoundError:
        return None
    return _parse_head(raw, seal)


def write_head(seal: AuditSeal, head: ChainHead, *, replace: bool = False) -> None:
    """Record ``head`` in the head file, keyed, under an exclusive lock.

    The file only moves forward: a head older than the one recorded is ignored (two processes that
    committed one after the other may write in the other order), unless ``replace`` (a restore, which
    starts a new chain history in this instance). The record is rewritten in place by one write of a
    fixed size: renaming a new file over the old one made the filesystem flush on every commit (9 ms
    measured, as long as a whole sheet submission).
    """
    seal.head_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(seal.head_file, os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        if not replace:
            try:
                recorded: ChainHead | None = _parse_head(handle.read(), seal)
            except HeadFileError:
                recorded = None
            if recorded is not None and recorded.count >= head.count:
                return
        record = json.dumps({"count": head.count, "hash": head.hash, "mac": _head_mac(seal.key, head)})
        os.pwrite(fd, record.encode("ascii").ljust(HEAD_RECORD_SIZE - 1) + b"\n", 0)
        if os.fstat(fd).st_size != HEAD_RECORD_SIZE:
            os.ftruncate(fd, HEAD_RECORD_SIZE)


@orm_event.listens_for(Session, "after_commit")
def _record_head_after_commit(session: Session) -> None:
    """After a commit that appended events, write the new head to the head file.

    After the commit, not before: a head written for events that were then rolled back would accuse
    the log of a deletion. A process that stops between the two leaves the file one commit behind,
    which :func:`head_findings` accepts (the events after it are keyed) and the next append repairs.
    """
    if session.in_nested_transaction():
        return
    appended = session.info.pop("audit_appended", None)
    if appended is None:
        return
    seal, head = appended
    try:
        write_head(seal, head)
    except OSError:  # the commit stands; verify will report the head as behind
        log.exception("could not record the audit chain's head in %s", seal.head_file)


@orm_event.listens_for(Session, "after_soft_rollback")
def _forget_appended_head(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:  # the whole transaction, not a savepoint
        session.info.pop("audit_appended", None)


def head_findings(session: Session, seal: AuditSeal) -> list[str]:
    """Compare the chain with the head kept outside the database; one line per disagreement.

    Accepted: the recorded head is an event of the chain with the same hash, and the chain may go on
    after it (events committed by a process that stopped before writing the file; they are keyed, so
    :func:`verify_chain` vouches for them). No head file is accepted only while no event is keyed.
    """
    try:
        recorded = read_head(seal)
    except HeadFileError as problem:
        return [str(problem)]
    head = chain_head(session)
    if recorded is None:
        keyed = session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.hash_version == KEYED))
        if keyed:
            return [f"the chain's head is not recorded outside the database: {seal.head_file} is missing"]
        return []
    if recorded.count > head.count:
        return [
            f"the newest audit events were deleted: the head recorded outside the database is event "
            f"{recorded.count} ({recorded.hash[:16]}…), the chain ends at event {head.count}"
        ]
    if hash_at(session, recorded.count) != recorded.hash:
        return [
            f"audit event {recorded.count} is not the head recorded outside the database "
            f"({recorded.hash[:16]}…): the chain was rewritten"
        ]
    return []


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
