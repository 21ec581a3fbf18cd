"""Vote benchmark (issue 19): public votes against score-sheet saves on one gunicorn server, then a burst.

Run from the project root::

    .venv/bin/python bench/vote.py --database postgresql --votes 100000
    .venv/bin/python bench/vote.py --database sqlite --votes 20000

What it does, in one run:

1. builds the micro-video contest in review (bench/harness.py: ``--entries`` submitted videos, ``--judges``
   judges assigned every entry) and gives its rubric a ``[vote]`` section (shortlist: every entry; one
   vote a day per entry, ``--entries`` a day in all; proof of work of 0 bits, see below);
2. starts ``gunicorn app:app`` (``--workers`` sync workers) as bench/load.py does;
3. every judge logs in (this process), then ``wrk`` posts every judge's every sheet through the sheet
   form over ``--connections`` connections (bench/wrk/replay.lua): the score-sheet save throughput;
4. the organiser opens the vote (through the service, as the desk does), and ``wrk`` casts ``--votes``
   votes over the same number of connections (bench/wrk/vote.lua), as the vote page's script does: it
   posts the vote form asking for JSON, and the answer carries the next challenge (one request a vote).
   A voter is a device (its own ``vote_device`` cookie) voting once for each work;
5. checks the database: every sheet stored exactly once as sent (bench/load.py's check, the audit chain
   intact), and the votes stored equal the votes accepted, per work and in all, none refused.

Both phases use the same client (wrk, in C: a Python client cost as much CPU as the server on this
2-core machine and capped both phases alike) against the same server, and the CPU the gunicorn workers
and the PostgreSQL backends spend per request is read from /proc. The proof of work is set to 0 bits
because wrk cannot compute SHA-256 in its Lua: solving is the voter's CPU; the server checks a proof
with one hash at any difficulty.

The target: vote throughput at least 5x the sheet saves', and the burst of 100,000 votes within 10
minutes, stored and counted exactly.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    ROOT,
    Browser,
    GunicornServer,
    app_for,
    build_review_instance,
    create_person,
    ends_with_its_parent,
    server_env,
)
from bench.load import (
    SHEET_PATH,
    Sheet,
    Verification,
    database_for,
    log_in_judges,
    plan_sheets,
    postgres_backends,
    process_cpu_seconds,
    verify_stored,
)

SLUG = "micro-video"
WRK_LIMIT = os.environ.get("WRK_LIMIT", "1800s")
"""The longest wrk may run: a phase that has not ended by then is reported as incomplete."""


def vote_section(entries: int) -> str:
    return f"""
[vote]
identity = "device"
counts = "live"
per_entry_per_day = 1
per_day = {entries}
pow_difficulty = 0
shortlist = "top"
shortlist_size = {entries}
expert_weight = 0.7
vote_weight = 0.3
"""


def add_vote(database_url: str, workdir: Path, entries: int) -> None:
    from judging.extensions import db
    from judging.rubric import parse_rubric
    from judging.services import contests

    with app_for(database_url, workdir):
        text = (ROOT / "rubrics" / "micro_video.toml").read_text(encoding="utf-8") + vote_section(entries)
        contests.sync_rubric(db.session, None, parse_rubric(text, "micro_video.toml"), edition="load")
        db.session.commit()


def open_the_vote(database_url: str, workdir: Path) -> None:
    from judging.extensions import db
    from judging.models import Role, utcnow
    from judging.services import contests, votes

    with app_for(database_url, workdir):
        organizer = create_person("organizer", Role.ORGANIZER)
        contest = contests.get_contest(db.session, SLUG)
        window = votes.open_vote(db.session, organizer, contest, utcnow() + timedelta(days=1))
        db.session.commit()
        print(f"vote open on {len(window.shortlist)} works", flush=True)


@dataclass
class WrkPhase:
    name: str
    ok: int = 0
    refused: int = 0
    seconds: float = 0.0
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    complete: bool = False
    fillers: int = 0
    """/healthz requests of threads that were done while others were not (the phase's tail)."""
    server_cpu: float = 0.0
    database_cpu: float | None = None
    notes: tuple[str, ...] = ()

    @property
    def throughput(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def cpu_ms(self) -> float:
        total = self.server_cpu + (self.database_cpu or 0.0)
        return total / self.ok * 1000 if self.ok else float("nan")

    def line(self) -> str:
        database = f" + {self.database_cpu / self.ok * 1000:.2f} ms in PostgreSQL" if self.database_cpu else ""
        workers = self.server_cpu / self.ok * 1000 if self.ok else float("nan")
        return (
            f"{self.name}: {self.ok} ok, {self.refused} refused in {self.seconds:.1f} s = {self.throughput:.1f}/s; "
            f"p50 {self.p50_ms:.0f} ms, p99 {self.p99_ms:.0f} ms; CPU per request {workers:.2f} ms in the workers"
            f"{database} ({self.fillers} fillers in the tail){'' if self.complete else '; INCOMPLETE'}"
        )


def run_wrk(
    name: str,
    server: GunicornServer,
    backends: Callable[[], list[int]] | None,
    script: str,
    arguments: list[str],
    connections: int,
) -> WrkPhase:
    """Run wrk with ``script`` until each of its threads says it is done (then interrupt it for its
    summary); the phase's seconds run from the first thread's start to the last one's end."""
    phase = WrkPhase(name)
    pids = server.worker_pids()
    backends_before = {pid: process_cpu_seconds([pid]) for pid in backends()} if backends else {}
    cpu_before = process_cpu_seconds(pids)
    command = [
        "wrk", "-t", str(connections), "-c", str(connections), "-d", WRK_LIMIT, "--timeout", "60s", "--latency",
        "-s", str(ROOT / "bench" / "wrk" / script), server.base_url, "--", *arguments,
    ]  # fmt: skip
    began = time.perf_counter()
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, text=True, preexec_fn=ends_with_its_parent
    ) as process:
        assert process.stdout is not None
        started: float | None = None
        done: set[int] = set()
        notes: list[str] = []
        for line in process.stdout:
            word, _, rest = line.strip().partition(" ")
            if word == "START" and started is None:
                started = time.perf_counter()
            elif word == "DONE" and rest.isdigit():
                done.add(int(rest))
                if len(done) == connections:
                    phase.seconds = time.perf_counter() - (started or began)
                    phase.complete = True
                    process.send_signal(signal.SIGINT)
            elif word == "RESULT":
                fields = dict(item.split("=") for item in rest.split())
                phase.ok, phase.refused, phase.fillers = (
                    int(fields["ok"]),
                    int(fields["refused"]),
                    int(fields["fillers"]),
                )
                phase.p50_ms, phase.p99_ms = int(fields["p50_us"]) / 1000, int(fields["p99_us"]) / 1000
            elif word == "REFUSED":
                notes.append(rest)
            elif os.environ.get("WRK_ECHO"):
                print(line, end="", file=sys.stderr)
        process.wait()
    if not phase.complete:
        phase.seconds = time.perf_counter() - (started or began)
    phase.server_cpu = process_cpu_seconds(pids) - cpu_before
    if backends:
        after = {pid: process_cpu_seconds([pid]) for pid in backends()}
        phase.database_cpu = sum(cpu - backends_before.get(pid, 0.0) for pid, cpu in after.items())
    phase.notes = tuple(notes)
    return phase


FLOOR_SECONDS = 10


def wrk_ms(text: str) -> float:
    """A latency as wrk prints it (``812.00us``, ``1.23ms``, ``1.05s``) in milliseconds."""
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit):
            return float(text.removesuffix(unit)) * factor
    return float(text)


def floor_phase(
    server: GunicornServer, backends: Callable[[], list[int]] | None, connections: int, seconds: int = FLOOR_SECONDS
) -> WrkPhase:
    """``/healthz`` for ``seconds`` over the same connections: what any request costs this server
    (gunicorn, a new connection, Flask's request around an empty view), the floor under a vote."""
    phase = WrkPhase("healthz (wrk, the floor)", complete=True)
    pids = server.worker_pids()
    backends_before = {pid: process_cpu_seconds([pid]) for pid in backends()} if backends else {}
    cpu_before = process_cpu_seconds(pids)
    command = [
        "wrk", "-t", str(connections), "-c", str(connections), "-d", f"{seconds}s", "--latency",
        f"{server.base_url}/healthz",
    ]  # fmt: skip
    output = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    phase.server_cpu = process_cpu_seconds(pids) - cpu_before
    if backends:
        after = {pid: process_cpu_seconds([pid]) for pid in backends()}
        phase.database_cpu = sum(cpu - backends_before.get(pid, 0.0) for pid, cpu in after.items())
    for line in output.splitlines():
        words = line.split()
        if len(words) > 3 and words[1] == "requests" and words[2] == "in":
            phase.ok, phase.seconds = int(words[0]), float(words[3].rstrip("s,"))
        elif len(words) == 2 and words[0] in ("50%", "99%"):
            value = wrk_ms(words[1])
            if words[0] == "50%":
                phase.p50_ms = value
            else:
                phase.p99_ms = value
    return phase


def sheet_requests(folder: Path, sheets: dict[str, list[Sheet]], sessions: dict[str, tuple[Browser, str]]) -> Path:
    """The judges' sheet posts, one a line for replay.lua, the judges taking turns."""
    lines = []
    for round_ in zip(*sheets.values(), strict=True):
        for sheet in round_:
            browser, token = sessions[sheet.judge]
            body = urlencode(sheet.form(token))
            lines.append(f"{SHEET_PATH.format(entry=sheet.entry)}\tsession={browser.cookies['session']}\t{body}")
    path = folder / "sheets.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def first_challenges(folder: Path, base_url: str, count: int) -> Path:
    """``count`` challenges from the vote page's endpoint, one a line for vote.lua."""
    browser = Browser(base_url)
    tokens = [json.loads(browser.get(f"/vote/{SLUG}/challenge").body)["token"] for _ in range(count)]
    browser.close()
    path = folder / "challenges.txt"
    path.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return path


def planned_votes(votes: int, codes: list[str], threads: int) -> Counter[str]:
    """The votes per work vote.lua casts: thread ``t`` of ``threads`` takes its share of ``votes``, its
    n-th vote for ``codes[n % len(codes)]``."""
    planned: Counter[str] = Counter()
    for thread in range(1, threads + 1):
        quota = votes // threads + (1 if thread <= votes % threads else 0)
        planned.update(codes[n % len(codes)] for n in range(quota))
    return planned


def stored_votes(database_url: str, workdir: Path) -> dict[str, int]:
    from sqlalchemy import func, select

    from judging.extensions import db
    from judging.models import Entry, Vote

    with app_for(database_url, workdir):
        rows = db.session.execute(
            select(Entry.code, func.count(Vote.id)).join(Vote, Vote.entry_id == Entry.id).group_by(Entry.code)
        ).all()
        return {str(code): int(count) for code, count in rows}


@dataclass
class VoteBench:
    """One run's phases and what the database holds afterwards."""

    saved: WrkPhase
    voted: WrkPhase
    floor: WrkPhase
    stored: dict[str, int]
    """Votes stored per work code."""
    planned: dict[str, int]
    """Votes vote.lua cast per work code."""
    verification: Verification

    @property
    def exact(self) -> bool:
        return self.stored == self.planned and sum(self.stored.values()) == self.voted.ok


def run_vote_bench(
    database: str,
    workdir: Path,
    *,
    judges: int,
    entries: int,
    votes: int,
    connections: int,
    workers: int = 4,
    floor_seconds: int = FLOOR_SECONDS,
) -> VoteBench:
    """The three phases of the module docstring against one gunicorn server, then the database checked."""
    with database_for(database, workdir) as database_url:
        started = time.perf_counter()
        instance = build_review_instance(database_url, workdir, judges=judges, entries=entries)
        add_vote(database_url, workdir, entries)
        # Every check passed, so that every entry is ranked and shortlisted (load.py's sheets fail some).
        sheets = {
            judge: [replace(sheet, checks=dict.fromkeys(sheet.checks, True)) for sheet in planned]
            for judge, planned in plan_sheets(instance).items()
        }
        print(f"instance built in {time.perf_counter() - started:.1f} s", flush=True)
        server = GunicornServer(server_env(database_url, workdir), workers=workers, log=workdir / "gunicorn.log")
        with server, postgres_backends(database_url) as backends:
            sessions = log_in_judges(server.base_url, sheets, 8)
            requests = sheet_requests(workdir, sheets, sessions)
            for browser, _ in sessions.values():
                browser.close()
            replay = [str(requests), str(connections), "302", "/judge/"]
            saved = run_wrk("sheet save (wrk)", server, backends, "replay.lua", replay, connections)
            print(saved.line(), flush=True)
            open_the_vote(database_url, workdir)
            visitor = Browser(server.base_url)
            token = visitor.csrf_token(f"/vote/{SLUG}")
            session = visitor.cookies["session"]
            visitor.close()
            challenges = first_challenges(workdir, server.base_url, 2 * connections)
            cast = [str(challenges), str(connections), str(votes), SLUG, ",".join(instance.entries), token, session]
            voted = run_wrk("vote (wrk, JSON)", server, backends, "vote.lua", cast, connections)
            print(voted.line(), flush=True)
            floor = floor_phase(server, backends, connections, floor_seconds)
            print(floor.line(), flush=True)
        return VoteBench(
            saved=saved,
            voted=voted,
            floor=floor,
            stored=stored_votes(database_url, workdir),
            planned=dict(planned_votes(votes, instance.entries, connections)),
            verification=verify_stored(database_url, workdir, sheets),
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--judges", type=int, default=100)
    parser.add_argument("--entries", type=int, default=10)
    parser.add_argument("--votes", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="judging-vote-") as folder:
        run = run_vote_bench(
            args.database,
            Path(folder),
            judges=args.judges,
            entries=args.entries,
            votes=args.votes,
            connections=args.connections,
            workers=args.workers,
        )
    saved, voted, floor, verification = run.saved, run.voted, run.floor, run.verification
    ratio = voted.throughput / saved.throughput if saved.throughput else float("nan")
    cpu_ratio = saved.cpu_ms() / voted.cpu_ms() if voted.ok else float("nan")
    print(f"database {args.database}, {args.workers} sync workers, {args.connections} connections (wrk, a thread each)")
    print(saved.line())
    print(voted.line())
    print(floor.line())
    for note in (*saved.notes, *voted.notes)[:6]:
        print("  refused:", note)
    print(
        f"vote / sheet-save throughput: {ratio:.2f}x (target >= 5); "
        f"server CPU per request, sheet / vote: {cpu_ratio:.2f}x"
    )
    if floor.ok:
        ceiling = saved.cpu_ms() / floor.cpu_ms()
        print(
            f"a vote costs {voted.cpu_ms() - floor.cpu_ms():.2f} ms of server CPU over the floor; "
            f"a request that cost only the floor would be {ceiling:.2f}x cheaper than a sheet save"
        )
    print(f"burst: {voted.ok} votes in {voted.seconds:.1f} s (target {args.votes} within 600 s)")
    print(
        f"votes stored {sum(run.stored.values())} = accepted {voted.ok} = planned {sum(run.planned.values())}, "
        f"per work equal: {run.exact}"
    )
    print(
        f"sheets stored {verification.sheets}, {verification.submit_events} submit events, "
        f"problems {verification.problems[:3]}, chain {verification.chain_break or 'intact'}"
    )
    ok = (
        ratio >= 5
        and voted.seconds <= 600
        and run.exact
        and voted.complete
        and saved.complete
        and not voted.refused
        and not saved.refused
        and verification.ok
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
