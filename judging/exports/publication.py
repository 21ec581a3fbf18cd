"""Documents of a frozen or published result, all read from the snapshot's payload (never the live tables):
the award list as xlsx (one sheet per award group), as CSV (UTF-8 with a BOM, so Excel reads Chinese), as
PDF with the digest on every page, the certificates as PDF, and the exemplary-case booklet.

Headers are in the user's language (Chinese by default, also from the command line).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal

import pandas as pd
from flask_babel import gettext as _
from pypdf import PdfReader, PdfWriter
from sqlalchemy.orm import Session

from judging.exports.booklet import booklet_pdf, check_booklet
from judging.exports.pdf import AwardListData, AwardListRow, CertificateData, award_list_pdf, certificate_pdf
from judging.exports.workbook import excel_csv, frame_sheet, xlsx_bytes
from judging.links import absolute_url
from judging.models import Certificate, ResultSnapshot, SnapshotStatus
from judging.services import ServiceError
from judging.services.certificates import certificates_of, has_certificates
from judging.services.contests import ceremony_label
from judging.services.snapshots import (
    RANKED_BY_COMBINED,
    AwardRow,
    VotePart,
    award_group_label,
    award_rows,
    payload_of,
    recorded_heads,
)
from judging.storage import Storage

FORMATS = ("xlsx", "csv", "pdf")


def _status_title(snapshot: ResultSnapshot) -> str:
    if snapshot.status is SnapshotStatus.FROZEN:
        return _("Award list on public notice")
    if snapshot.status is SnapshotStatus.WITHDRAWN:
        return _("Award list withdrawn from public notice")
    return _("Award list")


def audit_log_heads(snapshot: ResultSnapshot) -> str:
    """The audit chain's heads the result recorded, printed so that whoever keeps a copy can later tell
    whether the log was cut short or rewritten: e.g. "when frozen: 57 events, last hash 3fa4…"."""
    return "; ".join(
        _(
            "%(when)s: %(n)d events, last hash %(hash)s",
            when=_("when frozen") if head.moment == "frozen" else _("when published"),
            n=head.count,
            hash=head.hash,
        )
        for head in recorded_heads(snapshot)
    )


def vote_note(part: VotePart) -> str:
    """The parts of a combined score in one line, for the printed and exported award lists: the experts'
    score, the votes counted, the votes voided with why, and the vote points."""
    note = _(
        "experts %(expert)s, %(votes)d votes counted, %(voided)d voided, vote points %(points)s",
        expert=part.expert_score or "",
        votes=part.votes,
        voided=part.voided,
        points=part.vote_points_shown,
    )
    reasons = "；".join(_("%(n)d: %(reason)s", n=n, reason=reason) for reason, n in part.voided_reasons.items())
    return f"{note}（{reasons}）" if reasons else note


def _columns(rows: Sequence[AwardRow], payload: dict) -> dict[str, list[object]]:
    skills = payload["contest"]["kind"] == "skills"
    columns: dict[str, list[object]] = {
        _("Award"): [row.award for row in rows],
        _("Rank"): [row.rank for row in rows],
        (_("Contestant number") if skills else _("Entry code")): [row.subject for row in rows],
    }
    if not skills:
        columns[_("Title of the work")] = [row.title for row in rows]
    columns[_("Award holder")] = [row.holder for row in rows]
    columns[_("Organisation")] = [row.organization for row in rows]
    if payload.get("ranked_by") == RANKED_BY_COMBINED:
        # The award follows the combined score (issue 19): its parts, then the combined score.
        columns[_("Experts")] = [_decimal(row.vote.expert_score) if row.vote else None for row in rows]
        columns[_("Votes counted")] = [row.vote.votes if row.vote else None for row in rows]
        columns[_("Votes voided")] = [row.vote.voided if row.vote else None for row in rows]
        columns[_("Why voided")] = [
            "；".join(f"{reason} {n}" for reason, n in row.vote.voided_reasons.items()) if row.vote else ""
            for row in rows
        ]
        columns[_("Vote points")] = [_decimal(row.vote.vote_points_shown) if row.vote else None for row in rows]
        columns[_("Combined score")] = [_decimal(row.final_score) for row in rows]
        return columns
    columns[_("Final score")] = [_decimal(row.final_score) for row in rows]
    return columns


def _decimal(value: str | None) -> Decimal | None:
    return Decimal(value) if value else None


def award_list_frames(snapshot: ResultSnapshot) -> list[tuple[str, pd.DataFrame]]:
    """One table per award group (category, or collectives and individuals), in the rubric's order."""
    payload = payload_of(snapshot)
    rows = award_rows(payload)
    frames = []
    for group in payload["groups"]:
        part = [row for row in rows if row.group == group["key"]]
        if not part:
            continue
        # A sheet of award holders (not the awards' setup, 奖项设置, as it was once named).
        title = award_group_label(group["key"], group["label"]) or _("Award list")
        frames.append((title, pd.DataFrame(_columns(part, payload))))
    return frames


def award_list_xlsx(snapshot: ResultSnapshot) -> bytes:
    """The award list, one sheet per group, plus a sheet that says what the list is and its digest."""
    frames = award_list_frames(snapshot)
    if not frames:
        raise ServiceError(_("This result has no award holders."))
    payload = payload_of(snapshot)
    about = pd.DataFrame(
        [
            (_("Contest"), payload["contest"]["title"]),
            (_("Edition"), payload["contest"]["edition"]),
            (_("Status"), _status_title(snapshot)),
            (_("Result number"), snapshot.number),
            (_("Rubric sha256"), snapshot.rubric_sha256),
            (_("Audit log"), audit_log_heads(snapshot)),
            (_("Digest (sha256)"), snapshot.digest),
        ],
        columns=[_("Item"), _("Value")],
    )
    sheets = [frame_sheet(title, frame) for title, frame in frames]  # scores keep their places: 84.50
    sheets.append(frame_sheet(_("About this list"), about))
    return xlsx_bytes(sheets)


def award_list_csv(snapshot: ResultSnapshot) -> bytes:
    """The award list as one CSV table with the group in the first column; UTF-8 with a BOM."""
    frames = award_list_frames(snapshot)
    if not frames:
        raise ServiceError(_("This result has no award holders."))
    heads = audit_log_heads(snapshot)
    headers = [_("Group"), *frames[0][1].columns, _("Digest (sha256)"), _("Audit log")]
    rows = [
        [title, *values, snapshot.digest, heads] for title, frame in frames for values in frame.itertuples(index=False)
    ]
    return excel_csv(headers, rows)


def _holder_with_organization(row: AwardRow) -> str:
    if not row.organization or row.holder == row.organization:
        return row.holder
    return f"{row.holder}（{row.organization}）"


def award_list_document(snapshot: ResultSnapshot) -> bytes:
    payload = payload_of(snapshot)
    rows = [
        AwardListRow(
            category=award_group_label(row.group, row.group_label),
            rank=row.rank or 0,
            code=row.subject,
            title=row.title,
            holder=_holder_with_organization(row),
            final_score=row.final_score or "",
            award=row.award,
            score_note=vote_note(row.vote) if row.vote else "",
        )
        for row in award_rows(payload)
    ]
    return award_list_pdf(
        AwardListData(
            contest_title=payload["contest"]["title"],
            edition=payload["contest"]["edition"],
            ceremony=ceremony_label(payload["contest"]["ceremony"]),
            issuer=payload["contest"].get("issuer", ""),
            digest=snapshot.digest,
            audit_log=audit_log_heads(snapshot),
            rows=rows,
            status=_status_title(snapshot),
        )
    )


def certificate_data(certificate: Certificate, payload: dict) -> CertificateData:
    issued = certificate.issued_at
    return CertificateData(
        serial=certificate.serial,
        verification_code=certificate.code,
        verification_url=absolute_url("publication.verify_code", code=certificate.code),
        holder=certificate.holder,
        award=certificate.award,
        contest_title=payload["contest"]["title"],
        edition=payload["contest"]["edition"],
        work_title=certificate.work_title,
        issuer=payload["contest"].get("issuer", ""),
        issued_on=date(issued.year, issued.month, issued.day),
        kind=certificate.kind,
        organization=certificate.organization if certificate.organization != certificate.holder else "",
        digest=certificate.snapshot.digest,
        audit_log=audit_log_heads(certificate.snapshot),
    )


CERTIFICATES_PER_PART = 25
"""Certificates rendered together, then joined: a job reports progress after each part."""


def certificates_document(
    session: Session, snapshot: ResultSnapshot, progress: Callable[[int, int], None] | None = None
) -> bytes:
    """Every certificate of a result, one page each, in issue order; ``progress(done, total)`` after each part."""
    certificates = certificates_of(session, snapshot)
    if not certificates:
        raise ServiceError(_("Certificates are issued when the results are published."))
    payload = payload_of(snapshot)
    pages = [certificate_data(certificate, payload) for certificate in certificates]
    parts = [pages[start : start + CERTIFICATES_PER_PART] for start in range(0, len(pages), CERTIFICATES_PER_PART)]
    if len(parts) == 1:
        document = certificate_pdf(parts[0])
        if progress:
            progress(len(pages), len(pages))
        return document
    writer = PdfWriter()
    done = 0
    for part in parts:
        writer.append(PdfReader(io.BytesIO(certificate_pdf(part))))
        done += len(part)
        if progress:
            progress(done, len(pages))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def check_document(session: Session, snapshot: ResultSnapshot, document: str) -> None:
    """Refuse (ServiceError) at once a document the result cannot make, before any work is queued."""
    if document == "certificates.pdf" and not has_certificates(session, snapshot):
        raise ServiceError(_("Certificates are issued when the results are published."))
    if document == "booklet.pdf":
        check_booklet(snapshot)


def render(session: Session, snapshot: ResultSnapshot, document: str, storage: Storage) -> bytes:
    """One document by its file name (``award-list.xlsx``, ``award-list.csv``, ``award-list.pdf``,
    ``certificates.pdf``, ``booklet.pdf``)."""
    if document == "award-list.xlsx":
        return award_list_xlsx(snapshot)
    if document == "award-list.csv":
        return award_list_csv(snapshot)
    if document == "award-list.pdf":
        return award_list_document(snapshot)
    if document == "certificates.pdf":
        return certificates_document(session, snapshot)
    if document == "booklet.pdf":
        return booklet_pdf(session, snapshot, storage)
    raise ServiceError(_("Unknown document."))
