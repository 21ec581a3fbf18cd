"""Objections filed by anyone during the public notice (公示), and the organisers' answers to them.

An objection concerns a listed award holder and gives a reason; it gets a reference number. Upholding
one withdraws the snapshot and reopens review (:func:`publication.reopen_review`).
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from datetime import datetime
from typing import IO

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from judging import file_types
from judging.models import (
    Objection,
    ObjectionAttachment,
    ObjectionStatus,
    ResultSnapshot,
    User,
    utcnow,
)
from judging.services import NotFound, ServiceError, audit
from judging.services.certificates import random_code
from judging.services.contests import allowed, require, rubric_of
from judging.services.entry_files import check_image, files_follow_transaction
from judging.services.publication import reopen_review
from judging.services.snapshots import objection_subjects, payload_of
from judging.storage import StagedFile, Storage, TooLarge
from judging.workflow import Action

NAME_MAX = 100


CONTACT_MAX = 200


REASON_MIN = 10


REASON_MAX = 4000


OBJECTIONS_PER_CLIENT = 3

ATTACHMENT_KINDS = frozenset({"pdf", "jpg", "png", "webp"})
"""Evidence is accepted as a PDF or an image, recognised by its content, never by its name."""
MAX_ATTACHMENTS = 3
ATTACHMENT_MB = 10

Upload = tuple[IO[bytes], str]
"""A file sent with an objection: its stream and the name it was sent under."""
"""Objections one client address may file against one result: each blocks publication until answered."""


def open_for_objections(snapshot: ResultSnapshot, now: datetime | None = None) -> bool:
    """Whether the public can still object: the result is frozen and its notice period has not ended."""
    return allowed(Action.FILE_OBJECTIONS, snapshot.contest, snapshot, now)


def file_objection(
    session: Session,
    snapshot: ResultSnapshot,
    *,
    name: str,
    contact: str,
    subject: str,
    reason: str,
    client: str = "",
    now: datetime | None = None,
    attachments: Sequence[Upload] = (),
    storage: Storage | None = None,
) -> Objection:
    """Store an objection from anyone against a result on notice; returns it with its reference number.

    The same objection (same award, same reason once spaces and case are set aside) while an earlier one
    is still pending is folded into it: the earlier one is returned, its ``repeats`` counted, so the
    organisers answer it once. A ``client`` address may file at most :data:`OBJECTIONS_PER_CLIENT`
    objections against one result: each blocks publication until answered.
    """
    require(Action.FILE_OBJECTIONS, snapshot.contest, snapshot, now)
    name, contact, subject, reason = name.strip(), contact.strip(), subject.strip(), reason.strip()
    problems = []
    if not name or len(name) > NAME_MAX:
        problems.append(_("Please give your name or your organisation's name (at most %(n)d characters).", n=NAME_MAX))
    if not contact or len(contact) > CONTACT_MAX:
        problems.append(
            _("Please give a telephone number or e-mail address (at most %(n)d characters).", n=CONTACT_MAX)
        )
    subjects = {code for code, _label in objection_subjects(payload_of(snapshot))}
    if subject not in subjects:
        problems.append(_("Please choose the award the objection concerns from the list."))
    if not REASON_MIN <= len(reason) <= REASON_MAX:
        problems.append(_("Please state the reason in %(min)d to %(max)d characters.", min=REASON_MIN, max=REASON_MAX))
    if len(attachments) > MAX_ATTACHMENTS:
        problems.append(_("Please attach at most %(n)d files.", n=MAX_ATTACHMENTS))
    if problems:
        raise ServiceError(" ".join(problems))
    if attachments and storage is None:
        raise ValueError("attachments need a storage")
    staged = _stage_evidence(attachments, storage) if storage is not None else []
    try:
        objection = _file_or_fold(session, snapshot, name, contact, subject, reason, client, now)
        records = [
            ObjectionAttachment(
                objection=objection,
                storage_key=file.key,
                original_name=file_types.safe_file_name(sent_name, kind),
                content_type=file_types.MEDIA_TYPES[kind],
                size_bytes=file.size,
                sha256=file.sha256,
            )
            for file, sent_name, kind in staged
        ]
        session.add_all(records)
        session.flush()
    except BaseException:
        if storage is not None:
            storage.discard([file for file, _name, _kind in staged])
        raise
    for record, (file, _sent_name, _kind) in zip(records, staged, strict=True):
        assert storage is not None
        files_follow_transaction(session, storage, record=record, staged=[file])
    if records:
        audit.record(
            session,
            None,
            "objection.evidence",
            object_type="objection",
            object_id=objection.id,
            contest_id=snapshot.contest_id,
            data={"files": [{"name": r.original_name, "size": r.size_bytes, "sha256": r.sha256} for r in records]},
        )
    return objection


def _stage_evidence(attachments: Sequence[Upload], storage: Storage) -> list[tuple[StagedFile, str, str]]:
    """Each file copied aside and recognised by its content (a PDF or an image of sane size); on any refusal
    every file staged so far is deleted and the refusal names the file."""
    staged: list[tuple[StagedFile, str, str]] = []
    try:
        for stream, sent_name in attachments:
            shown = file_types.safe_file_name(sent_name, None)
            try:
                file = storage.stage(stream, limit=ATTACHMENT_MB * 1024 * 1024)
            except TooLarge:
                raise ServiceError(_("“%(name)s” is larger than %(mb)d MB.", name=shown, mb=ATTACHMENT_MB)) from None
            staged.append((file, sent_name, ""))
            kind = file_types.detect_kind(file.path)
            if kind not in ATTACHMENT_KINDS:
                raise ServiceError(
                    _(
                        "“%(name)s” is not a PDF or an image (JPEG, PNG or WebP): evidence is accepted in these "
                        "forms only.",
                        name=shown,
                    )
                )
            if kind in file_types.IMAGE_KINDS:
                check_image(file)
            staged[-1] = (file, sent_name, kind)
    except BaseException:
        storage.discard([file for file, _name, _kind in staged])
        raise
    return staged


def _file_or_fold(
    session: Session,
    snapshot: ResultSnapshot,
    name: str,
    contact: str,
    subject: str,
    reason: str,
    client: str,
    now: datetime | None,
) -> Objection:
    """A new objection, or the same pending one again (its ``repeats`` counted)."""
    earlier = _same_pending_objection(session, snapshot, subject, reason)
    if earlier is not None:
        earlier.repeats += 1
        session.flush()
        return earlier
    filed_here = session.scalar(
        select(func.count(Objection.id)).where(Objection.snapshot_id == snapshot.id, Objection.client == client)
    )
    if (filed_here or 0) >= OBJECTIONS_PER_CLIENT:
        raise ServiceError(
            _(
                "%(n)d objections against this result have already been filed from your address, the most one "
                "address may file. The organisers answer each of them; please contact them with a reference "
                "number to add to an objection.",
                n=OBJECTIONS_PER_CLIENT,
            )
        )
    prefix = rubric_of(snapshot.rubric_version).contest.entry_code_prefix
    objection = Objection(
        snapshot=snapshot,
        reference=f"{prefix}-{random_code(2)}",
        name=name,
        contact=contact,
        subject=subject,
        reason=reason,
        filed_at=now,
        client=client[:64],
    )
    session.add(objection)
    session.flush()
    audit.record(
        session,
        None,
        "objection.file",
        object_type="objection",
        object_id=objection.id,
        contest_id=snapshot.contest_id,
        data={"reference": objection.reference, "snapshot": snapshot.number, "subject": subject},
    )
    return objection


def _folded(reason: str) -> str:
    return " ".join(reason.split()).casefold()


def _same_pending_objection(session: Session, snapshot: ResultSnapshot, subject: str, reason: str) -> Objection | None:
    pending = session.scalars(
        select(Objection).where(
            Objection.snapshot_id == snapshot.id,
            Objection.subject == subject,
            Objection.status == ObjectionStatus.PENDING,
        )
    )
    folded = _folded(reason)
    return next((objection for objection in pending if _folded(objection.reason) == folded), None)


def _folded_contact(contact: str) -> str:
    """A contact as people retype it: case, spaces, dashes and brackets do not matter (138-0000 0000)."""
    return "".join(ch for ch in contact.casefold() if ch.isalnum() or ch in "@._+")


def track_objection(session: Session, reference: str, contact: str) -> Objection:
    """The objection with this reference number, for whoever gives the contact it was filed with.

    A wrong reference, a wrong contact or both get the same answer (NotFound, one message), so the page
    cannot be used to learn which references exist; the web layer rate-limits the attempts.
    """
    not_found = NotFound(
        _("No objection matches this reference number and contact. Check both as given when the objection was filed.")
    )
    wanted = "".join(reference.split()).upper()
    given = _folded_contact(contact)
    if not wanted or not given or len(wanted) > 32 or len(contact) > CONTACT_MAX:
        raise not_found
    objection = session.scalar(select(Objection).where(Objection.reference == wanted))
    on_record = _folded_contact(objection.contact) if objection is not None else "\0"
    if not hmac.compare_digest(on_record.encode(), given.encode()) or objection is None:
        raise not_found
    return objection


def get_objection(session: Session, objection_id: int) -> Objection:
    objection = session.get(Objection, objection_id)
    if objection is None:
        raise NotFound(_("No such objection."))
    return objection


def answer_objections(
    session: Session, actor: User, snapshot: ResultSnapshot, objection_ids: list[int], *, uphold: bool, answer: str
) -> list[Objection]:
    """Give several pending objections against one result the same answer (e.g. the same complaint filed
    by several people); upholding reopens review once. All or none: one that is not pending refuses all."""
    if not objection_ids:
        raise ServiceError(_("Please tick the objections to answer."))
    chosen = list(
        session.scalars(
            select(Objection)
            .where(Objection.snapshot_id == snapshot.id, Objection.id.in_(objection_ids))
            .order_by(Objection.id)
        )
    )
    if len(chosen) != len(set(objection_ids)):
        raise NotFound(_("No such objection."))
    for objection in chosen:
        answer_objection(session, actor, objection, uphold=uphold, answer=answer)
    return chosen


def answer_objection(session: Session, actor: User, objection: Objection, *, uphold: bool, answer: str) -> None:
    """Record the organiser's answer. Upholding reopens review (withdrawing the result on notice)."""
    answer = answer.strip()
    if not answer:
        raise ServiceError(_("Please write the answer to the objection; it is kept on record."))
    if objection.status is not ObjectionStatus.PENDING:
        raise ServiceError(_("Objection %(reference)s has already been answered.", reference=objection.reference))
    objection.status = ObjectionStatus.UPHELD if uphold else ObjectionStatus.REJECTED
    objection.answer = answer
    objection.answered_at = utcnow()
    objection.answered_by_id = actor.id
    audit.record(
        session,
        actor,
        "objection.answer",
        object_type="objection",
        object_id=objection.id,
        contest_id=objection.snapshot.contest_id,
        data={"reference": objection.reference, "status": objection.status.value, "answer": answer},
    )
    if uphold and allowed(Action.REOPEN_REVIEW, objection.snapshot.contest, objection.snapshot):
        reopen_review(
            session,
            actor,
            objection.snapshot,
            _("Objection %(reference)s upheld: %(answer)s", reference=objection.reference, answer=answer),
        )
