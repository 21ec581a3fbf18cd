"""Vote benchmark (issue 19): public votes against score-sheet saves on one gunicorn server, then a burst.

Run from the project root::

    .venv/bin/python bench/vote.py --database postgresql --votes 100000
    .venv/bin/python bench/vote.py --database sqlite --votes 20000

What it does, in one run:

1. builds the micro-video contest in review (bench/harness.py: ``--entries`` submitted videos, ``--judges``
   judges assigned every entry) and gives its rubric a ``[vote]`` section (shortlist: every entry; one
   vote a day per entry, ``--entries`` a day in all; proof of work of ``--difficulty`` bits);
2. starts ``gunicorn app:app`` (``--workers`` sync workers) as bench/load.py does;
3. every judge logs in and submits every sheet through the sheet form, ``--concurrency`` judges at a time:
   the score-sheet save throughput;
4. the organiser opens the vote (through the service, as the desk does), and ``--concurrency`` voters
   cast ``--votes`` votes back to back: each vote fetches a challenge (``GET /vote/<slug>/challenge``),
   solves it (in this process), and posts the vote form (``POST /vote/<slug>/<code>``). A voter is a
   device: its own ``vote_device`` cookie (what the page sets), casting one vote for each entry. The
   voters share one session (one page visit's CSRF token); whether a vote was accepted is read from the
   flash the answer carries in its session cookie;
5. checks the database: the votes stored equal the votes accepted, per entry and in all, none refused.

The target: vote throughput (whole votes: challenge + post) at least 5× the sheet saves', and the burst
of 100,000 votes within 10 minutes, stored and counted exactly.
"""

from __future__ import annotations

import argparse
import json
import queue
import sys
import tempfile
import threading
import time
from dataclasses import replace
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
    server_env,
)
from bench.load import Phase, database_for, log_in_judges, measured, plan_sheets, submit_phase
from judging import vote_proof

SLUG = "micro-video"


def vote_section(entries: int, difficulty: int) -> str:
    return f"""
[vote]
identity = "device"
counts = "live"
per_entry_per_day = 1
per_day = {entries}
pow_difficulty = {difficulty}
shortlist = "top"
shortlist_size = {entries}
expert_weight = 0.7
vote_weight = 0.3
"""


def add_vote(database_url: str, workdir: Path, entries: int, difficulty: int) -> None:
    from judging.extensions import db
    from judging.rubric import parse_rubric
    from judging.services import contests

    with app_for(database_url, workdir):
        text = (ROOT / "rubrics" / "micro_video.toml").read_text(encoding="utf-8") + vote_section(entries, difficulty)
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


def vote_phase(base_url: str, codes: list[str], votes: int, concurrency: int) -> tuple[Phase, dict[str, int]]:
    """``votes`` votes by ``votes / len(codes)`` devices, ``concurrency`` at a time; accepted per entry.

    As the page's script does: a device fetches one challenge, then each vote's answer (JSON) hands over
    the next one, so a vote is one request after the first."""
    visitor = Browser(base_url)
    token = visitor.csrf_token(f"/vote/{SLUG}")
    session = visitor.cookies["session"]
    visitor.close()
    phase = Phase("vote (solve + post, JSON)")
    accepted: dict[str, int] = {code: 0 for code in codes}
    lock = threading.Lock()
    devices: queue.Queue[int] = queue.Queue()
    for device in range((votes + len(codes) - 1) // len(codes)):
        devices.put(device)
    remaining = [votes]

    def voter() -> None:
        browser = Browser(base_url)
        try:
            while True:
                try:
                    device = devices.get_nowait()
                except queue.Empty:
                    return
                browser.cookies = {"session": session, "vote_device": f"{device:048d}"}
                challenge = None
                for code in codes:
                    with lock:
                        if remaining[0] == 0:
                            return
                        remaining[0] -= 1
                    started = time.perf_counter()
                    try:
                        if challenge is None:
                            challenge = json.loads(browser.get(f"/vote/{SLUG}/challenge").body)
                        nonce = vote_proof.solve(challenge["token"], challenge["difficulty"])
                        answer = browser.request(
                            "POST",
                            f"/vote/{SLUG}/{code}",
                            body=urlencode(
                                {"csrf_token": token, "token": challenge["token"], "nonce": nonce, "screen": "1x1"}
                            ).encode(),
                            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
                        )
                        reply = json.loads(answer.body)
                    except (OSError, ValueError) as error:
                        phase.failures.append(f"{device} {code}: {error!r}")
                        challenge = None
                        continue
                    challenge = reply.get("challenge")
                    if answer.status == 200 and reply.get("ok"):
                        phase.latencies.append(time.perf_counter() - started)
                        with lock:
                            accepted[code] += 1
                    else:
                        phase.failures.append(f"{device} {code}: {answer.status} {reply.get('message')}")
        finally:
            browser.close()

    threads = [threading.Thread(target=voter, daemon=True) for _ in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    phase.seconds = time.perf_counter() - began
    return phase, accepted


def stored_votes(database_url: str, workdir: Path) -> dict[str, int]:
    from sqlalchemy import func, select

    from judging.extensions import db
    from judging.models import Entry, Vote

    with app_for(database_url, workdir):
        rows = db.session.execute(
            select(Entry.code, func.count(Vote.id)).join(Vote, Vote.entry_id == Entry.id).group_by(Entry.code)
        ).all()
        return {str(code): int(count) for code, count in rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--judges", type=int, default=40)
    parser.add_argument("--entries", type=int, default=10)
    parser.add_argument("--votes", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--difficulty", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="judging-vote-") as folder:
        workdir = Path(folder)
        with database_for(args.database, workdir) as database_url:
            started = time.perf_counter()
            instance = build_review_instance(database_url, workdir, judges=args.judges, entries=args.entries)
            add_vote(database_url, workdir, args.entries, args.difficulty)
            # Every check passed, so that every entry is ranked and shortlisted (load.py's sheets fail some).
            sheets = {
                judge: [replace(sheet, checks=dict.fromkeys(sheet.checks, True)) for sheet in planned]
                for judge, planned in plan_sheets(instance).items()
            }
            print(f"instance built in {time.perf_counter() - started:.1f} s", flush=True)
            server = GunicornServer(
                server_env(database_url, workdir), workers=args.workers, log=workdir / "gunicorn.log"
            )
            with server:
                sessions = log_in_judges(server.base_url, sheets, args.concurrency)
                saved = measured(server, lambda: submit_phase(sessions, sheets, args.concurrency))
                for browser, _ in sessions.values():
                    browser.close()
                print(
                    f"sheets: {len(saved.latencies)} saved, {len(saved.failures)} failed {saved.failures[:2]}",
                    flush=True,
                )
                open_the_vote(database_url, workdir)
                voted, accepted = vote_phase(server.base_url, instance.entries, args.votes, args.concurrency)
                voted.server_cpu = 0.0
            stored = stored_votes(database_url, workdir)
    ratio = voted.throughput / saved.throughput if saved.throughput else float("nan")
    print(
        f"database {args.database}, {args.workers} sync workers, "
        f"concurrency {args.concurrency}, PoW {args.difficulty} bits"
    )
    for phase in (saved, voted):
        print(
            f"{phase.name}: {len(phase.latencies)} ok, {len(phase.failures)} failed in {phase.seconds:.1f} s = "
            f"{phase.throughput:.1f}/s; p50 {phase.percentile(50) * 1000:.0f} ms, "
            f"p99 {phase.percentile(99) * 1000:.0f} ms"
        )
    print(f"vote / sheet-save throughput: {ratio:.2f}x (target >= 5)")
    print(f"burst: {args.votes} votes in {voted.seconds:.1f} s (target <= 600 s)")
    exact = stored == {code: n for code, n in accepted.items() if n}
    print(f"stored {sum(stored.values())} = accepted {sum(accepted.values())}, per entry equal: {exact}")
    for failure in voted.failures[:5]:
        print("  refused:", failure)
    ok = ratio >= 5 and voted.seconds <= 600 and exact and not voted.failures and not saved.failures
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
