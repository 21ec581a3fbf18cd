"""The panel of a contest and who judges what.

Owns panel membership, the assignment of entries to judges (every judge, or a balanced k per entry),
and recusals (declared by a judge, overridden by an organiser). Which pairs are excluded, and why, is
:mod:`judging.services.exclusions`' business (the rule: :mod:`judging.conflicts`).

Panel membership is access: a judge taken off the panel sees nothing of the contest any more (see
:mod:`judging.services.visibility`), and the judge's sheets leave the result unless the organiser keeps
them, with a reason (:class:`~judging.models.PanelRemoval`).
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from judging.assignment import assign_balanced
from judging.conflicts import ConflictReason
from judging.models import (
    Assignment,
    AssignmentStatus,
    Contest,
    Entry,
    Organization,
    PanelMember,
    PanelRemoval,
    Role,
    ScoreSheet,
    User,
    utcnow,
)
from judging.services import NotFound, ServiceError, audit, exclusions, paper_sheets, rounds
from judging.services.contests import current_rubric, require
from judging.services.entries import judgeable_entries
from judging.services.progress import open_for_conflicts
from judging.workflow import Action, RoundStatus


def add_to_panel(session: Session, actor: User, contest: Contest, judge: User) -> PanelMember:
    """Put an active judge account on the contest's panel. Not one of the contest's paper clerks: who
    types the judges' paper sheets does not judge (:mod:`judging.services.paper_sheets` refuses the
    other way round)."""
    require(Action.CHANGE_PANEL, contest)
    existing = session.scalar(
        select(PanelMember).where(PanelMember.contest_id == contest.id, PanelMember.judge_id == judge.id)
    )
    if existing:
        return existing
    if judge.role is not Role.JUDGE or not judge.active:
        raise ServiceError(_("Only an active judge account can sit on a panel."))
    if paper_sheets.is_clerk(session, judge, contest):
        raise ServiceError(
            _("%(name)s types this contest's paper sheets; a clerk cannot sit on its panel.", name=judge.display_name)
        )
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


def judge_workload(session: Session, contest: Contest, judge: User) -> tuple[int, int]:
    """The judge's assignments in the contest: (without a sheet, with a sheet) — what removal takes away
    and what it leaves stored (see :func:`remove_from_panel`)."""
    mine = [assignment for assignment in _assignments_of(session, contest) if assignment.judge_id == judge.id]
    with_sheet = sum(1 for assignment in mine if assignment.sheet is not None)
    return len(mine) - with_sheet, with_sheet


def remove_from_panel(
    session: Session, actor: User, contest: Contest, judge: User, *, keep_sheets: bool = False, reason: str = ""
) -> None:
    """Take a judge off the panel: the judge loses access to the contest's entries and files at once.

    Assignments without a sheet go; sheets (and their assignments) stay stored, but leave the result
    unless ``keep_sheets``, which needs a reason (recorded, audited and shown with the results). With
    ``judges_per_entry = k`` the freed entries are given to the remaining judges.
    """
    require(Action.CHANGE_PANEL, contest)
    member = session.scalar(
        select(PanelMember).where(PanelMember.contest_id == contest.id, PanelMember.judge_id == judge.id)
    )
    if member is None:
        raise NotFound(_("This judge is not on the panel."))
    reason = reason.strip()
    if keep_sheets and not reason:
        raise ServiceError(_("Please give the reason for keeping the judge's sheets in the result."))
    removed = 0
    for assignment in _assignments_of(session, contest):
        if assignment.judge_id == judge.id and assignment.sheet is None:
            session.delete(assignment)
            removed += 1
    session.delete(member)
    removal = session.scalar(
        select(PanelRemoval).where(PanelRemoval.contest_id == contest.id, PanelRemoval.judge_id == judge.id)
    )
    if removal is None:
        removal = PanelRemoval(contest_id=contest.id, judge=judge)
        session.add(removal)
    removal.removed_at = utcnow()
    removal.removed_by_id = actor.id
    removal.sheets_kept = keep_sheets
    removal.reason = reason if keep_sheets else ""
    session.flush()
    sheets = session.scalar(
        select(func.count(ScoreSheet.id))
        .join(Assignment, ScoreSheet.assignment_id == Assignment.id)
        .join(Entry, Assignment.entry_id == Entry.id)
        .where(Entry.contest_id == contest.id, Assignment.judge_id == judge.id)
    )
    audit.record(
        session,
        actor,
        "panel.remove",
        object_type="user",
        object_id=judge.id,
        contest_id=contest.id,
        data={
            "judge": judge.username,
            "assignments_removed": removed,
            "sheets": int(sheets or 0),
            "sheets_kept": keep_sheets,
            "reason": removal.reason,
        },
    )
    if _judges_per_entry(contest) != "all" and _has_assignments(session, contest):
        assign_judges(session, actor, contest)


def judges_off_panel(session: Session, contest: Contest) -> list[User]:
    """Active judge accounts that may join the contest's panel: not on it, not its paper clerks; by name."""
    on_panel = {member.judge_id for member in contest.panel}
    clerks = {clerk.user_id for clerk in paper_sheets.clerks_of(session, contest)}
    return [
        user
        for user in session.scalars(select(User).where(User.role == Role.JUDGE).order_by(User.display_name))
        if user.id not in on_panel and user.id not in clerks and user.active
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
    require(Action.CHANGE_ASSIGNMENT, contest)
    if current_rubric(contest).rounds:
        # In rounds, each open round is assigned on its own (after a recusal or a removal, again): a
        # contest-wide run would hand every judge the entries of rounds they do not sit on.
        opened = [view for view in rounds.round_views(session, contest) if view.status is RoundStatus.OPEN]
        if not opened:
            raise ServiceError(_("This contest is judged in rounds: assign each round's panel on the rounds page."))
        return sum(rounds.assign_round(session, actor, contest, view.spec.key) for view in opened)
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
    require(Action.CHANGE_ASSIGNMENT, contest)
    rubric = current_rubric(contest)
    judges = [member.judge for member in sorted(contest.panel, key=lambda m: (m.joined_at, m.judge_id))]
    entries = judgeable_entries(session, contest)
    existing = {(a.entry_id, a.judge_id): a for a in _assignments_of(session, contest)}
    excluded = exclusions.excluded_pairs(session, contest, rubric, judges, entries)
    conflicts = {(pair.entry.id, pair.judge.id) for pair in excluded}
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
        data={
            "k": k,
            "created": created,
            "removed": removed,
            "kept_with_sheets": len(keep),
            "excluded": _excluded_record(excluded),
        },
    )
    return created


def _excluded_record(excluded: list[exclusions.ExcludedPair]) -> list[list[str]]:
    """The excluded pairs as the audit log keeps them: entry code, judge's username, reason."""
    return [[pair.entry.code, pair.judge.username, pair.reason.value] for pair in excluded]


def assign_every_judge(session: Session, actor: User, contest: Contest) -> int:
    """``judges_per_entry = "all"``: every panel judge to every judgeable entry, but for conflicts."""
    require(Action.CHANGE_ASSIGNMENT, contest)
    rubric = current_rubric(contest)
    judges = [member.judge for member in contest.panel]
    entries = judgeable_entries(session, contest)
    existing = {
        (a.entry_id, a.judge_id)
        for a in session.scalars(select(Assignment).join(Entry).where(Entry.contest_id == contest.id))
    }
    excluded = exclusions.excluded_pairs(session, contest, rubric, judges, entries)
    conflicts = {(pair.entry.id, pair.judge.id) for pair in excluded}
    created = 0
    for entry in entries:
        for judge in judges:
            if (entry.id, judge.id) in existing or (entry.id, judge.id) in conflicts:
                continue
            session.add(Assignment(entry=entry, judge=judge))
            created += 1
    session.flush()
    audit.record(
        session,
        actor,
        "assignment.all",
        contest_id=contest.id,
        data={"created": created, "excluded": _excluded_record(excluded)},
    )
    return created


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
    rounds.require_sheet_round_open(session, contest, assignment)  # a frozen round's assignments stand
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
    require(Action.CHANGE_ASSIGNMENT, assignment.entry.contest)
    reason = reason.strip()
    if assignment.status is not AssignmentStatus.RECUSED:
        raise ServiceError(_("This assignment is not recused."))
    if not reason:
        raise ServiceError(_("Please give the reason for the override."))
    contest = assignment.entry.contest
    rounds.require_sheet_round_open(session, contest, assignment)
    if exclusions.conflict_of(session, contest, current_rubric(contest), assignment.judge, assignment.entry):
        raise ServiceError(
            _(
                "The judge is related to the entrant's or the nominating organisation: "
                "this conflict cannot be overridden."
            )
        )
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


def get_assignment(session: Session, assignment_id: int) -> Assignment:
    assignment = session.get(Assignment, assignment_id)
    if assignment is None:
        raise NotFound(_("No such assignment."))
    return assignment


def declare_relation(session: Session, actor: User, judge: User, organization: Organization, note: str) -> int:
    """A judge (or an organiser for the judge) declares being related to an organisation.

    The relation is recorded (:func:`judging.services.exclusions.add_relation`); the judge's current
    assignments it now conflicts with, in contests still open for conflicts, are recused at once with
    the relation as the reason, and with ``judges_per_entry = k`` another judge takes each over.
    Returns the number of assignments recused.
    """
    exclusions.add_relation(session, actor, judge, organization, note)
    recused = 0
    reassign: dict[int, Contest] = {}
    for assignment in session.scalars(
        select(Assignment).where(Assignment.judge_id == judge.id, Assignment.status == AssignmentStatus.ASSIGNED)
    ):
        contest = assignment.entry.contest
        if not open_for_conflicts(contest):
            continue
        reason = exclusions.conflict_of(session, contest, current_rubric(contest), judge, assignment.entry)
        if reason is not ConflictReason.DECLARED:
            continue
        assignment.status = AssignmentStatus.RECUSED
        assignment.recusal_reason = _("Declared relation: %(name)s", name=organization.name)
        assignment.recused_at = utcnow()
        recused += 1
        session.flush()
        audit.record(
            session,
            actor,
            "assignment.recuse",
            object_type="assignment",
            object_id=assignment.id,
            contest_id=contest.id,
            data={
                "entry": assignment.entry.code,
                "old": {"status": "assigned", "reason": ""},
                "new": {"status": "recused", "reason": assignment.recusal_reason},
            },
        )
        if _judges_per_entry(contest) != "all" and contest.panel:
            reassign[contest.id] = contest
    for contest in reassign.values():
        assign_judges(session, actor, contest)
    return recused
