"""Ceremony programmes: the award holders of each ceremony's contests, read from their frozen results.

The opening ceremony has the micro-video contest (test_results.py's sheets: B 一等奖, A, C, D 二等奖)
and the ISG skills competition, here with a small rubric of its own (theory 30 % + practical 70 %, both
imported; 一等奖 ×1, 二等奖 ×2, 三等奖 ×2; 优秀集体: the sum of an organisation's best two, at least
two contestants, two honoured) and this roster, final score = 0.3 × theory + 0.7 × practical:

=====  ====  =========  ======  =========  =====================  =======
 no.   name  company    theory  practical  final                  award
=====  ====  =========  ======  =========  =====================  =======
 S01   王一  测试企业甲     90        95     27 + 66.5 = 93.50     一等奖
 S02   李二  测试企业乙     80        90     24 + 63   = 87.00     二等奖
 S03   张三  测试企业甲     85        80   25.5 + 56   = 81.50     二等奖
 S04   赵四  测试企业丙     70        85     21 + 59.5 = 80.50     三等奖
 S05   钱五  测试企业乙     60        80     18 + 56   = 74.00     三等奖
 S06   孙六  测试企业丙     75        70   22.5 + 49   = 71.50
 S07   周七  测试企业丁     50        60     15 + 42   = 57.00
 S08   吴八  测试企业丁     40        50     12 + 35   = 47.00
=====  ====  =========  ======  =========  =====================  =======

Collectives: 甲 93.50 + 81.50 = 175.00, 乙 87.00 + 74.00 = 161.00 (honoured), 丙 152.00, 丁 104.00.

The closing ceremony has the exemplary cases (CASES below; three judges give the same four scores,
so a final score is their sum): 优秀案例 楼宇网安驿站 94, 社区反诈课堂进万家 86, 外滩老年人防诈骗课堂 80;
优秀集体 花木街道网安志愿服务队 84; 优秀个人 网安宣讲员王晓明 91.
Contests are announced in the order they were configured (the rubric directory's: the skills
competition before the micro-video contest), collectives before individuals.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from judging.extensions import db
from judging.media import generate_test_image
from judging.models import Assignment, Contest, Entry, OrganizationKind, Phase, Role, SnapshotStatus, User, utcnow
from judging.services import (
    NotFound,
    ceremonies,
    contests,
    entries,
    entry_files,
    nomination,
    organizations,
    panel,
    publication,
    sheets,
    snapshots,
)
from judging.storage import LocalStorage
from tests.conftest import create_user, open_contest_for_entries, organization_named
from tests.scenarios import recuse_expert5, seed_review_contest, seed_skills_contest

# The closing ceremony's exemplary cases: (unit, its district, category, title, the score each of three
# judges gives for innovation, effectiveness, exemplary, reach). The final score is their sum.
CASES = [
    ("浦东新区花木街道", "浦东新区", "case", "社区反诈课堂进万家", (22, 26, 22, 16)),  # 86
    ("黄浦区外滩街道", "黄浦区", "individual", "网安宣讲员王晓明", (23, 27, 23, 18)),  # 91
    ("浦东新区陆家嘴街道", "浦东新区", "case", "楼宇网安驿站", (24, 28, 24, 18)),  # 94
    ("浦东新区花木街道", "浦东新区", "collective", "花木街道网安志愿服务队", (21, 25, 21, 17)),  # 84
    ("黄浦区外滩街道", "黄浦区", "case", "外滩老年人防诈骗课堂", (20, 25, 20, 15)),  # 80
]
COORDINATORS = {"浦东新区": "entrant-a", "黄浦区": "entrant-b"}
ISG = "ISG“观安杯”网络安全技能竞赛"
MV = "网络安全微视频评选"
EC = "网络安全宣传先进典型案例推选"


def _contest(slug: str) -> Contest:
    return db.session.scalar(select(Contest).where(Contest.slug == slug))


def _organizer() -> User:
    return db.session.scalar(select(User).where(User.username == "organizer"))


def seed_cases(app: Flask, folder: Path) -> Contest:
    """The exemplary-case contest in review: CASES submitted by grassroots units with a picture each,
    nominated by their districts' coordinators, scored by three judges (app context)."""
    contest = open_contest_for_entries("exemplary-cases")
    for index, (unit, district) in enumerate(sorted({(case[0], case[1]) for case in CASES})):
        organizations.create_organization(
            db.session,
            None,  # type: ignore[arg-type]
            name=unit,
            kind=OrganizationKind.GRASSROOTS,
            parent=organization_named(district),
        )
        db.session.commit()
        create_user(f"unit-{index}", Role.ENTRANT, unit)
    storage = LocalStorage(app.config["UPLOAD_FOLDER"])
    declarations = list(contests.current_rubric(contest).entry.declarations)
    for number, (unit, district, category, title, _scores) in enumerate(CASES):
        author = db.session.scalar(select(User).where(User.organization_id == organization_named(unit).id))
        entry = entries.create_draft(
            db.session,
            author,
            contest,
            title=title,
            summary="案例简介。",
            category=category,
            fields={"unit": unit, "period": "2026-05-01"},
        )
        picture = folder / f"case{number}.png"
        generate_test_image(picture, "800x450")
        with picture.open("rb") as stream:
            entry_files.attach_file(db.session, author, entry, storage, stream, picture.name)
        entries.submit_entry(db.session, author, entry, declarations)
        coordinator = db.session.scalar(select(User).where(User.username == COORDINATORS[district]))
        nomination.nominate_entry(db.session, coordinator, entry)
    organizer = _organizer()
    contests.change_phase(db.session, organizer, contest, Phase.REVIEW)
    for name in ("case-judge1", "case-judge2", "case-judge3"):
        panel.add_to_panel(db.session, organizer, contest, create_user(name, Role.JUDGE))
    panel.assign_judges(db.session, organizer, contest)
    db.session.commit()
    marks = {case[3]: case[4] for case in CASES}
    criteria = ("innovation", "effectiveness", "exemplary", "reach")
    for assignment in db.session.scalars(select(Assignment).join(Entry).where(Entry.contest_id == contest.id)):
        scores = dict(zip(criteria, marks[assignment.entry.title], strict=True))
        sheets.save_sheet(db.session, assignment.judge, assignment, scores=scores, submit=True)
    db.session.commit()
    return contest


@pytest.fixture
def opening(app: Flask, users: dict[str, int], short_video: Path, tmp_path: Path) -> dict[str, str]:
    """Both opening-ceremony contests frozen (on public notice); returns the micro-video entry codes."""
    with app.app_context():
        codes = seed_review_contest(app, short_video)
        recuse_expert5()
        isg = seed_skills_contest(tmp_path)
        publication.freeze(db.session, _organizer(), isg)
        publication.freeze(db.session, _organizer(), _contest("micro-video"))
        db.session.commit()
        return codes


def _publish(slug: str) -> None:
    snapshot = snapshots.current_snapshot(db.session, _contest(slug))
    snapshot.publicity_ends_at = utcnow() - timedelta(minutes=1)
    publication.publish(db.session, _organizer(), snapshot)
    db.session.commit()


def _rows(programme: ceremonies.Programme) -> list[tuple]:
    return [
        (
            item.sequence,
            item.contest_title,
            item.row.group,
            item.row.award,
            item.row.subject,
            item.row.holder,
            item.row.organization,
            item.row.title,
        )
        for item in programme.items
    ]


def _expected_opening(codes: dict[str, str]) -> list[tuple]:
    return [
        (1, ISG, "collective", "优秀集体", "", "测试企业甲", "测试企业甲", ""),
        (2, ISG, "collective", "优秀集体", "", "测试企业乙", "测试企业乙", ""),
        (3, ISG, "individual", "一等奖", "S01", "王一", "测试企业甲", ""),
        (4, ISG, "individual", "二等奖", "S02", "李二", "测试企业乙", ""),
        (5, ISG, "individual", "二等奖", "S03", "张三", "测试企业甲", ""),
        (6, ISG, "individual", "三等奖", "S04", "赵四", "测试企业丙", ""),
        (7, ISG, "individual", "三等奖", "S05", "钱五", "测试企业乙", ""),
        (8, MV, "", "一等奖", codes["B"], "黄浦区", "黄浦区", "作品B"),
        (9, MV, "", "二等奖", codes["A"], "浦东新区", "浦东新区", "作品A"),
        (10, MV, "", "二等奖", codes["C"], "徐汇区", "徐汇区", "作品C"),
        (11, MV, "", "二等奖", codes["D"], "闵行区", "闵行区", "作品D"),
    ]


def _sheet_rows(html: str) -> list[tuple[str, str, str, str, str]]:
    """(sequence, contest, award, organisation, work or contestant) of each run-sheet row, in page order."""
    rows = []
    for sequence, cells in re.findall(r'<tr class="programme-item" data-sequence="(\d+)"[^>]*>(.*?)</tr>', html, re.S):
        texts = [
            re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", cells, re.S)
        ]
        assert texts[0] == sequence and texts[5] == ""  # the stage manager's tick box is empty
        rows.append((sequence, *texts[1:5]))
    return rows


def test_opening_programme_lists_the_isg_collectives_and_winners_beside_the_micro_video_awards(
    app: Flask, client_for, opening: dict[str, str]
) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        programme = ceremonies.programme(db.session, "opening")
        assert programme.edition == "2026" and programme.order == "rubric"
        assert _rows(programme) == _expected_opening(opening)
        assert [c.slug for c in programme.contests] == ["isg-skills", "micro-video"]
        assert [[g.key for g in c.groups] for c in programme.contests] == [["collective", "individual"], [""]]
        assert programme.waiting == ()
        # Every micro-video holder has its video's thumbnail; nobody else has a picture.
        pictured = [item.sequence for item in programme.items if item.thumbnail_file_id]
        assert pictured == [8, 9, 10, 11]

    client = client_for("organizer")
    html = client.get("/organizer/ceremonies/opening").get_data(as_text=True)
    assert _sheet_rows(html) == [
        ("1", ISG, "优秀集体", "测试企业甲", "—"),
        ("2", ISG, "优秀集体", "测试企业乙", "—"),
        ("3", ISG, "一等奖", "测试企业甲", "王一 S01"),
        ("4", ISG, "二等奖", "测试企业乙", "李二 S02"),
        ("5", ISG, "二等奖", "测试企业甲", "张三 S03"),
        ("6", ISG, "三等奖", "测试企业丙", "赵四 S04"),
        ("7", ISG, "三等奖", "测试企业乙", "钱五 S05"),
        ("8", MV, "一等奖", "黄浦区", f"作品B {opening['B']}"),
        ("9", MV, "二等奖", "浦东新区", f"作品A {opening['A']}"),
        ("10", MV, "二等奖", "徐汇区", f"作品C {opening['C']}"),
        ("11", MV, "二等奖", "闵行区", f"作品D {opening['D']}"),
    ]
    # The group headings, in order, and a page break between the contests (print stylesheet).
    assert re.findall(r'<tr class="group-row"><th[^>]*>([^<]+)</th>', html) == ["优秀集体", "个人奖项"]
    assert ".programme-contest + .programme-contest { break-before: page; }" in html
    assert html.count('<section class="programme-contest') == 2


def test_the_presentation_has_a_slide_per_award_holder_with_title_slides(
    app: Flask, client_for, opening: dict[str, str]
) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    page = client.get("/organizer/ceremonies/opening/present")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    slides = re.findall(r'<section class="slide (slide-\w+)" id="slide-(\d+)"', html)
    assert [int(number) for _kind, number in slides] == list(range(1, len(slides) + 1))
    # The ceremony; ISG, its collectives (2), its individuals (5); the micro-video contest (no named group), 4.
    assert [kind for kind, _n in slides] == (
        ["slide-title", "slide-contest", "slide-group"]
        + ["slide-award"] * 2
        + ["slide-group"]
        + ["slide-award"] * 5
        + ["slide-contest"]
        + ["slide-award"] * 4
    )
    first_prize = re.search(r'data-sequence="8".*?</section>', html, re.S).group(0)
    assert '<div class="award-name">一等奖</div>' in first_prize
    assert "《作品B》" in first_prize and "黄浦区" in first_prize
    with app.app_context():
        thumbnail = ceremonies.programme(db.session, "opening").items[7].thumbnail_file_id
    assert f'src="/files/{thumbnail}/thumbnail"' in first_prize
    with client.get(f"/files/{thumbnail}/thumbnail") as picture:
        assert picture.status_code == 200 and picture.mimetype == "image/jpeg"
    person = re.search(r'data-sequence="3".*?</section>', html, re.S).group(0)
    assert '<div class="holder-name">王一</div>' in person and "测试企业甲" in person
    # The script is an external file (CSP: script-src 'self'): no inline script, no inline handler.
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/js/presentation.js">']
    assert not re.search(r"\son[a-z]+=", html)
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    with client.get("/static/js/presentation.js") as script:
        assert script.status_code == 200


def test_ascending_order_announces_from_the_lowest_award_up(app: Flask, client_for, opening: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        programme = ceremonies.programme(db.session, "opening", order="ascending")
        assert [(item.sequence, item.row.award, item.row.subject or item.row.holder) for item in programme.items] == [
            (1, "优秀集体", "测试企业甲"),
            (2, "优秀集体", "测试企业乙"),
            (3, "三等奖", "S04"),
            (4, "三等奖", "S05"),
            (5, "二等奖", "S02"),
            (6, "二等奖", "S03"),
            (7, "一等奖", "S01"),
            (8, "二等奖", opening["A"]),
            (9, "二等奖", opening["C"]),
            (10, "二等奖", opening["D"]),
            (11, "一等奖", opening["B"]),
        ]
    client = client_for("organizer")
    html = client.get("/organizer/ceremonies/opening?order=ascending").get_data(as_text=True)
    assert [row[2] for row in _sheet_rows(html)][2:7] == ["三等奖", "三等奖", "二等奖", "二等奖", "一等奖"]
    assert 'href="/organizer/ceremonies/opening/present?edition=2026&amp;order=ascending"' in html
    # An unknown order is refused with a message and the programme shown in award order; nothing breaks.
    html = client.get("/organizer/ceremonies/opening?order=random").get_data(as_text=True)
    assert [row[2] for row in _sheet_rows(html)][2:7] == ["一等奖", "二等奖", "二等奖", "三等奖", "三等奖"]
    assert html.count('class="alert alert-warning" role="alert"') == 1


def test_a_programme_from_results_on_notice_says_so_and_a_published_one_does_not(
    app: Flask, client_for, opening: dict[str, str]
) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    html = client.get("/organizer/ceremonies/opening").get_data(as_text=True)
    assert re.search(r'id="on-notice-warning" data-on-notice="isg-skills micro-video"', html)
    assert html.count("on-notice-badge") == 2
    slides = client.get("/organizer/ceremonies/opening/present").get_data(as_text=True)
    assert slides.count('<span class="notice-tag">公示中</span>') == 11  # on every award slide

    with app.app_context():
        _publish("micro-video")
        programme = ceremonies.programme(db.session, "opening")
        assert [(c.slug, c.status, c.on_notice) for c in programme.contests] == [
            ("isg-skills", SnapshotStatus.FROZEN, True),
            ("micro-video", SnapshotStatus.PUBLISHED, False),
        ]
        assert _rows(programme) == _expected_opening(opening)  # publishing changes no row
    html = client.get("/organizer/ceremonies/opening").get_data(as_text=True)
    assert re.search(r'id="on-notice-warning" data-on-notice="isg-skills"', html)
    assert html.count("on-notice-badge") == 1
    slides = client.get("/organizer/ceremonies/opening/present").get_data(as_text=True)
    assert slides.count('<span class="notice-tag">公示中</span>') == 7  # the ISG slides only

    with app.app_context():
        _publish("isg-skills")
    html = client.get("/organizer/ceremonies/opening").get_data(as_text=True)
    assert "on-notice-warning" not in html and "on-notice-badge" not in html
    assert "notice-tag" not in client.get("/organizer/ceremonies/opening/present").get_data(as_text=True)


def test_closing_programme_lists_the_exemplary_cases_only_once_frozen(
    app: Flask, client_for, users: dict[str, int], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    with app.app_context():
        programme = ceremonies.programme(db.session, "closing")
        assert programme.contests == () and programme.waiting == (EC,)
    html = client.get("/organizer/ceremonies/closing").get_data(as_text=True)
    assert 'id="empty-programme"' in html and "programme-item" not in html and EC in html

    with app.app_context():
        seed_cases(app, tmp_path)
    with app.app_context():  # scored but not frozen: still not in the programme
        assert ceremonies.programme(db.session, "closing").contests == ()
        publication.freeze(db.session, _organizer(), _contest("exemplary-cases"))
        db.session.commit()
        programme = ceremonies.programme(db.session, "closing")
        assert programme.waiting == ()
        assert [
            (item.sequence, item.row.group, item.row.award, item.row.title, item.row.organization, item.row.parent)
            for item in programme.items
        ] == [
            (1, "case", "优秀案例", "楼宇网安驿站", "浦东新区陆家嘴街道", "浦东新区"),
            (2, "case", "优秀案例", "社区反诈课堂进万家", "浦东新区花木街道", "浦东新区"),
            (3, "case", "优秀案例", "外滩老年人防诈骗课堂", "黄浦区外滩街道", "黄浦区"),
            (4, "collective", "优秀集体", "花木街道网安志愿服务队", "浦东新区花木街道", "浦东新区"),
            (5, "individual", "优秀个人", "网安宣讲员王晓明", "黄浦区外滩街道", "黄浦区"),
        ]
        # Cases are told in pictures: each slide shows the case's first image.
        assert all(item.image_file_id and not item.thumbnail_file_id for item in programme.items)
        codes = {case[3]: db.session.scalar(select(Entry.code).where(Entry.title == case[3])) for case in CASES}
    html = client.get("/organizer/ceremonies/closing").get_data(as_text=True)
    assert [row[2:] for row in _sheet_rows(html)] == [
        ("优秀案例", "浦东新区陆家嘴街道 （浦东新区）", f"楼宇网安驿站 {codes['楼宇网安驿站']}"),
        ("优秀案例", "浦东新区花木街道 （浦东新区）", f"社区反诈课堂进万家 {codes['社区反诈课堂进万家']}"),
        ("优秀案例", "黄浦区外滩街道 （黄浦区）", f"外滩老年人防诈骗课堂 {codes['外滩老年人防诈骗课堂']}"),
        ("优秀集体", "浦东新区花木街道 （浦东新区）", f"花木街道网安志愿服务队 {codes['花木街道网安志愿服务队']}"),
        ("优秀个人", "黄浦区外滩街道 （黄浦区）", f"网安宣讲员王晓明 {codes['网安宣讲员王晓明']}"),
    ]
    assert "on-notice-warning" in html
    slides = client.get("/organizer/ceremonies/closing/present").get_data(as_text=True)
    assert slides.count('class="slide slide-award"') == 5 and slides.count('class="slide slide-group"') == 3


def test_ceremonies_index_lists_the_ceremonies_in_use_with_counts(
    app: Flask, client_for, opening: dict[str, str]
) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        assert [
            (s.ceremony, s.edition, s.contests, s.with_results, s.on_notice, s.awards)
            for s in ceremonies.ceremonies_in_use(db.session)
        ] == [("opening", "2026", 2, 2, 2, 11), ("closing", "2026", 1, 0, 0, 0)]
    client = client_for("organizer")
    html = client.get("/organizer/ceremonies/").get_data(as_text=True)
    rows = re.findall(r'<tr data-ceremony="(\w+)" data-edition="(\w*)">\s*<th scope="row">([^<]+)</th>', html)
    assert rows == [("opening", "2026", "开幕式"), ("closing", "2026", "闭幕式")]
    assert 'href="/organizer/ceremonies/opening?edition=2026"' in html
    assert 'href="/organizer/ceremonies/closing/present?edition=2026"' in html
    dashboard = client.get("/organizer/").get_data(as_text=True)
    assert 'id="ceremonies-link" href="/organizer/ceremonies/"' in dashboard


def test_unknown_ceremony_or_edition_is_404_and_the_pages_are_for_organisers(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    organizer = client_for("organizer")
    for url in (
        "/organizer/ceremonies/awards-night",
        "/organizer/ceremonies/awards-night/present",
        "/organizer/ceremonies/opening?edition=1999",
        "/organizer/ceremonies/opening/present?edition=1999",
    ):
        assert organizer.get(url).status_code == 404, url
    for url in ("/organizer/ceremonies/", "/organizer/ceremonies/opening", "/organizer/ceremonies/opening/present"):
        assert organizer.get(url).status_code == 200, url
        for username in ("judge", "entrant-a"):
            assert client_for(username).get(url).status_code == 403, (url, username)
        anonymous = app.test_client().get(url)
        assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")
    with app.app_context():
        with pytest.raises(NotFound):
            ceremonies.programme(db.session, "awards-night")


def test_a_programme_covers_one_edition_the_latest_by_default(app: Flask, client_for, opening: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        contest = _contest("micro-video")
        contest.edition = "2025"  # as if last year's contest were still on record
        db.session.commit()
        latest = ceremonies.programme(db.session, "opening")
        assert (latest.edition, latest.editions, [c.slug for c in latest.contests]) == (
            "2026",
            ("2026", "2025"),
            ["isg-skills"],
        )
        last_year = ceremonies.programme(db.session, "opening", edition="2025")
        assert [c.slug for c in last_year.contests] == ["micro-video"] and len(last_year.items) == 4
        assert [item.sequence for item in last_year.items] == [1, 2, 3, 4]
    html = client_for("organizer").get("/organizer/ceremonies/opening?edition=2025").get_data(as_text=True)
    assert [row[0] for row in _sheet_rows(html)] == ["1", "2", "3", "4"]
    assert '<option value="2025" selected>2025</option>' in html
