"""The organiser's page of one entry shows every field, the declarations and every file with its link."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import select

from judging.extensions import db
from judging.models import Contest, EntryFile, User
from judging.services import contests, entries, entry_files
from judging.storage import LocalStorage
from tests.conftest import open_contest_for_entries


def test_organiser_sees_every_field_declaration_and_file_of_an_entry(
    app: Flask,
    users,
    client_for,
    short_video: Path,  # type: ignore[no-untyped-def]
) -> None:
    with app.app_context():
        open_contest_for_entries("micro-video")
        contest = db.session.scalar(select(Contest).where(Contest.slug == "micro-video"))
        entrant = db.session.scalar(select(User).where(User.username == "entrant-a"))
        entry = entries.create_draft(
            db.session,
            entrant,
            contest,
            title="守护钱包",
            summary="反诈短片",
            fields={"theme": "反诈骗", "views": 12345, "published_url": "https://example.org/v/1"},
        )
        with short_video.open("rb") as stream:
            entry_files.attach_work(
                db.session, entrant, entry, LocalStorage(app.config["UPLOAD_FOLDER"]), stream, "片子.mp4", "video/mp4"
            )
        declarations = list(contests.current_rubric(contest).entry.declarations)
        entries.submit_entry(db.session, entrant, entry, declarations)
        db.session.commit()
        entry_id = entry.id
        stored = db.session.scalar(select(EntryFile))
        file_id, sha256 = stored.id, stored.sha256
    organizer = client_for("organizer")
    listing = organizer.get("/organizer/contests/micro-video/entries").get_data(as_text=True)
    assert f'href="/organizer/entries/{entry_id}"' in listing
    response = organizer.get(f"/organizer/entries/{entry_id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for shown in ("守护钱包", "反诈短片", "浦东新区", "反诈骗", "12345", "已提交"):
        assert shown in page
    assert '<a href="https://example.org/v/1" rel="noopener noreferrer nofollow">' in page
    for text in declarations:
        assert f"<li>☑ {text}</li>" in page
    assert f'<a href="/files/{file_id}">片子.mp4</a>' in page
    assert sha256 in page
    # Only organisers: an entrant (even of that organisation) and a judge are not shown it.
    assert client_for("entrant-a").get(f"/organizer/entries/{entry_id}").status_code in (403, 404)
    assert client_for("judge").get(f"/organizer/entries/{entry_id}").status_code in (403, 404)
    assert organizer.get(f"/organizer/entries/{entry_id + 99}").status_code == 404
