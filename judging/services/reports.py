"""Activity reports (``kind = "collection"``): who must report, who has, reopening one report, and reminding
the organisations that have not reported.

A report is an :class:`~judging.models.Entry` of the collection contest: one per organisation (the rubric's
``entry.quota_per_organization = 1``, held by the same unique quota slot as any entry, so two simultaneous
submissions cannot both count), its text in the entry fields and summary, its figures among the fields
(:func:`judging.services.entries.refuse_bad_figures`), its documents and photos as entry files. Which
organisations are expected comes from the rubric's ``collection.organizations`` and the organisation tree;
nothing here names a district or a date. The exports are in :mod:`judging.exports.reports`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from judging.models import AuditEvent, Contest, Entry, EntryStatus, Organization, Role, User, utcnow
from judging.rubric import Rubric
from judging.services import NotFound, ServiceError, audit
from judging.services.contests import current_rubric, require, state_of
from judging.services.mail import MailReport, MailSettings, send_notices
from judging.services.notices import Notice, report_reminder_notice
from judging.workflow import Action, reporting_over

REMINDER_PAUSE = timedelta(hours=12)
"""An organisation reminded less than this long ago is not reminded again (a second click sends nothing)."""
MAX_GRACE_DAYS = 30


class ReportState(enum.StrEnum):
    SUBMITTED = "submitted"
    DRAFT = "draft"
    NOT_STARTED = "not_started"
    MISSING = "missing"
    """Not submitted, and the deadline has passed (or the collection is closed)."""


@dataclass(frozen=True)
class ReportRow:
    organization: Organization
    state: ReportState
    report: Entry | None
    """The organisation's submitted report, else its latest draft."""
    reminded_at: datetime | None


def require_collection(contest: Contest) -> Rubric:
    """The contest's rubric; a :class:`NotFound` for a contest that collects no reports."""
    rubric = current_rubric(contest)
    if rubric.collection is None:
        raise NotFound(_("This contest does not collect reports."))
    return rubric


def expected_organizations(session: Session, rubric: Rubric) -> list[Organization]:
    """The organisations that must report: every active one of a kind in ``collection.organizations``,
    by kind (in the rubric's order), then in the order the organisation list gives them."""
    assert rubric.collection is not None
    kinds: list[str] = list(rubric.collection.organizations)
    found = session.scalars(
        select(Organization).where(Organization.kind.in_(kinds), Organization.retired_at.is_(None))
    ).all()
    return sorted(found, key=lambda org: (kinds.index(org.kind.value), org.id))


def last_reminders(session: Session, contest: Contest) -> dict[int, datetime]:
    """When each organisation was last reminded to report in this contest (from the audit log)."""
    events = session.execute(
        select(AuditEvent.object_id, AuditEvent.at).where(
            AuditEvent.contest_id == contest.id, AuditEvent.action == "report.remind"
        )
    ).all()
    latest: dict[int, datetime] = {}
    for object_id, at in events:
        organization_id = int(object_id)
        if organization_id not in latest or at > latest[organization_id]:
            latest[organization_id] = at
    return latest


def report_rows(session: Session, contest: Contest, now: datetime | None = None) -> list[ReportRow]:
    """One row per expected organisation, with its report's state: submitted, draft, not started, or
    **missing** once the deadline has passed (or the collection is closed) without a submitted report.
    An organisation that reported but is no longer expected (its kind left the rubric) keeps its row."""
    rubric = require_collection(contest)
    now = now or utcnow()
    reports = session.scalars(
        select(Entry)
        .where(Entry.contest_id == contest.id, Entry.status.in_([EntryStatus.SUBMITTED, EntryStatus.DRAFT]))
        .options(selectinload(Entry.files), selectinload(Entry.organization))
        .order_by(Entry.id)
    ).all()
    by_organization: dict[int, Entry] = {}
    for report in reports:  # the submitted report wins over any draft; else the latest draft
        held = by_organization.get(report.organization_id)
        if held is None or held.status is not EntryStatus.SUBMITTED:
            by_organization[report.organization_id] = report
    expected = expected_organizations(session, rubric)
    expected_ids = {org.id for org in expected}
    extra = [
        report.organization
        for report in by_organization.values()
        if report.organization_id not in expected_ids and report.status is EntryStatus.SUBMITTED
    ]
    reminded = last_reminders(session, contest)
    over = reporting_over(state_of(contest), now)
    rows = []
    for organization in [*expected, *sorted(extra, key=lambda org: org.id)]:
        held = by_organization.get(organization.id)
        if held is not None and held.status is EntryStatus.SUBMITTED:
            state = ReportState.SUBMITTED
        elif over:
            state = ReportState.MISSING
        elif held is not None:
            state = ReportState.DRAFT
        else:
            state = ReportState.NOT_STARTED
        rows.append(ReportRow(organization, state, held, reminded.get(organization.id)))
    return rows


def get_report(session: Session, contest: Contest, entry_id: int) -> Entry:
    report = session.get(Entry, entry_id)
    if report is None or report.contest_id != contest.id:
        raise NotFound(_("There is no such report."))
    return report


def reopen_report(session: Session, actor: User, report: Entry, days: int, now: datetime | None = None) -> None:
    """Send a submitted report back to its organisation as a draft it may change and submit again for
    ``days`` days, even past the submission deadline (its own deadline, ``reopened_until``); audited."""
    contest = report.contest
    require_collection(contest)
    require(Action.REOPEN_REPORTS, contest)
    if report.status is not EntryStatus.SUBMITTED:
        raise ServiceError(_("Only a submitted report can be reopened."))
    if not 1 <= days <= MAX_GRACE_DAYS:
        raise ServiceError(_("Give the organisation from 1 to %(n)d days.", n=MAX_GRACE_DAYS))
    now = now or utcnow()
    report.status = EntryStatus.DRAFT
    report.quota_slot = None
    report.submitted_at = None
    report.reopened_until = now + timedelta(days=days)
    session.flush()
    audit.record(
        session,
        actor,
        "report.reopen",
        object_type="entry",
        object_id=report.id,
        contest_id=contest.id,
        data={
            "code": report.code,
            "organization": report.organization.name,
            "until": report.reopened_until.isoformat(),
        },
    )


@dataclass
class Reminding:
    """What a round of reminders did: organisations reminded, those skipped as reminded recently, and the
    mail report of the accounts written to."""

    reminded: list[str]
    recently_reminded: list[str]
    without_account: list[str]
    mail: MailReport


def remind_missing(
    session: Session,
    actor: User,
    contest: Contest,
    settings: MailSettings,
    *,
    deadline: str,
    link: str,
    now: datetime | None = None,
) -> Reminding:
    """Mail every active entrant account of each organisation that has not submitted its report, except
    organisations reminded within :data:`REMINDER_PAUSE`; each organisation reminded is audited
    (``report.remind``), and the whole round as a mailing."""
    require_collection(contest)
    require(Action.REMIND_MISSING, contest)
    now = now or utcnow()
    due = [row for row in report_rows(session, contest, now) if row.state is not ReportState.SUBMITTED]
    result = Reminding([], [], [], MailReport())
    written: list[Notice] = []
    chosen: list[tuple[Organization, list[User]]] = []
    for row in due:
        if row.reminded_at is not None and now - row.reminded_at < REMINDER_PAUSE:
            result.recently_reminded.append(row.organization.name)
            continue
        accounts = [user for user in row.organization.users if user.role is Role.ENTRANT and user.active]
        if not accounts:
            result.without_account.append(row.organization.name)
            continue
        chosen.append((row.organization, accounts))
        written += [report_reminder_notice(user, contest, deadline, link) for user in accounts]
    if not written:
        return result
    result.mail = send_notices(settings, written)
    sent = set(result.mail.sent)
    for organization, accounts in chosen:
        reached = [user.display_name for user in accounts if user.display_name in sent]
        if not reached:
            continue
        result.reminded.append(organization.name)
        audit.record(
            session,
            actor,
            "report.remind",
            object_type="organization",
            object_id=organization.id,
            contest_id=contest.id,
            data={"organization": organization.name, "to": reached},
        )
    return result
