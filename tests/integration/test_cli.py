"""The command line: rubric checks, `flask init` (real migrations), the demo data, audit verification."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text

from judging.extensions import db
from judging.models import (
    AuditEvent,
    Contest,
    Entry,
    EntryFile,
    EntryStatus,
    Organization,
    OrganizationKind,
    Phase,
    ResultSnapshot,
    Role,
    ScoreSheet,
    User,
    utcnow,
)
from judging.services import demo, results, sheets
from judging.storage import LocalStorage
from tests.conftest import ROOT, create_user, log_in, make_test_app
from tests.scenarios import seed_review_contest


def _drop_everything(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("DROP SCHEMA public CASCADE"))
            db.session.execute(text("CREATE SCHEMA public"))
            db.session.commit()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def empty_app(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """An app whose database has no tables at all, for `flask init` to migrate (SQLite: a new file)."""
    app = make_test_app(database_url, tmp_path)
    _drop_everything(app)
    yield app
    _drop_everything(app)


def test_rubric_check_passes_the_default_rubrics(bare_app: Flask) -> None:
    paths = [str(p) for p in sorted((ROOT / "rubrics").glob("*.toml"))]
    result = bare_app.test_cli_runner().invoke(args=["rubric", "check", *paths])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "3 rubric file(s) valid."


def test_rubric_check_names_file_and_key_and_exits_1(bare_app: Flask, tmp_path: Path) -> None:
    source = (ROOT / "rubrics" / "micro_video.toml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(
        source.replace("max = 40", "max = 0")
        .replace('ceremony = "opening"', 'ceremony = "opening"\nvenue = "hall"')
        .replace('tie_break = ["content", "influence"]', 'tie_break = ["content", "beauty"]'),
        encoding="utf-8",
    )
    result = bare_app.test_cli_runner().invoke(args=["rubric", "check", str(bad)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [f"{bad}: contest.venue: unknown key", f"{bad}: criteria[0].max: must be > 0"]
    bad.write_text(
        source.replace('tie_break = ["content", "influence"]', 'tie_break = ["content", "beauty"]'), encoding="utf-8"
    )
    result = bare_app.test_cli_runner().invoke(args=["rubric", "check", str(bad)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [f"{bad}: aggregation.tie_break[1]: unknown criterion 'beauty'"]
    assert "Traceback" not in result.output


def test_init_migrates_and_seeds_idempotently(empty_app: Flask) -> None:
    runner = empty_app.test_cli_runner()
    first = runner.invoke(args=["init", "--edition", "2026"])
    assert first.exit_code == 0, first.output
    assert "47 organisations added; 3 contests loaded." in first.output
    second = runner.invoke(args=["init"])
    assert second.exit_code == 0, second.output
    assert "0 organisations added; 3 contests loaded." in second.output
    with empty_app.app_context():
        districts = db.session.scalars(
            db.select(Organization.name).where(Organization.kind == OrganizationKind.DISTRICT)
        ).all()
        assert len(districts) == 16 and "浦东新区" in districts and "崇明区" in districts
        slugs = db.session.scalars(db.select(Contest.slug).order_by(Contest.slug)).all()
        assert slugs == ["exemplary-cases", "isg-skills", "micro-video"]
        assert {c.edition for c in db.session.scalars(db.select(Contest))} == {"2026"}
        assert all(len(c.rubric_versions) == 1 for c in db.session.scalars(db.select(Contest)))


def test_changed_rubric_becomes_a_new_version(empty_app: Flask, tmp_path: Path) -> None:
    folder = tmp_path / "rubrics"
    folder.mkdir()
    source = (ROOT / "rubrics" / "micro_video.toml").read_text(encoding="utf-8")
    (folder / "micro_video.toml").write_text(source, encoding="utf-8")
    empty_app.config["RUBRICS_FOLDER"] = str(folder)
    runner = empty_app.test_cli_runner()
    assert runner.invoke(args=["init"]).exit_code == 0
    (folder / "micro_video.toml").write_text(source.replace("count = 3", "count = 4"), encoding="utf-8")
    assert runner.invoke(args=["init"]).exit_code == 0
    with empty_app.app_context():
        contest = db.session.scalar(db.select(Contest).where(Contest.slug == "micro-video"))
        assert [v.version for v in contest.rubric_versions] == [1, 2]
        assert "count = 4" in contest.current_rubric.text
        assert contest.current_rubric.sha256 == hashlib.sha256(contest.current_rubric.text.encode()).hexdigest()


def test_init_refuses_a_changed_rubric_during_review_and_migrate_reopens_the_sheets(
    empty_app: Flask, tmp_path: Path, short_video: Path
) -> None:
    folder = tmp_path / "rubrics"
    folder.mkdir()
    source = (ROOT / "rubrics" / "micro_video.toml").read_text(encoding="utf-8")
    (folder / "micro_video.toml").write_text(source, encoding="utf-8")
    empty_app.config["RUBRICS_FOLDER"] = str(folder)
    runner = empty_app.test_cli_runner()
    assert runner.invoke(args=["init"]).exit_code == 0
    with empty_app.app_context():
        create_user("entrant-a", Role.ENTRANT, "浦东新区")
        create_user("entrant-b", Role.ENTRANT, "黄浦区")
        codes = seed_review_contest(empty_app, short_video)
    changed = (
        source.replace("max = 30", "max = 35", 1)
        .replace('across_judges = "trimmed_mean"\ntrim = 1', 'across_judges = "median"')
        .replace("count = 3", "count = 4")
        + '\n[[criteria]]\nkey = "novelty"\nlabel = "新颖性"\nmax = 10\nweight = 1.0\n'
    )
    assert changed.count("novelty") == 1 and 'across_judges = "median"' in changed
    (folder / "micro_video.toml").write_text(changed, encoding="utf-8")

    refused = runner.invoke(args=["init"])
    assert refused.exit_code == 1
    for line in (
        "赛事 micro-video 已有 21 份按第 1 版评分细则填写的评分表，评分细则不能更改",
        "criteria[form].max：30 → 35",
        "criteria[novelty]：新增（key = novelty, label = 新颖性, max = 10, weight = 1, step = 1）",
        "aggregation.across_judges：trimmed_mean → median",
        "aggregation.trim：1 → 0",
        "awards[二等奖].count：3 → 4",
    ):
        assert line in refused.output, line

    def state() -> tuple[list[int], list[str]]:
        contest = db.session.scalar(db.select(Contest).where(Contest.slug == "micro-video"))
        statuses = db.session.scalars(db.select(ScoreSheet.status).order_by(ScoreSheet.id)).all()
        return [v.version for v in contest.rubric_versions], [s.value for s in statuses]

    with empty_app.app_context():
        versions, statuses = state()
        assert versions == [1] and statuses.count("submitted") == 20 and statuses.count("draft") == 1
        assert results.compute_results(db.session, _contest("micro-video")).sheets_counted == 20

    migrated = runner.invoke(args=["rubric", "migrate", "--contest", "micro-video"])
    assert migrated.exit_code == 0, migrated.output
    assert "micro-video: rubric version 1 → 2" in migrated.output
    with empty_app.app_context():
        versions, statuses = state()
        assert versions == [1, 2] and statuses == ["draft"] * 21
        event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "rubric.migrate"))
        assert len(event.data["sheets_reopened"]) == 20 and "criteria[form].max：30 → 35" in event.data["differences"]
        preview = results.compute_results(db.session, _contest("micro-video"))
        assert (preview.sheets_counted, preview.sheets_not_counted) == (0, 0)  # no sheet of version 2 yet

        judge = db.session.scalar(db.select(User).where(User.username == "expert1"))
        assignment = sheets.active_assignment(db.session, judge, codes["A"])
        sheets.save_sheet(
            db.session,
            judge,
            assignment,
            scores={"content": 38, "form": 33, "influence": 25, "novelty": 8},
            checks={"ip_characters": True, "duration": True},
            submit=True,
        )
        db.session.commit()
        assert assignment.sheet.rubric_version.version == 2
        preview = results.compute_results(db.session, _contest("micro-video"))
        assert preview.sheets_counted == 1 and set(preview.scores["judge"]) == {"expert1"}
    assert runner.invoke(args=["init"]).exit_code == 0  # the file now matches version 2


def _contest(slug: str) -> Contest:
    return db.session.scalar(db.select(Contest).where(Contest.slug == slug))


def test_init_refuses_an_invalid_rubric_and_writes_nothing(empty_app: Flask, tmp_path: Path) -> None:
    folder = tmp_path / "rubrics"
    folder.mkdir()
    source = (ROOT / "rubrics" / "micro_video.toml").read_text(encoding="utf-8")
    (folder / "micro_video.toml").write_text(source.replace("max = 30", "max = -1", 1), encoding="utf-8")
    empty_app.config["RUBRICS_FOLDER"] = str(folder)
    result = empty_app.test_cli_runner().invoke(args=["init"])
    assert result.exit_code == 1
    assert f"{folder / 'micro_video.toml'}: criteria[1].max: must be > 0" in result.output
    with empty_app.app_context():
        assert db.session.scalar(db.select(db.func.count(Contest.id))) == 0
        assert db.session.scalar(db.select(db.func.count(Organization.id))) == 0


@pytest.mark.slow
def test_init_demo_creates_accounts_entries_with_real_videos_and_scores(empty_app: Flask) -> None:
    runner = empty_app.test_cli_runner()
    result = runner.invoke(args=["init", "--demo"])
    assert result.exit_code == 0, result.output
    assert f"password for all: {demo.DEMO_PASSWORD}" in result.output
    for username in ("organizer", "judge1", "judge5", "entrant-pudong", "entrant-unit1"):
        assert username in result.output
    with empty_app.app_context():
        roles = {u.username: u.role.value for u in db.session.scalars(db.select(User))}
        assert sum(1 for r in roles.values() if r == "judge") == 5
        micro = db.session.scalar(db.select(Contest).where(Contest.slug == "micro-video"))
        entries = db.session.scalars(db.select(Entry).where(Entry.contest_id == micro.id)).all()
        assert len(entries) == 6 and {e.status for e in entries} == {EntryStatus.SUBMITTED}
        storage = LocalStorage(empty_app.config["UPLOAD_FOLDER"])
        for entry_file in db.session.scalars(db.select(EntryFile).join(Entry).where(Entry.contest_id == micro.id)):
            data = storage.path(entry_file.storage_key).read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry_file.sha256
            assert 0 < entry_file.duration_seconds <= 180
            assert storage.exists(entry_file.thumbnail_key)
        # judge5 belongs to 浦东新区 and is never assigned its entry
        pudong = next(e for e in entries if e.organization.name == "浦东新区")
        assert "judge5" not in {a.judge.username for a in pudong.assignments}
        # The skills result waits on the publication page: notice over, one objection still to answer.
        skills = db.session.scalar(db.select(Contest).where(Contest.slug == "isg-skills"))
        snapshot = db.session.scalar(db.select(ResultSnapshot).where(ResultSnapshot.contest_id == skills.id))
        assert skills.phase is Phase.PUBLICITY and snapshot.publicity_ends_at < utcnow()
        assert sorted(o.status.value for o in snapshot.objections) == ["pending", "rejected"]
    # judge4's work page: the contest still open for scores comes first; the frozen one says it is closed,
    # and its two unscored tasks are "not scored", not "to do".
    judge = empty_app.test_client()
    assert log_in(judge, "judge4", demo.DEMO_PASSWORD).status_code == 302
    page = judge.get("/judge/").get_data(as_text=True)
    assert page.index('data-contest="micro-video"') < page.index('data-contest="isg-skills"')
    skills_section = page[page.index('data-contest="isg-skills"') :]
    assert "本评选的评分已结束：评分表可以查看，但不能再修改。" in skills_section
    assert re.search(r'id="isg-skills-todo">未评分 <span[^>]*>2</span>', skills_section)
    assert "本评选的评分已结束" not in page[: page.index('data-contest="isg-skills"')]
    # Its task page is read-only: "not scored", no way on to another task, no conflict to declare any more.
    task = judge.get("/judge/entries/ISG-024").get_data(as_text=True)
    assert re.search(r"data-sheet-state>未评分</span>", task)
    assert "下一件作品" not in task and "申请回避" not in task and "作品信息" not in task
    open_entry = judge.get("/judge/entries/MV-001").get_data(as_text=True)
    assert "下一件作品" in open_entry and "申请回避" in open_entry and "作品信息" in open_entry
    again = runner.invoke(args=["init", "--demo"])
    assert again.exit_code == 0 and "Demo data already present." in again.output
    assert runner.invoke(args=["audit", "verify"]).output.startswith("audit chain intact.\n")


def test_audit_verify_names_the_first_tampered_event(app: Flask) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    with app.app_context():
        total = db.session.scalar(db.select(db.func.count(AuditEvent.id)))
        assert total >= 4
        db.session.execute(text("UPDATE audit_event SET action = 'contest.delete' WHERE seq = 2"))
        db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert result.output.strip() == "audit chain broken at event 2: its content does not match its hash"


def test_audit_verify_detects_a_deleted_event(app: Flask) -> None:
    with app.app_context():
        db.session.execute(text("DELETE FROM audit_event WHERE seq = 3"))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert result.output.strip() == "audit chain broken at event 3: event 3 is missing (next is 4)"


def test_offline_commands_are_registered_with_flask(bare_app: Flask, tmp_path: Path) -> None:
    table = tmp_path / "scores.csv"
    rows = ["entry,judge,criterion,score"]
    for entry, base in (("MV-001", 30), ("MV-002", 25)):
        for judge in ("j1", "j2", "j3"):
            rows += [f"{entry},{judge},content,{base}", f"{entry},{judge},form,20", f"{entry},{judge},influence,20"]
    table.write_text("\n".join(rows) + "\n", encoding="utf-8")
    runner = bare_app.test_cli_runner()
    ranked = runner.invoke(
        args=["rank", "--rubric", str(ROOT / "rubrics" / "micro_video.toml"), "--scores", str(table)]
    )
    assert ranked.exit_code == 0, ranked.output
    lines = ranked.output.splitlines()
    assert lines[0].startswith("rank,entry,category,final_score,award,n_sheets,content,form,influence")
    assert lines[1].startswith("1,MV-001,,70.00,一等奖,3,30.00,20.00,20.00")
    assert lines[2].startswith("2,MV-002,,65.00,二等奖,3,25.00,20.00,20.00")
    assessed = runner.invoke(args=["reliability", "--scores", str(table)])
    assert assessed.exit_code == 0 and '"n_entries": 2' in assessed.output
