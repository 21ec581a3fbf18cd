"""Resumable uploads: one protocol whatever the storage.

The browser declares the file (name, size) and the server refuses early what it would refuse anyway
(phase, draft, size, type by name, the organisation's storage budget). The file is then sent in parts
of ``part_size`` bytes (the last one shorter): to presigned URLs of the object store (S3 multipart,
the app never carries the bytes) or to the app's own part endpoint (local disk). A part that failed is
sent again; after a dropped connection or a reload the browser asks which parts the storage holds
(:func:`progress`) and sends the others. :func:`complete` checks that the parts are exactly the file
declared and has the storage join them where they are (S3: CompleteMultipartUpload, no byte through the
app), then queues a background job (:mod:`judging.services.jobs`) that :func:`verify` s the joined file
server side as any upload (sha256 computed there, type by content, duration, thumbnail, blind copy: one
home, :func:`judging.services.entry_files.attach_file_checked`). Until it is done the upload stands for
the entry's file "being checked", and the entry cannot be submitted (:func:`verifying`). Whatever the
outcome, the parts and the joined object are gone afterwards; an upload left unfinished expires
(:func:`expire`), and so do parts the storage holds for no upload (a transaction rolled back).
"""

from __future__ import annotations

import hashlib
import io
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePosixPath
from typing import IO, Any

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, scoped_session

from judging import file_types
from judging.models import BackgroundJob, Entry, EntryFile, EntryStatus, JobStatus, PartsUpload, User, utcnow
from judging.services import NotFound, ServiceError, audit, entry_files, jobs
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
    refuse_when_closed(entry.contest, entry)
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
    refuse_when_closed(upload.entry.contest, upload.entry)
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


def complete(session: Session, actor: User, upload: PartsUpload, storage: Storage, *, sha256: str = "") -> PartsUpload:
    """Join the parts where they are (:meth:`Storage.join_parts`: no byte through the app) and queue the
    job that verifies the joined file (:func:`verify`); the caller commits, then :func:`jobs.start` s it.
    The upload is then the entry's file "being checked" (:func:`verifying`) until the job attaches it or
    refuses it. With ``sha256`` (the sender's), the job also refuses a file that arrived different.
    Raises :class:`PartsMissing` while parts are missing; after any other refusal the upload is gone (its
    parts deleted here; the caller :func:`abandon`s its row). Completing again (a double click, two tabs)
    finds the job already there and changes nothing."""
    _require_sender(actor, upload)
    # One completion at a time: the second waits for the first's commit and finds its job.
    if session.scalar(select(PartsUpload.id).where(PartsUpload.id == upload.id).with_for_update()) is None:
        raise NotFound(_("This upload does not exist or has expired."))
    session.refresh(upload)
    if upload.job_id is not None:
        return upload
    sizes = part_sizes(upload)
    held = storage.stored_parts(upload.token, upload.reference)
    numbers = [part.number for part in held]
    if not set(range(1, len(sizes) + 1)) <= set(numbers):
        missing = len(set(range(1, len(sizes) + 1)) - set(numbers))
        raise PartsMissing(_("The upload is not finished: %(n)d parts are still missing.", n=missing))
    if numbers != list(range(1, len(sizes) + 1)) or [part.size for part in held] != sizes:
        storage.abort_parts(upload.token, upload.reference)
        raise ServiceError(
            _(
                "The parts received are not the file declared (%(size)d bytes); nothing was kept. "
                "Please upload the file again.",
                size=upload.size_bytes,
            )
        )
    storage.join_parts(upload.token, upload.reference, held)
    upload.job = jobs.create(
        session,
        actor,
        kind=VERIFY_JOB,
        key=hashlib.sha256(f"verify_upload\x1f{upload.token}".encode("ascii")).hexdigest(),
        params={
            "upload": upload.token,
            "entry_id": upload.entry_id,
            "sha256": sha256.strip().lower(),
            "locale": str(get_locale()),
        },
        contest_id=upload.entry.contest_id,
    )
    session.flush()
    audit.record(
        session,
        actor,
        "entry.upload_complete",
        object_type="entry",
        object_id=upload.entry_id,
        contest_id=upload.entry.contest_id,
        data={"upload": upload.token, "name": upload.original_name, "size": upload.size_bytes, "job": upload.job_id},
    )
    return upload


VERIFY_JOB = "verify_upload"
PROGRESS_STEP_BYTES = 8 * 1024 * 1024
"""The verification's progress is committed every this many bytes read from the store."""


class _Counted(io.RawIOBase):
    """A stream read through, telling ``progress`` how far (in :data:`PROGRESS_STEP_BYTES` steps)."""

    def __init__(self, stream: IO[bytes], total: int, progress: jobs.Progress):
        super().__init__()
        self.stream, self.progress, self.read_bytes = stream, progress, 0
        self.steps = max(1, -(-total // PROGRESS_STEP_BYTES)) + 1  # the last step: probe, copies, storing
        progress(0, self.steps)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        before = self.read_bytes // PROGRESS_STEP_BYTES
        self.read_bytes += len(data)
        if self.read_bytes // PROGRESS_STEP_BYTES != before:
            self.progress(min(self.read_bytes // PROGRESS_STEP_BYTES, self.steps - 1), self.steps)
        return len(data)


def verify(session: Session, job: BackgroundJob, storage: Storage, progress: jobs.Progress) -> None:
    """The verification job of a completed upload: the joined file, streamed from the store in the worker,
    goes through :func:`entry_files.attach_file_checked` (sha256 computed here, size, type by content,
    probe, thumbnail, blind copy: the checks of every upload, in their one home). Accepted, it becomes the
    entry's :class:`EntryFile` and the upload goes; refused, its object is deleted and the upload keeps
    the reason (:attr:`PartsUpload.refusal`) for the entrant to read and dismiss (:func:`abandon`).

    Idempotent: run again after it attached the file (the upload is gone) or refused it, it does nothing.
    An unexpected error (a worker that died, a store out of reach) leaves the object in place: the job is
    failed with the reason and can be retried."""
    upload = session.scalar(select(PartsUpload).where(PartsUpload.job_id == job.id))
    if upload is None or upload.refusal:
        return
    upload_id = upload.id
    sent_sha256 = str(job.params.get("sha256") or "")
    try:
        actor = session.get(User, upload.user_id)
        assert actor is not None  # the upload goes with its user (ON DELETE CASCADE)
        parts = storage.stored_parts(upload.token, upload.reference)
        with storage.assembled(upload.token, upload.reference, parts) as stream:
            counted = _Counted(stream, upload.size_bytes, progress)
            record = entry_files.attach_file_checked(
                session, actor, upload.entry, storage, io.BufferedReader(counted, 1024 * 1024), upload.original_name
            )
        if record.size_bytes != upload.size_bytes or (sent_sha256 and record.sha256 != sent_sha256):
            raise ServiceError(
                _("The file received differs from the file sent (its SHA-256 does not match); nothing was kept.")
            )
    except ServiceError as refusal:
        session.rollback()  # the staged files go with it (files_follow_transaction)
        upload = session.get(PartsUpload, upload_id)
        if upload is None:
            return
        storage.abort_parts(upload.token, upload.reference)
        upload.refusal = refusal.message
        audit.record(
            session,
            None,
            "entry.upload_refused",
            object_type="entry",
            object_id=upload.entry_id,
            contest_id=upload.entry.contest_id,
            data={"upload": upload.token, "name": upload.original_name, "reason": refusal.message},
        )
        return
    token, reference = upload.token, upload.reference
    job.params = {**job.params, "entry_file_id": record.id}  # for the entrant's page: the file it became
    session.delete(upload)
    session.flush()

    def joined_object_goes(_session: Session) -> None:
        storage.abort_parts(token, reference)  # the file is at its own key now

    target = session() if isinstance(session, scoped_session) else session  # events bind to a real Session
    event.listen(target, "after_commit", joined_object_goes, once=True)


jobs.RUNNERS[VERIFY_JOB] = verify


@dataclass(frozen=True)
class Check:
    """Where the verification of a completed upload stands, as the entrant's page shows it."""

    state: str
    """``verifying``, ``ready`` (the file is the entry's), ``refused`` (with the reason), ``stopped`` (the
    job failed on an error: retry) or ``gone`` (dismissed)."""
    message: str
    done_steps: int = 0
    total_steps: int = 0
    upload: PartsUpload | None = None
    entry_file: EntryFile | None = None

    @property
    def percent(self) -> int:
        return 100 * self.done_steps // self.total_steps if self.total_steps else 0


def check(session: Session, entry: Entry, job_id: int) -> Check:
    """How the verification job ``job_id`` of one of ``entry``'s uploads stands (another entry's: not found)."""
    job = session.get(BackgroundJob, job_id)
    if job is None or job.kind != VERIFY_JOB or job.params.get("entry_id") != entry.id:
        raise NotFound(_("No such job."))
    upload = session.scalar(select(PartsUpload).where(PartsUpload.job_id == job.id))
    if upload is None:
        file_id = job.params.get("entry_file_id")
        entry_file = session.get(EntryFile, file_id) if isinstance(file_id, int) else None
        if job.status is JobStatus.DONE and entry_file is not None:
            return Check(
                "ready",
                _("The file %(name)s has been uploaded.", name=entry_file.original_name),
                job.total_steps,
                job.total_steps,
                entry_file=entry_file,
            )
        return Check("gone", _("This upload does not exist or has expired."))
    return _check_of(upload, job)


def _check_of(upload: PartsUpload, job: BackgroundJob) -> Check:
    if upload.refusal:
        return Check("refused", upload.refusal, upload=upload)
    if job.status is JobStatus.FAILED:
        return Check("stopped", job.error, upload=upload)
    if job.stalled:
        return Check(
            "stopped",
            _("The check stopped without an answer (its worker was probably stopped); check the file again."),
            upload=upload,
        )
    return Check(
        "verifying",
        _("The file %(name)s has arrived and is being checked…", name=upload.original_name),
        job.done_steps,
        job.total_steps,
        upload=upload,
    )


def verifying(session: Session, entry: Entry) -> list[Check]:
    """The completed uploads of an entry not yet its files: being checked, refused (with the reason) or
    stopped (its job failed or its worker died: to retry). While there is one, the entry cannot be submitted."""
    pending = session.scalars(
        select(PartsUpload)
        .where(PartsUpload.entry_id == entry.id, PartsUpload.job_id.is_not(None))
        .order_by(PartsUpload.id)
    ).all()
    return [_check_of(upload, upload.job) for upload in pending if upload.job is not None]


def retry(session: Session, actor: User, upload: PartsUpload) -> BackgroundJob:
    """Run a verification again whose job stopped on an error (the object is still in the store)."""
    require_own_draft(actor, upload.entry)
    if upload.job is None or upload.refusal:
        raise ServiceError(_("This file was refused; remove it from the list and upload it again."))
    jobs.retry(session, actor, upload.job)
    return upload.job


def abandon(session: Session, actor: User, upload: PartsUpload, storage: Storage) -> None:
    """Give an upload up: its parts and its row go (after a refused completion, when the sender cancels, or
    when the entrant dismisses a refused file). One being checked is left to its job."""
    require_own_draft(actor, upload.entry)
    job = upload.job
    if (
        job is not None
        and not upload.refusal
        and job.status in (JobStatus.QUEUED, JobStatus.RUNNING)
        and not job.stalled
    ):
        raise ServiceError(_("This file is being checked; wait for the result."))
    storage.abort_parts(upload.token, upload.reference)
    session.delete(upload)
    session.flush()


def expire(session: Session, storage: Storage) -> int:
    """Delete the uploads past their expiry, the completed ones of entries no longer drafts (withdrawn: no one
    will dismiss or retry them) once their check is over, and the parts the storage holds for no upload;
    return how many."""
    now = utcnow()
    gone = 0
    # A completed upload (its job set) waits for its verification, then for the entrant to read a refusal.
    expired = select(PartsUpload).where(PartsUpload.expires_at <= now, PartsUpload.job_id.is_(None))
    left = (
        select(PartsUpload)
        .join(Entry, PartsUpload.entry_id == Entry.id)
        .where(PartsUpload.job_id.is_not(None), Entry.status != EntryStatus.DRAFT)
    )
    abandoned = [u for u in session.scalars(left).all() if u.job is None or _check_of(u, u.job).state != "verifying"]
    for upload in [*session.scalars(expired).all(), *abandoned]:
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
