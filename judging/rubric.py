"""Rubric files: the whole configuration of one contest, loaded from TOML and validated strictly.

A rubric is read with :mod:`tomllib`, checked in two passes and returned as a frozen model:

1. *Shape* (pydantic): unknown keys, missing keys, wrong types and out-of-range values.
2. *Meaning*: duplicate keys, tie-breaks naming unknown criteria, awards with more than one of
   ``count`` / ``share`` / ``min_score``, steps with more than two decimals, weights of skill parts
   that do not add up to 1, and the like.

Every problem becomes one line ``<file>: <key path>: <message>``, e.g.
``rubrics/micro_video.toml: criteria[2].max: must be > 0``. This module is pure: no Flask, no
database; the text and its sha256 travel with the rubric so that results can record which version
they were computed with.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
)
from pydantic_core import ErrorDetails

VIDEO_EXTENSIONS = ("mp4", "mov", "m4v", "webm", "mkv")
DOCUMENT_EXTENSIONS = ("pdf", "docx", "jpg", "jpeg", "png")
IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "webp")
MEDIA_EXTENSIONS = {"video": VIDEO_EXTENSIONS, "document": DOCUMENT_EXTENSIONS, "image": IMAGE_EXTENSIONS}
"""What each ``entry.media`` accepts: a poster contest (``image``) takes pictures only."""
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
CODE_PREFIX_PATTERN = r"^[A-Z][A-Z0-9]{0,5}$"
TIME_TIE_BREAK = "time"
"""In a skills rubric's ``ranking.tie_break``: less time used ranks higher."""


def format_points(value: Decimal | int) -> str:
    """A number of points as people write it: ``40``, ``0.5``, ``84.13`` — never ``4E+1``, no trailing zeros."""
    return format(Decimal(value).normalize(), "f")


class RubricError(Exception):
    """One or more problems with a rubric file; ``errors`` holds one line per problem."""

    def __init__(self, errors: Sequence[str]):
        super().__init__("\n".join(errors))
        self.errors = list(errors)


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ValueError("must be a number")
    return Decimal(str(value))


Number = Annotated[Decimal, BeforeValidator(_to_decimal)]


def _to_judges_per_entry(value: Any) -> str | int:
    if value == "all" or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        return value
    raise ValueError('must be "all" or a whole number >= 1')


JudgesPerEntry = Annotated[Any, BeforeValidator(_to_judges_per_entry)]
Key = Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9_]*$")]
Label = Annotated[StrictStr, Field(min_length=1)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ContestSpec(_Spec):
    slug: Annotated[StrictStr, Field(pattern=SLUG_PATTERN, max_length=80)]
    title: Label
    kind: Literal["work", "skills"]
    ceremony: Literal["opening", "closing"]
    description: StrictStr = ""
    issuer: StrictStr = ""
    """Who awards the honours, as printed on certificates; the organiser organisation's name when empty."""
    code_prefix: Annotated[StrictStr, Field(pattern=CODE_PREFIX_PATTERN)] | None = None
    """Prefix of the blind entry codes (``MV`` gives ``MV-007``); derived from the slug when unset."""
    series: Annotated[StrictStr, Field(pattern=SLUG_PATTERN)] | None = None
    """The series this contest is an edition of (``micro-video``); the slug when unset."""

    @property
    def series_key(self) -> str:
        return self.series or self.slug

    @property
    def entry_code_prefix(self) -> str:
        if self.code_prefix:
            return self.code_prefix
        return "".join(part[0] for part in self.slug.split("-") if part).upper()[:4] or "E"


class EntryField(_Spec):
    key: Key
    label: Label
    type: Literal["text", "int", "url", "date"]
    required: StrictBool = False
    identifying: StrictBool = False
    """The field names who made the entry (the implementing unit): blind judges never see it."""


class EntrySpec(_Spec):
    media: Literal["video", "document", "image"]
    quota_per_organization: Annotated[StrictInt, Field(ge=1)]
    max_duration_seconds: Annotated[StrictInt, Field(gt=0)] | None = None
    allowed_extensions: Annotated[tuple[StrictStr, ...], Field(min_length=1)]
    max_file_mb: Annotated[StrictInt, Field(gt=0)]
    declarations: tuple[Label, ...] = ()
    fields: tuple[EntryField, ...] = ()
    entrant_kinds: tuple[Literal["district", "industry", "company", "grassroots"], ...] = ()
    """Kinds of organisation that may enter; empty means any entrant organisation."""


class NominationSpec(_Spec):
    """Two-tier collection: entries are submitted by units, whose parent nominates the best."""

    by: Literal["parent"] = "parent"
    quota: Annotated[StrictInt, Field(ge=1)]
    """At most this many entries nominated by each nominating organisation."""


class Category(_Spec):
    key: Key
    label: Label


class Criterion(_Spec):
    key: Key
    label: Label
    max: Annotated[Number, Field(gt=0)]
    weight: Annotated[Number, Field(gt=0)]
    step: Annotated[Number, Field(gt=0)] = Decimal(1)
    guide: StrictStr = ""


class Check(_Spec):
    key: Key
    label: Label
    rule: Literal["majority", "all", "any"]


class AssignmentSpec(_Spec):
    judges_per_entry: JudgesPerEntry
    """``"all"``: every panel judge scores every entry; an integer k: a balanced assignment."""
    blind: StrictBool
    conflict: Literal["same_organization", "none"]


class AggregationSpec(_Spec):
    level: Literal["sheet", "criterion"] = "sheet"
    across_judges: Literal["mean", "trimmed_mean", "median", "zscore"]
    trim: Annotated[StrictInt, Field(ge=0)] = 0
    min_judges: Annotated[StrictInt, Field(ge=1)] = 1
    tie_break: tuple[Key, ...] = ()
    decimals: Annotated[StrictInt, Field(ge=0, le=4)] = 2


class Award(_Spec):
    name: Label
    count: Annotated[StrictInt, Field(ge=1)] | None = None
    share: Annotated[Number, Field(gt=0, le=1)] | None = None
    min_score: Annotated[Number, Field(ge=0)] | None = None
    category: Key | None = None
    """Only in this category; an award without one is given in every category."""


class Part(_Spec):
    """A score part of a skills contest, e.g. theory 30 % and practical 70 %."""

    key: Key
    label: Label
    max: Annotated[Number, Field(gt=0)]
    weight: Annotated[Number, Field(gt=0, le=1)]
    source: Literal["import", "judged"] = "import"


class RankingSpec(_Spec):
    tie_break: tuple[Key, ...] = ()
    """Part keys, or ``"time"`` for less time used, compared in order."""
    decimals: Annotated[StrictInt, Field(ge=0, le=4)] = 2


class CollectivesSpec(_Spec):
    """How outstanding collectives (e.g. 优秀集体) are derived from their contestants."""

    name: Label
    rule: Literal["best_k_sum", "best_k_mean"]
    k: Annotated[StrictInt, Field(ge=1)]
    min_contestants: Annotated[StrictInt, Field(ge=1)] = 1
    count: Annotated[StrictInt, Field(ge=1)]


class Level(_Spec):
    """A skill-level certificate: earned when the declared eligibility covers it and a condition holds."""

    key: Key
    label: Label
    min_score: Annotated[Number, Field(ge=0)] | None = None
    max_rank: Annotated[StrictInt, Field(ge=1)] | None = None


class FeedbackSpec(_Spec):
    """What an entrant sees of the judging once the result is published (its rank and award always)."""

    show: Literal["none", "scores", "scores_and_comments"] = "none"
    """``scores``: each criterion's score of every judge, anonymised (Judge A, B, …);
    ``scores_and_comments``: and the judges' comments."""


class VoteBand(_Spec):
    """A band of the public vote's ``rank_bands`` normalisation: entries whose vote rank is at most
    ``up_to_rank`` (and above the previous band's) get ``points`` on the experts' points scale."""

    up_to_rank: Annotated[StrictInt, Field(ge=1)]
    points: Annotated[Number, Field(ge=0)]


class VoteSpec(_Spec):
    """The public vote on a shortlist of the experts' result, and how it combines with it (docs/rubric-vote.md)."""

    identity: Literal["account", "device", "both"] = "device"
    """Who a voter is: a logged-in account, a device-and-client fingerprint, or either (an account when
    logged in, else the device)."""
    counts: Literal["live", "hidden"] = "hidden"
    """Whether the public page shows the running counts."""
    per_entry_per_day: Annotated[StrictInt, Field(ge=1)] = 1
    per_day: Annotated[StrictInt, Field(ge=1)] = 10
    pow_difficulty: Annotated[StrictInt, Field(ge=0, le=28)] | None = None
    """Leading zero bits of the proof of work; the VOTE_POW_DIFFICULTY setting when unset."""
    shortlist: Literal["top", "pick"] = "top"
    """``top``: the ``shortlist_size`` best-ranked entries of the experts' result; ``pick``: the organiser's choice."""
    shortlist_size: Annotated[StrictInt, Field(ge=1)] | None = None
    expert_weight: Annotated[Number, Field(ge=0, le=1)]
    vote_weight: Annotated[Number, Field(ge=0, le=1)]
    normalisation: Literal["share_of_max", "rank_bands", "zscore"] = "share_of_max"
    bands: tuple[VoteBand, ...] = ()


class Rubric(_Spec):
    contest: ContestSpec
    entry: EntrySpec | None = None
    nomination: NominationSpec | None = None
    categories: tuple[Category, ...] = ()
    criteria: tuple[Criterion, ...] = ()
    checks: tuple[Check, ...] = ()
    assignment: AssignmentSpec | None = None
    aggregation: AggregationSpec | None = None
    awards: tuple[Award, ...] = ()
    parts: tuple[Part, ...] = ()
    ranking: RankingSpec | None = None
    collectives: CollectivesSpec | None = None
    levels: tuple[Level, ...] = ()
    """Certificate levels, highest first."""
    feedback: FeedbackSpec = FeedbackSpec()
    vote: VoteSpec | None = None
    """The public vote on a shortlist (optional; work contests only)."""

    _text: str = PrivateAttr(default="")
    _sha256: str = PrivateAttr(default="")
    _source: str = PrivateAttr(default="")

    @property
    def text(self) -> str:
        """The TOML text this rubric was read from."""
        return self._text

    @property
    def sha256(self) -> str:
        """Hex sha256 of the UTF-8 text: the identity of this rubric version."""
        return self._sha256

    @property
    def source(self) -> str:
        return self._source

    @property
    def slug(self) -> str:
        return self.contest.slug

    @property
    def max_total(self) -> Decimal:
        """The highest possible sheet total: Σ weight × max over the criteria."""
        return sum((c.weight * c.max for c in self.criteria), Decimal(0))

    def criterion(self, key: str) -> Criterion:
        for criterion in self.criteria:
            if criterion.key == key:
                return criterion
        raise KeyError(key)


# --- differences between two versions ------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """One setting that differs between two rubric versions: ``path`` names it the way rubric errors do
    (``criteria[innovation].max``, ``aggregation.across_judges``, ``awards[一等奖]``); ``old`` is None
    for an addition, ``new`` None for a removal."""

    path: str
    old: str | None
    new: str | None


def rubric_differences(old: Rubric, new: Rubric) -> list[Difference]:
    """Every setting that differs between two rubrics, in the order of the file's sections.

    Tables in an array (criteria, checks, categories, awards, parts, levels, entry fields) are matched by
    their ``key`` (awards by name and category), so that a reordering is not a change; arrays of plain
    values (tie-breaks, extensions) are compared whole. Comments and layout are not settings: two texts
    that differ only there have no differences.
    """
    differences: list[Difference] = []
    _diff(_comparable(old.model_dump(mode="python")), _comparable(new.model_dump(mode="python")), "", differences)
    return differences


def _comparable(value: Any) -> Any:
    """Settings as plain values in which a number is the number, however it was written (``1.0`` is ``1``)."""
    if isinstance(value, dict):
        return {key: _comparable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_comparable(item) for item in value]
    if isinstance(value, Decimal):
        return format_points(value)
    return value


def _item_name(item: dict[str, Any]) -> str | None:
    if "key" in item:
        return str(item["key"])
    if "name" in item:
        return str(item["name"]) + (f"@{item['category']}" if item.get("category") else "")
    return None


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} = {_shown(v)}" for k, v in value.items() if v not in (None, "", [], ()))
    if isinstance(value, list):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return str(value)


def _diff(old: Any, new: Any, path: str, out: list[Difference]) -> None:
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            child = f"{path}.{key}" if path else key
            before, after = old.get(key), new.get(key)
            if isinstance(before, dict) and after is None:  # a whole section removed, e.g. [nomination]
                out.append(Difference(child, _shown(before), None))
            elif before is None and isinstance(after, dict):
                out.append(Difference(child, None, _shown(after)))
            else:
                _diff(before, after, child, out)
        return
    if (
        isinstance(old, list)
        and isinstance(new, list)
        and all(isinstance(item, dict) and _item_name(item) for item in old + new)
    ):
        before = {_item_name(item): item for item in old}
        after = {_item_name(item): item for item in new}
        for name in list(before) + [n for n in after if n not in before]:
            child = f"{path}[{name}]"
            if name not in after:
                out.append(Difference(child, _shown(before[name]), None))
            elif name not in before:
                out.append(Difference(child, None, _shown(after[name])))
            else:
                _diff(before[name], after[name], child, out)
        return
    out.append(Difference(path, _shown(old), _shown(new)))


# --- meaning -------------------------------------------------------------------------------------


def _duplicates(path: str, items: Iterable[Any], attr: str = "key") -> list[tuple[str, str]]:
    seen: Counter[str] = Counter()
    problems = []
    for index, item in enumerate(items):
        value = getattr(item, attr)
        seen[value] += 1
        if seen[value] == 2:
            problems.append((f"{path}[{index}].{attr}", f"duplicate {attr} {value!r}"))
    return problems


def _decimal_places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _meaning_problems(rubric: Rubric) -> list[tuple[str, str]]:
    """Problems that the shape alone cannot show, as (key path, message)."""
    problems: list[tuple[str, str]] = []
    for path, items in (
        ("criteria", rubric.criteria),
        ("checks", rubric.checks),
        ("categories", rubric.categories),
        ("parts", rubric.parts),
        ("levels", rubric.levels),
    ):
        problems += _duplicates(path, items)
    if rubric.entry:
        problems += _duplicates("entry.fields", rubric.entry.fields)

    kind = rubric.contest.kind
    judged = kind == "work" or any(part.source == "judged" for part in rubric.parts)
    if kind == "work":
        for key in ("entry", "assignment", "aggregation"):
            if getattr(rubric, key) is None:
                problems.append((key, 'required when contest.kind = "work"'))
        if not rubric.criteria:
            problems.append(("criteria", 'at least one criterion is required when contest.kind = "work"'))
    else:
        if rubric.feedback.show != "none":
            problems.append(("feedback.show", 'entrants see feedback only when contest.kind = "work"'))
        if not rubric.parts:
            problems.append(("parts", 'at least one part is required when contest.kind = "skills"'))
        if rubric.ranking is None:
            problems.append(("ranking", 'required when contest.kind = "skills"'))
        if judged:
            for key in ("assignment", "aggregation"):
                if getattr(rubric, key) is None:
                    problems.append((key, 'required when a part has source = "judged"'))
            if not rubric.criteria:
                problems.append(("criteria", 'at least one criterion is required when a part has source = "judged"'))
        total = sum((part.weight for part in rubric.parts), Decimal(0))
        if rubric.parts and total != 1:
            problems.append(("parts", f"weights must add up to 1 (they add up to {format_points(total)})"))

    for index, criterion in enumerate(rubric.criteria):
        path = f"criteria[{index}]"
        if _decimal_places(criterion.step) > 2:
            problems.append((f"{path}.step", "must have at most two decimals"))
        elif criterion.max % criterion.step != 0:
            problems.append((f"{path}.max", f"must be a multiple of step ({format_points(criterion.step)})"))

    if rubric.entry:
        allowed = MEDIA_EXTENSIONS[rubric.entry.media]
        for index, extension in enumerate(rubric.entry.allowed_extensions):
            if extension not in allowed:
                problems.append(
                    (
                        f"entry.allowed_extensions[{index}]",
                        f"{extension!r} is not a supported {rubric.entry.media} type ({', '.join(allowed)})",
                    )
                )
        if rubric.entry.media == "video" and rubric.entry.max_duration_seconds is None:
            problems.append(("entry.max_duration_seconds", 'required when entry.media = "video"'))

    criterion_keys = {c.key for c in rubric.criteria}
    aggregation = rubric.aggregation
    if aggregation:
        for index, key in enumerate(aggregation.tie_break):
            if key not in criterion_keys:
                problems.append((f"aggregation.tie_break[{index}]", f"unknown criterion {key!r}"))
        if aggregation.across_judges == "trimmed_mean":
            if aggregation.min_judges <= 2 * aggregation.trim:
                problems.append(
                    (
                        "aggregation.min_judges",
                        f"must be greater than 2 × trim ({2 * aggregation.trim}) for trimmed_mean",
                    )
                )
        elif aggregation.trim:
            problems.append(("aggregation.trim", 'applies only to across_judges = "trimmed_mean"'))
        assignment = rubric.assignment
        if assignment and isinstance(assignment.judges_per_entry, int):
            if assignment.judges_per_entry < aggregation.min_judges:
                problems.append(
                    (
                        "assignment.judges_per_entry",
                        f"must be at least aggregation.min_judges ({aggregation.min_judges})",
                    )
                )

    if rubric.ranking:
        part_keys = {p.key for p in rubric.parts}
        for index, key in enumerate(rubric.ranking.tie_break):
            if key not in part_keys and key != TIME_TIE_BREAK:
                problems.append((f"ranking.tie_break[{index}]", f'unknown part {key!r} (a part key or "time")'))

    category_keys = {c.key for c in rubric.categories}
    shares: defaultdict[str | None, Decimal] = defaultdict(Decimal)
    for index, award in enumerate(rubric.awards):
        path = f"awards[{index}]"
        given = [name for name in ("count", "share", "min_score") if getattr(award, name) is not None]
        if len(given) != 1:
            problems.append((path, f"set exactly one of count, share, min_score (found {', '.join(given) or 'none'})"))
        if award.category is not None and award.category not in category_keys:
            problems.append((f"{path}.category", f"unknown category {award.category!r}"))
        if award.min_score is not None and rubric.criteria and award.min_score > rubric.max_total:
            problems.append(
                (f"{path}.min_score", f"exceeds the highest possible total ({format_points(rubric.max_total)})")
            )
        if award.share is not None:
            shares[award.category] += award.share
    for category, share in shares.items():
        if share > 1:
            where = f" in category {category!r}" if category else ""
            problems.append(("awards", f"shares add up to more than 1{where} ({format_points(Decimal(share))})"))

    for index, level in enumerate(rubric.levels):
        if level.min_score is None and level.max_rank is None:
            problems.append((f"levels[{index}]", "set min_score, max_rank or both"))
    if rubric.levels and kind != "skills":
        problems.append(("levels", 'only for contest.kind = "skills"'))
    if rubric.collectives and kind != "skills":
        problems.append(("collectives", 'only for contest.kind = "skills"'))
    if rubric.nomination and not rubric.entry:
        problems.append(("nomination", "needs an [entry] table"))
    if rubric.vote:
        problems += _vote_problems(rubric, rubric.vote)
    return problems


def _vote_problems(rubric: Rubric, vote: VoteSpec) -> list[tuple[str, str]]:
    """What the shape of ``[vote]`` cannot show: weights adding up to exactly 1, a size for a top-N
    shortlist, bands for (and only for) ``rank_bands``, in increasing ranks, within the points scale."""
    problems: list[tuple[str, str]] = []
    if rubric.contest.kind != "work":
        problems.append(("vote", 'only for contest.kind = "work"'))
    total = vote.expert_weight + vote.vote_weight
    if total != 1:
        problems.append(
            ("vote", f"expert_weight and vote_weight must add up to 1 (they add up to {format_points(total)})")
        )
    if vote.shortlist == "top" and vote.shortlist_size is None:
        problems.append(("vote.shortlist_size", 'required when vote.shortlist = "top"'))
    if vote.shortlist == "pick" and vote.shortlist_size is not None:
        problems.append(("vote.shortlist_size", 'applies only to vote.shortlist = "top"'))
    if vote.per_entry_per_day > vote.per_day:
        problems.append(("vote.per_entry_per_day", f"must be <= vote.per_day ({vote.per_day})"))
    if vote.normalisation == "rank_bands":
        if not vote.bands:
            problems.append(("vote.bands", 'at least one band is required when vote.normalisation = "rank_bands"'))
        previous = 0
        for index, band in enumerate(vote.bands):
            if band.up_to_rank <= previous:
                problems.append((f"vote.bands[{index}].up_to_rank", f"must be > {previous} (the previous band's)"))
            previous = max(previous, band.up_to_rank)
            if rubric.criteria and band.points > rubric.max_total:
                problems.append(
                    (
                        f"vote.bands[{index}].points",
                        f"exceeds the highest possible total ({format_points(rubric.max_total)})",
                    )
                )
    elif vote.bands:
        problems.append(("vote.bands", 'applies only to vote.normalisation = "rank_bands"'))
    return problems


# --- shape ---------------------------------------------------------------------------------------


def _key_path(loc: Sequence[str | int]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "(top level)"


def _shape_message(error: ErrorDetails) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    messages = {
        "missing": "required key is missing",
        "extra_forbidden": "unknown key",
        "string_type": "must be a string",
        "int_type": "must be an integer",
        "bool_type": "must be true or false",
        "tuple_type": "must be a list",
        "model_type": "must be a table",
        "dict_type": "must be a table",
    }
    if kind in messages:
        return messages[kind]
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        symbol = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}[kind]
        bound = next(iter(ctx.values()))
        return f"must be {symbol} {bound}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}"
    if kind == "string_pattern_mismatch":
        return f"has characters that are not allowed (pattern {ctx.get('pattern')})"
    if kind in ("too_short", "string_too_short"):
        return "must not be empty"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return error["msg"]


def _shape_errors(exc: ValidationError) -> list[tuple[str, str]]:
    problems: dict[str, str] = {}
    for error in exc.errors():
        # A union reports once per alternative, under a tag such as "constrained-int": drop the tag
        # and keep the first message.
        loc = [part for part in error["loc"] if not (isinstance(part, str) and re.search(r"[^a-z0-9_]", part))]
        problems.setdefault(_key_path(loc), _shape_message(error))
    return list(problems.items())


# --- loading -------------------------------------------------------------------------------------


def parse_rubric(text: str, source: str = "<rubric>") -> Rubric:
    """Parse and validate a rubric's TOML text; raise :class:`RubricError` naming every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RubricError([f"{source}: not valid TOML: {exc}"]) from None
    try:
        rubric = Rubric.model_validate(data)
    except ValidationError as exc:
        raise RubricError([f"{source}: {path}: {message}" for path, message in _shape_errors(exc)]) from None
    problems = _meaning_problems(rubric)
    if problems:
        raise RubricError([f"{source}: {path}: {message}" for path, message in problems])
    rubric._text = text
    rubric._sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    rubric._source = source
    return rubric


def load_rubric(path: str | Path) -> Rubric:
    """Read and validate one rubric file; the file's path as given names it in every error."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RubricError([f"{path}: no such file"]) from None
    except UnicodeDecodeError:
        raise RubricError([f"{path}: not UTF-8 text"]) from None
    except OSError as exc:
        raise RubricError([f"{path}: cannot be read ({exc.strerror})"]) from None
    return parse_rubric(text, str(path))


def check_rubric_files(paths: Iterable[str | Path]) -> list[str]:
    """Validate several files; return every problem, one line each (empty when all are valid)."""
    errors: list[str] = []
    slugs: dict[str, str] = {}
    for path in paths:
        try:
            rubric = load_rubric(path)
        except RubricError as exc:
            errors += exc.errors
            continue
        if rubric.slug in slugs:
            errors.append(f"{path}: contest.slug: {rubric.slug!r} is already used by {slugs[rubric.slug]}")
        slugs.setdefault(rubric.slug, str(path))
    return errors


def load_rubric_directory(directory: str | Path) -> list[Rubric]:
    """Load every ``*.toml`` in a directory (sorted); raise one :class:`RubricError` for all problems."""
    paths = sorted(Path(directory).glob("*.toml"))
    errors = check_rubric_files(paths)
    if errors:
        raise RubricError(errors)
    return [load_rubric(path) for path in paths]
