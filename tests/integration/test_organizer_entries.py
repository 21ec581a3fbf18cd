"""The organisers' entry list: filters, file details, disqualify and reinstate with a reason, xlsx export."""

from __future__ import annotations

import io
from pathlib import Path

from flask import Flask
from openpyxl import load_workbook

from judging.extensions import db
from judging.models import AuditEvent, Contest, Entry, EntryFile, EntryStatus, User
from judging.services import entries
from tests.conftest import csrf_token, submitted_video_entry

URL = "/organizer/contests/micro-video/entries"


def test_entry_list_filters_and_shows_file_details(app: Flask, client_for, short_video: Path) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        pudong = submitted_video_entry(app, "entrant-a", short_video, "浦东的作品")
        submitted_video_entry(app, "entrant-b", short_video, "黄浦的作品")
        stored = db.session.scalar(db.select(EntryFile).where(EntryFile.entry_id == pudong.id))
        sha, size, organization_id = stored.sha256, stored.size_bytes, pudong.organization_id
    client = client_for("organizer")
    page = client.get(URL).get_data(as_text=True)
    assert "浦东的作品" in page and "黄浦的作品" in page
    assert sha in page and f"{size:,} B" in page and "5.00 秒" in page
    filtered = client.get(f"{URL}?organization={organization_id}&status=submitted").get_data(as_text=True)
    assert "浦东的作品" in filtered and "黄浦的作品" not in filtered
    assert "黄浦的作品" not in client.get(f"{URL}?status=withdrawn").get_data(as_text=True)
    assert client_for("entrant-a").get(URL).status_code == 403


def test_disqualify_and_reinstate_need_a_reason_and_are_audited(app: Flask, client_for, short_video: Path) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        entry_id = submitted_video_entry(app, "entrant-a", short_video, "浦东的作品").id
    client = client_for("organizer")
    token = csrf_token(client, URL)
    status_url = f"/organizer/entries/{entry_id}/status"
    client.post(status_url, data={"csrf_token": token, "action": "disqualify", "reason": ""})
    with app.app_context():
        assert db.session.get(Entry, entry_id).status is EntryStatus.SUBMITTED
    client.post(status_url, data={"csrf_token": token, "action": "disqualify", "reason": "未包含玉兰、沪宝角色"})
    with app.app_context():
        entry = db.session.get(Entry, entry_id)
        assert (entry.status, entry.status_reason, entry.quota_slot) == (
            EntryStatus.DISQUALIFIED,
            "未包含玉兰、沪宝角色",
            1,
        )
    entrant_page = client_for("entrant-a").get(f"/entrant/entries/{entry_id}").get_data(as_text=True)
    assert "未包含玉兰、沪宝角色" in entrant_page
    client.post(status_url, data={"csrf_token": token, "action": "reinstate", "reason": "复核后确认包含角色"})
    with app.app_context():
        entry = db.session.get(Entry, entry_id)
        assert (entry.status, entry.status_reason) == (EntryStatus.SUBMITTED, "")
        events = db.session.scalars(
            db.select(AuditEvent)
            .where(AuditEvent.action.in_(["entry.disqualify", "entry.reinstate"]))
            .order_by(AuditEvent.seq)
        ).all()
        assert [(e.action, e.data["reason"]) for e in events] == [
            ("entry.disqualify", "未包含玉兰、沪宝角色"),
            ("entry.reinstate", "复核后确认包含角色"),
        ]


def test_entry_list_exports_to_xlsx_with_chinese_headers(app: Flask, client_for, short_video: Path) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        entry = submitted_video_entry(app, "entrant-a", short_video, "守护·网络安全")
        code, sha = entry.code, entry.files[0].sha256
    response = client_for("organizer").get(f"{URL[: -len('/entries')]}/entries.xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="micro-video-entries.xlsx"'
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:7] == ("编号", "标题", "单位", "类别", "状态", "理由", "提交时间")
    assert rows[0][7:10] == ("作品主题", "播放量", "发布链接")
    assert rows[1][:5] == (code, "守护·网络安全", "浦东新区", None, "已提交")
    assert rows[1][-1] == sha and rows[1][-2] == 5.0
    assert len(rows) == 2


def test_eligibility_filter_separates_what_goes_before_the_panel(app: Flask, client_for, short_video: Path) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        submitted_video_entry(app, "entrant-a", short_video, "已报送的作品")
        contest_id = db.session.scalar(db.select(Entry.contest_id))
        entrant = db.session.scalar(db.select(User).where(User.username == "entrant-b"))
        entries.create_draft(db.session, entrant, db.session.get(Contest, contest_id), title="还在草稿的作品")
        db.session.commit()
    client = client_for("organizer")
    eligible = client.get(f"{URL}?eligibility=eligible").get_data(as_text=True)
    assert "已报送的作品" in eligible and "还在草稿的作品" not in eligible
    ineligible = client.get(f"{URL}?eligibility=ineligible").get_data(as_text=True)
    assert "还在草稿的作品" in ineligible and "已报送的作品" not in ineligible
    both = client.get(URL).get_data(as_text=True)
    assert "已报送的作品" in both and "还在草稿的作品" in both
