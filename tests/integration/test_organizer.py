"""The organisers' area: phases, deadlines and organisations; refusals change nothing."""

from __future__ import annotations

import csv
import io
import json
import re

from flask import Flask

from judging.extensions import db
from judging.models import AuditEvent, Contest, Organization, Phase
from tests.conftest import csrf_token


def _contest(slug: str) -> Contest:
    return db.session.scalar(db.select(Contest).where(Contest.slug == slug))


def test_phase_moves_along_the_workflow_and_is_audited(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    token = csrf_token(client, "/organizer/contests/micro-video")
    response = client.post("/organizer/contests/micro-video/phase", data={"phase": "open", "csrf_token": token})
    assert response.status_code == 302
    assert "评选已进入新阶段。" in client.get("/organizer/contests/micro-video").get_data(as_text=True)
    with app.app_context():
        assert _contest("micro-video").phase is Phase.OPEN
        event = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        assert event.action == "contest.phase" and event.data == {"old": "draft", "new": "open"}
        assert event.actor_name == "organizer"


def test_phase_moves_are_named_buttons_and_going_back_is_never_the_default(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    """No select with a preselected phase, where one careless click sent a contest in review back to
    collecting entries: one button per move, saying what it does; a move backwards is marked as such."""
    client = client_for("organizer")
    moves = re.compile(r'<button type="submit" name="phase" value="(\w+)" class="btn ([\w-]+)">([^<]+)</button>')

    def offered() -> list[tuple[str, str, str]]:
        page = client.get("/organizer/contests/micro-video").get_data(as_text=True)
        assert "<select" not in page[page.index("data-phase-moves") :].split("</form>")[0]
        return moves.findall(page)

    assert offered() == [("open", "btn-primary", "开放报送")]
    token = csrf_token(client, "/organizer/contests/micro-video")
    client.post("/organizer/contests/micro-video/phase", data={"phase": "open", "csrf_token": token})
    assert offered() == [
        ("draft", "btn-outline-danger", "退回筹备阶段"),
        ("review", "btn-primary", "截止报送，开始评审"),
    ]
    client.post("/organizer/contests/micro-video/phase", data={"phase": "review", "csrf_token": token})
    assert offered() == [("open", "btn-outline-danger", "重新开放报送")]
    page = client.get("/organizer/contests/micro-video").get_data(as_text=True)
    assert "评分暂停，参赛单位可以再次提交；已保存的评分表均保留。" in page
    with app.app_context():
        assert _contest("micro-video").phase is Phase.REVIEW


def test_phase_cannot_skip_steps(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    token = csrf_token(client, "/organizer/contests/micro-video")
    client.post("/organizer/contests/micro-video/phase", data={"phase": "published", "csrf_token": token})
    page = client.get("/organizer/contests/micro-video").get_data(as_text=True)
    assert "请选择列出的阶段之一。" in page
    with app.app_context():
        assert _contest("micro-video").phase is Phase.DRAFT


def test_deadlines_are_read_in_shanghai_time(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    token = csrf_token(client, "/organizer/contests/micro-video")
    client.post(
        "/organizer/contests/micro-video/deadlines",
        data={"submission_deadline": "2026-09-01T18:00", "review_deadline": "2026-09-08T12:00", "csrf_token": token},
    )
    with app.app_context():
        contest = _contest("micro-video")
        assert contest.submission_deadline.isoformat() == "2026-09-01T10:00:00+00:00"
        assert contest.review_deadline.isoformat() == "2026-09-08T04:00:00+00:00"
    page = client.get("/organizer/contests/micro-video").get_data(as_text=True)
    assert 'name="submission_deadline" type="datetime-local" value="2026-09-01T18:00"' in page  # to the minute


def test_review_deadline_before_submission_deadline_is_refused(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    token = csrf_token(client, "/organizer/contests/micro-video")
    client.post(
        "/organizer/contests/micro-video/deadlines",
        data={"submission_deadline": "2026-09-08T18:00", "review_deadline": "2026-09-01T12:00", "csrf_token": token},
    )
    assert "评审截止时间须晚于报送截止时间。" in client.get("/organizer/contests/micro-video").get_data(as_text=True)
    with app.app_context():
        contest = _contest("micro-video")
        assert contest.submission_deadline is None and contest.review_deadline is None


def test_grassroots_unit_is_added_under_its_district(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    with app.app_context():
        district_id = db.session.scalar(db.select(Organization.id).where(Organization.name == "杨浦区"))
    token = csrf_token(client, "/organizer/organizations")
    response = client.post(
        "/organizer/organizations",
        data={"name": "杨浦区五角场街道", "kind": "grassroots", "parent_id": district_id, "csrf_token": token},
    )
    assert response.status_code == 302
    with app.app_context():
        unit = db.session.scalar(db.select(Organization).where(Organization.name == "杨浦区五角场街道"))
        assert unit.parent.name == "杨浦区"


def test_bad_organisations_are_refused_and_nothing_is_added(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    with app.app_context():
        before = db.session.scalar(db.select(db.func.count(Organization.id)))
    token = csrf_token(client, "/organizer/organizations")
    duplicate = client.post(
        "/organizer/organizations", data={"name": "浦东新区", "kind": "district", "parent_id": 0, "csrf_token": token}
    )
    assert duplicate.status_code == 400 and "已存在名为“浦东新区”的单位。" in duplicate.get_data(as_text=True)
    orphan = client.post(
        "/organizer/organizations", data={"name": "某街道", "kind": "grassroots", "parent_id": 0, "csrf_token": token}
    )
    assert "基层单位须隶属于某个区、行业主管部门或企业。" in orphan.get_data(as_text=True)
    bad_kind = client.post(
        "/organizer/organizations", data={"name": "某单位", "kind": "organizer", "parent_id": 0, "csrf_token": token}
    )
    assert bad_kind.status_code == 400
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Organization.id))) == before


def test_dashboard_shows_every_contest_with_phase(client_for) -> None:  # type: ignore[no-untyped-def]
    page = client_for("organizer").get("/organizer/").get_data(as_text=True)
    for slug in ("micro-video", "exemplary-cases", "isg-skills"):
        assert f'data-contest="{slug}"' in page
    assert page.count("筹备中") == 3


def test_audit_log_exports_as_csv_with_bom_and_verifiable_hashes(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    token = csrf_token(client, "/organizer/contests/micro-video")
    client.post("/organizer/contests/micro-video/phase", data={"phase": "open", "csrf_token": token})
    with client.get("/organizer/audit.csv") as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/csv")
        body = response.get_data()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    with app.app_context():
        events = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.seq)).all()
        assert [int(row["seq"]) for row in rows] == [event.seq for event in events]
        assert [row["hash"] for row in rows] == [event.hash for event in events]
    last = rows[-1]
    assert (last["actor"], last["action"], json.loads(last["data"])) == (
        "organizer",
        "contest.phase",
        {"old": "draft", "new": "open"},
    )
    assert client_for("judge").get("/organizer/audit.csv").status_code == 403


def test_audit_log_filters_by_action_person_and_contest_and_shows_chinese_as_it_is(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    token = csrf_token(client, "/organizer/contests/micro-video")
    client.post("/organizer/contests/micro-video/phase", data={"phase": "open", "csrf_token": token})
    client.post("/organizer/contests/exemplary-cases/phase", data={"phase": "open", "csrf_token": token})
    client.post(
        "/organizer/organizations", data={"name": "某某新区", "kind": "district", "parent_id": 0, "csrf_token": token}
    )
    with app.app_context():
        micro = _contest("micro-video").id
        phase_events = db.session.scalar(
            db.select(db.func.count(AuditEvent.id)).where(AuditEvent.action == "contest.phase")
        )
    row = re.compile(r"<tr><td>(\d+)</td>.*?<code>([\w.]+)</code>", re.S)

    def shown(query: str) -> list[str]:
        page = client.get(f"/organizer/audit?{query}").get_data(as_text=True)
        return [action for _seq, action in row.findall(page)]

    assert shown("action=contest.phase") == ["contest.phase"] * phase_events == ["contest.phase"] * 2
    assert shown(f"action=contest.phase&contest={micro}") == ["contest.phase"]
    assert set(shown("actor=organizer")) >= {"contest.phase", "organization.create"}
    everything = shown("")
    assert len(everything) > 3
    assert shown("actor=nobody-here") == everything  # an unknown person is no filter, not an empty page
    assert shown("contest=abc") == everything  # nor is a malformed contest
    assert shown("action=contest.phase&contest=999999") == ["contest.phase"] * 2  # no such contest: no filter
    nothing = client.get(f"/organizer/audit?action=organization.create&contest={micro}").get_data(as_text=True)
    assert "没有符合筛选条件的记录。" in nothing
    page = client.get("/organizer/audit?action=organization.create").get_data(as_text=True)
    assert "某某新区" in page and "\\u" not in page
