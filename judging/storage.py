"""Where uploaded files live: random keys, outside any static folder, behind a small interface.

:class:`LocalStorage` keeps files on local disk. A multi-host deployment plugs in an object store
with the same four methods. Writes are streamed in chunks (memory stays flat for large videos),
hashed on the way, written to a temporary name and renamed into place only when complete, so an
interrupted upload leaves nothing under a real key.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK_SIZE = 1024 * 1024


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
        key = self.new_key()
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK_SIZE):
                    size += len(chunk)
                    if limit is not None and size > limit:
                        raise TooLarge
                    digest.update(chunk)
                    out.write(chunk)
            os.replace(temp_name, target)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
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
        return StoredFile(key=key, size=size, sha256=digest.hexdigest())

    def temporary_path(self, suffix: str = "") -> Path:
        """A fresh path on the storage's disk for a file being prepared; :meth:`adopt` it or delete it."""
        scratch = self.root / "tmp"
        scratch.mkdir(parents=True, exist_ok=True)
        return scratch / f".work-{secrets.token_hex(16)}{suffix}"

    def save_path(self, source: str | Path) -> StoredFile:
        with open(source, "rb") as stream:
            return self.save(stream)

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)
