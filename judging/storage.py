"""Where uploaded files live: random keys, outside any static folder, behind a small interface.

:class:`LocalStorage` keeps files on local disk. A multi-host deployment plugs in an object store
with the same four methods. Writes are streamed in chunks (memory stays flat for large videos),
hashed on the way, written to a temporary name and renamed into place only when complete, so an
interrupted upload leaves nothing under a real key.

Files being written live in the root's ``tmp/`` folder, named after the process writing them. A
process that is killed (SIGKILL, the out-of-memory killer, a power cut) runs no cleanup, so its files
stay behind; :meth:`LocalStorage.sweep_scratch` removes them, at start-up and before each upload.
Whether their writer is gone is known from a lock, not guessed from a file's age: each writing process
holds an exclusive ``flock`` on its own claim file (``tmp/.owner-<token>``) for as long as it lives,
and the kernel releases it however the process ends. A claim that can be locked has no living owner,
and the files named after it go with it; files of other processes, still being written, are never
touched. This holds for every process on the host that writes to the folder (gunicorn workers, the
command line, tests).
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import os
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK_SIZE = 1024 * 1024
SCRATCH_FOLDER = "tmp"
"""Files being written, under the root; never a key's folder (those are two hex digits)."""
OWNER_PREFIX = ".owner-"
SCRATCH_FILE = re.compile(r"^\.(?:part|work)-(?P<token>[0-9a-f]{16})-[0-9a-f]{32}")
""":meth:`LocalStorage.save`'s ``.part-<owner>-<random>`` and :meth:`LocalStorage.temporary_path`'s
``.work-<owner>-<random><suffix>``."""


@dataclass(frozen=True)
class StoredFile:
    key: str
    size: int
    sha256: str


class Storage(Protocol):
    def save(self, stream: BinaryIO, *, limit: int | None = None) -> StoredFile: ...
    def path(self, key: str) -> Path: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...


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

    def save(self, stream: BinaryIO, *, limit: int | None = None) -> StoredFile:
        """Copy a stream to a new key in chunks, computing its sha256; raise TooLarge past ``limit`` bytes."""
        self.sweep_scratch()
        key = self.new_key()
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        temp_name = self._scratch_file(".part")
        try:
            with temp_name.open("wb") as out:
                while chunk := stream.read(CHUNK_SIZE):
                    size += len(chunk)
                    if limit is not None and size > limit:
                        raise TooLarge
                    digest.update(chunk)
                    out.write(chunk)
            os.replace(temp_name, target)
        except BaseException:
            temp_name.unlink(missing_ok=True)
            raise
        finally:
            _ScratchOwner.release_if_idle(temp_name.parent)
        return StoredFile(key=key, size=size, sha256=digest.hexdigest())

    def adopt(self, source: str | Path) -> StoredFile:
        """Move a file already written on the same disk (e.g. by ffmpeg) under a new key, hashing it."""
        key = self.new_key()
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        with open(source, "rb") as stream:
            while chunk := stream.read(CHUNK_SIZE):
                size += len(chunk)
                digest.update(chunk)
        os.replace(source, target)
        _ScratchOwner.release_if_idle(self.root / SCRATCH_FOLDER)
        return StoredFile(key=key, size=size, sha256=digest.hexdigest())

    def temporary_path(self, suffix: str = "") -> Path:
        """A new empty file on the storage's disk for a file being prepared; :meth:`adopt` it or delete it.
        Should this process die first, :meth:`sweep_scratch` removes it."""
        return self._scratch_file(".work", suffix)

    def _scratch_file(self, kind: str, suffix: str = "") -> Path:
        scratch = self.root / SCRATCH_FOLDER
        scratch.mkdir(parents=True, exist_ok=True)
        return _ScratchOwner.create(scratch, kind, suffix)

    def sweep_scratch(self) -> list[Path]:
        """Delete the scratch files of processes that ended without cleaning up; return what went.

        A claim that can be locked has no living owner: its files go, then the claim. A scratch file
        whose claim is gone (a sweep that was itself interrupted) goes too, since a claim always exists,
        locked, before its owner's first file.
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
                    path.unlink(missing_ok=True)
                    removed.append(path)
                claim.unlink(missing_ok=True)
            finally:
                os.close(fd)
        for path in scratch.iterdir():
            match = SCRATCH_FILE.match(path.name)
            if match and not (scratch / f"{OWNER_PREFIX}{match['token']}").exists():
                path.unlink(missing_ok=True)
                removed.append(path)
        return removed

    def save_path(self, source: str | Path) -> StoredFile:
        with open(source, "rb") as stream:
            return self.save(stream)

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)
