"""Blind review against a determined entrant: every file kind reaches the judge as a clean copy, names
in text are masked however they are disguised, and the organiser's blind check finds what is left.

Every adversarial file is generated here: a video naming 长宁区 in its container tags, stream
``handler_name`` and ``encoder``, an XMP ``uuid`` box and H.264 SEI user data; a PDF with Author and XMP;
a JPEG with EXIF Artist, Copyright, XPAuthor (UTF-16), GPS and XMP; a PNG with text chunks; a DOCX with
``dc:creator``, a company, a comment author and a picture carrying EXIF. The judge then fetches every URL
it can reach, and no byte (UTF-8 or UTF-16) nor header names the district, its aliases or the uploader.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import uuid
import zipfile
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image, PngImagePlugin
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from judging.extensions import db
from judging.media import probe_video, run_ffmpeg
from judging.models import Entry, EntryFile, OrganizationKind, Phase, Role, User
from judging.rubric import parse_rubric
from judging.services import ServiceError, accounts, contests, entries, entry_files, nomination, organizations, panel
from judging.storage import LocalStorage
from tests.conftest import (
    ROOT,
    create_user,
    log_in,
    open_contest_for_entries,
    organization_named,
    submitted_video_entry,
)

DISTRICT = "长宁区"
UNIT = "新华路街道"
DISTRICT_USER = ("cn-office", "李明华")
UNIT_USER = ("xinhua-unit", "周红梅")
SECRETS = [DISTRICT, "长宁", "Changning", UNIT, *DISTRICT_USER, *UNIT_USER]
XMP = (
    '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>长宁区网信办 Changning</dc:creator>'
    '</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
).encode()
XMP_UUID = uuid.UUID("be7acfcb-97a9-42e8-9c71-999491e3afac").bytes


def leaks(data: bytes) -> list[str]:
    """The secrets found in raw bytes: UTF-8, UTF-16 (both orders), any case of the Latin ones."""
    lowered = data.lower()
    found = []
    for secret in SECRETS:
        forms = [secret.encode(), secret.encode("utf-16-le"), secret.encode("utf-16-be")]
        forms += [form.lower() for form in forms]
        if any(form in data or form in lowered for form in forms):
            found.append(secret)
    return found


# --- adversarial files ------------------------------------------------------------------------------------


def tagged_video(folder: Path) -> Path:
    plain = folder / "plain.mp4"
    run_ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=22050",
        "-t", "2", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-b:a", "32k",
        "-shortest",
        "-metadata", "title=长宁区网信办出品", "-metadata", "artist=李明华", "-metadata", "comment=Changning",
        "-metadata:s:v", "handler_name=长宁区视频", "-metadata:s:a", "handler_name=CHANGNING audio",
        "-metadata:s:v", "encoder=长宁区编码器",
        "-bsf:v", "h264_metadata=sei_user_data=086f3693-b7b3-4f2c-9653-21492feee5b8+长宁区SEI李明华",
        str(plain),
    )  # fmt: skip
    video = folder / "tagged.mp4"
    box = struct.pack(">I", 24 + len(XMP)) + b"uuid" + XMP_UUID + XMP  # a top-level XMP box, as Adobe tools write
    video.write_bytes(plain.read_bytes() + box)
    return video


def pdf_with_metadata(folder: Path, text: str = "Safety at home", name: str = "case.pdf") -> Path:
    writer = PdfWriter()
    page = writer.add_blank_page(300, 200)
    font = DictionaryObject(
        {NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
         NameObject("/BaseFont"): NameObject("/Helvetica")}
    )  # fmt: skip
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    content = DecodedStreamObject()
    content.set_data(f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET".encode())
    page[NameObject("/Contents")] = writer._add_object(content)
    writer.add_metadata({"/Author": "长宁区网信办 李明华", "/Title": "长宁区案例", "/Creator": "Changning"})
    xmp = DecodedStreamObject()
    xmp.set_data(XMP)
    xmp[NameObject("/Type")] = NameObject("/Metadata")
    xmp[NameObject("/Subtype")] = NameObject("/XML")
    writer.root_object[NameObject("/Metadata")] = writer._add_object(xmp)
    path = folder / name
    with path.open("wb") as out:
        writer.write(out)
    return path


def jpeg_with_exif(size: tuple[int, int] = (640, 480)) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x013B] = "李明华"  # Artist
    exif[0x8298] = "长宁区网信办 Changning"  # Copyright
    exif[0x9C9D] = "长宁区".encode("utf-16-le") + b"\0\0"  # XPAuthor, UTF-16 as Windows writes it
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (31.0, 13.0, 5.5), 3: "E", 4: (121.0, 25.0, 1.0)})
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, xmp=XMP)
    return out.getvalue()


def png_with_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Changning")
    info.add_itxt("Comment", "长宁区网信办 周红梅")
    out = io.BytesIO()
    Image.new("RGB", (320, 200), (30, 120, 200)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def docx_with_creator(folder: Path, body: str = "社区反诈宣传") -> Path:
    path = folder / "case.docx"
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="xml" ContentType="application/xml"/></Types>',
        )
        archive.writestr(
            "docProps/core.xml",
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>长宁区网信办 周红梅</dc:creator>'
            "<cp:lastModifiedBy>xinhua-unit</cp:lastModifiedBy></cp:coreProperties>",
        )
        archive.writestr("docProps/app.xml", "<Properties><Company>上海市长宁区新华路街道</Company></Properties>")
        archive.writestr("docProps/custom.xml", "<Properties><property name='unit'>Changning</property></Properties>")
        archive.writestr(
            "word/document.xml",
            f"<w:document {w}><w:body><w:p><w:r><w:t>{body}</w:t></w:r></w:p>"
            '<w:p><w:ins w:id="1" w:author="李明华" w:date="2026-05-01T00:00:00Z">'
            "<w:r><w:t>修订</w:t></w:r></w:ins></w:p>"
            "</w:body></w:document>",
        )
        archive.writestr(
            "word/comments.xml",
            f'<w:comments {w}><w:comment w:id="0" w:author="周红梅" w:initials="ZHM"><w:p><w:r><w:t>好</w:t></w:r>'
            "</w:p></w:comment></w:comments>",
        )
        archive.writestr("word/media/image1.jpeg", jpeg_with_exif((64, 48)))
        archive.comment = b"Changning"
    return path


# --- the scene --------------------------------------------------------------------------------------------


def _account(username: str, display_name: str, organization: str) -> User:
    created = accounts.create_account(
        db.session,
        None,
        username=username,
        display_name=display_name,
        role=Role.ENTRANT,
        organization=organization_named(organization),
    )
    accounts.accept_invitation(db.session, created.invitation_token, "correct horse battery staple")
    db.session.commit()
    return created.user


def _seed(app: Flask, tmp_path: Path) -> dict[str, int]:
    """A tagged video entry of 长宁区 and a case of its unit 新华路街道 with a document and two images,
    nominated by 长宁区; both contests in review with the judge assigned. Returns entry ids and users."""
    storage = LocalStorage(app.config["UPLOAD_FOLDER"])
    organizations.create_organization(
        db.session, None, name=UNIT, kind=OrganizationKind.GRASSROOTS, parent=organization_named(DISTRICT)
    )  # type: ignore[arg-type]
    db.session.commit()
    office = _account(*DISTRICT_USER, DISTRICT)
    unit = _account(*UNIT_USER, UNIT)

    video_contest = open_contest_for_entries("micro-video")
    video_entry = entries.create_draft(
        db.session,
        office,
        video_contest,
        title="长\u200b宁区的反诈短片",
        fields={"theme": "由 ＣＨＡＮＧＮＩＮＧ 出品"},
    )
    with tagged_video(tmp_path).open("rb") as stream:  # the uploader's own suffix must not reach the judge
        entry_files.attach_work(db.session, office, video_entry, storage, stream, "MV.长宁区网信办")
    entries.submit_entry(
        db.session, office, video_entry, list(contests.current_rubric(video_contest).entry.declarations)
    )

    case_contest = open_contest_for_entries("exemplary-cases")
    case = entries.create_draft(
        db.session,
        unit,
        case_contest,
        title="长宁 区社区反诈",
        summary="周红梅带领团队在长宁开展宣传",
        category="case",
        fields={"unit": "长宁区新华路街道", "period": "2026-05-01"},
    )
    with pdf_with_metadata(tmp_path).open("rb") as stream:
        entry_files.attach_file(db.session, unit, case, storage, stream, "长宁区案例.html")
    for name, data in (("photo.jpg", jpeg_with_exif()), ("poster.png", png_with_text())):
        entry_files.attach_file(db.session, unit, case, storage, io.BytesIO(data), name)
    entries.submit_entry(db.session, unit, case, list(contests.current_rubric(case_contest).entry.declarations))
    nomination.nominate_entry(db.session, office, case)
    word_case = entries.create_draft(
        db.session,
        unit,
        case_contest,
        title="网络安全进校园",
        category="case",
        fields={"unit": UNIT, "period": "2026-06-01"},
    )
    with docx_with_creator(tmp_path).open("rb") as stream:
        entry_files.attach_file(db.session, unit, word_case, storage, stream, "x.html")
    entries.submit_entry(db.session, unit, word_case, list(contests.current_rubric(case_contest).entry.declarations))
    nomination.nominate_entry(db.session, office, word_case)
    db.session.commit()

    organizer = db.session.scalar(db.select(User).where(User.username == "organizer"))
    judges = [db.session.scalar(db.select(User).where(User.username == "judge"))]
    judges += [create_user(name, Role.JUDGE) for name in ("judge2", "judge3")]
    for contest in (video_contest, case_contest):
        contests.change_phase(db.session, organizer, contest, Phase.REVIEW)
        for judge in judges:
            panel.add_to_panel(db.session, organizer, contest, judge)
        panel.assign_judges(db.session, organizer, contest)
    db.session.commit()
    return {"video": video_entry.id, "case": case.id, "word_case": word_case.id}


def _fetch_everything(client: FlaskClient, pages: list[str]) -> list[tuple[str, str, bytes]]:
    """Every page, and every file URL they link (with and without a range): (url, headers, body)."""
    seen: list[tuple[str, str, bytes]] = []
    links: list[str] = []
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        seen.append((url, str(response.headers), response.get_data()))
        links += re.findall(r"/files/\d+(?:/thumbnail)?", response.get_data(as_text=True))
    for url in sorted(set(links)):
        for headers in ({}, {"Range": "bytes=0-"}):
            with client.get(url, headers=headers) as response:
                assert response.status_code in (200, 206), url
                seen.append((url, str(response.headers), response.get_data()))
    return seen


def client_for_user(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    assert log_in(client, username, "correct horse battery staple").status_code == 302
    return client


@pytest.mark.slow
def test_blind_judge_finds_no_name_in_any_byte_of_any_file_kind(  # type: ignore[no-untyped-def]
    app: Flask, users: dict[str, int], client_for, tmp_path: Path
) -> None:
    with app.app_context():
        seeded = _seed(app, tmp_path)
        video = db.session.get(Entry, seeded["video"])
        case = db.session.get(Entry, seeded["case"])
        word_case = db.session.get(Entry, seeded["word_case"])
        codes = (video.code, case.code, word_case.code)
        stored = video.files + case.files + word_case.files
        file_ids = [f.id for f in stored]
        uploads = {f.id: LocalStorage(app.config["UPLOAD_FOLDER"]).path(f.storage_key).read_bytes() for f in stored}
    assert all(leaks(data) for data in uploads.values())  # every upload names the district or the uploader

    judge = client_for("judge")
    seen = _fetch_everything(judge, ["/judge/", *(f"/judge/entries/{code}" for code in codes)])
    fetched = {url for url, _headers, _body in seen}
    assert {f"/files/{file_id}" for file_id in file_ids} <= fetched
    assert f"/files/{file_ids[0]}/thumbnail" in fetched
    for url, headers, body in seen:
        assert leaks(headers.encode()) == [], (url, headers)
        assert leaks(body) == [], url

    page = judge.get(f"/judge/entries/{codes[1]}").get_data(as_text=True)
    assert "■■■ 区社区反诈" not in page and "■■■社区反诈" in page  # the disguised name, masked whole
    assert "■■■带领团队在■■■开展宣传" in page
    assert "实施单位" not in page  # the identifying field is left out, not only masked
    assert "■■■的反诈短片" in judge.get(f"/judge/entries/{codes[0]}").get_data(as_text=True)

    with judge.get(f"/files/{file_ids[0]}") as response:  # download names: the code and the detected type
        assert response.headers["Content-Disposition"] == f"inline; filename={codes[0]}.mp4"
        assert response.get_data()[4:8] == b"ftyp"
    expected = {file_ids[1]: f"{codes[1]}.pdf", file_ids[2]: f"{codes[1]}.jpg", file_ids[3]: f"{codes[1]}.png"}
    expected[file_ids[4]] = f"{codes[2]}.docx"
    for file_id, name in expected.items():
        with judge.get(f"/files/{file_id}") as response:
            assert response.headers["Content-Disposition"] == f"inline; filename={name}"
            assert "filename*" not in response.headers["Content-Disposition"]

    # The entrant gets its uploads back byte for byte, under its own names.
    for username, entry_files_ids in (("cn-office", file_ids[:1]), ("xinhua-unit", file_ids[1:])):
        # (the district's office coordinates its unit: it sees the unit's files as uploaded too)
        client = client_for_user(app, username)
        for file_id in entry_files_ids:
            with client.get(f"/files/{file_id}") as response:
                assert response.status_code == 200
                assert hashlib.sha256(response.get_data()).hexdigest() == hashlib.sha256(uploads[file_id]).hexdigest()
    with client_for_user(app, "cn-office").get(f"/files/{file_ids[0]}") as response:
        assert (
            "filename*=UTF-8''MV.%E9%95%BF%E5%AE%81%E5%8C%BA%E7%BD%91%E4%BF%A1%E5%8A%9E"
            in (response.headers["Content-Disposition"])
        )

    # The copies are still the work: the same pictures, pages and words, without the metadata.
    with app.app_context():
        storage = LocalStorage(app.config["UPLOAD_FOLDER"])
        copies = [storage.path(db.session.get(EntryFile, file_id).blind_key) for file_id in file_ids]
    video_copy, pdf_copy, jpeg_copy, png_copy, docx_copy = copies
    info = probe_video(video_copy)
    assert (info.codec, info.width, info.height, info.tags) == (
        "h264",
        64,
        48,
        (("major_brand", "isom"), ("minor_version", "512"), ("compatible_brands", "isomiso2avc1mp41"),
         ("handler_name", "VideoHandler"), ("handler_name", "SoundHandler")),
    )  # fmt: skip
    assert abs(float(info.duration_seconds) - 2) < 0.2
    reader = PdfReader(pdf_copy)
    assert reader.pages[0].extract_text() == "Safety at home" and reader.metadata is None
    with Image.open(jpeg_copy) as image:
        assert image.size == (640, 480) and dict(image.getexif()) == {} and "xmp" not in image.info
    with Image.open(png_copy) as image:
        assert image.size == (320, 200) and "Author" not in image.info and "Comment" not in image.info
    with zipfile.ZipFile(docx_copy) as archive:
        assert "社区反诈宣传" in archive.read("word/document.xml").decode()
        assert archive.read("docProps/core.xml").decode().endswith('xmlns:dc="http://purl.org/dc/elements/1.1/"/>')
        assert archive.comment == b""


def test_blind_check_lists_entries_whose_text_or_documents_name_an_organisation(  # type: ignore[no-untyped-def]
    app: Flask, users: dict[str, int], client_for, tmp_path: Path
) -> None:
    with app.app_context():
        storage = LocalStorage(app.config["UPLOAD_FOLDER"])
        organizations.create_organization(
            db.session, None, name=UNIT, kind=OrganizationKind.GRASSROOTS, parent=organization_named(DISTRICT)
        )  # type: ignore[arg-type]
        db.session.commit()
        office = _account(*DISTRICT_USER, DISTRICT)
        unit = _account(*UNIT_USER, UNIT)
        contest = open_contest_for_entries("exemplary-cases")
        declarations = list(contests.current_rubric(contest).entry.declarations)
        made = []
        for title, upload, name in (
            ("社区反诈宣传", docx_with_creator(tmp_path, body="长宁 区新华路街道开展了反诈宣传"), "a.docx"),
            ("校园网络安全", pdf_with_metadata(tmp_path, text="Made by the CHANG NING office"), "b.pdf"),
            ("长\u200b宁区老年人防诈", pdf_with_metadata(tmp_path, name="c.pdf"), "c.pdf"),
            ("家庭网络安全", pdf_with_metadata(tmp_path, name="d.pdf"), "d.pdf"),
        ):
            entry = entries.create_draft(
                db.session, unit, contest, title=title, category="case", fields={"unit": UNIT, "period": "2026-05-01"}
            )
            with upload.open("rb") as stream:
                entry_files.attach_file(db.session, unit, entry, storage, stream, name)
            made.append(entry)
        # all four drafts first: once the unit's quota of three is submitted, no new draft may start
        for entry in made[:3]:
            entries.submit_entry(db.session, unit, entry, declarations)
            nomination.nominate_entry(db.session, office, entry)
        made = [entry.code for entry in made]
        db.session.commit()

    page = client_for("organizer").get("/organizer/contests/exemplary-cases/blind-check")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    rows = re.findall(r'<tr data-entry="([^"]+)">(.*?)</tr>', html, re.S)
    found = sorted((code, re.search(r"<td data-name>([^<]*)</td>", row).group(1)) for code, row in rows)  # type: ignore[union-attr]
    # the document's text (the district, across runs and a space), the PDF's page text (the English alias),
    # the disguised title; never the identifying field (unit), never the entry that is not before the panel
    assert found == sorted([(made[0], DISTRICT), (made[0], UNIT), (made[1], "Changning"), (made[2], DISTRICT)])
    assert "【长 区新华路街道】" not in html and "【长宁 区】" in html and "【CHANG NING】" in html
    assert "文档 a.docx" in html and "标题" in html
    assert "盲审检查" in client_for("organizer").get("/organizer/contests/exemplary-cases/entries").get_data(
        as_text=True
    )
    assert client_for("judge").get("/organizer/contests/exemplary-cases/blind-check").status_code == 403
    assert client_for("entrant-a").get("/organizer/contests/exemplary-cases/blind-check").status_code == 403
    assert client_for("organizer").get("/organizer/contests/no-such-contest/blind-check").status_code == 404


@pytest.mark.parametrize(("size", "kind"), [((8000, 5001), "png"), ((12000, 12000), "png"), ((6400, 6400), "jpg")])
def test_image_over_the_pixel_limit_is_refused_and_nothing_is_stored(  # type: ignore[no-untyped-def]
    app: Flask, users: dict[str, int], size: tuple[int, int], kind: str
) -> None:
    image = io.BytesIO()
    Image.new("L", size).save(image, format="PNG" if kind == "png" else "JPEG")
    image.seek(0)
    with app.app_context():
        entrant = db.session.scalar(db.select(User).where(User.username == "entrant-a"))
        contest = open_contest_for_entries("exemplary-cases")
        entry = entries.create_draft(
            db.session, entrant, contest, title="大图", category="case", fields={"unit": "x", "period": "2026-05-01"}
        )
        db.session.commit()
        with pytest.raises(ServiceError) as refusal:
            entry_files.attach_file(
                db.session, entrant, entry, LocalStorage(app.config["UPLOAD_FOLDER"]), image, f"big.{kind}"
            )
        db.session.rollback()
        pixels = f"{size[0]} × {size[1]} 像素" if size != (12000, 12000) else "超出上限"
        assert refusal.value.message == f"图片过大（{pixels}）：最多接受 40 百万像素。"
        assert db.session.get(Entry, entry.id).files == []
    assert [p for p in Path(app.config["UPLOAD_FOLDER"]).rglob("*") if p.is_file() and "tmp" not in p.parts] == []


def test_a_large_image_is_accepted_and_its_blind_copy_scaled_down(  # type: ignore[no-untyped-def]
    app: Flask, users: dict[str, int]
) -> None:
    image = io.BytesIO()
    Image.new("RGB", (6000, 3000), (10, 200, 10)).save(image, format="PNG")
    with app.app_context():
        entrant = db.session.scalar(db.select(User).where(User.username == "entrant-a"))
        contest = open_contest_for_entries("exemplary-cases")
        entry = entries.create_draft(
            db.session, entrant, contest, title="宽图", category="case", fields={"unit": "x", "period": "2026-05-01"}
        )
        image.seek(0)
        record = entry_files.attach_file(
            db.session, entrant, entry, LocalStorage(app.config["UPLOAD_FOLDER"]), image, "wide.png"
        )
        db.session.commit()
        with Image.open(LocalStorage(app.config["UPLOAD_FOLDER"]).path(record.blind_key)) as copy:
            assert copy.size == (4096, 2048)
        with Image.open(LocalStorage(app.config["UPLOAD_FOLDER"]).path(record.storage_key)) as original:
            assert original.size == (6000, 3000)


def test_organisation_file_declares_aliases_that_seeding_keeps_up_to_date(app: Flask, tmp_path: Path) -> None:
    with app.app_context():
        assert organization_named(DISTRICT).aliases == ["长宁", "Changning"]  # from data/organizations.toml
        listing = tmp_path / "organizations.toml"
        listing.write_text(
            '[[organizations]]\nname = "长宁区"\nkind = "district"\naliases = ["长宁", "Changning", "長寧區"]\n'
            '[[organizations]]\nname = "测试区"\nkind = "district"\naliases = ["Ceshi"]\n',
            encoding="utf-8",
        )
        assert organizations.seed_organizations(db.session, organizations.read_organization_file(listing)) == 1
        db.session.commit()
        assert organization_named(DISTRICT).aliases == ["长宁", "Changning", "長寧區"]
        assert organization_named("测试区").aliases == ["Ceshi"]
        listing.write_text('[[organizations]]\nname = "甲区"\nkind = "district"\naliases = "甲"\n', encoding="utf-8")
        with pytest.raises(ServiceError) as refusal:
            organizations.read_organization_file(listing)
        assert refusal.value.message == f"{listing}: organizations[0].aliases: must be a list of names"


def test_files_uploaded_before_the_contest_was_blind_get_their_copy_and_judges_nothing_before(  # type: ignore[no-untyped-def]
    app: Flask, users: dict[str, int], client_for, tmp_path: Path
) -> None:
    text = (ROOT / "rubrics" / "micro_video.toml").read_text(encoding="utf-8")
    with app.app_context():
        contests.sync_rubric(db.session, None, parse_rubric(text.replace("blind = true", "blind = false")))
        db.session.commit()
        entry = submitted_video_entry(app, "entrant-a", tagged_video(tmp_path))
        record = entry.files[0]
        assert record.blind_key is None  # not blind: judges see who made it anyway
        file_id = record.id
        contests.sync_rubric(db.session, None, parse_rubric(text + "\n# made blind again\n"))
        organizer = db.session.scalar(db.select(User).where(User.username == "organizer"))
        contest = entry.contest
        contests.change_phase(db.session, organizer, contest, Phase.REVIEW)
        panel.add_to_panel(db.session, organizer, contest, db.session.get(User, users["judge"]))
        panel.assign_judges(db.session, organizer, contest)
        db.session.commit()
    judge = client_for("judge")
    assert judge.get(f"/files/{file_id}").status_code == 404  # never the original in place of a copy
    with app.app_context():
        storage = LocalStorage(app.config["UPLOAD_FOLDER"])
        assert entry_files.make_missing_blind_copies(db.session, storage) == 1
        db.session.commit()
        assert entry_files.make_missing_blind_copies(db.session, storage) == 0
        record = db.session.get(EntryFile, file_id)
        assert storage.path(record.blind_key).is_file()
    with judge.get(f"/files/{file_id}") as response:
        assert response.status_code == 200
        assert (
            leaks(response.get_data()) == [] and hashlib.sha256(response.get_data()).hexdigest() == record.blind_sha256
        )
