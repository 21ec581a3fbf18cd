"""In a contest with a nomination round, only the cases a district nominated reach the city panel:
for assignment and for the results alike."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from judging.extensions import db
from judging.media import generate_test_image
from judging.models import Assignment, Contest, Entry, OrganizationKind, Phase, Role, User
from judging.services import contests, entries, entry_files, nomination, organizations, panel, results
from judging.storage import LocalStorage
from tests.conftest import create_user, open_contest_for_entries


def test_only_nominated_cases_are_assigned_and_ranked(app: Flask, users: dict[str, int], tmp_path: Path) -> None:
    image = tmp_path / "case.png"
    generate_test_image(image)
    with app.app_context():
        contest = open_contest_for_entries("exemplary-cases")
        pudong = db.session.scalar(db.select(User).where(User.username == "entrant-a")).organization
        organizations.create_organization(
            db.session,
            None,
            name="浦东新区测试街道",
            kind=OrganizationKind.GRASSROOTS,
            parent=pudong,  # type: ignore[arg-type]
        )
        db.session.commit()
        unit_account = create_user("unit", Role.ENTRANT, "浦东新区测试街道")
        declarations = list(contests.current_rubric(contest).entry.declarations)
        codes = []
        for title in ("社区反诈课堂", "楼宇网安驿站"):
            entry = entries.create_draft(
                db.session,
                unit_account,
                contest,
                title=title,
                category="case",
                fields={"unit": "浦东新区测试街道", "period": "2026-05-01"},
            )
            with image.open("rb") as stream:
                entry_files.attach_file(
                    db.session, unit_account, entry, LocalStorage(app.config["UPLOAD_FOLDER"]), stream, "案例.png"
                )
            entries.submit_entry(db.session, unit_account, entry, declarations)
            codes.append(entry.code)
        coordinator = db.session.get(User, users["entrant-a"])  # an entrant account of the parent district
        nominated = db.session.scalar(db.select(Entry).where(Entry.code == codes[0], Entry.contest_id == contest.id))
        nomination.nominate_entry(db.session, coordinator, nominated)
        organizer = db.session.get(User, users["organizer"])
        contests.change_phase(db.session, organizer, contest, Phase.REVIEW)
        for name in ("judge", "judge2", "judge3"):
            judge = db.session.scalar(db.select(User).where(User.username == name)) or create_user(name, Role.JUDGE)
            panel.add_to_panel(db.session, organizer, contest, judge)
        panel.assign_judges(db.session, organizer, contest)
        db.session.commit()

        assigned = db.session.scalars(
            db.select(Entry.code).join(Assignment).where(Entry.contest_id == contest.id).distinct()
        ).all()
        assert assigned == [codes[0]]
        assert [e.code for e in entries.judgeable_entries(db.session, db.session.get(Contest, contest.id))] == [
            codes[0]
        ]
        preview = results.compute_results(db.session, contest)
        assert set(preview.entries) == {codes[0]}  # the unnominated case is not even listed
        assert preview.unscored == (codes[0],)
