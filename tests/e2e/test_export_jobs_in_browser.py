"""Background jobs in a browser (issue 18): the organiser's results workbook waits for a worker on its job
page; a reader who opens the award list PDF before the worker made it is told it is being prepared. Both
in Chinese and English, at desktop and phone width (screenshots in build/screenshots/)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from judging.extensions import db
from judging.models import Contest, Role, User, utcnow
from judging.services import publication
from tests.conftest import PASSWORD, create_user
from tests.e2e.conftest import configured_app, served
from tests.scenarios import recuse_expert5, seed_review_contest

pytestmark = pytest.mark.e2e

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def queued_server(tmp_path: Path, short_video: Path, job_queue_url: str) -> Iterator[str]:
    """The micro-video contest judged and its result published, jobs going to a queue no worker serves."""
    app = configured_app(tmp_path, JOB_QUEUE_URL=job_queue_url)
    with app.app_context():
        create_user("organizer", Role.ORGANIZER, "市委网信办")
        create_user("entrant-a", Role.ENTRANT, "浦东新区")
        create_user("entrant-b", Role.ENTRANT, "黄浦区")
        seed_review_contest(app, short_video)
        recuse_expert5()
        organizer = db.session.scalar(select(User).where(User.username == "organizer"))
        contest = db.session.scalar(select(Contest).where(Contest.slug == "micro-video"))
        snapshot = publication.freeze(db.session, organizer, contest, 5)
        snapshot.publicity_ends_at = utcnow()
        db.session.commit()
        publication.publish(db.session, organizer, snapshot)
        db.session.commit()
    with served(app) as base:
        yield base


def test_a_queued_export_and_a_pdf_being_made_read_well(page: Page, queued_server: str, screenshot_dir: Path) -> None:
    base = queued_server
    for size, viewport in SIZES.items():  # the reader, before the worker made the PDF
        page.set_viewport_size(viewport)
        for language, text in (("zh_CN", "正在准备"), ("en", "is being prepared")):
            page.goto(f"{base}/lang/{language}")
            answer = page.goto(f"{base}/results/micro-video/1/award-list.pdf")
            assert answer is not None and answer.status == 503
            expect(page.locator("#being-made")).to_contain_text(text)
            page.screenshot(path=str(screenshot_dir / f"award-list-pdf-being-made-{language}-{size}.png"))

    page.goto(f"{base}/lang/zh_CN")
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill("organizer")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto(f"{base}/organizer/contests/micro-video/results")
    page.locator("#download-xlsx").click()
    expect(page.locator("#job")).to_have_attribute("data-status", "queued")
    expect(page.locator("#job")).to_contain_text("等待")
    expect(page.get_by_role("link", name="返回评审结果")).to_be_visible()
    job_url = page.url
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        for language, text in (("zh_CN", "等待"), ("en", "Waiting for a worker")):
            page.goto(f"{base}/lang/{language}")
            page.goto(job_url)
            expect(page.locator("#job")).to_contain_text(text)
            progress = page.locator(".progress")
            assert progress.bounding_box()["width"] <= viewport["width"]  # type: ignore[index]
            page.screenshot(path=str(screenshot_dir / f"export-job-queued-{language}-{size}.png"))
