"""Votes, reduced: wrk casts votes and posts sheets at the same time to a real gunicorn server with several
workers, on SQLite (WAL) and PostgreSQL, through the vote's one-insert path. Every vote is stored once and
counted per work exactly, none refused; every sheet is stored once as sent. The full size, with timings,
is ``bench/vote.py`` (results in ``bench/RESULTS.md``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.harness import postgres_reachable
from bench.vote import run_vote_bench
from tests.conftest import IN_CI

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_concurrent_votes_are_stored_and_counted_exactly(database: str, tmp_path: Path) -> None:
    if shutil.which("wrk") is None:
        if IN_CI:
            pytest.fail("wrk is not installed (scripts/system-packages.sh), and CI must run this test")
        pytest.skip("wrk is not installed: run `make install` as root")
    if database == "postgresql" and not postgres_reachable():
        if IN_CI:
            pytest.fail("PostgreSQL is not reachable at 127.0.0.1:5432, and CI must test on it")
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")

    run = run_vote_bench(database, tmp_path, judges=4, entries=3, votes=90, connections=6, workers=3, floor_seconds=1)

    assert (run.saved.ok, run.saved.refused, run.saved.complete) == (12, 0, True)
    assert (run.voted.ok, run.voted.refused, run.voted.complete) == (90, 0, True)
    assert sum(run.planned.values()) == 90
    assert run.stored == run.planned  # 30 votes per work, as cast
    assert run.verification.problems == [] and run.verification.sheets == 12
    assert run.verification.chain_break is None
    assert run.floor.ok > 0
