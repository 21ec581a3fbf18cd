"""Load benchmark: many judges submitting score sheets at once to a real gunicorn server.

Run from the project root::

    .venv/bin/python bench/load.py --judges 200 --concurrency 100 --database sqlite
    .venv/bin/python bench/load.py --judges 200 --concurrency 100 --database postgresql

What it does, in one run:

1. builds a fresh instance in a temporary folder (SQLite in WAL mode, or a throwaway PostgreSQL database
   at 127.0.0.1:5432): the micro-video contest in review with ``--entries`` submitted videos and a panel of
   ``--judges`` judges, each assigned every entry (through the services, as the web does);
2. starts ``gunicorn app:app`` on a free port as the README's deployment section recommends (4 sync
   workers, ``--preload``; ``--workers``, ``--threads`` and ``--no-preload`` change that), configured
   through the environment as a deployment is (the login limit is raised there, so 200 logins from one
   address are not throttled; its default is unchanged);
3. logs every judge in through the login form (CSRF token read from the page) and reads the token of the
   score sheet form from the judge's first entry page;
4. measures, with ``--concurrency`` judges at a time (each judge's requests in order, on its own
   connection): a bare ``GET /healthz`` (no database work) as many times as there are sheets, then every
   judge submits every assigned sheet through the sheet form (``POST /judge/entries/<code>/sheet``, version
   0, the submit button), then ``/healthz`` again; the two healthz rounds bracket the submissions so
   that a noisy machine affects both sides alike;
5. checks the database afterwards: exactly one submitted sheet per (judge, entry), each written once
   (version 1), its scores, checks and comment exactly as sent, no other sheet, one ``sheet.submit``
   audit event per sheet, and the audit chain verifies.

With ``--floor`` the server is ``bench/floor_app.py``'s (the same app with one more route) and, between the
first healthz round and the submissions, the judges post the same forms to that route, which does what a
submission does around its transaction and nothing inside it: the framework's floor (bench/RESULTS.md).

CPU per request is read from ``/proc`` for the gunicorn workers, for this process (the judges' client
threads), and for the PostgreSQL backends serving the workers when the database runs on this machine.

Target (issue 8): submission throughput at least 40% of healthz's, and p99 under 200 ms at 100
concurrent judges.
"""

from __future__ import annotations

import argparse
import math
import os
import queue
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    ROOT,
    Browser,
    GunicornServer,
    ReviewInstance,
    app_for,
    build_review_instance,
    server_env,
    throwaway_postgres,
)

CRITERIA = {"content": 40, "form": 30, "influence": 30}  # micro_video.toml, steps of 0.5
CHECKS = ("ip_characters", "duration")


@dataclass(frozen=True)
class Sheet:
    """What one judge sends for one entry: different for every pair, so that a mix-up would show."""

    judge: str
    entry: str
    scores: dict[str, Decimal]
    checks: dict[str, bool]
    comment: str

    @classmethod
    def for_pair(cls, judge_index: int, entry_index: int, judge: str, entry: str) -> Sheet:
        seed = judge_index * 31 + entry_index * 7
        scores = {
            key: Decimal((seed * (n + 3) + n) % (2 * top + 1)) / 2 for n, (key, top) in enumerate(CRITERIA.items())
        }
        checks = {key: (seed + n) % 3 != 0 for n, key in enumerate(CHECKS)}
        return cls(judge, entry, scores, checks, f"评语 {judge}/{entry}：节奏紧凑。")

    def form(self, csrf_token: str) -> dict[str, str]:
        fields = {"csrf_token": csrf_token, "version": "0", "comment": self.comment, "submit_sheet": "1"}
        fields |= {f"score_{key}": str(value) for key, value in self.scores.items()}
        fields |= {f"check_{key}": "yes" if passed else "no" for key, passed in self.checks.items()}
        return fields


def plan_sheets(instance: ReviewInstance) -> dict[str, list[Sheet]]:
    """Every judge's sheets, in the order the judge submits them."""
    return {
        judge: [Sheet.for_pair(j, e, judge, entry) for e, entry in enumerate(instance.entries)]
        for j, judge in enumerate(instance.judges)
    }


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    server_cpu: float = 0.0  # CPU seconds of the gunicorn workers during the phase
    client_cpu: float = 0.0  # CPU seconds of this process (the judges' threads) during the phase
    database_cpu: float | None = None  # CPU seconds of the PostgreSQL backends serving the workers, when local

    @property
    def requests(self) -> int:
        return len(self.latencies) + len(self.failures)

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else float("nan")

    def cpu_ms(self, seconds: float) -> float:
        return seconds / len(self.latencies) * 1000 if self.latencies else float("nan")

    def merged(self, other: Phase, name: str) -> Phase:
        return Phase(
            name,
            self.latencies + other.latencies,
            self.failures + other.failures,
            self.seconds + other.seconds,
            self.server_cpu + other.server_cpu,
            self.client_cpu + other.client_cpu,
            None if self.database_cpu is None or other.database_cpu is None else self.database_cpu + other.database_cpu,
        )


def process_cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of running processes, from /proc (0 for one that has gone)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def measured(
    server: GunicornServer, run: Callable[[], Phase], database_pids: Callable[[], list[int]] | None = None
) -> Phase:
    """Run a phase, accounting the CPU the server's workers and this process spend meanwhile, and the
    database server's backends when ``database_pids`` names them (PostgreSQL on this machine)."""
    pids = server.worker_pids()
    backends_before = {pid: process_cpu_seconds([pid]) for pid in database_pids()} if database_pids else {}
    server_before, client_before = process_cpu_seconds(pids), time.process_time()
    phase = run()
    phase.server_cpu = process_cpu_seconds(pids) - server_before
    phase.client_cpu = time.process_time() - client_before
    if database_pids:
        backends_after = {pid: process_cpu_seconds([pid]) for pid in database_pids()}
        phase.database_cpu = sum(cpu - backends_before.get(pid, 0.0) for pid, cpu in backends_after.items())
    return phase


@contextmanager
def postgres_backends(database_url: str) -> Iterator[Callable[[], list[int]] | None]:
    """A function listing the process ids of the PostgreSQL backends connected to the database (but the
    one asking), when they run on this machine; None for SQLite (it runs inside the workers) or when the
    server's processes cannot be seen."""
    if not database_url.startswith("postgresql"):
        yield None
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(database_url, poolclass=NullPool)
    query = text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")

    def backends() -> list[int]:
        with engine.connect() as connection:
            return [pid for pid in connection.scalars(query) if Path(f"/proc/{pid}/stat").exists()]

    try:
        with engine.connect() as connection:
            own = connection.scalar(text("SELECT pg_backend_pid()"))
        yield backends if Path(f"/proc/{own}/stat").exists() else None
    finally:
        engine.dispose()


def run_judges(judges: list[str], concurrency: int, work: Callable[[str], None]) -> float:
    """Run ``work(judge)`` for every judge on ``concurrency`` threads (a judge's work stays on one
    thread, in order); the wall-clock seconds it took. The first exception of any thread is raised."""
    todo: queue.Queue[str] = queue.Queue()
    for judge in judges:
        todo.put(judge)
    errors: list[BaseException] = []
    start = threading.Barrier(min(concurrency, len(judges)) + 1)

    def worker() -> None:
        start.wait()
        while not errors:
            try:
                judge = todo.get_nowait()
            except queue.Empty:
                return
            try:
                work(judge)
            except BaseException as error:
                errors.append(error)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(min(concurrency, len(judges)))]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise errors[0]
    return elapsed


def log_in_judges(base_url: str, sheets: dict[str, list[Sheet]], concurrency: int) -> dict[str, tuple[Browser, str]]:
    """Every judge logged in, with the CSRF token of the sheet form (from the judge's first entry page)."""
    sessions: dict[str, tuple[Browser, str]] = {}

    def log_in(judge: str) -> None:
        browser = Browser(base_url)
        browser.log_in(judge)
        sessions[judge] = (browser, browser.csrf_token(f"/judge/entries/{sheets[judge][0].entry}"))

    run_judges(list(sheets), concurrency, log_in)
    return sessions


def hello_phase(name: str, sessions: dict[str, tuple[Browser, str]], per_judge: int, concurrency: int) -> Phase:
    """Every judge asks for ``/healthz`` ``per_judge`` times, ``concurrency`` judges at a time."""
    phase = Phase(name)

    def hello(judge: str) -> None:
        browser = sessions[judge][0]
        for _ in range(per_judge):
            try:
                answer = browser.get("/healthz")
            except OSError as error:
                phase.failures.append(f"{judge}: {error!r}")
                continue
            if answer.status == 200:
                phase.latencies.append(answer.seconds)
            else:
                phase.failures.append(f"{judge}: healthz answered {answer.status}")

    phase.seconds = run_judges(list(sessions), concurrency, hello)
    return phase


SHEET_PATH = "/judge/entries/{entry}/sheet"
FLOOR_PATH = "/bench/floor/{entry}"  # bench/floor_app.py


def submit(
    phase: Phase,
    browser: Browser,
    token: str,
    sheet: Sheet,
    started: float | None = None,
    path: str = SHEET_PATH,
) -> None:
    """Post one sheet through the judge's form (to ``path``); its latency counts from ``started`` when
    given (the moment it was due), else from when it was sent."""
    try:
        answer = browser.post_form(path.format(entry=sheet.entry), sheet.form(token))
    except OSError as error:
        phase.failures.append(f"{sheet.judge} {sheet.entry}: {error!r}")
        return
    if answer.status == 302 and answer.location.endswith("/judge/"):
        phase.latencies.append(time.perf_counter() - started if started is not None else answer.seconds)
    else:
        phase.failures.append(f"{sheet.judge} {sheet.entry}: answered {answer.status} {answer.text[:200]!r}")


def submit_phase(
    sessions: dict[str, tuple[Browser, str]],
    sheets: dict[str, list[Sheet]],
    concurrency: int,
    *,
    name: str = "submit sheet, back to back",
    path: str = SHEET_PATH,
) -> Phase:
    """Every judge submits its sheets one after the other, ``concurrency`` judges at a time, without pause.

    With ``path=FLOOR_PATH`` the same posts go to ``bench/floor_app.py``'s route: everything a submission
    does around its transaction (the judge, CSRF, the sheet form, flash, redirect) and no database work."""
    phase = Phase(name)

    def submit_all(judge: str) -> None:
        browser, token = sessions[judge]
        for sheet in sheets[judge]:
            submit(phase, browser, token, sheet, path=path)

    phase.seconds = run_judges(list(sheets), concurrency, submit_all)
    return phase


def paced_phase(sessions: dict[str, tuple[Browser, str]], sheets: list[Sheet], concurrency: int, rate: float) -> Phase:
    """The sheets submitted at a steady ``rate`` per second (open loop) by ``concurrency`` judges' threads;
    a latency counts from when the sheet was due, so a queue in front of the server shows in it."""
    phase = Phase(f"submit sheet, {rate:.0f}/s")
    due: queue.Queue[tuple[float, Sheet]] = queue.Queue()
    began = time.perf_counter() + 0.5
    for number, sheet in enumerate(sheets):
        due.put((began + number / rate, sheet))

    def worker() -> None:
        while True:
            try:
                at, sheet = due.get_nowait()
            except queue.Empty:
                return
            time.sleep(max(0.0, at - time.perf_counter()))
            browser, token = sessions[sheet.judge]
            submit(phase, browser, token, sheet, started=at)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(min(concurrency, len(sheets)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    phase.seconds = time.perf_counter() - began
    return phase


@dataclass
class Verification:
    problems: list[str]
    sheets: int
    submit_events: int
    chain_break: str | None

    @property
    def ok(self) -> bool:
        return not self.problems and self.chain_break is None


def verify_stored(database_url: str, workdir: Path, sheets: dict[str, list[Sheet]]) -> Verification:
    """Compare the database with what was sent: every sheet exactly once, exactly as sent; the chain intact."""
    from sqlalchemy import func, select

    from judging.extensions import db
    from judging.models import Assignment, AuditEvent, Entry, ScoreSheet, SheetStatus, User
    from judging.services.audit import verify_chain

    problems: list[str] = []
    with app_for(database_url, workdir):
        stored = {
            (username, code): sheet
            for sheet, username, code in db.session.execute(
                select(ScoreSheet, User.username, Entry.code)
                .join(Assignment, ScoreSheet.assignment_id == Assignment.id)
                .join(User, Assignment.judge_id == User.id)
                .join(Entry, Assignment.entry_id == Entry.id)
            )
        }
        sent = {(sheet.judge, sheet.entry): sheet for judge_sheets in sheets.values() for sheet in judge_sheets}
        for pair in sorted(set(stored) - set(sent)):
            problems.append(f"{pair}: a sheet nobody sent")
        for pair, expected in sorted(sent.items()):
            row = stored.get(pair)
            if row is None:
                problems.append(f"{pair}: lost")
                continue
            if row.status is not SheetStatus.SUBMITTED or row.version != 1:
                problems.append(f"{pair}: status {row.status}, version {row.version} (written more than once?)")
            scores = {score.criterion: score.value for score in row.scores}
            if scores != expected.scores:
                problems.append(f"{pair}: scores {scores} instead of {expected.scores}")
            checks = {answer.check_key: answer.passed for answer in row.check_answers}
            if checks != expected.checks or row.comment != expected.comment:
                problems.append(f"{pair}: checks {checks} / comment {row.comment!r} not as sent")
        submit_events = db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "sheet.submit")
        )
        if submit_events != len(sent):
            problems.append(f"{submit_events} sheet.submit audit events for {len(sent)} sheets")
        chain_break = verify_chain(db.session)
    return Verification(
        problems=problems,
        sheets=len(stored),
        submit_events=submit_events or 0,
        chain_break=f"event {chain_break.seq}: {chain_break.reason}" if chain_break else None,
    )


@dataclass
class LoadResult:
    database: str
    judges: int
    entries: int
    concurrency: int
    workers: int
    threads: int
    preload: bool
    hello: Phase
    submit: Phase
    paced: Phase | None
    verification: Verification
    floor: Phase | None = None

    @property
    def ratio(self) -> float:
        return self.submit.throughput / self.hello.throughput if self.hello.throughput else 0.0

    @property
    def failures(self) -> list[str]:
        return (
            self.submit.failures
            + (self.paced.failures if self.paced else [])
            + (self.floor.failures if self.floor else [])
            + self.hello.failures
        )

    def table(self) -> str:
        lines = [
            f"{self.database}: {self.judges} judges × {self.entries} entries, {self.concurrency} judges at a time, "
            f"gunicorn {self.workers} "
            + (f"gthread workers × {self.threads} threads" if self.threads > 1 else "sync workers")
            + (", --preload" if self.preload else ""),
            "",
            "| requests | n | failed | req/s | p50 ms | p99 ms | max ms | server CPU ms/req | database CPU ms/req "
            "| client CPU ms/req |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for phase in (self.hello, self.floor, self.submit, self.paced):
            if phase is None:
                continue
            lines.append(
                f"| {phase.name} | {phase.requests} | {len(phase.failures)} | {phase.throughput:.0f} | "
                f"{phase.percentile(50) * 1000:.0f} | {phase.percentile(99) * 1000:.0f} | "
                f"{max(phase.latencies, default=float('nan')) * 1000:.0f} | "
                f"{phase.cpu_ms(phase.server_cpu):.1f} | "
                f"{'–' if phase.database_cpu is None else f'{phase.cpu_ms(phase.database_cpu):.1f}'} | "
                f"{phase.cpu_ms(phase.client_cpu):.1f} |"
            )
        p99 = self.submit.percentile(99)
        v = self.verification
        lines += [
            "",
            f"submission throughput / healthz: {self.ratio:.2f} "
            f"(target ≥ 0.40: {'met' if self.ratio >= 0.4 else 'MISSED'})",
            f"submission p99, back to back: {p99 * 1000:.0f} ms (target < 200 ms: {'met' if p99 < 0.2 else 'MISSED'})",
        ]
        if self.floor:
            lines.insert(
                -2,
                f"floor throughput / healthz: {self.floor.throughput / self.hello.throughput:.2f} "
                "(an authenticated sheet form post with no database work of its own)",
            )
        if self.paced:
            paced_p99 = self.paced.percentile(99)
            lines.append(
                f"submission p99, paced: {paced_p99 * 1000:.0f} ms (target < 200 ms: "
                f"{'met' if paced_p99 < 0.2 else 'MISSED'})"
            )
        lines.append(
            f"stored: {v.sheets} sheets, {v.submit_events} sheet.submit events; "
            f"audit chain {'verifies' if v.chain_break is None else 'BROKEN at ' + v.chain_break}; "
            f"{'every submission stored exactly once, as sent' if not v.problems else f'{len(v.problems)} PROBLEMS'}"
        )
        lines += [f"  {problem}" for problem in v.problems[:20]]
        lines += [f"  failed: {failure}" for failure in self.failures[:20]]
        return "\n".join(lines)


@contextmanager
def database_for(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'judging.sqlite3'}"
    elif kind == "postgresql":
        with throwaway_postgres() as url:
            yield url
    else:
        raise ValueError(f"unknown database {kind!r}")


def run_load(
    database: str,
    *,
    judges: int,
    entries: int,
    concurrency: int,
    workers: int,
    workdir: Path,
    threads: int = 1,
    paced_share: float = 0.0,
    preload: bool = False,
    floor: bool = False,
    progress: Callable[[str], None] = lambda line: None,
) -> LoadResult:
    """Build an instance, serve it with gunicorn, log in, measure healthz and the submissions, verify.

    With ``paced_share`` > 0 each judge's last sheet is kept for a paced phase, submitted at that share of
    the throughput the back-to-back phase reached. With ``floor``, the server is ``bench/floor_app.py``'s
    (the same app with one more route) and a floor phase runs between the first healthz and the submissions.
    """
    with database_for(database, workdir) as database_url:
        started = time.perf_counter()
        instance = build_review_instance(database_url, workdir, judges=judges, entries=entries)
        sheets = plan_sheets(instance)
        progress(f"instance built in {time.perf_counter() - started:.1f} s")
        back_to_back = {judge: planned[:-1] if paced_share else planned for judge, planned in sheets.items()}
        env = server_env(database_url, workdir)
        server = GunicornServer(
            env,
            workers=workers,
            threads=threads,
            preload=preload,
            log=workdir / "gunicorn.log",
            application="bench.floor_app:app" if floor else "app:app",
        )
        with server, postgres_backends(database_url) as backends:
            started = time.perf_counter()
            sessions = log_in_judges(server.base_url, sheets, concurrency)
            progress(f"{len(sessions)} judges logged in in {time.perf_counter() - started:.1f} s")
            per_judge = len(next(iter(back_to_back.values())))
            hello_phase("warm-up", sessions, 2, concurrency)
            before = measured(server, lambda: hello_phase("healthz", sessions, per_judge, concurrency), backends)
            floor_result = None
            if floor:
                floor_result = measured(
                    server,
                    lambda: submit_phase(
                        sessions, back_to_back, concurrency, name="floor: sheet form, no transaction", path=FLOOR_PATH
                    ),
                    backends,
                )
            submitted = measured(server, lambda: submit_phase(sessions, back_to_back, concurrency), backends)
            after = measured(server, lambda: hello_phase("healthz", sessions, per_judge, concurrency), backends)
            paced = None
            if paced_share:
                rate = max(1.0, paced_share * submitted.throughput)
                last = [planned[-1] for planned in sheets.values()]
                paced = measured(server, lambda: paced_phase(sessions, last, concurrency, rate), backends)
            for browser, _ in sessions.values():
                browser.close()
        verification = verify_stored(database_url, workdir, sheets)
    return LoadResult(
        database=database,
        judges=judges,
        entries=entries,
        concurrency=concurrency,
        workers=workers,
        threads=threads,
        preload=preload,
        hello=before.merged(after, "healthz (no database)"),
        submit=submitted,
        paced=paced,
        verification=verification,
        floor=floor_result,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judges", type=int, default=200)
    parser.add_argument("--entries", type=int, default=5, help="entries each judge scores")
    parser.add_argument("--concurrency", type=int, default=100, help="judges submitting at the same time")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (gthread workers when > 1)")
    parser.add_argument(
        "--preload", action=argparse.BooleanOptionalAction, default=True, help="load the app before forking workers"
    )
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--paced-share",
        type=float,
        default=0.5,
        help="submit each judge's last sheet at this share of the back-to-back throughput (0: no paced phase)",
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also measure bench/floor_app.py's sheet form post without the transaction (served with that app)",
    )
    args = parser.parse_args()
    (ROOT / "build").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-load-", dir=ROOT / "build") as scratch:
        result = run_load(
            args.database,
            judges=args.judges,
            entries=args.entries,
            concurrency=args.concurrency,
            workers=args.workers,
            threads=args.threads,
            preload=args.preload,
            workdir=Path(scratch),
            paced_share=args.paced_share,
            floor=args.floor,
            progress=lambda line: print(line, flush=True),
        )
        print(result.table())
    sys.exit(0 if result.verification.ok and not result.failures else 1)


if __name__ == "__main__":
    main()
