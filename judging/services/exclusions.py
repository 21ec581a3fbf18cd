"""Who is kept from judging what: the organisations judges declare being related to, and every
excluded (judge, entry) pair of a contest with its reason (the rule is :mod:`judging.conflicts`).

The pairs are computed from the current tree, nominations, declarations and recusals each time they
are asked for (the assignment page shows them; each assignment run records them in the audit log).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager

from judging.conflicts import ConflictReason, OrganizationTree, conflict_reason
from judging.models import (
    Assignment,
    AssignmentStatus,
    Contest,
    Entry,
    JudgeRelation,
    Organization,
    Role,
    User,
)
from judging.rubric import Rubric
from judging.services import NotFound, ServiceError, audit

MAX_NOTE = 500


@dataclass(frozen=True)
class ExcludedPair:
    entry: Entry
    judge: User
    reason: ConflictReason
    detail: str = ""
    """The recusal's reason, or the declared organisations' names."""


def organization_tree(session: Session) -> OrganizationTree:
    return OrganizationTree(dict(session.execute(select(Organization.id, Organization.parent_id)).all()))


def declared_organizations(session: Session, judge_ids: Iterable[int]) -> dict[int, set[int]]:
    """Judge id → the organisations the judge declared being related to."""
    declared: dict[int, set[int]] = defaultdict(set)
    ids = list(judge_ids)
    if ids:
        rows = session.execute(
            select(JudgeRelation.judge_id, JudgeRelation.organization_id).where(JudgeRelation.judge_id.in_(ids))
        )
        for judge_id, organization_id in rows:
            declared[judge_id].add(organization_id)
    return declared


def tree_rule(rubric: Rubric) -> bool:
    """Whether the rubric asks for the tree's conflicts (``conflict = "same_organization"``)."""
    return rubric.assignment is not None and rubric.assignment.conflict == "same_organization"


def excluded_pairs(
    session: Session,
    contest: Contest,
    rubric: Rubric,
    judges: Sequence[User],
    entries: Sequence[Entry],
    recusals: Sequence[Assignment] | None = None,
) -> list[ExcludedPair]:
    """Every (judge, entry) pair of these judges and entries that must not be assigned, with its reason:
    the conflicts of :mod:`judging.conflicts`, then the judges' recusals (read here unless the caller
    already holds the contest's ``recusals``). By entry code, then judge."""
    tree = organization_tree(session)
    declared = declared_organizations(session, [judge.id for judge in judges])
    names = _names(session, {org for orgs in declared.values() for org in orgs})
    if recusals is None:
        recusals = session.scalars(
            select(Assignment)
            .join(Entry)
            .where(Entry.contest_id == contest.id, Assignment.status == AssignmentStatus.RECUSED)
        ).all()
    recused = {(a.entry_id, a.judge_id): a for a in recusals if a.status is AssignmentStatus.RECUSED}
    rule = tree_rule(rubric)
    pairs = []
    for entry in sorted(entries, key=lambda e: e.code):
        for judge in judges:
            reason = conflict_reason(
                tree,
                judge_organization=judge.organization_id,
                declared=declared.get(judge.id, ()),
                entry_organization=entry.organization_id,
                nominated_by=entry.nominated_by_id,
                tree_rule=rule,
            )
            if reason is ConflictReason.DECLARED:
                detail = "、".join(sorted(names[org] for org in declared[judge.id]))
                pairs.append(ExcludedPair(entry, judge, reason, detail))
            elif reason is not None:
                pairs.append(ExcludedPair(entry, judge, reason))
            elif (entry.id, judge.id) in recused:
                pairs.append(
                    ExcludedPair(entry, judge, ConflictReason.RECUSED, recused[(entry.id, judge.id)].recusal_reason)
                )
    return pairs


def conflict_of(session: Session, contest: Contest, rubric: Rubric, judge: User, entry: Entry) -> ConflictReason | None:
    """The tree's or a declared conflict between one judge and one entry (recusals aside), or None."""
    return conflict_reason(
        organization_tree(session),
        judge_organization=judge.organization_id,
        declared=declared_organizations(session, [judge.id]).get(judge.id, ()),
        entry_organization=entry.organization_id,
        nominated_by=entry.nominated_by_id,
        tree_rule=tree_rule(rubric),
    )


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(Organization.id, Organization.name).where(Organization.id.in_(ids))).all())


def relations_of(session: Session, judge: User) -> list[JudgeRelation]:
    return relations_by_judge(session, [judge]).get(judge.id, [])


def relations_by_judge(session: Session, judges: Sequence[User]) -> dict[int, list[JudgeRelation]]:
    """Judge id → the organisations the judge declared being related to, by name: one statement for a panel."""
    found: dict[int, list[JudgeRelation]] = {judge.id: [] for judge in judges}
    for relation in session.scalars(
        select(JudgeRelation)
        .join(Organization, JudgeRelation.organization_id == Organization.id)
        .where(JudgeRelation.judge_id.in_(list(found)))
        .options(contains_eager(JudgeRelation.organization))
        .order_by(Organization.name, JudgeRelation.id)
    ):
        found[relation.judge_id].append(relation)
    return found


def add_relation(session: Session, actor: User, judge: User, organization: Organization, note: str) -> JudgeRelation:
    """Record that a judge is related to an organisation (declared by the judge, or by an organiser on the
    judge's behalf); audited. Declaring the same organisation again changes nothing."""
    if judge.role is not Role.JUDGE:
        raise NotFound(_("No such judge."))
    if actor.id != judge.id and actor.role is not Role.ORGANIZER:
        raise NotFound(_("No such judge."))
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise ServiceError(_("The note may have at most %(n)d characters.", n=MAX_NOTE))
    existing = session.scalar(
        select(JudgeRelation).where(
            JudgeRelation.judge_id == judge.id, JudgeRelation.organization_id == organization.id
        )
    )
    if existing is not None:
        return existing
    relation = JudgeRelation(judge=judge, organization=organization, note=note, created_by_id=actor.id)
    session.add(relation)
    session.flush()
    audit.record(
        session,
        actor,
        "judge.relation_add",
        object_type="user",
        object_id=judge.id,
        data={"judge": judge.username, "organization": organization.name, "note": note},
    )
    return relation


def remove_relation(session: Session, actor: User, relation: JudgeRelation) -> None:
    """Withdraw a declared relation (the judge's own, or any for an organiser); audited. Assignments that
    were recused because of it stay recused: an organiser overrides them one by one, with a reason."""
    if actor.id != relation.judge_id and actor.role is not Role.ORGANIZER:
        raise NotFound(_("No such relation."))
    audit.record(
        session,
        actor,
        "judge.relation_remove",
        object_type="user",
        object_id=relation.judge_id,
        data={"judge": relation.judge.username, "organization": relation.organization.name, "note": relation.note},
    )
    session.delete(relation)
    session.flush()


def get_relation(session: Session, relation_id: int) -> JudgeRelation:
    relation = session.get(JudgeRelation, relation_id)
    if relation is None:
        raise NotFound(_("No such relation."))
    return relation
