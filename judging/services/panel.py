"""The panel of a contest and who judges what.

Owns panel membership, the assignment of entries to judges (every judge, or a balanced k per entry),
conflicts of interest that exclude a judge from an entry, and recusals (declared by a judge,
overridden by an organiser).
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from judging.assignment import assign_balanced
from judging.models import (
    Assignment,
    AssignmentStatus,
    Contest,
    Entry,
    PanelMember,
    Role,
    User,
    utcnow,
)
from judging.rubric import Rubric
from judging.services import NotFound, ServiceError, audit
from judging.services.contests import current_rubric
from judging.services.entries import judgeable_entries
from judging.services.progress import open_for_conflicts


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


def get_assignment(session: Session, assignment_id: int) -> Assignment:
    assignment = session.get(Assignment, assignment_id)
    if assignment is None:
        raise NotFound(_("No such assignment."))
    return assignment
