"""The first run: `flask user create`, the one-time setup link `flask init` prints, the setup page, and the
notice every other page shows while no organiser exists."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select, text, update

from judging.extensions import db
from judging.models import (
    AuditEvent,
    Contest,
    Contestant,
    Entry,
    EntryStatus,
    Organization,
    OrganizationKind,
    Role,
    SetupToken,
    User,
    utcnow,
)
from judging.services import ServiceError, demo, first_run
from tests.conftest import CSRF_FIELD, PASSWORD, ROOT, csrf_token, log_in, make_test_app

BASE = "https://awards.example.org"
SETUP_LINK = re.compile(re.escape(BASE) + r"/setup/([A-Za-z0-9_-]{40,})")
STRONG = "violet kettle marching 42"


def _drop_everything(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("DROP SCHEMA public CASCADE"))
            db.session.execute(text("CREATE SCHEMA public"))
            db.session.commit()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def fresh_install(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """An app on an empty database, with the not-set-up notice on, as a fresh install runs, for a city whose
    organisations file does not list the organiser's own office (the setup names it: there is only one)."""
    districts_only = tmp_path / "districts.toml"
    districts_only.write_text('[[organizations]]\nname = "姑苏区"\nkind = "district"\n', encoding="utf-8")
    app = make_test_app(
        database_url, tmp_path, PUBLIC_BASE_URL=BASE, FIRST_RUN_NOTICE=True, ORGANIZATIONS_FILE=str(districts_only)
    )
    _drop_everything(app)
    yield app
    _drop_everything(app)


def _init(app: Flask) -> str:
    result = app.test_cli_runner().invoke(args=["init"])
    assert result.exit_code == 0, result.output
    match = SETUP_LINK.search(result.output)
    assert match, result.output
    return match.group(1)


def _counts(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(User)) or 0,
            db.session.scalar(select(func.count()).select_from(Organization)) or 0,
            db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
        )


def _setup_form(**changes: str) -> dict[str, str]:
    form = {
        "display_name": "王主任",
        "username": "chief",
        "organization": "",
        "new_organization": "苏州市委网信办",
        "password": STRONG,
        "confirm": STRONG,
    }
    form.update(changes)
    return form


# --- flask user create ---------------------------------------------------------------------------------


def test_user_create_asks_the_password_twice_and_the_account_logs_in(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=[
            "user",
            "create",
            "--role",
            "organizer",
            "--username",
            "boss",
            "--name",
            "李四",
            "--organization",
            "市委网信办",
        ],
        input=f"{STRONG}\n{STRONG}\n",
    )
    assert result.exit_code == 0, result.output
    assert "Account boss (organizer) created; it can log in now." in result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "boss"))
        assert user is not None and user.role is Role.ORGANIZER and user.organization.name == "市委网信办"
        assert STRONG not in (user.password_hash or "")
        event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert event is not None and event.action == "account.create"
    client = app.test_client()
    assert log_in(client, "boss", STRONG).headers["Location"].endswith("/organizer/")


def test_user_create_reads_a_password_file(app: Flask, tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text(STRONG + "\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(
        args=[
            "user",
            "create",
            "--role",
            "judge",
            "--username",
            "expert9",
            "--name",
            "Expert",
            "--password-file",
            str(secret),
        ]
    )
    assert result.exit_code == 0, result.output
    assert log_in(app.test_client(), "expert9", STRONG).status_code == 302


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["--role", "organizer", "--username", "boss", "--name", "X"], "short", "10"),
        (["--role", "organizer", "--username", "boss", "--name", "X"], "password123", "太容易被猜到"),
        (["--role", "organizer", "--username", "b", "--name", "X"], STRONG, "3"),
        (
            ["--role", "organizer", "--username", "boss", "--name", "X", "--organization", "不存在的单位"],
            STRONG,
            "不存在的单位",
        ),
        (
            ["--role", "organizer", "--username", "boss", "--name", "X", "--organization", "浦东新区"],
            STRONG,
            "not an organiser",
        ),
        (["--role", "entrant", "--username", "boss", "--name", "X"], STRONG, ""),
        (["--role", "organizer", "--username", "boss", "--name", "  "], STRONG, ""),
    ],
)
def test_user_create_refuses_bad_input_and_writes_nothing(
    app: Flask, tmp_path: Path, args: list[str], password: str, message: str
) -> None:
    secret = tmp_path / "pw"
    secret.write_text(password, encoding="utf-8")
    before = _counts(app)
    result = app.test_cli_runner().invoke(args=["user", "create", *args, "--password-file", str(secret)])
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert _counts(app) == before


def test_user_create_refuses_a_taken_username(app: Flask, users: dict[str, int], tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text(STRONG, encoding="utf-8")
    before = _counts(app)
    result = app.test_cli_runner().invoke(
        args=["user", "create", "--role", "judge", "--username", "judge", "--name", "J", "--password-file", str(secret)]
    )
    assert result.exit_code == 1 and _counts(app) == before


def test_user_create_with_two_different_passwords_creates_nothing(app: Flask) -> None:
    before = _counts(app)
    result = app.test_cli_runner().invoke(
        args=["user", "create", "--role", "organizer", "--username", "boss", "--name", "X"],
        input=f"{STRONG}\n{STRONG}x\n",
    )
    assert result.exit_code != 0
    assert _counts(app) == before


# --- the setup link and page ----------------------------------------------------------------------------


def test_fresh_install_shows_the_not_set_up_notice_everywhere_but_setup_and_health(fresh_install: Flask) -> None:
    token = _init(fresh_install)
    client = fresh_install.test_client()
    for url in ("/", "/login", "/organizer/", "/results", "/lang/en?next=/"):
        response = client.get(url, follow_redirects=True)
        assert response.status_code == 503, url
        page = response.get_data(as_text=True)
        assert "flask user create --role organizer" in page and "flask init" in page
        assert 'name="password"' not in page  # no login form that can never succeed
    assert "This service is not set up yet" in page  # the language switch still works
    assert client.get("/healthz").status_code == 200
    assert client.get(f"/setup/{token}").status_code == 200
    zh = fresh_install.test_client().get("/")
    assert "尚未" in zh.get_data(as_text=True)


def test_setup_link_is_printed_from_public_base_url_and_stored_hashed(fresh_install: Flask) -> None:
    token = _init(fresh_install)
    with fresh_install.app_context():
        stored = db.session.scalars(select(SetupToken)).all()
        assert len(stored) == 1 and stored[0].token_hash != token and token not in stored[0].token_hash
        assert timedelta(hours=23) < stored[0].expires_at - utcnow() <= timedelta(hours=24)
    again = _init(fresh_install)  # a new link replaces the old one
    client = fresh_install.test_client()
    assert client.get(f"/setup/{token}").status_code == 404
    assert client.get(f"/setup/{again}").status_code == 200


def test_setup_creates_the_first_organiser_with_a_new_organisation_and_logs_in(fresh_install: Flask) -> None:
    token = _init(fresh_install)
    client = fresh_install.test_client()
    form = _setup_form(csrf_token=csrf_token(client, f"/setup/{token}"))
    response = client.post(f"/setup/{token}", data=form)
    assert response.status_code == 302 and response.headers["Location"].endswith("/organizer/"), re.findall(
        r"(?:invalid-feedback|alert)[^>]*>(.*?)</div>", response.get_data(as_text=True), re.S
    )
    dashboard = client.get("/organizer/")
    assert dashboard.status_code == 200 and "王主任" in dashboard.get_data(as_text=True)
    with fresh_install.app_context():
        user = db.session.scalar(select(User).where(User.username == "chief"))
        assert user is not None and user.role is Role.ORGANIZER
        assert user.organization.name == "苏州市委网信办" and user.organization.kind is OrganizationKind.ORGANIZER
        assert db.session.scalar(select(SetupToken.used_at)) is not None
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions[-3:] == ["organization.create", "account.create", "setup.complete"]
    # The link is dead now, also for a visitor without the session, and init prints no new one.
    assert fresh_install.test_client().get(f"/setup/{token}").status_code == 404
    assert fresh_install.test_client().get("/").status_code == 200
    result = fresh_install.test_cli_runner().invoke(args=["init"])
    assert result.exit_code == 0 and "/setup/" not in result.output


def test_setup_with_an_existing_organiser_organisation(fresh_install: Flask) -> None:
    fresh_install.config["ORGANIZATIONS_FILE"] = str(ROOT / "data" / "organizations.toml")  # lists 市委网信办
    token = _init(fresh_install)
    client = fresh_install.test_client()
    page = client.get(f"/setup/{token}").get_data(as_text=True)
    with fresh_install.app_context():
        office = db.session.scalar(select(Organization).where(Organization.kind == OrganizationKind.ORGANIZER))
        district = db.session.scalar(select(Organization).where(Organization.kind == OrganizationKind.DISTRICT))
        assert office is not None and district is not None
        office_id, office_name, district_id = office.id, office.name, district.id
    assert office_name in page and ">浦东新区<" not in page
    token_value = CSRF_FIELD.search(page)
    assert token_value
    # A district is not an organiser organisation: refused, nothing written, the link still works.
    before = _counts(fresh_install)
    refused = client.post(
        f"/setup/{token}",
        data=_setup_form(organization=str(district_id), new_organization="", csrf_token=token_value.group(1)),
    )
    assert refused.status_code == 200 and _counts(fresh_install) == before
    with fresh_install.app_context():
        assert db.session.scalar(select(SetupToken.used_at)) is None
    done = client.post(
        f"/setup/{token}",
        data=_setup_form(organization=str(office_id), new_organization="", csrf_token=token_value.group(1)),
    )
    assert done.status_code == 302
    with fresh_install.app_context():
        assert db.session.scalar(select(User.organization_id).where(User.username == "chief")) == office_id


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"password": "password123", "confirm": "password123"}, "easy to guess"),
        ({"confirm": "something else 99"}, "differ"),
        ({"username": "x"}, "3 to 40"),
        ({"new_organization": ""}, "Choose the organiser"),
        ({"display_name": ""}, "This field is required"),
    ],
)
def test_setup_refuses_bad_input_and_keeps_the_link(
    fresh_install: Flask, changes: dict[str, str], message: str
) -> None:
    token = _init(fresh_install)
    client = fresh_install.test_client()
    client.get("/lang/en")
    before = _counts(fresh_install)
    response = client.post(
        f"/setup/{token}", data=_setup_form(csrf_token=csrf_token(client, f"/setup/{token}"), **changes)
    )
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert _counts(fresh_install) == before
    with fresh_install.app_context():
        assert db.session.scalar(select(SetupToken.used_at)) is None


def test_setup_refuses_a_post_without_csrf(fresh_install: Flask) -> None:
    token = _init(fresh_install)
    before = _counts(fresh_install)
    response = fresh_install.test_client().post(f"/setup/{token}", data=_setup_form())
    assert response.status_code in (200, 400)
    assert _counts(fresh_install) == before


def test_setup_refuses_wrong_expired_and_used_tokens(fresh_install: Flask) -> None:
    token = _init(fresh_install)
    client = fresh_install.test_client()
    wrong = client.get(f"/setup/{token[:-2]}xx")
    assert wrong.status_code == 404 and "not valid" in fresh_install.test_client().get(
        f"/setup/{token}x?lang=en"
    ).get_data(as_text=True)
    form = _setup_form(csrf_token=csrf_token(client, f"/setup/{token}"))
    with fresh_install.app_context():
        db.session.execute(update(SetupToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert client.get(f"/setup/{token}").status_code == 404
    before = _counts(fresh_install)
    posted = client.post(f"/setup/{token}", data=form)
    assert posted.status_code == 404 and _counts(fresh_install) == before


def test_setup_after_an_organiser_exists_is_dead(fresh_install: Flask, tmp_path: Path) -> None:
    token = _init(fresh_install)
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD, encoding="utf-8")
    made = fresh_install.test_cli_runner().invoke(
        args=[
            "user",
            "create",
            "--role",
            "organizer",
            "--username",
            "boss",
            "--name",
            "B",
            "--password-file",
            str(secret),
        ]
    )
    assert made.exit_code == 0, made.output
    client = fresh_install.test_client()
    response = client.get(f"/setup/{token}?lang=en")
    assert response.status_code == 404 and "already set up" in response.get_data(as_text=True)
    with fresh_install.app_context():
        with pytest.raises(ServiceError):
            first_run.complete_setup(
                db.session,
                token,
                username="other",
                display_name="O",
                password=STRONG,
                organization_id=None,
                new_organization="X",
            )
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_concurrent_setups_with_one_link_only_one_wins(fresh_install: Flask) -> None:
    token = _init(fresh_install)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def set_up(username: str) -> None:
        with fresh_install.app_context():
            barrier.wait()
            try:
                first_run.complete_setup(
                    db.session,
                    token,
                    username=username,
                    display_name=username,
                    password=STRONG,
                    organization_id=None,
                    new_organization=f"{username} office",
                )
                db.session.commit()
                outcomes[username] = "created"
            except ServiceError:
                db.session.rollback()
                outcomes[username] = "refused"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=set_up, args=(name,)) for name in ("alpha", "bravo")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes.values()) == ["created", "refused"]
    with fresh_install.app_context():
        organisers = db.session.scalars(select(User.username).where(User.role == Role.ORGANIZER)).all()
        assert len(organisers) == 1
        assert (
            db.session.scalar(select(func.count()).select_from(Organization).where(Organization.name.like("% office")))
            == 1
        )


# --- the demo from any organisations file ------------------------------------------------------------------

SUZHOU = """
[[organizations]]
name = "苏州市委网信办"
kind = "organizer"
[[organizations]]
name = "姑苏区"
kind = "district"
aliases = ["姑苏", "Gusu"]
[[organizations]]
name = "虎丘区"
kind = "district"
aliases = ["Huqiu"]
[[organizations]]
name = "吴中区"
kind = "district"
[[organizations]]
name = "苏州市教育局"
kind = "industry"
[[organizations]]
name = "苏州工业园区管委会"
kind = "industry"
[[organizations]]
name = "苏州轨道交通集团有限公司"
kind = "company"
[[organizations]]
name = "苏州银行股份有限公司"
kind = "company"
[[organizations]]
name = "姑苏区平江街道"
kind = "grassroots"
parent = "姑苏区"
"""


def test_init_demo_works_with_another_citys_organisations(database_url: str, tmp_path: Path) -> None:
    organisations = tmp_path / "suzhou.toml"
    organisations.write_text(SUZHOU, encoding="utf-8")
    app = make_test_app(database_url, tmp_path, ORGANIZATIONS_FILE=str(organisations))
    _drop_everything(app)
    try:
        result = app.test_cli_runner().invoke(args=["init", "--demo"])
        assert result.exit_code == 0, result.output
        assert "9 organisations added" in result.output
        logins = re.findall(r"^  (\w+)\s+(\S+)\s+(\S*)$", result.output, flags=re.M)
        assert ("organizer", "organizer", "苏州市委网信办") in logins
        assert ("entrant", "entrant-gusu", "姑苏区") in logins
        assert ("entrant", "entrant-huqiu", "虎丘区") in logins
        assert ("entrant", "entrant-3", "吴中区") in logins  # no latin alias: numbered
        assert ("entrant", "entrant-unit1", "姑苏区平江街道") in logins  # the file's own grassroots unit
        assert ("judge", "judge5", "姑苏区") in logins
        with app.app_context():
            micro = db.session.scalar(select(Contest).where(Contest.slug == "micro-video"))
            assert micro is not None and micro.submission_deadline is not None
            videos = db.session.scalars(select(Entry).where(Entry.contest_id == micro.id)).all()
            assert sorted(e.organization.name for e in videos) == sorted(
                ["姑苏区", "虎丘区", "吴中区", "苏州市教育局", "苏州工业园区管委会"]
            )
            # Submitted before the deadline, every one of them.
            assert all(e.status is EntryStatus.SUBMITTED and e.submitted_at < micro.submission_deadline for e in videos)
            cases = db.session.scalar(select(Contest).where(Contest.slug == "exemplary-cases"))
            assert cases is not None
            case_units = {
                e.organization.name for e in db.session.scalars(select(Entry).where(Entry.contest_id == cases.id))
            }
            assert case_units == {"姑苏区平江街道", "虎丘区社区网安服务站"}
            teams = {c.organization.name for c in db.session.scalars(select(Contestant))}
            assert teams == {"苏州轨道交通集团有限公司", "苏州银行股份有限公司"}
            assert not db.session.scalar(
                select(func.count()).select_from(Organization).where(Organization.name.like("%上海%"))
            )
        for username in ("organizer", "entrant-gusu", "judge1", "entrant-unit1"):
            client = app.test_client()
            assert log_in(client, username, demo.DEMO_PASSWORD).status_code == 302, username
        assert app.test_cli_runner().invoke(args=["audit", "verify"]).exit_code == 0
    finally:
        _drop_everything(app)


def test_init_demo_refuses_a_file_without_entrant_organisations(database_url: str, tmp_path: Path) -> None:
    organisations = tmp_path / "only-office.toml"
    organisations.write_text('[[organizations]]\nname = "杭州市委网信办"\nkind = "organizer"\n', encoding="utf-8")
    app = make_test_app(database_url, tmp_path, ORGANIZATIONS_FILE=str(organisations))
    _drop_everything(app)
    try:
        result = app.test_cli_runner().invoke(args=["init", "--demo"])
        assert result.exit_code == 1
        assert "at least one organisation that may enter the micro-video contest" in result.output
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(User)) == 0
            assert db.session.scalar(select(func.count()).select_from(Entry)) == 0
    finally:
        _drop_everything(app)
