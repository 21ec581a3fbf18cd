"""The ``[collection]`` section of a ``kind = "collection"`` rubric (docs/rubric-reports.md): what is
accepted, what is refused with its key path, and that the builder's two round trips keep it whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from judging.rubric import RubricError, load_rubric, parse_rubric
from judging.rubric_document import rubric_toml, same_rubric
from judging.rubric_form import form_data_of, form_toml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "rubrics" / "templates" / "activity_report.toml"


def _template_with(old: str, new: str) -> str:
    text = TEMPLATE.read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


def test_the_template_reads_with_its_figures_and_defaults() -> None:
    rubric = load_rubric(TEMPLATE)
    assert rubric.is_collection
    assert rubric.collection is not None
    assert rubric.collection.organizations == ("district", "industry")
    assert [(f.key, f.unit, f.required, f.max) for f in rubric.collection.figures] == [
        ("events", "场", True, 1_000_000_000),
        ("participants", "人次", True, 1_000_000_000),
        ("media_reports", "篇", False, 1_000_000_000),
    ]
    assert (rubric.collection.max_documents, rubric.collection.max_photos) == (5, 20)


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        (
            'organizations = ["district", "industry"]',
            "organizations = []",
            "collection.organizations: must not be empty",
        ),
        (
            'organizations = ["district", "industry"]',
            'organizations = ["city"]',
            "collection.organizations[0]: must be one of",
        ),
        ('key = "events"', 'key = "contact"', "collection.figures[0].key: 'contact' is also an entry field's key"),
        ('key = "participants"', 'key = "events"', "collection.figures[1].key: duplicate key 'events'"),
        ('unit = "场"', 'unit = "场"\nmax = 0', "collection.figures[0].max: must be >= 1"),
        ('unit = "场"', 'unit = "场"\nmax = 1.5', "collection.figures[0].max: must be an integer"),
        ("max_photos = 20", "max_photos = -1", "collection.max_photos: must be >= 0"),
        ("max_photos = 20", "max_photos = 20\nwhatever = 1", "collection.whatever: unknown key"),
        ("quota_per_organization = 1", "quota_per_organization = 2", "entry.quota_per_organization: must be 1"),
        ('media = "document"', 'media = "video"\nmax_duration_seconds = 60', 'entry.media: must be "document"'),
        (
            "max_file_mb = 20",
            'max_file_mb = 20\nentrant_kinds = ["district"]',
            "entry.entrant_kinds: not used by a collection",
        ),
        (
            "\n[collection]\n",
            '\n[assignment]\njudges_per_entry = "all"\nblind = true\nconflict = "none"\n\n[collection]\n',
            "assignment: not used",
        ),
    ],
)
def test_a_bad_collection_is_refused_with_its_key_path(old: str, new: str, error: str) -> None:
    with pytest.raises(RubricError) as refused:
        parse_rubric(_template_with(old, new), "r.toml")
    assert any(line.startswith(f"r.toml: {error}") for line in refused.value.errors), refused.value.errors


def test_a_collection_needs_its_section_and_a_work_contest_may_not_have_one() -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    without = text[: text.index("\n[collection]\n")]
    with pytest.raises(RubricError) as refused:
        parse_rubric(without, "r.toml")
    assert 'r.toml: collection: required when contest.kind = "collection"' in refused.value.errors
    work = (ROOT / "rubrics" / "micro_video.toml").read_text(
        encoding="utf-8"
    ) + '\n[collection]\norganizations = ["district"]\n'
    with pytest.raises(RubricError) as refused:
        parse_rubric(work, "w.toml")
    assert 'w.toml: collection: only for contest.kind = "collection"' in refused.value.errors


def test_the_collection_survives_both_builder_round_trips() -> None:
    rubric = load_rubric(TEMPLATE)
    assert same_rubric(parse_rubric(rubric_toml(rubric)), rubric)
    data = form_data_of(rubric)
    assert data["collection.figures[2].key"] == "media_reports"
    assert same_rubric(parse_rubric(form_toml(data)), rubric)
