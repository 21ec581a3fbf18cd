"""Upload benchmark: a ~1 GiB video through the app, served as deployed (gunicorn) on 127.0.0.1.

Run from the project root: ``.venv/bin/python bench/upload.py [--rounds N] [--frames N]``.

What it does, in one run:
1. generates a real video of about 1 GiB (uncompressed 1920×1080 4:2:2 frames in a QuickTime container,
   made by the bundled ffmpeg in a few seconds) in a scratch folder on the project's disk;
2. builds a fresh instance there (SQLite, uploads on the same disk) with an open micro-video contest, an
   entrant account and its draft, and serves it with ``gunicorn app:app`` as the README's deployment
   section does (4 sync workers, ``--preload``);
3. logs in through the login form, runs one unrecorded round (see below) and, ``--rounds`` times, in turn:
   - copies the file with ``shutil.copyfile`` on the same disk (the plain copy), and reads how long
     ``fsync`` then takes to put that copy on the disk;
   - uploads the file as the browser's uploader does (the file itself is the body, name and CSRF token in
     headers, sent in 1 MiB blocks) while sampling the resident memory (``VmRSS``, every 20 ms) of every
     gunicorn worker;
4. uploads it once more as the no-script form does (multipart, spooled by werkzeug), for the record.

An upload's time is the whole request: receiving the body, storing it with sha256 and ``fsync``, the
type check by content, probing, the thumbnail, the database row and its commit. Each round's ratio is
taken against that round's copy, so that both share the machine's conditions of that moment; the run
prints the median. The unrecorded first round is there because on a virtual machine the first use
of memory for the page cache is several times slower (the host faults each new page in), and would
fall on whichever ran first. Target (issue 3): memory grows by at most 64 MiB, throughput at least half the plain
copy's.
"""

from __future__ import annotations

import argparse
import http.client
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import ROOT, Browser, GunicornServer, app_for, create_person, create_schema, server_env

BOUNDARY = "----judging-bench-boundary"
BLOCK = 1024 * 1024


def build_instance(workdir: Path) -> int:
    """An open micro-video contest with one entrant (``bench``) and its draft; the draft's id."""
    from judging.extensions import db
    from judging.models import Organization, Phase, Role
    from judging.services import contests, entries

    database_url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    create_schema(database_url, workdir)
    with app_for(database_url, workdir):
        contest = contests.get_contest(db.session, "micro-video")
        contests.change_phase(db.session, None, contest, Phase.OPEN)  # type: ignore[arg-type]
        organization = db.session.scalar(db.select(Organization).where(Organization.name == "浦东新区"))
        entrant = create_person("bench", Role.ENTRANT, organization)
        entry = entries.create_draft(db.session, entrant, contest, title="bench", fields={"theme": "bench"})
        db.session.commit()
        return entry.id


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


def rss_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return 0
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) if match else 0


class MemoryWatch:
    """The largest growth of any one worker's resident memory while the block runs (KiB)."""

    def __init__(self, pids: list[int]):
        self.pids = pids
        self.baseline = {pid: rss_kib(pid) for pid in pids}
        self.growth = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.is_set():
            for pid in self.pids:
                self.growth = max(self.growth, rss_kib(pid) - self.baseline[pid])
            time.sleep(0.02)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join()


class MultipartBody:
    """A multipart/form-data body read from disk in 1 MiB blocks: the client holds no more than that."""

    def __init__(self, token: str, path: Path):
        self.head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
            "Content-Type: video/quicktime\r\n\r\n"
        ).encode()
        self.tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        self.path = path

    def __len__(self) -> int:
        return len(self.head) + self.path.stat().st_size + len(self.tail)

    def __iter__(self):  # type: ignore[no-untyped-def]
        yield self.head
        with self.path.open("rb") as stream:
            while block := stream.read(BLOCK):
                yield block
        yield self.tail


def upload(browser: Browser, entry_id: int, token: str, video: Path, mode: str) -> tuple[float, dict]:
    """One upload on a connection of its own; the seconds and the JSON answer."""
    import json

    host, port = browser.base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=600, blocksize=BLOCK)
    headers = {
        "Cookie": "; ".join(f"{name}={value}" for name, value in browser.cookies.items()),
        "X-Requested-With": "XMLHttpRequest",
    }
    started = time.perf_counter()
    if mode == "raw":
        headers |= {
            "Content-Type": "application/octet-stream",
            "Content-Length": str(video.stat().st_size),
            "X-File-Name": video.name,
            "X-CSRFToken": token,
        }
        with video.open("rb") as body:  # http.client sends a file object in `blocksize` reads
            connection.request("POST", f"/entrant/entries/{entry_id}/upload", body=body, headers=headers)
            answer = connection.getresponse()
            content = answer.read()
    else:
        body = MultipartBody(token, video)
        headers |= {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}", "Content-Length": str(len(body))}
        connection.request("POST", f"/entrant/entries/{entry_id}/upload", body=iter(body), headers=headers)
        answer = connection.getresponse()
        content = answer.read()
    seconds = time.perf_counter() - started
    connection.close()
    assert answer.getheader("Content-Type", "").startswith("application/json"), (answer.status, content[-600:])
    result = json.loads(content)
    assert answer.status == 200 and result["ok"], result
    return seconds, result


def plain_copy(video: Path, target: Path) -> tuple[float, float]:
    """Seconds for ``shutil.copyfile``, and for the copy and its ``fsync``; the copy is deleted."""
    import os

    started = time.perf_counter()
    shutil.copyfile(video, target)
    copied = time.perf_counter() - started
    descriptor = os.open(target, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    synced = time.perf_counter() - started
    target.unlink()
    return copied, synced


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=255, help="1920×1080 4:2:2 frames (255 ≈ 1009 MiB)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of (plain copy, raw upload)")
    args = parser.parse_args()

    (ROOT / "build").mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="bench-upload-", dir=ROOT / "build"))
    try:
        video = workdir / "bench-1gib.mov"
        started = time.perf_counter()
        make_video(video, args.frames)
        mib = video.stat().st_size / 2**20
        print(f"video: {mib:.0f} MiB, generated in {time.perf_counter() - started:.1f} s")
        entry_id = build_instance(workdir)
        env = server_env(f"sqlite:///{workdir / 'bench.sqlite3'}", workdir, MAX_UPLOAD_MB="2048")
        with GunicornServer(env, workers=4, preload=True, log=workdir / "gunicorn.log") as server:
            browser = Browser(server.base_url)
            browser.log_in("bench")
            page = browser.get(f"/entrant/entries/{entry_id}")
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
            assert token, f"not logged in: no upload form ({page.status})"
            # One unrecorded round first: on this virtual machine the first use of memory for the page cache
            # is slow (each new page is faulted in by the host), which would fall on whichever ran first.
            plain_copy(video, workdir / "plain-copy.mov")
            upload(browser, entry_id, token.group(1), video, "raw")
            print("round | copy MiB/s | copy+fsync MiB/s | upload MiB/s | × copy | × copy+fsync | worker RSS growth")
            ratios, durable_ratios, growths = [], [], []
            for number in range(1, args.rounds + 1):
                copied, synced = plain_copy(video, workdir / "plain-copy.mov")
                with MemoryWatch(server.worker_pids()) as memory:
                    seconds, _answer = upload(browser, entry_id, token.group(1), video, "raw")
                ratios.append(copied / seconds)
                durable_ratios.append(synced / seconds)
                growths.append(memory.growth / 1024)
                print(
                    f"{number:5} | {mib / copied:10.0f} | {mib / synced:16.0f} | {mib / seconds:12.0f} | "
                    f"{copied / seconds:6.2f} | {synced / seconds:12.2f} | {memory.growth / 1024:.1f} MiB"
                )
            with MemoryWatch(server.worker_pids()) as memory:
                seconds, _answer = upload(browser, entry_id, token.group(1), video, "multipart")
            print(
                f"multipart (no-script form): {mib / seconds:.0f} MiB/s, "
                f"worker RSS growth {memory.growth / 1024:.1f} MiB"
            )
            browser.close()
        ratio, durable = statistics.median(ratios), statistics.median(durable_ratios)
        print(
            f"median of {args.rounds}: upload = {ratio:.2f}× the plain copy, {durable:.2f}× the copy with fsync; "
            f"largest worker RSS growth {max(growths):.1f} MiB"
        )
        print(
            f"targets: memory growth ≤ 64 MiB: {'yes' if max(growths) <= 64 else 'NO'}; "
            f"throughput ≥ ½ plain copy: {'yes' if ratio >= 0.5 else 'NO'} ({ratio:.2f}×); "
            f"≥ ½ plain copy with fsync: {'yes' if durable >= 0.5 else 'NO'} ({durable:.2f}×)"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
