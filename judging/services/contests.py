"""Contests: configured from rubric files, moved through their phases by organisers, and held to the
workflow table of :mod:`judging.workflow` (:func:`require` words its refusals for people)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path

from flask_babel import format_datetime, get_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from judging import workflow
from judging.models import (
    Assignment,
    Contest,
    Entry,
    Phase,
    ResultSnapshot,
    RubricVersion,
    ScoreSheet,
    SheetStatus,
    User,
    utcnow,
)
from judging.rubric import Difference, Rubric, parse_rubric, rubric_differences
from judging.services import NotFound, ServiceError, audit
from judging.workflow import Action, ContestState, Refusal, VoteStatus


def phase_label(phase: Phase) -> str:
    """The name of a phase in the user's language."""
    return {
        Phase.DRAFT: _("In preparation"),
        Phase.OPEN: _("Open for entries"),
        Phase.REVIEW: _("Under review"),
        Phase.PUBLICITY: _("Public notice"),
        Phase.PUBLISHED: _("Results published"),
        Phase.ARCHIVED: _("Closed"),  # the end of the life cycle; *archiving* (hiding) is archived_at
    }[phase]


def show_moment(moment: datetime) -> str:
    """A deadline or the end of a notice period as people read it: in the display time zone, with its name
    (``2026-09-01 18:00 (China Standard Time)``; in Chinese ``2026-09-01 18:00 中国标准时间``, which reads
    right inside the full-width brackets Chinese sentences put around a time)."""
    pattern = "yyyy-MM-dd HH:mm zzzz" if str(get_locale()).startswith("zh") else "yyyy-MM-dd HH:mm (zzzz)"
    return format_datetime(moment, pattern)


def is_collection(contest: Contest) -> bool:
    """A collection of reports (``kind = "collection"``): nothing in it is judged or ranked."""
    return contest.kind == "collection"


def state_of(
    contest: Contest, snapshot: ResultSnapshot | None = None, grace_until: datetime | None = None
) -> ContestState:
    """What the workflow's rules look at: the contest, the snapshot acted on (if any), and the grace of a
    report the organiser reopened (if the action is on one)."""
    return ContestState(
        phase=contest.phase,
        submission_deadline=contest.submission_deadline,
        review_deadline=contest.review_deadline,
        snapshot_status=snapshot.status if snapshot is not None else None,
        publicity_ends_at=snapshot.publicity_ends_at if snapshot is not None else None,
        archived=contest.archived_at is not None,
        collection=is_collection(contest),
        grace_until=grace_until,
        vote_status=_vote_status(contest),
        vote_closes_at=contest.vote_window.closes_at if contest.vote_window is not None else None,
    )


def _vote_status(contest: Contest) -> VoteStatus:
    """Where the contest's public vote stands (:class:`judging.workflow.VoteStatus`)."""
    window = contest.vote_window
    if window is not None:
        return VoteStatus.CLOSED if window.closed_at is not None else VoteStatus.OPEN
    if not contest.rubric_versions or current_rubric(contest).vote is None:
        return VoteStatus.NOT_USED
    return VoteStatus.NOT_OPENED


def allowed(
    action: Action, contest: Contest, snapshot: ResultSnapshot | None = None, now: datetime | None = None
) -> bool:
    """Whether the workflow allows ``action`` on the contest (and the snapshot) now: what views ask
    before they show a button or a form."""
    return workflow.allowed(action, state_of(contest, snapshot), now or utcnow())


def refusal_message(
    action: Action,
    contest: Contest,
    snapshot: ResultSnapshot | None = None,
    now: datetime | None = None,
    *,
    grace_until: datetime | None = None,
) -> str | None:
    """Why the workflow refuses ``action`` now, in the user's language; ``None`` when it allows it."""
    refused = workflow.refusal(action, state_of(contest, snapshot, grace_until), now or utcnow())
    if refused is None:
        return None
    if refused is Refusal.ARCHIVED:
        return archived_message()
    if refused is Refusal.WRONG_KIND:
        if is_collection(contest):
            return _("This is a collection of reports: nothing in it is judged, ranked or published as results.")
        return _("Only a collection of reports has reports to reopen or missing organisations to remind.")
    if refused is Refusal.SUBMISSION_DEADLINE_PASSED and contest.submission_deadline is not None:
        deadline = show_moment(contest.submission_deadline)
        return _("The submission deadline (%(deadline)s) has passed.", deadline=deadline)
    if refused is Refusal.REVIEW_DEADLINE_PASSED:
        return _("The review deadline has passed.")
    if refused is Refusal.VOTE_CLOSED:
        return _("The vote has closed.")
    if refused is Refusal.WRONG_VOTE_STATE:
        return _vote_state_message(action, contest)
    if refused is Refusal.NOTICE_RUNNING and snapshot is not None and snapshot.publicity_ends_at is not None:
        end = show_moment(snapshot.publicity_ends_at)
        return _("The public notice runs until %(end)s; publish after it ends.", end=end)
    return _out_of_phase(action, contest)


def _vote_state_message(action: Action, contest: Contest) -> str:
    status = _vote_status(contest)
    if action in (Action.SAVE_SHEETS, Action.REOPEN_SHEETS):
        return _("The public vote has started on the experts' result: score sheets can no longer change.")
    if action is Action.FREEZE_RESULTS:
        if status is VoteStatus.OPEN:
            return _("The public vote is still open: close it before freezing the results.")
        return _("This contest has a public vote: open it and close it before freezing the results.")
    if status is VoteStatus.OPEN:
        return _("The vote is already open.")
    if status is VoteStatus.CLOSED:
        return _("The vote has closed.")
    return _("The vote has not been opened yet.")


def require(
    action: Action, contest: Contest, snapshot: ResultSnapshot | None = None, now: datetime | None = None
) -> None:
    """Refuse (:class:`ServiceError`, saying why) what the workflow does not allow now; the services call
    this before they change anything."""
    message = refusal_message(action, contest, snapshot, now)
    if message is not None:
        raise ServiceError(message)


def archived_message() -> str:
    return _("This contest is archived: nothing in it can change until an organiser unarchives it.")


def refuse_when_archived(contest: Contest) -> None:
    """Refuse a change to an archived contest (what the workflow table does not cover: deadlines, rubric)."""
    if contest.archived_at is not None:
        raise ServiceError(archived_message())


def results_frozen(contest: Contest) -> bool:
    """Whether the contest's result is frozen (on notice, published or archived): what it rests on (the
    entries, the roster, the panel, the scores) stays as it is until review is reopened or a correction starts."""
    return workflow.results_frozen(contest.phase)


def _out_of_phase(action: Action, contest: Contest) -> str:
    """The refusal of an action in the wrong phase (or with no result in the state it needs)."""
    phases = " / ".join(
        f"“{phase_label(phase)}”" for phase in workflow.allowed_phases(action, collection=is_collection(contest))
    )
    now_in = phase_label(contest.phase)
    if action is Action.CHANGE_ENTRIES:
        if is_collection(contest):
            return _("This collection is not open for reports.")
        return _("This contest is not open for entries.")
    if action in (Action.REOPEN_REPORTS, Action.REMIND_MISSING):
        return _("Reports can be reopened and reminders sent only while the collection is open.")
    if action is Action.SAVE_SHEETS:
        return _("Scores can only be recorded while the contest is in review.")
    if action is Action.REOPEN_SHEETS:
        return _("Sheets can only be reopened while the contest is in review.")
    if action is Action.DECLARE_CONFLICTS:
        return _("Conflicts can only be declared before results are published.")
    if action is Action.CHANGE_PANEL:
        return _(
            "The panel can change only in these phases: %(phases)s. The contest is now in “%(phase)s”.",
            phases=phases,
            phase=now_in,
        )
    if action is Action.CHANGE_ASSIGNMENT:
        return _(
            "The assignment can change only in these phases: %(phases)s. The contest is now in “%(phase)s”.",
            phases=phases,
            phase=now_in,
        )
    if action is Action.DISQUALIFY_ENTRIES:
        return _("The results of this contest are frozen; reopen review (or start a correction) to change an entry.")
    if action is Action.IMPORT_SCORES:
        return _("The results of this contest are frozen; reopen review (or start a correction) to change its scores.")
    if action is Action.CREATE_TASKS:
        return _("Task entries can only be created while the contest is in review.")
    if action is Action.FILE_OBJECTIONS:
        return _("Objections can be filed only while the result is on public notice.")
    if action is Action.FREEZE_RESULTS:
        return _(
            "Results can be frozen only during review; the contest is in “%(phase)s”.", phase=phase_label(contest.phase)
        )
    if action is Action.REOPEN_REVIEW:
        return _("Only a result on public notice can be withdrawn.")
    if action is Action.PUBLISH_RESULTS:
        return _("Only a result on public notice can be published.")
    if action is Action.START_CORRECTION:
        return _("Only published results can be corrected.")
    return _cannot_move(contest, workflow.move_of(action).target)


def _cannot_move(contest: Contest, target: Phase) -> str:
    return _(
        "A contest in phase “%(old)s” cannot move to “%(new)s”.",
        old=phase_label(contest.phase),
        new=phase_label(target),
    )


def plain_move_targets(contest: Contest) -> tuple[Phase, ...]:
    """Where the organiser can move the contest from its page: the moves without a result (the
    publication desk makes the others)."""
    return tuple(
        move.target for move in workflow.moves_from(contest.phase, with_result=False, collection=is_collection(contest))
    )


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


def sheet_count(session: Session, contest: Contest) -> int:
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
        return create_contest(session, actor, rubric, edition=edition)
    if contest.current_rubric.sha256 == rubric.sha256:
        return contest
    if contest.archived_at is not None:
        raise RubricInUse(
            _(
                "%(source)s: contest %(slug)s is archived, so its rubric cannot change.",
                source=rubric.source,
                slug=contest.slug,
            ),
            [],
        )
    if contest.kind != rubric.contest.kind:
        raise ServiceError(
            _(
                "%(source)s: contest.kind cannot change from %(old)s to %(new)s once the contest exists.",
                source=rubric.source,
                old=contest.kind,
                new=rubric.contest.kind,
            )
        )
    sheets = sheet_count(session, contest)
    differences = [difference_line(d) for d in rubric_differences(current_rubric(contest), rubric)] if sheets else []
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
    if rubric.contest.entry_code_prefix != contest.code_prefix:
        if contest.entries:
            raise ServiceError(
                _(
                    "%(source)s: contest.code_prefix cannot change from %(old)s to %(new)s once the contest "
                    "has entries.",
                    source=rubric.source,
                    old=contest.code_prefix,
                    new=rubric.contest.entry_code_prefix,
                )
            )
        refuse_taken_prefix(session, rubric.contest.entry_code_prefix, contest)
        contest.code_prefix = rubric.contest.entry_code_prefix
    contest.title = rubric.contest.title
    contest.ceremony = rubric.contest.ceremony
    contest.series = rubric.contest.series_key
    number = len(contest.rubric_versions) + 1
    version = RubricVersion(
        contest=contest, version=number, text=rubric.text, sha256=rubric.sha256, source=rubric.source
    )
    session.add(version)
    session.flush()
    if migrate and sheets:
        _migrate_sheets(session, actor, contest, version, differences)
    audit.record(
        session,
        actor,
        "contest.rubric_version",
        object_type="contest",
        object_id=contest.id,
        contest_id=contest.id,
        data={"slug": contest.slug, "rubric_version": number, "sha256": rubric.sha256},
    )
    return contest


def refuse_taken_prefix(session: Session, prefix: str, contest: Contest | None = None) -> None:
    """Refuse a code prefix that another contest (archived or not) already uses: an entry code such as
    ``MV-001`` must name one entry of one edition, never two."""
    owner = session.scalar(select(Contest).where(Contest.code_prefix == prefix))
    if owner is not None and owner is not contest:
        raise ServiceError(
            _(
                "The code prefix %(prefix)s is already used by “%(title)s” (%(edition)s); choose another, "
                "so that entry codes are never ambiguous between contests.",
                prefix=prefix,
                title=owner.title,
                edition=owner.edition or owner.slug,
            )
        )


def refuse_taken_slug(session: Session, slug: str) -> None:
    """Refuse a slug that another contest already has (its address)."""
    if session.scalar(select(Contest.id).where(Contest.slug == slug)) is not None:
        raise ServiceError(_("The address %(slug)s is already used by another contest; choose another.", slug=slug))


def create_contest(
    session: Session,
    actor: User | None,
    rubric: Rubric,
    *,
    edition: str,
    action: str = "contest.create",
    data: dict[str, object] | None = None,
) -> Contest:
    """Create a contest in preparation (no deadlines) with its rubric as version 1.

    Its slug and code prefix must be free (:func:`refuse_taken_slug`, :func:`refuse_taken_prefix`);
    audited as ``action`` with the slug, prefix, edition and rubric hash (and ``data``)."""
    refuse_taken_slug(session, rubric.slug)
    refuse_taken_prefix(session, rubric.contest.entry_code_prefix)
    contest = Contest(
        slug=rubric.slug,
        title=rubric.contest.title,
        kind=rubric.contest.kind,
        ceremony=rubric.contest.ceremony,
        series=rubric.contest.series_key,
        edition=edition,
        code_prefix=rubric.contest.entry_code_prefix,
        phase=Phase.DRAFT,
    )
    session.add(contest)
    try:
        session.flush()
    except IntegrityError:  # another request took the slug or prefix since the checks above; the caller rolls back
        raise ServiceError(_("Another contest has just taken this address or code prefix; choose another.")) from None
    session.add(RubricVersion(contest=contest, version=1, text=rubric.text, sha256=rubric.sha256, source=rubric.source))
    session.flush()
    audit.record(
        session,
        actor,
        action,
        object_type="contest",
        object_id=contest.id,
        contest_id=contest.id,
        data={
            "slug": contest.slug,
            "edition": edition,
            "code_prefix": contest.code_prefix,
            "rubric_version": 1,
            "sha256": rubric.sha256,
            **(data or {}),
        },
    )
    return contest


def ceremony_label(ceremony: str) -> str:
    """The name of a ceremony key of the rubrics (``opening``, ``closing``) in the user's language."""
    return {"opening": _("Opening ceremony"), "closing": _("Closing ceremony")}.get(ceremony, ceremony)


def list_contests(session: Session) -> list[Contest]:
    """The contests that are not archived (what the public, entrants and the day-to-day lists show)."""
    return list(session.scalars(select(Contest).where(Contest.archived_at.is_(None)).order_by(Contest.id)))


def public_contests(session: Session) -> list[Contest]:
    """The contests the public sees (pages, API, series): not archived, and not a collection of reports
    (nothing in one is judged or published)."""
    return [contest for contest in list_contests(session) if not is_collection(contest)]


def archived_contests(session: Session) -> list[Contest]:
    """The archived contests, most recently archived first (organisers see them under “Archived”)."""
    return list(
        session.scalars(select(Contest).where(Contest.archived_at.is_not(None)).order_by(Contest.archived_at.desc()))
    )


def get_contest(session: Session, slug: str, *, archived: bool = False) -> Contest:
    """The contest with this slug; an archived one only when ``archived`` (for organisers): for everyone
    else it does not exist."""
    contest = session.scalar(select(Contest).where(Contest.slug == slug))
    if contest is None or (contest.archived_at is not None and not archived):
        raise NotFound(_("No such contest."))
    return contest


def contests_without_rubric_file(session: Session, folder: str | Path) -> list[Contest]:
    """The contests not archived whose current rubric was loaded from a file of the rubric folder that
    is no longer there (contests made in the browser or from a template have no such file)."""
    root = Path(folder).resolve()
    gone = []
    for contest in list_contests(session):
        source = Path(contest.current_rubric.source)
        if source.suffix == ".toml" and source.parent.resolve() == root and not source.exists():
            gone.append(contest)
    return gone


def archive(session: Session, actor: User | None, contest: Contest) -> None:
    """Archive a contest, in whatever phase: hidden from the public pages and entrants' lists, read-only
    for everyone (the workflow refuses every action), still listed for organisers. Audited."""
    if contest.archived_at is not None:
        raise ServiceError(_("This contest is already archived."))
    contest.archived_at = utcnow()
    audit.record(
        session,
        actor,
        "contest.archive",
        object_type="contest",
        object_id=contest.id,
        contest_id=contest.id,
        data={"slug": contest.slug, "phase": contest.phase.value},
    )


def unarchive(session: Session, actor: User, contest: Contest) -> None:
    """Bring an archived contest back, in the phase it was archived in. Audited."""
    if contest.archived_at is None:
        raise ServiceError(_("This contest is not archived."))
    contest.archived_at = None
    audit.record(
        session,
        actor,
        "contest.unarchive",
        object_type="contest",
        object_id=contest.id,
        contest_id=contest.id,
        data={"slug": contest.slug, "phase": contest.phase.value},
    )


def change_phase(session: Session, actor: User, contest: Contest, target: Phase) -> None:
    """Make one of the workflow's plain moves (:func:`plain_move_targets`); other moves are refused."""
    move = workflow.move_between(contest.phase, target, collection=is_collection(contest))
    if move is None or move.with_result:
        raise ServiceError(_cannot_move(contest, target))
    require(move.action, contest)
    old = contest.phase
    contest.phase = move.target
    audit.record(
        session,
        actor,
        "contest.phase",
        object_type="contest",
        object_id=contest.id,
        contest_id=contest.id,
        data={"old": old.value, "new": move.target.value},
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
    refuse_when_archived(contest)
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
