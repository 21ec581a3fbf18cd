"""A rubric written back as TOML text: what the contest builder saves and what its download gives.

The text is deterministic and readable: sections in the order of DESIGN.md §3 (the order of
:class:`judging.rubric.Rubric`'s fields: contest, entry with its fields, nomination, categories,
criteria, checks, assignment, aggregation, awards, then the skills sections), keys in the order of
their model, and only what is set: an absent optional key, an empty list or an empty text is left out,
so the rubric's defaults apply. Numbers are written as people write them (``40``, ``0.5``), and reading
the text back with :func:`judging.rubric.parse_rubric` gives a rubric equal to the one written
(:func:`same_rubric`). Pure: no Flask, no database.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import tomlkit
from pydantic import BaseModel
from tomlkit.items import Item

from judging.rubric import Rubric


def rubric_settings(rubric: Rubric) -> dict[str, Any]:
    """The rubric's settings as plain data, in file order, with unset and empty values left out."""
    return _settings(rubric)


def _settings(model: BaseModel) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for name, field in type(model).model_fields.items():
        raw = getattr(model, name)
        if isinstance(raw, BaseModel) and not field.is_required():
            if raw == field.get_default(call_default_factory=True):
                continue  # a table left at its defaults (``[feedback]`` showing nothing) is not written
        value = _plain(raw)
        if value is None or value == "" or value == []:
            continue
        settings[name] = value
    return settings


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return _settings(value)
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, Decimal):
        # Integral values as integers (``max = 40``); others as the shortest float that reads back the
        # same decimal (tomllib's float → str → Decimal gives exactly the digits written).
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _string(value: str) -> Item:
    # A text with line breaks reads best as a multi-line string; a carriage return would be folded
    # away by TOML's line-ending rules, so such a text stays on one line with escapes.
    return tomlkit.string(value, multiline="\n" in value and "\r" not in value)


def _item(value: Any) -> Any:
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        array = tomlkit.array()
        array.extend(_string(v) for v in value)
        if sum(len(v) for v in value) > 60:
            array.multiline(True)
        return array
    return value


def _table(settings: dict[str, Any]) -> Any:
    table = tomlkit.table()
    for name, value in settings.items():
        if isinstance(value, dict):
            table.append(name, _table(value))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            rows = tomlkit.aot()
            for row in value:
                rows.append(_table(row))
            table.append(name, rows)
        else:
            table.append(name, _item(value))
    return table


def rubric_toml(rubric: Rubric) -> str:
    """The rubric as TOML text (see the module docstring); ``parse_rubric`` reads it back unchanged."""
    document = tomlkit.document()
    for name, value in rubric_settings(rubric).items():
        if isinstance(value, dict):
            document.append(name, _table(value))
        else:  # an array of tables: [[criteria]] and the like
            rows = tomlkit.aot()
            for row in value:
                rows.append(_table(row))
            document.append(name, rows)
    return tomlkit.dumps(document)


def same_rubric(first: Rubric, second: Rubric) -> bool:
    """Whether two rubrics hold the same settings in the same order (comments, layout and how a number is
    written do not count: ``1.0`` is ``1``); a reordering of criteria does count, as it is what judges see."""
    return first.model_dump() == second.model_dump()
