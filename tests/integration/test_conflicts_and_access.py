"""Conflicts through the organisation tree, declared relations, who may nominate, and panel membership as
access: tried as a district's judge, a unit and a removed judge would (issue 14)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from judging.extensions import db
from judging.media import generate_test_image
from judging.models import (
    Assignment,
    AssignmentStatus,
    AuditEvent,
    Contest,
    Entry,
    EntryFile,
    EntryStatus,
    JudgeRelation,
    OrganizationKind,
    PanelMember,
    Phase,
    Role,
    ScoreSheet,
    SheetStatus,
    User,
)
from judging.rubric import parse_rubric
from judging.services import ServiceError, contests, entries, entry_files, nomination, organizations, panel, results
from judging.storage import LocalStorage
from tests.conftest import create_user, csrf_token, open_contest_for_entries
from tests.scenarios import seed_review_contest


def _user(username: str) -> User:
    return db.session.scalar(db.select(User).where(User.username == username))


def _unit(name: str, parent: str) -> None:
    parent_org = db.session.scalar(
        db.select(organizations.Organization).where(organizations.Organization.name == parent)
    )
    organizations.create_organization(db.session, None, name=name, kind=OrganizationKind.GRASSROOTS, parent=parent_org)
    db.session.commit()


def _case(app: Flask, username: str, title: str, image: Path) -> Entry:
    contest = open_contest_for_entries("exemplary-cases")
    author = _user(username)
    entry = entries.create_draft(
        db.session, author, contest, title=title, category="case", fields={"unit": "某单位", "period": "2026-05-01"}
    )
    with image.open("rb") as stream:
        entry_files.attach_file(
            db.session, author, entry, LocalStorage(app.config["UPLOAD_FOLDER"]), stream, "案例.png"
        )
    entries.submit_entry(db.session, author, entry, list(contests.current_rubric(contest).entry.declarations))
    db.session.commit()
    return entry


@pytest.fixture
def two_tier(app: Flask, users: dict[str, int], tmp_path: Path) -> dict[str, str]:
    """Exemplary cases in review: two cases of 陆家嘴街道 nominated by 浦东新区, one case of 外滩街道 nominated
    by 黄浦区, one case 浦东新区 entered itself; judges of 浦东新区, of 花木街道 (a unit of 浦东新区), of
    陆家嘴街道 and three without an organisation. Returns title → entry code."""
    image = tmp_path / "case.png"
    generate_test_image(image)
    with app.app_context():
        for unit, district, account in (
            ("陆家嘴街道", "浦东新区", "unit-ljz"),
            ("花木街道", "浦东新区", None),
            ("外滩街道", "黄浦区", "unit-wt"),
        ):
            _unit(unit, district)
            if account:
                create_user(account, Role.ENTRANT, unit)
        made = {
            "陆家嘴一": _case(app, "unit-ljz", "陆家嘴一", image),
            "陆家嘴二": _case(app, "unit-ljz", "陆家嘴二", image),
            "外滩": _case(app, "unit-wt", "外滩", image),
            "浦东自报": _case(app, "entrant-a", "浦东自报", image),
        }
        pudong, huangpu = _user("entrant-a"), _user("entrant-b")
        for title in ("陆家嘴一", "陆家嘴二", "浦东自报"):
            nomination.nominate_entry(db.session, pudong, made[title])
        nomination.nominate_entry(db.session, huangpu, made["外滩"])
        organizer = _user("organizer")
        contest = db.session.scalar(db.select(Contest).where(Contest.slug == "exemplary-cases"))
        contests.change_phase(db.session, organizer, contest, Phase.REVIEW)
        judges = [
            create_user("judge-pd", Role.JUDGE, "浦东新区"),
            create_user("judge-hm", Role.JUDGE, "花木街道"),
            create_user("judge-ljz", Role.JUDGE, "陆家嘴街道"),
            *(create_user(f"judge-{n}", Role.JUDGE) for n in ("x", "y", "z")),
        ]
        for judge in judges:
            panel.add_to_panel(db.session, organizer, contest, judge)
        panel.assign_judges(db.session, organizer, contest)
        db.session.commit()
        return {title: entry.code for title, entry in made.items()}


def _assigned(judge: str) -> set[str]:
    return set(
        db.session.scalars(
            db.select(Entry.code)
            .join(Assignment)
            .join(User, Assignment.judge_id == User.id)
            .where(User.username == judge, Assignment.status == AssignmentStatus.ASSIGNED)
        )
    )


def test_district_judge_is_never_assigned_its_units_cases_or_its_nominees(
    app: Flask, two_tier: dict[str, str], client_for
) -> None:  # type: ignore[no-untyped-def]
    codes = two_tier
    pudong_side = {codes["陆家嘴一"], codes["陆家嘴二"], codes["浦东自报"]}
    with app.app_context():
        assert _assigned("judge-pd") == {codes["外滩"]}
        assert _assigned("judge-hm") == {codes["外滩"]}  # a sibling unit: its district nominated them
        assert _assigned("judge-ljz") == {codes["外滩"]}  # above it: 浦东新区's own case
        for code in pudong_side:
            assert _user("judge-pd").id not in {
                a.judge_id for a in db.session.scalar(db.select(Entry).where(Entry.code == code)).assignments
            }
        run = db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.action == "assignment.balanced").order_by(AuditEvent.seq.desc())
        ).first()
        recorded = {tuple(pair) for pair in run.data["excluded"]}
        assert (codes["陆家嘴一"], "judge-pd", "entrant_below") in recorded
        assert (codes["浦东自报"], "judge-pd", "same_organization") in recorded
        assert (codes["浦东自报"], "judge-ljz", "entrant_above") in recorded
        assert (codes["陆家嘴二"], "judge-hm", "nominated") in recorded
        assert (codes["陆家嘴一"], "judge-ljz", "same_organization") in recorded
        assert len(recorded) == 9

    page = client_for("organizer").get("/organizer/contests/exemplary-cases/judging").get_data(as_text=True)
    assert f'data-entry="{codes["陆家嘴一"]}" data-judge="judge-pd" data-reason="entrant_below"' in page
    assert "参赛单位是评委所在单位的下级单位" in page
    assert f'data-entry="{codes["陆家嘴二"]}" data-judge="judge-hm" data-reason="nominated"' in page


def test_declared_relation_recuses_at_once_and_cannot_be_overridden(
    app: Flask, two_tier: dict[str, str], client_for
) -> None:  # type: ignore[no-untyped-def]
    code = two_tier["外滩"]
    with app.app_context():
        assert "judge-pd" in {
            a.judge.username for a in db.session.scalar(db.select(Entry).where(Entry.code == code)).assignments
        }
    judge = client_for("judge-pd")
    token = csrf_token(judge, "/judge/relations")
    unknown = judge.post(
        "/judge/relations", data={"csrf_token": token, "organization": "不存在区"}, follow_redirects=True
    )
    assert "没有名为“不存在区”的单位" in unknown.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(JudgeRelation.id))) == 0

    response = judge.post(
        "/judge/relations", data={"csrf_token": token, "organization": " 黄浦区 ", "note": "配偶在该区工作"}
    )
    assert response.status_code == 302
    with app.app_context():
        assignment = db.session.scalar(
            db.select(Assignment).join(Entry).where(Entry.code == code, Assignment.judge_id == _user("judge-pd").id)
        )
        assert (assignment.status, assignment.recusal_reason) == (AssignmentStatus.RECUSED, "申报关联单位：黄浦区")
        # judges_per_entry = 3: another judge takes the place
        active = [a for a in assignment.entry.assignments if a.status is AssignmentStatus.ASSIGNED]
        assert len(active) == 3 and _user("judge-pd").id not in {a.judge_id for a in active}
        with pytest.raises(ServiceError) as refusal:
            panel.override_recusal(db.session, _user("organizer"), assignment, "评委说没关系")
        db.session.rollback()
        assert "不能撤销" in refusal.value.message
        assignment_id = assignment.id
        relation_id = db.session.scalar(db.select(JudgeRelation.id))
    assert judge.get(f"/judge/entries/{code}").status_code == 404
    other = client_for("judge-y")
    assert (
        other.post(
            f"/judge/relations/{relation_id}/remove", data={"csrf_token": csrf_token(other, "/judge/relations")}
        ).status_code
        == 404
    )
    with app.app_context():
        assert db.session.get(JudgeRelation, relation_id) is not None
        assert db.session.get(Assignment, assignment_id).status is AssignmentStatus.RECUSED
    page = client_for("organizer").get("/organizer/contests/exemplary-cases/judging").get_data(as_text=True)
    assert f'data-entry="{code}" data-judge="judge-pd" data-reason="declared"' in page
    assert "申报关联 · 黄浦区" in page


def test_unit_cannot_nominate_its_own_case(app: Flask, users: dict[str, int], tmp_path: Path, client_for) -> None:  # type: ignore[no-untyped-def]
    image = tmp_path / "case.png"
    generate_test_image(image)
    with app.app_context():
        _unit("陆家嘴街道", "浦东新区")
        create_user("unit-ljz", Role.ENTRANT, "陆家嘴街道")
        case_id = _case(app, "unit-ljz", "自己推荐自己", image).id
        with pytest.raises(ServiceError) as refusal:
            nomination.nominate_entry(db.session, _user("unit-ljz"), db.session.get(Entry, case_id))
        db.session.rollback()
        assert refusal.value.message == "只有浦东新区可以推荐这件案例：由参赛单位的上级单位推荐。"
    unit = client_for("unit-ljz")
    page = unit.get("/entrant/contests/exemplary-cases/units").get_data(as_text=True)
    assert "自己推荐自己" in page and f'action="/entrant/entries/{case_id}/nominate"' in page
    assert "btn btn-primary btn-sm" not in page  # no 推荐 button for its own case
    response = unit.post(
        f"/entrant/entries/{case_id}/nominate",
        data={"csrf_token": csrf_token(unit, "/entrant/contests/exemplary-cases/units")},
        follow_redirects=True,
    )
    assert "只有浦东新区可以推荐这件案例" in response.get_data(as_text=True)
    with app.app_context():
        case = db.session.get(Entry, case_id)
        assert (case.status, case.nominated_by_id, case.nomination_slot) == (EntryStatus.SUBMITTED, None, None)
        assert (
            db.session.scalar(db.select(db.func.count(AuditEvent.id)).where(AuditEvent.action == "entry.nominate")) == 0
        )


def _remove(client, slug: str, judge_id: int, **data: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client, f"/organizer/contests/{slug}/judging")
    return client.post(
        f"/organizer/contests/{slug}/judging/panel/{judge_id}/remove",
        data={"csrf_token": token, "confirmed": "1", **data},
        follow_redirects=True,
    )


def test_removed_judge_loses_access_at_once_and_its_sheets_leave_the_result(
    app: Flask, users: dict[str, int], short_video: Path, client_for
) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        codes = seed_review_contest(app, short_video)
        contest = db.session.scalar(db.select(Contest).where(Contest.slug == "micro-video"))
        before = results.compute_results(db.session, contest)
        assert before.sheets_counted == 20
        entry = db.session.scalar(db.select(Entry).where(Entry.code == codes["A"]))
        file = db.session.scalar(db.select(EntryFile).where(EntryFile.entry_id == entry.id))
        assert file.thumbnail_key
        file_id = file.id
        expert1 = _user("expert1")
        sheet = db.session.scalar(
            db.select(ScoreSheet)
            .join(Assignment)
            .where(Assignment.entry_id == entry.id, Assignment.judge_id == expert1.id)
        )
        sheet_state = (sheet.id, sheet.version, [(s.criterion, s.value) for s in sheet.scores])
        expert1_id, entry_id = expert1.id, entry.id
    judge = client_for("expert1")
    token = csrf_token(judge, f"/judge/entries/{codes['A']}")
    for url in (f"/judge/entries/{codes['A']}", f"/files/{file_id}", f"/files/{file_id}/thumbnail"):
        with judge.get(url) as response:
            assert response.status_code == 200, url

    organizer = client_for("organizer")
    page = _remove(organizer, "micro-video", expert1_id).get_data(as_text=True)
    assert "已退出评审组" in page

    for url in (
        f"/judge/entries/{codes['A']}",
        f"/judge/entries/{entry_id}",
        f"/files/{file_id}",
        f"/files/{file_id}/thumbnail",
    ):
        assert judge.get(url).status_code == 404, url
    assert judge.get(f"/files/{file_id}", headers={"Range": "bytes=0-99"}).status_code == 404
    saved = judge.post(
        f"/judge/entries/{codes['A']}/sheet",
        data={
            "csrf_token": token,
            "score_content": "1",
            "score_form": "1",
            "score_influence": "1",
            "submit_sheet": "1",
        },
    )
    assert saved.status_code == 404
    dashboard = judge.get("/judge/").get_data(as_text=True)
    assert codes["A"] not in dashboard and 'data-contest="micro-video"' not in dashboard
    with app.app_context():
        sheet = db.session.get(ScoreSheet, sheet_state[0])
        assert (sheet.id, sheet.version, [(s.criterion, s.value) for s in sheet.scores]) == sheet_state
        after = results.compute_results(
            db.session, db.session.scalar(db.select(Contest).where(Contest.slug == "micro-video"))
        )
        assert after.sheets_counted == 15
        assert "expert1" not in set(after.scores["judge"])
        assert [(j.name, j.sheets, j.kept) for j in after.removed_judges] == [("Expert1", 5, False)]
    shown = organizer.get("/organizer/contests/micro-video/results").get_data(as_text=True)
    assert 'data-kept="no"' in shown and "5 份已提交的评分表不计入结果" in shown


def test_removed_judge_sheets_kept_only_with_a_reason(
    app: Flask, users: dict[str, int], short_video: Path, client_for
) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        seed_review_contest(app, short_video)
        expert2_id = _user("expert2").id
    organizer = client_for("organizer")
    refused = _remove(organizer, "micro-video", expert2_id, keep_sheets="y", reason="  ").get_data(as_text=True)
    assert "请说明保留该评委评分表的理由" in refused
    with app.app_context():
        assert db.session.scalar(db.select(PanelMember).where(PanelMember.judge_id == expert2_id)) is not None

    _remove(organizer, "micro-video", expert2_id, keep_sheets="y", reason="评委因病退出，已评完全部作品")
    with app.app_context():
        contest = db.session.scalar(db.select(Contest).where(Contest.slug == "micro-video"))
        assert db.session.scalar(db.select(PanelMember).where(PanelMember.judge_id == expert2_id)) is None
        kept = results.compute_results(db.session, contest)
        assert kept.sheets_counted == 20 and "expert2" in set(kept.scores["judge"])
        assert [(j.name, j.sheets, j.kept, j.reason) for j in kept.removed_judges] == [
            ("Expert2", 5, True, "评委因病退出，已评完全部作品")
        ]
        event = db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.action == "panel.remove").order_by(AuditEvent.seq.desc())
        ).first()
        assert (event.data["sheets_kept"], event.data["reason"], event.data["sheets"]) == (
            True,
            "评委因病退出，已评完全部作品",
            5,
        )
    shown = organizer.get("/organizer/contests/micro-video/results").get_data(as_text=True)
    assert 'data-kept="yes"' in shown and "评委因病退出，已评完全部作品" in shown
    assert client_for("expert2").get("/judge/").get_data(as_text=True).count('data-contest="micro-video"') == 0


def test_changed_rubric_is_refused_during_review_with_the_differences(
    app: Flask, users: dict[str, int], short_video: Path
) -> None:
    with app.app_context():
        seed_review_contest(app, short_video)
        contest = db.session.scalar(db.select(Contest).where(Contest.slug == "micro-video"))
        text = contest.current_rubric.text
        changed = text.replace("weight = 1.0", "weight = 2.0", 1).replace("count = 3", "count = 4")
        with pytest.raises(contests.RubricInUse) as refusal:
            contests.sync_rubric(db.session, None, parse_rubric(changed, "micro_video.toml"))
        db.session.rollback()
        assert "criteria[content].weight：1 → 2" in refusal.value.problems
        assert "awards[二等奖].count：3 → 4" in refusal.value.problems
        assert [v.version for v in db.session.get(Contest, contest.id).rubric_versions] == [1]
        statuses = db.session.scalars(db.select(ScoreSheet.status)).all()
        assert statuses.count(SheetStatus.SUBMITTED) == 20
