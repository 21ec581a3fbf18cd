"""People management (issue 16): editing a person, deactivating, bulk creation from a table,
invitation letters and links, and mail through a real SMTP server."""

from __future__ import annotations

import io
import re
import socket
import threading
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import func, select

from judging.extensions import db
from judging.models import (
    Assignment,
    AssignmentStatus,
    AuditEvent,
    Invitation,
    JudgeRelation,
    Role,
    User,
)
from judging.services import accounts, people
from tests.conftest import create_user, csrf_token, log_in, make_test_app, organization_named
from tests.scenarios import embedded_fonts, page_texts, people_workbook, thirty_judges


def english(client):  # type: ignore[no-untyped-def]
    """The client's pages in English (the switch in the top bar), so that messages are pinned word for word."""
    with client.session_transaction() as stored:
        stored["locale"] = "en"
    return client


def _user(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    assert user is not None
    return user


def _snapshot(username: str) -> tuple:
    user = _user(username)
    return (user.display_name, user.role, user.organization_id, user.email, user.active)


def _edit(client, user_id: int, **fields: object):  # type: ignore[no-untyped-def]
    token = csrf_token(client, f"/organizer/users/{user_id}/edit")
    return client.post(f"/organizer/users/{user_id}/edit", data={"csrf_token": token, **fields})


def _flashes(page: str) -> str:
    return " ".join(re.findall(r'class="alert[^"]*"[^>]*>\s*(.*?)\s*<', page, re.S))


# --- editing ----------------------------------------------------------------------------------------


def test_edit_person_changes_name_role_organisation_and_email(app: Flask, client_for, users: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    organizer = english(client_for("organizer"))
    with app.app_context():
        huangpu = organization_named("黄浦区").id
    response = _edit(
        organizer, users["judge"], display_name="王专家", role="judge", organization_id=huangpu, email="w@example.org"
    )
    assert response.status_code == 302
    with app.app_context():
        assert _snapshot("judge") == ("王专家", Role.JUDGE, huangpu, "w@example.org", True)
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "account.edit")).one()
        assert event.data["new"] == {"display_name": "王专家", "organization": "黄浦区", "email": "w@example.org"}


def test_last_organiser_keeps_the_role_and_nothing_changes(app: Flask, client_for, users: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        second = create_user("organizer2", Role.ORGANIZER, "市委网信办")
        accounts.set_active(db.session, second, _user("organizer"), False)
        db.session.commit()
        before = _snapshot("organizer2")
        events = db.session.scalar(select(func.count(AuditEvent.id)))
    organizer2 = app.test_client()
    log_in(organizer2, "organizer2")
    english(organizer2)
    with app.app_context():
        organizer2_id = _user("organizer2").id
    page = _edit(organizer2, organizer2_id, display_name="X", role="judge", organization_id=0, email="")
    assert page.status_code == 400
    assert "You cannot change your own role: another organiser can." in page.get_data(as_text=True)
    with app.app_context():
        assert _snapshot("organizer2") == before
        assert db.session.scalar(select(func.count(AuditEvent.id))) == events
        # and as a service call by someone else (the CLI has no such guard of its own)
        judge = _user("judge")
        with pytest.raises(people.ServiceError, match="是最后一位在用的组织者：改动后将无人管理本站。"):
            people.edit_person(
                db.session, judge, _user("organizer2"), display_name="X", role=Role.JUDGE, organization=None, email=""
            )
        db.session.rollback()


def test_entrant_with_entries_keeps_its_organisation(
    app: Flask, client_for, users: dict[str, int], short_video: Path
) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import submitted_video_entry

    with app.app_context():
        entry = submitted_video_entry(app, "entrant-a", short_video)
        code = entry.code
        xuhui = organization_named("徐汇区").id
        before = _snapshot("entrant-a")
    page = _edit(
        english(client_for("organizer")),
        users["entrant-a"],
        display_name="Entrant-A",
        role="entrant",
        organization_id=xuhui,
    )
    assert page.status_code == 400
    assert f"made entries for 浦东新区 ({code})" in page.get_data(as_text=True)
    with app.app_context():
        assert _snapshot("entrant-a") == before


def test_entrant_cannot_move_to_the_organiser(app: Flask, client_for, users: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        office = organization_named("市委网信办").id
        before = _snapshot("entrant-b")
    page = _edit(
        english(client_for("organizer")), users["entrant-b"], display_name="B", role="entrant", organization_id=office
    )
    assert "Entrant accounts belong to entrant organisations, not the organiser." in page.get_data(as_text=True)
    with app.app_context():
        assert _snapshot("entrant-b") == before


def test_bad_email_is_refused_and_nothing_changes(app: Flask, client_for, users: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        before = _snapshot("judge")
    page = _edit(
        english(client_for("organizer")), users["judge"], display_name="J", role="judge", organization_id=0, email="a@b"
    )
    assert "“a@b” is not an e-mail address." in page.get_data(as_text=True)
    with app.app_context():
        assert _snapshot("judge") == before


def test_new_affiliation_recuses_conflicting_open_assignments(
    app: Flask, client_for, users: dict[str, int], short_video: Path
) -> None:  # type: ignore[no-untyped-def]
    from judging.services import contests, panel

    with app.app_context():
        pudong_entry = submitted_video_entry_for(app, "entrant-a", short_video)
        huangpu_entry = submitted_video_entry_for(app, "entrant-b", short_video)
        contest = pudong_entry.contest
        organizer, judge = _user("organizer"), _user("judge")
        contests.change_phase(db.session, organizer, contest, contests.Phase.REVIEW)
        panel.add_to_panel(db.session, organizer, contest, judge)
        panel.assign_judges(db.session, organizer, contest)
        db.session.commit()
        pudong = organization_named("浦东新区").id
        codes = (pudong_entry.code, huangpu_entry.code)
    response = _edit(
        english(client_for("organizer")), users["judge"], display_name="Judge", role="judge", organization_id=pudong
    )
    assert response.status_code == 302
    with app.app_context():
        states = {
            a.entry.code: (a.status, a.recusal_reason)
            for a in db.session.scalars(select(Assignment).where(Assignment.judge_id == users["judge"]))
        }
        assert states == {
            codes[0]: (AssignmentStatus.RECUSED, "Affiliation: 浦东新区"),
            codes[1]: (AssignmentStatus.ASSIGNED, ""),
        }


def submitted_video_entry_for(app: Flask, username: str, video: Path):  # type: ignore[no-untyped-def]
    from tests.conftest import submitted_video_entry

    return submitted_video_entry(app, username, video, title=f"{username} 作品")


def test_judge_with_assignments_keeps_the_judge_role(
    app: Flask, client_for, users: dict[str, int], short_video: Path
) -> None:  # type: ignore[no-untyped-def]
    from judging.services import contests, panel

    with app.app_context():
        entry = submitted_video_entry_for(app, "entrant-a", short_video)
        organizer, judge = _user("organizer"), _user("judge")
        contests.change_phase(db.session, organizer, entry.contest, contests.Phase.REVIEW)
        panel.add_to_panel(db.session, organizer, entry.contest, judge)
        panel.assign_judges(db.session, organizer, entry.contest)
        db.session.commit()
        before = _snapshot("judge")
    page = _edit(
        english(client_for("organizer")), users["judge"], display_name="Judge", role="organizer", organization_id=0
    )
    text = page.get_data(as_text=True)
    assert "sits on 1 panels and has 1 assignments: a judge with a judging history stays a judge." in text
    with app.app_context():
        assert _snapshot("judge") == before


# --- deactivation -------------------------------------------------------------------------------------


def test_deactivation_confirm_page_says_what_happens_and_post_without_it_changes_nothing(
    app: Flask, client_for, users: dict[str, int]
) -> None:  # type: ignore[no-untyped-def]
    organizer = english(client_for("organizer"))
    response = organizer.post(
        f"/organizer/users/{users['judge']}/active", data={"csrf_token": csrf_token(organizer, "/organizer/users")}
    )
    assert response.status_code == 200  # the confirmation page, nothing done yet
    page = response.get_data(as_text=True)
    assert "Deactivate Judge?" in page
    assert "Every open session of the account ends on its next request." in page
    assert "The judge has no unfinished assignments." in page
    assert 'name="confirmed" value="1"' in page
    with app.app_context():
        assert _user("judge").active


def test_deactivated_account_gets_the_exact_message_sessions_end_and_links_die(
    app: Flask, client_for, users: dict[str, int]
) -> None:  # type: ignore[no-untyped-def]
    judge = client_for("judge")
    organizer = english(client_for("organizer"))
    with app.app_context():
        link = accounts.reissue_invitation(db.session, _user("organizer"), _user("entrant-b"))
        db.session.commit()
    for username in ("judge", "entrant-b"):
        organizer.post(
            f"/organizer/users/{users[username]}/active",
            data={"csrf_token": csrf_token(organizer, "/organizer/users"), "confirmed": "1"},
        )
    assert judge.get("/judge/").status_code == 302  # logged out on the next request
    page = log_in(english(app.test_client()), "judge").get_data(as_text=True)
    assert "This account has been deactivated. Please ask the organisers if you need it again." in page
    assert "此账号已停用。如需继续使用，请联系组织者。" in log_in(app.test_client(), "judge").get_data(as_text=True)
    wrong = log_in(english(app.test_client()), "judge", "not the password").get_data(as_text=True)
    assert "deactivated" not in wrong and "Wrong username or password." in wrong
    with app.app_context():
        invitation = db.session.scalar(select(Invitation).where(Invitation.token_hash == accounts.token_hash(link)))
        assert invitation.expires_at <= accounts.utcnow()
        # reactivating does not revive the link
        accounts.set_active(db.session, _user("organizer"), _user("entrant-b"), True)
        db.session.commit()
        with pytest.raises(accounts.NotFound):
            accounts.find_invitation(db.session, link)
    assert log_in(app.test_client(), "entrant-b").status_code == 302


def test_the_last_active_organiser_cannot_be_deactivated(app: Flask, users: dict[str, int]) -> None:
    with app.app_context():
        judge = _user("judge")
        with pytest.raises(accounts.ServiceError, match="是最后一位在用的组织者，不能停用。"):
            accounts.set_active(db.session, judge, _user("organizer"), False)
        db.session.rollback()
        assert _user("organizer").active


# --- bulk creation ------------------------------------------------------------------------------------


def _upload(client, path: Path):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/organizer/people/import")
    with path.open("rb") as handle:
        return client.post(
            "/organizer/people/import/preview",
            data={"csrf_token": token, "file": (handle, path.name)},
            content_type="multipart/form-data",
        )


def test_thirty_judges_with_one_bad_row_are_refused_naming_row_and_column(
    app: Flask, client_for, users: dict[str, int], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    organizer = english(client_for("organizer"))
    path = people_workbook(tmp_path / "judges.xlsx", thirty_judges(bad_row=17))
    page = _upload(organizer, path).get_data(as_text=True)
    assert "judges.xlsx, row 17, column “单位”: unknown organisation “不存在的单位”." in page
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 4
    assert list((Path(app.instance_path) / "imports").glob("*")) == []  # no orphan upload


def test_thirty_judges_preview_then_confirm_creates_all_in_one_go(
    app: Flask, client_for, users: dict[str, int], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    organizer = english(client_for("organizer"))
    rows = thirty_judges()
    rows[0][3] = "黄浦区、徐汇区"
    path = people_workbook(tmp_path / "judges.xlsx", rows)
    preview = _upload(organizer, path).get_data(as_text=True)
    assert "judges.xlsx: 30 accounts will be created" in preview
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 4  # the preview wrote nothing
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', preview).group(1)
    done = organizer.post(
        "/organizer/people/import/confirm",
        data={"csrf_token": csrf_token(organizer, "/organizer/people/import"), "token": token},
    ).get_data(as_text=True)
    assert "30 accounts were created" in done
    with app.app_context():
        judges = db.session.scalars(select(User).where(User.username.like("judge-%")).order_by(User.username)).all()
        assert [j.username for j in judges] == [f"judge-{n:03d}" for n in range(1, 31)]
        first = judges[0]
        assert (first.display_name, first.role, first.organization.name, first.email) == (
            "专家01",
            Role.JUDGE,
            "黄浦区",
            "expert01@example.org",
        )
        related = db.session.scalars(select(JudgeRelation).where(JudgeRelation.judge_id == first.id)).all()
        assert sorted(r.organization.name for r in related) == ["徐汇区", "黄浦区"]
        assert (
            db.session.scalar(select(func.count(Invitation.id)).where(Invitation.user_id.in_([j.id for j in judges])))
            == 30
        )
    # the same file again: every row is a duplicate now, nothing is created
    again = _upload(organizer, path).get_data(as_text=True)
    assert "row 2, column “姓名”: 专家01 already has an account with this role and organisation." in again
    assert "row 2, column “邮箱”: an account with expert01@example.org already exists." in again


def test_duplicates_within_the_file_and_bad_roles_are_named(
    app: Flask, client_for, users: dict[str, int], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    rows = [
        ["甲", "评审专家", "", "", "a@example.org", "alpha"],
        ["乙", "entrant", "浦东新区", "", "a@example.org", "alpha"],
        ["丙", "organiser", "", "", "", ""],
        ["丁", "entrant", "", "黄浦区", "", "judge"],
    ]
    page = _upload(english(client_for("organizer")), people_workbook(tmp_path / "p.xlsx", rows)).get_data(as_text=True)
    assert "p.xlsx, row 3, column “邮箱”: a@example.org already appears in row 2." in page
    assert "p.xlsx, row 3, column “用户名”: alpha already appears in row 2." in page
    assert "p.xlsx, row 4, column “角色”: “organiser” is not a role here" in page
    assert "p.xlsx, row 5, column “单位”: An entrant account must belong to an organisation." in page
    assert "p.xlsx, row 5, column “回避单位”: only judges declare related organisations." in page
    assert "p.xlsx, row 5, column “用户名”: the username judge is already taken." in page


def test_import_template_has_the_headers_the_import_reads(
    app: Flask, client_for, users: dict[str, int], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    organizer = client_for("organizer")  # Chinese, the default
    content = organizer.get("/organizer/people/import-template.xlsx").data
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    headers = [cell.value for cell in sheet[1]]
    assert headers == ["姓名", "角色", "单位", "回避单位", "邮箱", "用户名"]
    sheet.append(["张三", "参赛单位", "浦东新区", None, None, None])
    path = tmp_path / "filled.xlsx"
    sheet.parent.save(path)
    page = _upload(organizer, path).get_data(as_text=True)
    assert "filled.xlsx：将创建 1 个账号" in page


# --- letters and links --------------------------------------------------------------------------------


def _issue(client, output: str, people_ids: str = ""):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/organizer/users")
    return client.post(
        "/organizer/people/invitations", data={"csrf_token": token, "people": people_ids, "output": output}
    )


def test_letters_pdf_one_page_per_waiting_person_with_link_and_cjk_font(
    app: Flask, client_for, users: dict[str, int]
) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        organizer = _user("organizer")
        for n, org in ((1, "浦东新区"), (2, "黄浦区")):
            accounts.create_account(
                db.session,
                organizer,
                username=f"new{n}",
                display_name=f"新人{n}",
                role=Role.ENTRANT,
                organization=organization_named(org),
            )
        db.session.commit()
    response = _issue(client_for("organizer"), "pdf")  # Chinese, the default
    assert response.mimetype == "application/pdf"
    pages = page_texts(response.data)
    assert len(pages) == 2
    first = pages[0].replace("\n", "")
    for words in (
        "邀 请 函",
        "姓名 新人1",
        "新人1，您好：",
        "所属单位：浦东新区。",
        "您的用户名是 new1。",
        "作为参赛单位",
        "有效期至 ",
    ):
        assert words in first
    links = [re.search(r"http://judging\.test/invite/[A-Za-z0-9_-]+", text.replace("\n", "")) for text in pages]
    assert all(links)
    assert any("CJK" in name for name in embedded_fonts(response.data))
    # the printed link is the live one: it opens the set-password page
    path = links[0].group(0).split("judging.test", 1)[1]
    assert app.test_client().get(path).status_code == 200


def test_links_xlsx_and_earlier_links_end(app: Flask, client_for, users: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        made = accounts.create_account(
            db.session,
            _user("organizer"),
            username="new1",
            display_name="=HYPERLINK(1)",
            role=Role.JUDGE,
            organization=None,
        )
        first_link, user_id = made.invitation_token, made.user.id
        db.session.commit()
    response = _issue(client_for("organizer"), "xlsx", str(user_id))
    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("姓名", "用户名")
    assert rows[1][0] == "=HYPERLINK(1)" and sheet["A2"].data_type == "s"  # text, not a formula
    assert "/invite/" in rows[1][5]
    with app.app_context():
        with pytest.raises(accounts.NotFound):
            accounts.find_invitation(db.session, first_link)


def test_invitations_refused_for_people_not_waiting(app: Flask, client_for, users: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    response = _issue(english(client_for("organizer")), "pdf", str(users["judge"]))  # has a password
    assert response.status_code == 302
    with app.app_context():
        assert (
            db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "account.invite_many")) == 0
        )


def test_without_mail_server_nothing_is_sent(app: Flask, client_for, users: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    organizer = english(client_for("organizer"))
    assert "No mail server is configured" in organizer.get("/organizer/people/mail").get_data(as_text=True)
    response = _issue(organizer, "mail")
    assert response.status_code == 302
    page = organizer.get(response.headers["Location"]).get_data(as_text=True)
    assert "No mail server is configured: print the letters or download the links instead." in page


# --- mail through a real SMTP server ------------------------------------------------------------------


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
def smtp_server():  # type: ignore[no-untyped-def]
    inbox = _Inbox()
    with socket.socket() as probe:  # a free port: the controller checks its server by connecting to it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


@pytest.fixture
def mail_app(database_url: str, tmp_path: Path, smtp_server):  # type: ignore[no-untyped-def]
    """The app of the ``app`` fixture (organisations, rubrics, an organiser), sending mail to the test's server."""
    from judging.rubric import load_rubric_directory
    from judging.services import contests, organizations
    from tests.conftest import ROOT, _reset_postgres

    inbox, port = smtp_server
    app = make_test_app(
        database_url, tmp_path, MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_SENDER="judging@example.org"
    )
    with app.app_context():
        if database_url.startswith("postgresql"):
            _reset_postgres(app)
        else:
            db.create_all()
        rows = organizations.read_organization_file(ROOT / "data" / "organizations.toml")
        organizations.seed_organizations(db.session, rows)
        for rubric in load_rubric_directory(ROOT / "rubrics"):
            contests.sync_rubric(db.session, None, rubric, edition="2026")
        db.session.commit()
        create_user("organizer", Role.ORGANIZER, "市委网信办")
    yield app, inbox
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _organizer_of(app: Flask):  # type: ignore[no-untyped-def]
    organizer = app.test_client()
    log_in(organizer, "organizer")
    return english(organizer)


def test_invitations_by_mail_reach_a_real_smtp_server(mail_app) -> None:  # type: ignore[no-untyped-def]
    app, inbox = mail_app
    with app.app_context():
        accounts.create_account(
            db.session,
            _user("organizer"),
            username="expert1",
            display_name="李专家",
            role=Role.JUDGE,
            organization=organization_named("黄浦区"),
            email="li@example.org",
        )
        accounts.create_account(
            db.session,
            _user("organizer"),
            username="expert2",
            display_name="无邮箱",
            role=Role.JUDGE,
            organization=None,
        )
        db.session.commit()
    organizer = _organizer_of(app)
    response = _issue(organizer, "mail")
    page = organizer.get(response.headers["Location"]).get_data(as_text=True)
    assert "Mail sent to 1 people." in page
    assert "No e-mail address, nothing sent: 无邮箱." in page
    assert len(inbox.messages) == 1
    recipients, message = inbox.messages[0]
    assert recipients == ["li@example.org"]
    assert message["To"] == "李专家 <li@example.org>"
    assert message["Subject"] == "Your account on the contest judging platform"
    body = message.get_payload(decode=True).decode("utf-8")
    link = re.search(r"http://judging\.test/invite/[A-Za-z0-9_-]+", body).group(0)
    assert body.startswith("Dear 李专家,\r\n\r\n") and "Your username is expert1." in body
    assert app.test_client().get(link.split("judging.test", 1)[1]).status_code == 200
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "mail.invitations")).one()
        assert event.data == {"sent": ["李专家"], "without_address": ["无邮箱"], "failed": []}


def test_reminders_go_to_judges_behind_and_notices_to_entrants(mail_app, short_video: Path) -> None:  # type: ignore[no-untyped-def]
    from judging.services import contests, panel
    from tests.conftest import submitted_video_entry

    app, inbox = mail_app
    with app.app_context():
        create_user("entrant-a", Role.ENTRANT, "浦东新区")
        _user("entrant-a").email = "pudong@example.org"
        for name in ("behind", "done"):
            create_user(name, Role.JUDGE)
            _user(name).email = f"{name}@example.org"
        db.session.commit()
        entry = submitted_video_entry(app, "entrant-a", short_video)
        contest, organizer = entry.contest, _user("organizer")
        contests.change_phase(db.session, organizer, contest, contests.Phase.REVIEW)
        for name in ("behind", "done"):
            panel.add_to_panel(db.session, organizer, contest, _user(name))
        panel.assign_judges(db.session, organizer, contest)
        db.session.commit()
        assignment = db.session.scalars(select(Assignment).where(Assignment.judge_id == _user("done").id)).one()
        from judging.services.sheets import save_sheet

        rubric = contests.current_rubric(contest)
        save_sheet(
            db.session,
            _user("done"),
            assignment,
            scores={c.key: c.max for c in rubric.criteria},
            checks={check.key: True for check in rubric.checks},
            submit=True,
        )
        db.session.commit()
        contest_id, title = contest.id, contest.title
    organizer_client = _organizer_of(app)
    token = csrf_token(organizer_client, "/organizer/people/mail")
    organizer_client.post("/organizer/people/mail/reminders", data={"csrf_token": token, "contest": contest_id})
    assert [to for to, _message in inbox.messages] == [["behind@example.org"]]
    reminder = inbox.messages[0][1]
    assert reminder["Subject"] == f"Reminder: {title} is waiting for your scores"
    assert f"You have submitted 0 of the 1 score sheets assigned to you in {title}." in reminder.get_payload(
        decode=True
    ).decode("utf-8")
    organizer_client.post(
        "/organizer/people/mail/notice",
        data={"csrf_token": token, "contest": contest_id, "subject": "颁奖典礼", "text": "请于9月11日出席。"},
    )
    to, notice = inbox.messages[1]
    assert to == ["pudong@example.org"]
    assert notice["Subject"] == f"{title}: 颁奖典礼"
    assert "请于9月11日出席。" in notice.get_payload(decode=True).decode("utf-8")


def test_relation_declared_on_the_person_page_recuses_and_withdrawing_keeps_the_recusal(
    app: Flask, client_for, users: dict[str, int], short_video: Path
) -> None:  # type: ignore[no-untyped-def]
    from judging.services import contests, panel

    with app.app_context():
        entry = submitted_video_entry_for(app, "entrant-a", short_video)
        organizer, judge = _user("organizer"), _user("judge")
        contests.change_phase(db.session, organizer, entry.contest, contests.Phase.REVIEW)
        panel.add_to_panel(db.session, organizer, entry.contest, judge)
        panel.assign_judges(db.session, organizer, entry.contest)
        db.session.commit()
        pudong = organization_named("浦东新区").id
    client = english(client_for("organizer"))
    url = f"/organizer/users/{users['judge']}/edit"
    client.post(
        f"/organizer/users/{users['judge']}/relations",
        data={"csrf_token": csrf_token(client, url), "organization_id": pudong, "note": "前同事"},
    )
    page = client.get(url).get_data(as_text=True)
    assert "1 open assignments were recused because of this relation." in page
    with app.app_context():
        relation = db.session.scalars(select(JudgeRelation).where(JudgeRelation.judge_id == users["judge"])).one()
        relation_id = relation.id
        assignment = db.session.scalars(select(Assignment).where(Assignment.judge_id == users["judge"])).one()
        assert (assignment.status, assignment.recusal_reason) == (
            AssignmentStatus.RECUSED,
            "Declared relation: 浦东新区",
        )
    # a relation of another person cannot be withdrawn through this judge's page
    other = client.post(
        f"/organizer/users/{users['entrant-a']}/relations/{relation_id}/remove",
        data={"csrf_token": csrf_token(client, url)},
    )
    assert other.status_code == 404
    client.post(
        f"/organizer/users/{users['judge']}/relations/{relation_id}/remove",
        data={"csrf_token": csrf_token(client, url)},
    )
    with app.app_context():
        assert db.session.scalar(select(func.count(JudgeRelation.id))) == 0
        assignment = db.session.scalars(select(Assignment).where(Assignment.judge_id == users["judge"])).one()
        assert assignment.status is AssignmentStatus.RECUSED


def test_letters_in_english_when_the_organiser_reads_english(app: Flask, client_for, users: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        accounts.create_account(
            db.session, _user("organizer"), username="new1", display_name="Ada", role=Role.JUDGE, organization=None
        )
        db.session.commit()
    pdf = _issue(english(client_for("organizer")), "pdf").data
    text = page_texts(pdf)[0].replace("\n", " ")
    assert "Dear Ada," in text and "As a judge you will score the entries assigned to you online" in text


def test_people_pages_are_for_organisers_only_and_tampered_previews_are_refused(
    app: Flask, client_for, users: dict[str, int]
) -> None:  # type: ignore[no-untyped-def]
    judge = client_for("judge")
    for url in ("/organizer/people/import", "/organizer/people/invitations", f"/organizer/users/{users['judge']}/edit"):
        assert judge.get(url).status_code in (302, 403, 404)
    token = csrf_token(judge, "/judge/")
    for url, data in (
        ("/organizer/people/invitations", {"output": "pdf"}),
        (f"/organizer/users/{users['entrant-a']}/edit", {"display_name": "x", "role": "judge", "organization_id": 0}),
    ):
        assert judge.post(url, data={"csrf_token": token, **data}).status_code in (302, 403, 404)
    organizer = client_for("organizer")
    token = csrf_token(organizer, "/organizer/people/import")
    for forged in ("../../instance/secret_key|x.xlsx", "|x.xlsx", ".hidden|x.xlsx"):
        response = organizer.post("/organizer/people/import/confirm", data={"csrf_token": token, "token": forged})
        assert response.status_code == 400
    bad_ids = organizer.post(
        "/organizer/people/invitations", data={"csrf_token": token, "output": "pdf", "people": "1,x"}
    )
    assert bad_ids.status_code == 400
    with app.app_context():
        assert _snapshot("entrant-a")[0] == "Entrant-A"
        assert db.session.scalar(select(func.count(Invitation.id))) == 4  # only the fixture's own, all used


def test_a_mail_server_that_is_down_is_reported_not_a_crash(app: Flask, client_for, users: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]  # nothing listens once the probe is closed
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=closed_port, MAIL_SENDER="judging@example.org")
    with app.app_context():
        accounts.create_account(
            db.session,
            _user("organizer"),
            username="new1",
            display_name="Ada",
            role=Role.JUDGE,
            organization=None,
            email="ada@example.org",
        )
        db.session.commit()
    organizer = english(client_for("organizer"))
    response = _issue(organizer, "mail")
    page = organizer.get(response.headers["Location"]).get_data(as_text=True)
    assert "The mail server did not accept mail for: Ada." in page
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "mail.invitations")).one()
        assert event.data == {"sent": [], "without_address": [], "failed": ["Ada"]}
