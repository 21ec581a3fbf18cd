"""The rubric loader: the defaults are valid, and every kind of mistake is named by file and key path."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from judging.rubric import RubricError, check_rubric_files, format_points, load_rubric, parse_rubric

ROOT = Path(__file__).resolve().parents[2]

VALID = """
[contest]
slug = "demo"
title = "示例评选"
kind = "work"
ceremony = "opening"

[entry]
media = "video"
quota_per_organization = 1
max_duration_seconds = 180
allowed_extensions = ["mp4"]
max_file_mb = 100

[[criteria]]
key = "content"
label = "内容"
max = 40
weight = 1.0
step = 0.5

[[criteria]]
key = "form"
label = "形式"
max = 60
weight = 1.0

[assignment]
judges_per_entry = "all"
blind = true
conflict = "same_organization"

[aggregation]
across_judges = "mean"
tie_break = ["content"]

[[awards]]
name = "一等奖"
count = 1
"""


def errors_of(text: str, source: str = "rubrics/demo.toml") -> list[str]:
    with pytest.raises(RubricError) as caught:
        parse_rubric(text, source)
    return caught.value.errors


def test_default_rubrics_are_valid() -> None:
    paths = sorted((ROOT / "rubrics").glob("*.toml"))
    assert [p.name for p in paths] == ["exemplary_cases.toml", "isg_skills.toml", "micro_video.toml"]
    assert check_rubric_files(paths) == []


def test_micro_video_rubric_matches_the_plan() -> None:
    rubric = load_rubric(ROOT / "rubrics" / "micro_video.toml")
    assert [(c.key, c.max) for c in rubric.criteria] == [
        ("content", Decimal(40)),
        ("form", Decimal(30)),
        ("influence", Decimal(30)),
    ]
    assert rubric.max_total == 100
    assert rubric.entry is not None
    assert rubric.entry.quota_per_organization == 1
    assert rubric.entry.max_duration_seconds == 180
    assert any("玉兰" in text and "沪宝" in text for text in rubric.entry.declarations)
    assert rubric.checks[0].key == "ip_characters"
    assert rubric.aggregation is not None and rubric.aggregation.across_judges == "trimmed_mean"
    assert rubric.contest.ceremony == "opening"


def test_exemplary_cases_rubric_has_categories_and_nomination_quota() -> None:
    rubric = load_rubric(ROOT / "rubrics" / "exemplary_cases.toml")
    assert [c.label for c in rubric.categories] == ["优秀案例", "优秀集体", "优秀个人"]
    assert rubric.nomination is not None and rubric.nomination.quota == 5
    assert rubric.contest.ceremony == "closing"
    assert {award.category for award in rubric.awards} == {"case", "collective", "individual"}
    assert [field.key for field in rubric.entry.fields if field.identifying] == ["unit"]  # hidden while blind


def test_identifying_must_be_true_or_false() -> None:
    text = (ROOT / "rubrics" / "exemplary_cases.toml").read_text(encoding="utf-8")
    text = text.replace("identifying = true", 'identifying = "yes"')
    assert errors_of(text) == ["rubrics/demo.toml: entry.fields[0].identifying: must be true or false"]


def test_skills_rubric_has_weighted_parts_levels_and_collectives() -> None:
    rubric = load_rubric(ROOT / "rubrics" / "isg_skills.toml")
    assert [(p.key, p.weight, p.source) for p in rubric.parts] == [
        ("theory", Decimal("0.3"), "import"),
        ("practical", Decimal("0.4"), "import"),
        ("operations", Decimal("0.3"), "judged"),
    ]
    assert sum((c.max for c in rubric.criteria), Decimal(0)) == rubric.parts[2].max  # judged on its own scale
    assert rubric.aggregation is not None and rubric.aggregation.across_judges == "trimmed_mean"
    assert rubric.ranking is not None and rubric.ranking.tie_break == ("practical", "time")
    assert rubric.collectives is not None and rubric.collectives.rule == "best_k_sum"
    assert [level.key for level in rubric.levels] == ["level2", "level3", "level4"]


def test_rubric_text_and_hash_are_kept() -> None:
    rubric = parse_rubric(VALID, "x.toml")
    assert rubric.text == VALID
    assert len(rubric.sha256) == 64
    assert parse_rubric(VALID + "\n", "x.toml").sha256 != rubric.sha256


def test_criterion_max_zero_is_refused_with_key_path() -> None:
    text = VALID.replace("max = 60", "max = 0")
    assert errors_of(text) == ["rubrics/demo.toml: criteria[1].max: must be > 0"]


def test_unknown_key_is_refused_with_key_path() -> None:
    text = VALID.replace('ceremony = "opening"', 'ceremony = "opening"\ncolour = "red"')
    assert errors_of(text) == ["rubrics/demo.toml: contest.colour: unknown key"]


def test_tie_break_on_unknown_criterion_is_refused() -> None:
    text = VALID.replace('tie_break = ["content"]', 'tie_break = ["content", "beauty"]')
    assert errors_of(text) == ["rubrics/demo.toml: aggregation.tie_break[1]: unknown criterion 'beauty'"]


def test_award_with_count_and_share_is_refused() -> None:
    text = VALID.replace("count = 1", "count = 1\nshare = 0.5")
    assert errors_of(text) == [
        "rubrics/demo.toml: awards[0]: set exactly one of count, share, min_score (found count, share)"
    ]


def test_missing_required_key_and_wrong_type_are_each_one_line() -> None:
    text = VALID.replace("max_file_mb = 100\n", "").replace("blind = true", 'blind = "yes"')
    assert errors_of(text) == [
        "rubrics/demo.toml: entry.max_file_mb: required key is missing",
        "rubrics/demo.toml: assignment.blind: must be true or false",
    ]


def test_number_given_as_text_is_refused() -> None:
    text = VALID.replace("max = 40", 'max = "40"')
    assert errors_of(text) == ["rubrics/demo.toml: criteria[0].max: must be a number"]


def test_judges_per_entry_must_be_all_or_positive_integer() -> None:
    text = VALID.replace('judges_per_entry = "all"', 'judges_per_entry = "some"')
    assert errors_of(text) == ['rubrics/demo.toml: assignment.judges_per_entry: must be "all" or a whole number >= 1']


def test_step_with_three_decimals_and_max_off_step_are_refused() -> None:
    text = VALID.replace("step = 0.5", "step = 0.125").replace(
        "max = 60\nweight = 1.0", "max = 60\nweight = 1.0\nstep = 7"
    )
    assert errors_of(text) == [
        "rubrics/demo.toml: criteria[0].step: must have at most two decimals",
        "rubrics/demo.toml: criteria[1].max: must be a multiple of step (7)",
    ]


def test_trimmed_mean_needs_more_judges_than_it_trims() -> None:
    text = VALID.replace('across_judges = "mean"', 'across_judges = "trimmed_mean"\ntrim = 1\nmin_judges = 2')
    assert errors_of(text) == [
        "rubrics/demo.toml: aggregation.min_judges: must be greater than 2 × trim (2) for trimmed_mean"
    ]


def test_duplicate_criterion_key_is_refused() -> None:
    text = VALID.replace('key = "form"', 'key = "content"')
    assert errors_of(text) == ["rubrics/demo.toml: criteria[1].key: duplicate key 'content'"]


def test_award_category_must_exist_and_shares_must_not_exceed_one() -> None:
    text = VALID.replace(
        'name = "一等奖"\ncount = 1',
        'name = "一等奖"\nshare = 0.6\ncategory = "nope"\n[[awards]]\nname = "二等奖"\nshare = 0.6',
    )
    assert errors_of(text) == [
        "rubrics/demo.toml: awards[0].category: unknown category 'nope'",
    ]
    text = VALID.replace(
        'name = "一等奖"\ncount = 1', 'name = "一等奖"\nshare = 0.6\n[[awards]]\nname = "二等奖"\nshare = 0.6'
    )
    assert errors_of(text) == ["rubrics/demo.toml: awards: shares add up to more than 1 (1.2)"]


def test_unsupported_file_type_for_media_is_refused() -> None:
    text = VALID.replace('allowed_extensions = ["mp4"]', 'allowed_extensions = ["mp4", "exe"]')
    assert errors_of(text) == [
        "rubrics/demo.toml: entry.allowed_extensions[1]: 'exe' is not a supported video type (mp4, mov, m4v, webm, mkv)"
    ]


def test_skills_part_weights_must_add_up_to_one() -> None:
    text = (ROOT / "rubrics" / "isg_skills.toml").read_text(encoding="utf-8").replace("weight = 0.4", "weight = 0.3")
    assert errors_of(text, "isg.toml") == ["isg.toml: parts: weights must add up to 1 (they add up to 0.9)"]


def test_skills_tie_break_must_name_a_part_or_time() -> None:
    text = (
        (ROOT / "rubrics" / "isg_skills.toml")
        .read_text(encoding="utf-8")
        .replace('tie_break = ["practical", "time"]', 'tie_break = ["speed"]')
    )
    assert errors_of(text, "isg.toml") == [
        "isg.toml: ranking.tie_break[0]: unknown part 'speed' (a part key or \"time\")"
    ]


def test_toml_syntax_error_names_the_file() -> None:
    errors = errors_of("[contest\nslug = 1", "broken.toml")
    assert len(errors) == 1 and errors[0].startswith("broken.toml: not valid TOML: ")


def test_check_rubric_files_reports_missing_file_and_duplicate_slug(tmp_path: Path) -> None:
    first, second = tmp_path / "a.toml", tmp_path / "b.toml"
    first.write_text(VALID, encoding="utf-8")
    second.write_text(VALID, encoding="utf-8")
    assert check_rubric_files([first, second, tmp_path / "missing.toml"]) == [
        f"{second}: contest.slug: 'demo' is already used by {first}",
        f"{tmp_path / 'missing.toml'}: no such file",
    ]


def test_points_are_written_as_people_write_them() -> None:
    assert [format_points(Decimal(v)) for v in ("40", "100.0", "0.50", "84.13", "30.00")] == [
        "40",
        "100",
        "0.5",
        "84.13",
        "30",
    ]


def test_feedback_defaults_to_none_and_takes_the_three_choices() -> None:
    assert parse_rubric(VALID).feedback.show == "none"
    for show in ("none", "scores", "scores_and_comments"):
        assert parse_rubric(VALID + f'\n[feedback]\nshow = "{show}"\n').feedback.show == show


def test_feedback_with_an_unknown_choice_or_key_is_refused() -> None:
    assert errors_of(VALID + '\n[feedback]\nshow = "everything"\n')[0].startswith("rubrics/demo.toml: feedback.show:")
    assert errors_of(VALID + '\n[feedback]\nshow = "scores"\nnames = true\n') == [
        "rubrics/demo.toml: feedback.names: unknown key"
    ]


def test_feedback_on_a_skills_contest_is_refused() -> None:
    text = (ROOT / "rubrics" / "isg_skills.toml").read_text(encoding="utf-8") + '\n[feedback]\nshow = "scores"\n'
    assert errors_of(text, "rubrics/isg_skills.toml") == [
        'rubrics/isg_skills.toml: feedback.show: entrants see feedback only when contest.kind = "work"'
    ]
