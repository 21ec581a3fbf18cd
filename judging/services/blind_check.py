"""The organiser's blind check before review: which entries still name an organisation in their text.

Judges never see the fields a rubric marks ``identifying``, and names in the other text are masked
(:mod:`judging.services.blind_view`), but a document's text is shown to the judge as written and a
masked title reads oddly: such an entry is better returned to its entrant for anonymisation before
review. The check reads what a judge would read, the title, the summary, the other fields and the text
of the documents (extracted at upload, :mod:`judging.document_text`), for every entrant organisation's
name and declared alias and the uploader's names, after normalisation (:mod:`judging.names_in_text`).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from judging.models import Contest, Entry, User
from judging.names_in_text import context_of, find_mentions
from judging.services.blind_view import organization_names
from judging.services.contests import current_rubric
from judging.services.entries import judgeable_entries

MAX_MENTIONS_PER_PLACE = 5


@dataclass(frozen=True)
class Finding:
    """A name found in one place of an entry: ``place`` is ``title``, a field's label or a file's name."""

    entry: Entry
    place: str
    name: str
    context: str


def blind_check(session: Session, contest: Contest) -> list[Finding]:
    """Every mention of an organisation (name or alias) or of the uploader in the text that judges of
    the contest's entries before the panel would read, by entry code, then place; at most
    :data:`MAX_MENTIONS_PER_PLACE` per place."""
    rubric = current_rubric(contest)
    fields = {field.key: field for field in (rubric.entry.fields if rubric.entry else ())}
    organizations = organization_names(session)
    findings: list[Finding] = []
    for entry in judgeable_entries(session, contest):
        names = list(organizations)
        uploader = session.get(User, entry.created_by_id) if entry.created_by_id else None
        if uploader is not None:
            names += [uploader.display_name, uploader.username]
        places: list[tuple[str, str]] = [(_("Title"), entry.title or ""), (_("Summary"), entry.summary or "")]
        for key, value in (entry.fields or {}).items():
            if key in fields and fields[key].identifying:
                continue  # never shown to a blind judge
            places.append((fields[key].label if key in fields else key, "" if value is None else str(value)))
        for stored in entry.files:
            if stored.document_text:
                places.append((_("Document %(name)s", name=stored.original_name), stored.document_text))
        for place, text in places:
            for mention in find_mentions(text, names)[:MAX_MENTIONS_PER_PLACE]:
                findings.append(Finding(entry, place, mention.name, context_of(text, mention)))
    return findings
