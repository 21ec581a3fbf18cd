"""Formula injection through every spreadsheet the product writes: an entry (or a contestant, or an
account) whose text begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is written as text.

Each xlsx is opened as a zip and its sheet XML read: no ``<f>`` element anywhere, the cell an inline
string with Excel's quote prefix. Each CSV cell starts with a single quote. Scores stay numbers.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import select

from judging.extensions import db
from judging.models import Assignment, Contest, Contestant, Entry, PanelMember, Phase, Role, User
from judging.rubric import parse_rubric
from judging.services import contests, organizations, skills
from judging.services.sheets import save_sheet
from tests.conftest import ROOT, create_user, csrf_token, submitted_video_entry
from tests.scenarios import imported_parts_only

FORMULAS = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
ENTRANTS = [
    ("entrant-a", "浦东新区"),
    ("entrant-b", "黄浦区"),
    ("entrant-c", "徐汇区"),
    ("entrant-d", "闵行区"),
    ("entrant-e", "嘉定区"),
    ("entrant-f", "静安区"),
]
RENAMED = "=cmd|' /C calc'!A0"  # an account name no form accepts, as an older install might hold
CONTEST = "/organizer/contests/micro-video"


def sheet_xml(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {
            name: archive.read(name).decode("utf-8")
            for name in archive.namelist()
            if name.startswith("xl/worksheets/") and name.endswith(".xml")
        }


def assert_no_formula(data: bytes) -> None:
    sheets = sheet_xml(data)
    assert sheets
    for name, xml in sheets.items():
        assert "<f>" not in xml and "<f " not in xml and 't="f"' not in xml, name


def as_read(text: str) -> str:
    """A text as an XML reader returns it: a raw carriage return comes back as a line feed."""
    return text.replace("\r", "\n")


def column_cells(data: bytes, sheet_name: str, header: str) -> list:  # type: ignore[type-arg]
    sheet = load_workbook(io.BytesIO(data))[sheet_name]
    headers = [cell.value for cell in sheet[1]]
    column = headers.index(header) + 1
    return [sheet.cell(row=row, column=column) for row in range(2, sheet.max_row + 1)]


def assert_text_cells(cells: list, expected: list[str]) -> None:  # type: ignore[type-arg]
    assert sorted(cell.value for cell in cells) == sorted(as_read(text) for text in expected)
    assert all(cell.data_type == "s" and cell.quotePrefix for cell in cells)


def assert_csv_cells_are_inert(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not cell.startswith(TRIGGERS), (cell, row)


@pytest.fixture
def titles(app: Flask, users: dict[str, int], short_video: Path) -> dict[str, str]:
    """Six micro-video entries in review, titled and themed with formulas, scored by three judges:
    totals 70 … 75 (content 30 + i, form 20, influence 20). Returns entry code → title."""
    with app.app_context():
        for username, organization in ENTRANTS[2:]:
            create_user(username, Role.ENTRANT, organization)
        db.session.scalar(select(User).where(User.username == "entrant-a")).username = RENAMED
        db.session.commit()
        codes: dict[str, str] = {}
        for index, (username, _organization) in enumerate(ENTRANTS):
            entry = submitted_video_entry(app, RENAMED if index == 0 else username, short_video)
            entry.title = FORMULAS[index]
            entry.fields = {"theme": FORMULAS[index], "published_url": FORMULAS[-1 - index]}
            codes[entry.code] = FORMULAS[index]
        db.session.commit()
        contest = db.session.scalar(select(Contest).where(Contest.slug == "micro-video"))
        contests.change_phase(db.session, None, contest, Phase.REVIEW)  # type: ignore[arg-type]
        judges = [create_user(f"expert{n}", Role.JUDGE) for n in (1, 2, 3)]
        entries = list(db.session.scalars(select(Entry).order_by(Entry.id)))
        for judge in judges:
            db.session.add(PanelMember(contest=contest, judge=judge))  # panel membership is access
            for entry in entries:
                db.session.add(Assignment(entry=entry, judge=judge))
        db.session.commit()
        for judge in judges:
            for offset, entry in enumerate(entries):
                assignment = db.session.scalar(
                    select(Assignment).where(Assignment.entry == entry, Assignment.judge == judge)
                )
                save_sheet(
                    db.session,
                    judge,
                    assignment,
                    scores={"content": 30 + offset, "form": 20, "influence": 20},
                    checks={"ip_characters": True, "duration": True},
                    submit=True,
                )
        db.session.commit()
        return codes


def test_entry_list_writes_formula_titles_and_fields_as_text(client_for, titles: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    data = client_for("organizer").get(f"{CONTEST}/entries.xlsx").get_data()

    assert_no_formula(data)
    sheet = load_workbook(io.BytesIO(data)).sheetnames[0]
    assert_text_cells(column_cells(data, sheet, "标题"), FORMULAS)
    assert_text_cells(column_cells(data, sheet, "作品主题"), FORMULAS)
    assert_text_cells(column_cells(data, sheet, "发布链接"), FORMULAS)
    (xml,) = sheet_xml(data).values()
    assert '<is><t>=HYPERLINK("http://x","y")</t></is>' in xml.replace("&quot;", '"')


def test_results_download_writes_formula_titles_as_text_and_scores_as_numbers(
    client_for,  # type: ignore[no-untyped-def]
    titles: dict[str, str],
) -> None:
    with client_for("organizer").get(f"{CONTEST}/results.xlsx") as response:  # made by a job, sent from storage
        data = response.get_data()

    assert_no_formula(data)
    assert_text_cells(column_cells(data, "排名", "标题"), FORMULAS)
    scores = column_cells(data, "排名", "总成绩")
    assert [(cell.value, cell.data_type, cell.number_format) for cell in scores] == [
        (75, "n", "0.00"),
        (74, "n", "0.00"),
        (73, "n", "0.00"),
        (72, "n", "0.00"),
        (71, "n", "0.00"),
        (70, "n", "0.00"),
    ]
    ranking = pd.read_excel(io.BytesIO(data), sheet_name="排名", dtype=object)
    assert ranking["总成绩"].tolist() == [75, 74, 73, 72, 71, 70]
    assert ranking["标题"].tolist() == [as_read(text) for text in reversed(FORMULAS)]


def _freeze(client) -> None:  # type: ignore[no-untyped-def]
    token = csrf_token(client, f"{CONTEST}/publication")
    done = client.post(f"{CONTEST}/freeze", data={"publicity_days": "5", "csrf_token": token})
    assert done.status_code == 302


def test_award_list_xlsx_and_csv_write_formula_titles_as_text(client_for, titles: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    organizer = client_for("organizer")
    _freeze(organizer)

    xlsx = organizer.get(f"{CONTEST}/snapshots/1/award-list.xlsx")
    assert xlsx.status_code == 200
    assert_no_formula(xlsx.data)
    first = load_workbook(io.BytesIO(xlsx.data)).sheetnames[0]
    assert_text_cells(column_cells(xlsx.data, first, "作品名称"), FORMULAS)
    score = column_cells(xlsx.data, first, "总成绩")[0]
    assert (score.value, score.data_type, score.number_format) == (75, "n", "0.00")

    response = organizer.get(f"{CONTEST}/snapshots/1/award-list.csv")
    assert response.status_code == 200
    assert response.data.startswith(b"\xef\xbb\xbf") and b"\r\n" in response.data
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))
    header, body = rows[0], rows[1:]
    assert_csv_cells_are_inert(body)
    titles_column = [row[header.index("作品名称")] for row in body]
    assert sorted(titles_column) == sorted("'" + text for text in FORMULAS)
    assert [row[header.index("总成绩")] for row in body] == ["75.00", "74.00", "73.00", "72.00", "71.00", "70.00"]


def test_audit_csv_writes_a_formula_account_name_as_text(client_for, titles: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    with client_for("organizer").get("/organizer/audit.csv") as response:
        body = response.get_data()

    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    header, events = rows[0], rows[1:]
    assert_csv_cells_are_inert(events)
    actors = {row[header.index("actor")] for row in events}
    assert "'" + RENAMED in actors and RENAMED not in actors
    assert {row[header.index("action")] for row in events if row[header.index("actor")] == "'" + RENAMED} >= {
        "entry.create",
        "entry.submit",
    }


# --- the certification list of a skills competition ----------------------------------------------


def _imported_parts_rubric(app: Flask) -> None:
    """The shipped ISG rubric without its judged part (theory 30 % + practical 70 %, both imported)."""
    text = imported_parts_only((ROOT / "rubrics" / "isg_skills.toml").read_text(encoding="utf-8"))
    with app.app_context():
        contests.sync_rubric(db.session, None, parse_rubric(text, "isg_imported.toml"))
        db.session.commit()


def test_certification_list_writes_formula_names_as_text(app: Flask, client_for, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _imported_parts_rubric(app)
    company = "测试企业00"
    roster = tmp_path / "roster.csv"
    pd.DataFrame(
        [
            {"编号": f"C{n}", "姓名": f"选手{n}", "单位": company, "申报等级": "四级/中级工", "身份证号": ""}
            for n in range(1, 7)
        ]
    ).to_csv(roster, index=False, encoding="utf-8-sig")
    scores = tmp_path / "scores.csv"
    pd.DataFrame(
        [{"编号": f"C{n}", "项目": part, "成绩": 70 + n} for n in range(1, 7) for part in ("theory", "practical")]
    ).to_csv(scores, index=False, encoding="utf-8-sig")
    with app.app_context():
        organizations.seed_organizations(db.session, [{"name": company, "kind": "company"}])
        organizer = db.session.scalar(select(User).where(User.role == Role.ORGANIZER))
        contest = db.session.scalar(select(Contest).where(Contest.slug == "isg-skills"))
        skills.import_roster(db.session, organizer, contest, roster, "roster.csv")
        skills.import_part_scores(db.session, organizer, contest, scores, "scores.csv")
        for contestant in db.session.scalars(select(Contestant).order_by(Contestant.number)):
            contestant.name = FORMULAS[int(contestant.number[1:]) - 1]
        db.session.commit()

    with client_for("organizer").get("/organizer/contests/isg-skills/certificates.xlsx") as response:
        assert response.status_code == 200
        data = response.get_data()

    assert_no_formula(data)
    sheet = load_workbook(io.BytesIO(data)).sheetnames[0]
    assert_text_cells(column_cells(data, sheet, "姓名"), FORMULAS)
    finals = column_cells(data, sheet, "总成绩")
    assert [(cell.value, cell.data_type, cell.number_format) for cell in finals] == [
        (76, "n", "0.00"),
        (75, "n", "0.00"),
        (74, "n", "0.00"),
        (73, "n", "0.00"),
        (72, "n", "0.00"),
        (71, "n", "0.00"),
    ]
    assert re.fullmatch(r"[A-Z]+", sheet) is None  # the translated title, not openpyxl's default
