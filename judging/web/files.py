"""Serving stored files: only to those who may see the entry, with HTTP range support so videos seek."""

from __future__ import annotations

from pathlib import PurePath

from flask import Blueprint, current_app, send_file
from flask.typing import ResponseReturnValue
from flask_login import current_user

from judging.models import EntryFile
from judging.services.contests import current_rubric
from judging.services.visibility import is_blind_for
from judging.storage import LocalStorage
from judging.web.lookups import file_for, thumbnail_for
from judging.web.permissions import public

bp = Blueprint("files", __name__, url_prefix="/files")


def download_name(entry_file: EntryFile, blind: bool) -> str:
    """The name a download is saved under: the entry code while blind (never the uploader's file name)."""
    suffix = PurePath(entry_file.original_name).suffix.lower()
    return f"{entry_file.entry.code}{suffix}" if blind else entry_file.original_name


@bp.get("/<int:file_id>")
@public
def serve(file_id: int) -> ResponseReturnValue:
    entry_file = file_for(current_user, file_id)
    rubric = current_rubric(entry_file.entry.contest)
    blind = is_blind_for(entry_file.entry, current_user, bool(rubric.assignment and rubric.assignment.blind))
    storage = LocalStorage(current_app.config["UPLOAD_FOLDER"])
    response = send_file(
        storage.path(entry_file.storage_key),
        mimetype=entry_file.content_type,
        as_attachment=False,
        download_name=download_name(entry_file, blind),
        conditional=True,  # Range and If-None-Match: videos seek, re-requests are cheap
        etag=entry_file.sha256,
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/<int:file_id>/thumbnail")
@public
def thumbnail(file_id: int) -> ResponseReturnValue:
    key = thumbnail_for(current_user, file_id)
    storage = LocalStorage(current_app.config["UPLOAD_FOLDER"])
    response = send_file(storage.path(key), mimetype="image/jpeg", conditional=True, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response
