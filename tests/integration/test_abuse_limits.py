"""Limits on what anonymous objectors and entrants can pile up (issue 15).

One address filed 10 objections in a row, each blocking publication until answered; an entrant could
create unlimited drafts, each holding up to ``max_file_mb``.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from matplotlib import image
from sqlalchemy import func, select

from judging.extensions import db
from judging.models import (
    Entry,
    EntryFile,
    EntryStatus,
    Objection,
    ObjectionStatus,
    ResultSnapshot,
    SnapshotStatus,
    User,
)
from judging.rubric import load_rubric_directory
from judging.services import ServiceError, contests, entries, entry_files, objections
from judging.storage import LocalStorage
from tests.conftest import ROOT, csrf_token, open_contest_for_entries
from tests.scenarios import recuse_expert5, seed_review_contest

REASON = "该作品使用了未经授权的素材，附链接为证。"
DESK = "/organizer/contests/micro-video/publication"


@pytest.fixture
def ready(app: Flask, users: dict[str, int], short_video: Path) -> dict[str, str]:
    """test_publication.py's contest, ready to freeze: entry codes by letter."""
    with app.app_context():
        codes = seed_review_contest(app, short_video)
        recuse_expert5()
    return codes


def _freeze(organizer: FlaskClient) -> None:
    token = csrf_token(organizer, DESK)
    organizer.post("/organizer/contests/micro-video/freeze", data={"publicity_days": "5", "csrf_token": token})


def _file(public, url: str, token: str, subject: str, reason: str):  # type: ignore[no-untyped-def]
    form = {"csrf_token": token, "name": "张三", "contact": "13800000000", "subject": subject, "reason": reason}
    return public.post(url, data=form)


def _public_at(app: Flask, address: str):  # type: ignore[no-untyped-def]
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_one_address_files_at_most_three_objections_against_a_result(app: Flask, client_for, ready) -> None:  # type: ignore[no-untyped-def]
    _freeze(client_for("organizer"))
    url = "/results/micro-video/1/objection"
    public = _public_at(app, "203.0.113.5")
    token = csrf_token(public, url)
    for number in range(3):
        filed = _file(public, url, token, ready["B"], f"{REASON}第 {number + 1} 条理由。")
        assert 'id="objection-reference"' in filed.get_data(as_text=True)
    fourth = _file(public, url, token, ready["A"], f"{REASON}第 4 条理由。").get_data(as_text=True)
    assert "您所在的地址已对该结果提出 3 条异议，已达上限" in fourth
    elsewhere = _public_at(app, "198.51.100.20")
    assert 'id="objection-reference"' in _file(
        elsewhere, url, csrf_token(elsewhere, url), ready["A"], f"{REASON}另一位公众。"
    ).get_data(as_text=True)
    with app.app_context():
        rows = db.session.execute(select(Objection.client, func.count()).group_by(Objection.client)).all()
        assert dict(rows) == {"203.0.113.5": 3, "198.51.100.20": 1}


def test_the_same_objection_filed_again_is_folded_into_the_first(app: Flask, client_for, ready) -> None:  # type: ignore[no-untyped-def]
    organizer = client_for("organizer")
    _freeze(organizer)
    url = "/results/micro-video/1/objection"
    references = []
    for number, reason in enumerate((REASON, f"  {REASON} ", REASON.replace("，", "， "))):
        public = _public_at(app, f"192.0.2.{number + 1}")
        page = _file(public, url, csrf_token(public, url), ready["B"], reason).get_data(as_text=True)
        references.append(re.search(r'id="objection-reference"[^>]*>([A-Z0-9-]+)<', page).group(1))
    assert references[0] == references[1]  # spaces around the text set aside
    with app.app_context():
        rows = db.session.scalars(select(Objection).order_by(Objection.id)).all()
        assert [(row.reference, row.repeats) for row in rows] == [(references[0], 1), (references[2], 0)]
    assert "又提交了 1 次" in organizer.get(DESK).get_data(as_text=True)


def test_organiser_answers_several_objections_at_once(app: Flask, client_for, ready) -> None:  # type: ignore[no-untyped-def]
    organizer = client_for("organizer")
    _freeze(organizer)
    with app.app_context():
        snapshot = db.session.scalar(select(ResultSnapshot))
        ids = [
            objections.file_objection(
                db.session, snapshot, name="李四", contact="li@", subject=ready[letter], reason=f"{REASON}{letter}"
            ).id
            for letter in ("A", "B", "C")
        ]
        db.session.commit()
    page = organizer.get(DESK).get_data(as_text=True)
    assert 'id="bulk-answer"' in page and page.count('name="bulk-objection_ids"') == 3
    token = csrf_token(organizer, DESK)
    bulk = "/organizer/contests/micro-video/snapshots/1/answers"
    answer = {"bulk-csrf_token": token, "bulk-decision": "reject", "bulk-answer": "经复核，评分符合细则。"}
    done = organizer.post(bulk, data={**answer, "bulk-objection_ids": ids[:2]}, follow_redirects=True)
    assert "已记录 2 条异议的答复。" in done.get_data(as_text=True)
    again = organizer.post(bulk, data={**answer, "bulk-objection_ids": [ids[1], ids[2]]}, follow_redirects=True)
    assert "已答复" in again.get_data(as_text=True)
    with app.app_context():
        rows = db.session.scalars(select(Objection).order_by(Objection.id)).all()
        rejected, pending = ObjectionStatus.REJECTED, ObjectionStatus.PENDING
        assert [row.status for row in rows] == [rejected, rejected, pending]
        assert rows[2].answer == ""  # all or none: the refused batch changed nothing
        assert rows[0].answer == rows[1].answer == "经复核，评分符合细则。"
        assert db.session.scalar(select(ResultSnapshot)).status is SnapshotStatus.FROZEN


def _uploads(app: Flask) -> LocalStorage:
    return LocalStorage(app.config["UPLOAD_FOLDER"])


def test_an_organisation_keeps_at_most_its_quota_plus_two_drafts(app: Flask, client_for, users: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        open_contest_for_entries("micro-video")  # quota 1 per organisation: 3 drafts at most
    entrant = client_for("entrant-a")
    url = "/entrant/contests/micro-video/entries/new"
    token = csrf_token(entrant, url)
    for number in range(4):
        answer = entrant.post(url, data={"csrf_token": token, "title": f"草稿{number}", "field_theme": "主题"})
    text = answer.get_data(as_text=True)
    assert "贵单位在本评选中已有 3 份草稿，已达上限（名额 1 份另加 2 份）" in text
    assert "MV-001 《草稿0》" in text and "MV-003 《草稿2》" in text
    with app.app_context():
        assert db.session.scalar(select(func.count(Entry.id))) == 3
        draft = db.session.scalar(select(Entry).where(Entry.code == "MV-001"))
        entrant_b = db.session.get(User, users["entrant-b"])
        other = entries.create_draft(db.session, entrant_b, draft.contest, title="别的单位", fields={"theme": "主题"})
        assert other.code == "MV-004"  # another organisation has its own allowance
        db.session.commit()
        draft_id = draft.id
    entrant.post(
        f"/entrant/entries/{draft_id}/withdraw",
        data={"csrf_token": csrf_token(entrant, "/entrant/"), "confirmed": "1"},
    )
    again = entrant.post(url, data={"csrf_token": token, "title": "新草稿", "field_theme": "主题"})
    assert again.status_code == 302


def _noise_png(size: int, seed: int) -> bytes:
    """A PNG of random colours (incompressible, opaque): about ``size`` × ``size`` × 3.5 bytes."""
    pixels = np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    image.imsave(buffer, pixels, format="png")
    return buffer.getvalue()


def test_files_beyond_the_storage_budget_are_refused_naming_what_to_delete(
    app: Flask, users: dict[str, int], tmp_path: Path
) -> None:
    small = tmp_path / "rubrics"
    small.mkdir()
    text = (ROOT / "rubrics" / "exemplary_cases.toml").read_text(encoding="utf-8")
    (small / "exemplary_cases.toml").write_text(text.replace("max_file_mb = 50", "max_file_mb = 1"), encoding="utf-8")
    with app.app_context():
        contests.sync_rubric(db.session, None, load_rubric_directory(small)[0], edition="2026")
        contest = open_contest_for_entries("exemplary-cases")  # quota 3 + 2 drafts of 1 MB: 5 MB
        entrant = db.session.get(User, users["entrant-a"])
        fields = {"unit": "某街道", "period": "2026-03-01"}
        first = entries.create_draft(db.session, entrant, contest, title="案例一", fields=fields)
        second = entries.create_draft(db.session, entrant, contest, title="案例二", fields=fields)
        picture = _noise_png(535, 1)
        assert 0.85 * 2**20 < len(picture) <= 2**20
        for draft, count in ((first, 3), (second, 2)):
            for number in range(count):
                upload = io.BytesIO(_noise_png(535, number + 10 * draft.id))
                entry_files.attach_file(db.session, entrant, draft, _uploads(app), upload, "p.png")
        db.session.commit()
        stored_before = entry_files.stored_bytes(db.session, contest.id, entrant.organization_id)
        files_before = sorted(p.name for p in Path(app.config["UPLOAD_FOLDER"]).rglob("*") if p.is_file())
        try:
            entry_files.attach_file(db.session, entrant, second, _uploads(app), io.BytesIO(picture), "p.png")
        except ServiceError as refusal:
            message = refusal.message
            db.session.rollback()
        else:
            raise AssertionError("a file beyond the budget was accepted")
        assert "此文件放不下：贵单位在本评选中的文件已占用" in message and "5.0 MB" in message
        assert message.index("EC-001 《案例一》") < message.index("EC-002 《案例二》")  # largest first
        assert db.session.scalar(select(func.count(EntryFile.id))) == 5
        assert entry_files.stored_bytes(db.session, contest.id, entrant.organization_id) == stored_before
        assert sorted(p.name for p in Path(app.config["UPLOAD_FOLDER"]).rglob("*") if p.is_file()) == files_before
        # Withdrawing a draft deletes its files, which frees the room.
        entry_files.withdraw(db.session, entrant, first, _uploads(app))
        db.session.commit()
        assert first.status is EntryStatus.WITHDRAWN and first.files == []
        entry_files.attach_file(db.session, entrant, second, _uploads(app), io.BytesIO(picture), "p.png")
        db.session.commit()
        assert len(second.files) == 3
