"""Blank workbooks for the skills imports: the roster, and the scores of each imported part.

Their headers are the Chinese column names the imports read (:data:`~judging.services.skills.ROSTER_COLUMNS`,
:data:`~judging.services.skills.SCORE_COLUMNS`), whatever the user's language, so a filled template always
imports; a second sheet says what each column takes (in the user's language).
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _

from judging.exports.workbook import Sheet, xlsx_bytes
from judging.models import Contestant
from judging.rubric import Part, Rubric, format_points

ROSTER_HEADERS = {
    "number": "编号",
    "name": "姓名",
    "organization": "单位",
    "team": "代表队",
    "declared_level": "申报等级",
    "id_number": "身份证号",
}
SCORE_HEADERS = {"number": "选手编号", "part": "项目", "score": "成绩", "time_used": "用时（秒）"}
"""The headers the templates carry: each one a name the import reads for that column (the tests import
filled templates)."""


def roster_template(rubric: Rubric) -> bytes:
    """The roster's columns, no rows, and a sheet explaining each column (the levels by their labels)."""
    keys = ("number", "name", "organization", "team", "declared_level", "id_number")
    explained = {
        "number": _("Required. The contestant's number, unique in the contest."),
        "name": _("Required. The contestant's full name."),
        "organization": _("Required. The organisation's name exactly as registered on the platform."),
        "team": _("Optional. The team the contestant belongs to."),
        "declared_level": _("Optional. One of: %(levels)s.", levels="、".join(level.label for level in rubric.levels))
        if rubric.levels
        else _("Optional."),
        "id_number": _("Optional. The 18-character identity number (for the certification body only)."),
    }
    return xlsx_bytes(
        [
            Sheet(_("Roster"), [ROSTER_HEADERS[key] for key in keys], []),
            Sheet(
                _("Columns"),
                [_("Column"), _("What it takes")],
                [(ROSTER_HEADERS[k], explained[k]) for k in keys],
            ),
        ]
    )


def part_scores_template(part: Part, contestants: Iterable[Contestant]) -> bytes:
    """One row per registered contestant for ``part`` (number and part filled in, score and time to fill),
    and a sheet explaining each column. Rows left without a score must be deleted before importing."""
    keys = ("number", "part", "score", "time_used")
    rows = [(person.number, part.label, None, None) for person in contestants]
    explained = {
        "number": _("Required. The contestant's number from the roster."),
        "part": _("Required. The part: %(part)s.", part=part.label),
        "score": _(
            "Required. From 0 to %(max)s, at most two decimals. Delete the rows of contestants without a score.",
            max=format_points(part.max),
        ),
        "time_used": _(
            "Optional. The time used, in whole seconds; ties are broken by less time where the rubric says so."
        ),
    }
    headers = [SCORE_HEADERS[key] for key in keys]
    return xlsx_bytes(
        [
            Sheet(part.label, headers, rows),
            Sheet(
                _("Columns"),
                [_("Column"), _("What it takes")],
                [(header, explained[key]) for header, key in zip(headers, keys, strict=True)],
            ),
        ]
    )
