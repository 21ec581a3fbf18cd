"""A certificate is found at /verify by its printed serial (ISG-2026-0013 was regrouped in fours as if it were a
code, and never found) as well as by its code, and each certificate carries a QR code of its verification URL.

The contest is test_publication.py's: four award holders, certificates MV-2026-0001 … 0004 (B first).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import select

from judging.extensions import db
from judging.models import Certificate
from judging.services.certificates import normalise_serial
from tests.scenarios import (
    freeze_micro_video,
    page_texts,
    publish_micro_video,
    qr_codes_in_pdf,
    recuse_expert5,
    seed_review_contest,
)


@pytest.fixture
def published(app: Flask, users: dict[str, int], short_video: Path, client_for) -> dict[str, tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Serial → (code, holder) of the published micro-video result's certificates."""
    with app.app_context():
        seed_review_contest(app, short_video)
        recuse_expert5()
    organizer = client_for("organizer")
    freeze_micro_video(organizer)
    publish_micro_video(app, organizer)
    with app.app_context():
        return {c.serial: (c.code, c.holder) for c in db.session.scalars(select(Certificate).order_by(Certificate.id))}


def test_serials_are_normalised_by_their_own_dashes() -> None:
    assert normalise_serial("ISG-2026-0013") == "ISG-2026-0013"
    assert normalise_serial(" isg 2026 – 0013 ") == "ISG-2026-0013"
    assert normalise_serial("isg_2026_0013") == "ISG-2026-0013"


def test_verify_finds_a_certificate_by_serial_and_by_code(app: Flask, published) -> None:  # type: ignore[no-untyped-def]
    assert sorted(published) == ["MV-2026-0001", "MV-2026-0002", "MV-2026-0003", "MV-2026-0004"]
    code, holder = published["MV-2026-0001"]
    public = app.test_client()
    # Typed into the form, as printed or carelessly: one redirect to the serial's page, which shows it.
    for typed in ("MV-2026-0001", "mv 2026 0001"):
        sent = public.get("/verify", query_string={"code": typed})
        assert sent.status_code == 302 and sent.headers["Location"].endswith("/verify/MV-2026-0001")
    page = public.get("/verify/MV-2026-0001").get_data(as_text=True)
    assert "证书真实有效" in page and holder in page and '<dd class="col-sm-8" id="verify-award">一等奖</dd>' in page
    by_code = public.get(f"/verify/{code.lower().replace('-', ' ')}")
    assert by_code.status_code == 200 and "MV-2026-0001" in by_code.get_data(as_text=True)
    # Another holder's serial shows that holder; an unknown serial or code is refused the same way.
    assert published["MV-2026-0002"][1] in public.get("/verify/MV-2026-0002").get_data(as_text=True)
    for unknown in ("MV-2026-0099", "ABCD-EFGH-JKLM", "MV-2026"):
        refused = public.get(f"/verify/{unknown}")
        assert refused.status_code == 404
        assert "没有证书使用这个编号或验证码" in refused.get_data(as_text=True)


def test_each_certificate_carries_a_qr_code_of_its_verification_url(app: Flask, published, client_for) -> None:  # type: ignore[no-untyped-def]
    organizer = client_for("organizer")
    with organizer.get("/organizer/contests/micro-video/snapshots/1/certificates.pdf") as response:  # stored file
        pdf = response.data
    texts = page_texts(pdf)
    assert len(texts) == 4
    public = app.test_client()
    for number, serial in enumerate(sorted(published), start=1):
        code, holder = published[serial]
        assert serial in texts[number - 1]
        (url,) = qr_codes_in_pdf(pdf, number)
        assert url.startswith("http") and url.endswith(f"/verify/{code}"), url
        scanned = public.get(urlsplit(url).path)
        assert scanned.status_code == 200 and holder in scanned.get_data(as_text=True)
