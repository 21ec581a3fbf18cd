"""The workflow table is what the services enforce: every (phase × action) pair, on both databases.

Each test brings a contest into one state through the services (as an organiser, entrants and a judge
would), then calls the real service of every action, one at a time, each in a transaction that is rolled
back afterwards. A call must succeed exactly when :func:`judging.services.contests.allowed` (the table)
says so; a refused call raises the table's message and changes no row of any table.

The states: ``draft``, ``open``, ``review`` (each with a submitted entry, a judge on the panel, an
assignment and a submitted sheet, made in review and kept when the contest went back), ``publicity``
(a frozen result on notice), ``reopened`` (review again after an upheld objection), ``published``,
``correction`` (review again for a correction of the publication) and ``archived``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from judging.extensions import db
from judging.models import (
    Assignment,
    AssignmentStatus,
    Contest,
    Entry,
    EntryStatus,
    PanelMember,
    Phase,
    ResultSnapshot,
    Role,
    User,
    utcnow,
)
from judging.rubric import parse_rubric
from judging.services import (
    ServiceError,
    contests,
    entries,
    objections,
    organizations,
    panel,
    publication,
    sheets,
    skills,
    snapshots,
)
from judging.workflow import MOVES, Action
from tests.conftest import ROOT, create_user, csrf_token, submitted_video_entry

WORK_STATES = ("draft", "open", "review", "publicity", "reopened", "published", "correction", "archived")
SKILLS_STATES = ("draft", "open", "review", "publicity", "published", "archived")
YES = {"ip_characters": True, "duration": True}
MARKS = {"content": 30, "form": 20, "influence": 20}
OBJECTION = "评分有误，请组织专家复核。"


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _contest(slug: str) -> Contest:
    return db.session.scalar(select(Contest).where(Contest.slug == slug))


def _latest_snapshot(contest: Contest) -> ResultSnapshot | None:
    return db.session.scalar(
        select(ResultSnapshot).where(ResultSnapshot.contest_id == contest.id).order_by(ResultSnapshot.number.desc())
    )


def _rows() -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order: what a refused call must leave as it was."""
    return {
        table.name: [tuple(row) for row in db.session.execute(select(table).order_by(*table.primary_key.columns))]
        for table in db.metadata.sorted_tables
    }


def _publish_after_notice(organizer: User, contest: Contest) -> None:
    snapshot = _latest_snapshot(contest)
    publication.publish(db.session, organizer, snapshot, now=snapshot.publicity_ends_at + timedelta(minutes=1))


# -- The micro-video contest in each state ----------------------------------------------------------------


def _one_judge_rubric() -> str:
    """The shipped micro-video rubric, ranked by the mean of any number of sheets (one judge suffices)."""
    text = (ROOT / "rubrics" / "micro_video.toml").read_text(encoding="utf-8")
    text = text.replace('across_judges = "trimmed_mean"', 'across_judges = "mean"')
    return text.replace("trim = 1\n", "trim = 0\n").replace("min_judges = 3", "min_judges = 1")


def _work_contest_in(app: Flask, video: Path, state: str) -> None:
    contest = _contest("micro-video")
    contests.sync_rubric(db.session, None, parse_rubric(_one_judge_rubric(), "micro_video.toml"), edition="2026")
    db.session.commit()
    organizer, judge = _user("organizer"), _user("judge")
    submitted_video_entry(app, "entrant-a", video, "浦东的作品")  # opens the contest
    panel.add_to_panel(db.session, organizer, contest, judge)
    contests.change_phase(db.session, organizer, contest, Phase.REVIEW)
    panel.assign_judges(db.session, organizer, contest)
    assignment = db.session.scalar(select(Assignment).where(Assignment.judge_id == judge.id))
    sheets.save_sheet(db.session, judge, assignment, scores=MARKS, checks=YES, submit=True)
    create_user("judge2", Role.JUDGE)  # off the panel, for the panel changes
    db.session.commit()
    if state in ("open", "draft"):
        contests.change_phase(db.session, organizer, contest, Phase.OPEN)
        if state == "draft":
            contests.change_phase(db.session, organizer, contest, Phase.DRAFT)
    elif state != "review":
        publication.freeze(db.session, organizer, contest)
        if state == "reopened":
            snapshot = _latest_snapshot(contest)
            subject = snapshots.objection_subjects(snapshots.payload_of(snapshot))[0][0]
            objection = objections.file_objection(
                db.session, snapshot, name="市民", contact="021-12345678", subject=subject, reason=OBJECTION
            )
            objections.answer_objection(db.session, organizer, objection, uphold=True, answer="经复核，异议成立。")
        elif state != "publicity":
            _publish_after_notice(organizer, contest)
            if state == "correction":
                publication.start_correction(db.session, organizer, contest, "更正获奖名单")
            elif state == "archived":
                contests.change_phase(db.session, organizer, contest, Phase.ARCHIVED)
    db.session.commit()
    assert (
        contest.phase
        is {
            "draft": Phase.DRAFT,
            "open": Phase.OPEN,
            "review": Phase.REVIEW,
            "publicity": Phase.PUBLICITY,
            "reopened": Phase.REVIEW,
            "published": Phase.PUBLISHED,
            "correction": Phase.REVIEW,
            "archived": Phase.ARCHIVED,
        }[state]
    )


@dataclass(frozen=True)
class Call:
    """One service call standing for ``action``; ``arrange`` prepares what the call acts on (flushed
    before the rows are compared); ``needs_snapshot``: only callable once the contest has a result."""

    action: Action
    name: str
    run: Callable[[], object]
    arrange: Callable[[], None] | None = None
    needs_snapshot: bool = False


def _work_calls() -> list[Call]:
    def contest() -> Contest:
        return _contest("micro-video")

    def entry() -> Entry:
        return db.session.scalar(select(Entry).where(Entry.contest_id == contest().id))

    def assignment() -> Assignment:
        return db.session.scalar(select(Assignment).where(Assignment.judge_id == _user("judge").id))

    def recuse() -> None:
        assignment().status = AssignmentStatus.RECUSED
        assignment().recused_at = utcnow()

    def disqualified() -> None:
        entry().status = EntryStatus.DISQUALIFIED

    def snapshot() -> ResultSnapshot:
        found = _latest_snapshot(contest())
        assert found is not None
        return found

    def subject() -> str:
        return snapshots.objection_subjects(snapshots.payload_of(snapshot()))[0][0]

    organizer = lambda: _user("organizer")  # noqa: E731
    s = db.session
    return [
        Call(
            Action.CHANGE_ENTRIES,
            "create a draft",
            lambda: entries.create_draft(
                s, _user("entrant-b"), contest(), title="黄浦的作品", fields={"theme": "主题"}
            ),
        ),
        Call(
            Action.CHANGE_ENTRIES, "withdraw an entry", lambda: entries.withdraw_entry(s, _user("entrant-a"), entry())
        ),
        Call(
            Action.SAVE_SHEETS,
            "save a sheet",
            lambda: sheets.save_sheet(s, _user("judge"), assignment(), scores=MARKS, checks=YES, submit=True),
        ),
        Call(
            Action.REOPEN_SHEETS, "reopen a sheet", lambda: sheets.reopen_sheet(s, organizer(), assignment(), "请复核")
        ),
        Call(
            Action.DECLARE_CONFLICTS,
            "declare a conflict",
            lambda: panel.declare_conflict(s, _user("judge"), assignment(), "亲属参与制作"),
        ),
        Call(
            Action.CHANGE_PANEL, "add a judge", lambda: panel.add_to_panel(s, organizer(), contest(), _user("judge2"))
        ),
        Call(
            Action.CHANGE_PANEL,
            "remove a judge",
            lambda: panel.remove_from_panel(s, organizer(), contest(), _user("judge")),
        ),
        Call(Action.CHANGE_ASSIGNMENT, "run the assignment", lambda: panel.assign_judges(s, organizer(), contest())),
        Call(
            Action.CHANGE_ASSIGNMENT,
            "assign every judge",
            lambda: panel.assign_every_judge(s, organizer(), contest()),
        ),
        Call(
            Action.CHANGE_ASSIGNMENT,
            "override a recusal",
            lambda: panel.override_recusal(s, organizer(), assignment(), "回避理由不成立"),
            arrange=recuse,
        ),
        Call(
            Action.DISQUALIFY_ENTRIES,
            "disqualify an entry",
            lambda: entries.disqualify_entry(s, organizer(), entry(), "不符合要求"),
        ),
        Call(
            Action.DISQUALIFY_ENTRIES,
            "reinstate an entry",
            lambda: entries.reinstate_entry(s, organizer(), entry(), "复核后恢复"),
            arrange=disqualified,
        ),
        Call(Action.FREEZE_RESULTS, "freeze the results", lambda: publication.freeze(s, organizer(), contest())),
        Call(
            Action.REOPEN_REVIEW,
            "reopen review",
            lambda: publication.reopen_review(s, organizer(), snapshot(), "复核"),
            needs_snapshot=True,
        ),
        Call(
            Action.PUBLISH_RESULTS,
            "publish after the notice",
            lambda: publication.publish(s, organizer(), snapshot(), now=_after_notice(snapshot())),
            needs_snapshot=True,
        ),
        Call(
            Action.START_CORRECTION,
            "start a correction",
            lambda: publication.start_correction(s, organizer(), contest(), "更正"),
        ),
        Call(
            Action.FILE_OBJECTIONS,
            "file an objection",
            lambda: objections.file_objection(
                s, snapshot(), name="市民", contact="021-12345678", subject=subject(), reason=OBJECTION
            ),
            needs_snapshot=True,
        ),
    ]


def _after_notice(snapshot: ResultSnapshot) -> object:
    return snapshot.publicity_ends_at + timedelta(minutes=1)


def _expected(call: Call, contest: Contest) -> bool:
    snapshot = _latest_snapshot(contest)
    if call.action is Action.START_CORRECTION:
        snapshot = snapshots.latest_publication(db.session, contest)
    now = _after_notice(snapshot) if call.action is Action.PUBLISH_RESULTS and snapshot else None
    return contests.allowed(call.action, contest, snapshot, now)


def _try(call: Call, contest_of: Callable[[], Contest]) -> list[str]:
    """Call one service in a transaction that is rolled back; the problems found, if any."""
    problems = []
    contest = contest_of()
    if call.needs_snapshot and _latest_snapshot(contest) is None:
        if contests.allowed(call.action, contest):
            problems.append(f"{call.name}: allowed without a result")
        return problems
    if call.arrange:
        call.arrange()
        db.session.flush()
    expected = _expected(call, contest)
    snapshot = _latest_snapshot(contest)
    message = contests.refusal_message(
        call.action,
        contest,
        snapshots.latest_publication(db.session, contest) if call.action is Action.START_CORRECTION else snapshot,
    )
    before = _rows()
    try:
        call.run()
        db.session.flush()
        succeeded, error = True, ""
    except ServiceError as refused:
        succeeded, error = False, str(refused)
    if succeeded is not expected:
        problems.append(
            f"{call.name}: {'succeeded' if succeeded else 'refused (' + error + ')'}, table says {expected}"
        )
    elif not succeeded:
        if error != message:
            problems.append(f"{call.name}: refused with “{error}”, the table's message is “{message}”")
        if _rows() != before:
            problems.append(f"{call.name}: refused but changed rows")
    db.session.rollback()
    return problems


def _try_phase_moves(contest_of: Callable[[], Contest]) -> list[str]:
    """``change_phase`` to every phase: it succeeds exactly when the table has an allowed plain move there."""
    problems = []
    for target in Phase:
        contest = contest_of()
        expected = any(
            contests.allowed(move.action, contest) for move in MOVES if move.target is target and not move.with_result
        )
        before = _rows()
        try:
            contests.change_phase(db.session, _user("organizer"), contest, target)
            db.session.flush()
            succeeded = True
        except ServiceError:
            succeeded = False
            if _rows() != before:
                problems.append(f"move to {target}: refused but changed rows")
        if succeeded is not expected:
            problems.append(f"move to {target}: {'succeeded' if succeeded else 'refused'}, table says {expected}")
        db.session.rollback()
    return problems


@pytest.mark.parametrize("state", WORK_STATES)
def test_every_work_action_is_enforced_as_the_table_says(
    app: Flask, users: dict[str, int], short_video: Path, state: str
) -> None:
    with app.app_context():
        _work_contest_in(app, short_video, state)
        contest_of = lambda: _contest("micro-video")  # noqa: E731
        answers = {call.name: _expected(call, contest_of()) for call in _work_calls() if not call.needs_snapshot}
        problems = [problem for call in _work_calls() for problem in _try(call, contest_of)]
        problems += _try_phase_moves(contest_of)
        assert problems == []
    # The rule of issue 13, read from the walk: the panel and the assignment change only in review or open.
    fixed = state in ("draft", "publicity", "published", "archived")
    assert answers["add a judge"] is answers["remove a judge"] is answers["run the assignment"] is (not fixed)


# -- The skills contest: imports and task entries -----------------------------------------------------------

SKILLS_RUBRIC = """
[contest]
slug = "skills-walk"
title = "技能竞赛"
kind = "skills"
ceremony = "opening"
code_prefix = "SK"

[[parts]]
key = "theory"
label = "理论知识"
max = 100
weight = 0.5
source = "import"

[[parts]]
key = "operations"
label = "运维实操"
max = 100
weight = 0.5
source = "judged"

[[criteria]]
key = "operation"
label = "技术操作"
max = 100
weight = 1

[assignment]
judges_per_entry = "all"
blind = true
conflict = "same_organization"

[aggregation]
across_judges = "mean"

[ranking]
decimals = 2

[[awards]]
name = "一等奖"
count = 1
"""


def _skills_files(folder: Path) -> tuple[Path, Path]:
    roster, scores = folder / "roster.csv", folder / "scores.csv"
    pd.DataFrame(
        [{"编号": "S01", "姓名": "王一", "单位": "测试企业甲"}, {"编号": "S02", "姓名": "李二", "单位": "测试企业乙"}]
    ).to_csv(roster, index=False, encoding="utf-8-sig")
    pd.DataFrame(
        [{"选手编号": "S01", "项目": "theory", "成绩": 90}, {"选手编号": "S02", "项目": "theory", "成绩": 80}]
    ).to_csv(scores, index=False, encoding="utf-8-sig")
    return roster, scores


def _skills_contest_in(folder: Path, state: str) -> None:
    organizations.seed_organizations(
        db.session, [{"name": "测试企业甲", "kind": "company"}, {"name": "测试企业乙", "kind": "company"}]
    )
    contest = contests.sync_rubric(db.session, None, parse_rubric(SKILLS_RUBRIC, "skills_walk.toml"))
    organizer, judge = _user("organizer"), _user("judge")
    roster, scores = _skills_files(folder)
    skills.import_roster(db.session, organizer, contest, roster, "roster.csv")
    skills.import_part_scores(db.session, organizer, contest, scores, "scores.csv")
    contests.change_phase(db.session, organizer, contest, Phase.OPEN)
    contests.change_phase(db.session, organizer, contest, Phase.REVIEW)
    assert skills.create_task_entries(db.session, organizer, contest) == 2
    panel.add_to_panel(db.session, organizer, contest, judge)
    panel.assign_judges(db.session, organizer, contest)
    for assignment in db.session.scalars(select(Assignment).where(Assignment.judge_id == judge.id)):
        sheets.save_sheet(db.session, judge, assignment, scores={"operation": 70}, submit=True)
    db.session.commit()
    if state in ("open", "draft"):
        contests.change_phase(db.session, organizer, contest, Phase.OPEN)
        if state == "draft":
            contests.change_phase(db.session, organizer, contest, Phase.DRAFT)
    elif state != "review":
        publication.freeze(db.session, organizer, contest)
        if state != "publicity":
            _publish_after_notice(organizer, contest)
            if state == "archived":
                contests.change_phase(db.session, organizer, contest, Phase.ARCHIVED)
    db.session.commit()


@pytest.mark.parametrize("state", SKILLS_STATES)
def test_every_skills_action_is_enforced_as_the_table_says(
    app: Flask, users: dict[str, int], tmp_path: Path, state: str
) -> None:
    with app.app_context():
        _skills_contest_in(tmp_path, state)
        create_user("judge3", Role.JUDGE)
        roster, scores = _skills_files(tmp_path)
        contest_of = lambda: _contest("skills-walk")  # noqa: E731
        organizer = lambda: _user("organizer")  # noqa: E731
        calls = [
            Call(
                Action.IMPORT_SCORES,
                "import the roster",
                lambda: skills.import_roster(db.session, organizer(), contest_of(), roster, "roster.csv"),
            ),
            Call(
                Action.IMPORT_SCORES,
                "preview part scores",
                lambda: skills.preview_part_scores(db.session, contest_of(), scores, "scores.csv"),
            ),
            Call(
                Action.IMPORT_SCORES,
                "import part scores",
                lambda: skills.import_part_scores(db.session, organizer(), contest_of(), scores, "scores.csv"),
            ),
            Call(
                Action.CREATE_TASKS,
                "create task entries",
                lambda: skills.create_task_entries(db.session, organizer(), contest_of()),
            ),
            Call(
                Action.CHANGE_PANEL,
                "add a judge",
                lambda: panel.add_to_panel(db.session, organizer(), contest_of(), _user("judge3")),
            ),
        ]
        problems = [problem for call in calls for problem in _try(call, contest_of)]
        problems += _try_phase_moves(contest_of)
        assert problems == []


# -- The organiser's judging page while a result stands ----------------------------------------------------

JUDGING = "/organizer/contests/micro-video/judging"
PANEL_FIXED = {
    "publicity": "评审组只能在以下阶段调整：“征集中” / “评审中”。本赛事当前状态为“公示中”。",
    "published": "评审组只能在以下阶段调整：“征集中” / “评审中”。本赛事当前状态为“结果已发布”。",
}
ASSIGNMENT_FIXED = {
    "publicity": "评审分配只能在以下阶段调整：“征集中” / “评审中”。本赛事当前状态为“公示中”。",
    "published": "评审分配只能在以下阶段调整：“征集中” / “评审中”。本赛事当前状态为“结果已发布”。",
}


def _counts() -> tuple[int, int, list[tuple[int, int]]]:
    pairs = sorted(tuple(row) for row in db.session.execute(select(Assignment.entry_id, Assignment.judge_id)))
    return (db.session.scalar(select(func.count(PanelMember.id))), len(pairs), pairs)


def _post(client: FlaskClient, url: str, data: dict[str, object] | None = None) -> str:
    token = csrf_token(client, "/organizer/contests/micro-video")
    response = client.post(url, data={"csrf_token": token, **(data or {})}, follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize("state", ["publicity", "published"])
def test_the_panel_and_assignment_are_refused_on_notice_and_after_publication(
    app: Flask, users: dict[str, int], client_for, short_video: Path, state: str
) -> None:  # type: ignore[no-untyped-def]
    """Issue 13's bug: a judge added during 公示 got tasks in a contest shown as finished."""
    with app.app_context():
        _work_contest_in(app, short_video, state)
        judge2, judge = _user("judge2").id, _user("judge").id
        before = _counts()
    client = client_for("organizer")
    page = client.get(JUDGING).get_data(as_text=True)
    assert PANEL_FIXED[state] in page and ASSIGNMENT_FIXED[state] in page
    assert f'action="{JUDGING}/panel' not in page  # neither the add form nor any remove button
    assert f'action="{JUDGING}/assign"' not in page
    added = _post(client, f"{JUDGING}/panel", {"judge_id": judge2})
    assert PANEL_FIXED[state] in added and "已加入评审组" not in added
    removed = _post(client, f"{JUDGING}/panel/{judge}/remove")
    assert PANEL_FIXED[state] in removed
    assigned = _post(client, f"{JUDGING}/assign")
    assert ASSIGNMENT_FIXED[state] in assigned
    with app.app_context():
        assert _counts() == before == (1, 1, before[2])
        contest = _contest("micro-video")
        for call in (
            lambda: panel.add_to_panel(db.session, _user("organizer"), contest, _user("judge2")),
            lambda: panel.remove_from_panel(db.session, _user("organizer"), contest, _user("judge")),
            lambda: panel.assign_judges(db.session, _user("organizer"), contest),
        ):
            with pytest.raises(ServiceError):
                call()
            assert _counts() == before
        db.session.rollback()


def test_the_panel_changes_again_once_an_upheld_objection_reopens_review(
    app: Flask, users: dict[str, int], client_for, short_video: Path
) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        _work_contest_in(app, short_video, "reopened")
        judge2 = _user("judge2").id
    client = client_for("organizer")
    page = client.get(JUDGING).get_data(as_text=True)
    assert 'id="panel-fixed"' not in page and 'id="assignment-fixed"' not in page
    assert f'action="{JUDGING}/assign"' in page and f'action="{JUDGING}/panel"' in page
    _post(client, f"{JUDGING}/panel", {"judge_id": judge2})
    with app.app_context():
        members, assignments, _pairs = _counts()
        assert (members, assignments) == (2, 2)  # judge2 joined and was given the entry at once
