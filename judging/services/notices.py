"""The words sent to people: invitations, reminders to judges who are behind, notices to entrants.

One home for these texts, whichever way they travel: the printed invitation letter (PDF), the e-mail
(:mod:`judging.services.mail`) and the pages that show them use the same :class:`Notice`, so a letter
and a mail never say different things. Texts are in the language of the request that makes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import format_datetime
from flask_babel import gettext as _

from judging.models import Contest, Role, User


@dataclass(frozen=True)
class Notice:
    """A message to one person: a subject, a greeting and paragraphs; ``link`` is what to open."""

    to: User
    subject: str
    greeting: str
    paragraphs: tuple[str, ...]
    link: str = ""
    link_label: str = ""

    def as_text(self) -> str:
        """The plain-text body of a mail: greeting, paragraphs, then the link on a line of its own."""
        parts = [self.greeting, *self.paragraphs]
        if self.link:
            parts.append(f"{self.link_label}\n{self.link}")
        return "\n\n".join(parts) + "\n"


def _what_to_do(role: Role) -> str:
    return {
        Role.JUDGE: _(
            "As a judge you will score the entries assigned to you online, against the published rubric, "
            "without seeing who made them; declare a conflict of interest if you know an entry's maker."
        ),
        Role.ENTRANT: _(
            "As an entrant you will fill in your organisation's entries, upload the works and submit them "
            "before the deadline; later you will see the results here."
        ),
        Role.ORGANIZER: _("As an organiser you will manage the contests, the people and the results."),
    }[role]


def invitation_notice(user: User, link: str, expires_at: datetime, site_name: str) -> Notice:
    """The invitation to set a password: who it is for, the role, what to do, the link and its expiry."""
    site = site_name or _("the contest judging platform")
    organization = user.organization.name if user.organization else ""
    return Notice(
        to=user,
        subject=_("Your account on %(site)s", site=site),
        greeting=_("Dear %(name)s,", name=user.display_name),
        paragraphs=(
            _("An account has been created for you on %(site)s.", site=site)
            + (" " + _("Organisation: %(name)s.", name=organization) if organization else ""),
            _("Your username is %(username)s.", username=user.username),
            _what_to_do(user.role),
            _(
                "Open the link below (or scan the code) and choose your password. The link works once and "
                "expires on %(when)s; if it has expired, ask the organisers for a new one.",
                when=format_datetime(expires_at, "yyyy-MM-dd HH:mm"),
            ),
        ),
        link=link,
        link_label=_("Your invitation link:"),
    )


def reminder_notice(judge: User, contest: Contest, done: int, total: int, link: str) -> Notice:
    """A reminder to a judge who has not submitted every assigned sheet."""
    deadline = (
        _("The review deadline is %(when)s.", when=format_datetime(contest.review_deadline, "yyyy-MM-dd HH:mm"))
        if contest.review_deadline
        else ""
    )
    return Notice(
        to=judge,
        subject=_("Reminder: %(contest)s is waiting for your scores", contest=contest.title),
        greeting=_("Dear %(name)s,", name=judge.display_name),
        paragraphs=tuple(
            text
            for text in (
                _(
                    "You have submitted %(done)d of the %(total)d score sheets assigned to you in %(contest)s.",
                    done=done,
                    total=total,
                    contest=contest.title,
                ),
                deadline,
                _("Thank you for your work on the panel."),
            )
            if text
        ),
        link=link,
        link_label=_("Your assignments:"),
    )


def entrant_notice(entrant: User, contest: Contest, subject: str, text: str, link: str) -> Notice:
    """A notice from the organisers to an entrant account about a contest, in the organisers' words."""
    return Notice(
        to=entrant,
        subject=f"{contest.title}: {subject}",
        greeting=_("Dear %(name)s,", name=entrant.display_name),
        paragraphs=tuple(part.strip() for part in text.split("\n\n") if part.strip()),
        link=link,
        link_label=_("Your entries:"),
    )


def report_reminder_notice(entrant: User, contest: Contest, deadline: str, link: str) -> Notice:
    """The reminder to an entrant account whose organisation has not reported."""
    organization = entrant.organization.name if entrant.organization else ""
    paragraphs = [
        _(
            "%(organization)s has not yet submitted its report for “%(contest)s”.",
            organization=organization,
            contest=contest.title,
        )
    ]
    if deadline:
        paragraphs.append(_("Reports are due by %(deadline)s.", deadline=deadline))
    paragraphs.append(_("Please fill in the report, attach its documents and photos, and submit it."))
    return Notice(
        to=entrant,
        subject=_("%(contest)s: please submit your report", contest=contest.title),
        greeting=_("Dear %(name)s,", name=entrant.display_name),
        paragraphs=tuple(paragraphs),
        link=link,
        link_label=_("Your reports:"),
    )
