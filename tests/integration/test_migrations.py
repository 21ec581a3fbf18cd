"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select, text

from judging.extensions import db
from judging.models import Assignment, Contest, Entry, EntryStatus, PanelMember, PanelRound
from judging.rubric import load_rubric_directory
from judging.services import contests, organizations, rounds
from judging.services.sheets import save_sheet
from tests.conftest import ROOT, make_test_app, organization_named
from tests.integration.test_rounds import two_round_contest


def test_migrations_match_the_models(database_url: str, tmp_path: Path) -> None:
    app = make_test_app(database_url, tmp_path)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("DROP SCHEMA public CASCADE"))
            db.session.execute(text("CREATE SCHEMA public"))
            db.session.commit()
        upgrade(directory=str(ROOT / "migrations"))
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
        assert differences == []
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("DROP SCHEMA public CASCADE"))
            db.session.execute(text("CREATE SCHEMA public"))
            db.session.commit()
        db.session.remove()
        db.engine.dispose()


def _fresh_schema() -> None:
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("DROP SCHEMA public CASCADE"))
        db.session.execute(text("CREATE SCHEMA public"))
        db.session.commit()


def _rows(sql: str) -> list[tuple[object, ...]]:
    return [tuple(row) for row in db.session.execute(text(sql)).all()]


def test_judges_on_several_rounds_migrate_down_and_up_with_their_data(database_url: str, tmp_path: Path) -> None:
    """a7c3e1f09b42 moves a judge's round from panel_member.round_key to panel_round and back; an assignment
    of a contest without rounds is NULL before and "" after; sheets keep their assignments both ways. A
    judge with the same entry in two rounds cannot go down (the old schema holds one): refused, unchanged."""
    migrations = str(ROOT / "migrations")
    app = make_test_app(database_url, tmp_path)
    with app.app_context():
        _fresh_schema()
        upgrade(directory=migrations)
        organizations.seed_organizations(
            db.session, organizations.read_organization_file(ROOT / "data" / "organizations.toml")
        )
        for rubric in load_rubric_directory(ROOT / "rubrics"):
            contests.sync_rubric(db.session, None, rubric, edition="2026")
        db.session.commit()
        contest, codes, screeners, finalists, organizer = two_round_contest(app)
        rounds.open_round(db.session, organizer, contest, "screening")
        for judge in screeners:
            rounds.place_judge(db.session, organizer, contest, judge, "screening")
        rounds.assign_round(db.session, organizer, contest, "screening")
        first = db.session.scalar(
            select(Assignment).join(Entry).where(Assignment.judge_id == screeners[0].id, Entry.code == codes[1])
        )
        save_sheet(db.session, screeners[0], first, scores={}, checks={"passes": True}, submit=True)
        # finalists[0] sits on both rounds' panels (the downgrade keeps the latest seat).
        member = db.session.scalar(select(PanelMember).where(PanelMember.judge_id == finalists[0].id))
        member.seats.extend([PanelRound(round_key="screening"), PanelRound(round_key="final")])
        plain = db.session.scalar(select(Contest).where(Contest.slug == "micro-video"))
        district = organization_named("黄浦区")
        entry = Entry(contest=plain, organization=district, code="PL-001", title="作品", status=EntryStatus.SUBMITTED)
        db.session.add_all([entry, PanelMember(contest=plain, judge=screeners[1])])
        db.session.flush()
        db.session.add(Assignment(entry_id=entry.id, judge_id=screeners[1].id))
        db.session.commit()
        ids = {judge.username: judge.id for judge in (*screeners, *finalists)}
        first_entry_id = first.entry_id
        assignments = _rows("SELECT id, entry_id, judge_id, round_key FROM assignment ORDER BY id")
        sheets = _rows("SELECT id, assignment_id, version FROM score_sheet ORDER BY id")
        assert len(assignments) == 22 and len(sheets) == 1
        db.session.remove()

        downgrade(directory=migrations, revision="fd5e393dad01")
        assert _rows("SELECT version_num FROM alembic_version") == [("fd5e393dad01",)]
        seats = dict(_rows("SELECT judge_id, round_key FROM panel_member WHERE round_key IS NOT NULL"))
        assert seats == {
            ids["screener1"]: "screening",
            ids["screener2"]: "screening",
            ids["screener3"]: "screening",
            ids["final1"]: "final",
        }
        down = _rows("SELECT id, entry_id, judge_id, round_key FROM assignment ORDER BY id")
        assert down == [(*row[:3], None if row[3] == "" else row[3]) for row in assignments]
        assert down[-1][3] is None and {row[3] for row in down[:-1]} == {"screening"}
        assert _rows("SELECT id, assignment_id, version FROM score_sheet ORDER BY id") == sheets
        assert "panel_round" not in inspect(db.engine).get_table_names()
        db.session.remove()

        upgrade(directory=migrations)
        assert sorted(
            _rows(
                "SELECT member.judge_id, seat.round_key FROM panel_round AS seat "
                "JOIN panel_member AS member ON member.id = seat.member_id"
            )
        ) == sorted([(ids[f"screener{i}"], "screening") for i in (1, 2, 3)] + [(ids["final1"], "final")])
        assert _rows("SELECT id, entry_id, judge_id, round_key FROM assignment ORDER BY id") == assignments
        assert _rows("SELECT id, assignment_id, version FROM score_sheet ORDER BY id") == sheets
        db.session.remove()

        # The same entry for the same judge in two rounds: the old schema cannot hold it.
        db.session.add(Assignment(entry_id=first_entry_id, judge_id=ids["screener1"], round_key="final"))
        db.session.commit()
        head = _rows("SELECT version_num FROM alembic_version")
        with pytest.raises(SystemExit):
            downgrade(directory=migrations, revision="fd5e393dad01")
        db.session.remove()
        # The refused step changed nothing: the database stands where it stood before it (at the head when
        # the whole downgrade is one transaction, as on PostgreSQL; at a7c3e1f09b42 where each step commits).
        assert _rows("SELECT version_num FROM alembic_version") in (head, [("a7c3e1f09b42",)])
        assert len(_rows("SELECT id FROM panel_round")) == 4
        assert len(_rows("SELECT id FROM assignment")) == 23

        _fresh_schema()
        db.session.remove()
        db.engine.dispose()
