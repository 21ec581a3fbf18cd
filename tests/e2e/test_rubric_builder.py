"""An organiser edits a criterion's maximum in the contest builder: the live preview of the judge's score
sheet follows, an impossible value is refused next to its field, and a valid change saves a version."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD

pytestmark = pytest.mark.e2e


def log_in_as_organizer(page: Page, base: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill("organizer")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def test_organiser_edits_a_criterion_and_sees_the_preview_and_the_error(
    page: Page, live_server: str, screenshot_dir: Path
) -> None:
    log_in_as_organizer(page, live_server)
    page.goto(f"{live_server}/organizer/contests/micro-video")
    page.locator("#rubric-builder-link").click()
    expect(page.get_by_role("heading", name="编辑评审方案")).to_be_visible()
    sheet = page.locator("#preview-score-sheet")
    expect(sheet.get_by_label("内容（0–40）")).to_be_visible()

    content_max = page.locator('[name="criteria[0].max"]')
    content_max.fill("60")
    expect(sheet.get_by_label("内容（0–60）")).to_be_visible()
    expect(sheet.locator("[data-total]").locator("xpath=..")).to_contain_text("/ 120")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(screenshot_dir / "rubric-builder-zh.png"), full_page=False)
    page.locator("#rubric-preview").screenshot(path=str(screenshot_dir / "rubric-builder-preview-zh.png"))

    content_max.fill("0")
    error = page.locator('[data-error-for="criteria[0].max"]')
    expect(error).to_have_text("必须 > 0")
    expect(content_max).to_have_class("form-control form-control-sm is-invalid")
    expect(page.locator("#builder-problems")).to_contain_text("criteria[0].max：必须 > 0")
    expect(page.locator("[data-preview-invalid]")).to_be_visible()
    content_max.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "rubric-builder-error-zh.png"), full_page=False)

    content_max.fill("50")
    expect(error).to_have_text("")
    expect(sheet.get_by_label("内容（0–50）")).to_be_visible()
    page.locator("#save-rubric").click()
    expect(page.locator(".alert-success")).to_have_text("已保存为评审方案版本 2。")
    expect(page.locator("#rubric-differences")).to_have_text("criteria[content].max：40 → 50")
    page.screenshot(path=str(screenshot_dir / "rubric-versions-zh.png"), full_page=True)


def test_builder_without_javascript_checks_on_the_server(browser, live_server: str) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    log_in_as_organizer(page, live_server)
    page.goto(f"{live_server}/organizer/contests/micro-video/rubric")
    page.locator('[name="criteria[1].step"]').fill("0.7")
    page.get_by_role("button", name="校验并预览").last.click()
    expect(page.locator('[data-error-for="criteria[1].max"]')).to_have_text("必须是最小分值单位（0.7）的整数倍")
    page.locator('button[value="add:checks"]').click()
    expect(page.locator('[name="checks[2].key"]')).to_have_value("")
    context.close()


@pytest.mark.parametrize(
    ("language", "width", "height"),
    [("zh_CN", 1280, 900), ("en", 1280, 900), ("zh_CN", 390, 844), ("en", 390, 844)],
)
def test_builder_screenshots(
    page: Page, live_server: str, screenshot_dir: Path, language: str, width: int, height: int
) -> None:
    page.set_viewport_size({"width": width, "height": height})
    log_in_as_organizer(page, live_server)
    page.goto(f"{live_server}/lang/{language}?next=/organizer/contests/micro-video/rubric")
    page.locator('[name="criteria[0].max"]').fill("0")
    expect(page.locator('[data-error-for="criteria[0].max"]')).not_to_have_text("")
    page.screenshot(path=str(screenshot_dir / f"rubric-builder-{language}-{width}.png"), full_page=True)
    page.goto(f"{live_server}/organizer/contests/micro-video/rubric/versions")
    page.screenshot(path=str(screenshot_dir / f"rubric-versions-{language}-{width}.png"), full_page=True)
