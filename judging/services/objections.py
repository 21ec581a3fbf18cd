"""Objections filed by anyone during the public notice (公示), and the organisers' answers to them.

An objection concerns a listed award holder and gives a reason; it gets a reference number. Upholding
one withdraws the snapshot and reopens review (:func:`publication.reopen_review`).
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from judging.models import (
    Objection,
    ObjectionStatus,
    ResultSnapshot,
    SnapshotStatus,
    User,
    utcnow,
)
from judging.services import NotFound, ServiceError, audit
from judging.services.certificates import random_code
from judging.services.contests import rubric_of
from judging.services.publication import reopen_review
from judging.services.snapshots import objection_subjects, payload_of

NAME_MAX = 100


CONTACT_MAX = 200


REASON_MIN = 10


REASON_MAX = 4000


def open_for_objections(snapshot: ResultSnapshot, now: datetime | None = None) -> bool:
    """Whether the public can still object: the result is frozen and its notice period has not ended."""
    return snapshot.status is SnapshotStatus.FROZEN and (now or utcnow()) < snapshot.publicity_ends_at


def file_objection(
    session: Session,
    snapshot: ResultSnapshot,
    *,
    name: str,
    contact: str,
    subject: str,
    reason: str,
    now: datetime | None = None,
) -> Objection:
    """Store an objection from anyone against a result on notice; returns it with its reference number."""
    if not open_for_objections(snapshot, now):
        raise ServiceError(_("Objections can be filed only while the result is on public notice."))
    name, contact, subject, reason = name.strip(), contact.strip(), subject.strip(), reason.strip()
    problems = []
    if not name or len(name) > NAME_MAX:
        problems.append(_("Please give your name or your organisation's name (at most %(n)d characters).", n=NAME_MAX))
    if not contact or len(contact) > CONTACT_MAX:
        problems.append(
            _("Please give a telephone number or e-mail address (at most %(n)d characters).", n=CONTACT_MAX)
        )
    allowed = {code for code, _label in objection_subjects(payload_of(snapshot))}
    if subject not in allowed:
        problems.append(_("Please choose the award the objection concerns from the list."))
    if not REASON_MIN <= len(reason) <= REASON_MAX:
        problems.append(_("Please state the reason in %(min)d to %(max)d characters.", min=REASON_MIN, max=REASON_MAX))
    if problems:
        raise ServiceError(" ".join(problems))
    prefix = rubric_of(snapshot.rubric_version).contest.entry_code_prefix
    objection = Objection(
        snapshot=snapshot,
        reference=f"{prefix}-{random_code(2)}",
        name=name,
        contact=contact,
        subject=subject,
        reason=reason,
        filed_at=now,
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


def get_objection(session: Session, objection_id: int) -> Objection:
    objection = session.get(Objection, objection_id)
    if objection is None:
        raise NotFound(_("No such objection."))
    return objection


def answer_objection(session: Session, actor: User, objection: Objection, *, uphold: bool, answer: str) -> None:
    """Record the organiser's answer. Upholding reopens review (withdrawing the result on notice)."""
    answer = answer.strip()
    if not answer:
        raise ServiceError(_("Please write the answer to the objection; it is kept on record."))
    if objection.status is not ObjectionStatus.PENDING:
        raise ServiceError(_("This objection has already been answered."))
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
    if uphold and objection.snapshot.status is SnapshotStatus.FROZEN:
        reopen_review(
            session,
            actor,
            objection.snapshot,
            _("Objection %(reference)s upheld: %(answer)s", reference=objection.reference, answer=answer),
        )
