"""Judging: panels, assignments and score sheets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import groupby

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from judging.models import (
    Assignment,
    AssignmentStatus,
    CheckAnswer,
    Contest,
    Entry,
    EntryStatus,
    PanelMember,
    Phase,
    Score,
    ScoreSheet,
    SheetStatus,
    User,
    utcnow,
)
from judging.rubric import Criterion, Rubric
from judging.services import ServiceError, audit
from judging.services.contests import current_rubric, freeze_rubric_version

JUDGEABLE = (EntryStatus.SUBMITTED, EntryStatus.NOMINATED)


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
    return member


def has_conflict(rubric: Rubric, judge: User, entry: Entry) -> bool:
    """``conflict = "same_organization"``: a judge never scores an entry of the judge's own organisation."""
    if rubric.assignment is None or rubric.assignment.conflict != "same_organization":
        return False
    return judge.organization_id is not None and judge.organization_id == entry.organization_id


def assign_every_judge(session: Session, actor: User, contest: Contest) -> int:
    """``judges_per_entry = "all"``: every panel judge to every judgeable entry, but for conflicts."""
    rubric = current_rubric(contest)
    judges = [member.judge for member in contest.panel]
    entries = session.scalars(select(Entry).where(Entry.contest_id == contest.id, Entry.status.in_(JUDGEABLE)))
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
                max=criterion.max.normalize(),
            )
        )
    if value % criterion.step != 0:
        raise ServiceError(
            _(
                "%(label)s: the score must be a multiple of %(step)s.",
                label=criterion.label,
                step=criterion.step.normalize(),
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
) -> ScoreSheet:
    """Save a judge's sheet as a draft or submit it; every score is validated before anything is stored."""
    entry = assignment.entry
    contest = entry.contest
    if assignment.judge_id != judge.id or assignment.status is not AssignmentStatus.ASSIGNED:
        raise ServiceError(_("This entry is not assigned to you."))
    if contest.phase is not Phase.REVIEW:
        raise ServiceError(_("Scores can only be recorded while the contest is in review."))
    if contest.review_deadline and utcnow() > contest.review_deadline:
        raise ServiceError(_("The review deadline has passed."))
    rubric = current_rubric(contest)
    parsed: dict[str, Decimal] = {}
    for criterion in rubric.criteria:
        raw = scores.get(criterion.key)
        if raw is None or str(raw).strip() == "":
            if submit:
                raise ServiceError(_("%(label)s: a score is required to submit.", label=criterion.label))
            continue
        parsed[criterion.key] = parse_score(criterion, raw)
    check_values = dict(checks or {})
    if submit:
        for check in rubric.checks:
            if check.key not in check_values:
                raise ServiceError(_("%(label)s: please answer this check.", label=check.label))
    sheet = assignment.sheet
    old = None
    if sheet is None:
        sheet = ScoreSheet(assignment=assignment, rubric_version=contest.current_rubric)
        session.add(sheet)
    else:
        old = {s.criterion: str(s.value) for s in sheet.scores}
    _update_scores(sheet, parsed)
    _update_check_answers(sheet, {c.key: bool(check_values[c.key]) for c in rubric.checks if c.key in check_values})
    sheet.comment = comment.strip()
    sheet.status = SheetStatus.SUBMITTED if submit else SheetStatus.DRAFT
    sheet.submitted_at = utcnow() if submit else None
    freeze_rubric_version(contest.current_rubric)
    session.flush()
    audit.record(
        session,
        judge,
        "sheet.submit" if submit else "sheet.save",
        object_type="sheet",
        object_id=sheet.id,
        contest_id=contest.id,
        data={"entry": entry.code, "old": old, "new": {k: str(v) for k, v in parsed.items()}, "checks": check_values},
    )
    return sheet


def _update_scores(sheet: ScoreSheet, values: Mapping[str, Decimal]) -> None:
    # In place, not by replacing the collection: the unit of work inserts before it deletes, which
    # would trip the unique (sheet, criterion) constraint.
    by_key = {score.criterion: score for score in sheet.scores}
    for key, score in by_key.items():
        if key not in values:
            sheet.scores.remove(score)
    for key, value in values.items():
        if key in by_key:
            by_key[key].value = value
        else:
            sheet.scores.append(Score(criterion=key, value=value))


def _update_check_answers(sheet: ScoreSheet, values: Mapping[str, bool]) -> None:
    by_key = {answer.check_key: answer for answer in sheet.check_answers}
    for key, answer in by_key.items():
        if key not in values:
            sheet.check_answers.remove(answer)
    for key, passed in values.items():
        if key in by_key:
            by_key[key].passed = passed
        else:
            sheet.check_answers.append(CheckAnswer(check_key=key, passed=passed))


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


def progress_of_judge(session: Session, judge: User) -> list[JudgeProgress]:
    progress = []
    for contest, rows in groupby(assignments_of_judge(session, judge), key=lambda a: a.entry.contest):
        rows = list(rows)
        active = [a for a in rows if a.status is AssignmentStatus.ASSIGNED]
        done = sum(1 for a in active if a.sheet is not None and a.sheet.status is SheetStatus.SUBMITTED)
        progress.append(JudgeProgress(contest, rows, done, len(active)))
    return progress
