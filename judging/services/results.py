"""Results of a judged contest computed from the database: a preview during review, for organisers.

Read-only. :func:`compute_results` builds the long score table the engine reads from the sheets that
count, runs the engine (:func:`~judging.scoring.ranking.rank_entries`), the reliability report on
the sheet totals and the leave-one-judge-out robustness check, and returns one
:class:`ContestResults` for the organiser's page and the xlsx download (:func:`results_workbook`).

What counts (the rule of this module): only **submitted** sheets made with the contest's **current
rubric version**, of **active** (not recused) assignments of **judgeable** entries
(``entries.judgeable_statuses``), by judges **on the panel** (or removed with their sheets kept, see
:mod:`judging.services.membership`), with their check answers. Drafts, sheets of an earlier rubric
version (a migration reopened them), recused or removed judges' sheets and withdrawn or disqualified
entries are left out: a result never mixes rubric versions. The entry label is its
blind code, the judge label the judge's username; the organiser may see both names beside them.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from threading import Lock
from typing import Any

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from judging.exports.workbook import Sheet, frame_sheet, xlsx_bytes
from judging.models import (
    Assignment,
    AssignmentStatus,
    CheckAnswer,
    Contest,
    Entry,
    Organization,
    PanelRemoval,
    Score,
    ScoreSheet,
    SheetStatus,
    User,
    utcnow,
)
from judging.result_words import (
    incomplete_sheets_text,
    listing_note_text,
    rank_status_label,
    reason_text,
    sheet_fate_label,
    sheet_note_text,
)
from judging.rubric import Rubric
from judging.scoring.eligibility import ReasonKind
from judging.scoring.ranking import RankingResult, rank_entries
from judging.scoring.reliability import reliability_report
from judging.scoring.robustness import RobustnessReport, leave_one_judge_out
from judging.scoring.score_table import ScoreTableError, parse_score_frame
from judging.services import ServiceError
from judging.services.contests import current_rubric
from judging.services.entries import judgeable_statuses
from judging.services.membership import sheets_count
from judging.services.paper_origins import paper_origins
from judging.services.round_paths import PathStep, entry_paths, round_codes, step_text


@dataclass(frozen=True)
class EntryLine:
    """Who made an entry: the organiser sees the names behind the blind code."""

    id: int
    code: str
    title: str
    organization: str
    category: str


@dataclass(frozen=True)
class RemovedJudge:
    """A judge taken off the panel, and what became of the judge's sheets."""

    name: str
    sheets: int
    kept: bool
    reason: str


@dataclass(frozen=True)
class ContestResults:
    """Everything the organiser's results page and the download show, computed at ``computed_at``."""

    contest: Contest
    rubric: Rubric
    computed_at: datetime
    scores: pd.DataFrame
    """The long table the engine read: ``entry, judge, criterion, score[, category]``."""
    checks: pd.DataFrame
    entries: Mapping[str, EntryLine]
    """Every judgeable entry by code, scored or not."""
    judges: Mapping[str, str]
    """Judge username → display name, for the judges whose sheets count."""
    sheets_counted: int
    sheets_not_counted: int
    """Draft sheets of active assignments: saved but not submitted, so not in the result."""
    ranking: RankingResult | None = None
    reliability: dict[str, Any] | None = None
    robustness: RobustnessReport | None = None
    problems: tuple[str, ...] = ()
    """Why the engine could not rank the table (one line per problem), if it could not."""
    unscored: tuple[str, ...] = field(default=())
    """Judgeable entries with no submitted sheet yet: not in the engine's table at all."""
    removed_judges: tuple[RemovedJudge, ...] = field(default=())
    """Judges taken off the panel: whether their sheets were kept in the result, and why."""
    sheets_of_earlier_rubric: int = 0
    """Submitted sheets made with an earlier rubric version: left out until their judges submit them again."""
    engine_key: str = ""
    paper_sheets: Mapping[tuple[str, str], str] = field(default_factory=dict)
    """(entry code, judge username) → where a sheet typed from paper came from (number, clerks, settlement)."""
    """The digest of the engine's inputs (:func:`engine_key`): equal keys, equal ranking; "" without sheets."""
    paths: Mapping[str, tuple[PathStep, ...]] = field(default_factory=dict)
    """With ``[[rounds]]``: every entry's path through the frozen rounds, by code."""
    eliminated: Mapping[str, EntryLine] = field(default_factory=dict)
    """With ``[[rounds]]``: the entries a frozen round did not send on (they are not in the last round)."""

    last_round_label: str = ""
    """With ``[[rounds]]``: the label of the last round, whose result this is."""

    def path_lines(self, entry: str) -> list[str]:
        """An entry's path through the rounds in the user's language, one line per frozen round, then its
        result in the last round (its score and rank, or why it is not ranked there)."""
        lines = [step_text(step) for step in self.paths.get(entry, ())]
        if self.last_round_label and entry in self.entries:
            if self.ranking is not None and entry in set(self.ranking.table["entry"]):
                row = self.ranking.table[self.ranking.table["entry"] == entry].iloc[0]
                lines.append(
                    _(
                        "%(round)s: %(result)s",
                        round=self.last_round_label,
                        result=_("score %(score)s, rank %(rank)s", score=row["final_score"], rank=int(row["rank"])),
                    )
                )
            else:
                lines.append(_("%(round)s: %(result)s", round=self.last_round_label, result=_("not ranked")))
        return lines

    def judge_name(self, username: str) -> str:
        return self.judges.get(username, username)

    def reasons(self, entry: str) -> list[str]:
        """Why an entry is not ranked, in the user's language: each failed check with its answers, too
        few valid sheets, or no submitted sheet at all."""
        if entry in self.unscored or self.ranking is None:
            return [_("No submitted sheet yet.")]
        explanation = self.ranking.explain(entry)
        lines = [reason_text(reason) for reason in explanation.reasons]
        too_few = (ReasonKind.TOO_FEW_SHEETS, ReasonKind.TOO_FEW_TO_TRIM)
        incomplete = sum(1 for sheet in explanation.sheets if sheet.total is None)
        if incomplete and not any(reason.kind in too_few for reason in explanation.reasons):
            lines.append(incomplete_sheets_text(incomplete))  # a too-few reason already counts them
        return lines

    def category_label(self, key: str) -> str:
        for category in self.rubric.categories:
            if category.key == key:
                return category.label
        return key


def _panel_sheets(
    contest: Contest, rubric: Rubric, status: SheetStatus, query: Select, round_key: str | None = None
) -> Select:
    """``query`` restricted to the sheets in ``status`` of active assignments of the entries that go
    before the panel: the sheets a result counts (submitted) or is still waiting for (draft); with
    ``round_key``, only that judging round's."""
    return _active_sheets(contest, rubric, status, query, round_key).where(
        ScoreSheet.rubric_version_id == contest.current_rubric.id,
        sheets_count(Assignment.judge_id, contest.id),
    )


def _active_sheets(
    contest: Contest, rubric: Rubric, status: SheetStatus, query: Select, round_key: str | None = None
) -> Select:
    if round_key is not None:
        query = query.where(Assignment.round_key == round_key)
    return (
        query.join(Assignment, ScoreSheet.assignment_id == Assignment.id)
        .join(Entry, Assignment.entry_id == Entry.id)
        .where(
            Entry.contest_id == contest.id,
            Entry.status.in_(judgeable_statuses(rubric)),
            Assignment.status == AssignmentStatus.ASSIGNED,
            ScoreSheet.status == status,
        )
    )


def removed_judges(session: Session, contest: Contest, rubric: Rubric) -> tuple[RemovedJudge, ...]:
    """The judges taken off the contest's panel (and not back on it), with their submitted sheets and
    whether the organiser kept them in the result."""
    on_panel = {member.judge_id for member in contest.panel}
    removals = session.scalars(
        select(PanelRemoval).where(PanelRemoval.contest_id == contest.id).order_by(PanelRemoval.removed_at)
    ).all()
    lines = []
    for removal in removals:
        if removal.judge_id in on_panel:
            continue
        sheets = session.scalar(
            _active_sheets(contest, rubric, SheetStatus.SUBMITTED, select(func.count(ScoreSheet.id))).where(
                Assignment.judge_id == removal.judge_id
            )
        )
        lines.append(RemovedJudge(removal.judge.display_name, int(sheets or 0), removal.sheets_kept, removal.reason))
    return tuple(lines)


def score_frames(
    session: Session, contest: Contest, rubric: Rubric, round_key: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The long score table and the check answers of the sheets that count (see the module docstring);
    with ``round_key`` only that judging round's, ``rubric`` then being the round's view of the rubric.

    Scores of a criterion the current rubric no longer has are left out (the sheet then lacks a
    criterion and the engine drops it as incomplete, saying so).
    """
    criteria = {criterion.key for criterion in rubric.criteria}
    check_keys = {check.key for check in rubric.checks}
    counted = _panel_sheets(contest, rubric, SheetStatus.SUBMITTED, select(ScoreSheet.id), round_key)
    score_rows = session.execute(
        select(Entry.code, User.username, Score.criterion, Score.value, Entry.category)
        .join(ScoreSheet, Score.sheet_id == ScoreSheet.id)
        .join(Assignment, ScoreSheet.assignment_id == Assignment.id)
        .join(Entry, Assignment.entry_id == Entry.id)
        .join(User, Assignment.judge_id == User.id)
        .where(ScoreSheet.id.in_(counted))
        .order_by(Entry.code, User.username, Score.id)
    ).all()
    rows = [
        {"entry": code, "judge": judge, "criterion": criterion, "score": value, "category": category or ""}
        for code, judge, criterion, value, category in score_rows
        if criterion in criteria
    ]
    scores = pd.DataFrame(rows, columns=["entry", "judge", "criterion", "score", "category"])
    if not rubric.categories:
        scores = scores.drop(columns="category")
    check_rows = session.execute(
        select(Entry.code, User.username, CheckAnswer.check_key, CheckAnswer.passed)
        .join(ScoreSheet, CheckAnswer.sheet_id == ScoreSheet.id)
        .join(Assignment, ScoreSheet.assignment_id == Assignment.id)
        .join(Entry, Assignment.entry_id == Entry.id)
        .join(User, Assignment.judge_id == User.id)
        .where(ScoreSheet.id.in_(counted))
        .order_by(Entry.code, User.username, CheckAnswer.id)
    ).all()
    checks = pd.DataFrame(
        [
            {"entry": code, "judge": judge, "check": key, "passed": bool(passed)}
            for code, judge, key, passed in check_rows
            if key in check_keys
        ],
        columns=["entry", "judge", "check", "passed"],
    )
    return scores, checks


def _panel_rubric(contest: Contest) -> Rubric:
    rubric = current_rubric(contest)
    if rubric.contest.kind != "work" or rubric.aggregation is None:
        raise ServiceError(_("This contest is not judged by a panel, so it has no judges' results."))
    return rubric


def _entry_lines(session: Session, contest: Contest, rubric: Rubric) -> dict[str, EntryLine]:
    entry_rows = session.execute(
        select(Entry.id, Entry.code, Entry.title, Organization.name, Entry.category)
        .join(Organization, Entry.organization_id == Organization.id)
        .where(Entry.contest_id == contest.id, Entry.status.in_(judgeable_statuses(rubric)))
        .order_by(Entry.code)
    ).all()
    return {
        code: EntryLine(id=entry_id, code=code, title=title, organization=org, category=category or "")
        for entry_id, code, title, org, category in entry_rows
    }


def _judge_names(session: Session, scores: pd.DataFrame) -> dict[str, str]:
    return dict(
        session.execute(
            select(User.username, User.display_name).where(User.username.in_(set(scores["judge"].tolist())))
        ).all()
    )


@dataclass(frozen=True)
class _Inputs:
    """What a contest's result is computed from. With rounds the contest's result is the last round's: its
    sheets, with its criteria, of the entries the round before it sent on; every other entry's result is
    its path through the frozen rounds (``eliminated`` are the entries that did not go on)."""

    rubric: Rubric
    round_key: str | None
    paths: Mapping[str, Sequence[PathStep]]
    scores: pd.DataFrame
    checks: pd.DataFrame
    entries: dict[str, EntryLine]
    eliminated: dict[str, EntryLine]


def _inputs(session: Session, contest: Contest) -> _Inputs:
    rubric = _panel_rubric(contest)
    round_key = rubric.rounds[-1].key if rubric.rounds else None
    paths = entry_paths(session, contest, rubric)
    if round_key is not None:
        rubric = rubric.for_round(round_key)
    scores, checks = score_frames(session, contest, rubric, round_key)
    entries = _entry_lines(session, contest, rubric)
    eliminated: dict[str, EntryLine] = {}
    if round_key is not None:
        in_last_round = set(round_codes(session, contest, current_rubric(contest), round_key) or ())
        eliminated = {
            code: line for code, line in entries.items() if any(not step.advanced for step in paths.get(code, ()))
        }
        entries = {code: line for code, line in entries.items() if code in in_last_round}
    return _Inputs(rubric, round_key, paths, scores, checks, entries, eliminated)


def workbook_version(session: Session, contest: Contest) -> str:
    """A digest of everything the results workbook shows (:func:`results_workbook`): the engine's inputs
    (:func:`engine_key`), the entries' titles, organisations and categories, the judges' names, the entries'
    paths through the rounds and the sheets' paper origins. Equal digests, equal workbooks: an export is
    made once per version (:mod:`judging.services.jobs`). Refused while no sheet counts (there is nothing
    to put in the workbook)."""
    inputs = _inputs(session, contest)
    if inputs.scores.empty:
        raise ServiceError(_("There are no results to download yet."))
    digest = hashlib.sha256(engine_key(inputs.rubric, inputs.scores, inputs.checks, contest.slug).encode("ascii"))
    for line in [*inputs.entries.values(), *inputs.eliminated.values()]:
        digest.update("\x1f".join((line.code, line.title, line.organization, line.category, "\x1e")).encode())
    for username, name in sorted(_judge_names(session, inputs.scores).items()):
        digest.update("\x1f".join((username, name or "", "\x1e")).encode())
    for code, steps in sorted(inputs.paths.items()):
        digest.update("\x1f".join((code, *(repr(step) for step in steps), "\x1e")).encode())
    for (code, judge), origin in sorted(paper_origins(session, contest).items()):
        digest.update("\x1f".join((code, judge, origin, "\x1e")).encode())
    return digest.hexdigest()


def compute_results(session: Session, contest: Contest) -> ContestResults:
    """The contest's results as they stand: ranking with explanations, reliability and robustness.

    Refuses a contest that is not judged by a panel (``kind = "skills"``). With no submitted sheet
    yet, or a table the engine refuses, the result has no ranking and says why.
    """
    inputs = _inputs(session, contest)
    rubric, round_key, paths, scores, checks = (
        inputs.rubric,
        inputs.round_key,
        inputs.paths,
        inputs.scores,
        inputs.checks,
    )
    entries, eliminated = inputs.entries, inputs.eliminated
    judge_names = _judge_names(session, scores)
    drafts = session.scalar(
        _panel_sheets(contest, rubric, SheetStatus.DRAFT, select(func.count(ScoreSheet.id)), round_key)
    )
    scored = set(scores["entry"].tolist())
    base = {
        "contest": contest,
        "rubric": rubric,
        "computed_at": utcnow(),
        "scores": scores,
        "checks": checks,
        "entries": entries,
        "judges": judge_names,
        "sheets_counted": int(scores[["entry", "judge"]].drop_duplicates().shape[0]),
        "sheets_not_counted": int(drafts or 0),
        "unscored": tuple(code for code in entries if code not in scored),
        "removed_judges": removed_judges(session, contest, rubric),
        "paper_sheets": paper_origins(session, contest),
        "paths": {code: tuple(steps) for code, steps in paths.items()},
        "last_round_label": current_rubric(contest).rounds[-1].label if round_key is not None else "",
        "eliminated": eliminated,
        "sheets_of_earlier_rubric": int(
            session.scalar(
                _active_sheets(contest, rubric, SheetStatus.SUBMITTED, select(func.count(ScoreSheet.id))).where(
                    ScoreSheet.rubric_version_id != contest.current_rubric.id
                )
            )
            or 0
        ),
    }
    if scores.empty:
        return ContestResults(**base)
    run = engine_run(rubric, scores, checks, contest.slug)
    return ContestResults(
        **base,
        ranking=run.ranking,
        reliability=run.reliability,
        robustness=run.robustness,
        problems=run.problems,
        engine_key=run.key,
    )


# --- the engine's run, once per state ---------------------------------------------------------------


@dataclass(frozen=True)
class EngineRun:
    """What the engine made of one score table: the ranking, its robustness and reliability, or the problems."""

    key: str
    ranking: RankingResult | None = None
    robustness: RobustnessReport | None = None
    reliability: dict[str, Any] | None = None
    problems: tuple[str, ...] = ()


_RUNS: OrderedDict[str, EngineRun] = OrderedDict()
_RUNS_LOCK = Lock()
RUNS_KEPT = 16
"""Engine runs kept per process (the most recently used): a few contests, each in its latest state."""


def engine_key(rubric: Rubric, scores: pd.DataFrame, checks: pd.DataFrame, source: str) -> str:
    """The digest of everything the engine reads: the rubric text and the exact score and check tables.

    A run is found again only for the same inputs, so a cached result can never be stale: any saved,
    submitted, reopened or migrated sheet, withdrawn entry, removed judge or new rubric version changes
    the tables or the rubric, whichever way it was written (even by hand in the database).
    """
    digest = hashlib.sha256()
    for part in (source, rubric.sha256, scores.to_csv(index=False), checks.to_csv(index=False)):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def engine_run(rubric: Rubric, scores: pd.DataFrame, checks: pd.DataFrame, source: str) -> EngineRun:
    """The engine's ranking, robustness and reliability for these tables: computed once per distinct input
    (:func:`engine_key`), then served from this process's memory. The results are read-only to callers."""
    key = engine_key(rubric, scores, checks, source)
    with _RUNS_LOCK:
        found = _RUNS.get(key)
        if found is not None:
            _RUNS.move_to_end(key)
            return found
    run = _run_engine(key, rubric, scores, checks, source)
    with _RUNS_LOCK:
        _RUNS[key] = run
        _RUNS.move_to_end(key)
        while len(_RUNS) > RUNS_KEPT:
            _RUNS.popitem(last=False)
    return run


def _run_engine(key: str, rubric: Rubric, scores: pd.DataFrame, checks: pd.DataFrame, source: str) -> EngineRun:
    try:
        table = parse_score_frame(scores, rubric, source=source)
        ranking = rank_entries(table, rubric, checks)
        robustness = leave_one_judge_out(table, rubric, checks, full=ranking)
    except ScoreTableError as problem:
        return EngineRun(key, problems=tuple(problem.errors))
    except ValueError as problem:
        return EngineRun(key, problems=(str(problem),))
    sheets = ranking.sheet_table()
    totals = sheets.loc[sheets["total"].notna(), ["entry", "judge", "total"]]
    reliability = reliability_report(totals) if len(totals) else None
    return EngineRun(key, ranking=ranking, robustness=robustness, reliability=reliability)


# --- the workbook --------------------------------------------------------------------------------


def results_workbook(results: ContestResults) -> bytes:
    """The results as an .xlsx workbook: one sheet of ranked and unranked entries per category (one
    "Ranking" sheet without categories), every judge's sheet, the reliability statistics, each
    judge's severity and spread, and the leave-one-judge-out changes; headers in the user's language."""
    ranking = results.ranking
    if ranking is None:
        raise ServiceError(_("There are no results to download yet."))
    decimals_format = "0" if ranking.decimals == 0 else "0." + "0" * ranking.decimals
    criterion_labels = {criterion.key: criterion.label for criterion in results.rubric.criteria}
    listing = ranking.listing()
    frames: list[Sheet] = []
    keys = [category.key for category in results.rubric.categories] or [""]
    for key in keys:
        part = listing[listing["category"] == key] if results.rubric.categories else listing
        title = results.category_label(key) if key else _("Ranking")
        frames.append(frame_sheet(title, _ranking_frame(results, part, criterion_labels), decimals_format))
    if results.eliminated:
        frames.append(frame_sheet(_("Eliminated in a round"), _eliminated_frame(results)))
    frames.append(frame_sheet(_("Score sheets"), _sheets_frame(results, ranking, criterion_labels)))
    if results.reliability is not None:
        frames.append(frame_sheet(_("Reliability"), _reliability_frame(results.reliability)))
        frames.append(frame_sheet(_("Judges' severity"), _judges_frame(results)))
    if results.robustness is not None:
        frames.append(frame_sheet(_("Robustness"), _robustness_frame(results), decimals_format))
    return xlsx_bytes(frames)


def _ranking_frame(results: ContestResults, listing: pd.DataFrame, criterion_labels: Mapping[str, str]) -> pd.DataFrame:
    entries = results.entries
    codes = listing["entry"].astype(str)
    frame = pd.DataFrame(
        {
            _("Rank"): listing["rank"].tolist(),
            _("Entry code"): codes.tolist(),
            _("Organisation"): [entries[code].organization if code in entries else "" for code in codes],
            _("Title"): [entries[code].title if code in entries else "" for code in codes],
            _("Final score"): listing["final_score"].tolist(),
            _("Award"): listing["award"].tolist(),
            _("Valid sheets"): listing["n_sheets"].tolist(),
        }
    )
    if results.rubric.categories:
        frame.insert(2, _("Category"), [results.category_label(str(key)) for key in listing["category"]])
    for key, label in criterion_labels.items():
        frame[label] = listing[key].tolist()
    frame[_("Note")] = [listing_note_text(note) for note in listing["note"]]
    if results.paths:
        frame[_("Path through the rounds")] = ["; ".join(results.path_lines(code)) for code in codes]
    return frame


def _eliminated_frame(results: ContestResults) -> pd.DataFrame:
    """The entries an earlier round did not send on, with their path: where and why they stopped."""
    lines = results.eliminated
    return pd.DataFrame(
        {
            _("Entry code"): list(lines),
            _("Organisation"): [line.organization for line in lines.values()],
            _("Title"): [line.title for line in lines.values()],
            _("Path through the rounds"): ["; ".join(results.path_lines(code)) for code in lines],
        }
    )


def _sheets_frame(results: ContestResults, ranking: RankingResult, criterion_labels: Mapping[str, str]) -> pd.DataFrame:
    sheets = ranking.sheet_table()
    frame = pd.DataFrame(
        {
            _("Entry code"): sheets["entry"].tolist(),
            _("Judge"): [results.judge_name(str(judge)) for judge in sheets["judge"]],
        }
    )
    if results.rubric.categories:
        frame[_("Category")] = [results.category_label(str(key)) for key in sheets["category"]]
    for key, label in criterion_labels.items():
        frame[label] = sheets[key].tolist()
    frame[_("Sheet total")] = sheets["total"].tolist()
    frame[_("Status")] = [sheet_fate_label(fate) for fate in sheets["status"]]
    if results.paper_sheets:
        frame[_("Paper sheet")] = [
            results.paper_sheets.get((str(entry), str(judge)), "")
            for entry, judge in zip(sheets["entry"], sheets["judge"], strict=True)
        ]
    if "z" in sheets.columns:
        frame["z"] = sheets["z"].tolist()
    frame[_("Note")] = [
        sheet_note_text(missing, fates, criterion_labels)
        for missing, fates in zip(sheets["missing"], sheets["criterion_status"], strict=True)
    ]
    return frame


def _reliability_frame(report: Mapping[str, Any]) -> pd.DataFrame:
    rows: list[tuple[str, object]] = [
        (_("Entries"), report["n_entries"]),
        (_("Judges"), report["n_judges"]),
        (_("Every judge scored every entry"), _("yes") if report["complete"] else _("no")),
        (_("Complete block (entries × judges)"), f"{report['n_complete_entries']} × {report['n_complete_judges']}"),
        *((form, value) for form, value in report["icc"].items()),
        ("Kendall's W", report["kendall_w"]),
    ]
    return pd.DataFrame(rows, columns=[_("Statistic"), _("Value")])


def _judges_frame(results: ContestResults) -> pd.DataFrame:
    assert results.reliability is not None
    judges = results.reliability["judges"]
    return pd.DataFrame(
        {
            _("Judge"): [results.judge_name(str(row["judge"])) for row in judges],
            _("Sheets"): [row["n"] for row in judges],
            _("Mean total"): [row["mean"] for row in judges],
            _("Spread (s.d.)"): [row["sd"] for row in judges],
            _("Severity"): [row["severity"] for row in judges],
        }
    )


def _robustness_frame(results: ContestResults) -> pd.DataFrame:
    assert results.robustness is not None
    changes = results.robustness.to_frame()
    return pd.DataFrame(
        {
            _("Entry code"): changes["entry"].tolist(),
            _("Award"): changes["award"].tolist(),
            _("Judge left out"): [results.judge_name(str(judge)) for judge in changes["judge"]],
            _("Status without the judge"): [rank_status_label(s) for s in changes["status_without"]],
            _("Award without the judge"): changes["award_without"].tolist(),
            _("Rank without the judge"): changes["rank_without"].tolist(),
            _("Final score without the judge"): [
                value if isinstance(value, Decimal) else None for value in changes["final_score_without"]
            ],
        }
    )
