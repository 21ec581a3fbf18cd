"""Entries: drafts, submission under the rubric's quota, and the files attached to them.

The quota is held by the database: a submitted entry takes the lowest free slot ``1..quota`` of its
organisation in that contest, and ``(contest, organisation, slot)`` is unique, so two simultaneous
submissions cannot both take the last slot.
"""

from __future__ import annotations

import secrets
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import Engine, event, func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session, SessionTransaction, scoped_session

from judging import file_types
from judging.media import NotAVideo, VideoInfo, make_thumbnail, probe_video, strip_metadata
from judging.models import Contest, Entry, EntryFile, EntryStatus, Organization, Phase, User, utcnow
from judging.rubric import Rubric
from judging.services import NotFound, ServiceError, audit
from judging.services.contests import current_rubric, results_frozen
from judging.storage import LocalStorage, Publication, StagedFile, TooLarge

DURATION_TOLERANCE_SECONDS = Decimal("0.5")
"""Containers round a clip encoded to exactly the limit up by a few hundredths (DESIGN.md §8)."""
MAX_IMAGES = 20
"""Images an entry (an exemplary case) may carry beside its document."""


class FileTooLarge(ServiceError):
    """The upload is over the rubric's ``max_file_mb``."""


def show_deadline(contest: Contest) -> str:
    """The submission deadline as entrants read it: in the display time zone (Asia/Shanghai), with its name."""
    if contest.submission_deadline is None:
        return ""
    return format_datetime(contest.submission_deadline, "yyyy-MM-dd HH:mm (zzzz)")


def is_open_for_entries(contest: Contest) -> bool:
    """Open phase, and the submission deadline (if any) not yet passed."""
    return contest.phase is Phase.OPEN and (
        contest.submission_deadline is None or utcnow() <= contest.submission_deadline
    )


def _refuse_when_closed(contest: Contest) -> None:
    """Refuse any change to entries outside the open phase or after the deadline, naming the deadline."""
    if contest.phase is not Phase.OPEN:
        raise ServiceError(_("This contest is not open for entries."))
    if contest.submission_deadline and utcnow() > contest.submission_deadline:
        raise ServiceError(_("The submission deadline (%(deadline)s) has passed.", deadline=show_deadline(contest)))


def _require_own(actor: User, entry: Entry) -> None:
    # Another organisation's entry does not exist as far as this actor knows; nor does a contestant's
    # judged task of a skills contest, which the organisers create and only the panel scores.
    if actor.organization_id is None or actor.organization_id != entry.organization_id or entry.contestant_id:
        raise NotFound(_("There is no such entry."))


def _require_own_draft(actor: User, entry: Entry) -> None:
    _require_own(actor, entry)
    if entry.status is not EntryStatus.DRAFT:
        raise ServiceError(_("Only a draft can be changed."))


def next_entry_code(session: Session, contest: Contest, rubric: Rubric) -> str:
    """The next blind code of a contest, e.g. ``MV-007``: a prefix and a running number."""
    count = session.scalar(select(func.count(Entry.id)).where(Entry.contest_id == contest.id)) or 0
    return f"{rubric.contest.entry_code_prefix}-{count + 1:03d}"


def may_enter(rubric: Rubric, organization: Organization) -> bool:
    """Whether an organisation's kind is among the rubric's ``entry.entrant_kinds`` (any when empty)."""
    if rubric.entry is None:
        return False
    kinds = rubric.entry.entrant_kinds
    return not kinds or organization.kind.value in kinds


def create_draft(
    session: Session,
    actor: User,
    contest: Contest,
    *,
    title: str,
    summary: str = "",
    fields: dict[str, object] | None = None,
    category: str | None = None,
) -> Entry:
    """Start a draft entry for the actor's organisation while the contest is open."""
    rubric = current_rubric(contest)
    organization = actor.organization
    if organization is None or not may_enter(rubric, organization):
        raise ServiceError(_("Your organisation cannot enter this contest."))
    _refuse_when_closed(contest)
    if category is not None and category not in {c.key for c in rubric.categories}:
        raise ServiceError(_("Unknown category."))
    entry = Entry(
        contest=contest,
        organization=organization,
        code=next_entry_code(session, contest, rubric),
        category=category,
        title=title.strip(),
        summary=summary.strip(),
        fields=dict(fields or {}),
        declarations=[],
        status=EntryStatus.DRAFT,
        created_by_id=actor.id,
    )
    session.add(entry)
    session.flush()
    audit.record(
        session,
        actor,
        "entry.create",
        object_type="entry",
        object_id=entry.id,
        contest_id=contest.id,
        data={"code": entry.code, "title": entry.title},
    )
    return entry


def submit_entry(session: Session, actor: User, entry: Entry, declarations: list[str]) -> None:
    """Submit a draft: it must have its work file and every declaration ticked, within the quota."""
    contest = entry.contest
    rubric = current_rubric(contest)
    assert rubric.entry is not None
    _require_own(actor, entry)
    _refuse_when_closed(contest)
    if entry.status is not EntryStatus.DRAFT:
        raise ServiceError(_("Only a draft can be submitted."))
    if not any(f.purpose in ("work", "image") for f in entry.files):  # a case may be told in pictures alone
        raise ServiceError(_("Please upload the work before submitting."))
    missing = [text for text in rubric.entry.declarations if text not in declarations]
    if missing:
        raise ServiceError(_("Please confirm: %(text)s", text=missing[0]))
    quota = rubric.entry.quota_per_organization
    refusal = _("Your organisation has already submitted %(n)d entries, the most allowed.", n=quota)
    entry.quota_slot = _lowest_free_slot(
        session,
        Entry.quota_slot,
        (Entry.contest_id == contest.id, Entry.organization_id == entry.organization_id),
        quota,
        refusal,
    )
    entry.declarations = list(rubric.entry.declarations)
    entry.status = EntryStatus.SUBMITTED
    entry.submitted_at = utcnow()
    _flush_holding_slot(session, refusal)
    audit.record(
        session,
        actor,
        "entry.submit",
        object_type="entry",
        object_id=entry.id,
        contest_id=contest.id,
        data={"code": entry.code, "slot": entry.quota_slot},
    )


def _lowest_free_slot(
    session: Session, slot: InstrumentedAttribute[int | None], holders: tuple, quota: int, refusal: str
) -> int:
    """The lowest of the slots ``1..quota`` that no entry selected by ``holders`` holds yet; a
    :class:`ServiceError` with ``refusal`` when all are taken."""
    taken = set(session.scalars(select(slot).where(*holders, slot.is_not(None))))
    for number in range(1, quota + 1):
        if number not in taken:
            return number
    raise ServiceError(refusal)


def _flush_holding_slot(session: Session, refusal: str) -> None:
    """Write a slot just taken. A concurrent request that took the same slot fails here, on the unique
    index that holds the quota, and gets the same refusal as if it had found no free slot."""
    try:
        session.flush()
    except IntegrityError:
        raise ServiceError(refusal) from None


def entries_of_organization(session: Session, organization: Organization) -> list[Entry]:
    return list(
        session.scalars(
            select(Entry)
            .where(Entry.organization_id == organization.id, Entry.contestant_id.is_(None))
            .order_by(Entry.id.desc())
        )
    )


def attach_file(
    session: Session,
    actor: User,
    entry: Entry,
    storage: LocalStorage,
    stream: BinaryIO,
    original_name: str,
) -> EntryFile:
    """Store a file of a draft entry: streamed, hashed, its type checked by content, probed (videos).

    The kind is read from the file's first bytes (:mod:`judging.file_types`), never from its name or
    the browser's content type. A video (or a case's document) is the entry's ``work`` and replaces
    the previous one; a case's JPEG or PNG is added as an ``image``. A video is stored without its
    container metadata (a blind judge must not find the entrant's name in its tags), given a
    thumbnail and refused past ``max_duration_seconds`` with its measured duration.

    The files (the upload or its copy without metadata, and the thumbnail) stay in the storage's
    ``tmp/`` while they are checked and worked on, and reach their keys only when the transaction
    commits (:func:`files_follow_transaction`). Anything refused leaves no file and no row behind: the
    staged files are deleted before the refusal is raised, and the caller rolls back.
    """
    rubric = current_rubric(entry.contest)
    assert rubric.entry is not None
    _require_own_draft(actor, entry)
    _refuse_when_closed(entry.contest)
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
        record = EntryFile(
            purpose=purpose,
            storage_key=uploaded.key,
            original_name=file_types.safe_file_name(original_name, kind),
            content_type=file_types.MEDIA_TYPES[kind],
            size_bytes=uploaded.size,
            sha256=uploaded.sha256,
        )
        if rubric.entry.media == "video":
            info = _probe_into(record, uploaded, storage, rubric, staged)
            if info.identifying_tags:  # copying every frame of a 1 GiB file only when a tag could name someone
                _store_without_metadata(record, uploaded, storage, kind, staged)
        if purpose == "image" and sum(1 for f in entry.files if f.purpose == "image") >= MAX_IMAGES:
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
        retiring=[k for f in replaced for k in (f.storage_key, f.thumbnail_key) if k],
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
            "duration": str(record.duration_seconds) if record.duration_seconds is not None else None,
        },
    )
    return record


def attach_work(
    session: Session,
    actor: User,
    entry: Entry,
    storage: LocalStorage,
    stream: BinaryIO,
    original_name: str,
    content_type: str = "",
) -> EntryFile:
    """Store the work of a draft entry (see :func:`attach_file`); ``content_type`` from the browser is
    ignored: the stored type is the one read from the content.
    """
    return attach_file(session, actor, entry, storage, stream, original_name)


def remove_file(session: Session, actor: User, entry_file: EntryFile, storage: LocalStorage) -> None:
    """Remove a file from a draft entry; the stored file goes when the transaction commits."""
    entry = entry_file.entry
    _require_own_draft(actor, entry)
    _refuse_when_closed(entry.contest)
    keys = [k for k in (entry_file.storage_key, entry_file.thumbnail_key) if k]
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
    storage: LocalStorage,
    *,
    record: EntryFile | None = None,
    staged: list[StagedFile] | None = None,
    retiring: list[str] | None = None,
) -> None:
    """Tie stored files to the transaction: ``record``'s ``staged`` files reach their keys as it commits,
    and the files of ``retiring`` (rows it deletes) go once it has; on a rollback the staged files go
    and the retiring ones stay. Stored files and their rows appear and vanish together.

    The files are published (:meth:`LocalStorage.publish`) from ``before_commit``, after the last flush,
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


def clear_interrupted_uploads(session: Session, storage: LocalStorage) -> list[str]:
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
            named = set(
                connection.scalars(
                    select(EntryFile.storage_key).where(EntryFile.storage_key.in_(publication.listed))
                ).all()
            ) | set(
                connection.scalars(
                    select(EntryFile.thumbnail_key).where(EntryFile.thumbnail_key.in_(publication.listed))
                ).all()
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
    record: EntryFile, uploaded: StagedFile, storage: LocalStorage, rubric: Rubric, staged: list[StagedFile]
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
    frame = storage.temporary_path(".jpg")  # ffmpeg picks the image format from the suffix
    try:
        make_thumbnail(uploaded.path, frame)
    except subprocess.SubprocessError:  # a container ffmpeg can measure but not decode
        frame.unlink(missing_ok=True)
        raise ServiceError(_("This file is not a video that can be played.")) from None
    except BaseException:
        frame.unlink(missing_ok=True)
        raise
    thumbnail = storage.stage_prepared(frame)
    staged.append(thumbnail)
    record.thumbnail_key = thumbnail.key
    return info


def _store_without_metadata(
    record: EntryFile, uploaded: StagedFile, storage: LocalStorage, kind: str, staged: list[StagedFile]
) -> None:
    """Replace the staged upload by a copy without container metadata; the record then describes the copy
    (its size and sha256 are those of what judges receive)."""
    scratch = storage.temporary_path(".mov" if kind == "mov" else ".mp4")
    try:
        strip_metadata(uploaded.path, scratch, container="mov" if kind == "mov" else "mp4")
        cleaned = storage.stage_prepared(scratch)
    except subprocess.SubprocessError:
        scratch.unlink(missing_ok=True)
        raise ServiceError(_("This file is not a video that can be played.")) from None
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise
    staged.append(cleaned)
    staged.remove(uploaded)
    storage.discard([uploaded])
    record.storage_key = cleaned.key
    record.size_bytes = cleaned.size
    record.sha256 = cleaned.sha256


def update_draft(
    session: Session,
    actor: User,
    entry: Entry,
    *,
    title: str,
    summary: str,
    fields: dict[str, object],
    category: str | None = None,
) -> None:
    """Change a draft's title, summary, rubric fields and category, before the deadline."""
    _require_own_draft(actor, entry)
    _refuse_when_closed(entry.contest)
    rubric = current_rubric(entry.contest)
    if category is not None and category not in {c.key for c in rubric.categories}:
        raise ServiceError(_("Unknown category."))
    before = {"title": entry.title, "category": entry.category}
    entry.title = title.strip()
    entry.summary = summary.strip()
    entry.fields = dict(fields)
    entry.category = category
    session.flush()
    audit.record(
        session,
        actor,
        "entry.update",
        object_type="entry",
        object_id=entry.id,
        contest_id=entry.contest_id,
        data={"before": before, "title": entry.title, "category": entry.category},
    )


def withdraw_entry(session: Session, actor: User, entry: Entry) -> None:
    """Withdraw a draft, submitted or nominated entry before the deadline; its quota slot (and any
    nomination slot) is freed, so the organisation may submit another."""
    _require_own(actor, entry)
    _refuse_when_closed(entry.contest)
    if entry.status not in (EntryStatus.DRAFT, EntryStatus.SUBMITTED, EntryStatus.NOMINATED):
        raise ServiceError(_("This entry cannot be withdrawn."))
    previous = entry.status
    entry.status = EntryStatus.WITHDRAWN
    entry.quota_slot = None
    entry.nomination_slot = None
    entry.nominated_by_id = None
    entry.nominated_at = None
    session.flush()
    audit.record(
        session,
        actor,
        "entry.withdraw",
        object_type="entry",
        object_id=entry.id,
        contest_id=entry.contest_id,
        data={"code": entry.code, "from": previous.value},
    )


def get_own_entry(session: Session, actor: User, entry_id: int) -> Entry:
    """An entry of the actor's organisation, or NotFound."""
    entry = session.get(Entry, entry_id)
    if entry is None:
        raise NotFound(_("There is no such entry."))
    _require_own(actor, entry)
    return entry


def judgeable_statuses(rubric: Rubric) -> tuple[EntryStatus, ...]:
    """The statuses of entries that go before the panel: in a contest with a nomination round only
    nominated entries reach the city panel; otherwise submitted (and nominated) ones do."""
    if rubric.nomination is not None:
        return (EntryStatus.NOMINATED,)
    return (EntryStatus.SUBMITTED, EntryStatus.NOMINATED)


def judgeable_entries(session: Session, contest: Contest) -> list[Entry]:
    """The contest's entries that go before the panel (:func:`judgeable_statuses`), by code."""
    statuses = judgeable_statuses(current_rubric(contest))
    return list(
        session.scalars(
            select(Entry).where(Entry.contest_id == contest.id, Entry.status.in_(statuses)).order_by(Entry.code)
        )
    )


# Two tiers: the coordinator (an entrant account of the parent organisation) nominates its units' cases.


def units_entries(session: Session, coordinator: User, contest: Contest) -> list[Entry]:
    """The submitted, nominated and disqualified entries of the units under the coordinator's
    organisation (and of the organisation itself) in a contest with nomination."""
    organization_id = coordinator.organization_id
    if organization_id is None:
        return []
    unit_ids = select(Organization.id).where(Organization.parent_id == organization_id)
    return list(
        session.scalars(
            select(Entry)
            .where(
                Entry.contest_id == contest.id,
                Entry.contestant_id.is_(None),
                Entry.status.in_([EntryStatus.SUBMITTED, EntryStatus.NOMINATED, EntryStatus.DISQUALIFIED]),
                (Entry.organization_id.in_(unit_ids)) | (Entry.organization_id == organization_id),
            )
            .order_by(Entry.status.desc(), Entry.id)
        )
    )


def _require_coordinator(session: Session, coordinator: User, entry: Entry) -> Rubric:
    rubric = current_rubric(entry.contest)
    organization = entry.organization
    if rubric.nomination is None:
        raise ServiceError(_("This contest has no nomination round."))
    if coordinator.organization_id is None or coordinator.organization_id not in (
        organization.parent_id,
        organization.id,
    ):
        raise NotFound(_("There is no such entry."))
    return rubric


def nominate_entry(session: Session, coordinator: User, entry: Entry) -> None:
    """Nominate a unit's submitted case to the city round, within ``nomination.quota`` per coordinating
    organisation. The quota is held by the database: a nominated entry takes the lowest free slot
    ``1..quota`` and ``(contest, nominating organisation, slot)`` is unique."""
    rubric = _require_coordinator(session, coordinator, entry)
    assert rubric.nomination is not None
    _refuse_when_closed(entry.contest)
    if entry.status is not EntryStatus.SUBMITTED:
        raise ServiceError(_("Only a submitted entry can be nominated."))
    quota = rubric.nomination.quota
    refusal = _("Your organisation has already nominated %(n)d entries, the most allowed.", n=quota)
    entry.nomination_slot = _lowest_free_slot(
        session,
        Entry.nomination_slot,
        (Entry.contest_id == entry.contest_id, Entry.nominated_by_id == coordinator.organization_id),
        quota,
        refusal,
    )
    entry.nominated_by_id = coordinator.organization_id
    entry.status = EntryStatus.NOMINATED
    entry.nominated_at = utcnow()
    _flush_holding_slot(session, refusal)
    audit.record(
        session,
        coordinator,
        "entry.nominate",
        object_type="entry",
        object_id=entry.id,
        contest_id=entry.contest_id,
        data={"code": entry.code, "slot": entry.nomination_slot},
    )


def comment_on_entry(session: Session, coordinator: User, entry: Entry, comment: str) -> None:
    """The coordinator's comment on a unit's case (advice to the unit, or why it was not nominated);
    the unit reads it on the entry's page. An empty comment clears it."""
    _require_coordinator(session, coordinator, entry)
    entry.coordinator_comment = comment.strip()[:2000]
    session.flush()
    audit.record(
        session,
        coordinator,
        "entry.comment",
        object_type="entry",
        object_id=entry.id,
        contest_id=entry.contest_id,
        data={"code": entry.code, "comment": entry.coordinator_comment},
    )


def withdraw_nomination(session: Session, coordinator: User, entry: Entry) -> None:
    """Take a nomination back (the case stays submitted); frees the nomination slot."""
    _require_coordinator(session, coordinator, entry)
    _refuse_when_closed(entry.contest)
    if entry.status is not EntryStatus.NOMINATED or entry.nominated_by_id != coordinator.organization_id:
        raise ServiceError(_("This entry is not nominated by your organisation."))
    entry.status = EntryStatus.SUBMITTED
    entry.nominated_by_id = None
    entry.nomination_slot = None
    entry.nominated_at = None
    session.flush()
    audit.record(
        session,
        coordinator,
        "entry.nomination_withdraw",
        object_type="entry",
        object_id=entry.id,
        contest_id=entry.contest_id,
        data={"code": entry.code},
    )


# The organisers' view of entries.


def entries_of_contest(
    session: Session,
    contest: Contest,
    *,
    organization_id: int | None = None,
    status: EntryStatus | None = None,
    eligible: bool | None = None,
) -> list[Entry]:
    """Every entry of a contest, by code, optionally only those of one organisation, in one status, or
    that do (``eligible=True``) or do not (``False``) go before the panel (:func:`judgeable_statuses`)."""
    query = select(Entry).where(Entry.contest_id == contest.id)
    if organization_id is not None:
        query = query.where(Entry.organization_id == organization_id)
    if status is not None:
        query = query.where(Entry.status == status)
    if eligible is not None:
        judgeable = Entry.status.in_(judgeable_statuses(current_rubric(contest)))
        query = query.where(judgeable if eligible else ~judgeable)
    return list(session.scalars(query.order_by(Entry.code)))


def _refuse_once_results_frozen(contest: Contest) -> None:
    """What the frozen result rests on stays as it was: reopen review (or start a correction) first."""
    if results_frozen(contest):
        raise ServiceError(
            _("The results of this contest are frozen; reopen review (or start a correction) to change an entry.")
        )


def disqualify_entry(session: Session, actor: User, entry: Entry, reason: str) -> None:
    """Exclude a submitted or nominated entry, with the reason the entrant will read. The entry keeps its
    quota and nomination slots, so that reinstating it is always possible."""
    reason = reason.strip()
    if not reason:
        raise ServiceError(_("Please give the reason."))
    _refuse_once_results_frozen(entry.contest)
    if entry.status not in (EntryStatus.SUBMITTED, EntryStatus.NOMINATED):
        raise ServiceError(_("Only a submitted or nominated entry can be disqualified."))
    previous = entry.status
    entry.status = EntryStatus.DISQUALIFIED
    entry.status_reason = reason
    session.flush()
    audit.record(
        session,
        actor,
        "entry.disqualify",
        object_type="entry",
        object_id=entry.id,
        contest_id=entry.contest_id,
        data={"code": entry.code, "from": previous.value, "reason": reason},
    )


def reinstate_entry(session: Session, actor: User, entry: Entry, reason: str) -> None:
    """Undo a disqualification: the entry returns to nominated (if it holds a nomination) or submitted."""
    reason = reason.strip()
    if not reason:
        raise ServiceError(_("Please give the reason."))
    _refuse_once_results_frozen(entry.contest)
    if entry.status is not EntryStatus.DISQUALIFIED:
        raise ServiceError(_("Only a disqualified entry can be reinstated."))
    entry.status = EntryStatus.NOMINATED if entry.nomination_slot is not None else EntryStatus.SUBMITTED
    entry.status_reason = ""
    session.flush()
    audit.record(
        session,
        actor,
        "entry.reinstate",
        object_type="entry",
        object_id=entry.id,
        contest_id=entry.contest_id,
        data={"code": entry.code, "to": entry.status.value, "reason": reason},
    )
