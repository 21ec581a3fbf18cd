"""The contest builder's rubric editor, through the test client on both databases: saving makes a new
version (audited), an unchanged rubric makes none, a bad value or a bad upload is refused next to its
field and writes nothing, editing is refused once sheets exist, and versions compare in words."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from judging.extensions import db
from judging.models import AuditEvent, Contest, RubricVersion
from judging.rubric import load_rubric, parse_rubric
from judging.rubric_document import same_rubric
from judging.rubric_form import form_data_of
from tests.conftest import ROOT, csrf_token
from tests.scenarios import seed_review_contest

EDITOR = "/organizer/contests/micro-video/rubric"


def version_count(app: Flask, slug: str = "micro-video") -> int:
    with app.app_context():
        contest = db.session.scalar(select(Contest).where(Contest.slug == slug))
        return int(
            db.session.scalar(select(func.count(RubricVersion.id)).where(RubricVersion.contest_id == contest.id))
        )


def shipped_form(name: str = "micro_video.toml") -> dict[str, str]:
    return form_data_of(load_rubric(ROOT / "rubrics" / name))


def post_editor(client: FlaskClient, values: dict[str, str], op: str, url: str = EDITOR):  # type: ignore[no-untyped-def]
    return client.post(url, data={**values, "op": op, "csrf_token": csrf_token(client, url)})


@pytest.mark.parametrize(
    ("slug", "name"),
    [
        ("micro-video", "micro_video.toml"),
        ("exemplary-cases", "exemplary_cases.toml"),
        ("isg-skills", "isg_skills.toml"),
    ],
)
def test_builder_saves_a_shipped_rubric_unchanged_as_no_change(app: Flask, client_for, slug: str, name: str) -> None:
    client = client_for("organizer")
    url = f"/organizer/contests/{slug}/rubric"
    page = client.get(url).get_data(as_text=True)
    assert 'name="contest.title"' in page and 'id="rubric-preview"' in page
    response = post_editor(client, shipped_form(name), "save", url)
    assert response.status_code == 302
    assert "没有变化：评审方案的设置与版本 1 相同。" in client.get(response.location).get_data(as_text=True)
    assert version_count(app, slug) == 1


def test_builder_saves_a_changed_max_as_a_new_audited_version(app: Flask, client_for) -> None:
    client = client_for("organizer")
    values = shipped_form()
    values["criteria[0].max"] = "50"
    values["criteria[1].label"] = "形式与制作"
    response = post_editor(client, values, "save")
    assert response.status_code == 302 and response.location.endswith("/rubric/versions")
    assert "已保存为评审方案版本 2。" in client.get(response.location).get_data(as_text=True)
    with app.app_context():
        contest = db.session.scalar(select(Contest).where(Contest.slug == "micro-video"))
        assert [v.version for v in contest.rubric_versions] == [1, 2]
        saved = parse_rubric(contest.current_rubric.text)
        assert saved.criterion("content").max == 50 and saved.criterion("form").label == "形式与制作"
        assert contest.current_rubric.source == "builder"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "rubric.edit"))
        assert event.data["differences"] == [
            {"path": "criteria[content].max", "old": "40", "new": "50"},
            {"path": "criteria[form].label", "old": "形式", "new": "形式与制作"},
        ]
        assert event.data["rubric_version"] == 2


def test_builder_shows_a_bad_value_next_to_its_field_and_saves_nothing(app: Flask, client_for) -> None:
    client = client_for("organizer")
    values = shipped_form()
    values["criteria[1].max"] = "0"
    response = post_editor(client, values, "save")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert '<div class="invalid-feedback d-block" data-error-for="criteria[1].max"><div>必须 &gt; 0</div></div>' in page
    assert "<li>criteria[1].max：必须 &gt; 0</li>" in page
    assert 'value="0"' in page  # what the organiser typed stays in the form
    assert version_count(app) == 1


def test_builder_puts_a_meaning_problem_next_to_its_list(app: Flask, client_for) -> None:
    client = client_for("organizer")
    values = shipped_form()
    values["aggregation.tie_break"] = "content\r\nnovelty"
    page = post_editor(client, values, "save").get_data(as_text=True)
    assert 'data-error-for="aggregation.tie_break"><div>没有键为 &#39;novelty&#39; 的评分标准</div>' in page
    assert "<li>aggregation.tie_break[1]：没有键为 &#39;novelty&#39; 的评分标准</li>" in page
    assert version_count(app) == 1


def test_builder_check_in_english_words_the_problem_in_english(app: Flask, client_for) -> None:
    client = client_for("organizer")
    client.get("/lang/en")
    values = shipped_form()
    values["criteria[0].step"] = "0.3"
    page = post_editor(client, values, "check").get_data(as_text=True)
    assert 'data-error-for="criteria[0].max"><div>must be a multiple of the step (0.3)</div>' in page


def test_builder_refuses_a_changed_slug(app: Flask, client_for) -> None:
    client = client_for("organizer")
    values = shipped_form()
    values["contest.slug"] = "hijacked"
    page = post_editor(client, values, "save").get_data(as_text=True)
    assert 'data-error-for="contest.slug"><div>必须保持为“micro-video”：简称标识本赛事。</div>' in page
    with app.app_context():
        assert db.session.scalar(select(Contest).where(Contest.slug == "hijacked")) is None
    assert version_count(app) == 1


def test_builder_row_buttons_work_without_javascript(app: Flask, client_for) -> None:
    client = client_for("organizer")
    page = post_editor(client, shipped_form(), "add:criteria").get_data(as_text=True)
    assert 'name="criteria[3].key" id="f_criteria_3_key" value=""' in page
    page = post_editor(client, shipped_form(), "down:criteria[0]").get_data(as_text=True)
    assert 'name="criteria[0].key" id="f_criteria_0_key" value="form"' in page
    assert version_count(app) == 1


def test_live_preview_answers_errors_by_field_and_the_forms(app: Flask, client_for) -> None:
    client = client_for("organizer")
    values = shipped_form()
    values["criteria[0].max"] = "60"
    url = f"{EDITOR}/preview"
    reply = client.post(url, data={**values, "csrf_token": csrf_token(client, EDITOR)}).get_json()
    assert reply["errors"] == {} and reply["problems"] == []
    assert 'name="score_content"' in reply["preview"] and 'max="60"' in reply["preview"]
    assert "内容（0–60）" in reply["preview"] and 'name="field_theme"' in reply["preview"]
    values["criteria[0].max"] = "-1"
    reply = client.post(url, data={**values, "csrf_token": csrf_token(client, EDITOR)}).get_json()
    assert reply["errors"] == {"criteria[0].max": ["必须 > 0"]}
    assert reply["problems"] == ["criteria[0].max：必须 > 0"]
    assert "请先修正问题，再查看预览。" in reply["preview"]


def test_upload_of_bad_toml_lists_the_line_and_writes_nothing(app: Flask, client_for) -> None:
    client = client_for("organizer")
    bad = (ROOT / "rubrics" / "micro_video.toml").read_text(encoding="utf-8").replace("max = 30", "max = ", 1)
    response = client.post(
        f"{EDITOR}/upload",
        data={"file": (io.BytesIO(bad.encode()), "mv.toml"), "csrf_token": csrf_token(client, EDITOR)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "上传的文件 mv.toml 未保存：" in page
    line = bad.splitlines().index("max = ") + 1
    assert f"不是有效的 TOML：Invalid value (at line {line}, column 7)" in page
    assert version_count(app) == 1


def test_upload_of_an_invalid_rubric_names_each_path(app: Flask, client_for) -> None:
    client = client_for("organizer")
    text = (ROOT / "rubrics" / "micro_video.toml").read_text(encoding="utf-8")
    text = text.replace("quota_per_organization = 1", "quota_per_organization = 0").replace(
        "count = 3", "count = 3\nshare = 0.1"
    )
    response = client.post(
        f"{EDITOR}/upload",
        data={"file": (io.BytesIO(text.encode()), "mv.toml"), "csrf_token": csrf_token(client, EDITOR)},
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert "<li>entry.quota_per_organization：必须 &gt;= 1</li>" in page
    assert version_count(app) == 1


def test_upload_of_the_download_is_no_change_and_a_changed_file_a_new_version(app: Flask, client_for) -> None:
    client = client_for("organizer")
    download = client.get(f"{EDITOR}/versions/1.toml")
    assert download.headers["Content-Disposition"] == 'attachment; filename="micro-video-v1.toml"'
    text = download.get_data(as_text=True)
    assert text == (ROOT / "rubrics" / "micro_video.toml").read_text(encoding="utf-8")

    def upload(body: str):  # type: ignore[no-untyped-def]
        return client.post(
            f"{EDITOR}/upload",
            data={"file": (io.BytesIO(body.encode()), "mv.toml"), "csrf_token": csrf_token(client, EDITOR)},
            content_type="multipart/form-data",
        )

    assert "没有变化" in client.get(upload("# a comment only\n" + text).location).get_data(as_text=True)
    assert version_count(app) == 1
    upload(text.replace('name = "三等奖"\ncount = 5', 'name = "三等奖"\ncount = 6'))
    assert version_count(app) == 2
    with app.app_context():
        contest = db.session.scalar(select(Contest).where(Contest.slug == "micro-video"))
        assert contest.current_rubric.source == "upload: mv.toml"


def test_versions_page_shows_the_differences_in_words(app: Flask, client_for) -> None:
    client = client_for("organizer")
    values = shipped_form()
    values["criteria[0].max"] = "50"
    values["aggregation.across_judges"] = "mean"
    values["aggregation.trim"] = ""
    del values["checks[1].key"], values["checks[1].label"], values["checks[1].rule"]
    assert post_editor(client, values, "save").status_code == 302
    page = client.get(f"{EDITOR}/versions?old=1&new=2").get_data(as_text=True)
    assert (
        '<ul id="rubric-differences"><li>criteria[content].max：40 → 50</li>'
        "<li>checks[duration]：删除（原为 key = duration, label = 作品时长在3分钟以内, rule = all）</li>"
        "<li>aggregation.across_judges：trimmed_mean → mean</li>"
        "<li>aggregation.trim：1 → 0</li></ul>"
    ) in page
    assert "不存在" not in client.get(f"{EDITOR}/versions?old=2&new=1").get_data(as_text=True)
    assert client.get(f"{EDITOR}/versions?old=7&new=1").status_code == 404


def test_editing_is_refused_once_sheets_exist(app: Flask, client_for, users, short_video: Path) -> None:
    with app.app_context():
        seed_review_contest(app, short_video)
    client = client_for("organizer")
    page = client.get(EDITOR).get_data(as_text=True)
    assert "本赛事已有 21 份按评审方案版本 1 填写的评分表" in page
    assert 'id="save-rubric"' not in page and 'action="/organizer/contests/micro-video/rubric/upload"' not in page
    values = shipped_form()
    values["criteria[0].max"] = "50"
    page = post_editor(client, values, "save").get_data(as_text=True)
    assert "本赛事已有 21 份按评审方案版本 1 填写的评分表" in page
    text = (ROOT / "rubrics" / "micro_video.toml").read_text(encoding="utf-8").replace("max = 40", "max = 50")
    client.post(
        f"{EDITOR}/upload",
        data={"file": (io.BytesIO(text.encode()), "mv.toml"), "csrf_token": csrf_token(client, EDITOR)},
        content_type="multipart/form-data",
    )
    assert version_count(app) == 1
    with app.app_context():
        contest = db.session.scalar(select(Contest).where(Contest.slug == "micro-video"))
        assert same_rubric(
            parse_rubric(contest.current_rubric.text), load_rubric(ROOT / "rubrics" / "micro_video.toml")
        )


@pytest.mark.parametrize("who", ["judge", "entrant-a"])
def test_builder_is_for_organisers_only(app: Flask, client_for, who: str) -> None:
    client = client_for(who)
    assert client.get(EDITOR).status_code in (403, 404)
    values = shipped_form()
    values["criteria[0].max"] = "50"
    response = client.post(EDITOR, data={**values, "op": "save"})
    assert response.status_code in (400, 403, 404)
    assert version_count(app) == 1


def test_a_rubric_made_in_the_browser_passes_flask_rubric_check_and_reopens_unchanged(
    app: Flask, client_for, tmp_path: Path
) -> None:
    client = client_for("organizer")
    values = shipped_form()
    values.update({"criteria[3].key": "novelty", "criteria[3].label": "新颖性", "criteria[3].max": "10"})
    values.update({"criteria[3].weight": "0.5", "criteria[3].guide": "多行\n说明“引号”\\反斜杠"})
    assert post_editor(client, values, "save").status_code == 302
    made = tmp_path / "made.toml"
    made.write_bytes(client.get(f"{EDITOR}/versions/2.toml").get_data())
    result = app.test_cli_runner().invoke(args=["rubric", "check", str(made)])
    assert result.exit_code == 0, result.output
    assert post_editor(client, form_data_of(load_rubric(made)), "save").status_code == 302
    assert version_count(app) == 2  # reopened and saved as it is: no change


def test_saving_over_a_version_saved_meanwhile_is_refused(app: Flask, client_for) -> None:
    first, second = client_for("organizer"), client_for("organizer")
    mine = shipped_form()
    mine["criteria[0].max"] = "50"
    assert post_editor(first, {**mine, "based_on": "1"}, "save").status_code == 302
    theirs = shipped_form()
    theirs["criteria[2].max"] = "20"
    page = post_editor(second, {**theirs, "based_on": "1"}, "save").get_data(as_text=True)
    assert "编辑版本 1 期间，版本 2 已保存，本次未保存任何内容。请重新打开编辑器，从版本 2 开始修改。" in page
    assert 'name="criteria[2].max" id="f_criteria_2_max" value="20"' in page  # their work is still in the form
    assert version_count(app) == 2


def test_preview_escapes_what_the_organiser_typed(app: Flask, client_for) -> None:
    client = client_for("organizer")
    values = shipped_form()
    values["criteria[0].label"] = '<img src=x onerror="alert(1)">'
    values["entry.declarations"] = "<script>alert(2)</script>"
    reply = client.post(f"{EDITOR}/preview", data={**values, "csrf_token": csrf_token(client, EDITOR)}).get_json()
    assert reply["problems"] == []
    assert "<img" not in reply["preview"] and "<script>" not in reply["preview"]
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in reply["preview"]
