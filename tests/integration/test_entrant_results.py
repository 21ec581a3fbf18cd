"""What an entrant sees of its entry's result: nothing while judging, the notice while on 公示, then its rank,
award, certificate and — as the rubric's ``[feedback]`` allows — the judges' scores and comments, anonymised.

The contest is test_publication.py's: B (黄浦区, entrant-b) 84.50 一等奖, A (浦东新区, entrant-a) 84.00 二等奖,
C 76.50, D 61.75, E excluded; expert5 recuses, experts 1–4 scored every entry.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from judging.extensions import db
from judging.models import Contest, Entry
from judging.services.entrant_results import judge_letters
from tests.scenarios import (
    SHEETS,
    freeze_micro_video,
    page_texts,
    publish_micro_video,
    recuse_expert5,
    seed_review_contest,
    show_feedback,
)

COMMENTS = {
    ("B", "expert1"): "镜头语言流畅，主题鲜明。",
    ("B", "expert3"): "“沪宝”出场稍晚，建议前置。",
    ("A", "expert2"): "这条评语属于作品A。",
}


def _seed(app: Flask, short_video: Path, show: str | None) -> dict[str, int]:
    with app.app_context():
        if show is not None:
            show_feedback(show)
        codes = seed_review_contest(app, short_video, comments=COMMENTS)
        db.session.scalar(select(Contest).where(Contest.slug == "micro-video")).edition = "2026"
        db.session.commit()
        recuse_expert5()
        return {letter: db.session.scalar(select(Entry.id).where(Entry.code == code)) for letter, code in codes.items()}


def _page(client: FlaskClient, entry_id: int) -> str:
    response = client.get(f"/entrant/entries/{entry_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _judge_rows(html: str) -> dict[str, tuple[str, ...]]:
    rows = re.findall(r'<tr data-judge="([A-Z])">(.*?)</tr>', html, re.S)
    return {letter: tuple(re.findall(r'<td class="text-end">([^<]+)</td>', cells)) for letter, cells in rows}


@pytest.fixture
def with_comments(app: Flask, users: dict[str, int], short_video: Path) -> dict[str, int]:
    return _seed(app, short_video, "scores_and_comments")


def test_entrant_sees_nothing_before_the_notice_then_the_notice_then_its_result(  # type: ignore[no-untyped-def]
    app: Flask, client_for, with_comments: dict[str, int]
) -> None:
    organizer, entrant = client_for("organizer"), client_for("entrant-b")
    b = with_comments["B"]
    before = _page(entrant, b)
    assert 'id="entry-result"' not in before and "84.50" not in before
    assert entrant.get(f"/entrant/entries/{b}/certificate.pdf").status_code == 404

    freeze_micro_video(organizer)
    on_notice = _page(entrant, b)
    assert "公示中" in on_notice and 'id="notice-link" href="/results/micro-video/1"' in on_notice
    for secret in ("84.50", "一等奖", "feedback-table", "镜头语言流畅", 'id="entry-rank"', "certificate-link"):
        assert secret not in on_notice, secret
    assert entrant.get(f"/entrant/entries/{b}/certificate.pdf").status_code == 404

    publish_micro_video(app, organizer)
    html = _page(entrant, b)
    assert '<span id="entry-award" class="badge text-bg-success">一等奖</span>' in html
    assert '<span id="entry-rank">第 1 名（共 4 个作品排名）</span>' in html
    assert '<strong id="entry-final-score">84.50</strong>' in html
    assert 'id="award-list-link" href="/results/micro-video/1"' in html
    # Four judges, A–D, each with one expert's three scores; the panel row is the trimmed mean per criterion.
    rows = _judge_rows(html)
    assert sorted(rows) == ["A", "B", "C", "D"]
    assert sorted(tuple(float(value) for value in scores) for scores in rows.values()) == sorted(
        tuple(float(value) for value in scores) for scores in SHEETS["B"].values()
    )
    panel = re.search(r"<tfoot>(.*?)</tfoot>", html, re.S).group(1)
    assert re.findall(r'fw-bold">([^<]+)<', panel) == ["35.50", "25.00", "25.00"]
    # Comments sit under the letter of the judge who scored: expert1's letter has 36/25/25.
    letter_of_expert1 = next(letter for letter, scores in rows.items() if tuple(map(float, scores)) == (36, 25, 25))
    said = f'data-judge="{letter_of_expert1}"><strong>评审专家 {letter_of_expert1}：</strong> 镜头语言流畅，主题鲜明。'
    assert said in html
    assert "“沪宝”出场稍晚，建议前置。" in html and "这条评语属于作品A。" not in html
    # Never a judge's name, not even in attributes; the same letters on every visit.
    assert "expert" not in html.lower()
    assert _judge_rows(_page(entrant, b)) == rows

    pdf = entrant.get(f"/entrant/entries/{b}/certificate.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert 'filename="MV-2026-0001.pdf"' in pdf.headers["Content-Disposition"]
    text = page_texts(pdf.data)
    assert len(text) == 1 and "MV-2026-0001" in text[0] and "一等奖" in text[0] and "黄浦区" in text[0]


def test_another_organisations_entry_result_and_certificate_are_not_found(  # type: ignore[no-untyped-def]
    app: Flask, client_for, with_comments: dict[str, int]
) -> None:
    organizer, other = client_for("organizer"), client_for("entrant-a")
    freeze_micro_video(organizer)
    publish_micro_video(app, organizer)
    b = with_comments["B"]
    for url in (f"/entrant/entries/{b}", f"/entrant/entries/{b}/certificate.pdf"):
        response = other.get(url)
        assert response.status_code == 404
        assert "镜头语言流畅" not in response.get_data(as_text=True) and "84.50" not in response.get_data(as_text=True)
    # A's own page shows A's result and A's comment only.
    own = _page(other, with_comments["A"])
    assert "二等奖" in own and "这条评语属于作品A。" in own and "镜头语言流畅" not in own
    # The public has no entrant pages at all.
    assert app.test_client().get(f"/entrant/entries/{b}/certificate.pdf").status_code in (302, 401, 404)


def test_scores_only_rubric_shows_scores_without_comments(app: Flask, client_for, users, short_video: Path) -> None:  # type: ignore[no-untyped-def]
    ids = _seed(app, short_video, "scores")
    organizer, entrant = client_for("organizer"), client_for("entrant-b")
    freeze_micro_video(organizer)
    publish_micro_video(app, organizer)
    html = _page(entrant, ids["B"])
    assert sorted(_judge_rows(html)) == ["A", "B", "C", "D"]
    assert "feedback-comments" not in html and "镜头语言流畅" not in html


def test_default_rubric_shows_rank_award_and_certificate_but_no_scores(  # type: ignore[no-untyped-def]
    app: Flask, client_for, users, short_video: Path
) -> None:
    ids = _seed(app, short_video, None)
    organizer, entrant = client_for("organizer"), client_for("entrant-b")
    freeze_micro_video(organizer)
    publish_micro_video(app, organizer)
    html = _page(entrant, ids["B"])
    assert "一等奖" in html and "第 1 名" in html and 'id="certificate-link"' in html
    for hidden in ("feedback-table", "84.50", "镜头语言流畅", 'id="entry-final-score"'):
        assert hidden not in html, hidden
    # E was excluded by a check: its page says it is not ranked, with no award and no certificate.
    excluded = _page(client_for("entrant-e"), ids["E"])
    assert '<p id="entry-rank" class="mb-2">本作品未列入已发布结果的排名。</p>' in excluded
    assert 'id="certificate-link"' not in excluded and 'id="entry-award"' not in excluded


def test_judge_letters_are_stable_per_entry_and_keyed() -> None:
    judges = ["expert1", "expert2", "expert3", "expert4"]
    first = judge_letters(b"key", 7, judges)
    assert sorted(first.values()) == ["A", "B", "C", "D"]
    assert judge_letters(b"key", 7, list(reversed(judges))) == first
    # The order follows neither the names nor the entry: expert1's letter varies from entry to entry.
    assert len({judge_letters(b"key", entry_id, judges)["expert1"] for entry_id in range(1, 21)}) > 1
    assert [judge_letters(b"other", entry_id, judges) for entry_id in range(1, 21)] != [
        judge_letters(b"key", entry_id, judges) for entry_id in range(1, 21)
    ]
