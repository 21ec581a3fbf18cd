"""A contest judged in two rounds (screening by 3 judges with pass/fail, the top 5 to a final panel of 5),
on both databases: who sees what, the order of rounds, frozen rounds that never change, and the path an
entry took shown in the contest's result."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

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
    ResultSnapshot,
    Role,
    ScoreSheet,
    User,
    utcnow,
)
from judging.rubric import load_rubric, parse_rubric
from judging.services import ServiceError, contests, publication, rounds
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


def run_screening(
    contest: Contest, codes: dict[int, str], screeners: list[User], organizer: User, comment: str = ""
) -> None:
    """The screening by the three screeners (answers of SCREENING), every sheet submitted; ``comment``: the
    first screener's comment on each of them."""
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
                comment=comment if judge is screeners[0] else "",
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
        submit_final_sheets(codes, finalists)

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
            "初评：通过 1/3，排名 5 — 晋级（前 5 名，与最后一个晋级名次并列）",
            "终评：得分 82.00，排名 3",
        ]
        assert results.path_lines(codes[7]) == ["初评：通过 0/3，排名 7 — 本轮淘汰（前 5 名）"]

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
        contest, _codes, _screeners, _finalists, organizer = two_round_contest(app)
        with pytest.raises(ServiceError) as caught:
            rounds.open_round(db.session, organizer, contest, "final")
        assert caught.value.message == "“终评”只能在上一轮“初评”冻结后开启。"
        rounds.open_round(db.session, organizer, contest, "screening")
        with pytest.raises(ServiceError) as caught:
            rounds.open_round(db.session, organizer, contest, "final")
        assert caught.value.message == "“终评”只能在上一轮“初评”冻结后开启。"
        db.session.rollback()
        assert db.session.scalar(select(func.count(JudgingRound.id))) == 0
        # The contest-wide assignment would give every judge every entry: refused for a contest in rounds.
        with pytest.raises(ServiceError):
            from judging.services import panel

            panel.assign_judges(db.session, organizer, contest)


def test_a_frozen_round_cannot_change(app: Flask) -> None:
    with app.app_context():
        contest, codes, screeners, _finalists, organizer = two_round_contest(app)
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
        assert caught.value.message == "“初评”轮次已冻结，其结果不能再更改。"
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
        # An insider who edits the frozen payload (to send entry 7 on) is caught by `flask audit verify`.
        assert app.test_cli_runner().invoke(args=["audit", "verify"]).exit_code == 0
        forged = row.payload.replace('"advanced":false', '"advanced":true')
        db.session.execute(update(JudgingRound).where(JudgingRound.id == row.id).values(payload=forged))
        db.session.commit()
        verdict = app.test_cli_runner().invoke(args=["audit", "verify"])
        assert verdict.exit_code == 1
        assert f"round screening of {contest.slug}: its payload does not match its digest" in verdict.output
        db.session.execute(update(JudgingRound).where(JudgingRound.id == row.id).values(payload=payload))
        db.session.commit()
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


def _token(client: FlaskClient, url: str) -> str:
    page = client.get(url).get_data(as_text=True)
    return page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]


def test_organiser_runs_the_screening_round_in_the_browser_pages(app: Flask) -> None:
    with app.app_context():
        contest, codes, screeners, _finalists, _organizer = two_round_contest(app)
        judge_ids = [judge.id for judge in screeners]
        slug = contest.slug
    client: FlaskClient = app.test_client()
    assert log_in(client, "organizer").status_code == 302
    url = f"/organizer/contests/{slug}/rounds"
    token = _token(client, url)
    # Opening the final round first is refused with the reason, and nothing is opened.
    page = client.post(f"{url}/final/open", data={"csrf_token": token}, follow_redirects=True).get_data(as_text=True)
    assert "“终评”只能在上一轮“初评”冻结后开启。" in page
    client.post(f"{url}/screening/open", data={"csrf_token": token})
    for judge_id in judge_ids:
        client.post(f"{url}/screening/judges", data={"csrf_token": token, "judge_id": judge_id})
    page = client.post(f"{url}/screening/assign", data={"csrf_token": token}, follow_redirects=True).get_data(
        as_text=True
    )
    assert "已创建 21 项评审分配。" in page
    with app.app_context():
        contest = db.session.scalar(select(Contest).where(Contest.slug == slug))
        judges = [db.session.get(User, judge_id) for judge_id in judge_ids]
        for number, answers in SCREENING.items():
            for judge, passed in zip(judges, answers, strict=True):
                save_sheet(
                    db.session,
                    judge,
                    assignment_of(judge, codes[number]),
                    scores={},
                    checks={"passes": passed},
                    submit=True,
                )
        db.session.commit()
    asked = client.post(f"{url}/screening/freeze", data={"csrf_token": token}).get_data(as_text=True)
    assert "冻结“初评”轮次？" in asked and "7 件作品中有 6 件进入下一轮。" in asked
    with app.app_context():
        assert db.session.scalar(select(JudgingRound.payload).where(JudgingRound.key == "screening")) is None
    page = client.post(
        f"{url}/screening/freeze", data={"csrf_token": token, "confirmed": "1"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "“初评”轮次已冻结。" in page
    assert 'data-round="screening" data-status="frozen"' in page
    assert f'data-entry="{codes[6]}" data-advanced="yes"' in page
    assert f'data-entry="{codes[7]}" data-advanced="no"' in page
    preview = client.get(f"/organizer/contests/{slug}/results").get_data(as_text=True)
    assert "初评：通过 0/3，排名 7 — 本轮淘汰（前 5 名）" in preview


def test_a_pick_round_needs_a_reason_for_every_picked_entry(app: Flask) -> None:
    with app.app_context():
        contest, codes, screeners, _finalists, organizer = two_round_contest(app)
        text = contest.current_rubric.text.replace("top = 5", "pick = true")
        from judging.rubric import parse_rubric

        contests.sync_rubric(db.session, organizer, parse_rubric(text, "picked.toml"), edition="2027")
        db.session.commit()
        run_screening(contest, codes, screeners, organizer)
        with pytest.raises(ServiceError) as caught:
            rounds.freeze_round(db.session, organizer, contest, "screening", {codes[7]: "  "})
        assert caught.value.message == f"请填写选定 {codes[7]} 的理由。"
        db.session.rollback()
        with pytest.raises(ServiceError) as caught:
            rounds.freeze_round(db.session, organizer, contest, "screening", {})
        assert caught.value.message == "请至少选定一件进入下一轮的作品。"
        db.session.rollback()
        row = rounds.freeze_round(db.session, organizer, contest, "screening", {codes[7]: "题材独特，破格进入终评"})
        payload = payload_of_round(row)
        assert payload is not None
        assert [(line["entry"], line["reason"]) for line in payload["entries"] if line["advanced"]] == [
            (codes[7], "题材独特，破格进入终评")
        ]
        results = compute_results(db.session, contest)
        assert results.path_lines(codes[7]) == [
            "初评：通过 0/3，排名 7 — 晋级：组织者选定（题材独特，破格进入终评）",
            "终评：未排名",
        ]
        assert results.path_lines(codes[1]) == ["初评：通过 3/3，排名 1 — 本轮淘汰（组织者选定）"]


def run_final(contest: Contest, codes: dict[int, str], finalists: list[User], organizer: User) -> None:
    rounds.freeze_round(db.session, organizer, contest, "screening")
    rounds.open_round(db.session, organizer, contest, "final")
    for judge in finalists:
        rounds.place_judge(db.session, organizer, contest, judge, "final")
    rounds.assign_round(db.session, organizer, contest, "final")
    submit_final_sheets(codes, finalists)


def submit_final_sheets(codes: dict[int, str], finalists: list[User]) -> None:
    """The five final judges submit the FINAL sheets (committed)."""
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


def _entry_page(client: FlaskClient, entry_id: int, language: str = "zh") -> dict[str, str]:
    html = client.get(f"/entrant/entries/{entry_id}?lang={language}").get_data(as_text=True)
    found = {}
    for name in ("entry-rank", "entry-path", "entry-award"):
        match = re.search(rf'id="{name}"[^>]*>(.*?)</(?:p|span)>\s*(?:</p>|<span|<p|</div>)', html, re.S)
        if match:
            found[name] = re.sub(r"<[^>]+>", "", match.group(1)).strip()
    return found


@pytest.mark.parametrize("show", ["none", "scores"])
def test_the_entrant_sees_its_entrys_path_through_the_rounds_once_published(app: Flask, show: str) -> None:
    """A finalist reads where each round left it; an entry the screening stopped reads that it stopped there.
    Without scores to show (feedback ``none``) the path says only whether the entry went on; with scores it
    reads as the award list reads it. Nothing of it while the result is on notice."""
    with app.app_context():
        contest, codes, screeners, finalists, organizer = two_round_contest(app)
        if show != "none":
            text = contest.current_rubric.text + f'\n[feedback]\nshow = "{show}"\n'
            contests.sync_rubric(db.session, organizer, parse_rubric(text, "two_rounds.toml"), edition="2027")
            db.session.commit()
        run_screening(contest, codes, screeners, organizer)
        run_final(contest, codes, finalists, organizer)
        create_user("hongkou", Role.ENTRANT, "虹口区")
        create_user("yangpu", Role.ENTRANT, "杨浦区")
        finalist_id, stopped_id = (db.session.scalar(select(Entry.id).where(Entry.code == codes[n])) for n in (6, 7))
        snapshot_id, organizer_id = publication.freeze(db.session, organizer, contest).id, organizer.id
        db.session.commit()
    finalist_client, stopped_client = app.test_client(), app.test_client()
    assert log_in(finalist_client, "hongkou").status_code == 302
    assert log_in(stopped_client, "yangpu").status_code == 302
    on_notice = finalist_client.get(f"/entrant/entries/{finalist_id}").get_data(as_text=True)
    assert "data-notice" in on_notice and "entry-path" not in on_notice and "初评" not in on_notice

    with app.app_context():
        snapshot = db.session.get(ResultSnapshot, snapshot_id)
        snapshot.publicity_ends_at = utcnow() - timedelta(minutes=1)
        publication.publish(db.session, db.session.get(User, organizer_id), snapshot)
        db.session.commit()
    finalist, stopped = _entry_page(finalist_client, finalist_id), _entry_page(stopped_client, stopped_id)
    assert (finalist["entry-award"], finalist["entry-rank"]) == ("二等奖", "第 3 名（共 6 个作品排名）")
    assert stopped["entry-rank"] == "本作品在初评后未晋级，因此未列入公布的排名。"
    english = _entry_page(finalist_client, finalist_id, "en")
    english_stopped = _entry_page(stopped_client, stopped_id, "en")
    assert english_stopped["entry-rank"] == (
        "This entry did not go on after 初评, so it is not ranked in the published result."
    )
    if show == "none":
        assert finalist["entry-path"] == "初评：晋级 → 终评：第 3 名"
        assert stopped["entry-path"] == "初评：未晋级"
        assert english["entry-path"] == "初评: advanced → 终评: rank 3"
        assert english_stopped["entry-path"] == "初评: did not advance"
    else:
        assert finalist["entry-path"] == (
            "初评：通过 1/3，排名 5 — 晋级（前 5 名，与最后一个晋级名次并列） → 终评：得分 82.00，排名 3"
        )
        assert stopped["entry-path"] == "初评：通过 0/3，排名 7 — 本轮淘汰（前 5 名）"
        assert english["entry-path"] == (
            "初评: 1/3 passes, rank 5 — advanced (top 5, tied at the last place that advances)"
            " → 终评: score 82.00, rank 3"
        )
        assert english_stopped["entry-path"] == "初评: 0/3 passes, rank 7 — eliminated in this round (top 5)"
    # Each entrant sees its own entry only.
    assert finalist_client.get(f"/entrant/entries/{stopped_id}").status_code == 404
