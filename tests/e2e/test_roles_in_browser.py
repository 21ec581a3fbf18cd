"""A person at a browser: each role logs in through the form and sees its own navigation."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD

pytestmark = pytest.mark.e2e

ROLES = {
    "organizer": ("/organizer/", ["工作台", "账号管理", "单位管理", "审计日志"]),
    "judge": ("/judge/", ["我的评审"]),
    "entrant": ("/entrant/", ["我的作品"]),
}


def _log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


@pytest.mark.parametrize("username", list(ROLES))
def test_each_role_logs_in_and_sees_its_navigation(
    page: Page, live_server: str, screenshot_dir: Path, username: str
) -> None:
    home, links = ROLES[username]
    _log_in(page, live_server, username)
    expect(page).to_have_url(f"{live_server}{home}")
    nav = page.locator("ul.navbar-nav.me-auto")
    for link in links:
        expect(nav.get_by_role("link", name=link)).to_be_visible()
    for other in {"工作台", "我的评审", "我的作品"} - set(links):
        expect(nav.get_by_role("link", name=other)).to_have_count(0)
    page.screenshot(path=str(screenshot_dir / f"home-{username}.png"), full_page=True)
    page.get_by_role("button", name="退出").click()
    expect(page.get_by_text("您已退出登录。")).to_be_visible()


def test_visitor_switches_language_and_reads_contests(page: Page, live_server: str, screenshot_dir: Path) -> None:
    page.goto(live_server)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", name="评选活动")).to_be_visible()
    expect(page.get_by_role("link", name="网络安全微视频评选")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "home-zh.png"), full_page=True)
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Contests")).to_be_visible()
    page.get_by_role("link", name="网络安全微视频评选").click()
    expect(page.get_by_role("heading", name="Criteria")).to_be_visible()
    expect(page.get_by_role("cell", name="内容", exact=True)).to_be_visible()
    page.get_by_role("link", name="中文").click()
    expect(page.get_by_role("heading", name="评分标准")).to_be_visible()


def test_organiser_creates_an_account_and_the_invitee_sets_a_password(
    page: Page,
    live_server: str,
    browser,
    screenshot_dir: Path,  # type: ignore[no-untyped-def]
) -> None:
    _log_in(page, live_server, "organizer")
    page.get_by_role("link", name="账号管理").click()
    page.get_by_label("用户名").fill("xuhui")
    page.get_by_label("显示名称").fill("徐汇区联络员")
    page.get_by_label("角色").select_option("entrant")
    page.get_by_label("单位").select_option(label="徐汇区")
    page.get_by_role("button", name="创建账号并生成邀请链接").click()
    link = page.locator("#invitation-link").inner_text()
    page.screenshot(path=str(screenshot_dir / "invitation.png"))
    assert link.startswith(live_server + "/invite/")

    invitee = browser.new_context().new_page()
    invitee.goto(link)
    expect(invitee.get_by_text("您的用户名是 xuhui")).to_be_visible()
    invitee.get_by_label("新密码", exact=True).fill("river-stone-9182")
    invitee.get_by_label("再次输入新密码").fill("river-stone-9182")
    invitee.get_by_role("button", name="设置密码").click()
    expect(invitee).to_have_url(f"{live_server}/entrant/")
    expect(invitee.get_by_text("徐汇区 · 区")).to_be_visible()
    invitee.context.close()
