"""Human names of the model's enumerations and of the scoring engine's typed results, in the user's language.

The engine's words are defined once in :mod:`judging.result_words` (the exports and the command line
word the same results) and named here for the views and templates."""

from __future__ import annotations

from flask_babel import gettext as _

from judging import result_words, workflow
from judging.conflicts import ConflictReason
from judging.models import (
    AssignmentStatus,
    EntryStatus,
    ObjectionStatus,
    OrganizationKind,
    Phase,
    Role,
    SheetStatus,
    SnapshotStatus,
)
from judging.services import contests, snapshots
from judging.workflow import Action

phase_label = contests.phase_label


def phase_move(old: Phase, new: Phase | str, *, collection: bool = False) -> tuple[str, str, bool]:
    """The button that moves a contest from ``old`` to ``new``: its label, what it does, and whether it
    goes back in the workflow (shown as a warning, never as the obvious next step), from the table of
    :data:`judging.workflow.MOVES`."""
    move = workflow.move_between(old, Phase(new), collection=collection)
    if move is None:
        return phase_label(Phase(new)), "", False
    label, effect = _move_words().get(move.action, (phase_label(move.target), ""))
    return label, effect, move.backwards


def _move_words() -> dict[Action, tuple[str, str]]:
    return {
        Action.OPEN_ENTRIES: (
            _("Open the contest for entries"),
            _("Entrants can create, upload and submit entries until the submission deadline."),
        ),
        Action.BACK_TO_PREPARATION: (
            _("Back to preparation"),
            _("Entries can no longer be created or submitted; drafts and submitted entries are kept."),
        ),
        Action.START_REVIEW: (
            _("Close entries and start review"),
            _("Entries close; once the panel is assigned on the judging page, judges score the submitted entries."),
        ),
        Action.REOPEN_ENTRIES: (
            _("Reopen entries"),
            _("Scoring pauses and entrants can submit again; the sheets already saved are kept."),
        ),
        Action.ARCHIVE: (
            _("Close for good"),
            _("The contest is closed for good; its published results and certificates stay public."),
        ),
        Action.CLOSE_COLLECTION: (
            _("Close the collection"),
            _("No report can be submitted or changed any more; every report and file is kept for the exports."),
        ),
        Action.REOPEN_COLLECTION: (
            _("Reopen the collection"),
            _("Organisations can report again until the submission deadline."),
        ),
    }


def role_label(role: Role) -> str:
    return {Role.ORGANIZER: _("Organiser"), Role.JUDGE: _("Judge"), Role.ENTRANT: _("Entrant")}[role]


def organization_kind_label(kind: OrganizationKind) -> str:
    return {
        OrganizationKind.ORGANIZER: _("Organiser"),
        OrganizationKind.DISTRICT: _("District"),
        OrganizationKind.INDUSTRY: _("Industry authority"),
        OrganizationKind.COMPANY: _("Company"),
        OrganizationKind.GRASSROOTS: _("Grassroots unit"),
    }[kind]


def entry_status_label(status: EntryStatus) -> str:
    return {
        EntryStatus.DRAFT: _("Draft"),
        EntryStatus.SUBMITTED: _("Submitted"),
        EntryStatus.NOMINATED: _("Nominated"),
        EntryStatus.WITHDRAWN: _("Withdrawn"),
        EntryStatus.DISQUALIFIED: _("Disqualified"),
    }[status]


def sheet_status_label(status: SheetStatus | None) -> str:
    if status is None:
        return _("To do")
    return {SheetStatus.DRAFT: _("Draft saved"), SheetStatus.SUBMITTED: _("Submitted")}[status]


def assignment_status_label(status: AssignmentStatus) -> str:
    return {AssignmentStatus.ASSIGNED: _("Assigned"), AssignmentStatus.RECUSED: _("Recused")}[status]


def conflict_reason_label(reason: ConflictReason) -> str:
    """Why a judge is kept from an entry (:mod:`judging.conflicts`), as the assignment page says it."""
    return {
        ConflictReason.SAME_ORGANIZATION: _("Same organisation as the entrant"),
        ConflictReason.ENTRANT_ABOVE: _("The entrant is above the judge's organisation"),
        ConflictReason.ENTRANT_BELOW: _("The entrant is a unit under the judge's organisation"),
        ConflictReason.NOMINATED: _("Nominated by the judge's organisation (or one above or under it)"),
        ConflictReason.DECLARED: _("Declared relation"),
        ConflictReason.RECUSED: _("Recused by the judge"),
    }[reason]


ceremony_label = contests.ceremony_label


def contest_kind_label(kind: str) -> str:
    return {"work": _("Judged works"), "skills": _("Skills competition"), "collection": _("Activity reports")}.get(
        kind, kind
    )


def media_label(media: str | None) -> str:
    """What the entries of a contest are (its rubric's ``entry.media``)."""
    if media is None:
        return _("No works (scores imported)")
    return {"video": _("Videos"), "document": _("Documents and pictures"), "image": _("Pictures (posters)")}.get(
        media, media
    )


def snapshot_status_label(status: SnapshotStatus) -> str:
    return {
        SnapshotStatus.FROZEN: _("On public notice"),
        SnapshotStatus.WITHDRAWN: _("Withdrawn: review reopened"),
        SnapshotStatus.PUBLISHED: _("Published"),
        SnapshotStatus.SUPERSEDED: _("Published, since corrected"),
    }[status]


def objection_status_label(status: ObjectionStatus) -> str:
    return {
        ObjectionStatus.PENDING: _("Awaiting an answer"),
        ObjectionStatus.UPHELD: _("Upheld"),
        ObjectionStatus.REJECTED: _("Rejected"),
    }[status]


award_group_label = snapshots.award_group_label


sheet_fate_label = result_words.sheet_fate_label
rank_status_label = result_words.rank_status_label
check_rule_label = result_words.check_rule_label
reason_text = result_words.reason_text
award_note_text = result_words.award_note_text
neighbour_text = result_words.neighbour_text
arithmetic = result_words.arithmetic
missing_parts_text = result_words.missing_parts_text
