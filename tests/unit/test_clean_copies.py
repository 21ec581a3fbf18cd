"""Clean copies of documents and images: the content stays, nothing about who made it does."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from PIL import Image, ImageCms
from pypdf import PdfReader, PdfWriter
from pypdf.annotations import Text
from pypdf.generic import NameObject, TextStringObject

from judging.clean_copies import CannotClean, clean_image, clean_office, clean_pdf

SECRET = "长宁区"


def test_spreadsheet_and_slide_people_are_blanked(tmp_path: Path) -> None:
    source, copy = tmp_path / "book.xlsx", tmp_path / "copy.xlsx"
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/comments1.xml", f"<comments><authors><author>{SECRET}</author></authors></comments>")
        archive.writestr(
            "xl/persons/person.xml",
            f'<personList><person displayName="{SECRET}" id="{{1}}" userId="a@{SECRET}" providerId="AD"/></personList>',
        )
        archive.writestr(
            "ppt/commentAuthors.xml", f'<p:cmAuthorLst><p:cmAuthor id="1" name="{SECRET}"/></p:cmAuthorLst>'
        )
        archive.writestr("xl/sharedStrings.xml", '<sst><si><t>合计</t></si><ref name="keep"/></sst>')
    clean_office(source, copy)
    with zipfile.ZipFile(copy) as archive:
        everything = b"".join(archive.read(name) for name in archive.namelist())
        assert SECRET.encode() not in everything
        assert archive.read("xl/sharedStrings.xml").decode() == '<sst><si><t>合计</t></si><ref name="keep"/></sst>'
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_a_broken_zip_is_not_cleaned(tmp_path: Path) -> None:
    broken = tmp_path / "broken.docx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(CannotClean):
        clean_office(broken, tmp_path / "copy.docx")


def test_pdf_annotation_authors_and_embedded_files_are_dropped(tmp_path: Path) -> None:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    note = Text(text="很好", rect=(10, 10, 50, 50))
    note[NameObject("/T")] = TextStringObject(SECRET)  # the annotation's author
    writer.add_annotation(0, note)
    writer.add_attachment("who.txt", SECRET.encode())
    source, copy = tmp_path / "a.pdf", tmp_path / "b.pdf"
    with source.open("wb") as out:
        writer.write(out)
    clean_pdf(source, copy)
    data = copy.read_bytes()
    assert SECRET.encode() not in data and SECRET.encode("utf-16-be") not in data
    reader = PdfReader(copy)
    assert len(reader.pages) == 1 and reader.attachments == {}


def test_garbage_that_starts_like_a_pdf_is_not_cleaned(tmp_path: Path) -> None:
    source = tmp_path / "x.pdf"
    source.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    with pytest.raises(CannotClean):
        clean_pdf(source, tmp_path / "y.pdf")


def test_an_icc_profile_is_applied_then_dropped_and_orientation_kept() -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    source = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: the copy is stored upright
    Image.new("RGB", (40, 20), (255, 0, 0)).save(source, format="JPEG", icc_profile=profile.tobytes(), exif=exif)
    copy = io.BytesIO()
    clean_image(io.BytesIO(source.getvalue()), copy, "jpg")
    with Image.open(io.BytesIO(copy.getvalue())) as image:
        assert image.size == (20, 40) and "icc_profile" not in image.info and dict(image.getexif()) == {}
