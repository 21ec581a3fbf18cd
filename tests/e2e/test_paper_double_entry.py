"""Two clerks type the same signed paper sheet at the keyboard; they disagree on one score, and an
organiser settles it with the paper in hand on the reconciliation page (issue 20)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from judging.extensions import db
from judging.models import Contest, Phase, Role, User
from judging.services import contests, panel
from judging.services.paper_sheets import name_clerk
from tests.conftest import PASSWORD, create_user, make_test_app, submitted_video_entry

pytestmark = pytest.mark.e2e


def _paper_contest(tmp_path: Path, video: Path) -> None:
    """In the live server's database: one submitted video, the contest in review, the judge assigned, and
    two clerks named."""
    app = make_test_app(f"sqlite:///{tmp_path / 'e2e.sqlite3'}", tmp_path, SERVER_NAME=None)
    with app.app_context():
        submitted_video_entry(app, "entrant", video, "浦东新区的反诈短片")
        contest = db.session.scalar(db.select(Contest).where(Contest.slug == "micro-video"))
        organizer = db.session.scalar(db.select(User).where(User.username == "organizer"))
        judge = db.session.scalar(db.select(User).where(User.username == "judge"))
        contests.change_phase(db.session, organizer, contest, Phase.REVIEW)
        panel.add_to_panel(db.session, organizer, contest, judge)
        panel.assign_judges(db.session, organizer, contest)
        for name in ("clerk-a", "clerk-b"):
            name_clerk(db.session, organizer, contest, create_user(name, Role.JUDGE))
        db.session.commit()
        db.engine.dispose()


def _log_in(page: Page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def _type_sheet(page: Page, base: str, influence: str) -> None:
    """Type the paper sheet at the keyboard: Enter moves from field to field, as on the judge's sheet."""
    page.goto(f"{base}/paper/contests/micro-video")
    page.get_by_label(re.compile("^评审专家")).select_option(label="Judge (judge)")
    entry_code = page.get_by_label("作品编号")
    entry_code.fill("MV-001")
    entry_code.press("Enter")
    expect(page.get_by_label("纸质评分表编号")).to_be_focused()
    page.keyboard.type("P-0042")
    page.keyboard.press("Enter")
    for value in ("34.5", "26", influence):
        page.keyboard.type(value)
        page.keyboard.press("Enter")
    for fieldset in page.locator("#score-sheet fieldset fieldset").all():
        fieldset.get_by_label("是").check()
    expect(page.locator("[data-total]")).to_have_text(str(34.5 + 26 + float(influence)).removesuffix(".0"))
    page.get_by_role("button", name="保存本次录入").click()


def test_two_clerks_type_a_sheet_and_an_organiser_settles_the_disagreement(
    page: Page, live_server: str, tmp_path: Path, short_video: Path, screenshot_dir: Path
) -> None:
    _paper_contest(tmp_path, short_video)
    _log_in(page, live_server, "clerk-a")
    _type_sheet(page, live_server, "21.5")
    expect(page.get_by_text("已录入：MV-001，纸质表编号 P-0042。第二名录入员录入一致后才计入。")).to_be_visible()
    expect(page.locator("#typed-entries tr[data-entry=MV-001]")).to_contain_text("P-0042")
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(screenshot_dir / "paper-enter-zh-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.screenshot(path=str(screenshot_dir / "paper-enter-zh.png"), full_page=True)
    page.goto(f"{live_server}/lang/en?next=/paper/contests/micro-video")
    expect(page.locator("#typed-entries tr[data-entry=MV-001]")).to_contain_text("P-0042")
    page.screenshot(path=str(screenshot_dir / "paper-enter-en.png"), full_page=True)
    page.goto(f"{live_server}/lang/zh_CN?next=/paper/")

    _log_in(page, live_server, "clerk-b")
    page.goto(f"{live_server}/paper/contests/micro-video")
    expect(page.get_by_text("P-0042")).to_have_count(0)  # clerk A's entry is never shown to clerk B
    _type_sheet(page, live_server, "12.5")
    expect(page.get_by_text("两次录入不一致，评分表转交核对")).to_be_visible()

    _log_in(page, live_server, "organizer")
    page.goto(f"{live_server}/organizer/contests/micro-video/judging")
    expect(page.locator("#paper-backlog")).to_have_text("1 份录入不一致：核对一致之前不计入结果。")
    page.locator("#paper-link").click()
    pair = page.locator("[data-pair=MV-001]")
    row = pair.locator("tr[data-field=score_influence]")
    expect(row.locator("[data-side=first] mark")).to_have_text("21.5")
    expect(row.locator("[data-side=second] mark")).to_have_text("12.5")
    expect(pair.locator("tr[data-field]")).to_have_count(1)
    page.screenshot(path=str(screenshot_dir / "paper-reconcile-zh.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(screenshot_dir / "paper-reconcile-zh-phone.png"), full_page=True)
    page.goto(f"{live_server}/lang/en?next=/paper/contests/micro-video/reconcile")
    page.screenshot(path=str(screenshot_dir / "paper-reconcile-en-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.screenshot(path=str(screenshot_dir / "paper-reconcile-en.png"), full_page=True)
    page.goto(f"{live_server}/lang/zh_CN?next=/paper/contests/micro-video/reconcile")

    row.get_by_label("其他值").check()
    row.locator("input[type=text]").fill("21.5")
    pair.get_by_label("理由（纸质评分表上写的是什么）").fill("纸质表上影响力为21.5分")
    pair.get_by_role("button", name="裁定并计入评分表").click()
    expect(page.get_by_text("MV-001 的纸质评分表已裁定并计入。")).to_be_visible()
    expect(page.locator("#paper-backlog")).to_have_text("已录入的纸质评分表均已计入。")
    page.goto(f"{live_server}/organizer/contests/micro-video/judging")
    expect(page.locator("#paper-backlog")).to_have_count(0)
