"""Read-only views over contests, accounts and the audit log, for dashboards."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from judging.models import (
    Assignment,
    AssignmentStatus,
    AuditEvent,
    Contest,
    Contestant,
    Entry,
    EntryStatus,
    Invitation,
    PanelMember,
    ScoreSheet,
    SheetStatus,
    User,
    utcnow,
)
from judging.rubric import Rubric
from judging.services.contests import current_rubric, list_contests


@dataclass(frozen=True)
class ContestSummary:
    contest: Contest
    rubric: Rubric
    entries_by_status: Counter[EntryStatus] = field(default_factory=Counter)
    panel_size: int = 0
    assignments: int = 0
    sheets_submitted: int = 0
    sheets_draft: int = 0
    contestants: int = 0

    @property
    def progress_percent(self) -> int:
        """Submitted sheets as a share of active assignments, in whole percent (floor)."""
        return (100 * self.sheets_submitted // self.assignments) if self.assignments else 0


def contest_summary(session: Session, contest: Contest) -> ContestSummary:
    by_status = Counter(
        {
            status: count
            for status, count in session.execute(
                select(Entry.status, func.count(Entry.id)).where(Entry.contest_id == contest.id).group_by(Entry.status)
            )
        }
    )
    panel = session.scalar(select(func.count(PanelMember.id)).where(PanelMember.contest_id == contest.id)) or 0
    active = (
        select(Assignment.id)
        .join(Entry)
        .where(Entry.contest_id == contest.id, Assignment.status == AssignmentStatus.ASSIGNED)
    )
    assignments = session.scalar(select(func.count()).select_from(active.subquery())) or 0
    sheets = Counter(
        {
            status: count
            for status, count in session.execute(
                select(ScoreSheet.status, func.count(ScoreSheet.id))
                .where(ScoreSheet.assignment_id.in_(active))
                .group_by(ScoreSheet.status)
            )
        }
    )
    contestants = session.scalar(select(func.count(Contestant.id)).where(Contestant.contest_id == contest.id)) or 0
    return ContestSummary(
        contest=contest,
        rubric=current_rubric(contest),
        entries_by_status=by_status,
        panel_size=panel,
        assignments=assignments,
        sheets_submitted=sheets[SheetStatus.SUBMITTED],
        sheets_draft=sheets[SheetStatus.DRAFT],
        contestants=contestants,
    )


def contest_overview(session: Session) -> list[ContestSummary]:
    return [contest_summary(session, contest) for contest in list_contests(session)]


@dataclass(frozen=True)
class UserRow:
    user: User
    invitation_open: bool
    """An unused, unexpired invitation exists (the holder has not set a password yet)."""


def users_with_status(session: Session) -> list[UserRow]:
    now = utcnow()
    open_invites = set(
        session.scalars(select(Invitation.user_id).where(Invitation.used_at.is_(None), Invitation.expires_at > now))
    )
    users = session.scalars(select(User).order_by(User.role, User.username))
    return [UserRow(user, user.id in open_invites) for user in users]


@dataclass(frozen=True)
class AuditFilter:
    """Which events the organiser's audit page shows: an action, a person (as recorded), a contest."""

    action: str | None = None
    actor: str | None = None
    contest_id: int | None = None

    def where(self) -> list[Any]:
        conditions = []
        if self.action:
            conditions.append(AuditEvent.action == self.action)
        if self.actor:
            conditions.append(AuditEvent.actor_name == self.actor)
        if self.contest_id:
            conditions.append(AuditEvent.contest_id == self.contest_id)
        return conditions


def audit_page(
    session: Session, page: int, per_page: int = 50, shown: AuditFilter | None = None
) -> tuple[list[AuditEvent], bool]:
    """The newest events first (only those ``shown`` lets through); the page and whether an older one exists."""
    query = select(AuditEvent).where(*(shown or AuditFilter()).where())
    rows = list(
        session.scalars(query.order_by(AuditEvent.seq.desc()).offset((page - 1) * per_page).limit(per_page + 1))
    )
    return rows[:per_page], len(rows) > per_page


def audit_actions_and_actors(session: Session) -> tuple[list[str], list[str]]:
    """The actions and the people that occur in the log, for the audit page's filters."""
    actions = session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action))
    actors = session.scalars(select(AuditEvent.actor_name).distinct().order_by(AuditEvent.actor_name))
    return list(actions), list(actors)
