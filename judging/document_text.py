"""The readable text of an uploaded document, for the organiser's blind check (does a case name its unit?).

Pure: reads the file it is given (no Flask, no database). PDF text comes from pypdf's extraction, page
by page; an Office file's from its XML parts (Word's ``word/document.xml`` with the headers, footers,
notes and comments beside it; a slide's or a sheet's strings). The text is capped at
``MAX_TEXT_CHARACTERS`` and ``MAX_PAGES``: the check is advice to the organiser, not a guarantee, and an
upload must not cost minutes.
"""

from __future__ import annotations

import html
import re
import zipfile
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PyPdfError

MAX_TEXT_CHARACTERS = 1_000_000
MAX_PAGES = 500
MAX_PART_BYTES = 64 * 1024 * 1024

_TEXT_PARTS = re.compile(
    r"^(?:word/(?:document|header\d*|footer\d*|footnotes|endnotes|comments)\.xml"
    r"|ppt/(?:slides|notesSlides)/[^/]+\.xml|xl/sharedStrings\.xml|xl/worksheets/[^/]+\.xml)$"
)
_TEXT_OR_BREAK = re.compile(r"<(?:[\w.-]+:)?t(?:\s[^>]*)?>([^<]*)<|</(?:[\w.-]+:)?(?:p|si)>")


def document_text(kind: str, path: str | Path) -> str | None:
    """The document's text (at most :data:`MAX_TEXT_CHARACTERS`), or None if it is not a document or
    cannot be read."""
    if kind == "pdf":
        return _pdf_text(path)
    if kind in ("docx", "xlsx", "pptx"):
        return _office_text(path)
    return None


def _pdf_text(path: str | Path) -> str | None:
    parts: list[str] = []
    size = 0
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            return None
        for number, page in enumerate(reader.pages):
            if number >= MAX_PAGES or size >= MAX_TEXT_CHARACTERS:
                break
            text = page.extract_text() or ""
            parts.append(text)
            size += len(text) + 1
    except (PyPdfError, OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError, ZeroDivisionError):
        if not parts:
            return None
    return "\n".join(parts)[:MAX_TEXT_CHARACTERS]


def _office_text(path: str | Path) -> str | None:
    parts: list[str] = []
    size = 0
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.infolist():
                if not _TEXT_PARTS.match(member.filename) or member.file_size > MAX_PART_BYTES:
                    continue
                xml = archive.read(member).decode("utf-8", errors="replace")
                for match in _TEXT_OR_BREAK.finditer(xml):
                    piece = html.unescape(match.group(1)) if match.group(1) is not None else "\n"
                    parts.append(piece)
                    size += len(piece)
                parts.append("\n")
                if size >= MAX_TEXT_CHARACTERS:
                    break
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return None
    return "".join(parts)[:MAX_TEXT_CHARACTERS]
