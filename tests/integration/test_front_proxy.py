"""Debian's nginx in front of gunicorn, configured by deploy/: slow clients no longer stall the site.

Issue 15: two clients trickling a login body stalled the site for 30 s under plain gunicorn (a sync
worker reads the body itself). nginx with request buffering reads the body first; gunicorn sees only
complete requests. The test runs both set-ups with one sync worker and measures a plain request sent
while two slow clients trickle.
"""

from __future__ import annotations

import getpass
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.harness import Browser, GunicornServer, create_schema, server_env
from judging.config import settings_from_environment
from tests.conftest import IN_CI, ROOT

DEPLOY = ROOT / "deploy"
TRICKLE_SECONDS = 10.0
PATIENCE = 5.0  # how long the measured request may take before it counts as stalled


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _nginx_binary() -> str:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        if IN_CI:
            pytest.fail("nginx is not installed (scripts/system-packages.sh), and CI must test with it")
        pytest.skip("nginx is not installed: run `make install` as root")
    return binary


def test_body_size_matches_max_upload_mb() -> None:
    shipped = (DEPLOY / "judging-proxy.conf").read_text(encoding="utf-8")
    size = re.search(r"^client_max_body_size (\d+)m;", shipped, re.MULTILINE)
    assert size is not None
    default = settings_from_environment(ROOT / "instance")["MAX_CONTENT_LENGTH"]
    assert int(size.group(1)) * 1024 * 1024 == default
    assert "proxy_request_buffering on;" in shipped
    assert "include /etc/nginx/judging-proxy.conf;" in (DEPLOY / "nginx.conf").read_text(encoding="utf-8")


def _start_nginx(workdir: Path, upstream_port: int) -> tuple[subprocess.Popen[bytes], int]:
    """nginx under ``workdir`` (prefix, pid, logs, temp files), listening on a free port, with deploy/'s
    proxy settings and plain HTTP (TLS is the site file's business, not what is measured here)."""
    binary = _nginx_binary()
    port = _free_port()
    workdir.mkdir()
    (workdir / "main.conf").write_text(
        f"""
user {getpass.getuser()};
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {workdir}/access.log;
    client_body_temp_path {workdir}/client_body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    upstream judging {{ server 127.0.0.1:{upstream_port}; keepalive 4; }}
    server {{
        listen 127.0.0.1:{port};
        include {DEPLOY / "judging-proxy.conf"};
    }}
}}
""",
        encoding="utf-8",
    )
    command = [binary, "-p", str(workdir), "-c", str(workdir / "main.conf"), "-e", str(workdir / "error.log")]
    subprocess.run([*command, "-t", "-q"], check=True, capture_output=True, timeout=30)
    with (workdir / "stderr.log").open("wb") as output:
        process = subprocess.Popen([*command, "-g", "daemon off;"], stdout=output, stderr=output)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, port
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"nginx exited; see {workdir}/stderr.log and error.log") from None
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("nginx did not listen within 20 s")


def _trickle(port: int, stop: threading.Event) -> None:
    """A slow client: a login POST whose body comes one byte at a time, for TRICKLE_SECONDS."""
    body = b"username=x&password=" + b"y" * 40
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        head = "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        connection.sendall(f"{head}Content-Length: {len(body)}\r\n\r\n".encode())
        pause = TRICKLE_SECONDS / len(body)
        for byte in body:
            if stop.wait(pause):
                return
            try:
                connection.sendall(bytes([byte]))
            except OSError:
                return


def _seconds_for_a_plain_request_while_two_trickle(port: int) -> float:
    """How long GET /healthz takes while two slow clients trickle (PATIENCE + 1 when it never came)."""
    stop = threading.Event()
    slow = [threading.Thread(target=_trickle, args=(port, stop), daemon=True) for _ in range(2)]
    for thread in slow:
        thread.start()
    time.sleep(0.5)  # both are connected and sending
    started = time.monotonic()
    browser = Browser(f"http://127.0.0.1:{port}", timeout=PATIENCE)
    try:
        answer = browser.get("/healthz")
        seconds = time.monotonic() - started if answer.status == 200 else PATIENCE + 1
    except OSError:  # timed out: the only worker is busy reading a slow body
        seconds = PATIENCE + 1
    finally:
        browser.close()
    stop.set()
    for thread in slow:
        thread.join(timeout=10)
    return seconds


@pytest.fixture
def gunicorn_one_worker(tmp_path: Path) -> Iterator[GunicornServer]:
    database = f"sqlite:///{tmp_path / 'proxy.sqlite3'}"
    create_schema(database, tmp_path)
    server = GunicornServer(server_env(database, tmp_path), workers=1, log=tmp_path / "gunicorn.log")
    server.start()
    yield server
    server.close()


@pytest.mark.slow
def test_two_slow_clients_stall_plain_gunicorn_but_not_gunicorn_behind_nginx(
    gunicorn_one_worker: GunicornServer, tmp_path: Path
) -> None:
    direct = _seconds_for_a_plain_request_while_two_trickle(gunicorn_one_worker.port)
    time.sleep(TRICKLE_SECONDS)  # the worker finishes with the slow bodies before the second measurement
    nginx, port = _start_nginx(tmp_path / "nginx", gunicorn_one_worker.port)
    try:
        proxied = _seconds_for_a_plain_request_while_two_trickle(port)
        browser = Browser(f"http://127.0.0.1:{port}")
        assert browser.get("/login").status == 200  # pages pass through as usual
        browser.close()
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
    assert direct > PATIENCE, f"plain gunicorn answered in {direct:.2f} s while two clients trickled"
    assert proxied < PATIENCE / 2, f"behind nginx the request took {proxied:.2f} s"
