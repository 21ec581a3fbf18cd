"""Where uploaded files live: random keys, outside any static folder, behind a small interface.

:class:`LocalStorage` keeps files on local disk. The services know a storage only as :class:`Storage`,
the contract a multi-host deployment's object store fulfils too. Writes are streamed in chunks (memory
stays flat for large videos), hashed on the way, written to a temporary name and renamed into place
only when complete, so an interrupted upload leaves nothing under a real key.

Files being written live in the root's ``tmp/`` folder, named after the process writing them. A
process that is killed (SIGKILL, the out-of-memory killer, a power cut) runs no cleanup, so its files
stay behind; :meth:`LocalStorage.sweep_scratch` removes them, at start-up and before each upload.
Whether their writer is gone is known from a lock, not guessed from a file's age: each writing process
holds an exclusive ``flock`` on its own claim file (``tmp/.owner-<token>``) for as long as it lives,
and the kernel releases it however the process ends. A claim that can be locked has no living owner,
and the files named after it go with it; files of other processes, still being written, are never
touched. This holds for every process on the host that writes to the folder (gunicorn workers, the
command line, tests).

A file meant for a database row stays in ``tmp/`` until the row's transaction commits: it is *staged*
(:meth:`LocalStorage.stage`, :meth:`LocalStorage.stage_prepared`), checked and worked on there, and
*published* (:meth:`LocalStorage.publish`: renamed onto its key, same disk, atomic) just before the
COMMIT. A publication first writes a marker in ``tmp/`` (``.publish-<owner>-<random>``, under the same
claim) listing its keys, and those of the rows the transaction deletes; the marker goes once the
transaction has ended (:meth:`LocalStorage.settle` after a commit, :meth:`LocalStorage.withdraw` after a
rollback). A marker whose process is gone is the one state the storage cannot settle alone: its files
are at their keys, and only the database knows whether their rows' changes were committed. The sweep
leaves such markers; :meth:`LocalStorage.interrupted_publications` lists them for the service that asks
the database (``entry_files.clear_interrupted_uploads``).

Files are fsynced before they are published and the renames (and the marker) before the COMMIT, so
that on disk too a committed row never points at a key whose file was lost.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import io
import json
import os
import queue
import re
import secrets
import shutil
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

CHUNK_SIZE = 1024 * 1024
SCRATCH_FOLDER = "tmp"
"""Files being written, under the root; never a key's folder (those are two hex digits)."""
OWNER_PREFIX = ".owner-"
PUBLISH_PREFIX = ".publish-"
"""A publication's marker: ``.publish-<owner>-<random>``, holding the keys it moves into place."""
SCRATCH_FILE = re.compile(r"^\.(?P<kind>part|work|publish)-(?P<token>[0-9a-f]{16})-[0-9a-f]{32}")
""":meth:`LocalStorage.stage`'s ``.part-<owner>-<random>``, :meth:`LocalStorage.temporary_path`'s
``.work-<owner>-<random><suffix>`` and :meth:`LocalStorage.publish`'s ``.publish-<owner>-<random>``."""


@dataclass(frozen=True)
class StoredFile:
    key: str
    size: int
    sha256: str


@dataclass(frozen=True, order=True)
class StoredPart:
    """One part of a resumable upload, as the storage holds it."""

    number: int
    size: int
    etag: str


@dataclass(frozen=True)
class StagedFile:
    """A complete file waiting in ``tmp/`` under this process's claim; :meth:`LocalStorage.publish` moves
    it to ``key``, :meth:`LocalStorage.discard` deletes it. Should the process die first, the sweep does."""

    key: str
    path: Path
    size: int
    sha256: str


@dataclass(frozen=True)
class Publication:
    """Staged files moved to their keys (``keys``) and stored files whose rows the same transaction deletes
    (``retiring``), with the marker in ``tmp/`` that lists them until it is settled.

    Whoever settles the marker of a process that died applies one rule to every listed key: its file
    goes unless a committed row names it. A published file whose row was not committed goes; a retiring
    file whose row's deletion was committed goes; the others stay.

    ``database`` names the database whose transaction commits the rows, and ``ticket`` that transaction
    (the services hold a PostgreSQL advisory lock on it until the COMMIT is done, so that whoever finds
    the marker can tell that the transaction is over). Both are the caller's; the storage keeps them."""

    marker: Path
    keys: tuple[str, ...]
    retiring: tuple[str, ...]
    database: str
    ticket: int

    @property
    def listed(self) -> tuple[str, ...]:
        return self.keys + self.retiring


class Storage(Protocol):
    """What the services ask of a storage (:class:`LocalStorage` is the one on local disk): files under
    random keys, and files staged for a transaction that reach their keys only as it commits."""

    def path(self, key: str) -> Path:
        """A local path to read the file of ``key`` from."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def save(self, stream: IO[bytes], *, limit: int | None = None) -> StoredFile:
        """Store a stream under a new key at once."""
        ...

    def save_path(self, source: str | Path) -> StoredFile: ...

    def stage(self, stream: IO[bytes], *, limit: int | None = None) -> StagedFile:
        """Copy a stream aside (raise :class:`TooLarge` past ``limit`` bytes) until it is published."""
        ...

    def temporary_path(self, suffix: str = "") -> Path:
        """A new empty local file for a file being prepared, to :meth:`stage_prepared` or delete."""
        ...

    def stage_prepared(self, path: Path) -> StagedFile: ...

    def discard(self, files: Iterable[StagedFile]) -> None:
        """Delete staged files that were not published."""
        ...

    def publish(
        self, files: Iterable[StagedFile], *, retiring: Iterable[str] = (), database: str, ticket: int
    ) -> Publication:
        """Move staged files to their keys just before the COMMIT of the rows naming them."""
        ...

    def settle(self, publication: Publication) -> None:
        """The transaction committed: forget the publication."""
        ...

    def withdraw(self, publication: Publication, keys: Iterable[str] | None = None) -> None:
        """The transaction was rolled back: delete the published files (or those of ``keys``)."""
        ...

    def interrupted_publications(self) -> list[Publication]:
        """Publications of processes that ended before settling them, for the database to decide."""
        ...

    def sweep_scratch(self) -> list[Path]:
        """Delete the scratch files of processes that ended without cleaning up."""
        ...

    def keys(self) -> list[str]:
        """Every stored key (a backup's files)."""
        ...

    def restore_file(self, key: str, stream: IO[bytes]) -> int:
        """Write a file back under its own key (a restore into an empty storage); return its size."""
        ...

    # Resumable uploads: parts sent one by one (and again after a failure), joined when all are there.
    min_part_size: int

    def begin_parts(self, token: str) -> str:
        """Open an upload named ``token`` (32 hex digits); return the storage's reference for it."""
        ...

    def part_url(self, token: str, reference: str, number: int) -> str | None:
        """Where the browser PUTs part ``number``: a presigned URL, or None for the app's own endpoint."""
        ...

    def write_part(self, token: str, reference: str, number: int, stream: IO[bytes], limit: int) -> StoredPart:
        """Store a part received by the app, of exactly ``limit`` bytes (else raise :class:`TooLarge`: not kept)."""
        ...

    def stored_parts(self, token: str, reference: str) -> list[StoredPart]: ...

    def join_parts(self, token: str, reference: str, parts: list[StoredPart]) -> None:
        """Join the parts into one file where they are (S3: CompleteMultipartUpload), moving no byte through
        the app; joining again an upload already joined does nothing."""
        ...

    def assembled(self, token: str, reference: str, parts: list[StoredPart]) -> Any:
        """A context manager giving the joined file (:meth:`join_parts`), as one stream."""
        ...

    def abort_parts(self, token: str, reference: str) -> None:
        """Delete an upload's parts (and whatever was joined from them)."""
        ...

    def unfinished_parts(self) -> list[tuple[str, str, datetime]]:
        """Every upload the storage still holds parts of: (token, reference, started)."""
        ...


def storage_from_config(config: Mapping[str, Any]) -> Storage:
    """The configured storage: ``STORAGE_BACKEND=local`` (the default: files under ``UPLOAD_FOLDER``) or
    ``s3`` (an S3-compatible store, :mod:`judging.s3_storage`; ``UPLOAD_FOLDER`` then holds only scratch
    files and a cache)."""
    backend = str(config.get("STORAGE_BACKEND") or "local").lower()
    if backend == "local":
        return LocalStorage(config["UPLOAD_FOLDER"])
    if backend == "s3":
        from judging import s3_storage

        client = s3_storage.client_from_config(config)
        public = None
        if config.get("S3_PUBLIC_ENDPOINT_URL"):
            public = s3_storage.client_from_config({**config, "S3_ENDPOINT_URL": config["S3_PUBLIC_ENDPOINT_URL"]})
        return s3_storage.S3Storage(
            client,
            str(config["S3_BUCKET"]),
            config["UPLOAD_FOLDER"],
            public_client=public,
            prefix=str(config.get("S3_PREFIX") or ""),
        )
    raise ValueError(f"STORAGE_BACKEND must be local or s3, not {backend!r}")


PARTS_FOLDER = "parts"
"""Resumable uploads' parts on local disk: ``parts/<token>/<number>``."""


def _check_token(token: str) -> str:
    if len(token) != 32 or any(c not in "0123456789abcdef" for c in token):
        raise ValueError("not an upload token")
    return token


class TooLarge(Exception):
    """The stream went past the size limit; nothing was kept."""


class _ScratchOwner:
    """This process's claim on its scratch files in a folder: a lock file it holds while it has any.

    The claim is made (and locked) before the process's first scratch file there, and given up once
    none is left, so a folder at rest holds no claim. Both happen under one lock, so that a thread
    never creates a file under a claim another thread is giving up.
    """

    _lock = threading.Lock()
    _claims: dict[Path, tuple[int, str, int]] = {}  # noqa: RUF012 - folder -> (pid, token, descriptor holding the flock)

    @classmethod
    def create(cls, folder: Path, kind: str, suffix: str) -> Path:
        """A new, empty scratch file of this process in ``folder``, named after its claim."""
        with cls._lock:
            path = folder / f"{kind}-{cls._token(folder)}-{secrets.token_hex(16)}{suffix}"
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            return path

    @classmethod
    def _token(cls, folder: Path) -> str:
        held = cls._claims.get(folder)
        if held and held[0] == os.getpid():
            return held[1]
        while True:
            token = secrets.token_hex(8)
            claim = folder / f"{OWNER_PREFIX}{token}"
            fd = os.open(claim, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                still_ours = os.path.samestat(os.fstat(fd), os.stat(claim))
            except FileNotFoundError:
                still_ours = False
            if still_ours:  # else a sweep took the claim in the instant before it was locked: again
                cls._claims[folder] = (os.getpid(), token, fd)
                return token
            os.close(fd)

    @classmethod
    def release_if_idle(cls, folder: Path) -> None:
        """Give the claim in ``folder`` up when none of this process's scratch files is left there."""
        with cls._lock:
            held = cls._claims.get(folder)
            if not held or held[0] != os.getpid() or any(folder.glob(f".*-{held[1]}-*")):
                return
            (folder / f"{OWNER_PREFIX}{held[1]}").unlink(missing_ok=True)
            os.close(held[2])
            del cls._claims[folder]

    @classmethod
    def forget_after_fork(cls) -> None:
        """A forked child (a gunicorn worker) must not hold its parent's claims: it makes its own."""
        for _pid, _token, fd in cls._claims.values():
            os.close(fd)  # the parent's own descriptor stays open, so the parent keeps its lock
        cls._claims = {}
        cls._lock = threading.Lock()

    @classmethod
    def release_at_exit(cls) -> None:
        """A process that ends normally gives its claims up (its scratch files are gone by then)."""
        for folder, (pid, token, fd) in list(cls._claims.items()):
            if pid == os.getpid():
                (folder / f"{OWNER_PREFIX}{token}").unlink(missing_ok=True)
                os.close(fd)
                del cls._claims[folder]


os.register_at_fork(after_in_child=_ScratchOwner.forget_after_fork)
atexit.register(_ScratchOwner.release_at_exit)


class LocalStorage:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    @staticmethod
    def new_key() -> str:
        return secrets.token_hex(16)

    def path(self, key: str) -> Path:
        """The file of a key; keys are hex, so no key can name a path outside the root."""
        if len(key) != 32 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError("not a storage key")
        return self.root / key[:2] / key

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def save(self, stream: IO[bytes], *, limit: int | None = None) -> StoredFile:
        """Copy a stream to a new key at once (no row waits for it); see :meth:`stage` for files that have one."""
        staged = self.stage(stream, limit=limit)
        try:
            target = self.path(staged.key)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged.path, target)
        finally:
            self.discard([staged])
        return StoredFile(key=staged.key, size=staged.size, sha256=staged.sha256)

    def save_path(self, source: str | Path) -> StoredFile:
        with open(source, "rb") as stream:
            return self.save(stream)

    def stage(self, stream: IO[bytes], *, limit: int | None = None) -> StagedFile:
        """Copy a stream into ``tmp/`` in chunks, computing its sha256, and choose its key; raise TooLarge
        past ``limit`` bytes (nothing is kept). The file stays in ``tmp/`` until :meth:`publish`."""
        self.sweep_scratch()
        size = 0
        part = self._scratch_file(".part")
        try:
            with part.open("wb") as out, _StreamCopy(out.fileno()) as copy:
                while chunk := stream.read(CHUNK_SIZE):
                    size += len(chunk)
                    if limit is not None and size > limit:
                        raise TooLarge
                    copy.hash(chunk)
                    out.write(chunk)
                    copy.wrote(len(chunk))
                out.flush()
                os.fsync(out.fileno())
                sha256 = copy.hexdigest()
        except BaseException:
            part.unlink(missing_ok=True)
            _ScratchOwner.release_if_idle(part.parent)
            raise
        return StagedFile(key=self.new_key(), path=part, size=size, sha256=sha256)

    def temporary_path(self, suffix: str = "") -> Path:
        """A new empty file in ``tmp/`` for a file being prepared (a copy, a thumbnail): :meth:`stage_prepared`
        it or delete it. Should this process die first, :meth:`sweep_scratch` removes it."""
        return self._scratch_file(".work", suffix)

    def stage_prepared(self, path: Path) -> StagedFile:
        """Stage a finished file of :meth:`temporary_path` where it is: hashed, synced, given its key."""
        digest = hashlib.sha256()
        size = 0
        with open(path, "rb") as stream:
            while chunk := stream.read(CHUNK_SIZE):
                size += len(chunk)
                digest.update(chunk)
            os.fsync(stream.fileno())
        return StagedFile(key=self.new_key(), path=path, size=size, sha256=digest.hexdigest())

    def discard(self, files: Iterable[StagedFile]) -> None:
        """Delete staged files still in ``tmp/`` (those published are at their keys: not touched)."""
        for staged in files:
            staged.path.unlink(missing_ok=True)
        _ScratchOwner.release_if_idle(self.root / SCRATCH_FOLDER)

    def publish(
        self, files: Iterable[StagedFile], *, retiring: Iterable[str] = (), database: str, ticket: int
    ) -> Publication:
        """Move staged files to their keys: first a marker listing them (and the ``retiring`` keys, whose
        files go once the transaction has committed), synced, then the renames, synced.

        Called just before the COMMIT of the rows that name the keys. From here until :meth:`settle` or
        :meth:`withdraw`, a process that dies leaves the marker, and the files stay at their keys until
        someone who can ask the database settles it (:meth:`interrupted_publications`). Raises (with
        nothing moved and no marker left) if a file cannot be moved.
        """
        files = list(files)
        keys = tuple(staged.key for staged in files)
        retiring = tuple(retiring)
        marker = self._scratch_file(PUBLISH_PREFIX.rstrip("-"))
        moved: list[Path] = []
        try:
            with marker.open("w", encoding="ascii") as out:
                json.dump({"keys": keys, "retiring": retiring, "database": database, "ticket": ticket}, out)
                out.flush()
                os.fsync(out.fileno())
            _sync_directory(marker.parent)  # the marker is on disk before any file is at its key
            for staged in files:
                target = self.path(staged.key)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staged.path, target)
                moved.append(target)
            for folder in {target.parent for target in moved} | {marker.parent}:
                _sync_directory(folder)  # the renames are on disk before the rows are
        except BaseException:
            for target in moved:
                target.unlink(missing_ok=True)
            marker.unlink(missing_ok=True)
            _ScratchOwner.release_if_idle(marker.parent)
            raise
        return Publication(marker=marker, keys=keys, retiring=retiring, database=database, ticket=ticket)

    def settle(self, publication: Publication) -> None:
        """The transaction has ended and the files that had to go are gone: the marker goes."""
        publication.marker.unlink(missing_ok=True)
        _ScratchOwner.release_if_idle(publication.marker.parent)

    def withdraw(self, publication: Publication, keys: Iterable[str] | None = None) -> None:
        """Delete the published files (after a rollback), or those of ``keys`` among the listed ones; then
        the marker."""
        for key in publication.keys if keys is None else keys:
            if key in publication.listed:
                self.delete(key)
        self.settle(publication)

    def interrupted_publications(self) -> list[Publication]:
        """The publications of processes that ended before settling them (after a sweep of their scratch files).

        Each one's files are at their keys; whether their rows were committed only the database knows, so
        the caller settles or withdraws them. A marker cut short while being written stands for no file
        (the renames come after it): it is listed with no keys.
        """
        scratch = self.root / SCRATCH_FOLDER
        self.sweep_scratch()  # a dead owner's claim goes: its markers are then the ones without a claim
        found: list[Publication] = []
        for marker in sorted(scratch.glob(f"{PUBLISH_PREFIX}*")) if scratch.is_dir() else []:
            match = SCRATCH_FILE.match(marker.name)
            if match is None or (scratch / f"{OWNER_PREFIX}{match['token']}").exists():
                continue  # its process is alive: it settles the marker itself
            try:
                content = json.loads(marker.read_text(encoding="ascii"))
                keys = tuple(key for key in content["keys"] if self._is_key(key))
                retiring = tuple(key for key in content["retiring"] if self._is_key(key))
                database, ticket = str(content["database"]), int(content["ticket"])
            except FileNotFoundError:
                continue  # settled by another process in the meantime
            except (ValueError, KeyError, TypeError):
                keys, retiring, database, ticket = (), (), "", 0
            found.append(Publication(marker=marker, keys=keys, retiring=retiring, database=database, ticket=ticket))
        return found

    @staticmethod
    def _is_key(key: object) -> bool:
        return isinstance(key, str) and len(key) == 32 and all(c in "0123456789abcdef" for c in key)

    def _scratch_file(self, kind: str, suffix: str = "") -> Path:
        scratch = self.root / SCRATCH_FOLDER
        scratch.mkdir(parents=True, exist_ok=True)
        return _ScratchOwner.create(scratch, kind, suffix)

    def sweep_scratch(self) -> list[Path]:
        """Delete the scratch files of processes that ended without cleaning up; return what went.

        A claim that can be locked has no living owner: its files go, then the claim. A scratch file
        whose claim is gone (a sweep that was itself interrupted) goes too, since a claim always exists,
        locked, before its owner's first file. A dead owner's publication marker stays, without its
        claim: it is settled against the database (:meth:`interrupted_publications`).
        """
        scratch = self.root / SCRATCH_FOLDER
        if not scratch.is_dir():
            return []
        _ScratchOwner.release_if_idle(scratch)  # a file this process made may have been deleted by its caller
        removed: list[Path] = []
        for claim in scratch.glob(f"{OWNER_PREFIX}*"):
            try:
                fd = os.open(claim, os.O_RDWR)
            except FileNotFoundError:
                continue  # another sweep took it
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # its process is alive
                token = claim.name.removeprefix(OWNER_PREFIX)
                for path in scratch.glob(f".*-{token}-*"):
                    if not path.name.startswith(PUBLISH_PREFIX):
                        path.unlink(missing_ok=True)
                        removed.append(path)
                claim.unlink(missing_ok=True)
            finally:
                os.close(fd)
        for path in scratch.iterdir():
            match = SCRATCH_FILE.match(path.name)
            if match and match["kind"] != "publish" and not (scratch / f"{OWNER_PREFIX}{match['token']}").exists():
                path.unlink(missing_ok=True)
                removed.append(path)
        return removed

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def keys(self) -> list[str]:
        """Every stored key."""
        return sorted(p.name for p in self.root.glob("??/*") if p.is_file() and self._is_key(p.name))

    def restore_file(self, key: str, stream: IO[bytes]) -> int:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        size = 0
        with open(target, "wb") as out:
            while chunk := stream.read(CHUNK_SIZE):
                out.write(chunk)
                size += len(chunk)
        return size

    # -- resumable uploads: parts in ``parts/<token>/``, received by the app ------------------------

    min_part_size = 1

    def _parts_folder(self, token: str) -> Path:
        return self.root / PARTS_FOLDER / _check_token(token)

    def begin_parts(self, token: str) -> str:
        self._parts_folder(token).mkdir(parents=True)
        return ""

    def part_url(self, token: str, reference: str, number: int) -> str | None:
        return None

    def write_part(self, token: str, reference: str, number: int, stream: IO[bytes], limit: int) -> StoredPart:
        """Copy a part aside, then rename it into the upload's folder: a part cut short is never there."""
        folder = self._parts_folder(token)
        if not folder.is_dir():
            raise FileNotFoundError(token)
        scratch = self._scratch_file(".part")
        digest, size = hashlib.sha256(), 0
        try:
            with scratch.open("wb") as out:
                while chunk := stream.read(CHUNK_SIZE):
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge
                    digest.update(chunk)
                    out.write(chunk)
            if size != limit:
                raise TooLarge  # cut short: the sender sends it again
            os.replace(scratch, folder / f"{number:05d}")
        finally:
            scratch.unlink(missing_ok=True)
            _ScratchOwner.release_if_idle(scratch.parent)
        return StoredPart(number, size, digest.hexdigest())

    def stored_parts(self, token: str, reference: str) -> list[StoredPart]:
        folder = self._parts_folder(token)
        if not folder.is_dir():
            return []
        return sorted(StoredPart(int(p.name), p.stat().st_size, "") for p in folder.iterdir() if p.name.isdigit())

    def join_parts(self, token: str, reference: str, parts: list[StoredPart]) -> None:
        """Nothing to do: the parts are read one after the other (:meth:`assembled`)."""

    @contextmanager
    def assembled(self, token: str, reference: str, parts: list[StoredPart]) -> Iterator[IO[bytes]]:
        folder = self._parts_folder(token)
        with _JoinedFiles([folder / f"{part.number:05d}" for part in parts]) as stream:
            yield io.BufferedReader(stream, CHUNK_SIZE)

    def abort_parts(self, token: str, reference: str) -> None:
        shutil.rmtree(self._parts_folder(token), ignore_errors=True)

    def unfinished_parts(self) -> list[tuple[str, str, datetime]]:
        folder = self.root / PARTS_FOLDER
        if not folder.is_dir():
            return []
        return [
            (p.name, "", datetime.fromtimestamp(p.stat().st_mtime, UTC))
            for p in folder.iterdir()
            if p.is_dir() and self._is_key(p.name)
        ]


class _JoinedFiles(io.RawIOBase):
    """Files read one after the other as one stream."""

    def __init__(self, paths: list[Path]):
        self._paths = list(paths)
        self._current: IO[bytes] | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._next(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _next(self, size: int) -> bytes:
        while True:
            if self._current is None:
                if not self._paths:
                    return b""
                self._current = open(self._paths.pop(0), "rb")
            chunk = self._current.read(size)
            if chunk:
                return chunk
            self._current.close()
            self._current = None

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None
        super().close()


class _StreamCopy:
    """The side work of copying a large stream to a file, on two threads of its own.

    - the sha256, on one thread: hashlib lets go of the GIL while it hashes a large buffer, as do the
      socket read and the file write, so the three run side by side on two cores;
    - write-behind, on the other: every ``flush_every`` bytes the file's written pages are handed to
      the disk (``fdatasync``) while the copy goes on, instead of all at once in the final ``fsync``.

    A file of one chunk (a photo, a document) starts no thread: its hash is computed inline. At most
    ``depth`` chunks wait for the hash, so memory stays bounded however large the file. Measured in
    bench/RESULTS.md (Upload).
    """

    _DONE = b""

    def __init__(self, fd: int, *, depth: int = 4, flush_every: int = 64 * CHUNK_SIZE):
        self._fd = fd
        self._digest = hashlib.sha256()
        self._first: bytes | None = None
        self._chunks: queue.Queue[bytes] = queue.Queue(maxsize=depth)
        self._hasher: threading.Thread | None = None
        self._flush_every = flush_every
        self._unflushed = 0
        self._flush_wanted = threading.Event()
        self._flusher: threading.Thread | None = None
        self._closing = False
        self._finished = False

    def hash(self, chunk: bytes) -> None:
        chunk = bytes(chunk)  # a copy only if the reader handed a mutable buffer
        if self._hasher is None:
            if self._first is None:
                self._first = chunk
                return
            self._hasher = threading.Thread(target=self._hash_queued, name="sha256", daemon=True)
            self._hasher.start()
            self._chunks.put(self._first)
        self._chunks.put(chunk)

    def wrote(self, count: int) -> None:
        self._unflushed += count
        if self._unflushed >= self._flush_every:
            self._unflushed = 0
            if self._flusher is None:
                self._flusher = threading.Thread(target=self._flush_when_asked, name="write-behind", daemon=True)
                self._flusher.start()
            self._flush_wanted.set()

    def hexdigest(self) -> str:
        self._finish()
        return self._digest.hexdigest()

    def _hash_queued(self) -> None:
        while chunk := self._chunks.get():
            if not self._closing:
                self._digest.update(chunk)

    def _flush_when_asked(self) -> None:
        while True:
            self._flush_wanted.wait()
            self._flush_wanted.clear()
            if self._closing:
                return
            try:
                os.fdatasync(self._fd)
            except OSError:
                return  # the copy's own fsync reports what is wrong with the disk

    def _finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        if self._hasher is not None:
            self._chunks.put(self._DONE)
            self._hasher.join()
        elif self._first is not None:
            self._digest.update(self._first)

    def __enter__(self) -> _StreamCopy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop both threads before the file is closed (the flusher holds its descriptor)."""
        if exc_info[0] is not None:
            self._closing = True  # the copy failed: what is still queued is not hashed
        self._finish()
        if self._flusher is not None:
            self._closing = True
            self._flush_wanted.set()
            self._flusher.join()


def _sync_directory(folder: Path) -> None:
    """Make the names in a folder (new files, renames) durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
