"""Skills imports as organisers use them: the theory exam comes without times and the practical tasks with
them (the time tie-break must still apply), templates to fill for the roster and each part, and a preview
that speaks in the rubric's labels."""

from __future__ import annotations

import io
import re

import openpyxl
import pandas as pd
from flask import Flask
from flask.testing import FlaskClient

from judging.extensions import db
from judging.models import Contestant, PartScore
from judging.rubric import parse_rubric
from judging.services import contests, organizations
from tests.conftest import ROOT, csrf_token
from tests.scenarios import imported_parts_only

PAGE = "/organizer/contests/isg-skills/contestants"
COMPANIES = ("模板企业甲", "模板企业乙")


def _imported_parts_contest(app: Flask) -> None:
    with app.app_context():
        organizations.seed_organizations(db.session, [{"name": name, "kind": "company"} for name in COMPANIES])
        text = imported_parts_only((ROOT / "rubrics" / "isg_skills.toml").read_text(encoding="utf-8"))
        contests.sync_rubric(db.session, None, parse_rubric(text, "isg_imported.toml"))
        db.session.commit()


def _send(client: FlaskClient, url: str, content: bytes, name: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client, PAGE)
    return client.post(
        url, data={"file": (io.BytesIO(content), name), "csrf_token": token}, content_type="multipart/form-data"
    )


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8-sig")


def _import_scores(client: FlaskClient, content: bytes, name: str) -> str:
    preview = _send(client, "/organizer/contests/isg-skills/scores/preview", content, name).get_data(as_text=True)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', preview).group(1)
    done = client.post(
        "/organizer/contests/isg-skills/scores/confirm", data={"token": token, "csrf_token": csrf_token(client, PAGE)}
    )
    assert done.status_code == 302
    return preview


def test_times_of_the_practical_part_alone_break_ties(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    _imported_parts_contest(app)
    client = client_for("organizer")
    roster = pd.DataFrame([{"编号": f"T{n}", "姓名": f"选手{n}", "单位": COMPANIES[n % 2]} for n in range(1, 5)])
    _send(client, "/organizer/contests/isg-skills/contestants/roster", _csv(roster), "名单.csv")
    theory = pd.DataFrame([{"选手编号": f"T{n}", "项目": "理论知识", "成绩": 90} for n in range(1, 5)])  # no 用时
    practical = pd.DataFrame(
        [
            {"选手编号": "T1", "项目": "实操技能", "成绩": 90, "用时": 2400},
            {"选手编号": "T2", "项目": "实操技能", "成绩": 90, "用时": 1500},
            {"选手编号": "T3", "项目": "实操技能", "成绩": 90, "用时": None},  # not timed: after the timed
            {"选手编号": "T4", "项目": "实操技能", "成绩": 90, "用时": 3000},
        ]
    )
    practical["用时"] = practical["用时"].astype("Int64")  # whole seconds, one cell left empty
    _import_scores(client, _csv(theory), "理论.csv")
    _import_scores(client, _csv(practical), "实操.csv")
    with app.app_context():
        times = dict(
            db.session.execute(
                db.select(PartScore.part, db.func.count(PartScore.time_used_seconds)).group_by(PartScore.part)
            ).all()
        )
        assert times == {"theory": 0, "practical": 3}
    ranking = client.get("/organizer/contests/isg-skills/skills-results").get_data(as_text=True)
    rows = re.findall(
        r'<tr data-number="(T\d)"><td>(\d+)</td>.*?<td class="text-end">([^<]+)</td>\s*<td class="text-end fw-bold">',
        ranking,
        re.S,
    )
    assert rows == [("T2", "1", "1500"), ("T1", "2", "2400"), ("T4", "3", "3000"), ("T3", "4", "—")]


def test_the_preview_shows_part_labels_and_full_names(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    _imported_parts_contest(app)
    client = client_for("organizer")
    roster = pd.DataFrame([{"编号": "P1", "姓名": "王一", "单位": COMPANIES[0]}])
    _send(client, "/organizer/contests/isg-skills/contestants/roster", _csv(roster), "名单.csv")
    scores = pd.DataFrame([{"选手编号": "P1", "项目": "practical", "成绩": 88.5, "用时": 1200}])
    html = _send(client, "/organizer/contests/isg-skills/scores/preview", _csv(scores), "成绩.csv").get_data(
        as_text=True
    )
    assert "<td>王一</td><td>实操技能</td>" in html and "<td>practical</td>" not in html
    assert "<th>姓名</th>" in html and "名称" not in html


def test_templates_fill_in_and_import(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    _imported_parts_contest(app)
    client = client_for("organizer")
    page = client.get(PAGE).get_data(as_text=True)
    assert 'id="roster-template"' in page and 'data-scores-template="theory"' in page
    assert 'data-scores-template="practical"' in page

    response = client.get("/organizer/contests/isg-skills/contestants/roster-template.xlsx")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    roster = book.worksheets[0]
    assert [cell.value for cell in roster[1]] == ["编号", "姓名", "单位", "代表队", "申报等级", "身份证号"]
    assert roster.max_row == 1
    explained = {row[0]: row[1] for row in book.worksheets[1].iter_rows(min_row=2, values_only=True)}
    assert "三级/高级工" in explained["申报等级"]
    roster.append(["M1", "张三", COMPANIES[0], "", "三级/高级工", ""])
    roster.append(["M2", "李四", COMPANIES[1], "", "", ""])
    filled = io.BytesIO()
    book.save(filled)
    _send(client, "/organizer/contests/isg-skills/contestants/roster", filled.getvalue(), "名单.xlsx")
    with app.app_context():
        assert sorted(db.session.scalars(db.select(Contestant.name))) == ["张三", "李四"]

    part = client.get("/organizer/contests/isg-skills/scores-template/practical.xlsx")
    assert part.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(part.data))
    sheet = book.worksheets[0]
    assert sheet.title == "实操技能"
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [
        ["选手编号", "项目", "成绩", "用时（秒）"],
        ["M1", "实操技能", None, None],
        ["M2", "实操技能", None, None],
    ]
    sheet["C2"], sheet["D2"], sheet["C3"] = 91.5, 1800, 77
    filled = io.BytesIO()
    book.save(filled)
    _import_scores(client, filled.getvalue(), "实操.xlsx")
    with app.app_context():
        written = db.session.execute(
            db.select(Contestant.number, PartScore.value, PartScore.time_used_seconds)
            .join(PartScore.contestant)
            .order_by(Contestant.number)
        ).all()
        assert [(number, str(value), seconds) for number, value, seconds in written] == [
            ("M1", "91.50", 1800),
            ("M2", "77.00", None),
        ]


def test_templates_of_unknown_or_judged_parts_are_not_found(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")  # the shipped rubric: operations is scored by the judges
    assert client.get("/organizer/contests/isg-skills/scores-template/operations.xlsx").status_code == 404
    assert client.get("/organizer/contests/isg-skills/scores-template/nothing.xlsx").status_code == 404
    assert client.get("/organizer/contests/micro-video/scores-template/theory.xlsx").status_code == 404
    assert client_for("judge").get("/organizer/contests/isg-skills/contestants/roster-template.xlsx").status_code in (
        302,
        403,
        404,
    )
