"""Activity reports in a browser (issue 20): the organiser opens the collection with a deadline, two
districts report (text, figures, a document and a photo), the third is shown as missing after the
deadline, the organiser reminds it by mail, and the exports hold every figure and file."""

from __future__ import annotations

import io
import socket
import threading
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from judging.extensions import db
from judging.media import generate_test_image
from judging.models import Role
from judging.rubric import load_rubric
from judging.services import contests
from tests.conftest import PASSWORD, ROOT, create_user
from tests.e2e.conftest import configured_app, served
from tests.scenarios import embedded_fonts, page_texts

pytestmark = pytest.mark.e2e

SLUG = "activity-reports"
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
REPORTS = {
    "pudong": ("浦东新区宣传周活动总结", "网络安全进社区", "12", "3400"),
    "huangpu": ("黄浦区宣传周活动总结", "外滩灯光秀宣传", "7", "15000"),
}


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        with self.lock:
            self.messages.append(
                (list(envelope.rcpt_tos), message_from_bytes(envelope.original_content, policy=policy.default))
            )
        return "250 OK"


@pytest.fixture
def reporting_site(tmp_path: Path) -> Iterator[tuple[str, _Inbox]]:
    """The app with the template's collection, three district accounts with addresses and an organiser,
    mailing to a real SMTP server of the test."""
    inbox = _Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app = configured_app(tmp_path, MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_SENDER="judging@example.org")
    with app.app_context():
        contests.sync_rubric(
            db.session, None, load_rubric(ROOT / "rubrics/templates/activity_report.toml"), edition="2026"
        )
        db.session.commit()
        create_user("organizer", Role.ORGANIZER, "市委网信办")
        for username, organization in (("pudong", "浦东新区"), ("huangpu", "黄浦区"), ("jingan", "静安区")):
            create_user(username, Role.ENTRANT, organization).email = f"{username}@example.org"
        db.session.commit()
    try:
        with served(app) as base:
            yield base, inbox
    finally:
        controller.stop()


def _log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def _log_out(page: Page) -> None:
    page.get_by_role("button", name="退出").click()


def _set_deadline(page: Page, base: str, moment: datetime) -> None:
    page.goto(f"{base}/organizer/contests/{SLUG}")
    page.get_by_label("报送截止时间").fill(moment.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="保存截止时间").click()


def _report(page: Page, base: str, username: str, tmp_path: Path, screenshot_dir: Path) -> None:
    title, highlights, events, participants = REPORTS[username]
    _log_in(page, base, username)
    page.get_by_role("link", name="填写报告").click()
    page.get_by_label("标题").fill(title)
    page.get_by_label("简介").fill("宣传周期间开展系列活动。")
    page.get_by_label("活动亮点").fill(highlights)
    page.get_by_label("联系人及电话").fill("张三 021-12345678")
    page.get_by_label("活动场次（场）").fill(events)
    page.get_by_label("参与人次（人次）").fill(participants)
    page.get_by_role("button", name="保存草稿").click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    expect(page.locator("[data-figure='participants']")).to_have_text(f"{participants} 人次")

    document = tmp_path / f"{username}-总结.pdf"
    document.write_bytes(PDF)
    photo = tmp_path / f"{username}-现场.jpg"
    generate_test_image(photo, "320x240")
    for upload in (document, photo):
        page.get_by_label("文件").set_input_files(str(upload))
        page.get_by_role("button", name="上传", exact=True).click()
        expect(page.locator("#entry-files").get_by_role("cell", name=upload.name)).to_be_visible(timeout=30_000)
    page.reload()
    page.get_by_role("button", name="提交报告").click()
    expect(page.get_by_text("报告已提交。")).to_be_visible()
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "submitted")
    page.screenshot(path=str(screenshot_dir / f"report-entrant-{username}.png"), full_page=True)
    _log_out(page)


def _download(page: Page, link_id: str) -> bytes:
    with page.expect_download() as download:
        page.locator(f"#{link_id}").click()
    path = download.value.path()
    return Path(path).read_bytes()


def test_two_districts_report_a_third_is_missing_reminded_and_the_exports_hold_everything(
    page: Page, reporting_site: tuple[str, _Inbox], screenshot_dir: Path, tmp_path: Path
) -> None:
    base, inbox = reporting_site
    _log_in(page, base, "organizer")
    _set_deadline(page, base, datetime.now(ZoneInfo("UTC")) + timedelta(days=2))
    page.get_by_role("button", name="开放报送").click()
    expect(page.get_by_role("button", name="结束报送")).to_be_visible()
    expect(page.get_by_role("button", name="截止报送，开始评审")).to_have_count(0)  # nothing is judged
    _log_out(page)

    for username in ("pudong", "huangpu"):
        _report(page, base, username, tmp_path, screenshot_dir)

    _log_in(page, base, "organizer")
    _set_deadline(page, base, datetime.now(ZoneInfo("UTC")) - timedelta(minutes=5))
    page.get_by_role("link", name="报告：报送情况、提醒与导出").click()
    table = page.locator("#report-table")
    expect(table.locator("tr[data-organization='浦东新区']")).to_have_attribute("data-state", "submitted")
    expect(table.locator("tr[data-organization='黄浦区']")).to_have_attribute("data-state", "submitted")
    jingan = table.locator("tr[data-organization='静安区']")
    expect(jingan).to_have_attribute("data-state", "missing")
    expect(jingan).to_contain_text("未报送")
    expect(page.locator("[data-report-counts]")).to_contain_text("已有 2 家报送")

    page.get_by_role("button", name="提醒尚未报送的单位").click()
    expect(page.get_by_text("已提醒：")).to_contain_text("静安区")
    assert "jingan@example.org" in [to for tos, _message in inbox.messages for to in tos]
    assert "pudong@example.org" not in [to for tos, _message in inbox.messages for to in tos]
    expect(page.locator("tr[data-organization='静安区'] td[data-reminded]")).not_to_have_text("—")
    expect(page.locator("tr[data-organization='嘉定区'] td[data-reminded]")).to_have_text("—")  # no account to remind
    sent = len(inbox.messages)
    page.get_by_role("button", name="提醒尚未报送的单位").click()
    expect(page.get_by_text("本次未再提醒")).to_be_visible()
    assert len(inbox.messages) == sent

    workbook = load_workbook(io.BytesIO(_download(page, "export-xlsx")))
    rows = {row[0]: row for row in workbook.worksheets[0].iter_rows(values_only=True)}
    assert rows["浦东新区"][1:4] == ("已提交", 12, 3400)
    assert rows["黄浦区"][1:4] == ("已提交", 7, 15000)
    assert rows["静安区"][1:4] == ("未报送", None, None)
    assert rows["合计"][2:4] == (19, 18400)

    archive = zipfile.ZipFile(io.BytesIO(_download(page, "export-zip")))
    assert sorted(archive.namelist()) == sorted(
        ["浦东新区/pudong-总结.pdf", "浦东新区/pudong-现场.jpg", "黄浦区/huangpu-总结.pdf", "黄浦区/huangpu-现场.jpg"]
    )
    assert archive.read("黄浦区/huangpu-总结.pdf") == PDF

    pdf = _download(page, "export-pdf")
    text = "\n".join(page_texts(pdf))
    for expected in (
        "浦东新区宣传周活动总结",
        "网络安全进社区",
        "3,400",
        "黄浦区宣传周活动总结",
        "15,000",
        "静安区",
        "未报送",
    ):
        assert expected in text, expected
    assert embedded_fonts(pdf)

    for language in ("zh", "en"):
        if language == "en":
            page.goto(f"{base}/lang/en")
            page.goto(f"{base}/organizer/contests/{SLUG}/reports")
            expect(page.locator("tr[data-organization='静安区']")).to_contain_text("Missing")
        for width, height, name in ((1280, 900, "desktop"), (390, 844, "phone")):
            page.set_viewport_size({"width": width, "height": height})
            page.screenshot(path=str(screenshot_dir / f"reports-{name}-{language}.png"), full_page=True)
