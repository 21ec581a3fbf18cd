"""The objects a request names, found for the user who asks: the one place where a view learns that an
object is missing or not the user's to see.

Each lookup returns the object or raises :class:`judging.services.NotFound`, which the application
answers with its 404 page (JSON under ``/api/``, see :mod:`judging.web.errors`). An object the user may
not see is *not found*, never *forbidden*: someone who may not see an entry must not learn that it
exists. Who may reach what is stated in :mod:`judging.web.permissions`; the role a view requires is
checked by its decorator before any lookup runs.
"""

from __future__ import annotations

from collections.abc import Collection

from flask import request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from judging.extensions import db
from judging.models import (
    ApiToken,
    Assignment,
    BackgroundJob,
    Certificate,
    Contest,
    Entry,
    EntryFile,
    Objection,
    ObjectionAttachment,
    Organization,
    PartsUpload,
    ResultSnapshot,
    Role,
    RubricVersion,
    User,
)
from judging.rubric import Part, Rubric
from judging.services import (
    NotFound,
    accounts,
    contests,
    entrant_results,
    entries,
    jobs,
    objections,
    organizations,
    panel,
    rubric_editing,
    sheets,
    snapshots,
)
from judging.web.permissions import coordinates, has_role, may_view_entry


def _organizer() -> None:
    """Organisers reach every contest and what belongs to it; the views' decorators already say so."""
    if not has_role(current_user, Role.ORGANIZER):
        raise NotFound(_("There is no such page, or it is not visible to you."))


def contest_for_public(slug: str) -> Contest:
    """A contest by its slug: every contest's page is public, except an archived contest's and a collection
    of reports (nothing in it is judged or published)."""
    contest = contests.get_contest(db.session, slug)
    if contests.is_collection(contest):
        raise NotFound(_("No such contest."))
    return contest


def contest_for_organizer(slug: str) -> Contest:
    """Any contest, archived ones too."""
    _organizer()
    return contests.get_contest(db.session, slug, archived=True)


def skills_contest_for_organizer(slug: str) -> Contest:
    """A skills competition (its contestants, imports, ranking); a contest of works is not one."""
    contest = contest_for_organizer(slug)
    if contest.kind != "skills":
        raise NotFound(_("No such contest."))
    return contest


def imported_part_of(contest: Contest, key: str) -> Part:
    """A part of a skills contest's current rubric whose scores are imported (not scored by judges)."""
    for part in contests.current_rubric(contest).parts:
        if part.key == key and part.source == "import":
            return part
    raise NotFound(_("No such part."))


def contest_for_entrant(slug: str) -> tuple[Contest, Rubric]:
    """A contest that takes entries, with its current rubric."""
    contest = contests.get_contest(db.session, slug)
    rubric = contests.current_rubric(contest)
    if rubric.entry is None:
        raise NotFound(_("No such contest."))
    return contest, rubric


def contest_for_coordinator(slug: str) -> tuple[Contest, Rubric]:
    """A contest with a nomination round, where a coordinating organisation nominates its units' entries."""
    contest = contests.get_contest(db.session, slug)
    rubric = contests.current_rubric(contest)
    if rubric.nomination is None:
        raise NotFound(_("No such contest."))
    return contest, rubric


def snapshot_of(contest: Contest, number: int) -> ResultSnapshot:
    """A frozen result of the contest by its number."""
    return snapshots.get_snapshot(db.session, contest, number)


def public_or_withdrawn_snapshot(contest: Contest) -> ResultSnapshot:
    """The result the public sees now, else — when review reopened after the list on notice was withdrawn —
    that withdrawn list (so that the contest's page says what happened instead of vanishing)."""
    snapshot = snapshots.current_snapshot(db.session, contest) or snapshots.latest_withdrawn(db.session, contest)
    if snapshot is None:
        raise NotFound(_("No such result."))
    return snapshot


def gallery_snapshot(contest: Contest) -> ResultSnapshot:
    """The latest publication of a contest of works, whose winners the gallery shows."""
    snapshot = snapshots.latest_publication(db.session, contest)
    if snapshot is None or not snapshots.has_gallery(contest):
        raise NotFound(_("No such result."))
    return snapshot


def organization_for_organizer(organization_id: int) -> Organization:
    _organizer()
    return organizations.get_organization(db.session, organization_id)


def user_for_organizer(user_id: int) -> User:
    _organizer()
    return accounts.get_user(db.session, user_id)


def job_for_organizer(job_id: int) -> BackgroundJob:
    _organizer()
    return jobs.get_job(db.session, job_id)


def objection_for_organizer(objection_id: int) -> Objection:
    _organizer()
    return objections.get_objection(db.session, objection_id)


def evidence_of(objection: Objection, attachment_id: int) -> ObjectionAttachment:
    """A file filed with this objection (another objection's file is not found here)."""
    for attachment in objection.attachments:
        if attachment.id == attachment_id:
            return attachment
    raise NotFound(_("No such file."))


def entry_for_organizer(entry_id: int) -> Entry:
    _organizer()
    entry = db.session.get(Entry, entry_id)
    if entry is None:
        raise NotFound(_("There is no such entry."))
    return entry


def assignment_for_organizer(contest: Contest, assignment_id: int) -> Assignment:
    """An assignment to an entry of ``contest`` (the URL's contest, not another one)."""
    _organizer()
    assignment = panel.get_assignment(db.session, assignment_id)
    if assignment.entry.contest_id != contest.id:
        raise NotFound(_("No such assignment."))
    return assignment


def entry_for_entrant(entry_id: int) -> Entry:
    """An entry of the signed-in entrant's own organisation."""
    return entries.get_own_entry(db.session, current_user, entry_id)


def upload_for_entrant(token: str) -> PartsUpload:
    """A resumable upload under way for an entry of the signed-in entrant's own organisation."""
    upload = db.session.scalar(select(PartsUpload).where(PartsUpload.token == token))
    if upload is None:
        raise NotFound(_("This upload does not exist or has expired."))
    entries.get_own_entry(db.session, current_user, upload.entry_id)
    return upload


def certificate_of_entry(entry: Entry) -> tuple[Certificate, ResultSnapshot]:
    """The certificate of ``entry``'s award in its contest's current publication (none before publication)."""
    return entrant_results.published_certificate(db.session, entry)


def file_of_entry(entry: Entry, file_id: int) -> EntryFile:
    """One of ``entry``'s files (found with :func:`entry_for_entrant` or another lookup)."""
    entry_file = db.session.get(EntryFile, file_id)
    if entry_file is None or entry_file.entry_id != entry.id:
        raise NotFound(_("There is no such entry."))
    return entry_file


def entry_for_coordinator(entry_id: int) -> Entry:
    """An entry of the signed-in entrant's organisation or of a unit directly under it."""
    entry = db.session.get(Entry, entry_id)
    if entry is None or not coordinates(current_user, entry):
        raise NotFound(_("There is no such entry."))
    return entry


def assignment_for_judge(entry_ref: str) -> Assignment:
    """The signed-in judge's active assignment to the entry with this code (or id): of the round the
    ``round`` parameter names, else the judge's latest one (the old URLs of a contest without rounds)."""
    return sheets.active_assignment(db.session, current_user, entry_ref, request.args.get("round") or None)


def file_for(user: User | None, file_id: int) -> EntryFile:
    """A stored file whose entry ``user`` (or the anonymous public) may see."""
    entry_file = db.session.get(EntryFile, file_id)
    if entry_file is None or not may_view_entry(user, entry_file.entry):
        raise NotFound(_("There is no such entry."))
    return entry_file


def thumbnail_for(user: User | None, file_id: int) -> str:
    """The storage key of the thumbnail of a stored file whose entry ``user`` may see."""
    key = file_for(user, file_id).thumbnail_key
    if not key:
        raise NotFound(_("There is no such entry."))
    return key


def one_of(name: str, known: Collection[str]) -> str:
    """A name the URL gives (a document, a format) that must be one of ``known``."""
    if name not in known:
        raise NotFound(_("There is no such page, or it is not visible to you."))
    return name


def rubric_version_of(contest: Contest, number: int) -> RubricVersion:
    """A stored version of the contest's rubric, by its number."""
    _organizer()
    return rubric_editing.get_version(contest, number)


def contest_for_api(token: ApiToken, slug: str) -> Contest:
    """Any contest, archived ones too, for a live organiser's API token (checked when it was presented)."""
    _token_of_organizer(token)
    return contests.get_contest(db.session, slug, archived=True)


def entry_for_api(token: ApiToken, entry_id: int) -> Entry:
    """Any entry, for a live organiser's API token."""
    _token_of_organizer(token)
    entry = db.session.get(Entry, entry_id)
    if entry is None:
        raise NotFound(_("There is no such entry."))
    return entry


def _token_of_organizer(token: ApiToken) -> None:
    if token.revoked_at is not None or not token.user.is_active or token.user.role is not Role.ORGANIZER:
        raise NotFound(_("There is no such page, or it is not visible to you."))


def own_api_token(token_id: int) -> ApiToken:
    """One of the signed-in organiser's own API tokens (another organiser's is not found)."""
    _organizer()
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        raise NotFound(_("There is no such token."))
    return token
