"""At phone size (390 × 844), in Chinese and English, the pages entrants, judges and the public use never
scroll sideways and their primary buttons can be reached; a phone-size judge sees every refused value marked
beside its field; and a judge scores a whole sheet with the keyboard alone."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from judging.extensions import db
from judging.models import Contest
from judging.services import contests
from tests.conftest import PASSWORD, make_test_app
from tests.scenarios import live_entry_in_review

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
PUBLIC_PAGES = [
    "/",
    "/results",
    "/verify",
    "/contests/micro-video",
    "/contests/exemplary-cases",
    "/contests/isg-skills",
]
ROLE_PAGES = {
    "entrant": ["/entrant/", "/entrant/entries/1", "/account/password"],
    "judge": ["/judge/", "/judge/entries/MV-001", "/judge/relations"],
}


WIDER_THAN_THE_WINDOW = """() => Array.from(document.querySelectorAll("body *"))
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
    .slice(0, 8).map(e => e.tagName + "." + e.className + " " + Math.round(e.getBoundingClientRect().right))"""


def _log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("nav [data-role]")).not_to_have_attribute("data-role", "anonymous")


def _assert_fits_the_phone(page: Page, where: str) -> None:
    width, inner = page.evaluate("() => [document.scrollingElement.scrollWidth, window.innerWidth]")
    wide = page.evaluate(WIDER_THAN_THE_WINDOW) if width > inner else []
    assert width <= inner, f"{where} scrolls sideways: {width} px wide in a {inner} px window: {wide}"
    # Every primary button of the page can be brought into view and lies wholly inside the window's width.
    for button in page.locator("main .btn-primary:not([disabled])").all():
        if not button.is_visible():
            continue
        button.scroll_into_view_if_needed()
        box = button.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= inner, f"{where}: {button}"


@pytest.mark.parametrize("language", ["zh", "en"])
def test_pages_of_entrants_judges_and_the_public_fit_a_phone(
    page: Page, live_server: str, tmp_path: Path, short_video: Path, screenshot_dir: Path, language: str
) -> None:
    live_entry_in_review(tmp_path, short_video)
    page.set_viewport_size(PHONE)
    visits = [(None, path) for path in [*PUBLIC_PAGES, "/login"]]
    visits += [(user, path) for user, paths in ROLE_PAGES.items() for path in paths]
    current = None
    for user, path in visits:
        if user != current:
            page.context.clear_cookies()
            if user:
                _log_in(page, live_server, user)
            current = user
        if language == "en":
            page.goto(f"{live_server}/lang/en?next={path}")
        else:
            page.goto(f"{live_server}{path}")
        assert page.evaluate("() => document.documentElement.lang") == ("en" if language == "en" else "zh-CN")
        _assert_fits_the_phone(page, f"{language} {user or 'public'} {path}")
        name = re.sub(r"[^a-z0-9]+", "-", f"{user or 'public'}{path}").strip("-")
        page.screenshot(path=str(screenshot_dir / f"phone-{language}-{name}.png"), full_page=True)


def test_phone_size_judge_sees_every_refused_value_beside_its_field(
    page: Page, live_server: str, tmp_path: Path, short_video: Path, screenshot_dir: Path
) -> None:
    live_entry_in_review(tmp_path, short_video)
    page.set_viewport_size(PHONE)
    _log_in(page, live_server, "judge")
    page.goto(f"{live_server}/judge/entries/MV-001")
    page.get_by_label(re.compile("^内容")).fill("41")
    page.get_by_label(re.compile("^形式")).fill("25.3")
    page.get_by_label(re.compile("^影响力")).fill("31")
    page.get_by_role("button", name="提交评分").click()

    expect(page.locator("#sheet-problems")).to_contain_text("评分表有 5 处问题，未保存任何内容。")
    # Focus is on the first invalid field, which is in view: the judge need not scroll 3,900 px to find it.
    assert page.evaluate("() => document.activeElement.id") == "score_content"
    expect(page.locator("#score_content")).to_be_in_viewport()  # once the page has settled (the video's box)
    for field_id, message in {
        "score_content": "内容：分数须在 0 到 40 之间。",
        "score_form": "形式：分数须为 0.5 的整数倍。",
        "score_influence": "影响力：分数须在 0 到 30 之间。",
    }.items():
        field = page.locator(f"#{field_id}")
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(page.locator(f"#{field_id}-error")).to_have_text(message)
        expect(field).to_have_accessible_description(message)
    for check in ("check_ip_characters", "check_duration"):
        expect(page.locator(f"#{check}-error")).to_contain_text("请完成此项核查。")
    _assert_fits_the_phone(page, "refused sheet")
    page.screenshot(path=str(screenshot_dir / "phone-zh-judge-refused-sheet.png"), full_page=True)
    # A link of the summary takes the judge to its field.
    page.locator("#sheet-problems a[href='#score_influence']").click()
    assert page.evaluate("() => document.activeElement.id") == "score_influence"


def _tab_to(page: Page, element_id: str, limit: int = 60) -> None:
    for _ in range(limit):
        if page.evaluate("() => document.activeElement && document.activeElement.id") == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached #{element_id}")


def test_judge_scores_a_whole_sheet_with_the_keyboard_alone(
    page: Page, live_server: str, tmp_path: Path, short_video: Path, screenshot_dir: Path
) -> None:
    live_entry_in_review(tmp_path, short_video)
    _log_in(page, live_server, "judge")
    page.goto(f"{live_server}/judge/entries/MV-001")
    _tab_to(page, "score_content")
    page.keyboard.type("34.5")
    page.keyboard.press("Enter")  # moves on, never sends half a sheet
    assert page.evaluate("() => document.activeElement.id") == "score_form"
    assert page.url.endswith("/judge/entries/MV-001")
    expect(page.locator("[data-sheet-gaps]")).to_have_text(
        "还需填写：形式、影响力、作品包含“玉兰”“沪宝”角色元素、作品时长在3分钟以内。"
    )
    page.keyboard.type("26")
    page.keyboard.press("Tab")
    page.keyboard.type("21.5")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "check_ip_characters-0"
    page.keyboard.press("Space")  # 是
    page.keyboard.press("Tab")  # the next check (a radio group is one tab stop)
    assert page.evaluate("() => document.activeElement.id") == "check_duration-0"
    page.keyboard.press("Space")
    expect(page.locator("[data-sheet-gaps]")).to_have_text("各项评分和核查均已填写。")
    expect(page.locator("[data-total]")).to_have_text("82")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "comment"
    page.keyboard.type("节奏紧凑。")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "save_draft"
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "submit_sheet"
    page.screenshot(path=str(screenshot_dir / "judge-keyboard-sheet.png"), full_page=True)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server}/judge/")
    expect(page.get_by_text("MV-001 的评分表已提交。")).to_be_visible()
    expect(page.locator("section[data-contest=micro-video] .progress")).to_have_attribute("aria-valuenow", "100")


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Shanghai"])
def test_judge_reads_the_review_deadline_in_the_browsers_zone_beside_the_configured_one(
    browser,
    live_server: str,
    tmp_path: Path,
    short_video: Path,
    screenshot_dir: Path,
    zone: str,  # type: ignore[no-untyped-def]
) -> None:
    live_entry_in_review(tmp_path, short_video)
    app = make_test_app(f"sqlite:///{tmp_path / 'e2e.sqlite3'}", tmp_path, SERVER_NAME=None)
    with app.app_context():
        contest = db.session.scalar(select(Contest).where(Contest.slug == "micro-video"))
        deadline = datetime(2099, 9, 5, 10, 0, tzinfo=UTC)  # 18:00 in Shanghai, 06:00 in New York
        contests.set_deadlines(db.session, None, contest, submission_deadline=None, review_deadline=deadline)  # type: ignore[arg-type]
        db.session.commit()
        db.engine.dispose()
    context = browser.new_context(timezone_id=zone, locale="zh-CN")
    page = context.new_page()
    _log_in(page, live_server, "judge")
    for path in ("/judge/", "/judge/entries/MV-001"):
        page.goto(f"{live_server}{path}")
        shown = page.locator("time[data-local-time]").first
        expect(shown).to_contain_text("2099-09-05 18:00")  # the configured zone's time, as without JavaScript
        own = page.locator(".local-time")
        if zone == "Asia/Shanghai":
            expect(own).to_have_count(0)  # the same zone: nothing to add
        else:
            expect(own.first).to_have_text(" （您所在时区：2099-09-05 06:00 (北美东部夏令时间)）")
    page.screenshot(path=str(screenshot_dir / f"judge-deadline-{zone.replace('/', '-')}.png"), full_page=True)
    context.close()
