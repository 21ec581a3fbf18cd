"""The upload pipeline and the quotas under stress: parallel submissions, broken streams, the rubric's
size limit, and the two-tier nomination of exemplary cases.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from flask import Flask
from pypdf import PdfWriter

from judging.extensions import db
from judging.media import generate_test_image
from judging.models import (
    AuditEvent,
    Contest,
    Entry,
    EntryFile,
    EntryStatus,
    Organization,
    OrganizationKind,
    Role,
    User,
)
from judging.services import ServiceError, contests, entries, entry_files, nomination, organizations
from judging.storage import LocalStorage
from tests.conftest import create_user, csrf_token, open_contest_for_entries


def _blank_pdf() -> bytes:
    """A real one-page PDF: a blind contest refuses a document it cannot read to clean."""
    out = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.write(out)
    return out.getvalue()


PDF = _blank_pdf()


def stored_files(app: Flask) -> list[Path]:
    return [p for p in Path(app.config["UPLOAD_FOLDER"]).rglob("*") if p.is_file()]


def _user(username: str) -> User:
    return db.session.scalar(db.select(User).where(User.username == username))


def _video_draft(app: Flask, username: str, video: Path, title: str) -> int:
    contest = open_contest_for_entries("micro-video")
    entrant = _user(username)
    entry = entries.create_draft(db.session, entrant, contest, title=title, fields={"theme": "主题"})
    with video.open("rb") as stream:
        entry_files.attach_work(db.session, entrant, entry, LocalStorage(app.config["UPLOAD_FOLDER"]), stream, "v.mp4")
    db.session.commit()
    return entry.id


def test_two_simultaneous_submissions_take_one_quota_slot(  # type: ignore[no-untyped-def]
    app: Flask, users: dict[str, int], short_video: Path
) -> None:
    with app.app_context():
        drafts = [_video_draft(app, "entrant-a", short_video, f"作品{i}") for i in (1, 2)]
        declarations = list(contests.current_rubric(open_contest_for_entries()).entry.declarations)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def submit(entry_id: int) -> None:
        with app.app_context():  # its own app context: its own session and connection
            entrant = _user("entrant-a")
            entry = db.session.get(Entry, entry_id)
            _ = entry.files, entry.contest.rubric_versions  # loaded before the race, as a view would
            barrier.wait(timeout=30)
            try:
                entries.submit_entry(db.session, entrant, entry, declarations)
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
        rows = db.session.scalars(db.select(Entry).where(Entry.id.in_(drafts))).all()
        assert sorted(e.status.value for e in rows) == ["draft", "submitted"]
        assert [e.quota_slot for e in rows if e.status is EntryStatus.SUBMITTED] == [1]


class BreaksMidway(io.RawIOBase):
    """A request body that delivers some megabytes, then the connection dies."""

    def __init__(self, good_bytes: int):
        self.left = good_bytes
        self.head = b"\x00\x00\x00\x20ftypisom"

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            raise ConnectionResetError("client went away")
        size = self.left if size < 0 else min(size, self.left)
        chunk, self.head = (self.head + b"\0" * size)[:size], b""
        self.left -= size
        return chunk


def test_upload_broken_midway_leaves_no_file_and_no_row(app: Flask, users: dict[str, int]) -> None:
    with app.app_context():
        contest = open_contest_for_entries("micro-video")
        entrant = _user("entrant-a")
        entry = entries.create_draft(db.session, entrant, contest, title="断线")
        db.session.commit()
        storage = LocalStorage(app.config["UPLOAD_FOLDER"])
        with pytest.raises(ConnectionResetError):
            entry_files.attach_work(db.session, entrant, entry, storage, BreaksMidway(3 * 1024 * 1024), "broken.mp4")
        db.session.rollback()
        assert db.session.scalar(db.select(db.func.count(EntryFile.id))) == 0
    assert stored_files(app) == []


def test_upload_request_cut_short_leaves_no_file_and_no_row(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        contest = open_contest_for_entries("micro-video")
        entry = entries.create_draft(db.session, _user("entrant-a"), contest, title="断线")
        db.session.commit()
        entry_id = entry.id
    client = client_for("entrant-a")
    token = csrf_token(client, f"/entrant/entries/{entry_id}")
    boundary = "----judgingboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="v.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    body = head + b"\x00\x00\x00\x20ftypisom" + b"\0" * 2_000_000  # promised 5 MB more than sent
    response = client.post(
        f"/entrant/entries/{entry_id}/upload",
        input_stream=io.BytesIO(body),
        content_type=f"multipart/form-data; boundary={boundary}",
        content_length=len(body) + 5_000_000,
    )
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(EntryFile.id))) == 0
        assert db.session.get(Entry, entry_id).files == []
    assert stored_files(app) == []


class Zeros(io.RawIOBase):
    """``size`` bytes that start like a PDF, produced without holding them in memory."""

    def __init__(self, size: int):
        self.left = size
        self.head = b"%PDF-1.4\n"

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        chunk, self.head = (self.head + b"\0" * size)[:size], b""
        self.left -= size
        return chunk


def _unit(name: str, parent: str) -> Organization:
    parent_org = db.session.scalar(db.select(Organization).where(Organization.name == parent))
    unit = organizations.create_organization(
        db.session, None, name=name, kind=OrganizationKind.GRASSROOTS, parent=parent_org
    )
    db.session.commit()
    return unit


def _case(app: Flask, username: str, title: str, submit: bool = True) -> Entry:
    contest = open_contest_for_entries("exemplary-cases")
    entrant = _user(username)
    entry = entries.create_draft(
        db.session, entrant, contest, title=title, category="case", fields={"unit": "x", "period": "2026-05-01"}
    )
    entry_files.attach_file(
        db.session, entrant, entry, LocalStorage(app.config["UPLOAD_FOLDER"]), io.BytesIO(PDF), "案例.pdf"
    )
    if submit:
        entries.submit_entry(db.session, entrant, entry, list(contests.current_rubric(contest).entry.declarations))
    db.session.commit()
    return entry


def test_case_over_the_rubric_size_limit_is_refused_with_the_limit(app: Flask, users: dict[str, int]) -> None:
    with app.app_context():
        _unit("陆家嘴街道", "浦东新区")
        create_user("unit-lujiazui", Role.ENTRANT, "陆家嘴街道")
        entry = _case(app, "unit-lujiazui", "太大的案例", submit=False)
        with pytest.raises(entry_files.FileTooLarge) as refusal:
            entry_files.attach_file(
                db.session,
                _user("unit-lujiazui"),
                entry,
                LocalStorage(app.config["UPLOAD_FOLDER"]),
                Zeros(50 * 1024 * 1024 + 1),
                "大.pdf",
            )
        db.session.rollback()
        assert refusal.value.message == "文件超过 50 MB，超出本评选的上限。"
        assert [f.original_name for f in db.session.get(Entry, entry.id).files] == ["案例.pdf"]
    assert len(stored_files(app)) == 2  # the first document and its blind copy


def test_case_images_are_added_beside_the_document(app: Flask, users: dict[str, int], tmp_path: Path) -> None:
    image = tmp_path / "现场照片.png"
    generate_test_image(image)
    with app.app_context():
        _unit("陆家嘴街道", "浦东新区")
        create_user("unit-lujiazui", Role.ENTRANT, "陆家嘴街道")
        entry = _case(app, "unit-lujiazui", "社区宣传", submit=False)
        with image.open("rb") as stream:
            entry_files.attach_file(
                db.session,
                _user("unit-lujiazui"),
                entry,
                LocalStorage(app.config["UPLOAD_FOLDER"]),
                stream,
                "../现场照片.jpg",
            )
        db.session.commit()
        files = db.session.get(Entry, entry.id).files
        assert [(f.purpose, f.original_name, f.content_type) for f in files] == [
            ("work", "案例.pdf", "application/pdf"),
            ("image", "现场照片.jpg", "image/png"),
        ]


def test_coordinator_nominates_units_cases_within_the_quota(app: Flask, users: dict[str, int]) -> None:
    with app.app_context():
        for unit, username in (("陆家嘴街道", "unit-a"), ("花木街道", "unit-b")):
            _unit(unit, "浦东新区")
            create_user(username, Role.ENTRANT, unit)
        _unit("外滩街道", "黄浦区")
        create_user("unit-huangpu", Role.ENTRANT, "外滩街道")
        cases = [_case(app, username, f"案例{i}") for username in ("unit-a", "unit-b") for i in range(3)]
        foreign = _case(app, "unit-huangpu", "黄浦的案例")
        coordinator = _user("entrant-a")  # 浦东新区
        contest = db.session.scalar(db.select(Contest).where(Contest.slug == "exemplary-cases"))

        listed = nomination.units_entries(db.session, coordinator, contest)
        assert sorted(e.id for e in listed) == sorted(c.id for c in cases)
        for case in cases[:5]:
            nomination.nominate_entry(db.session, coordinator, case)
        db.session.commit()
        with pytest.raises(ServiceError) as refusal:
            nomination.nominate_entry(db.session, coordinator, cases[5])
        db.session.rollback()
        assert refusal.value.message == "本单位已推荐 5 件，已达上限。"
        with pytest.raises(ServiceError):
            nomination.nominate_entry(db.session, coordinator, foreign)
        db.session.rollback()

        nomination.withdraw_nomination(db.session, coordinator, cases[0])
        nomination.nominate_entry(db.session, coordinator, cases[5])
        db.session.commit()
        states = {
            c.id: (db.session.get(Entry, c.id).status, db.session.get(Entry, c.id).nomination_slot) for c in cases
        }
        assert states[cases[0].id] == (EntryStatus.SUBMITTED, None)
        assert states[cases[5].id] == (EntryStatus.NOMINATED, 1)
        assert sorted(slot for _, slot in states.values() if slot) == [1, 2, 3, 4, 5]
        assert db.session.get(Entry, foreign.id).status is EntryStatus.SUBMITTED


def test_coordinator_page_lists_units_and_nominates(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        _unit("陆家嘴街道", "浦东新区")
        create_user("unit-a", Role.ENTRANT, "陆家嘴街道")
        case_id = _case(app, "unit-a", "陆家嘴社区网络安全课堂").id
    client = client_for("entrant-a")
    page = client.get("/entrant/contests/exemplary-cases/units").get_data(as_text=True)
    assert "陆家嘴社区网络安全课堂" in page and "陆家嘴街道" in page
    token = csrf_token(client, "/entrant/contests/exemplary-cases/units")
    client.post(f"/entrant/entries/{case_id}/nominate", data={"csrf_token": token})
    with app.app_context():
        case = db.session.get(Entry, case_id)
        assert (case.status, case.nomination_slot, case.nominated_by.name) == (EntryStatus.NOMINATED, 1, "浦东新区")
    other = client_for("entrant-b")
    assert (
        other.post(
            f"/entrant/entries/{case_id}/nominate", data={"csrf_token": csrf_token(other, "/entrant/")}
        ).status_code
        == 404
    )
    client.post(f"/entrant/entries/{case_id}/nominate", data={"csrf_token": token, "action": "withdraw"})
    with app.app_context():
        assert db.session.get(Entry, case_id).status is EntryStatus.SUBMITTED
    client.post(
        f"/entrant/entries/{case_id}/comment", data={"csrf_token": token, "comment": "请补充覆盖人数的数据来源"}
    )
    unit_page = client_for("unit-a").get(f"/entrant/entries/{case_id}").get_data(as_text=True)
    assert "浦东新区的意见：请补充覆盖人数的数据来源" in unit_page
    with app.app_context():
        assert db.session.get(Entry, case_id).coordinator_comment == "请补充覆盖人数的数据来源"
        actions = db.session.scalars(db.select(AuditEvent.action).where(AuditEvent.object_id == str(case_id))).all()
        assert actions[-3:] == ["entry.nominate", "entry.nomination_withdraw", "entry.comment"]


def test_only_nominated_cases_go_before_the_panel_of_a_contest_with_nomination(app: Flask) -> None:
    with app.app_context():
        cases = contests.current_rubric(db.session.scalar(db.select(Contest).where(Contest.slug == "exemplary-cases")))
        videos = contests.current_rubric(db.session.scalar(db.select(Contest).where(Contest.slug == "micro-video")))
        assert entries.judgeable_statuses(cases) == (EntryStatus.NOMINATED,)
        assert entries.judgeable_statuses(videos) == (EntryStatus.SUBMITTED, EntryStatus.NOMINATED)
