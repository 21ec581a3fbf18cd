"""Every state-changing route refuses a request without a CSRF token, whoever sends it, and changes nothing.

The routes come from the app's URL map, so a new POST route is covered the day it is added.
"""

from __future__ import annotations

from flask import Flask

from judging.extensions import db
from judging.models import AuditEvent
from tests.scenarios import SAMPLE_ARGUMENTS

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def _state_changing_urls(app: Flask) -> list[tuple[str, str]]:
    urls = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods & STATE_CHANGING):
            values = {name: SAMPLE_ARGUMENTS.get(name, 1) for name in rule.arguments}
            urls.append((method, rule.build(values)[1]))
    return urls


def test_every_state_changing_route_needs_a_csrf_token(app: Flask, client_for) -> None:  # type: ignore[no-untyped-def]
    urls = _state_changing_urls(app)
    assert len(urls) >= 8
    with app.app_context():
        events_before = db.session.scalar(db.select(db.func.count(AuditEvent.id)))
    clients = {
        "anonymous": app.test_client(),
        **{name: client_for(name) for name in ("organizer", "judge", "entrant-a")},
    }
    with app.app_context():
        events_after_login = db.session.scalar(db.select(db.func.count(AuditEvent.id)))
    for who, client in clients.items():
        for method, url in urls:
            response = client.open(url, method=method, data={"anything": "1"})
            if url.startswith("/api/v1/"):  # exempt from CSRF because it takes no cookie: a token or nothing
                assert response.status_code == 401 and response.json["error"]["code"] == "missing_token", url
                continue
            assert response.status_code == 400, (who, method, url, response.status_code)
            assert "表单已过期或并非从本站提交" in response.get_data(as_text=True) or url.startswith("/api/")
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(AuditEvent.id))) == events_after_login >= events_before
