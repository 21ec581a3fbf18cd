"""Issue 16's whole first season, as a new organiser tries it in Chromium, in one go on one empty database:
`flask init` prints the setup link; the first organiser sets up the service; builds a poster contest from
the shipped template and a 2027 edition of the micro-video contest by copying; imports 20 organisations and
30 judges (and one entrant) from spreadsheets; prints the invitation letters; opens the contests; and the
entrant, following its letter's link, gets the new edition's code prefix and numbering of its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import make_test_app
from tests.e2e.conftest import served
from tests.scenarios import (
    organizations_workbook,
    page_texts,
    people_workbook,
    thirty_judges,
    twenty_organizations,
)

pytestmark = pytest.mark.e2e

BASE = "http://127.0.0.1:5112"
PASSWORD = "violet kettle marching 42"
ENTRANT_PASSWORD = "harbour lantern seventeen 9"


def test_a_new_organiser_sets_up_a_season_from_an_empty_database(
    page: Page, tmp_path: Path, screenshot_dir: Path
) -> None:
    app = make_test_app(
        f"sqlite:///{tmp_path / 'season.sqlite3'}",
        tmp_path,
        SERVER_NAME=None,
        FIRST_RUN_NOTICE=True,
        PUBLIC_BASE_URL=BASE,
    )
    result = app.test_cli_runner().invoke(args=["init"])
    assert result.exit_code == 0, result.output
    link = re.search(r"http://127\.0\.0\.1:5112(/setup/\S+)", result.output)
    assert link, result.output
    organisations = organizations_workbook(tmp_path / "滨江区单位.xlsx", twenty_organizations())
    people = people_workbook(
        tmp_path / "评审专家和参赛单位.xlsx", [*thirty_judges(), ["滨江区网信办", "参赛单位", "滨江区", "", "", ""]]
    )
    page.set_viewport_size({"width": 1280, "height": 900})
    with served(app) as base:
        # 1. The first account, through the one-time link.
        page.goto(base + link.group(1))
        page.get_by_label("显示名称").fill("王主任")
        page.get_by_label("用户名", exact=True).fill("chief")
        page.get_by_label("组织者所属单位").select_option(label="市委网信办")
        page.get_by_label("新密码", exact=True).fill(PASSWORD)
        page.get_by_label("再次输入新密码").fill(PASSWORD)
        page.get_by_role("button", name="创建组织者账号").click()
        expect(page).to_have_url(f"{base}/organizer/")

        # 2. A poster contest from the template, opened for entries.
        page.get_by_role("link", name="新建评选").click()
        form = page.locator("#template-form")
        form.get_by_label("模板", exact=True).select_option(label="网络安全宣传海报评选")
        form.get_by_label("届次名称").fill("2027")
        form.get_by_role("button", name="创建评选").click()
        expect(page.get_by_text("评选已创建，处于筹备阶段")).to_be_visible()
        page.get_by_role("button", name="开放报送").click()
        expect(page.get_by_text("征集中").first).to_be_visible()

        # 3. The 2027 edition of the micro-video contest, copied from 2026, opened for entries.
        page.goto(f"{base}/organizer/contests/micro-video/copy")
        copy = page.locator("#copy-form")
        expect(copy.get_by_label("作品编号前缀")).to_have_value("MV27")
        copy.get_by_role("button", name="创建新一届").click()
        expect(page.get_by_text("新一届已创建，处于筹备阶段")).to_be_visible()
        page.get_by_role("button", name="开放报送").click()
        expect(page.get_by_text("征集中").first).to_be_visible()

        # 4. Twenty organisations from a spreadsheet: preview, then write.
        page.goto(f"{base}/organizer/organizations")
        page.get_by_label("单位文件").set_input_files(str(organisations))
        page.get_by_role("button", name="预览").click()
        expect(page.locator("[data-preview-counts]")).to_have_text(
            "滨江区单位.xlsx：将新增 20 个单位，更新 0 个，0 个不变。"
        )
        page.get_by_role("button", name="写入这些单位").click()
        expect(page.locator('tr[data-organization="滨江区"]')).to_have_attribute("data-depth", "0")

        # 5. Thirty judges and the new district's entrant account from a spreadsheet, and their letters.
        page.goto(f"{base}/organizer/people/import")
        page.locator("input[type=file]").set_input_files(str(people))
        page.get_by_role("button", name="检查文件").click()
        expect(page.locator("#people-preview tbody tr")).to_have_count(31)
        page.get_by_role("button", name="创建这些账号").click()
        expect(page.locator("#people-created tbody tr")).to_have_count(31)
        with page.expect_download() as download_info:
            page.get_by_role("button", name="打印邀请函（PDF）").click()
        letters = page_texts(Path(download_info.value.path()).read_bytes())
        assert len(letters) == 31
        assert sum("评审专家" in text for text in letters) == 30
        assert any("专家01" in text and "judge-001" in text for text in letters)
        entrant_letter = next(text for text in letters if "滨江区网信办" in text)
        invite = re.search(r"/invite/[A-Za-z0-9_\-]+", entrant_letter.replace("\n", ""))
        assert invite, entrant_letter
        username = re.search(r"entrant-\d{3}", entrant_letter)
        assert username, entrant_letter
        page.screenshot(path=str(screenshot_dir / "season-organiser-accounts.png"), full_page=True)
        page.get_by_role("button", name="退出").click()

        # 6. The entrant follows its letter, and its entry of the new edition gets a code of its own.
        page.goto(base + invite.group(0))
        page.get_by_label("新密码", exact=True).fill(ENTRANT_PASSWORD)
        page.get_by_label("再次输入新密码").fill(ENTRANT_PASSWORD)
        page.get_by_role("button", name="设置密码").click()
        page.goto(f"{base}/login")
        if page.get_by_label("用户名").count():
            page.get_by_label("用户名").fill(username.group(0))
            page.get_by_label("密码").fill(ENTRANT_PASSWORD)
            page.get_by_role("button", name="登录").click()
        page.goto(f"{base}/entrant/contests/micro-video-2027/entries/new")
        page.get_by_label("标题").fill("守护滨江的网络安全")
        page.get_by_label("作品主题").fill("网络安全靠人民")
        page.get_by_role("button", name="保存草稿").click()
        expect(page.locator("h1 code")).to_have_text("MV27-001")
        page.screenshot(path=str(screenshot_dir / "season-entrant-new-edition.png"), full_page=True)
