"""Certificates benchmark (issue 18): about 1,000 certificates made by a background job while other people
use the site; every web request's latency meanwhile.

Run from the project root::

    .venv/bin/python bench/certificates.py --database postgresql
    .venv/bin/python bench/certificates.py --database sqlite --contestants 766

What it does, in one run:

1. builds a fresh instance (SQLite in WAL mode, or a throwaway PostgreSQL database at 127.0.0.1:5432) with a
   skills contest (the shipped ISG rubric with its two imported parts only, under its own slug) of
   ``--contestants`` contestants from 40 companies, their roster and part scores imported through the
   skills services;
2. starts ``redis-server`` (a unix socket in the scratch folder), ``gunicorn app:app`` (4 sync workers,
   ``--preload``, as the README's deployment section) and one ``flask worker`` on that queue; the organiser
   freezes and publishes on the desk (the notice period ended in the database in between): every
   contestant applied for and reaches level 4 (a level certificate each), 30 % hold an award, and 5
   companies a collective award: 766 contestants make 1,000 certificates; publishing queues the public
   award list PDFs, and the bench waits until the public one is served;
3. probes first, with no job running, for ``--idle`` seconds: ``--probes`` clients (one organiser session
   each, plus anonymous public pages) request in turn organiser pages (dashboard, contest, contestants,
   publication desk), public pages (result, results list, award list PDF, certificate verification) and
   ``/healthz``, back to back;
4. the organiser asks for the certificates on the publication desk (the form's POST), is sent to the job's
   page and polls it every 0.5 s, reading its progress, while the probes go on as in 3;
5. when the job is done, downloads the PDF and checks it: one page per certificate, the first and the
   last holder's names on the first and last page.

Reported: per page, the requests, failures, p50, p99 and max latency, idle and during the job; the job's
total time (request to done) and the worker's CPU. Target: no request over 1 s during the job.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import ROOT, Browser, GunicornServer, app_for, create_person, create_schema, server_env
from bench.load import database_for, process_cpu_seconds

SLUG = "bench-skills"
COMPANIES = 40
JOB_STATUS = re.compile(r'data-status="(\w+)"')
JOB_PERCENT = re.compile(r'aria-valuenow="(\d+)"')


# --- the instance ----------------------------------------------------------------------------------------


def bench_rubric() -> str:
    """The shipped ISG rubric with its imported parts only (theory 30 %, practical 70 %), as its own contest."""
    text = (ROOT / "rubrics" / "isg_skills.toml").read_text(encoding="utf-8")
    start = text.index('[[parts]]\nkey = "operations"')
    text = text[:start].replace("weight = 0.4", "weight = 0.7") + text[text.index("[ranking]") :]
    return text.replace('slug = "isg-skills"', f'slug = "{SLUG}"').replace('code_prefix = "ISG"', 'code_prefix = "BSK"')


@dataclass(frozen=True)
class Published:
    certificates: int
    first_holder: str
    last_holder: str
    a_code: str


def build(database_url: str, workdir: Path, contestants: int) -> None:
    import pandas as pd

    from judging.extensions import db
    from judging.models import Phase, Role
    from judging.rubric import parse_rubric
    from judging.services import contests, organizations, skills

    create_schema(database_url, workdir)
    with app_for(database_url, workdir):
        companies = [f"基准测试企业{number:02d}" for number in range(1, COMPANIES + 1)]
        organizations.seed_organizations(db.session, [{"name": name, "kind": "company"} for name in companies])
        contest = contests.sync_rubric(db.session, None, parse_rubric(bench_rubric(), "bench_skills.toml"))
        organizer = create_person("organizer", Role.ORGANIZER)
        db.session.commit()
        roster, scores = workdir / "roster.csv", workdir / "scores.csv"
        people = [(f"B{n:04d}", f"选手{n:04d}", companies[n % COMPANIES]) for n in range(1, contestants + 1)]
        pd.DataFrame(
            [{"编号": n, "姓名": name, "单位": org, "申报等级": "四级/中级工"} for n, name, org in people]
        ).to_csv(roster, index=False, encoding="utf-8-sig")
        pd.DataFrame(
            [
                {"选手编号": number, "项目": part, "成绩": value, "用时": 1800 + index}
                for index, (number, _name, _org) in enumerate(people)
                for part, value in (("theory", 60 + (index * 7) % 40), ("practical", 60 + (index * 13) % 40))
            ]
        ).to_csv(scores, index=False, encoding="utf-8-sig")
        skills.import_roster(db.session, organizer, contest, roster, "roster.csv")
        skills.import_part_scores(db.session, organizer, contest, scores, "scores.csv")
        contests.change_phase(db.session, organizer, contest, Phase.OPEN)
        contests.change_phase(db.session, organizer, contest, Phase.REVIEW)
        db.session.commit()


def publish(database_url: str, workdir: Path, organiser: Browser) -> tuple[Published, float]:
    """The organiser freezes and publishes on the desk, as in production (which queues the public award
    list PDFs); the notice period is ended in the database in between. Returns the certificates issued and
    the seconds until the public award list PDF is served from its stored file."""
    from sqlalchemy import select, update

    from judging.extensions import db
    from judging.models import Certificate, ResultSnapshot, utcnow

    desk = f"/organizer/contests/{SLUG}/publication"
    answer = organiser.post_form(
        f"/organizer/contests/{SLUG}/freeze", {"publicity_days": "1", "csrf_token": organiser.csrf_token(desk)}
    )
    if answer.status != 302:
        raise RuntimeError(f"freeze answered {answer.status}")
    with app_for(database_url, workdir):
        db.session.execute(update(ResultSnapshot).values(publicity_ends_at=utcnow()))
        db.session.commit()
    answer = organiser.post_form(
        f"/organizer/contests/{SLUG}/snapshots/1/publish", {"csrf_token": organiser.csrf_token(desk), "confirmed": "1"}
    )
    if answer.status != 302:
        raise RuntimeError(f"publish answered {answer.status}")
    published = time.perf_counter()
    reader = Browser(organiser.base_url)
    while reader.get(f"/results/{SLUG}/1/award-list.pdf").status != 200:
        time.sleep(0.2)
    ready = time.perf_counter() - published
    reader.close()
    with app_for(database_url, workdir):
        issued = list(db.session.scalars(select(Certificate).order_by(Certificate.id)))
        return Published(len(issued), issued[0].holder, issued[-1].holder, issued[len(issued) // 2].code), ready


# --- the services ----------------------------------------------------------------------------------------


@contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    import redis

    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    socket_path = folder / "redis.sock"
    process = subprocess.Popen(
        [
            binary,
            "--port",
            "0",
            "--unixsocket",
            str(socket_path),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
            "--logfile",
            str(folder / "redis.log"),
        ]
    )
    try:
        client = redis.Redis(unix_socket_path=str(socket_path))
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except (redis.ConnectionError, FileNotFoundError):
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        yield f"unix://{socket_path}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def job_worker(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "worker"],
            cwd=ROOT,
            env={**os.environ, **env, "FLASK_APP": "app.py"},
            stdout=output,
            stderr=output,
        )
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)  # RQ: finish the current job (none by now), then stop
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the probes ------------------------------------------------------------------------------------------


@dataclass
class Record:
    """Latencies by page, and failures, of one period (idle, or during the job)."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, page: str, seconds: float, problem: str | None = None) -> None:
        with self.lock:
            self.latencies[page].append(seconds)
            if problem:
                self.failures.append(f"{page}: {problem}")

    def everything(self) -> list[float]:
        return [seconds for values in self.latencies.values() for seconds in values]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(share / 100 * len(ordered) + 0.5) - 1))]


def probe_pages(code: str) -> list[tuple[str, str, bool]]:
    """(label, path, as the organiser?) requested in turn by each probe."""
    return [
        ("healthz", "/healthz", False),
        ("organiser dashboard", "/organizer/", True),
        ("organiser contest", f"/organizer/contests/{SLUG}", True),
        ("organiser contestants", f"/organizer/contests/{SLUG}/contestants", True),
        ("organiser publication desk", f"/organizer/contests/{SLUG}/publication", True),
        ("public result", f"/results/{SLUG}/1", False),
        ("public results list", "/results", False),
        ("public award list PDF", f"/results/{SLUG}/1/award-list.pdf", False),
        ("public certificate check", f"/verify/{code}", False),
    ]


def probe(base_url: str, pages: list[tuple[str, str, bool]], current: Callable[[], Record | None]) -> None:
    organiser, public = Browser(base_url, timeout=30), Browser(base_url, timeout=30)
    organiser.log_in("organizer")
    while (record := current()) is not None:
        for label, path, as_organiser in pages:
            browser = organiser if as_organiser else public
            started = time.perf_counter()
            try:
                answer = browser.get(path)
                problem = None if answer.status == 200 else f"status {answer.status}"
            except OSError as error:
                problem = f"{type(error).__name__}: {error}"
            record.add(label, time.perf_counter() - started, problem)
    organiser.close()
    public.close()


@dataclass(frozen=True)
class Outcome:
    database: str
    certificates: int
    job_seconds: float
    worker_cpu: float
    pages: int
    idle: Record
    during: Record
    polls: list[tuple[float, int]]
    problems: list[str]
    award_list_ready: float

    def table(self) -> str:
        lines = [
            f"{self.database}: {self.certificates} certificates, one job, 1 RQ worker, gunicorn 4 sync workers "
            f"(--preload); job {self.job_seconds:.1f} s from the organiser's request to done, worker CPU "
            f"{self.worker_cpu:.1f} s; PDF {self.pages} pages; the public award list PDF was stored "
            f"{self.award_list_ready:.1f} s after the organiser published",
            "",
            "| page | idle n | idle p99 ms | idle max ms | during n | during p50 ms | during p99 ms | during max ms |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for label in sorted(self.during.latencies, key=lambda key: -max(self.during.latencies[key])):
            idle, during = self.idle.latencies.get(label, []), self.during.latencies[label]
            lines.append(
                f"| {label} | {len(idle)} | {percentile(idle, 99) * 1000:.0f} | {max(idle, default=0) * 1000:.0f} | "
                f"{len(during)} | {percentile(during, 50) * 1000:.0f} | {percentile(during, 99) * 1000:.0f} | "
                f"{max(during) * 1000:.0f} |"
            )
        every = self.during.everything()
        worst = max(every, default=0.0)
        lines += [
            "",
            f"during the job: {len(every)} requests, p99 {percentile(every, 99) * 1000:.0f} ms, max "
            f"{worst * 1000:.0f} ms (target: none over 1 s: {'met' if worst <= 1 else 'MISSED'}); "
            f"{len(self.during.failures)} failed",
            "progress seen by the organiser (s after the request → %): "
            + ", ".join(f"{at:.0f}→{percent}" for at, percent in self.polls[:: max(1, len(self.polls) // 12)]),
        ]
        lines += [f"  PROBLEM: {problem}" for problem in self.problems[:20]]
        lines += [f"  failed: {failure}" for failure in (self.idle.failures + self.during.failures)[:20]]
        return "\n".join(lines)


def run(database: str, workdir: Path, contestants: int, probes: int, idle_seconds: float) -> Outcome:
    from pypdf import PdfReader

    with database_for(database, workdir) as database_url:
        started = time.perf_counter()
        build(database_url, workdir, contestants)
        print(f"{contestants} contestants imported in {time.perf_counter() - started:.0f} s", flush=True)
        with redis_server(workdir) as queue_url:
            env = server_env(database_url, workdir, JOB_QUEUE_URL=queue_url)
            server = GunicornServer(env, workers=4, preload=True, log=workdir / "gunicorn.log")
            env["PUBLIC_BASE_URL"] = server.base_url
            with server, job_worker(env, workdir / "worker.log") as worker:
                organiser = Browser(server.base_url, timeout=60)
                organiser.log_in("organizer")
                published, pdf_ready = publish(database_url, workdir, organiser)
                print(
                    f"published {published.certificates} certificates; public award list PDF stored "
                    f"{pdf_ready:.1f} s after publication",
                    flush=True,
                )
                periods: dict[str, Record | None] = {"now": Record()}
                idle = periods["now"]
                pages = probe_pages(published.a_code)
                threads = [
                    threading.Thread(target=probe, args=(server.base_url, pages, lambda: periods["now"]), daemon=True)
                    for _ in range(probes)
                ]
                for thread in threads:
                    thread.start()
                time.sleep(idle_seconds)
                during = Record()
                periods["now"] = during

                desk = f"/organizer/contests/{SLUG}/publication"
                token = organiser.csrf_token(desk)
                cpu_before = process_cpu_seconds([worker.pid])
                requested = time.perf_counter()
                answer = organiser.post_form(
                    f"/organizer/contests/{SLUG}/snapshots/1/certificates.pdf/prepare", {"csrf_token": token}
                )
                during.add("organiser asks for the certificates", answer.seconds)
                if answer.status != 302 or "/organizer/jobs/" not in answer.location:
                    raise RuntimeError(f"the request answered {answer.status} {answer.location}")
                job_path = answer.location.split("://", 1)[-1].split("/", 1)[-1]
                job_path = "/" + job_path
                polls: list[tuple[float, int]] = []
                while True:
                    page = organiser.get(job_path)
                    during.add("organiser's job page", page.seconds, None if page.status == 200 else str(page.status))
                    status = JOB_STATUS.search(page.text)
                    percent = JOB_PERCENT.search(page.text)  # none on the done page: 100
                    shown = int(percent.group(1)) if percent else 100 if status and status.group(1) == "done" else 0
                    polls.append((time.perf_counter() - requested, shown))
                    if status and status.group(1) in ("done", "failed"):
                        break
                    if time.perf_counter() - requested > 1800:
                        raise RuntimeError("the job did not finish in 30 minutes")
                    time.sleep(0.5)
                job_seconds = time.perf_counter() - requested
                worker_cpu = process_cpu_seconds([worker.pid]) - cpu_before
                periods["now"] = None
                for thread in threads:
                    thread.join(timeout=60)
                problems = []
                if status.group(1) != "done":
                    problems.append(f"the job failed: {page.text[:2000]}")
                    pdf_pages = 0
                else:
                    document = organiser.get(job_path + "/file")
                    reader = PdfReader(io.BytesIO(document.body))
                    pdf_pages = len(reader.pages)
                    if pdf_pages != published.certificates:
                        problems.append(f"{pdf_pages} pages for {published.certificates} certificates")
                    if published.first_holder not in reader.pages[0].extract_text():
                        problems.append(f"the first page does not name {published.first_holder}")
                    if published.last_holder not in reader.pages[-1].extract_text():
                        problems.append(f"the last page does not name {published.last_holder}")
                organiser.close()
    return Outcome(
        database, published.certificates, job_seconds, worker_cpu, pdf_pages, idle, during, polls, problems, pdf_ready
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--contestants", type=int, default=766, help="766 contestants hold 1,000 certificates")
    parser.add_argument("--probes", type=int, default=3, help="clients requesting other pages meanwhile")
    parser.add_argument("--idle", type=float, default=10, help="seconds of probing before the job")
    args = parser.parse_args()
    (ROOT / "build").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-certificates-", dir=ROOT / "build") as scratch:
        outcome = run(args.database, Path(scratch), args.contestants, args.probes, args.idle)
        print(outcome.table())
    worst = max(outcome.during.everything(), default=0.0)
    sys.exit(0 if not outcome.problems and not outcome.during.failures and worst <= 1 else 1)


if __name__ == "__main__":
    main()
