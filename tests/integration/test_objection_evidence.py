"""Evidence filed with an objection (issue 17): PDFs and images, recognised by their content, stored with the
objection and opened by the organisers only; anything else is refused with the file named, and a refused
objection leaves no row and no file behind."""

from __future__ import annotations

import gc
import hashlib
import io
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from judging.extensions import db
from judging.models import Objection, ObjectionAttachment
from judging.services import objections
from judging.storage import LocalStorage
from tests.conftest import csrf_token
from tests.scenarios import PUBLICATION_DESK, freeze_micro_video, jpeg_with_exif, recuse_expert5, seed_review_contest

FORM = "/results/micro-video/1/objection"
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def on_notice(app: Flask, users: dict[str, int], short_video: Path, client_for) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        codes = seed_review_contest(app, short_video)
        recuse_expert5()
    freeze_micro_video(client_for("organizer"))
    return codes


def _file(
    client: FlaskClient,
    subject: str,
    files: list[tuple[bytes, str]],
    reason: str = "该作品使用了未授权素材，证据见附件。",
):  # type: ignore[no-untyped-def]
    data: dict[str, object] = {
        "csrf_token": csrf_token(client, FORM),
        "name": "张三",
        "contact": "138-0000 0000",
        "subject": subject,
        "reason": reason,
        "evidence": [(io.BytesIO(content), name) for content, name in files],
    }
    return client.post(FORM, data=data, content_type="multipart/form-data")


def _stored_files(app: Flask) -> list[Path]:
    root = Path(app.config["UPLOAD_FOLDER"])
    return sorted(p for p in root.rglob("*") if p.is_file() and "tmp" not in p.relative_to(root).parts)


def test_evidence_is_stored_with_the_objection_and_only_organisers_open_it(
    app: Flask, on_notice: dict[str, str], client_for
) -> None:  # type: ignore[no-untyped-def]
    before = _stored_files(app)
    photo = jpeg_with_exif((320, 240))
    page = _file(app.test_client(), on_notice["B"], [(PDF, "证据.pdf"), (photo, "截图.jpg")]).get_data(as_text=True)
    found = re.search(r'id="objection-reference"[^>]*>([A-Z0-9-]+)<', page)
    assert found, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))[-1500:]
    reference = found.group(1)
    with app.app_context():
        objection = db.session.scalar(select(Objection).where(Objection.reference == reference))
        files = [(a.original_name, a.content_type, a.size_bytes, a.sha256) for a in objection.attachments]
        assert files == [
            ("证据.pdf", "application/pdf", len(PDF), hashlib.sha256(PDF).hexdigest()),
            ("截图.jpg", "image/jpeg", len(photo), hashlib.sha256(photo).hexdigest()),
        ]
        ids = [a.id for a in objection.attachments]
        objection_id = objection.id
        stored = LocalStorage(app.config["UPLOAD_FOLDER"]).path(objection.attachments[0].storage_key)
        assert stored.read_bytes() == PDF
    assert len(_stored_files(app)) == len(before) + 2

    organizer = client_for("organizer")
    desk = organizer.get(PUBLICATION_DESK).get_data(as_text=True)
    assert "证据.pdf" in desk and "截图.jpg" in desk
    with organizer.get(f"/organizer/objections/{objection_id}/evidence/{ids[0]}") as response:
        assert response.status_code == 200 and response.data == PDF
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert response.headers["Cache-Control"] == "private, no-store"
    for who in ("judge", "entrant-a"):
        assert client_for(who).get(f"/organizer/objections/{objection_id}/evidence/{ids[0]}").status_code == 403
    assert app.test_client().get(f"/organizer/objections/{objection_id}/evidence/{ids[0]}").status_code == 302
    # another objection's file is not found under this objection
    second = _file(app.test_client(), on_notice["A"], [(_png(), "b.png")], reason="评分偏高，请复核，附图。")
    assert second.status_code == 200
    with app.app_context():
        other = db.session.scalar(select(ObjectionAttachment.id).where(ObjectionAttachment.original_name == "b.png"))
    assert organizer.get(f"/organizer/objections/{objection_id}/evidence/{other}").status_code == 404


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([(b"MZ\x90\x00 not a pdf", "证据.pdf")], "“证据.pdf”不是 PDF 或图片（JPEG、PNG、WebP）"),
        ([(PDF, "a.pdf"), (b"<svg onload=alert(1)>", "b.png")], "“b.png”不是 PDF 或图片"),
        ([(PDF, f"{n}.pdf") for n in range(4)], "最多可附 3 个文件。"),
        pytest.param(
            [(b"%PDF-1.4\n" + b"0" * (objections.ATTACHMENT_MB * 1024 * 1024), "big.pdf")],
            "“big.pdf”超过 10 MB。",
            # Werkzeug's test client encodes a body this large into a temporary file it never closes
            marks=pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
        ),
    ],
)
def test_bad_evidence_is_refused_naming_the_file_and_nothing_is_kept(
    app: Flask, on_notice: dict[str, str], files: list[tuple[bytes, str]], message: str
) -> None:
    before = _stored_files(app)
    page = _file(app.test_client(), on_notice["B"], files).get_data(as_text=True)
    assert message in page
    with app.app_context():
        assert db.session.scalar(select(func.count(Objection.id))) == 0
        assert db.session.scalar(select(func.count(ObjectionAttachment.id))) == 0
    assert _stored_files(app) == before
    root = Path(app.config["UPLOAD_FOLDER"])
    leftovers = [p for p in root.rglob("*") if p.is_file() and "tmp" in p.relative_to(root).parts]
    assert leftovers == []
    gc.collect()  # the test client's temporary body file is collected here, where its warning is expected
