"""The published result of a contest with a public vote follows the combined score (issue 19): the award
list (page, PDF notes, workbook), certificates, the entrant's page, objections and /api/v1, and the audit
verification that recomputes the combination from the frozen payload.

The contest is micro-video with ``[vote]`` 70 % experts + 30 % votes as a share of the most votes, the
experts' top 3 on the shortlist. Experts (expert5 recuses; trimmed mean of four sheets): B 84.50 (rank 1),
A 84.00 (2), C 76.50 (3), D 61.75 (4), E excluded by its checks. Votes counted: A 4, B 2, C 1; two more
of C's are voided (one network). Combined:
  A: 0.7 × 84.00 + 0.3 × 100 (4 of 4) = 58.80 + 30.00 = 88.80 → rank 1, 一等奖
  B: 0.7 × 84.50 + 0.3 × 50  (2 of 4) = 59.15 + 15.00 = 74.15 → rank 2, 二等奖
  C: 0.7 × 76.50 + 0.3 × 25  (1 of 4) = 53.55 +  7.50 = 61.05 → rank 3, 二等奖
The vote reverses A and B. D, not on the shortlist, ranks 4th (after the shortlist, by the experts'
order) with its experts' 61.75 and no award, although 61.75 > C's 61.05.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from judging import vote_proof
from judging.exports.publication import award_list_frames
from judging.extensions import db
from judging.models import Certificate, Entry, ResultSnapshot, utcnow
from judging.rubric import parse_rubric
from judging.services import contests, publication, snapshots, votes
from tests.conftest import ROOT
from tests.integration.test_votes import contest, organizer
from tests.scenarios import recuse_expert5, seed_review_contest

KEY = b"vote-test-key-0123456789abcdef01"
DIFFICULTY = 4
REASON = "同一网段的刷票"
VOTED = """
[feedback]
show = "scores"

[vote]
identity = "device"
counts = "hidden"
per_entry_per_day = 1
per_day = 3
pow_difficulty = 4
shortlist = "top"
shortlist_size = 3
expert_weight = 0.7
vote_weight = 0.3
normalisation = "share_of_max"
"""


def _cast(code: str, n: int, address: str) -> int:
    """One vote for ``code`` from device ``n`` (its own cookie and signals) at ``address``."""
    target = contest()
    entry_id = db.session.scalar(select(Entry.id).where(Entry.code == code))
    assert entry_id is not None
    voter = votes.Voter(None, f"{n:040d}", address, f"Mozilla/5.0 device {n}", "zh-CN", "1920x1080", "Asia/Shanghai")
    token = votes.issue_challenge(target, KEY, DIFFICULTY)
    vote = votes.cast_vote(
        db.session, target, entry_id, voter, token, vote_proof.solve(token, DIFFICULTY), KEY, "Asia/Shanghai"
    )
    db.session.commit()
    return vote.id


def vote_on_contest(app: Flask, video: Path) -> dict[str, str]:
    """The contest of the module docstring, its vote closed (in an app context): letter → entry code."""
    text_ = (ROOT / "rubrics" / "micro_video.toml").read_text(encoding="utf-8") + VOTED
    contests.sync_rubric(db.session, None, parse_rubric(text_, "micro_video.toml"), edition="2026")
    db.session.commit()
    codes = seed_review_contest(app, video)
    recuse_expert5()
    votes.open_vote(db.session, organizer(), contest(), utcnow() + timedelta(days=7))
    db.session.commit()
    casts = {"A": 4, "B": 2, "C": 1}
    n = 0
    for letter, count in casts.items():
        for _ in range(count):
            n += 1
            _cast(codes[letter], n, f"198.51.{n}.1")
    rigged = [_cast(codes["C"], 100 + i, f"203.0.113.{i}") for i in (1, 2)]
    votes.void_votes(db.session, organizer(), contest(), rigged, REASON)
    votes.close_vote(db.session, organizer(), contest())
    db.session.commit()
    return codes


@pytest.fixture
def voted(app: Flask, users: dict[str, int], short_video: Path) -> dict[str, str]:
    """The contest of the module docstring, its vote closed: letter → entry code."""
    with app.app_context():
        return vote_on_contest(app, short_video)


def _freeze() -> ResultSnapshot:
    snapshot = publication.freeze(db.session, organizer(), contest())
    db.session.commit()
    return snapshot


def _publish(snapshot: ResultSnapshot) -> None:
    snapshot.publicity_ends_at = utcnow() - timedelta(minutes=1)
    publication.publish(db.session, organizer(), snapshot)
    db.session.commit()


def _award_table(page: str) -> list[tuple[str, ...]]:
    """(award, rank, code, experts, votes, voided, vote points, combined) of each row of the award table."""
    rows = re.findall(r"<tr>\s*<td[^>]*><strong>(.*?)</strong></td>(.*?)</tr>", page, re.S)
    found = []
    for award, cells in rows:
        rank = re.search(r'<td class="text-end">(\d+)</td>', cells)
        code = re.search(r"<code>(.*?)</code>", cells)
        parts = [re.search(rf"<td[^>]*{name}>(.*?)(?:<div|</td>)", cells, re.S) for name in VOTE_CELLS]
        values = [part.group(1).strip() if part else "" for part in parts]
        found.append((award, rank.group(1) if rank else "", code.group(1) if code else "", *values))
    return found


VOTE_CELLS = ("data-expert-score", "data-votes", "data-voided", "data-vote-points", "data-final-score")


def test_the_frozen_ranking_follows_the_combined_score(app: Flask, voted: dict[str, str]) -> None:
    a, b, c, d, e = (voted[letter] for letter in "ABCDE")
    with app.app_context():
        payload = snapshots.payload_of(_freeze())
    assert payload["ranked_by"] == "combined"
    assert [
        (row["rank"], row["subject"], row["final_score"], row["award"], row.get("expert_rank"), row.get("expert_score"))
        for row in payload["ranking"]
    ] == [
        (1, a, "88.80", "一等奖", 2, "84.00"),
        (2, b, "74.15", "二等奖", 1, "84.50"),
        (3, c, "61.05", "二等奖", 3, "76.50"),
        (4, d, "61.75", "", 4, "61.75"),
        (None, e, None, "", None, None),
    ]
    shortlisted = {row["subject"]: row for row in payload["ranking"] if row.get("on_shortlist")}
    assert [
        (code, row["votes"], row["voided"], row["voided_reasons"], row["vote_points"], row["combined"])
        for code, row in shortlisted.items()
    ] == [
        (a, 4, 0, {}, "100.0", "88.80"),
        (b, 2, 0, {}, "50.0", "74.15"),
        (c, 1, 2, {REASON: 2}, "25.0", "61.05"),
    ]
    assert [row.subject for row in snapshots.award_rows(payload)] == [a, b, c]
    assert [subject for subject, _label in snapshots.objection_subjects(payload)] == [a, b, c]


def test_the_award_list_certificates_and_entrant_pages_show_the_combined_result(  # type: ignore[no-untyped-def]
    app: Flask, client_for, voted: dict[str, str]
) -> None:
    a, b, c, d = (voted[letter] for letter in "ABCD")
    with app.app_context():
        snapshot = _freeze()
        number = snapshot.number
    public = app.test_client()
    on_notice = public.get(f"/results/micro-video/{number}").get_data(as_text=True)
    assert _award_table(on_notice) == [
        ("一等奖", "1", a, "84.00", "4", "0", "100.00", "88.80"),
        ("二等奖", "2", b, "84.50", "2", "0", "50.00", "74.15"),
        ("二等奖", "3", c, "76.50", "1", "2", "25.00", "61.05"),
    ]
    assert f"2 票：{REASON}" in on_notice.split(f"<code>{c}</code>")[1].split("</tr>")[0]
    assert 'id="ranked-by-combined"' in on_notice
    with app.app_context():
        snapshot = db.session.get(ResultSnapshot, snapshot.id)
        assert snapshot is not None
        frames = dict(award_list_frames(snapshot))
        _publish(snapshot)
        issued = {
            certificate.subject: certificate.award
            for certificate in db.session.scalars(select(Certificate).where(Certificate.kind == "award"))
        }
    (sheet,) = frames.values()
    assert [str(value) for value in sheet["综合得分"]] == ["88.80", "74.15", "61.05"]
    assert list(sheet["计入票数"]) == [4, 2, 1] and list(sheet["作废票数"]) == [0, 0, 2]
    assert list(sheet["作废原因"]) == ["", "", f"{REASON} 2"]
    assert issued == {a: "一等奖", b: "二等奖", c: "二等奖"}
    api = public.get(f"/api/v1/contests/micro-video/results/{number}").json
    assert [(x["subject"], x["award"], x["final_score"], x["vote"]["votes"]) for x in api["awards"]] == [
        (a, "一等奖", "88.80", 4),
        (b, "二等奖", "74.15", 2),
        (c, "二等奖", "61.05", 1),
    ]
    with app.app_context():
        ids = {code: db.session.scalar(select(Entry.id).where(Entry.code == code)) for code in (a, d)}
    first = _entrant_page(client_for("entrant-a"), ids[a])
    assert re.search(r'id="entry-award"[^>]*>一等奖<', first)
    assert 'id="entry-final-score">88.80<' in first
    assert 'id="entry-rank">第 1 名（共 4 个作品排名）<' in first
    assert "专家得分 84.00（专家排名第 2 名），计入 4 票，作废 0 票，投票得分 100.00。" in first
    fourth = _entrant_page(client_for("entrant-d"), ids[d])
    assert re.search(r'id="entry-award"[^>]*>未获奖<', fourth)
    assert 'id="entry-rank">第 4 名（共 4 个作品排名）<' in fourth
    assert 'id="entry-final-score">61.75<' in fourth and 'id="entry-off-shortlist"' in fourth


def _entrant_page(client: FlaskClient, entry_id: int) -> str:
    response = client.get(f"/entrant/entries/{entry_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _verify(app: Flask) -> tuple[int, list[str]]:
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    return result.exit_code, result.output.splitlines()


def _rewrite(snapshot_id: int, edit) -> str:  # type: ignore[no-untyped-def]
    """An insider's edit of the stored payload, digest rewritten to match; returns the forged digest."""
    snapshot = db.session.get(ResultSnapshot, snapshot_id)
    assert snapshot is not None
    payload = snapshots.payload_of(snapshot)
    edit(payload)
    forged = snapshots.digest_of(payload)
    db.session.execute(
        text("UPDATE result_snapshot SET payload = :payload, digest = :digest WHERE id = :id"),
        {"payload": snapshots.canonical_bytes(payload).decode("utf-8"), "digest": forged, "id": snapshot_id},
    )
    db.session.commit()
    return forged


def test_an_intact_combined_result_verifies(app: Flask, voted: dict[str, str]) -> None:
    with app.app_context():
        _publish(_freeze())
    assert _verify(app)[0] == 0


def test_a_vote_count_changed_in_the_payload_is_named(app: Flask, voted: dict[str, str]) -> None:
    """B's 2 votes made 9 (of a most of 9): its line, recomputed, is B 89.15 first; A's 4 of 9 and C's 1 of
    9 move too (0.3 × 44.44… = 13.33…, 0.3 × 11.11… = 3.33…)."""
    a, b, c = voted["A"], voted["B"], voted["C"]
    with app.app_context():
        snapshot = _freeze()

        def more_votes(payload: dict) -> None:  # type: ignore[type-arg]
            next(line for line in payload["vote"]["lines"] if line["entry"] == b)["votes"] = 9
            next(row for row in payload["ranking"] if row["subject"] == b)["votes"] = 9

        _rewrite(snapshot.id, more_votes)
    code, lines = _verify(app)
    assert code == 1
    combined = [line for line in lines if "public vote" in line or "combined result" in line]
    assert combined == [
        f"result micro-video No. 1: the public vote's line of {b} does not follow from its votes (it says rank 2, "
        f"combined 74.15, award 二等奖; its 9 counted votes give rank 1, combined 89.15, award 一等奖)",
        f"result micro-video No. 1: the public vote's line of {a} does not follow from its votes (it says rank 1, "
        f"combined 88.80, award 一等奖; its 4 counted votes give rank 2, combined 72.13, award 二等奖)",
        f"result micro-video No. 1: the public vote's line of {c} does not follow from its votes (it says rank 3, "
        f"combined 61.05, award 二等奖; its 1 counted votes give rank 3, combined 56.88, award 二等奖)",
        f"result micro-video No. 1: the award list's row of {b} is not its combined result",
        f"result micro-video No. 1: the award list's row of {a} is not its combined result",
        f"result micro-video No. 1: the award list's row of {c} is not its combined result",
    ]
    assert any("is not the one recorded when it was frozen" in line for line in lines)
    assert app.test_client().get("/results/micro-video/1").status_code == 409


def test_an_award_changed_in_the_payload_is_named(app: Flask, voted: dict[str, str]) -> None:
    c, d = voted["C"], voted["D"]
    with app.app_context():
        snapshot = _freeze()

        def promote(payload: dict) -> None:  # type: ignore[type-arg]
            next(line for line in payload["vote"]["lines"] if line["entry"] == c)["award"] = "一等奖"
            next(row for row in payload["ranking"] if row["subject"] == c)["award"] = "一等奖"
            next(row for row in payload["ranking"] if row["subject"] == d)["award"] = "三等奖"

        _rewrite(snapshot.id, promote)
    code, lines = _verify(app)
    assert code == 1
    assert [line for line in lines if "public vote" in line or "combined result" in line] == [
        f"result micro-video No. 1: the public vote's line of {c} does not follow from its votes (it says rank 3, "
        f"combined 61.05, award 一等奖; its 1 counted votes give rank 3, combined 61.05, award 二等奖)",
        f"result micro-video No. 1: the award list's row of {c} is not its combined result",
        f"result micro-video No. 1: {d} has the award 三等奖 but was not on the public vote's shortlist",
    ]


def test_the_results_preview_shows_the_combined_score_that_decides_the_awards(  # type: ignore[no-untyped-def]
    app: Flask, client_for, voted: dict[str, str]
) -> None:
    a, c = voted["A"], voted["C"]
    page = client_for("organizer").get("/organizer/contests/micro-video/results").get_data(as_text=True)
    section = page.split('id="combined-result"')[1].split("</section>")[0]
    assert "冻结并公布的奖项以下表的综合得分为准" in section
    explained = dict(re.findall(r'data-explanation="([^"]+)">([^<]+)</td>', section))
    assert explained[a] == "0.7 × 84.00 + 0.3 × 100 = 58.8 + 30 = 88.8 → 88.80"
    assert explained[c] == "0.7 × 76.50 + 0.3 × 25 = 53.55 + 7.5 = 61.05 → 61.05"
    assert f"2 票：{REASON}" in section
