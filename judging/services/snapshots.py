"""Result snapshots: the canonical payload a frozen result rests on, its digest, reading it back, and
finding a contest's snapshots.

A :class:`~judging.models.ResultSnapshot` holds the canonical JSON of everything the result rests on
(:func:`snapshot_payload`) and its sha256 digest. The payload is written once and never rewritten:
every page, export, certificate and ceremony programme reads the award list from it, so what was
published is what is shown, whatever happens to the live tables afterwards.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from judging.models import (
    Contest,
    Contestant,
    Entry,
    Organization,
    OrganizationKind,
    ResultSnapshot,
    SnapshotStatus,
)
from judging.rubric import Rubric
from judging.scoring.ranking import listing_note_word
from judging.scoring.skills import judging_rubric
from judging.scoring.votes import half_up
from judging.services import NotFound, ServiceError, votes
from judging.services.contests import current_rubric
from judging.services.results import compute_results, score_frames
from judging.services.skills import judged_parts_report, skills_results

PAYLOAD_FORMAT = 1


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
    head: dict[str, Any] = {
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
    payload = head | _work_payload(session, contest, rubric)
    if rubric.vote is not None:
        # The public vote's combined result (issue 19): the workflow freezes only once the vote is closed.
        payload["vote"] = votes.combined_payload(votes.combined_result(session, contest))
        payload["ranking"] = ranked_by_vote(payload["ranking"], payload["vote"])
        payload["ranked_by"] = RANKED_BY_COMBINED
    return payload


RANKED_BY_COMBINED = "combined"
"""``payload["ranked_by"]`` of a result whose ranking and awards follow the public vote's combined score."""

VOTE_FIELDS = ("votes", "voided", "voided_reasons", "vote_points", "combined")
"""What a shortlisted line of the payload's ``vote`` section gives its ranking row, besides rank and award."""


def ranked_by_vote(ranking: list[dict[str, Any]], vote: dict[str, Any]) -> list[dict[str, Any]]:
    """The ranking of a contest with a public vote (issue 19, docs/rubric-vote.md): the award follows the
    combined score.

    - An entry on the vote's shortlist takes its rank, award and final score (the combined score) from the
      vote section, whose awards are :func:`judging.scoring.votes.combined_awards`'s (the one home of the
      award bands); the row keeps the experts' rank and score (``expert_rank``, ``expert_score``) and the
      vote's part (``votes``, ``voided``, ``voided_reasons``, ``vote_points``, ``combined``).
    - A ranked entry not on the shortlist gets no award: it is ranked after the whole shortlist, in the
      experts' order (competition style among themselves), and its final score stays the experts' score.
    - An entry the experts did not rank stays unranked.
    Every ranked row says ``on_shortlist``; the rows come best first, the unranked ones last as before.
    """
    lines = {str(line["entry"]): line for line in vote["lines"]}
    outside = [row["rank"] for row in ranking if row["rank"] is not None and row["subject"] not in lines]
    ranked: list[dict[str, Any]] = []
    unranked: list[dict[str, Any]] = []
    for row in ranking:
        if row["rank"] is None:
            unranked.append(row)
            continue
        line = lines.get(row["subject"])
        experts = {"expert_rank": row["rank"], "expert_score": row["final_score"], "on_shortlist": line is not None}
        if line is None:
            rank = len(lines) + 1 + sum(1 for other in outside if other < row["rank"])
            ranked.append(row | experts | {"rank": rank, "award": ""})
        else:
            decided = {"rank": line["rank"], "award": line["award"], "final_score": line["combined"]}
            ranked.append(row | experts | {key: line[key] for key in VOTE_FIELDS} | decided)
    ranked.sort(key=lambda row: row["rank"])  # stable: equal ranks keep the experts' order
    return ranked + unranked


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
    criterion_keys = [criterion.key for criterion in results.rubric.criteria]  # the last round's, with rounds
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
    ranking: list[dict[str, Any]] = []
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
                "note": listing_note_word(row.get("note")),
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
    if rubric.rounds:
        # A contest judged in rounds: each line carries its path through the frozen rounds, and the entries
        # a round did not send on follow, unranked, saying in which round they stopped.
        for ranked in ranking:
            ranked["path"] = [step.as_dict() for step in results.paths.get(str(ranked["subject"]), ())]
        for code, entry_line in results.eliminated.items():
            steps = results.paths.get(code, ())
            stopped = next((step.round_key for step in steps if not step.advanced), "")
            ranking.append(
                {
                    "rank": None,
                    "subject": code,
                    "entry_id": entry_line.id,
                    "category": entry_line.category,
                    "category_label": results.category_label(entry_line.category) if entry_line.category else "",
                    "title": entry_line.title,
                    "holder": entry_line.organization,
                    "organization": entry_line.organization,
                    "parent": parents.get(entry_line.id, ""),
                    "final_score": None,
                    "award": "",
                    "n_sheets": 0,
                    "criteria": {key: None for key in criterion_keys},
                    "note": f"eliminated in round {stopped}",
                    "path": [step.as_dict() for step in steps],
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
                "note": row["decided_by"].machine_word if row.get("decided_by") else "",
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
        "notes": [note.to_json_dict() for note in result.notes],
    }


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
    path: tuple[dict[str, Any], ...] = ()
    """With judging rounds: the entry's path through the frozen rounds, as the payload keeps it."""
    vote: VotePart | None = None
    """With a public vote: the two parts of the combined score (``final_score``) of a shortlisted entry."""


@dataclass(frozen=True)
class VotePart:
    """How a shortlisted entry's combined score came about, as the frozen payload states it: the experts'
    score and rank, the votes counted, the votes voided (reason → how many), and the vote points."""

    expert_score: str | None
    expert_rank: int | None
    votes: int
    voided: int
    voided_reasons: dict[str, int]
    vote_points: str
    """Exact, as the combination used it."""
    vote_points_shown: str
    """Rounded half up to the result's decimals, for reading (the combination is exact)."""
    combined: str


def shown_vote_points(points: object, decimals: int) -> str:
    """Vote points as they are read (the payload keeps them exact): half up to the result's decimals."""
    return str(half_up(Decimal(str(points)), decimals))


def vote_part(row: dict[str, Any], decimals: int) -> VotePart | None:
    """The vote's part of a payload ranking row, or None for a row not on the vote's shortlist."""
    if not row.get("on_shortlist"):
        return None
    return VotePart(
        vote_points_shown=shown_vote_points(row["vote_points"], decimals),
        expert_score=row.get("expert_score"),
        expert_rank=row.get("expert_rank"),
        votes=int(row["votes"]),
        voided=int(row["voided"]),
        voided_reasons={str(reason): int(n) for reason, n in dict(row["voided_reasons"]).items()},
        vote_points=str(row["vote_points"]),
        combined=str(row["combined"]),
    )


def award_group_label(key: str, label: str) -> str:
    """The heading of a group of awards: the rubric's category label, else a name for the group."""
    if label:
        return label
    return {"individual": _("Individual awards"), "collective": _("Outstanding collectives")}.get(key, "")


def payload_of(snapshot: ResultSnapshot) -> dict[str, Any]:
    return json.loads(snapshot.payload)


def snapshot_intact(snapshot: ResultSnapshot) -> bool:
    """Whether the stored payload still hashes to the stored digest (and is JSON at all)."""
    try:
        return digest_of(payload_of(snapshot)) == snapshot.digest
    except ValueError:
        return False


@dataclass(frozen=True)
class RecordedHead:
    """The audit chain's head a snapshot recorded: ``count`` events, the last with ``hash``."""

    moment: str
    """``frozen`` (in the payload, covered by the digest) or ``published`` (recorded at publication)."""
    count: int
    hash: str


def recorded_heads(snapshot: ResultSnapshot) -> list[RecordedHead]:
    """The chain heads a snapshot recorded when it was frozen and, if so, published (older snapshots,
    frozen before heads were recorded, have none)."""
    heads = []
    frozen = payload_of(snapshot).get("audit_head")
    if isinstance(frozen, dict):
        heads.append(RecordedHead("frozen", int(frozen["count"]), str(frozen["hash"])))
    if snapshot.published_chain_count is not None and snapshot.published_chain_hash:
        heads.append(RecordedHead("published", snapshot.published_chain_count, snapshot.published_chain_hash))
    return heads


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
            path=tuple(row.get("path", ())),
            vote=vote_part(row, int(payload.get("decimals", 2))),
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


def latest_withdrawn(session: Session, contest: Contest) -> ResultSnapshot | None:
    """The contest's most recently withdrawn result (an upheld objection reopened review), if any."""
    return session.scalar(
        select(ResultSnapshot)
        .where(ResultSnapshot.contest_id == contest.id, ResultSnapshot.status == SnapshotStatus.WITHDRAWN)
        .order_by(ResultSnapshot.number.desc())
        .limit(1)
    )


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


def correction_among(history: list[ResultSnapshot], snapshot: ResultSnapshot) -> ResultSnapshot | None:
    """:func:`correction_of`, found in the contest's snapshots already loaded (:func:`snapshots_of`)."""
    corrections = [
        other for other in history if other.corrects_id == snapshot.id and other.status is not SnapshotStatus.WITHDRAWN
    ]
    return max(corrections, key=lambda other: other.number, default=None)


def has_gallery(contest: Contest) -> bool:
    """Whether the published result has works to show (a contest of works, not of skills)."""
    return contest.kind == "work"  # the rubric's kind, which never changes once the contest exists


def public_contests(session: Session) -> list[tuple[Contest, ResultSnapshot]]:
    """Each contest not archived with a result the public may see, and that result, newest edition first."""
    found = []
    listed = select(Contest).where(Contest.archived_at.is_(None)).order_by(Contest.created_at.desc(), Contest.id.desc())
    for contest in session.scalars(listed):
        snapshot = current_snapshot(session, contest)
        if snapshot is not None:
            found.append((contest, snapshot))
    return found
