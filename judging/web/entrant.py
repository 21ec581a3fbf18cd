"""The entrants' area: the contests open to the organisation and its entries."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from judging.extensions import db
from judging.models import Role
from judging.services.contests import current_rubric, list_contests
from judging.services.entries import entries_of_organization, may_enter
from judging.web.permissions import role_required

bp = Blueprint("entrant", __name__, url_prefix="/entrant")


@bp.get("/")
@role_required(Role.ENTRANT)
def dashboard():  # type: ignore[no-untyped-def]
    organization = current_user.organization
    contests = [
        (contest, rubric)
        for contest in list_contests(db.session)
        if (rubric := current_rubric(contest)).contest.kind == "work" and may_enter(rubric, organization)
    ]
    entries = entries_of_organization(db.session, organization)
    return render_template("entrant/dashboard.html", contests=contests, entries=entries, organization=organization)
