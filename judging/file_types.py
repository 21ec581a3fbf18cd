"""What a file is, judged by its content (magic bytes), never by its name.

Pure: reads the file it is given and nothing else (no Flask, no database). The kinds are named like
the rubric's ``entry.allowed_extensions`` so that a rubric can say which it accepts:

- ``mp4`` / ``mov``: an ISO base media file (``ftyp`` box at offset 4); the brand ``qt`` means QuickTime;
- ``pdf``: starts with ``%PDF-``;
- ``docx`` / ``xlsx`` / ``pptx``: a zip archive holding ``[Content_Types].xml`` and a ``word/``, ``xl/`` or
  ``ppt/`` part;
- ``jpg``: starts with ``FF D8 FF``; ``png``: starts with the eight-byte PNG signature; ``webp``: a RIFF
  file of form type ``WEBP``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath

MEDIA_TYPES = {
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "jpg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
}
IMAGE_KINDS = frozenset({"jpg", "png", "webp"})
VIDEO_KINDS = frozenset({"mp4", "mov"})
OFFICE_KINDS = frozenset({"docx", "xlsx", "pptx"})
_OFFICE_FOLDERS = {"word/": "docx", "xl/": "xlsx", "ppt/": "pptx"}

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_ZIP_SIGNATURE = b"PK\x03\x04"


def detect_kind(path: str | Path) -> str | None:
    """The kind of the file at ``path`` from its first bytes (and, for a zip, its member names), or None."""
    with open(path, "rb") as stream:
        head = stream.read(16)
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "mov" if head[8:12] == b"qt  " else "mp4"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(_PNG_SIGNATURE):
        return "png"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(_ZIP_SIGNATURE):
        return _office_kind(path)
    return None


def is_accepted(kind: str | None, allowed: tuple[str, ...] | list[str]) -> bool:
    """Whether a detected kind is among a rubric's allowed extensions.

    ``jpeg`` counts as ``jpg``; ``mp4`` and ``mov`` are one container family (ISO base media), so a
    rubric that accepts either accepts both: a phone's ``.mov`` is often branded ``mp4`` and back.
    """
    if kind is None:
        return False
    names = {name.lower().lstrip(".") for name in allowed}
    names |= {"jpg"} if "jpeg" in names else set()
    if kind in VIDEO_KINDS:
        return bool(names & VIDEO_KINDS)
    return kind in names


def safe_file_name(name: str, kind: str | None) -> str:
    """The last component of an uploaded file's name, without directories (``../../x.mp4`` → ``x.mp4``)
    or control characters, at most 255 characters; a name that is left empty becomes ``file.<kind>``.
    Chinese and other non-ASCII letters are kept.
    """
    last = PurePosixPath(name.replace("\\", "/")).name
    cleaned = "".join(ch for ch in last if ch.isprintable()).strip().lstrip(".")
    if not cleaned:
        cleaned = f"file.{kind or 'bin'}"
    return cleaned[-255:]


def kind_of_media_type(content_type: str) -> str | None:
    """The kind whose media type this is (the extension a download is named with)."""
    return next((kind for kind, media_type in MEDIA_TYPES.items() if media_type == content_type), None)


def _office_kind(path: str | Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    for folder, kind in _OFFICE_FOLDERS.items():
        if any(name.startswith(folder) for name in names):
            return kind
    return None
