"""Links come from PUBLIC_BASE_URL, client addresses from trusted proxies only, and limits are shared.

Attacks from issue 15: a forged ``Host`` header ended up in invitation links and certificate URLs; behind
nginx every client was 127.0.0.1 (one client used up everyone's login limit) while X-Forwarded-For from
anyone would have been believed; each gunicorn worker kept its own rate-limit counts.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import redis
from flask import Flask

from bench.harness import Browser, GunicornServer, create_schema, server_env
from judging import create_app
from judging.extensions import db
from judging.links import absolute_url
from judging.models import LoginThrottle, Role
from tests.conftest import ROOT, create_user, csrf_token, log_in, make_test_app

PUBLIC = "https://awards.example.org"


def test_production_refuses_to_start_without_a_public_base_url(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    config = {"SECRET_KEY": "k", "INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    with pytest.raises(RuntimeError, match=r"^PUBLIC_BASE_URL is not set\. Set it to the address people use"):
        create_app(config)
    for malformed in ("awards.example.org", "https://awards.example.org/judging", "javascript:alert(1)"):
        with pytest.raises(RuntimeError, match="is not a site address"):
            create_app({**config, "PUBLIC_BASE_URL": malformed})
    assert create_app({**config, "PUBLIC_BASE_URL": PUBLIC}).config["PUBLIC_BASE_URL"] == PUBLIC
    assert create_app({**config, "DEBUG": True}).debug  # `flask --debug run` needs none


def test_a_forged_host_never_reaches_an_invitation_link(app: Flask, users: dict[str, int]) -> None:
    app.config.update(PUBLIC_BASE_URL=PUBLIC, SERVER_NAME=None)
    organizer = app.test_client()
    organizer.environ_base.update(HTTP_HOST="evil.example", HTTP_X_FORWARDED_HOST="evil.example")
    assert log_in(organizer, "organizer").status_code == 302
    form = {"username": "newjudge", "display_name": "新评委", "role": "judge", "organization_id": 0}
    page = organizer.post(
        "/organizer/users", data={**form, "csrf_token": csrf_token(organizer, "/organizer/users")}
    ).get_data(as_text=True)
    link = re.search(r'id="invitation-link">([^<]+)<', page).group(1)
    assert link.startswith(f"{PUBLIC}/invite/")
    assert "evil" not in page
    with app.test_request_context("/", headers={"Host": "evil.example"}):
        assert absolute_url("publication.verify_code", code="ABCD-2345") == f"{PUBLIC}/verify/ABCD-2345"


def test_no_code_builds_an_absolute_url_from_the_request() -> None:
    """Certificates, invitations and any later link go through judging.links, which reads PUBLIC_BASE_URL."""
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in (ROOT / "judging").rglob("*.py")
        if path.name != "links.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if re.search(r"_external\s*=\s*True|host_url|url_root|request\.host\b", line)
    ]
    offenders += [
        str(path.relative_to(ROOT))
        for path in (ROOT / "templates").rglob("*.html")
        if re.search(r"_external|host_url|url_root|request\.host\b", path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def _failed_login_clients(app: Flask) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(db.select(LoginThrottle.client).where(LoginThrottle.scope == "client")))


def _app_with_judge(database_url: str, tmp_path: Path, **config: object) -> Flask:
    app = make_test_app(database_url, tmp_path, **config)
    with app.app_context():
        db.create_all()
        for table in reversed(db.metadata.sorted_tables):  # the PostgreSQL database is shared by the session
            db.session.execute(table.delete())
        db.session.commit()
        create_user("judge", Role.JUDGE)
    return app


def _dispose(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_forwarded_for_is_ignored_without_trusted_proxies(database_url: str, tmp_path: Path) -> None:
    app = _app_with_judge(database_url, tmp_path)
    client = app.test_client()
    token = csrf_token(client, "/login")
    client.post(
        "/login",
        data={"username": "judge", "password": "wrong", "csrf_token": token},
        headers={"X-Forwarded-For": "198.51.100.7"},
    )
    assert _failed_login_clients(app) == {"127.0.0.1"}  # a client cannot choose the address it is counted under
    _dispose(app)


def test_behind_one_trusted_proxy_the_client_is_the_address_it_forwarded(database_url: str, tmp_path: Path) -> None:
    app = _app_with_judge(database_url, tmp_path, TRUSTED_PROXIES=1)
    client = app.test_client()
    token = csrf_token(client, "/login")
    # The client sent its own X-Forwarded-For; nginx appended the address it saw. Only nginx's hop is believed.
    for forwarded in ("198.51.100.7", "6.6.6.6, 198.51.100.8"):
        headers = {"X-Forwarded-For": forwarded, "X-Forwarded-Proto": "https"}
        form = {"username": "judge", "password": "wrong", "csrf_token": token}
        # Seen as HTTPS, the CSRF check also wants a same-site Referer: the forwarded scheme was believed.
        assert client.post("/login", data=form, headers=headers).status_code == 400
        headers["Referer"] = "https://judging.test/login"
        assert client.post("/login", data=form, headers=headers).status_code == 200
    assert _failed_login_clients(app) == {"198.51.100.7", "198.51.100.8"}
    _dispose(app)


def test_behind_the_proxy_one_client_no_longer_uses_up_everyones_login_limit(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'limits.sqlite3'}"
    limited = {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute"}
    for trusted, expected in ((0, 429), (1, 200)):
        app = _app_with_judge(database, tmp_path, TRUSTED_PROXIES=trusted, **limited)
        client = app.test_client()
        token = csrf_token(client, "/login")

        def attempt(address: str, client=client, token=token) -> int:  # type: ignore[no-untyped-def]
            form = {"username": "judge", "password": "wrong", "csrf_token": token}
            return client.post("/login", data=form, headers={"X-Forwarded-For": address}).status_code

        assert [attempt("198.51.100.1") for _ in range(4)] == [200, 200, 200, 429]
        assert attempt("198.51.100.2") == expected  # another person behind the same nginx
        _dispose(app)


def _login_answers(servers: list[GunicornServer], attempts: int) -> list[int]:
    """Failed logins sent in turn to each server, each for another username (so only the rate limit bites)."""
    browsers = [Browser(server.base_url, timeout=30) for server in servers]
    tokens = [browser.csrf_token("/login") for browser in browsers]
    answers = []
    for number in range(attempts):
        which = number % len(servers)
        form = {"username": f"nobody{number}", "password": "wrong", "csrf_token": tokens[which]}
        answers.append(browsers[which].post_form("/login", form).status)
    for browser in browsers:
        browser.close()
    return answers


@pytest.mark.slow
def test_two_workers_share_the_login_limit_through_redis(redis_url: str, tmp_path: Path) -> None:
    redis.Redis(unix_socket_path=redis_url.removeprefix("redis+unix://")).flushdb()
    database = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    create_schema(database, tmp_path)
    counted = {}
    for storage in ("memory://", redis_url):
        env = server_env(database, tmp_path, LOGIN_RATE_LIMIT="6 per minute", RATELIMIT_STORAGE_URI=storage)
        servers = [GunicornServer(env, workers=1, log=tmp_path / f"gunicorn{n}.log") for n in range(2)]
        try:
            for server in servers:
                server.start()
            counted[storage] = _login_answers(servers, 10)
        finally:
            for server in servers:
                server.close()
    assert counted["memory://"].count(200) == 10  # each process counted 5 of its own: the limit multiplied
    assert counted[redis_url] == [200] * 6 + [429] * 4  # one count for both: exactly the 6 allowed
