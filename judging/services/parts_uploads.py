"""Resumable uploads: one protocol whatever the storage.

The browser declares the file (name, size) and the server refuses early what it would refuse anyway
(phase, draft, size, type by name, the organisation's storage budget). The file is then sent in parts
of ``part_size`` bytes (the last one shorter): to presigned URLs of the object store (S3 multipart,
the app never carries the bytes) or to the app's own part endpoint (local disk). A part that failed is
sent again; after a dropped connection or a reload the browser asks which parts the storage holds
(:func:`progress`) and sends the others. :func:`complete` checks that the parts are exactly the file
declared, joins them and hands the result to :func:`judging.services.entry_files.attach_file`, which
verifies it server side (sha256 computed here, type by content, duration, thumbnail, blind copy) as any
upload. Whatever the outcome, the parts are gone afterwards; an upload left unfinished expires
(:func:`expire`), and so do parts the storage holds for no upload (a transaction rolled back).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePosixPath
from typing import IO

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from judging import file_types
from judging.models import Entry, EntryFile, PartsUpload, User, utcnow
from judging.services import NotFound, ServiceError, audit, entry_files
from judging.services.contests import current_rubric
from judging.services.entries import refuse_when_closed, require_own_draft
from judging.storage import Storage, StoredPart, TooLarge

MAX_PARTS = 10_000
"""S3's limit on the parts of one upload: the part size grows for files larger than that many parts."""
MAX_OPEN_PER_ENTRY = 3
"""Uploads under way at once for one entry (a replaced file's upload expires unless completed)."""
ORPHAN_AGE = timedelta(hours=1)
"""Parts the storage holds for no upload are deleted once they are this old (younger: maybe a row not
yet committed)."""


class PartsMissing(ServiceError):
    """Completion asked for before every part arrived: nothing is discarded, the sender continues."""


@dataclass(frozen=True)
class Progress:
    upload: PartsUpload
    received: list[StoredPart]
    urls: dict[int, str | None]
    """Where to send each part still missing (None: the app's part endpoint)."""

    @property
    def received_bytes(self) -> int:
        return sum(part.size for part in self.received)


def part_sizes(upload: PartsUpload) -> list[int]:
    """The size of each part, in order: ``part_size`` each but the last."""
    count = max(1, -(-upload.size_bytes // upload.part_size))
    return [upload.part_size] * (count - 1) + [upload.size_bytes - upload.part_size * (count - 1)]


def begin(
    session: Session,
    actor: User,
    entry: Entry,
    storage: Storage,
    *,
    name: str,
    size: int,
    part_size: int,
    expiry_hours: int,
) -> PartsUpload:
    """Open an upload of a file of ``size`` bytes named ``name`` for a draft, refusing what would be refused."""
    rubric = current_rubric(entry.contest)
    assert rubric.entry is not None
    require_own_draft(actor, entry)
    refuse_when_closed(entry.contest)
    expire(session, storage)
    if size <= 0:
        raise ServiceError(_("The file is empty."))
    if size > rubric.entry.max_file_mb * 1024 * 1024:
        raise entry_files.FileTooLarge(
            _("The file is larger than %(mb)d MB, the limit of this contest.", mb=rubric.entry.max_file_mb)
        )
    extension = PurePosixPath(name).suffix.lower().lstrip(".")
    if extension not in {e.lower() for e in rubric.entry.allowed_extensions}:
        raise ServiceError(
            _(
                "The content of this file is not one of the accepted types: %(allowed)s.",
                allowed=", ".join(rubric.entry.allowed_extensions),
            )
        )
    adds_image = rubric.entry.media == "document" and extension in file_types.IMAGE_KINDS
    replacing = 0 if adds_image else sum(f.size_bytes for f in entry.files if f.purpose == "work")
    entry_files.refuse_beyond_storage_budget(session, entry, rubric, size - replacing)
    under_way = session.scalar(select(func.count(PartsUpload.id)).where(PartsUpload.entry_id == entry.id)) or 0
    if under_way >= MAX_OPEN_PER_ENTRY:
        raise ServiceError(
            _("%(n)d uploads are already under way for this entry; finish them or wait until they expire.", n=under_way)
        )
    part_size = max(part_size, storage.min_part_size, -(-size // MAX_PARTS))
    token = secrets.token_hex(16)
    upload = PartsUpload(
        token=token,
        entry=entry,
        user_id=actor.id,
        original_name=name[:255],
        size_bytes=size,
        part_size=part_size,
        reference=storage.begin_parts(token),
        expires_at=utcnow() + timedelta(hours=expiry_hours),
    )
    session.add(upload)
    session.flush()
    audit.record(
        session,
        actor,
        "entry.upload_begin",
        object_type="entry",
        object_id=entry.id,
        contest_id=entry.contest_id,
        data={"upload": token, "name": upload.original_name, "size": size, "parts": len(part_sizes(upload))},
    )
    return upload


def progress(storage: Storage, upload: PartsUpload) -> Progress:
    """The parts the storage holds (those of the right size), and where to send the others."""
    sizes = part_sizes(upload)
    held = {
        part.number: part
        for part in storage.stored_parts(upload.token, upload.reference)
        if 1 <= part.number <= len(sizes) and part.size == sizes[part.number - 1]
    }
    missing = [n for n in range(1, len(sizes) + 1) if n not in held]
    return Progress(
        upload=upload,
        received=[held[n] for n in sorted(held)],
        urls={n: storage.part_url(upload.token, upload.reference, n) for n in missing},
    )


def _require_sender(actor: User, upload: PartsUpload) -> None:
    require_own_draft(actor, upload.entry)
    refuse_when_closed(upload.entry.contest)
    if upload.expires_at <= utcnow():
        raise ServiceError(_("This upload has expired; please upload the file again."))


def write_part(actor: User, upload: PartsUpload, storage: Storage, number: int, stream: IO[bytes]) -> StoredPart:
    """Keep a part sent to the app (local storage): only of the size its number calls for."""
    _require_sender(actor, upload)
    sizes = part_sizes(upload)
    if not 1 <= number <= len(sizes):
        raise ServiceError(_("This upload has no part %(number)d.", number=number))
    if storage.part_url(upload.token, upload.reference, number) is not None:
        # The object store takes this upload's parts itself (presigned URLs); the app keeps none of them.
        raise ServiceError(_("Send this part to the address the upload's status gives, not to this site."))
    try:
        return storage.write_part(upload.token, upload.reference, number, stream, sizes[number - 1])
    except TooLarge:
        raise ServiceError(
            _(
                "Part %(number)d does not have the size declared (%(size)d bytes).",
                number=number,
                size=sizes[number - 1],
            )
        ) from None


def complete(session: Session, actor: User, upload: PartsUpload, storage: Storage, *, sha256: str = "") -> EntryFile:
    """Join the parts and attach the file (verified as any upload); with ``sha256`` (the sender's), refuse a
    file that arrived different. Raises :class:`PartsMissing` while parts are missing; after any other
    refusal the upload is gone (its parts deleted here; the caller :func:`abandon`s its row)."""
    _require_sender(actor, upload)
    # One completion at a time (a double click, two tabs): the second finds the upload gone.
    if session.scalar(select(PartsUpload.id).where(PartsUpload.id == upload.id).with_for_update()) is None:
        raise NotFound(_("This upload does not exist or has expired."))
    sizes = part_sizes(upload)
    held = storage.stored_parts(upload.token, upload.reference)
    numbers = [part.number for part in held]
    if not set(range(1, len(sizes) + 1)) <= set(numbers):
        missing = len(set(range(1, len(sizes) + 1)) - set(numbers))
        raise PartsMissing(_("The upload is not finished: %(n)d parts are still missing.", n=missing))
    try:
        if numbers != list(range(1, len(sizes) + 1)) or [part.size for part in held] != sizes:
            raise ServiceError(
                _(
                    "The parts received are not the file declared (%(size)d bytes); nothing was kept. "
                    "Please upload the file again.",
                    size=upload.size_bytes,
                )
            )
        with storage.assembled(upload.token, upload.reference, held) as stream:
            record = entry_files.attach_file(session, actor, upload.entry, storage, stream, upload.original_name)
        if record.size_bytes != upload.size_bytes or (sha256 and record.sha256 != sha256.strip().lower()):
            raise ServiceError(
                _("The file received differs from the file sent (its SHA-256 does not match); nothing was kept.")
            )
    finally:
        storage.abort_parts(upload.token, upload.reference)
    session.delete(upload)
    session.flush()
    return record


def abandon(session: Session, actor: User, upload: PartsUpload, storage: Storage) -> None:
    """Give an upload up: its parts and its row go (after a refused completion, or when the sender cancels)."""
    require_own_draft(actor, upload.entry)
    storage.abort_parts(upload.token, upload.reference)
    session.delete(upload)
    session.flush()


def expire(session: Session, storage: Storage) -> int:
    """Delete the uploads past their expiry and the parts the storage holds for no upload; return how many."""
    now = utcnow()
    gone = 0
    for upload in session.scalars(select(PartsUpload).where(PartsUpload.expires_at <= now)).all():
        storage.abort_parts(upload.token, upload.reference)
        session.delete(upload)
        gone += 1
    known = set(session.scalars(select(PartsUpload.token)).all())
    for token, reference, started in storage.unfinished_parts():
        if token not in known and started <= now - ORPHAN_AGE:
            storage.abort_parts(token, reference)
            gone += 1
    session.flush()
    return gone
