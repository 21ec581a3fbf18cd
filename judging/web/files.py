"""Serving stored files: only to those who may see the entry, with HTTP range support so videos seek."""

from __future__ import annotations

from flask import Blueprint, current_app, send_file
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from judging import file_types
from judging.models import EntryFile
from judging.services import NotFound
from judging.services.contests import current_rubric
from judging.services.visibility import is_blind_for, is_own_entry
from judging.storage import storage_from_config
from judging.web.lookups import file_for, thumbnail_for
from judging.web.permissions import public

bp = Blueprint("files", __name__, url_prefix="/files")


def download_name(entry_file: EntryFile, own: bool) -> str:
    """The name a download is saved under: the uploader's own name for the entrant's side; for anyone
    else the entry code and the extension of the type detected from the content, nothing the uploader
    wrote (a name like ``MV-007.长宁区网信办`` or ``x.html`` would say who made it, or open as a page)."""
    if own:
        return entry_file.original_name
    kind = file_types.kind_of_media_type(entry_file.content_type) or "bin"
    return f"{entry_file.entry.code}.{kind}"


@bp.get("/<int:file_id>")
@public
def serve(file_id: int) -> ResponseReturnValue:
    entry_file = file_for(current_user, file_id)
    rubric = current_rubric(entry_file.entry.contest)
    blind = is_blind_for(entry_file.entry, current_user, bool(rubric.assignment and rubric.assignment.blind))
    key, sha256 = entry_file.storage_key, entry_file.sha256
    if blind:  # a judge receives only the copy made without metadata, never the upload itself
        if not entry_file.blind_key:  # uploaded before the contest was made blind: nothing clean to give
            raise NotFound(_("This file has no copy for blind review yet."))
        key, sha256 = entry_file.blind_key, entry_file.blind_sha256 or ""
    storage = storage_from_config(current_app.config)
    response = send_file(
        storage.path(key),
        mimetype=entry_file.content_type,
        as_attachment=False,
        download_name=download_name(entry_file, is_own_entry(current_user, entry_file.entry)),
        conditional=True,  # Range and If-None-Match: videos seek, re-requests are cheap
        etag=sha256,
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/<int:file_id>/thumbnail")
@public
def thumbnail(file_id: int) -> ResponseReturnValue:
    key = thumbnail_for(current_user, file_id)
    storage = storage_from_config(current_app.config)
    response = send_file(storage.path(key), mimetype="image/jpeg", conditional=True, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response
