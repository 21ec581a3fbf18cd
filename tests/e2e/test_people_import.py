"""An organiser at a browser creates 30 judges from a spreadsheet, checks the preview, confirms, and
downloads their invitation letters; the people pages are photographed in both languages and sizes."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD
from tests.scenarios import page_texts, people_workbook, thirty_judges

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def test_organiser_imports_thirty_judges_and_prints_their_letters(
    page: Page, live_server: str, screenshot_dir: Path, tmp_path: Path
) -> None:
    table = people_workbook(tmp_path / "评审专家.xlsx", thirty_judges())
    page.set_viewport_size(DESKTOP)
    _log_in(page, live_server, "organizer")
    page.goto(f"{live_server}/organizer/users")
    page.get_by_role("link", name="从表格批量创建人员").click()
    expect(page.get_by_role("heading", name="从表格批量创建人员")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "people-import-zh.png"), full_page=True)
    page.locator("input[type=file]").set_input_files(str(table))
    page.get_by_role("button", name="检查文件").click()

    expect(page.get_by_text("评审专家.xlsx：将创建 30 个账号，每个账号附一个邀请链接。")).to_be_visible()
    expect(page.locator("#people-preview tbody tr")).to_have_count(30)
    expect(page.locator("#people-preview tbody tr").first).to_contain_text("专家01")
    page.screenshot(path=str(screenshot_dir / "people-preview-zh.png"), full_page=True)
    page.get_by_role("button", name="创建这些账号").click()

    expect(page.get_by_text("已创建 30 个账号。请分发邀请链接：")).to_be_visible()
    expect(page.locator("#people-created tbody tr")).to_have_count(30)
    page.screenshot(path=str(screenshot_dir / "people-created-zh.png"), full_page=True)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="打印邀请函（PDF）").click()
    letters = download_info.value
    assert letters.suggested_filename == "invitation-letters.pdf"
    pdf = Path(letters.path()).read_bytes()
    pages = page_texts(pdf)
    assert len(pages) == 30
    assert "专家01" in pages[0] and "judge-001" in pages[0] and "/invite/" in pages[0].replace("\n", "")
    (screenshot_dir / "invitation-letters.pdf").write_bytes(pdf)

    # the same pages in English, and on a phone
    page.goto(f"{live_server}/organizer/users")
    expect(page.locator("tr[data-username='judge-030']").get_by_role("link", name="编辑")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "people-users-zh.png"), full_page=True)
    page.goto(f"{live_server}/organizer/users?lang=en")
    expect(page.get_by_role("link", name="Create people from a table")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "people-users-en.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server}/organizer/people/invitations?lang=en")
    expect(page.get_by_role("heading", name="Invitations waiting")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "people-invitations-phone-en.png"), full_page=True)
    page.goto(f"{live_server}/organizer/users?lang=zh_CN")
    page.locator("tr[data-username='judge-001']").get_by_role("button", name="停用").click()
    expect(page.get_by_text("该账号将无法登录；登录页会告知其已被停用。")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "people-deactivate-phone-zh.png"), full_page=True)
    page.get_by_role("button", name="停用账号").click()
    expect(page.locator("tr[data-username='judge-001']")).to_contain_text("已停用")
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server}/organizer/users?lang=en")
    edit = page.locator("tr[data-username='judge-002']").get_by_role("link", name="Edit").get_attribute("href")
    page.goto(f"{live_server}{edit}?lang=en")
    expect(page.get_by_role("heading", name="Edit 专家02")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "people-edit-en.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server}/organizer/people/mail?lang=zh_CN")
    expect(page.get_by_text("未配置邮件服务器（MAIL_SERVER）")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "people-mail-phone-zh.png"), full_page=True)
