"""Logging in and out, invitations and password changes, through the web as a browser would."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from flask import Flask

from judging.extensions import db
from judging.models import AuditEvent, Invitation, LoginThrottle, Role, User
from tests.conftest import PASSWORD, create_user, csrf_token, log_in, make_test_app


def _user(username: str) -> User:
    user = db.session.scalar(db.select(User).where(User.username == username))
    assert user is not None
    return user


def test_login_sends_each_role_to_its_own_home_with_its_navigation(app: Flask, users: dict[str, int]) -> None:
    expected = {
        "organizer": ("/organizer/", ["工作台", "账号管理", "单位管理", "审计日志"]),
        "judge": ("/judge/", ["我的评审"]),
        "entrant-a": ("/entrant/", ["我的作品"]),
    }
    for username, (home, links) in expected.items():
        client = app.test_client()
        response = log_in(client, username)
        assert response.status_code == 302
        assert response.headers["Location"] == home
        page = client.get(home).get_data(as_text=True)
        nav = page[page.index('<ul class="navbar-nav me-auto"') : page.index("</ul>")]
        for link in links:
            assert link in nav
        others = {"工作台", "我的评审", "我的作品"} - set(links)
        for link in others:
            assert link not in nav


def test_wrong_password_is_refused_with_a_message_and_no_session(app: Flask, users: dict[str, int]) -> None:
    client = app.test_client()
    response = log_in(client, "judge", "wrong password!")
    assert response.status_code == 200
    assert "用户名或密码错误。" in response.get_data(as_text=True)
    assert client.get("/judge/").status_code == 302  # still anonymous: sent to log in


def test_unknown_user_gets_the_same_message(app: Flask, users: dict[str, int]) -> None:
    response = log_in(app.test_client(), "nobody", PASSWORD)
    assert "用户名或密码错误。" in response.get_data(as_text=True)


def test_login_without_csrf_token_is_refused(app: Flask, users: dict[str, int]) -> None:
    client = app.test_client()
    response = client.post("/login", data={"username": "judge", "password": PASSWORD})
    assert response.status_code == 400
    assert "表单已过期或并非从本站提交" in response.get_data(as_text=True)
    assert client.get("/judge/").status_code == 302


def test_login_next_goes_to_local_page_but_never_off_site(app: Flask, users: dict[str, int]) -> None:
    for target, expected in [
        ("/organizer/users", "/organizer/users"),
        ("//evil.example/x", "/organizer/"),
        ("https://evil.example/", "/organizer/"),
        ("/\\evil.example", "/organizer/"),
    ]:
        client = app.test_client()
        token = csrf_token(client, "/login")
        response = client.post(
            "/login", data={"username": "organizer", "password": PASSWORD, "csrf_token": token, "next": target}
        )
        assert response.headers["Location"] == expected


def test_anonymous_visitor_is_sent_to_login_with_next(app: Flask) -> None:
    response = app.test_client().get("/organizer/users")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_logout_needs_post_with_token(client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for("judge")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/judge/").status_code == 200
    token = csrf_token(client, "/judge/")
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/judge/").status_code == 302


def test_invitation_flow_sets_password_and_logs_in(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    organizer = client_for("organizer")
    with app.app_context():
        district = db.session.scalar(db.text("SELECT id FROM organization WHERE name = '静安区'"))
    token = csrf_token(organizer, "/organizer/users")
    response = organizer.post(
        "/organizer/users",
        data={
            "username": "jingan",
            "display_name": "静安区联络员",
            "role": "entrant",
            "organization_id": district,
            "csrf_token": token,
        },
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    link = re.search(r'id="invitation-link">([^<]+)<', page).group(1)
    path = link.split("judging.test", 1)[1]
    with app.app_context():
        assert _user("jingan").password_hash is None

    invitee = app.test_client()
    assert "您的用户名是 jingan" in invitee.get(path).get_data(as_text=True)
    token = csrf_token(invitee, path)
    weak = invitee.post(path, data={"password": "12345678901", "confirm": "12345678901", "csrf_token": token})
    assert "密码不能全为数字。" in weak.get_data(as_text=True)
    with app.app_context():
        assert _user("jingan").password_hash is None  # refused: nothing stored
    done = invitee.post(path, data={"password": "mild-river-4821", "confirm": "mild-river-4821", "csrf_token": token})
    assert done.status_code == 302 and done.headers["Location"] == "/entrant/"
    assert "静安区" in invitee.get("/entrant/").get_data(as_text=True)

    reused = app.test_client().get(path)
    assert reused.status_code == 404
    assert "邀请链接无效" in reused.get_data(as_text=True)
    assert log_in(app.test_client(), "jingan", "mild-river-4821").headers["Location"] == "/entrant/"


def test_new_invitation_link_replaces_the_old_one(app: Flask, client_for, users: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    organizer = client_for("organizer")
    links = []
    for _ in range(2):
        token = csrf_token(organizer, "/organizer/users")
        page = organizer.post(f"/organizer/users/{users['judge']}/invitation", data={"csrf_token": token})
        links.append(re.search(r'id="invitation-link">([^<]+)<', page.get_data(as_text=True)).group(1))
    first, second = (link.split("judging.test", 1)[1] for link in links)
    assert app.test_client().get(first).status_code == 404
    assert app.test_client().get(second).status_code == 200
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Invitation.id)).where(Invitation.used_at.is_(None))) >= 1


def test_duplicate_username_is_refused_and_creates_nothing(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    organizer = client_for("organizer")
    with app.app_context():
        before = db.session.scalar(db.select(db.func.count(User.id)))
    token = csrf_token(organizer, "/organizer/users")
    response = organizer.post(
        "/organizer/users",
        data={"username": "judge", "display_name": "X", "role": "judge", "organization_id": 0, "csrf_token": token},
    )
    assert response.status_code == 400
    assert "用户名 judge 已被使用。" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(User.id))) == before


def test_entrant_without_organisation_is_refused(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    organizer = client_for("organizer")
    token = csrf_token(organizer, "/organizer/users")
    response = organizer.post(
        "/organizer/users",
        data={"username": "lonely", "display_name": "X", "role": "entrant", "organization_id": 0, "csrf_token": token},
    )
    assert "参赛账号必须属于某个单位。" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(User).where(User.username == "lonely")) is None


def test_password_change_signs_out_other_sessions(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    here, elsewhere = client_for("judge"), client_for("judge")
    token = csrf_token(here, "/account/password")
    wrong = here.post(
        "/account/password",
        data={"current": "nope", "password": "a-new-password", "confirm": "a-new-password", "csrf_token": token},
    )
    assert "当前密码不正确。" in wrong.get_data(as_text=True)
    response = here.post(
        "/account/password",
        data={"current": PASSWORD, "password": "a-new-password", "confirm": "a-new-password", "csrf_token": token},
    )
    assert response.status_code == 302
    assert here.get("/judge/").status_code == 200
    assert elsewhere.get("/judge/").status_code == 302
    assert log_in(app.test_client(), "judge", PASSWORD).status_code == 200  # old password no longer works
    assert log_in(app.test_client(), "judge", "a-new-password").status_code == 302


def test_deactivated_account_cannot_log_in_and_is_signed_out(app: Flask, client_for, users: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    judge = client_for("judge")
    organizer = client_for("organizer")
    token = csrf_token(organizer, "/organizer/users")
    organizer.post(f"/organizer/users/{users['judge']}/active", data={"csrf_token": token, "confirmed": "1"})
    assert judge.get("/judge/").status_code == 302
    assert log_in(app.test_client(), "judge").status_code == 200
    with app.app_context():
        actions = db.session.scalars(db.select(AuditEvent.action)).all()
        assert "account.deactivate" in actions


def test_session_cookie_flags(app: Flask, users: dict[str, int]) -> None:
    client = app.test_client()
    response = log_in(client, "judge")
    cookie = next(v for k, v in response.headers.items() if k == "Set-Cookie" and v.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_login_is_throttled_per_address(database_url: str, tmp_path: Path) -> None:
    app = make_test_app(database_url, tmp_path, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    with app.app_context():
        db.create_all()
        if db.session.scalar(db.select(User).where(User.username == "throttled")) is None:
            create_user("throttled", Role.JUDGE)
    client = app.test_client()
    token = csrf_token(client, "/login")
    answers = [
        client.post("/login", data={"username": "throttled", "password": "wrong!", "csrf_token": token}).status_code
        for _ in range(4)
    ]
    assert answers == [200, 200, 200, 429]
    refused = client.post("/login", data={"username": "throttled", "password": PASSWORD, "csrf_token": token})
    assert refused.status_code == 429
    assert "短时间内请求过多，请稍候一分钟再试。" in refused.get_data(as_text=True)
    assert client.get("/judge/").status_code == 302  # the right password did not get through either
    with app.app_context():  # the next test's fixture empties the shared PostgreSQL database
        db.session.remove()
        db.engine.dispose()


def test_forbidden_page_speaks_chinese(client_for) -> None:  # type: ignore[no-untyped-def]
    response = client_for("judge").get("/organizer/")
    assert response.status_code == 403
    assert "您的账号无权访问此页面。" in response.get_data(as_text=True)


def test_passwords_are_hashed_with_scrypt_by_default(database_url: str, tmp_path: Path) -> None:
    app = make_test_app(database_url, tmp_path)
    app.config.pop("PASSWORD_HASH_METHOD")
    with app.app_context():
        db.create_all()
        user = create_user("hashed", Role.JUDGE)
        assert user.password_hash.startswith("scrypt:")
        assert PASSWORD not in user.password_hash
        db.session.remove()
        db.engine.dispose()


def _attempt(app: Flask, username: str, password: str, client: str):  # type: ignore[no-untyped-def]
    """A login from a fresh browser at ``client`` (the address the app sees)."""
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = client
    return log_in(browser, username, password)


def _throttle(scope: str, username: str, client: str) -> LoginThrottle:
    row = db.session.scalar(
        db.select(LoginThrottle).where(
            LoginThrottle.scope == scope, LoginThrottle.username == username, LoginThrottle.client == client
        )
    )
    assert row is not None
    return row


def _let_waits_run_out() -> None:
    for row in db.session.scalars(db.select(LoginThrottle)):
        if row.blocked_until is not None:
            row.blocked_until = row.blocked_until - timedelta(hours=1)
    db.session.commit()


def test_failures_from_one_client_make_it_wait_longer_each_time(app: Flask, users: dict[str, int]) -> None:
    attacker = "203.0.113.9"
    for _ in range(5):
        assert "用户名或密码错误。" in _attempt(app, "judge", "not the password", attacker).get_data(as_text=True)
    refused = _attempt(app, "judge", PASSWORD, attacker)  # even the right password waits: nothing is checked
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "30"
    assert "登录失败次数过多，请等待 30秒钟 后再试。" in refused.get_data(as_text=True)
    with app.app_context():
        row = _throttle("account_client", "judge", attacker)
        assert row.failures == 5
        _let_waits_run_out()
    assert _attempt(app, "judge", "wrong again", attacker).status_code == 200
    second = _attempt(app, "judge", PASSWORD, attacker)
    assert second.status_code == 429 and second.headers["Retry-After"] == "60"  # twice as long as before
    with app.app_context():
        assert _throttle("account_client", "judge", attacker).failures == 6
        assert db.session.get(User, users["judge"]).last_login_at is None  # never got in


def test_owner_logs_in_from_the_usual_client_while_an_attacker_hammers_the_account(
    app: Flask, users: dict[str, int]
) -> None:
    owner = "198.51.100.7"
    assert _attempt(app, "judge", PASSWORD, owner).status_code == 302  # the client the owner usually uses
    for _ in range(25):  # one address, far beyond every allowance
        _attempt(app, "judge", "guess", "203.0.113.9")
    for number in range(12):  # and many addresses, one guess each
        _attempt(app, "judge", "guess", f"192.0.2.{number + 1}")
    assert _attempt(app, "judge", PASSWORD, "203.0.113.9").status_code == 429
    assert _attempt(app, "judge", PASSWORD, "192.0.2.200").status_code == 429  # an unfamiliar address waits
    owner_login = _attempt(app, "judge", PASSWORD, owner)
    assert owner_login.status_code == 302 and owner_login.headers["Location"] == "/judge/"
    with app.app_context():
        # attempts refused while waiting are not counted: each scope stopped at its allowance
        assert _throttle("account", "judge", "").failures == 10
        assert _throttle("client", "", "203.0.113.9").failures == 5
        assert db.session.get(User, users["judge"]).usual_client == owner


def test_a_wait_looks_the_same_for_an_account_that_does_not_exist(app: Flask, users: dict[str, int]) -> None:
    for username in ("judge", "no-such-judge"):
        for _ in range(5):
            _attempt(app, username, "not the password", "203.0.113.9")
        refused = _attempt(app, username, PASSWORD, "203.0.113.9")
        assert refused.status_code == 429
        assert "登录失败次数过多，请等待 30秒钟 后再试。" in refused.get_data(as_text=True)


def test_many_accounts_from_one_client_make_the_client_wait(app: Flask, users: dict[str, int]) -> None:
    for number in range(20):
        _attempt(app, f"user{number}", "guess", "203.0.113.50")
    assert _attempt(app, "entrant-a", PASSWORD, "203.0.113.50").status_code == 429
    assert _attempt(app, "entrant-a", PASSWORD, "203.0.113.51").status_code == 302  # other addresses are not


def test_a_successful_login_resets_the_count_of_its_client(app: Flask, users: dict[str, int]) -> None:
    for _ in range(4):
        _attempt(app, "judge", "not the password", "198.51.100.7")
    assert _attempt(app, "judge", PASSWORD, "198.51.100.7").status_code == 302
    for _ in range(4):
        _attempt(app, "judge", "not the password", "198.51.100.7")
    assert _attempt(app, "judge", PASSWORD, "198.51.100.7").status_code == 302  # 4 + 4 never made 5 in a row


def test_organizer_sees_and_clears_a_throttle(app: Flask, client_for, users: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    for _ in range(5):
        _attempt(app, "entrant-b", "not the password", "203.0.113.77")
    assert _attempt(app, "entrant-b", PASSWORD, "203.0.113.77").status_code == 429
    organizer = client_for("organizer")
    assert "/organizer/users/throttles" in organizer.get("/organizer/users").get_data(as_text=True)
    page = organizer.get("/organizer/users/throttles").get_data(as_text=True)
    assert "登录失败与限制" in page
    with app.app_context():
        row_id = _throttle("account_client", "entrant-b", "203.0.113.77").id
    row = page[page.index(f'data-throttle="{row_id}"') :]
    row = row[: row.index("</tr>")]
    assert "entrant-b" in row and "203.0.113.77" in row and "<td>5</td>" in row and "该账号从此地址" in row
    assert judge_cannot_clear(app, row_id)
    token = csrf_token(organizer, "/organizer/users/throttles")
    cleared = organizer.post(f"/organizer/users/throttles/{row_id}/clear", data={"csrf_token": token})
    assert cleared.status_code == 302
    assert organizer.post(f"/organizer/users/throttles/{row_id}/clear", data={"csrf_token": token}).status_code == 404
    assert _attempt(app, "entrant-b", PASSWORD, "203.0.113.77").status_code == 302
    with app.app_context():
        event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "login_throttle.clear"))
        assert event.data["username"] == "entrant-b" and event.data["failures"] == 5


def judge_cannot_clear(app: Flask, row_id: int) -> bool:
    judge = app.test_client()
    log_in(judge, "judge")
    token = csrf_token(judge, "/judge/")
    refused = judge.post(f"/organizer/users/throttles/{row_id}/clear", data={"csrf_token": token})
    with app.app_context():
        still_there = db.session.get(LoginThrottle, row_id) is not None
    return refused.status_code == 403 and still_there


def test_a_new_invitation_clears_the_throttles_of_the_account(app: Flask, client_for, users: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    for _ in range(5):
        log_in(app.test_client(), "entrant-b", "not the password")
    organizer = client_for("organizer")
    page = organizer.post(
        f"/organizer/users/{users['entrant-b']}/invitation",
        data={"csrf_token": csrf_token(organizer, "/organizer/users")},
    ).get_data(as_text=True)
    path = re.search(r'id="invitation-link">([^<]+)<', page).group(1).split("judging.test", 1)[1]
    invitee = app.test_client()
    invitee.post(
        path,
        data={"password": "fresh-river-2231", "confirm": "fresh-river-2231", "csrf_token": csrf_token(invitee, path)},
    )
    assert log_in(app.test_client(), "entrant-b", "fresh-river-2231").headers["Location"] == "/entrant/"


def test_a_session_cookie_copied_before_logout_stops_working(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    judge = client_for("judge")
    stolen = app.test_client()
    cookie = judge.get_cookie("session", domain="judging.test")
    stolen.set_cookie("session", cookie.value, domain="judging.test")
    assert stolen.get("/judge/").status_code == 200  # the copy works while the owner is logged in
    judge.post("/logout", data={"csrf_token": csrf_token(judge, "/judge/")})
    assert stolen.get("/judge/").status_code == 302
    assert stolen.get("/judge/").headers["Location"].startswith("/login")


def test_a_cookie_copied_before_deactivation_stops_working(app: Flask, client_for, users: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    entrant = client_for("entrant-a")
    stolen = app.test_client()
    stolen.set_cookie("session", entrant.get_cookie("session", domain="judging.test").value, domain="judging.test")
    organizer = client_for("organizer")
    organizer.post(
        f"/organizer/users/{users['entrant-a']}/active",
        data={"csrf_token": csrf_token(organizer, "/organizer/users"), "confirmed": "1"},
    )
    assert stolen.get("/entrant/").status_code == 302
    assert entrant.get("/entrant/").status_code == 302


def test_easily_guessed_passwords_are_refused_with_a_message(app: Flask, client_for, users: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    organizer = client_for("organizer")
    page = organizer.post(
        f"/organizer/users/{users['entrant-b']}/invitation",
        data={"csrf_token": csrf_token(organizer, "/organizer/users")},
    ).get_data(as_text=True)
    path = re.search(r'id="invitation-link">([^<]+)<', page).group(1).split("judging.test", 1)[1]
    invitee = app.test_client()
    token = csrf_token(invitee, path)
    with app.app_context():
        before = _user("entrant-b").password_hash
    for weak in ("aaaaaaaaaa", "password123", "qwertyuiop", "1q2w3e4r5t", "iloveyou12", "zhang123456"):
        answer = invitee.post(path, data={"password": weak, "confirm": weak, "csrf_token": token})
        assert answer.status_code == 200
        assert "该密码太容易被猜到。" in answer.get_data(as_text=True), weak
    english = invitee.post(
        path + "?lang=en", data={"password": "aaaaaaaaaa", "confirm": "aaaaaaaaaa", "csrf_token": token}
    )
    assert "This password is too easy to guess." in english.get_data(as_text=True)
    with app.app_context():
        assert _user("entrant-b").password_hash == before  # nothing stored
    assert invitee.get(path).status_code == 200  # the link still works for a good password

    judge = client_for("judge")
    token = csrf_token(judge, "/account/password")
    refused = judge.post(
        "/account/password",
        data={"current": PASSWORD, "password": "abcdefghij", "confirm": "abcdefghij", "csrf_token": token},
    )
    assert "该密码太容易被猜到。" in refused.get_data(as_text=True)
    assert log_in(app.test_client(), "judge", PASSWORD).status_code == 302  # the old password still works
