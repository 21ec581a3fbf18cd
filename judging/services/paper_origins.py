"""Where a submitted sheet came from when it was typed from paper: its paper number, the two clerks who
typed it and who settled a disagreement (see :mod:`judging.services.paper_sheets` for the double entry
itself). Read by the judge's sheet, the results and their exports, so it depends on nothing but the models.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from judging.models import Assignment, Contest, Entry, PaperSheet, ScoreSheet, User


def paper_record(session: Session, sheet: ScoreSheet) -> PaperSheet | None:
    """The paper origin of a sheet (number, clerks, settlement), None for a sheet typed on the web."""
    return session.scalar(select(PaperSheet).where(PaperSheet.sheet_id == sheet.id))


def paper_records(session: Session, contest: Contest) -> dict[int, PaperSheet]:
    """The paper origin of every paper sheet of the contest, by assignment id."""
    rows = session.execute(
        select(Assignment.id, PaperSheet)
        .join(ScoreSheet, PaperSheet.sheet_id == ScoreSheet.id)
        .join(Assignment, ScoreSheet.assignment_id == Assignment.id)
        .join(Entry, Assignment.entry_id == Entry.id)
        .where(Entry.contest_id == contest.id)
        .options(
            selectinload(PaperSheet.first_clerk),
            selectinload(PaperSheet.second_clerk),
            selectinload(PaperSheet.settled_by),
        )
    ).all()
    return {assignment_id: record for assignment_id, record in rows}


def origin_text(record: PaperSheet) -> str:
    """How a sheet's paper origin reads on the sheet, the explanation and the exports."""
    text = _(
        "From paper no. %(number)s, typed by %(first)s and %(second)s",
        number=record.paper_number,
        first=record.first_clerk.display_name,
        second=record.second_clerk.display_name,
    )
    if record.settled_by is not None:
        text += _("; settled by %(name)s", name=record.settled_by.display_name)
    return text


def paper_origin(session: Session, sheet: ScoreSheet) -> str:
    """How a sheet's paper origin reads ("" for a sheet typed on the web)."""
    record = paper_record(session, sheet)
    return origin_text(record) if record is not None else ""


def paper_origins(session: Session, contest: Contest) -> dict[tuple[str, str], str]:
    """The paper origin of each paper sheet of the contest, by (entry code, judge username)."""
    rows = session.execute(
        select(Entry.code, User.username, PaperSheet)
        .join(ScoreSheet, PaperSheet.sheet_id == ScoreSheet.id)
        .join(Assignment, ScoreSheet.assignment_id == Assignment.id)
        .join(Entry, Assignment.entry_id == Entry.id)
        .join(User, Assignment.judge_id == User.id)
        .where(Entry.contest_id == contest.id)
        .options(
            selectinload(PaperSheet.first_clerk),
            selectinload(PaperSheet.second_clerk),
            selectinload(PaperSheet.settled_by),
        )
    ).all()
    return {(code, username): origin_text(record) for code, username, record in rows}
