"""One judge on two judging rounds, on both databases: screener1 screens every entry, the screening is
frozen, and screener1 sits on the final panel too, judging the entries the screening sent on. Each round
keeps its own assignments and sheets: the final result counts only final sheets, the screening result only
screening sheets; the frozen screening sheets cannot be changed through any URL; a conflict declared in the
screening carries over to the final; the database refuses a second assignment of the same entry, judge
and round (and of the same entry and judge in a contest without rounds)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from judging.extensions import db
from judging.models import (
    NO_ROUND,
    Assignment,
    AssignmentStatus,
    AuditEvent,
    Contest,
    Entry,
    EntryStatus,
    PanelMember,
    PanelRound,
    Role,
    ScoreSheet,
    SheetStatus,
    User,
    utcnow,
)
from judging.rubric import parse_rubric
from judging.services import ServiceError, api_tokens, contests, panel, publication, rounds
from judging.services.progress import panel_progress
from judging.services.results import compute_results, score_frames
from judging.services.sheets import save_sheet
from tests.conftest import create_user, log_in, organization_named
from tests.integration.test_rounds import FINAL, SCREENING, run_screening, two_round_contest


def assignment_in(judge: User, code: str, key: str) -> Assignment:
    return db.session.scalar(
        select(Assignment)
        .join(Entry)
        .where(Assignment.judge_id == judge.id, Entry.code == code, Assignment.round_key == key)
    )


def screen(contest: Contest, codes: dict[int, str], screeners: list[User], organizer: User, comment: str = "") -> None:
    """The screening (:func:`run_screening`), frozen: entries 1–6 go on. ``comment``: screener1's comment
    on every screening sheet."""
    run_screening(contest, codes, screeners, organizer, comment)
    rounds.freeze_round(db.session, organizer, contest, "screening")
    db.session.commit()


def judge_final(codes: dict[int, str], judges: list[User], columns: range, comment: str = "") -> None:
    """The final panel's sheets of FINAL, submitted: ``judges[c]`` scores column ``c`` for each ``c`` of
    ``columns``; ``comment``: the first judge's comment on each of them."""
    for column in columns:
        judge = judges[column]
        for number, sheets in FINAL.items():
            content, form, influence = sheets[column]
            save_sheet(
                db.session,
                judge,
                assignment_in(judge, codes[number], "final"),
                scores={"content": content, "form": form, "influence": influence},
                comment=comment if judge is judges[0] else "",
                submit=True,
            )


def final_panel(screeners: list[User], finalists: list[User]) -> list[User]:
    """The final panel: screener1 takes the first final judge's seat (and FINAL's first column)."""
    return [screeners[0], *finalists[1:]]


def open_final(contest: Contest, judges: list[User], organizer: User) -> int:
    rounds.open_round(db.session, organizer, contest, "final")
    for judge in judges:
        rounds.place_judge(db.session, organizer, contest, judge, "final")
    created = rounds.assign_round(db.session, organizer, contest, "final")
    db.session.commit()
    return created


def _token(client: FlaskClient, url: str) -> str:
    page = client.get(url).get_data(as_text=True)
    return page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]


def _sheet_versions(judge_id: int, key: str) -> dict[str, tuple[int, str]]:
    rows = db.session.execute(
        select(Entry.code, ScoreSheet.version, ScoreSheet.status)
        .join(Assignment, ScoreSheet.assignment_id == Assignment.id)
        .join(Entry, Assignment.entry_id == Entry.id)
        .where(Assignment.judge_id == judge_id, Assignment.round_key == key)
    )
    return {code: (version, status.value) for code, version, status in rows}


def test_a_judge_on_both_rounds_screens_then_judges_the_final(app: Flask) -> None:
    with app.app_context():
        contest, codes, screeners, finalists, organizer = two_round_contest(app)
        screen(contest, codes, screeners, organizer)
        judges = final_panel(screeners, finalists)
        assert open_final(contest, judges, organizer) == 30  # 6 entries × 5 judges, screener1 among them
        member = db.session.scalar(select(PanelMember).where(PanelMember.judge_id == screeners[0].id))
        assert member.round_keys == {"screening", "final"}
        # screener1 now has entries 1–6 twice (once per round) and entry 7 once.
        assert (
            db.session.scalar(select(func.count(Assignment.id)).where(Assignment.judge_id == screeners[0].id)) == 7 + 6
        )
        judge_final(codes, judges, columns=range(1, 5))  # screener1's column comes through his pages below
        db.session.commit()
        slug, shared_id, organizer_id = contest.slug, screeners[0].id, organizer.id

    # screener1's home lists each (entry, round) once, with the round's name.
    client = app.test_client()
    assert log_in(client, "screener1").status_code == 302
    home = client.get("/judge/").get_data(as_text=True)
    for number in range(1, 7):
        assert home.count(f'href="/judge/entries/{codes[number]}?round=screening"') == 1
        assert home.count(f'href="/judge/entries/{codes[number]}?round=final"') == 1
    assert home.count(f'href="/judge/entries/{codes[7]}?round=screening"') == 1
    assert f"/judge/entries/{codes[7]}?round=final" not in home
    assert home.count("data-round-name>初评</span>") == 7 and home.count("data-round-name>终评</span>") == 6

    # The entry's page without a round is the open round's: the final sheet, saved to the final assignment.
    page = client.get(f"/judge/entries/{codes[1]}").get_data(as_text=True)
    assert 'data-round="final"' in page and f'action="/judge/entries/{codes[1]}/sheet?round=final"' in page
    assert "data-round-closed" not in page and 'name="score_content"' in page
    # The screening's sheet stays visible, read-only, with why.
    frozen = client.get(f"/judge/entries/{codes[1]}?round=screening").get_data(as_text=True)
    assert 'data-round="screening"' in frozen
    assert "“初评”轮次已冻结，其结果不能再更改。<br>本轮评分表只读。" in frozen
    assert "<fieldset disabled>" in frozen and '<input checked class="form-check-input" id="check_passes-0"' in frozen
    assert "提交评分" not in frozen
    # A conflict is declared on the open round's page (it then carries over); the frozen round's has no form.
    assert f"/judge/entries/{codes[1]}/conflict?round=screening" not in frozen
    assert f'action="/judge/entries/{codes[1]}/conflict?round=final"' in page
    token = _token(client, f"/judge/entries/{codes[1]}?round=final")
    for number, sheets in FINAL.items():
        content, form, influence = sheets[0]
        answer = client.post(
            f"/judge/entries/{codes[number]}/sheet?round=final",
            data={
                "csrf_token": token,
                "version": "0",
                "score_content": str(content),
                "score_form": str(form),
                "score_influence": str(influence),
                "submit_sheet": "1",
            },
        )
        assert answer.status_code == 302 and answer.headers["Location"] == "/judge/"

    with app.app_context():
        contest = db.session.scalar(select(Contest).where(Contest.slug == slug))
        assert _sheet_versions(shared_id, "final") == {codes[n]: (1, "submitted") for n in range(1, 7)}
        assert _sheet_versions(shared_id, "screening") == {codes[n]: (1, "submitted") for n in range(1, 8)}
        # The final result: the same numbers as five separate final judges gave (test_rounds.py), from the
        # final sheets only (5 per entry, none of screener1's screening sheets).
        results = compute_results(db.session, contest)
        assert results.ranking is not None
        assert [
            (r["entry"], str(r["final_score"]), r["rank"], r["n_sheets"], r["award"])
            for r in results.ranking.table.to_dict("records")
        ] == [
            (codes[3], "89.67", 1, 5, "一等奖"),
            (codes[1], "87.33", 2, 5, "二等奖"),
            (codes[6], "82.00", 3, 5, "二等奖"),
            (codes[2], "80.33", 4, 5, "三等奖"),
            (codes[4], "68.00", 5, 5, "三等奖"),
            (codes[5], "51.67", 6, 5, ""),
        ]
        final_scores, final_checks = score_frames(
            db.session, contest, contests.current_rubric(contest).for_round("final"), "final"
        )
        assert len(final_scores) == 6 * 5 * 3 and len(final_checks) == 0
        # The screening result: passes from the screening sheets only (3 per entry), as frozen and as counted.
        screening = rounds.round_outcome(db.session, contest, "screening")
        assert [(s.entry, s.result, s.rank, s.judges) for s in screening.standings] == [
            (codes[1], Decimal(3), 1, 3),
            (codes[2], Decimal(3), 1, 3),
            (codes[3], Decimal(2), 3, 3),
            (codes[4], Decimal(2), 3, 3),
            (codes[5], Decimal(1), 5, 3),
            (codes[6], Decimal(1), 5, 3),
            (codes[7], Decimal(0), 7, 3),
        ]
        screening_scores, screening_checks = score_frames(
            db.session, contest, contests.current_rubric(contest).for_round("screening"), "screening"
        )
        assert len(screening_scores) == 0 and len(screening_checks) == 21
        assert results.path_lines(codes[6]) == [
            "初评：通过 1/3，排名 5 — 晋级（前 5 名，与最后一个晋级名次并列）",
            "终评：得分 82.00，排名 3",
        ]
        # The organiser's progress: screener1's 13 sheets (7 screening, 6 final) all submitted; the square of
        # entry 1 is the final's.
        progress = panel_progress(db.session, contest, Decimal(10))
        row = next(row for row in progress.rows if row.judge.username == "screener1")
        assert (row.done, row.total) == (13, 13)
        assert row.cells[0].assignment is not None and row.cells[0].assignment.round_key == "final"
        assert row.cells[0].total == Decimal(87)
        assert (progress.done, progress.total) == (21 + 30, 21 + 30)
        secret = api_tokens.create_token(db.session, db.session.get(User, organizer_id), "rounds", "read").secret
        db.session.commit()
    # The API's sheet list names each sheet's round: screener1 has two sheets for entry 1.
    listed = client.get(
        f"/api/v1/organizer/contests/{slug}/sheets?limit=100", headers={"Authorization": f"Bearer {secret}"}
    )
    assert listed.status_code == 200
    mine = [
        (item["round"], item["checks"], item["scores"])
        for item in listed.json["items"]
        if item["judge"] == "screener1" and item["entry"] == codes[1]
    ]
    assert mine == [
        ("screening", {"passes": True}, {}),
        ("final", {}, {"content": "36.00", "form": "26.00", "influence": "25.00"}),
    ]


def test_a_judge_on_both_rounds_cannot_change_the_frozen_screening(app: Flask) -> None:
    with app.app_context():
        contest, codes, screeners, finalists, organizer = two_round_contest(app)
        screen(contest, codes, screeners, organizer)
        open_final(contest, final_panel(screeners, finalists), organizer)
        shared_id = screeners[0].id
        before = _sheet_versions(shared_id, "screening")
        sheets_before = db.session.scalar(select(func.count(ScoreSheet.id)))
    client = app.test_client()
    assert log_in(client, "screener1").status_code == 302
    token = _token(client, f"/judge/entries/{codes[1]}")
    scored = {"csrf_token": token, "version": "1", "check_passes": "yes", "submit_sheet": "1"}
    # Entry 7 went no further than the screening: its old URL is the frozen screening assignment.
    answer = client.post(f"/judge/entries/{codes[7]}/sheet", data={**scored, "check_passes": "yes"})
    assert answer.status_code == 400
    assert "“初评”轮次已冻结，其结果不能再更改。" in answer.get_data(as_text=True)
    # Entry 1 by its old URL is the final's assignment: a screening answer is no final sheet (nothing saved).
    answer = client.post(f"/judge/entries/{codes[1]}/sheet", data={**scored, "version": "0"})
    assert answer.status_code == 400
    # A forged round parameter naming the frozen screening: refused with the reason.
    answer = client.post(f"/judge/entries/{codes[1]}/sheet?round=screening", data=scored)
    assert answer.status_code == 400
    assert "“初评”轮次已冻结，其结果不能再更改。" in answer.get_data(as_text=True)
    # A round the contest does not have, or an empty one: no such assignment.
    assert client.post(f"/judge/entries/{codes[1]}/sheet?round=semifinal", data=scored).status_code == 404
    assert client.get(f"/judge/entries/{codes[1]}?round=semifinal").status_code == 404
    assert client.post(f"/judge/entries/{codes[7]}/sheet?round=final", data=scored).status_code == 404
    with app.app_context():
        assert _sheet_versions(shared_id, "screening") == before
        assert db.session.scalar(select(func.count(ScoreSheet.id))) == sheets_before

    # A judge not on a round cannot open that round's assignment.
    screener2, final2 = app.test_client(), app.test_client()
    assert log_in(screener2, "screener2").status_code == 302
    assert log_in(final2, "final2").status_code == 302
    assert screener2.get(f"/judge/entries/{codes[1]}?round=final").status_code == 404
    assert screener2.get(f"/judge/entries/{codes[1]}?round=screening").status_code == 200
    assert final2.get(f"/judge/entries/{codes[1]}?round=screening").status_code == 404
    assert final2.get(f"/judge/entries/{codes[1]}?round=final").status_code == 200
    final_token = _token(final2, f"/judge/entries/{codes[1]}?round=final")
    answer = final2.post(
        f"/judge/entries/{codes[1]}/sheet?round=screening",
        data={"csrf_token": final_token, "version": "0", "check_passes": "yes", "submit_sheet": "1"},
    )
    assert answer.status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count(ScoreSheet.id))) == sheets_before


def test_a_conflict_declared_in_the_screening_carries_over_to_the_final(app: Flask) -> None:
    with app.app_context():
        contest, codes, screeners, finalists, organizer = two_round_contest(app)
        rounds.open_round(db.session, organizer, contest, "screening")
        for judge in screeners:
            rounds.place_judge(db.session, organizer, contest, judge, "screening")
        rounds.assign_round(db.session, organizer, contest, "screening")
        db.session.commit()
        slug = contest.slug
    client = app.test_client()
    assert log_in(client, "screener1").status_code == 302
    token = _token(client, f"/judge/entries/{codes[2]}?round=screening")
    answer = client.post(
        f"/judge/entries/{codes[2]}/conflict?round=screening", data={"csrf_token": token, "reason": "曾指导该作品"}
    )
    assert answer.status_code == 302
    with app.app_context():
        contest = db.session.scalar(select(Contest).where(Contest.slug == slug))
        screeners = [db.session.scalar(select(User).where(User.username == f"screener{i}")) for i in (1, 2, 3)]
        finalists = [db.session.scalar(select(User).where(User.username == f"final{i}")) for i in range(1, 6)]
        organizer = db.session.scalar(select(User).where(User.username == "organizer"))
        assert assignment_in(screeners[0], codes[2], "screening").status is AssignmentStatus.RECUSED
        for number, answers in SCREENING.items():
            for judge, passed in zip(screeners, answers, strict=True):
                assignment = assignment_in(judge, codes[number], "screening")
                if assignment.status is AssignmentStatus.ASSIGNED:
                    save_sheet(db.session, judge, assignment, scores={}, checks={"passes": passed}, submit=True)
        rounds.freeze_round(db.session, organizer, contest, "screening")
        # Entry 2 (2 passes of 2 now) still goes on; screener1 is not assigned it in the final, the others are.
        assert open_final(contest, final_panel(screeners, finalists), organizer) == 6 * 5 - 1
        assert assignment_in(screeners[0], codes[2], "final") is None
        assert assignment_in(screeners[0], codes[1], "final") is not None
        assert assignment_in(finalists[1], codes[2], "final") is not None
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "round.assign", AuditEvent.object_id == "final")
        )
        assert event.data["excluded"] == [[codes[2], "screener1", "recused"]]
        # Assigning the final again keeps it so.
        assert rounds.assign_round(db.session, organizer, contest, "final") == 0
        assert assignment_in(screeners[0], codes[2], "final") is None
        db.session.commit()
        # The frozen screening's assignments stand: no override of its recusal...
        with pytest.raises(ServiceError) as frozen_override:
            panel.override_recusal(db.session, organizer, assignment_in(screeners[0], codes[2], "screening"), "复核")
        assert frozen_override.value.message == "“初评”轮次已冻结，其结果不能再更改。"
        db.session.rollback()
        recusals = db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "assignment.recuse"))
    # ... and no new conflict, not even by a forged post to the frozen round (its page offers no form).
    token = _token(client, f"/judge/entries/{codes[1]}?round=final")
    forged = client.post(
        f"/judge/entries/{codes[1]}/conflict?round=screening",
        data={"csrf_token": token, "reason": "伪造"},
        follow_redirects=True,
    )
    assert "“初评”轮次已冻结，其结果不能再更改。" in forged.get_data(as_text=True)
    with app.app_context():
        screener1 = db.session.scalar(select(User).where(User.username == "screener1"))
        assert assignment_in(screener1, codes[1], "screening").status is AssignmentStatus.ASSIGNED
        assert assignment_in(screener1, codes[2], "screening").status is AssignmentStatus.RECUSED
        assert (
            db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "assignment.recuse"))
            == recusals
        )


def test_placing_and_taking_a_judge_off_rounds(app: Flask) -> None:
    with app.app_context():
        contest, codes, screeners, finalists, organizer = two_round_contest(app)
        rounds.open_round(db.session, organizer, contest, "screening")
        rounds.place_judge(db.session, organizer, contest, screeners[0], "screening")
        rounds.place_judge(db.session, organizer, contest, finalists[0], "screening")
        with pytest.raises(ServiceError) as caught:
            rounds.place_judge(db.session, organizer, contest, screeners[0], "screening")
        assert caught.value.message == "Screener1 已在“初评”评审组中。"
        # Taken off a round that has not started for the judge; one with assignments keeps the judge.
        rounds.unplace_judge(db.session, organizer, contest, finalists[0], "screening")
        assert rounds.round_judges(contest, "screening") == [screeners[0]]
        for judge in screeners[1:]:
            rounds.place_judge(db.session, organizer, contest, judge, "screening")
        rounds.assign_round(db.session, organizer, contest, "screening")
        with pytest.raises(ServiceError) as caught:
            rounds.unplace_judge(db.session, organizer, contest, screeners[0], "screening")
        assert caught.value.message == "Screener1 在“初评”中已有待评作品，因此留在该轮评审组。"
        with pytest.raises(ServiceError) as caught:
            rounds.unplace_judge(db.session, organizer, contest, finalists[0], "screening")
        assert caught.value.message == "Final1 不在“初评”评审组中。"
        db.session.commit()
        assert db.session.scalar(select(func.count(PanelRound.id))) == 3
        # Off the contest's panel, the judge's seats go too.
        panel.remove_from_panel(db.session, organizer, contest, finalists[1])
        assert db.session.scalar(select(func.count(PanelRound.id))) == 3
        db.session.commit()
        slug = contest.slug
        organizer_id, screener_id = organizer.id, screeners[0].id

    client = app.test_client()
    assert log_in(client, "organizer").status_code == 302
    url = f"/organizer/contests/{slug}/rounds"
    page = client.get(url).get_data(as_text=True)
    assert re.search(r'data-judge="screener1"><td>Screener1</td>\s*<td data-judge-rounds>初评</td>', page)
    assert re.search(r'data-judge="final1"><td>Final1</td>\s*<td data-judge-rounds><span class="text-muted">尚未', page)
    token = _token(client, url)
    # The organiser's page: screener1, already on the screening panel, is placed on the final one too.
    with app.app_context():
        contest = db.session.scalar(select(Contest).where(Contest.slug == slug))
        organizer = db.session.get(User, organizer_id)
        screeners = rounds.round_judges(contest, "screening")
        assert [judge.username for judge in screeners] == ["screener1", "screener2", "screener3"]
        for number, answers in SCREENING.items():
            for judge, passed in zip(screeners, answers, strict=True):
                assignment = assignment_in(judge, codes[number], "screening")
                save_sheet(db.session, judge, assignment, scores={}, checks={"passes": passed}, submit=True)
        rounds.freeze_round(db.session, organizer, contest, "screening")
        rounds.open_round(db.session, organizer, contest, "final")
        db.session.commit()
    answer = client.post(f"{url}/final/judges", data={"csrf_token": token, "judge_id": screener_id})
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Screener1 已加入本轮评审组。" in page
    assert f'action="{url}/final/judges/{screener_id}/remove"' in page  # the final has not started for him
    # The final's form no longer offers him; a post naming him again is refused by the service, saying why.
    offered = re.search(r'<select[^>]*id="judge-final"[^>]*>(.*?)</select>', page, re.S)
    assert offered is not None and "Final1" in offered.group(1) and "Screener1" not in offered.group(1)
    again = client.post(
        f"{url}/final/judges", data={"csrf_token": token, "judge_id": screener_id}, follow_redirects=True
    )
    assert "Screener1 已在“终评”评审组中。" in again.get_data(as_text=True)
    assert "<td data-judge-rounds>初评、终评</td>" in page
    # Taken off the final again (not started for the judge); a second time, or a round the contest does not
    # have, or without the form's token: refused, nothing changed.
    page = client.post(
        f"{url}/final/judges/{screener_id}/remove", data={"csrf_token": token}, follow_redirects=True
    ).get_data(as_text=True)
    assert "Screener1 已不再参加本轮评审。" in page and "<td data-judge-rounds>初评</td>" in page
    page = client.post(
        f"{url}/final/judges/{screener_id}/remove", data={"csrf_token": token}, follow_redirects=True
    ).get_data(as_text=True)
    assert "Screener1 不在“终评”评审组中。" in page
    assert client.post(f"{url}/nosuch/judges/{screener_id}/remove", data={"csrf_token": token}).status_code == 404
    assert client.post(f"{url}/final/judges/{screener_id}/remove", data={}).status_code == 400
    with app.app_context():
        seats = db.session.scalars(
            select(PanelRound.round_key).join(PanelMember).where(PanelMember.judge_id == screener_id)
        ).all()
        assert seats == ["screening"]


def test_the_database_refuses_a_second_assignment_of_an_entry_judge_and_round(app: Flask) -> None:
    with app.app_context():
        contest, codes, screeners, finalists, organizer = two_round_contest(app)
        screen(contest, codes, screeners, organizer)
        open_final(contest, final_panel(screeners, finalists), organizer)
        entry_id = db.session.scalar(select(Entry.id).where(Entry.code == codes[1]))
        judge_id = screeners[0].id
        db.session.add(Assignment(entry_id=entry_id, judge_id=judge_id, round_key="final"))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
        # A third round's assignment of the same entry and judge is another row (once a rubric has one).
        db.session.add(Assignment(entry_id=entry_id, judge_id=judge_id, round_key="third"))
        db.session.flush()
        db.session.rollback()

        # A contest without rounds: the assignment's round is "", never NULL, so a duplicate is refused too.
        plain = db.session.scalar(select(Contest).where(Contest.slug == "micro-video"))
        assert not contests.current_rubric(plain).rounds
        district = organization_named("黄浦区")
        judge = create_user("plainjudge", Role.JUDGE)
        entry = Entry(
            contest=plain,
            organization=district,
            code="PL-001",
            title="作品",
            status=EntryStatus.SUBMITTED,
        )
        db.session.add_all([entry, PanelMember(contest=plain, judge=judge)])
        db.session.flush()
        first = Assignment(entry_id=entry.id, judge_id=judge.id)
        db.session.add(first)
        db.session.flush()
        assert first.round_key == NO_ROUND
        db.session.commit()
        db.session.add(Assignment(entry_id=entry.id, judge_id=judge.id))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
        db.session.add(Assignment(entry_id=entry.id, judge_id=judge.id, round_key=NO_ROUND))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
        # Every assignment of the app's own paths is made with a round or with "", and none with NULL.
        assert db.session.scalar(select(func.count(Assignment.id)).where(Assignment.round_key.is_(None))) == 0
        assert (
            db.session.scalar(select(func.count(ScoreSheet.id)).where(ScoreSheet.status == SheetStatus.SUBMITTED)) == 21
        )


def test_the_entrant_reads_the_final_rounds_comments_of_a_judge_on_both_panels(app: Flask) -> None:
    """With ``show = "scores_and_comments"`` the entrant reads each judge's comment of the result's round: a
    judge on both panels wrote one per round, and only the final's is the result's."""
    with app.app_context():
        contest, codes, screeners, finalists, organizer = two_round_contest(app)
        text = contest.current_rubric.text + '\n[feedback]\nshow = "scores_and_comments"\n'
        contests.sync_rubric(db.session, organizer, parse_rubric(text, "two_rounds.toml"), edition="2027")
        db.session.commit()
        screen(contest, codes, screeners, organizer, comment="初评意见：题材新颖")
        judges = final_panel(screeners, finalists)
        open_final(contest, judges, organizer)
        judge_final(codes, judges, columns=range(5), comment="终评意见：表现力强")
        create_user("hongkou", Role.ENTRANT, "虹口区")
        entry_id = db.session.scalar(select(Entry.id).where(Entry.code == codes[6]))
        snapshot = publication.freeze(db.session, organizer, contest)
        snapshot.publicity_ends_at = utcnow() - timedelta(minutes=1)
        publication.publish(db.session, organizer, snapshot)
        db.session.commit()
    client = app.test_client()
    assert log_in(client, "hongkou").status_code == 302
    page = client.get(f"/entrant/entries/{entry_id}").get_data(as_text=True)
    comments = page.split('id="feedback-comments"')[1].split("</ul>")[0]
    assert "终评意见：表现力强" in comments
    assert "初评意见" not in page
