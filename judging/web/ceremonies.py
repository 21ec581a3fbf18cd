"""Ceremony programmes: the printable run sheet and the presentation mode for the hall's screen."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("ceremonies", __name__, url_prefix="/organizer/ceremonies")
