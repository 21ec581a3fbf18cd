"""Organisations: the districts, authorities, companies and grassroots units that enter contests.

Organisers add, edit, move, retire and import them. Where an organisation may sit follows its kind
(:mod:`judging.organization_places`); the tree is read by two-tier contests (the parent nominates its
units' entries) and by conflicts of interest (:mod:`judging.conflicts`), so a move that would change
either for entries in play is refused (:func:`tree_blockers`). A retired organisation keeps its
history (entries, results, certificates, its name in them) but takes no new account, entry or
contestant and is offered in no picker; retiring is refused while it still has something in play
(:func:`retirement_blockers`). Every change is audited. The spreadsheet import and export keep the
same rules: :mod:`judging.services.organization_import`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from judging.models import (
    Assignment,
    AssignmentStatus,
    Contest,
    Contestant,
    Entry,
    EntryStatus,
    Organization,
    OrganizationKind,
    Role,
    User,
    utcnow,
)
from judging.names_in_text import MIN_NAME_LENGTH, normalise
from judging.organization_places import Misplaced, cycle_through, placement_problem
from judging.services import NotFound, ServiceError, accounts, audit
from judging.services.contests import current_rubric
from judging.workflow import JUDGED_BY_TREE, SETTLED

NAME_MAX = 200
SHORT_NAME_MAX = 100
ENGLISH_NAME_MAX = 200
ALIAS_MAX = 100
MAX_ALIASES = 20
MAX_LISTED = 5
"""A refusal names at most this many entries, units or accounts, then says how many more."""
ALIAS_SEPARATORS = re.compile(r"[;；\n\r]+")


class Refused(ServiceError):
    """A change refused for several reasons at once; ``problems`` lists each, one line each."""

    def __init__(self, problems: list[str]):
        super().__init__(problems[0])
        self.problems = problems


# --- the seed file -----------------------------------------------------------------------------------


def read_organization_file(path: str | Path) -> list[dict[str, Any]]:
    """Read ``[[organizations]]`` rows (name, kind, optional parent, aliases, short_name, english_name)
    from a TOML file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ServiceError(f"{path}: {exc}") from None
    rows = data.get("organizations", [])
    kinds = {kind.value for kind in OrganizationKind}
    for index, row in enumerate(rows):
        unknown = set(row) - {"name", "kind", "parent", "aliases", "short_name", "english_name"}
        if unknown:
            raise ServiceError(f"{path}: organizations[{index}]: unknown key {sorted(unknown)[0]!r}")
        if not isinstance(row.get("name"), str) or not row["name"].strip():
            raise ServiceError(f"{path}: organizations[{index}].name: required")
        if row.get("kind") not in kinds:
            raise ServiceError(f"{path}: organizations[{index}].kind: must be one of {', '.join(sorted(kinds))}")
        aliases = row.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
            raise ServiceError(f"{path}: organizations[{index}].aliases: must be a list of names")
        for key in ("short_name", "english_name"):
            if key in row and not isinstance(row[key], str):
                raise ServiceError(f"{path}: organizations[{index}].{key}: must be text")
    return rows


def seed_organizations(session: Session, rows: list[dict[str, Any]]) -> int:
    """Create the organisations that do not exist yet (by name); return how many were added.

    The aliases (and short and English names) a row declares replace those of an existing organisation of
    that name, so that a name added to the file is masked from blind judges after the next ``flask init``.
    """
    existing = {org.name: org for org in session.scalars(select(Organization))}
    added = 0
    for row in rows:
        aliases = [alias.strip() for alias in row.get("aliases", [])]
        if row["name"] in existing:
            org = existing[row["name"]]
            before = _names_record(org)
            if "aliases" in row:
                org.aliases = aliases
            for key in ("short_name", "english_name"):
                if key in row:
                    setattr(org, key, row[key].strip())
            if _names_record(org) != before:
                audit.record(
                    session,
                    None,
                    "organization.aliases",
                    object_type="organization",
                    object_id=org.id,
                    data={"name": org.name, "before": before, "after": _names_record(org)},
                )
            continue
        parent = existing.get(row["parent"]) if row.get("parent") else None
        if row.get("parent") and parent is None:
            raise ServiceError(f"organizations: {row['name']}: unknown parent {row['parent']!r}")
        org = Organization(
            name=row["name"],
            kind=OrganizationKind(row["kind"]),
            parent=parent,
            aliases=aliases,
            short_name=row.get("short_name", "").strip(),
            english_name=row.get("english_name", "").strip(),
        )
        session.add(org)
        existing[org.name] = org
        added += 1
    session.flush()
    if added:
        audit.record(session, None, "organization.seed", data={"added": added})
    return added


def _names_record(org: Organization) -> dict[str, Any]:
    return {
        "short_name": org.short_name or "",
        "english_name": org.english_name or "",
        "aliases": list(org.aliases or []),
    }


# --- names -------------------------------------------------------------------------------------------


def split_aliases(text: str) -> tuple[str, ...]:
    """Other names typed one per line or separated by semicolons (``;`` or ``；``), each once."""
    return tuple(dict.fromkeys(part.strip() for part in ALIAS_SEPARATORS.split(text or "") if part.strip()))


def name_problem(name: str) -> str | None:
    """Why an organisation cannot have this (stripped) name, apart from its being taken."""
    if not name:
        return _("Please enter the organisation's name.")
    if len(name) > NAME_MAX:
        return _("The name has more than %(n)d characters.", n=NAME_MAX)
    return None


def other_name_problem(text: str, limit: int) -> str | None:
    if len(text) > limit:
        return _("“%(name)s” has more than %(n)d characters.", name=text[:20] + "…", n=limit)
    if len(normalise(text)) < MIN_NAME_LENGTH:
        # Masking ignores names this short (they would hide ordinary words): say so rather than pretend.
        return _(
            "“%(name)s” is too short to be masked from blind judges: a name needs at least %(n)d characters.",
            name=text,
            n=MIN_NAME_LENGTH,
        )
    return None


def other_names_problem(short_name: str, english_name: str, aliases: Iterable[str]) -> str | None:
    """Why these short name, English name and other names cannot be kept (too long, too short to mask,
    too many), or None."""
    aliases = list(aliases)
    if len(aliases) > MAX_ALIASES:
        return _("At most %(n)d other names.", n=MAX_ALIASES)
    checks = [(short_name, SHORT_NAME_MAX), (english_name, ENGLISH_NAME_MAX)] + [(a, ALIAS_MAX) for a in aliases]
    for text, limit in checks:
        if text:
            problem = other_name_problem(text, limit)
            if problem:
                return problem
    return None


def _name_taken(session: Session, name: str, other_than: Organization | None = None) -> bool:
    query = select(Organization.id).where(Organization.name == name)
    if other_than is not None:
        query = query.where(Organization.id != other_than.id)
    return session.scalar(query) is not None


# --- the tree ----------------------------------------------------------------------------------------


def misplaced_message(problem: Misplaced) -> str:
    """A placement problem of :mod:`judging.organization_places` in the user's language."""
    return {
        Misplaced.TOP_ONLY: _(
            "The organiser, a district or an industry authority sits at the top of the tree and belongs to no "
            "other organisation."
        ),
        Misplaced.NEEDS_PARENT: _("A grassroots unit must belong to a district, authority or company."),
        Misplaced.PARENT_HOLDS_NO_UNITS: _("A unit can only sit under a district, an industry authority or a company."),
    }[problem]


def _cycle_message(name: str, parent: str, chain: list[str]) -> str:
    if len(chain) == 1:
        return _("%(name)s cannot belong to itself.", name=name)
    return _(
        "%(name)s cannot move under %(parent)s: %(parent)s is itself under %(name)s (%(chain)s), so the tree "
        "would go round in a circle.",
        name=name,
        parent=parent,
        chain=" → ".join(reversed(chain)),
    )


def listed_names(items: list[str]) -> str:
    shown = _(", ").join(items[:MAX_LISTED])  # "、" in Chinese
    if len(items) > MAX_LISTED:
        shown += _(" and %(n)d more", n=len(items) - MAX_LISTED)
    return shown


def subtree_ids(session: Session, org: Organization) -> set[int]:
    """The organisation and every organisation below it."""
    children: dict[int | None, list[int]] = {}
    for org_id, parent_id in session.execute(select(Organization.id, Organization.parent_id)):
        children.setdefault(parent_id, []).append(org_id)
    found = {org.id}
    todo = [org.id]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _entry_label(entry: Entry) -> str:
    return f"{entry.code}（{entry.contest.title}）"


def tree_blockers(session: Session, org: Organization) -> list[str]:
    """Why ``org`` (with everything below it) cannot change its place in the tree now, one line per reason;
    empty when it can.

    - an entry of it (or nominated by it) that is submitted or nominated in a contest with a nomination
      round that is not settled: it waits for, or holds, a nomination by the organisation above it, which
      would change (the nominated one would keep a nomination its new parent did not make);
    - such an entry in a contest being judged or on public notice: its judges were assigned, and the
      conflicts of interest drawn, by the tree as it stands;
    - a judge affiliated with it who has assignments in a contest being judged (same reason).

    Drafts move with their organisation: once submitted, the new parent nominates them.
    """
    ids = subtree_ids(session, org)
    waiting: list[str] = []
    judged: list[str] = []
    for entry in session.scalars(
        select(Entry)
        .join(Contest, Entry.contest_id == Contest.id)
        .where(
            or_(Entry.organization_id.in_(ids), Entry.nominated_by_id.in_(ids)),
            Entry.status.in_([EntryStatus.SUBMITTED, EntryStatus.NOMINATED]),
            Contest.phase.not_in(SETTLED),
        )
        .order_by(Entry.contest_id, Entry.code)
    ):
        if entry.contest.phase in JUDGED_BY_TREE:
            judged.append(_entry_label(entry))
        elif current_rubric(entry.contest).nomination is not None:
            waiting.append(_entry_label(entry))
    problems = []
    if waiting:
        problems.append(
            _(
                "%(name)s cannot move now: %(entries)s wait for or hold a nomination by the organisation above. "
                "Withdraw the nominations or the entries first, or move it once the results are published.",
                name=org.name,
                entries=listed_names(waiting),
            )
        )
    if judged:
        problems.append(
            _(
                "%(name)s cannot move now: %(entries)s are being judged, and their judges were assigned by the "
                "tree as it stands (conflicts of interest follow it). Move it once the results are published.",
                name=org.name,
                entries=listed_names(judged),
            )
        )
    judges = session.scalars(
        select(User.display_name)
        .join(Assignment, Assignment.judge_id == User.id)
        .join(Entry, Assignment.entry_id == Entry.id)
        .join(Contest, Entry.contest_id == Contest.id)
        .where(
            User.role == Role.JUDGE,
            User.organization_id.in_(ids),
            Assignment.status == AssignmentStatus.ASSIGNED,
            Contest.phase.in_(JUDGED_BY_TREE),
        )
        .distinct()
    ).all()
    if judges:
        problems.append(
            _(
                "%(name)s cannot move now: its judges %(judges)s were assigned entries by the tree as it stands "
                "(conflicts of interest follow it). Move it once the results are published.",
                name=org.name,
                judges=listed_names(sorted(judges)),
            )
        )
    return problems


def place_problem(
    name: str,
    kind: OrganizationKind,
    parent: tuple[str, OrganizationKind, bool] | None,
    parents: Mapping[str, str | None],
) -> str | None:
    """Why ``name`` of ``kind`` cannot sit under ``parent`` (its name, kind and whether it is retired;
    ``None``: at the top), with ``parents`` the tree as it would stand (name → parent's name)."""
    misplaced = placement_problem(kind, parent[1] if parent else None)
    if misplaced is not None:
        return misplaced_message(misplaced)
    if parent is None:
        return None
    parent_name, _kind, parent_retired = parent
    if parent_retired:
        return _("%(parent)s is retired: no organisation can be put under it.", parent=parent_name)
    chain = cycle_through(parents, name, parent_name)
    if chain is not None:
        return _cycle_message(name, parent_name, chain)
    return None


def _parents_by_name(session: Session) -> dict[str, str | None]:
    names = dict(session.execute(select(Organization.id, Organization.name)).all())
    return {
        names[org_id]: names.get(parent_id) if parent_id is not None else None
        for org_id, parent_id in session.execute(select(Organization.id, Organization.parent_id))
    }


def _place_of(org: Organization | None) -> tuple[str, OrganizationKind, bool] | None:
    return (org.name, org.kind, org.retired) if org is not None else None


def create_organization(
    session: Session,
    actor: User | None,
    *,
    name: str,
    kind: OrganizationKind,
    parent: Organization | None,
    short_name: str = "",
    english_name: str = "",
    aliases: Iterable[str] = (),
) -> Organization:
    """Add an organisation, placed by the rule of :mod:`judging.organization_places`."""
    name = name.strip()
    problem = name_problem(name)
    if problem:
        raise ServiceError(problem)
    if _name_taken(session, name):
        raise ServiceError(_("An organisation named %(name)s already exists.", name=name))
    if kind is OrganizationKind.ORGANIZER and session.scalar(
        select(Organization.id).where(Organization.kind == OrganizationKind.ORGANIZER).limit(1)
    ):  # the first one is made at setup when the organisations file has none
        raise ServiceError(_("There is one organiser's organisation; a new organisation enters contests."))
    problem = place_problem(name, kind, _place_of(parent), {}) or other_names_problem(
        short_name.strip(), english_name.strip(), aliases
    )
    if problem:
        raise ServiceError(problem)
    org = Organization(
        name=name,
        kind=kind,
        parent=parent,
        short_name=short_name.strip(),
        english_name=english_name.strip(),
        aliases=list(aliases),
    )
    session.add(org)
    session.flush()
    audit.record(
        session,
        actor,
        "organization.create",
        object_type="organization",
        object_id=org.id,
        data={"name": name, "kind": kind.value, "parent": parent.name if parent else None},
    )
    return org


def edit_organization(
    session: Session,
    actor: User,
    org: Organization,
    *,
    name: str,
    kind: OrganizationKind,
    short_name: str,
    english_name: str,
    aliases: Iterable[str],
) -> list[str]:
    """Change an organisation's names and kind; returns the fields changed (none: nothing written).

    The name stays unique; the organiser's own organisation keeps its kind and no other takes it; a new
    kind must fit the organisation's place (a district belongs to no one) and its units (a grassroots
    unit holds none). Results already frozen keep the name they were frozen with.
    """
    name, short_name, english_name = name.strip(), short_name.strip(), english_name.strip()
    aliases = list(dict.fromkeys(a.strip() for a in aliases if a.strip()))
    problem = name_problem(name) or other_names_problem(short_name, english_name, aliases)
    if problem:
        raise ServiceError(problem)
    if name != org.name and _name_taken(session, name, other_than=org):
        raise ServiceError(_("An organisation named %(name)s already exists.", name=name))
    if (kind is OrganizationKind.ORGANIZER) != (org.kind is OrganizationKind.ORGANIZER):
        raise ServiceError(_("The organiser's own organisation keeps its kind, and no other can take it."))
    if kind is not org.kind:
        problem = place_problem(org.name, kind, _place_of(org.parent), {})
        if problem:
            raise ServiceError(problem)
        units = [child.name for child in org.children]
        if units and placement_problem(OrganizationKind.GRASSROOTS, kind) is not None:
            raise ServiceError(
                _(
                    "%(name)s has units under it (%(units)s): only a district, an industry authority or a company "
                    "holds units. Move them first.",
                    name=org.name,
                    units=listed_names(units),
                )
            )
    before = _record(org)
    org.name, org.kind, org.short_name, org.english_name = name, kind, short_name, english_name
    org.aliases = aliases
    after = _record(org)
    changed = [key for key in after if after[key] != before[key]]
    if not changed:
        return []
    session.flush()
    audit.record(
        session,
        actor,
        "organization.edit",
        object_type="organization",
        object_id=org.id,
        data={"name": name, "before": {k: before[k] for k in changed}, "after": {k: after[k] for k in changed}},
    )
    return changed


def _record(org: Organization) -> dict[str, Any]:
    return {
        "name": org.name,
        "kind": org.kind.value,
        "parent": org.parent.name if org.parent else None,
        "short_name": org.short_name or "",
        "english_name": org.english_name or "",
        "aliases": list(org.aliases or []),
        "retired": org.retired,
    }


def move_organization(session: Session, actor: User, org: Organization, parent: Organization | None) -> bool:
    """Put ``org`` (with its units) under ``parent`` (``None``: at the top); False when it is already there.

    Refused when its kind cannot sit there (:mod:`judging.organization_places`), when ``parent`` is
    retired or below ``org`` (a circle), and while it has entries in play (:func:`tree_blockers`).
    """
    if (parent.id if parent else None) == org.parent_id:
        return False
    problem = place_problem(org.name, org.kind, _place_of(parent), _parents_by_name(session))
    if problem:
        raise ServiceError(problem)
    blockers = tree_blockers(session, org)
    if blockers:
        raise Refused(blockers)
    before = org.parent.name if org.parent else None
    org.parent = parent
    session.flush()
    audit.record(
        session,
        actor,
        "organization.move",
        object_type="organization",
        object_id=org.id,
        data={"name": org.name, "before": before, "after": parent.name if parent else None},
    )
    return True


# --- retirement --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetirementCheck:
    """What keeps an organisation from being retired now; ``accounts`` alone can be resolved by
    deactivating them with the retirement."""

    units: list[str] = field(default_factory=list)
    entries: list[str] = field(default_factory=list)
    contestants: list[str] = field(default_factory=list)
    accounts: list[User] = field(default_factory=list)
    organiser: bool = False

    def problems(self, name: str, *, accounts_too: bool) -> list[str]:
        found = []
        if self.organiser:
            found.append(_("The organiser's own organisation cannot be retired."))
        if self.units:
            found.append(
                _(
                    "%(name)s still has units: %(units)s. Retire or move them first.",
                    name=name,
                    units=listed_names(self.units),
                )
            )
        if self.entries:
            found.append(
                _(
                    "%(name)s still has entries in contests that are not over: %(entries)s. They would be stranded; "
                    "retire it once those results are published, or after the entries are withdrawn.",
                    name=name,
                    entries=listed_names(self.entries),
                )
            )
        if self.contestants:
            found.append(
                _(
                    "%(name)s still has contestants in contests that are not over: %(contestants)s.",
                    name=name,
                    contestants=listed_names(self.contestants),
                )
            )
        if self.accounts and accounts_too:
            found.append(
                _(
                    "%(name)s still has active accounts: %(accounts)s. Deactivate them with the retirement, or first.",
                    name=name,
                    accounts=listed_names([user.username for user in self.accounts]),
                )
            )
        return found


def retirement_blockers(session: Session, org: Organization) -> RetirementCheck:
    """What keeps ``org`` from being retired now:

    - units under it that are not retired (they would belong to an organisation that takes nothing);
    - its entries that are drafts, submitted or nominated, and entries it nominated, in contests not yet
      published: they would be stranded (no one could submit, withdraw or nominate them);
    - its contestants in skills contests not yet published;
    - its active accounts (entrants, organisers): retiring deactivates them if the organiser says so.
      Judges affiliated with it are not its accounts: they keep the affiliation, and their recusal.
    """
    entries = session.scalars(
        select(Entry)
        .join(Contest, Entry.contest_id == Contest.id)
        .where(
            or_(
                (Entry.organization_id == org.id)
                & Entry.status.in_([EntryStatus.DRAFT, EntryStatus.SUBMITTED, EntryStatus.NOMINATED]),
                (Entry.nominated_by_id == org.id) & (Entry.status == EntryStatus.NOMINATED),
            ),
            Contest.phase.not_in(SETTLED),
        )
        .order_by(Entry.contest_id, Entry.code)
    ).all()
    contestants = session.scalars(
        select(Contestant)
        .join(Contest, Contestant.contest_id == Contest.id)
        .where(Contestant.organization_id == org.id, Contest.phase.not_in(SETTLED))
        .order_by(Contestant.contest_id, Contestant.number)
    ).all()
    return RetirementCheck(
        units=[child.name for child in org.children if not child.retired],
        entries=[_entry_label(entry) for entry in entries],
        contestants=[f"{c.number} {c.name}（{c.contest.title}）" for c in contestants],
        accounts=[u for u in org.users if u.active and u.role is not Role.JUDGE],
        organiser=org.kind is OrganizationKind.ORGANIZER,
    )


def retire_organization(session: Session, actor: User, org: Organization, *, deactivate_accounts: bool) -> int:
    """Retire ``org``; returns how many accounts were deactivated with it.

    Refused for what :func:`retirement_blockers` finds; its active accounts are deactivated (their
    sessions ended) when ``deactivate_accounts``, else they refuse it too. Nothing of its history changes.
    """
    if org.retired:
        raise ServiceError(_("%(name)s is already retired.", name=org.name))
    check = retirement_blockers(session, org)
    problems = check.problems(org.name, accounts_too=not deactivate_accounts)
    if problems:
        raise Refused(problems)
    if any(user.id == actor.id for user in check.accounts):
        raise ServiceError(_("You cannot deactivate your own account."))
    for user in check.accounts:
        accounts.set_active(session, actor, user, active=False)
    org.retired_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        "organization.retire",
        object_type="organization",
        object_id=org.id,
        data={"name": org.name, "deactivated": [user.username for user in check.accounts]},
    )
    return len(check.accounts)


def unretire_organization(session: Session, actor: User, org: Organization) -> None:
    """Take ``org`` back into use (not its accounts: each is reactivated on the accounts page); refused
    while the organisation it belongs to is retired."""
    if not org.retired:
        raise ServiceError(_("%(name)s is not retired.", name=org.name))
    if org.parent is not None and org.parent.retired:
        raise ServiceError(
            _(
                "%(parent)s, which %(name)s belongs to, is retired: take it back first.",
                parent=org.parent.name,
                name=org.name,
            )
        )
    org.retired_at = None
    session.flush()
    audit.record(
        session, actor, "organization.unretire", object_type="organization", object_id=org.id, data={"name": org.name}
    )


# --- listing -----------------------------------------------------------------------------------------


def list_organizations(session: Session) -> list[Organization]:
    return list(session.scalars(select(Organization).order_by(Organization.kind, Organization.id)))


def pickable_organizations(session: Session) -> list[Organization]:
    """The organisations offered in pickers (new accounts, affiliations, parents): every one not retired."""
    return [org for org in list_organizations(session) if not org.retired]


KIND_ORDER = {kind: position for position, kind in enumerate(OrganizationKind)}


def organization_tree(session: Session) -> list[tuple[Organization, int]]:
    """Every organisation with its depth, each after the one it belongs to: top-level ones by kind (the
    organiser, districts, authorities, companies), each kind in the order they were added."""
    every = list(session.scalars(select(Organization).order_by(Organization.id)))
    children: dict[int | None, list[Organization]] = {}
    for org in every:
        children.setdefault(org.parent_id, []).append(org)
    ordered: list[tuple[Organization, int]] = []
    seen: set[int] = set()

    def walk(org: Organization, depth: int) -> None:
        if org.id in seen:
            return
        seen.add(org.id)
        ordered.append((org, depth))
        for child in sorted(children.get(org.id, []), key=lambda o: (KIND_ORDER[o.kind], o.id)):
            walk(child, depth + 1)

    for top in sorted(children.get(None, []), key=lambda o: (KIND_ORDER[o.kind], o.id)):
        walk(top, 0)
    for org in every:  # only if the data held a circle, which the services never make
        walk(org, 0)
    return ordered


def find_organization(session: Session, name: str) -> Organization | None:
    """The organisation with exactly this name (surrounding spaces ignored), or None."""
    return session.scalar(select(Organization).where(Organization.name == name.strip()))


def get_organization(session: Session, organization_id: int) -> Organization:
    org = session.get(Organization, organization_id)
    if org is None:
        raise NotFound(_("No such organisation."))
    return org
