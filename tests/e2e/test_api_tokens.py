"""In Chromium: the organiser creates an API token on the account's API tokens page, sees it once, uses it
from a program, and revokes it after the confirmation step; the API's docs page lists the operations.
Both pages in Chinese and in English, on a desktop and on a phone (no sideways scrolling)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD

pytestmark = pytest.mark.e2e


def _no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_organiser_creates_uses_and_revokes_an_api_token(page: Page, live_server: str, screenshot_dir: Path) -> None:
    base = live_server
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill("organizer")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name="API 令牌").click()
    expect(page.locator("h1")).to_have_text("API 令牌")
    page.get_by_label("名称（令牌的用途）").fill("颁奖大屏")
    page.get_by_label("权限").select_option("read")
    page.get_by_role("button", name="创建令牌").click()
    secret = page.locator("#api-token").inner_text()
    assert re.fullmatch(r"jt_[A-Za-z0-9_-]{43}", secret)
    page.screenshot(path=str(screenshot_dir / "api-token-created.png"), full_page=True)
    # A program uses it (the browser's own request context, no cookie sent along with the header's token).
    answer = page.request.get(
        f"{base}/api/v1/organizer/contests/micro-video/entries", headers={"Authorization": f"Bearer {secret}"}
    )
    assert answer.status == 200 and answer.json()["items"] == []
    page.get_by_role("link", name="返回 API 令牌").click()
    row = page.locator("#api-tokens tbody tr").first
    expect(row).to_contain_text("颁奖大屏")
    expect(row).to_contain_text(secret[:10])
    expect(page.locator("body")).not_to_contain_text(secret)
    page.screenshot(path=str(screenshot_dir / "api-tokens.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    _no_sideways_scroll(page)
    page.screenshot(path=str(screenshot_dir / "api-tokens-phone.png"), full_page=True)
    row.get_by_role("button", name="撤销").click()
    expect(page.locator("h1")).to_contain_text("撤销 API 令牌“颁奖大屏”？")
    page.get_by_role("button", name="撤销令牌").click()
    expect(page.locator("#api-tokens tbody tr").first).to_contain_text("已于")
    refused = page.request.get(
        f"{base}/api/v1/organizer/contests/micro-video/entries", headers={"Authorization": f"Bearer {secret}"}
    )
    assert refused.status == 401 and refused.json()["error"]["code"] == "invalid_token"

    page.goto(f"{base}/lang/en?next=/organizer/account/api-tokens")
    expect(page.locator("h1")).to_have_text("API tokens")
    _no_sideways_scroll(page)
    page.screenshot(path=str(screenshot_dir / "api-tokens-phone-en.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(screenshot_dir / "api-tokens-en.png"), full_page=True)
    page.get_by_role("link", name="The API's operations").click()
    expect(page.locator("#api-operations tbody tr")).to_have_count(12)
    page.screenshot(path=str(screenshot_dir / "api-docs-en.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    _no_sideways_scroll(page)
    page.screenshot(path=str(screenshot_dir / "api-docs-phone-en.png"), full_page=True)
    page.goto(f"{base}/lang/zh_CN?next=/api/v1/docs")
    expect(page.locator("h1")).to_contain_text("JSON API")
    _no_sideways_scroll(page)
    page.screenshot(path=str(screenshot_dir / "api-docs-phone.png"), full_page=True)
