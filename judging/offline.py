"""Offline ranking: ``flask rank`` and ``flask reliability`` from a score table collected on paper or in Excel.

The command needs no application context and no database: it reads a rubric file and a long-format
score table (``.csv`` or ``.xlsx``, see :mod:`judging.scoring.score_table`) and runs the same engine
as the web (:func:`judging.scoring.ranking.rank_entries`). Register it with
``app.cli.add_command(rank_command)``. The engine's typed results are worded by
:mod:`judging.result_words`, in the application's language (English without an application context);
the JSON keeps them as data too: each explanation's statuses, reasons and computation are machine words
and numbers.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import NoReturn

import click
import pandas as pd

from judging.exports.ranking import listing_csv, listing_json, ranking_xlsx
from judging.rubric import Rubric, RubricError, load_rubric
from judging.scoring.double_entry import compare_tables, describe_difference, sheet_numbers
from judging.scoring.ranking import rank_entries
from judging.scoring.reliability import reliability_report
from judging.scoring.score_table import ScoreTable, ScoreTableError, cell_text, read_score_table, read_table_cells

OUTPUT_FORMATS = ("csv", "json", "xlsx")


def output_format(out: str | None, requested: str | None) -> str:
    """The output format: ``--format`` when given, else the ``--out`` file's suffix when it is one of
    csv, json, xlsx, else csv."""
    if requested:
        return requested.lower()
    suffix = Path(out).suffix.lower().lstrip(".") if out else ""
    return suffix if suffix in OUTPUT_FORMATS else "csv"


@click.option("--rubric", "rubric_path", required=True, metavar="PATH", help="The contest's rubric (.toml).")
@click.option(
    "--scores",
    "scores_paths",
    required=True,
    multiple=True,
    metavar="FILE",
    help="Long-format scores (.csv or .xlsx); give it twice for two clerks' copies of the same paper sheets.",
)
@click.option("--out", "out_path", metavar="FILE", help="Where to write the ranking (default: standard output).")
@click.option(
    "--format",
    "requested_format",
    type=click.Choice(OUTPUT_FORMATS, case_sensitive=False),
    help="csv, json or xlsx (default: from the --out suffix, else csv).",
)
def rank(rubric_path: str, scores_paths: tuple[str, ...], out_path: str | None, requested_format: str | None) -> None:
    """Rank a contest offline from a long-format score table (entry,judge,criterion,score[,category]).

    Writes the columns rank,entry,category,final_score,award,n_sheets, one column per criterion (the
    criterion aggregates), and a trailing note column. Ranked entries come first, by category and rank;
    entries that are not ranked follow with an empty rank and the reason in note (a ranked entry's note
    says when it shares a rank across an award boundary). CSV files get a UTF-8 BOM for Excel, standard
    output does not; json adds each entry's explanation; xlsx adds a "sheets" sheet with every judge's
    sheet. A bad rubric or table exits with status 1 and its problems on standard error, one per line.

    Double entry: with ``--scores`` given twice (two clerks' copies of the same paper sheets, each may
    carry a ``sheet`` column with the judge's paper sheet number), the two tables must agree on every
    score, category and sheet number; then the ranking is the one either table gives. Otherwise the
    command exits with status 1 and names every disagreement and every row present in one table only
    (:mod:`judging.scoring.double_entry`).
    """
    if len(scores_paths) > 2:
        _fail(["--scores: give one score table, or two copies of the same sheets to reconcile"])
    fmt = output_format(out_path, requested_format)
    xlsx_path = Path(out_path) if out_path else None
    if fmt == "xlsx" and xlsx_path is None:
        _fail(["--format xlsx needs --out FILE"])
    try:
        rubric = load_rubric(rubric_path)
    except RubricError as exc:
        _fail(exc.errors)
    if rubric.contest.kind != "work":
        _fail([f'{rubric_path}: contest.kind is "{rubric.contest.kind}"; rank ranks judged ("work") contests'])
    try:
        if len(scores_paths) == 2:
            table = _reconciled_table(scores_paths, rubric)
        else:
            table = read_score_table(scores_paths[0], rubric)
        result = rank_entries(table, rubric)
    except ScoreTableError as exc:
        _fail(exc.errors)
    except ValueError as exc:  # a rubric the engine cannot rank with; the message names it
        _fail([str(exc)])

    try:
        if fmt == "xlsx" and xlsx_path is not None:
            ranking_xlsx(result, xlsx_path)
        elif fmt == "json":
            _write_text(listing_json(result), out_path, bom=False)
        else:
            _write_text(listing_csv(result), out_path, bom=True)
    except OSError as exc:
        _fail([f"{out_path}: cannot be written ({exc.strerror})"])


rank_command = click.command("rank")(rank)


def _reconciled_table(paths: tuple[str, ...], rubric: Rubric) -> ScoreTable:
    """The first of two copies of the same score table once they agree in full; otherwise exit 1 naming
    every difference (problems in either table are reported together, before any comparison)."""
    tables: list[ScoreTable] = []
    numbers: list[dict[tuple[str, str], str] | None] = []
    problems: list[str] = []
    for path in paths:
        try:
            tables.append(read_score_table(path, rubric))
            cells, rows = read_table_cells(Path(path))
            numbers.append(sheet_numbers(cells, rows, path))
        except ScoreTableError as exc:
            problems += exc.errors
    if problems:
        raise ScoreTableError(problems)
    differences = compare_tables(tables[0], tables[1], numbers[0], numbers[1])
    if differences:
        _fail(
            [
                f"{paths[0]} and {paths[1]} disagree in {len(differences)} place(s); nothing was ranked:",
                *(describe_difference(difference, paths[0], paths[1]) for difference in differences),
            ]
        )
    return tables[0]


def _write_text(text: str, out_path: str | None, *, bom: bool) -> None:
    if out_path is None:
        click.echo(text, nl=False)
        return
    Path(out_path).write_text(text, encoding="utf-8-sig" if bom else "utf-8", newline="")


def _fail(lines: list[str]) -> NoReturn:
    for line in lines:
        click.echo(line, err=True)
    raise SystemExit(1)


# --- reliability ---------------------------------------------------------------------------------


@click.option("--scores", "scores_path", required=True, metavar="FILE", help="Long-format scores (.csv or .xlsx).")
@click.option("--rubric", "rubric_path", metavar="PATH", help="The rubric, for weights and validation (optional).")
def reliability(scores_path: str, rubric_path: str | None) -> None:
    """Inter-rater statistics of the sheet totals as JSON: ICC (six Shrout & Fleiss forms), Kendall's W,
    and each judge's severity.

    With ``--rubric`` the table is validated against it and a sheet total is Σ weight × score; without,
    a sheet total is the plain sum of the sheet's criteria. A sheet that lacks a criterion the others
    have is left out and listed under ``incomplete_sheets``.
    """
    rubric = None
    if rubric_path:
        try:
            rubric = load_rubric(rubric_path)
        except RubricError as exc:
            _fail(exc.errors)
    try:
        totals, incomplete = sheet_totals_of_file(Path(scores_path), rubric)
        report = reliability_report(totals)
    except ScoreTableError as exc:
        _fail(exc.errors)
    except ValueError as exc:
        _fail([f"{scores_path}: {exc}"])
    report["incomplete_sheets"] = incomplete
    click.echo(json.dumps(report, ensure_ascii=False, indent=2))


reliability_command = click.command("reliability")(reliability)


def sheet_totals_of_file(path: Path, rubric: Rubric | None) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """Each complete sheet's total (``entry, judge, total``) and the sheets left out as incomplete."""
    if rubric is not None:
        frame = read_score_table(path, rubric).to_frame()
        weights = {criterion.key: criterion.weight for criterion in rubric.criteria}
    else:
        frame = _plain_score_frame(path)
        weights = {}
    expected = set(frame["criterion"])
    totals, incomplete = [], []
    for (entry, judge), sheet in frame.groupby(["entry", "judge"], sort=False):
        if set(sheet["criterion"]) != expected:
            incomplete.append({"entry": str(entry), "judge": str(judge)})
            continue
        total = sum(
            (
                weights.get(criterion, Decimal(1)) * score
                for criterion, score in zip(sheet["criterion"], sheet["score"], strict=True)
            ),
            Decimal(0),
        )
        totals.append({"entry": entry, "judge": judge, "total": total})
    return pd.DataFrame(totals, columns=["entry", "judge", "total"]), incomplete


def _plain_score_frame(path: Path) -> pd.DataFrame:
    """The long table without a rubric: the four columns present, scores exact numbers, no duplicates."""
    cells, rows = read_table_cells(path)
    columns = {str(name).strip().lower(): name for name in cells.columns}
    missing = [name for name in ("entry", "judge", "criterion", "score") if name not in columns]
    if missing:
        raise ScoreTableError(
            [f"{path}: missing column(s) {', '.join(missing)} (expected entry, judge, criterion, score)"]
        )
    frame = pd.DataFrame({name: cells[columns[name]].map(cell_text) for name in ("entry", "judge", "criterion")})
    problems: list[str] = []
    scores: list[Decimal] = []
    seen: dict[tuple[str, ...], int] = {}
    for row, raw, key in zip(rows, cells[columns["score"]], frame.itertuples(index=False, name=None), strict=True):
        text = cell_text(raw)
        try:
            value = Decimal(text)
            if not value.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            problems.append(f"{path}: row {row}: score '{text}' is not a number")
            value = Decimal(0)
        if "" in key:
            problems.append(f"{path}: row {row}: empty {('entry', 'judge', 'criterion')[key.index('')]}")
        elif key in seen:
            problems.append(f"{path}: row {row}: duplicate of row {seen[key]} ({', '.join(key)})")
        seen.setdefault(key, row)
        scores.append(value)
    if problems:
        raise ScoreTableError(problems)
    frame["score"] = scores
    return frame
