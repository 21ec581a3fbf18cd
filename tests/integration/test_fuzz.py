"""Property-based fuzzing of forms and imports: whatever is sent, no 500 and no partial write.

Runs on both databases; each property tries a bounded number of examples so the suite stays fast.
"""

from __future__ import annotations

import io
import string

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from judging.extensions import db
from judging.models import AuditEvent, Contestant, Organization, User
from tests.conftest import csrf_token

FUZZ = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)
field_values = st.one_of(
    text,
    st.integers(-(10**12), 10**12).map(str),
    st.sampled_from(["", "0", "-1", "浦东新区", "../../etc/passwd", "<script>", "1e309", "NaN"]),
)


def _counts() -> tuple[int, int, int, int]:
    return tuple(  # type: ignore[return-value]
        db.session.scalar(db.select(db.func.count(model.id))) for model in (User, Organization, Contestant, AuditEvent)
    )


@FUZZ
@given(
    data=st.dictionaries(
        st.sampled_from(["username", "display_name", "role", "organization_id", "extra"]), field_values
    )
)
def test_new_account_form_never_errors(app: Flask, client_for, data: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    with app.app_context():
        before = _counts()
    response = client.post("/organizer/users", data={**data, "csrf_token": csrf_token(client, "/organizer/users")})
    assert response.status_code < 500
    with app.app_context():
        after = _counts()
    if response.status_code != 200:  # refused: nothing written
        assert after == before


@FUZZ
@given(data=st.dictionaries(st.sampled_from(["name", "kind", "parent_id"]), field_values))
def test_new_organisation_form_never_errors(app: Flask, client_for, data: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    with app.app_context():
        before = _counts()
    response = client.post(
        "/organizer/organizations", data={**data, "csrf_token": csrf_token(client, "/organizer/organizations")}
    )
    assert response.status_code < 500
    with app.app_context():
        if response.status_code != 302:
            assert _counts() == before


@FUZZ
@given(data=st.dictionaries(st.sampled_from(["submission_deadline", "review_deadline", "phase"]), field_values))
def test_contest_settings_forms_never_error(app: Flask, client_for, data: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    client = client_for("organizer")
    token = csrf_token(client, "/organizer/contests/micro-video")
    for url in ("/organizer/contests/micro-video/deadlines", "/organizer/contests/micro-video/phase"):
        assert client.post(url, data={**data, "csrf_token": token}).status_code < 500


@FUZZ
@given(username=field_values, password=field_values)
def test_login_form_never_errors(app: Flask, users: dict[str, int], username: str, password: str) -> None:
    client = app.test_client()
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": csrf_token(client, "/login")}
    )
    assert response.status_code in (200, 400)


table_cells = st.lists(
    st.lists(
        st.one_of(field_values, st.sampled_from(["ISG0001", "测试", "theory", "practical", "88.5"])),
        min_size=1,
        max_size=7,
    ),
    min_size=0,
    max_size=8,
)
headers = st.lists(
    st.sampled_from(["编号", "姓名", "单位", "申报等级", "身份证号", "选手编号", "项目", "成绩", "用时", "x"]),
    min_size=1,
    max_size=7,
)


@FUZZ
@given(
    header=headers,
    rows=table_cells,
    as_bytes=st.binary(max_size=200),
    use_bytes=st.booleans(),
    suffix=st.sampled_from([".csv", ".xlsx"]),
)
def test_skills_imports_never_error_and_refusals_write_nothing(  # type: ignore[no-untyped-def]
    app: Flask, client_for, header: list[str], rows: list[list[str]], as_bytes: bytes, use_bytes: bool, suffix: str
) -> None:
    client = client_for("organizer")
    page = "/organizer/contests/isg-skills/contestants"
    if use_bytes:
        payload = as_bytes
    else:
        lines = [",".join(header)] + [
            ",".join(cell.replace(",", " ").replace("\n", " ") for cell in row) for row in rows
        ]
        payload = "\n".join(lines).encode("utf-8")
    with app.app_context():
        before = _counts()
    for url in ("/organizer/contests/isg-skills/contestants/roster", "/organizer/contests/isg-skills/scores/preview"):
        response = client.post(
            url,
            data={"file": (io.BytesIO(payload), f"t{suffix}"), "csrf_token": csrf_token(client, page)},
            content_type="multipart/form-data",
        )
        assert response.status_code < 500, (url, payload[:100])
    with app.app_context():
        after = _counts()
    assert after[0:2] == before[0:2]  # no account or organisation is ever created by an import


@FUZZ
@given(path=st.text(alphabet=string.printable, max_size=60))
def test_unknown_paths_answer_404_not_500(app: Flask, path: str) -> None:
    response = app.test_client().get("/" + path.lstrip("/"))
    assert response.status_code < 500
