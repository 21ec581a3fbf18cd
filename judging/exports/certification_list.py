"""The list of a skills competition's certificate holders for the certification body, as xlsx: one row
per contestant who earned a certificate level, with the full identity number (organisers only)."""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _

from judging.exports.workbook import Sheet, xlsx_bytes
from judging.models import Contestant
from judging.rubric import Rubric
from judging.scoring.skills import SkillsResult


def certification_list_xlsx(result: SkillsResult, contestants: Iterable[Contestant], rubric: Rubric) -> bytes:
    """Number, full name, identity number, organisation, final score (shown with the rubric's
    decimals), rank and certificate level, in rank order."""
    people = {person.number: person for person in contestants}
    labels = {level.key: level.label for level in rubric.levels}
    headers = [
        _("Number"),
        _("Full name"),
        _("Identity number"),
        _("Organisation"),
        _("Final score"),
        _("Rank"),
        _("Certificate level"),
    ]
    rows = [
        [
            row.contestant,
            row.name,
            people[row.contestant].id_number or "",
            row.organization,
            row.final_score,
            int(row.rank),
            labels[row.certificate],
        ]
        for row in result.table.itertuples(index=False)
        if row.certificate
    ]
    number_format = "0" if result.decimals == 0 else "0." + "0" * result.decimals
    return xlsx_bytes([Sheet(_("Certificates"), headers, rows, number_format)])
