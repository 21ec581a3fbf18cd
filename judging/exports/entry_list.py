"""The entry list of a contest as an Excel workbook (one row per entry, headers in the user's language)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flask_babel import get_timezone
from flask_babel import gettext as _

from judging.exports.workbook import Sheet, xlsx_bytes
from judging.models import Entry, EntryStatus
from judging.rubric import Rubric


def entry_list_xlsx(entries: Iterable[Entry], rubric: Rubric, status_label: Callable[[EntryStatus], str]) -> bytes:
    """One sheet: code, title, organisation, category, status, reason, submission time (display time zone), the rubric's
    entry fields, then the work file's name, size in bytes, duration in seconds and sha256."""
    fields = rubric.entry.fields if rubric.entry else ()
    categories = {c.key: c.label for c in rubric.categories}
    headers = [
        _("Code"),
        _("Title"),
        _("Organisation"),
        _("Category"),
        _("Status"),
        _("Reason"),
        _("Submitted at"),
        *[spec.label for spec in fields],
        _("File"),
        _("Size (bytes)"),
        _("Duration (s)"),
        _("Checksum (SHA-256)"),
    ]
    rows = []
    for entry in entries:
        work = next((f for f in entry.files if f.purpose == "work"), entry.files[0] if entry.files else None)
        rows.append(
            [
                entry.code,
                entry.title,
                entry.organization.name,
                categories.get(entry.category or "", ""),
                status_label(entry.status),
                entry.status_reason,
                entry.submitted_at,
                *[entry.fields.get(spec.key, "") for spec in fields],
                work.original_name if work else "",
                work.size_bytes if work else None,
                work.duration_seconds if work else None,
                work.sha256 if work else "",
            ]
        )
    return xlsx_bytes([Sheet(_("Entry list"), headers, rows)], zone=get_timezone())
