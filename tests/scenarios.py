"""Scenarios that several test modules build on: a contest in review with worked sheets, the skills
contest with a roster, small rubrics for the engine, and readers of generated PDFs.

Test modules import their shared builders from here (or take fixtures from conftest), never from
another test module.
"""

from __future__ import annotations

import io
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

import pandas as pd
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select

from judging.extensions import db
from judging.models import (
    Assignment,
    AssignmentStatus,
    Contest,
    Entry,
    EntryFile,
    EntryStatus,
    JudgeRelation,
    Organization,
    OrganizationKind,
    PanelMember,
    Phase,
    ResultSnapshot,
    Role,
    Score,
    ScoreSheet,
    SheetStatus,
    SnapshotStatus,
    User,
    utcnow,
)
from judging.rubric import Rubric, parse_rubric
from judging.services import (
    contests,
    editions,
    organizations,
    panel,
    skills,
)
from judging.services.sheets import save_sheet
from tests.conftest import (
    ROOT,
    create_user,
    csrf_token,
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
    "organization_id": 1,
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
    "part": "theory",
    "job_id": 1,
    "attachment_id": 1,
    "token_id": 1,
    "key": "screening",
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


PUBLICATION_DESK = "/organizer/contests/micro-video/publication"


def freeze_micro_video(organizer: FlaskClient) -> None:
    """The organiser freezes the micro-video result on its publication page (five days' notice)."""
    token = csrf_token(organizer, PUBLICATION_DESK)
    frozen = organizer.post("/organizer/contests/micro-video/freeze", data={"publicity_days": "5", "csrf_token": token})
    assert frozen.status_code == 302, frozen.get_data(as_text=True)


def publish_micro_video(app: Flask, organizer: FlaskClient) -> None:
    """End the notice of the frozen micro-video result (as if five days had gone by), then publish it."""
    with app.app_context():
        snapshot = db.session.scalar(select(ResultSnapshot).where(ResultSnapshot.status == SnapshotStatus.FROZEN))
        snapshot.publicity_ends_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
        number = snapshot.number
    token = csrf_token(organizer, PUBLICATION_DESK)
    published = organizer.post(
        f"/organizer/contests/micro-video/snapshots/{number}/publish", data={"csrf_token": token, "confirmed": "1"}
    )
    assert published.status_code == 302, published.get_data(as_text=True)


def qr_codes_in_pdf(pdf: bytes, page: int = 1) -> list[str]:
    """The texts of the QR codes drawn on a PDF page: rasterised by poppler's pdftoppm, decoded by zxing-cpp."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "document.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-png", "-r", "150", "-f", str(page), "-l", str(page), str(source), f"{folder}/page"],
            check=True,
        )
        (image_path,) = Path(folder).glob("page*.png")
        with Image.open(image_path) as image:
            found = zxingcpp.read_barcodes(image)
    return [barcode.text for barcode in found if barcode.format == zxingcpp.BarcodeFormat.QRCode]


def show_feedback(show: str) -> None:
    """Give the micro-video contest a rubric version whose ``[feedback] show`` is ``show`` (before any sheet)."""
    text = (ROOT / "rubrics" / "micro_video.toml").read_text(encoding="utf-8")
    contests.sync_rubric(db.session, None, parse_rubric(f'{text}\n[feedback]\nshow = "{show}"\n', "micro_video.toml"))
    db.session.commit()


def seed_review_contest(
    app: Flask, video: Path, *, with_entrants: bool = True, comments: dict[tuple[str, str], str] | None = None
) -> dict[str, str]:
    """The micro-video contest in review with the entries and sheets of the module docstring.

    Returns entry letter → entry code. Needs an app context; ``with_entrants`` creates the entrant
    accounts other than entrant-a and entrant-b (which the ``users`` fixture makes); ``comments``
    gives (entry letter, judge) → the comment on that sheet.
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
                comment=(comments or {}).get((letter, judge), ""),
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


def grow_judging(n_entries: int, n_judges: int) -> dict[str, list]:
    """micro-video in review with ``n_entries`` submitted entries (one work file row each, no bytes on
    disk) and ``n_judges`` judges on the panel, each assigned every entry; adds what is missing, so a test
    can grow the same contest and compare a page at two sizes. Entry n, judge j: a submitted sheet when
    n is even, a draft when n % 4 == 1, none otherwise; judge 0 recused from entries with n % 5 == 3;
    judge 0 has declared a relation. Written with the ORM, not through the upload path, to be quick.

    Needs an app context; returns the judges and entries in order.
    """
    contest = db.session.scalar(select(Contest).where(Contest.slug == "micro-video"))
    version = contest.current_rubric
    districts = list(
        db.session.scalars(
            select(Organization).where(Organization.kind == OrganizationKind.DISTRICT).order_by(Organization.id)
        )
    )
    judges = list(db.session.scalars(select(User).where(User.username.like("scale-judge-%")).order_by(User.id)))
    made = list(db.session.scalars(select(Entry).where(Entry.contest_id == contest.id).order_by(Entry.code)))
    for n in range(len(judges), n_judges):
        judges.append(create_user(f"scale-judge-{n}", Role.JUDGE))
        db.session.add(PanelMember(contest=contest, judge=judges[-1]))
        if n == 0:
            db.session.add(JudgeRelation(judge=judges[0], organization=districts[0], note="同单位"))
    for n in range(len(made), n_entries):
        entry = Entry(
            contest=contest,
            organization=districts[n % len(districts)],
            code=f"MV-{n + 1:03d}",
            title=f"作品{n + 1}",
            fields={"theme": "主题"},
            status=EntryStatus.SUBMITTED,
        )
        entry.files.append(
            EntryFile(
                purpose="work",
                storage_key=f"scale-{n}",
                original_name=f"work-{n}.mp4",
                content_type="video/mp4",
                size_bytes=1000,
                sha256="0" * 64,
            )
        )
        db.session.add(entry)
        made.append(entry)
    contest.phase = Phase.REVIEW
    db.session.flush()
    existing = {(a.entry_id, a.judge_id) for a in db.session.scalars(select(Assignment))}
    for n, entry in enumerate(made):
        for j, judge in enumerate(judges):
            if (entry.id, judge.id) in existing:
                continue
            assignment = Assignment(entry=entry, judge=judge)
            if j == 0 and n % 5 == 3:
                assignment.status = AssignmentStatus.RECUSED
                assignment.recusal_reason = "同单位"
            db.session.add(assignment)
            if n % 2 == 0 or n % 4 == 1:
                sheet = ScoreSheet(
                    assignment=assignment,
                    rubric_version=version,
                    status=SheetStatus.SUBMITTED if n % 2 == 0 else SheetStatus.DRAFT,
                )
                for key, value in (("content", 30 + j), ("form", 20), ("influence", 20)):
                    sheet.scores.append(Score(criterion=key, value=value))
                db.session.add(sheet)
    db.session.commit()
    return {"judges": judges, "entries": made}


def jpeg_with_exif(size: tuple[int, int] = (640, 480)) -> bytes:
    """A JPEG whose EXIF names its maker (Artist and Copyright: ``Li Minghua, Changning CAC``)."""
    exif = Image.Exif()
    exif[0x013B] = "Li Minghua, Changning CAC"  # Artist
    exif[0x8298] = "Li Minghua, Changning CAC"  # Copyright
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="JPEG", exif=exif)
    return out.getvalue()


def poster_contest(organizer_id: int, *, slug: str = "poster-2027", code_prefix: str = "PO27") -> Contest:
    """A poster contest (``media = "image"``) made by the organiser from the shipped template, edition 2027."""
    contest = editions.create_from_template(
        db.session,
        db.session.get(User, organizer_id),
        ROOT / "rubrics",
        "templates/poster.toml",
        title="",
        edition="2027",
        slug=slug,
        code_prefix=code_prefix,
    )
    db.session.commit()
    return contest


PEOPLE_HEADERS = ["姓名", "角色", "单位", "回避单位", "邮箱", "用户名"]


def people_workbook(path: Path, rows: list[list[str]], headers: list[str] = PEOPLE_HEADERS) -> Path:
    """A people table as an organiser would fill it in Excel (header row 1, one person per row)."""
    pd.DataFrame(rows, columns=headers).to_excel(path, index=False)
    return path


def thirty_judges(bad_row: int | None = None) -> list[list[str]]:
    """30 judges of different districts; with ``bad_row`` (a spreadsheet row, 2–31) naming an unknown unit."""
    districts = ["浦东新区", "黄浦区", "徐汇区", "长宁区", "静安区", "普陀区"]
    rows = [
        [f"专家{n:02d}", "评审专家", districts[n % len(districts)], "", f"expert{n:02d}@example.org", ""]
        for n in range(1, 31)
    ]
    if bad_row is not None:
        rows[bad_row - 2][2] = "不存在的单位"
    return rows


ORGANIZATION_HEADER = ("名称", "类型", "上级单位", "简称", "英文名称", "其他名称", "已停用")


def organizations_workbook(path: Path, rows: list[tuple[object, ...]], header=ORGANIZATION_HEADER) -> Path:  # type: ignore[no-untyped-def]
    """An organisations file as a person fills it in Excel (written with openpyxl, not our writer)."""
    frame = pd.DataFrame([list(row) + [""] * (len(header) - len(row)) for row in rows], columns=list(header))
    frame.to_excel(path, index=False, engine="openpyxl")
    return path


def twenty_organizations() -> list[tuple[object, ...]]:
    """A new district with 19 units, the units listed before the district they belong to."""
    units = [(f"滨江区第{n}街道", "基层单位", "滨江区", f"滨江{n}街", f"Binjiang Street {n}") for n in range(1, 20)]
    return [*units[:10], ("滨江区", "区", "", "滨江", "Binjiang", "滨江新区；Binjiang District"), *units[10:]]


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
