"""A fresh install in Chromium: `flask init` prints the setup link, the first organiser is created with it
and lands on the dashboard; before that every page says how to set the service up."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import make_test_app
from tests.e2e.conftest import served

pytestmark = pytest.mark.e2e


def test_first_organiser_from_an_empty_database(page: Page, tmp_path: Path, screenshot_dir: Path) -> None:
    app = make_test_app(
        f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        tmp_path,
        SERVER_NAME=None,
        FIRST_RUN_NOTICE=True,
        PUBLIC_BASE_URL="http://127.0.0.1:5111",
    )
    result = app.test_cli_runner().invoke(args=["init"])
    assert result.exit_code == 0, result.output
    link = re.search(r"http://127\.0\.0\.1:5111(/setup/\S+)", result.output)
    assert link, result.output
    with served(app) as base:
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(f"{base}/login")
        expect(page.get_by_role("heading", name="平台尚未设置")).to_be_visible()
        expect(page.locator("code", has_text="flask user create")).to_be_visible()
        expect(page.get_by_role("link", name="登录")).to_have_count(0)
        page.screenshot(path=str(screenshot_dir / "first-run-not-set-up.png"), full_page=True)
        page.goto(f"{base}/?lang=en")
        expect(page.get_by_role("heading", name="This service is not set up yet")).to_be_visible()
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(screenshot_dir / "first-run-not-set-up-en-phone.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})

        page.goto(base + link.group(1))
        expect(page.get_by_role("heading", name="设置平台")).to_be_visible()
        page.get_by_label("显示名称").fill("王主任")
        page.get_by_label("用户名", exact=True).fill("chief")
        page.get_by_label("组织者所属单位").select_option(label="市委网信办")
        page.get_by_label("新密码", exact=True).fill("violet kettle marching 42")
        page.get_by_label("再次输入新密码").fill("violet kettle marching 42")
        page.screenshot(path=str(screenshot_dir / "first-run-setup.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(screenshot_dir / "first-run-setup-phone.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.get_by_role("button", name="创建组织者账号").click()

        expect(page).to_have_url(f"{base}/organizer/")
        expect(page.get_by_text("平台设置完成，欢迎！")).to_be_visible()
        expect(page.locator("nav")).to_contain_text("王主任")
        page.screenshot(path=str(screenshot_dir / "first-run-dashboard.png"), full_page=True)

        # The link is dead now.
        page.goto(base + link.group(1) + "?lang=en")
        expect(page.get_by_text("This service is already set up: please log in.")).to_be_visible()
        page.screenshot(path=str(screenshot_dir / "first-run-link-used-en.png"), full_page=True)
