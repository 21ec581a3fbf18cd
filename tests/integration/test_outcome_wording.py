"""Wording found in use: the award list's sheet is named for what it holds, and one place is one place."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
from flask import Flask

from judging.extensions import db
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
