"""The judges' area: the entries assigned to the judge and the judge's progress."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from judging.extensions import db
from judging.models import Role
from judging.services.judging import progress_of_judge
from judging.web.permissions import role_required

bp = Blueprint("judge", __name__, url_prefix="/judge")


@bp.get("/")
@role_required(Role.JUDGE)
def dashboard():  # type: ignore[no-untyped-def]
    return render_template("judge/dashboard.html", groups=progress_of_judge(db.session, current_user))
