"""`flask backup` and `flask restore` round-trip a whole instance, across database engines."""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import stamp

from judging.extensions import db
from judging.models import Base, Role
from judging.services.backup import table_lines
from judging.storage import storage_from_config
from tests.conftest import ROOT, create_user, make_test_app, storage_config, submitted_video_entry


def _dump(app: Flask) -> dict[str, list[str]]:
    with app.app_context():
        return {table.name: list(table_lines(db.session, table)) for table in Base.metadata.sorted_tables}


def _files(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in folder.rglob("*")
        if path.is_file()
    }


def test_backup_restores_every_row_and_file_into_a_fresh_sqlite(
    app: Flask, users: dict[str, int], short_video: Path, tmp_path: Path
) -> None:
    with app.app_context():
        submitted_video_entry(app, "entrant-a", short_video, "备份测试作品")
        stamp(directory=str(ROOT / "migrations"))  # the fixture made the schema without Alembic
    archive = tmp_path / "backup.tar.gz"
    result = app.test_cli_runner().invoke(args=["backup", "--out", str(archive)])
    assert result.exit_code == 0, result.output
    assert " 3 files, schema " in result.output  # the video, its thumbnail and its blind copy

    target = make_test_app(f"sqlite:///{tmp_path / 'restored.sqlite3'}", tmp_path / "target")
    restored = target.test_cli_runner().invoke(args=["restore", str(archive)])
    assert restored.exit_code == 0, restored.output
    assert _dump(target) == _dump(app)
    assert _files(Path(target.config["UPLOAD_FOLDER"])) == _files(Path(app.config["UPLOAD_FOLDER"]))
    assert target.test_cli_runner().invoke(args=["audit", "verify"]).output.startswith("audit chain intact.\n")
    # The restored instance works: its users log in, new rows get fresh ids.
    client = target.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert "登录" in page

    again = target.test_cli_runner().invoke(args=["restore", str(archive)])
    assert again.exit_code == 1
    assert "the database is not empty" in again.output
    with target.app_context():
        db.engine.dispose()


def test_restore_refuses_what_is_not_a_backup_and_changes_nothing(bare_app: Flask, tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive")
    target = make_test_app(f"sqlite:///{tmp_path / 'target.sqlite3'}", tmp_path / "target")
    result = target.test_cli_runner().invoke(args=["restore", str(junk)])
    assert result.exit_code == 1
    assert f"{junk}: not a backup archive" in result.output
    tampered = tmp_path / "tampered.tar.gz"
    with tarfile.open(tampered, "w:gz") as archive:
        archive.add(ROOT / "README.md", arcname="README.md")
    result = target.test_cli_runner().invoke(args=["restore", str(tampered)])
    assert result.exit_code == 1 and "no manifest" in result.output
    with target.app_context():
        assert all(not rows for rows in _dump(target).values())
        db.engine.dispose()


def test_backup_and_restore_carry_the_files_of_either_storage(
    storage_app: Flask,
    storage_backend: dict[str, object],
    request: pytest.FixtureRequest,
    short_video: Path,
    tmp_path: Path,
) -> None:
    """The same round trip with the files on local disk and in the object store (SeaweedFS): every key comes
    back with the same bytes, into another bucket prefix."""
    app = storage_app
    with app.app_context():
        create_user("entrant-a", Role.ENTRANT, "浦东新区")
        submitted_video_entry(app, "entrant-a", short_video, "对象存储备份")
        stamp(directory=str(ROOT / "migrations"))
        source = storage_from_config(app.config)
        originals = {key: hashlib.sha256(source.path(key).read_bytes()).hexdigest() for key in source.keys()}
    assert len(originals) == 3
    archive = tmp_path / "backup.tar.gz"
    result = app.test_cli_runner().invoke(args=["backup", "--out", str(archive)])
    assert result.exit_code == 0, result.output
    elsewhere = storage_config(request, str(storage_backend["STORAGE_BACKEND"]))
    target = make_test_app(f"sqlite:///{tmp_path / 'restored.sqlite3'}", tmp_path / "target", **elsewhere)
    restored = target.test_cli_runner().invoke(args=["restore", str(archive)])
    assert restored.exit_code == 0, restored.output
    with target.app_context():
        copy = storage_from_config(target.config)
        assert {key: hashlib.sha256(copy.path(key).read_bytes()).hexdigest() for key in copy.keys()} == originals
        db.engine.dispose()
