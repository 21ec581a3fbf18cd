"""Copies of uploaded documents and images that carry their content and nothing about who made them.

A blind judge receives such a copy instead of the upload (DESIGN.md §7): an entrant's tools write the
author, the organisation, the editing software, GPS positions and free-form notes into a file's
metadata, and a determined entrant writes the district's name there on purpose. Pure: reads the file
it is given and writes the copy (no Flask, no database). Videos are cleaned by ffmpeg in
:mod:`judging.media`.

- PDF (pypdf, already used to read a document's text, pure Python, maintained): the document is written
  afresh from its page tree, so objects no page reaches (earlier revisions of an incrementally saved
  file) are left behind; the Info dictionary, every XMP ``/Metadata`` stream (document, pages, images,
  fonts), ``/PieceInfo`` private data, embedded files and the author (``/T``) of annotations are dropped.
- Office (DOCX, XLSX, PPTX): the zip is written afresh (no archive or member comments, no extra fields,
  one fixed timestamp); ``docProps/core.xml``, ``app.xml`` and ``custom.xml`` are emptied; author and
  initials attributes (comments, tracked changes) are blanked; embedded JPEG and PNG pictures are
  re-encoded like images.
- Images (Pillow): decoded and encoded afresh from the pixels alone, so no EXIF (artist, copyright,
  GPS), XMP, IPTC, ICC profile (whose description is free text: colours are converted to sRGB first)
  or PNG text chunk survives; the EXIF orientation is applied first. At most ``MAX_IMAGE_PIXELS`` are
  accepted at all, and the copy is scaled down to ``BLIND_IMAGE_MAX_SIDE``.
"""

from __future__ import annotations

import io
import re
import shutil
import warnings
import zipfile
from pathlib import Path

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, StreamObject

from judging.file_types import OFFICE_KINDS

MAX_IMAGE_PIXELS = 40_000_000
"""An image over 40 megapixels is refused: decoding it costs hundreds of megabytes (a 10000² PNG took
470 MB in the booklet), and no judge or booklet page shows more."""

BLIND_IMAGE_MAX_SIDE = 4096
"""The longest side of an image's blind copy: more than any screen shows a judge."""

MAX_OFFICE_UNPACKED_BYTES = 1024 * 1024 * 1024
"""The declared unpacked size of an Office file beyond which it is not unpacked (a zip bomb)."""
MAX_OFFICE_PART_BYTES = 64 * 1024 * 1024
"""The largest XML part or picture of an Office file that is read into memory to be cleaned."""
MAX_OFFICE_MEMBERS = 10_000

_EMPTY_PROPERTIES = {
    "docProps/core.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"/>'
    ),
    "docProps/app.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"/>'
    ),
    "docProps/custom.xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"/>'
    ),
}
_PERSON_ATTRIBUTE = re.compile(
    r"""(\s(?:[\w.-]+:)?(?:author|initials|userId|providerId|lastModifiedBy|displayName|name)\s*=\s*)("[^"]*"|'[^']*')"""
)
_PERSON_ELEMENT = re.compile(r"<((?:[\w.-]+:)?(?:author|creator|lastModifiedBy))(\s[^>]*)?>[^<]*</\1>")
_PERSON_NAME_ELEMENTS = re.compile(r"<(?:[\w.-]+:)?(?:person|cmAuthor|author)\b")
_PICTURE_SUFFIXES = {".jpg": "jpg", ".jpeg": "jpg", ".png": "png"}
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class CannotClean(Exception):
    """The file could not be read well enough to make a clean copy of it."""


class ImageTooLarge(CannotClean):
    """The image has more pixels than :data:`MAX_IMAGE_PIXELS`."""

    def __init__(self, width: int, height: int) -> None:
        super().__init__(f"{width}×{height}")
        self.width = width
        self.height = height


def write_clean_copy(kind: str, source: str | Path, target: str | Path) -> None:
    """Write the clean copy of a document or image of ``kind`` (as :mod:`judging.file_types` names it)."""
    if kind == "pdf":
        clean_pdf(source, target)
    elif kind in OFFICE_KINDS:
        clean_office(source, target)
    elif kind in ("jpg", "png", "webp"):
        clean_image(source, target, kind)
    else:
        raise CannotClean(kind)


# --- images -----------------------------------------------------------------------------------------------


def open_image(source: str | Path | io.BytesIO) -> Image.Image:
    """Open an image, refusing it (:class:`ImageTooLarge`) past :data:`MAX_IMAGE_PIXELS` before decoding it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(source)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageTooLarge(0, 0) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise CannotClean(str(exc)) from None
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        image.close()
        raise ImageTooLarge(width, height)
    return image


def check_image(source: str | Path) -> tuple[int, int]:
    """The width and height of an image that may be accepted (see :func:`open_image`)."""
    with open_image(source) as image:
        return image.size


def clean_image(source: str | Path | io.BytesIO, target: str | Path | io.BytesIO, kind: str) -> None:
    """Encode the image afresh from its pixels alone (no metadata, no profile), at most
    :data:`BLIND_IMAGE_MAX_SIDE` on its longest side."""
    with open_image(source) as image:
        try:
            pixels = _pixels_in_srgb(image)
        except (OSError, ValueError, SyntaxError) as exc:  # truncated or corrupt data
            raise CannotClean(str(exc)) from None
    pixels.thumbnail((BLIND_IMAGE_MAX_SIDE, BLIND_IMAGE_MAX_SIDE), Image.Resampling.LANCZOS)
    bare = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())  # a new image: no info, no EXIF
    if kind == "jpg":
        bare.convert("RGB" if bare.mode != "L" else "L").save(target, format="JPEG", quality=90)
    elif kind == "webp":
        bare.save(target, format="WEBP", quality=90)
    else:
        bare.save(target, format="PNG")


THUMBNAIL_WIDTH = 320
"""The width of a picture's thumbnail, as wide as a video's (:func:`judging.media.make_thumbnail`)."""


def write_thumbnail(source: str | Path, target: str | Path) -> tuple[int, int]:
    """Write a JPEG thumbnail of an image, :data:`THUMBNAIL_WIDTH` wide at most, made from its pixels
    alone (no metadata: judges and the gallery see it); return the image's width and height."""
    with open_image(source) as image:
        try:
            pixels = _pixels_in_srgb(image)
        except (OSError, ValueError, SyntaxError) as exc:
            raise CannotClean(str(exc)) from None
    size = pixels.size
    pixels.thumbnail((THUMBNAIL_WIDTH, THUMBNAIL_WIDTH * 4), Image.Resampling.LANCZOS)
    bare = Image.frombytes(pixels.mode, pixels.size, pixels.tobytes())
    if bare.mode in ("LA", "RGBA"):  # JPEG has no transparency: lay it on white
        background = Image.new("RGB", bare.size, "white")
        background.paste(bare.convert("RGBA"), mask=bare.convert("RGBA").getchannel("A"))
        bare = background
    bare.convert("RGB" if bare.mode != "L" else "L").save(target, format="JPEG", quality=85)
    return size


def _pixels_in_srgb(image: Image.Image) -> Image.Image:
    """The image upright (EXIF orientation applied), in sRGB, as L, LA, RGB or RGBA pixels."""
    image.load()
    upright = ImageOps.exif_transpose(image)
    profile = upright.info.get("icc_profile")
    if profile and upright.mode in ("RGB", "RGBA", "CMYK"):
        try:
            converted = ImageCms.profileToProfile(
                upright,
                ImageCms.ImageCmsProfile(io.BytesIO(profile)),
                ImageCms.createProfile("sRGB"),
                outputMode="RGBA" if upright.mode == "RGBA" else "RGB",
            )
            if converted is not None:
                upright = converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # an unreadable profile: the pixels as they are
    if upright.mode in ("L", "LA", "RGB", "RGBA"):
        return upright
    has_alpha = upright.mode in ("PA", "La") or "transparency" in upright.info
    if upright.mode in ("1", "I", "I;16", "F"):
        return upright.convert("L")
    return upright.convert("RGBA" if has_alpha else "RGB")


# --- PDF --------------------------------------------------------------------------------------------------


def clean_pdf(source: str | Path, target: str | Path) -> None:
    """Write the PDF afresh without its Info dictionary, XMP streams, private data, embedded files and
    annotation authors."""
    try:
        reader = PdfReader(str(source))
        if reader.is_encrypted and not reader.decrypt(""):
            raise CannotClean("encrypted")
        writer = PdfWriter(clone_from=reader)
        writer.metadata = None
        root = writer.root_object
        for key in ("/Metadata", "/PieceInfo", "/SpiderInfo", "/Perms"):
            root.pop(NameObject(key), None)
        names = root.get("/Names")
        if names is not None:
            names.get_object().pop(NameObject("/EmbeddedFiles"), None)
        for number in range(len(writer._objects)):  # every object the copy holds
            _clean_pdf_object(writer._objects[number])
        writer.compress_identical_objects(remove_duplicates=False, remove_unreferenced=True)
        with open(target, "wb") as out:
            writer.write(out)
    except CannotClean:
        raise
    except (PyPdfError, OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise CannotClean(str(exc)) from None


def _clean_pdf_object(obj: object) -> None:
    if isinstance(obj, IndirectObject):
        obj = obj.get_object()
    if not isinstance(obj, DictionaryObject):
        return
    if isinstance(obj, StreamObject) and obj.get("/Type") == "/Metadata":
        obj.set_data(b"")  # an XMP stream reached from somewhere not cleaned below
    for key in ("/Metadata", "/PieceInfo", "/LastModified"):
        obj.pop(NameObject(key), None)
    subtype = obj.get("/Subtype")
    if obj.get("/Type") == "/Annot" or (subtype is not None and "/Rect" in obj and "/P" in obj):
        obj.pop(NameObject("/T"), None)  # a markup annotation's author
        if subtype == "/FileAttachment":
            obj.pop(NameObject("/FS"), None)
    if obj.get("/Type") in ("/Filespec", "/EmbeddedFile"):
        for key in ("/EF", "/RF", "/Desc", "/UF", "/F"):
            obj.pop(NameObject(key), None)
    annotations = obj.get("/Annots")
    if isinstance(annotations, ArrayObject):
        for annotation in annotations:
            _clean_pdf_object(annotation)


# --- Office -----------------------------------------------------------------------------------------------


def clean_office(source: str | Path, target: str | Path) -> None:
    """Write the Office file's zip afresh: properties emptied, person attributes blanked, pictures
    re-encoded, no archive metadata."""
    try:
        with zipfile.ZipFile(source) as archive:
            members = archive.infolist()
            if len(members) > MAX_OFFICE_MEMBERS or sum(m.file_size for m in members) > MAX_OFFICE_UNPACKED_BYTES:
                raise CannotClean("too large when unpacked")
            with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as copy:
                seen: set[str] = set()
                for member in members:
                    if member.is_dir() or member.filename in seen:
                        continue
                    seen.add(member.filename)
                    info = zipfile.ZipInfo(member.filename, date_time=_FIXED_ZIP_TIME)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = 0o644 << 16
                    _copy_office_member(archive, member, copy, info)
    except CannotClean:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise CannotClean(str(exc)) from None


def _copy_office_member(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, copy: zipfile.ZipFile, info: zipfile.ZipInfo
) -> None:
    name = member.filename
    suffix = Path(name).suffix.lower()
    if name in _EMPTY_PROPERTIES:
        copy.writestr(info, _EMPTY_PROPERTIES[name])
        return
    if suffix in (".xml", ".rels", ".vml") or suffix in _PICTURE_SUFFIXES:
        if member.file_size > MAX_OFFICE_PART_BYTES:
            raise CannotClean(f"{name}: too large")
        data = archive.read(member)
        if suffix in _PICTURE_SUFFIXES:
            picture = io.BytesIO()
            clean_image(io.BytesIO(data), picture, _PICTURE_SUFFIXES[suffix])
            copy.writestr(info, picture.getvalue())
        else:
            copy.writestr(info, _without_people(data))
        return
    with archive.open(member) as part, copy.open(info, "w") as out:
        shutil.copyfileobj(part, out, 1024 * 1024)


def _without_people(xml: bytes) -> bytes:
    """An XML part with the names of people blanked: author and initials attributes (comments, tracked
    changes), ``name`` attributes of person lists, and author elements (spreadsheet comments)."""
    try:
        text = xml.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = xml.decode("utf-16")
        except UnicodeDecodeError:
            raise CannotClean("an XML part in an unknown encoding") from None
        return _without_people(text.replace('encoding="UTF-16"', 'encoding="UTF-8"').encode("utf-8"))
    blanked = _PERSON_ELEMENT.sub(lambda m: f"<{m.group(1)}{m.group(2) or ''}></{m.group(1)}>", text)

    def attribute(match: re.Match[str]) -> str:
        if match.group(1).strip().split(":")[-1].split("=")[0].strip() == "name":
            return match.group(0)  # ``name`` is blanked only inside person lists, below
        return f'{match.group(1)}""'

    blanked = _PERSON_ATTRIBUTE.sub(attribute, blanked)
    if _PERSON_NAME_ELEMENTS.search(blanked):
        blanked = re.sub(
            r"<((?:[\w.-]+:)?(?:person|cmAuthor|author))\b([^>]*)>",
            lambda m: f"<{m.group(1)}{_PERSON_ATTRIBUTE.sub(lambda a: a.group(1) + chr(34) * 2, m.group(2))}>",
            blanked,
        )
    return blanked.encode("utf-8")
