"""Double entry of paper score sheets (issue 20): two clerks type each signed sheet, only agreement counts.

The micro-video contest in review (``seed_review_contest``): four judges submitted on the web, expert5
submitted nothing (a draft for A only). expert5 judged on paper; clerks type those sheets. Entry B's
web sheets total 86, 83, 83, 95 → trimmed mean (83 + 86) / 2 = 84.50; with expert5's paper sheet of
70 (30 + 20 + 20) → (83 + 83 + 86) / 3 = 84.00, level with A (84.00) and behind it on the content
tie-break (35.00 against 34.67): B falls from first to second. Both databases.
"""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import select, text

from judging.extensions import db
from judging.models import (
    Assignment,
    AuditEvent,
    Contest,
    PaperEntry,
    PaperSheet,
    Role,
    ScoreSheet,
    SheetStatus,
    User,
)
from judging.scoring.ranking import rank_entries
from judging.scoring.score_table import parse_score_frame
from judging.services import ServiceError, audit
from judging.services.accounts import set_active
from judging.services.integrity import verify_instance
from judging.services.panel import add_to_panel, judges_off_panel
from judging.services.paper_origins import paper_record
from judging.services.paper_sheets import (
    assignment_for_paper,
    clerks_of,
    enter_paper_sheet,
    name_clerk,
    open_pairs,
    paper_backlog,
    settle_pair,
)
from judging.services.results import compute_results, results_workbook
from judging.services.sheets import InvalidSheet, save_sheet
from tests.conftest import create_user, csrf_token
from tests.scenarios import seed_review_contest, table_rows

PAPER = {"content": "30", "form": "20", "influence": "20"}
YES = {"ip_characters": True, "duration": True}


@pytest.fixture
def paper_contest(app: Flask, users: dict[str, int], short_video) -> dict[str, str]:
    """The review contest with three clerks named by the organiser; returns entry letter → code."""
    with app.app_context():
        codes = seed_review_contest(app, short_video)
        organizer = db.session.get(User, users["organizer"])
        contest = _contest()
        for name in ("clerk-a", "clerk-b", "clerk-c"):
            name_clerk(db.session, organizer, contest, create_user(name, Role.JUDGE))
        db.session.commit()
        return codes


def in_english(app: Flask):
    """A request context in English: the services' refusals are read in the user's language."""
    return app.test_request_context("/?lang=en")


def _contest() -> Contest:
    return db.session.scalar(select(Contest).where(Contest.slug == "micro-video"))


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def _type(clerk: str, code: str, number: str = "P-17", scores=PAPER, checks=YES, judge: str = "expert5", comment=""):
    contest = _contest()
    assignment = assignment_for_paper(db.session, contest, code, _user(judge).id)
    outcome = enter_paper_sheet(
        db.session,
        _user(clerk),
        contest,
        assignment,
        paper_number=number,
        scores=scores,
        checks=checks,
        comment=comment,
    )
    db.session.commit()
    return outcome


def _final(code: str) -> tuple[int, str]:
    table = compute_results(db.session, _contest()).ranking.table
    row = table[table["entry"] == code].iloc[0]
    return int(row["rank"]), str(row["final_score"])


def test_agreeing_entries_count_as_the_judges_web_sheet_would(app, paper_contest):
    code = paper_contest["B"]
    with in_english(app):
        before = compute_results(db.session, _contest())
        assert _final(code) == (1, "84.50")
        assert _type("clerk-a", code).state == "waiting"
        assert _final(code) == (1, "84.50")  # one entry counts for nothing
        outcome = _type("clerk-b", code, scores={"content": "30.0", "form": "20", "influence": "20.00"})
        assert outcome.state == "counted"
        after = compute_results(db.session, _contest())
        assert _final(code) == (2, "84.00")
        # The same values as a web sheet of expert5, through the same engine: the same ranking.
        rows = [{"entry": code, "judge": "expert5", "criterion": key, "score": value} for key, value in PAPER.items()]
        web = pd.concat([before.scores, pd.DataFrame(rows)], ignore_index=True)
        answers = [{"entry": code, "judge": "expert5", "check": key, "passed": True} for key in YES]
        web_checks = pd.concat([before.checks, pd.DataFrame(answers)], ignore_index=True)
        expected = rank_entries(parse_score_frame(web, after.rubric), after.rubric, web_checks)
        assert table_rows(expected) == table_rows(after.ranking)
        sheet = outcome.sheet
        assert sheet.status is SheetStatus.SUBMITTED
        record = paper_record(db.session, sheet)
        assert (record.paper_number, record.first_clerk.username, record.second_clerk.username) == (
            "P-17",
            "clerk-a",
            "clerk-b",
        )
        assert record.settled_by_id is None
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "sheet.submit", AuditEvent.object_id == str(sheet.id))
        )
        assert event.actor_name == "clerk-b"
        assert event.data["paper"] == {"number": "P-17", "clerks": ["clerk-a", "clerk-b"], "settled_by": None}
        assert event.data["new"]["scores"] == {"content": "30.00", "form": "20.00", "influence": "20.00"}
        assert verify_instance(db.session, audit.current_seal()).findings == []


def test_one_disagreeing_score_blocks_the_sheet_and_shows_both_sides(app, paper_contest):
    code = paper_contest["B"]
    with in_english(app):
        _type("clerk-a", code)
        outcome = _type("clerk-b", code, scores={"content": "30", "form": "20", "influence": "25"})
        assert outcome.state == "disagreement"
        assert outcome.sheet is None
        assert _final(code) == (1, "84.50")
        (pair,) = open_pairs(db.session, _contest())
        assert [(d.field, d.first, d.second) for d in pair.differences] == [("score_influence", "20", "25")]
        backlog = paper_backlog(db.session, _contest())
        assert (backlog.waiting, backlog.disagreements) == (0, 1)
        # Neither clerk can change an entry once both are in (no retyping until it happens to agree).
        with pytest.raises(ServiceError, match="can no longer be changed"):
            _type("clerk-b", code)
        db.session.rollback()
        assert db.session.scalar(select(PaperEntry.scores).where(PaperEntry.slot == 2))["influence"] == "25.00"


def test_a_different_paper_number_is_a_disagreement(app, paper_contest):
    code = paper_contest["C"]
    with in_english(app):
        _type("clerk-a", code, number="17")
        assert _type("clerk-b", code, number="71").state == "disagreement"
        (pair,) = open_pairs(db.session, _contest())
        assert [(d.field, d.first, d.second) for d in pair.differences] == [("paper_number", "17", "71")]


def test_a_missing_second_entry_is_listed_and_does_not_count(app, paper_contest):
    with in_english(app):
        _type("clerk-a", paper_contest["C"])
        _type("clerk-a", paper_contest["D"])
        pairs = open_pairs(db.session, _contest())
        assert [(p.assignment.entry.code, p.waiting, [e.clerk.username for e in p.entries]) for p in pairs] == [
            (paper_contest["C"], True, ["clerk-a"]),
            (paper_contest["D"], True, ["clerk-a"]),
        ]
        backlog = paper_backlog(db.session, _contest())
        assert (backlog.waiting, backlog.disagreements) == (2, 0)
        assert (
            db.session.scalar(
                select(ScoreSheet)
                .join(Assignment)
                .where(Assignment.judge_id == _user("expert5").id, ScoreSheet.status == SheetStatus.SUBMITTED)
            )
            is None
        )
        with pytest.raises(ServiceError, match="waits for the second clerk"):
            settle_pair(db.session, _user("organizer"), _contest(), pairs[0].assignment.id, {}, "看纸质表")


def test_settling_a_disagreement_is_audited_and_then_counts(app, paper_contest):
    code = paper_contest["B"]
    with in_english(app):
        _type("clerk-a", code, checks={"ip_characters": True, "duration": True})
        _type(
            "clerk-b",
            code,
            scores={"content": "30", "form": "20", "influence": "25"},
            checks={"ip_characters": True, "duration": False},
        )
        (pair,) = open_pairs(db.session, _contest())
        organizer = _user("organizer")
        # Every differing field must be settled, and with a reason; a typed score is validated.
        with pytest.raises(ServiceError, match="please choose a value"):
            settle_pair(
                db.session, organizer, _contest(), pair.assignment.id, {"score_influence": ("first", "")}, "纸质表"
            )
        db.session.rollback()
        with pytest.raises(ServiceError, match="between 0 and 30"):
            settle_pair(
                db.session,
                organizer,
                _contest(),
                pair.assignment.id,
                {"score_influence": ("typed", "31"), "check_duration": ("first", "")},
                "纸质表",
            )
        db.session.rollback()
        with pytest.raises(ServiceError, match="why"):
            settle_pair(
                db.session,
                organizer,
                _contest(),
                pair.assignment.id,
                {"score_influence": ("first", ""), "check_duration": ("first", "")},
                "  ",
            )
        db.session.rollback()
        assert db.session.scalar(select(PaperSheet)) is None
        # A clerk who typed one of the entries may not settle it; a third clerk may.
        with pytest.raises(ServiceError, match="typed neither entry"):
            settle_pair(
                db.session,
                _user("clerk-a"),
                _contest(),
                pair.assignment.id,
                {"score_influence": ("first", ""), "check_duration": ("first", "")},
                "纸质表",
            )
        db.session.rollback()
        sheet = settle_pair(
            db.session,
            _user("clerk-c"),
            _contest(),
            pair.assignment.id,
            {"score_influence": ("typed", "20"), "check_duration": ("first", "")},
            "纸质表上影响力写的是20",
        )
        db.session.commit()
        assert _final(code) == (2, "84.00")
        record = paper_record(db.session, sheet)
        assert record.settled_by.username == "clerk-c"
        assert record.settlement_reason == "纸质表上影响力写的是20"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "paper.settle"))
        assert event.actor_name == "clerk-c"
        assert event.data["reason"] == "纸质表上影响力写的是20"
        assert event.data["fields"] == {
            "score_influence": {"first": "20", "second": "25", "choice": "typed", "value": "20.00"},
            "check_duration": {"first": "Yes", "second": "No", "choice": "first", "value": "Yes"},
        }
        assert open_pairs(db.session, _contest()) == []
        assert verify_instance(db.session, audit.current_seal()).findings == []


def test_an_organiser_who_typed_an_entry_cannot_settle_it(app, paper_contest, users):
    code = paper_contest["C"]
    with in_english(app):
        name_clerk(db.session, _user("organizer"), _contest(), _user("organizer"))
        db.session.commit()
        _type("organizer", code)
        assert _type("clerk-a", code, scores={"content": "31", "form": "20", "influence": "20"}).state == "disagreement"
        (pair,) = open_pairs(db.session, _contest())
        with pytest.raises(ServiceError, match="typed neither entry"):
            settle_pair(
                db.session, _user("organizer"), _contest(), pair.assignment.id, {"score_content": ("first", "")}, "x"
            )
        db.session.rollback()
        assert db.session.scalar(select(PaperSheet)) is None


def test_a_clerk_cannot_type_both_entries_nor_a_third(app, paper_contest):
    code = paper_contest["B"]
    with in_english(app):
        _type("clerk-a", code, number="1")
        # Typing again corrects the clerk's own entry; it never becomes the second one.
        assert _type("clerk-a", code, number="2").state == "waiting"
        assert [(e.slot, e.paper_number) for e in db.session.scalars(select(PaperEntry))] == [(1, "2")]
        assert _type("clerk-b", code, number="3").state == "disagreement"
        with pytest.raises(ServiceError, match="Two clerks have already typed this sheet"):
            _type("clerk-c", code, number="2")
        db.session.rollback()
        assert db.session.scalar(select(text("count(*)")).select_from(PaperEntry)) == 2


def test_a_judge_clerks_and_strangers_are_refused(app, paper_contest, users):
    with in_english(app):
        contest = _contest()
        organizer = _user("organizer")
        with pytest.raises(ServiceError, match="sits on this contest's panel"):
            name_clerk(db.session, organizer, contest, _user("expert1"))
        db.session.rollback()
        with pytest.raises(ServiceError, match="An entrant's account cannot type score sheets"):
            name_clerk(db.session, organizer, contest, _user("entrant-a"))
        db.session.rollback()
        with pytest.raises(ServiceError, match="not a clerk of this contest"):
            _type("judge", paper_contest["B"])
        db.session.rollback()
        with pytest.raises(InvalidSheet) as refused:
            _type("clerk-a", paper_contest["B"], scores={"content": "41", "form": "20.3"}, checks={})
        assert refused.value.problems == [
            "内容: the score must be between 0 and 40.",
            "形式: the score must be a multiple of 0.5.",
            "影响力: a score is required to submit.",
            "作品包含“玉兰”“沪宝”角色元素: please answer this check.",
            "作品时长在3分钟以内: please answer this check.",
        ]
        db.session.rollback()
        assert db.session.scalar(select(PaperEntry)) is None


def test_a_clerk_cannot_join_the_panel_and_a_deactivated_account_cannot_be_named_clerk(app, paper_contest, client_for):
    """Who types the judges' paper sheets does not judge, either way round; and only a live account types."""
    with in_english(app):
        contest = _contest()
        organizer = _user("organizer")
        panel_before = sorted(member.judge_id for member in contest.panel)
        with pytest.raises(ServiceError) as clerk_on_panel:
            add_to_panel(db.session, organizer, contest, _user("clerk-a"))
        assert (
            clerk_on_panel.value.message
            == "Clerk-A types this contest's paper sheets; a clerk cannot sit on its panel."
        )
        db.session.rollback()
        with pytest.raises(ServiceError) as entrant_on_panel:
            add_to_panel(db.session, organizer, contest, _user("entrant-a"))
        assert entrant_on_panel.value.message == "Only an active judge account can sit on a panel."
        db.session.rollback()
        assert sorted(member.judge_id for member in _contest().panel) == panel_before
        assert "clerk-a" not in {user.username for user in judges_off_panel(db.session, contest)}
        gone = create_user("clerk-gone", Role.JUDGE)
        set_active(db.session, organizer, gone, False)
        db.session.commit()
        with pytest.raises(ServiceError) as deactivated:
            name_clerk(db.session, organizer, contest, gone)
        assert deactivated.value.message == "Clerk-Gone's account is deactivated; it cannot type score sheets."
        db.session.rollback()
        with pytest.raises(ServiceError) as deactivated_on_panel:
            add_to_panel(db.session, organizer, contest, gone)
        assert deactivated_on_panel.value.message == "Only an active judge account can sit on a panel."
        db.session.rollback()
        assert [clerk.user.username for clerk in clerks_of(db.session, contest)] == ["clerk-a", "clerk-b", "clerk-c"]
    # The organiser's panel form does not offer a clerk, and a forged post naming one changes nothing.
    organizer_client = client_for("organizer")
    page = organizer_client.get("/organizer/contests/micro-video/judging")
    with app.app_context():
        clerk_id = _user("clerk-a").id
    offered = re.search(r'<select[^>]*name="judge_id"[^>]*>(.*?)</select>', page.get_data(as_text=True), re.S)
    assert offered is not None and "<option" in offered.group(1)
    assert f'value="{clerk_id}"' not in offered.group(1)
    forged = organizer_client.post(
        "/organizer/contests/micro-video/judging/panel",
        data={
            "csrf_token": csrf_token(organizer_client, "/organizer/contests/micro-video/judging"),
            "judge_id": clerk_id,
        },
        follow_redirects=True,
    )
    assert forged.status_code == 200 and "请选择一位尚未加入评审组的评审专家。" in forged.get_data(as_text=True)
    with app.app_context():
        assert sorted(member.judge_id for member in _contest().panel) == panel_before


def test_a_web_sheet_from_paper_cannot_be_changed_by_the_judge(app, paper_contest):
    code = paper_contest["B"]
    with in_english(app):
        _type("clerk-a", code)
        _type("clerk-b", code)
        judge = _user("expert5")
        assignment = assignment_for_paper(db.session, _contest(), code, judge.id)
        with pytest.raises(ServiceError, match="entered from your signed paper sheet"):
            save_sheet(
                db.session,
                judge,
                assignment,
                scores={"content": 40, "form": 30, "influence": 30},
                checks=YES,
                submit=True,
            )
        db.session.rollback()
        assert _final(code) == (2, "84.00")


def test_an_insider_editing_an_entry_after_agreement_is_refused_and_detected(app, paper_contest):
    code = paper_contest["B"]
    with in_english(app):
        _type("clerk-a", code)
        _type("clerk-b", code)
        with pytest.raises(ServiceError, match=r"can no longer be changed|already submitted"):
            _type("clerk-a", code, scores={"content": "40", "form": "30", "influence": "30"})
        db.session.rollback()
        # With database access: rewrite the first entry (to claim the clerks typed 40) and the sheet's score.
        entry_id = db.session.scalar(select(PaperEntry.id).where(PaperEntry.slot == 1))
        db.session.execute(
            text("UPDATE paper_entry SET scores = :scores WHERE id = :id"),
            {"scores": '{"content": "40.00", "form": "20.00", "influence": "20.00"}', "id": entry_id},
        )
        db.session.commit()
        findings = verify_instance(db.session, audit.current_seal()).findings
        sheet_id = db.session.scalar(select(PaperSheet.sheet_id))
        assert findings == [
            f"paper entry {entry_id}: differs from what the audit log says its clerk typed",
            f"score sheet {sheet_id}: counted from paper no. P-17, but paper entry {entry_id} no longer agrees with it",
        ]


# --- through the pages ------------------------------------------------------------------------------------


def _english(client):
    """The client reads the pages in English (the default is Chinese)."""
    client.get("/lang/en?next=/")
    return client


ENTER = "/paper/contests/micro-video"
RECONCILE = "/paper/contests/micro-video/reconcile"


def _post_sheet(client, code: str, judge_id: int, number: str, scores=PAPER, checks=("yes", "yes")):
    data = {
        "csrf_token": csrf_token(client, ENTER),
        "judge_id": str(judge_id),
        "entry_code": code,
        "paper_number": number,
        "score_content": scores["content"],
        "score_form": scores["form"],
        "score_influence": scores["influence"],
        "check_ip_characters": checks[0],
        "check_duration": checks[1],
        "comment": "",
        "record": "1",
    }
    return client.post(ENTER, data=data)


def test_two_clerks_type_and_an_organiser_settles_through_the_pages(app, paper_contest, client_for):
    code = paper_contest["B"]
    with in_english(app):
        expert5 = _user("expert5").id
    clerk_a, clerk_b, organizer = (_english(client_for(name)) for name in ("clerk-a", "clerk-b", "organizer"))
    answer = _post_sheet(clerk_a, code, expert5, "P-17")
    assert answer.status_code == 302
    page = clerk_a.get(answer.headers["Location"]).get_data(as_text=True)
    assert f"Recorded: {code}, paper no. P-17. It counts once a second clerk has typed it alike." in page
    # Clerk B sees neither clerk A's values on the entry page nor the waiting sheet's values anywhere.
    page_b = clerk_b.get(ENTER).get_data(as_text=True)
    assert "P-17" not in page_b
    assert 'data-entry="' not in page_b
    waiting = clerk_b.get(RECONCILE).get_data(as_text=True)
    assert "1 paper sheet awaits a second entry: they do not count until they are reconciled." in waiting
    assert "P-17" not in waiting
    answer = _post_sheet(clerk_b, code, expert5, "P-17", scores={"content": "30", "form": "20", "influence": "25"})
    assert answer.status_code == 302
    page = clerk_b.get(answer.headers["Location"]).get_data(as_text=True)
    assert "The two entries differ: the sheet goes to reconciliation." in page
    # Neither typist is shown the pair side by side.
    for clerk in (clerk_a, clerk_b):
        shown = clerk.get(RECONCILE).get_data(as_text=True)
        assert 'data-pair="' not in shown and "P-17" not in shown
    # The results and progress pages say why the sheet is missing.
    note = "1 disagreement: they do not count until they are reconciled."
    assert note in organizer.get("/organizer/contests/micro-video/results").get_data(as_text=True)
    assert note in organizer.get("/organizer/contests/micro-video/judging").get_data(as_text=True)
    side_by_side = organizer.get(RECONCILE).get_data(as_text=True)
    assert f'data-pair="{code}"' in side_by_side
    assert '<tr class="table-warning" data-field="score_influence">' in side_by_side
    assert '<td data-side="first"><mark>20</mark></td>' in side_by_side
    assert '<td data-side="second"><mark>25</mark></td>' in side_by_side
    assert 'data-field="score_content"' not in side_by_side  # agreeing fields are not listed
    with in_english(app):
        assignment_id = assignment_for_paper(db.session, _contest(), code, expert5).id
    token = csrf_token(organizer, RECONCILE)
    url = f"{RECONCILE}/{assignment_id}"
    refused = organizer.post(url, data={"csrf_token": token, "choice_score_influence": "first", "reason": ""})
    assert refused.status_code == 400
    assert "Please say why (e.g. what the paper sheet shows)." in refused.get_data(as_text=True)
    settled = organizer.post(
        url, data={"csrf_token": token, "choice_score_influence": "first", "reason": "纸质表上是20"}
    )
    assert settled.status_code == 302
    page = organizer.get(RECONCILE).get_data(as_text=True)
    assert f"The paper sheet for {code} is settled and now counts." in page
    assert "Every typed paper sheet counts." in page
    with in_english(app):
        assert _final(code) == (2, "84.00")
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "paper.settle"))
        assert (event.actor_name, event.data["reason"]) == ("organizer", "纸质表上是20")


def test_the_clerk_pages_refuse_who_is_not_a_clerk(app, paper_contest, client_for):
    assert client_for("judge").get(ENTER).status_code == 404
    assert client_for("entrant-a").get(ENTER).status_code == 403
    assert client_for("judge").get(RECONCILE).status_code == 404
    organizer = _english(client_for("organizer"))
    page = organizer.get(RECONCILE).get_data(as_text=True)
    assert "录入员" not in page
    assert all(f'data-clerk="{name}"' in page for name in ("clerk-a", "clerk-b", "clerk-c"))


def test_a_refused_paper_sheet_names_every_problem_and_records_nothing(app, paper_contest, client_for):
    with in_english(app):
        expert5 = _user("expert5").id
    clerk = _english(client_for("clerk-a"))
    answer = _post_sheet(
        clerk, paper_contest["B"], expert5, "P-1", scores={"content": "41", "form": "2", "influence": ""}
    )
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert "Nothing was recorded. Please mend:" in page
    assert "the score must be between 0 and 40." in page
    assert "a score is required to submit." in page
    missing = _post_sheet(clerk, "MV-999", expert5, "P-1")
    assert missing.status_code == 400
    assert "This judge has no sheet for an entry with that code in this contest." in missing.get_data(as_text=True)
    with in_english(app):
        assert db.session.scalar(select(PaperEntry)) is None


def test_a_paper_sheet_says_where_it_came_from_on_the_sheet_the_explanation_and_the_workbook(
    app, paper_contest, client_for
):
    code = paper_contest["B"]
    with in_english(app):
        _type("clerk-a", code, comment="画面清晰，\n节奏 紧凑")
        # Spacing and line breaks of a typed comment are not a disagreement.
        assert _type("clerk-b", code, comment="画面清晰， 节奏  紧凑").state == "counted"
        workbook = load_workbook(io.BytesIO(results_workbook(compute_results(db.session, _contest()))))
    origin = "From paper no. P-17, typed by Clerk-A and Clerk-B"
    sheets = list(workbook["Score sheets"].iter_rows(values_only=True))
    column = sheets[0].index("Paper sheet")
    paper_rows = [(row[0], row[1], row[column]) for row in sheets[1:] if row[column]]
    assert paper_rows == [(code, "Expert5", origin)]
    page = _english(client_for("organizer")).get("/organizer/contests/micro-video/results").get_data(as_text=True)
    assert f'<div class="small text-muted paper-origin">{origin}</div>' in page
    judge_page = client_for("expert5").get(f"/judge/entries/{code}").get_data(as_text=True)
    assert (
        '<p class="small mt-2 mb-0" id="paper-origin">录自纸质评分表 P-17，录入员：Clerk-A、Clerk-B</p>' in judge_page
    )
