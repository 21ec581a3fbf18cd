"""LocalStorage.stage copies a stream with its sha256 and write-behind on threads of their own: the
digest, the size and the bytes must be exactly those of the stream whatever its length, and a copy that
fails must leave no file and no thread behind."""

from __future__ import annotations

import hashlib
import io
import os
import threading

import pytest

from judging.storage import CHUNK_SIZE, LocalStorage, TooLarge


def _helper_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name in {"sha256", "write-behind"}]


@pytest.mark.parametrize(
    "size",
    [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 5 * CHUNK_SIZE + 7, 70 * CHUNK_SIZE + 3],
    ids=lambda size: f"{size}B",
)
def test_staged_copy_has_the_streams_bytes_size_and_sha256(tmp_path, size):
    storage = LocalStorage(tmp_path / "uploads")
    data = os.urandom(size)

    staged = storage.stage(io.BytesIO(data))

    assert staged.size == size
    assert staged.sha256 == hashlib.sha256(data).hexdigest()
    assert staged.path.read_bytes() == data
    assert _helper_threads() == []


class _ShortReads(io.RawIOBase):
    """A socket-like stream: reads return fewer bytes than asked, in uneven pieces, as a mutable buffer."""

    def __init__(self, data: bytes):
        self.data, self.position, self.turn = data, 0, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytearray:  # type: ignore[override]
        self.turn += 1
        step = min(size, (self.turn % 5 + 1) * 300_000)
        piece = bytearray(self.data[self.position : self.position + step])
        self.position += len(piece)
        return piece


def test_uneven_mutable_reads_are_hashed_as_they_were_read(tmp_path):
    storage = LocalStorage(tmp_path / "uploads")
    data = os.urandom(9 * CHUNK_SIZE + 12345)

    staged = storage.stage(_ShortReads(data))

    assert staged.sha256 == hashlib.sha256(data).hexdigest()
    assert staged.path.read_bytes() == data


def test_a_copy_over_the_limit_leaves_no_file_and_no_thread(tmp_path):
    storage = LocalStorage(tmp_path / "uploads")

    with pytest.raises(TooLarge):
        storage.stage(io.BytesIO(os.urandom(6 * CHUNK_SIZE)), limit=3 * CHUNK_SIZE)

    assert [p.name for p in (tmp_path / "uploads" / "tmp").iterdir() if not p.name.startswith(".owner-")] == []
    assert _helper_threads() == []


class _BrokenConnection(io.RawIOBase):
    """A body whose connection drops after ``good`` bytes."""

    def __init__(self, good: int):
        self.left = good

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        if self.left <= 0:
            raise ConnectionResetError("the client went away")
        piece = os.urandom(min(size, self.left))
        self.left -= len(piece)
        return piece


def test_a_connection_dropped_half_way_leaves_no_file_and_no_thread(tmp_path):
    storage = LocalStorage(tmp_path / "uploads")

    with pytest.raises(ConnectionResetError):
        storage.stage(_BrokenConnection(80 * CHUNK_SIZE))

    assert [p.name for p in (tmp_path / "uploads" / "tmp").iterdir() if not p.name.startswith(".owner-")] == []
    assert _helper_threads() == []
