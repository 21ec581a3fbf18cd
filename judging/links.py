"""Absolute links to this site (invitations, certificates' verification URLs): from ``PUBLIC_BASE_URL``.

A request's ``Host`` header is whatever the client typed; building links from it let anyone who could
make the app render a link (an invitation, a certificate) point it at their own site. In production the
app does not start without ``PUBLIC_BASE_URL`` (:func:`check_public_base_url`); in development and tests
without it, links fall back to the request's own address.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, url_for


def absolute_url(endpoint: str, **values: Any) -> str:
    """``PUBLIC_BASE_URL`` followed by the endpoint's path (the request's host only when it is unset)."""
    base = current_app.config.get("PUBLIC_BASE_URL") or ""
    if not base:
        return url_for(endpoint, _external=True, **values)
    return base.rstrip("/") + url_for(endpoint, _external=False, **values)


def check_public_base_url(app: Flask) -> None:
    """Refuse to start in production without a usable ``PUBLIC_BASE_URL``; a malformed one is refused anywhere."""
    base = app.config.get("PUBLIC_BASE_URL") or ""
    if not base:
        if app.debug or app.testing:
            return
        raise RuntimeError(
            "PUBLIC_BASE_URL is not set. Set it to the address people use to reach this site, e.g. "
            "PUBLIC_BASE_URL=https://awards.example.org: invitation links and certificate URLs are built from "
            "it, never from the request's Host header. (`make run` sets it for the local demo.)"
        )
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/") or parts.query:
        raise RuntimeError(
            f"PUBLIC_BASE_URL={base!r} is not a site address: give the scheme and host (and port), e.g. "
            "https://awards.example.org, without a path."
        )
