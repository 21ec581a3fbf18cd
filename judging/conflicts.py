"""Conflicts of interest through the organisation tree: pure, no database.

The rule, stated once (``conflict = "same_organization"`` in a rubric's ``[assignment]``): a judge is
never assigned an entry when

1. the entry is of the judge's own organisation;
2. the entry's organisation is above the judge's (an ancestor: the district of the judge's unit);
3. the entry's organisation is under the judge's (a descendant: a unit of the judge's district);
4. the entry was nominated by the judge's organisation, or by one above or under it;
5. the judge declared being related to the entry's organisation or to its nominator, or to an
   organisation above or under either of them (whatever the rubric's ``conflict`` says: a declaration
   is the judge's own).

The first that applies is the reason given. An organisation's place in the tree is its chain of
parents; a cycle in that chain (which the services never create) ends the walk instead of looping.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


class ConflictReason(enum.StrEnum):
    """Why a judge is kept from an entry; the labels shown to people are translated in the web layer."""

    SAME_ORGANIZATION = "same_organization"
    ENTRANT_ABOVE = "entrant_above"
    ENTRANT_BELOW = "entrant_below"
    NOMINATED = "nominated"
    DECLARED = "declared"
    RECUSED = "recused"
    """Not a rule of the tree: the judge declared a conflict with this one entry (回避)."""


@dataclass(frozen=True)
class OrganizationTree:
    """Organisations as ``id → parent id`` (None at the top)."""

    parents: Mapping[int, int | None]

    def ancestors(self, organization: int) -> list[int]:
        """The organisations above ``organization``, nearest first."""
        chain: list[int] = []
        seen = {organization}
        parent = self.parents.get(organization)
        while parent is not None and parent not in seen:
            chain.append(parent)
            seen.add(parent)
            parent = self.parents.get(parent)
        return chain

    def related(self, a: int, b: int) -> bool:
        """Whether ``a`` and ``b`` are the same organisation or one is above the other."""
        return a == b or a in self.ancestors(b) or b in self.ancestors(a)


def conflict_reason(
    tree: OrganizationTree,
    *,
    judge_organization: int | None,
    declared: Iterable[int],
    entry_organization: int,
    nominated_by: int | None,
    tree_rule: bool,
) -> ConflictReason | None:
    """Why the judge must not score the entry, following the module's rule; None when nothing applies.

    ``tree_rule`` is whether the rubric asks for the tree's conflicts (rules 1–4); declared relations
    (rule 5) always apply.
    """
    if tree_rule and judge_organization is not None:
        if judge_organization == entry_organization:
            return ConflictReason.SAME_ORGANIZATION
        if entry_organization in tree.ancestors(judge_organization):
            return ConflictReason.ENTRANT_ABOVE
        if judge_organization in tree.ancestors(entry_organization):
            return ConflictReason.ENTRANT_BELOW
        if nominated_by is not None and tree.related(judge_organization, nominated_by):
            return ConflictReason.NOMINATED
    sides = [entry_organization] if nominated_by is None else [entry_organization, nominated_by]
    if any(tree.related(organization, side) for organization in declared for side in sides):
        return ConflictReason.DECLARED
    return None
