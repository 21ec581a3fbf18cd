"""The contest builder's round trips: rubric → TOML → rubric and rubric → form → rubric, exactly.

Hypothesis generates valid rubrics of both kinds (work and skills, with every section the model has);
each must come back equal through the TOML the builder writes and through the builder's form values.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from judging.rubric import (
    DOCUMENT_EXTENSIONS,
    VIDEO_EXTENSIONS,
    Rubric,
    RubricError,
    load_rubric,
    parse_rubric,
    rubric_differences,
)
from judging.rubric_document import rubric_toml, same_rubric
from judging.rubric_form import MAX_ROWS, edit_rows, field_of, form_data_of, form_toml, row_count, settings_of

ROOT = Path(__file__).resolve().parents[2]

keys = st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True)
texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"), min_size=1, max_size=24
)
one_line = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=24
).filter(lambda s: s.strip() != "")
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(500), places=2)


def unique_keys(min_size: int = 0, max_size: int = 4) -> st.SearchStrategy[list[str]]:
    return st.lists(keys, min_size=min_size, max_size=max_size, unique=True)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


def drop_none(table: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in table.items() if value is not None}


@st.composite
def criteria(draw: st.DrawFn, min_size: int = 1) -> list[dict[str, Any]]:
    rows = []
    for key in draw(unique_keys(min_size, 4)):
        step = draw(st.sampled_from([Decimal("0.5"), Decimal(1), Decimal("0.25"), Decimal(2), Decimal("0.1")]))
        row = {
            "key": key,
            "label": draw(one_line),
            "max": step * draw(st.integers(1, 200)),
            "weight": draw(amounts),
            "step": draw(st.sampled_from([step, None])) if step == 1 else step,
            "guide": draw(optional(texts)),
        }
        rows.append(drop_none(row))
    return rows


@st.composite
def judging_tables(draw: st.DrawFn, criterion_keys: list[str]) -> dict[str, Any]:
    method = draw(st.sampled_from(["mean", "trimmed_mean", "median", "zscore"]))
    trim = draw(st.integers(0, 2)) if method == "trimmed_mean" else None
    min_judges = draw(st.integers(2 * (trim or 0) + 1, 7))
    aggregation = drop_none(
        {
            "level": draw(optional(st.sampled_from(["sheet", "criterion"]))),
            "across_judges": method,
            "trim": trim,
            "min_judges": draw(st.sampled_from([min_judges, None])) if min_judges == 1 else min_judges,
            "tie_break": draw(st.lists(st.sampled_from(criterion_keys), unique=True)) if criterion_keys else None,
            "decimals": draw(optional(st.integers(0, 4))),
        }
    )
    assignment = {
        "judges_per_entry": draw(st.one_of(st.just("all"), st.integers(min_judges, 12))),
        "blind": draw(st.booleans()),
        "conflict": draw(st.sampled_from(["same_organization", "none"])),
    }
    return {"assignment": assignment, "aggregation": aggregation}


@st.composite
def awards(draw: st.DrawFn, category_keys: list[str], max_total: Decimal) -> list[dict[str, Any]]:
    rows = []
    share_left = Decimal(1)
    for name in draw(st.lists(one_line, max_size=4, unique=True)):
        how = draw(st.sampled_from(["count", "share", "min_score"]))
        row: dict[str, Any] = {"name": name}
        if how == "count":
            row["count"] = draw(st.integers(1, 50))
        elif how == "share" and share_left >= Decimal("0.01"):
            share = draw(st.decimals(min_value=Decimal("0.01"), max_value=min(share_left, Decimal(1)), places=2))
            share_left -= share
            row["share"] = share
        else:
            row["min_score"] = draw(st.decimals(min_value=Decimal(0), max_value=max_total, places=2))
        if category_keys and draw(st.booleans()):
            row["category"] = draw(st.sampled_from(category_keys))
        rows.append(row)
    return rows


@st.composite
def contest_table(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    return drop_none(
        {
            "slug": draw(st.from_regex(r"[a-z0-9][a-z0-9-]{0,15}", fullmatch=True)),
            "title": draw(one_line),
            "kind": kind,
            "ceremony": draw(st.sampled_from(["opening", "closing"])),
            "description": draw(optional(texts)),
            "issuer": draw(optional(one_line)),
            "code_prefix": draw(optional(st.from_regex(r"[A-Z][A-Z0-9]{0,5}", fullmatch=True))),
        }
    )


@st.composite
def work_rubrics(draw: st.DrawFn) -> dict[str, Any]:
    media = draw(st.sampled_from(["video", "document"]))
    allowed = VIDEO_EXTENSIONS if media == "video" else DOCUMENT_EXTENSIONS
    fields = [
        drop_none(
            {
                "key": key,
                "label": draw(one_line),
                "type": draw(st.sampled_from(["text", "int", "url", "date"])),
                "required": draw(optional(st.booleans())),
                "identifying": draw(optional(st.booleans())),
            }
        )
        for key in draw(unique_keys())
    ]
    entry = drop_none(
        {
            "media": media,
            "quota_per_organization": draw(st.integers(1, 20)),
            "max_duration_seconds": draw(st.integers(1, 3600)) if media == "video" else None,
            "allowed_extensions": draw(st.lists(st.sampled_from(allowed), min_size=1, unique=True)),
            "max_file_mb": draw(st.integers(1, 4096)),
            "declarations": draw(st.lists(one_line, max_size=3)) or None,
            "fields": fields or None,
            "entrant_kinds": draw(
                st.lists(st.sampled_from(["district", "industry", "company", "grassroots"]), unique=True)
            )
            or None,
        }
    )
    categories = [{"key": key, "label": draw(one_line)} for key in draw(unique_keys())]
    rows = draw(criteria())
    max_total = sum((row["weight"] * row["max"] for row in rows), Decimal(0))
    data: dict[str, Any] = {"contest": draw(contest_table("work")), "entry": entry}
    if draw(st.booleans()):
        data["nomination"] = {"by": "parent", "quota": draw(st.integers(1, 9))}
    data["categories"] = categories
    data["criteria"] = rows
    data["checks"] = [
        {"key": key, "label": draw(one_line), "rule": draw(st.sampled_from(["majority", "all", "any"]))}
        for key in draw(unique_keys())
    ]
    data.update(draw(judging_tables([row["key"] for row in rows])))
    data["awards"] = draw(awards([c["key"] for c in categories], max_total))
    return {name: value for name, value in data.items() if value != []}


@st.composite
def skills_rubrics(draw: st.DrawFn) -> dict[str, Any]:
    part_keys = draw(unique_keys(1, 4))
    cuts = sorted(
        draw(st.lists(st.integers(1, 99), min_size=len(part_keys) - 1, max_size=len(part_keys) - 1, unique=True))
    )
    bounds = [0, *cuts, 100]
    judged = draw(st.booleans())
    parts = [
        drop_none(
            {
                "key": key,
                "label": draw(one_line),
                "max": draw(amounts),
                "weight": Decimal(bounds[i + 1] - bounds[i]) / 100,
                "source": "judged" if judged and i == 0 else draw(optional(st.just("import"))),
            }
        )
        for i, key in enumerate(part_keys)
    ]
    data: dict[str, Any] = {"contest": draw(contest_table("skills"))}
    max_total = Decimal(100)
    if judged:
        rows = draw(criteria())
        max_total = sum((row["weight"] * row["max"] for row in rows), Decimal(0))
        data["criteria"] = rows
        data.update(draw(judging_tables([row["key"] for row in rows])))
    data["awards"] = draw(awards([], max_total))
    data["parts"] = parts
    data["ranking"] = drop_none(
        {
            "tie_break": draw(st.lists(st.sampled_from([*part_keys, "time"]), unique=True)) or None,
            "decimals": draw(optional(st.integers(0, 4))),
        }
    )
    if draw(st.booleans()):
        data["collectives"] = drop_none(
            {
                "name": draw(one_line),
                "rule": draw(st.sampled_from(["best_k_sum", "best_k_mean"])),
                "k": draw(st.integers(1, 5)),
                "min_contestants": draw(optional(st.integers(1, 5))),
                "count": draw(st.integers(1, 10)),
            }
        )
    levels = []
    for key in draw(unique_keys()):
        min_score = draw(optional(st.decimals(min_value=Decimal(0), max_value=Decimal(100), places=2)))
        max_rank = draw(st.integers(1, 50)) if min_score is None else draw(optional(st.integers(1, 50)))
        levels.append(drop_none({"key": key, "label": draw(one_line), "min_score": min_score, "max_rank": max_rank}))
    data["levels"] = levels
    return {name: value for name, value in data.items() if value != []}


def toml_of(data: Any) -> Any:
    """Generated plain data as tomlkit values (Decimals as the numbers they are)."""
    if isinstance(data, dict):
        return {name: toml_of(value) for name, value in data.items()}
    if isinstance(data, list):
        return [toml_of(value) for value in data]
    if isinstance(data, Decimal):
        return int(data) if data == data.to_integral_value() else float(data)
    return data


def valid_rubric(data: dict[str, Any]) -> Rubric:
    try:
        return parse_rubric(tomlkit.dumps(toml_of(data)), "generated.toml")
    except RubricError as error:  # the few combinations the strategies do not rule out
        assume(False)
        raise AssertionError(error) from None


rubrics = st.one_of(work_rubrics(), skills_rubrics()).map(valid_rubric)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(rubrics)
def test_rubric_toml_reads_back_as_the_same_rubric(rubric: Rubric) -> None:
    text = rubric_toml(rubric)
    assert same_rubric(parse_rubric(text, "written.toml"), rubric)
    assert rubric_toml(parse_rubric(text)) == text  # deterministic: writing it again gives the same text


@PROPERTY
@given(rubrics)
def test_rubric_form_data_gives_back_the_same_rubric(rubric: Rubric) -> None:
    data = form_data_of(rubric)
    assert same_rubric(parse_rubric(form_toml(data), "form.toml"), rubric)


@PROPERTY
@given(rubrics)
def test_form_values_posted_by_a_browser_give_back_the_same_rubric(rubric: Rubric) -> None:
    """A browser sends a textarea's line breaks as CRLF; nothing else about the rubric changes."""
    posted = {name: value.replace("\n", "\r\n") for name, value in form_data_of(rubric).items()}
    assert same_rubric(parse_rubric(form_toml(posted)), rubric)


@pytest.mark.parametrize("path", sorted((ROOT / "rubrics").glob("*.toml")), ids=lambda p: p.name)
def test_shipped_rubric_survives_both_round_trips(path: Path) -> None:
    shipped = load_rubric(path)
    assert same_rubric(parse_rubric(rubric_toml(shipped)), shipped)
    assert same_rubric(parse_rubric(form_toml(form_data_of(shipped))), shipped)


def test_rubric_toml_has_the_sections_in_file_order() -> None:
    text = rubric_toml(load_rubric(ROOT / "rubrics" / "micro_video.toml"))
    headers = [line for line in text.splitlines() if line.startswith("[")]
    assert headers[:6] == [
        "[contest]",
        "[entry]",
        "[[entry.fields]]",
        "[[entry.fields]]",
        "[[entry.fields]]",
        "[[criteria]]",
    ]
    assert headers[-6:] == ["[assignment]", "[aggregation]", "[[awards]]", "[[awards]]", "[[awards]]", "[[awards]]"]
    assert "max = 40\nweight = 1\nstep = 0.5\n" in text


def test_form_values_keep_what_cannot_be_typed_for_the_validator() -> None:
    data = form_data_of(load_rubric(ROOT / "rubrics" / "micro_video.toml"))
    data["criteria[1].max"] = "forty"
    data["entry.quota_per_organization"] = "1.5"
    with pytest.raises(RubricError) as error:
        parse_rubric(form_toml(data), "form")
    assert error.value.errors == [
        "form: entry.quota_per_organization: must be an integer",
        "form: criteria[1].max: must be a number",
    ]


def test_row_operations_add_move_and_remove_rows() -> None:
    data = form_data_of(load_rubric(ROOT / "rubrics" / "micro_video.toml"))
    moved = edit_rows(data, "down:criteria[0]")
    assert [moved[f"criteria[{i}].key"] for i in range(3)] == ["form", "content", "influence"]
    added = edit_rows(data, "add:entry.fields")
    assert row_count(added, "entry.fields") == 4
    assert added["entry.fields[3].type"] == "text" and added["entry.fields[3].key"] == ""
    removed = edit_rows(data, "remove:criteria[1]")
    assert [c["key"] for c in settings_of(removed)["criteria"]] == ["content", "influence"]
    for nonsense in ("remove:criteria[9]", "up:criteria[0]", "add:contest", "drop:criteria[0]", "add:nothing"):
        assert edit_rows(data, nonsense) == data


def test_error_paths_find_their_form_field() -> None:
    data = form_data_of(load_rubric(ROOT / "rubrics" / "micro_video.toml"))
    assert field_of("criteria[2].max", data) == "criteria[2].max"
    assert field_of("entry.allowed_extensions[1]", data) == "entry.allowed_extensions"
    assert field_of("awards[0]", data) == "awards[0]"
    assert field_of("entry", data) == "entry"


def test_rubric_differences_ignore_how_a_number_is_written() -> None:
    shipped = load_rubric(ROOT / "rubrics" / "micro_video.toml")  # writes weight = 1.0
    assert rubric_differences(shipped, parse_rubric(rubric_toml(shipped))) == []  # which writes weight = 1


def test_form_reads_no_more_rows_than_its_limit() -> None:
    data = form_data_of(load_rubric(ROOT / "rubrics" / "micro_video.toml"))
    data["criteria[99999999].key"] = "flood"
    assert row_count(data, "criteria") == 3
    assert len(settings_of(data)["criteria"]) == 3
    for index in range(3, MAX_ROWS):
        data[f"criteria[{index}].key"] = f"c{index}"
    assert row_count(data, "criteria") == MAX_ROWS
    assert row_count(edit_rows(data, "add:criteria"), "criteria") == MAX_ROWS
