"""The files of an entry and their transactions.

Owns attaching a work or an image to a draft (checked by content, measured, thumbnailed, stripped of
metadata), removing a file, and keeping storage in step with the database: an upload stays staged until
its transaction commits, and files of a transaction that was rolled back or killed are withdrawn.
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import IO, TypeVar

from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import Engine, event, func, inspect, select
from sqlalchemy.orm import Session, SessionTransaction, scoped_session

from judging import clean_copies, file_types
from judging.document_text import document_text
from judging.media import NotAVideo, VideoInfo, make_thumbnail, probe_video, strip_metadata
from judging.models import Base, Entry, EntryFile, EntryStatus, ObjectionAttachment, User
from judging.rubric import Rubric
from judging.services import ServiceError, audit
from judging.services.contests import current_rubric
from judging.services.entries import draft_allowance, entry_label, refuse_when_closed, require_own_draft, withdraw_entry
from judging.storage import Publication, StagedFile, Storage, TooLarge

T = TypeVar("T")

DURATION_TOLERANCE_SECONDS = Decimal("0.5")


"""Containers round a clip encoded to exactly the limit up by a few hundredths (DESIGN.md §8)."""


MAX_IMAGES = 20


"""Images an entry (an exemplary case) may carry beside its document."""


class FileTooLarge(ServiceError):
    """The upload is over the rubric's ``max_file_mb``."""


def attach_file(
    session: Session,
    actor: User,
    entry: Entry,
    storage: Storage,
    stream: IO[bytes],
    original_name: str,
) -> EntryFile:
    """Store a file of a draft entry: streamed, hashed, its type checked by content, probed (videos).

    The kind is read from the file's first bytes (:mod:`judging.file_types`), never from its name or
    the browser's content type. A video (or a case's document) is the entry's ``work`` and replaces
    the previous one; a case's JPEG or PNG is added as an ``image``. A video is given a thumbnail and
    refused past ``max_duration_seconds`` with its measured duration; an image past
    :data:`judging.clean_copies.MAX_IMAGE_PIXELS`. A document's text is kept for the blind check.

    The upload is stored as it was sent (the entrant gets it back byte for byte). When the contest is
    blind, a copy without any metadata is made beside it (:func:`_make_blind_copy`), and that copy is
    all that judges receive (a blind judge must not find the entrant's name in a tag, a property or a
    picture's EXIF).

    The files (the upload, its blind copy and the thumbnail) stay in the storage's
    ``tmp/`` while they are checked and worked on, and reach their keys only when the transaction
    commits (:func:`files_follow_transaction`). Anything refused leaves no file and no row behind: the
    staged files are deleted before the refusal is raised, and the caller rolls back.
    """
    require_own_draft(actor, entry)
    refuse_when_closed(entry.contest, entry)
    return attach_file_checked(session, actor, entry, storage, stream, original_name)


def attach_file_checked(
    session: Session,
    actor: User,
    entry: Entry,
    storage: Storage,
    stream: IO[bytes],
    original_name: str,
) -> EntryFile:
    """:func:`attach_file` once the contest's phase was checked: by the upload's request, or, for a file
    uploaded straight to the object store, by its completion (the verification job that calls this may run
    after the deadline the file arrived before). The entry must still be the actor's draft."""
    rubric = current_rubric(entry.contest)
    assert rubric.entry is not None
    require_own_draft(actor, entry)
    clear_interrupted_uploads(session, storage)
    limit = rubric.entry.max_file_mb * 1024 * 1024
    try:
        uploaded = storage.stage(stream, limit=limit)
    except TooLarge:
        raise FileTooLarge(
            _("The file is larger than %(mb)d MB, the limit of this contest.", mb=rubric.entry.max_file_mb)
        ) from None
    staged = [uploaded]
    try:
        if uploaded.size == 0:
            raise ServiceError(_("The file is empty."))
        kind = file_types.detect_kind(uploaded.path)
        if not file_types.is_accepted(kind, rubric.entry.allowed_extensions):
            if rubric.entry.media == "video":
                raise ServiceError(_("This file is not a video that can be played."))
            raise ServiceError(
                _(
                    "The content of this file is not one of the accepted types: %(allowed)s.",
                    allowed=", ".join(rubric.entry.allowed_extensions),
                )
            )
        assert kind is not None
        purpose = "image" if rubric.entry.media == "document" and kind in file_types.IMAGE_KINDS else "work"
        if rubric.collection is not None and purpose == "work":
            purpose = "attachment"  # a report keeps several documents; none replaces another
        replacing = sum(f.size_bytes for f in entry.files if f.purpose == "work") if purpose == "work" else 0
        refuse_beyond_storage_budget(session, entry, rubric, uploaded.size - replacing)
        record = EntryFile(
            purpose=purpose,
            storage_key=uploaded.key,
            original_name=file_types.safe_file_name(original_name, kind),
            content_type=file_types.MEDIA_TYPES[kind],
            size_bytes=uploaded.size,
            sha256=uploaded.sha256,
        )
        if kind in file_types.IMAGE_KINDS:
            check_image(uploaded)
        if rubric.entry.media == "image":
            _thumbnail_of_picture(record, uploaded, storage, staged)
        if rubric.entry.media == "video":
            _probe_into(record, uploaded, storage, rubric, staged)
        if kind in file_types.OFFICE_KINDS or kind == "pdf":
            record.document_text = document_text(kind, uploaded.path)
        if (rubric.assignment is not None and rubric.assignment.blind) or (
            rubric.collection is not None and purpose == "image"
        ):  # a report's photos are exported without their EXIF (where and on what they were taken)
            _make_blind_copy(record, uploaded, storage, kind, staged, codec=record.codec)
        if rubric.collection is not None:
            refuse_beyond_report_limits(entry, rubric, purpose)
        elif purpose == "image" and sum(1 for f in entry.files if f.purpose == "image") >= MAX_IMAGES:
            raise ServiceError(_("An entry can have at most %(n)d images.", n=MAX_IMAGES))
        replaced = [f for f in entry.files if f.purpose == "work"] if purpose == "work" else []
        for old in replaced:
            entry.files.remove(old)
            session.delete(old)
        entry.files.append(record)
        session.flush()
    except BaseException:
        storage.discard(staged)
        raise
    files_follow_transaction(
        session,
        storage,
        record=record,
        staged=staged,
        retiring=[k for f in replaced for k in f.stored_keys],
    )
    audit.record(
        session,
        actor,
        "entry.file",
        object_type="entry",
        object_id=entry.id,
        contest_id=entry.contest_id,
        data={
            "name": record.original_name,
            "purpose": record.purpose,
            "size": record.size_bytes,
            "sha256": record.sha256,
            "uploaded_sha256": uploaded.sha256,
            "blind_sha256": record.blind_sha256,
            "duration": str(record.duration_seconds) if record.duration_seconds is not None else None,
        },
    )
    return record


def refuse_beyond_report_limits(entry: Entry, rubric: Rubric, purpose: str) -> None:
    """Refuse a report's document or photo beyond the rubric's ``collection.max_documents`` / ``max_photos``."""
    assert rubric.collection is not None
    count = sum(1 for f in entry.files if f.purpose == purpose)
    if purpose == "image" and count >= rubric.collection.max_photos:
        raise ServiceError(_("A report can have at most %(n)d photos.", n=rubric.collection.max_photos))
    if purpose == "attachment" and count >= rubric.collection.max_documents:
        raise ServiceError(_("A report can have at most %(n)d documents.", n=rubric.collection.max_documents))


def storage_budget(rubric: Rubric) -> int:
    """Bytes an organisation's files may take in one contest: a full-size file for each draft it may keep
    (quota plus margin, :func:`entries.draft_allowance`); for a report, one for each document and photo it may
    carry."""
    assert rubric.entry is not None
    if rubric.collection is not None:
        files = rubric.collection.max_documents + rubric.collection.max_photos
        return max(files, 1) * rubric.entry.max_file_mb * 1024 * 1024
    return draft_allowance(rubric) * rubric.entry.max_file_mb * 1024 * 1024


def stored_bytes(session: Session, contest_id: int, organization_id: int) -> int:
    """What the files of an organisation's entries in a contest take, whatever the entries' status."""
    total = session.scalar(
        select(func.coalesce(func.sum(EntryFile.size_bytes), 0))
        .join(Entry, EntryFile.entry_id == Entry.id)
        .where(Entry.contest_id == contest_id, Entry.organization_id == organization_id)
    )
    return int(total or 0)


def _megabytes(size: int) -> str:
    return f"{format_decimal(size / 1024 / 1024, format='#,##0.0')} MB"


def refuse_beyond_storage_budget(session: Session, entry: Entry, rubric: Rubric, adding: int) -> None:
    """Refuse a file that would take the organisation's files past :func:`storage_budget`, naming the drafts
    whose files it can delete, largest first."""
    budget = storage_budget(rubric)
    used = stored_bytes(session, entry.contest_id, entry.organization_id)
    if used + adding <= budget:
        return
    drafts = session.scalars(
        select(Entry).where(
            Entry.contest_id == entry.contest_id,
            Entry.organization_id == entry.organization_id,
            Entry.status == EntryStatus.DRAFT,
        )
    ).all()
    holding = sorted(
        ((sum(f.size_bytes for f in draft.files), draft) for draft in drafts if draft.files),
        key=lambda pair: (-pair[0], pair[1].id),
    )
    where = "; ".join(f"{entry_label(draft)} {_megabytes(size)}" for size, draft in holding)
    raise ServiceError(
        _(
            "This file does not fit: your organisation's files in this contest take %(used)s of the %(budget)s "
            "it may store. Delete files you no longer need, or withdraw drafts you will not submit: %(drafts)s.",
            used=_megabytes(used),
            budget=_megabytes(budget),
            drafts=where or _("no draft holds a file; please ask the organisers"),
        )
    )


def withdraw(session: Session, actor: User, entry: Entry, storage: Storage) -> None:
    """Withdraw an entry (:func:`entries.withdraw_entry`). A draft's files go with it: never submitted, no
    one will judge them, and they would count against the organisation's storage budget for good."""
    if entry.status is EntryStatus.DRAFT:
        for entry_file in list(entry.files):
            remove_file(session, actor, entry_file, storage)
    withdraw_entry(session, actor, entry)


def attach_work(
    session: Session,
    actor: User,
    entry: Entry,
    storage: Storage,
    stream: IO[bytes],
    original_name: str,
    content_type: str = "",
) -> EntryFile:
    """Store the work of a draft entry (see :func:`attach_file`); ``content_type`` from the browser is
    ignored: the stored type is the one read from the content.
    """
    return attach_file(session, actor, entry, storage, stream, original_name)


def make_missing_blind_copies(session: Session, storage: Storage) -> int:
    """Make the blind copy of every stored file of a blind contest that has none (uploaded before the
    contest was made blind, or before blind copies existed); return how many were made. Until it has
    one, a judge gets no file at all (the original is never served in its place).

    Each copy is made from the stored upload and reaches its key with the caller's commit, like an
    upload's. A file that cannot be cleaned is left without a copy and named in the audit log.
    """
    made = 0
    rows = session.scalars(select(EntryFile).where(EntryFile.blind_key.is_(None)).order_by(EntryFile.id)).all()
    for record in rows:
        contest = record.entry.contest
        rubric = current_rubric(contest)
        if not (rubric.assignment and rubric.assignment.blind) or not storage.exists(record.storage_key):
            continue
        kind = file_types.kind_of_media_type(record.content_type)
        if kind is None:
            continue
        staged: list[StagedFile] = []
        original = StagedFile(record.storage_key, storage.path(record.storage_key), record.size_bytes, record.sha256)
        try:
            _make_blind_copy(record, original, storage, kind, staged, codec=record.codec)
        except ServiceError as refusal:
            audit.record(
                session,
                None,
                "entry.blind_copy_failed",
                object_type="entry",
                object_id=record.entry_id,
                contest_id=contest.id,
                data={"file": record.id, "reason": refusal.message},
            )
            continue
        session.flush()
        files_follow_transaction(session, storage, record=record, staged=staged)
        audit.record(
            session,
            None,
            "entry.blind_copy",
            object_type="entry",
            object_id=record.entry_id,
            contest_id=contest.id,
            data={"file": record.id, "blind_sha256": record.blind_sha256},
        )
        made += 1
    return made


def remove_file(session: Session, actor: User, entry_file: EntryFile, storage: Storage) -> None:
    """Remove a file from a draft entry; the stored file goes when the transaction commits."""
    entry = entry_file.entry
    require_own_draft(actor, entry)
    refuse_when_closed(entry.contest, entry)
    keys = list(entry_file.stored_keys)
    entry.files.remove(entry_file)
    session.delete(entry_file)
    session.flush()
    files_follow_transaction(session, storage, retiring=keys)
    audit.record(
        session,
        actor,
        "entry.file_remove",
        object_type="entry",
        object_id=entry.id,
        contest_id=entry.contest_id,
        data={"name": entry_file.original_name, "sha256": entry_file.sha256},
    )


def files_follow_transaction(
    session: Session,
    storage: Storage,
    *,
    record: Base | None = None,
    staged: list[StagedFile] | None = None,
    retiring: list[str] | None = None,
) -> None:
    """Tie stored files to the transaction: ``record``'s ``staged`` files reach their keys as it commits,
    and the files of ``retiring`` (rows it deletes) go once it has; on a rollback the staged files go
    and the retiring ones stay. Stored files and their rows appear and vanish together.

    The files are published (:meth:`Storage.publish`) from ``before_commit``, after the last flush,
    so a refusal by the database during the flush (a unique index) comes with the files still in
    ``tmp/``; a failed COMMIT (a lost connection) is undone by the rollback. Staged files whose row will
    not be committed (deleted again in the same transaction, or in a savepoint rolled back) are not
    published at all.

    The window: a file is at its key without a committed row from its rename to the end of the COMMIT
    (measured about 2 ms, at most 7: the folders' fsyncs and the COMMIT's round trip), and a retiring
    file is at its key after its row's deletion is committed until it is deleted (microseconds). A
    process killed there (or anywhere between writing the marker and settling it) leaves the marker,
    which lists every key concerned; :func:`clear_interrupted_uploads` settles it from the database on
    the next upload. On PostgreSQL the transaction holds an advisory lock on the marker's ticket from
    before the marker exists until its COMMIT or rollback is done, so that the decision waits for a
    COMMIT the server may still be working on.
    """
    staged, retiring = list(staged or ()), list(retiring or ())
    state: dict[str, Publication | bool | None] = {"publication": None, "done": False}

    def before_commit(session_: Session) -> None:
        if state["done"] or session_.in_nested_transaction():  # not a savepoint's release
            return
        session_.flush()  # a database refusal now comes before any file moves
        publishing = staged if record is not None and inspect(record).persistent else []
        if not publishing and not retiring:
            return  # its row goes (deleted again, or its savepoint rolled back): the end deletes the files
        ticket = secrets.randbits(63)
        engine = session_.get_bind().engine
        if engine.dialect.name == "postgresql":
            session_.execute(select(func.pg_advisory_xact_lock(ticket)))
        state["publication"] = storage.publish(
            publishing, retiring=retiring, database=database_label(engine), ticket=ticket
        )

    def after_commit(session_: Session) -> None:
        if state["done"] or session_.in_nested_transaction():
            return
        state["done"] = True
        storage.discard(staged)  # only those whose row was not committed after all are still in tmp/
        for key in retiring:
            storage.delete(key)
        publication = state["publication"]
        if isinstance(publication, Publication):
            storage.settle(publication)

    def after_transaction_end(_session: Session, transaction: SessionTransaction) -> None:
        if state["done"] or transaction.parent is not None:
            return
        state["done"] = True  # rolled back, or closed without a commit
        publication = state["publication"]
        if isinstance(publication, Publication):
            storage.withdraw(publication)
        storage.discard(staged)

    target = session() if isinstance(session, scoped_session) else session  # events bind to a real Session
    event.listen(target, "before_commit", before_commit)  # one-shot by ``done``: listeners cannot be
    event.listen(target, "after_commit", after_commit)  # removed while the event is being dispatched
    event.listen(target, "after_transaction_end", after_transaction_end)


def clear_interrupted_uploads(session: Session, storage: Storage) -> list[str]:
    """Settle the markers of processes killed while committing an upload or a removal; the keys deleted.

    A dead process's marker lists the files it had moved to their keys just before its COMMIT, and
    those of the rows its transaction deleted (a replaced work, a removed file). One rule for each: the
    file stays if a committed :class:`EntryFile` names its key, else it goes (a new file whose row was
    not committed; an old one whose row's deletion was). Then the marker goes. The keys are that
    transaction's own (a key is made for one file and never reused), so no other row can name them;
    the transaction is over: on SQLite a dead process's COMMIT is done or never happened; on PostgreSQL the
    server may still be committing, so the publication is decided only once its advisory lock is free
    (else it is left for the next call). The check uses a connection of its own, so that it reads
    what is committed now, not a snapshot of the caller's transaction. Only publications to this
    database are decided: where no row names a key says nothing about a row in another database (two
    instances sharing an upload folder by mistake).
    """
    engine = session.get_bind().engine
    database = database_label(engine)
    publications = [p for p in storage.interrupted_publications() if p.database in (database, "")]
    if not publications:
        return []
    deleted: list[str] = []
    with engine.connect() as connection:
        for publication in publications:
            if publication.listed and connection.dialect.name == "postgresql":
                locked = connection.scalar(select(func.pg_try_advisory_xact_lock(publication.ticket)))
                if not locked:
                    connection.rollback()
                    continue  # its transaction is not over yet
            named = (
                set(
                    connection.scalars(
                        select(EntryFile.storage_key).where(EntryFile.storage_key.in_(publication.listed))
                    ).all()
                )
                | set(
                    connection.scalars(
                        select(EntryFile.thumbnail_key).where(EntryFile.thumbnail_key.in_(publication.listed))
                    ).all()
                )
                | set(
                    connection.scalars(
                        select(EntryFile.blind_key).where(EntryFile.blind_key.in_(publication.listed))
                    ).all()
                )
                | set(
                    connection.scalars(
                        select(ObjectionAttachment.storage_key).where(
                            ObjectionAttachment.storage_key.in_(publication.listed)
                        )
                    ).all()
                )
            )
            connection.rollback()  # releases the advisory lock
            unnamed = [key for key in publication.listed if key not in named]
            storage.withdraw(publication, unnamed)
            deleted += unnamed
    return deleted


def database_label(engine: Engine) -> str:
    """The database an engine reaches, as a publication's marker records it (no password; an SQLite
    file by its absolute path)."""
    url = engine.url.set(password=None)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        url = url.set(database=str(Path(url.database).resolve()))
    return url.render_as_string(hide_password=False)


def _probe_into(
    record: EntryFile, uploaded: StagedFile, storage: Storage, rubric: Rubric, staged: list[StagedFile]
) -> VideoInfo:
    assert rubric.entry is not None and rubric.entry.max_duration_seconds is not None
    try:
        info = probe_video(uploaded.path)
    except NotAVideo:
        raise ServiceError(_("This file is not a video that can be played.")) from None
    limit = rubric.entry.max_duration_seconds
    if info.duration_seconds > limit + DURATION_TOLERANCE_SECONDS:
        raise ServiceError(
            _(
                "The video lasts %(measured)s seconds; at most %(limit)d seconds are allowed.",
                measured=info.duration_seconds,
                limit=limit,
            )
        )
    record.duration_seconds = info.duration_seconds
    record.codec = info.codec
    record.width = info.width
    record.height = info.height
    _stage_thumbnail(
        record,
        storage,
        staged,
        lambda frame: make_thumbnail(uploaded.path, frame),
        subprocess.SubprocessError,  # a container ffmpeg can measure but not decode
        _("This file is not a video that can be played."),
    )
    return info


def _thumbnail_of_picture(record: EntryFile, uploaded: StagedFile, storage: Storage, staged: list[StagedFile]) -> None:
    """A poster's thumbnail (for the judges' lists and the gallery) and its size in pixels."""
    record.width, record.height = _stage_thumbnail(
        record,
        storage,
        staged,
        lambda frame: clean_copies.write_thumbnail(uploaded.path, frame),
        clean_copies.CannotClean,
        _("This image cannot be read."),
    )


def _stage_thumbnail(
    record: EntryFile,
    storage: Storage,
    staged: list[StagedFile],
    draw: Callable[[Path], T],
    unreadable: type[Exception],
    refusal: str,
) -> T:
    """Draw the file's thumbnail into a scratch JPEG (``draw``'s answer is returned) and stage it beside the
    upload as ``record``'s thumbnail. A file ``draw`` cannot read (it raises ``unreadable``) is refused
    with ``refusal``; the scratch file never outlives a failure."""
    frame = storage.temporary_path(".jpg")  # ffmpeg picks the image format from the suffix
    try:
        drawn = draw(frame)
    except unreadable:
        frame.unlink(missing_ok=True)
        raise ServiceError(refusal) from None
    except BaseException:
        frame.unlink(missing_ok=True)
        raise
    thumbnail = storage.stage_prepared(frame)
    staged.append(thumbnail)
    record.thumbnail_key = thumbnail.key
    return drawn


def check_image(uploaded: StagedFile) -> None:
    """Refuse an image too large to decode safely, or unreadable (entry files and objections' evidence)."""
    try:
        clean_copies.check_image(uploaded.path)
    except clean_copies.ImageTooLarge as refusal:
        size = _("%(width)d × %(height)d pixels", width=refusal.width, height=refusal.height) if refusal.width else ""
        raise ServiceError(
            _(
                "This image is too large (%(size)s): at most %(megapixels)d megapixels are accepted.",
                size=size or _("over the limit"),
                megapixels=clean_copies.MAX_IMAGE_PIXELS // 1_000_000,
            )
        ) from None
    except clean_copies.CannotClean:
        raise ServiceError(_("This image cannot be read.")) from None


def _make_blind_copy(
    record: EntryFile,
    uploaded: StagedFile,
    storage: Storage,
    kind: str,
    staged: list[StagedFile],
    codec: str | None = None,
) -> None:
    """Stage the copy a blind judge receives (no metadata: :mod:`judging.clean_copies`, and
    :func:`judging.media.strip_metadata` for videos) beside the upload, which stays as it was sent.

    A file that cannot be cleaned is refused: a blind contest never serves a judge what it could not clean.
    """
    scratch = storage.temporary_path(f".{kind}")
    try:
        if kind in file_types.VIDEO_KINDS:
            strip_metadata(uploaded.path, scratch, container=kind, codec=codec or "")
        else:
            clean_copies.write_clean_copy(kind, uploaded.path, scratch)
        cleaned = storage.stage_prepared(scratch)
    except subprocess.SubprocessError:
        scratch.unlink(missing_ok=True)
        raise ServiceError(_("This file is not a video that can be played.")) from None
    except clean_copies.CannotClean:
        scratch.unlink(missing_ok=True)
        raise ServiceError(
            _("This file cannot be read well enough to remove its metadata for blind review; please save it again.")
        ) from None
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise
    staged.append(cleaned)
    record.blind_key = cleaned.key
    record.blind_size_bytes = cleaned.size
    record.blind_sha256 = cleaned.sha256
