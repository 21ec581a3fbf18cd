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

from flask import current_app
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
