"""Running one service call at the request's edge: the one place where views commit.

A view parses its form, then hands :func:`attempt` the service call. On success the transaction is
committed and ``success`` flashed; on a refusal (:class:`ServiceError`) it is rolled back, so nothing
is written, and the refusal's message (or each of its ``problems``) is flashed in the user's language,
as a warning for the refusals named in ``warnings`` (the user's work is kept, e.g. a sheet saved
meanwhile elsewhere), or not at all with ``announce=False`` (the view answers with the refusal itself:
a JSON reply, a form error). The view reads what happened from the :class:`Outcome`.

An object the actor may not see (:class:`NotFound`) is rolled back and raised on, to the application's
404 page (:mod:`judging.web.errors`); so is anything else that goes wrong, so that a transaction never
outlives its request half done. Files tied to the transaction follow it (see
:func:`judging.services.entry_files.files_follow_transaction`): published when it commits, deleted when
it is rolled back, here or by the error handler.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from flask import flash

from judging.extensions import db
from judging.services import NotFound, ServiceError

T = TypeVar("T")
MAX_FLASHED_PROBLEMS = 20


@dataclass(frozen=True)
class Outcome(Generic[T]):
    ok: bool
    value: T | None = None
    refusal: ServiceError | None = None


def attempt(
    action: Callable[[], T],
    success: str | None = None,
    *,
    warnings: tuple[type[ServiceError], ...] = (),
    announce: bool = True,
) -> Outcome[T]:
    """Call ``action``; commit and flash ``success``, or roll back and flash why it was refused."""
    try:
        value = action()
    except NotFound:
        db.session.rollback()
        raise
    except ServiceError as refusal:
        db.session.rollback()
        if announce:
            flash_refusal(refusal, "warning" if isinstance(refusal, warnings) else "danger")
        return Outcome(False, refusal=refusal)
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()
    if success:
        flash(success, "success")
    return Outcome(True, value)


def flash_refusal(refusal: ServiceError, category: str = "danger") -> None:
    """Show a refusal: its message, or each of its ``problems`` (the first :data:`MAX_FLASHED_PROBLEMS`)."""
    for line in (getattr(refusal, "problems", None) or [refusal.message])[:MAX_FLASHED_PROBLEMS]:
        flash(line, category)
