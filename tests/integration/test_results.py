"""The organiser's results preview: computed from the submitted sheets, explained, downloadable.

The micro-video rubric ranks by the trimmed mean of the sheet totals (trim 1, min_judges 3, two
decimals, tie-break content then influence; 一等奖 ×1, 二等奖 ×3, 三等奖 ×5, 优秀奖 from 70) and
excludes an entry whose duration check is not passed by every judge. The sheets below, by judges
J1–J4 (accounts expert1–expert4, shown as Expert1–Expert4; a sheet total is content + form +
influence), give by hand:

- A: 90, 88, 80, 70 → drop 70 and 90 → (80 + 88) / 2 = 84.00
- B: 86, 83, 83, 95 → drop 83 and 95 → (83 + 86) / 2 = 84.50
- C: 75, 76, 77, 78 → (76 + 77) / 2 = 76.50
- D: 60, 62.5, 61, 64 → (61 + 62.5) / 2 = 61.75
- E: 50 from everyone, but J2 answered "no" to the duration check (rule: all) → excluded

So B 1 一等奖, A 2 二等奖, C 3 二等奖, D 4 二等奖. J5's draft for A (100 points) is not counted:
counted, it would put A first with (80 + 88 + 90) / 3 = 86.00. Leaving J3 out, A has 88 (its
middle of 90, 88, 70) and B 86: A would be first; leaving J4 out, A 88 and B 83: the same. So the
一等奖 hinges on J3 and J4, and C's and D's 二等奖 on nobody.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from flask import Flask
from flask_babel import force_locale

from judging.extensions import db
from judging.models import Contest
from judging.result_words import sheet_fate_label
from judging.rubric import parse_rubric
from judging.scoring.rules import SheetFate
from judging.services import contests
from judging.services.results import compute_results
from tests.scenarios import seed_review_contest

URL = "/organizer/contests/micro-video/results"


@pytest.fixture
def codes(app: Flask, users: dict[str, int], short_video: Path) -> dict[str, str]:
    with app.app_context():
        return seed_review_contest(app, short_video)


def _rows(html: str) -> list[tuple[str, str, str, str]]:
    """(entry, rank, final score, award) of each ranked row, in page order."""
    table = html.split('class="table table-sm align-middle results-table"', 1)[1].split("</table>", 1)[0]
    rows = []
    for row in re.findall(r'<tr data-entry="([^"]+)">(.*?)</tr>', table, flags=re.S):
        entry, cells = row
        rank = re.search(r'class="text-end rank">(\d+)<', cells).group(1)
        score = re.search(r'final-score fw-semibold">([\d.]+)<', cells).group(1)
        award = re.search(r'class="award">([^<]*)', cells).group(1).strip()
        rows.append((entry, rank, score, award))
    return rows


def test_results_page_shows_the_hand_computed_ranking(client_for, codes: dict[str, str]) -> None:
    with client_for("organizer").get(URL) as page:
        html = page.get_data(as_text=True)

    assert page.status_code == 200
    assert _rows(html) == [
        (codes["B"], "1", "84.50", "一等奖"),
        (codes["A"], "2", "84.00", "二等奖"),
        (codes["C"], "3", "76.50", "二等奖"),
        (codes["D"], "4", "61.75", "二等奖"),
    ]
    assert "预览" in html and "不是最终结果" in html
    # A's criterion aggregates: content (34 + 36) / 2, form (24 + 27) / 2, influence (22 + 25) / 2.
    row_a = re.search(rf'<tr data-entry="{codes["A"]}">(.*?)</tr>', html, flags=re.S).group(1)
    assert re.findall(r'<td class="text-end">([\d.]+)</td>', row_a) == ["35.00", "25.50", "23.50", "4"]
    # The organiser sees who made it, beside the blind code.
    assert "浦东新区 · 作品A" in row_a
    # The explanation shows A's arithmetic and which sheets were dropped.
    explanation = html.split(f'id="explain-{codes["A"]}"', 1)[1].split("</details>", 1)[0]
    assert "(88 + 80) / 2 = 84 → 84.00" in explanation
    assert explanation.count("去掉（最高分）") == 1 and explanation.count("去掉（最低分）") == 1


def test_failed_check_excludes_an_entry_with_its_reason(client_for, codes: dict[str, str]) -> None:
    with client_for("organizer").get(URL) as page:
        html = page.get_data(as_text=True)

    not_ranked = html.split('class="table table-sm not-ranked"', 1)[1].split("</table>", 1)[0]
    assert f'data-entry="{codes["E"]}"' in not_ranked
    assert "未通过检查项“作品时长在3分钟以内”（规则：全部）：4 位评委中 3 位答“通过”。" in not_ranked


def test_draft_sheets_are_not_counted(app: Flask, client_for, codes: dict[str, str]) -> None:
    with client_for("organizer").get(URL) as page:
        html = page.get_data(as_text=True)

    assert "1 份草稿评分表未计入" in html
    explanation = html.split(f'id="explain-{codes["A"]}"', 1)[1].split("</details>", 1)[0]
    assert "Expert5" not in explanation
    assert explanation.count("<tr class=") == 4  # the four submitted sheets, not Expert5's draft


def test_award_that_hinges_on_one_judge_is_flagged(client_for, codes: dict[str, str]) -> None:
    with client_for("organizer").get(URL) as page:
        html = page.get_data(as_text=True)

    robustness = html.split('id="robustness"', 1)[1].split("</section>", 1)[0]
    flagged = re.findall(r'<li class="alert alert-danger py-2 mb-2" data-entry="([^"]+)">', robustness)
    assert flagged == [codes["B"], codes["A"]]
    assert "去掉 Expert3 后将获得 二等奖（第 2 名，86.00）" in robustness
    row_b = re.search(rf'<tr data-entry="{codes["B"]}">(.*?)</tr>', html, flags=re.S).group(1)
    assert "取决于 Expert3、Expert4" in row_b  # names listed with the Chinese enumeration comma
    row_c = re.search(rf'<tr data-entry="{codes["C"]}">(.*?)</tr>', html, flags=re.S).group(1)
    assert "取决于" not in row_c


def test_results_xlsx_round_trips_with_the_same_numbers(client_for, codes: dict[str, str]) -> None:
    with client_for("organizer").get(URL + ".xlsx") as download:
        data = download.data

    assert download.status_code == 200
    assert download.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    workbook = pd.read_excel(io.BytesIO(data), sheet_name=None, dtype=object)
    assert list(workbook) == ["排名", "评分表", "信度", "评委宽严", "稳健性"]
    ranking = workbook["排名"]
    assert ranking[["名次", "作品编号", "单位", "总成绩", "奖项"]].values.tolist()[:4] == [
        [1, codes["B"], "黄浦区", 84.5, "一等奖"],
        [2, codes["A"], "浦东新区", 84.0, "二等奖"],
        [3, codes["C"], "徐汇区", 76.5, "二等奖"],
        [4, codes["D"], "闵行区", 61.75, "二等奖"],
    ]
    excluded = ranking.iloc[4]
    assert excluded["作品编号"] == codes["E"] and pd.isna(excluded["名次"]) and pd.isna(excluded["总成绩"])
    sheets = workbook["评分表"]
    assert len(sheets) == 20  # five entries × four submitted sheets; Expert5's draft is not there
    a_totals = sheets[sheets["作品编号"] == codes["A"]].set_index("评审专家")["评分表总分"].to_dict()
    assert a_totals == {"Expert1": 90, "Expert2": 88, "Expert3": 80, "Expert4": 70}
    judges = workbook["评委宽严"]
    assert judges["评审专家"].tolist() == ["Expert1", "Expert2", "Expert3", "Expert4"]
    assert judges["评分表数"].tolist() == [5, 5, 5, 5]
    robustness = workbook["稳健性"]
    assert robustness[robustness["作品编号"] == codes["B"]]["去掉的评委"].tolist() == ["Expert3", "Expert4"]


def test_results_are_for_organisers_only(client_for, codes: dict[str, str]) -> None:
    for username in ("judge", "entrant-a"):
        client = client_for(username)
        with client.get(URL) as page:
            assert page.status_code == 403
        with client.get(URL + ".xlsx") as download:
            assert download.status_code == 403


def test_results_page_without_sheets_says_so(client_for, users: dict[str, int]) -> None:
    with client_for("organizer").get(URL) as page:
        html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="no-results"' in html
    with client_for("organizer").get(URL + ".xlsx") as download:
        assert download.status_code == 302


def test_contest_page_links_to_the_results(client_for, users: dict[str, int]) -> None:
    with client_for("organizer").get("/organizer/contests/micro-video") as page:
        assert f'href="{URL}"' in page.get_data(as_text=True)


def test_skills_contest_has_no_panel_results(client_for, users: dict[str, int]) -> None:
    with client_for("organizer").get("/organizer/contests/isg-skills/results") as page:
        assert page.status_code == 302
        assert page.headers["Location"].endswith("/organizer/contests/isg-skills")


def test_scores_are_exact_decimals_in_the_engine_table(app: Flask, codes: dict[str, str]) -> None:
    with app.test_request_context():
        contest = db.session.scalar(db.select(Contest).where(Contest.slug == "micro-video"))
        computed = compute_results(db.session, contest)
        assert computed.ranking.table["final_score"].tolist() == [
            Decimal("84.50"),
            Decimal("84.00"),
            Decimal("76.50"),
            Decimal("61.75"),
        ]
        assert computed.sheets_counted == 20 and computed.sheets_not_counted == 1


def _fates(html: str, code: str) -> list[tuple[str, str]]:
    """(machine word, shown words) of each sheet's fate in an entry's explanation."""
    explanation = html.split(f'id="explain-{code}"', 1)[1].split("</details>", 1)[0]
    return re.findall(r'<td data-fate="([a-z_]+)"><span class="fate">([^<]+)</span>', explanation)


def _rubric_version(change) -> None:  # type: ignore[no-untyped-def]
    text = change(Path("rubrics/micro_video.toml").read_text(encoding="utf-8"))
    contests.sync_rubric(db.session, None, parse_rubric(text, "rubrics/micro_video.toml"))
    db.session.commit()


@pytest.mark.parametrize(
    ("query", "words"),
    [
        (
            "",
            {
                "counted": "计入",
                "trimmed_low": "去掉（最低分）",
                "trimmed_high": "去掉（最高分）",
                "outside_median": "未计入：不在中位数上",
                "incomplete": "去掉（评分表不完整）",
            },
        ),
        (
            "?lang=en",
            {
                "counted": "counted",
                "trimmed_low": "dropped: trimmed (lowest)",
                "trimmed_high": "dropped: trimmed (highest)",
                "outside_median": "not counted: outside the median",
                "incomplete": "dropped: incomplete sheet",
            },
        ),
    ],
)
def test_each_sheet_fate_is_shown_in_the_users_language(
    app: Flask, client_for, users: dict[str, int], short_video: Path, query: str, words: dict[str, str]
) -> None:
    organizer = client_for("organizer")
    with app.app_context():
        codes = seed_review_contest(app, short_video)
    # A's totals 90, 88, 80, 70 (expert1–expert4): the trimmed mean drops 70 and 90.
    with organizer.get(URL + query) as page:
        trimmed = _fates(page.get_data(as_text=True), codes["A"])
    assert [fate for fate, _shown in trimmed] == ["trimmed_high", "counted", "counted", "trimmed_low"]
    shown = {fate: text.strip() for fate, text in trimmed}
    assert shown == {fate: words[fate] for fate in ("trimmed_high", "counted", "trimmed_low")}
    # A submitted sheet lacks no criterion of its own rubric version (versions are frozen once sheets exist),
    # so an incomplete sheet comes only from score tables (flask rank); its words are the same labels.
    with app.test_request_context(), force_locale("en" if query else "zh_CN"):
        assert sheet_fate_label(SheetFate.INCOMPLETE) == words["incomplete"]
        assert sheet_fate_label(SheetFate.OUTSIDE_MEDIAN) == words["outside_median"]


def test_the_median_fate_is_shown_in_the_users_language(
    app: Flask, client_for, users: dict[str, int], short_video: Path
) -> None:
    """The median of four sheets counts only the middle two (A: 88 and 80); the rubric says median
    before any sheet exists, as a rubric in use cannot change."""
    organizer = client_for("organizer")
    with app.app_context():
        _rubric_version(lambda text: text.replace('"trimmed_mean"\ntrim = 1', '"median"'))
        codes = seed_review_contest(app, short_video)
    for query, outside in (("", "未计入：不在中位数上"), ("?lang=en", "not counted: outside the median")):
        with organizer.get(URL + query) as page:
            median = _fates(page.get_data(as_text=True), codes["A"])
        assert [fate for fate, _shown in median] == ["outside_median", "counted", "counted", "outside_median"]
        assert median[0][1].strip() == outside
