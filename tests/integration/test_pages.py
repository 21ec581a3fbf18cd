"""Pages as users meet them: language, time zone, error pages, security headers."""

from __future__ import annotations

import gettext
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.pofile import read_po
from flask import Flask

from judging.extensions import db
from judging.models import Contest
from tests.conftest import ROOT, csrf_token, make_test_app


def test_home_page_is_chinese_by_default_and_lists_contests_with_phases(app: Flask) -> None:
    page = app.test_client().get("/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert "评选活动" in page
    for title in ("网络安全微视频评选", "网络安全宣传先进典型案例推选", "ISG“观安杯”网络安全技能竞赛"):
        assert title in page
    assert page.count("筹备中") == 3


def test_language_switch_to_english_and_back(app: Flask) -> None:
    client = app.test_client()
    response = client.get("/lang/en?next=/contests/micro-video")
    assert response.headers["Location"] == "/contests/micro-video"
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in page and "Contests" in page and "In preparation" in page
    assert client.get("/lang/zh_CN?next=//evil.example").headers["Location"] == "/"
    assert "评选活动" in client.get("/").get_data(as_text=True)


def test_deadline_is_shown_in_shanghai_time(app: Flask) -> None:
    with app.app_context():
        contest = db.session.scalar(db.select(Contest).where(Contest.slug == "micro-video"))
        contest.submission_deadline = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)  # 18:00 in Shanghai
        db.session.commit()
    page = app.test_client().get("/contests/micro-video").get_data(as_text=True)
    assert "2026-09-01 18:00 中国标准时间" in page


def test_not_found_page_is_in_the_users_language(app: Flask) -> None:
    client = app.test_client()
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "页面不存在，或您无权查看。" in response.get_data(as_text=True)
    client.get("/lang/en")
    assert "There is no such page" in client.get("/no/such/page").get_data(as_text=True)


def test_oversize_request_gets_a_friendly_413(bare_app: Flask) -> None:
    bare_app.config["MAX_CONTENT_LENGTH"] = 1024
    response = bare_app.test_client().post("/login", data={"username": "x" * 4096, "password": "y"})
    assert response.status_code == 413
    assert "文件超过允许的大小" in response.get_data(as_text=True)


def test_unexpected_error_shows_500_page_without_traceback(app: Flask) -> None:
    def explode():  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    app.add_url_rule("/explode", "explode", explode)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/explode")
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "发生意外错误，未作任何更改，请重试。" in text
    assert "Traceback" not in text and "boom" not in text


def test_database_unreachable_gives_503_in_the_users_language(tmp_path: Path) -> None:
    app = make_test_app(f"sqlite:///{tmp_path / 'missing-dir' / 'db.sqlite3'}", tmp_path)
    response = app.test_client().get("/")
    with app.app_context():
        db.engine.dispose()
    assert response.status_code == 503
    assert "暂时无法连接数据库" in response.get_data(as_text=True)


def test_security_headers_are_set(app: Flask) -> None:
    response = app.test_client().get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_pages_have_no_inline_script(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    for path in ("/", "/organizer/", "/organizer/users", "/login"):
        html = client.get(path).get_data(as_text=True)
        for chunk in html.split("<script")[1:]:
            assert chunk.lstrip().startswith("src=") or " src=" in chunk.split(">")[0], (path, chunk[:80])


def test_assets_are_served_locally(app: Flask) -> None:
    page = app.test_client().get("/").get_data(as_text=True)
    assert "cdn." not in page and "https://" not in page
    with app.test_client().get("/bootstrap/static/css/bootstrap.min.css") as css:
        assert css.status_code == 200


def _read_catalog(path: Path):  # type: ignore[no-untyped-def]
    with path.open("rb") as handle:
        return read_po(handle)


CATALOG = ROOT / "judging/translations/zh/LC_MESSAGES/messages.po"


def test_every_message_has_a_chinese_translation() -> None:
    catalog = _read_catalog(CATALOG)
    untranslated = [message.id for message in catalog if message.id and not message.string]
    assert untranslated == []
    fuzzy = [message.id for message in catalog if message.id and message.fuzzy]
    assert fuzzy == []


def test_the_deploy_steps_compile_the_chinese_catalog(tmp_path: Path) -> None:
    """The README's `pybabel compile -d judging/translations` (no --use-fuzzy) must not skip the catalog,
    as it does with one that has no header (Babel takes a headerless catalog as fuzzy)."""
    assert _read_catalog(CATALOG).fuzzy is False
    folder = tmp_path / "translations"
    shutil.copytree(CATALOG.parents[2], folder)
    (folder / "zh/LC_MESSAGES/messages.mo").unlink(missing_ok=True)
    subprocess.run(
        [str(Path(sys.executable).parent / "pybabel"), "-q", "compile", "-d", str(folder)],
        check=True,
        capture_output=True,
    )
    with (folder / "zh/LC_MESSAGES/messages.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    assert compiled.gettext("Score sheet") != "Score sheet"


def test_catalog_is_up_to_date_with_the_code(tmp_path: Path) -> None:
    template = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"),
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(template),
            "--no-location",
            "--omit-header",
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    in_code = {message.id for message in _read_catalog(template) if message.id}
    catalog = _read_catalog(CATALOG)
    in_catalog = {message.id for message in catalog if message.id}
    assert sorted(in_code - in_catalog) == [], "run `make extract-messages` and translate the new strings"


def test_contest_pages_show_points_and_weights_plainly(app: Flask) -> None:
    client = app.test_client()
    video = client.get("/contests/micro-video").get_data(as_text=True)
    assert '<td>内容</td><td class="text-end">40</td>' in video
    assert "70 分及以上" in video and "E+" not in video
    skills = client.get("/contests/isg-skills").get_data(as_text=True)
    assert '<td class="text-end">100</td><td class="text-end">30%</td>' in skills
    assert "前 5%" in skills and "E+" not in skills


def test_nul_characters_in_forms_and_queries_get_400_not_500(app: Flask, users: dict[str, int]) -> None:
    client = app.test_client()
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"username": "\x00judge", "password": "x", "csrf_token": token})
    assert response.status_code == 400
    assert "无法处理该请求" in response.get_data(as_text=True)
    assert client.get("/lang/en?next=/\x00").status_code == 400


def test_file_sizes_are_shown_in_the_unit_that_fits(app: Flask) -> None:
    from judging.web.pages import file_size

    expected = [(0, "0 B"), (812, "812 B"), (1024, "1.0 KB"), (23_962, "23.4 KB"), (4_125_433, "3.9 MB")]
    expected += [(1_058_013_184, "1,009.0 MB"), (1_610_612_736, "1.50 GB")]
    with app.test_request_context("/"):
        assert [(n, file_size(n)) for n, _ in expected] == expected
