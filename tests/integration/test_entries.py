"""Entries through the services on real generated videos: quota held by the database, file checks."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.exc import IntegrityError

from judging.extensions import db
from judging.media import generate_test_video
from judging.models import Contest, Entry, EntryFile, EntryStatus, Phase, User
from judging.services import ServiceError, contests, entries, entry_files
from judging.storage import LocalStorage


@pytest.fixture
def open_contest(app: Flask, users: dict[str, int]) -> Flask:
    with app.app_context():
        contest = db.session.scalar(db.select(Contest).where(Contest.slug == "micro-video"))
        organizer = db.session.get(User, users["organizer"])
        contests.change_phase(db.session, organizer, contest, Phase.OPEN)
        db.session.commit()
    return app


def _draft_with_video(app: Flask, user_id: int, video: Path, title: str) -> int:
    contest = db.session.scalar(db.select(Contest).where(Contest.slug == "micro-video"))
    entrant = db.session.get(User, user_id)
    entry = entries.create_draft(db.session, entrant, contest, title=title, fields={"theme": "主题"})
    with video.open("rb") as stream:
        entry_files.attach_work(
            db.session, entrant, entry, LocalStorage(app.config["UPLOAD_FOLDER"]), stream, "作品.mp4", "video/mp4"
        )
    db.session.commit()
    return entry.id


def _declarations() -> list[str]:
    contest = db.session.scalar(db.select(Contest).where(Contest.slug == "micro-video"))
    return list(contests.current_rubric(contest).entry.declarations)


def test_second_entry_over_quota_is_refused(open_contest: Flask, users: dict[str, int], short_video: Path) -> None:
    app = open_contest
    with app.app_context():
        first = _draft_with_video(app, users["entrant-a"], short_video, "第一部")
        second = _draft_with_video(app, users["entrant-a"], short_video, "第二部")
        entrant = db.session.get(User, users["entrant-a"])
        entries.submit_entry(db.session, entrant, db.session.get(Entry, first), _declarations())
        db.session.commit()
        with pytest.raises(ServiceError) as refusal:
            entries.submit_entry(db.session, entrant, db.session.get(Entry, second), _declarations())
        db.session.rollback()
        assert refusal.value.message == "本单位已报送 1 件作品，已达上限。"
        assert db.session.get(Entry, second).status is EntryStatus.DRAFT
        assert db.session.get(Entry, first).quota_slot == 1


def test_database_refuses_a_second_holder_of_the_same_quota_slot(
    open_contest: Flask, users: dict[str, int], short_video: Path
) -> None:
    app = open_contest
    with app.app_context():
        first = _draft_with_video(app, users["entrant-a"], short_video, "第一部")
        second = _draft_with_video(app, users["entrant-a"], short_video, "第二部")
        db.session.get(Entry, first).quota_slot = 1
        db.session.commit()
        db.session.get(Entry, second).quota_slot = 1  # what a racing request that skipped the check would do
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_submission_needs_every_declaration(open_contest: Flask, users: dict[str, int], short_video: Path) -> None:
    app = open_contest
    with app.app_context():
        entry_id = _draft_with_video(app, users["entrant-b"], short_video, "作品")
        with pytest.raises(ServiceError) as refusal:
            entries.submit_entry(
                db.session,
                db.session.get(User, users["entrant-b"]),
                db.session.get(Entry, entry_id),
                _declarations()[1:],
            )
        db.session.rollback()
        assert refusal.value.message == "请确认：作品包含宣传周IP“玉兰”“沪宝”角色元素"
        assert db.session.get(Entry, entry_id).status is EntryStatus.DRAFT


def test_late_submission_is_refused(open_contest: Flask, users: dict[str, int], short_video: Path) -> None:
    app = open_contest
    with app.app_context():
        entry_id = _draft_with_video(app, users["entrant-b"], short_video, "作品")
        contest = db.session.scalar(db.select(Contest).where(Contest.slug == "micro-video"))
        contest.submission_deadline = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)
        db.session.commit()
        with pytest.raises(ServiceError) as refusal:
            entries.submit_entry(
                db.session, db.session.get(User, users["entrant-b"]), db.session.get(Entry, entry_id), _declarations()
            )
        db.session.rollback()
        assert refusal.value.message == "报送截止时间（2026-09-01 18:00 中国标准时间）已过。"
        assert db.session.get(Entry, entry_id).status is EntryStatus.DRAFT


def test_video_over_the_limit_is_refused_with_its_measured_duration_and_leaves_nothing(
    open_contest: Flask, users: dict[str, int], tmp_path: Path
) -> None:
    app = open_contest
    long_video = tmp_path / "long.mp4"
    generate_test_video(long_video, 181, size="64x48")
    with app.app_context():
        contest = db.session.scalar(db.select(Contest).where(Contest.slug == "micro-video"))
        entrant = db.session.get(User, users["entrant-a"])
        entry = entries.create_draft(db.session, entrant, contest, title="太长了")
        db.session.commit()
        with pytest.raises(ServiceError) as refusal, long_video.open("rb") as stream:
            entry_files.attach_work(
                db.session, entrant, entry, LocalStorage(app.config["UPLOAD_FOLDER"]), stream, "long.mp4", "video/mp4"
            )
        db.session.rollback()
        assert refusal.value.message.startswith("视频时长为 181.")
        assert refusal.value.message.endswith("秒，最长允许 180 秒。")
        assert db.session.scalar(db.select(db.func.count(EntryFile.id))) == 0
    leftovers = [p for p in Path(app.config["UPLOAD_FOLDER"]).rglob("*") if p.is_file()]
    assert leftovers == []


def test_a_clip_shorter_than_the_thumbnail_time_is_accepted_with_its_first_frame(
    open_contest: Flask, users: dict[str, int], tmp_path: Path
) -> None:
    """The thumbnail is taken at 1 s; ffmpeg fails when asked to seek past the end of a 0.8 s clip,
    which must not make a playable video "not a video"."""
    app = open_contest
    clip = tmp_path / "clip.mp4"
    generate_test_video(clip, 0.8, size="64x48")
    with app.app_context():
        entry_id = _draft_with_video(app, users["entrant-a"], clip, "短片")
        stored = db.session.scalars(db.select(EntryFile).where(EntryFile.entry_id == entry_id)).one()
        assert stored.duration_seconds == Decimal("0.80")
        thumbnail = LocalStorage(app.config["UPLOAD_FOLDER"]).path(stored.thumbnail_key)
        assert thumbnail.read_bytes()[:3] == b"\xff\xd8\xff"  # a JPEG


def test_a_text_file_named_mp4_is_not_a_video(open_contest: Flask, users: dict[str, int], tmp_path: Path) -> None:
    app = open_contest
    fake = tmp_path / "fake.mp4"
    fake.write_text("这不是视频", encoding="utf-8")
    with app.app_context():
        contest = db.session.scalar(db.select(Contest).where(Contest.slug == "micro-video"))
        entrant = db.session.get(User, users["entrant-a"])
        entry = entries.create_draft(db.session, entrant, contest, title="假视频")
        db.session.commit()
        with pytest.raises(ServiceError) as refusal, fake.open("rb") as stream:
            entry_files.attach_work(
                db.session, entrant, entry, LocalStorage(app.config["UPLOAD_FOLDER"]), stream, "fake.mp4", "video/mp4"
            )
        db.session.rollback()
        assert refusal.value.message == "该文件不是可播放的视频。"
    assert [p for p in Path(app.config["UPLOAD_FOLDER"]).rglob("*") if p.is_file()] == []


def test_replacing_the_work_deletes_the_old_file_only_after_commit(
    open_contest: Flask, users: dict[str, int], short_video: Path
) -> None:
    app = open_contest
    storage = LocalStorage(app.config["UPLOAD_FOLDER"])
    with app.app_context():
        entry_id = _draft_with_video(app, users["entrant-a"], short_video, "作品")
        old = db.session.scalar(db.select(EntryFile).where(EntryFile.entry_id == entry_id))
        old_key, old_thumbnail = old.storage_key, old.thumbnail_key
        entrant = db.session.get(User, users["entrant-a"])
        with short_video.open("rb") as stream:
            entry_files.attach_work(
                db.session, entrant, db.session.get(Entry, entry_id), storage, stream, "新.mp4", "video/mp4"
            )
        assert storage.exists(old_key)  # not yet committed: the old file must survive a rollback
        db.session.commit()
        assert not storage.exists(old_key) and not storage.exists(old_thumbnail)
        files = db.session.scalars(db.select(EntryFile).where(EntryFile.entry_id == entry_id)).all()
        assert [f.original_name for f in files] == ["新.mp4"] and storage.exists(files[0].storage_key)


def test_entrant_of_the_organiser_kind_cannot_enter(open_contest: Flask, users: dict[str, int]) -> None:
    app = open_contest
    with app.app_context():
        contest = db.session.scalar(db.select(Contest).where(Contest.slug == "micro-video"))
        organizer = db.session.get(User, users["organizer"])
        with pytest.raises(ServiceError) as refusal:
            entries.create_draft(db.session, organizer, contest, title="x")
        assert refusal.value.message == "本单位不能参加该评选。"
