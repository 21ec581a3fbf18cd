"""An organiser at a browser builds a poster contest from the template and a 2027 edition of the
micro-video contest by copying; entrants of the new editions get codes of their own, numbered from 001."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD
from tests.scenarios import jpeg_with_exif

pytestmark = pytest.mark.e2e


def _log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def _new_entry(page: Page, base: str, slug: str, title: str, theme: str) -> None:
    page.goto(f"{base}/entrant/contests/{slug}/entries/new")
    page.get_by_label("标题").fill(title)
    page.get_by_label("作品主题").fill(theme)
    page.get_by_role("button", name="保存草稿").click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()


def test_organiser_builds_a_poster_contest_and_a_2027_edition_and_entrants_get_their_own_codes(
    page: Page, live_server: str, screenshot_dir: Path, tmp_path: Path
) -> None:
    base = live_server
    _log_in(page, base, "organizer")
    page.get_by_role("link", name="新建评选").click()
    expect(page.locator("[data-template='templates/poster.toml']")).to_contain_text("图片（海报）")
    page.screenshot(path=str(screenshot_dir / "editions-new-contest.png"), full_page=True)

    # A poster contest from the template: the address and the code prefix are suggested.
    form = page.locator("#template-form")
    form.get_by_label("模板", exact=True).select_option(label="网络安全宣传海报评选")
    form.get_by_label("届次名称").fill("2027")
    form.get_by_role("button", name="创建评选").click()
    expect(page.get_by_text("评选已创建，处于筹备阶段")).to_be_visible()
    expect(page.locator("[data-edition]")).to_contain_text("PO27-001")
    page.get_by_role("button", name="开放报送").click()
    expect(page.get_by_text("征集中").first).to_be_visible()

    # The 2027 edition of the micro-video contest, copied from 2026.
    page.goto(f"{base}/organizer/contests/new")
    page.locator("[data-copy='micro-video']").click()
    copy = page.locator("#copy-form")
    expect(copy.get_by_label("届次名称")).to_have_value("2027")
    expect(copy.get_by_label("地址（slug）")).to_have_value("micro-video-2027")
    expect(copy.get_by_label("作品编号前缀")).to_have_value("MV27")
    page.screenshot(path=str(screenshot_dir / "editions-copy.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/lang/en?next=/organizer/contests/micro-video/copy")
    page.screenshot(path=str(screenshot_dir / "editions-copy-phone-en.png"), full_page=True)
    page.goto(f"{base}/lang/zh_CN?next=/organizer/contests/micro-video/copy")
    page.set_viewport_size({"width": 1280, "height": 800})
    # The prefix of the 2026 edition is refused, in Chinese, and nothing is made.
    copy.get_by_label("作品编号前缀").fill("MV")
    copy.get_by_role("button", name="创建新一届").click()
    expect(page.get_by_text("代码前缀 MV 已被“网络安全微视频评选”（2026）使用")).to_be_visible()
    page.goto(f"{base}/organizer/contests/micro-video/copy")
    page.locator("#copy-form").get_by_role("button", name="创建新一届").click()
    expect(page.get_by_text("新一届已创建，处于筹备阶段")).to_be_visible()
    expect(page.locator("[data-edition]")).to_contain_text("MV27-001")
    page.screenshot(path=str(screenshot_dir / "editions-organiser-contest.png"), full_page=True)
    page.get_by_role("button", name="开放报送").click()
    expect(page.get_by_text("征集中").first).to_be_visible()
    page.goto(f"{base}/organizer/contests/micro-video")
    page.get_by_role("button", name="开放报送").click()
    page.get_by_role("button", name="退出").click()

    # The public sees the series with its two editions, the newest first.
    page.goto(f"{base}/")
    series = page.locator("[data-series='micro-video'] [data-contest]")
    expect(series).to_have_count(2)
    expect(series.first).to_have_attribute("data-contest", "micro-video-2027")
    page.screenshot(path=str(screenshot_dir / "editions-public-zh.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(screenshot_dir / "editions-public-phone-zh.png"), full_page=True)
    page.goto(f"{base}/lang/en?next=/")
    expect(page.get_by_text("2 editions")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "editions-public-phone-en.png"), full_page=True)
    page.goto(f"{base}/lang/zh_CN?next=/")
    page.set_viewport_size({"width": 1280, "height": 800})

    # Entrants: codes of each edition's own, numbered from 001.
    _log_in(page, base, "entrant")
    _new_entry(page, base, "micro-video", "旧一届作品", "网络安全为人民")
    expect(page.locator("h1 code")).to_have_text("MV-001")
    _new_entry(page, base, "micro-video-2027", "守护身边的网络安全", "网络安全靠人民")
    expect(page.locator("h1 code")).to_have_text("MV27-001")
    _new_entry(page, base, "poster-2027", "反诈海报", "反诈")
    expect(page.locator("h1 code")).to_have_text("PO27-001")
    poster = tmp_path / "海报.jpg"
    poster.write_bytes(jpeg_with_exif((600, 900)))
    page.get_by_label("文件").set_input_files(str(poster))
    page.get_by_role("button", name="上传", exact=True).click()
    expect(page.locator(".upload-status")).to_have_text("文件 海报.jpg 已上传。", timeout=30_000)
    expect(page.locator("#entry-files").get_by_role("cell", name="海报.jpg")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "editions-poster-entry.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(screenshot_dir / "editions-poster-entry-phone-zh.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.get_by_role("button", name="退出").click()

    # The organiser archives the poster contest: gone from the public, listed under "archived".
    _log_in(page, base, "organizer")
    page.goto(f"{base}/organizer/contests/poster-2027")
    page.get_by_role("button", name="归档此评选").click()
    expect(page.get_by_text("评选已归档：公众和参赛单位看不到，且只读。")).to_be_visible()
    expect(page.locator("[data-archived]")).to_be_visible()
    page.goto(f"{base}/organizer/")
    expect(page.locator("#archived-contests [data-contest='poster-2027']")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "editions-dashboard-archived.png"), full_page=True)
    page.goto(f"{base}/")
    expect(page.locator("[data-contest='poster-2027']")).to_have_count(0)
