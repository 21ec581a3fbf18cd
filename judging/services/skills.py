"""Skills competitions: contestant rosters and part scores imported from CSV/XLSX, and the results.

Imports are all or nothing: every row is validated first, and one bad row writes nothing and names
the row as a spreadsheet shows it (the header is row 1). Part scores are previewed before they are
written, so an organiser sees what will change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from judging.models import Contest, Contestant, Organization, PartScore, User
from judging.rubric import Rubric, format_points
from judging.scoring.score_table import ScoreTableError, cell_text, read_table_cells
from judging.scoring.skills import SkillsResult, rank_contestants
from judging.services import ServiceError, audit
from judging.services.contests import current_rubric

ID_NUMBER = re.compile(r"^\d{17}[\dX]$")

ROSTER_COLUMNS = {
    "number": ("number", "编号", "选手编号", "参赛编号"),
    "name": ("name", "姓名"),
    "organization": ("organization", "单位", "所在单位"),
    "team": ("team", "队伍", "代表队"),
    "declared_level": ("declared_level", "申报等级", "申报级别"),
    "id_number": ("id_number", "身份证号", "身份证号码"),
}
SCORE_COLUMNS = {
    "number": ("number", "contestant", "编号", "选手编号", "参赛编号"),
    "part": ("part", "task", "项目", "科目"),
    "score": ("score", "成绩", "得分"),
    "time_used": ("time_used", "用时", "用时（秒）", "用时(秒)"),
}


class ImportRefused(ServiceError):
    """The file cannot be imported; ``problems`` lists every row's problem, one line each."""

    def __init__(self, problems: list[str]):
        super().__init__(problems[0] if len(problems) == 1 else _("%(n)d problems in the file.", n=len(problems)))
        self.problems = problems


def mask_id_number(id_number: str | None) -> str:
    """An identity number as shown everywhere but the certification export: the first 3 and last 4
    characters, the rest hidden (``310***********123X``)."""
    if not id_number:
        return ""
    if len(id_number) <= 7:
        return "*" * len(id_number)
    return id_number[:3] + "*" * (len(id_number) - 7) + id_number[-4:]


def _columns(cells: pd.DataFrame, names: dict[str, tuple[str, ...]], required: Iterable[str], source: str) -> dict:
    by_header = {str(header).strip().lower(): header for header in cells.columns}
    found = {}
    for key, aliases in names.items():
        for alias in aliases:
            if alias.lower() in by_header:
                found[key] = by_header[alias.lower()]
                break
    missing = [key for key in required if key not in found]
    if missing:
        wanted = "; ".join(" / ".join(names[key]) for key in missing)
        raise ImportRefused([_("%(file)s: missing column: %(columns)s", file=source, columns=wanted)])
    return found


def _read(path: Path) -> tuple[pd.DataFrame, list[int]]:
    try:
        cells, rows = read_table_cells(path)
    except ScoreTableError as exc:
        raise ImportRefused(list(exc.errors)) from None
    return cells, [int(row) for row in rows]


@dataclass(frozen=True)
class RosterRow:
    number: str
    name: str
    organization: Organization
    team: str
    declared_level: str | None
    id_number: str | None


def read_roster(session: Session, rubric: Rubric, path: Path, source: str) -> list[RosterRow]:
    """Validate a roster file: number, name and an existing organisation on every row, a known level
    (key or label) or none, an 18-character identity number or none, no number twice."""
    cells, rows = _read(path)
    columns = _columns(cells, ROSTER_COLUMNS, ("number", "name", "organization"), source)
    organizations = {org.name: org for org in session.scalars(select(Organization))}
    levels = {level.key: level.key for level in rubric.levels} | {level.label: level.key for level in rubric.levels}
    problems: list[str] = []
    seen: dict[str, int] = {}
    parsed: list[RosterRow] = []
    for row_number, record in zip(rows, cells.itertuples(index=False, name=None), strict=True):
        values = dict(zip(cells.columns, record, strict=True))

        def value(key: str, values: dict = values) -> str:
            return cell_text(values[columns[key]]) if key in columns else ""

        number, name, org_name = value("number"), value("name"), value("organization")
        level_text, id_number = value("declared_level"), value("id_number").upper()
        where = _("%(file)s, row %(row)d", file=source, row=row_number)
        before = len(problems)
        if not number:
            problems.append(_("%(where)s: the contestant number is empty.", where=where))
        elif number in seen:
            problems.append(
                _(
                    "%(where)s: number %(number)s already appears in row %(first)d.",
                    where=where,
                    number=number,
                    first=seen[number],
                )
            )
        seen.setdefault(number, row_number)
        if not name:
            problems.append(_("%(where)s: the name is empty.", where=where))
        if org_name not in organizations:
            problems.append(_("%(where)s: unknown organisation “%(name)s”.", where=where, name=org_name))
        if level_text and level_text not in levels:
            problems.append(
                _(
                    "%(where)s: unknown level “%(level)s” (known: %(known)s).",
                    where=where,
                    level=level_text,
                    known=", ".join(level.label for level in rubric.levels),
                )
            )
        if id_number and not ID_NUMBER.match(id_number):
            problems.append(_("%(where)s: the identity number must have 18 characters.", where=where))
        if len(problems) == before:
            parsed.append(
                RosterRow(
                    number,
                    name,
                    organizations.get(org_name),
                    value("team"),  # type: ignore[arg-type]
                    levels.get(level_text) if level_text else None,
                    id_number or None,
                )
            )
    if problems:
        raise ImportRefused(problems)
    return parsed


def import_roster(session: Session, actor: User, contest: Contest, path: Path, source: str) -> tuple[int, int]:
    """Create or update the contestants of a roster file; returns (created, updated). All or nothing."""
    rubric = current_rubric(contest)
    if rubric.contest.kind != "skills":
        raise ServiceError(_("This contest has no contestants."))
    rows = read_roster(session, rubric, path, source)
    existing = {c.number: c for c in session.scalars(select(Contestant).where(Contestant.contest_id == contest.id))}
    created = updated = 0
    for row in rows:
        contestant = existing.get(row.number)
        if contestant is None:
            contestant = Contestant(contest=contest, number=row.number)
            session.add(contestant)
            created += 1
        else:
            updated += 1
        contestant.name = row.name
        contestant.organization = row.organization
        contestant.team = row.team
        contestant.declared_level = row.declared_level
        if row.id_number:
            contestant.id_number = row.id_number
    session.flush()
    audit.record(
        session,
        actor,
        "contestants.import",
        object_type="contest",
        object_id=contest.id,
        contest_id=contest.id,
        data={"file": source, "created": created, "updated": updated},
    )
    return created, updated


@dataclass(frozen=True)
class ScoreChange:
    number: str
    name: str
    part: str
    old: Decimal | None
    new: Decimal
    time_used: int | None


@dataclass(frozen=True)
class ScorePreview:
    changes: list[ScoreChange] = field(default_factory=list)
    unchanged: int = 0


def preview_part_scores(session: Session, contest: Contest, path: Path, source: str) -> ScorePreview:
    """Validate a part-score export and say what importing it would change; writes nothing.

    Every row needs a registered contestant number, a part of the rubric (key or label), a score
    from 0 to the part's maximum with at most two decimals, and, if given, a whole number of seconds.
    """
    rubric = current_rubric(contest)
    cells, rows = _read(path)
    columns = _columns(cells, SCORE_COLUMNS, ("number", "part", "score"), source)
    contestants = {c.number: c for c in session.scalars(select(Contestant).where(Contestant.contest_id == contest.id))}
    parts = {p.key: p for p in rubric.parts} | {p.label: p for p in rubric.parts}
    problems: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    changes: list[ScoreChange] = []
    unchanged = 0
    for row_number, record in zip(rows, cells.itertuples(index=False, name=None), strict=True):
        values = dict(zip(cells.columns, record, strict=True))
        number = cell_text(values[columns["number"]])
        part_text = cell_text(values[columns["part"]])
        score_text = cell_text(values[columns["score"]])
        time_text = cell_text(values[columns["time_used"]]) if "time_used" in columns else ""
        where = _("%(file)s, row %(row)d", file=source, row=row_number)
        before = len(problems)
        contestant = contestants.get(number)
        if contestant is None:
            problems.append(_("%(where)s: no contestant with number “%(number)s”.", where=where, number=number))
        part = parts.get(part_text)
        if part is None:
            problems.append(
                _(
                    "%(where)s: unknown part “%(part)s” (known: %(known)s).",
                    where=where,
                    part=part_text,
                    known=", ".join(p.label for p in rubric.parts),
                )
            )
        try:
            score = Decimal(score_text)
            if not score.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            problems.append(_("%(where)s: the score “%(value)s” is not a number.", where=where, value=score_text))
            score = None
        if score is not None and part is not None:
            if score < 0 or score > part.max:
                problems.append(
                    _(
                        "%(where)s: the score %(value)s is outside 0 to %(max)s.",
                        where=where,
                        value=score_text,
                        max=format_points(part.max),
                    )
                )
            elif score != score.quantize(Decimal("0.01")):
                problems.append(
                    _("%(where)s: the score %(value)s has more than two decimals.", where=where, value=score_text)
                )
        time_used = None
        if time_text:
            if time_text.isdigit():
                time_used = int(time_text)
            else:
                problems.append(
                    _(
                        "%(where)s: the time used “%(value)s” is not a whole number of seconds.",
                        where=where,
                        value=time_text,
                    )
                )
        if contestant is not None and part is not None:
            key = (number, part.key)
            if key in seen:
                problems.append(
                    _(
                        "%(where)s: a second score for the same contestant and part (row %(first)d).",
                        where=where,
                        first=seen[key],
                    )
                )
            seen.setdefault(key, row_number)
        if len(problems) > before or contestant is None or part is None or score is None:
            continue
        old = next((ps for ps in contestant.part_scores if ps.part == part.key), None)
        new = score.quantize(Decimal("0.01"))
        if old is not None and old.value == new and old.time_used_seconds == time_used:
            unchanged += 1
        else:
            changes.append(ScoreChange(number, contestant.name, part.key, old.value if old else None, new, time_used))
    if problems:
        raise ImportRefused(problems)
    return ScorePreview(changes, unchanged)


def import_part_scores(session: Session, actor: User, contest: Contest, path: Path, source: str) -> ScorePreview:
    """Write what :func:`preview_part_scores` showed; the file is validated again, all or nothing."""
    preview = preview_part_scores(session, contest, path, source)
    contestants = {c.number: c for c in session.scalars(select(Contestant).where(Contestant.contest_id == contest.id))}
    for change in preview.changes:
        contestant = contestants[change.number]
        score = next((ps for ps in contestant.part_scores if ps.part == change.part), None)
        if score is None:
            contestant.part_scores.append(
                PartScore(part=change.part, value=change.new, time_used_seconds=change.time_used, source="import")
            )
        else:
            score.value, score.time_used_seconds = change.new, change.time_used
    session.flush()
    audit.record(
        session,
        actor,
        "part_scores.import",
        object_type="contest",
        object_id=contest.id,
        contest_id=contest.id,
        data={
            "file": source,
            "changes": [
                {
                    "number": c.number,
                    "part": c.part,
                    "old": str(c.old) if c.old is not None else None,
                    "new": str(c.new),
                    "time_used": c.time_used,
                }
                for c in preview.changes
            ],
        },
    )
    return preview


def skills_results(session: Session, contest: Contest) -> SkillsResult:
    """Rank the contest's contestants from their stored part scores with the rubric's rules."""
    rubric = current_rubric(contest)
    people = list(session.scalars(select(Contestant).where(Contestant.contest_id == contest.id)))
    contestants = pd.DataFrame(
        [
            {
                "contestant": c.number,
                "name": c.name,
                "organization": c.organization.name,
                "declared_level": c.declared_level,
            }
            for c in people
        ],
        columns=["contestant", "name", "organization", "declared_level"],
    )
    scores = pd.DataFrame(
        [
            {"contestant": c.number, "part": ps.part, "score": ps.value, "time_used": ps.time_used_seconds}
            for c in people
            for ps in c.part_scores
        ],
        columns=["contestant", "part", "score", "time_used"],
    )
    return rank_contestants(rubric, contestants, scores)


def contestants_of(session: Session, contest: Contest) -> list[Contestant]:
    return list(
        session.scalars(select(Contestant).where(Contestant.contest_id == contest.id).order_by(Contestant.number))
    )
