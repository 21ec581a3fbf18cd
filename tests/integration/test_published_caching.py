"""Published results served like static files (issue 18): a strong ETag for each version of a page, a
Cache-Control a shared proxy may honour, 304 on revalidation — and never a stale or tampered page: a
status change, a correction, another language or a payload rewritten in the database is a new answer."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from judging.extensions import db
from judging.models import ResultSnapshot, SnapshotStatus, utcnow
from tests.conftest import csrf_token
from tests.scenarios import recuse_expert5, seed_review_contest

DESK = "/organizer/contests/micro-video/publication"
PAGE = "/results/micro-video/1"


@pytest.fixture
def frozen(app: Flask, users: dict[str, int], short_video: Path, client_for) -> FlaskClient:  # type: ignore[no-untyped-def]
    with app.app_context():
        seed_review_contest(app, short_video)
        recuse_expert5()
    organizer = client_for("organizer")
    response = organizer.post(
        "/organizer/contests/micro-video/freeze",
        data={"publicity_days": "5", "csrf_token": csrf_token(organizer, DESK)},
    )
    assert response.status_code == 302
    return organizer


def _publish(app: Flask, organizer: FlaskClient) -> None:
    with app.app_context():
        db.session.execute(update(ResultSnapshot).values(publicity_ends_at=utcnow()))
        db.session.commit()
    token = csrf_token(organizer, DESK)
    assert (
        organizer.post(
            "/organizer/contests/micro-video/snapshots/1/publish", data={"csrf_token": token, "confirmed": "1"}
        ).status_code
        == 302
    )


def test_a_visitor_revalidates_with_304_and_a_new_version_gets_a_new_etag(app: Flask, frozen: FlaskClient) -> None:
    visitor = app.test_client()
    first = visitor.get(PAGE)
    assert first.status_code == 200
    etag, weak = first.get_etag()
    assert etag and not weak
    assert first.headers["Cache-Control"] == "public, max-age=60, must-revalidate"
    assert "Cookie" in first.headers["Vary"]
    assert "Set-Cookie" not in first.headers  # a proxy will not keep a page that sets a cookie
    assert "公示" in first.get_data(as_text=True)

    again = visitor.get(PAGE, headers={"If-None-Match": f'"{etag}"'})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.get_etag() == (etag, False)

    english = visitor.get(PAGE + "?lang=en", headers={"If-None-Match": f'"{etag}"'})
    assert english.status_code == 200 and english.get_etag()[0] != etag

    _publish(app, frozen)  # notice over: the same snapshot is now the published result
    published = visitor.get(PAGE, headers={"If-None-Match": f'"{etag}"'})
    assert published.status_code == 200
    assert published.get_etag()[0] != etag
    assert published.get_data() != first.get_data()


def test_a_payload_rewritten_in_the_database_is_refused_even_to_a_client_holding_the_page(
    app: Flask, frozen: FlaskClient
) -> None:
    visitor = app.test_client()
    etag = visitor.get(PAGE).get_etag()[0]
    with app.app_context():
        snapshot = db.session.scalar(select(ResultSnapshot))
        tampered = snapshot.payload.replace('"rank":1', '"rank":9', 1)
        assert tampered != snapshot.payload
        snapshot.payload = tampered
        db.session.commit()
    answer = visitor.get(PAGE, headers={"If-None-Match": f'"{etag}"'})
    assert answer.status_code == 409
    assert answer.get_etag() == (None, None)


def test_signed_in_pages_and_pages_with_a_message_stay_private(app: Flask, frozen: FlaskClient) -> None:
    page = frozen.get(PAGE)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "private, no-cache"
    assert page.get_etag() == (None, None)


def test_the_award_list_pdf_is_rendered_once_per_version_and_revalidates(app: Flask, frozen: FlaskClient) -> None:
    visitor = app.test_client()
    first = visitor.get(PAGE.replace("/1", "/1/award-list.pdf"))
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    assert first.get_data().startswith(b"%PDF")
    etag = first.get_etag()[0]
    cached = visitor.get(PAGE.replace("/1", "/1/award-list.pdf"))
    assert cached.get_data() == first.get_data()  # the same bytes: rendered once, not again
    assert (
        visitor.get(PAGE.replace("/1", "/1/award-list.pdf"), headers={"If-None-Match": f'"{etag}"'}).status_code == 304
    )
    with app.app_context():
        assert db.session.scalar(select(ResultSnapshot)).status is SnapshotStatus.FROZEN


def test_during_a_spike_each_worker_answers_from_memory_for_the_configured_seconds(
    app: Flask, frozen: FlaskClient
) -> None:
    app.config["PUBLISHED_PAGE_SECONDS"] = 1.5
    visitor = app.test_client()
    first = visitor.get(PAGE)
    etag = first.get_etag()[0]
    with app.app_context():
        snapshot = db.session.scalar(select(ResultSnapshot))
        snapshot.payload = snapshot.payload.replace('"rank":1', '"rank":9', 1)
        db.session.commit()
    # within the window: the answer kept in memory, no database read (the rewrite is not yet seen)
    assert visitor.get(PAGE).get_data() == first.get_data()
    assert visitor.get(PAGE, headers={"If-None-Match": f'"{etag}"'}).status_code == 304
    assert frozen.get(PAGE).status_code == 409  # a signed-in organiser is never served from memory
    time.sleep(1.6)
    assert visitor.get(PAGE).status_code == 409  # the window over, the rewrite is refused


def test_revalidations_alone_keep_the_window_answering_from_memory(app: Flask, frozen: FlaskClient) -> None:
    """At a ceremony nearly every reader revalidates: a 304 the view gave is remembered for the window too,
    or each of them would reach the database once the first window has passed."""
    app.config["PUBLISHED_PAGE_SECONDS"] = 1.5
    visitor = app.test_client()
    etag = visitor.get(PAGE).get_etag()[0]
    time.sleep(1.6)  # the 200's window is over: the next revalidation runs the view, which answers 304
    assert visitor.get(PAGE, headers={"If-None-Match": f'"{etag}"'}).status_code == 304
    with app.app_context():
        snapshot = db.session.scalar(select(ResultSnapshot))
        snapshot.payload = snapshot.payload.replace('"rank":1', '"rank":9', 1)
        db.session.commit()
    # within the new window: revalidations and a newcomer are answered from memory (the rewrite unseen)
    assert visitor.get(PAGE, headers={"If-None-Match": f'"{etag}"'}).status_code == 304
    newcomer = app.test_client().get(PAGE)
    assert newcomer.status_code == 200 and newcomer.get_etag()[0] == etag
    assert visitor.get(PAGE, headers={"If-None-Match": '"another-version"'}).status_code == 200
    time.sleep(1.6)
    assert visitor.get(PAGE, headers={"If-None-Match": f'"{etag}"'}).status_code == 409  # then refused
