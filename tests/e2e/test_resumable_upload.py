"""Resumable uploads in Chromium, on local disk and on SeaweedFS (parts presigned, straight to the store):
the network drops part requests mid-way and the upload resumes; a reload continues the same upload; the
browser refuses early what the contest would refuse; replacing the work asks first."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, Route, expect

from judging.extensions import db
from judging.media import generate_test_video
from judging.models import AuditEvent, EntryFile, PartsUpload, Role
from tests.conftest import PASSWORD, create_user, storage_config
from tests.e2e.conftest import configured_app, served

pytestmark = pytest.mark.e2e
LOCAL_PART = 256 * 1024
S3_PART = 5 * 1024 * 1024


@pytest.fixture(params=["local", "s3"])
def upload_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Flask, str]]:
    storage = storage_config(request, request.param)
    part = LOCAL_PART if request.param == "local" else S3_PART
    app = configured_app(tmp_path, UPLOAD_PART_BYTES=part, **storage)
    with app.app_context():
        create_user("organizer", Role.ORGANIZER, "市委网信办")
        create_user("entrant", Role.ENTRANT, "浦东新区")
    with served(app) as base:
        yield app, base


@pytest.fixture
def video_of_three_parts(upload_server: tuple[Flask, str], tmp_path: Path) -> Path:
    app, _base = upload_server
    video = tmp_path / "分段上传.mp4"
    if app.config["STORAGE_BACKEND"] == "s3":
        generate_test_video(video, 14, pattern="testsrc2", size="1280x720", rate=25)
        assert 2 * S3_PART < video.stat().st_size < 3 * S3_PART
    else:
        generate_test_video(video, 6, pattern="testsrc2", size="640x360", rate=25)
        assert video.stat().st_size > 3 * LOCAL_PART
    return video


def _log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def _draft(page: Page, base: str) -> None:
    _log_in(page, base, "organizer")
    page.goto(f"{base}/organizer/contests/micro-video")
    page.get_by_role("button", name="开放报送").click()
    expect(page.get_by_text("征集中").first).to_be_visible()
    page.get_by_role("button", name="退出").click()
    _log_in(page, base, "entrant")
    page.get_by_role("link", name="新建作品").click()
    page.get_by_label("标题").fill("断点续传")
    page.get_by_label("作品主题").fill("网络安全为人民")
    page.get_by_label("播放量").fill("1")
    page.get_by_role("button", name="保存草稿").click()
    expect(page.get_by_role("heading", name="断点续传")).to_be_visible()


def _is_part(number: int):  # type: ignore[no-untyped-def]
    return lambda url: (
        f"/parts/{number}" in url or f"partNumber={number}&" in url or url.endswith(f"partNumber={number}")
    )


def test_the_network_drops_mid_way_and_the_upload_resumes_and_completes(  # type: ignore[no-untyped-def]
    page: Page, upload_server, video_of_three_parts: Path, screenshot_dir: Path
) -> None:
    app, base = upload_server
    _draft(page, base)
    dropped: list[str] = []

    def drop_twice(route: Route) -> None:
        if len(dropped) < 2:
            dropped.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(_is_part(2), drop_twice)
    page.get_by_label("文件").set_input_files(str(video_of_three_parts))
    page.get_by_role("button", name="上传", exact=True).click()
    expect(page.locator(".upload-status")).to_have_text("文件 分段上传.mp4 已上传。", timeout=60_000)
    assert len(dropped) == 2
    expect(page.locator("#entry-files").get_by_role("cell", name="分段上传.mp4")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / f"resumable-upload-{app.config['STORAGE_BACKEND']}.png"), full_page=True)
    with app.app_context():
        stored = db.session.scalar(db.select(EntryFile))
        assert stored.sha256 == hashlib.sha256(video_of_three_parts.read_bytes()).hexdigest()
        assert db.session.scalar(db.select(db.func.count(PartsUpload.id))) == 0


def test_a_reload_continues_the_same_upload(  # type: ignore[no-untyped-def]
    page: Page, upload_server, video_of_three_parts: Path
) -> None:
    app, base = upload_server
    _draft(page, base)
    third = _is_part(3)
    page.route(third, lambda route: route.abort("internetdisconnected"))  # the connection is gone
    page.get_by_label("文件").set_input_files(str(video_of_three_parts))
    page.get_by_role("button", name="上传", exact=True).click()
    expect(page.locator(".upload-status")).to_contain_text("连接中断", timeout=60_000)
    page.unroute(third)
    page.reload()  # the tab is reloaded; the same file is chosen again
    page.get_by_label("文件").set_input_files(str(video_of_three_parts))
    page.get_by_role("button", name="上传", exact=True).click()
    expect(page.locator(".upload-status")).to_have_text("文件 分段上传.mp4 已上传。", timeout=60_000)
    with app.app_context():
        stored = db.session.scalar(db.select(EntryFile))
        assert stored.sha256 == hashlib.sha256(video_of_three_parts.read_bytes()).hexdigest()
        begun = db.session.scalar(
            db.select(db.func.count(AuditEvent.id)).where(AuditEvent.action == "entry.upload_begin")
        )
        assert begun == 1  # continued, not started again


def test_the_browser_refuses_early_and_asks_before_replacing(  # type: ignore[no-untyped-def]
    page: Page, upload_server, tmp_path: Path, screenshot_dir: Path
) -> None:
    app, base = upload_server
    if app.config["STORAGE_BACKEND"] == "s3":
        pytest.skip("nothing is sent: the same on both storages")
    _draft(page, base)
    long_video = tmp_path / "太长.mp4"
    generate_test_video(long_video, 190, size="64x36", rate=1)
    page.get_by_label("文件").set_input_files(str(long_video))
    page.get_by_role("button", name="上传", exact=True).click()
    expect(page.locator(".upload-status")).to_contain_text("视频时长为 190")
    expect(page.locator(".upload-status")).to_contain_text("最长允许 180 秒。")
    entry_page = page.url
    for language, expected in (("zh_CN", "最长允许 180 秒。"), ("en", "at most 180 seconds are allowed.")):
        for width, height in ((1280, 900), (390, 844)):
            page.set_viewport_size({"width": width, "height": height})
            page.goto(f"{entry_page}?lang={language}")
            page.locator("input[type=file]").set_input_files(str(long_video))
            page.locator(".upload-form [type=submit]").click()
            expect(page.locator(".upload-status")).to_contain_text(expected)
            assert page.evaluate("document.scrollingElement.scrollWidth") <= width  # no horizontal scroll
            page.screenshot(path=str(screenshot_dir / f"upload-refused-{language}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(entry_page)
    text = tmp_path / "说明.txt"
    text.write_text("不是视频")
    page.get_by_label("文件").set_input_files(str(text))
    page.get_by_role("button", name="上传", exact=True).click()
    expect(page.locator(".upload-status")).to_contain_text("mp4, mov")

    short = tmp_path / "短片.mp4"
    generate_test_video(short, 3)
    page.get_by_label("文件").set_input_files(str(short))
    page.get_by_role("button", name="上传", exact=True).click()
    expect(page.locator(".upload-status")).to_have_text("文件 短片.mp4 已上传。", timeout=30_000)
    questions: list[str] = []

    def decline(dialog) -> None:  # type: ignore[no-untyped-def]
        questions.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", decline)
    page.get_by_label("文件").set_input_files(str(short))
    page.get_by_role("button", name="上传", exact=True).click()
    page.wait_for_timeout(500)
    assert questions and "短片.mp4" in questions[0]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(EntryFile.id))) == 1
        begun = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "entry.upload_begin")).all()
        # only the short video was declared: the refused ones never reached the server
        assert [event.data["name"] for event in begun] == ["短片.mp4"]


@pytest.fixture
def queued_server(request: pytest.FixtureRequest, tmp_path: Path, job_queue_url: str) -> Iterator[tuple[Flask, str]]:
    """SeaweedFS and a job queue: the completed upload is checked by a job, run here as the worker would."""
    storage = storage_config(request, "s3")
    app = configured_app(tmp_path, UPLOAD_PART_BYTES=S3_PART, JOB_QUEUE_URL=job_queue_url, **storage)
    with app.app_context():
        create_user("organizer", Role.ORGANIZER, "市委网信办")
        create_user("entrant", Role.ENTRANT, "浦东新区")
    with served(app) as base:
        yield app, base


def test_a_direct_upload_shows_verifying_then_ready(  # type: ignore[no-untyped-def]
    page: Page, queued_server, tmp_path: Path, screenshot_dir: Path
) -> None:
    from judging import worker
    from judging.models import BackgroundJob

    app, base = queued_server
    video = tmp_path / "后台校验.mp4"
    generate_test_video(video, 8, pattern="testsrc2", size="1280x720", rate=25)
    _draft(page, base)
    page.get_by_label("文件").set_input_files(str(video))
    page.get_by_role("button", name="上传", exact=True).click()
    expect(page.locator(".upload-status")).to_contain_text("文件 后台校验.mp4 已送达，正在校验……", timeout=60_000)
    expect(page.locator('#pending-files [data-state="verifying"]')).to_contain_text("校验中")
    entry_page = page.url
    shots = page.context.new_page()  # the same entry opened elsewhere meanwhile, in both languages and widths
    for language in ("zh_CN", "en"):
        for width, height in ((1280, 900), (390, 844)):
            shots.set_viewport_size({"width": width, "height": height})
            shots.goto(f"{entry_page}?lang={language}")
            expect(shots.locator('#pending-files [data-state="verifying"]')).to_be_visible()
            assert shots.evaluate("document.scrollingElement.scrollWidth") <= width
            shots.screenshot(path=str(screenshot_dir / f"upload-verifying-{language}-{width}.png"), full_page=True)
    shots.goto(f"{entry_page}?lang=zh_CN")
    with app.app_context():
        (job,) = db.session.scalars(db.select(BackgroundJob)).all()
        job_id = job.id
    with app.app_context():
        worker.perform(job_id)
    expect(page.locator(".upload-status")).to_have_text("文件 后台校验.mp4 已上传。", timeout=30_000)
    expect(page.locator("#entry-files").get_by_role("cell", name="后台校验.mp4")).to_be_visible()
    expect(page.locator("#pending-files")).to_have_count(0)
    expect(shots.locator("#entry-files").get_by_role("cell", name="后台校验.mp4")).to_be_visible(timeout=30_000)
    page.screenshot(path=str(screenshot_dir / "upload-verified.png"), full_page=True)
    with app.app_context():
        stored = db.session.scalar(db.select(EntryFile))
        assert stored is not None and stored.sha256 == hashlib.sha256(video.read_bytes()).hexdigest()
