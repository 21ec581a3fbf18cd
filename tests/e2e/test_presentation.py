"""The opening ceremony in a browser: the organiser opens the run sheet and the presentation, and
steps through the slides with the keys a keyboard or a presentation clicker sends."""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from judging.extensions import db
from judging.models import Contest, Role, User
from judging.services import publication
from tests.conftest import PASSWORD, create_user
from tests.e2e.conftest import configured_app, served
from tests.scenarios import recuse_expert5, seed_review_contest, seed_skills_contest

pytestmark = pytest.mark.e2e

# Slides of the opening programme (see tests/integration/test_ceremonies.py): 1 the ceremony; 2 ISG,
# 3 its collectives, 4–5 the two collectives, 6 its individual awards, 7–11 five winners; 12 the
# micro-video contest, 13–16 its four awards (B 一等奖, A, C, D 二等奖).
FIRST_VIDEO_SLIDE = 13
LAST_SLIDE = 16


@pytest.fixture
def ceremony_server(tmp_path: Path, short_video: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """The app with the micro-video contest and the ISG competition frozen, on public notice."""
    app = configured_app(tmp_path)
    with app.app_context():
        create_user("organizer", Role.ORGANIZER, "市委网信办")
        create_user("entrant-a", Role.ENTRANT, "浦东新区")
        create_user("entrant-b", Role.ENTRANT, "黄浦区")
        codes = seed_review_contest(app, short_video)
        recuse_expert5()
        organizer = db.session.scalar(db.select(User).where(User.username == "organizer"))
        publication.freeze(db.session, organizer, seed_skills_contest(tmp_path))
        publication.freeze(
            db.session, organizer, db.session.scalar(db.select(Contest).where(Contest.slug == "micro-video"))
        )
        db.session.commit()
    with served(app) as base:
        yield base, codes


def _expect_slide(page: Page, number: int) -> None:
    expect(page.locator(".slide.current")).to_have_attribute("data-slide", str(number))
    expect(page.locator(".slide:visible")).to_have_count(1)
    assert page.evaluate("window.location.hash") == f"#{number}"


def _expect_award(page: Page, award: str, title: str, organisation: str) -> None:
    current = page.locator(".slide.current")
    expect(current.locator(".award-name")).to_have_text(award)
    expect(current.locator(".work-title")).to_have_text(f"《{title}》")
    expect(current.locator(".holder-organisation")).to_have_text(organisation)


def test_organiser_presents_the_opening_ceremony_with_keys_and_clicks(
    page: Page, ceremony_server: tuple[str, dict[str, str]], screenshot_dir: Path
) -> None:
    base, _codes = ceremony_server
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.resource_type))
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill("organizer")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()

    page.locator("#ceremonies-link").click()
    page.locator('tr[data-ceremony="opening"] a').first.click()
    expect(page.locator(".programme-item")).to_have_count(11)
    expect(page.locator("#on-notice-warning")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "ceremony-run-sheet.png"), full_page=True)
    page.emulate_media(media="print")
    expect(page.locator("nav.navbar")).to_be_hidden()
    expect(page.locator("#programme-options")).to_be_hidden()
    page.screenshot(path=str(screenshot_dir / "ceremony-run-sheet-print.png"), full_page=True)
    printed = page.pdf(format="A4")
    (screenshot_dir / "ceremony-run-sheet.pdf").write_bytes(printed)
    # NFKC: the PDF's text maps some glyphs to Kangxi radicals (⼀ for 一); spaces fall between glyphs.
    sheets = [
        re.sub(r"\s+", "", unicodedata.normalize("NFKC", sheet.extract_text()))
        for sheet in PdfReader(io.BytesIO(printed)).pages
    ]
    assert len(sheets) == 2  # a page break between the contests
    assert "王一" in sheets[0] and "测试企业甲" in sheets[0] and "作品B" not in sheets[0]
    assert "作品B" in sheets[1] and "王一" not in sheets[1]
    page.emulate_media(media="screen")

    page.locator("#presentation-link").click()
    expect(page).to_have_url(re.compile(r"/organizer/ceremonies/opening/present\?edition=2026&order=rubric#1$"))
    _expect_slide(page, 1)
    expect(page.locator(".slide.current h1")).to_have_text("开幕式")
    page.keyboard.press("ArrowRight")
    _expect_slide(page, 2)
    expect(page.locator(".slide.current h2")).to_have_text("ISG“观安杯”网络安全技能竞赛")

    # Straight to the micro-video awards by the hash, as after a reload.
    page.goto(page.url.split("#")[0] + f"#{FIRST_VIDEO_SLIDE}")
    _expect_slide(page, FIRST_VIDEO_SLIDE)
    _expect_award(page, "一等奖", "作品B", "黄浦区")
    thumbnail = page.locator(".slide.current img.award-picture")
    expect(thumbnail).to_be_visible()
    assert thumbnail.evaluate("img => img.complete && img.naturalWidth > 0")
    page.screenshot(path=str(screenshot_dir / "ceremony-slide.png"))

    page.keyboard.press("ArrowRight")
    _expect_slide(page, FIRST_VIDEO_SLIDE + 1)
    _expect_award(page, "二等奖", "作品A", "浦东新区")
    page.keyboard.press("PageDown")  # a clicker's "next"
    _expect_slide(page, FIRST_VIDEO_SLIDE + 2)
    _expect_award(page, "二等奖", "作品C", "徐汇区")
    page.keyboard.press("ArrowLeft")
    _expect_slide(page, FIRST_VIDEO_SLIDE + 1)
    _expect_award(page, "二等奖", "作品A", "浦东新区")
    page.keyboard.press("PageUp")  # a clicker's "back"
    _expect_slide(page, FIRST_VIDEO_SLIDE)

    page.reload()
    _expect_slide(page, FIRST_VIDEO_SLIDE)
    page.keyboard.press("End")
    _expect_slide(page, LAST_SLIDE)
    _expect_award(page, "二等奖", "作品D", "闵行区")
    page.keyboard.press("Space")  # past the end: stays on the last slide
    _expect_slide(page, LAST_SLIDE)
    page.mouse.click(100, 360)  # the left half goes back
    _expect_slide(page, LAST_SLIDE - 1)
    page.mouse.click(1180, 360)  # the right half advances
    _expect_slide(page, LAST_SLIDE)
    page.keyboard.press("Home")
    _expect_slide(page, 1)

    # A collective and a contestant: the award, the holder in large type, the organisation.
    page.goto(page.url.split("#")[0] + "#4")
    expect(page.locator(".slide.current .award-name")).to_have_text("优秀集体")
    expect(page.locator(".slide.current .holder-name")).to_have_text("测试企业甲")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    _expect_slide(page, 7)
    expect(page.locator(".slide.current .award-name")).to_have_text("一等奖")
    expect(page.locator(".slide.current .holder-name")).to_have_text("王一")
    expect(page.locator(".slide.current .notice-tag")).to_have_text("公示中")
    page.screenshot(path=str(screenshot_dir / "ceremony-slide-contestant.png"))

    assert "fetch" not in fetched and "xhr" not in fetched  # the presentation works offline
