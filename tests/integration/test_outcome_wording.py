"""Wording found in use: the award list's sheet is named for what it holds, and one place is one place."""

from __future__ import annotations

import io
import re
from pathlib import Path

import openpyxl
from flask import Flask
from sqlalchemy import select

from judging.extensions import db
from judging.models import Assignment, Entry, ScoreSheet, User
from tests.scenarios import freeze_micro_video, recuse_expert5, seed_review_contest


def test_the_award_list_sheet_is_named_for_its_holders(app: Flask, client_for, users, short_video: Path) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        seed_review_contest(app, short_video)
        recuse_expert5()
        db.session.commit()
    organizer = client_for("organizer")
    freeze_micro_video(organizer)
    book = openpyxl.load_workbook(
        io.BytesIO(organizer.get("/organizer/contests/micro-video/snapshots/1/award-list.xlsx").data)
    )
    assert book.sheetnames == ["获奖名单", "关于本名单"]


def test_one_place_is_singular_in_english(app: Flask) -> None:
    public = app.test_client()
    public.get("/lang/en?next=/")
    page = public.get("/contests/micro-video").get_data(as_text=True)
    assert "一等奖 · 1 place<" in page and "1 places" not in page
    assert "二等奖 · 3 places<" in page


def test_robustness_says_first_what_it_cannot_tell(app: Flask, client_for, users, short_video: Path) -> None:  # type: ignore[no-untyped-def]
    """D keeps three sheets (expert4's is taken out): without one judge it would have two, too few for the
    trimmed mean, so the check cannot tell for D. The page says that first and claims nothing for D."""
    with app.app_context():
        codes = seed_review_contest(app, short_video)
        recuse_expert5()
        sheet = db.session.scalar(
            select(ScoreSheet)
            .join(Assignment, ScoreSheet.assignment_id == Assignment.id)
            .join(Entry, Assignment.entry_id == Entry.id)
            .join(User, Assignment.judge_id == User.id)
            .where(Entry.code == codes["D"], User.username == "expert4")
        )
        db.session.delete(sheet)
        db.session.commit()
    html = client_for("organizer").get("/organizer/contests/micro-video/results").get_data(as_text=True)
    section = re.search(r'<section class="mb-4" id="robustness">(.*?)</section>', html, re.S).group(1)
    undetermined = re.search(r'id="undetermined">([^<]+)<', section).group(1)
    assert undetermined == "去掉某一位评委后，有 1 件已排名作品的有效评分表将不足，对这些作品本检查无法判断。"
    others = "其余已排名作品：去掉任何一位评委，奖项均不改变。"
    assert "去掉任何一位评委，奖项均不改变。" not in section.replace(others, "")  # never for every entry
    if 'id="no-hinge"' in section:  # nothing hinges for the others: said after, and only for them
        assert section.index('id="undetermined"') < section.index('id="no-hinge"')
        assert others in section
