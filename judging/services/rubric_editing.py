"""Editing a contest's rubric in the browser: check a text with the validator of ``flask rubric check``,
word its problems in the user's language, save a changed rubric as a new version, and compare versions.

Saving goes through :func:`judging.services.contests.sync_rubric`, so the rules of rubric versions hold
here as on the command line: a version is never edited, a change becomes version n+1, and a contest
with score sheets refuses a change (:class:`judging.services.contests.RubricInUse`). A text whose
settings equal the current version's (comments, layout and how numbers are written do not count) is
"no change" and creates no version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from judging.models import Contest, RubricVersion, User
from judging.rubric import Rubric, RubricError, parse_rubric, rubric_differences
from judging.rubric_document import same_rubric
from judging.services import NotFound, ServiceError, audit, contests

MAX_RUBRIC_BYTES = 256 * 1024
"""A rubric is a page of settings; anything much larger is not one (and is not parsed)."""


@dataclass(frozen=True)
class Problem:
    """One problem of a rubric text: the key path it concerns (empty for the whole text) and the message
    in the user's language."""

    path: str
    message: str

    @property
    def line(self) -> str:
        return _("%(path)s: %(message)s", path=self.path, message=self.message) if self.path else self.message


class RubricRejected(ServiceError):
    """A rubric text the validator refuses; ``problems`` lists them, ``details`` keeps their paths."""

    def __init__(self, details: list[Problem]):
        self.details = details
        self.problems = [_("The rubric was not saved:")] + [d.line for d in details]
        super().__init__("\n".join(self.problems))


def _messages() -> list[tuple[re.Pattern[str], str]]:
    """The validator's messages (:mod:`judging.rubric`, written in English for files and the command
    line) as patterns, each with its message in the user's language."""
    table = [
        (r"required key is missing", _("required, but missing")),
        (r"unknown key", _("not a setting of a rubric")),
        (r"must be a string", _("must be text")),
        (r"must be an integer", _("must be a whole number")),
        (r"must be a number", _("must be a number")),
        (r"must be true or false", _("must be yes or no")),
        (r"must be a list", _("must be a list")),
        (r"must be a table", _("must be a table")),
        (r"must not be empty", _("must not be empty")),
        (r"must be (?P<op>[<>]=?) (?P<bound>\S+)", _("must be %(op)s %(bound)s")),
        (r"must be one of (?P<choices>.+)", _("must be one of %(choices)s")),
        (
            r"has characters that are not allowed \(pattern (?P<pattern>.+)\)",
            _("has characters that are not allowed (pattern %(pattern)s)"),
        ),
        (r'must be "all" or a whole number >= 1', _("must be “all” or a whole number of at least 1")),
        (r"duplicate (?P<what>\w+) (?P<value>.+)", _("%(value)s is used twice")),
        (r'required when contest\.kind = "(?P<kind>\w+)"', _("required when contest.kind is “%(kind)s”")),
        (
            r'at least one criterion is required when contest\.kind = "work"',
            _("a contest of works needs at least one criterion"),
        ),
        (r'at least one part is required when contest\.kind = "skills"', _("a skills contest needs at least one part")),
        (r'required when a part has source = "judged"', _("required when a part is judged (source = “judged”)")),
        (
            r'at least one criterion is required when a part has source = "judged"',
            _("a judged part needs at least one criterion"),
        ),
        (
            r"weights must add up to 1 \(they add up to (?P<total>\S+)\)",
            _("the weights must add up to 1 (they add up to %(total)s)"),
        ),
        (r"must have at most two decimals", _("must have at most two decimals")),
        (r"must be a multiple of step \((?P<step>\S+)\)", _("must be a multiple of the step (%(step)s)")),
        (
            r"(?P<value>.+) is not a supported (?P<media>\w+) type \((?P<allowed>.+)\)",
            _("%(value)s is not a supported file type for %(media)s (%(allowed)s)"),
        ),
        (r'required when entry\.media = "video"', _("required for videos")),
        (r"unknown criterion (?P<key>.+)", _("no criterion has the key %(key)s")),
        (
            r"must be greater than 2 × trim \((?P<n>\d+)\) for trimmed_mean",
            _("must be greater than 2 × trim (%(n)s) for a trimmed mean"),
        ),
        (
            r'applies only to across_judges = "trimmed_mean"',
            _("applies only to a trimmed mean (across_judges = “trimmed_mean”)"),
        ),
        (
            r"must be at least aggregation\.min_judges \((?P<n>\d+)\)",
            _("must be at least aggregation.min_judges (%(n)s)"),
        ),
        (
            r"unknown part (?P<key>\S+) \(a part key or \"time\"\)",
            _("no part has the key %(key)s (a part key or “time”)"),
        ),
        (
            r"set exactly one of count, share, min_score \(found (?P<found>.*)\)",
            _("set exactly one of count, share, min_score (found: %(found)s)"),
        ),
        (r"unknown category (?P<key>.+)", _("no category has the key %(key)s")),
        (
            r"exceeds the highest possible total \((?P<total>\S+)\)",
            _("exceeds the highest possible total (%(total)s)"),
        ),
        (
            r"shares add up to more than 1(?: in category (?P<category>\S+))? \((?P<total>\S+)\)",
            _("the shares add up to more than 1 (%(total)s)"),
        ),
        (r"set min_score, max_rank or both", _("set min_score, max_rank or both")),
        (r'only for contest\.kind = "skills"', _("only for skills contests (contest.kind = “skills”)")),
        (r"needs an \[entry\] table", _("needs the entry section")),
    ]
    return [(re.compile(pattern), message) for pattern, message in table]


def translated(message: str) -> str:
    """A validator message in the user's language (as it is, if the catalogue has no wording for it)."""
    for pattern, wording in _messages():
        match = pattern.fullmatch(message)
        if match:
            values = {name: value or "" for name, value in match.groupdict().items()}
            return wording % values if values else wording
    return message


def problems_of(error: RubricError, source: str) -> list[Problem]:
    """The problems of a rejected text, each with its key path and its message in the user's language."""
    details = []
    for line in error.errors:
        text = line.removeprefix(f"{source}: ")
        if text.startswith("not valid TOML: "):
            details.append(Problem("", _("not valid TOML: %(reason)s", reason=text.removeprefix("not valid TOML: "))))
            continue
        path, _sep, message = text.partition(": ")
        details.append(Problem(path, translated(message)))
    return details


def check_text(text: str, source: str) -> tuple[Rubric | None, list[Problem]]:
    """Validate a rubric text exactly as ``flask rubric check`` does; the rubric, or its problems."""
    try:
        return parse_rubric(text, source), []
    except RubricError as error:
        return None, problems_of(error, source)


def decode_upload(raw: bytes) -> str:
    """An uploaded rubric file's text: UTF-8 (a BOM is dropped), at most :data:`MAX_RUBRIC_BYTES`."""
    if len(raw) > MAX_RUBRIC_BYTES:
        raise RubricRejected([Problem("", _("The file is too large to be a rubric (at most 256 KB)."))])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RubricRejected([Problem("", _("The file is not UTF-8 text."))]) from None


def editing_refusal(session: Session, contest: Contest) -> str | None:
    """Why the contest's rubric cannot be edited now (in the user's language), or None when it can:
    score sheets refer to its version, or its result is frozen."""
    sheets = contests.sheet_count(session, contest)
    if sheets:
        return _(
            "This contest already has %(n)d score sheets made with rubric version %(version)d, so its rubric "
            "cannot be edited here: the judges' scores must keep the rubric they were given.",
            n=sheets,
            version=contest.current_rubric.version,
        )
    if contests.results_frozen(contest):
        return _("The results of this contest are frozen, so its rubric cannot change.")
    return None


def save_rubric(
    session: Session, actor: User, contest: Contest, text: str, source: str, *, based_on: int | None = None
) -> RubricVersion | None:
    """Make ``text`` the contest's rubric: a new version, or None when its settings equal the current
    version's. Refused (nothing written) when the text is invalid (:class:`RubricRejected`), names another
    contest, changes the kind, or the rubric may not be edited now (:func:`editing_refusal`), and when
    ``based_on`` (the version the editor was opened on) is no longer the current version: someone else
    saved meanwhile, and saving would silently undo their change. Audited (``rubric.edit``, with the
    differences, next to ``contest.rubric_version``)."""
    if based_on is not None and based_on != contest.current_rubric.version:
        raise ServiceError(
            _(
                "Version %(new)d was saved while you edited version %(old)d; nothing was saved. Open the "
                "editor again to start from version %(new)d.",
                new=contest.current_rubric.version,
                old=based_on,
            )
        )
    rubric, details = check_text(text, source)
    if rubric is None:
        raise RubricRejected(details)
    if rubric.slug != contest.slug:
        raise RubricRejected(
            [Problem("contest.slug", _("must stay “%(slug)s”: the slug names this contest.", slug=contest.slug))]
        )
    current = contests.current_rubric(contest)
    if same_rubric(rubric, current):
        return None
    refusal = editing_refusal(session, contest)
    if refusal is not None:
        raise ServiceError(refusal)
    differences = [{"path": d.path, "old": d.old, "new": d.new} for d in rubric_differences(current, rubric)]
    contests.sync_rubric(session, actor, rubric)
    version = contest.current_rubric
    audit.record(
        session,
        actor,
        "rubric.edit",
        object_type="contest",
        object_id=contest.id,
        contest_id=contest.id,
        data={"slug": contest.slug, "rubric_version": version.version, "source": source, "differences": differences},
    )
    return version


def get_version(contest: Contest, number: int) -> RubricVersion:
    """One stored version of the contest's rubric by its number."""
    for version in contest.rubric_versions:
        if version.version == number:
            return version
    raise NotFound(_("No such rubric version."))


def version_differences(old: RubricVersion, new: RubricVersion) -> list[str]:
    """What changed from one version to another, one line per setting, in the user's language."""
    return [contests.difference_line(d) for d in rubric_differences(contests.rubric_of(old), contests.rubric_of(new))]
