"""Pages whose SQL does not grow with the contest (issue 18): the same number of statements at
6 entries × 3 judges as after growing the same contest to 14 entries × 5 judges. A page that loads a
row per entry, judge, file or sheet (N+1) fails here with both counts in the message.

Statements are counted at the driver (SQLAlchemy's ``before_cursor_execute``) for the whole request:
the login session, the lookups, the page and its forms.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from judging.extensions import db
from judging.models import Assignment, AssignmentStatus, User
from tests.conftest import log_in
from tests.scenarios import grow_judging

SMALL, LARGE = (6, 3), (14, 5)


def _statements(app: Flask, client: FlaskClient, url: str) -> list[str]:
    assert client.get(url).status_code == 200, url  # warm: per-process caches are not the page's cost
    statements: list[str] = []

    def listen(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", listen)
    try:
        response = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert response.status_code == 200, url
    return statements


def _client(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    assert log_in(client, username).status_code == 302
    return client


def _judge_entry_url(scale: dict) -> str:
    assignment = db.session.scalar(
        select(Assignment)
        .where(Assignment.judge_id == scale["judges"][0].id, Assignment.status == AssignmentStatus.ASSIGNED)
        .order_by(Assignment.id)
    )
    return f"/judge/entries/{assignment.entry.code}"


PAGES: dict[str, tuple[str, Callable[[dict], str]]] = {
    "organiser's judging progress": ("organizer", lambda _scale: "/organizer/contests/micro-video/judging"),
    "organiser's entry list": ("organizer", lambda _scale: "/organizer/contests/micro-video/entries"),
    "organiser's contest page": ("organizer", lambda _scale: "/organizer/contests/micro-video"),
    "organiser's accounts": ("organizer", lambda _scale: "/organizer/users"),
    "organiser's dashboard": ("organizer", lambda _scale: "/organizer/"),
    "organiser's results preview": ("organizer", lambda _scale: "/organizer/contests/micro-video/results"),
    "organiser's publication desk": ("organizer", lambda _scale: "/organizer/contests/micro-video/publication"),
    "public contest page": ("organizer", lambda _scale: "/contests/micro-video"),
    "judge's dashboard": ("scale-judge-0", lambda _scale: "/judge/"),
    "judge's entry page": ("scale-judge-0", _judge_entry_url),
}


@pytest.mark.parametrize("page", list(PAGES))
def test_statements_do_not_grow_with_entries_judges_or_sheets(app: Flask, users: dict[str, int], page: str) -> None:
    username, url_of = PAGES[page]
    counts = []
    for n_entries, n_judges in (SMALL, LARGE):
        with app.app_context():
            scale = grow_judging(n_entries, n_judges)
            url = url_of(scale)
            assert db.session.scalar(select(User).where(User.username == username)) is not None
        statements = _statements(app, _client(app, username), url)
        counts.append(len(statements))
    assert counts[0] == counts[1], f"{page}: {counts[0]} statements at {SMALL}, {counts[1]} at {LARGE}"
    if page == "organiser's judging progress":
        assert counts[1] <= 20, f"{page}: {counts[1]} statements (issue 18's target is at most 20)"
