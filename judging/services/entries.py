"""Entries: drafts, submission under the rubric's quota, withdrawal, and the organisers' view of them.

The quota is held by the database: a submitted entry takes the lowest free slot ``1..quota`` of its
organisation in that contest, and ``(contest, organisation, slot)`` is unique, so two simultaneous
submissions cannot both take the last slot. Files attached to entries are in :mod:`entry_files`;
the two-tier nomination of units' cases in :mod:`nomination`.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload

from judging.models import Contest, Entry, EntryStatus, JobStatus, Organization, PartsUpload, User, utcnow
from judging.rubric import Rubric
from judging.services import NotFound, ServiceError, audit
from judging.services.contests import current_rubric, refusal_message, require, show_moment
from judging.workflow import Action


def show_deadline(contest: Contest) -> str:
    """The submission deadline as entrants read it: in the display time zone (Asia/Shanghai), with its name."""
    if contest.submission_deadline is None:
        return ""
    return show_moment(contest.submission_deadline)


def is_open_for_entries(contest: Contest, entry: Entry | None = None) -> bool:
    """Whether entrants may change entries now (:data:`judging.workflow.RULES`: open, deadline not passed;
    for a report the organiser reopened, until its own deadline)."""
    grace = entry.reopened_until if entry is not None else None
    return refusal_message(Action.CHANGE_ENTRIES, contest, grace_until=grace) is None


def refuse_when_closed(contest: Contest, entry: Entry | None = None) -> None:
    """Refuse any change to entries outside the open phase or after the deadline, naming the deadline; a
    report the organiser reopened may change until its own later deadline (``entry.reopened_until``)."""
    message = refusal_message(Action.CHANGE_ENTRIES, contest, grace_until=entry.reopened_until if entry else None)
    if message is not None:
        raise ServiceError(message)


def _require_own(actor: User, entry: Entry) -> None:
    # Another organisation's entry does not exist as far as this actor knows; nor does a contestant's
    # judged task of a skills contest, which the organisers create and only the panel scores.
    if actor.organization_id is None or actor.organization_id != entry.organization_id or entry.contestant_id:
        raise NotFound(_("There is no such entry."))


def require_own_draft(actor: User, entry: Entry) -> None:
    _require_own(actor, entry)
    if entry.status is not EntryStatus.DRAFT:
        raise ServiceError(_("Only a draft can be changed."))


def refuse_bad_figures(rubric: Rubric, fields: dict[str, object]) -> None:
    """Refuse (naming the figure) a report's figure that is not a whole number from 0 to its ``max``; the
    form checks the same, this holds for every caller. A contest without figures passes anything."""
    if rubric.collection is None:
        return
    for figure in rubric.collection.figures:
        value = fields.get(figure.key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise ServiceError(_("%(figure)s: please enter a whole number.", figure=figure.label))
        if value < 0 or value > figure.max:
            raise ServiceError(_("%(figure)s: must be from 0 to %(max)d.", figure=figure.label, max=figure.max))


def next_entry_code(session: Session, contest: Contest, rubric: Rubric) -> str:
    """The next blind code of a contest, e.g. ``MV-007``: a prefix and a running number."""
    count = session.scalar(select(func.count(Entry.id)).where(Entry.contest_id == contest.id)) or 0
    return f"{rubric.contest.entry_code_prefix}-{count + 1:03d}"


def may_enter(rubric: Rubric, organization: Organization) -> bool:
    """Whether an organisation's kind is among the rubric's ``entry.entrant_kinds`` (any when empty)."""
    if rubric.entry is None:
        return False
    if rubric.collection is not None:  # a collection names the kinds that must report
        return organization.kind.value in rubric.collection.organizations
    kinds = rubric.entry.entrant_kinds
    return not kinds or organization.kind.value in kinds


DRAFT_MARGIN = 2
"""Drafts an organisation may keep open in a contest beyond its quota (a spare while one is reworked)."""


def draft_allowance(rubric: Rubric) -> int:
    """Open drafts an organisation may have in a contest: its quota plus :data:`DRAFT_MARGIN`."""
    assert rubric.entry is not None
    return rubric.entry.quota_per_organization + DRAFT_MARGIN


def entry_label(entry: Entry) -> str:
    """How a refusal names an entry to its own organisation: code and title."""
    return f"{entry.code} 《{entry.title}》"


def quota_full_message(quota: int) -> str:
    """The refusal when an organisation's submitted entries fill the contest's quota."""
    return ngettext(
        "Your organisation has already submitted %(num)d entry, the most allowed.",
        "Your organisation has already submitted %(num)d entries, the most allowed.",
        quota,
    )


def _submitted_count(session: Session, contest: Contest, organization_id: int) -> int:
    """How many of the organisation's entries hold a quota slot in the contest (submitted or nominated)."""
    return (
        session.scalar(
            select(func.count(Entry.id)).where(
                Entry.contest_id == contest.id,
                Entry.organization_id == organization_id,
                Entry.quota_slot.is_not(None),
            )
        )
        or 0
    )


def _open_drafts(session: Session, contest: Contest, organization_id: int) -> list[Entry]:
    return list(
        session.scalars(
            select(Entry)
            .where(
                Entry.contest_id == contest.id,
                Entry.organization_id == organization_id,
                Entry.status == EntryStatus.DRAFT,
            )
            .order_by(Entry.id)
        )
    )


def new_entry_refusal(session: Session, organization: Organization | None, contest: Contest) -> str | None:
    """Why the organisation may not start a new entry in the contest now, or None when it may: its kind must
    be admitted, the contest open before its deadline, its submitted entries below the quota (a draft it
    could never submit is not started), and its open drafts below :func:`draft_allowance`.

    :func:`create_draft` refuses with this message, and the entrant's pages offer "New entry" only when it
    is None, saying why otherwise."""
    rubric = current_rubric(contest)
    if organization is None or not may_enter(rubric, organization):
        if rubric.collection is not None:
            return _("Your organisation is not among those asked to report in this collection.")
        return _("Your organisation cannot enter this contest.")
    if organization.retired:
        return _("Your organisation has been retired: it cannot start new entries.")
    closed = refusal_message(Action.CHANGE_ENTRIES, contest)
    if closed is not None:
        return closed
    assert rubric.entry is not None
    quota = rubric.entry.quota_per_organization
    if _submitted_count(session, contest, organization.id) >= quota:
        return ngettext(
            "Your organisation has already submitted %(num)d entry, the most allowed. Withdraw it to start another.",
            "Your organisation has already submitted %(num)d entries, the most allowed. Withdraw one to start another.",
            quota,
        )
    drafts = _open_drafts(session, contest, organization.id)
    if len(drafts) >= draft_allowance(rubric):
        return _(
            "Your organisation already has %(n)d drafts in this contest, the most it may keep (its quota of "
            "%(quota)d plus %(margin)d). Withdraw a draft it will not submit before starting another: "
            "%(drafts)s.",
            n=len(drafts),
            quota=quota,
            margin=DRAFT_MARGIN,
            drafts=_("; ").join(entry_label(draft) for draft in drafts),
        )
    return None


def unverified_upload_refusal(session: Session, entry: Entry) -> str | None:
    """Why an entry with a completed upload that is not (yet) its file cannot be submitted: the file is being
    checked, was refused, or its check stopped on an error (see :mod:`judging.services.parts_uploads`)."""
    pending = session.scalars(
        select(PartsUpload)
        .where(PartsUpload.entry_id == entry.id, PartsUpload.job_id.is_not(None))
        .order_by(PartsUpload.id)
    ).first()
    if pending is None:
        return None
    if pending.refusal:
        return _(
            "The file %(name)s was not accepted (%(reason)s); remove it from the list before submitting.",
            name=pending.original_name,
            reason=pending.refusal,
        )
    if pending.job is not None and (pending.job.status is JobStatus.FAILED or pending.job.stalled):
        return _(
            "The check of the file %(name)s stopped on an error; retry it or remove the file before submitting.",
            name=pending.original_name,
        )
    return _(
        "The file %(name)s is still being checked; the entry can be submitted once the check is done.",
        name=pending.original_name,
    )


def submit_refusal(session: Session, entry: Entry, *, once_uploaded: bool = False) -> str | None:
    """Why the entry cannot be submitted now, whatever declarations are ticked, or None when it can: a draft,
    in an open contest before its deadline, with its work uploaded, while its organisation's quota has room.
    ``once_uploaded`` asks the same as if the work were uploaded (the page keeps the form ready for an upload
    made in place).

    :func:`submit_entry` refuses with this message; the entry page offers the submit form only when None."""
    contest = entry.contest
    closed = refusal_message(Action.CHANGE_ENTRIES, contest, grace_until=entry.reopened_until)
    if closed is not None:
        return closed
    if entry.status is not EntryStatus.DRAFT:
        return _("Only a draft can be submitted.")
    pending = unverified_upload_refusal(session, entry)
    if pending is not None:
        return pending
    rubric = current_rubric(contest)
    if rubric.collection is not None:  # a report may be text and figures alone; each required figure is given
        missing = [
            figure.label for figure in rubric.collection.figures if figure.required and figure.key not in entry.fields
        ]
        if missing:
            return _("Please fill in these figures before submitting: %(figures)s.", figures="、".join(missing))
    elif not once_uploaded and not any(f.purpose in ("work", "image") for f in entry.files):  # pictures may tell a case
        return _("Please upload the work before submitting.")
    assert rubric.entry is not None
    if _submitted_count(session, contest, entry.organization_id) >= rubric.entry.quota_per_organization:
        return quota_full_message(rubric.entry.quota_per_organization)
    return None


def create_draft(
    session: Session,
    actor: User,
    contest: Contest,
    *,
    title: str,
    summary: str = "",
    fields: dict[str, object] | None = None,
    category: str | None = None,
) -> Entry:
    """Start a draft entry for the actor's organisation while the contest is open."""
    rubric = current_rubric(contest)
    organization = actor.organization
    refusal = new_entry_refusal(session, organization, contest)
    if refusal is not None:
        raise ServiceError(refusal)
    assert organization is not None
    if category is not None and category not in {c.key for c in rubric.categories}:
        raise ServiceError(_("Unknown category."))
    refuse_bad_figures(rubric, fields or {})
    entry = Entry(
        contest=contest,
        organization=organization,
        code=next_entry_code(session, contest, rubric),
        category=category,
        title=title.strip(),
        summary=summary.strip(),
        fields=dict(fields or {}),
        declarations=[],
        status=EntryStatus.DRAFT,
        created_by_id=actor.id,
    )
    session.add(entry)
    session.flush()
    audit.record(
        session,
        actor,
        "entry.create",
        object_type="entry",
        object_id=entry.id,
        contest_id=contest.id,
        data={"code": entry.code, "title": entry.title},
    )
    return entry


def submit_entry(session: Session, actor: User, entry: Entry, declarations: list[str]) -> None:
    """Submit a draft: it must have its work file and every declaration ticked, within the quota."""
    contest = entry.contest
    rubric = current_rubric(contest)
    assert rubric.entry is not None
    _require_own(actor, entry)
    refused = submit_refusal(session, entry)
    if refused is not None:
        raise ServiceError(refused)
    missing = [text for text in rubric.entry.declarations if text not in declarations]
    if missing:
        raise ServiceError(_("Please confirm: %(text)s", text=missing[0]))
    quota = rubric.entry.quota_per_organization
    refusal = quota_full_message(quota)  # also when a simultaneous submission takes the last slot first
    entry.quota_slot = lowest_free_slot(
        session,
        Entry.quota_slot,
        (Entry.contest_id == contest.id, Entry.organization_id == entry.organization_id),
        quota,
        refusal,
    )
    entry.declarations = list(rubric.entry.declarations)
    entry.status = EntryStatus.SUBMITTED
    entry.submitted_at = utcnow()
    flush_holding_slot(session, refusal)
    audit.record(
        session,
        actor,
        "entry.submit",
        object_type="entry",
        object_id=entry.id,
        contest_id=contest.id,
        data={"code": entry.code, "slot": entry.quota_slot},
    )


def lowest_free_slot(
    session: Session, slot: InstrumentedAttribute[int | None], holders: tuple, quota: int, refusal: str
) -> int:
    """The lowest of the slots ``1..quota`` that no entry selected by ``holders`` holds yet; a
    :class:`ServiceError` with ``refusal`` when all are taken."""
    taken = set(session.scalars(select(slot).where(*holders, slot.is_not(None))))
    for number in range(1, quota + 1):
        if number not in taken:
            return number
    raise ServiceError(refusal)


def flush_holding_slot(session: Session, refusal: str) -> None:
    """Write a slot just taken. A concurrent request that took the same slot fails here, on the unique
    index that holds the quota, and gets the same refusal as if it had found no free slot."""
    try:
        session.flush()
    except IntegrityError:
        raise ServiceError(refusal) from None


def entries_of_organization(session: Session, organization: Organization) -> list[Entry]:
    """The organisation's entries, newest first, except those of archived contests (hidden from entrants)."""
    return list(
        session.scalars(
            select(Entry)
            .join(Contest, Entry.contest_id == Contest.id)
            .where(
                Entry.organization_id == organization.id,
                Entry.contestant_id.is_(None),
                Contest.archived_at.is_(None),
            )
            .order_by(Entry.id.desc())
        )
    )


def update_draft(
    session: Session,
    actor: User,
    entry: Entry,
    *,
    title: str,
    summary: str,
    fields: dict[str, object],
    category: str | None = None,
) -> None:
    """Change a draft's title, summary, rubric fields and category, before the deadline."""
    require_own_draft(actor, entry)
    refuse_when_closed(entry.contest, entry)
    rubric = current_rubric(entry.contest)
    if category is not None and category not in {c.key for c in rubric.categories}:
        raise ServiceError(_("Unknown category."))
    refuse_bad_figures(rubric, fields)
    before = {"title": entry.title, "category": entry.category}
    entry.title = title.strip()
    entry.summary = summary.strip()
    entry.fields = dict(fields)
    entry.category = category
    session.flush()
    audit.record(
        session,
        actor,
        "entry.update",
        object_type="entry",
        object_id=entry.id,
        contest_id=entry.contest_id,
        data={"before": before, "title": entry.title, "category": entry.category},
    )


def withdraw_entry(session: Session, actor: User, entry: Entry) -> None:
    """Withdraw a draft, submitted or nominated entry before the deadline; its quota slot (and any
    nomination slot) is freed, so the organisation may submit another."""
    _require_own(actor, entry)
    refuse_when_closed(entry.contest, entry)
    if entry.status not in (EntryStatus.DRAFT, EntryStatus.SUBMITTED, EntryStatus.NOMINATED):
        raise ServiceError(_("This entry cannot be withdrawn."))
    previous = entry.status
    entry.status = EntryStatus.WITHDRAWN
    entry.quota_slot = None
    entry.nomination_slot = None
    entry.nominated_by_id = None
    entry.nominated_at = None
    session.flush()
    audit.record(
        session,
        actor,
        "entry.withdraw",
        object_type="entry",
        object_id=entry.id,
        contest_id=entry.contest_id,
        data={"code": entry.code, "from": previous.value},
    )


def get_own_entry(session: Session, actor: User, entry_id: int) -> Entry:
    """An entry of the actor's organisation, or NotFound."""
    entry = session.get(Entry, entry_id)
    if entry is None:
        raise NotFound(_("There is no such entry."))
    _require_own(actor, entry)
    return entry


def judgeable_statuses(rubric: Rubric) -> tuple[EntryStatus, ...]:
    """The statuses of entries that go before the panel: in a contest with a nomination round only
    nominated entries reach the city panel; otherwise submitted (and nominated) ones do."""
    if rubric.nomination is not None:
        return (EntryStatus.NOMINATED,)
    return (EntryStatus.SUBMITTED, EntryStatus.NOMINATED)


LISTED_WITH = (selectinload(Entry.organization), selectinload(Entry.nominated_by), selectinload(Entry.files))
"""What every list of entries shows beside each entry, loaded in one statement each rather than one per entry."""


def judgeable_entries(session: Session, contest: Contest) -> list[Entry]:
    """The contest's entries that go before the panel (:func:`judgeable_statuses`), by code."""
    statuses = judgeable_statuses(current_rubric(contest))
    return list(
        session.scalars(
            select(Entry)
            .where(Entry.contest_id == contest.id, Entry.status.in_(statuses))
            .options(*LISTED_WITH)
            .order_by(Entry.code)
        )
    )


def entries_of_contest(
    session: Session,
    contest: Contest,
    *,
    organization_id: int | None = None,
    status: EntryStatus | None = None,
    eligible: bool | None = None,
) -> list[Entry]:
    """Every entry of a contest, by code, optionally only those of one organisation, in one status, or
    that do (``eligible=True``) or do not (``False``) go before the panel (:func:`judgeable_statuses`)."""
    query = select(Entry).where(Entry.contest_id == contest.id)
    if organization_id is not None:
        query = query.where(Entry.organization_id == organization_id)
    if status is not None:
        query = query.where(Entry.status == status)
    if eligible is not None:
        judgeable = Entry.status.in_(judgeable_statuses(current_rubric(contest)))
        query = query.where(judgeable if eligible else ~judgeable)
    return list(session.scalars(query.options(*LISTED_WITH).order_by(Entry.code)))


def disqualify_entry(session: Session, actor: User, entry: Entry, reason: str) -> None:
    """Exclude a submitted or nominated entry, with the reason the entrant will read. The entry keeps its
    quota and nomination slots, so that reinstating it is always possible."""
    reason = reason.strip()
    if not reason:
        raise ServiceError(_("Please give the reason."))
    require(Action.DISQUALIFY_ENTRIES, entry.contest)
    if entry.status not in (EntryStatus.SUBMITTED, EntryStatus.NOMINATED):
        raise ServiceError(_("Only a submitted or nominated entry can be disqualified."))
    previous = entry.status
    entry.status = EntryStatus.DISQUALIFIED
    entry.status_reason = reason
    session.flush()
    audit.record(
        session,
        actor,
        "entry.disqualify",
        object_type="entry",
        object_id=entry.id,
        contest_id=entry.contest_id,
        data={"code": entry.code, "from": previous.value, "reason": reason},
    )


def reinstate_entry(session: Session, actor: User, entry: Entry, reason: str) -> None:
    """Undo a disqualification: the entry returns to nominated (if it holds a nomination) or submitted."""
    reason = reason.strip()
    if not reason:
        raise ServiceError(_("Please give the reason."))
    require(Action.DISQUALIFY_ENTRIES, entry.contest)
    if entry.status is not EntryStatus.DISQUALIFIED:
        raise ServiceError(_("Only a disqualified entry can be reinstated."))
    entry.status = EntryStatus.NOMINATED if entry.nomination_slot is not None else EntryStatus.SUBMITTED
    entry.status_reason = ""
    session.flush()
    audit.record(
        session,
        actor,
        "entry.reinstate",
        object_type="entry",
        object_id=entry.id,
        contest_id=entry.contest_id,
        data={"code": entry.code, "to": entry.status.value, "reason": reason},
    )


def entries_page(session: Session, contest: Contest, after: str | None, limit: int) -> list[Entry]:
    """Up to ``limit`` entries of a contest by code, those after the code ``after`` (one page of an export:
    entries added or removed meanwhile neither repeat nor push others off the pages still to come)."""
    query = select(Entry).where(Entry.contest_id == contest.id).options(*LISTED_WITH).order_by(Entry.code)
    if after is not None:
        query = query.where(Entry.code > after)
    return list(session.scalars(query.limit(limit)))
