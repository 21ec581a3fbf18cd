"""Published results served like static files: strong ETags, shared caching, 304 on revalidation.

A published award list, its gallery and its PDF change only when their snapshot does (its digest and
status), when the contest's list of snapshots changes (a correction is published, notice ends), with the
language, and with the code and templates that draw them. :func:`conditional` takes those parts, answers
``304 Not Modified`` to a browser or proxy that already holds that version, and otherwise renders once per
version and process (the rendered body is kept, a few dozen of them). Only anonymous visitors with no
pending message get the shared version: a signed-in page carries the person's menu and stays private.

The caller checks the snapshot is vouched for (its payload hashes to the digest its sealed freeze event
recorded) before calling: a payload rewritten in the database is refused even to a visitor whose browser
holds the page. A ceremony sends thousands of readers to one page within seconds, so :func:`recent`
keeps each process's last answer to an anonymous URL for ``PUBLISHED_PAGE_SECONDS`` (2 s by default)
and answers from memory meanwhile, without the database: a correction, the end of the notice or a
rewritten payload shows at most that long later.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from threading import Lock
from typing import Any

from flask import Response, current_app, make_response, request, session
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_login import current_user

SHARED = "public, max-age=60, must-revalidate"
"""A proxy may serve a version for a minute, then asks again (a correction shows within the minute)."""
PRIVATE = "private, no-cache"

_BODIES: OrderedDict[str, bytes] = OrderedDict()
_BODIES_LOCK = Lock()
BODIES_KEPT = 64

_RELEASE: dict[str, str] = {}


def release_id() -> str:
    """A digest of the code, templates and catalogues this process serves: a new release, a new ETag."""
    root = Path(current_app.root_path).parent
    found = _RELEASE.get(str(root))
    if found is None:
        digest = hashlib.sha256()
        for folder, pattern in (("judging", "*.py"), ("templates", "*.html"), ("judging/translations", "*.mo")):
            for path in sorted((root / folder).rglob(pattern)):
                digest.update(str(path.relative_to(root)).encode())
                digest.update(path.read_bytes())
        found = _RELEASE[str(root)] = digest.hexdigest()[:16]
    return found


def _shared() -> bool:
    if current_user.is_authenticated:
        return False
    return not session.get("_flashes")  # read, not consumed: the page itself shows them


def conditional(parts: Iterable[object], render: Callable[[], bytes], mimetype: str, **headers: str) -> Response:
    """The version named by ``parts`` (plus the language and the release): 304 when the client holds it,
    else its body, rendered by ``render`` once per version and process."""
    if not _shared():
        response = make_response(render())
        response.mimetype = mimetype
        response.headers.update(headers)
        response.headers["Cache-Control"] = PRIVATE
        return response
    key = hashlib.sha256(
        "\x1f".join([*(str(part) for part in parts), str(get_locale()), release_id(), mimetype]).encode("utf-8")
    ).hexdigest()
    if key in request.if_none_match:
        response = Response(status=304)
    else:
        with _BODIES_LOCK:
            body = _BODIES.get(key)
            if body is not None:
                _BODIES.move_to_end(key)
        if body is None:
            body = render()
            with _BODIES_LOCK:
                _BODIES[key] = body
                while len(_BODIES) > BODIES_KEPT:
                    _BODIES.popitem(last=False)
        response = Response(body, mimetype=mimetype)
        response.headers.update(headers)
    response.set_etag(key)
    response.headers["Cache-Control"] = SHARED
    response.vary.add("Cookie")
    return response


@dataclass(frozen=True)
class _Recent:
    until: float
    etag: str
    body: bytes | None
    """None when the view answered 304: then only a visitor holding ``etag`` is answered from memory."""
    headers: tuple[tuple[str, str], ...]


_RECENT: OrderedDict[tuple[str, ...], _Recent] = OrderedDict()
RECENT_KEPT = 256


def recent(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """Answer an anonymous visitor from this process's last answer to the same URL and language while it
    is younger than ``PUBLISHED_PAGE_SECONDS`` (304 when the visitor holds it); else run ``view``."""

    @wraps(view)
    def answer(**kwargs: Any) -> ResponseReturnValue:
        seconds = float(current_app.config["PUBLISHED_PAGE_SECONDS"])
        if seconds <= 0 or not _shared():
            return view(**kwargs)
        key = (request.path, request.query_string.decode("latin-1"), str(get_locale()))
        now = time.monotonic()
        with _BODIES_LOCK:
            kept = _RECENT.get(key)
        holds = kept is not None and kept.etag in request.if_none_match
        if kept is not None and kept.until > now and (holds or kept.body is not None):
            response = Response(status=304) if holds else Response(kept.body)
            response.headers.update(kept.headers if response.status_code == 200 else ())
            response.set_etag(kept.etag)
            response.headers["Cache-Control"] = SHARED
            response.vary.add("Cookie")
            return response
        response = make_response(view(**kwargs))
        etag, _weak = response.get_etag()
        # A ceremony's readers revalidate: a 304 is remembered too, or every one of them would reach the
        # database once the window has passed.
        if response.status_code in (200, 304) and etag:
            headers = tuple(
                (name, value)
                for name, value in response.headers.items()
                if name in ("Content-Type", "Content-Disposition")
            )
            body = response.get_data() if response.status_code == 200 else None
            if body is None and kept is not None and kept.etag == etag:
                body, headers = kept.body, kept.headers  # the same version: keep its body for visitors without it
            with _BODIES_LOCK:
                _RECENT[key] = _Recent(now + seconds, etag, body, headers)
                _RECENT.move_to_end(key)
                while len(_RECENT) > RECENT_KEPT:
                    _RECENT.popitem(last=False)
        return response

    return answer
