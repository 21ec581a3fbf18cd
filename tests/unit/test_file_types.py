"""Telling a file's type by its content: magic bytes, never the name."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from judging.file_types import detect_kind, is_accepted, safe_file_name


def write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def word_document(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return path


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", "mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00", "mov"),
        (b"%PDF-1.7\n", "pdf"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "png"),
        ("这不是视频".encode(), None),
        (b"", None),
        (b"PK\x03\x04 not really a zip", None),
    ],
)
def test_kind_is_read_from_the_first_bytes(tmp_path: Path, content: bytes, kind: str | None) -> None:
    assert detect_kind(write(tmp_path / "named.mp4", content)) == kind


def test_docx_is_a_zip_with_content_types_and_a_word_part(tmp_path: Path) -> None:
    assert detect_kind(word_document(tmp_path / "case.pdf")) == "docx"
    with zipfile.ZipFile(tmp_path / "other.docx", "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    assert detect_kind(tmp_path / "other.docx") == "xlsx"  # a spreadsheet is not a Word document


def test_accepted_kinds_follow_the_rubric_and_treat_mp4_and_mov_as_one_family() -> None:
    assert is_accepted("mov", ("mp4",)) and is_accepted("mp4", ("mov",))
    assert is_accepted("jpg", ("pdf", "jpeg"))
    assert not is_accepted("png", ("pdf", "docx"))
    assert not is_accepted("pdf", ("mp4", "mov"))
    assert not is_accepted(None, ("mp4",))


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../x.mp4", "x.mp4"),
        ("..\\..\\windows\\作品.mp4", "作品.mp4"),
        ("/etc/passwd", "passwd"),
        ("网络安全 微视频（终版）.mov", "网络安全 微视频（终版）.mov"),
        ("bad\x00name\n.pdf", "badname.pdf"),
        ("..", "file.pdf"),
        ("", "file.pdf"),
        (".hidden.pdf", "hidden.pdf"),
    ],
)
def test_file_names_lose_directories_and_control_characters_but_keep_chinese(name: str, safe: str) -> None:
    assert safe_file_name(name, "pdf") == safe


def test_long_names_keep_their_end(tmp_path: Path) -> None:
    assert safe_file_name("长" * 300 + ".pdf", "pdf") == ("长" * 300 + ".pdf")[-255:]
