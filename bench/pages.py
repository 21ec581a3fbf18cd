"""Pages where users feel the size of a contest (issue 18): the judging progress page, the results preview and
the published award list, measured on PostgreSQL in one run.

    .venv/bin/python bench/pages.py [--entries 200] [--judges 5] [--seconds 10] [--connections 8]

1. Builds a throwaway PostgreSQL database with micro-video in review: ``--entries`` submitted entries and
   ``--judges`` judges each assigned every entry, sheets in every state (tests/scenarios.grow_judging).
2. In process, with Flask's test client: SQL statements (counted at the driver) and the best-of-5 time of the
   organiser's judging progress page; the results preview's first view (engine run and charts drawn) and
   second view (found again).
3. Submits every sheet, freezes and publishes the result, then serves the app with gunicorn as the README
   deploys it (4 sync workers, --preload) and loads it with ``wrk`` (Debian's; a C client): ``/healthz``,
   the published award list, the same with ``If-None-Match`` (304), each for ``--seconds``, healthz first
   and last so that the machine's noise falls on both sides. Ratios are to the mean of the two healthz runs.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    PASSWORD,
    GunicornServer,
    app_for,
    create_person,
    create_schema,
    server_env,
    throwaway_postgres,
)


def build(database_url: str, workdir: Path, entries: int, judges: int) -> None:
    from judging.extensions import db
    from judging.models import Organization, Role
    from tests.scenarios import grow_judging

    create_schema(database_url, workdir)
    with app_for(database_url, workdir):
        organiser = db.session.scalar(db.select(Organization).order_by(Organization.id).limit(1))
        create_person("organizer", Role.ORGANIZER, organiser)
        db.session.commit()
        grow_judging(entries, judges)


def statements_and_best_time(app, client, url: str, repeat: int = 5) -> tuple[int, float, int]:  # type: ignore[no-untyped-def]
    from sqlalchemy import event

    from judging.extensions import db

    counted: list[str] = []

    def listen(_c, _cu, statement, _p, _ctx, _m) -> None:  # type: ignore[no-untyped-def]
        counted.append(statement)

    best = float("inf")
    status = 0
    for attempt in range(repeat):
        if attempt == repeat - 1:
            event.listen(db.engine, "before_cursor_execute", listen)
        started = time.perf_counter()
        response = client.get(url)
        best = min(best, time.perf_counter() - started)
        status = response.status_code
    event.remove(db.engine, "before_cursor_execute", listen)
    return len(counted), best, status


def analyze(database_url: str) -> None:
    """Give the planner the statistics a live database has: autovacuum analyses a table within a minute of
    a bulk load, but the benchmark measures seconds after building 1,000 sheets, when PostgreSQL still
    plans the score query as if the tables were empty (0.2 s instead of 4 ms for the same rows)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("ANALYZE"))
    engine.dispose()


def in_process(database_url: str, workdir: Path) -> dict[str, object]:
    from judging.services import results
    from judging.web import organizer_results

    out: dict[str, object] = {}
    with app_for(database_url, workdir) as app:
        client = app.test_client()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").get_data(as_text=True))
        assert token
        answer = client.post("/login", data={"username": "organizer", "password": PASSWORD, "csrf_token": token[1]})
        assert answer.status_code == 302, answer.status_code
        n, best, status = statements_and_best_time(app, client, "/organizer/contests/micro-video/judging")
        out["progress"] = (n, best, status)
        results._RUNS.clear()
        organizer_results._RENDERED.clear()
        started = time.perf_counter()
        first = client.get("/organizer/contests/micro-video/results")
        out["preview_first"] = (time.perf_counter() - started, first.status_code)
        n, best, status = statements_and_best_time(app, client, "/organizer/contests/micro-video/results")
        out["preview_second"] = (n, best, status)
        # What the cache adds to a first view: the digest of the tables the engine reads.
        from judging.extensions import db
        from judging.services.contests import current_rubric, get_contest

        contest = get_contest(db.session, "micro-video")
        rubric = current_rubric(contest)
        scores, checks = results.score_frames(db.session, contest, rubric)
        started = time.perf_counter()
        results.engine_key(rubric, scores, checks, contest.slug)
        out["digest"] = time.perf_counter() - started
    return out


def publish(database_url: str, workdir: Path) -> None:
    from sqlalchemy import select, update

    from judging.extensions import db
    from judging.models import Assignment, AssignmentStatus, Contest, ScoreSheet, SheetStatus, User, utcnow
    from judging.services import publication
    from judging.services.sheets import save_sheet

    with app_for(database_url, workdir):
        db.session.execute(update(ScoreSheet).values(status=SheetStatus.SUBMITTED, submitted_at=utcnow()))
        for assignment in db.session.scalars(
            select(Assignment).where(Assignment.status == AssignmentStatus.ASSIGNED, ~Assignment.sheet.has())
        ):
            save_sheet(
                db.session,
                assignment.judge,
                assignment,
                scores={"content": 30, "form": 20, "influence": 20},
                checks={"ip_characters": True, "duration": True},
                submit=True,
            )
        db.session.commit()
        organiser = db.session.scalar(select(User).where(User.username == "organizer"))
        contest = db.session.scalar(select(Contest).where(Contest.slug == "micro-video"))
        snapshot = publication.freeze(db.session, organiser, contest, 1)
        db.session.commit()
        snapshot.publicity_ends_at = utcnow()
        db.session.commit()
        publication.publish(db.session, organiser, snapshot)
        db.session.commit()


def wrk(url: str, seconds: int, connections: int, header: str | None = None) -> float:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if header:
        command += ["-H", header]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        raise RuntimeError(f"{url}: {non_2xx[1]} error answers\n{output}")
    assert found, output
    return float(found[1])


def served(database_url: str, workdir: Path, seconds: int, connections: int) -> dict[str, float]:
    import urllib.request

    server = GunicornServer(server_env(database_url, workdir), workers=4, preload=True, log=workdir / "gunicorn.log")
    server.start()
    try:
        page = f"{server.base_url}/results/micro-video/1"
        with urllib.request.urlopen(page) as answer:
            assert answer.status == 200
            etag = answer.headers["ETag"]
            assert etag and "public" in answer.headers["Cache-Control"]
        for _ in range(20):  # every worker renders its copy once before the clock starts
            urllib.request.urlopen(page).read()
        rates = {"healthz_before": wrk(f"{server.base_url}/healthz", seconds, connections)}
        rates["award_list"] = wrk(page, seconds, connections)
        rates["award_list_304"] = wrk(page, seconds, connections, f"If-None-Match: {etag}")
        rates["healthz_after"] = wrk(f"{server.base_url}/healthz", seconds, connections)
        return rates
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=200)
    parser.add_argument("--judges", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    options = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: `make install` as root installs it (scripts/system-packages.sh)")
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as folder, throwaway_postgres(prefix="bench_pages") as url:
        workdir = Path(folder)
        build(url, workdir, options.entries, options.judges)
        analyze(url)
        local = in_process(url, workdir)
        publish(url, workdir)
        rates = served(url, workdir, options.seconds, options.connections)
    n, best, _ = local["progress"]  # type: ignore[misc]
    print(f"judging progress page, {options.entries} entries x {options.judges} judges: {n} statements, {best:.3f} s")
    first, _ = local["preview_first"]  # type: ignore[misc]
    n, best, _ = local["preview_second"]  # type: ignore[misc]
    print(f"results preview: first view {first:.3f} s, second view {best:.3f} s ({n} statements)")
    print(f"  of the first view, the digest that keys the cache: {local['digest']:.4f} s")
    healthz = (rates["healthz_before"] + rates["healthz_after"]) / 2
    print(f"healthz: {rates['healthz_before']:.0f} / {rates['healthz_after']:.0f} req/s (mean {healthz:.0f})")
    for name in ("award_list", "award_list_304"):
        print(f"{name}: {rates[name]:.0f} req/s = {rates[name] / healthz:.2f} x healthz")


if __name__ == "__main__":
    main()
