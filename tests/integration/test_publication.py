"""Freeze → public notice (公示) with objections → publish → correct, and the documents of a result.

The contest is test_results.py's: B 84.50 一等奖, A 84.00 二等奖, C 76.50 二等奖, D 61.75 二等奖, E
excluded; expert5's unsubmitted draft for A must be dealt with before freezing (here: expert5 recuses).
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import stamp
from sqlalchemy import func, select

from judging.extensions import db
from judging.models import (
    Assignment,
    AuditEvent,
    Certificate,
    Contest,
    Entry,
    Objection,
    ObjectionStatus,
    Phase,
    ResultSnapshot,
    Role,
    Score,
    ScoreSheet,
    SnapshotStatus,
    User,
    utcnow,
)
from judging.rubric import load_rubric_directory
from judging.services import audit, contests, entries, objections, organizations, publication, snapshots
from tests.conftest import ROOT, create_user, csrf_token, make_test_app
from tests.scenarios import embedded_fonts, page_texts, recuse_expert5, seed_review_contest

DESK = "/organizer/contests/micro-video/publication"
ARTIFACTS = ROOT / "build" / "documents"


def _contest() -> Contest:
    return db.session.scalar(select(Contest).where(Contest.slug == "micro-video"))


@pytest.fixture
def codes(app: Flask, users: dict[str, int], short_video: Path) -> dict[str, str]:
    with app.app_context():
        found = seed_review_contest(app, short_video)
        _contest().edition = "2026"
        db.session.commit()
        return found


@pytest.fixture
def ready(app: Flask, codes: dict[str, str]) -> dict[str, str]:
    with app.app_context():
        recuse_expert5()
    return codes


def _freeze(client: FlaskClient, days: str = "5"):  # type: ignore[no-untyped-def]
    token = csrf_token(client, DESK)
    return client.post("/organizer/contests/micro-video/freeze", data={"publicity_days": days, "csrf_token": token})


def _end_notice(app: Flask) -> None:
    """Move the notice period's end into the past (as if five days had gone by)."""
    with app.app_context():
        snapshot = db.session.scalar(select(ResultSnapshot).where(ResultSnapshot.status == SnapshotStatus.FROZEN))
        snapshot.publicity_ends_at = utcnow() - timedelta(minutes=1)
        db.session.commit()


def _publish(client: FlaskClient, number: int = 1):  # type: ignore[no-untyped-def]
    token = csrf_token(client, DESK)
    return client.post(
        f"/organizer/contests/micro-video/snapshots/{number}/publish", data={"csrf_token": token, "confirmed": "1"}
    )


def _text(client: FlaskClient, url: str) -> str:
    return client.get(url, follow_redirects=True).get_data(as_text=True)


def test_a_freeze_with_unsubmitted_sheets_is_refused_and_changes_nothing(app: Flask, client_for, codes) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    page = _freeze(client)
    assert page.status_code == 302
    assert "1 张评分表已保存但未提交" in _text(client, DESK)
    with app.app_context():
        assert db.session.scalar(select(func.count(ResultSnapshot.id))) == 0
        assert _contest().phase is Phase.REVIEW


def test_freezing_records_every_sheet_the_ranking_and_a_stable_digest(app: Flask, client_for, ready) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    assert _freeze(client, "7").status_code == 302
    with app.app_context():
        snapshot = db.session.scalar(select(ResultSnapshot))
        contest = _contest()
        assert contest.phase is Phase.PUBLICITY
        assert snapshot.status is SnapshotStatus.FROZEN and snapshot.number == 1
        assert snapshot.rubric_sha256 == contest.current_rubric.sha256
        assert timedelta(days=7) - (snapshot.publicity_ends_at - snapshot.frozen_at) < timedelta(seconds=1)
        payload = snapshots.payload_of(snapshot)
        # 4 judges × 5 entries × 3 criteria; expert5's recused draft is not among them.
        assert len(payload["sheets"]) == 60
        assert {sheet["judge"] for sheet in payload["sheets"]} == {"expert1", "expert2", "expert3", "expert4"}
        assert payload["rubric"]["sha256"] == contest.current_rubric.sha256
        awarded = [(row.subject, row.rank, row.final_score, row.award) for row in snapshots.award_rows(payload)]
        assert awarded == [
            (ready["B"], 1, "84.50", "一等奖"),
            (ready["A"], 2, "84.00", "二等奖"),
            (ready["C"], 3, "76.50", "二等奖"),
            (ready["D"], 4, "61.75", "二等奖"),
        ]
        # Stable: computing the same results again gives the same bytes and digest (with the chain head
        # recorded at freezing, which the digest covers too).
        head = {"audit_head": payload["audit_head"]}
        assert snapshots.digest_of(snapshots.snapshot_payload(db.session, contest) | head) == snapshot.digest
        assert snapshots.snapshot_intact(snapshot)
        # Any sheet changed (here out of band, by half a point) gives another digest.
        score = db.session.scalar(select(Score).order_by(Score.id).limit(1))
        score.value += Decimal("0.5")
        db.session.flush()
        assert snapshots.digest_of(snapshots.snapshot_payload(db.session, contest) | head) != snapshot.digest
        db.session.rollback()
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "results.freeze"))
        assert event.data["digest"] == snapshot.digest
    page = _text(client, DESK)
    assert "公示中：第 1 号" in page


def test_sheets_cannot_change_while_frozen_or_after_publication(app: Flask, client_for, ready) -> None:  # type: ignore[no-untyped-def]
    organizer = client_for("organizer")
    _freeze(organizer)
    judge = client_for("expert1")
    code = ready["A"]

    def stored() -> list[tuple[str, Decimal]]:
        with app.app_context():
            return [
                (s.criterion, s.value)
                for s in db.session.scalars(
                    select(Score)
                    .join(ScoreSheet)
                    .join(Assignment)
                    .join(Entry)
                    .join(User, Assignment.judge_id == User.id)
                    .where(Entry.code == code, User.username == "expert1")
                    .order_by(Score.id)
                )
            ]

    before = stored()
    assert before == [("content", Decimal("38.00")), ("form", Decimal("27.00")), ("influence", Decimal("25.00"))]
    for stage in ("frozen", "published"):
        page = judge.get(f"/judge/entries/{code}")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)).group(1)
        response = judge.post(
            f"/judge/entries/{code}/sheet",
            data={"csrf_token": token, "version": "2", "score_content": "10", "save_draft": "x"},
            follow_redirects=True,
        )
        assert response.status_code == 400
        assert re.findall(r'role="alert">([^<]*)<', response.get_data(as_text=True)) == ["只有在评审阶段才能录入分数。"]
        assert stored() == before, stage
        if stage == "frozen":
            _end_notice(app)
            _publish(organizer)


def test_an_objection_is_stored_acknowledged_and_an_upheld_one_reopens_review(app: Flask, client_for, ready) -> None:  # type: ignore[no-untyped-def]
    organizer = client_for("organizer")
    _freeze(organizer)
    public = app.test_client()
    listing = _text(public, "/results/micro-video")
    assert "公示" in listing and "作品B" in listing and "一等奖" in listing and "作品E" not in listing
    form_url = "/results/micro-video/1/objection"
    token = csrf_token(public, form_url)
    refused = public.post(
        form_url,
        data={"csrf_token": token, "name": "张三", "contact": "13800000000", "subject": ready["B"], "reason": "太短"},
    )
    assert "请用 10 至 4000 个字说明理由" in refused.get_data(as_text=True) or "字段" in refused.get_data(as_text=True)
    unknown = public.post(
        form_url,
        data={
            "csrf_token": token,
            "name": "张三",
            "contact": "13800000000",
            "subject": "MV-999",
            "reason": "该作品使用了未经授权的素材，附链接为证。",
        },
    )
    assert unknown.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count(Objection.id))) == 0
    filed = public.post(
        form_url,
        data={
            "csrf_token": token,
            "name": "张三",
            "contact": "13800000000",
            "subject": ready["B"],
            "reason": "该作品使用了未经授权的素材，附链接为证。",
        },
    )
    html = filed.get_data(as_text=True)
    reference = re.search(r'id="objection-reference"[^>]*>([A-Z0-9-]+)<', html).group(1)
    assert re.fullmatch(r"MV-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", reference)
    with app.app_context():
        objection = db.session.scalar(select(Objection))
        assert (objection.reference, objection.name, objection.subject) == (reference, "张三", ready["B"])
        assert objection.status is ObjectionStatus.PENDING
        objection_id = objection.id
    # Publishing with an unanswered objection is refused, even after the notice period.
    _end_notice(app)
    _publish(organizer)
    desk = _text(organizer, DESK)
    assert "还有 1 条异议未答复" in desk
    assert re.search(r"公示期已于 \d{4}-\d\d-\d\d \d\d:\d\d 中国标准时间 结束。", desk)
    assert not re.search(r"</a> · \s*</td>", desk)  # no separator after the last document
    # The public sees that the notice is over and the final list is still to come; no objection is offered.
    ended = _text(public, "/results/micro-video")
    assert re.search(r"公示期已于 \d{4}-\d\d-\d\d \d\d:\d\d 中国标准时间 结束。所有异议答复完毕后", ended)
    assert "提出异议" not in ended and "公示期内，任何人均可" not in ended
    assert "最终名单待发布" in _text(public, "/results")
    # Upheld: the snapshot is withdrawn (kept on record) and review reopens.
    token = csrf_token(organizer, DESK)
    organizer.post(
        f"/organizer/objections/{objection_id}/answer",
        data={"csrf_token": token, "decision": "uphold", "answer": "经核实素材未授权，重新评审。", "confirmed": "1"},
    )
    with app.app_context():
        snapshot = db.session.scalar(select(ResultSnapshot))
        assert snapshot.status is SnapshotStatus.WITHDRAWN
        assert reference in snapshot.withdrawn_reason
        assert _contest().phase is Phase.REVIEW
        assert db.session.scalar(select(Objection)).answer == "经核实素材未授权，重新评审。"
        assert snapshots.snapshot_intact(snapshot)
        assert audit.verify_chain(db.session) is None
    assert "已撤回" in _text(public, "/results/micro-video/1")


def test_a_rejected_objection_keeps_the_answer_and_the_result(app: Flask, client_for, ready) -> None:  # type: ignore[no-untyped-def]
    organizer = client_for("organizer")
    _freeze(organizer)
    with app.app_context():
        snapshot = db.session.scalar(select(ResultSnapshot))
        objection = objections.file_objection(
            db.session,
            snapshot,
            name="李四",
            contact="li@example.org",
            subject=ready["A"],
            reason="我认为评分偏高，请复核。",
        )
        db.session.commit()
        objection_id = objection.id
    token = csrf_token(organizer, DESK)
    organizer.post(
        f"/organizer/objections/{objection_id}/answer",
        data={"csrf_token": token, "decision": "reject", "answer": "经复核，评分符合细则。"},
    )
    with app.app_context():
        assert db.session.get(Objection, objection_id).status is ObjectionStatus.REJECTED
        assert db.session.scalar(select(ResultSnapshot)).status is SnapshotStatus.FROZEN
        assert _contest().phase is Phase.PUBLICITY


def test_publish_after_the_notice_issues_verifiable_certificates(app: Flask, client_for, ready) -> None:  # type: ignore[no-untyped-def]
    organizer = client_for("organizer")
    _freeze(organizer)
    _publish(organizer)
    assert "公示期至" in _text(organizer, DESK)
    with app.app_context():
        assert db.session.scalar(select(ResultSnapshot)).status is SnapshotStatus.FROZEN
    _end_notice(app)
    _publish(organizer)
    with app.app_context():
        snapshot = db.session.scalar(select(ResultSnapshot))
        assert snapshot.status is SnapshotStatus.PUBLISHED and _contest().phase is Phase.PUBLISHED
        certificates = db.session.scalars(select(Certificate).order_by(Certificate.id)).all()
        assert [(c.serial, c.subject, c.award) for c in certificates] == [
            ("MV-2026-0001", ready["B"], "一等奖"),
            ("MV-2026-0002", ready["A"], "二等奖"),
            ("MV-2026-0003", ready["C"], "二等奖"),
            ("MV-2026-0004", ready["D"], "二等奖"),
        ]
        first = certificates[0]
        code, holder = first.code, first.holder
    public = app.test_client()
    page = public.get(f"/verify/{code.lower().replace('-', '')}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "证书真实有效" in html and holder in html and "一等奖" in html and "网络安全微视频评选" in html
    unknown = public.get("/verify/ABCD-EFGH-JKLM")
    assert unknown.status_code == 404
    assert "没有证书使用这个编号或验证码" in unknown.get_data(as_text=True)
    assert public.get(f"/verify?code={code}").status_code == 302


def test_published_winners_files_are_public_and_others_stay_private(app: Flask, client_for, ready) -> None:  # type: ignore[no-untyped-def]
    organizer = client_for("organizer")
    with app.app_context():
        files = {entry.code: entry.files[0].id for entry in db.session.scalars(select(Entry)) if entry.files}
    public = app.test_client()
    assert public.get(f"/files/{files[ready['B']]}").status_code == 404
    _freeze(organizer)
    assert public.get(f"/files/{files[ready['B']]}").status_code == 404  # on notice: not yet
    _end_notice(app)
    _publish(organizer)
    with public.get(f"/files/{files[ready['B']]}", headers={"Range": "bytes=0-99"}) as video:
        assert video.status_code == 206 and len(video.data) == 100
    assert public.get(f"/files/{files[ready['E']]}").status_code == 404
    gallery = _text(public, "/results/micro-video/gallery")
    assert "作品B" in gallery and f"/files/{files[ready['B']]}" in gallery and "作品E" not in gallery


def test_a_correction_is_a_new_publication_linked_to_the_old(app: Flask, client_for, ready) -> None:  # type: ignore[no-untyped-def]
    organizer = client_for("organizer")
    _freeze(organizer)
    _end_notice(app)
    _publish(organizer)
    with app.app_context():
        old_digest = db.session.scalar(select(ResultSnapshot)).digest
        old_payload = db.session.scalar(select(ResultSnapshot)).payload
        old_code = db.session.scalar(select(Certificate.code).order_by(Certificate.id).limit(1))
    token = csrf_token(organizer, DESK)
    organizer.post("/organizer/contests/micro-video/correction", data={"csrf_token": token, "reason": "作品D 查实抄袭"})
    with app.app_context():
        assert _contest().phase is Phase.REVIEW
        entry = db.session.scalar(select(Entry).where(Entry.code == ready["D"]))
        organizer_user = db.session.scalar(select(User).where(User.username == "organizer"))
        entries.disqualify_entry(db.session, organizer_user, entry, "抄袭")
        db.session.commit()
    _freeze(organizer)
    _end_notice(app)
    _publish(organizer, 2)
    with app.app_context():
        old, new = db.session.scalars(select(ResultSnapshot).order_by(ResultSnapshot.number)).all()
        assert (old.status, new.status) == (SnapshotStatus.SUPERSEDED, SnapshotStatus.PUBLISHED)
        assert new.corrects_id == old.id and new.correction_reason == "作品D 查实抄袭"
        assert (old.digest, old.payload) == (old_digest, old_payload)
        assert [row.subject for row in snapshots.award_rows(snapshots.payload_of(new))] == [
            ready["B"],
            ready["A"],
            ready["C"],
        ]
    public = app.test_client()
    assert "此次公布已被更正" in _text(public, "/results/micro-video/1")
    assert "更正第 1 号公布" in _text(public, "/results/micro-video")
    assert "已被更正" in _text(public, f"/verify/{old_code}")


def test_exports_round_trip_and_carry_the_digest(app: Flask, client_for, ready) -> None:  # type: ignore[no-untyped-def]
    organizer = client_for("organizer")
    _freeze(organizer)
    _end_notice(app)
    _publish(organizer)
    with app.app_context():
        digest = db.session.scalar(select(ResultSnapshot)).digest
        holders = [c.holder for c in db.session.scalars(select(Certificate).order_by(Certificate.id))]
    base = "/organizer/contests/micro-video/snapshots/1/"
    xlsx = organizer.get(base + "award-list.xlsx")
    assert xlsx.status_code == 200
    sheets = pd.read_excel(io.BytesIO(xlsx.data), sheet_name=None, dtype=str)
    ranking = sheets["获奖名单"] if "获奖名单" in sheets else next(iter(sheets.values()))
    assert list(ranking.columns) == ["奖项", "名次", "作品编号", "作品名称", "获奖者", "单位", "总成绩"]
    assert ranking["总成绩"].tolist() == ["84.5", "84", "76.5", "61.75"]
    assert ranking["作品名称"].tolist() == ["作品B", "作品A", "作品C", "作品D"]
    cell = openpyxl.load_workbook(io.BytesIO(xlsx.data))[next(iter(sheets))]["G2"]
    assert (cell.value, cell.number_format) == (84.5, "0.00")  # a number, shown as 84.50
    about = sheets["关于本名单"]
    assert digest in about["值"].tolist()
    csv = organizer.get(base + "award-list.csv")
    assert csv.data.startswith(b"\xef\xbb\xbf")
    table = pd.read_csv(io.BytesIO(csv.data), encoding="utf-8-sig", dtype=str)
    assert table["获奖者"].tolist() == holders and set(table["摘要值(sha256)"]) == {digest}
    with organizer.get(base + "award-list.pdf") as response:  # made once by a job, served from storage
        pdf = response.data
    text = "".join(page_texts(pdf))
    assert "作品B" in text and "一等奖" in text and digest in text.replace("\n", "")
    assert any("CJK" in name for name in embedded_fonts(pdf))
    with organizer.get(base + "certificates.pdf") as response:  # made by a job, served from storage
        certificates = response.data
    ARTIFACTS.mkdir(parents=True, exist_ok=True)  # for a person to look at (pdftoppm -png)
    (ARTIFACTS / "certificates.pdf").write_bytes(certificates)
    (ARTIFACTS / "award-list.pdf").write_bytes(pdf)
    pages = page_texts(certificates)
    assert len(pages) == 4 and holders[0] in pages[0] and "一等奖" in pages[0]
    assert all(digest in page.replace("\n", "") for page in pages)
    assert any("CJK" in name for name in embedded_fonts(certificates))


def test_objections_are_rate_limited(tmp_path: Path, short_video: Path) -> None:
    app = make_test_app(
        f"sqlite:///{tmp_path / 'limit.sqlite3'}",
        tmp_path,
        RATELIMIT_ENABLED=True,
        OBJECTION_RATE_LIMIT="2 per hour",
        LOGIN_RATE_LIMIT="1000 per minute",
    )
    with app.app_context():
        db.create_all()
        organizations.seed_organizations(
            db.session, organizations.read_organization_file(ROOT / "data" / "organizations.toml")
        )
        for rubric in load_rubric_directory(ROOT / "rubrics"):
            contests.sync_rubric(db.session, None, rubric, edition="2026")
        db.session.commit()
        create_user("organizer", Role.ORGANIZER, "市委网信办")
        create_user("entrant-a", Role.ENTRANT, "浦东新区")
        create_user("entrant-b", Role.ENTRANT, "黄浦区")
        seed_review_contest(app, short_video)
        recuse_expert5()
        organizer = db.session.scalar(select(User).where(User.username == "organizer"))
        publication.freeze(db.session, organizer, _contest())
        db.session.commit()
    public = app.test_client()
    token = csrf_token(public, "/results/micro-video/1/objection")
    statuses = [
        public.post("/results/micro-video/1/objection", data={"csrf_token": token, "name": "x"}).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]


def test_results_export_command_writes_every_format(app: Flask, client_for, ready, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    runner = app.test_cli_runner()
    out = tmp_path / "list.xlsx"
    export = ["results", "export", "--contest", "micro-video"]
    refused = runner.invoke(args=[*export, "--format", "xlsx", "--out", str(out)])
    assert refused.exit_code == 1 and "no result has been frozen yet" in refused.output and not out.exists()
    organizer = client_for("organizer")
    _freeze(organizer)
    _end_notice(app)
    _publish(organizer)
    with app.app_context():
        digest = db.session.scalar(select(ResultSnapshot)).digest
        code = db.session.scalar(select(Certificate.code).order_by(Certificate.id).limit(1))
    for fmt in ("xlsx", "csv", "pdf"):
        target = tmp_path / f"list.{fmt}"
        result = runner.invoke(
            args=["results", "export", "--contest", "micro-video", "--format", fmt, "--out", str(target)]
        )
        assert result.exit_code == 0, result.output
        assert digest in result.output
    assert pd.read_excel(tmp_path / "list.xlsx", sheet_name=None, dtype=str)["关于本名单"]["值"].tolist()[-1] == digest
    assert (tmp_path / "list.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert "作品B" in "".join(page_texts((tmp_path / "list.pdf").read_bytes()))
    certificates = tmp_path / "certificates.pdf"
    result = runner.invoke(args=[*export, "--format", "pdf", "--document", "certificates", "--out", str(certificates)])
    assert result.exit_code == 0, result.output
    first_page = page_texts(certificates.read_bytes())[0]
    assert code in first_page and "/verify/" in first_page
    wrong = runner.invoke(args=[*export, "--format", "csv", "--document", "booklet", "--out", str(tmp_path / "x.csv")])
    assert wrong.exit_code == 1 and "use --format pdf" in wrong.output


def test_backup_and_restore_keep_the_published_digests(app: Flask, client_for, ready, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    organizer = client_for("organizer")
    _freeze(organizer)
    _end_notice(app)
    _publish(organizer)
    with app.app_context():
        stamp(directory=str(ROOT / "migrations"))  # the fixture made the schema without Alembic
        original = [(s.number, s.digest, s.payload) for s in db.session.scalars(select(ResultSnapshot))]
        code = db.session.scalar(select(Certificate.code).order_by(Certificate.id).limit(1))
    archive = tmp_path / "backup.tar.gz"
    assert app.test_cli_runner().invoke(args=["backup", "--out", str(archive)]).exit_code == 0
    target = make_test_app(f"sqlite:///{tmp_path / 'restored.sqlite3'}", tmp_path / "target")
    restored = target.test_cli_runner().invoke(args=["restore", str(archive)])
    assert restored.exit_code == 0, restored.output
    with target.app_context():
        restored_snapshots = db.session.scalars(select(ResultSnapshot)).all()
        assert [(s.number, s.digest, s.payload) for s in restored_snapshots] == original
        assert all(snapshots.snapshot_intact(s) for s in restored_snapshots)
        # The restored sheets recompute to the very same digest.
        contest = db.session.scalar(select(Contest).where(Contest.slug == "micro-video"))
        head = {"audit_head": snapshots.payload_of(restored_snapshots[0])["audit_head"]}
        assert snapshots.digest_of(snapshots.snapshot_payload(db.session, contest) | head) == original[0][1]
    assert "证书真实有效" in target.test_client().get(f"/verify/{code}").get_data(as_text=True)
    with target.app_context():
        db.engine.dispose()


def test_entries_cannot_be_disqualified_while_the_result_is_frozen(app: Flask, client_for, ready) -> None:  # type: ignore[no-untyped-def]
    organizer = client_for("organizer")
    assert "/status" in _text(organizer, "/organizer/contests/micro-video/entries")  # in review: offered
    _freeze(organizer)
    listed = _text(organizer, "/organizer/contests/micro-video/entries")
    assert "本评选的结果已冻结；如需修改作品状态" in listed and "/status" not in listed  # frozen: not offered
    with app.app_context():
        organizer_user = db.session.scalar(select(User).where(User.username == "organizer"))
        entry = db.session.scalar(select(Entry).where(Entry.code == ready["B"]))
        with pytest.raises(entries.ServiceError) as refusal:
            entries.disqualify_entry(db.session, organizer_user, entry, "抄袭")
        assert refusal.value.message == "本评选的结果已冻结；如需修改作品状态，请先重新开启评审（或发起更正）。"
        db.session.rollback()
        assert db.session.scalar(select(Entry).where(Entry.code == ready["B"])).status.value == "submitted"


def test_the_public_pages_speak_english_on_request(app: Flask, client_for, ready) -> None:  # type: ignore[no-untyped-def]
    _freeze(client_for("organizer"))
    public = app.test_client()
    public.get("/lang/en?next=/")
    page = _text(public, "/results/micro-video")
    assert "Award list on public notice (公示)" in page and "File an objection" in page
    assert "Final score" in page and "作品B" in page
    form = _text(public, "/results/micro-video/1/objection")
    assert "Name (person or organisation)" in form and "The award concerned" in form
    assert "No certificate has this serial number or verification code." in _text(public, "/verify/NOPE-NOPE-NOPE")
