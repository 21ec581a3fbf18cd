"""How far judging has come: a judge's own list of assignments, and the organiser's judges × entries
matrix with who is behind and which entries the judges disagree on.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from itertools import groupby

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from judging.models import (
    Assignment,
    AssignmentStatus,
    Contest,
    Entry,
    PanelMember,
    ScoreSheet,
    SheetStatus,
    User,
)
from judging.services.contests import allowed, current_rubric
from judging.services.entries import judgeable_entries
from judging.services.membership import on_panel
from judging.services.sheets import sheet_total
from judging.workflow import Action


def assignments_of_judge(session: Session, judge: User) -> list[Assignment]:
    """The judge's assignments in the contests whose panel the judge sits on: one per entry and round."""
    return list(
        session.scalars(
            select(Assignment)
            .join(Entry)
            .where(Assignment.judge_id == judge.id, on_panel(judge.id, Entry.contest_id))
            .options(selectinload(Assignment.entry).selectinload(Entry.files), selectinload(Assignment.sheet))
            .order_by(Entry.contest_id, Entry.code, Assignment.id)
        )
    )


@dataclass(frozen=True)
class JudgeProgress:
    """One contest's assignments of a judge, and how many active ones have a submitted sheet."""

    contest: Contest
    assignments: list[Assignment]
    done: int
    total: int

    @property
    def percent(self) -> int:
        return 100 * self.done // self.total if self.total else 0

    @property
    def open_for_scores(self) -> bool:
        return open_for_scores(self.contest)

    @property
    def round_labels(self) -> dict[str, str]:
        """Round key → label, to name the round of each assignment (empty without rounds)."""
        return {spec.key: spec.label for spec in current_rubric(self.contest).rounds}

    def by_state(self) -> dict[str, list[Assignment]]:
        """The assignments grouped as the judge works through them: to do, draft, done, recused."""
        groups: dict[str, list[Assignment]] = {"todo": [], "draft": [], "done": [], "recused": []}
        for assignment in self.assignments:
            groups[assignment_state(assignment)].append(assignment)
        return groups


def assignment_state(assignment: Assignment) -> str:
    """``todo`` (no sheet), ``draft``, ``done`` (submitted) or ``recused``."""
    if assignment.status is AssignmentStatus.RECUSED:
        return "recused"
    if assignment.sheet is None:
        return "todo"
    return "done" if assignment.sheet.status is SheetStatus.SUBMITTED else "draft"


def open_for_scores(contest: Contest) -> bool:
    """Whether judges can still save sheets: the contest is in review and its review deadline has not passed."""
    return allowed(Action.SAVE_SHEETS, contest)


def open_for_conflicts(contest: Contest) -> bool:
    """Whether a judge can still declare a conflict of interest: until the result is frozen."""
    return allowed(Action.DECLARE_CONFLICTS, contest)


def progress_of_judge(session: Session, judge: User) -> list[JudgeProgress]:
    """A judge's assignments per contest: the contests still open for scores first, then the closed ones."""
    progress = []
    for contest, grouped in groupby(assignments_of_judge(session, judge), key=lambda a: a.entry.contest):
        rows = list(grouped)
        active = [a for a in rows if a.status is AssignmentStatus.ASSIGNED]
        done = sum(1 for a in active if a.sheet is not None and a.sheet.status is SheetStatus.SUBMITTED)
        progress.append(JudgeProgress(contest, rows, done, len(active)))
    return sorted(progress, key=lambda group: not group.open_for_scores)


@dataclass(frozen=True)
class Cell:
    """One judge × entry square of the organiser's matrix: ``state`` is one of
    ``none`` (not assigned), ``todo``, ``draft``, ``done``, ``recused``."""

    state: str
    assignment: Assignment | None = None
    total: Decimal | None = None


@dataclass(frozen=True)
class JudgeRow:
    judge: User
    cells: list[Cell]
    done: int
    total: int
    behind: bool

    @property
    def percent(self) -> int:
        return 100 * self.done // self.total if self.total else 0


@dataclass(frozen=True)
class Disagreement:
    """An entry whose submitted sheet totals lie further apart than the allowed spread."""

    entry: Entry
    lowest: Decimal
    highest: Decimal

    @property
    def spread(self) -> Decimal:
        return self.highest - self.lowest


@dataclass(frozen=True)
class PanelProgress:
    """The organiser's view of one contest's judging: whether judges may still save sheets is the contest's."""

    contest: Contest
    entries: list[Entry]
    rows: list[JudgeRow]
    done: int
    total: int
    disagreements: list[Disagreement]
    recusals: list[Assignment]

    @property
    def percent(self) -> int:
        return 100 * self.done // self.total if self.total else 0

    @property
    def open_for_scores(self) -> bool:
        return open_for_scores(self.contest)


def panel_progress(session: Session, contest: Contest, allowed_spread: Decimal) -> PanelProgress:
    """The organiser's view of judging: the judges × entries matrix, who is behind, and disagreements.

    A judge is *behind* when the judge still has sheets to submit and has submitted a smaller share of
    them than the panel as a whole. An entry is flagged when the highest and lowest totals of its
    submitted sheets differ by more than ``allowed_spread`` points.
    """
    rubric = current_rubric(contest)
    entries = judgeable_entries(session, contest)
    members = session.scalars(
        select(PanelMember).where(PanelMember.contest_id == contest.id).options(joinedload(PanelMember.judge))
    )
    judges = sorted((m.judge for m in members), key=lambda j: (j.display_name, j.id))
    # The assignments with their judges and sheets in one statement, the sheets' scores and check answers in
    # one more each (subquery loading: no list of ids, which would be cut into chunks of 500 as a contest
    # grows): the page runs the same statements for 5 entries as for 500.
    # (entry, judge) → the judge's assignments to the entry, oldest first: one, or one per round for a judge
    # on several rounds' panels (the square shows the latest round's; every round's sheets are counted).
    assignments: dict[tuple[int, int], list[Assignment]] = {}
    for listed in session.scalars(
        select(Assignment)
        .join(Entry)
        .where(Entry.contest_id == contest.id)
        .options(
            joinedload(Assignment.judge),
            joinedload(Assignment.sheet).subqueryload(ScoreSheet.scores),
            joinedload(Assignment.sheet).subqueryload(ScoreSheet.check_answers),
        )
        .order_by(Assignment.id)
    ).unique():
        assignments.setdefault((listed.entry_id, listed.judge_id), []).append(listed)
        if listed.judge not in judges:
            judges.append(listed.judge)  # off the panel: their sheets count only if the organiser kept them
    totals: dict[int, list[Decimal]] = {entry.id: [] for entry in entries}
    raw_rows = []
    for judge in judges:
        cells = []
        done = total = 0
        for entry in entries:
            cell = Cell("none")
            for assignment in assignments.get((entry.id, judge.id), ()):
                if assignment.status is AssignmentStatus.RECUSED:
                    cell = Cell("recused", assignment)
                    continue
                total += 1
                sheet = assignment.sheet
                if sheet is None:
                    cell = Cell("todo", assignment)
                elif sheet.status is SheetStatus.DRAFT:
                    cell = Cell("draft", assignment)
                else:
                    done += 1
                    sheet_sum = sheet_total(rubric, sheet)
                    if sheet_sum is not None:
                        totals[entry.id].append(sheet_sum)
                    cell = Cell("done", assignment, sheet_sum)
            cells.append(cell)
        raw_rows.append((judge, cells, done, total))
    all_done = sum(row[2] for row in raw_rows)
    all_total = sum(row[3] for row in raw_rows)
    rows = [
        JudgeRow(judge, cells, done, total, behind=done < total and done * all_total < all_done * total)
        for judge, cells, done, total in raw_rows
    ]
    disagreements = [
        Disagreement(entry, min(totals[entry.id]), max(totals[entry.id]))
        for entry in entries
        if len(totals[entry.id]) >= 2 and max(totals[entry.id]) - min(totals[entry.id]) > allowed_spread
    ]
    recusals = [a for listed in assignments.values() for a in listed if a.status is AssignmentStatus.RECUSED]
    recusals.sort(key=lambda a: a.recused_at or a.created_at, reverse=True)
    return PanelProgress(contest, entries, rows, all_done, all_total, disagreements, recusals)
