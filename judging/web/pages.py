"""What every page shares: template helpers, the language switch's state, security headers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Flask, Response, abort, current_app, request
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from judging import workflow
from judging.rubric import format_points
from judging.services import contests
from judging.services.round_paths import path_text
from judging.services.snapshots import shown_vote_points
from judging.web import labels
from judging.web.permissions import home_endpoint

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'"
)
"""``media-src blob:``: the uploader reads a chosen video's duration from its metadata before sending it."""


def content_security_policy(config: Mapping[str, Any]) -> str:
    """:data:`CONTENT_SECURITY_POLICY`, letting the uploader send parts to the object store (presigned URLs)
    when files live there."""
    if str(config.get("STORAGE_BACKEND") or "local").lower() != "s3":
        return CONTENT_SECURITY_POLICY
    endpoint = urlsplit(str(config.get("S3_PUBLIC_ENDPOINT_URL") or config.get("S3_ENDPOINT_URL") or ""))
    store = f"{endpoint.scheme}://{endpoint.netloc}" if endpoint.netloc else "https:"
    return CONTENT_SECURITY_POLICY.replace("connect-src 'self'", f"connect-src 'self' {store}")


def safe_next(target: str | None) -> str | None:
    """A redirect target only when it stays on this site: a relative path, not ``//host`` or a URL."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def display_zone() -> ZoneInfo:
    """The time zone deadlines are typed and shown in (zoneinfo: pytz zones need localize(), not replace())."""
    return ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])


def show_datetime(value: datetime | None) -> str:
    """A moment in the display time zone (Asia/Shanghai by default), with the zone's name."""
    if value is None:
        return "—"
    return contests.show_moment(value)


def local_time(value: datetime | None) -> Markup:
    """A moment shown in the display time zone, marked up so that local_time.js adds the reader's own time
    when the browser's zone differs (without JavaScript the configured zone's time stands alone)."""
    if value is None:
        return Markup("—")
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    return Markup(
        '<time datetime="{iso}" data-local-time data-zone="{zone}" data-label="{label}">{shown}</time>'
    ).format(
        iso=moment.astimezone(UTC).isoformat(),
        zone=current_app.config["DISPLAY_TIMEZONE"],
        label=_("(your time: %(when)s)", when="{when}"),
        shown=show_datetime(value),
    )


FILE_SIZE_UNITS = (("GB", 1024**3, "#,##0.00"), ("MB", 1024**2, "#,##0.0"), ("KB", 1024, "#,##0.0"))


def file_size(size_bytes: int) -> str:
    """A file's size for people: ``812 B``, ``23.4 KB``, ``4.1 MB``, ``1.02 GB`` (binary units, the
    locale's digit grouping); the exact byte count stays where a checksum is shown."""
    for unit, scale, pattern in FILE_SIZE_UNITS:
        if size_bytes >= scale:
            return f"{format_decimal(size_bytes / scale, format=pattern)} {unit}"
    return f"{size_bytes} B"


def readable_json(value: object) -> str:
    """Structured details as people read them: keys sorted, Chinese as it is (``tojson`` escapes it)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "), default=str)


def init_app(app: Flask) -> None:
    app.jinja_env.filters["points"] = format_points
    app.jinja_env.filters["readable_json"] = readable_json
    app.jinja_env.filters["file_size"] = file_size
    app.jinja_env.filters["round_path"] = path_text
    app.jinja_env.filters["vote_points"] = shown_vote_points
    app.jinja_env.globals.update(
        show_datetime=show_datetime,
        local_time=local_time,
        phase_label=labels.phase_label,
        phase_move=labels.phase_move,
        # The workflow's questions, so that a page shows a button or a form exactly when the service allows it.
        Action=workflow.Action,
        allowed=contests.allowed,
        refusal_message=contests.refusal_message,
        workflow_moves=workflow.moves_from,
        role_label=labels.role_label,
        organization_kind_label=labels.organization_kind_label,
        entry_status_label=labels.entry_status_label,
        sheet_status_label=labels.sheet_status_label,
        assignment_status_label=labels.assignment_status_label,
        conflict_reason_label=labels.conflict_reason_label,
        ceremony_label=labels.ceremony_label,
        contest_kind_label=labels.contest_kind_label,
        media_label=labels.media_label,
        snapshot_status_label=labels.snapshot_status_label,
        objection_status_label=labels.objection_status_label,
        award_group_label=labels.award_group_label,
        sheet_fate_label=labels.sheet_fate_label,
        rank_status_label=labels.rank_status_label,
        check_rule_label=labels.check_rule_label,
        award_note_text=labels.award_note_text,
        neighbour_text=labels.neighbour_text,
        arithmetic=labels.arithmetic,
        missing_parts_text=labels.missing_parts_text,
        home_endpoint=home_endpoint,
    )

    @app.context_processor
    def _page_context() -> dict[str, object]:
        locale = str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])
        return {
            "current_locale": locale,
            "html_lang": "zh-CN" if locale.startswith("zh") else "en",
            "current_user": current_user,
        }

    @app.before_request
    def _refuse_nul_characters() -> None:
        """NUL never belongs in text a person typed, and PostgreSQL refuses it in strings: answer 400
        for any form field or query value that carries one, instead of failing deep in a query."""
        values = list(request.args.values())
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            values += list(request.form.values())
        if any("\x00" in value for value in values):
            abort(400)

    policy = content_security_policy(app.config)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.endpoint and not request.endpoint.startswith(("static", "bootstrap.")):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
