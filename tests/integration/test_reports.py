"""Activity reports (a ``kind = "collection"`` contest, issue 20): who must report, one report per
organisation, the deadline, bad files and figures, reopening one report, reminders by mail, the exports,
and a collection never judged, ranked or shown to the public."""

from __future__ import annotations

import io
import re
import socket
import threading
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import func, select

from judging.extensions import db
from judging.media import generate_test_image
from judging.models import AuditEvent, Contest, Entry, EntryFile, EntryStatus, Phase, Role, User, utcnow
from judging.rubric import parse_rubric
from judging.services import ServiceError, contests, entries, entry_files, reports
from judging.services.mail import MailSettings
from judging.storage import LocalStorage
from tests.conftest import ROOT, _bare_app, _seeded, create_user, csrf_token, log_in
from tests.scenarios import embedded_fonts, page_texts

SLUG = "week-reports"
RUBRIC = f"""
[contest]
slug = "{SLUG}"
title = "宣传周活动总结"
kind = "collection"
ceremony = "closing"
code_prefix = "WR"

[entry]
media = "document"
quota_per_organization = 1
allowed_extensions = ["pdf", "jpg", "png"]
max_file_mb = 1

[[entry.fields]]
key = "highlights"
label = "活动亮点"
type = "text"
required = true

[collection]
organizations = ["district"]
max_documents = 2
max_photos = 2

[[collection.figures]]
key = "events"
label = "活动场次"
unit = "场"
max = 10000

[[collection.figures]]
key = "participants"
label = "参与人次"
unit = "人次"
"""
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        with self.lock:
            self.messages.append(
                (list(envelope.rcpt_tos), message_from_bytes(envelope.original_content, policy=policy.default))
            )
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[_Inbox, int]]:
    box = _Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, controller.port
    finally:
        controller.stop()


@pytest.fixture
def app(database_url: str, tmp_path: Path, inbox: tuple[_Inbox, int]) -> Iterator[Flask]:
    """The seeded app (organisations, default rubrics) with the collection, three district accounts with
    addresses, an industry account and an organiser; mail goes to the test's SMTP server."""
    _box, port = inbox
    for bare in _bare_app(
        database_url, tmp_path, MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_SENDER="judging@example.org"
    ):
        seeded = _seeded(bare)
        with seeded.app_context():
            contests.sync_rubric(db.session, None, parse_rubric(RUBRIC, "reports.toml"), edition="2026")
            db.session.commit()
            create_user("organizer", Role.ORGANIZER, "市委网信办")
            for username, organization in (("pudong", "浦东新区"), ("huangpu", "黄浦区"), ("jingan", "静安区")):
                create_user(username, Role.ENTRANT, organization).email = f"{username}@example.org"
            create_user("finance", Role.ENTRANT, industry_name())
            db.session.commit()
        yield seeded


def industry_name() -> str:
    from judging.models import Organization, OrganizationKind

    return db.session.scalar(
        select(Organization.name).where(Organization.kind == OrganizationKind.INDUSTRY).order_by(Organization.id)
    )


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _contest() -> Contest:
    return db.session.scalar(select(Contest).where(Contest.slug == SLUG))


def _open(deadline_in: timedelta = timedelta(days=3)) -> Contest:
    contest = _contest()
    organizer = _user("organizer")
    if contest.phase is Phase.DRAFT:
        contests.change_phase(db.session, organizer, contest, Phase.OPEN)
    contests.set_deadlines(
        db.session, organizer, contest, submission_deadline=utcnow() + deadline_in, review_deadline=None
    )
    db.session.commit()
    return contest


def _draft(username: str, events: int = 3, participants: int = 250) -> Entry:
    report = entries.create_draft(
        db.session,
        _user(username),
        _contest(),
        title=f"{username} 活动总结",
        summary="开展进社区宣传活动。\n发放宣传手册。",
        fields={"highlights": "网络安全进社区", "events": events, "participants": participants},
    )
    db.session.commit()
    return report


def _storage(app: Flask) -> LocalStorage:
    return LocalStorage(app.config["UPLOAD_FOLDER"])


def _photo(tmp_path: Path, name: str = "photo.jpg") -> bytes:
    path = tmp_path / name
    generate_test_image(path, "320x240")
    image = Image.open(path)
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    exif[0x9286] = "拍摄于浦东新区某街道"  # UserComment-like text that must not travel with the export
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def _attach(app: Flask, username: str, report: Entry, data: bytes, name: str) -> EntryFile:
    record = entry_files.attach_file(db.session, _user(username), report, _storage(app), io.BytesIO(data), name)
    db.session.commit()
    return record


def _submit(username: str, report: Entry) -> None:
    entries.submit_entry(db.session, _user(username), report, [])
    db.session.commit()


def _client(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    assert log_in(client, username).status_code == 302
    return client


def stored_files(app: Flask) -> list[Path]:
    root = Path(app.config["UPLOAD_FOLDER"])
    return [p for p in root.rglob("*") if p.is_file() and p.relative_to(root).parts[0] != "tmp"]


# --- who may report, and how many times --------------------------------------------------------------


def test_an_organisation_not_expected_cannot_start_a_report(app: Flask) -> None:
    with app.app_context():
        _open()
        with pytest.raises(ServiceError) as refused:
            entries.create_draft(db.session, _user("finance"), _contest(), title="总结")
        assert refused.value.message == "本单位不在本次报送范围内。"
        db.session.rollback()
        assert db.session.scalar(select(func.count(Entry.id)).where(Entry.contest_id == _contest().id)) == 0
    client = _client(app, "finance")
    page = client.post(
        f"/entrant/contests/{SLUG}/entries/new",
        data={
            "csrf_token": csrf_token(client, "/entrant/"),
            "title": "总结",
            "field_highlights": "x",
            "field_events": "1",
            "field_participants": "2",
        },
        follow_redirects=True,
    )
    assert "本单位不在本次报送范围内。" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Entry.id)).where(Entry.contest_id == _contest().id)) == 0


def test_two_simultaneous_reports_of_one_organisation_only_one_counts(app: Flask) -> None:
    with app.app_context():
        _open()
        drafts = [_draft("pudong").id, _draft("pudong", events=9).id]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def submit(entry_id: int) -> None:
        with app.app_context():
            report = db.session.get(Entry, entry_id)
            _ = report.files, report.contest.rubric_versions
            barrier.wait(timeout=30)
            try:
                entries.submit_entry(db.session, _user("pudong"), report, [])
                db.session.commit()
                outcomes.append("submitted")
            except ServiceError as refusal:
                db.session.rollback()
                outcomes.append(refusal.message)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=submit, args=(entry_id,)) for entry_id in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["submitted", "本单位已报送 1 件作品，已达上限。"]
    with app.app_context():
        rows = db.session.scalars(select(Entry).where(Entry.id.in_(drafts))).all()
        assert sorted(e.status.value for e in rows) == ["draft", "submitted"]
        states = {row.organization.name: row.state for row in reports.report_rows(db.session, _contest())}
        assert states["浦东新区"] is reports.ReportState.SUBMITTED


def test_a_late_report_is_refused_and_unchanged_until_the_organiser_reopens_it(app: Flask) -> None:
    with app.app_context():
        _open()
        report = _draft("huangpu")
        late = _draft("pudong")
        _submit("huangpu", report)
        contests.set_deadlines(
            db.session,
            _user("organizer"),
            _contest(),
            submission_deadline=utcnow() - timedelta(minutes=1),
            review_deadline=None,
        )
        db.session.commit()
        with pytest.raises(ServiceError) as refused:
            entries.submit_entry(db.session, _user("pudong"), late, [])
        deadline = contests.show_moment(_contest().submission_deadline)
        assert refused.value.message == f"报送截止时间（{deadline}）已过。"
        db.session.rollback()
        assert db.session.get(Entry, late.id).status is EntryStatus.DRAFT
        states = {row.organization.name: row.state for row in reports.report_rows(db.session, _contest())}
        assert states["浦东新区"] is reports.ReportState.MISSING
        assert states["静安区"] is reports.ReportState.MISSING
        assert states["黄浦区"] is reports.ReportState.SUBMITTED

        reports.reopen_report(db.session, _user("organizer"), db.session.get(Entry, report.id), 2)
        db.session.commit()
        reopened = db.session.get(Entry, report.id)
        assert reopened.status is EntryStatus.DRAFT and reopened.quota_slot is None
        entries.update_draft(
            db.session,
            _user("huangpu"),
            reopened,
            title="更正后的总结",
            summary="",
            fields={"highlights": "更正", "events": 4, "participants": 300},
        )
        _submit("huangpu", reopened)
        assert db.session.get(Entry, report.id).fields["events"] == 4
        # The other organisation's draft stays late: the grace was one report's, not the contest's.
        with pytest.raises(ServiceError):
            entries.submit_entry(db.session, _user("pudong"), db.session.get(Entry, late.id), [])
        db.session.rollback()
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.contest_id == _contest().id)).all()
        assert "report.reopen" in actions


# --- files and figures --------------------------------------------------------------------------------


def test_bad_files_are_refused_with_a_message_and_leave_nothing(app: Flask, tmp_path: Path) -> None:
    with app.app_context():
        _open()
        report = _draft("pudong")
        storage = _storage(app)
        cases = [
            (b"MZ\x90\x00 not a document at all", "report.pdf", "该文件的实际内容不属于接受的格式：pdf, jpg, png。"),
            (b"", "empty.pdf", "文件为空。"),
            (b"%PDF-1.4\n" + b"0" * (1024 * 1024 + 10), "big.pdf", "文件超过 1 MB，超出本评选的上限。"),
        ]
        for data, name, message in cases:
            with pytest.raises(ServiceError) as refused:
                entry_files.attach_file(db.session, _user("pudong"), report, storage, io.BytesIO(data), name)
            db.session.rollback()
            assert refused.value.message == message
        assert db.session.scalar(select(func.count(EntryFile.id))) == 0
        assert stored_files(app) == []
        photo = _photo(tmp_path)
        _attach(app, "pudong", report, photo, "a.jpg")
        _attach(app, "pudong", report, photo, "b.jpg")
        with pytest.raises(ServiceError) as refused:
            entry_files.attach_file(db.session, _user("pudong"), report, storage, io.BytesIO(photo), "c.jpg")
        db.session.rollback()
        assert refused.value.message == "一份报告最多可附 2 张照片。"
        assert db.session.scalar(select(func.count(EntryFile.id))) == 2
        assert len(stored_files(app)) == 4  # two photos and their copies without EXIF


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-1", "请输入 0 到 10000 之间的整数。"),
        ("1.5", "不是有效的整数。"),
        ("10001", "请输入 0 到 10000 之间的整数。"),
    ],
)
def test_a_bad_figure_is_refused_on_the_form_and_nothing_changes(app: Flask, typed: str, message: str) -> None:
    with app.app_context():
        _open()
        report_id = _draft("pudong").id
    client = _client(app, "pudong")
    page = client.post(
        f"/entrant/entries/{report_id}/edit",
        data={
            "csrf_token": csrf_token(client, f"/entrant/entries/{report_id}/edit"),
            "title": "改了标题",
            "field_highlights": "亮点",
            "field_events": typed,
            "field_participants": "100",
        },
    )
    assert page.status_code == 200
    error = re.search(r'id="field_events-error"><div>([^<]*)</div>', page.get_data(as_text=True))
    assert error is not None and error.group(1) == message
    with app.app_context():
        report = db.session.get(Entry, report_id)
        assert report.title == "pudong 活动总结" and report.fields["events"] == 3


@pytest.mark.parametrize("value", [-1, 1.5, 10001, "7", True])
def test_the_service_refuses_a_bad_figure_from_any_caller(app: Flask, value: object) -> None:
    with app.app_context():
        _open()
        report = _draft("pudong")
        with pytest.raises(ServiceError) as refused:
            entries.update_draft(
                db.session, _user("pudong"), report, title="t", summary="", fields={"highlights": "h", "events": value}
            )
        db.session.rollback()
        assert refused.value.message in ("活动场次：请输入整数。", "活动场次：须在 0 到 10000 之间。")
        assert db.session.get(Entry, report.id).fields["events"] == 3


# --- reminders ----------------------------------------------------------------------------------------


def test_reminders_go_to_the_missing_once_within_the_pause(app: Flask, inbox: tuple[_Inbox, int]) -> None:
    box, _port = inbox
    with app.app_context():
        _open()
        _submit("huangpu", _draft("huangpu"))
        settings = MailSettings.from_config(app.config)
        assert settings is not None
        done = reports.remind_missing(
            db.session, _user("organizer"), _contest(), settings, deadline="9月18日", link="http://x.test/entrant/"
        )
        db.session.commit()
        assert "浦东新区" in done.reminded and "静安区" in done.reminded and "黄浦区" not in done.reminded
        recipients = sorted(to for tos, _message in box.messages for to in tos)
        assert recipients == ["jingan@example.org", "pudong@example.org"]
        body = next(m for tos, m in box.messages if tos == ["pudong@example.org"]).get_content()
        assert "浦东新区尚未提交" in body and "9月18日" in body
        again = reports.remind_missing(
            db.session, _user("organizer"), _contest(), settings, deadline="9月18日", link="http://x.test/entrant/"
        )
        db.session.commit()
        assert again.reminded == [] and "浦东新区" in again.recently_reminded
        assert len(box.messages) == 2
        audited = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "report.remind")).all()
        assert sorted(event.data["organization"] for event in audited) == ["浦东新区", "静安区"]


# --- exports ------------------------------------------------------------------------------------------


def test_the_exports_hold_every_figure_and_file(app: Flask, tmp_path: Path) -> None:
    with app.app_context():
        _open()
        pudong = _draft("pudong", events=3, participants=250)
        _attach(app, "pudong", pudong, PDF, "../../总结.pdf")
        _attach(app, "pudong", pudong, _photo(tmp_path), "现场.jpg")
        _submit("pudong", pudong)
        huangpu = _draft("huangpu", events=5, participants=1200)
        _attach(app, "huangpu", huangpu, PDF, "总结.pdf")
        _submit("huangpu", huangpu)
    client = _client(app, "organizer")
    workbook = load_workbook(io.BytesIO(client.get(f"/organizer/contests/{SLUG}/reports/figures.xlsx").data))
    sheet = workbook.worksheets[0]
    rows = {row[0]: row for row in sheet.iter_rows(values_only=True)}
    assert rows["单位"][:4] == ("单位", "状态", "活动场次（场）", "参与人次（人次）")
    assert rows["浦东新区"][1:4] == ("已提交", 3, 250)
    assert rows["黄浦区"][1:4] == ("已提交", 5, 1200)
    assert rows["静安区"][1:4] == ("尚未开始", None, None)
    assert rows["合计"][2:4] == (8, 1450)
    assert rows["合计"][1] == "已提交 2 / 16"

    with client.get(f"/organizer/contests/{SLUG}/reports/files.zip") as response:  # closing it removes the file
        assert response.headers["Content-Type"] == "application/zip"
        archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = sorted(archive.namelist())
    assert names == sorted(["浦东新区/现场.jpg", "浦东新区/总结.pdf", "黄浦区/总结.pdf"])
    assert archive.read("黄浦区/总结.pdf") == PDF
    exported_photo = Image.open(io.BytesIO(archive.read("浦东新区/现场.jpg")))
    assert 0x010F not in exported_photo.getexif()

    pdf = client.get(f"/organizer/contests/{SLUG}/reports/reports.pdf").data
    text = "\n".join(page_texts(pdf))
    for expected in ("宣传周活动总结", "浦东新区", "黄浦区", "250", "1,200", "网络安全进社区", "静安区"):
        assert expected in text
    assert any("CJK" in font or "Noto" in font or "WenQuanYi" in font for font in embedded_fonts(pdf))


# --- never judged, ranked or public -------------------------------------------------------------------


def test_a_collection_is_never_judged_ranked_or_public(app: Flask) -> None:
    with app.app_context():
        contest = _open()
        assert contests.plain_move_targets(contest) == (Phase.DRAFT, Phase.ARCHIVED)
        with pytest.raises(ServiceError) as refused:
            contests.change_phase(db.session, _user("organizer"), contest, Phase.REVIEW)
        db.session.rollback()
        assert "不能" in refused.value.message
        from judging.workflow import Action

        assert (
            contests.refusal_message(Action.FREEZE_RESULTS, contest)
            == "这是报告征集：其中没有评审、排名，也不发布结果。"
        )
        assert (
            contests.refusal_message(Action.SAVE_SHEETS, contest) == "这是报告征集：其中没有评审、排名，也不发布结果。"
        )
    anonymous = app.test_client()
    assert "宣传周活动总结" not in anonymous.get("/").get_data(as_text=True)
    assert anonymous.get(f"/contests/{SLUG}").status_code == 404
    listed = [contest["slug"] for contest in anonymous.get("/api/contests").get_json()["contests"]]
    assert SLUG not in listed and "micro-video" in listed
    # the documented API is public too: the collection is in none of its lists and has no page there
    listed = [contest["slug"] for contest in anonymous.get("/api/v1/contests?limit=200").get_json()["items"]]
    assert SLUG not in listed and "micro-video" in listed
    series = anonymous.get("/api/v1/series?limit=200").get_json()["items"]
    assert SLUG not in {edition["slug"] for item in series for edition in item["editions"]}
    assert anonymous.get(f"/api/v1/contests/{SLUG}").status_code == 404


def test_flask_rubric_check_accepts_the_template_and_refuses_a_bad_collection(app: Flask, tmp_path: Path) -> None:
    template = ROOT / "rubrics" / "templates" / "activity_report.toml"
    result = app.test_cli_runner().invoke(args=["rubric", "check", str(template)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "1 rubric file(s) valid."
    bad = tmp_path / "bad.toml"
    bad.write_text(template.read_text(encoding="utf-8").replace("max_photos = 20", "max_photos = -1"), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["rubric", "check", str(bad)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [f"{bad}: collection.max_photos: must be >= 0"]


def test_an_organiser_starts_a_collection_from_the_template_and_every_district_and_industry_is_expected(
    app: Flask,
) -> None:
    from judging.models import Organization, OrganizationKind
    from judging.services import editions

    with app.app_context():
        contest = editions.create_from_template(
            db.session,
            _user("organizer"),
            ROOT / "rubrics",
            "templates/activity_report.toml",
            title="",
            edition="2027",
            slug="reports-2027",
            code_prefix="AR27",
        )
        db.session.commit()
        assert (contest.kind, contest.phase) == ("collection", Phase.DRAFT)
        rows = reports.report_rows(db.session, contest)
        kinds = (OrganizationKind.DISTRICT, OrganizationKind.INDUSTRY)
        expected = db.session.scalar(
            select(func.count(Organization.id)).where(Organization.kind.in_(kinds), Organization.retired_at.is_(None))
        )
        assert len(rows) == expected == 36
        assert [row.organization.name for row in rows[:3]] == ["浦东新区", "黄浦区", "静安区"]
        assert {row.state for row in rows} == {reports.ReportState.NOT_STARTED}
