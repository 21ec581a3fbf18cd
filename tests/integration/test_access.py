"""Every route states who may use it, and every role-restricted page refuses every other role.

The routes are read from the app's URL map, so a new route fails here until its rule is stated
with one of the decorators of ``judging.web.permissions``.
"""

from __future__ import annotations

from flask import Flask

from judging.models import Role
from judging.web.permissions import ACCESS_ATTRIBUTE, API_TOKEN, AUTHENTICATED, PUBLIC
from tests.conftest import csrf_token
from tests.scenarios import SAMPLE_ARGUMENTS

EXEMPT_ENDPOINTS = {"static", "bootstrap.static"}
ACCOUNT_OF_ROLE = {Role.ORGANIZER: "organizer", Role.JUDGE: "judge", Role.ENTRANT: "entrant-a"}


def _rules(app: Flask):  # type: ignore[no-untyped-def]
    for rule in app.url_map.iter_rules():
        if rule.endpoint in EXEMPT_ENDPOINTS:
            continue
        view = app.view_functions[rule.endpoint]
        yield rule, getattr(view, ACCESS_ATTRIBUTE, None)


def _url(rule) -> str:  # type: ignore[no-untyped-def]
    return rule.build({name: SAMPLE_ARGUMENTS[name] for name in rule.arguments})[1]


def _request(client, rule, token: str):  # type: ignore[no-untyped-def]
    """GET the rule, or POST to it with a valid CSRF token, so that the access rule is what answers."""
    if "GET" in rule.methods:
        return client.get(_url(rule))
    if "POST" not in rule.methods:  # a PUT of an upload's part: the same access rule answers
        return client.put(_url(rule), data=b"", headers={"X-CSRFToken": token})
    return client.post(_url(rule), data={"csrf_token": token})


def test_every_route_states_its_access_rule(app: Flask) -> None:
    unstated = [rule.rule for rule, access in _rules(app) if access is None]
    assert unstated == [], f"routes without an access rule: {unstated}"


def test_role_pages_refuse_anonymous_and_every_other_role(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    clients = {role: client_for(username) for role, username in ACCOUNT_OF_ROLE.items()}
    tokens = {role: csrf_token(client, "/") for role, client in clients.items()}
    anonymous = app.test_client()
    anonymous_token = csrf_token(anonymous, "/login")
    checked = 0
    for rule, access in _rules(app):
        if access in (PUBLIC, AUTHENTICATED):
            continue
        if access == API_TOKEN:  # a token, never a login cookie: every role's session is refused alike
            for client in (anonymous, *clients.values()):
                answer = _request(client, rule, anonymous_token)
                assert answer.status_code == 401 and answer.json["error"]["code"] == "missing_token", rule.rule
            continue
        answer = _request(anonymous, rule, anonymous_token)
        assert answer.status_code == 302 and answer.headers["Location"].startswith("/login"), rule.rule
        for role, client in clients.items():
            status = _request(client, rule, tokens[role]).status_code
            if role in access:
                assert status != 403, (rule.rule, role, status)
            else:
                assert status == 403, (rule.rule, role, status)
        checked += 1
    assert checked >= 10  # the organiser, judge and entrant areas are all covered


def test_role_pages_open_for_their_role(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    for username, pages in {
        "organizer": [
            "/organizer/",
            "/organizer/users",
            "/organizer/organizations",
            "/organizer/audit",
            "/organizer/contests/micro-video",
            "/organizer/contests/isg-skills",
            "/organizer/contests/micro-video/publication",
            "/organizer/contests/isg-skills/publication",
        ],
        "judge": ["/judge/"],
        "entrant-a": ["/entrant/"],
    }.items():
        client = client_for(username)
        for page in pages:
            assert client.get(page).status_code == 200, (username, page)


def test_signed_in_pages_send_anonymous_to_login(app: Flask) -> None:
    anonymous = app.test_client()
    token = csrf_token(anonymous, "/login")
    for rule, access in _rules(app):
        if access == AUTHENTICATED:
            answer = _request(anonymous, rule, token)
            assert answer.status_code == 302 and answer.headers["Location"].startswith("/login"), rule.rule


def test_public_pages_answer_anonymous(app: Flask) -> None:
    anonymous = app.test_client()
    for path, status in [
        ("/", 200),
        ("/contests/micro-video", 200),
        ("/contests/nope", 404),
        ("/login", 200),
        ("/api/contests", 200),
        ("/healthz", 200),
        ("/invite/not-a-real-token", 404),
        ("/results", 200),
        ("/results/micro-video", 404),  # nothing frozen yet
        ("/results/micro-video/1", 404),
        ("/results/micro-video/gallery", 404),  # nothing published yet
        ("/verify", 200),
        ("/verify/ABCD-EFGH-JKLM", 404),
        ("/files/1", 404),  # no such file; an unpublished one answers the same
    ]:
        assert anonymous.get(path).status_code == status, path
