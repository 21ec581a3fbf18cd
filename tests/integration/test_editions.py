"""Series and editions: a contest copied as the next edition, one built from a template (a poster
contest of images), archived contests, and `flask init` with a removed rubric file; on both databases."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from PIL import Image
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from judging.extensions import db
from judging.models import Assignment, AuditEvent, Contest, Entry, PanelMember, Phase, User
from judging.services import ServiceError, contests, editions, entries, entry_files, publication
from judging.services.sheets import save_sheet
from judging.storage import LocalStorage
from tests.conftest import ROOT, csrf_token, log_in, make_test_app
from tests.scenarios import jpeg_with_exif, poster_contest, recuse_expert5, seed_review_contest


def _contest(slug: str) -> Contest:
    found = db.session.scalar(select(Contest).where(Contest.slug == slug))
    assert found is not None, slug
    return found


def _contest_count() -> int:
    return int(db.session.scalar(select(func.count(Contest.id))) or 0)


def test_copied_edition_has_new_slug_prefix_and_edition_no_deadlines_and_keeps_comments(
    app: Flask, users: dict[str, int]
) -> None:
    with app.app_context():
        organizer = db.session.get(User, users["organizer"])
        old = _contest("micro-video")
        contests.set_deadlines(
            db.session,
            organizer,
            old,
            submission_deadline=datetime(2026, 9, 1, tzinfo=UTC),
            review_deadline=datetime(2026, 9, 8, tzinfo=UTC),
        )
        contests.change_phase(db.session, organizer, old, Phase.OPEN)
        db.session.commit()
        assert editions.suggest_slug(db.session, old.series, "2027") == "micro-video-2027"
        assert editions.suggest_code_prefix(db.session, old.code_prefix, "2027") == "MV27"

        new = editions.copy_edition(
            db.session, organizer, old, edition="2027", slug="micro-video-2027", code_prefix="MV27"
        )
        db.session.commit()

        assert (new.slug, new.series, new.edition, new.code_prefix) == (
            "micro-video-2027",
            "micro-video",
            "2027",
            "MV27",
        )
        assert (new.phase, new.submission_deadline, new.review_deadline) == (Phase.DRAFT, None, None)
        assert new.title == old.title and new.kind == "work"
        text_ = new.current_rubric.text
        assert text_.startswith("# 网络安全微视频评选: each district and industry authority submits one video")
        assert 'slug = "micro-video-2027"' in text_ and 'code_prefix = "MV27"' in text_
        assert 'series = "micro-video"' in text_
        assert text_.count("\n") == old.current_rubric.text.count("\n") + 1  # one line added, none lost
        assert contests.current_rubric(new).contest.entry_code_prefix == "MV27"
        # the old edition is untouched
        assert (old.phase, old.code_prefix, old.submission_deadline) == (
            Phase.OPEN,
            "MV",
            datetime(2026, 9, 1, tzinfo=UTC),
        )
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "contest.copy"))
        assert event is not None and event.contest_id == new.id
        assert event.data["copied_from"] == "micro-video" and event.data["code_prefix"] == "MV27"
        # a third edition gets suggestions of its own
        assert editions.suggest_slug(db.session, "micro-video", "2027") == "micro-video-2027-2"
        assert editions.suggest_code_prefix(db.session, "MV27", "2027") == "MV2"
        assert editions.suggest_code_prefix(db.session, "MV", "第三届") == "MV2"


@pytest.mark.parametrize(
    ("slug", "prefix", "message"),
    [
        (
            "micro-video-2027",
            "MV",
            "代码前缀 MV 已被“网络安全微视频评选”（2026）使用，请另选一个，以免作品编号在不同评选之间混淆。",
        ),
        (
            "micro-video-2027",
            "EC",
            "代码前缀 EC 已被“网络安全宣传先进典型案例推选”（2026）使用，请另选一个，以免作品编号在不同评选之间混淆。",
        ),
        ("micro-video", "MV27", "地址 micro-video 已被另一个评选使用，请另选一个。"),
        ("Micro Video", "MV27", "地址（slug）只能包含小写字母、数字和连字符，例如 micro-video-2027。"),
        ("micro-video-2027", "mv27", "代码前缀由一个大写字母和至多五个大写字母或数字组成，例如 MV27。"),
    ],
)
def test_copy_with_a_taken_or_malformed_slug_or_prefix_is_refused_and_writes_nothing(
    app: Flask, users: dict[str, int], slug: str, prefix: str, message: str
) -> None:
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        organizer = db.session.get(User, users["organizer"])
        before = _contest_count()
        with pytest.raises(ServiceError) as refusal:
            editions.copy_edition(
                db.session, organizer, _contest("micro-video"), edition="2027", slug=slug, code_prefix=prefix
            )
        db.session.rollback()
        assert refusal.value.message == message
        assert _contest_count() == before
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "contest.copy")) is None


def test_the_database_refuses_a_second_contest_with_the_same_prefix(app: Flask) -> None:
    with app.app_context():
        db.session.add(Contest(slug="other", title="x", kind="work", ceremony="opening", code_prefix="MV"))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_entrants_of_the_new_edition_get_codes_of_its_own_numbered_from_001(app: Flask, users: dict[str, int]) -> None:
    with app.app_context():
        organizer = db.session.get(User, users["organizer"])
        old = _contest("micro-video")
        contests.change_phase(db.session, organizer, old, Phase.OPEN)
        new = editions.copy_edition(
            db.session, organizer, old, edition="2027", slug="micro-video-2027", code_prefix="MV27"
        )
        contests.change_phase(db.session, organizer, new, Phase.OPEN)
        a, b = db.session.get(User, users["entrant-a"]), db.session.get(User, users["entrant-b"])
        first_old = entries.create_draft(db.session, a, old, title="旧作", fields={"theme": "主题"})
        first_new = entries.create_draft(db.session, b, new, title="新作一", fields={"theme": "主题"})
        second_new = entries.create_draft(db.session, a, new, title="新作二", fields={"theme": "主题"})
        second_old = entries.create_draft(db.session, b, old, title="旧作二", fields={"theme": "主题"})
        db.session.commit()
        assert [first_old.code, second_old.code] == ["MV-001", "MV-002"]
        assert [first_new.code, second_new.code] == ["MV27-001", "MV27-002"]
        codes = db.session.scalars(select(Entry.code).order_by(Entry.code)).all()
        assert len(codes) == len(set(codes))  # no code names two entries, whatever the edition


def test_contest_from_the_poster_template_takes_images_and_blind_judges_get_no_exif(
    app: Flask, users: dict[str, int]
) -> None:
    with app.app_context():
        assert {t.name: (t.kind, t.media) for t in editions.list_templates(ROOT / "rubrics")}[
            "templates/poster.toml"
        ] == ("work", "image")
        contest = poster_contest(users["organizer"])
        assert (contest.slug, contest.series, contest.code_prefix, contest.edition) == (
            "poster-2027",
            "poster-2027",
            "PO27",
            "2027",
        )
        assert contest.current_rubric.text.startswith("# 网络安全宣传海报评选 (template)")
        organizer = db.session.get(User, users["organizer"])
        contests.change_phase(db.session, organizer, contest, Phase.OPEN)
        entrant = db.session.get(User, users["entrant-a"])
        entry = entries.create_draft(db.session, entrant, contest, title="守护", fields={"theme": "反诈"})
        storage = LocalStorage(app.config["UPLOAD_FOLDER"])
        record = entry_files.attach_file(
            db.session, entrant, entry, storage, io.BytesIO(jpeg_with_exif((800, 1200))), "海报.jpg"
        )
        db.session.commit()
        assert entry.code == "PO27-001"
        assert (record.purpose, record.content_type, record.width, record.height) == ("work", "image/jpeg", 800, 1200)
        upload = storage.path(record.storage_key).read_bytes()
        assert b"Changning" in upload  # the entrant gets its own file back as sent
        blind = storage.path(record.blind_key).read_bytes()
        thumbnail = storage.path(record.thumbnail_key).read_bytes()
        for data in (blind, thumbnail):
            with Image.open(io.BytesIO(data)) as picture:
                assert picture.format == "JPEG"
                assert dict(picture.getexif()) == {}
                assert "xmp" not in picture.info
            assert b"Changning" not in data and b"Minghua" not in data
        with Image.open(io.BytesIO(thumbnail)) as picture:
            assert picture.size == (320, 480)


@pytest.mark.parametrize(
    ("payload", "name", "message"),
    [
        (b"%PDF-1.7\n1 0 obj\n", "poster.pdf", "该文件的实际内容不属于接受的格式：jpg, png, webp。"),
        (b"\xff\xd8\xff\xe0 not really a jpeg", "poster.jpg", "无法读取该图片。"),
    ],
)
def test_poster_contest_refuses_what_is_not_a_picture_and_stores_nothing(
    app: Flask, users: dict[str, int], payload: bytes, name: str, message: str
) -> None:
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        contest = poster_contest(users["organizer"])
        contests.change_phase(db.session, db.session.get(User, users["organizer"]), contest, Phase.OPEN)
        entrant = db.session.get(User, users["entrant-a"])
        entry = entries.create_draft(db.session, entrant, contest, title="守护", fields={"theme": "反诈"})
        db.session.commit()
        storage = LocalStorage(app.config["UPLOAD_FOLDER"])
        with pytest.raises(ServiceError) as refusal:
            entry_files.attach_file(db.session, entrant, entry, storage, io.BytesIO(payload), name)
        db.session.rollback()
        assert refusal.value.message == message
        assert db.session.get(Entry, entry.id).files == []
        assert [p for p in Path(app.config["UPLOAD_FOLDER"]).rglob("*") if p.is_file()] == []


def test_webp_poster_is_accepted_and_cleaned(app: Flask, users: dict[str, int]) -> None:
    with app.app_context():
        contest = poster_contest(users["organizer"])
        contests.change_phase(db.session, db.session.get(User, users["organizer"]), contest, Phase.OPEN)
        entrant = db.session.get(User, users["entrant-a"])
        entry = entries.create_draft(db.session, entrant, contest, title="守护", fields={"theme": "反诈"})
        picture = io.BytesIO()
        exif = Image.Exif()
        exif[0x013B] = "Li Minghua, Changning CAC"
        Image.new("RGB", (400, 300), (10, 120, 60)).save(picture, format="WEBP", exif=exif)
        storage = LocalStorage(app.config["UPLOAD_FOLDER"])
        record = entry_files.attach_file(db.session, entrant, entry, storage, io.BytesIO(picture.getvalue()), "p.webp")
        db.session.commit()
        assert record.content_type == "image/webp"
        blind = storage.path(record.blind_key).read_bytes()
        assert b"Changning" in picture.getvalue() and b"Changning" not in blind
        with Image.open(io.BytesIO(blind)) as cleaned:
            assert (cleaned.format, cleaned.size) == ("WEBP", (400, 300))


def test_archived_contest_is_hidden_from_the_public_and_entrants_and_read_only(
    app: Flask, users: dict[str, int]
) -> None:
    with app.app_context():
        organizer = db.session.get(User, users["organizer"])
        contest = _contest("exemplary-cases")
        contests.change_phase(db.session, organizer, contest, Phase.OPEN)
        entrant_a = db.session.get(User, users["entrant-a"])
        entries.create_draft(db.session, entrant_a, contest, title="社区反诈案例", fields={"unit": "某街道"})
        contests.archive(db.session, organizer, contest)
        db.session.commit()
    public = app.test_client()
    for url in ("/contests/exemplary-cases", "/results/exemplary-cases", "/results/exemplary-cases/gallery"):
        assert public.get(url).status_code == 404, url
    index = public.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert 'data-contest="micro-video"' in index and 'data-contest="exemplary-cases"' not in index
    entrant = app.test_client()
    log_in(entrant, "entrant-a")
    dashboard = entrant.get("/entrant/").get_data(as_text=True)
    assert "网络安全微视频评选" in dashboard and "网络安全宣传先进典型案例推选" not in dashboard
    assert "社区反诈案例" not in dashboard  # its own entries there are hidden too
    assert entrant.get("/entrant/contests/exemplary-cases/entries/new").status_code == 404
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        organizer = db.session.get(User, users["organizer"])
        contest = _contest("exemplary-cases")
        for attempt in (
            lambda: contests.change_phase(db.session, organizer, contest, Phase.REVIEW),
            lambda: contests.set_deadlines(
                db.session, organizer, contest, submission_deadline=None, review_deadline=None
            ),
        ):
            with pytest.raises(ServiceError) as refusal:
                attempt()
            db.session.rollback()
            assert refusal.value.message == "此评选已归档：在组织者取消归档之前，其中任何内容都不能更改。"
        assert _contest("exemplary-cases").phase is Phase.OPEN
        assert contests.archived_contests(db.session) == [_contest("exemplary-cases")]
        contests.unarchive(db.session, organizer, _contest("exemplary-cases"))
        db.session.commit()
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("contest.%archive")).order_by(AuditEvent.id)
        ).all()
        assert actions == ["contest.archive", "contest.unarchive"]
    assert public.get("/contests/exemplary-cases").status_code == 200


def test_public_index_groups_editions_by_series_newest_first(app: Flask, users: dict[str, int]) -> None:
    with app.app_context():
        organizer = db.session.get(User, users["organizer"])
        editions.copy_edition(
            db.session, organizer, _contest("micro-video"), edition="第二届", slug="micro-video-2", code_prefix="MV2"
        )
        db.session.commit()
    page = app.test_client().get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert page.index('data-series="micro-video"') < page.index('data-contest="micro-video-2"')
    assert page.index('data-contest="micro-video-2"') < page.index('data-contest="micro-video"')
    assert page.count('data-series="micro-video"') == 1
    newest = app.test_client().get("/contests/micro-video-2").get_data(as_text=True)
    assert '<p class="small" data-other-editions>' in newest and 'href="/contests/micro-video">2026</a>' in newest


def test_init_names_a_contest_whose_rubric_file_is_gone_and_archives_it_on_request(
    database_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "rubrics"
    folder.mkdir()
    for name in ("micro_video.toml", "exemplary_cases.toml"):
        (folder / name).write_text((ROOT / "rubrics" / name).read_text(encoding="utf-8"), encoding="utf-8")
    app = make_test_app(database_url, tmp_path, RUBRICS_FOLDER=str(folder))
    _empty(app)
    try:
        runner = app.test_cli_runner()
        assert runner.invoke(args=["init", "--edition", "2026"]).exit_code == 0
        (folder / "exemplary_cases.toml").unlink()
        kept = runner.invoke(args=["init"])
        assert kept.exit_code == 0, kept.output
        assert f"exemplary-cases: its rubric file {folder / 'exemplary_cases.toml'} is gone; the contest is left" in (
            kept.output
        )
        with app.app_context():
            assert _contest("exemplary-cases").archived_at is None
        archived = runner.invoke(args=["init", "--archive-missing"])
        assert archived.exit_code == 0, archived.output
        assert "exemplary-cases: its rubric file" in archived.output and "archived" in archived.output
        with app.app_context():
            assert _contest("exemplary-cases").archived_at is not None
            assert _contest("micro-video").archived_at is None
        again = runner.invoke(args=["init"])
        assert "exemplary-cases" not in again.output  # archived: nothing more to say
    finally:
        _empty(app)


def _empty(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("DROP SCHEMA public CASCADE"))
            db.session.execute(text("CREATE SCHEMA public"))
            db.session.commit()
        db.session.remove()
        db.engine.dispose()


def test_organiser_copies_an_edition_in_the_browser_with_the_suggested_slug_and_prefix(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    page = client.get("/organizer/contests/micro-video/copy", headers={"Accept-Language": "zh-CN"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'value="2027"' in html and 'value="micro-video-2027"' in html and 'value="MV27"' in html
    token = csrf_token(client, "/organizer/contests/micro-video/copy")
    done = client.post(
        "/organizer/contests/micro-video/copy",
        data={"csrf_token": token, "edition": "2027", "slug": "", "code_prefix": ""},
    )
    assert done.status_code == 302 and done.headers["Location"].endswith("/organizer/contests/micro-video-2027")
    with app.app_context():
        new = _contest("micro-video-2027")
        assert (new.code_prefix, new.edition, new.series, new.phase) == ("MV27", "2027", "micro-video", Phase.DRAFT)
    contest_page = client.get("/organizer/contests/micro-video-2027", headers={"Accept-Language": "zh-CN"})
    assert "MV27-001" in contest_page.get_data(as_text=True)
    # the same prefix again: refused, said in the user's language, nothing written
    again = client.post(
        "/organizer/contests/micro-video/copy",
        data={"csrf_token": token, "edition": "2027 补充", "slug": "micro-video-2027b", "code_prefix": "MV27"},
        headers={"Accept-Language": "zh-CN"},
    )
    assert again.status_code == 400
    assert "代码前缀 MV27 已被“网络安全微视频评选”（2027）使用" in again.get_data(as_text=True)
    with app.app_context():
        assert _contest_count() == 4


def test_organiser_builds_a_contest_from_a_template_and_archives_it(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    listing = client.get("/organizer/contests/new", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert 'data-template="templates/poster.toml"' in listing and "图片（海报）" in listing
    assert 'data-template="micro_video.toml"' in listing and 'data-series="micro-video"' in listing
    token = csrf_token(client, "/organizer/contests/new")
    made = client.post(
        "/organizer/contests/new",
        data={
            "csrf_token": token,
            "template": "templates/poster.toml",
            "title": "2027 网络安全海报征集",
            "edition": "2027",
            "slug": "",
            "code_prefix": "",
        },
    )
    assert made.status_code == 302 and made.headers["Location"].endswith("/organizer/contests/poster-2027")
    with app.app_context():
        poster = _contest("poster-2027")
        assert (poster.title, poster.code_prefix, poster.series) == ("2027 网络安全海报征集", "PO27", "poster-2027")
        assert 'title = "2027 网络安全海报征集"' in poster.current_rubric.text
    # a template outside the list (a path out of the folder) does not exist
    outside = client.post(
        "/organizer/contests/new",
        data={"csrf_token": token, "template": "../data/organizations.toml", "edition": "2027"},
    )
    assert outside.status_code == 400
    assert client.get("/contests/poster-2027").status_code == 200
    archived = client.post("/organizer/contests/poster-2027/archive", data={"csrf_token": token})
    assert archived.status_code == 302
    assert app.test_client().get("/contests/poster-2027").status_code == 404
    dashboard = client.get("/organizer/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    archived_list = dashboard[dashboard.index('id="archived-contests"') :]
    assert 'data-contest="poster-2027"' in archived_list
    assert client.get("/organizer/contests/poster-2027").status_code == 200  # organisers still reach it
    client.post("/organizer/contests/poster-2027/unarchive", data={"csrf_token": token})
    assert app.test_client().get("/contests/poster-2027").status_code == 200


def test_only_organisers_make_copy_or_archive_contests(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    for username in ("judge", "entrant-a"):
        client = client_for(username)
        token = csrf_token(client, "/account/password")
        for url in ("/organizer/contests/new", "/organizer/contests/micro-video/copy"):
            assert client.get(url).status_code in (403, 404), (username, url)
        response = client.post("/organizer/contests/micro-video/archive", data={"csrf_token": token})
        assert response.status_code in (403, 404)
    with app.app_context():
        assert _contest("micro-video").archived_at is None and _contest_count() == 3


def test_archived_contest_in_review_refuses_a_judges_sheet_and_copying_it_carries_no_entries(
    app: Flask, users: dict[str, int], short_video: Path
) -> None:
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        codes = seed_review_contest(app, short_video)
        contest = _contest("micro-video")
        judge = db.session.scalar(select(User).where(User.username == "expert5"))
        assignment = db.session.scalar(
            select(Assignment).join(Entry).where(Assignment.judge_id == judge.id, Entry.code == codes["A"])
        )
        sheet_before = {s.criterion: s.value for s in assignment.sheet.scores}
        contests.archive(db.session, None, contest)
        db.session.commit()
        with pytest.raises(ServiceError) as refusal:
            save_sheet(db.session, judge, assignment, scores={"content": 1, "form": 1, "influence": 1}, submit=True)
        db.session.rollback()
        assert refusal.value.message == "此评选已归档：在组织者取消归档之前，其中任何内容都不能更改。"
        assert {s.criterion: s.value for s in db.session.get(Assignment, assignment.id).sheet.scores} == sheet_before
        # An insider cannot reuse the archived edition's prefix or address for a new one either.
        organizer = db.session.get(User, users["organizer"])
        with pytest.raises(ServiceError) as taken:
            editions.copy_edition(
                db.session, organizer, contest, edition="2027", slug="micro-video-2027", code_prefix="MV"
            )
        db.session.rollback()
        assert taken.value.message.startswith("代码前缀 MV 已被“网络安全微视频评选”（2026）使用")
        new = editions.copy_edition(
            db.session, organizer, contest, edition="2027", slug="micro-video-2027", code_prefix="MV27"
        )
        db.session.commit()
        assert (new.entries, new.panel, new.phase) == ([], [], Phase.DRAFT)
        assert new.archived_at is None


def test_migration_gives_existing_contests_their_series_and_prefix(database_url: str, tmp_path: Path) -> None:
    """An instance upgraded from before editions: each contest's prefix and series come from its rubric
    (or its slug), and two contests that shared a prefix get distinct ones."""
    app = make_test_app(database_url, tmp_path)
    _empty(app)
    try:
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"), revision="b1a7d0c0f1e5")
            micro = (ROOT / "rubrics" / "micro_video.toml").read_text(encoding="utf-8")
            twin = micro.replace('slug = "micro-video"', 'slug = "micro-video-b"')
            rows = [(1, "micro-video", micro), (2, "micro-video-b", twin), (3, "no-prefix", "[contest]\n")]
            now = datetime(2026, 1, 1, tzinfo=UTC)
            for contest_id, slug, rubric_text in rows:
                db.session.execute(
                    text(
                        "INSERT INTO contest (id, slug, title, kind, ceremony, edition, phase, publicity_days, "
                        "created_at) VALUES (:id, :slug, 't', 'work', 'opening', '2026', 'draft', 5, :now)"
                    ),
                    {"id": contest_id, "slug": slug, "now": now},
                )
                db.session.execute(
                    text(
                        "INSERT INTO rubric_version (id, contest_id, version, text, sha256, source, created_at) "
                        "VALUES (:id, :id, 1, :text, 'x', 'rubrics/x.toml', :now)"
                    ),
                    {"id": contest_id, "text": rubric_text, "now": now},
                )
            db.session.commit()
            upgrade(directory=str(ROOT / "migrations"))
            found = db.session.execute(text("SELECT slug, code_prefix, series FROM contest ORDER BY id")).all()
            assert [tuple(row) for row in found] == [
                ("micro-video", "MV", "micro-video"),
                ("micro-video-b", "MV2", "micro-video-b"),
                ("no-prefix", "NP", "no-prefix"),
            ]
            db.session.remove()
    finally:
        _empty(app)


def test_a_result_on_notice_is_listed_by_series_and_disappears_when_its_contest_is_archived(
    app: Flask, users: dict[str, int], short_video: Path
) -> None:
    with app.app_context():
        seed_review_contest(app, short_video)
        recuse_expert5()
        organizer = db.session.get(User, users["organizer"])
        publication.freeze(db.session, organizer, _contest("micro-video"))
        db.session.commit()
    public = app.test_client()
    listing = public.get("/results", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    section = listing[listing.index('data-series="micro-video"') :]
    assert '<span class="badge text-bg-primary">2026</span>' in section and 'data-contest="micro-video"' in section
    assert public.get("/results/micro-video").status_code == 200
    with app.app_context():
        contests.archive(db.session, db.session.get(User, users["organizer"]), _contest("micro-video"))
        db.session.commit()
    listing = public.get("/results", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert 'data-series="micro-video"' not in listing and "尚未公布任何结果。" in listing
    assert public.get("/results/micro-video").status_code == 404
    assert public.get("/results/micro-video/1").status_code == 404


def test_two_organisers_taking_the_same_prefix_at_once_the_second_is_refused_not_crashed(
    app: Flask, users: dict[str, int]
) -> None:
    """The checks pass for both, the database's unique constraint decides: the later one gets a refusal.
    (PostgreSQL only: SQLite serialises writers, so the two cannot interleave there.)"""
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has one writer at a time")
        other = Session(db.engine)

        def the_other_organiser_is_faster(*_args: object) -> None:
            other.add(Contest(slug="rival", title="别人", kind="work", ceremony="opening", code_prefix="MV27"))
            other.commit()

        event.listen(db.session(), "before_flush", the_other_organiser_is_faster, once=True)
        organizer = db.session.get(User, users["organizer"])
        with pytest.raises(ServiceError) as refusal:
            editions.copy_edition(
                db.session,
                organizer,
                _contest("micro-video"),
                edition="2027",
                slug="micro-video-2027",
                code_prefix="MV27",
            )
        db.session.rollback()
        other.close()
        assert refusal.value.message == "另一个评选刚刚占用了这个地址或编号前缀，请另选一个。"
        assert db.session.scalar(select(Contest.slug).where(Contest.code_prefix == "MV27")) == "rival"
        assert db.session.scalar(select(Contest).where(Contest.slug == "micro-video-2027")) is None


def test_a_blind_judge_sees_the_poster_as_a_picture_and_receives_only_its_clean_copy(
    app: Flask, users: dict[str, int], client_for
) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        contest = poster_contest(users["organizer"])
        organizer = db.session.get(User, users["organizer"])
        contests.change_phase(db.session, organizer, contest, Phase.OPEN)
        entrant = db.session.get(User, users["entrant-a"])
        entry = entries.create_draft(db.session, entrant, contest, title="守护", fields={"theme": "反诈"})
        storage = LocalStorage(app.config["UPLOAD_FOLDER"])
        record = entry_files.attach_file(
            db.session, entrant, entry, storage, io.BytesIO(jpeg_with_exif((600, 900))), "海报.jpg"
        )
        entries.submit_entry(db.session, entrant, entry, list(contests.current_rubric(contest).entry.declarations))
        contests.change_phase(db.session, organizer, contest, Phase.REVIEW)
        judge = db.session.get(User, users["judge"])
        db.session.add(PanelMember(contest=contest, judge=judge))
        db.session.add(Assignment(entry=entry, judge=judge))
        db.session.commit()
        file_id, code = record.id, entry.code
    client = client_for("judge")
    page = client.get(f"/judge/entries/{code}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert f'src="/files/{file_id}"' in page and "作品 PO27-001 的海报" in page and "600 × 900 像素" in page
    with client.get(f"/files/{file_id}") as served:  # streamed from the open file: read, then close
        status, mimetype, data = served.status_code, served.mimetype, served.get_data()
    assert (status, mimetype) == (200, "image/jpeg") and b"Changning" not in data
    with Image.open(io.BytesIO(data)) as picture:
        assert picture.size == (600, 900) and dict(picture.getexif()) == {}
    with client.get(f"/files/{file_id}/thumbnail") as thumbnail:
        assert thumbnail.status_code == 200 and b"Changning" not in thumbnail.get_data()
