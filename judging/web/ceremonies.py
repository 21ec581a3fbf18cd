"""Ceremony programmes: the printable run sheet and the presentation mode for the hall's screen.

Both pages show :func:`judging.services.ceremonies.programme` for a ceremony key (``opening``,
``closing``, or whatever the rubrics name), optionally for an ``edition`` and in an announcement
``order`` (``rubric``: first prize first; ``ascending``: from the lowest award up), both given in the
query string so that the run sheet and the presentation links agree.
"""

from __future__ import annotations

from flask import Blueprint, flash, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from judging.extensions import db
from judging.models import Role, SnapshotStatus
from judging.services import ceremonies as service
from judging.web.permissions import role_required

bp = Blueprint("ceremonies", __name__, url_prefix="/organizer/ceremonies")
organizer_only = role_required(Role.ORGANIZER)


def order_label(order: str) -> str:
    return {
        service.RUBRIC_ORDER: _("Award order (first prize first)"),
        service.ASCENDING_ORDER: _("From the lowest award up to the first prize"),
    }[order]


def _programme(ceremony: str, *, warn: bool) -> service.Programme:
    """The programme the query string asks for; an unknown order falls back to the award order. An
    unknown ceremony or edition is not found (:class:`judging.services.NotFound`: the 404 page)."""
    order = request.args.get("order") or service.RUBRIC_ORDER
    if order not in service.ORDERS:
        if warn:
            flash(_("Unknown announcement order; the programme is shown in award order."), "warning")
        order = service.RUBRIC_ORDER
    edition = request.args.get("edition")
    return service.programme(db.session, ceremony, edition=edition, order=order)


@bp.get("/")
@organizer_only
def index() -> ResponseReturnValue:
    return render_template(
        "ceremonies/index.html", summaries=service.ceremonies_in_use(db.session), on_notice_status=SnapshotStatus.FROZEN
    )


@bp.get("/<ceremony>")
@organizer_only
def run_sheet(ceremony: str) -> ResponseReturnValue:
    programme = _programme(ceremony, warn=True)
    return render_template(
        "ceremonies/run_sheet.html",
        programme=programme,
        orders=service.ORDERS,
        order_label=order_label,
        on_notice_status=SnapshotStatus.FROZEN,
    )


@bp.get("/<ceremony>/present")
@organizer_only
def present(ceremony: str) -> ResponseReturnValue:
    programme = _programme(ceremony, warn=False)
    return render_template("ceremonies/present.html", programme=programme, on_notice_status=SnapshotStatus.FROZEN)
