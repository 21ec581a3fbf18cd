"""A skills competition through freeze → notice → publish: the award list has the outstanding collectives and
the individual winners, and publication issues award and skill-level certificates.

Rubric (below): theory 30 % + practical 70 %; collectives = the sum of an organisation's best 2, one honoured;
一等奖 ×1, 二等奖 ×1; levels 三级 (≥ 80) and 四级 (≥ 60), a declaration covering its level and lower ones.

- P1 (甲公司): 0.3 × 90 + 0.7 × 80 = 83.00, declared 三级 → 三级 certificate, rank 1 一等奖
- P3 (乙公司): 0.3 × 100 + 0.7 × 60 = 72.00, declared nothing → no level, rank 2 二等奖
- P2 (甲公司): 0.3 × 70 + 0.7 × 70 = 70.00, declared 三级 → 四级 (70 < 80, 70 ≥ 60), rank 3
- P4 (乙公司): 0.3 × 50 + 0.7 × 40 = 43.00, declared 四级 → nothing (43 < 60), rank 4
- 甲公司 83 + 70 = 153.00 (honoured), 乙公司 72 + 43 = 115.00
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from judging.extensions import db
from judging.models import (
    Certificate,
    Contest,
    Contestant,
    Organization,
    PartScore,
    Phase,
    SnapshotStatus,
    User,
    utcnow,
)
from judging.rubric import parse_rubric
from judging.services import ServiceError, contests, organizations, publication, skills, snapshots
from tests.conftest import log_in

RUBRIC = """
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

[collectives]
name = "优秀集体"
rule = "best_k_sum"
k = 2
min_contestants = 2
count = 1

[[awards]]
name = "一等奖"
count = 1

[[awards]]
name = "二等奖"
count = 1

[[levels]]
key = "level3"
label = "三级/高级工"
min_score = 80

[[levels]]
key = "level4"
label = "四级/中级工"
min_score = 60
"""

PEOPLE = [
    ("P1", "选手一", "甲公司", "level3", 90, 80),
    ("P2", "选手二", "甲公司", "level3", 70, 70),
    ("P3", "选手三", "乙公司", None, 100, 60),
    ("P4", "选手四", "乙公司", "level4", 50, 40),
]


def _seed() -> Contest:
    contest = db.session.scalar(select(Contest).where(Contest.slug == "isg-skills"))
    contests.sync_rubric(db.session, None, parse_rubric(RUBRIC, "isg_test.toml"))
    organizations.seed_organizations(db.session, [{"name": n, "kind": "company"} for n in ("甲公司", "乙公司")])
    db.session.flush()
    for number, name, company, level, theory, practical in PEOPLE:
        org = db.session.scalar(select(Organization).where(Organization.name == company))
        person = Contestant(contest=contest, organization=org, number=number, name=name, declared_level=level)
        db.session.add(person)
        db.session.flush()
        db.session.add(PartScore(contestant_id=person.id, part="theory", value=Decimal(theory), time_used_seconds=600))
        db.session.add(
            PartScore(contestant_id=person.id, part="practical", value=Decimal(practical), time_used_seconds=900)
        )
    for phase in (Phase.OPEN, Phase.REVIEW):
        contests.change_phase(db.session, None, contest, phase)  # type: ignore[arg-type]
    db.session.commit()
    return contest


def test_a_skills_result_is_frozen_published_and_certified(app: Flask, users: dict[str, int], tmp_path: Path) -> None:
    with app.app_context():
        contest = _seed()
        organizer = db.session.get(User, users["organizer"])
        snapshot = publication.freeze(db.session, organizer, contest)
        db.session.commit()
        payload = snapshots.payload_of(snapshot)
        rows = snapshots.award_rows(payload)
        assert [(r.group, r.rank, r.holder, r.organization, r.final_score, r.award) for r in rows] == [
            ("collective", 1, "甲公司", "甲公司", "153.00", "优秀集体"),
            ("individual", 1, "选手一", "甲公司", "83.00", "一等奖"),
            ("individual", 2, "选手三", "乙公司", "72.00", "二等奖"),
        ]
        assert [(row["subject"], row["level_label"]) for row in snapshots.level_rows(payload)] == [
            ("P1", "三级/高级工"),
            ("P2", "四级/中级工"),
        ]
        assert len(payload["part_scores"]) == 8
        # While frozen the scores cannot be re-imported: the file is refused before it is read.
        scores = tmp_path / "scores.csv"
        scores.write_text("编号,部分,成绩\nP4,theory,100\n", encoding="utf-8")
        with pytest.raises(ServiceError) as refusal:
            skills.preview_part_scores(db.session, contest, scores, "scores.csv")
        assert refusal.value.message == "本评选的结果已冻结；如需修改成绩，请先重新开启评审（或发起更正）。"
        # The contestants page does not offer the imports or the task creation it would refuse.
        organizer_client = app.test_client()
        assert log_in(organizer_client, "organizer").status_code == 302
        page = organizer_client.get("/organizer/contests/isg-skills/contestants").get_data(as_text=True)
        assert "data-frozen" in page and "本评选的结果已冻结；如需修改成绩" in page
        assert "/contestants/roster" not in page and "/scores/preview" not in page and "/contestants/tasks" not in page
        head = {"audit_head": snapshots.payload_of(snapshot)["audit_head"]}
        assert snapshots.digest_of(snapshots.snapshot_payload(db.session, contest) | head) == snapshot.digest
        snapshot.publicity_ends_at = utcnow() - timedelta(seconds=1)
        certificates = publication.publish(db.session, organizer, snapshot)
        db.session.commit()
        assert snapshot.status is SnapshotStatus.PUBLISHED
        assert [(c.serial, c.kind, c.holder, c.award) for c in certificates] == [
            ("ISG-2026-0001", "award", "甲公司", "优秀集体"),
            ("ISG-2026-0002", "award", "选手一", "一等奖"),
            ("ISG-2026-0003", "award", "选手三", "二等奖"),
            ("ISG-2026-0004", "level", "选手一", "三级/高级工"),
            ("ISG-2026-0005", "level", "选手二", "四级/中级工"),
        ]
        assert db.session.scalar(select(Certificate).where(Certificate.holder == "选手四")) is None
    public = app.test_client()
    page = public.get("/results/isg-skills").get_data(as_text=True)
    assert "优秀集体" in page and "甲公司" in page and "选手一" in page and "选手二" not in page
    # A skills competition has no works to show: no winners' gallery, here or on the list of results.
    assert "获奖作品展示" not in page and "获奖作品展示" not in public.get("/results").get_data(as_text=True)
    assert public.get("/results/isg-skills/gallery").status_code == 404
