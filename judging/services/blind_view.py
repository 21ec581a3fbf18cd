"""What a judge is shown of an entry: its code, text and fields, never who made it while blind."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from judging.models import Contest, Contestant, Entry, Organization, OrganizationKind, User
from judging.names_in_text import MASK, mask_names
from judging.services.contests import current_rubric


def is_blind(contest: Contest) -> bool:
    rubric = current_rubric(contest)
    return bool(rubric.assignment and rubric.assignment.blind)


@dataclass(frozen=True)
class EntryForJudge:
    """What a judge is shown of an entry; while blind, names of the entrant are masked out of its text."""

    code: str
    title: str
    summary: str
    fields: list[tuple[str, str]]
    blind: bool
    task: bool = False
    """A contestant's task for a judged part of a skills contest: performed on site, no uploaded work."""


def organization_names(session: Session) -> list[str]:
    """Every name, short and English name and declared alias of the entrant organisations, retired ones too
    (the organiser's own name says nothing about who entered): what a blind judge must not read in an
    entry's text."""
    names: list[str] = []
    for organization in session.scalars(select(Organization).where(Organization.kind != OrganizationKind.ORGANIZER)):
        names.append(organization.name)
        names += organization.other_names  # short name, English name and other aliases
    return names


def entry_for_judge(session: Session, entry: Entry, names: list[str] | None = None) -> EntryForJudge:
    """The entry as its judges see it: the code, the work's text and fields, never who made it while blind.

    While the contest is blind, fields the rubric marks ``identifying`` (the implementing unit) are left
    out, and every mention of an organisation (any entrant organisation's name or declared alias, not
    only the entrant's own: naming the neighbouring district says where a case comes from) or of the
    uploader (display name, user name) is masked in the title, the summary and the other fields, after
    normalisation (:mod:`judging.names_in_text`: ``长\u200b宁区``, ``长宁 区``, ``ＣＨＡＮＧＮＩＮＧ``).
    ``names`` are the organisations' names when the caller has them (:func:`organization_names`).
    A contestant's task (title: the contestant's number and the part) is shown blind as the part alone.
    """
    blind = is_blind(entry.contest)
    rubric = current_rubric(entry.contest)
    task = entry.contestant_id is not None
    secret: list[str] = []
    if blind:
        secret = list(names if names is not None else organization_names(session))
        uploader = session.get(User, entry.created_by_id) if entry.created_by_id else None
        if uploader is not None:
            secret += [uploader.display_name, uploader.username]
        contestant = session.get(Contestant, entry.contestant_id) if task else None
        if contestant is not None:
            secret += [contestant.name, contestant.number]

    def shown(text: object) -> str:
        value = "" if text is None else str(text)
        return mask_names(value, secret) if blind else value

    spec = {field.key: field for field in (rubric.entry.fields if rubric.entry else ())}
    fields = [
        (spec[key].label if key in spec else key, shown(value))
        for key, value in (entry.fields or {}).items()
        if value not in ("", None) and not (blind and key in spec and spec[key].identifying)
    ]
    title = shown(entry.title)
    if task and blind:
        title = next((part.label for part in rubric.parts if part.key == entry.category), MASK)
    return EntryForJudge(entry.code, title, shown(entry.summary), fields, blind, task)
