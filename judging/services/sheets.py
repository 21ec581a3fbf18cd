"""Score sheets: what a judge records for an assigned entry.

Owns validating and saving a sheet (draft or submitted, with optimistic locking against a stale tab),
reading a sheet's values and total, finding a judge's active assignment to an entry, and an
organiser reopening a submitted sheet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session, contains_eager, joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from judging.models import (
    Assignment,
    AssignmentStatus,
    CheckAnswer,
    Contest,
    Entry,
    PaperSheet,
    Score,
    ScoreSheet,
    SheetStatus,
    User,
    utcnow,
)
from judging.rubric import Criterion, Rubric, format_points
from judging.services import NotFound, ServiceError, audit
from judging.services.contests import freeze_rubric_version, require
from judging.services.membership import on_panel
from judging.services.rounds import require_sheet_round_open, rubric_for_assignment
from judging.workflow import Action


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


@dataclass(frozen=True)
class SheetProblem:
    """One value of a sheet that cannot be kept: ``part`` is ``"criterion"`` or ``"check"``, ``key`` the
    rubric's key of that criterion or check, ``message`` what the judge reads next to the field."""

    part: str
    key: str
    message: str


class InvalidSheet(ServiceError):
    """Some values of a sheet cannot be kept; nothing is stored. Every problem is named, not only the first,
    so that the judge can mend them all at once."""

    def __init__(self, problems: list[SheetProblem]) -> None:
        super().__init__(
            ngettext(
                "The sheet has %(num)d problem; nothing was saved.",
                "The sheet has %(num)d problems; nothing was saved.",
                len(problems),
            )
        )
        self.sheet_problems = problems
        self.problems = [problem.message for problem in problems]


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


def checked_values(
    rubric: Rubric, scores: Mapping[str, object], checks: Mapping[str, bool] | None, *, submit: bool
) -> tuple[dict[str, Decimal], dict[str, bool]]:
    """The scores and check answers of a sheet, each score checked by :func:`parse_score`; a submitted
    sheet needs every score and every check answered. Raises :class:`InvalidSheet` naming every value that
    fails, in the rubric's order."""
    problems: list[SheetProblem] = []
    parsed: dict[str, Decimal] = {}
    for criterion in rubric.criteria:
        raw = scores.get(criterion.key)
        if raw is None or str(raw).strip() == "":
            if submit:
                message = _("%(label)s: a score is required to submit.", label=criterion.label)
                problems.append(SheetProblem("criterion", criterion.key, message))
            continue
        try:
            parsed[criterion.key] = parse_score(criterion, raw)
        except ServiceError as refusal:
            problems.append(SheetProblem("criterion", criterion.key, refusal.message))
    check_values = {c.key: bool(checks[c.key]) for c in rubric.checks if checks and c.key in checks}
    if submit:
        for check in rubric.checks:
            if check.key not in check_values:
                message = _("%(label)s: please answer this check.", label=check.label)
                problems.append(SheetProblem("check", check.key, message))
    if problems:
        raise InvalidSheet(problems)
    return parsed, check_values


@dataclass(frozen=True)
class SheetGaps:
    """What is left to fill in on a sheet before it can be submitted: criterion and check labels."""

    criteria: list[str]
    checks: list[str]

    @property
    def empty(self) -> bool:
        return not self.criteria and not self.checks


def sheet_gaps(rubric: Rubric, sheet: ScoreSheet | None) -> SheetGaps:
    """The rubric's criteria without a score and checks without an answer on ``sheet`` (all, without one)."""
    scored = {score.criterion for score in sheet.scores} if sheet is not None else set()
    answered = {answer.check_key for answer in sheet.check_answers} if sheet is not None else set()
    return SheetGaps(
        [c.label for c in rubric.criteria if c.key not in scored],
        [c.label for c in rubric.checks if c.key not in answered],
    )


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
    if not session.scalar(select(on_panel(judge.id, contest.id))):
        raise NotFound(_("No such entry among your assignments."))
    require(Action.SAVE_SHEETS, contest)
    require_sheet_round_open(session, contest, assignment)
    sheet = assignment.sheet
    if sheet is not None and session.scalar(select(PaperSheet.id).where(PaperSheet.sheet_id == sheet.id)):
        raise ServiceError(_("This sheet was entered from your signed paper sheet; it is changed on paper only."))
    if expected_version is not None and expected_version != (sheet.version if sheet else 0):
        raise StaleSheet()
    rubric = rubric_for_assignment(contest, assignment)
    parsed, check_values = checked_values(rubric, scores, checks, submit=submit)
    old = None
    if sheet is None:
        sheet = ScoreSheet(assignment=assignment, rubric_version=contest.current_rubric)
        session.add(sheet)
    else:
        old = sheet_values(sheet)
        # A sheet reopened by a rubric migration is remade with the version now in force.
        sheet.rubric_version = contest.current_rubric
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


def reopen_sheet(session: Session, actor: User, assignment: Assignment, reason: str) -> None:
    """An organiser sends a submitted sheet back to the judge as a draft, with a reason (audited)."""
    reason = reason.strip()
    sheet = assignment.sheet
    if sheet is None or sheet.status is not SheetStatus.SUBMITTED:
        raise ServiceError(_("Only a submitted sheet can be reopened."))
    if not reason:
        raise ServiceError(_("Please give the reason for reopening the sheet."))
    require(Action.REOPEN_SHEETS, assignment.entry.contest)
    require_sheet_round_open(session, assignment.entry.contest, assignment)
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
            insert(cast(Table, Score.__table__)),
            [{"sheet_id": sheet.id, "criterion": key, "value": value} for key, value in scores.items()],
        )
    if answers:
        session.execute(
            insert(cast(Table, CheckAnswer.__table__)),
            [{"sheet_id": sheet.id, "check_key": key, "passed": passed} for key, passed in answers.items()],
        )
    if scores or answers:
        session.expire(sheet, ["scores", "check_answers"])


def _active_assignment_query(entry_key: Any, *, in_round: bool) -> Any:
    """The judge's active assignment to one entry, with what saving or showing its sheet reads: the entry,
    its contest with its rubric versions, and the sheet (whose scores and answers follow in the sheet's
    own eager loads). ``in_round``: the assignment of the round named by the ``round`` parameter; else
    the judge's latest one (a judge on two rounds has the entry once per round: a later round's assignment
    is made only once the round before it is frozen, so the latest is the one still open)."""
    conditions = [
        Assignment.judge_id == bindparam("judge_id"),
        Assignment.status == AssignmentStatus.ASSIGNED,
        entry_key == bindparam("ref"),
        on_panel(Assignment.judge_id, Entry.contest_id),
    ]
    if in_round:
        conditions.append(Assignment.round_key == bindparam("round"))
    return (
        select(Assignment)
        .join(Assignment.entry)
        .where(*conditions)
        .options(
            contains_eager(Assignment.entry).joinedload(Entry.contest).joinedload(Contest.rubric_versions),
            joinedload(Assignment.sheet),
        )
        .order_by(Entry.contest_id.desc(), Assignment.id.desc())
        .limit(1)
    )


# Every sheet submission starts here, so the statements are built once: building a select with its loader
# options and computing its cache key cost more than running it (0.7 ms of 1.1 ms on SQLite).
_ASSIGNMENT_QUERIES = {
    (by_id, in_round): _active_assignment_query(Entry.id if by_id else Entry.code, in_round=in_round)
    for by_id in (True, False)
    for in_round in (True, False)
}


def active_assignment(session: Session, judge: User, ref: str, round_key: str | None = None) -> Assignment:
    """The judge's active (not recused) assignment to the entry with this code (or id), while the judge is
    on the contest's panel; else NotFound. With ``round_key`` that round's assignment (``NO_ROUND`` for a
    contest without rounds), without it the judge's latest one to the entry.

    One query, where lazy loads of the entry, contest, rubric versions and sheet took five.
    """
    by_id = ref.isdigit()
    parameters: dict[str, Any] = {"judge_id": judge.id, "ref": int(ref) if by_id else ref}
    if round_key is not None:
        parameters["round"] = round_key
    query = _ASSIGNMENT_QUERIES[(by_id, round_key is not None)]
    assignment = session.scalars(query, parameters).unique().first()
    if assignment is None:
        raise NotFound(_("No such entry among your assignments."))
    return assignment


def sheet_total(rubric: Rubric, sheet: ScoreSheet) -> Decimal | None:
    """A sheet's total = Σ weight × score over the rubric's criteria (DESIGN.md §3); None if incomplete."""
    values = {score.criterion: score.value for score in sheet.scores}
    if any(criterion.key not in values for criterion in rubric.criteria):
        return None
    return sum((criterion.weight * values[criterion.key] for criterion in rubric.criteria), Decimal(0))


def sheets_page(session: Session, contest: Contest, after: int | None, limit: int) -> list[ScoreSheet]:
    """Up to ``limit`` score sheets of a contest in the order they were created, those after the sheet
    ``after`` (by id), with their assignment's entry and judge (one page of an export; drafts too, each
    with its status; sheets created meanwhile come on a later page, none twice)."""
    query = (
        select(ScoreSheet)
        .join(Assignment)
        .join(Entry)
        .where(Entry.contest_id == contest.id)
        .options(selectinload(ScoreSheet.assignment).selectinload(Assignment.entry))
        .options(selectinload(ScoreSheet.assignment).selectinload(Assignment.judge))
        .order_by(ScoreSheet.id)
    )
    if after is not None:
        query = query.where(ScoreSheet.id > after)
    return list(session.scalars(query.limit(limit)))
