"""Contests: configured from rubric files, moved through their phases by organisers."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from judging.models import Contest, Phase, RubricVersion, User, utcnow
from judging.rubric import Rubric, parse_rubric
from judging.services import NotFound, ServiceError, audit

PHASE_MOVES: dict[Phase, tuple[Phase, ...]] = {
    Phase.DRAFT: (Phase.OPEN,),
    Phase.OPEN: (Phase.DRAFT, Phase.REVIEW),
    Phase.REVIEW: (Phase.OPEN,),
    Phase.PUBLICITY: (),
    Phase.PUBLISHED: (Phase.ARCHIVED,),
    Phase.ARCHIVED: (),
}
"""The plain phase moves of DESIGN.md §4's workflow. The moves that carry a result — review → publicity
(freeze), publicity → review (reopen, withdrawing the snapshot), publicity → published (publish) and
published → review (a correction) — go through :mod:`judging.services.publication` only, so that no
phase change can skip the snapshot, the notice period or the certificates."""


def results_frozen(contest: Contest) -> bool:
    """Whether the contest's result is frozen (on notice, published or archived): what it rests on (the
    entries, the roster, the scores) stays as it is until review is reopened or a correction starts."""
    return contest.phase in (Phase.PUBLICITY, Phase.PUBLISHED, Phase.ARCHIVED)


@lru_cache(maxsize=64)
def _parse_cached(text: str, source: str) -> Rubric:
    return parse_rubric(text, source)


def rubric_of(version: RubricVersion) -> Rubric:
    """The validated rubric of a stored version (parsed once per distinct text)."""
    return _parse_cached(version.text, version.source)


def current_rubric(contest: Contest) -> Rubric:
    return rubric_of(contest.current_rubric)


def sync_rubric(session: Session, actor: User | None, rubric: Rubric, edition: str = "") -> Contest:
    """Create the contest of a rubric, or give it a new rubric version when the text changed.

    A version is never edited: a changed rubric becomes version n+1, so that every score and result
    keeps pointing at the exact text (and hash) it was made with.
    """
    contest = session.scalar(select(Contest).where(Contest.slug == rubric.slug))
    if contest is None:
        contest = Contest(
            slug=rubric.slug,
            title=rubric.contest.title,
            kind=rubric.contest.kind,
            ceremony=rubric.contest.ceremony,
            edition=edition,
            phase=Phase.DRAFT,
        )
        session.add(contest)
        session.flush()
        action = "contest.create"
    else:
        if contest.current_rubric.sha256 == rubric.sha256:
            return contest
        if contest.kind != rubric.contest.kind:
            raise ServiceError(
                _(
                    "%(source)s: contest.kind cannot change from %(old)s to %(new)s once the contest exists.",
                    source=rubric.source,
                    old=contest.kind,
                    new=rubric.contest.kind,
                )
            )
        contest.title = rubric.contest.title
        contest.ceremony = rubric.contest.ceremony
        action = "contest.rubric_version"
    number = len(contest.rubric_versions) + 1
    version = RubricVersion(
        contest=contest, version=number, text=rubric.text, sha256=rubric.sha256, source=rubric.source
    )
    session.add(version)
    session.flush()
    audit.record(
        session,
        actor,
        action,
        object_type="contest",
        object_id=contest.id,
        contest_id=contest.id,
        data={"slug": contest.slug, "rubric_version": number, "sha256": rubric.sha256},
    )
    return contest


def ceremony_label(ceremony: str) -> str:
    """The name of a ceremony key of the rubrics (``opening``, ``closing``) in the user's language."""
    return {"opening": _("Opening ceremony"), "closing": _("Closing ceremony")}.get(ceremony, ceremony)


def list_contests(session: Session) -> list[Contest]:
    return list(session.scalars(select(Contest).order_by(Contest.id)))


def get_contest(session: Session, slug: str) -> Contest:
    contest = session.scalar(select(Contest).where(Contest.slug == slug))
    if contest is None:
        raise NotFound(_("No such contest."))
    return contest


def change_phase(session: Session, actor: User, contest: Contest, target: Phase) -> None:
    """Move a contest to the next phase of its workflow; other moves are refused."""
    if target not in PHASE_MOVES[contest.phase]:
        raise ServiceError(
            _("A contest in phase “%(old)s” cannot move to “%(new)s”.", old=contest.phase.value, new=target.value)
        )
    old = contest.phase
    contest.phase = target
    audit.record(
        session,
        actor,
        "contest.phase",
        object_type="contest",
        object_id=contest.id,
        contest_id=contest.id,
        data={"old": old.value, "new": target.value},
    )


def set_deadlines(
    session: Session,
    actor: User,
    contest: Contest,
    *,
    submission_deadline: datetime | None,
    review_deadline: datetime | None,
) -> None:
    """Set the deadlines (aware datetimes); the review deadline must come after the submission deadline."""
    if submission_deadline and review_deadline and review_deadline <= submission_deadline:
        raise ServiceError(_("The review deadline must be later than the submission deadline."))
    old = {
        "submission_deadline": contest.submission_deadline.isoformat() if contest.submission_deadline else None,
        "review_deadline": contest.review_deadline.isoformat() if contest.review_deadline else None,
    }
    contest.submission_deadline = submission_deadline
    contest.review_deadline = review_deadline
    audit.record(
        session,
        actor,
        "contest.deadlines",
        object_type="contest",
        object_id=contest.id,
        contest_id=contest.id,
        data={
            "old": old,
            "new": {
                "submission_deadline": submission_deadline.isoformat() if submission_deadline else None,
                "review_deadline": review_deadline.isoformat() if review_deadline else None,
            },
        },
    )


def freeze_rubric_version(version: RubricVersion) -> None:
    """Mark a rubric version as in use by scores: from now on a changed rubric is a new version."""
    if version.frozen_at is None:
        version.frozen_at = utcnow()
