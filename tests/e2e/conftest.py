"""Browser tests: Debian's Chromium driven by Playwright against the app served from a thread."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from judging.extensions import db
from judging.models import Role
from judging.rubric import load_rubric_directory
from judging.services import contests, organizations
from tests.conftest import IN_CI, ROOT, create_user, make_test_app

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "build" / "screenshots"  # git-ignored; pytest-playwright owns test-results/


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not shutil.which(CHROMIUM):
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is missing; `make install` installs it as root")
        pytest.skip(f"{CHROMIUM} is not installed")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


def configured_app(tmp_path: Path, **overrides: object) -> Flask:
    """An app on a fresh SQLite file with the organisations and the rubrics loaded (and no accounts)."""
    app = make_test_app(f"sqlite:///{tmp_path / 'e2e.sqlite3'}", tmp_path, SERVER_NAME=None, **overrides)
    with app.app_context():
        db.create_all()
        organizations.seed_organizations(
            db.session, organizations.read_organization_file(ROOT / "data" / "organizations.toml")
        )
        for rubric in load_rubric_directory(ROOT / "rubrics"):
            contests.sync_rubric(db.session, None, rubric, edition="2026")
        db.session.commit()
    return app


def answered_whole(app: Flask) -> WSGIApplication:
    """``app`` with every answer read whole (and its file closed) before werkzeug's development server
    writes it. When the browser drops a connection in the middle of an answer (it navigates on while a
    script still loads), that server fails before it closes the answer, and the open static file's
    ResourceWarning later fails whichever test is running: a fault of the test server, not of the app
    (gunicorn closes every answer)."""

    def whole(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        answer = app(environ, start_response)
        try:
            return [b"".join(answer)]
        finally:
            close = getattr(answer, "close", None)
            if close is not None:
                close()

    return whole


@contextmanager
def served(app: Flask) -> Iterator[str]:
    """Serve ``app`` from a thread on a free local port; yields its base URL."""
    server = make_server("127.0.0.1", 0, answered_whole(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[str]:
    """The app with organisations, rubrics and one account per role, served on a free local port."""
    app = configured_app(tmp_path)
    with app.app_context():
        create_user("organizer", Role.ORGANIZER, "市委网信办")
        create_user("judge", Role.JUDGE)
        create_user("entrant", Role.ENTRANT, "浦东新区")
    with served(app) as base:
        yield base


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
