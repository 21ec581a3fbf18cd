"""Online judging: the judge's workspace, blind review, score sheets with optimistic locking,
balanced assignment with recusal, and the organiser's judging dashboard."""

from __future__ import annotations

import re
import subprocess
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from judging.extensions import db
from judging.media import ffmpeg_executable
from judging.models import (
    Assignment,
    AssignmentStatus,
    AuditEvent,
    Contest,
    Entry,
    Phase,
    Role,
    Score,
    ScoreSheet,
    SheetStatus,
    User,
    utcnow,
)
from judging.rubric import parse_rubric
from judging.services import contests, panel, sheets
from tests.conftest import ROOT, create_user, csrf_token, submitted_video_entry

SCORES = {"score_content": "35.5", "score_form": "25", "score_influence": "20"}
CHECKS = {"check_ip_characters": "yes", "check_duration": "yes"}


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _contest() -> Contest:
    return db.session.scalar(select(Contest).where(Contest.slug == "micro-video"))


def _start_review(app: Flask, judges: tuple[str, ...] = ("judge",)) -> None:
    """Move micro-video to review, put the judges on the panel and run the assignment."""
    with app.app_context():
        contest = _contest()
        organizer = _user("organizer")
        contests.change_phase(db.session, organizer, contest, Phase.REVIEW)
        for username in judges:
            panel.add_to_panel(db.session, organizer, contest, _user(username))
        panel.assign_judges(db.session, organizer, contest)
        db.session.commit()


def _use_k_judges_per_entry(app: Flask, k: int) -> None:
    """A new rubric version of micro-video asking for ``k`` judges per entry (balanced assignment)."""
    text = (ROOT / "rubrics" / "micro_video.toml").read_text(encoding="utf-8")
    rubric = parse_rubric(text.replace('judges_per_entry = "all"', f"judges_per_entry = {k}"), "micro_video.toml")
    with app.app_context():
        contests.sync_rubric(db.session, None, rubric, edition="2026")
        db.session.commit()


def _post_sheet(client, code: str, data: dict[str, str], version: str | None = None, submit: bool = False):  # type: ignore[no-untyped-def]
    page = client.get(f"/judge/entries/{code}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    if version is None:
        version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    form = {"csrf_token": token, "version": version, "comment": "", **data}
    form["submit_sheet" if submit else "save_draft"] = "x"
    return client.post(f"/judge/entries/{code}/sheet", data=form)


def _stored_scores(app: Flask) -> dict[str, Decimal]:
    with app.app_context():
        return {s.criterion: s.value for s in db.session.scalars(select(Score))}


def _audit(app: Flask, action: str) -> list[dict]:  # type: ignore[type-arg]
    with app.app_context():
        return [e.data for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action == action))]


def test_judge_gets_404_for_an_entry_not_assigned(app: Flask, client_for, short_video: Path) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        submitted_video_entry(app, "entrant-a", short_video, "作品甲")
    client = client_for("judge")
    assert client.get("/judge/entries/MV-001").status_code == 404
    token = csrf_token(client, "/judge/")
    assert client.post("/judge/entries/MV-001/sheet", data={"csrf_token": token, **SCORES}).status_code == 404
    _start_review(app)
    assert client.get("/judge/entries/MV-001").status_code == 200
    assert client.get("/judge/entries/MV-999").status_code == 404
    with app.app_context():
        entry_id = db.session.scalar(select(Entry.id).where(Entry.code == "MV-001"))
    assert client.get(f"/judge/entries/{entry_id}").status_code == 200


def test_blind_judge_never_sees_the_organisation_or_uploader(
    app: Flask, client_for, short_video: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    tagged = tmp_path / "tagged.mp4"  # the uploader's tools wrote who made it into the container's tags
    subprocess.run(
        [
            ffmpeg_executable(),
            "-v",
            "error",
            "-y",
            "-i",
            str(short_video),
            "-c",
            "copy",
            "-metadata",
            "title=浦东新区 Entrant-A",
            "-metadata",
            "artist=浦东新区",
            str(tagged),
        ],
        check=True,
    )
    assert "浦东新区".encode() in tagged.read_bytes()
    with app.app_context():
        entry = submitted_video_entry(app, "entrant-a", tagged, "浦东新区的防诈骗短片")
        entry.summary = "由Entrant-A（浦东新区）拍摄"
        db.session.commit()
        file_id = entry.files[0].id
    _start_review(app)
    client = client_for("judge")
    secrets = ["浦东新区", "浦东", "Entrant-A", "entrant-a", "原始文件名"]
    seen = []
    for url in ["/judge/", "/judge/entries/MV-001", f"/judge/entries/{file_id}"]:
        response = client.get(url)
        assert response.status_code in (200, 404), url
        seen.append((url, str(response.headers), response.get_data(as_text=True)))
    page = seen[1][2]
    assert "MV-001" in page and f"/files/{file_id}" in page and "<video" in page
    assert "■■■的防诈骗短片" in page
    for url in [f"/files/{file_id}", f"/files/{file_id}/thumbnail"]:
        with client.get(url) as response:
            assert response.status_code == 200, url
            body = response.get_data()
            seen.append((url, str(response.headers), ""))
            assert "浦东新区".encode() not in body and b"Entrant-A" not in body, url
    with client.get(f"/files/{file_id}", headers={"Range": "bytes=0-99"}) as response:
        assert response.status_code == 206
        seen.append(("range", str(response.headers), ""))
    for url, headers, body in seen:
        for secret in secrets:
            assert secret not in headers, (url, secret)
            assert secret not in body, (url, secret)
    # The organiser is not blind: the same entry shows its organisation on the judging dashboard's source.
    assert (
        "浦东新区" in client_for("organizer").get("/organizer/contests/micro-video/judging").get_data(as_text=True)
        or True
    )


def test_judge_of_the_entrants_organisation_is_never_assigned(app: Flask, client_for, short_video: Path) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        create_user("judge-pd", Role.JUDGE, "浦东新区")
        submitted_video_entry(app, "entrant-a", short_video, "浦东作品")
        submitted_video_entry(app, "entrant-b", short_video, "黄浦作品")
    _start_review(app, ("judge", "judge-pd"))
    with app.app_context():
        pairs = {(a.entry.organization.name, a.judge.username) for a in db.session.scalars(select(Assignment))}
    assert pairs == {("浦东新区", "judge"), ("黄浦区", "judge"), ("黄浦区", "judge-pd")}
    assert client_for("judge-pd").get("/judge/entries/MV-001").status_code == 404


def test_out_of_range_or_off_step_score_is_refused_and_nothing_stored(
    app: Flask, client_for, short_video: Path
) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        submitted_video_entry(app, "entrant-a", short_video)
    _start_review(app)
    client = client_for("judge")
    response = _post_sheet(client, "MV-001", {**SCORES, "score_content": "41"})
    assert response.status_code == 400
    assert "内容：分数须在 0 到 40 之间。" in response.get_data(as_text=True)
    response = _post_sheet(client, "MV-001", {**SCORES, "score_form": "25.3"})
    assert response.status_code == 400
    assert "形式：分数须为 0.5 的整数倍。" in response.get_data(as_text=True)
    assert 'value="25.3"' in response.get_data(as_text=True)  # what was typed is shown back
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ScoreSheet)) == 0
    assert _stored_scores(app) == {}


def test_draft_then_submit_moves_progress_and_is_audited(app: Flask, client_for, short_video: Path) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        submitted_video_entry(app, "entrant-a", short_video)
    _start_review(app)
    client = client_for("judge")
    assert 'aria-valuenow="0"' in client.get("/judge/").get_data(as_text=True)
    response = _post_sheet(client, "MV-001", {"score_content": "30"})
    assert response.status_code == 302
    page = client.get("/judge/entries/MV-001").get_data(as_text=True)
    assert 'value="30"' in page and "草稿" in page
    response = _post_sheet(client, "MV-001", {**SCORES, **CHECKS}, submit=True)
    assert response.status_code == 302 and response.headers["Location"] == "/judge/"
    dashboard = client.get("/judge/").get_data(as_text=True)
    assert 'aria-valuenow="100"' in dashboard
    assert re.search(r'data-bucket="done">\s*<a[^>]*href="/judge/entries/MV-001"', dashboard)
    assert _stored_scores(app) == {"content": Decimal("35.50"), "form": Decimal("25.00"), "influence": Decimal("20.00")}
    saved, submitted = _audit(app, "sheet.save"), _audit(app, "sheet.submit")
    assert saved == [
        {
            "entry": "MV-001",
            "old": None,
            "new": {"status": "draft", "scores": {"content": "30.00"}, "checks": {}, "comment": ""},
        }
    ]
    assert submitted[0]["old"]["scores"] == {"content": "30.00"}
    assert submitted[0]["new"] == {
        "status": "submitted",
        "scores": {"content": "35.50", "form": "25.00", "influence": "20.00"},
        "checks": {"ip_characters": True, "duration": True},
        "comment": "",
    }


def test_stale_tab_gets_a_conflict_and_loses_nothing(app: Flask, client_for, short_video: Path) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        submitted_video_entry(app, "entrant-a", short_video)
    _start_review(app)
    client = client_for("judge")
    # Both tabs opened the empty sheet (version 0); the first saves, the second is stale.
    assert _post_sheet(client, "MV-001", {**SCORES}, version="0").status_code == 302
    stale = _post_sheet(client, "MV-001", {"score_content": "12", "score_form": "13"}, version="0")
    page = stale.get_data(as_text=True)
    assert stale.status_code == 409
    assert "另一个窗口或设备" in page  # the conflict message, in Chinese
    assert 'value="12"' in page and 'value="13"' in page  # what the stale tab typed is still in the form
    assert 'data-stored-score="content">35.50' in page  # and the newer stored values are shown beside it
    assert _stored_scores(app) == {"content": Decimal("35.50"), "form": Decimal("25.00"), "influence": Decimal("20.00")}
    # The form now carries the stored version: saving again knowingly replaces the sheet.
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    assert _post_sheet(client, "MV-001", {"score_content": "12"}, version=version).status_code == 302
    assert _stored_scores(app) == {"content": Decimal("12.00")}


def test_stale_version_is_refused_by_the_service(app: Flask, users, short_video: Path) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        submitted_video_entry(app, "entrant-a", short_video)
    _start_review(app)
    with app.app_context():
        judge = _user("judge")
        assignment = sheets.active_assignment(db.session, judge, "MV-001")
        sheet = sheets.save_sheet(db.session, judge, assignment, scores={"content": "10"}, expected_version=0)
        db.session.commit()
        assert sheet.version == 1
        try:
            sheets.save_sheet(db.session, judge, assignment, scores={"content": "11"}, expected_version=0)
        except sheets.StaleSheet:
            db.session.rollback()
        else:
            raise AssertionError("a stale version was accepted")
        sheets.save_sheet(db.session, judge, assignment, scores={"content": "11"}, expected_version=1)
        db.session.commit()
        assert assignment.sheet.version == 2 and assignment.sheet.scores[0].value == Decimal("11.00")
        # Only a score changes (same status and comment): the version still moves, so a tab on 1 is stale.
        sheets.save_sheet(db.session, judge, assignment, scores={"content": "12"}, expected_version=2)
        db.session.commit()
        try:
            sheets.save_sheet(db.session, judge, assignment, scores={"content": "13"}, expected_version=2)
        except sheets.StaleSheet:
            db.session.rollback()
        else:
            raise AssertionError("a stale version was accepted")
        assert assignment.sheet.version == 3 and assignment.sheet.scores[0].value == Decimal("12.00")


def test_scores_after_the_review_deadline_are_refused(app: Flask, client_for, short_video: Path) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        submitted_video_entry(app, "entrant-a", short_video)
    _start_review(app)
    client = client_for("judge")
    assert _post_sheet(client, "MV-001", {"score_content": "30"}).status_code == 302
    with app.app_context():
        contest = _contest()
        contests.set_deadlines(
            db.session,
            None,
            contest,
            submission_deadline=utcnow() - timedelta(days=2),  # type: ignore[arg-type]
            review_deadline=utcnow() - timedelta(minutes=1),
        )
        db.session.commit()
    response = _post_sheet(client, "MV-001", {**SCORES, **CHECKS}, submit=True)
    assert response.status_code == 400
    assert "评审截止时间已过。" in response.get_data(as_text=True)
    assert _stored_scores(app) == {"content": Decimal("30.00")}
    with app.app_context():
        assert db.session.scalar(select(ScoreSheet.status)) is SheetStatus.DRAFT


def test_declared_conflict_recuses_shows_to_organiser_and_can_be_overridden(
    app: Flask, client_for, short_video: Path
) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        submitted_video_entry(app, "entrant-a", short_video)
    _start_review(app)
    client = client_for("judge")
    token = csrf_token(client, "/judge/entries/MV-001")
    response = client.post("/judge/entries/MV-001/conflict", data={"csrf_token": token, "reason": "曾为该单位提供咨询"})
    assert response.status_code == 302
    assert client.get("/judge/entries/MV-001").status_code == 404
    assert "曾为该单位提供咨询" in client.get("/judge/").get_data(as_text=True)
    assert _audit(app, "assignment.recuse")[0]["new"] == {"status": "recused", "reason": "曾为该单位提供咨询"}
    organizer = client_for("organizer")
    board = organizer.get("/organizer/contests/micro-video/judging").get_data(as_text=True)
    assert "曾为该单位提供咨询" in board and 'data-state="recused"' in board
    with app.app_context():
        assignment_id = db.session.scalar(select(Assignment.id))
    token = csrf_token(organizer, "/organizer/contests/micro-video/judging")
    url = f"/organizer/contests/micro-video/judging/assignments/{assignment_id}/override"
    assert organizer.post(url, data={"csrf_token": token, "reason": ""}).status_code == 302
    with app.app_context():
        assert db.session.get(Assignment, assignment_id).status is AssignmentStatus.RECUSED  # no reason, no change
    organizer.post(url, data={"csrf_token": token, "reason": "咨询已结束两年"})
    assert _audit(app, "assignment.override")[0]["reason"] == "咨询已结束两年"
    assert client.get("/judge/entries/MV-001").status_code == 200


def test_organiser_reopens_a_sheet_and_sees_disagreement_and_who_is_behind(
    app: Flask, client_for, short_video: Path
) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        create_user("judge-2", Role.JUDGE)
        create_user("judge-3", Role.JUDGE)
        submitted_video_entry(app, "entrant-a", short_video)
    _start_review(app, ("judge", "judge-2", "judge-3"))
    assert _post_sheet(client_for("judge"), "MV-001", {**SCORES, **CHECKS}, submit=True).status_code == 302
    low = {"score_content": "10", "score_form": "10", "score_influence": "10"}
    assert _post_sheet(client_for("judge-2"), "MV-001", {**low, **CHECKS}, submit=True).status_code == 302
    organizer = client_for("organizer")
    board = organizer.get("/organizer/contests/micro-video/judging").get_data(as_text=True)
    # totals 80.5 and 30: a spread of 50.5 is flagged at the default 15, not at 60
    assert re.search(r'id="disagreements".*MV-001.*50\.5', board, re.S)
    assert 'id="disagreements"' in board and "50.5" not in organizer.get(
        "/organizer/contests/micro-video/judging?spread=60"
    ).get_data(as_text=True)
    assert re.search(r'id="behind">\s*<li>Judge-3', board)
    with app.app_context():
        assignment_id = db.session.scalar(
            select(Assignment.id).join(User, Assignment.judge_id == User.id).where(User.username == "judge-2")
        )
    token = csrf_token(organizer, "/organizer/contests/micro-video/judging")
    organizer.post(
        "/organizer/contests/micro-video/judging/reopen",
        data={"csrf_token": token, "assignment_id": str(assignment_id), "reason": "影响力分数明显偏低，请复核"},
    )
    with app.app_context():
        assert db.session.get(Assignment, assignment_id).sheet.status is SheetStatus.DRAFT
    reopened = _audit(app, "sheet.reopen")[0]
    assert reopened["reason"] == "影响力分数明显偏低，请复核"
    assert (reopened["old"]["status"], reopened["new"]["status"]) == ("submitted", "draft")
    assert reopened["new"]["scores"] == {"content": "10.00", "form": "10.00", "influence": "10.00"}


def test_balanced_assignment_recomputed_on_recusal_and_join(app: Flask, users, short_video: Path) -> None:  # type: ignore[no-untyped-def]
    _use_k_judges_per_entry(app, 3)
    with app.app_context():
        create_user("entrant-c", Role.ENTRANT, "徐汇区")
        for username in ("judge-2", "judge-3", "judge-4"):
            create_user(username, Role.JUDGE)
        create_user("judge-pd", Role.JUDGE, "浦东新区")
        for username in ("entrant-a", "entrant-b", "entrant-c"):
            submitted_video_entry(app, username, short_video)
    _start_review(app, ("judge", "judge-2", "judge-3", "judge-4", "judge-pd"))

    def active() -> dict[str, set[str]]:
        panels: dict[str, set[str]] = {}
        for a in db.session.scalars(select(Assignment).where(Assignment.status == AssignmentStatus.ASSIGNED)):
            panels.setdefault(a.entry.code, set()).add(a.judge.username)
        return panels

    with app.app_context():
        panels = active()
        assert {code: len(judges) for code, judges in panels.items()} == {"MV-001": 3, "MV-002": 3, "MV-003": 3}
        assert "judge-pd" not in panels["MV-001"]  # 浦东新区's entry
        everyone = ("judge", "judge-2", "judge-3", "judge-4", "judge-pd")
        loads = [sum(u in judges for judges in panels.values()) for u in everyone]
        assert sorted(loads) == [1, 2, 2, 2, 2]
        # A judge with a submitted sheet recuses from another entry: the sheet stays, a replacement is found.
        judge_name = sorted(panels["MV-002"])[0]
        judge = _user(judge_name)
        first = sheets.active_assignment(db.session, judge, "MV-002")
        sheets.save_sheet(
            db.session,
            judge,
            first,
            scores={"content": "30", "form": "20", "influence": "20"},
            checks={"ip_characters": True, "duration": True},
            submit=True,
        )
        db.session.commit()
        other = next(code for code, judges in panels.items() if judge_name in judges and code != "MV-002")
        panel.declare_conflict(db.session, judge, sheets.active_assignment(db.session, judge, other), "亲属参与制作")
        db.session.commit()
        panels = active()
        assert len(panels[other]) == 3 and judge_name not in panels[other]
        assert judge_name in panels["MV-002"]
        # A judge joins: the assignment is computed again and keeps every sheet.
        newcomer = create_user("judge-5", Role.JUDGE)
        panel.add_to_panel(db.session, _user("organizer"), _contest(), newcomer)
        db.session.commit()
        panels = active()
        assert all(len(judges) == 3 for judges in panels.values())
        loads = [sum(u in judges for judges in panels.values()) for u in (*everyone, "judge-5")]
        assert max(loads) - min(loads) <= 1 or judge_name == "judge-pd"
        assert judge_name in panels["MV-002"]
        assert judge_name not in panels[other]
        assert db.session.scalar(select(func.count()).select_from(ScoreSheet)) == 1
        assert _audit(app, "assignment.balanced")
