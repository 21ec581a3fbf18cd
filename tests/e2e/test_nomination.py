"""In Chromium: a district's coordinator reads its grassroots units' cases, comments on one, nominates up to
the quota, is refused the one over it, and the unit reads the comment on its case."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from judging.extensions import db
from judging.media import generate_test_image
from judging.models import Entry, EntryStatus, OrganizationKind, Role, User
from judging.services import contests, entries, entry_files, organizations
from judging.storage import LocalStorage
from tests.conftest import PASSWORD, create_user, open_contest_for_entries
from tests.e2e.conftest import configured_app, served

pytestmark = pytest.mark.e2e
UNITS = ("陆家嘴街道", "张江镇")


@pytest.fixture
def cases_server(tmp_path: Path) -> Iterator[tuple[str, object, list[str]]]:
    """Two grassroots units of 浦东新区 with three submitted cases each (six: one more than the quota of 5)."""
    app = configured_app(tmp_path)
    image = tmp_path / "case.png"
    generate_test_image(image)
    codes = []
    with app.app_context():
        coordinator = create_user("pudong", Role.ENTRANT, "浦东新区")
        contest = open_contest_for_entries("exemplary-cases")
        declarations = list(contests.current_rubric(contest).entry.declarations)
        for number, unit in enumerate(UNITS):
            organizations.create_organization(
                db.session, None, name=unit, kind=OrganizationKind.GRASSROOTS, parent=coordinator.organization
            )
            db.session.commit()
            account = create_user(f"unit{number}", Role.ENTRANT, unit)
            for n in range(3):
                entry = entries.create_draft(
                    db.session,
                    account,
                    contest,
                    title=f"{unit}案例{n + 1}",
                    category="case",
                    fields={"unit": unit, "period": "2026-05-01"},
                )
                with image.open("rb") as stream:
                    entry_files.attach_file(
                        db.session, account, entry, LocalStorage(app.config["UPLOAD_FOLDER"]), stream, "照片.png"
                    )
                entries.submit_entry(db.session, account, entry, declarations)
                db.session.commit()
                codes.append(entry.code)
    with served(app) as base:
        yield base, app, codes


def _log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def test_coordinator_comments_and_nominates_up_to_the_quota(
    page: Page, cases_server: tuple[str, object, list[str]], screenshot_dir: Path
) -> None:
    base, app, codes = cases_server
    _log_in(page, base, "pudong")
    page.get_by_role("link", name="下属单位案例：网络安全宣传先进典型案例推选").click()
    rows = page.locator("tbody tr[data-entry]")
    expect(rows).to_have_count(6)
    first = page.locator(f'tr[data-entry="{codes[0]}"]')
    first.get_by_label("评语").fill("请补充覆盖人数的数据来源。")
    first.get_by_role("button", name="保存意见").click()
    expect(page.get_by_text(f"对 {codes[0]} 的意见已保存。")).to_be_visible()
    for code in codes[:5]:
        page.locator(f'tr[data-entry="{code}"]').get_by_role("button", name="推荐").click()
        expect(page.get_by_text(f"{code} 已推荐参加全市评选。")).to_be_visible()
    expect(page.locator("[data-nominated]")).to_have_attribute("data-nominated", "5")
    page.locator(f'tr[data-entry="{codes[5]}"]').get_by_role("button", name="推荐").click()
    expect(page.locator(".alert-danger")).to_contain_text("本单位已推荐 5 件，已达上限。")
    page.screenshot(path=str(screenshot_dir / "coordinator-nominations.png"), full_page=True)
    with app.app_context():  # type: ignore[attr-defined]
        statuses = {e.code: e.status for e in db.session.scalars(select(Entry).where(Entry.code.in_(codes)))}
        assert [statuses[code] for code in codes] == [EntryStatus.NOMINATED] * 5 + [EntryStatus.SUBMITTED]
        assert db.session.scalar(select(User).where(User.username == "pudong")).organization.name == "浦东新区"
    # Withdrawing one frees a place for the sixth.
    page.locator(f'tr[data-entry="{codes[4]}"]').get_by_role("button", name="撤回推荐").click()
    page.locator(f'tr[data-entry="{codes[5]}"]').get_by_role("button", name="推荐").click()
    expect(page.get_by_text(f"{codes[5]} 已推荐参加全市评选。")).to_be_visible()

    # The unit reads the coordinator's comment on its case.
    page.get_by_role("button", name="退出").click()
    _log_in(page, base, "unit0")
    page.get_by_role("link", name=f"{UNITS[0]}案例1").click()
    expect(page.get_by_text("请补充覆盖人数的数据来源。")).to_be_visible()
