"""A small JSON API; public read-only endpoints for now."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue

from judging.extensions import db
from judging.services.contests import public_contests
from judging.web.permissions import public

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/contests")
@public
def contests() -> ResponseReturnValue:
    return {
        "contests": [
            {
                "slug": contest.slug,
                "title": contest.title,
                "edition": contest.edition,
                "kind": contest.kind,
                "ceremony": contest.ceremony,
                "phase": contest.phase.value,
                "submission_deadline": contest.submission_deadline.isoformat() if contest.submission_deadline else None,
                "review_deadline": contest.review_deadline.isoformat() if contest.review_deadline else None,
            }
            for contest in public_contests(db.session)
        ]
    }
