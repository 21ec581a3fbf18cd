"""What a judge is shown of an entry: its code, text and fields, never who made it while blind."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from judging.models import (
    Contest,
    Contestant,
    Entry,
    User,
)
from judging.services.contests import current_rubric

MASK = "■■■"


"""Shown to a blind judge in place of the entrant's organisation or uploader named in an entry's text."""


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


def entry_for_judge(session: Session, entry: Entry) -> EntryForJudge:
    """The entry as its judges see it: the code, the work's text and fields, never who made it while blind.

    Entrants sometimes name themselves in a title or field (“浦东新区的作品”); while the contest is blind
    every occurrence of the organisation's name, its parent's name and the uploader's names is masked.
    A contestant's task (title: the contestant's number and the part) is shown blind as the part alone.
    """
    blind = is_blind(entry.contest)
    rubric = current_rubric(entry.contest)
    task = entry.contestant_id is not None
    names: list[str] = []
    if blind:
        names = [entry.organization.name]
        if entry.organization.parent is not None:
            names.append(entry.organization.parent.name)
        uploader = session.get(User, entry.created_by_id) if entry.created_by_id else None
        if uploader is not None:
            names += [uploader.display_name, uploader.username]
        contestant = session.get(Contestant, entry.contestant_id) if task else None
        if contestant is not None:
            names += [contestant.name, contestant.number]
        names = sorted({n for n in names if n}, key=len, reverse=True)

    def shown(text: object) -> str:
        value = "" if text is None else str(text)
        for name in names:
            value = value.replace(name, MASK)
        return value

    labels = {field.key: field.label for field in (rubric.entry.fields if rubric.entry else ())}
    fields = [
        (labels.get(key, key), shown(value)) for key, value in (entry.fields or {}).items() if value not in ("", None)
    ]
    title = shown(entry.title)
    if task and blind:
        title = next((part.label for part in rubric.parts if part.key == entry.category), MASK)
    return EntryForJudge(entry.code, title, shown(entry.summary), fields, blind, task)
