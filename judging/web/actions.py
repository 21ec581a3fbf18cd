"""Running one service call at the request's edge: the one place where views commit.

A view parses its form, then hands :func:`attempt` the service call. On success the transaction is
committed and ``success`` flashed; on a refusal (:class:`ServiceError`) it is rolled back, so nothing
is written, and the refusal's message (or each of its ``problems``) is flashed in the user's language.
An object the actor may not see (:class:`NotFound`) answers 404.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from flask import abort, flash

from judging.extensions import db
from judging.services import NotFound, ServiceError

T = TypeVar("T")
MAX_FLASHED_PROBLEMS = 20


@dataclass(frozen=True)
class Outcome(Generic[T]):
    ok: bool
    value: T | None = None
    refusal: ServiceError | None = None


def attempt(action: Callable[[], T], success: str | None = None) -> Outcome[T]:
    """Call ``action``; commit and flash ``success``, or roll back and flash why it was refused."""
    try:
        value = action()
    except NotFound:
        db.session.rollback()
        abort(404)
    except ServiceError as refusal:
        db.session.rollback()
        for line in (getattr(refusal, "problems", None) or [refusal.message])[:MAX_FLASHED_PROBLEMS]:
            flash(line, "danger")
        return Outcome(False, refusal=refusal)
    db.session.commit()
    if success:
        flash(success, "success")
    return Outcome(True, value)
