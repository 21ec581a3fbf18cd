"""Faults: a server killed with SIGKILL during an upload or during sheet saves leaves no partial file and
no partial row once it is back; a database that cannot be reached gives a 503 page in the user's
language, and the same server recovers, without a restart, when it returns.

The servers are real gunicorn processes (``bench/harness.py``); the killed one gets SIGKILL, master and
workers at once, so no handler and no cleanup of ours runs.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from bench.harness import (
    PASSWORD,
    Browser,
    GunicornServer,
    app_for,
    build_review_instance,
    create_person,
    create_schema,
    postgres_reachable,
    server_env,
    throwaway_postgres,
)
from bench.load import Sheet, log_in_judges, plan_sheets, verify_stored
from judging.media import run_ffmpeg
from judging.storage import SCRATCH_FOLDER, LocalStorage
from tests.conftest import IN_CI

pytestmark = pytest.mark.slow


def _require_postgres() -> None:
    if not postgres_reachable():
        if IN_CI:
            pytest.fail("PostgreSQL is not reachable at 127.0.0.1:5432, and CI must test on it")
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each kind (PostgreSQL: a throwaway one, dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'judging.sqlite3'}"
        return
    _require_postgres()
    with throwaway_postgres(prefix="judging_faults") as url:
        yield url


def _files_under(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


# --- the storage's scratch files -------------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys, time
    from judging.storage import LocalStorage
    storage = LocalStorage(sys.argv[1])
    part = storage._scratch_file(".part")
    part.write_bytes(b"half an upload")
    work = storage.temporary_path(".mp4")
    work.write_bytes(b"half a copy")
    print(part, work, flush=True)
    time.sleep(600)
    """
)


def test_scratch_files_of_a_killed_process_are_swept_and_a_living_writers_are_not(tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(uploads)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        part, work = (Path(name) for name in writer.stdout.readline().split())  # type: ignore[union-attr]
        storage = LocalStorage(uploads)
        assert storage.sweep_scratch() == []  # its writer is alive: nothing is touched
        assert part.read_bytes() == b"half an upload" and work.read_bytes() == b"half a copy"

        mine = storage.temporary_path(".mp4")  # this process's own file, being written
        mine.write_bytes(b"in progress")
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)

        assert sorted(storage.sweep_scratch()) == sorted([part, work])
        assert _files_under(uploads / SCRATCH_FOLDER) == sorted(
            [mine, *(uploads / SCRATCH_FOLDER).glob(".owner-*")]  # this process's claim: it is alive
        )
        assert mine.read_bytes() == b"in progress"
    finally:
        writer.kill()
        writer.wait(timeout=10)
        writer.stdout.close()  # type: ignore[union-attr]


# --- where an upload's files are until the commit --------------------------------------------------------


def test_files_reach_their_keys_only_with_their_commit(  # type: ignore[no-untyped-def]
    app, users, short_video: Path
) -> None:
    """While the service works and until the COMMIT, an upload's files are in tmp/ only; a commit that the
    database refuses (at its last flush) moves none; a file removed again before the commit is never
    stored; a commit moves the files to the keys its row names, and tmp/ is left empty."""
    from sqlalchemy.exc import IntegrityError

    from judging.extensions import db
    from judging.models import EntryFile, User
    from judging.services import entries, entry_files
    from tests.conftest import open_contest_for_entries

    uploads = Path(app.config["UPLOAD_FOLDER"])
    storage = LocalStorage(uploads)
    with app.app_context():
        contest = open_contest_for_entries("micro-video")
        entrant = db.session.scalar(select(User).where(User.username == "entrant-a"))
        first = entries.create_draft(db.session, entrant, contest, title="一", fields={"theme": "主题"})
        second = entries.create_draft(db.session, entrant, contest, title="二", fields={"theme": "主题"})
        first.quota_slot = 1
        db.session.commit()

        with short_video.open("rb") as stream:
            entry_files.attach_file(db.session, entrant, second, storage, stream, "作品.mp4")
        waiting = _files_under(uploads)
        assert all(p.parent == uploads / SCRATCH_FOLDER for p in waiting)
        # the upload; its thumbnail and blind copy
        assert sorted(p.name.split("-")[0] for p in waiting) == [".owner", ".part", ".work", ".work"]
        second.quota_slot = 1  # the unique index refuses this at the commit's flush
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        assert _files_under(uploads) == []

        with short_video.open("rb") as stream:
            record = entry_files.attach_file(db.session, entrant, second, storage, stream, "作品.mp4")
        entry_files.remove_file(db.session, entrant, record, storage)
        db.session.commit()
        assert _files_under(uploads) == []

        with short_video.open("rb") as stream:
            record = entry_files.attach_file(db.session, entrant, second, storage, stream, "作品.mp4")
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(EntryFile)) == 1
        assert _files_under(uploads) == sorted(storage.path(key) for key in record.stored_keys)


# --- SIGKILL during an upload ----------------------------------------------------------------------------


def _draft_entry(database_url: str, workdir: Path) -> int:
    """An entrant of 浦东新区 with a draft in the open micro-video contest."""
    from judging.extensions import db
    from judging.models import Organization, Phase, Role
    from judging.services import contests, entries

    create_schema(database_url, workdir)
    with app_for(database_url, workdir):
        contest = contests.get_contest(db.session, "micro-video")
        contests.change_phase(db.session, None, contest, Phase.OPEN)  # type: ignore[arg-type]
        district = db.session.scalar(select(Organization).where(Organization.name == "浦东新区"))
        entrant = create_person("entrant", Role.ENTRANT, district)
        entry = entries.create_draft(db.session, entrant, contest, title="作品", fields={"theme": "主题"})
        db.session.commit()
        return entry.id


def _start_raw_upload(server: GunicornServer, browser: Browser, entry_id: int, declared: int, sent: bytes):
    """Send the headers of a raw-body upload as the browser's uploader does, and part of the body only."""
    token = browser.csrf_token(f"/entrant/entries/{entry_id}")
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.putrequest("POST", f"/entrant/entries/{entry_id}/upload")
    for name, value in {
        "Content-Type": "application/octet-stream",
        "Content-Length": str(declared),
        "X-Requested-With": "XMLHttpRequest",
        "X-File-Name": quote("作品.mp4"),
        "X-CSRFToken": token,
        "Cookie": "; ".join(f"{k}={v}" for k, v in browser.cookies.items()),
    }.items():
        connection.putheader(name, value)
    connection.endheaders()
    connection.send(sent)
    return connection


def _wait_for(condition, timeout: float = 20) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_server_killed_during_an_upload_leaves_no_file_and_no_row(
    database: str, tmp_path: Path, short_video: Path
) -> None:
    from judging.extensions import db
    from judging.models import EntryFile

    entry_id = _draft_entry(database, tmp_path)
    uploads = tmp_path / "uploads"
    scratch = uploads / SCRATCH_FOLDER
    server = GunicornServer(server_env(database, tmp_path), workers=2, preload=True, log=tmp_path / "gunicorn.log")
    try:
        server.start()
        browser = Browser(server.base_url)
        browser.log_in("entrant")
        sent = os.urandom(3 * 1024 * 1024 + 1000)
        connection = _start_raw_upload(server, browser, entry_id, declared=8 * 1024 * 1024, sent=sent)

        def part_written() -> bool:
            return any(p.stat().st_size >= 3 * 1024 * 1024 for p in scratch.glob(".part-*"))

        _wait_for(part_written)  # the worker is streaming the body into storage
        server.kill()
        connection.close()
        left = _files_under(uploads)  # what SIGKILL leaves: the half-written part and its dead writer's claim
        assert sorted(p.name.split("-")[0] for p in left) == [".owner", ".part"]
        assert all(p.parent == scratch for p in left)

        server.start()  # the same command again: each worker sweeps at start-up
        assert _files_under(uploads) == []
        with app_for(database, tmp_path):
            assert db.session.scalar(select(func.count()).select_from(EntryFile)) == 0

        # And the upload works after the restart, leaving only the stored files.
        browser = Browser(server.base_url)
        browser.log_in("entrant")
        token = browser.csrf_token(f"/entrant/entries/{entry_id}")
        answer = browser.request(
            "POST",
            f"/entrant/entries/{entry_id}/upload",
            body=short_video.read_bytes(),
            headers={
                "Content-Type": "application/octet-stream",
                "X-Requested-With": "XMLHttpRequest",
                "X-File-Name": quote("作品.mp4"),
                "X-CSRFToken": token,
            },
        )
        assert answer.status == 200, answer.text
        with app_for(database, tmp_path) as app:
            stored = db.session.scalars(select(EntryFile)).all()
            storage = LocalStorage(app.config["UPLOAD_FOLDER"])
            keys = [storage.path(key) for f in stored for key in f.stored_keys]
        assert len(stored) == 1
        assert _files_under(uploads) == sorted(keys)  # nothing in scratch: a finished upload gives its claim up
    finally:
        server.close()


def _raw_upload_headers(browser: Browser, entry_id: int, name: str) -> dict[str, str]:
    return {
        "Content-Type": "application/octet-stream",
        "X-Requested-With": "XMLHttpRequest",
        "X-File-Name": quote(name),
        "X-CSRFToken": browser.csrf_token(f"/entrant/entries/{entry_id}"),
    }


def _stored_and_referenced(database_url: str, workdir: Path) -> tuple[list[Path], list[Path]]:
    """The files under the upload folder, and the stored files that rows name."""
    from judging.extensions import db
    from judging.models import EntryFile

    with app_for(database_url, workdir) as app:
        storage = LocalStorage(app.config["UPLOAD_FOLDER"])
        named = [storage.path(key) for row in db.session.scalars(select(EntryFile)) for key in row.stored_keys]
    return _files_under(workdir / "uploads"), sorted(named)


def _making_a_thumbnail(uploads: Path) -> bool:
    """Whether an ffmpeg process is extracting a frame from a file under ``uploads`` (read from /proc)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            arguments = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue  # ended meanwhile
        if b"-frames:v" in arguments and any(a.startswith(bytes(uploads)) for a in arguments):
            return True
    return False


@pytest.fixture(scope="module")
def slow_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1080p clip with a single key frame: its thumbnail (a frame at one second) takes ffmpeg a measurable
    150-250 ms to decode, long enough to kill the server while it is being made."""
    path = tmp_path_factory.mktemp("videos") / "slow.mp4"
    run_ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30", "-t", "4", "-g", "1000",
        "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", str(path),
        timeout=120,
    )  # fmt: skip
    return path


def test_server_killed_while_a_video_is_checked_leaves_no_file_and_no_row(
    database: str, tmp_path: Path, slow_video: Path
) -> None:
    """The upload has arrived whole and been probed; the worker is making its thumbnail when it is killed.
    The file and the thumbnail are still in tmp/ (none at a key), so the restart's sweep removes them."""
    from judging.extensions import db
    from judging.models import EntryFile

    entry_id = _draft_entry(database, tmp_path)
    uploads = tmp_path / "uploads"
    scratch = uploads / SCRATCH_FOLDER
    video = slow_video.read_bytes()
    server = GunicornServer(server_env(database, tmp_path), workers=2, preload=True, log=tmp_path / "gunicorn.log")
    try:
        server.start()
        browser = Browser(server.base_url)
        browser.log_in("entrant")
        connection = _start_raw_upload(server, browser, entry_id, declared=len(video), sent=video)
        _wait_for(lambda: _making_a_thumbnail(uploads), timeout=30)  # probed; ffmpeg is decoding the frame
        server.kill()
        connection.close()

        left = _files_under(uploads)
        assert all(p.parent == scratch for p in left), left  # nothing reached a key
        assert sorted(p.name.split("-")[0] for p in left) == [".owner", ".part", ".work"]
        assert next(scratch.glob(".part-*")).stat().st_size == len(video)  # the whole upload, checked
        with app_for(database, tmp_path):
            assert db.session.scalar(select(func.count()).select_from(EntryFile)) == 0

        server.start()
        assert _stored_and_referenced(database, tmp_path) == ([], [])

        # Uploaded again, with a tag that could name the entrant: the upload, its blind copy without the
        # tag and the thumbnail are all that is stored, at the keys the row names; tmp/ is empty.
        tagged = tmp_path / "tagged.mp4"
        run_ffmpeg("-i", str(slow_video), "-c", "copy", "-metadata", "artist=张三", str(tagged))
        browser = Browser(server.base_url)
        browser.log_in("entrant")
        answer = browser.request(
            "POST",
            f"/entrant/entries/{entry_id}/upload",
            body=tagged.read_bytes(),
            headers=_raw_upload_headers(browser, entry_id, "作品.mp4"),
        )
        assert answer.status == 200, answer.text
        stored, named = _stored_and_referenced(database, tmp_path)
        assert len(named) == 3 and stored == named
        # the upload as sent names 张三; neither its blind copy nor its thumbnail does
        assert sum("张三".encode() in path.read_bytes() for path in named) == 1
    finally:
        server.close()


# A process that uploads through the service and is killed by SIGKILL in the last moments of its commit.
COMMITTER = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from sqlalchemy import event, select
    from bench.harness import app_for
    from judging.extensions import db
    from judging.models import Entry, User
    from judging.services import entries, entry_files
    from judging.storage import LocalStorage

    database, workdir, entry_id, video, moment = sys.argv[1:6]

    def die(*_):
        os.kill(os.getpid(), signal.SIGKILL)

    with app_for(database, Path(workdir)) as app:
        entry = db.session.get(Entry, int(entry_id))
        entrant = db.session.scalar(select(User).where(User.username == "entrant"))
        if moment == "after-commit":  # listening before the service does: the COMMIT is done, the marker not settled
            event.listen(db.session(), "after_commit", die)
        else:  # the files are at their keys, the COMMIT is about to be sent
            event.listen(db.engine, "commit", die)
        storage = LocalStorage(app.config["UPLOAD_FOLDER"])
        with open(video, "rb") as stream:
            entry_files.attach_file(db.session, entrant, entry, storage, stream, "作品.mp4")
        db.session.commit()
    """
)


@pytest.mark.parametrize("moment", ["before-commit", "after-commit"])
def test_process_killed_while_committing_a_replaced_work_leaves_the_files_of_the_rows_that_exist(
    database: str, tmp_path: Path, short_video: Path, moment: str
) -> None:
    """A work replaces the entry's previous one, and the process is killed with the new files at their keys
    and the COMMIT not sent, or sent and done. The marker stays in tmp/, listing the new keys and the old
    ones; the next upload (here the service it calls) asks the database: the files of the rows that exist
    stay, the others go. On PostgreSQL nothing is decided while the dead transaction's advisory lock is
    held (as it is while the server is still committing)."""
    from sqlalchemy import create_engine

    from judging.extensions import db
    from judging.models import Entry, EntryFile, User
    from judging.services import entry_files

    entry_id = _draft_entry(database, tmp_path)
    uploads = tmp_path / "uploads"
    scratch = uploads / SCRATCH_FOLDER
    storage = LocalStorage(uploads)

    def named_by_rows() -> list[list[Path]]:
        with app_for(database, tmp_path):
            rows = db.session.scalars(select(EntryFile)).all()
            return [sorted(storage.path(k) for k in r.stored_keys) for r in rows]

    with app_for(database, tmp_path), short_video.open("rb") as stream:  # the previous work
        entrant = db.session.scalar(select(User).where(User.username == "entrant"))
        entry_files.attach_file(db.session, entrant, db.session.get(Entry, entry_id), storage, stream, "旧.mp4")
        db.session.commit()
    [old] = named_by_rows()

    committer = subprocess.run(
        [sys.executable, "-c", COMMITTER, database, str(tmp_path), str(entry_id), str(short_video), moment],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert committer.returncode == -signal.SIGKILL, committer.stderr

    marker = next(scratch.glob(".publish-*"))
    listed = json.loads(marker.read_text())
    new = sorted(storage.path(key) for key in listed["keys"])  # the upload, its thumbnail and blind copy
    assert sorted(storage.path(key) for key in listed["retiring"]) == old
    assert len(new) == 3 and all(path.is_file() for path in new + old)
    assert _files_under(uploads) == sorted([*new, *old, marker, *scratch.glob(".owner-*")])
    assert named_by_rows() == ([new] if moment == "after-commit" else [old])
    kept, gone = (new, old) if moment == "after-commit" else (old, new)

    with app_for(f"sqlite:///{tmp_path / 'another.sqlite3'}", tmp_path / "another"):
        # Where no row of another database names a key says nothing: that marker is not its to settle.
        assert entry_files.clear_interrupted_uploads(db.session, storage) == [] and marker.exists()
    with app_for(database, tmp_path):
        assert listed["database"] == entry_files.database_label(db.engine)
        if db.engine.dialect.name == "postgresql":
            holder = create_engine(database)
            with holder.connect() as connection:
                # Held as the dead transaction held it (this waits for its server process to end).
                connection.execute(select(func.pg_advisory_lock(listed["ticket"])))
                assert entry_files.clear_interrupted_uploads(db.session, storage) == []  # not decided yet
                assert marker.exists() and all(path.is_file() for path in new + old)
            holder.dispose()  # the lock goes with its session, as the dead transaction's went with it
        deleted = entry_files.clear_interrupted_uploads(db.session, storage)
        assert sorted(storage.path(key) for key in deleted) == gone
        assert not marker.exists()
    stored, named = _stored_and_referenced(database, tmp_path)
    assert stored == named == kept


# --- SIGKILL during sheet saves --------------------------------------------------------------------------


def _stored_sheets_are_whole(database_url: str, workdir: Path, planned: dict[tuple[str, str], Sheet]) -> int:
    """Every stored sheet holds all its scores and checks, exactly as sent, with its one audit event,
    and the chain verifies; the number of stored sheets."""
    from judging.extensions import db
    from judging.models import Assignment, AuditEvent, Entry, ScoreSheet, SheetStatus, User
    from judging.services.audit import verify_chain

    with app_for(database_url, workdir):
        rows = db.session.execute(
            select(ScoreSheet, User.username, Entry.code)
            .join(Assignment, ScoreSheet.assignment_id == Assignment.id)
            .join(User, Assignment.judge_id == User.id)
            .join(Entry, Assignment.entry_id == Entry.id)
        ).all()
        for sheet, username, code in rows:
            sent = planned[(username, code)]
            assert sheet.status is SheetStatus.SUBMITTED and sheet.version == 1
            assert {s.criterion: s.value for s in sheet.scores} == sent.scores
            assert {a.check_key: a.passed for a in sheet.check_answers} == sent.checks
            assert sheet.comment == sent.comment
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "sheet.submit")).all()
        assert sorted(int(e.object_id) for e in events) == sorted(sheet.id for sheet, _, _ in rows)
        assert verify_chain(db.session) is None
        return len(rows)


def test_server_killed_during_sheet_saves_leaves_whole_sheets_or_none(database: str, tmp_path: Path) -> None:
    instance = build_review_instance(database, tmp_path, judges=12, entries=4)
    sheets = plan_sheets(instance)
    planned = {(s.judge, s.entry): s for judge_sheets in sheets.values() for s in judge_sheets}
    server = GunicornServer(server_env(database, tmp_path), workers=3, preload=True, log=tmp_path / "gunicorn.log")
    try:
        server.start()
        sessions = log_in_judges(server.base_url, sheets, concurrency=12)
        answered: dict[tuple[str, str], int] = {}  # status of each sheet's post, when an answer came
        killed = threading.Event()

        def judge_saves(judge: str) -> None:
            browser, token = sessions[judge]
            for sheet in sheets[judge]:
                if killed.is_set():
                    return
                try:
                    answer = browser.post_form(f"/judge/entries/{sheet.entry}/sheet", sheet.form(token))
                except (http.client.HTTPException, OSError):
                    continue  # cut off by the kill: stored or not, the database decides
                answered[(judge, sheet.entry)] = answer.status

        threads = [threading.Thread(target=judge_saves, args=(judge,)) for judge in sheets]
        for thread in threads:
            thread.start()
        _wait_for(lambda: len(answered) >= 12)
        server.kill()  # with saves in flight on every worker
        killed.set()

        stored = _stored_sheets_are_whole(database, tmp_path, planned)
        confirmed = [pair for pair, status in answered.items() if status == 302]
        assert len(confirmed) >= 12 and stored >= len(confirmed)  # every confirmed save survived
        assert set(answered.values()) <= {302}

        server.start()  # requests still queued on the socket are served now
        for thread in threads:
            thread.join(timeout=60)
        # The judges send again what got no answer: the version field makes a second copy impossible.
        for pair, sheet in planned.items():
            if answered.get(pair) != 302:
                browser, token = sessions[sheet.judge]
                answer = browser.post_form(f"/judge/entries/{sheet.entry}/sheet", sheet.form(token))
                assert answer.status in (302, 409), answer.text[:500]
        server.stop()
        verification = verify_stored(database, tmp_path, sheets)
        assert verification.problems == [] and verification.chain_break is None
        assert verification.sheets == len(planned) == 48
    finally:
        server.close()


# --- the database unreachable ----------------------------------------------------------------------------


class TcpProxy:
    """A socket forwarder to PostgreSQL on a fixed local port; :meth:`stop` refuses new connections and
    cuts the open ones, as a database host going away does; :meth:`start` serves the same port again."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.listener: socket.socket | None = None
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self) -> None:
        if self.listener is not None:
            self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None
        with self.lock:
            for connection in self.open:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                connection.close()
            self.open = []


def test_database_outage_gives_a_503_page_in_the_users_language_and_the_server_recovers(tmp_path: Path) -> None:
    _require_postgres()
    with throwaway_postgres(prefix="judging_outage") as direct_url:
        instance = build_review_instance(direct_url, tmp_path, judges=1, entries=1)
        judge, code = instance.judges[0], instance.entries[0]
        proxy = TcpProxy(("127.0.0.1", 5432))
        proxy.start()
        host, _, database_name = direct_url.rpartition("/")
        proxied_url = f"{host.rsplit('@', 1)[0]}@127.0.0.1:{proxy.port}/{database_name}"
        server = GunicornServer(
            server_env(proxied_url, tmp_path), workers=1, preload=True, log=tmp_path / "gunicorn.log"
        )
        try:
            server.start()
            chinese, english = Browser(server.base_url), Browser(server.base_url)
            for browser in (chinese, english):
                browser.log_in(judge, PASSWORD)
            assert english.get("/lang/en?next=/judge/").status == 302
            for browser in (chinese, english):
                page = browser.get("/judge/")
                assert page.status == 200 and code in page.text

            proxy.stop()
            page = chinese.get("/judge/")
            assert page.status == 503
            assert "服务暂不可用" in page.text and "暂时无法连接数据库，未作任何更改，请稍后重试。" in page.text
            page = english.get("/judge/")
            assert page.status == 503
            assert "Service unavailable" in page.text
            assert "The database cannot be reached right now. Nothing was changed" in page.text
            token_page = chinese.get(f"/judge/entries/{code}")
            assert token_page.status == 503
            for text in (page.text, token_page.text):
                assert "Traceback" not in text and "OperationalError" not in text and "psycopg" not in text

            proxy.start()  # the database is back; the same server process, not restarted
            for browser in (chinese, english):
                page = browser.get("/judge/")
                assert page.status == 200 and code in page.text
            token = chinese.csrf_token(f"/judge/entries/{code}")
            sheet = plan_sheets(instance)[judge][0]
            assert chinese.post_form(f"/judge/entries/{code}/sheet", sheet.form(token)).status == 302
            assert server.process is not None and server.process.poll() is None
        finally:
            server.close()
            proxy.stop()
        assert verify_stored(direct_url, tmp_path, plan_sheets(instance)).problems == []
