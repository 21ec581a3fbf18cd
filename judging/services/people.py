"""People management by organisers: editing a person, and what deactivating one would do.

The guarantees an edit keeps, each a refusal that changes nothing:

- **someone can always administer the site**: the last active organiser keeps the organiser role, and
  an organiser does not change their own role (which could lock them out);
- **a judge's history stays a judge's**: a judge on a panel or with assignments keeps the judge role
  (take them off the panels first; their sheets stay on record either way);
- **who entered what stays true**: an entrant account that made entries stays with the organisation it
  made them for; a person moving to another organisation gets a new account (and this one is
  deactivated);
- **entrant accounts belong to entrant organisations**, never the organiser's own;
- **conflicts of interest follow the affiliation at once**: when a judge's affiliation changes, the
  judge's open assignments that now conflict (:mod:`judging.conflicts`) are recused with the new
  affiliation as the reason, and with ``judges_per_entry = k`` another judge takes each over; an
  assignment that already has a sheet cannot be quietly recused, so the change is refused naming it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from judging.models import (
    Assignment,
    AssignmentStatus,
    Contest,
    Entry,
    Invitation,
    Organization,
    PanelMember,
    Role,
    ScoreSheet,
    SheetStatus,
    User,
    utcnow,
)
from judging.services import ServiceError, audit, exclusions, panel
from judging.services.accounts import email_problem, entrant_organization_problem
from judging.services.contests import current_rubric
from judging.services.progress import open_for_conflicts

MAX_DISPLAY_NAME = 120


def active_organizers(session: Session) -> int:
    return int(
        session.scalar(select(func.count(User.id)).where(User.role == Role.ORGANIZER, User.active.is_(True))) or 0
    )


@dataclass(frozen=True)
class PersonEdit:
    """What an edit changed: field → (old, new) as shown, and the assignments recused because of it."""

    changes: dict[str, tuple[str, str]] = field(default_factory=dict)
    recused: list[str] = field(default_factory=list)
    """The codes of the entries the judge was recused from."""


def _org_name(organization: Organization | None) -> str:
    return organization.name if organization is not None else ""


def edit_person(
    session: Session,
    actor: User,
    user: User,
    *,
    display_name: str,
    role: Role,
    organization: Organization | None,
    email: str,
) -> PersonEdit:
    """Change a person's name, role, organisation (a judge's affiliation) and e-mail, keeping the module's
    guarantees; audited with the old and new values."""
    display_name, email = display_name.strip(), email.strip()
    if not display_name:
        raise ServiceError(_("Please enter the name to display."))
    if len(display_name) > MAX_DISPLAY_NAME:
        raise ServiceError(_("The name may have at most %(n)d characters.", n=MAX_DISPLAY_NAME))
    problem = email_problem(email) or entrant_organization_problem(role, organization)
    if problem:
        raise ServiceError(problem)
    if role is not user.role:
        _check_role_change(session, actor, user, role)
    if user.role is Role.ENTRANT and role is Role.ENTRANT and organization is not None:
        if organization.id != user.organization_id:
            _check_entrant_move(session, user)
    changes: dict[str, tuple[str, str]] = {}
    if display_name != user.display_name:
        changes["display_name"] = (user.display_name, display_name)
    if role is not user.role:
        changes["role"] = (user.role.value, role.value)
    if (organization.id if organization else None) != user.organization_id:
        changes["organization"] = (_org_name(user.organization), _org_name(organization))
    if email != (user.email or ""):
        changes["email"] = (user.email or "", email)
    if not changes:
        return PersonEdit()
    user.display_name = display_name
    user.role = role
    user.organization = organization
    user.email = email or None
    session.flush()
    recused = _recuse_new_conflicts(session, actor, user) if role is Role.JUDGE and "organization" in changes else []
    audit.record(
        session,
        actor,
        "account.edit",
        object_type="user",
        object_id=user.id,
        data={
            "username": user.username,
            "old": {key: old for key, (old, _new) in changes.items()},
            "new": {key: new for key, (_old, new) in changes.items()},
            "recused": recused,
        },
    )
    return PersonEdit(changes, recused)


def _check_role_change(session: Session, actor: User, user: User, role: Role) -> None:
    if user.id == actor.id:
        raise ServiceError(_("You cannot change your own role: another organiser can."))
    if user.role is Role.ORGANIZER and user.active and active_organizers(session) <= 1:
        raise ServiceError(
            _(
                "%(name)s is the last active organiser: the site would have no one to administer it.",
                name=user.display_name,
            )
        )
    if user.role is Role.JUDGE:
        panels = session.scalar(select(func.count(PanelMember.id)).where(PanelMember.judge_id == user.id)) or 0
        assigned = session.scalar(select(func.count(Assignment.id)).where(Assignment.judge_id == user.id)) or 0
        if panels or assigned:
            raise ServiceError(
                _(
                    "%(name)s sits on %(panels)d panels and has %(assigned)d assignments: a judge with a judging "
                    "history stays a judge. Take them off the panels, or create a separate account for the new role.",
                    name=user.display_name,
                    panels=panels,
                    assigned=assigned,
                )
            )


def _check_entrant_move(session: Session, user: User) -> None:
    codes = session.scalars(select(Entry.code).where(Entry.created_by_id == user.id).order_by(Entry.code)).all()
    if codes:
        raise ServiceError(
            _(
                "%(name)s made entries for %(organization)s (%(codes)s): an account that made entries stays with "
                "its organisation, so that who entered what remains true. Create a new account for the new "
                "organisation and deactivate this one.",
                name=user.display_name,
                organization=_org_name(user.organization),
                codes="、".join(codes),
            )
        )


def _recuse_new_conflicts(session: Session, actor: User, judge: User) -> list[str]:
    """Recuse the judge's active assignments that conflict with the new affiliation, in contests still open
    for conflicts; refuse if such an assignment already has a sheet (recusing it would hide a score)."""
    reason = _("Affiliation: %(name)s", name=_org_name(judge.organization))
    to_recuse: list[Assignment] = []
    scored: list[str] = []
    for assignment in session.scalars(
        select(Assignment).where(Assignment.judge_id == judge.id, Assignment.status == AssignmentStatus.ASSIGNED)
    ):
        contest = assignment.entry.contest
        if not open_for_conflicts(contest):
            continue
        if exclusions.conflict_of(session, contest, current_rubric(contest), judge, assignment.entry) is None:
            continue
        if assignment.sheet is not None:
            scored.append(assignment.entry.code)
        else:
            to_recuse.append(assignment)
    if scored:
        raise ServiceError(
            _(
                "With this affiliation %(name)s would be in conflict with entries already scored (%(codes)s). "
                "Remove the judge from that panel first (deciding whether the sheets stay in the result).",
                name=judge.display_name,
                codes="、".join(sorted(scored)),
            )
        )
    reassign: dict[int, Contest] = {}
    now = utcnow()
    for assignment in to_recuse:
        assignment.status = AssignmentStatus.RECUSED
        assignment.recusal_reason = reason
        assignment.recused_at = now
        contest = assignment.entry.contest
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
                "new": {"status": "recused", "reason": reason},
            },
        )
        rubric = current_rubric(contest)
        if rubric.assignment is not None and rubric.assignment.judges_per_entry != "all":
            reassign[contest.id] = contest
    session.flush()
    for contest in reassign.values():
        panel.assign_judges(session, actor, contest)
    return sorted(assignment.entry.code for assignment in to_recuse)


@dataclass(frozen=True)
class DeactivationEffects:
    """What deactivating an account does, counted before it is done (shown on the confirmation page)."""

    open_invitations: int
    submitted_sheets: int
    draft_sheets: int
    open_assignments: dict[str, int]
    """Contest title → the judge's assignments there without a submitted sheet."""
    entries_made: int


def deactivation_effects(session: Session, user: User) -> DeactivationEffects:
    now = utcnow()
    invitations = session.scalar(
        select(func.count(Invitation.id)).where(
            Invitation.user_id == user.id, Invitation.used_at.is_(None), Invitation.expires_at > now
        )
    )
    sheet_states: Counter[SheetStatus] = Counter(
        session.scalars(
            select(ScoreSheet.status)
            .join(Assignment, ScoreSheet.assignment_id == Assignment.id)
            .where(Assignment.judge_id == user.id)
        )
    )
    open_assignments: Counter[str] = Counter()
    for assignment in session.scalars(
        select(Assignment).where(Assignment.judge_id == user.id, Assignment.status == AssignmentStatus.ASSIGNED)
    ):
        if assignment.sheet is None or assignment.sheet.status is not SheetStatus.SUBMITTED:
            open_assignments[assignment.entry.contest.title] += 1
    entries_made = session.scalar(select(func.count(Entry.id)).where(Entry.created_by_id == user.id))
    return DeactivationEffects(
        open_invitations=int(invitations or 0),
        submitted_sheets=sheet_states[SheetStatus.SUBMITTED],
        draft_sheets=sheet_states[SheetStatus.DRAFT],
        open_assignments=dict(open_assignments),
        entries_made=int(entries_made or 0),
    )


def entrant_accounts(session: Session, organization_ids: set[int]) -> list[User]:
    """The active entrant accounts of these organisations, by name."""
    if not organization_ids:
        return []
    return list(
        session.scalars(
            select(User)
            .where(User.role == Role.ENTRANT, User.active.is_(True), User.organization_id.in_(organization_ids))
            .order_by(User.display_name)
        )
    )
