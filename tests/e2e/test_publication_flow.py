"""In Chromium: the organiser freezes the results, the public sees the notice and objects, the organiser
answers and publishes; the public opens the final award list, the winners' gallery and a certificate check."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from judging.extensions import db
from judging.models import Assignment, Certificate, ResultSnapshot, Role, User, utcnow
from judging.services import panel
from tests.conftest import PASSWORD, create_user
from tests.e2e.conftest import configured_app, served
from tests.scenarios import seed_review_contest

pytestmark = pytest.mark.e2e


@pytest.fixture
def review_server(tmp_path: Path, short_video: Path) -> Iterator[tuple[str, Flask, dict[str, str]]]:
    """The micro-video contest in review with test_results.py's sheets; expert5 (a draft) has recused."""
    app = configured_app(tmp_path)
    with app.app_context():
        create_user("organizer", Role.ORGANIZER, "市委网信办")
        create_user("entrant-a", Role.ENTRANT, "浦东新区")
        create_user("entrant-b", Role.ENTRANT, "黄浦区")
        codes = seed_review_contest(app, short_video)
        expert5 = db.session.scalar(select(User).where(User.username == "expert5"))
        for assignment in db.session.scalars(select(Assignment).where(Assignment.judge_id == expert5.id)):
            panel.declare_conflict(db.session, expert5, assignment, "同单位")
        db.session.commit()
    with served(app) as base:
        yield base, app, codes


def test_freeze_object_answer_publish_and_verify(
    page: Page, review_server: tuple[str, Flask, dict[str, str]], screenshot_dir: Path
) -> None:
    base, app, codes = review_server
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill("organizer")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto(f"{base}/organizer/contests/micro-video")
    page.locator("#publication-link").click()
    page.get_by_label("公示期（天）").fill("5")
    page.get_by_role("button", name="冻结结果并开始公示").click()
    expect(page.get_by_text("结果已冻结并开始公示。")).to_be_visible()
    expect(page.get_by_role("heading", name="公示中：第 1 号")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "publication-desk-frozen.png"), full_page=True)

    # The public, in another browser context: the notice, then an objection.
    visitor = page.context.browser.new_page()
    visitor.goto(f"{base}/results")
    visitor.get_by_role("link", name="网络安全微视频评选").click()
    expect(visitor.locator("#snapshot-status")).to_have_text("公示中")
    expect(visitor.locator("table.award-table tbody tr")).to_have_count(4)
    expect(visitor.locator("table.award-table tbody tr").first).to_contain_text("作品B")
    visitor.screenshot(path=str(screenshot_dir / "public-notice.png"), full_page=True)
    visitor.get_by_role("link", name="提出异议").click()
    visitor.get_by_label("姓名或单位名称").fill("张三")
    visitor.get_by_label("电话或电子邮箱").fill("13800000000")
    visitor.get_by_label("涉及的获奖项目").select_option(codes["A"])
    visitor.get_by_label("理由及证据").fill("我认为该作品的影响力得分偏高，请复核。")
    visitor.get_by_role("button", name="提交异议").click()
    reference = visitor.locator("#objection-reference").inner_text()
    assert reference.startswith("MV-")

    # The organiser answers; after the notice period, publishes.
    page.reload()
    objection = page.locator(f"#objection-{reference}")
    objection.get_by_label("不予支持：维持结果").check()
    objection.get_by_label("答复（存档备查）").fill("经复核，评分符合细则。")
    objection.get_by_role("button", name="记录答复").click()
    expect(page.get_by_text("答复已记录。")).to_be_visible()
    with app.app_context():
        snapshot = db.session.scalar(select(ResultSnapshot))
        snapshot.publicity_ends_at = utcnow() - timedelta(minutes=1)  # as if five days had passed
        db.session.commit()
    page.reload()
    page.get_by_role("button", name="发布正式名单").click()
    # The confirmation page says what publishing does before anything happens.
    expect(page.locator("[data-confirm-title]")).to_contain_text("确定发布")
    expect(page.locator("[data-consequences]")).to_contain_text("张证书")
    page.screenshot(path=str(screenshot_dir / "publication-confirm.png"), full_page=True)
    page.get_by_role("button", name="发布", exact=True).click()
    expect(page.get_by_text("结果已发布，证书已颁发。")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "publication-desk-published.png"), full_page=True)

    visitor.goto(f"{base}/results/micro-video")
    expect(visitor.locator("#snapshot-status")).to_have_text("已发布")
    expect(visitor.get_by_text("正式获奖名单")).to_be_visible()
    visitor.screenshot(path=str(screenshot_dir / "public-award-list.png"), full_page=True)
    visitor.get_by_role("link", name="获奖作品展示").first.click()
    expect(visitor.locator("article.gallery-card")).to_have_count(4)
    video = visitor.locator("article.gallery-card video").first
    expect(video).to_be_visible()
    visitor.wait_for_function("document.querySelector('article.gallery-card video').readyState >= 0")
    visitor.screenshot(path=str(screenshot_dir / "public-gallery.png"), full_page=True)

    with app.app_context():
        code = db.session.scalar(select(Certificate.code).order_by(Certificate.id).limit(1))
    visitor.goto(f"{base}/verify")
    visitor.get_by_label("验证码").fill(code.lower())
    visitor.get_by_role("button", name="查验").click()
    expect(visitor.locator("#verify-result")).to_contain_text("证书真实有效")
    expect(visitor.locator("#verify-award")).to_have_text("一等奖")
    visitor.screenshot(path=str(screenshot_dir / "public-verify.png"), full_page=True)
    visitor.goto(f"{base}/verify/ZZZZ-ZZZZ-ZZZZ")
    expect(visitor.locator("#verify-result")).to_contain_text("没有证书使用这个编号或验证码")

    # The opening ceremony's presentation now reads the published list: the first prize after the titles.
    page.goto(f"{base}/organizer/ceremonies/opening/present")
    expect(page.locator(".slide.current h1")).to_have_text("开幕式")
    for _ in range(10):
        if page.locator(".slide.current .award-name").count():
            break
        page.keyboard.press("ArrowRight")
    current = page.locator(".slide.current")
    expect(current.locator(".award-name")).to_have_text("一等奖")
    expect(current.locator(".work-title")).to_have_text("《作品B》")
    expect(current.locator(".holder-organisation")).to_have_text("黄浦区")
    expect(page.get_by_text("公示中")).to_have_count(0)  # published: no on-notice tag
    page.screenshot(path=str(screenshot_dir / "presentation-published.png"))
    page.keyboard.press("PageDown")
    expect(page.locator(".slide.current .work-title")).to_have_text("《作品A》")
