"""In Chromium: the organiser imports 20 organisations from an xlsx the test generates, checks the
preview, confirms, and sees them in the tree; then opens one, in Chinese and in English, on a desktop
and on a phone."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD
from tests.scenarios import organizations_workbook, twenty_organizations

pytestmark = pytest.mark.e2e


def _log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def test_organiser_imports_twenty_organisations_and_sees_them_in_the_tree(
    page: Page, live_server: str, tmp_path: Path, screenshot_dir: Path
) -> None:
    base = live_server
    workbook = organizations_workbook(tmp_path / "滨江区单位.xlsx", twenty_organizations())
    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, base, "organizer")
    page.get_by_role("link", name="单位管理").click()
    expect(page.locator("[data-organization-tree] tbody tr")).to_have_count(47)
    page.get_by_label("单位文件").set_input_files(str(workbook))
    page.get_by_role("button", name="预览").click()
    expect(page.locator("[data-preview-counts]")).to_have_text(
        "滨江区单位.xlsx：将新增 20 个单位，更新 0 个，0 个不变。"
    )
    expect(page.locator('tr[data-action="create"]')).to_have_count(20)
    page.screenshot(path=str(screenshot_dir / "organizations-import-preview.png"), full_page=True)
    page.get_by_role("button", name="写入这些单位").click()
    expect(page.get_by_role("alert")).to_have_text("已新增 20 个单位，更新 0 个，0 个不变。")
    rows = page.locator("[data-organization-tree] tbody tr")
    expect(rows).to_have_count(67)
    district = page.locator('tr[data-organization="滨江区"]')
    expect(district).to_have_attribute("data-depth", "0")
    expect(district).to_contain_text("滨江 · Binjiang · 滨江新区 · Binjiang District")
    # its 19 units follow it, one level down
    names = page.locator('[data-organization-tree] tbody tr[data-depth="1"][data-organization^="滨江区第"]')
    expect(names).to_have_count(19)
    index = [row.get_attribute("data-organization") for row in rows.all()].index("滨江区")
    following = [row.get_attribute("data-organization") for row in rows.all()[index + 1 : index + 20]]
    assert sorted(following) == sorted(f"滨江区第{n}街道" for n in range(1, 20))
    page.screenshot(path=str(screenshot_dir / "organizations-tree.png"), full_page=True)

    district.get_by_role("link", name="编辑").click()
    expect(page.locator("h1")).to_contain_text("滨江区")
    page.screenshot(path=str(screenshot_dir / "organization-edit.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(screenshot_dir / "organization-edit-phone.png"), full_page=True)
    page.goto(f"{base}/lang/en?next={page.url.removeprefix(base)}")  # the phone's menu is folded
    expect(page.get_by_role("heading", name="Place in the tree")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "organization-edit-phone-en.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base}/organizer/organizations")
    page.screenshot(path=str(screenshot_dir / "organizations-tree-en.png"), full_page=False)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(screenshot_dir / "organizations-tree-phone-en.png"), full_page=False)
