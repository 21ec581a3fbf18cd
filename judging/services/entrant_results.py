"""What an entrant sees of its entry's result: the notice while the result is on public notice (公示), then,
once published, its rank, award, certificate, its path through the judging rounds and — as far as the
rubric's ``[feedback]`` allows — the judges' scores and comments, anonymised.

Everything comes from the snapshot the public sees (never the live tables, except the judges' comments,
which the snapshot does not carry and which are locked with the sheets once the result is frozen).
Before publication nothing of the ranking, the scores or the certificate is given out.
"""

from __future__ import annotations

import hashlib
import hmac
import string
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from judging.models import (
    NO_ROUND,
    Assignment,
    Certificate,
    Entry,
    EntryStatus,
    ResultSnapshot,
    ScoreSheet,
    SheetStatus,
    SnapshotStatus,
    User,
)
from judging.rubric import Rubric
from judging.services import NotFound
from judging.services.contests import rubric_of
from judging.services.round_paths import entrant_path, stopped_in
from judging.services.snapshots import RANKED_BY_COMBINED, VotePart, current_snapshot, payload_of, vote_part


@dataclass(frozen=True)
class CriterionScore:
    label: str
    score: str | None


@dataclass(frozen=True)
class JudgeFeedback:
    """One judge's sheet as the entrant sees it: a letter instead of a name."""

    letter: str
    """``A``, ``B``, … : stable for this entry, in an order that says nothing of who the judge is."""
    scores: list[CriterionScore]
    comment: str


@dataclass(frozen=True)
class EntryOutcome:
    snapshot: ResultSnapshot
    on_notice: bool
    """The result is on public notice: the page says so and links the notice, and shows nothing else."""
    rank: int | None = None
    ranked: int = 0
    """How many entries are ranked in the entry's group (its category, or the whole contest)."""
    award: str = ""
    final_score: str | None = None
    category_label: str = ""
    certificate: Certificate | None = None
    show: str = "none"
    """The rubric's ``feedback.show`` at publication: ``none``, ``scores`` or ``scores_and_comments``."""
    criteria: list[CriterionScore] = field(default_factory=list)
    """The panel's aggregated score per criterion (when the rubric shows scores)."""
    judges: list[JudgeFeedback] = field(default_factory=list)
    path: list[str] = field(default_factory=list)
    """With judging rounds: the entry's path, one text per round it was judged in (see
    :func:`judging.services.round_paths.entrant_path`)."""
    stopped_in: str = ""
    """With judging rounds: the label of the round the entry did not go on from ("" if it reached the last)."""
    vote: VotePart | None = None
    """With a public vote, for an entry on its shortlist (when the rubric shows scores): the parts of its
    combined score, which is its ``final_score``."""
    off_shortlist: bool = False
    """The result follows a public vote's combined score and this ranked entry was not on the vote's
    shortlist: it is ranked after the shortlist, without an award."""


def judge_letters(key: bytes, entry_id: int, judges: list[str]) -> dict[str, str]:
    """Judge A, B, … for an entry: ordered by a keyed hash of (entry, judge), so a letter is the same on
    every visit, differs from entry to entry, and neither the letter nor the order can be traced to a
    judge without the key (not by name, account order or submission order)."""

    def secret_order(judge: str) -> bytes:
        return hmac.new(key, f"{entry_id}:{judge}".encode(), hashlib.sha256).digest()

    ordered = sorted(judges, key=secret_order)
    return {judge: _letter(index) for index, judge in enumerate(ordered)}


def _letter(index: int) -> str:
    letters = string.ascii_uppercase
    return letters[index] if index < len(letters) else letters[index // 26 - 1] + letters[index % 26]


def entry_outcome(session: Session, entry: Entry, key: bytes) -> EntryOutcome | None:
    """The entry's result as its entrant may see it now, or None when no result is public.

    On notice: only that it is (rank and scores stay back until publication). Published: rank, award,
    certificate, its path through the judging rounds (where it stopped, if it did), and the judges' scores
    (and comments, and each round's numbers in the path) when the published rubric's ``feedback.show``
    says so. ``key`` keeps the judges' letters untraceable (the application's secret key).
    """
    if entry.status in (EntryStatus.DRAFT, EntryStatus.WITHDRAWN):
        return None  # never in the running: a result would say nothing about it
    snapshot = current_snapshot(session, entry.contest)
    if snapshot is None:
        return None
    if snapshot.status is SnapshotStatus.FROZEN:
        return EntryOutcome(snapshot=snapshot, on_notice=True)
    payload = payload_of(snapshot)
    rubric = rubric_of(snapshot.rubric_version)
    row = _row_of(payload, entry)
    if row is None:
        return EntryOutcome(snapshot=snapshot, on_notice=False, show=rubric.feedback.show)
    ranked = sum(
        1 for other in payload["ranking"] if other["rank"] is not None and other["category"] == row["category"]
    )
    show = rubric.feedback.show
    steps = row.get("path") or [] if rubric.rounds else []
    outcome = EntryOutcome(
        snapshot=snapshot,
        on_notice=False,
        rank=row["rank"],
        ranked=ranked,
        award=row["award"],
        final_score=row["final_score"] if show != "none" else None,
        category_label=row.get("category_label", ""),
        certificate=_certificate(session, snapshot, entry),
        show=show,
        path=(
            entrant_path(steps, rubric.rounds[-1].label, row["rank"], row["final_score"], with_results=show != "none")
            if rubric.rounds
            else []
        ),
        stopped_in=stopped_in(steps),
        vote=vote_part(row, int(payload["decimals"])) if show != "none" else None,
        off_shortlist=payload.get("ranked_by") == RANKED_BY_COMBINED
        and row["rank"] is not None
        and not row.get("on_shortlist"),
    )
    if show == "none":
        return outcome
    outcome.criteria.extend(
        CriterionScore(criterion.label, (row.get("criteria") or {}).get(criterion.key)) for criterion in rubric.criteria
    )
    outcome.judges.extend(_judges(session, payload, rubric, entry, key, with_comments=show == "scores_and_comments"))
    return outcome


def _row_of(payload: dict[str, Any], entry: Entry) -> dict[str, Any] | None:
    return next(
        (row for row in payload["ranking"] if row.get("entry_id") == entry.id and row["subject"] == entry.code), None
    )


def _certificate(session: Session, snapshot: ResultSnapshot, entry: Entry) -> Certificate | None:
    return session.scalar(
        select(Certificate).where(
            Certificate.snapshot_id == snapshot.id, Certificate.kind == "award", Certificate.subject == entry.code
        )
    )


def _judges(
    session: Session, payload: dict[str, Any], rubric: Rubric, entry: Entry, key: bytes, *, with_comments: bool
) -> list[JudgeFeedback]:
    by_judge: dict[str, dict[str, str | None]] = {}
    for sheet in payload.get("sheets", []):
        if sheet["entry"] == entry.code:
            by_judge.setdefault(sheet["judge"], {})[sheet["criterion"]] = sheet["score"]
    comments: dict[str, str] = {}
    if with_comments and by_judge:
        comments = {
            username: comment
            for username, comment in session.execute(
                select(User.username, ScoreSheet.comment)
                .join(Assignment, ScoreSheet.assignment_id == Assignment.id)
                .join(User, Assignment.judge_id == User.id)
                .where(
                    Assignment.entry_id == entry.id,
                    # The result's round: a judge on two rounds' panels wrote a sheet in each.
                    Assignment.round_key == (rubric.rounds[-1].key if rubric.rounds else NO_ROUND),
                    ScoreSheet.status == SheetStatus.SUBMITTED,
                    User.username.in_(list(by_judge)),
                )
            ).all()
        }
    letters = judge_letters(key, entry.id, list(by_judge))
    feedback = [
        JudgeFeedback(
            letter=letters[judge],
            scores=[CriterionScore(criterion.label, scores.get(criterion.key)) for criterion in rubric.criteria],
            comment=(comments.get(judge) or "").strip(),
        )
        for judge, scores in by_judge.items()
    ]
    return sorted(feedback, key=lambda judged: (len(judged.letter), judged.letter))


def published_certificate(session: Session, entry: Entry) -> tuple[Certificate, ResultSnapshot]:
    """The certificate of the entry's award in the contest's current publication; NotFound before publication
    or without an award (the same answer, so that nothing is learnt before the list is public)."""
    snapshot = current_snapshot(session, entry.contest)
    certificate = (
        _certificate(session, snapshot, entry)
        if snapshot is not None and snapshot.status is SnapshotStatus.PUBLISHED
        else None
    )
    if certificate is None or snapshot is None:
        raise NotFound(_("There is no certificate for this entry."))
    return certificate, snapshot
