"""Values no route can hold answer 4xx, never 5xx: oversized integers, NUL in a path, impossible dates.

Issue 15 found 500s for ``/files/9999999999999999999999999`` (and five more routes) on SQLite, for ``%00``
in a path segment on PostgreSQL and for a deadline in year 0001. The walk below requests every route of
the URL map with such values, as each role and anonymously, and expects no 5xx.
"""

from __future__ import annotations

from datetime import date

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from judging.extensions import db
from judging.models import Contest
from tests.conftest import csrf_token, open_contest_for_entries

HUGE = "99999999999999999999999999"
JUST_BEYOND = str(2**31)
NUL = "a%00b"
QUERY = f"?page={HUGE}&contest={HUGE}&entry={HUGE}&number={HUGE}"


def _path(rule: Rule, *, integer: str, text: str) -> str:
    """The rule's path with each integer argument set to ``integer`` and every other one to ``text``."""
    parts = []
    for is_argument, value in rule._trace:  # (False, literal) or (True, argument name)
        if not is_argument:
            parts.append(value)
        elif rule._converters[value].__class__.__name__ == "BoundedIntConverter":
            parts.append(integer)
        else:
            parts.append(text)
    return "".join(parts).split("|", 1)[1]  # the trace starts with the host part: "|/files/…"


def _walked_rules(app: Flask) -> list[Rule]:
    return [rule for rule in app.url_map.iter_rules() if not rule.endpoint.startswith(("static", "bootstrap."))]


def _clients(app: Flask, client_for) -> dict[str, tuple[FlaskClient, str]]:  # type: ignore[no-untyped-def]
    clients = {"anonymous": (app.test_client(), "/login")}
    for username, page in (("organizer", "/organizer/"), ("judge", "/judge/"), ("entrant-a", "/entrant/")):
        clients[username] = (client_for(username), page)
    return {role: (client, csrf_token(client, page)) for role, (client, page) in clients.items()}


def test_every_route_refuses_oversized_integers_and_nul_without_a_5xx(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        open_contest_for_entries("micro-video")
    clients = _clients(app, client_for)
    rules = _walked_rules(app)
    assert len(rules) > 70  # the walk sees the whole map, not a handful of routes
    failures = []
    requests = 0
    for rule in rules:
        has_int = any(c.__class__.__name__ == "BoundedIntConverter" for c in rule._converters.values())
        has_text = any(c.__class__.__name__ != "BoundedIntConverter" for c in rule._converters.values())
        variants = [(_path(rule, integer="1", text="micro-video") + QUERY, None)]
        if has_int:
            variants += [(_path(rule, integer=HUGE, text="micro-video"), 404)]
            variants += [(_path(rule, integer=JUST_BEYOND, text="micro-video"), 404)]
        if has_text:
            variants += [(_path(rule, integer="1", text=NUL), 404)]
        for role, (client, token) in clients.items():
            for url, expected in variants:
                for method in sorted(rule.methods & {"GET", "POST"}):
                    if method == "POST" and rule.endpoint == "auth.logout":
                        continue  # would end the walk's own session; it has no argument to abuse
                    form = {"csrf_token": token, "id": HUGE, "number": HUGE, "page": HUGE}
                    answer = client.open(url, method=method, data=form if method == "POST" else None)
                    answer.get_data()  # a streamed body (the audit CSV) runs to its end, where it could still fail
                    answer.close()
                    requests += 1
                    if answer.status_code >= 500 or (expected and answer.status_code != expected):
                        failures.append(f"{role} {method} {url}: {answer.status_code}")
    assert failures == []
    assert requests > 600


def test_the_issues_file_url_is_a_plain_404(client_for) -> None:  # type: ignore[no-untyped-def]
    answer = client_for("organizer").get("/files/9999999999999999999999999")
    assert answer.status_code == 404
    assert "页面不存在，或您无权查看。" in answer.get_data(as_text=True)


def test_nul_in_a_contest_slug_is_a_404(client_for) -> None:  # type: ignore[no-untyped-def]
    organizer = client_for("organizer")
    assert organizer.get("/organizer/contests/micro%00video").status_code == 404
    assert organizer.get("/organizer/contests/micro-video").status_code == 200


def test_a_deadline_in_year_0001_is_a_form_error_and_changes_nothing(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    token = csrf_token(client, "/organizer/contests/micro-video")
    for typed in ("0001-01-01T00:00", "9999-12-31T23:59"):
        answer = client.post(
            "/organizer/contests/micro-video/deadlines",
            data={"submission_deadline": typed, "review_deadline": "", "csrf_token": token},
        )
        assert answer.status_code == 302
        page = client.get("/organizer/contests/micro-video").get_data(as_text=True)
        earliest = date.today().year - 10
        assert f"请输入 {earliest}年" in page and "之间的日期。" in page
    with app.app_context():
        contest = db.session.scalar(db.select(Contest).where(Contest.slug == "micro-video"))
        assert contest.submission_deadline is None and contest.review_deadline is None
