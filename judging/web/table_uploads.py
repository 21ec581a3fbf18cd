"""Uploaded tables kept between an import's preview and its confirmation (skills scores, organisations).

The preview stores the upload under a random name in the instance's ``imports`` folder and hands the
browser a token naming it; the confirmation finds it again by that token (nothing else: no path from
the browser is ever opened), validates it again and removes it. Previews never confirmed are removed
after a day.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

from flask import abort, current_app, flash
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import HiddenField, SubmitField

PENDING_MAX_AGE_SECONDS = 24 * 3600


class TableUploadForm(FlaskForm):
    file = FileField(
        validators=[FileRequired(), FileAllowed(["csv", "xlsx"], message="CSV / XLSX")],
    )
    submit = SubmitField()


class ConfirmImportForm(FlaskForm):
    token = HiddenField()
    submit = SubmitField()


def pending_folder() -> Path:
    folder = Path(current_app.instance_path) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for stale in folder.glob("*"):  # previews never confirmed: gone after a day
        if now - stale.stat().st_mtime > PENDING_MAX_AGE_SECONDS:
            stale.unlink(missing_ok=True)
    return folder


def keep_upload(form: TableUploadForm) -> tuple[Path, str]:
    """Store an uploaded table under a random name; return its path and the name the user gave it."""
    upload = form.file.data
    suffix = Path(upload.filename or "").suffix.lower()
    path = pending_folder() / f"{secrets.token_hex(16)}{suffix}"
    upload.save(path)
    return path, Path(upload.filename or "table").name


def confirm_token(path: Path, name: str) -> str:
    """What the preview's confirm form carries: the stored file's random name and the user's file name."""
    return f"{path.name}|{name}"


def pending_upload(token: str) -> tuple[Path, str] | None:
    """The stored upload a confirm token names, and the user's file name; None when the token is not one
    of ours (no separator, a path, a hidden name); the path may no longer exist (expired)."""
    stored, _sep, name = (token or "").partition("|")
    if not stored or "/" in stored or "\\" in stored or stored.startswith("."):
        return None
    return pending_folder() / stored, name


def confirmed_upload() -> tuple[Path, str] | None:
    """The upload the posted confirm form names, as :func:`pending_upload`: a bad form or token answers 400;
    an expired preview is flashed and gives None (the caller goes back to its page). The caller deletes the
    file once the import ran, whatever its outcome."""
    form = ConfirmImportForm()
    pending = pending_upload(form.token.data or "")
    if not form.validate_on_submit() or pending is None:
        abort(400)
    if not pending[0].is_file():
        flash(_("This preview has expired; please upload the file again."), "warning")
        return None
    return pending
