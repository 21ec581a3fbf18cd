"""The contest builder's form: every setting of a rubric as one named form value, and back.

The layout is read from the rubric's own models (:class:`judging.rubric.Rubric` and its parts), so the
builder offers exactly the keys the validator accepts, with the choices it allows, and follows the
rubric when a key is added. Each value is named by its key path, the way rubric errors name it
(``contest.title``, ``criteria[2].max``, ``entry.fields[0].type``), so an error lands next to its
field. An optional section (``[entry]``, ``[nomination]``…) has a switch named by its path; a list
of plain values (extensions, declarations, tie-breaks) is one text with a value per line.

Form data → settings converts what it can (``"40"`` → 40, ``"0.5"`` → 0.5, a ticked box → true) and
leaves the rest as typed, so that the validator (:func:`judging.rubric.parse_rubric`, via
:func:`judging.rubric_document.rubric_toml`'s TOML) names the problem. Pure: no Flask, no database.
"""

from __future__ import annotations

import re
import types
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import tomlkit
from pydantic import BaseModel

from judging.rubric import Rubric, format_points
from judging.rubric_document import rubric_settings

PRESENT = "on"
"""The value of a ticked box: a section switch or a true setting."""
LONG_TEXTS = frozenset({"description", "guide"})
MAX_ROWS = 200
"""Rows of one list the form reads at most: a posted ``criteria[999999].key`` must not make a million rows."""


@dataclass(frozen=True)
class Setting:
    """One key of a table: ``kind`` is text, long_text, int, number, bool, choice, lines or whole_or_all."""

    name: str
    kind: str
    required: bool
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Section:
    """A table of the rubric (``many``: an array of tables, one row each) with its settings and the
    sections inside it (only ``entry.fields`` today)."""

    name: str
    model: type[BaseModel]
    required: bool
    many: bool
    settings: tuple[Setting, ...]
    sections: tuple[Section, ...]


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """The type inside ``X | None`` and ``Annotated[X, ...]``, and whether None was allowed."""
    optional = False
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            optional = optional or len(args) < len(get_args(annotation))
            annotation = args[0]
        else:
            return annotation, optional


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _section(name: str, model: type[BaseModel], required: bool, many: bool) -> Section:
    settings: list[Setting] = []
    sections: list[Section] = []
    for key, info in model.model_fields.items():
        annotation, optional = _unwrap(info.annotation)
        required_key = info.is_required()
        if get_origin(annotation) is tuple:
            item, _ = _unwrap(get_args(annotation)[0])
            if _is_model(item):
                sections.append(_section(key, item, False, True))
                continue
            choices = tuple(get_args(item)) if get_origin(item) is Literal else ()
            settings.append(Setting(key, "lines", required_key, choices))
        elif _is_model(annotation):
            sections.append(_section(key, annotation, required_key and not optional, False))
        elif get_origin(annotation) is Literal:
            settings.append(Setting(key, "choice", required_key, tuple(get_args(annotation))))
        elif annotation is bool:
            settings.append(Setting(key, "bool", required_key))
        elif annotation is int:
            settings.append(Setting(key, "int", required_key))
        elif annotation is Decimal:
            settings.append(Setting(key, "number", required_key))
        elif annotation is str:
            settings.append(Setting(key, "long_text" if key in LONG_TEXTS else "text", required_key))
        else:  # judges_per_entry: "all" or a whole number
            settings.append(Setting(key, "whole_or_all", required_key))
    return Section(name, model, required, many, tuple(settings), tuple(sections))


RUBRIC_SECTIONS: tuple[Section, ...] = _section("", Rubric, True, False).sections
"""The rubric's sections in file order, as the builder shows them."""


def section_named(path: str) -> Section:
    """The section of a path without indices, e.g. ``criteria`` or ``entry.fields``."""
    sections = RUBRIC_SECTIONS
    found: Section | None = None
    for name in path.split("."):
        found = next(s for s in sections if s.name == name)
        sections = found.sections
    assert found is not None
    return found


# --- rubric → form data --------------------------------------------------------------------------


def form_data_of(rubric: Rubric) -> dict[str, str]:
    """Every setting of ``rubric`` as the builder's form values, named by key path."""
    data: dict[str, str] = {}
    settings = rubric_settings(rubric)
    for section in RUBRIC_SECTIONS:
        _section_to_form(section, settings.get(section.name), section.name, data)
    return data


def _section_to_form(section: Section, value: Any, path: str, data: dict[str, str]) -> None:
    if section.many:
        for index, row in enumerate(value or []):
            _table_to_form(section, row, f"{path}[{index}]", data)
    elif value is not None:
        if not section.required:
            data[path] = PRESENT
        _table_to_form(section, value, path, data)


def _table_to_form(section: Section, table: dict[str, Any], path: str, data: dict[str, str]) -> None:
    for setting in section.settings:
        key = f"{path}.{setting.name}"
        value = table.get(setting.name)
        if setting.kind == "bool":
            if value:
                data[key] = PRESENT
        elif value is None:
            data[key] = ""
        elif setting.kind == "lines":
            data[key] = "\n".join(value)
        elif setting.kind == "number":
            data[key] = format_points(Decimal(str(value)))
        else:
            data[key] = str(value)
    for inner in section.sections:
        _section_to_form(inner, table.get(inner.name), f"{path}.{inner.name}", data)


# --- form data → settings ------------------------------------------------------------------------


def row_count(data: Mapping[str, str], path: str) -> int:
    """How many rows of the array of tables at ``path`` the form holds (one past the highest index)."""
    prefix = re.escape(path) + r"\[(\d+)\]\."
    indices = [int(m.group(1)) for key in data if (m := re.match(prefix, key)) and int(m.group(1)) < MAX_ROWS]
    return max(indices) + 1 if indices else 0


def settings_of(data: Mapping[str, str]) -> dict[str, Any]:
    """The rubric settings the form values describe, typed where the text allows (see the module)."""
    settings: dict[str, Any] = {}
    for section in RUBRIC_SECTIONS:
        value = _section_from_form(section, data, section.name)
        if value is not None:
            settings[section.name] = value
    return settings


def _section_from_form(section: Section, data: Mapping[str, str], path: str) -> Any:
    if section.many:
        rows = [_table_from_form(section, data, f"{path}[{i}]") for i in range(row_count(data, path))]
        return rows or None
    if not section.required and data.get(path) != PRESENT:
        return None
    return _table_from_form(section, data, path)


def _table_from_form(section: Section, data: Mapping[str, str], path: str) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for setting in section.settings:
        key = f"{path}.{setting.name}"
        if setting.kind == "bool":
            table[setting.name] = data.get(key) == PRESENT
            continue
        text = (data.get(key) or "").replace("\r\n", "\n")
        if text == "":
            continue
        table[setting.name] = _typed(setting, text)
    for inner in section.sections:
        value = _section_from_form(inner, data, f"{path}.{inner.name}")
        if value is not None:
            table[inner.name] = value
    return table


def _typed(setting: Setting, text: str) -> Any:
    if setting.kind == "lines":
        return [line for line in text.split("\n") if line.strip()]
    if setting.kind in ("int", "whole_or_all"):
        if re.fullmatch(r"\s*[+-]?\d{1,15}\s*", text):
            return int(text)
        return text
    if setting.kind == "number":
        try:
            number = Decimal(text.strip())
        except InvalidOperation:
            return text
        if not number.is_finite() or abs(number) >= Decimal(10) ** 15:
            return text
        return int(number) if number == number.to_integral_value() else float(number)
    return text


def form_toml(data: Mapping[str, str]) -> str:
    """The TOML text of the form's settings, for the validator and for saving."""
    document = tomlkit.document()
    for name, value in settings_of(data).items():
        document.append(name, _toml_value(value))
    return tomlkit.dumps(document)


def _toml_value(value: Any) -> Any:
    if isinstance(value, dict):
        table = tomlkit.table()
        for name, inner in value.items():
            table.append(name, _toml_value(inner))
        return table
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        rows = tomlkit.aot()
        for row in value:
            rows.append(_toml_value(row))
        return rows
    if isinstance(value, str):
        return tomlkit.string(value, multiline="\n" in value and "\r" not in value)
    return value


# --- editing rows --------------------------------------------------------------------------------


def _rows(data: Mapping[str, str], path: str) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = [{} for _ in range(row_count(data, path))]
    prefix = re.compile(re.escape(path) + r"\[(\d+)\]\.(.*)", re.DOTALL)
    for key, value in data.items():
        if (match := prefix.fullmatch(key)) and int(match.group(1)) < len(rows):
            rows[int(match.group(1))][match.group(2)] = value
    return rows


def _with_rows(data: Mapping[str, str], path: str, rows: list[dict[str, str]]) -> dict[str, str]:
    prefix = re.compile(re.escape(path) + r"\[\d+\]\.")
    kept = {key: value for key, value in data.items() if not prefix.match(key)}
    for index, row in enumerate(rows):
        for name, value in row.items():
            kept[f"{path}[{index}].{name}"] = value
    return kept


def _blank_row(section: Section) -> dict[str, str]:
    row = {s.name: "" for s in section.settings if s.kind != "bool"}
    for setting in section.settings:
        if setting.kind == "choice" and setting.required and setting.choices:
            row[setting.name] = setting.choices[0]
    return row


def edit_rows(data: Mapping[str, str], operation: str) -> dict[str, str]:
    """Apply a row operation of the builder's buttons: ``add:criteria``, ``remove:criteria[2]``,
    ``up:criteria[2]``, ``down:entry.fields[0]``. An unknown or out-of-range operation changes nothing."""
    match = re.fullmatch(r"(add|remove|up|down):([a-z_.]+?)(?:\[(\d+)\])?", operation)
    if not match:
        return dict(data)
    verb, path, index_text = match.groups()
    try:
        section = section_named(path)
    except StopIteration:
        return dict(data)
    if not section.many:
        return dict(data)
    rows = _rows(data, path)
    if verb == "add" and len(rows) < MAX_ROWS:
        rows.append(_blank_row(section))
        return _with_rows(data, path, rows)
    if index_text is None or int(index_text) >= len(rows):
        return dict(data)
    index = int(index_text)
    if verb == "remove":
        del rows[index]
    elif verb == "up" and index > 0:
        rows[index - 1], rows[index] = rows[index], rows[index - 1]
    elif verb == "down" and index + 1 < len(rows):
        rows[index + 1], rows[index] = rows[index], rows[index + 1]
    return _with_rows(data, path, rows)


def field_of(error_path: str, data: Mapping[str, str]) -> str:
    """The form value an error's key path belongs to: the path itself, or its nearest enclosing value
    (``entry.allowed_extensions[1]`` → ``entry.allowed_extensions``; ``awards[0]`` stays a row)."""
    path = error_path
    while path:
        if path in data or (path.endswith("]") and any(key.startswith(path + ".") for key in data)):
            return path
        shorter = re.sub(r"(\.[^.\[\]]+|\[\d+\])$", "", path)
        if shorter == path:
            break
        path = shorter
    return error_path
