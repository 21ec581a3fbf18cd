"""Double entry of paper score sheets: clerks type the judges' signed sheets twice, only agreement counts.

Who: an organiser names *clerks* for a contest (:class:`PaperClerk`, a per-contest grant like a panel
seat; the account keeps its judge or organiser role, entrants cannot be clerks, nor can a judge of the
contest's panel). A contest with clerks takes paper sheets.

The rule, from the clerk's side:

- a clerk types one judge's sheet for one entry: the judge's paper sheet number, every score and check
  answer (validated as the web sheet is: :func:`judging.services.sheets.checked_values`) and the comment;
- two different clerks type each sheet (slots 1 and 2; the judge of the sheet never types it); a clerk
  sees only what they typed, and may correct it only until the second entry arrives;
- when both entries agree on every field (:func:`differences`), the sheet becomes the judge's submitted
  sheet at once, recorded as entered from paper no. X by both clerks (:class:`PaperSheet`);
- when they disagree, nothing counts: the pair waits for a third look, by an organiser or a third clerk,
  who settles each differing field with the paper in hand (:func:`settle_pair`), with a reason;
- until then the sheet is simply missing: results, progress and freezing see no sheet, and
  :func:`paper_backlog` says how many wait for a second entry or a settlement.

Every entry, agreement and settlement is audited; the sheet's own event is an ordinary ``sheet.submit``
(with a ``paper`` part), so ``flask audit verify`` replays it like any sheet, and it also holds every
stored paper entry against the audit log (:func:`paper_findings`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from judging.models import (
    Assignment,
    AssignmentStatus,
    AuditEvent,
    CheckAnswer,
    Contest,
    Entry,
    PaperClerk,
    PaperEntry,
    PaperSheet,
    Role,
    Score,
    ScoreSheet,
    SheetStatus,
    User,
    utcnow,
)
from judging.rubric import Rubric, format_points
from judging.services import NotFound, ServiceError, audit
from judging.services.contests import current_rubric, freeze_rubric_version, require
from judging.services.membership import on_panel
from judging.services.rounds import RoundView, require_sheet_round_open, round_views, rubric_for_assignment
from judging.services.sheets import checked_values, parse_score, sheet_values
from judging.workflow import Action, RoundStatus

PAPER_NUMBER_LENGTH = 40
NUMBER_FIELD = "paper_number"
COMMENT_FIELD = "comment"
ENTRY_ACTION = "paper.enter"


# --- clerks ---------------------------------------------------------------------------------------------


def clerks_of(session: Session, contest: Contest) -> list[PaperClerk]:
    """The contest's clerks, by name."""
    return list(
        session.scalars(
            select(PaperClerk)
            .join(User, PaperClerk.user_id == User.id)
            .where(PaperClerk.contest_id == contest.id)
            .order_by(User.display_name, User.id)
        )
    )


def is_clerk(session: Session, user: User, contest: Contest) -> bool:
    return (
        session.scalar(select(PaperClerk.id).where(PaperClerk.contest_id == contest.id, PaperClerk.user_id == user.id))
        is not None
    )


def clerk_contests(session: Session, user: User) -> list[Contest]:
    """The contests whose paper sheets ``user`` may type."""
    return list(
        session.scalars(
            select(Contest)
            .join(PaperClerk, PaperClerk.contest_id == Contest.id)
            .where(PaperClerk.user_id == user.id)
            .order_by(Contest.id)
        )
    )


def clerk_candidates(session: Session, contest: Contest) -> list[User]:
    """Active judge and organiser accounts that may be named clerks: not entrants, not on the panel,
    not already clerks."""
    named = select(PaperClerk.user_id).where(PaperClerk.contest_id == contest.id)
    return list(
        session.scalars(
            select(User)
            .where(
                User.role.in_((Role.JUDGE, Role.ORGANIZER)),
                User.active.is_(True),
                User.id.not_in(named),
                ~on_panel(User.id, contest.id),
            )
            .order_by(User.display_name, User.id)
        )
    )


def name_clerk(session: Session, actor: User, contest: Contest, user: User) -> PaperClerk:
    """An organiser names ``user`` a clerk of the contest (turning paper entry on); audited."""
    require(Action.CHANGE_PANEL, contest)
    if user.role is Role.ENTRANT:
        raise ServiceError(_("An entrant's account cannot type score sheets."))
    if not user.active:
        raise ServiceError(_("%(name)s's account is deactivated; it cannot type score sheets.", name=user.display_name))
    if session.scalar(select(on_panel(user.id, contest.id))):
        raise ServiceError(
            _("%(name)s sits on this contest's panel; a judge cannot type paper sheets.", name=user.display_name)
        )
    if is_clerk(session, user, contest):
        raise ServiceError(_("%(name)s is already a clerk of this contest.", name=user.display_name))
    clerk = PaperClerk(contest_id=contest.id, user_id=user.id, named_by_id=actor.id)
    session.add(clerk)
    session.flush()
    audit.record(
        session,
        actor,
        "paper.clerk_add",
        object_type="user",
        object_id=user.id,
        contest_id=contest.id,
        data={"clerk": user.username},
    )
    return clerk


def remove_clerk(session: Session, actor: User, contest: Contest, user: User) -> None:
    """An organiser takes a clerk off the contest; what the clerk typed stays. Audited."""
    require(Action.CHANGE_PANEL, contest)
    clerk = session.scalar(select(PaperClerk).where(PaperClerk.contest_id == contest.id, PaperClerk.user_id == user.id))
    if clerk is None:
        raise ServiceError(_("%(name)s is not a clerk of this contest.", name=user.display_name))
    session.delete(clerk)
    session.flush()
    audit.record(
        session,
        actor,
        "paper.clerk_remove",
        object_type="user",
        object_id=user.id,
        contest_id=contest.id,
        data={"clerk": user.username},
    )


# --- typing a sheet -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldDifference:
    """One field on which the two entries of a paper sheet differ: ``field`` is ``paper_number``,
    ``comment``, ``score_<criterion>`` or ``check_<check>``; values as typed (None: left empty)."""

    field: str
    label: str
    first: str | None
    second: str | None


def _entry_values(paper_number: str, scores: Mapping[str, Decimal], checks: Mapping[str, bool], comment: str) -> dict:
    return {
        "paper_number": paper_number,
        "scores": {key: str(value) for key, value in scores.items()},
        "checks": dict(checks),
        "comment": comment,
    }


def entry_values(entry: PaperEntry) -> dict[str, Any]:
    """What a paper entry holds, as plain values (as in its audit event)."""
    return {
        "paper_number": entry.paper_number,
        "scores": dict(entry.scores),
        "checks": dict(entry.checks),
        "comment": entry.comment,
    }


def _same_text(first: str, second: str) -> bool:
    """Comments agree when they read the same: spacing and line breaks are not what the judge wrote."""
    return " ".join(first.split()) == " ".join(second.split())


def differences(rubric: Rubric, first: PaperEntry, second: PaperEntry) -> list[FieldDifference]:
    """Every field on which two entries of the same paper sheet differ, in the sheet's order: the paper
    number, each criterion's score (compared as exact numbers), each check answer, the comment."""
    found: list[FieldDifference] = []
    if first.paper_number != second.paper_number:
        found.append(FieldDifference(NUMBER_FIELD, _("Paper sheet number"), first.paper_number, second.paper_number))
    for criterion in rubric.criteria:
        a, b = first.scores.get(criterion.key), second.scores.get(criterion.key)
        if (Decimal(a) if a is not None else None) != (Decimal(b) if b is not None else None):
            found.append(
                FieldDifference(
                    "score_" + criterion.key,
                    criterion.label,
                    None if a is None else format_points(Decimal(a)),
                    None if b is None else format_points(Decimal(b)),
                )
            )
    for check in rubric.checks:
        a_answer, b_answer = first.checks.get(check.key), second.checks.get(check.key)
        if a_answer != b_answer:
            found.append(FieldDifference("check_" + check.key, check.label, _yes_no(a_answer), _yes_no(b_answer)))
    if not _same_text(first.comment, second.comment):
        found.append(FieldDifference(COMMENT_FIELD, _("Comment"), first.comment, second.comment))
    return found


def _yes_no(answer: bool | None) -> str | None:
    if answer is None:
        return None
    return _("Yes") if answer else _("No")


def paper_round(session: Session, contest: Contest) -> RoundView | None:
    """The judging round whose paper sheets the clerks type: the round open for sheets (a round is frozen
    before the next opens, so there is one at most); None for a contest without rounds, or with none open."""
    return next((view for view in round_views(session, contest) if view.status is RoundStatus.OPEN), None)


def paper_rubric(session: Session, contest: Contest) -> Rubric:
    """What the clerks type: the open round's sheet (its criteria, or its pass/fail question) in a contest
    with rounds, else the contest's."""
    view = paper_round(session, contest)
    return current_rubric(contest).for_round(view.spec.key) if view else current_rubric(contest)


def assignment_for_paper(session: Session, contest: Contest, entry_code: str, judge_id: int) -> Assignment:
    """The active assignment of a panel judge to the contest's entry with this code (in a contest with
    rounds, in the round open for sheets); else NotFound."""
    view = paper_round(session, contest)
    in_round = (Assignment.round_key == view.spec.key,) if view else ()
    assignment = session.scalar(
        select(Assignment)
        .join(Entry, Assignment.entry_id == Entry.id)
        .where(
            Entry.contest_id == contest.id,
            Entry.code == entry_code.strip(),
            Assignment.judge_id == judge_id,
            Assignment.status == AssignmentStatus.ASSIGNED,
            on_panel(Assignment.judge_id, contest.id),
            *in_round,
        )
        # A judge on two rounds' panels has the entry in both: with no round open, the latest round's.
        .order_by(Assignment.id.desc())
        .limit(1)
    )
    if assignment is None:
        raise NotFound(_("This judge has no sheet for an entry with that code in this contest."))
    return assignment


@dataclass(frozen=True)
class PaperOutcome:
    """What typing an entry led to: ``state`` is ``waiting`` (the other entry is still to come),
    ``counted`` (both agree: the sheet is submitted) or ``disagreement`` (a third look is needed)."""

    state: str
    entry: PaperEntry
    sheet: ScoreSheet | None = None


def enter_paper_sheet(
    session: Session,
    clerk: User,
    contest: Contest,
    assignment: Assignment,
    *,
    paper_number: str,
    scores: Mapping[str, object],
    checks: Mapping[str, bool] | None,
    comment: str = "",
) -> PaperOutcome:
    """A clerk types (or, before the second entry exists, corrects) one paper sheet.

    Refused, with nothing stored: a user who is not a clerk of the contest, the sheet's own judge, a
    sheet already submitted (on the web or from paper), a third entry, a change once both entries are in,
    and any value the web sheet would refuse (every problem is named, see :class:`InvalidSheet`).
    """
    if not is_clerk(session, clerk, contest):
        raise NotFound(_("You are not a clerk of this contest."))
    if assignment.entry.contest_id != contest.id:
        raise NotFound(_("This judge has no sheet for an entry with that code in this contest."))
    require(Action.SAVE_SHEETS, contest)
    require_sheet_round_open(session, contest, assignment)
    if assignment.judge_id == clerk.id:
        raise ServiceError(_("A judge's own sheet is typed by two other clerks."))
    if assignment.sheet is not None and assignment.sheet.status is SheetStatus.SUBMITTED:
        raise ServiceError(_("This judge's sheet for this entry is already submitted; it cannot be typed again."))
    number = paper_number.strip()
    if not number:
        raise ServiceError(_("Please type the number printed on the judge's paper sheet."))
    if len(number) > PAPER_NUMBER_LENGTH:
        raise ServiceError(_("The paper sheet number is at most %(count)d characters long.", count=PAPER_NUMBER_LENGTH))
    rubric = rubric_for_assignment(contest, assignment)
    parsed, check_values = checked_values(rubric, scores, checks, submit=True)
    values = _entry_values(number, parsed, check_values, comment.strip())
    # One sheet's entries are written one at a time (PostgreSQL: a row lock on the assignment), so that
    # the second entry is compared with the first as it stands, not as a concurrent retyping left it.
    session.execute(select(Assignment.id).where(Assignment.id == assignment.id).with_for_update())
    entries = _entries_of(session, assignment)
    own = next((entry for entry in entries if entry.clerk_id == clerk.id), None)
    if len(entries) == 2:
        if own is not None:
            raise ServiceError(
                _(
                    "Both entries of this sheet are in: yours can no longer be changed. A disagreement is settled "
                    "on the reconciliation page."
                )
            )
        raise ServiceError(_("Two clerks have already typed this sheet."))
    old = None
    if own is None:
        slot = 2 if entries else 1
        own = PaperEntry(assignment_id=assignment.id, slot=slot, clerk_id=clerk.id)
        session.add(own)
    else:
        old = entry_values(own)
    own.paper_number = values["paper_number"]
    own.scores = values["scores"]
    own.checks = values["checks"]
    own.comment = values["comment"]
    own.updated_at = utcnow()
    try:
        session.flush()
    except IntegrityError:  # a second entry raced this one into the same slot; the caller rolls back
        raise ServiceError(_("Another clerk typed this sheet at the same moment; please look again.")) from None
    audit.record(
        session,
        clerk,
        ENTRY_ACTION,
        object_type="paper_entry",
        object_id=own.id,
        contest_id=contest.id,
        data={
            "entry": assignment.entry.code,
            "judge": assignment.judge.username,
            "slot": own.slot,
            "old": old,
            "new": values,
        },
    )
    others = [entry for entry in entries if entry.clerk_id != clerk.id]
    if not others:
        return PaperOutcome("waiting", own)
    first, second = sorted([others[0], own], key=lambda entry: entry.slot)
    found = differences(rubric, first, second)
    if found:
        audit.record(
            session,
            clerk,
            "paper.disagree",
            object_type="assignment",
            object_id=assignment.id,
            contest_id=contest.id,
            data={
                "entry": assignment.entry.code,
                "judge": assignment.judge.username,
                "fields": [difference.field for difference in found],
            },
        )
        return PaperOutcome("disagreement", own)
    sheet = _submit_from_paper(session, clerk, assignment, rubric, first, second, values=entry_values(first))
    return PaperOutcome("counted", own, sheet)


def _entries_of(session: Session, assignment: Assignment) -> list[PaperEntry]:
    return list(
        session.scalars(select(PaperEntry).where(PaperEntry.assignment_id == assignment.id).order_by(PaperEntry.slot))
    )


def _submit_from_paper(
    session: Session,
    actor: User,
    assignment: Assignment,
    rubric: Rubric,
    first: PaperEntry,
    second: PaperEntry,
    *,
    values: Mapping[str, Any],
    settled_by: User | None = None,
    reason: str = "",
    settlement: Mapping[str, Any] | None = None,
) -> ScoreSheet:
    """Make the agreed (or settled) values the judge's submitted sheet, recorded as from paper."""
    contest = assignment.entry.contest
    parsed, check_values = checked_values(rubric, values["scores"], values["checks"], submit=True)
    sheet = assignment.sheet
    old = None
    if sheet is None:
        sheet = ScoreSheet(assignment=assignment, rubric_version=contest.current_rubric)
        session.add(sheet)
    else:  # a draft the judge began on the web: the signed paper replaces it
        old = sheet_values(sheet)
        sheet.rubric_version = contest.current_rubric
        sheet.scores.clear()
        sheet.check_answers.clear()
        session.flush()
    sheet.status = SheetStatus.SUBMITTED
    sheet.comment = str(values["comment"])
    now = utcnow()
    sheet.submitted_at = now
    sheet.updated_at = now
    for key, value in parsed.items():
        sheet.scores.append(Score(criterion=key, value=value))
    for key, passed in check_values.items():
        sheet.check_answers.append(CheckAnswer(check_key=key, passed=passed))
    freeze_rubric_version(contest.current_rubric)
    session.flush()
    record = PaperSheet(
        sheet_id=sheet.id,
        paper_number=str(values["paper_number"]),
        first_clerk_id=first.clerk_id,
        second_clerk_id=second.clerk_id,
        settled_by_id=settled_by.id if settled_by else None,
        settled_at=now if settled_by else None,
        settlement_reason=reason,
        settlement=dict(settlement or {}),
    )
    session.add(record)
    session.flush()
    paper = {
        "number": record.paper_number,
        "clerks": [first.clerk.username, second.clerk.username],
        "settled_by": settled_by.username if settled_by else None,
    }
    audit.record(
        session,
        actor,
        "sheet.submit",
        object_type="sheet",
        object_id=sheet.id,
        contest_id=contest.id,
        data={
            "entry": assignment.entry.code,
            "judge": assignment.judge.username,
            "old": old,
            "new": {
                "status": SheetStatus.SUBMITTED.value,
                "scores": {key: str(value) for key, value in parsed.items()},
                "checks": dict(check_values),
                "comment": sheet.comment,
            },
            "paper": paper,
        },
    )
    return sheet


# --- the third look -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaperPair:
    """A paper sheet that does not count yet: one entry waiting for the second, or two that disagree."""

    assignment: Assignment
    entries: list[PaperEntry]
    differences: list[FieldDifference]

    @property
    def waiting(self) -> bool:
        return len(self.entries) < 2


@dataclass(frozen=True)
class PaperBacklog:
    """How many paper sheets do not count yet, and why."""

    waiting: int
    disagreements: int

    @property
    def empty(self) -> bool:
        return not self.waiting and not self.disagreements


def open_pairs(session: Session, contest: Contest) -> list[PaperPair]:
    """The contest's paper sheets that do not count yet (no submitted sheet), by entry code and judge:
    those waiting for a second entry and those whose two entries disagree (compared on the sheet of the
    assignment's round)."""
    entries = session.scalars(
        select(PaperEntry)
        .join(Assignment, PaperEntry.assignment_id == Assignment.id)
        .join(Entry, Assignment.entry_id == Entry.id)
        .outerjoin(ScoreSheet, ScoreSheet.assignment_id == Assignment.id)
        .where(
            Entry.contest_id == contest.id,
            Assignment.status == AssignmentStatus.ASSIGNED,
            (ScoreSheet.id.is_(None)) | (ScoreSheet.status != SheetStatus.SUBMITTED),
        )
        .options(selectinload(PaperEntry.clerk), selectinload(PaperEntry.assignment).selectinload(Assignment.judge))
        .order_by(Entry.code, Assignment.judge_id, PaperEntry.slot)
    )
    by_assignment: dict[int, list[PaperEntry]] = {}
    for entry in entries:
        by_assignment.setdefault(entry.assignment_id, []).append(entry)
    pairs = []
    for group in by_assignment.values():
        rubric = rubric_for_assignment(contest, group[0].assignment)
        found = differences(rubric, group[0], group[1]) if len(group) == 2 else []
        pairs.append(PaperPair(group[0].assignment, group, found))
    return pairs


def paper_backlog(session: Session, contest: Contest) -> PaperBacklog:
    """How many of the contest's paper sheets wait for a second entry, and how many for a settlement."""
    pairs = open_pairs(session, contest)
    waiting = sum(1 for pair in pairs if pair.waiting)
    return PaperBacklog(waiting, len(pairs) - waiting)


def backlog_message(backlog: PaperBacklog) -> str:
    """What the results, progress and freezing pages say about paper sheets that do not count yet."""
    parts = []
    if backlog.waiting:
        parts.append(
            ngettext(
                "%(num)d paper sheet awaits a second entry",
                "%(num)d paper sheets await a second entry",
                backlog.waiting,
            )
        )
    if backlog.disagreements:
        parts.append(ngettext("%(num)d disagreement", "%(num)d disagreements", backlog.disagreements))
    return _("%(what)s: they do not count until they are reconciled.", what=" / ".join(parts))


def may_settle(session: Session, user: User, contest: Contest, pair: PaperPair) -> bool:
    """An organiser, or a clerk of the contest; either way someone who typed neither entry (an organiser
    may be a clerk too) and is not the sheet's judge."""
    if any(entry.clerk_id == user.id for entry in pair.entries) or pair.assignment.judge_id == user.id:
        return False
    return user.role is Role.ORGANIZER or is_clerk(session, user, contest)


def pair_of(session: Session, contest: Contest, assignment_id: int) -> PaperPair:
    """The open pair of one assignment of the contest; NotFound when there is none."""
    pair = next((p for p in open_pairs(session, contest) if p.assignment.id == assignment_id), None)
    if pair is None:
        raise NotFound(_("No paper sheet of this contest waits for a settlement there."))
    return pair


def settle_pair(
    session: Session,
    actor: User,
    contest: Contest,
    assignment_id: int,
    choices: Mapping[str, tuple[str, str]],
    reason: str,
) -> ScoreSheet:
    """The third look: for each differing field, ``choices[field]`` is ``("first", "")``, ``("second",
    "")`` or ``("typed", value)``, read from the paper; the settled values become the judge's submitted
    sheet. Every differing field must be settled and a reason given; a typed value is validated as the
    web sheet's. Audited (``paper.settle``: who, when, why, each field's two values and the one kept).
    """
    pair = pair_of(session, contest, assignment_id)
    if pair.waiting:
        raise ServiceError(_("This sheet has only one entry: it waits for the second clerk, not for a settlement."))
    if not may_settle(session, actor, contest, pair):
        raise ServiceError(_("A sheet is settled by an organiser or by a clerk who typed neither entry."))
    require(Action.SAVE_SHEETS, contest)
    require_sheet_round_open(session, contest, pair.assignment)
    reason = reason.strip()
    if not reason:
        raise ServiceError(_("Please say why (e.g. what the paper sheet shows)."))
    rubric = rubric_for_assignment(contest, pair.assignment)
    first, second = pair.entries
    values = entry_values(first)
    values["scores"], values["checks"] = dict(values["scores"]), dict(values["checks"])
    settlement: dict[str, Any] = {}
    problems: list[str] = []
    for difference in pair.differences:
        choice, typed = choices.get(difference.field, ("", ""))
        if choice not in ("first", "second", "typed"):
            problems.append(_("%(label)s: please choose a value.", label=difference.label))
            continue
        source = first if choice == "first" else second
        try:
            kept = _settled_value(rubric, difference.field, source, choice, typed)
        except ServiceError as refusal:
            problems.append(refusal.message)
            continue
        _apply(values, difference.field, kept)
        settlement[difference.field] = {
            "first": difference.first,
            "second": difference.second,
            "choice": choice,
            "value": kept if not isinstance(kept, bool) else _yes_no(kept),
        }
    if problems:
        raise ServiceError(" ".join(problems))
    sheet = _submit_from_paper(
        session,
        actor,
        pair.assignment,
        rubric,
        first,
        second,
        values=values,
        settled_by=actor,
        reason=reason,
        settlement=settlement,
    )
    audit.record(
        session,
        actor,
        "paper.settle",
        object_type="sheet",
        object_id=sheet.id,
        contest_id=contest.id,
        data={
            "entry": pair.assignment.entry.code,
            "judge": pair.assignment.judge.username,
            "clerks": [first.clerk.username, second.clerk.username],
            "fields": settlement,
            "reason": reason,
        },
    )
    return sheet


def _settled_value(rubric: Rubric, field: str, source: PaperEntry, choice: str, typed: str) -> Any:
    """The value kept for one field: the chosen entry's, or the typed one validated like the web sheet's."""
    if field == NUMBER_FIELD:
        if choice != "typed":
            return source.paper_number
        number = typed.strip()
        if not number or len(number) > PAPER_NUMBER_LENGTH:
            raise ServiceError(_("Please type the number printed on the judge's paper sheet."))
        return number
    if field == COMMENT_FIELD:
        return source.comment if choice != "typed" else typed.strip()
    if field.startswith("score_"):
        key = field.removeprefix("score_")
        criterion = next(c for c in rubric.criteria if c.key == key)
        if choice != "typed":
            return source.scores[key]
        return str(parse_score(criterion, typed))
    key = field.removeprefix("check_")
    if choice != "typed":
        return source.checks[key]
    if typed not in ("yes", "no"):
        label = next(c.label for c in rubric.checks if c.key == key)
        raise ServiceError(_("%(label)s: please answer this check.", label=label))
    return typed == "yes"


def _apply(values: dict[str, Any], field: str, kept: Any) -> None:
    if field == NUMBER_FIELD:
        values["paper_number"] = kept
    elif field == COMMENT_FIELD:
        values["comment"] = kept
    elif field.startswith("score_"):
        values["scores"][field.removeprefix("score_")] = kept
    else:
        values["checks"][field.removeprefix("check_")] = kept


# --- what the sheets record ---------------------------------------------------------------------------


def own_entry(session: Session, clerk: User, assignment: Assignment) -> PaperEntry | None:
    """What this clerk typed for the sheet (never the other clerk's entry)."""
    return session.scalar(
        select(PaperEntry).where(PaperEntry.assignment_id == assignment.id, PaperEntry.clerk_id == clerk.id)
    )


def entries_typed_by(session: Session, clerk: User, contest: Contest) -> list[PaperEntry]:
    """The entries this clerk typed in the contest, newest first (only their own)."""
    return list(
        session.scalars(
            select(PaperEntry)
            .join(Assignment, PaperEntry.assignment_id == Assignment.id)
            .join(Entry, Assignment.entry_id == Entry.id)
            .where(PaperEntry.clerk_id == clerk.id, Entry.contest_id == contest.id)
            .options(selectinload(PaperEntry.assignment).selectinload(Assignment.judge))
            .order_by(PaperEntry.updated_at.desc(), PaperEntry.id.desc())
        )
    )


def paper_findings(session: Session) -> list[str]:
    """Every stored paper entry held against its last ``paper.enter`` event, and every paper sheet that
    was not settled held against its two entries (they must agree with it): one line per difference."""
    logged: dict[int, dict[str, Any]] = {}
    events = select(AuditEvent.object_id, AuditEvent.data).where(AuditEvent.action == ENTRY_ACTION)
    for object_id, data in session.execute(events.order_by(AuditEvent.seq)):
        if object_id.isdigit() and isinstance(data, dict) and isinstance(data.get("new"), dict):
            logged[int(object_id)] = data["new"]
    findings = []
    for entry in session.scalars(select(PaperEntry).order_by(PaperEntry.id)):
        expected = logged.pop(entry.id, None)
        if expected is None:
            findings.append(f"paper entry {entry.id}: no audit event wrote it")
        elif entry_values(entry) != expected:
            findings.append(f"paper entry {entry.id}: differs from what the audit log says its clerk typed")
    for entry_id in sorted(logged):
        findings.append(f"paper entry {entry_id}: in the audit log but not in the database (deleted)")
    for record in session.scalars(select(PaperSheet).where(PaperSheet.settled_by_id.is_(None))):
        sheet = record.sheet
        live_scores = {score.criterion: score.value for score in sheet.scores}
        live_checks = {answer.check_key: answer.passed for answer in sheet.check_answers}
        for entry in _entries_of(session, sheet.assignment):
            typed_scores = {key: Decimal(str(value)) for key, value in entry.scores.items()}
            if entry.paper_number != record.paper_number or typed_scores != live_scores or entry.checks != live_checks:
                findings.append(
                    f"score sheet {sheet.id}: counted from paper no. {record.paper_number}, but paper entry "
                    f"{entry.id} no longer agrees with it"
                )
    return findings
