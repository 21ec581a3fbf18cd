"""Whoever filed an objection follows it: reference number plus the contact given shows the status and the
organisers' answer; any wrong pair gets one and the same "not found"; lookups are rate-limited; after an
upheld objection the contest's public page stays and says that review has reopened.

The contest is test_publication.py's (B 一等奖, A 二等奖, …), frozen on notice.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from judging.extensions import db
from judging.models import Objection, ObjectionStatus, ResultSnapshot, User
from judging.services import objections
from tests.conftest import csrf_token, make_test_app
from tests.scenarios import PUBLICATION_DESK, freeze_micro_video, recuse_expert5, seed_review_contest

TRACK = "/objections/track"
NOT_FOUND = "没有与该受理编号和联系方式相符的异议。"


@pytest.fixture
def filed(app: Flask, users: dict[str, int], short_video: Path, client_for) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The result on notice and two objections (references → contacts), filed through the public form."""
    with app.app_context():
        codes = seed_review_contest(app, short_video)
        recuse_expert5()
    freeze_micro_video(client_for("organizer"))
    public = app.test_client()
    found = {}
    for contact, code, reason in (
        ("138-0000 0000", codes["B"], "该作品使用了未经授权的素材，附链接为证。"),
        ("Li@Example.org", codes["A"], "我认为评分偏高，请复核。"),
    ):
        form = "/results/micro-video/1/objection"
        page = public.post(
            form,
            data={
                "csrf_token": csrf_token(public, form),
                "name": "张三",
                "contact": contact,
                "subject": code,
                "reason": reason,
            },
        ).get_data(as_text=True)
        reference = re.search(r'id="objection-reference"[^>]*>([A-Z0-9-]+)<', page).group(1)
        assert f'id="track-link" href="/objections/track?reference={reference}"' in page
        found[reference] = contact
    return found


def _look_up(client: FlaskClient, reference: str, contact: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client, TRACK)
    return client.post(TRACK, data={"csrf_token": token, "reference": reference, "contact": contact})


def test_the_objector_reads_status_then_answer(app: Flask, client_for, filed: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    (first, contact), (second, _other) = filed.items()
    public = app.test_client()
    pending = _look_up(public, first.lower(), " 13800000000 ")  # retyped: case, spaces and dashes do not matter
    html = pending.get_data(as_text=True)
    assert pending.status_code == 200
    assert '<span class="badge text-bg-warning" id="track-status">待答复</span>' in html
    assert "组织方尚未答复" in html and "该作品使用了未经授权的素材" in html
    with app.app_context():
        objection_id = db.session.scalar(select(Objection.id).where(Objection.reference == first))
    organizer = client_for("organizer")
    organizer.post(
        f"/organizer/objections/{objection_id}/answer",
        data={
            "csrf_token": csrf_token(organizer, PUBLICATION_DESK),
            "decision": "reject",
            "answer": "经核实，素材已获授权。",
        },
    )
    answered = _look_up(public, first, contact).get_data(as_text=True)
    assert '<span class="badge text-bg-secondary" id="track-status">不予支持</span>' in answered
    assert (
        '<dd class="col-sm-8" id="track-answer" style="white-space: pre-line">经核实，素材已获授权。</dd>' in answered
    )
    # The other objection is its own: its reference with the first one's contact is not found.
    assert NOT_FOUND in _look_up(public, second, contact).get_data(as_text=True)


def test_every_wrong_pair_gets_the_same_not_found(app: Flask, filed: dict[str, str]) -> None:
    (reference, contact), _second = filed.items()
    public = app.test_client()
    answers = []
    for wrong_reference, wrong_contact in (
        (reference, "13900000000"),  # right reference, wrong contact
        ("MV-ZZZZ-ZZZZ", contact),  # unknown reference, a real contact
        ("MV-ZZZZ-ZZZZ", "nobody@example.org"),
        (reference[:-1], contact),
    ):
        response = _look_up(public, wrong_reference, wrong_contact)
        assert response.status_code == 404
        html = response.get_data(as_text=True)
        assert "track-status" not in html and "未经授权的素材" not in html
        answers.append(re.search(r'id="track-result" role="alert">([^<]+)<', html).group(1))
    assert len(set(answers)) == 1 and answers[0].startswith(NOT_FOUND)
    with app.app_context():  # a lookup changes nothing
        assert db.session.scalar(select(db.func.count(Objection.id))) == 2


def test_lookups_are_rate_limited(tmp_path: Path) -> None:
    app = make_test_app(
        f"sqlite:///{tmp_path / 'limits.sqlite3'}",
        tmp_path,
        RATELIMIT_ENABLED=True,
        OBJECTION_LOOKUP_RATE_LIMIT="3 per hour",
    )
    with app.app_context():
        db.create_all()
    client = app.test_client()
    codes = [_look_up(client, f"MV-AAAA-AAA{n}", "13800000000").status_code for n in range(2, 6)]
    assert codes == [404, 404, 404, 429]


def test_an_upheld_objection_keeps_the_contest_page_and_says_review_reopened(  # type: ignore[no-untyped-def]
    app: Flask, client_for, filed: dict[str, str]
) -> None:
    reference = next(iter(filed))
    with app.app_context():
        snapshot = db.session.scalar(select(ResultSnapshot))
        objection = db.session.scalar(select(Objection).where(Objection.reference == reference))
        organizer = db.session.get(User, snapshot.frozen_by_id)
        objections.answer_objection(
            db.session, organizer, objection, uphold=True, answer="经核实素材未授权，重新评审。"
        )
        db.session.commit()
        assert objection.status is ObjectionStatus.UPHELD
    public = app.test_client()
    page = public.get("/results/micro-video")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "已重新开始评审。" in html and "经核实素材未授权，重新评审。" in html
    assert 'href="/results/micro-video/1"' in html
    tracked = _look_up(public, reference, filed[reference]).get_data(as_text=True)
    assert "该异议成立：公示结果已撤回，评选已重新开始评审。" in tracked
    # A contest that never had a result is still not found.
    assert public.get("/results/exemplary-cases").status_code == 404


def test_the_receipt_sentence_ends_with_a_chinese_full_stop(app: Flask, filed: dict[str, str]) -> None:
    reference = next(iter(filed))
    with app.app_context():
        assert db.session.scalar(select(Objection.id).where(Objection.reference == reference)) is not None
    # The receipt page itself was checked in the fixture; here its sentence, rendered again for a new objection.
    public = app.test_client()
    form = "/results/micro-video/1/objection"
    page = public.get(form).get_data(as_text=True)
    subject = re.search(r'<option value="(MV-\d+)"', page).group(1)
    filed_page = public.post(
        form,
        data={
            "csrf_token": csrf_token(public, form),
            "name": "王五",
            "contact": "wang@example.org",
            "subject": subject,
            "reason": "请核实该作品的原创性声明。",
        },
    ).get_data(as_text=True)
    assert re.search(r'受理编号为 <strong id="objection-reference" class="fs-5">MV-[A-Z0-9-]+</strong>。', filed_page)
