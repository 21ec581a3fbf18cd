"""Contests: configured from rubric files, moved through their phases by organisers."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from judging.models import Assignment, Contest, Entry, Phase, RubricVersion, ScoreSheet, SheetStatus, User, utcnow
from judging.rubric import Difference, Rubric, parse_rubric, rubric_differences
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


class RubricInUse(ServiceError):
    """A changed rubric for a contest that already has score sheets: refused unless migrated explicitly.

    ``problems`` is the refusal followed by one line per difference.
    """

    def __init__(self, message: str, differences: list[str]):
        super().__init__("\n".join([message, *differences]))
        self.problems = [message, *differences]


def difference_line(difference: Difference) -> str:
    """One difference between rubric versions, in the user's language."""
    if difference.old is None:
        return _("%(path)s: added (%(new)s)", path=difference.path, new=difference.new)
    if difference.new is None:
        return _("%(path)s: removed (was %(old)s)", path=difference.path, old=difference.old)
    return _("%(path)s: %(old)s → %(new)s", path=difference.path, old=difference.old, new=difference.new)


def _sheet_count(session: Session, contest: Contest) -> int:
    return int(
        session.scalar(
            select(func.count(ScoreSheet.id))
            .join(Assignment, ScoreSheet.assignment_id == Assignment.id)
            .join(Entry, Assignment.entry_id == Entry.id)
            .where(Entry.contest_id == contest.id)
        )
        or 0
    )


def sync_rubric(
    session: Session, actor: User | None, rubric: Rubric, edition: str = "", *, migrate: bool = False
) -> Contest:
    """Create the contest of a rubric, or give it a new rubric version when the text changed.

    A version is never edited: a changed rubric becomes version n+1, so that every score and result
    keeps pointing at the exact text (and hash) it was made with. Versions are frozen in use: once the
    contest has score sheets, a changed rubric is refused (:class:`RubricInUse`, naming every
    difference) unless ``migrate``, which is refused while the result is frozen and otherwise reopens
    the submitted sheets (back to draft: the judges submit them again under the new version; results
    count only sheets of the current version). A change of comments or layout only carries the sheets
    over to the new version as they are. Audited (``rubric.migrate``).
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
        sheets = _sheet_count(session, contest)
        differences = (
            [difference_line(d) for d in rubric_differences(current_rubric(contest), rubric)] if sheets else []
        )
        if sheets and not migrate:
            raise RubricInUse(
                _(
                    "%(source)s: contest %(slug)s already has %(n)d score sheets made with rubric version "
                    "%(version)d, so its rubric cannot change. Differences (migrate explicitly with "
                    "`flask rubric migrate --contest %(slug)s`, which reopens the submitted sheets):",
                    source=rubric.source,
                    slug=contest.slug,
                    n=sheets,
                    version=contest.current_rubric.version,
                ),
                differences or [_("only comments or layout changed")],
            )
        if sheets and results_frozen(contest):
            raise ServiceError(
                _(
                    "%(slug)s: the result is frozen; reopen review before migrating the rubric.",
                    slug=contest.slug,
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
    if action == "contest.rubric_version" and migrate and sheets:
        _migrate_sheets(session, actor, contest, version, differences)
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


def _migrate_sheets(
    session: Session, actor: User | None, contest: Contest, version: RubricVersion, differences: list[str]
) -> None:
    """Move a contest's sheets to a new rubric version: with differences, every submitted sheet goes back
    to draft (it keeps its earlier version until the judge saves it again); without, each sheet simply
    carries over. Audited with the differences and the sheets reopened."""
    sheets = list(
        session.scalars(
            select(ScoreSheet)
            .join(Assignment, ScoreSheet.assignment_id == Assignment.id)
            .join(Entry, Assignment.entry_id == Entry.id)
            .where(Entry.contest_id == contest.id)
            .order_by(ScoreSheet.id)
        )
    )
    reopened = []
    for sheet in sheets:
        if not differences:
            sheet.rubric_version = version
        elif sheet.status is SheetStatus.SUBMITTED:
            sheet.status = SheetStatus.DRAFT
            sheet.submitted_at = None
            sheet.updated_at = utcnow()
            reopened.append(sheet.id)
    session.flush()
    audit.record(
        session,
        actor,
        "rubric.migrate",
        object_type="contest",
        object_id=contest.id,
        contest_id=contest.id,
        data={
            "slug": contest.slug,
            "rubric_version": version.version,
            "differences": differences,
            "sheets": len(sheets),
            "sheets_reopened": reopened,
        },
    )
