"""The exemplary-case booklet: grassroots units' cases, nominated by their districts, judged by three
experts, frozen and published through the publication service; then the PDF, read back with pypdf.

The cases and their hand-computed standing (each judge gives the same four scores, so the final score
is their sum): 优秀案例 楼宇网安驿站 94.00, 社区反诈课堂进万家 86.00, 外滩老年人防诈骗课堂 80.00; 优秀集体
花木街道网安志愿服务队 84.00; 优秀个人 网安宣讲员王晓明 91.00.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image
from pypdf import PdfReader
from pypdf.generic import ContentStream
from sqlalchemy import select

from judging.exports.booklet import StoredImageFetcher
from judging.extensions import db
from judging.media import generate_test_image
from judging.models import (
    Assignment,
    Contest,
    Entry,
    OrganizationKind,
    Phase,
    ResultSnapshot,
    Role,
    SnapshotStatus,
    User,
    utcnow,
)
from judging.rubric import parse_rubric
from judging.services import (
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
from tests.conftest import ROOT, create_user, open_contest_for_entries, organization_named
from tests.scenarios import embedded_fonts, page_texts, recuse_expert5, seed_review_contest

UNITS = {"浦东新区陆家嘴街道": "浦东新区", "浦东新区花木街道": "浦东新区", "黄浦区外滩街道": "黄浦区"}
ACCOUNTS = {"浦东新区陆家嘴街道": "unit-lujiazui", "浦东新区花木街道": "unit-huamu", "黄浦区外滩街道": "unit-waitan"}
COORDINATORS = {"浦东新区": "entrant-a", "黄浦区": "entrant-b"}


@dataclass(frozen=True)
class Case:
    unit: str
    category: str
    title: str
    summary: str
    scores: tuple[int, int, int, int]
    """innovation, effectiveness, exemplary, reach: the same from each of the three judges."""
    images: tuple[str, ...]
    report_url: str = ""


CASES = [
    Case(
        "浦东新区花木街道",
        "case",
        "社区反诈课堂进万家",
        "花木街道把反诈课堂开进居民区。\n志愿者逐户上门讲解常见骗局。",
        (22, 26, 22, 16),
        ("classroom.png",),
    ),
    Case(
        "黄浦区外滩街道",
        "individual",
        "网安宣讲员王晓明",
        "王晓明三年来义务宣讲网络安全知识一百二十场。",
        (23, 27, 23, 18),
        ("speaker.jpg",),
    ),
    Case(
        "浦东新区陆家嘴街道",
        "case",
        "楼宇网安驿站",
        "陆家嘴街道在三十六栋商务楼宇设立网安驿站。\n白领午间可就近咨询个人信息保护问题。",
        (24, 28, 24, 18),
        ("station.png", "station.jpg"),
        "https://example.org/report/station",
    ),
    Case(
        "浦东新区花木街道",
        "collective",
        "花木街道网安志愿服务队",
        "服务队由六十名社区志愿者组成，常年开展网络安全宣传。",
        (21, 25, 21, 17),
        ("team.png",),
    ),
    Case(
        "黄浦区外滩街道",
        "case",
        "外滩老年人防诈骗课堂",
        "外滩街道为辖区老年人开设防诈骗课堂，以案说法。",
        (20, 25, 20, 15),
        ("elders.jpg",),
    ),
]
AWARD_ORDER = [
    "楼宇网安驿站",
    "社区反诈课堂进万家",
    "外滩老年人防诈骗课堂",
    "花木街道网安志愿服务队",
    "网安宣讲员王晓明",
]
PARTS = ["优秀案例", "优秀集体", "优秀个人"]
EXIF_SECRET = "GPS 31.2397N 121.4998E"


def _by_title(title: str) -> Case:
    return next(case for case in CASES if case.title == title)


def seed_cases(app: Flask, users: dict[str, int], image_folder: Path, slug: str = "exemplary-cases") -> Contest:
    """The contest in review with CASES submitted, nominated and scored by three judges (app context)."""
    contest = open_contest_for_entries(slug)
    for unit, district in UNITS.items():
        if db.session.scalar(select(User).where(User.username == ACCOUNTS[unit])) is None:
            parent = organization_named(district)
            organizations.create_organization(
                db.session,
                None,  # type: ignore[arg-type]
                name=unit,
                kind=OrganizationKind.GRASSROOTS,
                parent=parent,
            )
            db.session.commit()
            create_user(ACCOUNTS[unit], Role.ENTRANT, unit)
    storage = LocalStorage(app.config["UPLOAD_FOLDER"])
    declarations = list(contests.current_rubric(contest).entry.declarations)
    made = {}
    for case in CASES:
        unit = db.session.scalar(select(User).where(User.username == ACCOUNTS[case.unit]))
        fields = {"unit": case.unit, "period": "2026-05-01", "people_reached": 12000}
        if case.report_url:
            fields["report_url"] = case.report_url
        entry = entries.create_draft(
            db.session, unit, contest, title=case.title, summary=case.summary, category=case.category, fields=fields
        )
        for name in case.images:
            image = image_folder / name
            if not image.exists():
                generate_test_image(image, "800x450")
            with image.open("rb") as stream:
                entry_files.attach_file(db.session, unit, entry, storage, stream, name)
        entries.submit_entry(db.session, unit, entry, declarations)
        made[case.title] = entry
    for case in CASES:
        coordinator = db.session.get(User, users[COORDINATORS[UNITS[case.unit]]])
        nomination.nominate_entry(db.session, coordinator, made[case.title])
    organizer = db.session.get(User, users["organizer"])
    contests.change_phase(db.session, organizer, contest, Phase.REVIEW)
    judges = [db.session.get(User, users["judge"])]
    for name in ("judge2", "judge3"):
        judges.append(db.session.scalar(select(User).where(User.username == name)) or create_user(name, Role.JUDGE))
    for judge in judges:
        panel.add_to_panel(db.session, organizer, contest, judge)
    panel.assign_judges(db.session, organizer, contest)
    db.session.commit()
    criteria = ("innovation", "effectiveness", "exemplary", "reach")
    for assignment in db.session.scalars(
        select(Assignment).join(Entry).where(Entry.contest_id == contest.id).order_by(Assignment.id)
    ):
        scores = dict(zip(criteria, _by_title(assignment.entry.title).scores, strict=True))
        sheets.save_sheet(db.session, assignment.judge, assignment, scores=scores, submit=True)
    db.session.commit()
    return contest


def freeze_and_publish(contest: Contest, organizer_id: int) -> ResultSnapshot:
    organizer = db.session.get(User, organizer_id)
    snapshot = publication.freeze(db.session, organizer, contest)
    snapshot.publicity_ends_at = utcnow() - timedelta(minutes=1)
    publication.publish(db.session, organizer, snapshot)
    db.session.commit()
    return snapshot


@pytest.fixture
def published(app: Flask, users: dict[str, int], tmp_path: Path) -> str:
    # A phone photo tells where it was taken; the booklet must not pass that on.
    photo = tmp_path / "speaker.jpg"
    generate_test_image(photo, "800x450")
    with Image.open(photo) as image:
        exif = Image.Exif()
        exif[0x010E] = EXIF_SECRET  # ImageDescription
        image.save(photo, exif=exif.tobytes())
    assert EXIF_SECRET.encode() in photo.read_bytes()
    with app.app_context():
        contest = seed_cases(app, users, tmp_path)
        snapshot = freeze_and_publish(contest, users["organizer"])
        assert snapshot.status is SnapshotStatus.PUBLISHED
        assert [row.title for row in snapshots.award_rows(snapshots.payload_of(snapshot))] == AWARD_ORDER
        return snapshot.digest


def drawn_images(pdf: bytes) -> list[list[str]]:
    """The image XObjects each page draws (its content stream's ``Do`` operators on images).

    pypdf's ``page.images`` lists every image of the resources, which WeasyPrint shares between pages."""
    reader = PdfReader(io.BytesIO(pdf))
    pages = []
    for page in reader.pages:
        objects = page["/Resources"].get("/XObject")
        objects = objects.get_object() if objects is not None else {}
        operations = ContentStream(page.get_contents(), reader).operations
        pages.append(
            [
                str(operands[0])
                for operands, operator in operations
                if operator == b"Do" and objects[operands[0]].get_object()["/Subtype"] == "/Image"
            ]
        )
    return pages


def _toc_lines(toc: str) -> dict[str, tuple[int, str]]:
    """Each line of the contents by its first word (a case title or a part label) → (the page number
    printed at its end, the line)."""
    lines = {}
    for line in toc.splitlines():
        match = re.match(r"\s*(\S+).*?[.\s](\d+)\s*$", line)
        if match:
            lines[match.group(1)] = (int(match.group(2)), line)
    return lines


def test_the_booklet_compiles_the_winning_cases_in_award_order(app: Flask, client_for, published: str) -> None:  # type: ignore[no-untyped-def]
    organizer = client_for("organizer")
    with organizer.get("/organizer/contests/exemplary-cases/snapshots/1/booklet.pdf") as response:  # a stored file
        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        assert "exemplary-cases-1-booklet.pdf" in response.headers["Content-Disposition"]
        pdf = response.data
    (ROOT / "build" / "documents").mkdir(parents=True, exist_ok=True)  # for a person to look at
    (ROOT / "build" / "documents" / "booklet.pdf").write_bytes(pdf)
    pages = page_texts(pdf)

    cover = pages[0]
    assert "网络安全宣传先进典型案例推选" in cover and "获奖案例汇编" in cover and "2026" in cover
    assert "市委网信办" in cover and published in cover.replace("\n", "")

    toc = pages[1]
    assert "目录" in toc
    lines = _toc_lines(toc)
    numbers = {first: number for first, (number, _line) in lines.items()}
    assert [title for title in numbers if title in AWARD_ORDER] == AWARD_ORDER
    assert [label for label in numbers if label in PARTS] == PARTS
    printed = [numbers[title] for title in AWARD_ORDER]
    assert printed == sorted(printed) and len(set(printed)) == len(printed)
    for title in AWARD_ORDER:
        case = _by_title(title)
        assert case.unit in lines[title][1], lines[title]
        start = pages[numbers[title] - 1]
        # The page the contents point to is where the case's section starts: its title, its unit, its district.
        assert title in start and case.unit in start and UNITS[case.unit] in start, title
        assert all(title not in page for page in pages[2 : numbers[title] - 1]), title
        # The summary, paragraph by paragraph, follows (on that page or the next).
        following = "".join(pages[numbers[title] - 1 : numbers[title] + 1]).replace("\n", "")
        for paragraph in case.summary.split("\n"):
            assert paragraph in following, paragraph
    # Each part heading is on the page of its first case, and the contents say so.
    assert numbers["优秀案例"] == numbers["楼宇网安驿站"]
    assert numbers["优秀集体"] == numbers["花木街道网安志愿服务队"]
    assert numbers["优秀个人"] == numbers["网安宣讲员王晓明"]
    station = pages[numbers["楼宇网安驿站"] - 1]
    assert "报道链接" in station and "https://example.org/report/station" in station and "12,000" in station
    # Footers number the pages the way the contents count them.
    assert re.search(rf"—\s*{numbers['网安宣讲员王晓明']}\s*—", pages[numbers["网安宣讲员王晓明"] - 1])

    # Every image of every case is drawn, on its case's page; the photo's EXIF tags are not carried along.
    drawn = drawn_images(pdf)
    assert [len(drawn[numbers[title] - 1]) for title in AWARD_ORDER] == [2, 1, 1, 1, 1]
    assert sum(len(names) for names in drawn) == len({name for names in drawn for name in names}) == 6
    assert drawn[0] == drawn[1] == []
    assert EXIF_SECRET.encode() not in pdf
    # Chinese is drawn with embedded CJK fonts, not only extractable.
    assert any("CJK" in name for name in embedded_fonts(pdf))


def test_a_video_contest_gets_no_booklet_but_the_reason(app: Flask, client_for, short_video: Path) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        seed_review_contest(app, short_video)
        recuse_expert5()
        contest = db.session.scalar(select(Contest).where(Contest.slug == "micro-video"))
        organizer = db.session.scalar(select(User).where(User.username == "organizer"))
        publication.freeze(db.session, organizer, contest)
        db.session.commit()
    client = client_for("organizer")
    response = client.get("/organizer/contests/micro-video/snapshots/1/booklet.pdf")
    assert response.status_code == 302
    assert response.mimetype != "application/pdf"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "只有案例类评选（文档和图片）才能汇编案例集；本评选的作品不是案例。" in page


def test_a_result_without_award_holders_gets_no_booklet(app: Flask, client_for, users, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # The same cases in a contest whose awards need 95 points: all are ranked, none reaches an award.
    text = (ROOT / "rubrics" / "exemplary_cases.toml").read_text(encoding="utf-8")
    text = text.replace('slug = "exemplary-cases"', 'slug = "strict-cases"')
    text = text.replace('code_prefix = "EC"', 'code_prefix = "SC"')
    text = re.sub(r"^count = \d+$", "min_score = 95", text, flags=re.MULTILINE)
    with app.app_context():
        contests.sync_rubric(db.session, None, parse_rubric(text), edition="2026")
        db.session.commit()
        contest = seed_cases(app, users, tmp_path, slug="strict-cases")
        snapshot = freeze_and_publish(contest, users["organizer"])
        payload = snapshots.payload_of(snapshot)
        assert snapshots.award_rows(payload) == [] and len(payload["ranking"]) == len(CASES)
    client = client_for("organizer")
    response = client.get("/organizer/contests/strict-cases/snapshots/1/booklet.pdf")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "这份结果没有获奖者。" in page


def test_the_renderer_may_read_the_listed_images_and_nothing_else(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "uploads")
    stored = storage.save(io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"0" * 64))
    other = storage.save(io.BytesIO(b"another stored file"))
    path = storage.path(stored.key).resolve()
    fetcher = StoredImageFetcher({path.as_uri(): (path, "image/png")})
    response = fetcher.fetch(path.as_uri())
    assert response.read().startswith(b"\x89PNG") and response.content_type == "image/png"
    for url in (
        storage.path(other.key).resolve().as_uri(),  # stored, but not one of the booklet's images
        "file:///etc/passwd",
        path.as_uri() + "/../../" + other.key[:2] + "/" + other.key,
        "http://127.0.0.1/logo.png",
        "https://example.org/x.png",
        "data:image/png;base64,iVBORw0KGgo=",
    ):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
