"""Invitation letters (PDF, one A4 page per person) and the invitation links as a spreadsheet.

The words come from :mod:`judging.services.notices` (the same text a mail carries); each letter adds a
QR code of its link (segno, drawn as inline SVG, so the PDF fetches nothing) beside the printed link.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from judging.exports.pdf import qr_code, render_pdf
from judging.exports.workbook import Sheet, xlsx_bytes


@dataclass(frozen=True)
class Letter:
    title: str
    """The heading, e.g. 邀请函."""
    facts: Sequence[tuple[str, str]]
    """Label and value: name, organisation, role, username."""
    greeting: str
    paragraphs: Sequence[str]
    link_label: str
    link: str
    expires: str
    issuer: str

    @property
    def qr_svg(self) -> Markup:
        return qr_code(self.link)


def invitation_letters_pdf(letters: Sequence[Letter], lang: str) -> bytes:
    """One A4 page per letter, in the order given; ``lang`` is the HTML language (zh-CN or en)."""
    return render_pdf("invitation_letters.html", letters=letters, lang=lang)


def invitation_links_xlsx(headers: Sequence[str], rows: Sequence[Sequence[object]], title: str) -> bytes:
    """The links as one sheet (formula-safe like every workbook of the product)."""
    return xlsx_bytes([Sheet(title, headers, rows)])
