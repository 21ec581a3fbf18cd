"""The exports of a collection of activity reports (issue 20), measured in one run on SQLite.

    .venv/bin/python bench/reports_export.py [--photos 3] [--repeat 3]

Builds a throwaway instance with the template collection (rubrics/templates/activity_report.toml: every
district and industry authority of data/organizations.toml is expected), then has every expected
organisation but three submit a report with its figures, one PDF and ``--photos`` 1280×720 JPEG photos
(uploaded through the same service as the browser, so each photo gets its copy without EXIF). Then times,
best of ``--repeat``: the organiser's status rows alone (the floor every export pays), the figures workbook,
the files zip and the compiled PDF; ratios are to the status rows.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import app_for, create_person, create_schema  # noqa: E402

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def best(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from judging.exports.reports import reports_pdf, reports_workbook, write_files_zip
    from judging.extensions import db
    from judging.media import generate_test_image
    from judging.models import Phase, Role
    from judging.rubric import load_rubric
    from judging.services import contests, entries, entry_files, reports
    from judging.storage import storage_from_config

    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        create_schema(url, workdir)
        photo = workdir / "photo.jpg"
        generate_test_image(photo, "1280x720")
        photo_bytes = photo.read_bytes()
        with app_for(url, workdir) as app:
            contest = contests.sync_rubric(
                db.session, None, load_rubric(ROOT / "rubrics/templates/activity_report.toml"), edition="bench"
            )
            contests.change_phase(db.session, None, contest, Phase.OPEN)  # type: ignore[arg-type]
            db.session.commit()
            rubric = contests.current_rubric(contest)
            storage = storage_from_config(app.config)
            expected = reports.expected_organizations(db.session, rubric)
            with app.test_request_context():
                for number, organization in enumerate(expected[:-3]):
                    entrant = create_person(f"entrant{number}", Role.ENTRANT, organization)
                    report = entries.create_draft(
                        db.session,
                        entrant,
                        contest,
                        title=f"{organization.name}活动总结",
                        summary="宣传周期间开展系列活动。\n" * 5,
                        fields={
                            "highlights": "进社区",
                            "contact": "张三",
                            "events": number,
                            "participants": 100 * number,
                        },
                    )
                    entry_files.attach_file(db.session, entrant, report, storage, io.BytesIO(PDF), "总结.pdf")
                    for index in range(args.photos):
                        entry_files.attach_file(
                            db.session, entrant, report, storage, io.BytesIO(photo_bytes), f"{index}.jpg"
                        )
                    entries.submit_entry(db.session, entrant, report, [])
                    db.session.commit()

                zip_path = workdir / "out.zip"

                def write_zip() -> None:
                    with zip_path.open("wb") as target:
                        write_files_zip(db.session, contest, storage, target)

                floor = best(lambda: reports.report_rows(db.session, contest), args.repeat)
                timings = {
                    "status rows (floor)": floor,
                    "figures.xlsx": best(lambda: reports_workbook(db.session, contest), args.repeat),
                    "files.zip": best(write_zip, args.repeat),
                    "reports.pdf": best(lambda: reports_pdf(db.session, contest, storage), args.repeat),
                }
                pdf_size = len(reports_pdf(db.session, contest, storage))
                zip_size = zip_path.stat().st_size
        submitted = len(expected) - 3
        print(f"{len(expected)} expected organisations, {submitted} reports, {args.photos} photos each")
        print(f"zip {zip_size / 1e6:.1f} MB, pdf {pdf_size / 1e6:.1f} MB")
        print("| export | seconds | × status rows |")
        print("|---|---:|---:|")
        for name, seconds in timings.items():
            print(f"| {name} | {seconds:.3f} | {seconds / floor:.1f} |")


if __name__ == "__main__":
    main()
