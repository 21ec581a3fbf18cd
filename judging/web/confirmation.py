"""The confirmation step of consequential actions, without JavaScript: one home for all of them.

A consequential action (reopening submissions, upholding an objection, withdrawing an entry, removing a
judge, publishing a result) is posted twice. The first post, without ``confirmed=1``, changes nothing: the
view answers with :func:`ask`, a page stating exactly what will happen (names, counts, consequences),
whose *Confirm* button posts the same fields again, with the same CSRF token and ``confirmed=1``; *Cancel*
goes back. The view checks its form both times, so bad input is refused before anything is asked.

The statements themselves are built here, one function per action, from what the services report
(deactivating an account too: :func:`deactivate`, from ``people.deactivation_effects``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext

from judging.extensions import db
from judging.models import ApiToken, Contest, Entry, EntryStatus, Objection, Phase, ResultSnapshot, Role, User
from judging.services import contests, overview, panel, snapshots
from judging.services.people import DeactivationEffects
from judging.web.labels import phase_label, phase_move
from judging.workflow import Action

CONFIRMED_FIELD = "confirmed"


@dataclass(frozen=True)
class Consequences:
    """What an action will do, as the confirmation page states it."""

    title: str
    points: list[str] = field(default_factory=list)
    confirm_label: str = ""
    cancel_url: str = ""


def confirmed() -> bool:
    """Whether this post is the confirmed second one."""
    return request.form.get(CONFIRMED_FIELD) == "1"


def needed(action: Action, contest: Contest, snapshot: ResultSnapshot | None = None) -> bool:
    """Whether to ask before ``action``: not confirmed yet, and the workflow allows it now (a refused action
    is refused at once, with its reason, instead of being confirmed first)."""
    return not confirmed() and contests.allowed(action, contest, snapshot)


def ask(consequences: Consequences) -> ResponseReturnValue:
    """The confirmation page: the consequences, and the same form posted again with ``confirmed=1``."""
    carried = [(name, value) for name, value in request.form.items(multi=True) if name != CONFIRMED_FIELD]
    return render_template(
        "_confirm.html",
        consequences=consequences,
        carried=carried,
        action=request.path,
        confirmed_field=CONFIRMED_FIELD,
    )


def phase_back(contest: Contest, target: Phase, cancel_url: str) -> Consequences:
    """Moving a contest back in the workflow (e.g. reopening submissions from review)."""
    label, effect, _backwards = phase_move(contest.phase, target, collection=contests.is_collection(contest))
    summary = overview.contest_summary(db.session, contest)
    submitted = summary.entries_by_status.get(EntryStatus.SUBMITTED, 0)
    points = [
        _(
            "%(contest)s moves back from “%(old)s” to “%(new)s”.",
            contest=contest.title,
            old=phase_label(contest.phase),
            new=phase_label(target),
        )
    ]
    if effect:
        points.append(effect)
    points.append(
        ngettext(
            "%(num)d submitted entry is kept as it is.",
            "%(num)d submitted entries are kept as they are.",
            submitted,
        )
    )
    if summary.sheets_submitted or summary.sheets_draft:
        points.append(
            _(
                "The %(submitted)d submitted and %(draft)d draft score sheets are kept; judges cannot change them "
                "until review starts again.",
                submitted=summary.sheets_submitted,
                draft=summary.sheets_draft,
            )
        )
    return Consequences(_("%(action)s?", action=label), points, label, cancel_url)


def uphold(snapshot: ResultSnapshot, chosen: list[Objection], cancel_url: str) -> Consequences:
    """Upholding objections: the result on notice is withdrawn and review reopens."""
    references = ", ".join(objection.reference for objection in chosen)
    return Consequences(
        _("Uphold objection %(references)s?", references=references),
        [
            _(
                "Result No. %(number)d of %(contest)s is withdrawn from public notice; it stays on record, marked "
                "withdrawn.",
                number=snapshot.number,
                contest=snapshot.contest.title,
            ),
            _(
                "The contest goes back to review: judges can change their sheets again, and the result must be "
                "frozen again and go through a new notice period before it can be published."
            ),
            _("Your answer is recorded with the objection and cannot be changed."),
        ],
        _("Uphold and reopen review"),
        cancel_url,
    )


def withdraw(entry: Entry, cancel_url: str) -> Consequences:
    """Withdrawing an entry."""
    points = [
        _(
            "“%(title)s” (%(code)s) is withdrawn for good: it cannot be submitted again.",
            title=entry.title,
            code=entry.code,
        )
    ]
    if entry.status is EntryStatus.DRAFT:
        points.append(
            ngettext(
                "Its %(num)d uploaded file is deleted.", "Its %(num)d uploaded files are deleted.", len(entry.files)
            )
        )
    else:
        points.append(_("Judges no longer see it, and it is not ranked."))
        points.append(_("Your organisation's place for an entry is freed: it may submit another entry."))
    return Consequences(_("Withdraw %(code)s?", code=entry.code), points, _("Withdraw the entry"), cancel_url)


def remove_judge(contest: Contest, judge: User, keep_sheets: bool, cancel_url: str) -> Consequences:
    """Taking a judge off a panel."""
    unstarted, with_sheet = panel.judge_workload(db.session, contest, judge)
    points = [
        _(
            "%(name)s loses access to the entries and files of %(contest)s at once.",
            name=judge.display_name,
            contest=contest.title,
        ),
        ngettext(
            "%(num)d assignment without a sheet is removed.",
            "%(num)d assignments without a sheet are removed.",
            unstarted,
        ),
    ]
    if keep_sheets:
        points.append(
            ngettext(
                "%(num)d sheet stays in the result, with your reason shown beside the results.",
                "%(num)d sheets stay in the result, with your reason shown beside the results.",
                with_sheet,
            )
        )
    else:
        points.append(
            ngettext(
                "%(num)d sheet stays stored but is left out of the result.",
                "%(num)d sheets stay stored but are left out of the result.",
                with_sheet,
            )
        )
    return Consequences(
        _("Remove %(name)s from the panel?", name=judge.display_name), points, _("Remove from the panel"), cancel_url
    )


def publish(snapshot: ResultSnapshot, cancel_url: str) -> Consequences:
    """Publishing a frozen result."""
    payload = snapshots.payload_of(snapshot)
    certificates = len(snapshots.award_rows(payload)) + len(snapshots.level_rows(payload))
    return Consequences(
        _("Publish result No. %(number)d of %(contest)s?", number=snapshot.number, contest=snapshot.contest.title),
        [
            _(
                "The award list becomes the final, public result. It never changes afterwards: a mistake can only "
                "be put right by a new, linked correction."
            ),
            ngettext(
                "%(num)d certificate is issued, with its serial number and verification code.",
                "%(num)d certificates are issued, each with its serial number and verification code.",
                certificates,
            ),
            _("Scores and entries of the contest become read-only."),
        ],
        _("Publish"),
        cancel_url,
    )


def deactivate(user: User, effects: DeactivationEffects, cancel_url: str) -> Consequences:
    """Deactivating an account: what its holder loses, and what becomes of its sheets, assignments, entries."""
    points = [
        _("The account can no longer log in; the login page tells its holder it has been deactivated."),
        _("Every open session of the account ends on its next request."),
        ngettext(
            "%(num)d open invitation link stops working.",
            "%(num)d open invitation links stop working.",
            effects.open_invitations,
        ),
    ]
    if user.role is Role.JUDGE:
        sheets = _("Submitted score sheets stay on record and in the results: %(n)d.", n=effects.submitted_sheets)
        if effects.draft_sheets:
            sheets += " " + _("Draft sheets stay as drafts: %(n)d.", n=effects.draft_sheets)
        points.append(sheets)
        if effects.open_assignments:
            listed = _(", ").join(
                _("%(contest)s (%(n)d)", contest=title, n=n) for title, n in effects.open_assignments.items()
            )
            points.append(
                _(
                    "Assignments not yet submitted stay with the judge and will not be scored: %(listed)s. To give "
                    "them to other judges, take the judge off that contest's panel on its judging page.",
                    listed=listed,
                )
            )
        else:
            points.append(_("The judge has no unfinished assignments."))
    if effects.entries_made:
        points.append(_("The %(n)d entries this account made stay with its organisation.", n=effects.entries_made))
    points.append(
        _("The account can be reactivated later; it then needs a new invitation link if it never set a password.")
    )
    return Consequences(
        _("Deactivate %(name)s?", name=user.display_name), points, _("Deactivate the account"), cancel_url
    )


def revoke_api_token(token: ApiToken, cancel_url: str) -> Consequences:
    """Revoking an API token: every program using it is refused from the next request, for good."""
    return Consequences(
        _("Revoke the API token “%(name)s”?", name=token.name),
        [
            _("Every program that uses this token is refused from its next request (401)."),
            _("A revoked token cannot be restored; create a new one if it is needed again."),
        ],
        _("Revoke the token"),
        cancel_url,
    )


def freeze_round(contest: Contest, label: str, advancing: int, entries: int, cancel_url: str) -> Consequences:
    """Freezing a judging round's result: who advances is settled for good."""
    points = [
        _(
            "The result of the round “%(round)s” of %(contest)s is recorded with its digest and can never change.",
            round=label,
            contest=contest.title,
        ),
        _("%(advancing)d of %(entries)d entries go on to the next round.", advancing=advancing, entries=entries),
        _("The round's judges can no longer save or change sheets."),
    ]
    return Consequences(_("Freeze the round “%(round)s”?", round=label), points, _("Freeze the round"), cancel_url)
