"""Paper sheets in a contest judged in rounds: the clerks type the sheet of the round open for sheets (the
screening's pass/fail question, then the final's criteria), it lands on that round's assignment of the
judge, and a frozen round's assignment takes no paper sheet, not even by a forged request."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from judging.extensions import db
from judging.models import PaperEntry, Role, ScoreSheet, SheetStatus
from judging.services import ServiceError, rounds
from judging.services.paper_sheets import (
    assignment_for_paper,
    enter_paper_sheet,
    name_clerk,
    paper_rubric,
)
from tests.conftest import create_user, log_in
from tests.integration.test_rounds import two_round_contest
from tests.integration.test_rounds_shared_judges import assignment_in, final_panel, open_final, screen


def _clerks(contest, organizer):  # type: ignore[no-untyped-def]
    clerks = [create_user(name, Role.JUDGE) for name in ("clerk-r1", "clerk-r2")]
    for clerk in clerks:
        name_clerk(db.session, organizer, contest, clerk)
    db.session.commit()
    return clerks


def test_the_screenings_paper_sheet_is_its_pass_fail_question_and_counts_in_the_screening(app: Flask) -> None:
    with app.app_context():
        contest, codes, screeners, _finalists, organizer = two_round_contest(app)
        clerks = _clerks(contest, organizer)
        rounds.open_round(db.session, organizer, contest, "screening")
        for judge in screeners:
            rounds.place_judge(db.session, organizer, contest, judge, "screening")
        rounds.assign_round(db.session, organizer, contest, "screening")
        db.session.commit()
        typed = paper_rubric(db.session, contest)
        assert typed.criteria == () and [check.key for check in typed.checks] == ["passes"]
        assignment = assignment_for_paper(db.session, contest, codes[1], screeners[0].id)
        assert assignment.round_key == "screening"
        outcomes = [
            enter_paper_sheet(
                db.session, clerk, contest, assignment, paper_number="S-1", scores={}, checks={"passes": True}
            ).state
            for clerk in clerks
        ]
        db.session.commit()
        assert outcomes == ["waiting", "counted"]
        sheet = db.session.scalar(select(ScoreSheet).where(ScoreSheet.assignment_id == assignment.id))
        assert sheet.status is SheetStatus.SUBMITTED
        assert [(answer.check_key, answer.passed) for answer in sheet.check_answers] == [("passes", True)]
        assert list(sheet.scores) == []
        slug = contest.slug
    # The clerk's page says which round's sheets are typed and asks the pass/fail question, no criteria.
    clerk = app.test_client()
    assert log_in(clerk, "clerk-r1").status_code == 302
    page = clerk.get(f"/paper/contests/{slug}").get_data(as_text=True)
    assert 'data-paper-round="screening"' in page and "本次录入“初评”轮次的评分表" in page
    assert 'name="check_passes"' in page and 'name="score_content"' not in page


def test_after_the_screening_the_clerks_type_the_finals_sheet_and_the_frozen_round_takes_none(app: Flask) -> None:
    with app.app_context():
        contest, codes, screeners, finalists, organizer = two_round_contest(app)
        clerks = _clerks(contest, organizer)
        screen(contest, codes, screeners, organizer)
        open_final(contest, final_panel(screeners, finalists), organizer)
        typed = paper_rubric(db.session, contest)
        assert [criterion.key for criterion in typed.criteria] == ["content", "form", "influence"]
        # screener1 sits on both panels: the clerk's lookup finds the final's assignment, the open round's.
        final = assignment_for_paper(db.session, contest, codes[1], screeners[0].id)
        assert final.round_key == "final"
        scores = {"content": "36", "form": "26", "influence": "25"}
        state = enter_paper_sheet(db.session, clerks[0], contest, final, paper_number="F-1", scores=scores, checks={})
        db.session.commit()
        assert state.state == "waiting"
        # A forged request on the frozen screening assignment of the same judge and entry: refused, nothing stored.
        frozen = assignment_in(screeners[0], codes[1], "screening")
        before = db.session.scalar(select(func.count(PaperEntry.id)))
        with pytest.raises(ServiceError) as refused:
            enter_paper_sheet(
                db.session, clerks[1], contest, frozen, paper_number="S-1", scores={}, checks={"passes": False}
            )
        assert refused.value.message == "“初评”轮次已冻结，其结果不能再更改。"
        db.session.rollback()
        assert db.session.scalar(select(func.count(PaperEntry.id))) == before
        screening_sheet = db.session.scalar(select(ScoreSheet).where(ScoreSheet.assignment_id == frozen.id))
        assert [(answer.check_key, answer.passed) for answer in screening_sheet.check_answers] == [("passes", True)]
