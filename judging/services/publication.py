"""Publication: freezing results, the public notice (公示), the final publication and corrections.

The life of a result (DESIGN.md §4)::

    review --freeze--> publicity --publish--> published --start_correction--> review --freeze--> …
               ^            |
               +--reopen----+   (an upheld objection, or the organiser's decision; the snapshot is withdrawn)

What a snapshot holds is in :mod:`snapshots`; objections in :mod:`objections`; the certificates issued
at publication in :mod:`certificates`. While a contest is in publicity or published, sheets and part
scores cannot change (the judging and skills services refuse anything outside review).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from judging.models import (
    AuditEvent,
    Certificate,
    Contest,
    ObjectionStatus,
    ResultSnapshot,
    User,
    utcnow,
)
from judging.services import ServiceError, audit
from judging.services.certificates import issue_certificates
from judging.services.contests import require
from judging.services.snapshots import canonical_bytes, digest_of, latest_publication, snapshot_payload
from judging.workflow import Action, move_of, snapshot_move

MIN_PUBLICITY_DAYS = 1


MAX_PUBLICITY_DAYS = 60


def freeze(session: Session, actor: User, contest: Contest, publicity_days: int | None = None) -> ResultSnapshot:
    """Freeze the contest's results and put them on public notice for ``publicity_days`` days."""
    require(Action.FREEZE_RESULTS, contest)
    days = contest.publicity_days if publicity_days is None else publicity_days
    if not MIN_PUBLICITY_DAYS <= days <= MAX_PUBLICITY_DAYS:
        raise ServiceError(
            _(
                "The notice period must be between %(min)d and %(max)d days.",
                min=MIN_PUBLICITY_DAYS,
                max=MAX_PUBLICITY_DAYS,
            )
        )
    # The chain's head is part of what the digest covers: a copy of the list shows how long the log was.
    payload = snapshot_payload(session, contest) | {"audit_head": audit.chain_head(session).as_dict()}
    number = (
        session.scalar(select(func.max(ResultSnapshot.number)).where(ResultSnapshot.contest_id == contest.id)) or 0
    ) + 1
    published = latest_publication(session, contest)
    now = utcnow()
    version = contest.current_rubric
    snapshot = ResultSnapshot(
        contest=contest,
        number=number,
        rubric_version=version,
        rubric_sha256=version.sha256,
        payload=canonical_bytes(payload).decode("utf-8"),
        digest=digest_of(payload),
        status=snapshot_move(Action.FREEZE_RESULTS).target,
        frozen_at=now,
        frozen_by_id=actor.id,
        publicity_ends_at=now + timedelta(days=days),
        corrects=published,
        correction_reason=contest_correction_reason(session, contest) if published else "",
    )
    session.add(snapshot)
    if version.frozen_at is None:
        version.frozen_at = now
    contest.publicity_days = days
    contest.publicity_ends_at = snapshot.publicity_ends_at
    contest.phase = move_of(Action.FREEZE_RESULTS).target
    session.flush()
    audit.record(
        session,
        actor,
        "results.freeze",
        object_type="result_snapshot",
        object_id=snapshot.id,
        contest_id=contest.id,
        data={
            "number": number,
            "digest": snapshot.digest,
            "rubric_sha256": version.sha256,
            "publicity_ends_at": snapshot.publicity_ends_at.isoformat(),
            "corrects": published.number if published else None,
            "audit_head": payload["audit_head"],
        },
    )
    return snapshot


def contest_correction_reason(session: Session, contest: Contest) -> str:
    """The reason given when the correction now under way was started (from the audit log's last word)."""
    event = session.scalar(
        select(AuditEvent)
        .where(AuditEvent.contest_id == contest.id, AuditEvent.action == "results.correction")
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )
    return str(event.data.get("reason", "")) if event else ""


def reopen_review(session: Session, actor: User, snapshot: ResultSnapshot, reason: str) -> None:
    """Withdraw a result on notice and reopen review; the snapshot stays on record, marked withdrawn."""
    reason = reason.strip()
    if not reason:
        raise ServiceError(_("Please give the reason for reopening review."))
    contest = snapshot.contest
    require(Action.REOPEN_REVIEW, contest, snapshot)
    snapshot.status = snapshot_move(Action.REOPEN_REVIEW).target
    snapshot.withdrawn_at = utcnow()
    snapshot.withdrawn_reason = reason
    contest.phase = move_of(Action.REOPEN_REVIEW).target
    contest.publicity_ends_at = None
    audit.record(
        session,
        actor,
        "results.reopen",
        object_type="result_snapshot",
        object_id=snapshot.id,
        contest_id=contest.id,
        data={"number": snapshot.number, "digest": snapshot.digest, "reason": reason},
    )


def publish(
    session: Session, actor: User, snapshot: ResultSnapshot, *, now: datetime | None = None
) -> list[Certificate]:
    """Publish a result after its notice period, with no objection left unanswered; issue certificates."""
    now = now or utcnow()
    require(Action.PUBLISH_RESULTS, snapshot.contest, snapshot, now)
    pending = sum(1 for objection in snapshot.objections if objection.status is ObjectionStatus.PENDING)
    if pending:
        raise ServiceError(_("%(n)d objections are still unanswered; answer them before publishing.", n=pending))
    contest = snapshot.contest
    snapshot.status = snapshot_move(Action.PUBLISH_RESULTS).target
    snapshot.published_at = now
    snapshot.published_by_id = actor.id
    superseded = snapshot_move(Action.PUBLISH_RESULTS, corrected=True)
    if snapshot.corrects is not None and snapshot.corrects.status is superseded.source:
        snapshot.corrects.status = superseded.target
    contest.phase = move_of(Action.PUBLISH_RESULTS).target
    head = audit.chain_head(session)
    snapshot.published_chain_count, snapshot.published_chain_hash = head.count, head.hash
    session.flush()
    certificates = issue_certificates(session, snapshot)
    audit.record(
        session,
        actor,
        "results.publish",
        object_type="result_snapshot",
        object_id=snapshot.id,
        contest_id=contest.id,
        data={
            "number": snapshot.number,
            "digest": snapshot.digest,
            "certificates": len(certificates),
            "corrects": snapshot.corrects.number if snapshot.corrects else None,
            "audit_head": head.as_dict(),
        },
    )
    return certificates


def start_correction(session: Session, actor: User, contest: Contest, reason: str) -> None:
    """Reopen review of a published contest to correct it. The publication stays public and unchanged
    until the corrected result, linked to it, is frozen, noticed and published in its turn."""
    reason = reason.strip()
    if not reason:
        raise ServiceError(_("Please give the reason for the correction."))
    require(Action.START_CORRECTION, contest, latest_publication(session, contest))
    contest.phase = move_of(Action.START_CORRECTION).target
    audit.record(
        session,
        actor,
        "results.correction",
        object_type="contest",
        object_id=contest.id,
        contest_id=contest.id,
        data={"reason": reason},
    )
