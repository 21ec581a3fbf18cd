"""Organisations: the districts, authorities, companies and grassroots units that enter contests."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from judging.models import Organization, OrganizationKind, User
from judging.services import NotFound, ServiceError, audit


def read_organization_file(path: str | Path) -> list[dict[str, Any]]:
    """Read ``[[organizations]]`` rows (name, kind, optional parent, optional aliases) from a TOML file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ServiceError(f"{path}: {exc}") from None
    rows = data.get("organizations", [])
    kinds = {kind.value for kind in OrganizationKind}
    for index, row in enumerate(rows):
        unknown = set(row) - {"name", "kind", "parent", "aliases"}
        if unknown:
            raise ServiceError(f"{path}: organizations[{index}]: unknown key {sorted(unknown)[0]!r}")
        if not isinstance(row.get("name"), str) or not row["name"].strip():
            raise ServiceError(f"{path}: organizations[{index}].name: required")
        if row.get("kind") not in kinds:
            raise ServiceError(f"{path}: organizations[{index}].kind: must be one of {', '.join(sorted(kinds))}")
        aliases = row.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
            raise ServiceError(f"{path}: organizations[{index}].aliases: must be a list of names")
    return rows


def seed_organizations(session: Session, rows: list[dict[str, Any]]) -> int:
    """Create the organisations that do not exist yet (by name); return how many were added.

    The aliases a row declares replace those of an existing organisation of that name, so that a name
    added to the file is masked from blind judges after the next ``flask init``.
    """
    existing = {org.name: org for org in session.scalars(select(Organization))}
    added = 0
    for row in rows:
        aliases = [alias.strip() for alias in row.get("aliases", [])]
        if row["name"] in existing:
            org = existing[row["name"]]
            if "aliases" in row and list(org.aliases or []) != aliases:
                audit.record(
                    session,
                    None,
                    "organization.aliases",
                    object_type="organization",
                    object_id=org.id,
                    data={"name": org.name, "before": list(org.aliases or []), "after": aliases},
                )
                org.aliases = aliases
            continue
        parent = existing.get(row["parent"]) if row.get("parent") else None
        if row.get("parent") and parent is None:
            raise ServiceError(f"organizations: {row['name']}: unknown parent {row['parent']!r}")
        org = Organization(name=row["name"], kind=OrganizationKind(row["kind"]), parent=parent, aliases=aliases)
        session.add(org)
        existing[org.name] = org
        added += 1
    session.flush()
    if added:
        audit.record(session, None, "organization.seed", data={"added": added})
    return added


def create_organization(
    session: Session, actor: User | None, *, name: str, kind: OrganizationKind, parent: Organization | None
) -> Organization:
    """Add an organisation; a grassroots unit sits under a district, authority or company."""
    name = name.strip()
    if not name:
        raise ServiceError(_("Please enter the organisation's name."))
    if session.scalar(select(Organization.id).where(Organization.name == name)) is not None:
        raise ServiceError(_("An organisation named %(name)s already exists.", name=name))
    if kind is OrganizationKind.GRASSROOTS and parent is None:
        raise ServiceError(_("A grassroots unit must belong to a district, authority or company."))
    if parent is not None and parent.kind in (OrganizationKind.GRASSROOTS, OrganizationKind.ORGANIZER):
        raise ServiceError(_("A unit can only sit under a district, an industry authority or a company."))
    org = Organization(name=name, kind=kind, parent=parent)
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


def list_organizations(session: Session) -> list[Organization]:
    return list(session.scalars(select(Organization).order_by(Organization.kind, Organization.id)))


def find_organization(session: Session, name: str) -> Organization | None:
    """The organisation with exactly this name (surrounding spaces ignored), or None."""
    return session.scalar(select(Organization).where(Organization.name == name.strip()))


def get_organization(session: Session, organization_id: int) -> Organization:
    org = session.get(Organization, organization_id)
    if org is None:
        raise NotFound(_("No such organisation."))
    return org
