"""Organisations to and from a spreadsheet: the export every organiser can edit, the template, and the
import, validated row by row with a preview before anything is written (the pattern of
:mod:`judging.services.table_import`). The rules an imported row must keep are those of
:mod:`judging.services.organizations`: the same placement, circle, retirement and in-play checks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from judging.models import Organization, OrganizationKind, User, utcnow
from judging.organization_places import placement_problem
from judging.scoring.score_table import cell_text
from judging.services import audit
from judging.services.organizations import (
    ENGLISH_NAME_MAX,
    SHORT_NAME_MAX,
    RetirementCheck,
    listed_names,
    name_problem,
    organization_tree,
    other_name_problem,
    other_names_problem,
    place_problem,
    retirement_blockers,
    split_aliases,
    tree_blockers,
)
from judging.services.table_import import ImportRefused, find_columns, read_cells

IMPORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name", "名称", "单位名称"),
    "kind": ("kind", "类型"),
    "parent": ("belongs to", "parent", "上级单位"),
    "short_name": ("short name", "short_name", "简称"),
    "english_name": ("english name", "english_name", "英文名称", "英文名"),
    "aliases": ("other names", "aliases", "其他名称", "别名"),
    "retired": ("retired", "已停用"),
}
"""Each column of an organisations file by the headers it may have (the export writes the first English
one, or its Chinese one, in the user's language)."""
YES = frozenset({"是", "yes", "y", "true", "1", "已停用", "retired"})
NO = frozenset({"", "否", "no", "n", "false", "0"})


@dataclass(frozen=True)
class RowChange:
    """What importing one row does: ``action`` is ``create``, ``update`` or ``unchanged``; ``changes``
    are (field, before, after) as text."""

    row: int
    name: str
    action: str
    changes: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class OrganizationImport:
    rows: tuple[RowChange, ...]

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)


@dataclass
class _Planned:
    """An organisation as it would be after the import."""

    name: str
    kind: OrganizationKind
    parent: str | None
    short_name: str
    english_name: str
    aliases: tuple[str, ...]
    retired: bool
    existing: Organization | None
    row: int | None = None


def _planned_from(org: Organization) -> _Planned:
    return _Planned(
        org.name,
        org.kind,
        org.parent.name if org.parent else None,
        org.short_name or "",
        org.english_name or "",
        tuple(org.aliases or ()),
        org.retired,
        org,
    )


def _at(where: str, problem: str) -> str:
    """A problem of a file's cell: where (file, row, column), then what."""
    return _("%(where)s: %(problem)s", where=where, problem=problem)


def _shown(value: object) -> str:
    if isinstance(value, tuple):
        return "; ".join(value)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, OrganizationKind):
        return value.value
    return "" if value is None else str(value)


def preview_import(
    session: Session,
    path: Path,
    source: str,
    kind_words: Mapping[str, OrganizationKind],
    known_kinds: Sequence[str] = (),
) -> OrganizationImport:
    """Validate an organisations file and say what importing it would do; writes nothing (see
    :func:`_plan_import` for the rules; ``known_kinds`` name the kinds in refusals, in the user's language)."""
    return _plan_import(session, path, source, kind_words, known_kinds)[0]


def _plan_import(
    session: Session,
    path: Path,
    source: str,
    kind_words: Mapping[str, OrganizationKind],
    known_kinds: Sequence[str] = (),
) -> tuple[OrganizationImport, list[_Planned]]:
    """Validate an organisations file and say what importing it would do; writes nothing.

    One row per organisation, found by its exact name: a new name creates it, a known one is updated to
    what the row says. ``name`` and ``kind`` are required (a kind by its key or its label in either
    language, as ``kind_words`` gives them, lower case); ``belongs to`` names an organisation of the
    file or already there (empty: at the top); other names are separated by semicolons; ``retired`` is
    yes or no. A column the file leaves out keeps what is stored. Every row is placed by the tree's rule
    with the whole file applied (a unit may come before its district), moves and retirements are
    refused while something is in play (:func:`tree_blockers`, :func:`retirement_blockers`), and each
    problem names its row and column. Renaming is done on the organisation's page: a new name here is a
    new organisation.
    """
    cells, rows = read_cells(path)
    if cells.empty:
        raise ImportRefused([_("%(file)s: the table has no rows below its header.", file=source)])
    columns = find_columns(cells, IMPORT_COLUMNS, ("name", "kind"), source)
    existing = {org.name: org for org in session.scalars(select(Organization))}
    planned = {name: _planned_from(org) for name, org in existing.items()}
    problems: list[str] = []
    seen: dict[str, int] = {}
    in_file: list[_Planned] = []

    def where(row: int, key: str) -> str:
        return _("%(file)s, row %(row)d, column “%(column)s”", file=source, row=row, column=columns[key])

    for row_number, record in zip(rows, cells.itertuples(index=False, name=None), strict=True):
        values = dict(zip(cells.columns, record, strict=True))

        def value(key: str, values: dict = values) -> str | None:
            return cell_text(values[columns[key]]).strip() if key in columns else None

        if all(not cell_text(cell).strip() for cell in record):
            continue
        before = len(problems)
        name = value("name") or ""
        problem = name_problem(name)
        if problem:
            problems.append(_at(where(row_number, "name"), problem))
        elif name in seen:
            problems.append(
                _(
                    "%(where)s: %(name)s already appears in row %(first)d.",
                    where=where(row_number, "name"),
                    name=name,
                    first=seen[name],
                )
            )
        seen.setdefault(name, row_number)
        kind_text = value("kind") or ""
        kind = kind_words.get(kind_text.lower())
        if kind is None:
            problems.append(
                _(
                    "%(where)s: unknown kind “%(kind)s” (known: %(known)s).",
                    where=where(row_number, "kind"),
                    kind=kind_text,
                    known=_(", ").join(known_kinds or sorted({k.value for k in kind_words.values()})),
                )
            )
        current = planned.get(name)
        texts = {key: value(key) for key in ("short_name", "english_name")}
        aliases_text = value("aliases")
        aliases = split_aliases(aliases_text) if aliases_text is not None else None
        for key, limit in (("short_name", SHORT_NAME_MAX), ("english_name", ENGLISH_NAME_MAX)):
            text = texts[key]
            if text:
                problem = other_name_problem(text, limit)
                if problem:
                    problems.append(_at(where(row_number, key), problem))
        if aliases:
            problem = other_names_problem("", "", aliases)
            if problem:
                problems.append(_at(where(row_number, "aliases"), problem))
        retired_text = value("retired")
        retired = None
        if retired_text is not None:
            if retired_text.lower() in YES:
                retired = True
            elif retired_text.lower() in NO:
                retired = False
            else:
                problems.append(
                    _(
                        "%(where)s: “%(value)s” is neither yes nor no.",
                        where=where(row_number, "retired"),
                        value=retired_text,
                    )
                )
        if kind is not None and current is not None and current.existing is not None:
            if (kind is OrganizationKind.ORGANIZER) != (current.kind is OrganizationKind.ORGANIZER):
                problems.append(
                    _at(
                        where(row_number, "kind"),
                        _("The organiser's own organisation keeps its kind, and no other can take it."),
                    )
                )
        elif kind is OrganizationKind.ORGANIZER:
            problems.append(
                _at(
                    where(row_number, "kind"),
                    _("There is one organiser's organisation; a new organisation enters contests."),
                )
            )
        if len(problems) > before or kind is None:
            continue
        parent_text = value("parent")
        item = _Planned(
            name,
            kind,
            (parent_text or None) if parent_text is not None else (current.parent if current else None),
            texts["short_name"] if texts["short_name"] is not None else (current.short_name if current else ""),
            texts["english_name"] if texts["english_name"] is not None else (current.english_name if current else ""),
            aliases if aliases is not None else (current.aliases if current else ()),
            retired if retired is not None else (current.retired if current else False),
            current.existing if current else None,
            row_number,
        )
        planned[name] = item
        in_file.append(item)

    # The tree as it would stand, then each row's place in it.
    parents = {name: item.parent for name, item in planned.items()}
    holders: dict[str, list[str]] = {}
    for name, item in planned.items():
        if item.parent is not None:
            holders.setdefault(item.parent, []).append(name)
    for item in in_file:
        assert item.row is not None
        old = item.existing
        if item.parent is not None and item.parent not in planned:
            problems.append(
                _(
                    "%(where)s: there is no organisation named “%(parent)s”, in this file or already.",
                    where=where(item.row, "parent"),
                    parent=item.parent,
                )
            )
            continue
        parent = planned[item.parent] if item.parent is not None else None
        moved = old is None or (old.parent.name if old.parent else None) != item.parent
        if moved or old is None or old.kind is not item.kind:
            problem = place_problem(
                item.name,
                item.kind,
                (parent.name, parent.kind, parent.retired and not item.retired) if parent else None,
                parents,
            )
            if problem:
                column = "parent" if "parent" in columns else "kind"
                problems.append(_at(where(item.row, column), problem))
                continue
        units = holders.get(item.name, [])
        if units and placement_problem(OrganizationKind.GRASSROOTS, item.kind) is not None:
            problems.append(
                _at(
                    where(item.row, "kind"),
                    _(
                        "%(name)s has units under it (%(units)s): only a district, an industry authority or a company "
                        "holds units. Move them first.",
                        name=item.name,
                        units=listed_names(units),
                    ),
                )
            )
        if old is not None and moved:
            problems += [_at(where(item.row, "parent"), line) for line in tree_blockers(session, old)]
        if item.retired and (old is None or not old.retired):
            check = retirement_blockers(session, old) if old is not None else RetirementCheck()
            active_units = [unit for unit in units if not planned[unit].retired]
            check = RetirementCheck(active_units, check.entries, check.contestants, check.accounts, check.organiser)
            problems += [_at(where(item.row, "retired"), line) for line in check.problems(item.name, accounts_too=True)]
    if problems:
        raise ImportRefused(problems)

    changes: list[RowChange] = []
    for item in in_file:
        assert item.row is not None
        if item.existing is None:
            given = tuple(
                (key, "", _shown(getattr(item, key)))
                for key in ("kind", "parent", "short_name", "english_name", "aliases", "retired")
                if getattr(item, key) or key == "kind"
            )
            changes.append(RowChange(item.row, item.name, "create", given))
            continue
        was = _planned_from(item.existing)
        differences = tuple(
            (key, _shown(getattr(was, key)), _shown(getattr(item, key)))
            for key in ("kind", "parent", "short_name", "english_name", "aliases", "retired")
            if getattr(was, key) != getattr(item, key)
        )
        changes.append(RowChange(item.row, item.name, "update" if differences else "unchanged", differences))
    return OrganizationImport(tuple(changes)), in_file


def import_organizations(
    session: Session,
    actor: User,
    path: Path,
    source: str,
    kind_words: Mapping[str, OrganizationKind],
    known_kinds: Sequence[str] = (),
) -> OrganizationImport:
    """Write what :func:`preview_import` showed, in one transaction: the file is validated again (the
    data may have changed since the preview), all or nothing."""
    preview, planned = _plan_import(session, path, source, kind_words, known_kinds)
    if not preview.count("create") and not preview.count("update"):
        return preview
    by_name = {org.name: org for org in session.scalars(select(Organization))}
    for item in planned:
        if item.existing is None:
            org = Organization(name=item.name, kind=item.kind, aliases=[])
            session.add(org)
            by_name[item.name] = org
    now = utcnow()
    for item in planned:
        org = by_name[item.name]
        org.kind = item.kind
        org.parent = by_name[item.parent] if item.parent is not None else None
        org.short_name, org.english_name, org.aliases = item.short_name, item.english_name, list(item.aliases)
        if item.retired != org.retired:
            org.retired_at = now if item.retired else None
    session.flush()
    audit.record(
        session,
        actor,
        "organization.import",
        object_type="organization",
        data={
            "file": source,
            "created": preview.count("create"),
            "updated": preview.count("update"),
            "unchanged": preview.count("unchanged"),
            "rows": [
                {"name": change.name, "action": change.action, "changes": [list(c) for c in change.changes]}
                for change in preview.rows
                if change.action != "unchanged"
            ],
        },
    )
    return preview


def export_rows(
    session: Session, kind_label: Callable[[OrganizationKind], str]
) -> tuple[list[str], list[list[object]]]:
    """The header and rows of the organisations file, in tree order (each after the one it belongs to),
    in the user's language: a file :func:`preview_import` reads back as unchanged."""
    headers = [
        _("Name"),
        _("Kind"),
        _("Belongs to"),
        _("Short name"),
        _("English name"),
        _("Other names"),
        _("Retired"),
    ]
    rows: list[list[object]] = [
        [
            org.name,
            kind_label(org.kind),
            org.parent.name if org.parent else "",
            org.short_name or "",
            org.english_name or "",
            "; ".join(org.aliases or []),
            _("Yes") if org.retired else "",
        ]
        for org, _depth in organization_tree(session)
    ]
    return headers, rows
