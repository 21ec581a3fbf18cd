"""Certificates issued with a publication: serials, verification codes, and checking a code."""

from __future__ import annotations

import re
import secrets

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from judging.models import (
    Certificate,
    Entry,
    ResultSnapshot,
    SnapshotStatus,
    utcnow,
)
from judging.services import NotFound
from judging.services.contests import rubric_of
from judging.services.snapshots import award_rows, level_rows, payload_of

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


"""Crockford-like: no 0/O or 1/I/L to misread on a printed certificate."""


def random_code(groups: int, size: int = 4) -> str:
    """``groups`` groups of ``size`` characters from an alphabet without look-alikes (no 0/O, 1/I), joined by dashes."""
    return "-".join("".join(secrets.choice(CODE_ALPHABET) for _ in range(size)) for _ in range(groups))


def issue_certificates(session: Session, snapshot: ResultSnapshot) -> list[Certificate]:
    """One certificate per award holder (and skill level) of a published snapshot, each with a serial and a code."""
    payload = payload_of(snapshot)
    rubric = rubric_of(snapshot.rubric_version)
    contest = snapshot.contest
    year = contest.edition or str(snapshot.published_at.year if snapshot.published_at else utcnow().year)
    prefix = f"{rubric.contest.entry_code_prefix}-{year}"
    taken = session.scalar(select(func.count(Certificate.id)).where(Certificate.serial.like(f"{prefix}-%"))) or 0
    issued: list[Certificate] = []

    def issue(kind: str, holder: str, organization: str, award: str, subject: str, title: str) -> None:
        serial = f"{prefix}-{taken + len(issued) + 1:04d}"
        certificate = Certificate(
            snapshot=snapshot,
            serial=serial,
            code=_unique_code(session),
            kind=kind,
            holder=holder,
            organization=organization,
            award=award,
            subject=subject,
            work_title=title,
            issued_at=snapshot.published_at or utcnow(),
        )
        session.add(certificate)
        issued.append(certificate)

    for row in award_rows(payload):
        issue("award", row.holder, row.organization, row.award, row.subject, row.title)
    for level in level_rows(payload):
        issue("level", level["holder"], level["organization"], level["level_label"], level["subject"], "")
    session.flush()
    return issued


def _unique_code(session: Session) -> str:
    while True:
        code = random_code(3)
        if session.scalar(select(Certificate.id).where(Certificate.code == code)) is None:
            return code


def normalise_code(raw: str) -> str:
    """A verification code as typed: case, spaces and dashes do not matter."""
    letters = "".join(ch for ch in raw.upper() if ch.isalnum())
    return "-".join(letters[i : i + 4] for i in range(0, len(letters), 4))


def normalise_serial(raw: str) -> str:
    """A serial number as typed: case does not matter, and any run of spaces or punctuation is one dash
    (``isg 2026 0013`` is ``ISG-2026-0013``)."""
    return "-".join(part for part in re.split(r"[^0-9A-Z]+", raw.upper()) if part)


def verify_certificate(session: Session, typed: str) -> Certificate:
    """The certificate with this printed serial number (e.g. ``ISG-2026-0013``) or verification code.

    Serials are grouped by their own dashes (prefix-year-number); codes in fours. Each is tried in its
    own shape: regrouping a serial in fours (as codes are) would never find it.
    """
    serial, code = normalise_serial(typed), normalise_code(typed)
    certificate = session.scalar(select(Certificate).where(Certificate.serial == serial)) if serial else None
    if certificate is None and code:
        certificate = session.scalar(select(Certificate).where(Certificate.code == code))
    if certificate is None:
        raise NotFound(
            _(
                "No certificate has this serial number or verification code. Check the serial number or the code "
                "printed on the certificate."
            )
        )
    return certificate


def certificates_of(session: Session, snapshot: ResultSnapshot) -> list[Certificate]:
    return list(
        session.scalars(select(Certificate).where(Certificate.snapshot_id == snapshot.id).order_by(Certificate.id))
    )


def has_certificates(session: Session, snapshot: ResultSnapshot) -> bool:
    """Whether the result issued any certificate (one row read, not a thousand)."""
    query = select(Certificate.id).where(Certificate.snapshot_id == snapshot.id).limit(1)
    return session.scalar(query) is not None


def is_published_winner(session: Session, entry: Entry) -> bool:
    """Whether the entry holds an award in its contest's current publication (the public may see it)."""
    return (
        session.scalar(
            select(Certificate.id)
            .join(ResultSnapshot, Certificate.snapshot_id == ResultSnapshot.id)
            .where(
                ResultSnapshot.contest_id == entry.contest_id,
                ResultSnapshot.status == SnapshotStatus.PUBLISHED,
                Certificate.kind == "award",
                Certificate.subject == entry.code,
            )
            .limit(1)
        )
        is not None
    )
