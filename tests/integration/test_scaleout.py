"""The multi-host rehearsal (bench/scaleout.py) at tiny sizes: two gunicorn hosts behind Debian's nginx,
sharing only PostgreSQL, Redis and SeaweedFS, wired as README's *Several hosts* section says.

PostgreSQL only: several hosts need a database server (an SQLite file is one host's). The first test runs
the rehearsal as it is and wants no finding at all; the second has an insider change a saved score in the
database and delete a stored object between the rush and the checks, and wants exactly those named.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from sqlalchemy import case, select, update

from tests.conftest import IN_CI, _postgres_reachable

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import scaleout  # noqa: E402
from bench.harness import weed_binary  # noqa: E402


@pytest.fixture(autouse=True)
def _servers_installed() -> None:
    missing = [
        name
        for name in ("nginx", "redis-server", "wrk")
        if not (shutil.which(name) or Path(f"/usr/sbin/{name}").exists())
    ]
    if not weed_binary().exists():
        missing.append("weed")
    if not _postgres_reachable():
        missing.append("PostgreSQL at 127.0.0.1:5432")
    if missing:
        if IN_CI:
            pytest.fail(f"the rehearsal needs {', '.join(missing)}, and CI must run it")
        pytest.skip(f"the rehearsal needs {', '.join(missing)}")


def test_two_hosts_behind_nginx_lose_nothing_and_serve_the_same_result(tmp_path: Path) -> None:
    report = scaleout.run(tmp_path, entrants=2, judges=2, seconds=2, readers=4, workers=1)

    assert report.failures == []
    spike, rush = report.spike, report.rush
    assert spike.errors == 0 and spike.requests > 0
    assert set(spike.statuses) <= {200, 499} and spike.statuses[499] <= 4  # 499: in flight when wrk stopped
    hosts = {f"127.0.0.1:{url.rsplit(':', 1)[1]}" for url in report.hosts.values()}
    assert set(spike.per_host) == hosts and all(spike.per_host[host] > 0 for host in hosts)  # both hosts served
    assert set(rush.per_host) == hosts
    assert not [status for status in rush.statuses if status >= 500]
    assert len(rush.uploads) == 2 and all(rush.uploads.values())  # every entrant's upload acknowledged
    assert len(rush.saves) == 2 * 2  # every judge saved every sheet, and submitted it
    assert all(forms[-1].get("submit_sheet") == "1" for forms in rush.saves.values())
    # Both hosts answered every published page and PDF with the same bytes, ETag and digest.
    published, review = report.digests["published"], report.digests["review"]
    assert published != review
    assert published in report.reads[f"/results/{scaleout.CONTESTS['published']}/1"].digests
    assert review in report.reads[f"/results/{scaleout.CONTESTS['review']}/1"].digests
    assert all(read.status == 200 and read.etag for read in report.reads.values())
    assert {name: code for name, (code, _out) in report.audit.items()} == {"A": 0, "B": 0}


def test_the_checks_name_a_changed_score_and_a_deleted_object(tmp_path: Path) -> None:
    from judging.extensions import db
    from judging.models import Assignment, Contest, Entry, EntryFile, Score, ScoreSheet
    from judging.storage import storage_from_config

    done: dict[str, str] = {}

    def insider(env: dict[str, str]) -> None:
        with scaleout.admin_app(env) as app:
            sheet = db.session.scalar(
                select(ScoreSheet)
                .join(Assignment)
                .join(Entry)
                .join(Contest)
                .where(Contest.slug == scaleout.CONTESTS["review"])
                .order_by(ScoreSheet.id)
                .limit(1)
            )
            done["judge"], done["code"] = sheet.assignment.judge.username, sheet.assignment.entry.code
            db.session.execute(
                update(Score)
                .where(Score.sheet_id == sheet.id, Score.criterion == "form")
                # one point lower (higher from 0): a score still within 0..max, so the result can be frozen
                .values(value=case((Score.value >= 1, Score.value - 1), else_=Score.value + 1))
            )
            work = db.session.scalar(
                select(EntryFile)
                .join(Entry)
                .join(Contest)
                .where(Contest.slug == scaleout.CONTESTS["open"], EntryFile.purpose == "work")
                .order_by(EntryFile.id)
                .limit(1)
            )
            done["entry"], done["thumbnail"] = str(work.entry_id), str(work.thumbnail_key)
            storage_from_config(app.config).delete(work.thumbnail_key)  # type: ignore[arg-type]
            db.session.commit()

    report = scaleout.run(tmp_path, entrants=2, judges=2, seconds=1, readers=2, workers=1, after_rush=insider)

    changed = [f for f in report.failures if f.startswith(f"{done['judge']} {done['code']}: version ")]
    assert len(changed) == 1, report.failures
    missing = f"entry {done['entry']}: object {done['thumbnail']} is not in the store"
    audit = [f for f in report.failures if f.startswith("flask audit verify on host ")]
    assert sorted(report.failures) == sorted([changed[0], missing, *audit])
    assert len(audit) == 2  # the replay of the sheets against the live tables shows the changed score, on each host
    assert all("score" in line.lower() or "sheet" in line.lower() for line in audit), audit
