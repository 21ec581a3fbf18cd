"""A contest judged in two rounds (screening by 3 judges with pass/fail, the top 5 to a final panel of 5),
on both databases: who sees what, the order of rounds, frozen rounds that never change, and the path an
entry took shown in the contest's result."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from judging.extensions import db
from judging.models import (
    Assignment,
    AuditEvent,
    Contest,
    Entry,
    EntryStatus,
    JudgingRound,
    PanelMember,
    Phase,
    Role,
    ScoreSheet,
    User,
)
from judging.rubric import load_rubric
from judging.services import ServiceError, contests, rounds
from judging.services.results import compute_results
from judging.services.round_paths import payload_of_round
from judging.services.sheets import save_sheet
from judging.services.snapshots import snapshot_payload
from tests.conftest import ROOT, create_user, log_in, organization_named

DISTRICTS = ["黄浦区", "徐汇区", "长宁区", "静安区", "普陀区", "虹口区", "杨浦区"]
# Screening answers of the three screening judges for entries 1..7: passes 3, 3, 2, 2, 1, 1, 0.
# Top 5 with a tie at 5th place (entries 5 and 6 have one pass each): six advance.
SCREENING = {
    1: (True, True, True),
    2: (True, True, True),
    3: (True, True, False),
    4: (False, True, True),
    5: (True, False, False),
    6: (False, False, True),
    7: (False, False, False),
}


def two_round_contest(app: Flask) -> tuple[Contest, dict[int, str], list[User], list[User], User]:
    """The two-round template as a contest in review with 7 entries, 3 screening and 5 final judges."""
    organizer = create_user("organizer", Role.ORGANIZER, "市委网信办")
    rubric = load_rubric(ROOT / "rubrics/templates/two_rounds.toml")
    contest = contests.create_contest(db.session, organizer, rubric, edition="2027")
    contests.change_phase(db.session, organizer, contest, Phase.OPEN)
    codes = {}
    for number, district in enumerate(DISTRICTS, start=1):
        code = f"MR-{number:03d}"
        db.session.add(
            Entry(
                contest=contest,
                organization=organization_named(district),
                code=code,
                title=f"作品{number}",
                status=EntryStatus.SUBMITTED,
            )
        )
        codes[number] = code
    db.session.flush()
    contests.change_phase(db.session, organizer, contest, Phase.REVIEW)
    screeners = [create_user(f"screener{i}", Role.JUDGE) for i in range(1, 4)]
    finalists = [create_user(f"final{i}", Role.JUDGE) for i in range(1, 6)]
    for judge in screeners + finalists:
        db.session.add(PanelMember(contest=contest, judge=judge))
    db.session.commit()
    return contest, codes, screeners, finalists, organizer


def assignment_of(judge: User, code: str) -> Assignment:
    return db.session.scalar(select(Assignment).join(Entry).where(Assignment.judge_id == judge.id, Entry.code == code))


def run_screening(contest: Contest, codes: dict[int, str], screeners: list[User], organizer: User) -> None:
    rounds.open_round(db.session, organizer, contest, "screening")
    for judge in screeners:
        rounds.place_judge(db.session, organizer, contest, judge, "screening")
    assert rounds.assign_round(db.session, organizer, contest, "screening") == 21
    for number, answers in SCREENING.items():
        for judge, passed in zip(screeners, answers, strict=True):
            save_sheet(
                db.session,
                judge,
                assignment_of(judge, codes[number]),
                scores={},
                checks={"passes": passed},
                submit=True,
            )
    db.session.commit()


FINAL = {  # entry number → the five final judges' (content, form, influence)
    1: [(36, 26, 25), (35, 25, 25), (37, 27, 26), (30, 20, 20), (38, 28, 28)],
    2: [(30, 25, 25), (32, 24, 24), (31, 25, 25), (33, 26, 26), (29, 23, 23)],
    3: [(34, 27, 27), (36, 28, 28), (35, 27, 27), (20, 10, 10), (39, 29, 29)],
    4: [(25, 20, 20), (26, 21, 21), (27, 22, 22), (28, 23, 23), (24, 19, 19)],
    5: [(20, 15, 15), (22, 16, 16), (21, 15, 15), (23, 17, 17), (19, 14, 14)],
    6: [(33, 25, 24), (32, 25, 24), (34, 25, 24), (31, 25, 24), (35, 25, 24)],
}


def test_two_round_contest_runs_and_the_result_shows_both_rounds(app: Flask) -> None:
    with app.app_context():
        contest, codes, screeners, finalists, organizer = two_round_contest(app)
        run_screening(contest, codes, screeners, organizer)

        outcome = rounds.round_outcome(db.session, contest, "screening")
        assert [(s.entry, s.result, s.rank) for s in outcome.standings] == [
            (codes[1], Decimal(3), 1),
            (codes[2], Decimal(3), 1),
            (codes[3], Decimal(2), 3),
            (codes[4], Decimal(2), 3),
            (codes[5], Decimal(1), 5),
            (codes[6], Decimal(1), 5),
            (codes[7], Decimal(0), 7),
        ]
        row = rounds.freeze_round(db.session, organizer, contest, "screening")
        db.session.commit()
        payload = payload_of_round(row)
        assert payload is not None
        assert [line["entry"] for line in payload["entries"] if line["advanced"]] == [codes[n] for n in range(1, 7)]
        assert [line["entry"] for line in payload["entries"] if line["tied"]] == [codes[6]]
        assert payload["rule"] == {"name": "top", "value": "5"}
        assert row.digest is not None and len(row.digest) == 64
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "round.freeze"))
        assert event.data["digest"] == row.digest
        assert event.data["advanced"] == [codes[n] for n in range(1, 7)]

        rounds.open_round(db.session, organizer, contest, "final")
        for judge in finalists:
            rounds.place_judge(db.session, organizer, contest, judge, "final")
        assert rounds.assign_round(db.session, organizer, contest, "final") == 30  # 6 entries × 5 judges
        final_codes = set(
            db.session.scalars(select(Entry.code).join(Assignment).where(Assignment.round_key == "final"))
        )
        assert final_codes == {codes[n] for n in range(1, 7)}
        for number, sheets in FINAL.items():
            for judge, (content, form, influence) in zip(finalists, sheets, strict=True):
                save_sheet(
                    db.session,
                    judge,
                    assignment_of(judge, codes[number]),
                    scores={"content": content, "form": form, "influence": influence},
                    submit=True,
                )
        db.session.commit()

        results = compute_results(db.session, contest)
        assert results.ranking is not None
        table = results.ranking.table
        # Trimmed mean (trim 1 of 5): entry 1's totals 87, 85, 90, 70, 94 → (87 + 85 + 90) / 3 = 87.33.
        assert [(r["entry"], str(r["final_score"]), r["rank"], r["award"]) for r in table.to_dict("records")] == [
            (codes[3], "89.67", 1, "一等奖"),  # 88, 92, 89 of 88, 92, 89, 40, 97
            (codes[1], "87.33", 2, "二等奖"),
            (codes[6], "82.00", 3, "二等奖"),
            (codes[2], "80.33", 4, "三等奖"),  # 80, 80, 81 of 80, 80, 81, 85, 75
            (codes[4], "68.00", 5, "三等奖"),
            (codes[5], "51.67", 6, ""),
        ]
        assert set(results.entries) == {codes[n] for n in range(1, 7)}
        assert list(results.eliminated) == [codes[7]]
        assert results.path_lines(codes[6]) == [
            "初评: 1/3 passes, rank 5 — advanced (top 5, tied at the last place that advances)"
        ]
        assert results.path_lines(codes[7]) == ["初评: 0/3 passes, rank 7 — eliminated in this round (top 5)"]

        payload = snapshot_payload(db.session, contest)
        lines = {line["subject"]: line for line in payload["ranking"]}
        assert lines[codes[3]]["path"] == [
            {
                "round": "screening",
                "label": "初评",
                "mode": "pass_fail",
                "result": "2",
                "rank": 3,
                "judges": 3,
                "advanced": True,
                "rule": "top",
                "rule_value": "5",
                "tied": False,
                "reason": "",
            }
        ]
        assert lines[codes[7]]["rank"] is None
        assert lines[codes[7]]["note"] == "eliminated in round screening"
        assert lines[codes[7]]["path"][0]["advanced"] is False


def test_a_round_cannot_open_before_the_previous_is_frozen(app: Flask) -> None:
    with app.app_context():
        contest, codes, screeners, finalists, organizer = two_round_contest(app)
        with pytest.raises(ServiceError) as caught:
            rounds.open_round(db.session, organizer, contest, "final")
        assert caught.value.message == "The round “终评” can open only once the round before it, “初评”, is frozen."
        rounds.open_round(db.session, organizer, contest, "screening")
        with pytest.raises(ServiceError) as caught:
            rounds.open_round(db.session, organizer, contest, "final")
        assert caught.value.message == "The round “终评” can open only once the round before it, “初评”, is frozen."
        db.session.rollback()
        assert db.session.scalar(select(func.count(JudgingRound.id))) == 0
        # The contest-wide assignment would give every judge every entry: refused for a contest in rounds.
        with pytest.raises(ServiceError):
            from judging.services import panel

            panel.assign_judges(db.session, organizer, contest)


def test_a_frozen_round_cannot_change(app: Flask) -> None:
    with app.app_context():
        contest, codes, screeners, finalists, organizer = two_round_contest(app)
        run_screening(contest, codes, screeners, organizer)
        row = rounds.freeze_round(db.session, organizer, contest, "screening")
        db.session.commit()
        digest, payload = row.digest, row.payload
        judge = screeners[0]
        sheet_before = db.session.scalar(
            select(ScoreSheet.version).where(ScoreSheet.assignment_id == assignment_of(judge, codes[7]).id)
        )
        with pytest.raises(ServiceError) as caught:
            save_sheet(
                db.session, judge, assignment_of(judge, codes[7]), scores={}, checks={"passes": True}, submit=True
            )
        assert caught.value.message == "The round “初评” is frozen: its result can no longer change."
        db.session.rollback()
        with pytest.raises(ServiceError):
            rounds.freeze_round(db.session, organizer, contest, "screening")
        db.session.rollback()
        row = db.session.scalar(select(JudgingRound).where(JudgingRound.key == "screening"))
        assert (row.digest, row.payload) == (digest, payload)
        assert (
            db.session.scalar(
                select(ScoreSheet.version).where(ScoreSheet.assignment_id == assignment_of(judge, codes[7]).id)
            )
            == sheet_before
        )
        assert json.loads(row.payload)["entries"][-1] == {
            "entry": codes[7],
            "category": "",
            "result": "0",
            "rank": 7,
            "judges": 3,
            "advanced": False,
            "tied": False,
            "reason": "",
        }


def test_a_final_judge_cannot_see_or_score_an_eliminated_entry(app: Flask) -> None:
    with app.app_context():
        contest, codes, screeners, finalists, organizer = two_round_contest(app)
        run_screening(contest, codes, screeners, organizer)
        rounds.freeze_round(db.session, organizer, contest, "screening")
        rounds.open_round(db.session, organizer, contest, "final")
        rounds.place_judge(db.session, organizer, contest, finalists[0], "final")
        rounds.assign_round(db.session, organizer, contest, "final")
        db.session.commit()
        eliminated = db.session.scalar(select(Entry).where(Entry.code == codes[7]))
        eliminated_id = eliminated.id
        sheets_before = db.session.scalar(select(func.count(ScoreSheet.id)))
    client: FlaskClient = app.test_client()
    assert log_in(client, "final1").status_code == 302
    dashboard = client.get("/judge/").get_data(as_text=True)
    assert codes[1] in dashboard and codes[7] not in dashboard
    for ref in (codes[7], str(eliminated_id)):
        assert client.get(f"/judge/entries/{ref}").status_code == 404
        token = (
            client.get(f"/judge/entries/{codes[1]}")
            .get_data(as_text=True)
            .split('name="csrf_token" type="hidden" value="')[1]
            .split('"')[0]
        )
        response = client.post(
            f"/judge/entries/{ref}/sheet",
            data={
                "csrf_token": token,
                "version": "0",
                "score_content": "40",
                "score_form": "30",
                "score_influence": "30",
                "submit_sheet": "1",
            },
        )
        assert response.status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count(ScoreSheet.id))) == sheets_before
