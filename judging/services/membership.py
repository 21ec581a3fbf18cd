"""Panel membership is access: the one rule every judge-facing query and the result share.

- A judge reaches a contest's entries, files and sheets only while on the contest's panel (and through
  an active assignment, :mod:`judging.services.visibility`); taken off the panel, the judge gets
  nothing of the contest, at once.
- A sheet counts in the result only while its judge is on the panel, or when the organiser removed the
  judge and kept the judge's sheets explicitly, with a reason (:class:`~judging.models.PanelRemoval`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, or_

from judging.models import PanelMember, PanelRemoval


def on_panel(judge_id: Any, contest_id: Any) -> ColumnElement[bool]:
    """SQL: the judge sits on the contest's panel (both arguments are columns or values)."""
    return exists().where(PanelMember.judge_id == judge_id, PanelMember.contest_id == contest_id)


def sheets_count(judge_id: Any, contest_id: Any) -> ColumnElement[bool]:
    """SQL: the judge's sheets in this contest count: on the panel, or removed with the sheets kept."""
    kept = exists().where(
        PanelRemoval.judge_id == judge_id,
        PanelRemoval.contest_id == contest_id,
        PanelRemoval.sheets_kept.is_(True),
    )
    return or_(on_panel(judge_id, contest_id), kept)
