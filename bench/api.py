"""The JSON API's reads on a contest of realistic size, measured on PostgreSQL in one run (issue 20).

    .venv/bin/python bench/api.py [--entries 200] [--judges 5] [--repeat 5]

Builds a throwaway PostgreSQL database with micro-video in review (``--entries`` submitted entries, ``--judges``
judges each assigned every entry, sheets in every state: tests/scenarios.grow_judging) and an organiser's
read token, then, in process with Flask's test client, times (best of ``--repeat``) ``/healthz``, the OpenAPI
document, the public contests list, one page (200) of the entries and of the sheets, and the whole sheets
export by following ``page.next``; ratios are to ``/healthz`` measured in the same run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import app_for, create_person, create_schema, throwaway_postgres  # noqa: E402


def best_of(call, repeat: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=200)
    parser.add_argument("--judges", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    with throwaway_postgres(prefix="judging_api") as database_url, tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        create_schema(database_url, workdir)
        with app_for(database_url, workdir) as app:
            from judging.extensions import db
            from judging.models import Organization, Role
            from judging.services import api_tokens
            from tests.scenarios import grow_judging

            organisation = db.session.scalar(db.select(Organization).order_by(Organization.id).limit(1))
            organiser = create_person("organizer", Role.ORGANIZER, organisation)
            db.session.commit()
            grow_judging(options.entries, options.judges)
            secret = api_tokens.create_token(db.session, organiser, "bench", "read").secret
            db.session.commit()
            client = app.test_client()
            bearer = {"Authorization": f"Bearer {secret}"}

            def get(url: str, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
                answer = client.get(url, headers=headers or {})
                assert answer.status_code == 200, (url, answer.status_code)
                return answer

            def whole_export() -> int:
                url, sheets = "/api/v1/organizer/contests/micro-video/sheets?limit=200", 0
                while url:
                    page = get(url, bearer).json
                    sheets += len(page["items"])
                    url = page["page"]["next"]
                return sheets

            runs = {
                "/healthz": lambda: get("/healthz"),
                "/api/v1/openapi.json": lambda: get("/api/v1/openapi.json"),
                "/api/v1/contests": lambda: get("/api/v1/contests"),
                "entries, one page of 200": lambda: get(
                    "/api/v1/organizer/contests/micro-video/entries?limit=200", bearer
                ),
                "sheets, one page of 200": lambda: get(
                    "/api/v1/organizer/contests/micro-video/sheets?limit=200", bearer
                ),
                "sheets, whole export": whole_export,
            }
            for call in runs.values():
                call()  # warm: first connection, templates, the document built once
            times = {name: best_of(call, options.repeat) for name, call in runs.items()}
            times["/healthz (again)"] = best_of(runs["/healthz"], options.repeat)
            floor = (times["/healthz"] + times["/healthz (again)"]) / 2
            sheets = whole_export()
            print(f"{options.entries} entries × {options.judges} judges, {sheets} sheets; best of {options.repeat}")
            print("| request | ms | × healthz |\n|---|---:|---:|")
            for name, seconds in times.items():
                print(f"| {name} | {seconds * 1000:.1f} | {seconds / floor:.1f} |")


if __name__ == "__main__":
    main()
