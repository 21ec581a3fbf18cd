"""Where an organisation may sit in the organisation tree, by its kind: pure, no database.

The rule, stated once:

- the organiser, a district and an industry authority sit at the top: they belong to no other
  organisation (a district is never under a unit, nor under another district);
- a grassroots unit always belongs to an organisation that holds units;
- a company may stand alone or belong to one that holds units (a group's subsidiary, a district's
  enterprise);
- the organisations that hold units are districts, industry authorities and companies: never a
  grassroots unit nor the organiser;
- no organisation is above itself: following parents never comes back to where it started.

Two-tier contests read the tree (the parent nominates its units' entries) and so do conflicts of interest
(:mod:`judging.conflicts`): the services refuse a move that would change either for entries in play.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable, Mapping
from typing import TypeVar


class OrganizationKind(enum.StrEnum):
    ORGANIZER = "organizer"
    DISTRICT = "district"
    INDUSTRY = "industry"
    COMPANY = "company"
    GRASSROOTS = "grassroots"


TOP_ONLY = frozenset({OrganizationKind.ORGANIZER, OrganizationKind.DISTRICT, OrganizationKind.INDUSTRY})
"""Kinds that belong to no other organisation."""
NEEDS_PARENT = frozenset({OrganizationKind.GRASSROOTS})
"""Kinds that always belong to another organisation."""
HOLDS_UNITS = frozenset({OrganizationKind.DISTRICT, OrganizationKind.INDUSTRY, OrganizationKind.COMPANY})
"""Kinds that other organisations may belong to."""


class Misplaced(enum.StrEnum):
    """Why an organisation of a kind cannot sit where it was put; the services word it for people."""

    TOP_ONLY = "top_only"
    NEEDS_PARENT = "needs_parent"
    PARENT_HOLDS_NO_UNITS = "parent_holds_no_units"


def placement_problem(kind: OrganizationKind, parent_kind: OrganizationKind | None) -> Misplaced | None:
    """Why an organisation of ``kind`` cannot belong to one of ``parent_kind`` (``None``: at the top),
    following the module's rule; ``None`` when it can."""
    if parent_kind is None:
        return Misplaced.NEEDS_PARENT if kind in NEEDS_PARENT else None
    if kind in TOP_ONLY:
        return Misplaced.TOP_ONLY
    if parent_kind not in HOLDS_UNITS:
        return Misplaced.PARENT_HOLDS_NO_UNITS
    return None


Node = TypeVar("Node", bound=Hashable)


def cycle_through(parents: Mapping[Node, Node | None], node: Node, new_parent: Node) -> list[Node] | None:
    """The chain ``new_parent → … → node`` when putting ``node`` under ``new_parent`` would make it its own
    ancestor (``[node]`` for ``node`` under itself); ``None`` when it would not. ``parents`` maps each node to
    its parent as the tree stands; a cycle already in it ends the walk instead of looping."""
    chain = [new_parent]
    seen = {new_parent}
    current: Node | None = new_parent
    while current is not None:
        if current == node:
            return chain
        current = parents.get(current)
        if current is None or current in seen:
            return None
        seen.add(current)
        chain.append(current)
    return None
