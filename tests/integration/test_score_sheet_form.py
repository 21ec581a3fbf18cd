"""The judge's score sheet as a form: every refused value is named next to its own field and in a summary
that links to it, nothing is stored, and the judge sees what is left to do and the deadline."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from judging.extensions import db
from judging.models import AuditEvent, Contest, Score, ScoreSheet, User
from judging.services import contests, sheets
from tests.scenarios import one_entry_in_review

TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def _post(client, code: str, data: dict[str, str], submit: bool = False):  # type: ignore[no-untyped-def]
    page = client.get(f"/judge/entries/{code}").get_data(as_text=True)
    form = {"csrf_token": TOKEN.search(page).group(1), "version": "0", "comment": "", **data}
    form["submit_sheet" if submit else "save_draft"] = "x"
    return client.post(f"/judge/entries/{code}/sheet", data=form)


def _field_block(page: str, field_id: str) -> str:
    """The HTML of one field's block on the sheet: from its input to the next field's label."""
    start = page.rindex("<input", 0, page.index(f'id="{field_id}"'))
    end = page.find("<label", start)
    return page[start : end if end != -1 else None]


def test_three_bad_values_are_each_named_next_to_their_field_and_nothing_is_saved(
    app: Flask,
    users,
    client_for,
    short_video: Path,  # type: ignore[no-untyped-def]
) -> None:
    code = one_entry_in_review(app, short_video)
    client = client_for("judge")
    response = _post(
        client, code, {"score_content": "41", "score_form": "25.3", "score_influence": "many"}, submit=True
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    expected = {
        "score_content": "内容：分数须在 0 到 40 之间。",
        "score_form": "形式：分数须为 0.5 的整数倍。",
        "score_influence": "影响力：请输入数字。",
    }
    for field_id, message in expected.items():
        block = _field_block(page, field_id)
        assert 'aria-invalid="true"' in block and f'aria-describedby="{field_id}-error"' in block
        assert re.search(rf'<div class="invalid-feedback d-block" id="{field_id}-error"><div>{message}</div>', block)
    # The two unanswered checks of a submission are named at their own fieldsets too.
    assert 'id="check_ip_characters-error"><div>作品包含“玉兰”“沪宝”角色元素：请完成此项核查。</div>' in page
    assert 'id="check_duration-error"><div>作品时长在3分钟以内：请完成此项核查。</div>' in page
    assert re.search(r'<input aria-invalid="true" class="form-check-input is-invalid" id="check_duration-0"', page)
    # The summary at the top names all five, in the sheet's order, each linking to its field.
    summary = page[page.index('id="sheet-problems"') : page.index("</ul>", page.index('id="sheet-problems"'))]
    assert "评分表有 5 处问题，未保存任何内容。" in summary
    assert re.findall(r'href="#([\w-]+)"', summary) == [
        "score_content",
        "score_form",
        "score_influence",
        "check_ip_characters-0",
        "check_duration-0",
    ]
    assert page.index('id="sheet-problems"') < page.index('id="score-sheet"')
    # Focus goes to the first invalid field, with or without JavaScript; only one field has it.
    assert page.count(" autofocus") == 1 and re.search(
        r'<input[^>]* autofocus[^>]*id="score_content"|<input[^>]*id="score_content"[^>]* autofocus', page
    )
    # What was typed is shown back, and the messages are not flashed again far above.
    assert 'value="25.3"' in page and 'value="many"' in page
    assert page.count("形式：分数须为 0.5 的整数倍。") == 2  # beside the field and in the summary
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ScoreSheet)) == 0
        assert db.session.scalar(select(func.count()).select_from(Score)) == 0
        assert db.session.scalar(select(func.count()).where(AuditEvent.action.like("sheet.%"))) == 0


def test_a_draft_with_one_bad_value_names_only_it_and_keeps_nothing(
    app: Flask,
    users,
    client_for,
    short_video: Path,  # type: ignore[no-untyped-def]
) -> None:
    code = one_entry_in_review(app, short_video)
    client = client_for("judge")
    response = _post(client, code, {"score_content": "30", "score_form": "-1"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "评分表有 1 处问题，未保存任何内容。" in page
    assert re.findall(r'href="#([\w-]+)" data-problem-link', page) == ["score_form"]
    assert 'aria-invalid="true"' not in _field_block(page, "score_content")  # a draft may leave scores out
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ScoreSheet)) == 0


def test_the_service_names_every_problem_in_rubric_order(app: Flask, users, short_video: Path) -> None:  # type: ignore[no-untyped-def]
    code = one_entry_in_review(app, short_video)
    with app.app_context():
        judge = db.session.scalar(select(User).where(User.username == "judge"))
        assignment = sheets.active_assignment(db.session, judge, code)
        try:
            sheets.save_sheet(
                db.session, judge, assignment, scores={"content": "NaN", "influence": "31"}, checks={}, submit=True
            )
        except sheets.InvalidSheet as refusal:
            db.session.rollback()
            assert [(p.part, p.key) for p in refusal.sheet_problems] == [
                ("criterion", "content"),
                ("criterion", "form"),
                ("criterion", "influence"),
                ("check", "ip_characters"),
                ("check", "duration"),
            ]
            assert refusal.problems[1] == "形式：提交前须填写分数。"
        else:
            raise AssertionError("an invalid sheet was saved")
        assert db.session.scalar(select(func.count()).select_from(ScoreSheet)) == 0


def test_judge_sees_what_is_left_and_the_deadline_in_the_configured_zone(
    app: Flask,
    users,
    client_for,
    short_video: Path,  # type: ignore[no-untyped-def]
) -> None:
    code = one_entry_in_review(app, short_video)
    with app.app_context():
        contest = db.session.scalar(select(Contest).where(Contest.slug == "micro-video"))
        deadline = datetime(2099, 9, 5, 10, 0, tzinfo=UTC)
        contests.set_deadlines(db.session, None, contest, submission_deadline=None, review_deadline=deadline)  # type: ignore[arg-type]
        db.session.commit()
    client = client_for("judge")
    page = client.get(f"/judge/entries/{code}").get_data(as_text=True)
    assert "还需填写：内容、形式、影响力、作品包含“玉兰”“沪宝”角色元素、作品时长在3分钟以内。" in page
    assert "还有 1 份评分表待提交" in page
    # The configured zone's time for readers without JavaScript; the UTC moment for local_time.js.
    assert re.search(
        r'<time datetime="2099-09-05T10:00:00\+00:00" data-local-time data-zone="Asia/Shanghai"[^>]*>2099-09-05 18:00',
        page,
    )
    assert _post(client, code, {"score_content": "30", "check_ip_characters": "yes"}).status_code == 302
    page = client.get(f"/judge/entries/{code}").get_data(as_text=True)
    gaps = re.search(r"data-sheet-gaps[^>]*>([^<]*)<", page).group(1)
    assert "内容" not in gaps and "形式" in gaps and "影响力" in gaps and "玉兰" not in gaps
    dashboard = client.get("/judge/").get_data(as_text=True)
    assert "data-left" in dashboard and "data-local-time" in dashboard


def test_sheet_buttons_are_offered_exactly_while_a_save_would_be_accepted(
    app: Flask,
    users,
    client_for,
    short_video: Path,  # type: ignore[no-untyped-def]
) -> None:
    code = one_entry_in_review(app, short_video)
    client = client_for("judge")
    page = client.get(f"/judge/entries/{code}").get_data(as_text=True)
    assert 'id="save_draft"' in page and 'id="submit_sheet"' in page
    assert _post(client, code, {"score_content": "30"}).status_code == 302
    with app.app_context():
        contest = db.session.scalar(select(Contest).where(Contest.slug == "micro-video"))
        past = datetime(2020, 1, 1, tzinfo=UTC)
        contests.set_deadlines(db.session, None, contest, submission_deadline=None, review_deadline=past)  # type: ignore[arg-type]
        db.session.commit()
    page = client.get(f"/judge/entries/{code}").get_data(as_text=True)
    assert 'id="save_draft"' not in page and 'id="submit_sheet"' not in page
    assert "当前不能评分（评审已结束或已过截止时间），评分表只读。" in page
    token = TOKEN.search(page).group(1)
    refused = client.post(
        f"/judge/entries/{code}/sheet",
        data={"csrf_token": token, "version": "1", "score_content": "31", "save_draft": "x"},
    )
    assert refused.status_code == 400 and "评审截止时间已过。" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Score.value)) == 30
