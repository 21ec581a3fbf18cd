"""An organiser opens the results preview in a browser: ranking, robustness flag, plots, explanation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from judging.models import Role
from tests.conftest import PASSWORD, create_user
from tests.e2e.conftest import configured_app, served
from tests.scenarios import seed_review_contest

pytestmark = pytest.mark.e2e


@pytest.fixture
def results_server(tmp_path: Path, short_video: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """The app with the micro-video contest in review and the sheets of tests/integration/test_results.py."""
    app = configured_app(tmp_path)
    with app.app_context():
        create_user("organizer", Role.ORGANIZER, "市委网信办")
        create_user("entrant-a", Role.ENTRANT, "浦东新区")
        create_user("entrant-b", Role.ENTRANT, "黄浦区")
        codes = seed_review_contest(app, short_video)
    with served(app) as base:
        yield base, codes


def test_organiser_reads_the_results_preview(
    page: Page, results_server: tuple[str, dict[str, str]], screenshot_dir: Path
) -> None:
    base, codes = results_server
    page.goto(f"{base}/login")
    page.get_by_label("用户名").fill("organizer")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.goto(f"{base}/organizer/contests/micro-video")
    page.locator("#results-preview-link").click()

    expect(page.locator("#preview-notice")).to_contain_text("预览")
    first = page.locator(f'.results-table tr[data-entry="{codes["B"]}"]')
    expect(first.locator(".rank")).to_have_text("1")
    expect(first.locator(".final-score")).to_have_text("84.50")
    expect(first.locator(".hinge")).to_be_visible()
    for plot in ("#plot-distributions", "#plot-ranked"):
        image = page.locator(plot)
        expect(image).to_be_visible()
        assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    page.screenshot(path=str(screenshot_dir / "results-preview.png"), full_page=True)

    page.locator(f"#explain-{codes['A']} summary").click()
    expect(page.locator(f"#explain-{codes['A']} .computation")).to_have_text("(88 + 80) / 2 = 84 → 84.00")
    page.locator(f"#explain-{codes['A']}").screenshot(path=str(screenshot_dir / "results-explanation.png"))
