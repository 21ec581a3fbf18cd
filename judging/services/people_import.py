"""Creating many judges and entrants at once from a table (.xlsx or .csv): preview, then create.

The columns (a header in English or Chinese, any order; see :data:`COLUMNS`): the name to display and
the role are required; the organisation (an entrant's, or a judge's affiliation), the organisations a
judge declares being related to (回避单位, separated by 、 , ; or a new line), an e-mail address and a
username are optional. A row without a username gets the next free ``judge-001`` / ``entrant-001``.

Every row is checked before anything is written, and one bad row writes nothing: roles are judges and
entrants only (organisers are made one at a time), organisations must exist (by name or alias), an
entrant's must be one that can enter, a username or e-mail may appear once in the file and not belong
to an existing account, and a person (name, role and organisation) already in the file or on the site
is a duplicate. Each problem names the row as the spreadsheet shows it and the column.
:func:`create_people` validates again (the site may have changed since the preview) and creates every
account, with its invitation and declared relations, in the caller's one transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from judging.models import Organization, Role, User
from judging.scoring.score_table import cell_text
from judging.services import audit, exclusions
from judging.services.accounts import (
    USERNAME_PATTERN,
    create_account,
    email_problem,
    entrant_organization_problem,
)
from judging.services.table_import import ImportRefused, find_columns, read_cells

MAX_ROWS = 2000
MAX_NAME = 120
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name", "full name", "姓名", "名称", "显示名称"),
    "role": ("role", "角色", "身份"),
    "organization": ("organization", "organisation", "单位", "所在单位", "工作单位"),
    "relations": ("related organizations", "related organisations", "回避单位", "关联单位"),
    "email": ("email", "e-mail", "邮箱", "电子邮箱", "电子邮件"),
    "username": ("username", "用户名", "登录名"),
}
REQUIRED = ("name", "role")
ROLE_WORDS: dict[str, Role] = {
    "judge": Role.JUDGE,
    "expert": Role.JUDGE,
    "评审专家": Role.JUDGE,
    "专家": Role.JUDGE,
    "评委": Role.JUDGE,
    "评审": Role.JUDGE,
    "entrant": Role.ENTRANT,
    "参赛单位": Role.ENTRANT,
    "参赛者": Role.ENTRANT,
    "参赛": Role.ENTRANT,
}
LIST_SEPARATORS = re.compile(r"[、,，;；\n]+")
# The column names of the template, as people read them (translated when the template is made).
TEMPLATE_HEADERS = {
    "name": _l("Full name"),
    "role": _l("Role"),
    "organization": _l("Organisation"),
    "relations": _l("Related organisations"),
    "email": _l("E-mail"),
    "username": _l("Username"),
}


@dataclass(frozen=True)
class PersonRow:
    """One validated row: who will be created."""

    row: int
    username: str
    display_name: str
    role: Role
    organization: Organization | None
    relations: tuple[Organization, ...]
    email: str


def template_headers() -> list[str]:
    """The template's header row, in the user's language (every header is also accepted in the other)."""
    return [str(TEMPLATE_HEADERS[key]) for key in COLUMNS]


def _organizations_by_name(session: Session) -> dict[str, Organization]:
    found: dict[str, Organization] = {}
    for org in session.scalars(select(Organization)):
        for alias in org.aliases or []:
            found.setdefault(str(alias).strip(), org)
    for org in session.scalars(select(Organization)):
        found[org.name] = org  # a name wins over another organisation's alias
    return found


def _next_username(role: Role, taken: set[str]) -> str:
    number = 1
    while f"{role.value}-{number:03d}" in taken:
        number += 1
    username = f"{role.value}-{number:03d}"
    taken.add(username)
    return username


def read_people(session: Session, path: Path, source: str) -> list[PersonRow]:
    """Validate a people table and return who would be created; writes nothing (see the module)."""
    cells, rows = read_cells(path)
    columns = find_columns(cells, COLUMNS, REQUIRED, source)
    if len(rows) > MAX_ROWS:
        raise ImportRefused([_("%(file)s: at most %(n)d people per file.", file=source, n=MAX_ROWS)])
    organizations = _organizations_by_name(session)
    taken_usernames = {name.lower() for name in session.scalars(select(User.username))}
    taken_emails = {
        (email or "").lower() for email in session.scalars(select(User.email).where(User.email.is_not(None)))
    }
    existing_people = {
        (name, role, org_id)
        for name, role, org_id in session.execute(select(User.display_name, User.role, User.organization_id))
    }
    header = {key: str(columns[key]) for key in columns}
    problems: list[str] = []
    seen_usernames: dict[str, int] = {}
    seen_emails: dict[str, int] = {}
    seen_people: dict[tuple[str, Role, int | None], int] = {}
    valid: list[tuple[int, str, str, Role, Organization | None, tuple[Organization, ...], str]] = []
    for row_number, record in zip(rows, cells.itertuples(index=False, name=None), strict=True):
        values = dict(zip(cells.columns, record, strict=True))

        def value(key: str, values: dict = values) -> str:
            return cell_text(values[columns[key]]) if key in columns else ""

        before = len(problems)

        def problem(key: str, message: str, row_number: int = row_number) -> None:
            problems.append(
                _(
                    "%(file)s, row %(row)d, column “%(column)s”: %(problem)s",
                    file=source,
                    row=row_number,
                    column=header.get(key, str(TEMPLATE_HEADERS[key])),
                    problem=message,
                )
            )

        name, role_text, org_text = value("name"), value("role"), value("organization")
        email, username = value("email"), value("username")
        if not name:
            problem("name", _("the name is empty."))
        elif len(name) > MAX_NAME:
            problem("name", _("the name may have at most %(n)d characters.", n=MAX_NAME))
        role = ROLE_WORDS.get(role_text.strip().lower())
        if role is None:
            problem(
                "role",
                _("“%(role)s” is not a role here: write judge or entrant (评审专家 or 参赛单位).", role=role_text),
            )
        organization = organizations.get(org_text) if org_text else None
        if org_text and organization is None:
            problem("organization", _("unknown organisation “%(name)s”.", name=org_text))
        elif role is not None and (wrong := entrant_organization_problem(role, organization)):
            problem("organization", wrong)
        relations: list[Organization] = []
        for related in (part.strip() for part in LIST_SEPARATORS.split(value("relations"))):
            if not related:
                continue
            if related not in organizations:
                problem("relations", _("unknown organisation “%(name)s”.", name=related))
            elif organizations[related] not in relations:
                relations.append(organizations[related])
        if relations and role is Role.ENTRANT:
            problem("relations", _("only judges declare related organisations."))
        if email:
            if wrong := email_problem(email):
                problem("email", wrong)
            elif email.lower() in seen_emails:
                problem(
                    "email", _("%(email)s already appears in row %(row)d.", email=email, row=seen_emails[email.lower()])
                )
            elif email.lower() in taken_emails:
                problem("email", _("an account with %(email)s already exists.", email=email))
            seen_emails.setdefault(email.lower(), row_number)
        if username:
            if not USERNAME_PATTERN.match(username):
                problem(
                    "username",
                    _(
                        "a username has 3 to 40 letters, digits, dots, dashes or underscores, "
                        "starting with a letter or digit."
                    ),
                )
            elif username.lower() in seen_usernames:
                problem(
                    "username",
                    _("%(name)s already appears in row %(row)d.", name=username, row=seen_usernames[username.lower()]),
                )
            elif username.lower() in taken_usernames:
                problem("username", _("the username %(name)s is already taken.", name=username))
            seen_usernames.setdefault(username.lower(), row_number)
        if name and role is not None:
            person = (name, role, organization.id if organization else None)
            if person in seen_people:
                problem("name", _("%(name)s already appears in row %(row)d.", name=name, row=seen_people[person]))
            elif person in existing_people:
                problem("name", _("%(name)s already has an account with this role and organisation.", name=name))
            seen_people.setdefault(person, row_number)
        if len(problems) == before and role is not None:
            valid.append((row_number, username, name, role, organization, tuple(relations), email))
    if not rows:
        problems.append(_("%(file)s: the table has no people.", file=source))
    if problems:
        raise ImportRefused(problems)
    taken = taken_usernames | set(seen_usernames)
    return [
        PersonRow(row, username or _next_username(role, taken), name, role, organization, relations, email)
        for row, username, name, role, organization, relations, email in valid
    ]


@dataclass(frozen=True)
class CreatedPerson:
    user: User
    invitation_token: str


def create_people(
    session: Session,
    actor: User,
    path: Path,
    source: str,
    invitation_days: int,
) -> list[CreatedPerson]:
    """Validate the table again and create every account with its invitation link and declared relations,
    in the caller's transaction (all or nothing); audited once for the file and once per account."""
    rows = read_people(session, path, source)
    created = []
    for row in rows:
        account = create_account(
            session,
            actor,
            username=row.username,
            display_name=row.display_name,
            role=row.role,
            organization=row.organization,
            invitation_days=invitation_days,
            email=row.email,
        )
        for organization in row.relations:
            exclusions.add_relation(
                session, actor, account.user, organization, _("Imported from %(file)s", file=source)
            )
        created.append(CreatedPerson(account.user, account.invitation_token))
    audit.record(
        session,
        actor,
        "accounts.import",
        object_type="user",
        data={"file": source, "created": [person.user.username for person in created]},
    )
    return created
