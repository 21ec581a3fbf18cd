"""An entrant at a browser: creates a draft, uploads a generated video with the progress bar, sees the
thumbnail, ticks the declarations and submits."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from judging.media import generate_test_video
from tests.conftest import PASSWORD

pytestmark = pytest.mark.e2e


def _log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def _open_micro_video_contest(page: Page, base: str) -> None:
    _log_in(page, base, "organizer")
    page.goto(f"{base}/organizer/contests/micro-video")
    page.get_by_role("button", name="开放报送").click()
    expect(page.get_by_text("征集中").first).to_be_visible()
    page.get_by_role("button", name="退出").click()


def test_entrant_uploads_a_video_sees_progress_and_thumbnail_and_submits(
    page: Page, live_server: str, screenshot_dir: Path, tmp_path: Path
) -> None:
    video = tmp_path / "网络安全微视频.mp4"
    generate_test_video(video, 8, size="640x360", rate=25)
    _open_micro_video_contest(page, live_server)

    _log_in(page, live_server, "entrant")
    page.get_by_role("link", name="新建作品").click()
    page.get_by_label("标题").fill("守护身边的网络安全")
    page.get_by_label("作品主题").fill("网络安全为人民")
    page.get_by_label("播放量").fill("12000")
    page.get_by_role("button", name="保存草稿").click()
    expect(page.get_by_role("heading", name="守护身边的网络安全")).to_be_visible()

    page.get_by_label("文件").set_input_files(str(video))
    page.get_by_role("button", name="上传", exact=True).click()
    bar = page.locator(".upload-form .progress")
    expect(bar).to_be_visible()
    expect(bar).to_have_attribute("aria-valuenow", "100")
    expect(page.locator(".upload-status")).to_have_text("文件 网络安全微视频.mp4 已上传。", timeout=30_000)
    thumbnail = page.locator("img.upload-thumbnail")
    expect(thumbnail).to_be_visible()
    assert thumbnail.evaluate("image => image.naturalWidth") == 320  # the real JPEG frame, scaled to 320 px
    # The file list updates in place: the stored file is listed without reloading the page.
    expect(page.locator("#entry-files").get_by_role("cell", name="网络安全微视频.mp4")).to_be_visible()
    expect(page.locator("#no-files")).to_have_count(0)
    page.screenshot(path=str(screenshot_dir / "entrant-upload.png"), full_page=True)

    page.reload()
    expect(page.get_by_role("cell", name="网络安全微视频.mp4")).to_be_visible()
    page.get_by_label("作品包含宣传周IP“玉兰”“沪宝”角色元素").check()
    page.get_by_label("作品为本单位原创，不侵犯他人著作权、肖像权等合法权益").check()
    page.get_by_role("button", name="提交作品").click()
    expect(page.get_by_text("作品已提交。")).to_be_visible()
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "submitted")
    page.screenshot(path=str(screenshot_dir / "entrant-submitted.png"), full_page=True)
    page.get_by_role("button", name="退出").click()

    # The organiser sees the entry with its file details and disqualifies it with a reason.
    _log_in(page, live_server, "organizer")
    page.goto(f"{live_server}/organizer/contests/micro-video/entries")
    row = page.locator("tr[data-entry='MV-001']")
    expect(row).to_contain_text("网络安全微视频.mp4")
    expect(row).to_contain_text("8.00 秒")
    page.screenshot(path=str(screenshot_dir / "organizer-entries.png"), full_page=True)
    row.get_by_label("理由").fill("未见“玉兰”“沪宝”角色")
    row.get_by_role("button", name="取消资格").click()
    expect(page.get_by_text("MV-001 的状态已变更。")).to_be_visible()
    expect(page.locator("tr[data-entry='MV-001']")).to_contain_text("未见“玉兰”“沪宝”角色")
