"""The results preview computes once per state and is never stale (issue 18): the engine's run is found
again for the same sheets, and any change — a submitted sheet, a reopened one, a withdrawn entry, a
score edited by hand in the database — gives a new run with the new numbers."""

from __future__ import annotations

import re
from decimal import Decimal

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from judging.extensions import db
from judging.models import Assignment, Contest, Entry, EntryStatus, Score, ScoreSheet, SheetStatus
from judging.services import results
from tests.conftest import log_in
from tests.scenarios import grow_judging


def _contest() -> Contest:
    return db.session.scalar(select(Contest).where(Contest.slug == "micro-video"))


def _final(computed: results.ContestResults, code: str) -> Decimal:
    table = computed.ranking.table
    return table.loc[table["entry"] == code, "final_score"].iloc[0]


def test_the_same_sheets_reuse_one_engine_run_and_any_change_makes_a_new_one(app: Flask, users: dict[str, int]) -> None:
    with app.app_context():
        grow_judging(6, 3)
        first = results.compute_results(db.session, _contest())
        again = results.compute_results(db.session, _contest())
        assert again.engine_key == first.engine_key
        assert again.ranking is first.ranking  # found, not recomputed
        # MV-001: the three judges' sheets total 70, 71, 72; the rubric trims one at each end
        assert _final(first, "MV-001") == Decimal("71.00")

        # An insider edits a stored score by hand: the next preview shows it.
        sheet_id = db.session.scalar(
            select(ScoreSheet.id).join(Assignment).join(Entry).where(Entry.code == "MV-001").order_by(ScoreSheet.id)
        )
        db.session.execute(
            update(Score).where(Score.sheet_id == sheet_id, Score.criterion == "content").values(value=Decimal("39"))
        )
        db.session.commit()
        edited = results.compute_results(db.session, _contest())
        assert edited.engine_key != first.engine_key
        assert _final(edited, "MV-001") == Decimal("72.00")  # 79, 71, 72 trimmed to 72

        # A sheet reopened to draft leaves the table.
        db.session.execute(update(ScoreSheet).where(ScoreSheet.id == sheet_id).values(status=SheetStatus.DRAFT))
        db.session.commit()
        reopened = results.compute_results(db.session, _contest())
        assert reopened.engine_key not in (first.engine_key, edited.engine_key)
        assert "MV-001" not in set(reopened.ranking.table["entry"])  # two sheets, the rubric needs three
        assert "MV-001" in set(reopened.ranking.excluded["entry"])

        # A withdrawn entry leaves the ranking.
        db.session.execute(update(Entry).where(Entry.code == "MV-003").values(status=EntryStatus.WITHDRAWN))
        db.session.commit()
        withdrawn = results.compute_results(db.session, _contest())
        assert "MV-003" not in set(withdrawn.ranking.table["entry"])
        assert "MV-003" in set(reopened.ranking.table["entry"])


def _page(client: FlaskClient) -> str:
    """The page without its CSRF tokens (signed with the second they were made in)."""
    response = client.get("/organizer/contests/micro-video/results")
    assert response.status_code == 200
    return re.sub(r'name="csrf_token"( type="hidden")? value="[^"]+"', "", response.get_data(as_text=True))


def test_the_preview_page_draws_its_charts_per_language_and_shows_a_change_at_once(
    app: Flask, users: dict[str, int]
) -> None:
    with app.app_context():
        grow_judging(6, 3)
    client = app.test_client()
    assert log_in(client, "organizer").status_code == 302
    chinese = _page(client)
    assert "data:image/svg+xml;base64," in chinese
    assert 'data-entry="MV-001"' in chinese or "MV-001" in chinese
    assert _page(client) == chinese  # same state, same page
    client.get("/lang/en")
    english = _page(client)
    assert english != chinese
    with app.app_context():
        db.session.execute(update(Score).where(Score.criterion == "form").values(value=Decimal("25")))
        db.session.commit()
    changed = _page(client)
    assert changed != english
    # every scored entry's sheets now total 75, 76, 77 (were 70, 71, 72): trimmed, 76.00
    assert "76.00" in changed and "76.00" not in english


def test_the_ranking_is_rendered_once_per_state_and_a_renamed_entry_or_judge_shows_at_once(
    app: Flask, users: dict[str, int]
) -> None:
    """The second view reuses the rendered ranking (issue 18: the 200 rows and their explanations cost more
    than the ranking); what the organiser sees beside the codes is part of its version."""
    from judging.models import User
    from judging.web import organizer_results

    organizer_results._RENDERED.clear()
    with app.app_context():
        grow_judging(6, 3)
    client = app.test_client()
    assert log_in(client, "organizer").status_code == 302
    first = _page(client)
    assert len(organizer_results._RENDERED) == 1
    kept = next(iter(organizer_results._RENDERED.values()))
    assert _page(client) == first and next(iter(organizer_results._RENDERED.values())) is kept
    with app.app_context():
        db.session.execute(update(Entry).where(Entry.code == "MV-002").values(title="改过的标题"))
        judge = db.session.scalar(select(User).where(User.username == "scale-judge-0"))
        old_name, judge.display_name = judge.display_name, "新名字评委"
        db.session.commit()
    renamed = _page(client)
    assert "改过的标题" in renamed and "改过的标题" not in first
    assert "新名字评委" in renamed and "新名字评委" not in first and old_name in first
    assert len(organizer_results._RENDERED) == 2
