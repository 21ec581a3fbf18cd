"""Entries: drafts, submission under the rubric's quota, and the files attached to them.

The quota is held by the database: a submitted entry takes the lowest free slot ``1..quota`` of its
organisation in that contest, and ``(contest, organisation, slot)`` is unique, so two simultaneous
submissions cannot both take the last slot.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import PurePath
from typing import BinaryIO

from flask_babel import gettext as _
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction, scoped_session

from judging.media import NotAVideo, make_thumbnail, probe_video
from judging.models import Contest, Entry, EntryFile, EntryStatus, Organization, Phase, User, utcnow
from judging.rubric import Rubric
from judging.services import ServiceError, audit
from judging.services.contests import current_rubric
from judging.storage import LocalStorage, TooLarge

DURATION_TOLERANCE_SECONDS = Decimal("0.5")
"""Containers round a clip encoded to exactly the limit up by a few hundredths (DESIGN.md §8)."""


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
    if contest.phase is not Phase.OPEN:
        raise ServiceError(_("This contest is not open for entries."))
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
    if contest.phase is not Phase.OPEN:
        raise ServiceError(_("This contest is not open for entries."))
    if contest.submission_deadline and utcnow() > contest.submission_deadline:
        raise ServiceError(_("The submission deadline has passed."))
    if entry.status is not EntryStatus.DRAFT:
        raise ServiceError(_("Only a draft can be submitted."))
    if not any(f.purpose == "work" for f in entry.files):
        raise ServiceError(_("Please upload the work before submitting."))
    missing = [text for text in rubric.entry.declarations if text not in declarations]
    if missing:
        raise ServiceError(_("Please confirm: %(text)s", text=missing[0]))
    quota = rubric.entry.quota_per_organization
    taken = set(
        session.scalars(
            select(Entry.quota_slot).where(
                Entry.contest_id == contest.id,
                Entry.organization_id == entry.organization_id,
                Entry.quota_slot.is_not(None),
            )
        )
    )
    free = [slot for slot in range(1, quota + 1) if slot not in taken]
    if not free:
        raise ServiceError(_("Your organisation has already submitted %(n)d entries, the most allowed.", n=quota))
    entry.quota_slot = free[0]
    entry.declarations = list(rubric.entry.declarations)
    entry.status = EntryStatus.SUBMITTED
    entry.submitted_at = utcnow()
    try:
        session.flush()  # a concurrent submission that took the same slot fails here, on the unique index
    except IntegrityError:
        raise ServiceError(
            _("Your organisation has already submitted %(n)d entries, the most allowed.", n=quota)
        ) from None
    audit.record(
        session,
        actor,
        "entry.submit",
        object_type="entry",
        object_id=entry.id,
        contest_id=contest.id,
        data={"code": entry.code, "slot": entry.quota_slot},
    )


def entries_of_organization(session: Session, organization: Organization) -> list[Entry]:
    return list(
        session.scalars(select(Entry).where(Entry.organization_id == organization.id).order_by(Entry.id.desc()))
    )


def attach_work(
    session: Session,
    actor: User,
    entry: Entry,
    storage: LocalStorage,
    stream: BinaryIO,
    original_name: str,
    content_type: str,
) -> EntryFile:
    """Store the work of a draft entry: streamed, hashed, probed (videos) and given a thumbnail.

    Anything refused leaves no file and no row behind: the stored file is deleted before the
    refusal is raised, and the caller rolls back.
    """
    rubric = current_rubric(entry.contest)
    assert rubric.entry is not None
    if entry.status is not EntryStatus.DRAFT:
        raise ServiceError(_("Only a draft can be changed."))
    extension = PurePath(original_name).suffix.lower().lstrip(".")
    if extension not in rubric.entry.allowed_extensions:
        raise ServiceError(
            _(
                "Files of type %(ext)s are not accepted; allowed: %(allowed)s.",
                ext=extension or "?",
                allowed=", ".join(rubric.entry.allowed_extensions),
            )
        )
    limit = rubric.entry.max_file_mb * 1024 * 1024
    try:
        stored = storage.save(stream, limit=limit)
    except TooLarge:
        raise ServiceError(_("The file is larger than %(mb)d MB.", mb=rubric.entry.max_file_mb)) from None
    keys = [stored.key]
    try:
        if stored.size == 0:
            raise ServiceError(_("The file is empty."))
        record = EntryFile(
            purpose="work",
            storage_key=stored.key,
            original_name=PurePath(original_name.replace("\\", "/")).name[-255:],
            content_type=content_type,
            size_bytes=stored.size,
            sha256=stored.sha256,
        )
        if rubric.entry.media == "video":
            _probe_into(record, storage, rubric, keys)
        replaced = [f for f in entry.files if f.purpose == "work"]
        for old in replaced:
            entry.files.remove(old)
            session.delete(old)
        entry.files.append(record)
        session.flush()
    except BaseException:
        for key in keys:
            storage.delete(key)
        raise
    # The new files live only if the transaction commits; the replaced ones go only if it does.
    delete_files_after(
        session, storage, rollback=keys, commit=[k for f in replaced for k in (f.storage_key, f.thumbnail_key) if k]
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
            "size": record.size_bytes,
            "sha256": record.sha256,
            "duration": str(record.duration_seconds) if record.duration_seconds is not None else None,
        },
    )
    return record


def delete_files_after(
    session: Session, storage: LocalStorage, *, commit: list[str] | None = None, rollback: list[str] | None = None
) -> None:
    """When the transaction ends, delete the stored files of ``commit`` (on commit) or ``rollback``
    (on rollback of the outermost transaction): stored files and their rows appear and vanish together.
    """
    target = session() if isinstance(session, scoped_session) else session  # events bind to a real Session
    on_commit_keys, on_rollback_keys = list(commit or ()), list(rollback or ())
    pending = [True]  # one-shot: listeners cannot be removed while the event is being dispatched

    def after_commit(session_: Session) -> None:
        if pending[0] and not session_.in_nested_transaction():  # not a savepoint's release
            pending[0] = False
            for key in on_commit_keys:
                storage.delete(key)

    def after_rollback(_session: Session, previous: SessionTransaction) -> None:
        if pending[0] and previous.parent is None:  # the whole transaction, not a savepoint
            pending[0] = False
            for key in on_rollback_keys:
                storage.delete(key)

    event.listen(target, "after_commit", after_commit)
    event.listen(target, "after_soft_rollback", after_rollback)


def _probe_into(record: EntryFile, storage: LocalStorage, rubric: Rubric, keys: list[str]) -> None:
    assert rubric.entry is not None and rubric.entry.max_duration_seconds is not None
    path = storage.path(record.storage_key)
    try:
        info = probe_video(path)
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
    thumbnail_key = storage.new_key()
    thumbnail_path = storage.path(thumbnail_key)
    thumbnail_path.parent.mkdir(parents=True, exist_ok=True)
    keys.append(thumbnail_key)
    make_thumbnail(path, thumbnail_path.with_suffix(".jpg"))
    thumbnail_path.with_suffix(".jpg").replace(thumbnail_path)
    record.thumbnail_key = thumbnail_key
