"""Whole-instance backups: every table's rows and every stored file in one ``.tar.gz``.

The archive is database-neutral (rows as JSON lines, one file per table), so a backup taken on
SQLite restores into PostgreSQL and back. It holds:

- ``manifest.json``: format, schema revision (Alembic), creation time, row count per table, files, and
  the audit chain's head (count and hash), so that a backup kept elsewhere shows how long the log was;
- ``tables/<table>.jsonl``: the rows, in primary-key order;
- ``files/<key path>``: the stored uploads, under their storage keys.

A restore goes only into an empty database of the same schema revision and an empty upload folder,
and checks every count, every file's size and the audit chain's head before it commits: it never
half-restores. The audit log is keyed with the instance's ``AUDIT_KEY``, which the archive does not
hold: the target must be given the same key, or the restored chain does not verify and the restore is
refused.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from alembic.migration import MigrationContext
from sqlalchemy import Enum, MetaData, Numeric, Table, func, select
from sqlalchemy.orm import Session

from judging.models import AuditEvent, Base, UTCDateTime, utcnow
from judging.services import ServiceError, audit
from judging.storage import Storage

FORMAT = "judging-backup/1"
FILE_MEMBER = re.compile(r"^files/([0-9a-f]{2}/[0-9a-f]{32})$")


def _schema_revision(session: Session) -> str | None:
    connection = session.connection()
    return MigrationContext.configure(connection).get_current_revision()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "value") and not isinstance(value, (str, int, float, bool)):  # enum members
        return value.value
    return value


def _typed(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    values = {}
    for column in table.columns:
        value = row.get(column.name)
        if value is not None:
            if isinstance(column.type, UTCDateTime):
                value = datetime.fromisoformat(value)
            elif isinstance(column.type, Numeric):
                value = Decimal(value)
            elif isinstance(column.type, Enum) and column.type.enum_class is not None:
                value = column.type.enum_class(value)
        values[column.name] = value
    return values


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(utcnow().timestamp())
    archive.addfile(info, io.BytesIO(data))


def table_lines(session: Session, table: Table) -> Iterator[str]:
    order = list(table.primary_key.columns)
    for row in session.execute(select(table).order_by(*order)).mappings().yield_per(1000):
        yield json.dumps({key: _plain(value) for key, value in row.items()}, ensure_ascii=False)


def _head_of(event_lines: list[str]) -> audit.ChainHead:
    last = max((json.loads(line) for line in event_lines), key=lambda row: row["seq"], default=None)
    return audit.ChainHead(last["seq"], last["hash"]) if last else audit.ChainHead(0, audit.GENESIS_HASH)


def _member(key: str) -> str:
    return f"files/{key[:2]}/{key}"


def write_backup(session: Session, storage: Storage, out: Path) -> dict[str, Any]:
    """Write the archive (to a temporary name, renamed when complete); return its manifest. The files come
    from the storage, on local disk or in an object store alike."""
    metadata: MetaData = Base.metadata
    counts: dict[str, int] = {}
    head = audit.ChainHead(0, audit.GENESIS_HASH)
    keys = storage.keys()
    partial = out.with_name(out.name + ".part")
    try:
        with tarfile.open(partial, "w:gz") as archive:
            for table in metadata.sorted_tables:
                lines = list(table_lines(session, table))
                counts[table.name] = len(lines)
                if table.name == AuditEvent.__tablename__:  # the head of the events written, not of a later read
                    head = _head_of(lines)
                _add_bytes(archive, f"tables/{table.name}.jsonl", ("\n".join(lines) + "\n" if lines else "").encode())
            sizes: dict[str, int] = {}
            for key in keys:
                path = storage.path(key)
                archive.add(path, arcname=_member(key), recursive=False)
                sizes[_member(key)] = path.stat().st_size
            manifest = {
                "format": FORMAT,
                "schema_revision": _schema_revision(session),
                "created_at": utcnow().isoformat(),
                "tables": counts,
                "files": sizes,
                "audit_head": head.as_dict(),
            }
            _add_bytes(archive, "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1).encode())
        partial.replace(out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return manifest


def _parents_first(table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of a table that refers to itself (an organisation's parent), each after the row it names."""
    own = [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]
    if not own:
        return rows
    key = next(iter(table.primary_key.columns)).name
    placed: set[Any] = set()
    ordered: list[dict[str, Any]] = []
    pending = rows
    while pending:
        ready = [r for r in pending if all(r.get(c) is None or r.get(c) in placed for c in own)]
        if not ready:
            raise ServiceError(f"backup: table {table.name} refers to rows it does not contain")
        ordered += ready
        placed |= {r[key] for r in ready}
        pending = [r for r in pending if r[key] not in placed]
    return ordered


def restore_backup(session: Session, storage: Storage, archive_path: Path) -> dict[str, Any]:
    """Restore an archive into an empty database and upload folder; the caller commits.

    Refused (nothing changed) when the archive is not a backup, its schema revision differs from the
    database's, the database already has data, or the upload folder already holds files.
    """
    metadata: MetaData = Base.metadata
    try:
        archive = tarfile.open(archive_path, "r:gz")
    except (OSError, tarfile.TarError) as exc:
        raise ServiceError(f"{archive_path}: not a backup archive ({exc})") from None
    with archive:
        try:
            manifest_file = archive.extractfile("manifest.json")
            if manifest_file is None:  # a folder or a link by that name
                raise KeyError("manifest.json")
            manifest = json.loads(manifest_file.read())
        except (KeyError, AttributeError, ValueError):
            raise ServiceError(f"{archive_path}: not a backup archive (no manifest)") from None
        if manifest.get("format") != FORMAT:
            raise ServiceError(f"{archive_path}: unknown backup format {manifest.get('format')!r}")
        revision = _schema_revision(session)
        if manifest.get("schema_revision") != revision:
            raise ServiceError(
                f"{archive_path}: made with schema revision {manifest.get('schema_revision')}, the database is at "
                f"{revision}; restore with the matching version of the code"
            )
        for table in metadata.sorted_tables:
            if session.scalar(select(func.count()).select_from(table)):
                raise ServiceError(
                    f"the database is not empty (table {table.name} has rows); restore needs an empty one"
                )
        if storage.keys():
            raise ServiceError("the file storage is not empty; restore needs an empty upload folder or bucket")

        for table in metadata.sorted_tables:
            table_file = archive.extractfile(f"tables/{table.name}.jsonl")
            rows = [json.loads(line) for line in table_file.read().decode().splitlines() if line] if table_file else []
            if len(rows) != manifest["tables"].get(table.name, 0):
                raise ServiceError(
                    f"{archive_path}: table {table.name} has {len(rows)} rows, the manifest says "
                    f"{manifest['tables'].get(table.name, 0)}"
                )
            ordered = _parents_first(table, rows)
            for start in range(0, len(ordered), 500):
                session.execute(table.insert(), [_typed(table, row) for row in ordered[start : start + 500]])
        session.flush()
        recorded = manifest.get("audit_head")
        head = audit.chain_head(session)
        if recorded is not None and (recorded.get("count"), recorded.get("hash")) != (head.count, head.hash):
            raise ServiceError(
                f"{archive_path}: the restored audit chain ends at event {head.count}, the backup recorded "
                f"event {recorded.get('count')} as its head"
            )
        broken = audit.verify_chain(session)
        if broken:
            raise ServiceError(
                f"{archive_path}: the restored audit chain is broken at event {broken.seq}: {broken.reason} "
                f"(was this instance given the AUDIT_KEY of the instance the backup was made on?)"
            )
        if session.get_bind().dialect.name == "postgresql":  # let new rows continue after the restored ids
            for table in metadata.sorted_tables:
                if "id" in table.columns:
                    next_id = select(func.coalesce(func.max(table.c.id), 0) + 1).scalar_subquery()
                    session.execute(select(func.setval(func.pg_get_serial_sequence(table.name, "id"), next_id, False)))

        written: list[str] = []
        try:
            for member in archive.getmembers():
                match = FILE_MEMBER.match(member.name)
                if not match or not member.isfile():
                    continue
                key = match.group(1).split("/")[1]
                if match.group(1) != f"{key[:2]}/{key}":
                    continue  # a key filed under another folder is no file of ours
                contents = archive.extractfile(member)
                assert contents is not None  # a regular file's member (checked above)
                with contents as source:
                    size = storage.restore_file(key, source)
                written.append(key)
                if size != manifest["files"].get(member.name):
                    raise ServiceError(f"{archive_path}: {member.name} does not have the size the manifest says")
            if len(written) != len(manifest["files"]):
                raise ServiceError(f"{archive_path}: {len(manifest['files']) - len(written)} files are missing")
        except BaseException:
            for key in written:
                storage.delete(key)
            raise
    return manifest
