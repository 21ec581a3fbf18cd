"""Contests made in the browser: from a template rubric shipped with the service, or as the next edition
of a series by copying an earlier one.

A series (``micro-video``) keeps its editions (``2026``, ``2027``, ``第三届`` — the label is free text,
nothing assumes a year). Every edition is a contest of its own: its own slug (address), its own code
prefix (``MV27`` gives ``MV27-001``; unique across contests so that a code never names two entries),
its own rubric versions, phases and deadlines. A new contest starts in preparation without deadlines.

The new rubric is the old text edited in place with :mod:`tomlkit` (only ``contest.slug``,
``contest.code_prefix``, ``contest.series`` and, from a template, ``contest.title`` change), so the
organiser's comments and layout survive; it is validated by :func:`judging.rubric.parse_rubric`, the
validator of ``flask rubric check``.

Templates are the ``*.toml`` files of the rubric folder (the contests ``flask init`` loads) and of its
``templates/`` folder, which ``flask init`` does not load (a poster contest template there does not
become a live contest).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import tomlkit
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session
from tomlkit.exceptions import TOMLKitError

from judging.models import Contest, User
from judging.rubric import CODE_PREFIX_PATTERN, SLUG_PATTERN, Rubric, RubricError, load_rubric, parse_rubric
from judging.services import NotFound, ServiceError
from judging.services.contests import create_contest, refuse_taken_prefix, refuse_taken_slug

TEMPLATE_FOLDER = "templates"
"""The sub-folder of the rubric folder that holds templates only (not loaded by ``flask init``)."""
MAX_EDITION_LENGTH = 40


@dataclass(frozen=True)
class Template:
    """A rubric file a new contest can start from; ``name`` is its path under the rubric folder."""

    name: str
    title: str
    kind: str
    media: str | None
    description: str
    slug: str
    code_prefix: str


def list_templates(folder: str | Path) -> list[Template]:
    """The valid rubric files of the rubric folder and of its ``templates/`` folder, by name."""
    root = Path(folder)
    paths = sorted(root.glob("*.toml")) + sorted((root / TEMPLATE_FOLDER).glob("*.toml"))
    found = []
    for path in paths:
        try:
            rubric = load_rubric(path)
        except RubricError:
            continue  # `flask rubric check` names its problems; an invalid file is no template
        found.append(
            Template(
                name=path.relative_to(root).as_posix(),
                title=rubric.contest.title,
                kind=rubric.contest.kind,
                media=rubric.entry.media if rubric.entry else None,
                description=rubric.contest.description,
                slug=rubric.slug,
                code_prefix=rubric.contest.entry_code_prefix,
            )
        )
    return found


def template_text(folder: str | Path, name: str) -> str:
    """The text of a listed template (a name not listed is not found: no path outside the folder)."""
    return (Path(folder) / template_named(folder, name).name).read_text(encoding="utf-8")


def edited_rubric_text(text: str, contest_keys: dict[str, str]) -> str:
    """The rubric text with the given keys of its ``[contest]`` table set, everything else (comments,
    order, layout) kept as it was."""
    try:
        document = tomlkit.parse(text)
    except TOMLKitError as exc:
        raise ServiceError(_("The rubric cannot be read: %(error)s", error=str(exc))) from None
    table = document.get("contest")
    if not isinstance(table, dict):
        raise ServiceError(_("The rubric has no [contest] table."))
    for key, value in contest_keys.items():
        table[key] = value
    return tomlkit.dumps(document)


def _ascii_words(label: str) -> str:
    folded = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")


def _slug_taken(session: Session, slug: str) -> bool:
    return session.scalar(select(Contest.id).where(Contest.slug == slug)) is not None


def _prefix_taken(session: Session, prefix: str) -> bool:
    return session.scalar(select(Contest.id).where(Contest.code_prefix == prefix)) is not None


def suggest_slug(session: Session, series: str, edition: str) -> str:
    """``<series>-<edition in ASCII>`` (``micro-video-2027``), else a running number; never one in use."""
    words = _ascii_words(edition)
    base = f"{series}-{words}" if words else series
    candidate, number = base[:80], 2
    while _slug_taken(session, candidate):
        candidate = f"{base[:75]}-{number}"
        number += 1
    return candidate


def suggest_code_prefix(session: Session, prefix: str, edition: str) -> str:
    """The series' letters and the edition's last two digits (``MV`` and ``2027`` give ``MV27``), else its
    last two letters or digits, else a running number; at most six characters, never one in use."""
    letters = (re.sub(r"\d+$", "", prefix) or prefix)[:4]
    digits = re.sub(r"\D", "", _ascii_words(edition))
    tail = digits[-2:] if digits else re.sub(r"[^A-Z0-9]", "", _ascii_words(edition).upper())[-2:]
    candidates = [f"{letters}{tail}"] if tail else []
    candidates += [f"{letters}{number}" for number in range(2, 100)]
    for candidate in candidates:
        if re.fullmatch(CODE_PREFIX_PATTERN, candidate[:6]) and not _prefix_taken(session, candidate[:6]):
            return candidate[:6]
    raise ServiceError(_("No free code prefix could be suggested; type one."))


def next_edition_label(contest: Contest) -> str:
    """A guess at the label of the edition after ``contest``'s: the next number when its label is one
    (``2026`` → ``2027``), else nothing (the organiser types it)."""
    return str(int(contest.edition) + 1) if contest.edition.isdigit() else ""


def template_named(folder: str | Path, name: str) -> Template:
    """A listed template by name."""
    for template in list_templates(folder):
        if template.name == name:
            return template
    raise NotFound(_("There is no such template."))


def _checked_identity(edition: str, slug: str, code_prefix: str) -> tuple[str, str, str]:
    edition, slug, code_prefix = edition.strip(), slug.strip(), code_prefix.strip()
    if not edition:
        raise ServiceError(_("Give the new edition a label (e.g. 2027)."))
    if len(edition) > MAX_EDITION_LENGTH:
        raise ServiceError(_("The edition label may have at most %(n)d characters.", n=MAX_EDITION_LENGTH))
    if not re.fullmatch(SLUG_PATTERN, slug) or len(slug) > 80:
        raise ServiceError(
            _("The address (slug) may hold only lower-case letters, digits and hyphens, e.g. micro-video-2027.")
        )
    if not re.fullmatch(CODE_PREFIX_PATTERN, code_prefix):
        raise ServiceError(
            _("The code prefix is one capital letter followed by at most five capital letters or digits, e.g. MV27.")
        )
    return edition, slug, code_prefix


def copy_edition(
    session: Session, actor: User, source: Contest, *, edition: str, slug: str, code_prefix: str
) -> Contest:
    """A new edition of ``source``'s series: its current rubric with a new slug and code prefix (and the
    series named), in preparation, without deadlines, entries, panel or results. Audited as
    ``contest.copy`` naming the edition it was copied from."""
    edition, slug, code_prefix = _checked_identity(edition, slug, code_prefix)
    refuse_taken_slug(session, slug)
    refuse_taken_prefix(session, code_prefix)
    keys = {"slug": slug, "code_prefix": code_prefix, "series": source.series or source.slug}
    text = edited_rubric_text(source.current_rubric.text, keys)
    rubric = parse_rubric_or_refuse(text, f"copy of {source.slug}")
    return create_contest(
        session,
        actor,
        rubric,
        edition=edition,
        action="contest.copy",
        data={"copied_from": source.slug, "copied_version": source.current_rubric.version},
    )


def create_from_template(
    session: Session,
    actor: User,
    folder: str | Path,
    name: str,
    *,
    title: str,
    edition: str,
    slug: str,
    code_prefix: str,
) -> Contest:
    """A new contest (a series of its own) from a template rubric, with its title, slug and code prefix
    set; in preparation, without deadlines. Audited as ``contest.create`` naming the template."""
    edition, slug, code_prefix = _checked_identity(edition, slug, code_prefix)
    refuse_taken_slug(session, slug)
    refuse_taken_prefix(session, code_prefix)
    keys = {"slug": slug, "code_prefix": code_prefix, "series": slug}
    if title.strip():
        keys["title"] = title.strip()
    text = edited_rubric_text(template_text(folder, name), keys)
    rubric = parse_rubric_or_refuse(text, f"template {name}")
    return create_contest(session, actor, rubric, edition=edition, data={"template": name})


class InvalidRubric(ServiceError):
    """The edited rubric does not pass the validator; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def parse_rubric_or_refuse(text: str, source: str) -> Rubric:
    """The validated rubric, or a refusal naming every problem (one line each)."""
    try:
        return parse_rubric(text, source)
    except RubricError as exc:
        raise InvalidRubric(exc.errors) from None


@dataclass(frozen=True)
class Series:
    """A series and its editions, newest first (by when each edition was created)."""

    key: str
    editions: list[Contest]


def series_of(contests: list[Contest]) -> list[Series]:
    """Group contests by series: each series' editions newest first, the series in the order of their
    newest edition (newest first)."""
    groups: dict[str, list[Contest]] = {}
    for contest in sorted(contests, key=lambda c: (c.created_at, c.id), reverse=True):
        groups.setdefault(contest.series or contest.slug, []).append(contest)
    return [Series(key, editions) for key, editions in groups.items()]


def editions_of(session: Session, series: str) -> list[Contest]:
    """The editions of a series that are not archived, newest first."""
    return list(
        session.scalars(
            select(Contest)
            .where(Contest.series == series, Contest.archived_at.is_(None))
            .order_by(Contest.created_at.desc(), Contest.id.desc())
        )
    )
