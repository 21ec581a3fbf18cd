"""Load, reduced: judges submitting score sheets at the same time to a real gunicorn server with several
workers, on SQLite (WAL) and PostgreSQL. Every submission is stored exactly once, as sent, and the audit
chain verifies. The full size, with timings, is ``bench/load.py`` (results in ``bench/RESULTS.md``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.harness import postgres_reachable
from bench.load import run_load
from tests.conftest import IN_CI

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_concurrent_judges_store_every_sheet_exactly_once(database: str, tmp_path: Path) -> None:
    if database == "postgresql" and not postgres_reachable():
        if IN_CI:
            pytest.fail("PostgreSQL is not reachable at 127.0.0.1:5432, and CI must test on it")
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")

    result = run_load(
        database, judges=20, entries=3, concurrency=10, workers=3, workdir=tmp_path, paced_share=0.5, preload=True
    )

    assert result.failures == []
    assert result.submit.requests == 20 * 2  # each judge's last sheet goes in the paced round
    assert result.paced is not None and result.paced.requests == 20
    assert result.verification.problems == []
    assert result.verification.sheets == 60
    assert result.verification.submit_events == 60
    assert result.verification.chain_break is None
