"""In Chromium, after publication: the entrant opens its entry and sees its award, downloads its certificate
and reads the judges' anonymised scores and comments; an objector looks up the organisers' answer.
Screenshots in Chinese and English, desktop (1280) and phone (390 × 844)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from judging.extensions import db
from judging.models import Contest, Entry, ResultSnapshot, Role, User, utcnow
from judging.services import objections, publication
from tests.conftest import PASSWORD, create_user
from tests.e2e.conftest import configured_app, served
from tests.scenarios import recuse_expert5, seed_review_contest, show_feedback

pytestmark = pytest.mark.e2e

COMMENTS = {("B", "expert1"): "镜头语言流畅，主题鲜明。", ("B", "expert3"): "“沪宝”出场稍晚，建议前置。"}
CONTACT = "13800000000"


@pytest.fixture
def published_server(tmp_path: Path, short_video: Path) -> Iterator[tuple[str, dict[str, object]]]:
    """The micro-video contest (scores and comments shown to entrants) published, after one objection
    was answered; yields the base URL, B's entry id and the objection's reference."""
    app: Flask = configured_app(tmp_path)
    with app.app_context():
        organizer = create_user("organizer", Role.ORGANIZER, "市委网信办")
        create_user("entrant-a", Role.ENTRANT, "浦东新区")
        create_user("entrant-b", Role.ENTRANT, "黄浦区")
        show_feedback("scores_and_comments")
        codes = seed_review_contest(app, short_video, comments=COMMENTS)
        recuse_expert5()
        contest = db.session.scalar(select(Contest).where(Contest.slug == "micro-video"))
        organizer = db.session.scalar(select(User).where(User.username == "organizer"))
        snapshot = publication.freeze(db.session, organizer, contest)
        objection = objections.file_objection(
            db.session,
            snapshot,
            name="张三",
            contact=CONTACT,
            subject=codes["B"],
            reason="我认为该作品的素材未获授权，请核实。",
        )
        objections.answer_objection(
            db.session, organizer, objection, uphold=False, answer="经核实，素材已获授权，维持原结果。"
        )
        db.session.flush()
        snapshot.publicity_ends_at = utcnow() - timedelta(minutes=1)
        publication.publish(db.session, organizer, snapshot)
        db.session.commit()
        facts: dict[str, object] = {
            "entry": db.session.scalar(select(Entry.id).where(Entry.code == codes["B"])),
            "reference": objection.reference,
        }
        assert db.session.scalar(select(ResultSnapshot.status)).value == "published"
    with served(app) as base:
        yield base, facts


def _log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def _fits(page: Page, selector: str) -> None:
    """Nothing in ``selector`` reaches past the viewport's right edge (tables scroll inside their frame)."""
    wide = page.evaluate(
        """(selector) => [...document.querySelectorAll(selector + ', ' + selector + ' *')]
            .filter(e => !e.closest('.table-responsive') || e.classList.contains('table-responsive'))
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .map(e => e.tagName + '.' + e.className)""",
        selector,
    )
    assert wide == []


def test_entrant_sees_award_certificate_and_anonymised_feedback(
    page: Page, published_server: tuple[str, dict[str, object]], screenshot_dir: Path
) -> None:
    base, facts = published_server
    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, base, "entrant-b")
    page.goto(f"{base}/entrant/entries/{facts['entry']}")
    result = page.locator("#entry-result")
    expect(result.locator("#entry-award")).to_have_text("一等奖")
    expect(result.locator("#entry-rank")).to_have_text("第 1 名（共 4 个作品排名）")
    expect(result.locator("#entry-final-score")).to_have_text("84.50")
    expect(page.locator("#feedback-table tbody tr")).to_have_count(4)
    expect(page.locator("#feedback-table tbody th").first).to_have_text("评审专家 A")
    expect(page.locator("#feedback-comments")).to_contain_text("镜头语言流畅，主题鲜明。")
    assert "expert" not in page.content().lower()
    page.screenshot(path=str(screenshot_dir / "entrant-outcome-zh.png"), full_page=True)

    with page.expect_download() as download_info:
        page.locator("#certificate-link").click()
    download = download_info.value
    assert download.suggested_filename == "MV-2026-0001.pdf"
    assert Path(download.path()).read_bytes().startswith(b"%PDF")

    page.locator("#award-list-link").click()
    expect(page.locator("#snapshot-status")).to_have_text("已发布")

    page.goto(f"{base}/entrant/entries/{facts['entry']}")
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#feedback-table")).to_be_visible()
    _fits(page, "#entry-result")
    page.screenshot(path=str(screenshot_dir / "entrant-outcome-phone-zh.png"), full_page=True)

    page.goto(f"{base}/lang/en?next=/entrant/entries/{facts['entry']}")  # the phone's menu is folded
    expect(page.locator("#entry-rank")).to_have_text("Rank 1 of 4 ranked entries")
    expect(page.locator("#feedback-table tbody th").first).to_have_text("Judge A")
    _fits(page, "#entry-result")
    page.screenshot(path=str(screenshot_dir / "entrant-outcome-phone-en.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(screenshot_dir / "entrant-outcome-en.png"), full_page=True)


def test_objector_looks_up_the_answer(
    page: Page, published_server: tuple[str, dict[str, object]], screenshot_dir: Path
) -> None:
    base, facts = published_server
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base}/objections/track?reference={facts['reference']}")
    expect(page.get_by_label("受理编号")).to_have_value(str(facts["reference"]))
    page.get_by_label("提交异议时填写的电话或电子邮箱").fill("139 0000 0000")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#track-result")).to_contain_text("没有与该受理编号和联系方式相符的异议")
    page.get_by_label("提交异议时填写的电话或电子邮箱").fill("138 0000 0000")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#track-status")).to_have_text("不予支持")
    expect(page.locator("#track-answer")).to_have_text("经核实，素材已获授权，维持原结果。")
    page.screenshot(path=str(screenshot_dir / "objection-track-zh.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    _fits(page, "main")
    page.screenshot(path=str(screenshot_dir / "objection-track-phone-zh.png"), full_page=True)
    page.goto(f"{base}/lang/en?next=/objections/track")
    page.get_by_label("Reference number").fill(str(facts["reference"]))
    page.get_by_label("Telephone or e-mail given with the objection").fill(CONTACT)
    page.get_by_role("button", name="Show the objection").click()
    expect(page.locator("#track-status")).to_have_text("Rejected")
    _fits(page, "main")
    page.screenshot(path=str(screenshot_dir / "objection-track-phone-en.png"), full_page=True)
