"""Whether the instance is what its audit log says: the check behind ``flask audit verify``, and whether
a published result may be vouched for on the public pages.

The audit log is keyed and its head is kept outside the database (:mod:`audit`), so the log is the
reference an insider with database access cannot rewrite. :func:`verify_instance` checks it and then
holds the live tables against it:

- the chain itself (the first broken link) and the head recorded outside the database;
- the score sheets: replaying every ``sheet.save``/``sheet.submit``/``sheet.reopen`` event (each carries
  the sheet's full new values) gives each sheet's status, scores, check answers and comment, which must be
  what the ``score_sheet``, ``score`` and ``check_answer`` tables hold;
- the result snapshots: each payload must hash to its digest, the digest must be the one its
  ``results.freeze`` event recorded, and each chain head it recorded must be an event of the chain;
  with a public vote, the combined result must follow from the payload's own vote section (the
  combination and its awards recomputed from each entry's experts' score and counted votes), and the
  ranking's rows must be that combined result;
- the certificates: each must be an award (or skill level) of its snapshot's payload;
- the paper entries of double-entered sheets: each must be what its last ``paper.enter`` event says,
  and both entries of a sheet counted without a settlement must still agree with it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from judging.models import (
    Assignment,
    AuditEvent,
    Certificate,
    Contest,
    Entry,
    JudgingRound,
    ResultSnapshot,
    ScoreSheet,
    User,
)
from judging.rubric import RubricError
from judging.scoring.votes import VoteTally, combine, combined_awards
from judging.services import audit
from judging.services.contests import rubric_of
from judging.services.paper_sheets import paper_findings
from judging.services.snapshots import (
    RANKED_BY_COMBINED,
    award_rows,
    digest_of,
    level_rows,
    payload_of,
    recorded_heads,
)

SHEET_ACTIONS = ("sheet.save", "sheet.submit", "sheet.reopen")


@dataclass
class Verification:
    """What :func:`verify_instance` found: one line per disagreement (none: intact), and what it checked."""

    findings: list[str] = field(default_factory=list)
    events: int = 0
    sheets: int = 0
    snapshots: int = 0
    certificates: int = 0


def verify_instance(session: Session, seal: audit.AuditSeal) -> Verification:
    """Check the audit chain, its head outside the database, and the sheets, snapshots and certificates
    against it; every disagreement is named, one line each."""
    result = Verification()
    broken = audit.verify_chain(session, seal.key)
    if broken:
        result.findings.append(f"audit chain broken at event {broken.seq}: {broken.reason}")
    result.findings += audit.head_findings(session, seal)
    result.events = audit.chain_head(session).count
    result.sheets = _check_sheets(session, result.findings)
    result.snapshots = _check_snapshots(session, seal, result.findings)
    _check_rounds(session, result.findings)
    result.certificates = _check_certificates(session, result.findings)
    result.findings += paper_findings(session)
    return result


# --- Score sheets --------------------------------------------------------------------------------------


def _logged_sheets(session: Session) -> dict[int, dict[str, Any]]:
    """Each sheet's values after the last event that wrote it, by sheet id."""
    final: dict[int, dict[str, Any]] = {}
    events = select(AuditEvent.object_id, AuditEvent.data).where(AuditEvent.action.in_(SHEET_ACTIONS))
    for object_id, data in session.execute(events.order_by(AuditEvent.seq)).yield_per(1000):
        if object_id.isdigit() and isinstance(data, dict) and isinstance(data.get("new"), dict):
            final[int(object_id)] = data["new"]
    return final


def _live_values(sheet: ScoreSheet) -> dict[str, Any]:
    return {
        "status": sheet.status.value,
        "scores": {score.criterion: str(score.value) for score in sheet.scores},
        "checks": {answer.check_key: answer.passed for answer in sheet.check_answers},
        "comment": sheet.comment or "",
    }


def _check_sheets(session: Session, findings: list[str]) -> int:
    logged = _logged_sheets(session)
    rows = session.execute(
        select(ScoreSheet, Entry.code, User.username)
        .join(Assignment, ScoreSheet.assignment_id == Assignment.id)
        .join(Entry, Assignment.entry_id == Entry.id)
        .join(User, Assignment.judge_id == User.id)
        .order_by(ScoreSheet.id)
    ).all()
    for sheet, code, judge in rows:
        name = f"score sheet {sheet.id} ({code}, {judge})"
        expected = logged.pop(sheet.id, None)
        if expected is None:
            findings.append(f"{name}: no audit event wrote it")
            continue
        live = _live_values(sheet)
        findings += _sheet_differences(name, live, expected)
    for sheet_id in sorted(logged):
        findings.append(f"score sheet {sheet_id}: in the audit log but not in the database (deleted)")
    return len(rows)


def _sheet_differences(name: str, live: dict[str, Any], logged: dict[str, Any]) -> list[str]:
    found = []
    if live["status"] != logged.get("status"):
        found.append(f"{name}: status is {live['status']}, the audit log says {logged.get('status')}")
    logged_scores = logged.get("scores") or {}
    for criterion in sorted(set(live["scores"]) | set(logged_scores)):
        have, said = live["scores"].get(criterion), logged_scores.get(criterion)
        if have != said:
            found.append(
                f"{name}: score {criterion} is {have or 'missing'} in the score table, "
                f"the audit log says {said or 'none'}"
            )
    logged_checks = logged.get("checks") or {}
    for key in sorted(set(live["checks"]) | set(logged_checks)):
        have, said = live["checks"].get(key), logged_checks.get(key)
        if have != said:
            found.append(f"{name}: check {key} is {have} in the database, the audit log says {said}")
    if live["comment"] != (logged.get("comment") or ""):
        found.append(f"{name}: its comment is not the one in the audit log")
    return found


# --- Result snapshots and certificates -----------------------------------------------------------------


def _label(contest: Contest, snapshot: ResultSnapshot) -> str:
    return f"result {contest.slug} No. {snapshot.number}"


def _freeze_event(session: Session, snapshot: ResultSnapshot) -> AuditEvent | None:
    return session.scalar(
        select(AuditEvent)
        .where(AuditEvent.action == "results.freeze", AuditEvent.object_id == str(snapshot.id))
        .order_by(AuditEvent.seq)
        .limit(1)
    )


def _check_snapshots(session: Session, seal: audit.AuditSeal, findings: list[str]) -> int:
    rows = session.execute(
        select(ResultSnapshot, Contest).join(Contest).order_by(Contest.id, ResultSnapshot.number)
    ).all()
    for snapshot, contest in rows:
        label = _label(contest, snapshot)
        try:
            payload = payload_of(snapshot)
        except ValueError:
            findings.append(f"{label}: its payload is not JSON")
            continue
        if digest_of(payload) != snapshot.digest:
            findings.append(f"{label}: its payload does not match its digest")
        event = _freeze_event(session, snapshot)
        if event is None:
            findings.append(f"{label}: no results.freeze audit event records it")
        elif event.data.get("digest") != snapshot.digest:
            findings.append(
                f"{label}: its digest {snapshot.digest[:16]}… is not the one recorded when it was frozen "
                f"(audit event {event.seq}: {str(event.data.get('digest'))[:16]}…)"
            )
        findings += combined_findings(label, snapshot, payload)
        try:
            heads = recorded_heads(snapshot)
        except (KeyError, TypeError, ValueError):
            findings.append(f"{label}: its recorded chain head is not readable")
            continue
        for head in heads:
            if audit.hash_at(session, head.count) != head.hash:
                findings.append(
                    f"{label}: the chain head recorded when it was {head.moment} (event {head.count}, "
                    f"{head.hash[:16]}…) is not in the audit chain"
                )
    return len(rows)


def combined_findings(label: str, snapshot: ResultSnapshot, payload: dict[str, Any]) -> list[str]:
    """A result with a public vote (issue 19): its ``vote`` section recomputed from its own numbers (each
    entry's experts' score, counted votes and voided votes) with the rubric it was frozen with
    (:func:`judging.scoring.votes.combine` and :func:`~judging.scoring.votes.combined_awards`) must give
    the rank, vote points, combined score and award it states; and a ranking that says it is the combined
    one must give each shortlisted entry exactly that, and no award to an entry off the shortlist. An
    insider who edits a vote count or an award (even rewriting the digest) is named here."""
    section = payload.get("vote")
    if not isinstance(section, dict):
        return []
    try:
        rubric = rubric_of(snapshot.rubric_version)
    except RubricError:
        return [f"{label}: the rubric it was frozen with no longer reads"]
    spec = rubric.vote
    if spec is None:
        return [f"{label}: it carries a public vote's result, but its rubric has no [vote]"]
    try:
        decimals = int(payload["decimals"])
        stated = {str(line["entry"]): line for line in section["lines"]}
        tallies = [
            VoteTally(
                entry,
                Decimal(str(line["expert_score"])),
                int(line["votes"]),
                {str(reason): int(n) for reason, n in dict(line["voided_reasons"]).items()},
            )
            for entry, line in stated.items()
        ]
        weights = (Decimal(str(section["expert_weight"])), Decimal(str(section["vote_weight"])))
    except (KeyError, TypeError, ValueError, InvalidOperation):
        return [f"{label}: its public vote's result is not readable"]
    found = []
    if weights != (spec.expert_weight, spec.vote_weight) or section.get("normalisation") != spec.normalisation:
        found.append(f"{label}: its public vote's weights or normalisation are not its rubric's")
    lines = combine(tallies, spec, rubric.max_total, decimals)
    awards = combined_awards(lines, rubric.awards, decimals)
    for line in lines:
        said = stated[line.entry]
        told = (said.get("rank"), str(said.get("vote_points")), str(said.get("combined")), said.get("award"))
        recomputed = (line.rank, str(line.vote_points), str(line.combined), awards[line.entry])
        if told != recomputed or said.get("voided") != line.voided_count:
            found.append(
                f"{label}: the public vote's line of {line.entry} does not follow from its votes "
                f"(it says rank {told[0]}, combined {told[2]}, award {told[3] or '-'}; its {line.votes} counted "
                f"votes give rank {line.rank}, combined {line.combined}, award {awards[line.entry] or '-'})"
            )
    if payload.get("ranked_by") != RANKED_BY_COMBINED:
        return found  # frozen before the award list followed the combined score: the vote section stands alone
    rows = {str(row["subject"]): row for row in payload["ranking"]}
    for line in lines:
        row = rows.get(line.entry)
        expected = (line.rank, awards[line.entry], str(line.combined), line.votes, True)
        if (
            row is None
            or (
                row["rank"],
                row["award"],
                row["final_score"],
                row.get("votes"),
                row.get("on_shortlist"),
            )
            != expected
        ):
            found.append(f"{label}: the award list's row of {line.entry} is not its combined result")
        elif _number(row.get("expert_score")) != line.expert_score:
            found.append(f"{label}: the experts' score of {line.entry} is not the one its combined score rests on")
    for subject, row in rows.items():
        if subject not in stated and row["award"]:
            found.append(f"{label}: {subject} has the award {row['award']} but was not on the public vote's shortlist")
    return found


def _number(value: object) -> Decimal | None:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _check_rounds(session: Session, findings: list[str]) -> None:
    """Each frozen judging round: its payload hashes to its digest, and that digest is the one its
    ``round.freeze`` audit event recorded (the next round's entries rest on it)."""
    rows = session.execute(
        select(JudgingRound, Contest).join(Contest).where(JudgingRound.payload.is_not(None)).order_by(JudgingRound.id)
    ).all()
    for row, contest in rows:
        label = f"round {row.key} of {contest.slug}"
        if hashlib.sha256((row.payload or "").encode("utf-8")).hexdigest() != row.digest:
            findings.append(f"{label}: its payload does not match its digest")
        event = session.scalar(
            select(AuditEvent)
            .where(
                AuditEvent.action == "round.freeze",
                AuditEvent.object_id == row.key,
                AuditEvent.contest_id == contest.id,
            )
            .order_by(AuditEvent.seq)
            .limit(1)
        )
        if event is None:
            findings.append(f"{label}: no round.freeze audit event records it")
        elif event.data.get("digest") != row.digest:
            findings.append(f"{label}: its digest is not the one recorded when it was frozen (audit event {event.seq})")


def certificate_in_payload(certificate: Certificate, payload: dict[str, Any]) -> bool:
    """Whether the certificate's holder, organisation, award and subject are those of an award (or a
    skill level) of the result it was issued with: a certificate edited in the database is not."""
    shown = (certificate.holder, certificate.organization, certificate.award, certificate.subject)
    if certificate.kind == "level":
        return any(
            (row["holder"], row["organization"], row["level_label"], row["subject"]) == shown
            for row in level_rows(payload)
        )
    return any((row.holder, row.organization, row.award, row.subject) == shown for row in award_rows(payload))


def _check_certificates(session: Session, findings: list[str]) -> int:
    count = 0
    payloads: dict[int, dict[str, Any] | None] = {}
    for certificate in session.scalars(select(Certificate).order_by(Certificate.id)):
        count += 1
        if certificate.snapshot_id not in payloads:
            try:
                payloads[certificate.snapshot_id] = json.loads(certificate.snapshot.payload)
            except ValueError:
                payloads[certificate.snapshot_id] = None
        payload = payloads[certificate.snapshot_id]
        if payload is None or not certificate_in_payload(certificate, payload):
            findings.append(
                f"certificate {certificate.serial}: {certificate.holder} · {certificate.award} is not an award "
                f"of the result it was issued with"
            )
    return count


def snapshot_vouched(session: Session, snapshot: ResultSnapshot, key: bytes) -> bool:
    """Whether the public pages may vouch for a snapshot: its payload hashes to its digest, and that digest
    is the one its ``results.freeze`` event recorded, an event whose keyed hash holds (whoever rewrites a
    payload together with its digest cannot rewrite that event without the audit key)."""
    try:
        payload = payload_of(snapshot)
    except ValueError:
        return False
    if digest_of(payload) != snapshot.digest:
        return False
    event = _freeze_event(session, snapshot)
    return event is not None and event.data.get("digest") == snapshot.digest and audit.event_sealed(event, key)
