"""The entry list of a contest as an Excel workbook (one row per entry, headers in the user's language)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable

from flask_babel import format_datetime
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

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
    book = Workbook()
    sheet = book.active
    assert isinstance(sheet, Worksheet)  # a new workbook opens on its one worksheet
    sheet.title = _("Entry list")
    sheet.append(headers)
    for entry in entries:
        work = next((f for f in entry.files if f.purpose == "work"), entry.files[0] if entry.files else None)
        sheet.append(
            [
                entry.code,
                entry.title,
                entry.organization.name,
                categories.get(entry.category or "", ""),
                status_label(entry.status),
                entry.status_reason,
                format_datetime(entry.submitted_at, "yyyy-MM-dd HH:mm") if entry.submitted_at else "",
                *[entry.fields.get(spec.key, "") for spec in fields],
                work.original_name if work else "",
                work.size_bytes if work else None,
                float(work.duration_seconds) if work and work.duration_seconds is not None else None,
                work.sha256 if work else "",
            ]
        )
    for index, header in enumerate(headers, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(12, min(40, len(str(header)) * 2 + 4))
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
