"""Ceremony programmes: who is called to the stage, in which order, at each ceremony.

A contest's rubric names the ceremony where its awards are presented (``[contest] ceremony``, kept on
:attr:`~judging.models.Contest.ceremony`). The programme of a ceremony is built from the award lists
of that ceremony's contests, read from each contest's *current* result snapshot
(:func:`judging.services.snapshots.current_snapshot`: the result on public notice if there is one,
else the latest publication), never from the live tables: what is read out is what was frozen. A
contest without such a result is not in the programme; it is listed as waiting. A programme built
from a result still on notice says so (:attr:`ProgrammeContest.on_notice`), since the list may still
change after an objection.

Announcement order (documented here once; the run sheet and the presentation follow it):

- **Editions.** A programme covers one edition (``Contest.edition``, e.g. "2026"): by default the
  latest one among the ceremony's contests, so last year's winners never appear in this year's hall.
- **Contests** in the order they were configured (by id: the order their rubrics were loaded).
- **Award groups** within a contest in the payload's order: the rubric's categories (e.g. 优秀案例,
  优秀集体, 优秀个人), or, for a skills competition, the outstanding collectives first, then the
  individual awards.
- **Awards** within a group, by ``order``:

  - ``"rubric"`` (the default): the rubric's award order, i.e. rank order, first prize first;
  - ``"ascending"``: from the lowest award up to the first prize (三等奖, 二等奖, 一等奖), as many
    ceremonies announce them. Within one award the holders keep their rank order either way, so the
    order among holders of the same award is the award list's.

- Every holder gets a sequence number, counted through the whole programme.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from judging.models import Contest, EntryFile, SnapshotStatus
from judging.services import NotFound, snapshots
from judging.services.snapshots import AwardRow

RUBRIC_ORDER = "rubric"
ASCENDING_ORDER = "ascending"
ORDERS = (RUBRIC_ORDER, ASCENDING_ORDER)

CEREMONY_ORDER = ("opening", "closing")
"""Ceremonies in the order they take place; any other key follows, alphabetically."""


@dataclass(frozen=True)
class ProgrammeItem:
    """One award holder called to the stage."""

    sequence: int
    contest_title: str
    kind: str
    """The contest's kind: ``work`` (a panel judged entries) or ``skills`` (contestants' scores)."""
    row: AwardRow
    thumbnail_file_id: int | None = None
    """The work file whose thumbnail shows the entry (a video's frame), if any."""
    image_file_id: int | None = None
    """Else the entry's first image (a case told in pictures), if any."""

    @property
    def is_person(self) -> bool:
        """A contestant of a skills competition, called by name (not a collective, not a work)."""
        return self.kind == "skills" and self.row.group != "collective"

    @property
    def is_collective(self) -> bool:
        return self.kind == "skills" and self.row.group == "collective"


@dataclass(frozen=True)
class ProgrammeGroup:
    key: str
    label: str
    """The rubric's label of the group ("" when the group has none; see ``award_group_label``)."""
    items: tuple[ProgrammeItem, ...]


@dataclass(frozen=True)
class ProgrammeContest:
    slug: str
    title: str
    edition: str
    kind: str
    issuer: str
    snapshot_number: int
    status: SnapshotStatus
    digest: str
    publicity_ends_at: datetime | None
    groups: tuple[ProgrammeGroup, ...]

    @property
    def on_notice(self) -> bool:
        """The result is still on public notice (公示): not final, it may change after an objection."""
        return self.status is SnapshotStatus.FROZEN

    @property
    def items(self) -> list[ProgrammeItem]:
        return [item for group in self.groups for item in group.items]


@dataclass(frozen=True)
class Programme:
    ceremony: str
    edition: str
    order: str
    editions: tuple[str, ...]
    """Every edition the ceremony's contests have, latest first (to switch between them)."""
    contests: tuple[ProgrammeContest, ...]
    waiting: tuple[str, ...]
    """Titles of the ceremony's contests of this edition without a frozen or published result."""

    @property
    def items(self) -> list[ProgrammeItem]:
        return [item for contest in self.contests for item in contest.items]

    @property
    def on_notice(self) -> bool:
        return any(contest.on_notice for contest in self.contests)


@dataclass(frozen=True)
class CeremonySummary:
    """A ceremony in use in one edition: how many of its contests have a result, how many awards."""

    ceremony: str
    edition: str
    contests: int
    with_results: int
    on_notice: int
    awards: int


def ceremony_sort_key(ceremony: str) -> tuple[int, str]:
    return (CEREMONY_ORDER.index(ceremony) if ceremony in CEREMONY_ORDER else len(CEREMONY_ORDER), ceremony)


def _editions(contests: Iterable[Contest]) -> list[str]:
    """Distinct editions, latest first (as the public results list orders them)."""
    return sorted({contest.edition for contest in contests}, reverse=True)


def ceremonies_in_use(session: Session) -> list[CeremonySummary]:
    """Each (ceremony, edition) some contest not archived names, latest edition first, then in ceremony order."""
    grouped: dict[tuple[str, str], list[Contest]] = {}
    for contest in session.scalars(select(Contest).where(Contest.archived_at.is_(None)).order_by(Contest.id)):
        grouped.setdefault((contest.ceremony, contest.edition), []).append(contest)
    summaries = []
    for (ceremony, edition), members in grouped.items():
        current = [snapshots.current_snapshot(session, contest) for contest in members]
        found = [snapshot for snapshot in current if snapshot is not None]
        summaries.append(
            CeremonySummary(
                ceremony=ceremony,
                edition=edition,
                contests=len(members),
                with_results=len(found),
                on_notice=sum(1 for snapshot in found if snapshot.status is SnapshotStatus.FROZEN),
                awards=sum(len(snapshots.award_rows(snapshots.payload_of(snapshot))) for snapshot in found),
            )
        )
    summaries.sort(key=lambda s: ceremony_sort_key(s.ceremony))
    summaries.sort(key=lambda s: s.edition, reverse=True)
    return summaries


def announcement_order(rows: list[AwardRow], order: str) -> list[AwardRow]:
    """One group's award rows (in rank order) in the order they are announced (see the module's doc)."""
    if order == RUBRIC_ORDER:
        return list(rows)
    tiers: dict[str, list[AwardRow]] = {}
    for row in rows:  # first appearance in rank order is the rubric's award order
        tiers.setdefault(row.award, []).append(row)
    return [row for tier in reversed(list(tiers.values())) for row in tier]


def _pictures(session: Session, entry_ids: set[int]) -> tuple[dict[int, int], dict[int, int]]:
    """Per entry: the latest work file with a thumbnail, and the first image file."""
    thumbnails: dict[int, int] = {}
    images: dict[int, int] = {}
    if not entry_ids:
        return thumbnails, images
    files = session.execute(
        select(EntryFile.id, EntryFile.entry_id, EntryFile.purpose, EntryFile.thumbnail_key)
        .where(EntryFile.entry_id.in_(entry_ids), EntryFile.purpose.in_(("work", "image")))
        .order_by(EntryFile.id)
    ).all()
    for file_id, entry_id, purpose, thumbnail_key in files:
        if purpose == "work" and thumbnail_key:
            thumbnails[entry_id] = file_id  # ascending ids: the latest upload wins
        elif purpose == "image":
            images.setdefault(entry_id, file_id)
    return thumbnails, images


def programme(session: Session, ceremony: str, *, edition: str | None = None, order: str = RUBRIC_ORDER) -> Programme:
    """The programme of ``ceremony`` for ``edition`` (default: the latest), announced in ``order``.

    Raises NotFound when no contest names the ceremony, or none of its contests has that edition.
    """
    if order not in ORDERS:
        raise ValueError(f"unknown announcement order {order!r}")
    members = list(
        session.scalars(
            select(Contest).where(Contest.ceremony == ceremony, Contest.archived_at.is_(None)).order_by(Contest.id)
        )
    )
    editions = _editions(members)
    if not editions:
        raise NotFound(_("No such ceremony."))
    chosen = editions[0] if edition is None else edition
    if chosen not in editions:
        raise NotFound(_("No contest of this edition is presented at this ceremony."))
    members = [contest for contest in members if contest.edition == chosen]

    found = []
    waiting = []
    for contest in members:
        snapshot = snapshots.current_snapshot(session, contest)
        if snapshot is None:
            waiting.append(contest.title)
        else:
            found.append((contest, snapshot, snapshots.payload_of(snapshot)))
    entry_ids = {
        row.entry_id for _c, _s, payload in found for row in snapshots.award_rows(payload) if row.entry_id is not None
    }
    thumbnails, images = _pictures(session, entry_ids)

    sequence = 0
    listed = []
    for contest, snapshot, payload in found:
        head = payload["contest"]
        rows = snapshots.award_rows(payload)
        labels = {group["key"]: group["label"] for group in payload["groups"]}
        for row in rows:  # a group the payload does not list still comes last, not lost
            labels.setdefault(row.group, row.group_label)
        groups = []
        for key, label in labels.items():
            part = announcement_order([row for row in rows if row.group == key], order)
            items = []
            for row in part:
                sequence += 1
                items.append(
                    ProgrammeItem(
                        sequence=sequence,
                        contest_title=head["title"],
                        kind=head["kind"],
                        row=row,
                        thumbnail_file_id=thumbnails.get(row.entry_id) if row.entry_id is not None else None,
                        image_file_id=images.get(row.entry_id) if row.entry_id is not None else None,
                    )
                )
            if items:
                groups.append(ProgrammeGroup(key=key, label=label, items=tuple(items)))
        listed.append(
            ProgrammeContest(
                slug=contest.slug,
                title=head["title"],
                edition=head.get("edition") or contest.edition,
                kind=head["kind"],
                issuer=head.get("issuer", ""),
                snapshot_number=snapshot.number,
                status=snapshot.status,
                digest=snapshot.digest,
                publicity_ends_at=snapshot.publicity_ends_at if snapshot.status is SnapshotStatus.FROZEN else None,
                groups=tuple(groups),
            )
        )
    return Programme(
        ceremony=ceremony,
        edition=chosen,
        order=order,
        editions=tuple(editions),
        contests=tuple(listed),
        waiting=tuple(waiting),
    )
