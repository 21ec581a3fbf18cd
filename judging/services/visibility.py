"""Who may see an entry and its files: one rule, used by every view that shows either.

- organisers see every entry;
- an entrant sees the entries of its own organisation, and a coordinating organisation (a district,
  authority or company) those of the units under it;
- a judge sees an entry only through an active (not recused) assignment to it, and only while on the
  contest's panel (:mod:`judging.services.membership`);
- everyone, signed in or not, sees the award-winning entries of a published result (the winners' gallery)
  and the shortlisted works of a public vote (issue 19).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from judging.models import Assignment, AssignmentStatus, Entry, Role, User
from judging.services.certificates import is_published_winner
from judging.services.membership import on_panel
from judging.services.votes import on_public_vote


def can_view_entry(session: Session, user: User | None, entry: Entry) -> bool:
    return (
        _may_see_unpublished(session, user, entry)
        or is_published_winner(session, entry)
        or on_public_vote(session, entry)
    )


def _may_see_unpublished(session: Session, user: User | None, entry: Entry) -> bool:
    if user is None or not user.is_authenticated:
        return False
    if user.role is Role.ORGANIZER:
        return True
    if user.role is Role.ENTRANT:
        if entry.contestant_id is not None:  # a contestant's judged task: the panel's business only
            return False
        organization = entry.organization
        return user.organization_id is not None and user.organization_id in (
            organization.id,
            organization.parent_id,
        )
    if user.role is Role.JUDGE:
        return (
            session.scalar(
                select(Assignment.id).where(
                    Assignment.entry_id == entry.id,
                    Assignment.judge_id == user.id,
                    Assignment.status == AssignmentStatus.ASSIGNED,
                    on_panel(user.id, entry.contest_id),
                )
            )
            is not None
        )
    return False


def is_own_entry(user: User | None, entry: Entry) -> bool:
    """Whether the user is on the entrant's side: an entrant of its organisation or of the coordinating
    organisation above it (who see the files as they were uploaded, under the names they gave them)."""
    if user is None or not user.is_authenticated or user.role is not Role.ENTRANT or user.organization_id is None:
        return False
    return entry.contestant_id is None and user.organization_id in (entry.organization.id, entry.organization.parent_id)


def is_blind_for(entry: Entry, user: User | None, blind: bool) -> bool:
    """Whether the entrant's identity must be hidden from this user (judges of a blind contest): such a
    user receives only the blind copies of the entry's files."""
    return blind and user is not None and user.is_authenticated and user.role is Role.JUDGE
