"""A two-round contest in Chromium: screening by 3 judges with pass/fail, the top 5 (6 with a tie at 5th
place) to a final panel of 5, one of whom (screener1) screened too; the organiser sets up and freezes the
rounds, the judges judge (screener1 in both rounds, the screening's sheet read-only once it is frozen), and
the results preview shows every entry's path through both rounds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from judging.extensions import db
from judging.models import Entry, EntryStatus, PanelMember, Phase, Role
from judging.rubric import load_rubric
from judging.services import contests
from tests.conftest import PASSWORD, ROOT, create_user, organization_named
from tests.e2e.conftest import configured_app, served

pytestmark = pytest.mark.e2e

SLUG = "micro-video-rounds"
DISTRICTS = ["黄浦区", "徐汇区", "长宁区", "静安区", "普陀区", "虹口区", "杨浦区"]
SCREENING = {1: "yyy", 2: "yyy", 3: "yyn", 4: "nyy", 5: "ynn", 6: "nny", 7: "nnn"}
FINAL_PANEL = ["screener1", "final2", "final3", "final4", "final5"]  # screener1 sits on both panels
FINAL = {  # the five final judges' (content, form, influence); trimmed mean drops each end
    1: [(36, 26, 25), (35, 25, 25), (37, 27, 26), (30, 20, 20), (38, 28, 28)],
    2: [(30, 25, 25), (32, 24, 24), (31, 25, 25), (33, 26, 26), (29, 23, 23)],
    3: [(34, 27, 27), (36, 28, 28), (35, 27, 27), (20, 10, 10), (39, 29, 29)],
    4: [(25, 20, 20), (26, 21, 21), (27, 22, 22), (28, 23, 23), (24, 19, 19)],
    5: [(20, 15, 15), (22, 16, 16), (21, 15, 15), (23, 17, 17), (19, 14, 14)],
    6: [(33, 25, 24), (32, 25, 24), (34, 25, 24), (31, 25, 24), (35, 25, 24)],
}


def code(number: int) -> str:
    return f"MR-{number:03d}"


@pytest.fixture
def rounds_server(tmp_path: Path) -> Iterator[str]:
    """The two-round template as a contest in review: 7 submitted entries, 8 judges on its panel."""
    app = configured_app(tmp_path)
    with app.app_context():
        organizer = create_user("organizer", Role.ORGANIZER, "市委网信办")
        contest = contests.sync_rubric(
            db.session, organizer, load_rubric(ROOT / "rubrics/templates/two_rounds.toml"), edition="2027"
        )
        contests.change_phase(db.session, organizer, contest, Phase.OPEN)
        for number, district in enumerate(DISTRICTS, start=1):
            db.session.add(
                Entry(
                    contest=contest,
                    organization=organization_named(district),
                    code=code(number),
                    title=f"作品{number}",
                    status=EntryStatus.SUBMITTED,
                )
            )
        db.session.flush()
        contests.change_phase(db.session, organizer, contest, Phase.REVIEW)
        for name in [f"screener{i}" for i in range(1, 4)] + [f"final{i}" for i in range(1, 6)]:
            db.session.add(PanelMember(contest=contest, judge=create_user(name, Role.JUDGE)))
        db.session.commit()
    with served(app) as base:
        yield base


def log_in(browser: Browser, base: str, username: str) -> Page:
    page = browser.new_context().new_page()
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).not_to_have_url(f"{base}/login")
    return page


def set_up_round(page: Page, key: str, judges: list[str], assignments: int) -> None:
    section = page.locator(f'section[data-round="{key}"]')
    section.get_by_role("button", name="开启本轮").click()
    expect(page.locator(f'section[data-round="{key}"]')).to_have_attribute("data-status", "open")
    for judge in judges:
        section = page.locator(f'section[data-round="{key}"]')
        section.get_by_label("评审专家").select_option(label=judge.title())
        section.get_by_role("button", name="加入本轮评审组").click()
        expect(page.locator(f'section[data-round="{key}"] [data-round-panel] li[data-judge="{judge}"]')).to_be_visible()
    page.locator(f'section[data-round="{key}"]').get_by_role("button", name="把本轮作品分配给本轮评审组").click()
    expect(page.get_by_text(f"已创建 {assignments} 项评审分配。")).to_be_visible()


def test_two_rounds_run_end_to_end_and_the_result_shows_both(
    browser: Browser, rounds_server: str, screenshot_dir: Path
) -> None:
    base = rounds_server
    organizer = log_in(browser, base, "organizer")
    organizer.goto(f"{base}/organizer/contests/{SLUG}")
    organizer.locator("[data-rounds-link]").click()
    set_up_round(organizer, "screening", ["screener1", "screener2", "screener3"], 21)

    for index in range(3):
        judge = log_in(browser, base, f"screener{index + 1}")
        for number, answers in SCREENING.items():
            judge.goto(f"{base}/judge/entries/{code(number)}")
            expect(judge.locator("[data-check=check_passes] legend")).to_have_text("通过，进入下一轮")
            judge.locator("[data-check=check_passes]").get_by_label("是" if answers[index] == "y" else "否").check()
            judge.get_by_role("button", name="提交评分").click()
            expect(judge).to_have_url(f"{base}/judge/")
        judge.context.close()

    organizer.reload()
    screening = organizer.locator('section[data-round="screening"]')
    expect(screening.locator(f'tr[data-entry="{code(6)}"]')).to_contain_text("晋级线并列")
    expect(screening.locator(f'tr[data-entry="{code(7)}"]')).to_have_attribute("data-advanced", "no")
    organizer.screenshot(path=str(screenshot_dir / "rounds-screening.png"), full_page=True)
    screening.get_by_role("button", name="冻结本轮").click()
    expect(organizer.locator("[data-consequences]")).to_contain_text("7 件作品中有 6 件进入下一轮。")
    organizer.get_by_role("button", name="冻结本轮").click()
    expect(organizer.locator('section[data-round="screening"]')).to_have_attribute("data-status", "frozen")

    set_up_round(organizer, "final", FINAL_PANEL, 30)
    seats = organizer.locator("[data-seats]")
    expect(seats.locator('tr[data-judge="screener1"] [data-judge-rounds]')).to_have_text("初评、终评")
    expect(seats.locator('tr[data-judge="final2"] [data-judge-rounds]')).to_have_text("终评")
    expect(seats.locator('tr[data-judge="final1"] [data-judge-rounds]')).to_have_text("尚未安排轮次。")
    organizer.screenshot(path=str(screenshot_dir / "rounds-final-panel.png"), full_page=True)
    for index, username in enumerate(FINAL_PANEL):
        judge = log_in(browser, base, username)
        if username == "screener1":
            # Both rounds on the home list, each entry once per round with the round's name.
            expect(judge.locator(f'a[href="/judge/entries/{code(1)}?round=screening"]')).to_contain_text("初评")
            expect(judge.locator(f'a[href="/judge/entries/{code(1)}?round=final"]')).to_contain_text("终评")
            expect(judge.locator('[data-bucket="todo"] a[data-round="final"]')).to_have_count(6)
            expect(judge.locator('[data-bucket="done"] a[data-round="screening"]')).to_have_count(7)
            judge.screenshot(path=str(screenshot_dir / "rounds-judge-on-both-rounds.png"), full_page=True)
            # The frozen screening's sheet: shown with its answer, read-only, with why.
            judge.locator(f'[data-bucket="done"] a[href="/judge/entries/{code(7)}?round=screening"]').click()
            expect(judge.locator("[data-round-closed]")).to_contain_text("“初评”轮次已冻结")
            expect(judge.locator("[data-check=check_passes]").get_by_label("否")).to_be_checked()
            expect(judge.locator("[data-check=check_passes]").get_by_label("否")).to_be_disabled()
            expect(judge.get_by_role("button", name="提交评分")).to_have_count(0)
            judge.screenshot(path=str(screenshot_dir / "rounds-frozen-screening-sheet.png"), full_page=True)
        else:
            judge.goto(f"{base}/judge/entries/{code(7)}")  # eliminated in screening: not among the assignments
            expect(judge.get_by_role("heading", name="未找到")).to_be_visible()
            assert judge.locator("[data-check], input[name=score_content]").count() == 0
        for number, sheets in FINAL.items():
            content, form, influence = sheets[index]
            if username == "screener1":  # from the home list: the entry's final-round link
                judge.goto(f"{base}/judge/")
                judge.locator(f'a[href="/judge/entries/{code(number)}?round=final"]').click()
                expect(judge.locator('span.badge[data-round="final"]')).to_have_text("终评")
            else:
                judge.goto(f"{base}/judge/entries/{code(number)}")
            judge.locator("input[name=score_content]").fill(str(content))
            judge.locator("input[name=score_form]").fill(str(form))
            judge.locator("input[name=score_influence]").fill(str(influence))
            judge.get_by_role("button", name="提交评分").click()
            expect(judge).to_have_url(f"{base}/judge/")
        judge.context.close()

    organizer.goto(f"{base}/organizer/contests/{SLUG}/results")
    paths = organizer.locator("#round-paths")
    expect(paths.locator(f'li[data-entry="{code(3)}"]')).to_contain_text(
        "初评：通过 2/3，排名 3 — 晋级（前 5 名）；终评：得分 89.67，排名 1"
    )
    expect(paths.locator(f'li[data-entry="{code(6)}"]')).to_contain_text(
        "初评：通过 1/3，排名 5 — 晋级（前 5 名，与最后一个晋级名次并列）；终评：得分 82.00，排名 3"
    )
    expect(paths.locator(f'li[data-entry="{code(7)}"]')).to_contain_text("初评：通过 0/3，排名 7 — 本轮淘汰（前 5 名）")
    organizer.screenshot(path=str(screenshot_dir / "rounds-results-preview.png"), full_page=True)

    # The rounds page and the preview at phone width, then in English.
    rounds_url = f"/organizer/contests/{SLUG}/rounds"
    organizer.goto(f"{base}{rounds_url}")
    organizer.set_viewport_size({"width": 390, "height": 844})
    expect(organizer.locator('section[data-round="final"]')).to_have_attribute("data-status", "open")
    width = organizer.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width  # nothing wider than the phone: the standings table scrolls in its own box
    organizer.screenshot(path=str(screenshot_dir / "rounds-phone-zh.png"), full_page=True)
    organizer.goto(f"{base}/lang/en?next={rounds_url}")
    expect(organizer.locator('section[data-round="screening"] [data-round-status]')).to_have_text("frozen")
    expect(organizer.locator('section[data-round="screening"]')).to_contain_text("Advance: top 5")
    organizer.screenshot(path=str(screenshot_dir / "rounds-phone-en.png"), full_page=True)
    organizer.set_viewport_size({"width": 1280, "height": 900})
    organizer.goto(f"{base}/organizer/contests/{SLUG}/results")
    expect(organizer.locator(f'#round-paths li[data-entry="{code(7)}"]')).to_contain_text(
        "初评: 0/3 passes, rank 7 — eliminated in this round (top 5)"
    )
    organizer.screenshot(path=str(screenshot_dir / "rounds-results-preview-en.png"), full_page=True)
