"""PDF documents: the right Chinese text, and real CJK fonts embedded (not empty boxes)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from judging.exports.pdf import AwardListData, AwardListRow, CertificateData, award_list_pdf, certificate_pdf
from tests.conftest import make_test_app
from tests.scenarios import embedded_fonts, page_texts


@pytest.fixture
def app_context(tmp_path: Path):  # type: ignore[no-untyped-def]
    app = make_test_app(f"sqlite:///{tmp_path / 'pdf.sqlite3'}", tmp_path)
    with app.app_context():
        yield app


def test_certificates_are_one_page_each_with_chinese_in_an_embedded_cjk_font(app_context) -> None:  # type: ignore[no-untyped-def]
    certificates = [
        CertificateData(
            serial=f"MV-2026-00{n}",
            verification_code=f"K7Q{n}X9",
            verification_url="https://j.example/verify/K7Q1X9",
            holder=holder,
            award=award,
            contest_title="网络安全微视频评选",
            edition="2026",
            work_title=title,
            issuer="组委会",
            issued_on=date(2026, 9, 11),
        )
        for n, (holder, award, title) in enumerate(
            [("浦东新区", "一等奖", "指尖上的安全"), ("徐汇区", "二等奖", "沪宝的一天")], 1
        )
    ]
    pdf = certificate_pdf(certificates)
    texts = page_texts(pdf)
    assert len(texts) == 2
    assert "浦东新区" in texts[0] and "一等奖" in texts[0] and "《指尖上的安全》" in texts[0]
    assert "徐汇区" in texts[1] and "二等奖" in texts[1] and "MV-2026-002" in texts[1]
    assert "2026年9月11日" in texts[0].replace(" ", "")
    fonts = embedded_fonts(pdf)
    assert fonts and all("+" in name for name in fonts)  # subset-embedded
    assert any("CJK" in name for name in fonts), fonts


def test_award_list_keeps_category_order_and_prints_the_digest_on_every_page(app_context) -> None:  # type: ignore[no-untyped-def]
    digest = "9f2c" + "0" * 60
    rows = [
        AwardListRow(
            "优秀案例", rank, f"EC-{rank:03d}", f"案例{rank}", f"单位{rank}", f"{95 - rank * 0.25:.2f}", "优秀案例"
        )
        for rank in range(1, 61)
    ]
    rows += [AwardListRow("优秀集体", 1, "EC-201", "社区反诈志愿服务队", "陆家嘴街道", "91.50", "优秀集体")]
    pdf = award_list_pdf(
        AwardListData("网络安全宣传先进典型案例推选", "2026", "闭幕式", "组委会", digest, rows, "公示名单")
    )
    texts = page_texts(pdf)
    assert len(texts) >= 2
    assert all(digest in text for text in texts)
    assert all(f"共 {len(texts)} 页" in text.replace("\u3000", " ") for text in texts)
    whole = "".join(texts)
    assert whole.index("优秀案例") < whole.index("社区反诈志愿服务队")
    assert "2026年网络安全宣传先进典型案例推选公示名单" in texts[0].replace(" ", "")
    assert any("CJK" in name for name in embedded_fonts(pdf))
