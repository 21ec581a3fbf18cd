"""The documented JSON API (/api/v1): its OpenAPI document, every operation it lists answered as documented,
organiser tokens (scope, revocation, hashing at rest, last use), paging, caching, and the skills import
refusing exactly what the spreadsheet import refuses."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from flask import Flask
from jsonschema import Draft202012Validator
from markupsafe import escape
from openapi_spec_validator import validate
from sqlalchemy import select

from judging.extensions import db
from judging.models import (
    ApiToken,
    AuditEvent,
    Certificate,
    Contest,
    Contestant,
    Entry,
    Organization,
    PartScore,
    ResultSnapshot,
    Role,
    User,
)
from judging.rubric import parse_rubric
from judging.services import accounts, api_tokens, contests, organizations, skills
from judging.web.api_schema import openapi_document
from tests.conftest import ROOT, create_user, csrf_token, log_in, make_test_app
from tests.scenarios import (
    freeze_micro_video,
    imported_parts_only,
    publish_micro_video,
    recuse_expert5,
    seed_review_contest,
)

SKILLS_PAGE = "/organizer/contests/isg-skills/contestants"
ROSTER = [("C1", "选手一"), ("C2", "选手二"), ("C3", "选手三")]


def _token(username: str, scope: str, name: str = "screen") -> str:
    """A new token of ``username`` (app context): the secret, as shown once."""
    user = db.session.scalar(select(User).where(User.username == username))
    created = api_tokens.create_token(db.session, user, name, scope)
    db.session.commit()
    return created.secret


def _bearer(secret: str, language: str = "zh-CN") -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}", "Accept-Language": language}


def _roster(app: Flask, tmp_path: Path) -> None:
    """Three contestants on the isg-skills contest, imported through the service (no scores yet)."""
    roster = tmp_path / "roster.csv"
    pd.DataFrame([{"编号": n, "姓名": name, "单位": "测试企业"} for n, name in ROSTER]).to_csv(
        roster, index=False, encoding="utf-8-sig"
    )
    with app.app_context():
        organizations.seed_organizations(db.session, [{"name": "测试企业", "kind": "company"}])
        organizer = db.session.scalar(select(User).where(User.username == "organizer"))
        contest = db.session.scalar(select(Contest).where(Contest.slug == "isg-skills"))
        assert skills.import_roster(db.session, organizer, contest, roster, "roster.csv") == (3, 0)
        db.session.commit()


@pytest.fixture
def published(app: Flask, users: dict[str, int], short_video: Path, client_for, tmp_path: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """micro-video published (with certificates), three contestants on isg-skills, and tokens."""
    with app.app_context():
        seed_review_contest(app, short_video)
        recuse_expert5()
    organizer = client_for("organizer")
    freeze_micro_video(organizer)
    publish_micro_video(app, organizer)
    _roster(app, tmp_path)
    with app.app_context():
        certificate = db.session.scalar(select(Certificate).order_by(Certificate.id))
        entry_id = db.session.scalar(select(db.func.min(db.text("entry.id"))).select_from(db.text("entry")))
        return {
            "read": _token("organizer", "read"),
            "write": _token("organizer", "write"),
            "certificate": certificate.code,
            "entry_id": str(entry_id),
        }


# --- the document and every operation ------------------------------------------------------------------


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator({**schema, "components": document["components"]})


def _check_answer(document: dict[str, Any], path: str, method: str, response) -> None:  # type: ignore[no-untyped-def]
    """The answer's status is one the document lists for the operation, and its body fits that schema."""
    documented = document["paths"][path][method]["responses"]
    status = str(response.status_code)
    assert status in documented, (path, method, status, response.get_data(as_text=True)[:300])
    content = documented[status].get("content", {})
    if status == "304":
        assert response.get_data() == b""
        return
    assert response.mimetype == "application/json", (path, status, response.mimetype)
    errors = sorted(_validator(document, content["application/json"]["schema"]).iter_errors(response.json), key=str)
    assert not errors, (path, method, status, [error.message for error in errors[:5]])


def test_openapi_document_validates_and_every_listed_operation_answers_as_documented(
    app: Flask, published: dict[str, str]
) -> None:
    client = app.test_client()
    document = client.get("/api/v1/openapi.json").json
    validate(document)  # a valid OpenAPI 3.1 document
    read, write = _bearer(published["read"]), _bearer(published["write"])
    ok_rows = {"rows": [{"number": "C1", "part": "theory", "score": 88.5, "time_used": 1800}]}
    bad_rows = {"rows": [{"number": "C9", "part": "theory", "score": "77"}]}
    # (path template, method) → calls: (path values, query, headers, JSON body, expected status)
    cases: dict[tuple[str, str], list[tuple[dict[str, str], dict[str, str], dict[str, str], Any, int]]] = {
        ("/api/v1/contests", "get"): [({}, {}, {}, None, 200), ({}, {"limit": "0"}, {}, None, 400)],
        ("/api/v1/contests/{slug}", "get"): [
            ({"slug": "micro-video"}, {}, {}, None, 200),
            ({"slug": "nope"}, {}, {}, None, 404),
        ],
        ("/api/v1/series", "get"): [({}, {"limit": "1"}, {}, None, 200), ({}, {"cursor": "x"}, {}, None, 400)],
        ("/api/v1/contests/{slug}/results", "get"): [
            ({"slug": "micro-video"}, {}, {}, None, 200),
            ({"slug": "nope"}, {}, {}, None, 404),
        ],
        ("/api/v1/contests/{slug}/results/{number}", "get"): [
            ({"slug": "micro-video", "number": "1"}, {}, {}, None, 200),
            ({"slug": "micro-video", "number": "9"}, {}, {}, None, 404),
        ],
        ("/api/v1/certificates/{code}", "get"): [
            ({"code": published["certificate"]}, {}, {}, None, 200),
            ({"code": "ABCD-EFGH-JKLM"}, {}, {}, None, 404),
        ],
        ("/api/v1/openapi.json", "get"): [({}, {}, {}, None, 200)],
        ("/api/v1/organizer/contests/{slug}/entries", "get"): [
            ({"slug": "micro-video"}, {"limit": "2"}, read, None, 200),
            ({"slug": "micro-video"}, {}, {}, None, 401),
            ({"slug": "nope"}, {}, read, None, 404),
        ],
        ("/api/v1/organizer/entries/{entry_id}", "get"): [
            ({"entry_id": published["entry_id"]}, {}, read, None, 200),
            ({"entry_id": "999999"}, {}, read, None, 404),
        ],
        ("/api/v1/organizer/contests/{slug}/sheets", "get"): [
            ({"slug": "micro-video"}, {"limit": "3"}, read, None, 200),
            ({"slug": "micro-video"}, {"limit": "201"}, read, None, 400),
        ],
        ("/api/v1/organizer/contests/{slug}/results-preview", "get"): [
            ({"slug": "micro-video"}, {}, read, None, 200),
            ({"slug": "isg-skills"}, {}, read, None, 200),
            ({"slug": "nope"}, {}, read, None, 404),
        ],
        ("/api/v1/organizer/contests/{slug}/part-scores", "post"): [
            ({"slug": "isg-skills"}, {}, write, ok_rows, 200),
            ({"slug": "isg-skills"}, {}, write, bad_rows, 422),
            ({"slug": "isg-skills"}, {}, read, ok_rows, 403),
            ({"slug": "isg-skills"}, {}, write, {"rows": "C1"}, 400),
            ({"slug": "isg-skills"}, {}, write, {"rows": [{"number": "C1" * 2**21}]}, 413),
            ({"slug": "micro-video"}, {}, write, ok_rows, 409),
        ],
    }
    listed = {(path, method) for path, operations in document["paths"].items() for method in operations}
    assert listed == set(cases), "every operation the document lists has a test case, and only those"
    for (path, method), calls in cases.items():
        for values, query, headers, body, expected in calls:
            url = path.format(**values)
            response = client.open(url, method=method.upper(), query_string=query, headers=headers, json=body)
            assert response.status_code == expected, (url, query, response.get_data(as_text=True)[:300])
            _check_answer(document, path, method, response)


def test_errors_inside_the_api_are_json_in_the_callers_language(app: Flask) -> None:
    client = app.test_client()
    error_schema = {"$ref": "#/components/schemas/Error"}
    document = client.get("/api/v1/openapi.json").json
    unknown_zh = client.get("/api/v1/no-such-thing")
    unknown_en = client.get("/api/v1/no-such-thing", headers={"Accept-Language": "en-GB,en;q=0.9"})
    wrong_method = client.delete("/api/v1/contests", headers={"Accept-Language": "en"})
    no_token = client.get("/api/v1/organizer/contests/micro-video/entries", headers={"Accept-Language": "en"})
    for response in (unknown_zh, unknown_en, wrong_method, no_token):
        assert response.mimetype == "application/json"
        assert not list(_validator(document, error_schema).iter_errors(response.json))
    assert unknown_zh.status_code == 404 and unknown_zh.json["error"] == {
        "code": "not_found",
        "message": "页面不存在，或您无权查看。",
        "fields": {},
    }
    assert unknown_en.json["error"]["message"] == "There is no such page, or it is not visible to you."
    assert wrong_method.status_code == 405 and wrong_method.json["error"]["code"] == "method_not_allowed"
    assert no_token.status_code == 401 and no_token.json["error"]["code"] == "missing_token"
    assert no_token.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert no_token.json["error"]["message"].startswith("An API token is needed")
    # The old /api/contests keeps answering as before.
    assert client.get("/api/contests").json["contests"][0]["slug"]


# --- tokens ---------------------------------------------------------------------------------------------


def test_token_scope_revocation_deactivation_and_hashing_at_rest(app: Flask, users: dict[str, int]) -> None:
    client = app.test_client()
    entries_url = "/api/v1/organizer/contests/micro-video/entries"
    import_url = "/api/v1/organizer/contests/isg-skills/part-scores"
    rows = {"rows": [{"number": "C1", "part": "theory", "score": "80"}]}
    with app.app_context():
        read = _token("organizer", "read", "ceremony screen")
        write = _token("organizer", "write", "district site")
        stored = {t.name: t for t in db.session.scalars(select(ApiToken))}
        # Hashed at rest: the row holds the sha256, never the token; the row's value does not work as one.
        assert stored["ceremony screen"].token_hash == hashlib.sha256(read.encode()).hexdigest()
        assert all(read not in str(value) for value in vars(stored["ceremony screen"]).values())
        assert stored["ceremony screen"].prefix == read[:10] and stored["ceremony screen"].last_used_at is None
        insider = stored["district site"].token_hash
        assert [
            e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("api_token%")))
        ] == [
            "api_token.create",
            "api_token.create",
        ]
    assert client.get(entries_url, headers=_bearer(insider)).status_code == 401
    assert client.get(entries_url, headers=_bearer("jt_" + insider)).status_code == 401
    # Read token: reads, may not write (403, nothing written); write token reads too.
    assert client.get(entries_url, headers=_bearer(read)).status_code == 200
    refused = client.post(import_url, headers=_bearer(read, "en"), json=rows)
    assert refused.status_code == 403 and refused.json["error"] == {
        "code": "insufficient_scope",
        "message": "This token's scope is read; this operation needs a token with scope write.",
        "fields": {},
    }
    assert client.get(entries_url, headers=_bearer(write)).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(db.func.count(PartScore.id))) == 0
        assert db.session.scalar(select(ApiToken).where(ApiToken.name == "ceremony screen")).last_used_at is not None
        # Revoked: refused from the next request.
        organizer = db.session.scalar(select(User).where(User.username == "organizer"))
        token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.name == "ceremony screen"))
        api_tokens.revoke_token(db.session, organizer, token_id)
        db.session.commit()
    revoked = client.get(entries_url, headers=_bearer(read, "en"))
    assert revoked.status_code == 401 and revoked.json["error"]["code"] == "invalid_token"
    assert client.get(entries_url, headers=_bearer(write)).status_code == 200
    # A deactivated organiser's tokens stop working; reactivated, they work again.
    with app.app_context():
        create_user("organizer2", Role.ORGANIZER)
        db.session.commit()
        second = _token("organizer2", "write", "second")
    assert client.get(entries_url, headers=_bearer(second)).status_code == 200
    with app.app_context():
        organizer = db.session.scalar(select(User).where(User.username == "organizer"))
        organizer2 = db.session.scalar(select(User).where(User.username == "organizer2"))
        accounts.set_active(db.session, organizer, organizer2, active=False)
        db.session.commit()
    assert client.get(entries_url, headers=_bearer(second)).status_code == 401
    with app.app_context():
        organizer = db.session.scalar(select(User).where(User.username == "organizer"))
        organizer2 = db.session.scalar(select(User).where(User.username == "organizer2"))
        accounts.set_active(db.session, organizer, organizer2, active=True)
        db.session.commit()
    assert client.get(entries_url, headers=_bearer(second)).status_code == 200
    # Not a bearer scheme, or garbage: 401 with the one error shape.
    for header in ("Basic b3JnYW5pemVyOnB3", "Bearer", "Bearer " + "x" * 300):
        answer = client.get(entries_url, headers={"Authorization": header})
        assert answer.status_code == 401 and set(answer.json["error"]) == {"code", "message", "fields"}


def test_a_signed_in_cookie_cannot_write_through_the_api(app: Flask, client_for, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _roster(app, tmp_path)
    organizer = client_for("organizer")
    token = csrf_token(organizer, SKILLS_PAGE)
    answer = organizer.post(
        "/api/v1/organizer/contests/isg-skills/part-scores",
        json={"rows": [{"number": "C1", "part": "theory", "score": "80"}]},
        headers={"X-CSRFToken": token},
    )
    assert answer.status_code == 401 and answer.json["error"]["code"] == "missing_token"
    assert organizer.get("/api/v1/organizer/contests/micro-video/entries").status_code == 401
    with app.app_context():
        assert db.session.scalar(select(db.func.count(PartScore.id))) == 0


def test_organiser_creates_sees_once_and_revokes_a_token_in_the_ui(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    page = "/organizer/account/api-tokens"
    organizer = client_for("organizer")
    assert "还没有 API 令牌" in organizer.get(page).get_data(as_text=True)
    refused = organizer.post(page, data={"name": "", "scope": "read", "csrf_token": csrf_token(organizer, page)})
    assert refused.status_code == 400
    created = organizer.post(
        page, data={"name": "颁奖大屏", "scope": "read", "csrf_token": csrf_token(organizer, page)}
    )
    shown = created.get_data(as_text=True)
    assert created.headers["Cache-Control"] == "no-store"
    secret = shown.split('<code id="api-token">')[1].split("</code>")[0]
    assert secret.startswith("jt_") and len(secret) == 46
    listing = organizer.get(page).get_data(as_text=True)
    assert "颁奖大屏" in listing and secret not in listing and secret[:10] in listing
    client = app.test_client()
    assert client.get("/api/v1/organizer/contests/micro-video/entries", headers=_bearer(secret)).status_code == 200
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    # Another organiser cannot revoke it; its owner is asked first, then it is revoked.
    with app.app_context():
        create_user("organizer2", Role.ORGANIZER)
        db.session.commit()
    other = app.test_client()
    log_in(other, "organizer2")
    url = f"{page}/{token_id}/revoke"
    assert other.post(url, data={"csrf_token": csrf_token(other, page), "confirmed": "1"}).status_code == 404
    asked = organizer.post(url, data={"csrf_token": csrf_token(organizer, page)})
    assert asked.status_code == 200 and "撤销 API 令牌“颁奖大屏”？" in asked.get_data(as_text=True)
    assert client.get("/api/v1/organizer/contests/micro-video/entries", headers=_bearer(secret)).status_code == 200
    done = organizer.post(url, data={"csrf_token": csrf_token(organizer, page), "confirmed": "1"})
    assert done.status_code == 302
    assert client.get("/api/v1/organizer/contests/micro-video/entries", headers=_bearer(secret)).status_code == 401
    with app.app_context():
        actions = [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("api_token%")))]
        assert actions == ["api_token.create", "api_token.revoke"]


# --- skills import: the same checks as the spreadsheet ---------------------------------------------------


def test_skills_import_refuses_what_the_spreadsheet_import_refuses_with_the_same_messages(
    app: Flask, client_for, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    _roster(app, tmp_path)
    bad = [
        {"number": "C1", "part": "theory", "score": "88"},
        {"number": "C9", "part": "theory", "score": "77"},
        {"number": "C1", "part": "practical", "score": "101"},
        {"number": "C2", "part": "cooking", "score": "50"},
        {"number": "C2", "part": "theory", "score": "abc"},
        {"number": "C3", "part": "theory", "score": "70.125"},
        {"number": "C3", "part": "practical", "score": "70", "time_used": "1h"},
        {"number": "C1", "part": "theory", "score": "87"},
    ]
    with app.app_context():
        secret = _token("organizer", "write")
    answer = app.test_client().post(
        "/api/v1/organizer/contests/isg-skills/part-scores", headers=_bearer(secret), json={"rows": bad}
    )
    assert answer.status_code == 422 and answer.json["error"]["message"] == "文件中有 7 处问题。"
    problems = answer.json["error"]["fields"]["rows"]
    assert problems == [
        "JSON，第 2 行：没有编号为“C9”的选手。",
        "JSON，第 3 行：成绩 101 超出 0 到 100 的范围。",
        "JSON，第 4 行：未知项目“cooking”（可选：理论知识, 实操技能, 运维实操（裁判评分））。",
        "JSON，第 5 行：成绩“abc”不是数字。",
        "JSON，第 6 行：成绩 70.125 超过两位小数。",
        problems[5],
        "JSON，第 8 行：同一选手同一项目重复（首次出现在第 1 行）。",
    ]
    # The web import of the same rows as a spreadsheet refuses the same rows with the same words: row n of
    # the JSON is row n + 1 of the sheet (its header is row 1).
    buffer = io.BytesIO()
    headers = {"number": "编号", "part": "项目", "score": "成绩", "time_used": "用时"}
    pd.DataFrame(bad).rename(columns=headers).to_excel(buffer, index=False)
    organizer = client_for("organizer")
    sent = organizer.post(
        "/organizer/contests/isg-skills/scores/preview",
        data={"file": (io.BytesIO(buffer.getvalue()), "成绩.xlsx"), "csrf_token": csrf_token(organizer, SKILLS_PAGE)},
        content_type="multipart/form-data",
    )
    page = organizer.get(sent.headers["Location"]).get_data(as_text=True)
    for line in problems:
        row = int(line.split("第 ")[1].split(" 行")[0])
        web = line.replace(f"JSON，第 {row} 行", f"成绩.xlsx，第 {row + 1} 行").replace("在第 1 行", "在第 2 行")
        assert str(escape(web)) in page, web
    with app.app_context():
        assert db.session.scalar(select(db.func.count(PartScore.id))) == 0
        assert not db.session.scalar(
            select(db.func.count(AuditEvent.id)).where(AuditEvent.action == "part_scores.import")
        )


def test_skills_import_writes_exact_scores_all_or_nothing_and_is_audited(app: Flask, users, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _roster(app, tmp_path)
    with app.app_context():
        secret = _token("organizer", "write")
    client = app.test_client()
    url = "/api/v1/organizer/contests/isg-skills/part-scores"
    rows = [
        {"number": "C1", "part": "theory", "score": 88.25, "time_used": 1500},
        {"number": "C2", "part": "理论知识", "score": "0.1"},
        {"number": "C3", "part": "practical", "score": 100},
    ]
    # JSON numbers stay exact: 88.25 and 0.1 are never binary floats on the way.
    dry = client.post(
        url, headers=_bearer(secret), data=json.dumps({"rows": rows, "dry_run": True}), content_type="application/json"
    )
    assert dry.status_code == 200 and dry.json["written"] is False
    with app.app_context():
        assert db.session.scalar(select(db.func.count(PartScore.id))) == 0
    done = client.post(url, headers=_bearer(secret), data=json.dumps({"rows": rows}), content_type="application/json")
    assert done.status_code == 200, done.json
    assert [(c["number"], c["part"], c["old"], c["new"], c["time_used"]) for c in done.json["changes"]] == [
        ("C1", "theory", None, "88.25", 1500),
        ("C2", "theory", None, "0.10", None),
        ("C3", "practical", None, "100.00", None),
    ]
    with app.app_context():
        stored = {(c.number, s.part): s.value for c in db.session.scalars(select(Contestant)) for s in c.part_scores}
        assert {key: format(value, "f") for key, value in stored.items()} == {
            ("C1", "theory"): "88.25",
            ("C2", "theory"): "0.10",
            ("C3", "practical"): "100.00",
        }
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "part_scores.import"))
        assert event is not None and event.actor_id == db.session.scalar(
            select(User.id).where(User.username == "organizer")
        )
    again = client.post(url, headers=_bearer(secret), json={"rows": rows[:2]})
    assert again.json == {"written": True, "changes": [], "unchanged": 2}
    # The results preview ranks the contestant with every part, as the organiser's skills results page does.
    with app.app_context():
        text = imported_parts_only((ROOT / "rubrics" / "isg_skills.toml").read_text(encoding="utf-8"))
        contests.sync_rubric(db.session, None, parse_rubric(text, "isg_imported.toml"))
        db.session.commit()
    client.post(url, headers=_bearer(secret), json={"rows": [{"number": "C1", "part": "practical", "score": "90"}]})
    preview = client.get("/api/v1/organizer/contests/isg-skills/results-preview", headers=_bearer(secret)).json
    assert preview["kind"] == "skills" and preview["ranking"] == []
    assert [(c["rank"], c["number"], c["final_score"], c["parts"]) for c in preview["contestants"]] == [
        (1, "C1", "89.48", {"theory": "88.25", "practical": "90.00"})
    ]
    assert sorted(preview["not_ranked"]) == ["C2", "C3"]


# --- public answers: paging and caching ------------------------------------------------------------------


def test_every_list_pages_and_says_where_the_next_page_is(app: Flask, published: dict[str, str]) -> None:
    client = app.test_client()
    seen, url = [], "/api/v1/contests?limit=1"
    while url:
        page = client.get(url).json
        assert len(page["items"]) <= 1 and page["page"]["limit"] == 1
        seen += [item["slug"] for item in page["items"]]
        url = page["page"]["next"]
    assert seen == [item["slug"] for item in client.get("/api/v1/contests?limit=200").json["items"]]
    assert len(seen) == len(set(seen)) >= 3
    entries, url = [], "/api/v1/organizer/contests/micro-video/entries?limit=2"
    while url:
        page = client.get(url, headers=_bearer(published["read"])).json
        entries += [item["code"] for item in page["items"]]
        url = page["page"]["next"]
    assert entries == sorted(entries) and len(entries) == 5
    for bad, field in (("limit=0", "limit"), ("limit=201", "limit"), ("limit=-1", "limit"), ("cursor=-5", "cursor")):
        answer = client.get(f"/api/v1/contests?{bad}", headers={"Accept-Language": "en"})
        assert answer.status_code == 400 and list(answer.json["error"]["fields"]) == [field], bad


def test_paging_while_rows_are_added_repeats_and_skips_nothing(app: Flask, published: dict[str, str]) -> None:
    """A page's cursor names the last row shown, not a position: an entry added before it (by code) or a
    sheet added meanwhile does not make the next page repeat a row or skip one that was there."""
    client, read = app.test_client(), _bearer(published["read"])
    base = "/api/v1/organizer/contests/micro-video"
    first = client.get(f"{base}/entries?limit=2", headers=read).json
    everything = [item["code"] for item in client.get(f"{base}/entries?limit=200", headers=read).json["items"]]
    assert [item["code"] for item in first["items"]] == everything[:2]
    with app.app_context():  # an entry whose code sorts first arrives between two pages
        contest = db.session.scalar(select(Contest).where(Contest.slug == "micro-video"))
        district = db.session.scalar(select(Organization).where(Organization.name == "黄浦区"))
        db.session.add(Entry(contest=contest, organization=district, code="MV-000", title="迟到的作品"))
        db.session.commit()
    rest, url = [], first["page"]["next"]
    while url:
        page = client.get(url, headers=read).json
        rest += [item["code"] for item in page["items"]]
        url = page["page"]["next"]
    assert rest == everything[2:]  # with an offset, the new first entry pushed everything[1] onto page 2
    sheets = client.get(f"{base}/sheets?limit=3", headers=read).json
    cursor = sheets["page"]["next_cursor"]
    after = client.get(f"{base}/sheets?limit=200&cursor={cursor}", headers=read).json["items"]
    every_sheet = client.get(f"{base}/sheets?limit=200", headers=read).json["items"]
    assert [sheet["id"] for sheet in sheets["items"] + after] == [sheet["id"] for sheet in every_sheet]
    assert len(every_sheet) > 3
    for forged in ("MTIz!", "bm90IGFuIGlk", "x" * 201):  # not base64; base64 of "not an id"; too long
        answer = client.get(f"{base}/sheets?cursor={forged}", headers={**read, "Accept-Language": "en"})
        assert answer.status_code == 400 and list(answer.json["error"]["fields"]) == ["cursor"], forged


def test_published_award_list_is_served_with_a_strong_etag_and_304(app: Flask, published: dict[str, str]) -> None:
    client = app.test_client()
    first = client.get("/api/v1/contests/micro-video/results/1")
    etag, weak = first.get_etag()
    assert first.status_code == 200 and etag and not weak
    assert first.headers["Cache-Control"] == "public, max-age=60, must-revalidate"
    with app.app_context():
        snapshot = db.session.scalar(select(ResultSnapshot).where(ResultSnapshot.number == 1))
        assert first.json["result"]["digest"] == snapshot.digest and first.json["result"]["status"] == "published"
    assert [award["award"] for award in first.json["awards"]][:1] == ["一等奖"]
    again = client.get("/api/v1/contests/micro-video/results/1", headers={"If-None-Match": f'"{etag}"'})
    assert again.status_code == 304 and again.get_data() == b""
    listing = client.get("/api/v1/contests/micro-video/results")
    assert [item["number"] for item in listing.json["items"]] == [1]
    tag, _weak = listing.get_etag()
    assert client.get("/api/v1/contests/micro-video/results", headers={"If-None-Match": f'"{tag}"'}).status_code == 304


def test_a_rewritten_result_is_refused_not_served(app: Flask, published: dict[str, str]) -> None:
    with app.app_context():
        snapshot = db.session.scalar(select(ResultSnapshot).where(ResultSnapshot.number == 1))
        payload = json.loads(snapshot.payload)
        payload["ranking"][0]["holder"] = "篡改者"
        snapshot.payload = json.dumps(payload, ensure_ascii=False)
        db.session.commit()
    answer = app.test_client().get("/api/v1/contests/micro-video/results/1", headers={"Accept-Language": "en"})
    assert answer.status_code == 409 and answer.json["error"]["code"] == "unverified"
    assert "篡改者" not in answer.get_data(as_text=True)


def test_the_api_is_rate_limited_per_caller_with_the_one_error_shape(database_url: str, tmp_path: Path) -> None:
    app = make_test_app(database_url, tmp_path, RATELIMIT_ENABLED=True, API_RATE_LIMIT="3 per minute")
    with app.app_context():
        db.create_all()
    client = app.test_client()
    answers = [client.get("/api/v1/contests", headers={"Accept-Language": "en"}) for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert answers[-1].json == {
        "error": {
            "code": "too_many_requests",
            "message": "Too many requests in a short time. Please wait a minute and try again.",
            "fields": {},
        }
    }
    # A made-up token does not buy a fresh allowance: the count is per client address.
    assert client.get("/api/v1/contests", headers={"Authorization": "Bearer jt_other"}).status_code == 429
    other_route = client.get("/api/v1/organizer/contests/x/entries", headers={"Authorization": "Bearer jt_x"})
    assert other_route.status_code == 429  # one allowance for the whole API, not one per route
    with app.app_context():  # the next test's fixture empties the shared PostgreSQL database
        db.session.remove()
        db.engine.dispose()


def test_an_unexpected_failure_and_an_undocumented_route_under_the_api(bare_app: Flask) -> None:
    """A route added under /api/v1 without a documented operation stops the document from being built,
    and an exception inside the API answers 500 in the error shape (no HTML, no traceback)."""

    def boom() -> str:
        raise RuntimeError("secret internals")

    bare_app.add_url_rule("/api/v1/boom", "boom", boom)
    with bare_app.test_request_context("/api/v1/openapi.json"), pytest.raises(RuntimeError, match="/api/v1/boom"):
        openapi_document(bare_app)
    answer = bare_app.test_client().get("/api/v1/boom")
    assert answer.status_code == 500 and answer.json == {
        "error": {"code": "internal_error", "message": "发生意外错误，未作任何更改，请重试。", "fields": {}}
    }
