"""Two tiers: a coordinator (an entrant account of the parent organisation) sees its units' cases,
comments on them, and nominates the best to the city round (or withdraws a nomination).
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from judging.models import Contest, Entry, EntryStatus, Organization, User, utcnow
from judging.rubric import Rubric
from judging.services import NotFound, ServiceError, audit
from judging.services.contests import current_rubric
from judging.services.entries import flush_holding_slot, lowest_free_slot, refuse_when_closed


def units_entries(session: Session, coordinator: User, contest: Contest) -> list[Entry]:
    """The submitted, nominated and disqualified entries of the units under the coordinator's
    organisation (and of the organisation itself) in a contest with nomination."""
    organization_id = coordinator.organization_id
    if organization_id is None:
        return []
    unit_ids = select(Organization.id).where(Organization.parent_id == organization_id)
    return list(
        session.scalars(
            select(Entry)
            .where(
                Entry.contest_id == contest.id,
                Entry.contestant_id.is_(None),
                Entry.status.in_([EntryStatus.SUBMITTED, EntryStatus.NOMINATED, EntryStatus.DISQUALIFIED]),
                (Entry.organization_id.in_(unit_ids)) | (Entry.organization_id == organization_id),
            )
            .order_by(Entry.status.desc(), Entry.id)
        )
    )


def _require_coordinator(session: Session, coordinator: User, entry: Entry) -> Rubric:
    rubric = current_rubric(entry.contest)
    organization = entry.organization
    if rubric.nomination is None:
        raise ServiceError(_("This contest has no nomination round."))
    if coordinator.organization_id is None or coordinator.organization_id not in (
        organization.parent_id,
        organization.id,
    ):
        raise NotFound(_("There is no such entry."))
    return rubric


def nominating_organization(entry: Entry) -> Organization:
    """Who nominates an entry (``nomination.by = "parent"``): the parent of the entry's organisation; an
    organisation with no parent (a district entering its own case) is at the top of collection and
    sends its cases itself."""
    return entry.organization.parent or entry.organization


def nominate_entry(session: Session, coordinator: User, entry: Entry) -> None:
    """Nominate a unit's submitted case to the city round, within ``nomination.quota`` per coordinating
    organisation. Only the organisation the rubric names (:func:`nominating_organization`) may: a unit
    nominating its own case is refused. The quota is held by the database: a nominated entry takes the
    lowest free slot ``1..quota`` and ``(contest, nominating organisation, slot)`` is unique."""
    rubric = _require_coordinator(session, coordinator, entry)
    assert rubric.nomination is not None
    nominator = nominating_organization(entry)
    if coordinator.organization_id != nominator.id:
        raise ServiceError(
            _(
                "Only %(organization)s may nominate this case: the organisation above the entrant nominates.",
                organization=nominator.name,
            )
        )
    refuse_when_closed(entry.contest)
    if entry.status is not EntryStatus.SUBMITTED:
        raise ServiceError(_("Only a submitted entry can be nominated."))
    quota = rubric.nomination.quota
    refusal = _("Your organisation has already nominated %(n)d entries, the most allowed.", n=quota)
    entry.nomination_slot = lowest_free_slot(
        session,
        Entry.nomination_slot,
        (Entry.contest_id == entry.contest_id, Entry.nominated_by_id == coordinator.organization_id),
        quota,
        refusal,
    )
    entry.nominated_by_id = coordinator.organization_id
    entry.status = EntryStatus.NOMINATED
    entry.nominated_at = utcnow()
    flush_holding_slot(session, refusal)
    audit.record(
        session,
        coordinator,
        "entry.nominate",
        object_type="entry",
        object_id=entry.id,
        contest_id=entry.contest_id,
        data={"code": entry.code, "slot": entry.nomination_slot},
    )


def comment_on_entry(session: Session, coordinator: User, entry: Entry, comment: str) -> None:
    """The coordinator's comment on a unit's case (advice to the unit, or why it was not nominated);
    the unit reads it on the entry's page. An empty comment clears it."""
    _require_coordinator(session, coordinator, entry)
    entry.coordinator_comment = comment.strip()[:2000]
    session.flush()
    audit.record(
        session,
        coordinator,
        "entry.comment",
        object_type="entry",
        object_id=entry.id,
        contest_id=entry.contest_id,
        data={"code": entry.code, "comment": entry.coordinator_comment},
    )


def withdraw_nomination(session: Session, coordinator: User, entry: Entry) -> None:
    """Take a nomination back (the case stays submitted); frees the nomination slot."""
    _require_coordinator(session, coordinator, entry)
    refuse_when_closed(entry.contest)
    if entry.status is not EntryStatus.NOMINATED or entry.nominated_by_id != coordinator.organization_id:
        raise ServiceError(_("This entry is not nominated by your organisation."))
    entry.status = EntryStatus.SUBMITTED
    entry.nominated_by_id = None
    entry.nomination_slot = None
    entry.nominated_at = None
    session.flush()
    audit.record(
        session,
        coordinator,
        "entry.nomination_withdraw",
        object_type="entry",
        object_id=entry.id,
        contest_id=entry.contest_id,
        data={"code": entry.code},
    )
