"""Publication: freezing results, the public notice (公示) with objections, the final publication,
corrections, and the certificates issued with it.

The life of a result (DESIGN.md §4)::

    review --freeze--> publicity --publish--> published --start_correction--> review --freeze--> …
               ^            |
               +--reopen----+   (an upheld objection, or the organiser's decision; the snapshot is withdrawn)

A :class:`~judging.models.ResultSnapshot` holds the canonical JSON of everything the result rests on
(:func:`snapshot_payload`) and its sha256 digest. The payload is written once and never rewritten:
every page, export, certificate and ceremony programme reads the award list from it, so what was
published is what is shown, whatever happens to the live tables afterwards. While a contest is in
publicity or published, sheets and part scores cannot change (the judging and skills services refuse
anything outside review).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from judging.models import (
    AuditEvent,
    Certificate,
    Contest,
    Contestant,
    Entry,
    Objection,
    ObjectionStatus,
    Organization,
    OrganizationKind,
    Phase,
    ResultSnapshot,
    SnapshotStatus,
    User,
    utcnow,
)
from judging.rubric import Rubric
from judging.scoring.skills import judging_rubric
from judging.services import NotFound, ServiceError, audit
from judging.services.contests import current_rubric, rubric_of
from judging.services.results import compute_results, score_frames
from judging.services.skills import judged_parts_report, skills_results

PAYLOAD_FORMAT = 1
MIN_PUBLICITY_DAYS = 1
MAX_PUBLICITY_DAYS = 60
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
"""Crockford-like: no 0/O or 1/I/L to misread on a printed certificate."""

NAME_MAX = 100
CONTACT_MAX = 200
REASON_MIN = 10
REASON_MAX = 4000


# --- the canonical payload -------------------------------------------------------------------------


def canonical_bytes(payload: dict[str, Any]) -> bytes:
    """The one serialisation the digest is computed over: sorted keys, no whitespace, UTF-8."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def digest_of(payload: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(payload)).hexdigest()


def _text(value: object) -> str | None:
    """A cell as the payload stores it: numbers as exact decimal strings, missing values as None."""
    if value is None:
        return None
    if isinstance(value, float) and pd.isna(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def _rank(value: object) -> int | None:
    text = _text(value)
    return int(text) if text not in (None, "") else None


def _format_score(value: object, decimals: int) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    quantum = Decimal(1).scaleb(-decimals)
    return str(Decimal(str(value)).quantize(quantum))


def snapshot_payload(session: Session, contest: Contest) -> dict[str, Any]:
    """Everything a frozen result rests on, as plain JSON values (numbers as exact strings).

    Refuses (ServiceError) a contest whose results cannot be ranked yet, or whose judges still hold
    saved but unsubmitted sheets (a freeze would silently leave them out).
    """
    rubric = current_rubric(contest)
    head = {
        "format": PAYLOAD_FORMAT,
        "contest": {
            "slug": contest.slug,
            "title": contest.title,
            "edition": contest.edition,
            "kind": rubric.contest.kind,
            "ceremony": rubric.contest.ceremony,
            "issuer": rubric.contest.issuer or _organiser_name(session),
        },
        "rubric": {"version": contest.current_rubric.version, "sha256": contest.current_rubric.sha256},
    }
    if rubric.contest.kind == "skills":
        return head | _skills_payload(session, contest, rubric)
    return head | _work_payload(session, contest, rubric)


def _organiser_name(session: Session) -> str:
    name = session.scalar(
        select(Organization.name).where(Organization.kind == OrganizationKind.ORGANIZER).order_by(Organization.id)
    )
    return name or ""


def _work_payload(session: Session, contest: Contest, rubric: Rubric) -> dict[str, Any]:
    results = compute_results(session, contest)
    if results.sheets_not_counted:
        raise ServiceError(
            _(
                "%(n)d score sheets are saved but not submitted. Ask the judges to submit them (or take the "
                "judges off the panel) before freezing the results.",
                n=results.sheets_not_counted,
            )
        )
    if results.ranking is None:
        reason = "; ".join(results.problems) if results.problems else _("No submitted sheet yet.")
        raise ServiceError(_("There is no ranking to freeze: %(reason)s", reason=reason))
    decimals = results.ranking.decimals
    parent = aliased(Organization)
    parents = dict(
        session.execute(
            select(Entry.id, parent.name)
            .join(Organization, Entry.organization_id == Organization.id)
            .join(parent, Organization.parent_id == parent.id)
            .where(Entry.contest_id == contest.id)
        ).all()
    )
    criterion_keys = [criterion.key for criterion in rubric.criteria]
    sheets = [
        {
            "entry": str(row["entry"]),
            "judge": str(row["judge"]),
            "criterion": str(row["criterion"]),
            "score": _text(row["score"]),
        }
        for row in results.scores.to_dict("records")
    ]
    checks = [
        {
            "entry": str(row["entry"]),
            "judge": str(row["judge"]),
            "check": str(row["check"]),
            "passed": bool(row["passed"]),
        }
        for row in results.checks.to_dict("records")
    ]
    ranking = []
    for row in results.ranking.listing().to_dict("records"):
        code = str(row["entry"])
        line = results.entries.get(code)
        category = str(row.get("category") or "")
        ranking.append(
            {
                "rank": _rank(row["rank"]),
                "subject": code,
                "entry_id": line.id if line else None,
                "category": category,
                "category_label": results.category_label(category) if category else "",
                "title": line.title if line else "",
                "holder": line.organization if line else "",
                "organization": line.organization if line else "",
                "parent": parents.get(line.id, "") if line else "",
                "final_score": _format_score(row["final_score"], decimals),
                "award": str(row["award"] or ""),
                "n_sheets": int(row["n_sheets"]),
                "criteria": {key: _text(row.get(key)) for key in criterion_keys},
                "note": str(row.get("note") or ""),
            }
        )
    for code in results.unscored:
        line = results.entries[code]
        ranking.append(
            {
                "rank": None,
                "subject": code,
                "entry_id": line.id,
                "category": line.category,
                "category_label": results.category_label(line.category) if line.category else "",
                "title": line.title,
                "holder": line.organization,
                "organization": line.organization,
                "parent": parents.get(line.id, ""),
                "final_score": None,
                "award": "",
                "n_sheets": 0,
                "criteria": {key: None for key in criterion_keys},
                "note": "no submitted sheet",
            }
        )
    groups = [{"key": c.key, "label": c.label} for c in rubric.categories] or [{"key": "", "label": ""}]
    return {"decimals": decimals, "groups": groups, "sheets": sheets, "checks": checks, "ranking": ranking}


def _skills_payload(session: Session, contest: Contest, rubric: Rubric) -> dict[str, Any]:
    judged = judged_parts_report(session, contest)
    drafts = sum(progress.drafts for progress in judged.progress)
    if drafts:
        raise ServiceError(
            _(
                "%(n)d score sheets are saved but not submitted. Ask the judges to submit them (or take the "
                "judges off the panel) before freezing the results.",
                n=drafts,
            )
        )
    result = skills_results(session, contest, judged)
    if result.table.empty:
        raise ServiceError(_("There is no ranking to freeze: no contestant has a complete set of part scores."))
    decimals = result.decimals
    part_keys = [part.key for part in rubric.parts]
    level_labels = {level.key: level.label for level in rubric.levels}
    people = {c.number: c for c in session.scalars(select(Contestant).where(Contestant.contest_id == contest.id))}
    part_scores = [
        {
            "contestant": number,
            "part": score.part,
            "score": str(score.value),
            "time_used": score.time_used_seconds,
            "source": score.source,
        }
        for number, person in sorted(people.items())
        for score in sorted(person.part_scores, key=lambda s: s.part)
    ]
    ranking = []
    for row in result.table.to_dict("records"):
        number = str(row["contestant"])
        level = row.get("certificate")
        ranking.append(
            {
                "rank": _rank(row["rank"]),
                "subject": number,
                "entry_id": None,
                "category": "individual",
                "category_label": "",
                "title": "",
                "holder": str(row["name"]),
                "organization": str(row["organization"]),
                "parent": "",
                "final_score": _format_score(row["final_score"], decimals),
                "award": str(row.get("award") or ""),
                "parts": {key: _text(row.get(key)) for key in part_keys},
                "time_used": _rank(row.get("time_used")),
                "level": str(level) if level else "",
                "level_label": level_labels.get(str(level), str(level)) if level else "",
                "note": str(row.get("decided_by") or ""),
            }
        )
    # The reasons a contestant is not ranked are sentences in the organiser's language: they stay on the
    # live results page and out of the payload, whose digest must not depend on who froze it.
    for row in result.excluded.to_dict("records"):
        ranking.append(
            {
                "rank": None,
                "subject": str(row["contestant"]),
                "entry_id": None,
                "category": "individual",
                "category_label": "",
                "title": "",
                "holder": str(row["name"]),
                "organization": str(row["organization"]),
                "parent": "",
                "final_score": None,
                "award": "",
                "parts": {key: None for key in part_keys},
                "time_used": None,
                "level": "",
                "level_label": "",
                "note": "",
            }
        )
    collectives = []
    for row in result.collectives.to_dict("records"):
        collectives.append(
            {
                "rank": _rank(row["rank"]),
                "subject": "",
                "entry_id": None,
                "category": "collective",
                "category_label": rubric.collectives.name if rubric.collectives else "",
                "title": "",
                "holder": str(row["organization"]),
                "organization": str(row["organization"]),
                "parent": "",
                "final_score": _format_score(row["value"], decimals),
                "award": str(row.get("honoured") or ""),
                "contestants": int(row["contestants"]),
                "note": "",
            }
        )
    groups = [{"key": "collective", "label": rubric.collectives.name if rubric.collectives else ""}] * bool(
        rubric.collectives
    ) + [{"key": "individual", "label": ""}]
    judged_tasks = [
        {
            "contestant": task.contestant,
            "part": task.part,
            "code": task.code,
            "sheets": task.sheets,
            "panel_score": _text(task.panel_score),
            "score": _text(task.shown_score),
        }
        for _key, task in sorted(judged.tasks.items())
    ]
    sheets: list[dict[str, Any]] = []
    if judged.progress:
        scores, _checks = score_frames(session, contest, judging_rubric(rubric))
        sheets = [
            {
                "entry": str(row["entry"]),
                "judge": str(row["judge"]),
                "criterion": str(row["criterion"]),
                "score": _text(row["score"]),
            }
            for row in scores.to_dict("records")
        ]
    return {
        "decimals": decimals,
        "groups": groups,
        "part_scores": part_scores,
        "judged_tasks": judged_tasks,
        "sheets": sheets,
        "ranking": ranking,
        "collectives": collectives,
        "notes": list(result.notes),
    }


# --- reading a payload ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AwardRow:
    """One award holder of a frozen result, in award order: what lists, certificates and ceremonies show."""

    group: str
    group_label: str
    award: str
    rank: int | None
    subject: str
    """The entry code or contestant number ("" for a collective)."""
    title: str
    holder: str
    organization: str
    parent: str
    final_score: str | None
    entry_id: int | None
    level_label: str = ""


def award_group_label(key: str, label: str) -> str:
    """The heading of a group of awards: the rubric's category label, else a name for the group."""
    if label:
        return label
    return {"individual": _("Individual awards"), "collective": _("Outstanding collectives")}.get(key, "")


def payload_of(snapshot: ResultSnapshot) -> dict[str, Any]:
    return json.loads(snapshot.payload)


def snapshot_intact(snapshot: ResultSnapshot) -> bool:
    """Whether the stored payload still hashes to the stored digest."""
    return digest_of(payload_of(snapshot)) == snapshot.digest


def award_rows(payload: dict[str, Any]) -> list[AwardRow]:
    """The award holders grouped as the payload's groups are ordered (the rubric's categories, or the
    collectives then the individuals), each group in rank order."""
    rows = list(payload.get("collectives", [])) + list(payload["ranking"])
    awarded = [row for row in rows if row["award"]]
    order = {group["key"]: index for index, group in enumerate(payload["groups"])}
    awarded.sort(key=lambda row: (order.get(row["category"], len(order)), row["rank"] or 0, row["subject"]))
    return [
        AwardRow(
            group=row["category"],
            group_label=row.get("category_label", ""),
            award=row["award"],
            rank=row["rank"],
            subject=row["subject"],
            title=row.get("title", ""),
            holder=row["holder"],
            organization=row["organization"],
            parent=row.get("parent", ""),
            final_score=row["final_score"],
            entry_id=row.get("entry_id"),
            level_label=row.get("level_label", ""),
        )
        for row in awarded
    ]


def level_rows(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Contestants of a skills result who earned a skill-level certificate, in rank order."""
    return [row for row in payload["ranking"] if row.get("level")]


def objection_subjects(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """What an objection may concern: each award holder's code and a label (entries and contestants)."""
    return [
        (
            row.subject or row.holder,
            " · ".join(part for part in (row.subject, row.title or row.holder, row.award) if part),
        )
        for row in award_rows(payload)
    ]


# --- finding snapshots ---------------------------------------------------------------------------------


def snapshots_of(session: Session, contest: Contest) -> list[ResultSnapshot]:
    return list(
        session.scalars(
            select(ResultSnapshot).where(ResultSnapshot.contest_id == contest.id).order_by(ResultSnapshot.number)
        )
    )


def get_snapshot(session: Session, contest: Contest, number: int) -> ResultSnapshot:
    snapshot = session.scalar(
        select(ResultSnapshot).where(ResultSnapshot.contest_id == contest.id, ResultSnapshot.number == number)
    )
    if snapshot is None:
        raise NotFound(_("No such result."))
    return snapshot


def current_snapshot(session: Session, contest: Contest) -> ResultSnapshot | None:
    """The result the public sees now: the one on notice while in publicity, else the latest publication."""
    on_notice = session.scalar(
        select(ResultSnapshot).where(
            ResultSnapshot.contest_id == contest.id, ResultSnapshot.status == SnapshotStatus.FROZEN
        )
    )
    if on_notice is not None:
        return on_notice
    return latest_publication(session, contest)


def latest_publication(session: Session, contest: Contest) -> ResultSnapshot | None:
    return session.scalar(
        select(ResultSnapshot)
        .where(ResultSnapshot.contest_id == contest.id, ResultSnapshot.status == SnapshotStatus.PUBLISHED)
        .order_by(ResultSnapshot.number.desc())
        .limit(1)
    )


def correction_of(session: Session, snapshot: ResultSnapshot) -> ResultSnapshot | None:
    """The publication that corrected this one, if any."""
    return session.scalar(
        select(ResultSnapshot)
        .where(ResultSnapshot.corrects_id == snapshot.id, ResultSnapshot.status != SnapshotStatus.WITHDRAWN)
        .order_by(ResultSnapshot.number.desc())
        .limit(1)
    )


def has_gallery(contest: Contest) -> bool:
    """Whether the published result has works to show (a contest of works, not of skills)."""
    return current_rubric(contest).contest.kind == "work"


def open_for_objections(snapshot: ResultSnapshot, now: datetime | None = None) -> bool:
    """Whether the public can still object: the result is frozen and its notice period has not ended."""
    return snapshot.status is SnapshotStatus.FROZEN and (now or utcnow()) < snapshot.publicity_ends_at


def public_contests(session: Session) -> list[tuple[Contest, ResultSnapshot]]:
    """Each contest with a result the public may see, and that result, by edition then contest."""
    found = []
    for contest in session.scalars(select(Contest).order_by(Contest.edition.desc(), Contest.id)):
        snapshot = current_snapshot(session, contest)
        if snapshot is not None:
            found.append((contest, snapshot))
    return found


# --- the workflow --------------------------------------------------------------------------------------


def freeze(session: Session, actor: User, contest: Contest, publicity_days: int | None = None) -> ResultSnapshot:
    """Freeze the contest's results and put them on public notice for ``publicity_days`` days."""
    if contest.phase is not Phase.REVIEW:
        raise ServiceError(
            _("Results can be frozen only during review; the contest is in “%(phase)s”.", phase=contest.phase.value)
        )
    days = contest.publicity_days if publicity_days is None else publicity_days
    if not MIN_PUBLICITY_DAYS <= days <= MAX_PUBLICITY_DAYS:
        raise ServiceError(
            _(
                "The notice period must be between %(min)d and %(max)d days.",
                min=MIN_PUBLICITY_DAYS,
                max=MAX_PUBLICITY_DAYS,
            )
        )
    payload = snapshot_payload(session, contest)
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
        status=SnapshotStatus.FROZEN,
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
    contest.phase = Phase.PUBLICITY
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
    if snapshot.status is not SnapshotStatus.FROZEN:
        raise ServiceError(_("Only a result on public notice can be withdrawn."))
    contest = snapshot.contest
    snapshot.status = SnapshotStatus.WITHDRAWN
    snapshot.withdrawn_at = utcnow()
    snapshot.withdrawn_reason = reason
    contest.phase = Phase.REVIEW
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
    if snapshot.status is not SnapshotStatus.FROZEN:
        raise ServiceError(_("Only a result on public notice can be published."))
    if now < snapshot.publicity_ends_at:
        raise ServiceError(
            _("The public notice runs until %(end)s; publish after it ends.", end=_when(snapshot.publicity_ends_at))
        )
    pending = sum(1 for objection in snapshot.objections if objection.status is ObjectionStatus.PENDING)
    if pending:
        raise ServiceError(_("%(n)d objections are still unanswered; answer them before publishing.", n=pending))
    contest = snapshot.contest
    snapshot.status = SnapshotStatus.PUBLISHED
    snapshot.published_at = now
    snapshot.published_by_id = actor.id
    if snapshot.corrects is not None and snapshot.corrects.status is SnapshotStatus.PUBLISHED:
        snapshot.corrects.status = SnapshotStatus.SUPERSEDED
    contest.phase = Phase.PUBLISHED
    session.flush()
    certificates = _issue_certificates(session, snapshot)
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
        },
    )
    return certificates


def start_correction(session: Session, actor: User, contest: Contest, reason: str) -> None:
    """Reopen review of a published contest to correct it. The publication stays public and unchanged
    until the corrected result, linked to it, is frozen, noticed and published in its turn."""
    reason = reason.strip()
    if not reason:
        raise ServiceError(_("Please give the reason for the correction."))
    if contest.phase is not Phase.PUBLISHED or latest_publication(session, contest) is None:
        raise ServiceError(_("Only published results can be corrected."))
    contest.phase = Phase.REVIEW
    audit.record(
        session,
        actor,
        "results.correction",
        object_type="contest",
        object_id=contest.id,
        contest_id=contest.id,
        data={"reason": reason},
    )


def _when(moment: datetime) -> str:
    return format_datetime(moment, "yyyy-MM-dd HH:mm (zzzz)")


# --- objections ----------------------------------------------------------------------------------------


def _random_code(groups: int, size: int = 4) -> str:
    return "-".join("".join(secrets.choice(CODE_ALPHABET) for _ in range(size)) for _ in range(groups))


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
        reference=f"{prefix}-{_random_code(2)}",
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


# --- certificates --------------------------------------------------------------------------------------


def _issue_certificates(session: Session, snapshot: ResultSnapshot) -> list[Certificate]:
    payload = payload_of(snapshot)
    rubric = rubric_of(snapshot.rubric_version)
    contest = snapshot.contest
    year = contest.edition or str(snapshot.published_at.year if snapshot.published_at else utcnow().year)
    prefix = f"{rubric.contest.entry_code_prefix}-{year}"
    taken = session.scalar(select(func.count(Certificate.id)).where(Certificate.serial.like(f"{prefix}-%"))) or 0
    issued: list[Certificate] = []

    def issue(kind: str, holder: str, organization: str, award: str, subject: str, title: str) -> None:
        serial = f"{prefix}-{taken + len(issued) + 1:04d}"
        certificate = Certificate(
            snapshot=snapshot,
            serial=serial,
            code=_unique_code(session),
            kind=kind,
            holder=holder,
            organization=organization,
            award=award,
            subject=subject,
            work_title=title,
            issued_at=snapshot.published_at or utcnow(),
        )
        session.add(certificate)
        issued.append(certificate)

    for row in award_rows(payload):
        issue("award", row.holder, row.organization, row.award, row.subject, row.title)
    for row in level_rows(payload):
        issue("level", row["holder"], row["organization"], row["level_label"], row["subject"], "")
    session.flush()
    return issued


def _unique_code(session: Session) -> str:
    while True:
        code = _random_code(3)
        if session.scalar(select(Certificate.id).where(Certificate.code == code)) is None:
            return code


def normalise_code(raw: str) -> str:
    """A verification code as typed: case, spaces and dashes do not matter."""
    letters = "".join(ch for ch in raw.upper() if ch.isalnum())
    return "-".join(letters[i : i + 4] for i in range(0, len(letters), 4))


def verify_certificate(session: Session, raw_code: str) -> Certificate:
    code = normalise_code(raw_code)
    certificate = session.scalar(select(Certificate).where(Certificate.code == code)) if code else None
    if certificate is None:
        raise NotFound(_("No certificate has this verification code. Check the code printed on the certificate."))
    return certificate


def certificates_of(session: Session, snapshot: ResultSnapshot) -> list[Certificate]:
    return list(
        session.scalars(select(Certificate).where(Certificate.snapshot_id == snapshot.id).order_by(Certificate.id))
    )


def is_published_winner(session: Session, entry: Entry) -> bool:
    """Whether the entry holds an award in its contest's current publication (the public may see it)."""
    return (
        session.scalar(
            select(Certificate.id)
            .join(ResultSnapshot, Certificate.snapshot_id == ResultSnapshot.id)
            .where(
                ResultSnapshot.contest_id == entry.contest_id,
                ResultSnapshot.status == SnapshotStatus.PUBLISHED,
                Certificate.kind == "award",
                Certificate.subject == entry.code,
            )
            .limit(1)
        )
        is not None
    )
