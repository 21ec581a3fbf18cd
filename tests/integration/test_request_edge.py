"""One request edge: a missing object is the 404 page wherever it is looked up, and every commit of a
view goes through ``judging.web.actions.attempt``, which rolls back whatever was refused or went wrong."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from judging.extensions import db
from judging.models import Assignment, AuditEvent, Contest, Entry, Organization, OrganizationKind, Phase, utcnow
from judging.services import NotFound, contests
from judging.web.actions import attempt
from judging.web.permissions import public
from tests.conftest import csrf_token
from tests.scenarios import recuse_expert5, seed_review_contest

NOT_FOUND_PAGE = "页面不存在，或您无权查看。"


def _contest(slug: str = "micro-video") -> Contest:
    return db.session.scalar(select(Contest).where(Contest.slug == slug))


def _assert_not_found(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "未找到" in page and NOT_FOUND_PAGE in page


def test_missing_objects_answer_the_404_page_for_every_role(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    organizer, judge, entrant = client_for("organizer"), client_for("judge"), client_for("entrant-a")
    anonymous = app.test_client()
    for client, url in [
        (organizer, "/organizer/contests/no-such-contest"),
        (organizer, "/organizer/contests/no-such-contest/judging"),
        (organizer, "/organizer/contests/no-such-contest/results"),
        (organizer, "/organizer/contests/no-such-contest/entries"),
        (organizer, "/organizer/contests/micro-video/contestants"),  # a contest of works is no skills contest
        (organizer, "/organizer/contests/micro-video/snapshots/99/award-list.pdf"),
        (organizer, "/organizer/ceremonies/no-such-ceremony"),
        (judge, "/judge/entries/MV-999"),
        (entrant, "/entrant/entries/99999"),
        (entrant, "/entrant/contests/no-such-contest/entries/new"),
        (entrant, "/entrant/contests/isg-skills/entries/new"),  # takes no entries
        (entrant, "/entrant/contests/micro-video/units"),  # has no nomination round
        (anonymous, "/contests/no-such-contest"),
        (anonymous, "/results/no-such-contest"),
        (anonymous, "/results/micro-video"),  # nothing published yet
        (anonymous, "/results/micro-video/3"),
        (anonymous, "/results/micro-video/gallery"),
        (anonymous, "/files/99999"),
        (anonymous, "/files/99999/thumbnail"),
    ]:
        _assert_not_found(client.get(url))


def test_posts_naming_missing_objects_are_404_and_change_nothing(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    organizer, entrant = client_for("organizer"), client_for("entrant-a")
    token = csrf_token(organizer, "/organizer/users")
    with app.app_context():
        events = db.session.scalar(select(func.count(AuditEvent.id)))
    for url in [
        "/organizer/users/99999/active",
        "/organizer/users/99999/invitation",
        "/organizer/entries/99999/status",
        "/organizer/objections/99999/answer",
        "/organizer/contests/no-such-contest/phase",
        "/organizer/contests/micro-video/judging/panel/99999/remove",
        "/organizer/contests/micro-video/judging/assignments/99999/override",
        "/organizer/contests/micro-video/snapshots/99/publish",
    ]:
        _assert_not_found(organizer.post(url, data={"csrf_token": token, "reason": "x", "action": "disqualify"}))
    entrant_token = csrf_token(entrant, "/entrant/")
    for url in ["/entrant/entries/99999/submit", "/entrant/entries/99999/comment", "/entrant/entries/99999/nominate"]:
        _assert_not_found(entrant.post(url, data={"csrf_token": entrant_token, "comment": "x"}))
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEvent.id))) == events


def test_an_unknown_document_name_is_404_not_an_error(app: Flask, client_for, short_video: Path) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        seed_review_contest(app, short_video)
        recuse_expert5()  # every active sheet is submitted: the results can be frozen
    organizer = client_for("organizer")
    token = csrf_token(organizer, "/organizer/contests/micro-video/publication")
    assert organizer.post("/organizer/contests/micro-video/freeze", data={"csrf_token": token, "publicity_days": "7"})
    with app.app_context():
        assert _contest().phase is Phase.PUBLICITY
    assert organizer.get("/organizer/contests/micro-video/snapshots/1/award-list.csv").status_code == 200
    _assert_not_found(organizer.get("/organizer/contests/micro-video/snapshots/1/passwords.txt"))


def test_an_assignment_of_another_contest_is_not_found_through_this_one(
    app: Flask, client_for, short_video: Path
) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        seed_review_contest(app, short_video)
        assignment_id = db.session.scalar(select(func.min(Assignment.id)))
    organizer = client_for("organizer")
    token = csrf_token(organizer, "/organizer/contests/micro-video/judging")
    response = organizer.post(
        f"/organizer/contests/isg-skills/judging/assignments/{assignment_id}/override",
        data={"csrf_token": token, "reason": "再分配"},
    )
    _assert_not_found(response)


def test_a_coordinator_reaches_only_entries_of_its_own_units(app: Flask, client_for, short_video: Path) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        seed_review_contest(app, short_video)  # entrant-c belongs to 徐汇区, not under entrant-a's organisation
        unit_of_another_district = Organization.name == "徐汇区"
        other = db.session.scalar(
            select(Entry).join(Organization, Entry.organization_id == Organization.id).where(unit_of_another_district)
        )
        other_id, comment_before = other.id, other.coordinator_comment
    entrant = client_for("entrant-a")
    token = csrf_token(entrant, "/entrant/")
    _assert_not_found(entrant.post(f"/entrant/entries/{other_id}/comment", data={"csrf_token": token, "comment": "好"}))
    with app.app_context():
        assert db.session.get(Entry, other_id).coordinator_comment == comment_before


def test_not_found_raised_in_a_view_is_the_404_page_and_its_writes_are_rolled_back(app: Flask) -> None:
    """The application's handler answers any :class:`NotFound` (JSON under /api/) and rolls back."""

    @public
    def write_then_miss() -> str:
        db.session.add(Organization(name="半途单位", kind=OrganizationKind.COMPANY))
        db.session.flush()
        raise NotFound("no such thing")

    app.add_url_rule("/api/edge-test-missing", "edge_test_missing_api", write_then_miss)
    app.add_url_rule("/edge-test-missing", "edge_test_missing", write_then_miss)
    client = app.test_client()
    answer = client.get("/api/edge-test-missing")
    assert answer.status_code == 404
    assert answer.get_json() == {"error": "未找到", "message": NOT_FOUND_PAGE}
    _assert_not_found(client.get("/edge-test-missing"))
    with app.app_context():
        assert db.session.scalar(select(Organization).where(Organization.name == "半途单位")) is None


def test_attempt_rolls_back_what_fails_unexpectedly(app: Flask) -> None:
    """Not only a refusal: anything raised from the action leaves nothing of it in the session."""
    with app.test_request_context("/"):

        def half_done() -> None:
            db.session.add(Organization(name="半途单位", kind=OrganizationKind.COMPANY))
            db.session.flush()
            raise RuntimeError("disk full")

        try:
            attempt(half_done, "never shown")
        except RuntimeError:
            pass
        else:
            raise AssertionError("the error was swallowed")
        assert db.session.scalar(select(Organization).where(Organization.name == "半途单位")) is None


def test_judging_page_says_whether_judges_may_still_save(app: Flask, client_for, short_video: Path) -> None:  # type: ignore[no-untyped-def]
    """PanelProgress.open_for_scores reads its contest (it once read a field the class did not have)."""
    with app.app_context():
        seed_review_contest(app, short_video)
    organizer = client_for("organizer")
    judge = client_for("expert5")
    page = organizer.get("/organizer/contests/micro-video/judging").get_data(as_text=True)
    assert "评委可以保存并提交评分表。" in page
    assert "data-closed" not in judge.get("/judge/").get_data(as_text=True)
    with app.app_context():
        contests.set_deadlines(
            db.session,
            None,  # type: ignore[arg-type]
            _contest(),
            submission_deadline=utcnow() - timedelta(days=2),
            review_deadline=utcnow() - timedelta(minutes=1),
        )
        db.session.commit()
    page = organizer.get("/organizer/contests/micro-video/judging").get_data(as_text=True)
    assert "评委已不能保存评分表" in page and "评委可以保存并提交评分表。" not in page
    assert "data-closed" in judge.get("/judge/").get_data(as_text=True)
