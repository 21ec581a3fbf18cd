"""A table import previewed on one host and confirmed on another (README, Several hosts): the preview keeps
the table in the storage every host shares, and the confirm token is signed with the shared SECRET_KEY.

Two apps on one database and one storage (the session's SeaweedFS, or one upload folder), each with its
own instance folder, as two hosts behind nginx's round robin are.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from judging.extensions import db
from judging.models import Organization, Role
from judging.services import organizations
from judging.storage import storage_from_config
from tests.conftest import create_user, csrf_token, log_in, make_test_app
from tests.scenarios import organizations_workbook, twenty_organizations

LIST = "/organizer/organizations"
TOKEN = re.compile(r'name="token" type="hidden" value="([^"]+)"')


@pytest.fixture
def host_b(storage_app: Flask, tmp_path: Path, storage_backend: dict[str, object]) -> Iterator[Flask]:
    """Host B: the same database, keys and storage as host A, its own instance folder (and, with S3, its own
    scratch folder; on local disk the upload folder is the one both hosts share)."""
    first = storage_app
    shared = {"UPLOAD_FOLDER": first.config["UPLOAD_FOLDER"]} if storage_backend["STORAGE_BACKEND"] == "local" else {}
    second = make_test_app(
        first.config["SQLALCHEMY_DATABASE_URI"],
        tmp_path / "host-b",
        INSTANCE_PATH=str(tmp_path / "host-b" / "instance"),
        **{**storage_backend, **shared},
    )
    yield second
    with second.app_context():
        db.session.remove()
        db.engine.dispose()


def _organiser(app: Flask) -> FlaskClient:
    with app.app_context():
        create_user("organizer", Role.ORGANIZER, "市委网信办")
    client = app.test_client()
    assert log_in(client, "organizer").status_code == 302
    return client


def _preview(client: FlaskClient, path: Path) -> str:
    with path.open("rb") as stream:
        page = client.post(
            f"{LIST}/import/preview",
            data={"file": (stream, path.name), "csrf_token": csrf_token(client, LIST)},
            content_type="multipart/form-data",
        ).get_data(as_text=True)
    found = TOKEN.search(page)
    assert found, page
    return found.group(1)


def _imports(app: Flask) -> list[Path]:
    return sorted((Path(app.instance_path) / "imports").glob("*"))


def _organisation_count(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(db.select(db.func.count(Organization.id))) or 0)


def test_previewed_on_one_host_confirmed_on_the_other(storage_app: Flask, host_b: Flask, tmp_path: Path) -> None:
    host_a = storage_app
    organiser = _organiser(host_a)
    before = _organisation_count(host_a)
    token = _preview(organiser, organizations_workbook(tmp_path / "orgs.xlsx", twenty_organizations()))
    assert len(_imports(host_a)) == 1 and _imports(host_b) == []
    with host_a.app_context():
        assert len(storage_from_config(host_a.config).keys()) == 1  # the table, where host B finds it

    # The same browser (its session cookie signed with the shared key) posts the confirmation to host B.
    on_b = host_b.test_client()
    on_b.set_cookie("session", organiser.get_cookie("session", domain="judging.test").value, domain="judging.test")  # type: ignore[union-attr]
    done = on_b.post(f"{LIST}/import/confirm", data={"token": token, "csrf_token": csrf_token(on_b, LIST)})

    assert done.status_code == 302
    assert _organisation_count(host_a) == before + 20
    with host_b.app_context():
        assert organizations.find_organization(db.session, "滨江区") is not None
        assert storage_from_config(host_b.config).keys() == []  # the stored table is gone with its import
    assert _imports(host_b) == []
    # Confirming the same preview again through host A, which still holds its local copy: the stored table
    # is gone, so the preview has expired; nothing is imported twice, and host A's copy goes.
    with host_a.app_context():
        twice = [organization.name for organization in db.session.scalars(db.select(Organization))]
    again = organiser.post(
        f"{LIST}/import/confirm",
        data={"token": token, "csrf_token": csrf_token(organiser, LIST)},
        follow_redirects=True,
    )
    assert "预览已过期，请重新上传文件。" in again.get_data(as_text=True)
    with host_a.app_context():
        assert [organization.name for organization in db.session.scalars(db.select(Organization))] == twice
    assert _imports(host_a) == []
    assert _organisation_count(host_a) == before + 20


def test_a_token_a_day_old_or_not_signed_by_the_deployment_imports_nothing(
    storage_app: Flask, host_b: Flask, tmp_path: Path
) -> None:
    host_a = storage_app
    organiser = _organiser(host_a)
    before = _organisation_count(host_a)
    token = _preview(organiser, organizations_workbook(tmp_path / "orgs.xlsx", twenty_organizations()))
    stored, name = URLSafeTimedSerializer(host_a.config["SECRET_KEY"], salt="table-import-preview").loads(token)
    on_b = host_b.test_client()
    on_b.set_cookie("session", organiser.get_cookie("session", domain="judging.test").value, domain="judging.test")  # type: ignore[union-attr]
    csrf = csrf_token(on_b, LIST)

    # Signed by someone without the key (the same names, another key): refused, nothing touched.
    forged = URLSafeTimedSerializer("another key", salt="table-import-preview").dumps([stored, name])
    assert on_b.post(f"{LIST}/import/confirm", data={"token": forged, "csrf_token": csrf}).status_code == 400
    # Signed by the deployment but naming another file than a kept table: refused.
    signer = URLSafeTimedSerializer(host_a.config["SECRET_KEY"], salt="table-import-preview")
    for names in (["../../instance/secret_key", name], [stored.replace(".xlsx", ".sh"), name], "x"):
        assert (
            on_b.post(f"{LIST}/import/confirm", data={"token": signer.dumps(names), "csrf_token": csrf}).status_code
            == 400
        )
    with host_a.app_context():
        assert len(storage_from_config(host_a.config).keys()) == 1

    class DayOld(TimestampSigner):  # what the deployment signed a day and a minute ago
        def get_timestamp(self) -> int:
            return int(time.time()) - 24 * 3600 - 60

    old = URLSafeTimedSerializer(host_a.config["SECRET_KEY"], salt="table-import-preview", signer=DayOld).dumps(
        [stored, name]
    )
    expired = on_b.post(f"{LIST}/import/confirm", data={"token": old, "csrf_token": csrf}, follow_redirects=True)
    assert "预览已过期，请重新上传文件。" in expired.get_data(as_text=True)
    assert _organisation_count(host_a) == before
    with host_a.app_context():
        assert storage_from_config(host_a.config).keys() == []  # the expired table's stored file went too
