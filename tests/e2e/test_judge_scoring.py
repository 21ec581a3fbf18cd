"""A judge at a browser: opens an assigned entry, watches part of the video, scores it, saves a draft,
submits, and sees the progress bar move."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from judging.extensions import db
from judging.models import Contest, Phase, User
from judging.services import contests, panel
from tests.conftest import PASSWORD, make_test_app, submitted_video_entry

pytestmark = pytest.mark.e2e


def _assigned_entry(tmp_path: Path, video: Path) -> None:
    """In the live server's database: a submitted video, the contest in review, the judge assigned."""
    app = make_test_app(f"sqlite:///{tmp_path / 'e2e.sqlite3'}", tmp_path, SERVER_NAME=None)
    with app.app_context():
        submitted_video_entry(app, "entrant", video, "浦东新区的反诈短片")
        contest = db.session.scalar(db.select(Contest).where(Contest.slug == "micro-video"))
        organizer = db.session.scalar(db.select(User).where(User.username == "organizer"))
        judge = db.session.scalar(db.select(User).where(User.username == "judge"))
        contests.change_phase(db.session, organizer, contest, Phase.REVIEW)
        panel.add_to_panel(db.session, organizer, contest, judge)
        panel.assign_judges(db.session, organizer, contest)
        db.session.commit()
        db.engine.dispose()


def test_judge_watches_scores_saves_a_draft_and_submits(
    page: Page, live_server: str, tmp_path: Path, short_video: Path, screenshot_dir: Path
) -> None:
    _assigned_entry(tmp_path, short_video)
    page.goto(f"{live_server}/login")
    page.get_by_label("用户名").fill("judge")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    bar = page.locator("section[data-contest=micro-video] .progress")
    expect(bar).to_have_attribute("aria-valuenow", "0")

    page.get_by_role("link", name=re.compile("MV-001")).click()
    expect(page).to_have_url(f"{live_server}/judge/entries/MV-001")
    expect(page.get_by_text("浦东新区")).to_have_count(0)  # blind: the organisation is masked
    video = page.locator("video.entry-video")
    expect(video).to_be_visible()
    # Seek into the video and let it play: the player reports time updates past the seek point.
    position = page.evaluate(
        """() => new Promise((resolve, reject) => {
            const v = document.querySelector('video.entry-video');
            v.muted = true;
            const timer = setTimeout(() => reject(new Error('no timeupdate')), 15000);
            v.addEventListener('seeked', () => {
                v.addEventListener('timeupdate', () => { clearTimeout(timer); v.pause(); resolve(v.currentTime); },
                                   {once: true});
                v.play().catch(() => {});
            }, {once: true});
            const start = () => { v.currentTime = 2; };
            if (v.readyState >= 1) { start(); } else { v.addEventListener('loadedmetadata', start, {once: true}); }
        })"""
    )
    assert position >= 2

    page.get_by_label(re.compile("^内容")).fill("34.5")
    page.get_by_role("button", name="保存草稿").click()
    expect(page.get_by_text("草稿已保存。")).to_be_visible()
    expect(page.get_by_label(re.compile("^内容"))).to_have_value("34.5")
    page.screenshot(path=str(screenshot_dir / "judge-entry-draft.png"), full_page=True)

    page.get_by_label(re.compile("^形式")).fill("26")
    page.get_by_label(re.compile("^影响力")).fill("21.5")
    for fieldset in page.locator("#score-sheet fieldset fieldset").all():
        fieldset.get_by_label("是").check()
    page.get_by_label("评语").fill("主题鲜明，节奏紧凑。")
    expect(page.locator("[data-total]")).to_have_text("82")
    page.get_by_role("button", name="提交评分").click()

    expect(page).to_have_url(f"{live_server}/judge/")
    expect(page.get_by_text("MV-001 的评分表已提交。")).to_be_visible()
    expect(bar).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("[data-bucket=done]")).to_contain_text("MV-001")
    page.screenshot(path=str(screenshot_dir / "judge-dashboard-done.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/judge/entries/MV-001")
    expect(page.get_by_label(re.compile("^影响力"))).to_have_value("21.5")
    page.screenshot(path=str(screenshot_dir / "judge-entry-phone.png"), full_page=True)


def test_organiser_sees_the_progress_matrix(
    page: Page, live_server: str, tmp_path: Path, short_video: Path, screenshot_dir: Path
) -> None:
    _assigned_entry(tmp_path, short_video)
    page.goto(f"{live_server}/login")
    page.get_by_label("用户名").fill("organizer")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto(f"{live_server}/organizer/contests/micro-video")
    page.get_by_role("link", name="评审：评审组、分配与进度").click()
    expect(page.locator("#matrix td[data-state=todo]")).to_have_count(1)
    expect(page.locator("#behind")).to_contain_text("没有评审专家落后")
    page.screenshot(path=str(screenshot_dir / "organizer-judging.png"), full_page=True)
