"""Judging: panels, assignments and score sheets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import groupby
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session, contains_eager, joinedload
from sqlalchemy.orm.exc import StaleDataError

from judging.assignment import assign_balanced
from judging.models import (
    Assignment,
    AssignmentStatus,
    CheckAnswer,
    Contest,
    Contestant,
    Entry,
    PanelMember,
    Phase,
    Role,
    Score,
    ScoreSheet,
    SheetStatus,
    User,
    utcnow,
)
from judging.rubric import Criterion, Rubric, format_points
from judging.services import NotFound, ServiceError, audit
from judging.services.contests import current_rubric, freeze_rubric_version
from judging.services.entries import judgeable_entries

MASK = "■■■"
"""Shown to a blind judge in place of the entrant's organisation or uploader named in an entry's text."""


class StaleSheet(ServiceError):
    """The sheet changed since the judge's form was loaded (another tab or device saved it first).

    Nothing is stored: the newer sheet stays as it is, and the caller shows the judge both versions.
    """

    def __init__(self) -> None:
        super().__init__(
            _(
                "This score sheet was changed in another window or device after you opened it. Nothing was "
                "saved: the stored scores are shown below next to what you typed; check them and save again."
            )
        )


def add_to_panel(session: Session, actor: User, contest: Contest, judge: User) -> PanelMember:
    existing = session.scalar(
        select(PanelMember).where(PanelMember.contest_id == contest.id, PanelMember.judge_id == judge.id)
    )
    if existing:
        return existing
    member = PanelMember(contest=contest, judge=judge)
    session.add(member)
    session.flush()
    audit.record(
        session,
        actor,
        "panel.add",
        object_type="user",
        object_id=judge.id,
        contest_id=contest.id,
        data={"judge": judge.username},
    )
    if _has_assignments(session, contest):
        assign_judges(session, actor, contest)  # a judge joining takes a share of the remaining work
    return member


def remove_from_panel(session: Session, actor: User, contest: Contest, judge: User) -> None:
    """Take a judge off the panel: assignments without a sheet go, sheets (and their assignments) stay.

    With ``judges_per_entry = k`` the freed entries are given to the remaining judges.
    """
    member = session.scalar(
        select(PanelMember).where(PanelMember.contest_id == contest.id, PanelMember.judge_id == judge.id)
    )
    if member is None:
        raise NotFound(_("This judge is not on the panel."))
    removed = 0
    for assignment in _assignments_of(session, contest):
        if assignment.judge_id == judge.id and assignment.sheet is None:
            session.delete(assignment)
            removed += 1
    session.delete(member)
    session.flush()
    audit.record(
        session,
        actor,
        "panel.remove",
        object_type="user",
        object_id=judge.id,
        contest_id=contest.id,
        data={"judge": judge.username, "assignments_removed": removed},
    )
    if _judges_per_entry(contest) != "all" and _has_assignments(session, contest):
        assign_judges(session, actor, contest)


def judges_off_panel(session: Session, contest: Contest) -> list[User]:
    """Active judge accounts that are not on the contest's panel, by name."""
    on_panel = {member.judge_id for member in contest.panel}
    return [
        user
        for user in session.scalars(select(User).where(User.role == Role.JUDGE).order_by(User.display_name))
        if user.id not in on_panel and user.active
    ]


def _judges_per_entry(contest: Contest) -> str | int:
    rubric = current_rubric(contest)
    return rubric.assignment.judges_per_entry if rubric.assignment else "all"


def _assignments_of(session: Session, contest: Contest) -> list[Assignment]:
    return list(session.scalars(select(Assignment).join(Entry).where(Entry.contest_id == contest.id)))


def _has_assignments(session: Session, contest: Contest) -> bool:
    return session.scalar(select(Assignment.id).join(Entry).where(Entry.contest_id == contest.id).limit(1)) is not None


def assign_judges(session: Session, actor: User, contest: Contest) -> int:
    """Run the contest's assignment rule (``judges_per_entry``): every judge, or a balanced k per entry."""
    if not contest.panel:
        raise ServiceError(_("Add judges to the panel first."))
    k = _judges_per_entry(contest)
    if k == "all":
        return assign_every_judge(session, actor, contest)
    return assign_balanced_judges(session, actor, contest, int(k))


def assign_balanced_judges(session: Session, actor: User, contest: Contest, k: int) -> int:
    """``judges_per_entry = k``: a balanced assignment (:func:`judging.assignment.assign_balanced`).

    Computed again from the current panel and entries each time: an assignment that has a sheet is kept,
    a recused judge is never given the entry again, conflicts are never assigned, and assignments without
    a sheet may move to even out the loads. Returns the number of assignments created.
    """
    rubric = current_rubric(contest)
    judges = [member.judge for member in sorted(contest.panel, key=lambda m: (m.joined_at, m.judge_id))]
    entries = judgeable_entries(session, contest)
    existing = {(a.entry_id, a.judge_id): a for a in _assignments_of(session, contest)}
    conflicts = {(e.id, j.id) for e in entries for j in judges if has_conflict(rubric, j, e)}
    conflicts |= {pair for pair, a in existing.items() if a.status is AssignmentStatus.RECUSED}
    keep = {pair for pair, a in existing.items() if a.status is AssignmentStatus.ASSIGNED and a.sheet is not None}
    target = assign_balanced([e.id for e in entries], [j.id for j in judges], k, conflicts=conflicts, keep=keep)
    wanted = {(entry_id, judge_id) for entry_id, panel in target.items() for judge_id in panel}
    removed = 0
    for pair, assignment in existing.items():
        if assignment.status is AssignmentStatus.ASSIGNED and assignment.sheet is None and pair not in wanted:
            session.delete(assignment)
            removed += 1
    created = 0
    for entry_id, judge_id in sorted(wanted - set(existing)):
        session.add(Assignment(entry_id=entry_id, judge_id=judge_id))
        created += 1
    session.flush()
    audit.record(
        session,
        actor,
        "assignment.balanced",
        contest_id=contest.id,
        data={"k": k, "created": created, "removed": removed, "kept_with_sheets": len(keep)},
    )
    return created


def has_conflict(rubric: Rubric, judge: User, entry: Entry) -> bool:
    """``conflict = "same_organization"``: a judge never scores an entry of the judge's own organisation."""
    if rubric.assignment is None or rubric.assignment.conflict != "same_organization":
        return False
    return judge.organization_id is not None and judge.organization_id == entry.organization_id


def assign_every_judge(session: Session, actor: User, contest: Contest) -> int:
    """``judges_per_entry = "all"``: every panel judge to every judgeable entry, but for conflicts."""
    rubric = current_rubric(contest)
    judges = [member.judge for member in contest.panel]
    entries = judgeable_entries(session, contest)
    existing = {
        (a.entry_id, a.judge_id)
        for a in session.scalars(select(Assignment).join(Entry).where(Entry.contest_id == contest.id))
    }
    created = 0
    for entry in entries:
        for judge in judges:
            if (entry.id, judge.id) in existing or has_conflict(rubric, judge, entry):
                continue
            session.add(Assignment(entry=entry, judge=judge))
            created += 1
    session.flush()
    audit.record(session, actor, "assignment.all", contest_id=contest.id, data={"created": created})
    return created


def parse_score(criterion: Criterion, raw: object) -> Decimal:
    """A score must be a number from 0 to the criterion's max, in multiples of its step."""
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise ServiceError(_("%(label)s: please enter a number.", label=criterion.label)) from None
    if not value.is_finite():
        raise ServiceError(_("%(label)s: please enter a number.", label=criterion.label))
    if value < 0 or value > criterion.max:
        raise ServiceError(
            _(
                "%(label)s: the score must be between 0 and %(max)s.",
                label=criterion.label,
                max=format_points(criterion.max),
            )
        )
    if value % criterion.step != 0:
        raise ServiceError(
            _(
                "%(label)s: the score must be a multiple of %(step)s.",
                label=criterion.label,
                step=format_points(criterion.step),
            )
        )
    return value.quantize(Decimal("0.01"))


def save_sheet(
    session: Session,
    judge: User,
    assignment: Assignment,
    *,
    scores: Mapping[str, object],
    checks: Mapping[str, bool] | None = None,
    comment: str = "",
    submit: bool = False,
    expected_version: int | None = None,
) -> ScoreSheet:
    """Save a judge's sheet as a draft or submit it; every score is validated before anything is stored.

    ``expected_version`` is the sheet version the judge's form was loaded with (0: no sheet yet). When the
    stored sheet has moved on, :class:`StaleSheet` is raised and nothing is written (optimistic locking;
    the version column also catches a save that races this check).
    """
    entry = assignment.entry
    contest = entry.contest
    if assignment.judge_id != judge.id or assignment.status is not AssignmentStatus.ASSIGNED:
        raise ServiceError(_("This entry is not assigned to you."))
    if contest.phase is not Phase.REVIEW:
        raise ServiceError(_("Scores can only be recorded while the contest is in review."))
    if contest.review_deadline and utcnow() > contest.review_deadline:
        raise ServiceError(_("The review deadline has passed."))
    sheet = assignment.sheet
    if expected_version is not None and expected_version != (sheet.version if sheet else 0):
        raise StaleSheet()
    rubric = current_rubric(contest)
    parsed: dict[str, Decimal] = {}
    for criterion in rubric.criteria:
        raw = scores.get(criterion.key)
        if raw is None or str(raw).strip() == "":
            if submit:
                raise ServiceError(_("%(label)s: a score is required to submit.", label=criterion.label))
            continue
        parsed[criterion.key] = parse_score(criterion, raw)
    check_values = {c.key: bool(checks[c.key]) for c in rubric.checks if checks and c.key in checks}
    if submit:
        for check in rubric.checks:
            if check.key not in check_values:
                raise ServiceError(_("%(label)s: please answer this check.", label=check.label))
    old = None
    if sheet is None:
        sheet = ScoreSheet(assignment=assignment, rubric_version=contest.current_rubric)
        session.add(sheet)
    else:
        old = sheet_values(sheet)
    new_scores = _update_scores(sheet, parsed)
    new_answers = _update_check_answers(sheet, check_values)
    sheet.comment = comment.strip()
    sheet.status = SheetStatus.SUBMITTED if submit else SheetStatus.DRAFT
    sheet.submitted_at = utcnow() if submit else None
    # Always touch the sheet row, even when only its scores changed: that is what bumps its version.
    sheet.updated_at = utcnow()
    freeze_rubric_version(contest.current_rubric)
    try:
        session.flush()
    except StaleDataError:
        raise StaleSheet() from None
    _insert_rows(session, sheet, new_scores, new_answers)
    audit.record(
        session,
        judge,
        "sheet.submit" if submit else "sheet.save",
        object_type="sheet",
        object_id=sheet.id,
        contest_id=contest.id,
        # What the sheet now holds: the scores and answers are exactly the validated ones (every other row
        # was removed), so they are not read back from the collections the inserts expired.
        data={"entry": entry.code, "old": old, "new": _values(sheet.status, parsed, check_values, sheet.comment)},
    )
    return sheet


def sheet_values(sheet: ScoreSheet) -> dict[str, Any]:
    """What a sheet holds, as plain values: for the audit log's old/new and to show a stored sheet."""
    return _values(
        sheet.status,
        {score.criterion: score.value for score in sheet.scores},
        {answer.check_key: answer.passed for answer in sheet.check_answers},
        sheet.comment,
    )


def _values(
    status: SheetStatus | None, scores: Mapping[str, Decimal], checks: Mapping[str, bool], comment: str | None
) -> dict[str, Any]:
    return {
        "status": status.value if status else SheetStatus.DRAFT.value,
        "scores": {criterion: str(value) for criterion, value in scores.items()},
        "checks": dict(checks),
        "comment": comment or "",
    }


def declare_conflict(session: Session, judge: User, assignment: Assignment, reason: str) -> None:
    """A judge declares a conflict of interest (回避): the assignment is recused with the reason.

    A sheet already written stays stored but no longer counts; with ``judges_per_entry = k`` another
    judge is assigned in the recused judge's place.
    """
    reason = reason.strip()
    if assignment.judge_id != judge.id or assignment.status is not AssignmentStatus.ASSIGNED:
        raise ServiceError(_("This entry is not assigned to you."))
    if not reason:
        raise ServiceError(_("Please give the reason for the conflict of interest."))
    contest = assignment.entry.contest
    if not open_for_conflicts(contest):
        raise ServiceError(_("Conflicts can only be declared before results are published."))
    old = {"status": assignment.status.value, "reason": assignment.recusal_reason}
    assignment.status = AssignmentStatus.RECUSED
    assignment.recusal_reason = reason
    assignment.recused_at = utcnow()
    session.flush()
    audit.record(
        session,
        judge,
        "assignment.recuse",
        object_type="assignment",
        object_id=assignment.id,
        contest_id=contest.id,
        data={"entry": assignment.entry.code, "old": old, "new": {"status": "recused", "reason": reason}},
    )
    if _judges_per_entry(contest) != "all":
        assign_judges(session, judge, contest)


def override_recusal(session: Session, actor: User, assignment: Assignment, reason: str) -> None:
    """An organiser overrides a declared conflict: the judge is assigned the entry again (audited)."""
    reason = reason.strip()
    if assignment.status is not AssignmentStatus.RECUSED:
        raise ServiceError(_("This assignment is not recused."))
    if not reason:
        raise ServiceError(_("Please give the reason for the override."))
    contest = assignment.entry.contest
    if has_conflict(current_rubric(contest), assignment.judge, assignment.entry):
        raise ServiceError(_("The judge belongs to the entrant's organisation: this conflict cannot be overridden."))
    old = {"status": assignment.status.value, "reason": assignment.recusal_reason}
    assignment.status = AssignmentStatus.ASSIGNED
    assignment.recused_at = None
    session.flush()
    audit.record(
        session,
        actor,
        "assignment.override",
        object_type="assignment",
        object_id=assignment.id,
        contest_id=contest.id,
        data={
            "entry": assignment.entry.code,
            "judge": assignment.judge.username,
            "old": old,
            "new": {"status": "assigned"},
            "reason": reason,
        },
    )


def reopen_sheet(session: Session, actor: User, assignment: Assignment, reason: str) -> None:
    """An organiser sends a submitted sheet back to the judge as a draft, with a reason (audited)."""
    reason = reason.strip()
    sheet = assignment.sheet
    if sheet is None or sheet.status is not SheetStatus.SUBMITTED:
        raise ServiceError(_("Only a submitted sheet can be reopened."))
    if not reason:
        raise ServiceError(_("Please give the reason for reopening the sheet."))
    if assignment.entry.contest.phase is not Phase.REVIEW:
        raise ServiceError(_("Sheets can only be reopened while the contest is in review."))
    old = sheet_values(sheet)
    sheet.status = SheetStatus.DRAFT
    sheet.submitted_at = None
    sheet.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        "sheet.reopen",
        object_type="sheet",
        object_id=sheet.id,
        contest_id=assignment.entry.contest_id,
        data={
            "entry": assignment.entry.code,
            "judge": assignment.judge.username,
            "old": old,
            "new": sheet_values(sheet),
            "reason": reason,
        },
    )


def submitted_assignments(session: Session, contest: Contest) -> list[Assignment]:
    """The contest's active assignments whose sheet is submitted (the ones an organiser may reopen)."""
    return list(
        session.scalars(
            select(Assignment)
            .join(Entry)
            .join(ScoreSheet)
            .where(
                Entry.contest_id == contest.id,
                Assignment.status == AssignmentStatus.ASSIGNED,
                ScoreSheet.status == SheetStatus.SUBMITTED,
            )
        )
    )


def get_assignment(session: Session, assignment_id: int) -> Assignment:
    assignment = session.get(Assignment, assignment_id)
    if assignment is None:
        raise NotFound(_("No such assignment."))
    return assignment


def _update_scores(sheet: ScoreSheet, values: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Change and remove the sheet's stored scores in place; the scores to insert are returned.

    In place, not by replacing the collection: the unit of work inserts before it deletes, which would
    trip the unique (sheet, criterion) constraint.
    """
    by_key = {score.criterion: score for score in sheet.scores}
    for key, score in by_key.items():
        if key not in values:
            sheet.scores.remove(score)
    for key, value in values.items():
        if key in by_key:
            by_key[key].value = value
    return {key: value for key, value in values.items() if key not in by_key}


def _update_check_answers(sheet: ScoreSheet, values: Mapping[str, bool]) -> dict[str, bool]:
    """As :func:`_update_scores`, for the answers to the rubric's checks."""
    by_key = {answer.check_key: answer for answer in sheet.check_answers}
    for key, answer in by_key.items():
        if key not in values:
            sheet.check_answers.remove(answer)
    for key, passed in values.items():
        if key in by_key:
            by_key[key].passed = passed
    return {key: passed for key, passed in values.items() if key not in by_key}


def _insert_rows(
    session: Session, sheet: ScoreSheet, scores: Mapping[str, Decimal], answers: Mapping[str, bool]
) -> None:
    """Insert a flushed sheet's new scores and answers, one statement per table.

    Through the unit of work each row would be an INSERT … RETURNING of its own on SQLite (no ordered
    multi-row RETURNING there): five statements for a three-criterion, two-check sheet, about 1.2 ms of
    the ~10 ms a submission costs. The sheet's collections are expired, so that they are read again
    (with these rows, in insertion order) when next used.
    """
    if scores:
        session.execute(
            insert(Score.__table__),
            [{"sheet_id": sheet.id, "criterion": key, "value": value} for key, value in scores.items()],
        )
    if answers:
        session.execute(
            insert(CheckAnswer.__table__),
            [{"sheet_id": sheet.id, "check_key": key, "passed": passed} for key, passed in answers.items()],
        )
    if scores or answers:
        session.expire(sheet, ["scores", "check_answers"])


def assignments_of_judge(session: Session, judge: User) -> list[Assignment]:
    return list(
        session.scalars(
            select(Assignment).where(Assignment.judge_id == judge.id).join(Entry).order_by(Entry.contest_id, Entry.code)
        )
    )


@dataclass(frozen=True)
class JudgeProgress:
    """One contest's assignments of a judge, and how many active ones have a submitted sheet."""

    contest: Contest
    assignments: list[Assignment]
    done: int
    total: int

    @property
    def percent(self) -> int:
        return 100 * self.done // self.total if self.total else 0

    @property
    def open_for_scores(self) -> bool:
        return open_for_scores(self.contest)

    def by_state(self) -> dict[str, list[Assignment]]:
        """The assignments grouped as the judge works through them: to do, draft, done, recused."""
        groups: dict[str, list[Assignment]] = {"todo": [], "draft": [], "done": [], "recused": []}
        for assignment in self.assignments:
            groups[assignment_state(assignment)].append(assignment)
        return groups


def assignment_state(assignment: Assignment) -> str:
    """``todo`` (no sheet), ``draft``, ``done`` (submitted) or ``recused``."""
    if assignment.status is AssignmentStatus.RECUSED:
        return "recused"
    if assignment.sheet is None:
        return "todo"
    return "done" if assignment.sheet.status is SheetStatus.SUBMITTED else "draft"


def open_for_scores(contest: Contest) -> bool:
    """Whether judges can still save sheets: the contest is in review and its review deadline has not passed."""
    return contest.phase is Phase.REVIEW and (contest.review_deadline is None or utcnow() <= contest.review_deadline)


def open_for_conflicts(contest: Contest) -> bool:
    """Whether a judge can still declare a conflict of interest: until the result is frozen."""
    return contest.phase is Phase.OPEN or contest.phase is Phase.REVIEW


def progress_of_judge(session: Session, judge: User) -> list[JudgeProgress]:
    """A judge's assignments per contest: the contests still open for scores first, then the closed ones."""
    progress = []
    for contest, rows in groupby(assignments_of_judge(session, judge), key=lambda a: a.entry.contest):
        rows = list(rows)
        active = [a for a in rows if a.status is AssignmentStatus.ASSIGNED]
        done = sum(1 for a in active if a.sheet is not None and a.sheet.status is SheetStatus.SUBMITTED)
        progress.append(JudgeProgress(contest, rows, done, len(active)))
    return sorted(progress, key=lambda group: not group.open_for_scores)


def _active_assignment_query(entry_key: Any) -> Any:
    """The judge's active assignment to one entry, with what saving or showing its sheet reads: the entry,
    its contest with its rubric versions, and the sheet (whose scores and answers follow in the sheet's
    own eager loads)."""
    return (
        select(Assignment)
        .join(Assignment.entry)
        .where(
            Assignment.judge_id == bindparam("judge_id"),
            Assignment.status == AssignmentStatus.ASSIGNED,
            entry_key == bindparam("ref"),
        )
        .options(
            contains_eager(Assignment.entry).joinedload(Entry.contest).joinedload(Contest.rubric_versions),
            joinedload(Assignment.sheet),
        )
        .order_by(Entry.contest_id.desc())
        .limit(1)
    )


# Every sheet submission starts here, so the statements are built once: building a select with its loader
# options and computing its cache key cost more than running it (0.7 ms of 1.1 ms on SQLite).
_ASSIGNMENT_BY_ENTRY_ID = _active_assignment_query(Entry.id)
_ASSIGNMENT_BY_ENTRY_CODE = _active_assignment_query(Entry.code)


def active_assignment(session: Session, judge: User, ref: str) -> Assignment:
    """The judge's active (not recused) assignment to the entry with this code (or id); else NotFound.

    One query, where lazy loads of the entry, contest, rubric versions and sheet took five.
    """
    if ref.isdigit():
        query, key = _ASSIGNMENT_BY_ENTRY_ID, int(ref)
    else:
        query, key = _ASSIGNMENT_BY_ENTRY_CODE, ref
    assignment = session.scalars(query, {"judge_id": judge.id, "ref": key}).unique().first()
    if assignment is None:
        raise NotFound(_("No such entry among your assignments."))
    return assignment


def is_blind(contest: Contest) -> bool:
    rubric = current_rubric(contest)
    return bool(rubric.assignment and rubric.assignment.blind)


@dataclass(frozen=True)
class EntryForJudge:
    """What a judge is shown of an entry; while blind, names of the entrant are masked out of its text."""

    code: str
    title: str
    summary: str
    fields: list[tuple[str, str]]
    blind: bool
    task: bool = False
    """A contestant's task for a judged part of a skills contest: performed on site, no uploaded work."""


def entry_for_judge(session: Session, entry: Entry) -> EntryForJudge:
    """The entry as its judges see it: the code, the work's text and fields, never who made it while blind.

    Entrants sometimes name themselves in a title or field (“浦东新区的作品”); while the contest is blind
    every occurrence of the organisation's name, its parent's name and the uploader's names is masked.
    A contestant's task (title: the contestant's number and the part) is shown blind as the part alone.
    """
    blind = is_blind(entry.contest)
    rubric = current_rubric(entry.contest)
    task = entry.contestant_id is not None
    names: list[str] = []
    if blind:
        names = [entry.organization.name]
        if entry.organization.parent is not None:
            names.append(entry.organization.parent.name)
        uploader = session.get(User, entry.created_by_id) if entry.created_by_id else None
        if uploader is not None:
            names += [uploader.display_name, uploader.username]
        contestant = session.get(Contestant, entry.contestant_id) if task else None
        if contestant is not None:
            names += [contestant.name, contestant.number]
        names = sorted({n for n in names if n}, key=len, reverse=True)

    def shown(text: object) -> str:
        value = "" if text is None else str(text)
        for name in names:
            value = value.replace(name, MASK)
        return value

    labels = {field.key: field.label for field in (rubric.entry.fields if rubric.entry else ())}
    fields = [
        (labels.get(key, key), shown(value)) for key, value in (entry.fields or {}).items() if value not in ("", None)
    ]
    title = shown(entry.title)
    if task and blind:
        title = next((part.label for part in rubric.parts if part.key == entry.category), MASK)
    return EntryForJudge(entry.code, title, shown(entry.summary), fields, blind, task)


def sheet_total(rubric: Rubric, sheet: ScoreSheet) -> Decimal | None:
    """A sheet's total = Σ weight × score over the rubric's criteria (DESIGN.md §3); None if incomplete."""
    values = {score.criterion: score.value for score in sheet.scores}
    if any(criterion.key not in values for criterion in rubric.criteria):
        return None
    return sum((criterion.weight * values[criterion.key] for criterion in rubric.criteria), Decimal(0))


@dataclass(frozen=True)
class Cell:
    """One judge × entry square of the organiser's matrix: ``state`` is one of
    ``none`` (not assigned), ``todo``, ``draft``, ``done``, ``recused``."""

    state: str
    assignment: Assignment | None = None
    total: Decimal | None = None


@dataclass(frozen=True)
class JudgeRow:
    judge: User
    cells: list[Cell]
    done: int
    total: int
    behind: bool

    @property
    def percent(self) -> int:
        return 100 * self.done // self.total if self.total else 0

    @property
    def open_for_scores(self) -> bool:
        return open_for_scores(self.contest)


@dataclass(frozen=True)
class Disagreement:
    """An entry whose submitted sheet totals lie further apart than the allowed spread."""

    entry: Entry
    lowest: Decimal
    highest: Decimal

    @property
    def spread(self) -> Decimal:
        return self.highest - self.lowest


@dataclass(frozen=True)
class PanelProgress:
    entries: list[Entry]
    rows: list[JudgeRow]
    done: int
    total: int
    disagreements: list[Disagreement]
    recusals: list[Assignment]

    @property
    def percent(self) -> int:
        return 100 * self.done // self.total if self.total else 0

    @property
    def open_for_scores(self) -> bool:
        return open_for_scores(self.contest)


def panel_progress(session: Session, contest: Contest, allowed_spread: Decimal) -> PanelProgress:
    """The organiser's view of judging: the judges × entries matrix, who is behind, and disagreements.

    A judge is *behind* when the judge still has sheets to submit and has submitted a smaller share of
    them than the panel as a whole. An entry is flagged when the highest and lowest totals of its
    submitted sheets differ by more than ``allowed_spread`` points.
    """
    rubric = current_rubric(contest)
    entries = judgeable_entries(session, contest)
    judges = sorted((m.judge for m in contest.panel), key=lambda j: (j.display_name, j.id))
    assignments = {(a.entry_id, a.judge_id): a for a in _assignments_of(session, contest)}
    for assignment in assignments.values():
        if assignment.judge not in judges:
            judges.append(assignment.judge)  # off the panel, but their sheets still count
    totals: dict[int, list[Decimal]] = {entry.id: [] for entry in entries}
    raw_rows = []
    for judge in judges:
        cells = []
        done = total = 0
        for entry in entries:
            assignment = assignments.get((entry.id, judge.id))
            if assignment is None:
                cells.append(Cell("none"))
                continue
            if assignment.status is AssignmentStatus.RECUSED:
                cells.append(Cell("recused", assignment))
                continue
            total += 1
            sheet = assignment.sheet
            if sheet is None:
                cells.append(Cell("todo", assignment))
            elif sheet.status is SheetStatus.DRAFT:
                cells.append(Cell("draft", assignment))
            else:
                done += 1
                sheet_sum = sheet_total(rubric, sheet)
                if sheet_sum is not None:
                    totals[entry.id].append(sheet_sum)
                cells.append(Cell("done", assignment, sheet_sum))
        raw_rows.append((judge, cells, done, total))
    all_done = sum(row[2] for row in raw_rows)
    all_total = sum(row[3] for row in raw_rows)
    rows = [
        JudgeRow(judge, cells, done, total, behind=done < total and done * all_total < all_done * total)
        for judge, cells, done, total in raw_rows
    ]
    disagreements = [
        Disagreement(entry, min(totals[entry.id]), max(totals[entry.id]))
        for entry in entries
        if len(totals[entry.id]) >= 2 and max(totals[entry.id]) - min(totals[entry.id]) > allowed_spread
    ]
    recusals = [a for a in assignments.values() if a.status is AssignmentStatus.RECUSED]
    recusals.sort(key=lambda a: a.recused_at or a.created_at, reverse=True)
    return PanelProgress(entries, rows, all_done, all_total, disagreements, recusals)
