"""PDF documents laid out by WeasyPrint from Jinja templates in ``templates/pdf/``.

Chinese needs a CJK font on the machine (Debian ``fonts-noto-cjk``; ``make install`` installs it):
without one WeasyPrint silently draws empty boxes while the text still extracts, so the tests check
the fonts embedded in the PDF, not only its text. The templates name the font family explicitly and
set ``lang="zh-CN"``. Rendering needs an application context (for the templates).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import segno
from flask import render_template
from markupsafe import Markup
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse


@dataclass(frozen=True)
class CertificateData:
    """What one certificate says (荣誉证书)."""

    serial: str
    """The certificate's serial number, e.g. ``MV-2026-001``."""
    verification_code: str
    verification_url: str
    holder: str
    """The organisation or person honoured."""
    award: str
    contest_title: str
    edition: str
    work_title: str
    issuer: str
    issued_on: date
    kind: str = "award"
    """``award`` (an award or collective honour) or ``level`` (a skill-level certificate)."""
    organization: str = ""
    """The holder's organisation, when the holder is a person."""
    digest: str = ""
    """sha256 of the published result the certificate was issued with."""
    audit_log: str = ""
    """The audit chain's heads that result recorded (when frozen, when published)."""


@dataclass(frozen=True)
class AwardListRow:
    category: str
    rank: int
    code: str
    title: str
    holder: str
    final_score: str
    award: str
    score_note: str = ""
    """With a public vote: the parts of the combined score (experts, votes counted and voided, vote points)."""


@dataclass(frozen=True)
class AwardListData:
    contest_title: str
    edition: str
    ceremony: str
    issuer: str
    digest: str
    """sha256 of the frozen result this list comes from; printed on every page."""
    rows: Sequence[AwardListRow]
    status: str
    """What the list is: e.g. 公示名单 (public notice) or 获奖名单 (final)."""
    audit_log: str = ""
    """The audit chain's heads the result recorded (when frozen, when published), printed after the list."""

    @property
    def groups(self) -> list[tuple[str, list[AwardListRow]]]:
        """The rows by category, categories in order of first appearance (the rubric's order)."""
        grouped: dict[str, list[AwardListRow]] = {}
        for row in self.rows:
            grouped.setdefault(row.category, []).append(row)
        return list(grouped.items())


class StoredImageFetcher(URLFetcher):
    """A WeasyPrint URL fetcher that serves only the listed stored files and refuses every other URL."""

    def __init__(self, files: dict[str, tuple[Path, str]]):
        super().__init__(allowed_protocols=("file",))
        self.files = dict(files)

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        listed = self.files.get(url)
        if listed is None:
            raise ValueError(f"a PDF reads only the stored images it lists, not {url!r}")
        path, content_type = listed
        return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": content_type})


def render_pdf(template: str, **context: object) -> bytes:
    """Render ``templates/pdf/<template>`` with ``context`` to PDF bytes; the document may fetch nothing."""
    html = render_template(f"pdf/{template}", **context)
    return HTML(string=html, url_fetcher=StoredImageFetcher({})).write_pdf()


def qr_code(url: str) -> Markup:
    """The QR code of a link printed on a document (a certificate's verification page, an invitation) as
    inline SVG, drawn by WeasyPrint with nothing fetched: error correction level M, so a creased or stamped
    print still scans; sized by the template's CSS. The SVG is segno's own drawing of the link's modules:
    no text of the link or anyone else's is put into the markup, so it may be marked safe."""
    code = segno.make(url, error="m", micro=False)
    drawing = code.svg_inline(scale=1, border=2, omitsize=True, svgclass="qr-code", lineclass=None)
    return Markup(drawing)  # noqa: S704  # nosec B704


def certificate_pdf(certificates: Sequence[CertificateData]) -> bytes:
    """One A4 landscape page per certificate, in the order given, each with the QR code of its verification URL."""
    return render_pdf(
        "certificates.html",
        certificates=certificates,
        qr_codes=[qr_code(certificate.verification_url) for certificate in certificates],
    )


def award_list_pdf(award_list: AwardListData) -> bytes:
    """The award list in award order, grouped by category, with the result's digest on every page."""
    return render_pdf("award_list.html", data=award_list)
