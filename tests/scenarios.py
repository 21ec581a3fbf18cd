"""Scenarios that several test modules build on: a contest in review with worked sheets, the skills
contest with a roster, small rubrics for the engine, and readers of generated PDFs.

Test modules import their shared builders from here (or take fixtures from conftest), never from
another test module.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select

from judging.extensions import db
from judging.models import (
    Assignment,
    Contest,
    Entry,
    PanelMember,
    Phase,
    Role,
    User,
)
from judging.rubric import Rubric, parse_rubric
from judging.services import (
    contests,
    organizations,
    panel,
    skills,
)
from judging.services.sheets import save_sheet
from tests.conftest import (
    create_user,
    make_test_app,
    submitted_video_entry,
)


def work_rubric(
    *,
    criteria: str = '[[criteria]]\nkey = "score"\nlabel = "得分"\nmax = 100\nweight = 1\nstep = 0.5\n',
    across_judges: str = "mean",
    level: str = "sheet",
    trim: int = 0,
    min_judges: int = 1,
    tie_break: tuple[str, ...] = (),
    decimals: int = 2,
    extra: str = "",
) -> Rubric:
    """A minimal work rubric; ``extra`` adds [[checks]], [[categories]] or [[awards]] tables."""
    tie = ", ".join(f'"{key}"' for key in tie_break)
    return parse_rubric(
        f"""
[contest]
slug = "test"
title = "测试"
kind = "work"
ceremony = "opening"

[entry]
media = "document"
quota_per_organization = 1
allowed_extensions = ["pdf"]
max_file_mb = 10

{criteria}
[assignment]
judges_per_entry = "all"
blind = true
conflict = "none"

[aggregation]
level = "{level}"
across_judges = "{across_judges}"
trim = {trim}
min_judges = {min_judges}
tie_break = [{tie}]
decimals = {decimals}

{extra}
""",
        "test.toml",
    )


def scores(
    sheets: dict[str, dict[str, tuple | float]], criteria: tuple[str, ...] = ("score",), **category
) -> pd.DataFrame:
    """Long format from ``{entry: {judge: scores}}`` (a number for one criterion, a tuple for several)."""
    rows = []
    for entry, by_judge in sheets.items():
        for judge, values in by_judge.items():
            values = values if isinstance(values, tuple) else (values,)
            for key, value in zip(criteria, values, strict=True):
                row = {"entry": entry, "judge": judge, "criterion": key, "score": str(value)}
                if category:
                    row["category"] = category["category"][entry]
                rows.append(row)
    return pd.DataFrame(rows)


def table_rows(result) -> list[tuple]:
    return [
        (row.rank, row.entry, str(row.final_score), row.award)
        for row in result.table[["rank", "entry", "final_score", "award"]].itertuples(index=False)
    ]


CHECK = '[[checks]]\nkey = "ip"\nlabel = "包含“玉兰”“沪宝”"\nrule = "{rule}"\n'


SKILLS_RUBRIC = """
[contest]
slug = "isg-skills"
title = "ISG“观安杯”网络安全技能竞赛"
kind = "skills"
ceremony = "opening"
code_prefix = "ISG"

[[parts]]
key = "theory"
label = "理论知识"
max = 100
weight = 0.3

[[parts]]
key = "practical"
label = "实操技能"
max = 100
weight = 0.7

[ranking]
tie_break = ["practical", "time"]
decimals = 2

[collectives]
name = "优秀集体"
rule = "best_k_sum"
k = 2
min_contestants = 2
count = 2

[[awards]]
name = "一等奖"
count = 1

[[awards]]
name = "二等奖"
count = 2

[[awards]]
name = "三等奖"
count = 2
"""


ROSTER = [
    ("S01", "王一", "测试企业甲", 90, 95),
    ("S02", "李二", "测试企业乙", 80, 90),
    ("S03", "张三", "测试企业甲", 85, 80),
    ("S04", "赵四", "测试企业丙", 70, 85),
    ("S05", "钱五", "测试企业乙", 60, 80),
    ("S06", "孙六", "测试企业丙", 75, 70),
    ("S07", "周七", "测试企业丁", 50, 60),
    ("S08", "吴八", "测试企业丁", 40, 50),
]


def seed_skills_contest(folder: Path) -> Contest:
    """The ISG contest in review with ROSTER imported through the skills services (app context)."""
    organizations.seed_organizations(
        db.session, [{"name": name, "kind": "company"} for name in sorted({row[2] for row in ROSTER})]
    )
    contest = contests.sync_rubric(db.session, None, parse_rubric(SKILLS_RUBRIC, "ceremony_isg.toml"))
    db.session.commit()
    roster = folder / "roster.csv"
    pd.DataFrame([{"编号": n, "姓名": name, "单位": org} for n, name, org, _t, _p in ROSTER]).to_csv(
        roster, index=False, encoding="utf-8-sig"
    )
    scores = folder / "scores.csv"
    pd.DataFrame(
        [
            {"选手编号": n, "项目": part, "成绩": value, "用时": 1800}
            for n, _name, _org, theory, practical in ROSTER
            for part, value in (("theory", theory), ("practical", practical))
        ]
    ).to_csv(scores, index=False, encoding="utf-8-sig")
    organizer = db.session.scalar(select(User).where(User.username == "organizer"))
    assert skills.import_roster(db.session, organizer, contest, roster, "roster.csv") == (8, 0)
    skills.import_part_scores(db.session, organizer, contest, scores, "scores.csv")
    contests.change_phase(db.session, organizer, contest, Phase.OPEN)
    contests.change_phase(db.session, organizer, contest, Phase.REVIEW)
    db.session.commit()
    return contest


def imported_parts_only(text: str) -> str:
    """The shipped ISG rubric without its judged part: theory 30 % + practical 70 %, both imported."""
    start = text.index('[[parts]]\nkey = "operations"')
    return text[:start].replace("weight = 0.4", "weight = 0.7") + text[text.index("[ranking]") :]


# Sample values for URL parameters, so that every rule can be requested.
SAMPLE_ARGUMENTS = {
    "slug": "micro-video",
    "code": "en",
    "token": "not-a-real-token",
    "user_id": 1,
    "file_id": 1,
    "entry_id": 1,
    "entry_ref": "MV-001",
    "assignment_id": 1,
    "relation_id": 1,
    "number": 1,
    "objection_id": 1,
    "throttle_id": 1,
    "document": "award-list.xlsx",
    "ceremony": "opening",
}


def embedded_fonts(pdf: bytes) -> set[str]:
    """The base names of the fonts embedded in every page (a subset font is named ``ABCDEF+Name``)."""
    names = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            descriptor = (descendants[0].get_object() if descendants else font).get("/FontDescriptor")
            if descriptor is not None and any(
                k in descriptor.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3")
            ):
                names.add(str(font["/BaseFont"]))
    return names


def page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def recuse_expert5() -> None:
    judge = db.session.scalar(select(User).where(User.username == "expert5"))
    for assignment in db.session.scalars(select(Assignment).where(Assignment.judge_id == judge.id)):
        panel.declare_conflict(db.session, judge, assignment, "同单位")
    db.session.commit()


YES = {"ip_characters": True, "duration": True}

# entry letter → entrant account and organisation; sheets: judge → (content, form, influence)
ENTRANTS = {
    "A": ("entrant-a", None),
    "B": ("entrant-b", None),
    "C": ("entrant-c", "徐汇区"),
    "D": ("entrant-d", "闵行区"),
    "E": ("entrant-e", "嘉定区"),
}


SHEETS = {
    "A": {"expert1": (38, 27, 25), "expert2": (36, 27, 25), "expert3": (34, 24, 22), "expert4": (30, 20, 20)},
    "B": {"expert1": (36, 25, 25), "expert2": (35, 24, 24), "expert3": (33, 25, 25), "expert4": (39, 28, 28)},
    "C": {"expert1": (30, 22, 23), "expert2": (31, 22, 23), "expert3": (31, 23, 23), "expert4": (32, 23, 23)},
    "D": {"expert1": (25, 18, 17), "expert2": (26, 18.5, 18), "expert3": (25, 18, 18), "expert4": (26, 19, 19)},
    "E": {"expert1": (20, 15, 15), "expert2": (20, 15, 15), "expert3": (20, 15, 15), "expert4": (20, 15, 15)},
}


def seed_review_contest(app: Flask, video: Path, *, with_entrants: bool = True) -> dict[str, str]:
    """The micro-video contest in review with the entries and sheets of the module docstring.

    Returns entry letter → entry code. Needs an app context; ``with_entrants`` creates the entrant
    accounts other than entrant-a and entrant-b (which the ``users`` fixture makes).
    """
    for username, organization in ENTRANTS.values():
        if organization and with_entrants:
            create_user(username, Role.ENTRANT, organization)
    codes = {}
    for letter, (username, _organization) in ENTRANTS.items():
        codes[letter] = submitted_video_entry(app, username, video, title=f"作品{letter}").code
    contest = db.session.scalar(db.select(Contest).where(Contest.slug == "micro-video"))
    contests.change_phase(db.session, None, contest, Phase.REVIEW)  # type: ignore[arg-type]
    judges = {name: create_user(name, Role.JUDGE) for name in ("expert1", "expert2", "expert3", "expert4", "expert5")}
    entries = {letter: db.session.scalar(db.select(Entry).where(Entry.code == code)) for letter, code in codes.items()}
    for judge in judges.values():
        db.session.add(PanelMember(contest=contest, judge=judge))  # panel membership is access
        for entry in entries.values():
            db.session.add(Assignment(entry=entry, judge=judge))
    db.session.commit()

    def assignment(letter: str, judge: str) -> Assignment:
        return db.session.scalar(
            db.select(Assignment).where(Assignment.entry == entries[letter], Assignment.judge == judges[judge])
        )

    for letter, sheets in SHEETS.items():
        for judge, (content, form, influence) in sheets.items():
            checks = {"ip_characters": True, "duration": not (letter == "E" and judge == "expert2")}
            save_sheet(
                db.session,
                judges[judge],
                assignment(letter, judge),
                scores={"content": content, "form": form, "influence": influence},
                checks=checks,
                submit=True,
            )
    save_sheet(
        db.session,
        judges["expert5"],
        assignment("A", "expert5"),
        scores={"content": 40, "form": 30, "influence": 30},
        checks=YES,
        submit=False,
    )
    db.session.commit()
    return codes


def one_entry_in_review(app: Flask, video: Path, judges: tuple[str, ...] = ("judge",)) -> str:
    """entrant-a's micro-video submitted, the contest in review, ``judges`` on the panel and assigned;
    returns the entry's code. Takes the ``users`` accounts; opens its own app context."""
    with app.app_context():
        code = submitted_video_entry(app, "entrant-a", video, "作品甲").code
        contest = db.session.scalar(select(Contest).where(Contest.slug == "micro-video"))
        organizer = db.session.scalar(select(User).where(User.username == "organizer"))
        contests.change_phase(db.session, organizer, contest, Phase.REVIEW)
        for username in judges:
            panel.add_to_panel(
                db.session, organizer, contest, db.session.scalar(select(User).where(User.username == username))
            )
        panel.assign_judges(db.session, organizer, contest)
        db.session.commit()
    return code


def live_entry_in_review(tmp_path: Path, video: Path) -> None:
    """In the e2e live server's database (``live_server`` accounts): the entrant's micro-video submitted, the
    contest in review with ``judge`` on the panel and assigned."""
    app = make_test_app(f"sqlite:///{tmp_path / 'e2e.sqlite3'}", tmp_path, SERVER_NAME=None)
    with app.app_context():
        submitted_video_entry(app, "entrant", video, "浦东新区的反诈短片")
        contest = db.session.scalar(select(Contest).where(Contest.slug == "micro-video"))
        organizer = db.session.scalar(select(User).where(User.username == "organizer"))
        judge = db.session.scalar(select(User).where(User.username == "judge"))
        contests.change_phase(db.session, organizer, contest, Phase.REVIEW)
        panel.add_to_panel(db.session, organizer, contest, judge)
        panel.assign_judges(db.session, organizer, contest)
        db.session.commit()
        db.engine.dispose()
