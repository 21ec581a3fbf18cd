"""Skills competitions: contestant rosters and part scores imported from CSV/XLSX, judged parts
scored by a panel, and the results.

Imports are all or nothing: every row is validated first, and one bad row writes nothing and names
the row as a spreadsheet shows it (the header is row 1). Part scores are previewed before they are
written, so an organiser sees what will change.

A part with ``source = "judged"`` (e.g. an on-site operations task) is not imported: the organiser
creates one task entry per contestant (:func:`create_task_entries`), the judges score these entries
in the judging workspace like any work (panel, assignment, conflicts, blind codes, sheets), and the
contestant's part score is the judges' engine's final score of the task (:func:`judged_parts_report`),
computed afresh from the submitted sheets whenever results are asked for, never stored.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from judging.models import (
    Assignment,
    AssignmentStatus,
    Contest,
    Contestant,
    Entry,
    EntryStatus,
    Organization,
    PartScore,
    ScoreSheet,
    SheetStatus,
    User,
    utcnow,
)
from judging.rubric import Part, Rubric, format_points
from judging.scoring.ranking import RankingResult, rank_entries
from judging.scoring.score_table import ScoreTableError, cell_text, parse_score_frame
from judging.scoring.skills import (
    SkillsResult,
    judged_part_score,
    judged_parts,
    judging_rubric,
    rank_contestants,
    round_half_up,
)
from judging.services import NotFound, ServiceError, audit, panel
from judging.services.contests import current_rubric, require
from judging.services.entries import judgeable_statuses
from judging.services.results import ContestResults, score_frames
from judging.services.table_import import ImportRefused, find_columns, read_cells
from judging.workflow import Action

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


def mask_id_number(id_number: str | None) -> str:
    """An identity number as shown everywhere but the certification export: the first 3 and last 4
    characters, the rest hidden (``310***********123X``)."""
    if not id_number:
        return ""
    if len(id_number) <= 7:
        return "*" * len(id_number)
    return id_number[:3] + "*" * (len(id_number) - 7) + id_number[-4:]


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
    cells, rows = read_cells(path)
    columns = find_columns(cells, ROSTER_COLUMNS, ("number", "name", "organization"), source)
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
        elif organizations[org_name].retired:
            problems.append(
                _(
                    "%(where)s: the organisation “%(name)s” is retired: it takes no new contestants.",
                    where=where,
                    name=org_name,
                )
            )
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
                    organizations[org_name],  # known: an unknown one is a problem above
                    value("team"),
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
    require(Action.IMPORT_SCORES, contest)
    rows = read_roster(session, rubric, path, source)
    existing = {c.number: c for c in session.scalars(select(Contestant).where(Contestant.contest_id == contest.id))}
    created = updated = 0
    moved: dict[int, int] = {}
    for row in rows:
        contestant = existing.get(row.number)
        if contestant is None:
            contestant = Contestant(contest=contest, number=row.number)
            session.add(contestant)
            created += 1
        else:
            updated += 1
            if contestant.organization_id != row.organization.id:
                moved[contestant.id] = row.organization.id
        contestant.name = row.name
        contestant.organization = row.organization
        contestant.team = row.team
        contestant.declared_level = row.declared_level
        if row.id_number:
            contestant.id_number = row.id_number
    # A contestant's task entries belong to the contestant's organisation: that is whose judges recuse.
    for task in session.scalars(select(Entry).where(Entry.contestant_id.in_(moved))) if moved else ():
        if task.contestant_id in moved:  # always: the query asked for these
            task.organization_id = moved[task.contestant_id]
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
    require(Action.IMPORT_SCORES, contest)
    cells, rows = read_cells(path)
    return _preview_score_cells(session, contest, cells, rows, source)


def score_rows_cells(records: Sequence[Mapping[str, object]]) -> tuple[pd.DataFrame, list[int]]:
    """Part-score rows given as records (``number, part, score[, time_used]``, e.g. a JSON array) as the
    cells of a table, numbered from 1 in the order given; a missing key is a blank cell."""
    keys = ["number", "part", "score", "time_used"]
    cells = pd.DataFrame([[record.get(key) for key in keys] for record in records], columns=keys, dtype=object)
    return cells, list(range(1, len(records) + 1))


def preview_part_score_rows(
    session: Session, contest: Contest, records: Sequence[Mapping[str, object]], source: str
) -> ScorePreview:
    """:func:`preview_part_scores` of rows given as records (:func:`score_rows_cells`): the same checks and
    messages, each row named by its position; writes nothing."""
    require(Action.IMPORT_SCORES, contest)
    if not records:
        raise ImportRefused([_("%(file)s: no rows to import.", file=source)])
    cells, rows = score_rows_cells(records)
    return _preview_score_cells(session, contest, cells, rows, source)


def _preview_score_cells(
    session: Session, contest: Contest, cells: pd.DataFrame, rows: list[int], source: str
) -> ScorePreview:
    rubric = current_rubric(contest)
    columns = find_columns(cells, SCORE_COLUMNS, ("number", "part", "score"), source)
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
        if part is not None and part.source == "judged":
            problems.append(
                _(
                    "%(where)s: “%(part)s” is scored by the judges in the judging workspace, not imported.",
                    where=where,
                    part=part.label,
                )
            )
            part = None
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
    return _write_part_scores(session, actor, contest, preview_part_scores(session, contest, path, source), source)


def import_part_score_rows(
    session: Session, actor: User, contest: Contest, records: Sequence[Mapping[str, object]], source: str
) -> ScorePreview:
    """Write part scores given as records, validated as :func:`preview_part_score_rows` does, all or nothing."""
    preview = preview_part_score_rows(session, contest, records, source)
    return _write_part_scores(session, actor, contest, preview, source)


def _write_part_scores(
    session: Session, actor: User, contest: Contest, preview: ScorePreview, source: str
) -> ScorePreview:
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


def skills_results(session: Session, contest: Contest, judged: JudgedParts | None = None) -> SkillsResult:
    """Rank the contest's contestants with the rubric's rules: imported parts from their stored part
    scores, judged parts from the judges' sheets (:func:`judged_parts_report`; pass ``judged`` when
    already computed). A contestant without a part's score is listed as not ranked, with the reason
    in the user's language (no score imported yet; no task entry; too few valid sheets, …)."""
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
    imported = {part.key: part for part in rubric.parts if part.source == "import"}
    rows: list[dict[str, object]] = [
        {"contestant": c.number, "part": ps.part, "score": ps.value, "time_used": ps.time_used_seconds}
        for c in people
        for ps in c.part_scores
        if ps.part in imported  # a stored score of a part that is now judged no longer counts
    ]
    reasons: dict[tuple[str, str], str] = {}
    for c in people:
        have = {ps.part for ps in c.part_scores}
        for key, part in imported.items():
            if key not in have:
                reasons[(c.number, key)] = _("%(part)s: no score imported yet.", part=part.label)
    if judged_parts(rubric):
        report = judged if judged is not None else judged_parts_report(session, contest)
        for (number, key), task in report.tasks.items():
            if task.score is not None:
                rows.append({"contestant": number, "part": key, "score": task.score, "time_used": None})
            else:
                reasons[(number, key)] = task.reason
    scores = pd.DataFrame(rows, columns=["contestant", "part", "score", "time_used"])
    return rank_contestants(rubric, contestants, scores, missing_reasons=reasons)


# --- judged parts ----------------------------------------------------------------------------------


def _task_entries(session: Session, contest: Contest) -> list[Entry]:
    return list(
        session.scalars(
            select(Entry).where(Entry.contest_id == contest.id, Entry.contestant_id.is_not(None)).order_by(Entry.code)
        )
    )


def create_task_entries(session: Session, actor: User, contest: Contest) -> int:
    """Create the task entries of the judged parts: one per contestant and judged part, for every
    contestant who has none yet (so running it again after more contestants are imported adds only
    theirs). Returns how many were created.

    A task entry belongs to the contestant's organisation (judges of that organisation recuse, as for
    works), is titled with the contestant's number and the part's label (seen by organisers only; a
    blind judge sees the code and the part), and is submitted, so it goes before the panel. Codes come
    from the contest's code prefix, handed out in a random order so that a code says nothing about
    the contestant. Refused for a contest without a judged part or without contestants, and outside
    review: judges score only in review, and before it (open for entries) an entrant could withdraw a
    submitted entry of its organisation. When judges have already been assigned, the new tasks are
    assigned at once.
    """
    rubric = current_rubric(contest)
    parts = judged_parts(rubric)
    if rubric.contest.kind != "skills" or not parts:
        raise ServiceError(_("No part of this contest is scored by judges."))
    require(Action.CREATE_TASKS, contest)
    people = contestants_of(session, contest)
    if not people:
        raise ServiceError(_("Import the roster first: there are no contestants yet."))
    existing = _task_entries(session, contest)
    have = {(entry.contestant_id, entry.category) for entry in existing}
    codes = set(session.scalars(select(Entry.code).where(Entry.contest_id == contest.id)))
    number = len(codes)
    shuffle = secrets.SystemRandom().shuffle
    created: list[tuple[str, str, str]] = []
    now = utcnow()
    for part in parts:
        missing = [c for c in people if (c.id, part.key) not in have]
        shuffle(missing)
        for contestant in missing:
            number += 1
            code = f"{rubric.contest.entry_code_prefix}-{number:03d}"
            while code in codes:
                number += 1
                code = f"{rubric.contest.entry_code_prefix}-{number:03d}"
            codes.add(code)
            session.add(
                Entry(
                    contest=contest,
                    organization_id=contestant.organization_id,
                    contestant_id=contestant.id,
                    code=code,
                    category=part.key,
                    title=f"{contestant.number} {part.label}"[:200],
                    summary="",
                    fields={},
                    declarations=[],
                    status=EntryStatus.SUBMITTED,
                    submitted_at=now,
                    created_by_id=actor.id,
                )
            )
            created.append((code, contestant.number, part.key))
    if not created:
        return 0
    session.flush()
    audit.record(
        session,
        actor,
        "tasks.create",
        object_type="contest",
        object_id=contest.id,
        contest_id=contest.id,
        data={"created": len(created), "tasks": [list(task) for task in sorted(created)]},
    )
    already_assigned = session.scalar(select(Assignment.id).join(Entry).where(Entry.contest_id == contest.id).limit(1))
    if contest.panel and already_assigned is not None:
        panel.assign_judges(session, actor, contest)
    return len(created)


def task_codes(session: Session, contest: Contest) -> dict[tuple[int, str], str]:
    """(contestant id, part key) → the code of that contestant's task entry for that judged part."""
    return {
        (entry.contestant_id, entry.category or ""): entry.code
        for entry in _task_entries(session, contest)
        if entry.contestant_id is not None  # always: task entries are a contestant's
    }


@dataclass(frozen=True)
class JudgedTask:
    """One contestant's task for a judged part: its code, the valid sheets counted, the judges'
    final score (``panel_score``, on the criteria's scale), the part score (``score``, on the part's
    scale, exact) — or, with no score yet, ``reason`` in the user's language."""

    contestant: str
    part: str
    code: str
    sheets: int
    panel_score: Decimal | None
    score: Fraction | None
    reason: str = ""

    @property
    def shown_score(self) -> Decimal | None:
        """The part score as shown: to the hundredth, half up."""
        return None if self.score is None else round_half_up(self.score, 2)


@dataclass(frozen=True)
class JudgedPartProgress:
    """How far the judging of one judged part has come."""

    part: Part
    max_total: Decimal
    """The criteria's highest sheet total; when it differs from ``part.max`` scores are scaled."""
    contestants: int
    tasks: int
    assignments: int
    submitted: int
    drafts: int
    scored: int

    @property
    def percent(self) -> int:
        return 100 * self.scored // self.contestants if self.contestants else 0

    @property
    def scaled(self) -> bool:
        return self.max_total != self.part.max


@dataclass(frozen=True)
class JudgedParts:
    """The judged parts of a skills contest: progress per part, and each contestant's task by
    (contestant number, part key). ``problems``: why the judges' sheets could not be aggregated."""

    progress: tuple[JudgedPartProgress, ...] = ()
    tasks: Mapping[tuple[str, str], JudgedTask] = field(default_factory=dict)
    problems: tuple[str, ...] = ()


def judged_parts_report(session: Session, contest: Contest) -> JudgedParts:
    """Score the judged parts from the submitted sheets, with the judges' engine and the rubric's
    ``[aggregation]`` (the same sheets count as for a work: submitted, of active assignments, of
    tasks before the panel). A task's final score becomes the contestant's part score through
    :func:`~judging.scoring.skills.judged_part_score`."""
    rubric = current_rubric(contest)
    parts = judged_parts(rubric)
    if rubric.contest.kind != "skills" or not parts:
        return JudgedParts()
    panel_rubric = judging_rubric(rubric)
    max_total = panel_rubric.max_total
    people = contestants_of(session, contest)
    before_panel = judgeable_statuses(panel_rubric)
    tasks = {
        (entry.contestant_id, entry.category): entry
        for entry in _task_entries(session, contest)
        if entry.status in before_panel
    }
    scores, checks = score_frames(session, contest, panel_rubric)
    ranking: RankingResult | None = None
    problems: tuple[str, ...] = ()
    if not scores.empty:
        try:
            ranking = rank_entries(parse_score_frame(scores, panel_rubric, source=contest.slug), panel_rubric, checks)
        except ScoreTableError as refusal:
            problems = tuple(refusal.errors)
        except ValueError as refusal:
            problems = (str(refusal),)
    scored_codes = set(scores["entry"].tolist())
    explained = ContestResults(
        contest=contest,
        rubric=panel_rubric,
        computed_at=utcnow(),
        scores=scores,
        checks=checks,
        entries={},
        judges={},
        sheets_counted=0,
        sheets_not_counted=0,
        ranking=ranking,
        unscored=tuple(entry.code for entry in tasks.values() if entry.code not in scored_codes),
    )
    finals: dict[str, tuple[Decimal, int]] = {}
    valid: dict[str, int] = {}
    if ranking is not None:
        finals = {str(row.entry): (row.final_score, int(row.n_sheets)) for row in ranking.table.itertuples(index=False)}
        valid = {str(row.entry): int(row.n_sheets) for row in ranking.excluded.itertuples(index=False)}

    judged: dict[tuple[str, str], JudgedTask] = {}
    for part in parts:
        for contestant in people:
            entry = tasks.get((contestant.id, part.key))
            key = (contestant.number, part.key)
            if entry is None:
                judged[key] = JudgedTask(
                    contestant.number, part.key, "", 0, None, None, _("%(part)s: no task entry yet.", part=part.label)
                )
            elif entry.code in finals:
                final, sheets = finals[entry.code]
                score = judged_part_score(final, part, max_total)
                judged[key] = JudgedTask(contestant.number, part.key, entry.code, sheets, final, score)
            else:
                if problems:
                    why = [_("the judges' sheets cannot be aggregated: %(problem)s", problem=problems[0])]
                else:
                    why = explained.reasons(entry.code)
                judged[key] = JudgedTask(
                    contestant.number,
                    part.key,
                    entry.code,
                    valid.get(entry.code, 0),
                    None,
                    None,
                    _("%(part)s: %(reason)s", part=part.label, reason=" ".join(why)),
                )

    counts: dict[tuple[str | None, SheetStatus | None], int] = {}
    for category, status, n in session.execute(
        select(Entry.category, ScoreSheet.status, func.count(Assignment.id))
        .select_from(Assignment)
        .join(Entry, Assignment.entry_id == Entry.id)
        .outerjoin(ScoreSheet, ScoreSheet.assignment_id == Assignment.id)
        .where(
            Entry.contest_id == contest.id,
            Entry.contestant_id.is_not(None),
            Entry.status.in_(before_panel),
            Assignment.status == AssignmentStatus.ASSIGNED,
        )
        .group_by(Entry.category, ScoreSheet.status)
    ).all():
        counts[(category, status)] = int(n)
    progress = tuple(
        JudgedPartProgress(
            part=part,
            max_total=max_total,
            contestants=len(people),
            tasks=sum(1 for (_id, key) in tasks if key == part.key),
            assignments=sum(n for (key, _status), n in counts.items() if key == part.key),
            submitted=counts.get((part.key, SheetStatus.SUBMITTED), 0),
            drafts=counts.get((part.key, SheetStatus.DRAFT), 0),
            scored=sum(1 for task in judged.values() if task.part == part.key and task.score is not None),
        )
        for part in parts
    )
    return JudgedParts(progress, judged, problems)


def contestants_of(session: Session, contest: Contest) -> list[Contestant]:
    return list(
        session.scalars(select(Contestant).where(Contestant.contest_id == contest.id).order_by(Contestant.number))
    )


CONTESTANTS_PER_PAGE = 100
"""A page of the organisers' contestants list: a vocational contest registers hundreds (766 in the
benchmark), and drawing them all took 0.44 s and 46 statements on every visit."""


@dataclass(frozen=True)
class ContestantsPage:
    contestants: list[Contestant]
    page: int
    pages: int
    total: int

    @property
    def first(self) -> int:
        """The place of the page's first contestant in the whole list (1-based; 0 for an empty list)."""
        return (self.page - 1) * CONTESTANTS_PER_PAGE + 1 if self.contestants else 0

    @property
    def last(self) -> int:
        return self.first + len(self.contestants) - 1 if self.contestants else 0


def contestants_page(session: Session, contest: Contest, page: int) -> ContestantsPage:
    """One page of the contest's contestants by number, with their organisations and part scores loaded
    in one statement each. A page past the last is refused (:class:`NotFound`); page 1 of an empty list
    is an empty page."""
    total = session.scalar(select(func.count(Contestant.id)).where(Contestant.contest_id == contest.id)) or 0
    pages = max(1, -(-total // CONTESTANTS_PER_PAGE))
    if page < 1 or page > pages:
        raise NotFound(_("There is no such page."))
    contestants = list(
        session.scalars(
            select(Contestant)
            .where(Contestant.contest_id == contest.id)
            .options(joinedload(Contestant.organization))
            .order_by(Contestant.number)
            .offset((page - 1) * CONTESTANTS_PER_PAGE)
            .limit(CONTESTANTS_PER_PAGE)
        )
    )
    return ContestantsPage(contestants, page, pages, total)
