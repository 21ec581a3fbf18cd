"""A skills competition through the organiser's pages: roster and score imports (all or nothing,
row-numbered refusals, preview before writing), ranking, collectives and the certification list."""

from __future__ import annotations

import io
import random
import re

import pandas as pd
from flask import Flask
from flask.testing import FlaskClient

from judging.extensions import db
from judging.models import Contestant, PartScore
from judging.rubric import parse_rubric
from judging.services import contests, organizations
from tests.conftest import ROOT, csrf_token
from tests.scenarios import imported_parts_only

COMPANIES = [f"测试企业{i:02d}" for i in range(24)]


def _add_companies(app: Flask) -> None:
    with app.app_context():
        organizations.seed_organizations(db.session, [{"name": name, "kind": "company"} for name in COMPANIES])
        db.session.commit()


def _only_imported_parts(app: Flask) -> None:
    """Give the contest a rubric version whose parts all come from the platform (tests of the imports)."""
    with app.app_context():
        text = imported_parts_only((ROOT / "rubrics" / "isg_skills.toml").read_text(encoding="utf-8"))
        contests.sync_rubric(db.session, None, parse_rubric(text, "isg_imported.toml"))
        db.session.commit()


def _roster(rng: random.Random, size: int) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "编号": f"ISG{n:04d}",
                "姓名": f"选手{n:04d}",
                "单位": rng.choice(COMPANIES),
                "代表队": "",
                "申报等级": rng.choice(["二级/技师", "三级/高级工", "四级/中级工", ""]),
                "身份证号": f"{rng.randrange(10**16, 10**17)}{rng.choice('0123456789X')}",
            }
            for n in range(1, size + 1)
        ]
    )


def _upload(client: FlaskClient, url: str, frame: pd.DataFrame, name: str, form_page: str):  # type: ignore[no-untyped-def]
    buffer = io.BytesIO()
    if name.endswith(".xlsx"):
        frame.to_excel(buffer, index=False)
    else:
        buffer.write(frame.to_csv(index=False).encode("utf-8-sig"))
    buffer.seek(0)
    token = csrf_token(client, form_page)
    return client.post(url, data={"file": (buffer, name), "csrf_token": token}, content_type="multipart/form-data")


PAGE = "/organizer/contests/isg-skills/contestants"


def test_roster_import_of_hundreds_of_contestants_masks_identity_numbers(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    _add_companies(app)
    client = client_for("organizer")
    roster = _roster(random.Random(1), 300)
    response = _upload(client, "/organizer/contests/isg-skills/contestants/roster", roster, "名单.xlsx", PAGE)
    assert response.status_code == 302
    page = client.get(PAGE).get_data(as_text=True)
    assert "已新增 300 名选手，更新 0 名。" in page
    first_id = roster["身份证号"].iloc[0]
    assert first_id not in page
    assert f"{first_id[:3]}***********{first_id[-4:]}" in page
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Contestant.id))) == 300


def test_one_bad_roster_row_imports_nothing_and_names_the_row(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    _add_companies(app)
    client = client_for("organizer")
    roster = _roster(random.Random(2), 50)
    roster.loc[36, "单位"] = "不存在的公司"
    response = _upload(client, "/organizer/contests/isg-skills/contestants/roster", roster, "名单.csv", PAGE)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "名单.csv，第 38 行：未知单位“不存在的公司”。" in page
    assert "未导入任何数据。" in page
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Contestant.id))) == 0


def test_scores_are_previewed_then_written_and_ties_break_by_time(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    _add_companies(app)
    _only_imported_parts(app)
    client = client_for("organizer")
    roster = pd.DataFrame(
        [
            {"编号": f"C{n}", "姓名": f"选手{n}", "单位": COMPANIES[n % 3], "申报等级": "三级/高级工"}
            for n in range(1, 7)
        ]
    )
    _upload(client, "/organizer/contests/isg-skills/contestants/roster", roster, "名单.csv", PAGE)
    marks = {
        "C1": (90, 90, 3000),
        "C2": (90, 90, 2400),
        "C3": (80, 70, 3000),
        "C4": (60, 60, 3000),
        "C5": (85.5, 77.25, 3000),
        "C6": (50, 40, 3000),
    }
    scores = pd.DataFrame(
        [
            row
            for number, (theory, practical, seconds) in marks.items()
            for row in (
                {"选手编号": number, "项目": "理论知识", "成绩": theory, "用时": seconds // 2},
                {"选手编号": number, "项目": "practical", "成绩": practical, "用时": seconds // 2},
            )
        ]
    )
    preview = _upload(client, "/organizer/contests/isg-skills/scores/preview", scores, "成绩.xlsx", PAGE)
    text = preview.get_data(as_text=True)
    assert "成绩.xlsx：将写入 12 个成绩，0 个未变。" in text
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(PartScore.id))) == 0  # a preview writes nothing
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', text).group(1)
    done = client.post(
        "/organizer/contests/isg-skills/scores/confirm", data={"token": token, "csrf_token": csrf_token(client, PAGE)}
    )
    assert done.status_code == 302
    ranking = client.get("/organizer/contests/isg-skills/skills-results").get_data(as_text=True)
    order = re.findall(r'<tr data-number="(C\d)"><td>(\d+)</td>', ranking)
    assert order == [("C2", "1"), ("C1", "2"), ("C5", "3"), ("C3", "4"), ("C4", "5"), ("C6", "6")]
    assert ">79.73<" in ranking  # C5: 0.3 × 85.5 + 0.7 × 77.25 = 25.65 + 54.075 = 79.725 → 79.73 (half up)
    # C1 and C2 tie on every score: C2 used less time. Certificates need a declared level covering them.
    assert ranking.count("三级/高级工") == 4  # C2, C1 (90.00), C5 (79.73) and C3 (73.00) reach level 3 (70)


def test_score_import_with_an_unknown_number_writes_nothing(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    _add_companies(app)
    client = client_for("organizer")
    roster = pd.DataFrame([{"编号": "C1", "姓名": "选手1", "单位": COMPANIES[0]}])
    _upload(client, "/organizer/contests/isg-skills/contestants/roster", roster, "名单.csv", PAGE)
    scores = pd.DataFrame(
        [
            {"选手编号": "C1", "项目": "theory", "成绩": "88"},
            {"选手编号": "C9", "项目": "theory", "成绩": "77"},
            {"选手编号": "C1", "项目": "practical", "成绩": "101"},
        ]
    )
    response = _upload(client, "/organizer/contests/isg-skills/scores/preview", scores, "成绩.csv", PAGE)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "成绩.csv，第 3 行：没有编号为“C9”的选手。" in page
    assert "成绩.csv，第 4 行：成绩 101 超出 0 到 100 的范围。" in page
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(PartScore.id))) == 0


def test_certification_list_has_full_identity_numbers_for_organisers_only(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    _add_companies(app)
    _only_imported_parts(app)
    client = client_for("organizer")
    roster = pd.DataFrame(
        [
            {
                "编号": "C1",
                "姓名": "甲",
                "单位": COMPANIES[0],
                "申报等级": "四级/中级工",
                "身份证号": "11010119900101123X",
            },
            {"编号": "C2", "姓名": "乙", "单位": COMPANIES[0], "申报等级": "", "身份证号": "110101199001011244"},
        ]
    )
    _upload(client, "/organizer/contests/isg-skills/contestants/roster", roster, "名单.csv", PAGE)
    scores = pd.DataFrame([{"编号": n, "项目": p, "成绩": "75"} for n in ("C1", "C2") for p in ("theory", "practical")])
    text = _upload(client, "/organizer/contests/isg-skills/scores/preview", scores, "s.csv", PAGE).get_data(
        as_text=True
    )
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', text).group(1)
    client.post(
        "/organizer/contests/isg-skills/scores/confirm", data={"token": token, "csrf_token": csrf_token(client, PAGE)}
    )
    with client.get("/organizer/contests/isg-skills/certificates.xlsx") as response:
        assert response.status_code == 200
        sheet = pd.read_excel(io.BytesIO(response.get_data()), dtype=str)
    assert sheet.to_dict("records") == [
        {
            "编号": "C1",
            "姓名": "甲",
            "身份证号": "11010119900101123X",
            "单位": COMPANIES[0],
            "总成绩": "75",
            "名次": "1",
            "证书等级": "四级/中级工",
        }
    ]
    assert client_for("judge").get("/organizer/contests/isg-skills/certificates.xlsx").status_code == 403


def test_the_contestants_list_pages_by_a_hundred(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    """Hundreds of contestants register for a vocational contest: the list shows a hundred at a time, in
    number order, and says which; a page past the last is refused with a message."""
    _add_companies(app)
    client = client_for("organizer")
    roster = _roster(random.Random(3), 230)
    _upload(client, "/organizer/contests/isg-skills/contestants/roster", roster, "名单.xlsx", PAGE)
    numbers = sorted(str(number) for number in roster["编号"])
    first = client.get(PAGE).get_data(as_text=True)
    assert "共 230 名选手，显示第 1–100 名" in first
    assert re.findall(r'<tr data-number="([^"]+)"', first) == numbers[:100]
    assert f'href="{PAGE}?page=3"' in first and 'rel="next"' in first and 'rel="prev"' not in first
    last = client.get(f"{PAGE}?page=3").get_data(as_text=True)
    assert "共 230 名选手，显示第 201–230 名" in last
    assert re.findall(r'<tr data-number="([^"]+)"', last) == numbers[200:]
    assert "已生成实操任务 0 个，共需 230 个。" in last  # the task count is of every contestant, not the page's
    beyond = client.get(f"{PAGE}?page=4")
    assert beyond.status_code == 404 and "页面不存在" in beyond.get_data(as_text=True)
    typed = client.get(f"{PAGE}?page=x").get_data(as_text=True)  # not a number: the first page
    assert re.findall(r'<tr data-number="([^"]+)"', typed) == numbers[:100]
