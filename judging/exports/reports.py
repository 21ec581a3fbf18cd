"""The exports of a collection of activity reports: the figures as a workbook, every file as a zip, and a
compiled PDF.

- **Workbook** (``.xlsx``): one row per expected organisation, one column per figure of the rubric (its
  unit in the header), the state of the report, then a totals row that adds up the submitted reports'
  figures; an organisation that has not reported is listed with its state (missing, draft, not started)
  and empty figures. A second sheet holds the reports' text fields.
- **Zip**: one folder per organisation that submitted (its name made safe for every file system), its
  documents and photos inside under their safe upload names (numbered when two share a name). Photos are
  the copies made at upload without their EXIF metadata.
- **PDF**: a cover, then one section per organisation in the order of the table: its state, its figures,
  its text fields and summary, and its photos (embedded through the booklet's fetcher, which serves only
  the listed stored images and re-encodes them).

Only submitted reports are exported: a draft is the organisation's own until it submits it.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import IO

from flask import render_template
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from weasyprint import HTML

from judging.exports.booklet import IMAGE_DPI, JPEG_QUALITY
from judging.exports.pdf import StoredImageFetcher
from judging.exports.workbook import Sheet, xlsx_bytes
from judging.models import Contest, EntryFile
from judging.rubric import Rubric
from judging.services.contests import show_moment
from judging.services.reports import ReportRow, ReportState, report_rows, require_collection
from judging.storage import Storage


def state_label(state: ReportState) -> str:
    """The state of an organisation's report, as the organiser's page and the exports word it."""
    return {
        ReportState.SUBMITTED: _("Submitted"),
        ReportState.DRAFT: _("Draft, not submitted"),
        ReportState.NOT_STARTED: _("Not started"),
        ReportState.MISSING: _("Missing"),
    }[state]


def _figure_header(label: str, unit: str) -> str:
    return f"{label}（{unit}）" if unit else label


def _submitted(row: ReportRow) -> bool:
    return row.state is ReportState.SUBMITTED and row.report is not None


def figures_sheets(rubric: Rubric, rows: list[ReportRow], zone: tzinfo | None = None) -> list[Sheet]:
    """The figures sheet (with its totals row) and the texts sheet of the reports."""
    assert rubric.collection is not None and rubric.entry is not None
    figures = rubric.collection.figures
    headers = [_("Organisation"), _("State"), *(_figure_header(f.label, f.unit) for f in figures), _("Submitted at")]
    table: list[list[object]] = []
    totals = [0] * len(figures)
    for row in rows:
        values: list[object] = []
        for index, figure in enumerate(figures):
            value = row.report.fields.get(figure.key) if _submitted(row) and row.report else None
            if isinstance(value, int) and not isinstance(value, bool):
                totals[index] += value
                values.append(value)
            else:
                values.append(None)
        submitted_at = row.report.submitted_at if _submitted(row) and row.report else None
        table.append([row.organization.name, state_label(row.state), *values, submitted_at])
    submitted = sum(1 for row in rows if _submitted(row))
    table.append([_("Total"), _("%(n)d of %(total)d submitted", n=submitted, total=len(rows)), *totals, None])
    fields = rubric.entry.fields
    texts = Sheet(
        _("Texts"),
        [_("Organisation"), _("Title"), *(f.label for f in fields), _("Summary")],
        [
            [
                row.organization.name,
                row.report.title,
                *(row.report.fields.get(f.key) for f in fields),
                row.report.summary,
            ]
            for row in rows
            if _submitted(row) and row.report
        ],
    )
    return [Sheet(_("Figures"), headers, table), texts]


def reports_workbook(session: Session, contest: Contest, zone: tzinfo | None = None) -> bytes:
    """The workbook of the reports' figures and texts (see the module)."""
    rubric = require_collection(contest)
    return xlsx_bytes(figures_sheets(rubric, report_rows(session, contest)), zone)


_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def safe_folder_name(name: str) -> str:
    """An organisation's name as a folder in a zip: no separators, reserved or control characters, no
    leading dots, at most 100 characters; Chinese kept."""
    cleaned = _UNSAFE.sub("_", unicodedata.normalize("NFC", name)).strip().lstrip(".").strip()
    return cleaned[:100] or "_"


def _exported_key(stored: EntryFile) -> str:
    """The stored file to export: a photo's copy without metadata when there is one, else the upload."""
    return stored.blind_key if stored.purpose == "image" and stored.blind_key else stored.storage_key


def write_files_zip(session: Session, contest: Contest, storage: Storage, target: IO[bytes]) -> int:
    """Write the zip of every submitted report's files to ``target``; return the number of files written."""
    require_collection(contest)
    written = 0
    folders: set[str] = set()
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for row in report_rows(session, contest):
            if not _submitted(row) or row.report is None or not row.report.files:
                continue
            folder = safe_folder_name(row.organization.name)
            while folder in folders:
                folder += "_"
            folders.add(folder)
            names: set[str] = set()
            for stored in row.report.files:
                key = _exported_key(stored)
                if not storage.exists(key):
                    continue
                name = safe_folder_name(stored.original_name)
                stem, dot, suffix = name.rpartition(".")
                number = 1
                while name in names:
                    number += 1
                    name = f"{stem}-{number}.{suffix}" if dot else f"{name}-{number}"
                names.add(name)
                archive.write(storage.path(key), f"{folder}/{name}")
                written += 1
    return written


@dataclass(frozen=True)
class CompiledFact:
    label: str
    value: str


@dataclass(frozen=True)
class CompiledReport:
    anchor: str
    organization: str
    state: str
    submitted: bool
    title: str
    figures: list[CompiledFact]
    facts: list[CompiledFact]
    paragraphs: list[str]
    documents: list[str]
    images: list[str]


def compile_reports(
    session: Session, contest: Contest, storage: Storage
) -> tuple[dict[str, object], dict[str, tuple[Path, str]]]:
    """What the compiled PDF says, and the stored photos (URL → path, content type) it may embed."""
    rubric = require_collection(contest)
    assert rubric.collection is not None and rubric.entry is not None
    files: dict[str, tuple[Path, str]] = {}
    sections = []
    rows = report_rows(session, contest)
    for number, row in enumerate(rows, 1):
        report = row.report if _submitted(row) else None
        figures, facts, paragraphs, documents, images = [], [], [], [], []
        if report is not None:
            for figure in rubric.collection.figures:
                value = report.fields.get(figure.key)
                shown = format_decimal(value) if isinstance(value, int) else "—"
                figures.append(CompiledFact(_figure_header(figure.label, figure.unit), shown))
            for spec in rubric.entry.fields:
                value = report.fields.get(spec.key)
                if value is not None and str(value).strip():
                    facts.append(CompiledFact(spec.label, str(value).strip()))
            paragraphs = [line.strip() for line in report.summary.splitlines() if line.strip()]
            for stored in report.files:
                key = _exported_key(stored)
                if stored.purpose != "image":
                    documents.append(stored.original_name)
                elif storage.exists(key):
                    path = storage.path(key).resolve()
                    files[path.as_uri()] = (path, stored.content_type)
                    images.append(path.as_uri())
        sections.append(
            CompiledReport(
                anchor=f"report-{number}",
                organization=row.organization.name,
                state=state_label(row.state),
                submitted=report is not None,
                title=report.title if report is not None else "",
                figures=figures,
                facts=facts,
                paragraphs=paragraphs,
                documents=documents,
                images=images,
            )
        )
    compiled: dict[str, object] = {
        "title": contest.title,
        "edition": contest.edition,
        "deadline": show_moment(contest.submission_deadline) if contest.submission_deadline else "",
        "submitted": sum(1 for row in rows if _submitted(row)),
        "expected": len(rows),
        "sections": sections,
    }
    return compiled, files


def reports_pdf(session: Session, contest: Contest, storage: Storage) -> bytes:
    """The compiled PDF of the reports (see the module); needs an application context."""
    compiled, files = compile_reports(session, contest, storage)
    html = render_template("pdf/reports.html", compiled=compiled)
    document = HTML(string=html, url_fetcher=StoredImageFetcher(files))
    return document.write_pdf(dpi=IMAGE_DPI, jpeg_quality=JPEG_QUALITY)
