"""Uploaded tables kept between an import's preview and its confirmation (skills scores, organisations).

The preview stores the upload in the file storage every host shares (the object store, or
``UPLOAD_FOLDER``) and keeps a local copy in this host's ``imports`` folder to read; it hands the browser a
token, signed with the ``SECRET_KEY``, naming the stored file and the user's file name. The confirmation,
on whichever host nginx sends it to, accepts only a token this deployment signed within the day (nothing
else: no path or key from the browser is ever opened), reads the file from its local copy or fetches it
from the storage, validates it again and the caller discards it (:func:`discard_upload`). Previews never
confirmed are removed after a day, with their stored files.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import time
from pathlib import Path

from flask import abort, current_app, flash
from flask_babel import gettext as _
from flask_wtf.file import FileAllowed, FileField, FileRequired
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from wtforms import HiddenField, SubmitField

from judging.storage import Storage, storage_from_config
from judging.web.forms import AppForm

PENDING_MAX_AGE_SECONDS = 24 * 3600
STORED_NAME = re.compile(r"[0-9a-f]{32}\.(csv|xlsx)")
"""A kept table's name: its storage key and the suffix that says how to read it."""


class TableUploadForm(AppForm):
    file = FileField(
        validators=[FileRequired(), FileAllowed(["csv", "xlsx"], message="CSV / XLSX")],
    )
    submit = SubmitField()


class ConfirmImportForm(AppForm):
    token = HiddenField()
    submit = SubmitField()


def _storage() -> Storage:
    return storage_from_config(current_app.config)


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="table-import-preview")


def pending_folder() -> Path:
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for stale in folder.glob("*"):  # previews never confirmed: gone after a day, with their stored files
        if now - stale.stat().st_mtime > PENDING_MAX_AGE_SECONDS:
            discard_upload(stale)
    return folder


def keep_upload(form: TableUploadForm) -> tuple[Path, str]:
    """Store an uploaded table where every host finds it; return a local copy's path and the user's file name."""
    upload = form.file.data
    suffix = Path(upload.filename or "").suffix.lower()
    folder = pending_folder()
    received = folder / f"receiving-{secrets.token_hex(16)}{suffix}"
    upload.save(received)
    try:
        stored = _storage().save_path(received)
    except BaseException:
        received.unlink(missing_ok=True)
        raise
    path = folder / f"{stored.key}{suffix}"
    os.replace(received, path)
    return path, Path(upload.filename or "table").name


def discard_upload(path: Path) -> None:
    """Remove a kept table: its local copy and its stored file (once its import ran, or it was refused)."""
    path.unlink(missing_ok=True)
    if STORED_NAME.fullmatch(path.name):
        _storage().delete(path.name.split(".", 1)[0])


def confirm_token(path: Path, name: str) -> str:
    """What the preview's confirm form carries, signed: the stored table's name and the user's file name."""
    return str(_signer().dumps([path.name, name]))


def _local_copy(stored: str) -> Path | None:
    """This host's copy of a kept table, fetched from the storage when another host made the preview;
    None when the storage no longer holds it (imported or expired, maybe through another host)."""
    path = pending_folder() / stored
    storage, key = _storage(), stored.split(".", 1)[0]
    if not storage.exists(key):
        path.unlink(missing_ok=True)
        return None
    if path.is_file():
        return path
    try:
        source = storage.path(key)
    except FileNotFoundError:
        return None
    copying = path.with_name(f"receiving-{secrets.token_hex(16)}{path.suffix}")
    shutil.copyfile(source, copying)
    os.replace(copying, path)
    return path


def confirmed_upload() -> tuple[Path, str] | None:
    """The kept table the posted confirm form names and the user's file name: a bad form or a token this
    deployment did not sign answers 400; an expired preview is flashed (its stored file removed) and gives
    None (the caller goes back to its page). The caller discards the table (:func:`discard_upload`) once
    the import ran, whatever its outcome."""
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        abort(400)
    token = form.token.data or ""
    try:
        payload = _signer().loads(token, max_age=PENDING_MAX_AGE_SECONDS)
        expired = False
    except SignatureExpired:
        _signed, payload = _signer().loads_unsafe(token)  # signed by us, only too old: its file goes
        expired = True
    except BadSignature:
        abort(400)
    if not isinstance(payload, list) or len(payload) != 2 or not all(isinstance(part, str) for part in payload):
        abort(400)
    stored, name = payload
    if not STORED_NAME.fullmatch(stored):
        abort(400)
    path = None if expired else _local_copy(stored)
    if path is None:
        discard_upload(pending_folder() / stored)
        flash(_("This preview has expired; please upload the file again."), "warning")
        return None
    return path, name
