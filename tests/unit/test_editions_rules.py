"""Pure rules behind editions and archiving: an archived contest refuses every action, a WebP is known
by its content, and a copied rubric changes only the keys it is told to."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from judging import workflow
from judging.file_types import detect_kind, is_accepted
from judging.rubric import RubricError, parse_rubric
from judging.services.editions import edited_rubric_text
from judging.workflow import Action, ContestState, Phase, Refusal, SnapshotStatus

ROOT = Path(__file__).resolve().parents[2]


def test_an_archived_contest_refuses_every_action_in_every_phase() -> None:
    now = datetime(2026, 9, 1, tzinfo=UTC)
    for phase in Phase:
        for status in (None, *SnapshotStatus):
            state = ContestState(phase=phase, snapshot_status=status, archived=True)
            assert {workflow.refusal(action, state, now) for action in Action} == {Refusal.ARCHIVED}
    assert workflow.allowed(Action.OPEN_ENTRIES, ContestState(phase=Phase.DRAFT), now)


def test_webp_is_recognised_by_its_content_and_accepted_only_where_listed(tmp_path: Path) -> None:
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, format="WEBP")
    picture = tmp_path / "poster.jpg"  # the name lies; the content decides
    picture.write_bytes(out.getvalue())
    assert detect_kind(picture) == "webp"
    assert is_accepted("webp", ["jpg", "png", "webp"]) and not is_accepted("webp", ["jpg", "png"])
    riff_wave = tmp_path / "sound.webp"
    riff_wave.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt ")
    assert detect_kind(riff_wave) is None


def test_a_copied_rubric_changes_only_the_given_keys_and_keeps_every_comment() -> None:
    original = (ROOT / "rubrics" / "micro_video.toml").read_text(encoding="utf-8")
    copied = edited_rubric_text(original, {"slug": "micro-video-2027", "code_prefix": "MV27", "series": "micro-video"})
    comments = [line for line in original.splitlines() if line.lstrip().startswith("#")]
    assert comments and all(line in copied.splitlines() for line in comments)
    old, new = parse_rubric(original, "old.toml"), parse_rubric(copied, "new.toml")
    assert (new.slug, new.contest.entry_code_prefix, new.contest.series_key) == (
        "micro-video-2027",
        "MV27",
        "micro-video",
    )
    assert old.model_dump(exclude={"contest"}) == new.model_dump(exclude={"contest"})
    assert old.contest.model_dump(exclude={"slug", "code_prefix", "series"}) == new.contest.model_dump(
        exclude={"slug", "code_prefix", "series"}
    )


def test_image_is_a_media_kind_of_the_rubric_with_picture_types_only() -> None:
    poster = (ROOT / "rubrics" / "templates" / "poster.toml").read_text(encoding="utf-8")
    assert parse_rubric(poster, "poster.toml").entry.media == "image"
    with_pdf = poster.replace('allowed_extensions = ["jpg", "png", "webp"]', 'allowed_extensions = ["jpg", "pdf"]')
    with pytest.raises(RubricError) as refusal:
        parse_rubric(with_pdf, "poster.toml")
    assert refusal.value.errors == [
        "poster.toml: entry.allowed_extensions[1]: 'pdf' is not a supported image type (jpg, jpeg, png, webp)"
    ]
