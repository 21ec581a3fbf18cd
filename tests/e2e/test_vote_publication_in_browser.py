"""The published result of a contest with a public vote, as the public and an entrant see it in a browser
(issue 19): the award list follows the combined score and shows both parts, and the entrant whose work
the vote moved up sees its combined score, its experts' score and rank and its votes. Desktop and phone,
Chinese and English, with screenshots. The contest is tests/integration/test_vote_publication.py's: the
vote reverses A (experts 84.00, 2nd) and B (84.50, 1st); two of C's votes are voided."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from judging.extensions import db
from judging.models import Entry, Role
from tests.conftest import create_user
from tests.e2e.conftest import configured_app, served
from tests.e2e.test_entrant_outcome import _fits, _log_in
from tests.integration.test_vote_publication import REASON, _freeze, _publish, vote_on_contest

pytestmark = pytest.mark.e2e


@pytest.fixture
def combined_server(tmp_path: Path, short_video: Path) -> Iterator[tuple[str, dict[str, object]]]:
    app = configured_app(tmp_path)
    with app.app_context():
        create_user("organizer", Role.ORGANIZER, "市委网信办")
        create_user("entrant-a", Role.ENTRANT, "浦东新区")
        create_user("entrant-b", Role.ENTRANT, "黄浦区")
        codes = vote_on_contest(app, short_video)
        snapshot = _freeze()
        _publish(snapshot)
        facts: dict[str, object] = {"number": snapshot.number, "codes": codes}
        facts["entry_a"] = db.session.scalar(db.select(Entry.id).where(Entry.code == codes["A"]))
    with served(app) as base:
        yield base, facts


def test_the_public_and_the_entrant_see_the_combined_result(
    page: Page, combined_server: tuple[str, dict[str, object]], screenshot_dir: Path
) -> None:
    base, facts = combined_server
    codes = facts["codes"]
    assert isinstance(codes, dict)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base}/results/micro-video/{facts['number']}")
    expect(page.locator("#ranked-by-combined")).to_be_visible()
    first = page.locator("tr", has=page.locator(f"code:text-is('{codes['A']}')")).first
    expect(first.locator("[data-final-score]")).to_contain_text("88.80")
    expect(first.locator("[data-expert-score]")).to_contain_text("84.00")
    voided = page.locator("tr", has=page.locator(f"code:text-is('{codes['C']}')")).first
    expect(voided).to_contain_text(f"2 票：{REASON}")
    page.screenshot(path=str(screenshot_dir / "vote-award-list-zh.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(screenshot_dir / "vote-award-list-phone-zh.png"), full_page=True)

    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, base, "entrant-a")
    page.goto(f"{base}/entrant/entries/{facts['entry_a']}")
    result = page.locator("#entry-result")
    expect(result.locator("#entry-award")).to_have_text("一等奖")
    expect(result.locator("#entry-rank")).to_have_text("第 1 名（共 4 个作品排名）")
    expect(result.locator("#entry-final-score")).to_have_text("88.80")
    expect(result.locator("#entry-vote")).to_contain_text("专家得分 84.00（专家排名第 2 名），计入 4 票，作废 0 票")
    page.screenshot(path=str(screenshot_dir / "vote-entrant-zh.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    _fits(page, "#entry-result")
    page.screenshot(path=str(screenshot_dir / "vote-entrant-phone-zh.png"), full_page=True)

    page.goto(f"{base}/lang/en?next=/entrant/entries/{facts['entry_a']}")
    expect(result.locator("#entry-vote")).to_contain_text("Experts' score 84.00 (rank 2 among the experts), 4 votes")
    _fits(page, "#entry-result")
    page.screenshot(path=str(screenshot_dir / "vote-entrant-phone-en.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base}/results/micro-video/{facts['number']}")
    expect(page.locator("#ranked-by-combined")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "vote-award-list-en.png"), full_page=True)
