"""Probing and preparing media with the ffmpeg shipped in the imageio-ffmpeg wheel.

There is no ffprobe in that wheel: ``ffmpeg -hide_banner -i FILE`` exits 1 by design and prints the
container's ``Duration: HH:MM:SS.ss`` and stream lines on stderr; no such line means the file is not
a video ffmpeg can read (DESIGN.md §8).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import imageio_ffmpeg

_DURATION = re.compile(r"Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_VIDEO_STREAM = re.compile(r"Stream #[^\n]*?Video: (\w+)[^\n]*?, (\d{2,5})x(\d{2,5})")


@lru_cache(maxsize=1)
def ffmpeg_executable() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


@dataclass(frozen=True)
class VideoInfo:
    duration_seconds: Decimal
    codec: str
    width: int
    height: int
    tags: tuple[tuple[str, str], ...] = ()
    """The container's and streams' metadata tags, as ffmpeg lists them: (key, value)."""

    @property
    def identifying_tags(self) -> tuple[tuple[str, str], ...]:
        """Tags that may name the entrant (title, artist, comment, …): everything but format bookkeeping."""
        return tuple((key, value) for key, value in self.tags if key.lower() not in FORMAT_TAGS)


FORMAT_TAGS = frozenset(
    {
        "major_brand",
        "minor_version",
        "compatible_brands",
        "encoder",
        "handler_name",
        "vendor_id",
        "language",
        "creation_time",
        "timecode",
        "duration",
    }
)
"""Tags that muxers and encoders write by themselves and that say nothing about who made the video."""


def metadata_tags(ffmpeg_output: str) -> tuple[tuple[str, str], ...]:
    """The (key, value) lines of every ``Metadata:`` block in ffmpeg's description of its input."""
    tags: list[tuple[str, str]] = []
    block_indent: int | None = None
    for line in ffmpeg_output.splitlines():
        indent = len(line) - len(line.lstrip(" "))
        if line.strip() == "Metadata:":
            block_indent = indent
            continue
        if block_indent is not None and indent > block_indent and ":" in line:
            key, _sep, value = line.strip().partition(":")
            tags.append((key.strip(), value.strip()))
            continue
        block_indent = None
    return tuple(tags)


class NotAVideo(Exception):
    """ffmpeg found no duration or no video stream in the file."""


def probe_video(path: str | Path, timeout: float = 60) -> VideoInfo:
    """Measure a video's duration and its first video stream's codec and size."""
    result = subprocess.run(  # noqa: S603
        [ffmpeg_executable(), "-hide_banner", "-nostdin", "-i", str(path)],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
        check=False,
    )
    duration = _DURATION.search(result.stderr)
    stream = _VIDEO_STREAM.search(result.stderr)
    if duration is None or stream is None:
        raise NotAVideo(str(path))
    hours, minutes, seconds = duration.groups()
    total = Decimal(hours) * 3600 + Decimal(minutes) * 60 + Decimal(seconds)
    return VideoInfo(
        duration_seconds=total.quantize(Decimal("0.01")),
        codec=stream.group(1),
        width=int(stream.group(2)),
        height=int(stream.group(3)),
        tags=metadata_tags(result.stderr),
    )


def run_ffmpeg(*arguments: str, timeout: float = 60) -> None:
    """Run the bundled ffmpeg quietly, overwriting its output; raise CalledProcessError if it fails.

    An argument list, never a shell: file names reach ffmpeg as they are.
    """
    command = [ffmpeg_executable(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *arguments]
    subprocess.run(command, check=True, capture_output=True, timeout=timeout)  # noqa: S603


def make_thumbnail(video: str | Path, target: str | Path, at_seconds: float = 1.0, width: int = 320) -> None:
    """Write a JPEG frame of the video (at ``at_seconds``, or the first frame of a shorter clip).

    Raises CalledProcessError when ffmpeg can take no frame at all. Seeking past the end of a clip is
    an error for ffmpeg or an empty output, depending on the container: either way the first frame is
    taken instead.
    """
    starts = (str(at_seconds), "0")
    for number, start in enumerate(starts, start=1):
        try:
            run_ffmpeg("-ss", start, "-i", str(video), "-frames:v", "1", "-vf", f"scale={width}:-2", str(target))
        except subprocess.CalledProcessError:
            if number == len(starts):
                raise
            continue
        if Path(target).exists() and Path(target).stat().st_size > 0:
            return
    raise subprocess.CalledProcessError(1, "ffmpeg", stderr=b"no frame could be taken from the video")


def generate_test_video(
    target: str | Path, seconds: float, *, pattern: str = "testsrc", size: str = "320x180", rate: int = 10
) -> None:
    """Encode a synthetic H.264 clip (a test pattern with a tone) in well under a second.

    Used for demo data and tests: no video file is ever committed.
    """
    run_ffmpeg(
        "-f", "lavfi", "-i", f"{pattern}=size={size}:rate={rate}",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=22050",
        "-t", str(seconds), "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast",
        "-c:a", "aac", "-b:a", "32k", "-shortest", "-movflags", "+faststart", str(target),
        timeout=120,
    )  # fmt: skip


def generate_test_image(target: str | Path, size: str = "640x360") -> None:
    """Write one frame of a test pattern as an image (PNG or JPEG by the target's suffix)."""
    run_ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={size}:rate=1", "-frames:v", "1", str(target))


def strip_metadata(source: str | Path, target: str | Path, container: str = "mp4", timeout: float = 600) -> None:
    """Copy a video's streams into a new file without its container metadata (title, author, comments,
    creation tool, chapters), so that a blind judge never receives the entrant's name hidden in tags.

    The streams are copied, not re-encoded: the pictures and sound are bit-for-bit those uploaded.
    No ``+faststart``: moving the index to the front costs another pass over a 1 GiB file, and
    players seek through the range requests that the file route answers anyway.
    """
    run_ffmpeg(
        "-i", str(source), "-map", "0", "-map_metadata", "-1", "-map_chapters", "-1",
        "-c", "copy", "-fflags", "+bitexact", "-f", container, str(target),
        timeout=timeout,
    )  # fmt: skip
