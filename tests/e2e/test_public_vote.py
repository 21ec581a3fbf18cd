"""A visitor votes in a browser (issue 19): the page's script solves the proof of work, the vote is
stored, and the count shows (or not) as the rubric says; screenshots of the visitor's page and the
organiser's desk at desktop and phone width, in Chinese and English."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from judging.extensions import db
from judging.models import Role, Vote, utcnow
from judging.services import votes
from tests.conftest import PASSWORD, create_user
from tests.e2e.conftest import configured_app, served
from tests.integration.test_votes import VOTE_SECTION, contest, organizer, with_vote
from tests.scenarios import seed_review_contest

pytestmark = pytest.mark.e2e


def vote_server(tmp_path: Path, video: Path, section: str) -> Iterator[tuple[str, dict[str, str], object]]:
    app = configured_app(tmp_path)
    with app.app_context():
        create_user("organizer", Role.ORGANIZER, "市委网信办")
        create_user("entrant-a", Role.ENTRANT, "浦东新区")
        create_user("entrant-b", Role.ENTRANT, "黄浦区")
        with_vote(section)
        codes = seed_review_contest(app, video)
        votes.open_vote(db.session, organizer(), contest(), utcnow() + timedelta(days=7))
        db.session.commit()
    with served(app) as base:
        yield base, codes, app


@pytest.fixture
def live_counts(tmp_path: Path, short_video: Path) -> Iterator[tuple[str, dict[str, str], object]]:
    yield from vote_server(tmp_path, short_video, VOTE_SECTION)


@pytest.fixture
def hidden_counts(tmp_path: Path, short_video: Path) -> Iterator[tuple[str, dict[str, str], object]]:
    yield from vote_server(tmp_path, short_video, VOTE_SECTION.replace('counts = "live"', 'counts = "hidden"'))


def stored(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Vote)) or 0


def test_a_visitor_solves_the_proof_and_votes_with_live_counts(
    page: Page, live_counts: tuple[str, dict[str, str], object], screenshot_dir: Path
) -> None:
    base, codes, app = live_counts
    page.goto(f"{base}/vote/micro-video")
    card = page.locator(f"#work-{codes['B']}")
    expect(card.locator(f'[data-vote-count="{codes["B"]}"]')).to_have_text("0 票")
    card.get_by_role("button", name="投票").click()
    expect(card.locator(".vote-status")).to_have_text("感谢您的投票，已计入。", timeout=20_000)
    expect(card.locator(f'[data-vote-count="{codes["B"]}"]')).to_have_text("1 票")
    card.get_by_role("button", name="投票").click()  # the next challenge came with the answer
    expect(card.locator(".vote-status")).to_have_text("感谢您的投票，已计入。", timeout=20_000)
    expect(card.locator(f'[data-vote-count="{codes["B"]}"]')).to_have_text("2 票")
    card.get_by_role("button", name="投票").click()
    expect(card.locator(".vote-status")).to_have_text("您今天已为该作品投了 2 票，明天可以再投。", timeout=20_000)
    assert stored(app) == 2
    page.reload()
    expect(card.locator(f'[data-vote-count="{codes["B"]}"]')).to_have_text("2 票")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(screenshot_dir / "vote-public-zh-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(screenshot_dir / "vote-public-zh-phone.png"), full_page=True)
    page.goto(f"{base}/lang/en?next=/vote/micro-video")
    expect(page.get_by_role("heading", name="Public vote")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "vote-public-en-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(screenshot_dir / "vote-public-en-desktop.png"), full_page=True)


def test_hidden_counts_stay_hidden_while_the_vote_is_stored(
    page: Page, hidden_counts: tuple[str, dict[str, str], object], screenshot_dir: Path
) -> None:
    base, codes, app = hidden_counts
    page.goto(f"{base}/vote/micro-video")
    card = page.locator(f"#work-{codes['A']}")
    card.get_by_role("button", name="投票").click()
    expect(card.locator(".vote-status")).to_have_text("感谢您的投票，已计入。", timeout=20_000)
    expect(page.locator("[data-vote-count]")).to_have_count(0)
    assert stored(app) == 1
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill("organizer")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto(f"{base}/organizer/contests/micro-video/vote")
    expect(page.locator(f'#combined tr[data-entry="{codes["A"]}"] td').nth(3)).to_have_text("1")
    for width, name in ((1280, "desktop"), (390, "phone")):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(screenshot_dir / f"vote-desk-zh-{name}.png"), full_page=True)
    page.goto(f"{base}/lang/en?next=/organizer/contests/micro-video/vote")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(screenshot_dir / "vote-desk-en-desktop.png"), full_page=True)
