"""Upload benchmark: a ~1 GiB video through the app, served by a real server process on 127.0.0.1.

Run from the project root: ``.venv/bin/python bench/upload.py [--frames N]``.

What it does:
1. generates a real video of about 1 GiB (uncompressed 1920×1080 4:2:2 frames in a QuickTime container,
   made by the bundled ffmpeg in a few seconds) in a scratch folder on the project's disk;
2. starts the app in a separate server process (werkzeug, threaded, SQLite, uploads on the same disk),
   with an open micro-video contest, an entrant account and a draft entry;
3. logs in and uploads the file through the entry page's upload route as one streamed multipart POST,
   while sampling the server process's resident memory (``/proc/PID/status`` VmRSS, every 20 ms);
4. copies the same file with ``shutil.copyfile`` on the same disk, as the yardstick.

Target (issue 3): the server's memory grows by at most 64 MiB, and the upload's throughput is at least
half that of the plain copy. The upload's time is the whole request: receiving the body (werkzeug
spools it to a temporary file), streaming it into storage with sha256, checking the type by content,
probing, the thumbnail, and the metadata-free copy that judges receive.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

PASSWORD = "correct horse battery staple"
BOUNDARY = "----judging-bench-boundary"


def serve(workdir: Path, port_file: Path) -> None:
    """Server process: a fresh app with one open contest, an entrant and its draft; serve until killed."""
    from werkzeug.serving import make_server

    from judging import create_app
    from judging.extensions import db
    from judging.models import Contest, Organization, Phase, Role
    from judging.rubric import load_rubric_directory
    from judging.services import accounts, contests, entries, organizations

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.sqlite3'}",
            "INSTANCE_PATH": str(workdir / "instance"),
            "UPLOAD_FOLDER": str(workdir / "uploads"),
            "SECRET_KEY": "bench",
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        db.create_all()
        organizations.seed_organizations(
            db.session, organizations.read_organization_file(ROOT / "data" / "organizations.toml")
        )
        for rubric in load_rubric_directory(ROOT / "rubrics"):
            contests.sync_rubric(db.session, None, rubric, edition="bench")
        contest = db.session.scalar(db.select(Contest).where(Contest.slug == "micro-video"))
        contests.change_phase(db.session, None, contest, Phase.OPEN)  # type: ignore[arg-type]
        organization = db.session.scalar(db.select(Organization).where(Organization.name == "浦东新区"))
        created = accounts.create_account(
            db.session, None, username="bench", display_name="bench", role=Role.ENTRANT, organization=organization
        )
        accounts.accept_invitation(db.session, created.invitation_token, PASSWORD)
        entry = entries.create_draft(db.session, created.user, contest, title="bench", fields={"theme": "bench"})
        db.session.commit()
        entry_id = entry.id
    server = make_server("127.0.0.1", 0, app, threaded=True)
    port_file.write_text(f"{server.server_port} {entry_id}")
    server.serve_forever()


class MultipartBody:
    """A multipart/form-data body read from disk in 1 MiB blocks: the client holds no more than that."""

    def __init__(self, token: str, path: Path):
        self.head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
            "Content-Type: video/quicktime\r\n\r\n"
        ).encode()
        self.tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        self.size = path.stat().st_size
        self.file = path.open("rb")

    def __len__(self) -> int:
        return len(self.head) + self.size + len(self.tail)

    def __iter__(self):  # type: ignore[no-untyped-def]
        yield self.head
        while block := self.file.read(1024 * 1024):
            yield block
        yield self.tail
        self.file.close()


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) if match else 0


def make_video(target: Path, frames: int) -> None:
    from judging.media import ffmpeg_executable

    subprocess.run(
        [
            ffmpeg_executable(), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=25",
            "-frames:v", str(frames), "-c:v", "rawvideo", "-pix_fmt", "uyvy422", "-f", "mov", str(target),
        ],
        check=True,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=255, help="1920×1080 4:2:2 frames (255 ≈ 1009 MiB)")
    parser.add_argument("--serve", nargs=2, metavar=("WORKDIR", "PORT_FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve[0]), Path(args.serve[1]))
        return

    (ROOT / "build").mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="bench-upload-", dir=ROOT / "build"))
    server = None
    try:
        video = workdir / "bench-1gib.mov"
        started = time.perf_counter()
        make_video(video, args.frames)
        size = video.stat().st_size
        print(f"video: {size / 2**20:.0f} MiB, generated in {time.perf_counter() - started:.1f} s")

        port_file = workdir / "port"
        env = {**os.environ, "TMPDIR": str(workdir)}  # werkzeug spools the body on the same disk
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(workdir), str(port_file)], env=env, cwd=ROOT
        )
        while not port_file.exists() or not port_file.read_text():
            if server.poll() is not None:
                raise SystemExit("the server process ended before it started serving")
            time.sleep(0.1)
        port, entry_id = port_file.read_text().split()
        base = f"http://127.0.0.1:{port}"

        client = requests.Session()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get(f"{base}/login").text)
        assert token, "no CSRF token on the login page"
        client.post(f"{base}/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token.group(1)})
        page = client.get(f"{base}/entrant/entries/{entry_id}").text  # also warms up templates
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token, "not logged in: no upload form"

        baseline = rss_kib(server.pid)
        peak = [baseline]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], rss_kib(server.pid))
                time.sleep(0.02)

        def timed_upload(mode: str) -> tuple[float, int, dict]:
            """Upload the video as the browser does (``raw``: the file is the body) or as the no-script
            form does (``multipart``); return the seconds, the server's peak RSS (KiB) and the answer."""
            peak[0] = rss_kib(server.pid)
            done.clear()
            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            url = f"{base}/entrant/entries/{entry_id}/upload"
            started = time.perf_counter()
            if mode == "raw":
                with video.open("rb") as stream:  # requests streams a file object in blocks
                    response = client.post(
                        url,
                        data=stream,
                        headers={
                            "Content-Type": "application/octet-stream",
                            "X-File-Name": video.name,
                            "X-CSRFToken": token.group(1),
                            "X-Requested-With": "XMLHttpRequest",
                        },
                    )
            else:
                response = client.post(
                    url,
                    data=MultipartBody(token.group(1), video),  # has a length: read from disk block by block
                    headers={
                        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                        "X-Requested-With": "XMLHttpRequest",
                    },
                )
            seconds = time.perf_counter() - started
            done.set()
            sampler.join()
            assert response.headers.get("Content-Type", "").startswith("application/json"), (
                response.status_code,
                response.text[-600:],
            )
            answer = response.json()
            assert response.status_code == 200 and answer["ok"], answer
            return seconds, peak[0], answer

        runs = {mode: timed_upload(mode) for mode in ("raw", "multipart")}
        copy_target = workdir / "plain-copy.mov"
        started = time.perf_counter()
        shutil.copyfile(video, copy_target)
        copy_seconds = time.perf_counter() - started

        copy_rate = size / 2**20 / copy_seconds
        print(f"server RSS baseline {baseline / 1024:.1f} MiB; plain copy: {copy_seconds:.2f} s, {copy_rate:.0f} MiB/s")
        for mode, (seconds, peak_kib, answer) in runs.items():
            growth_mib = (peak_kib - baseline) / 1024
            rate = size / 2**20 / seconds
            print(
                f"{mode:9} upload: {seconds:.2f} s, {rate:.0f} MiB/s = {rate / copy_rate:.2f}× the copy; "
                f"server RSS peak {peak_kib / 1024:.1f} MiB (growth {growth_mib:.1f} MiB) — {answer['message']}"
            )
        raw_seconds, raw_peak, _answer = runs["raw"]
        raw_rate = size / 2**20 / raw_seconds
        print(
            f"targets (the browser's raw upload): memory growth ≤ 64 MiB: "
            f"{'yes' if (raw_peak - baseline) / 1024 <= 64 else 'NO'}; "
            f"throughput ≥ ½ plain copy: {'yes' if raw_rate >= copy_rate / 2 else 'NO'} ({raw_rate / copy_rate:.2f}×)"
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
