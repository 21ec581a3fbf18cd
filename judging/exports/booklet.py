"""The exemplary-case booklet (典型案例汇编): the winning cases of a frozen or published result as a PDF
laid out by WeasyPrint, for print and for promotion online.

A cover (contest, edition, issuer, date, the result's digest in small print), a table of contents whose
page numbers WeasyPrint fills in (``target-counter()``), then one part per award group (the rubric's
categories: 优秀案例, 优秀集体, 优秀个人) and in each part one section per winning case in award
order, each starting on a new page: award, title, submitting unit, district (the unit's parent),
the entry's printable fields, its summary and its images. Running headers name the contest and the
part; the footers carry the page number.

Who won, in which order and under which name comes from the snapshot's payload (what was published);
the summary, fields and images are read from the entry itself (by the payload's ``entry_id``), which
cannot change once the contest is past entry.

**Only for contests of cases** (the rubric's ``entry.media = "document"``): a video contest (or a
skills competition) is refused with a message. A still frame says little about a micro-video, whose
winners play in the public gallery and appear with thumbnails in the ceremony presentation.

**Nothing is fetched but the entries' images**: WeasyPrint gets a URL fetcher that serves exactly the
stored files this booklet lists (by their ``file://`` URL under the storage folder) and refuses every
other URL, so no template or entrant text can make the renderer read another file or the network.
Images are embedded at most at :data:`IMAGE_DPI` and re-encoded (a 12-megapixel phone photo does not
bloat the file, and its EXIF tags, such as where it was taken, are not passed on).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import render_template
from flask_babel import format_date, format_decimal, to_user_timezone
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from weasyprint import HTML

from judging.exports.pdf import StoredImageFetcher
from judging.models import Entry, ResultSnapshot, SnapshotStatus
from judging.rubric import EntryField, Rubric
from judging.services import ServiceError
from judging.services.contests import rubric_of
from judging.services.snapshots import AwardRow, award_group_label, award_rows, payload_of
from judging.storage import Storage

IMAGE_DPI = 200
JPEG_QUALITY = 85


@dataclass(frozen=True)
class BookletFact:
    label: str
    value: str
    link: str = ""
    """An http(s) address to link the value to (report URLs)."""


@dataclass(frozen=True)
class BookletCase:
    anchor: str
    award: str
    code: str
    title: str
    unit: str
    district: str
    facts: list[BookletFact]
    paragraphs: list[str]
    images: list[str]
    """``file://`` URLs of the case's stored images, in upload order."""


@dataclass(frozen=True)
class BookletPart:
    anchor: str
    label: str
    cases: list[BookletCase]


@dataclass(frozen=True)
class Booklet:
    title: str
    edition: str
    issuer: str
    date: str
    number: int
    digest: str
    status_note: str
    parts: list[BookletPart]


def booklet_pdf(session: Session, snapshot: ResultSnapshot, storage: Storage) -> bytes:
    """The booklet of the snapshot's winning cases as PDF bytes; needs an application context.

    Refuses (ServiceError) a contest whose entries are not cases, and a result without award holders.
    """
    booklet, files = compile_booklet(session, snapshot, storage)
    html = render_template("pdf/booklet.html", booklet=booklet)
    document = HTML(string=html, url_fetcher=StoredImageFetcher(files))
    return document.write_pdf(dpi=IMAGE_DPI, jpeg_quality=JPEG_QUALITY)


def booklet_applies(rubric: Rubric) -> bool:
    """Whether a contest's winners make a booklet: its entries are cases (documents and images)."""
    return rubric.entry is not None and rubric.entry.media == "document"


def check_booklet(snapshot: ResultSnapshot) -> None:
    """Refuse (ServiceError) a result that makes no booklet: not a contest of cases, or no award holders."""
    if not booklet_applies(rubric_of(snapshot.rubric_version)):
        raise ServiceError(
            _(
                "A booklet is compiled only for contests of cases (documents and images); "
                "the works of this contest are not cases."
            )
        )
    if not any(row.entry_id is not None for row in award_rows(payload_of(snapshot))):
        raise ServiceError(_("This result has no award holders."))


def compile_booklet(
    session: Session, snapshot: ResultSnapshot, storage: Storage
) -> tuple[Booklet, dict[str, tuple[Path, str]]]:
    """What the booklet says, and the stored files (URL → path, content type) it may embed."""
    check_booklet(snapshot)
    rubric = rubric_of(snapshot.rubric_version)
    payload = payload_of(snapshot)
    rows = [row for row in award_rows(payload) if row.entry_id is not None]
    entries = {
        entry.id: entry
        for entry in session.scalars(
            select(Entry).where(Entry.id.in_([row.entry_id for row in rows])).options(selectinload(Entry.files))
        )
    }
    files: dict[str, tuple[Path, str]] = {}
    parts: list[BookletPart] = []
    number = 0
    fields = rubric.entry.fields if rubric.entry else ()
    for index, group in enumerate(payload["groups"], 1):
        cases = []
        for row in (row for row in rows if row.group == group["key"]):
            number += 1
            cases.append(_case(number, row, entries.get(row.entry_id or 0), fields, storage, files))
        if cases:
            label = award_group_label(group["key"], group["label"]) or _("Winning cases")
            parts.append(BookletPart(anchor=f"part-{index}", label=label, cases=cases))
    contest = payload["contest"]
    moment = snapshot.published_at or snapshot.frozen_at
    booklet = Booklet(
        title=contest["title"],
        edition=contest["edition"],
        issuer=contest.get("issuer", ""),
        date=_long_date(moment),
        number=snapshot.number,
        digest=snapshot.digest,
        status_note=_status_note(snapshot),
        parts=parts,
    )
    return booklet, files


def _case(
    number: int,
    row: AwardRow,
    entry: Entry | None,
    fields: tuple[EntryField, ...],
    storage: Storage,
    files: dict[str, tuple[Path, str]],
) -> BookletCase:
    facts: list[BookletFact] = []
    paragraphs: list[str] = []
    images: list[str] = []
    if entry is not None:
        for spec in fields:
            fact = _fact(spec, entry.fields.get(spec.key))
            if fact is not None:
                facts.append(fact)
        paragraphs = [line.strip() for line in entry.summary.splitlines() if line.strip()]
        for stored in entry.files:
            if stored.purpose != "image" or not storage.exists(stored.storage_key):
                continue
            path = storage.path(stored.storage_key).resolve()
            url = path.as_uri()
            files[url] = (path, stored.content_type)
            images.append(url)
    return BookletCase(
        anchor=f"case-{number}",
        award=row.award,
        code=row.subject,
        title=row.title,
        unit=row.holder,
        district=row.parent,
        facts=facts,
        paragraphs=paragraphs,
        images=images,
    )


def _fact(spec: EntryField, value: object) -> BookletFact | None:
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    if spec.type == "int":
        try:
            text = format_decimal(int(text))
        except ValueError:
            pass
    if spec.type == "url":
        link = text if text.lower().startswith(("http://", "https://")) else ""
        return BookletFact(spec.label, text, link)
    return BookletFact(spec.label, text)


def _long_date(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return format_date(to_user_timezone(moment).date(), "long")


def _status_note(snapshot: ResultSnapshot) -> str:
    """What the cover says when the result is not (or no longer) the final publication."""
    if snapshot.status is SnapshotStatus.FROZEN:
        return _("Draft: the result is on public notice and not yet final.")
    if snapshot.status is SnapshotStatus.WITHDRAWN:
        return _("This result was withdrawn from public notice.")
    if snapshot.status is SnapshotStatus.SUPERSEDED:
        return _("This publication has been corrected by a later one.")
    return ""
