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
    kind: Literal["work", "skills", "collection"]
    """``collection``: reports collected by a deadline (:class:`CollectionSpec`), never judged or ranked."""
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


PASS_CHECK = Check(key="passes", label="Passes to the next round", rule="majority")
"""The one question of a pass/fail round's sheet; the label is an English msgid, shown translated
(``judging.services.rounds.rubric_for_assignment``)."""


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


class Figure(_Spec):
    """A named whole number an organisation reports (events held, people reached): 0 up to ``max``."""

    key: Key
    label: Label
    max: Annotated[StrictInt, Field(ge=1)] = 1_000_000_000
    required: StrictBool = True
    unit: StrictStr = ""
    """How the number is counted (场, 人次), shown beside the box and in the exports' headers."""


class CollectionSpec(_Spec):
    """What a ``kind = "collection"`` contest collects from each expected organisation: one report with the
    ``[entry]`` text fields, these figures, documents and photos (docs/rubric-reports.md)."""

    organizations: Annotated[tuple[Literal["district", "industry", "company", "grassroots"], ...], Field(min_length=1)]
    """The kinds of organisation that must report: every active organisation of these kinds is expected."""
    figures: tuple[Figure, ...] = ()
    max_documents: Annotated[StrictInt, Field(ge=0, le=50)] = 5
    max_photos: Annotated[StrictInt, Field(ge=0, le=100)] = 20


class AdvanceSpec(_Spec):
    """How a round's entries go on to the next round: exactly one of the four rules.

    ``top``: the best N by the round's result; ``share``: the best ⌈share × ranked entries⌉; ``min_score``:
    every entry whose result (a final score, or a number of passes in a pass/fail round) is at least
    this; ``pick``: the organiser picks, with a reason for each picked entry. Ties at the boundary of
    ``top`` and ``share`` never split: every entry sharing the last place that advances advances too.
    """

    top: Annotated[StrictInt, Field(ge=1)] | None = None
    share: Annotated[Number, Field(gt=0, le=1)] | None = None
    min_score: Annotated[Number, Field(ge=0)] | None = None
    pick: StrictBool = False
    """``true``: the organiser picks; ``false`` (the default) is the same as leaving it out."""


class RoundSpec(_Spec):
    """One judging round (初评, 终评 …): its own panel, its mode, its assignment and how entries advance.

    ``mode = "scored"``: judges score the round's criteria (``criteria``/``aggregation``, else the
    rubric's own); ``mode = "pass_fail"``: each judge passes or fails each entry, and the round ranks by
    the number of passes. Every round but the last has an ``advance`` rule; the last round's result is
    the contest's result and gets the ``[[awards]]``.
    """

    key: Key
    label: Label
    mode: Literal["scored", "pass_fail"]
    judges_per_entry: JudgesPerEntry | None = None
    """Defaults to ``assignment.judges_per_entry``."""
    criteria: tuple[Criterion, ...] = ()
    aggregation: AggregationSpec | None = None
    advance: AdvanceSpec | None = None


class VoteBand(_Spec):
    """A band of the public vote's ``rank_bands`` normalisation: entries whose vote rank is at most
    ``up_to_rank`` (and above the previous band's) get ``points`` on the experts' points scale."""

    up_to_rank: Annotated[StrictInt, Field(ge=1)]
    points: Annotated[Number, Field(ge=0)]


class VoteFlagsSpec(_Spec):
    """When a pattern of one entry's counted votes is suspicious enough to flag for the organiser
    (:func:`judging.scoring.votes.detect_rigging`); the defaults suit a city-wide vote."""

    burst_min: Annotated[StrictInt, Field(ge=1)] = 10
    """``burst``: an hour with at least this many votes …"""
    burst_factor: Annotated[Number, Field(ge=1)] = Decimal(5)
    """… and more than this many times the entry's own mean per hour over the rest of its history."""
    group_min: Annotated[StrictInt, Field(ge=1)] = 10
    """``network`` / ``device``: one network prefix or device signature gives at least this many votes …"""
    group_share: Annotated[Number, Field(gt=0, le=1)] = Decimal("0.3")
    """… and at least this share of the entry's votes."""
    regular_run: Annotated[StrictInt, Field(ge=3)] = 10
    """``regular``: this many consecutive votes (at least 3: two intervals) …"""
    regular_cv: Annotated[Number, Field(gt=0, le=1)] = Decimal("0.1")
    """… whose intervals' coefficient of variation is below this."""


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
    flags: VoteFlagsSpec = VoteFlagsSpec()
    """The rigging thresholds (``[vote.flags]``); every key optional."""


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
    collection: CollectionSpec | None = None
    rounds: tuple[RoundSpec, ...] = ()
    """Judging rounds in order (screening → final); none: one implicit round judged by the whole panel."""
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
    def is_collection(self) -> bool:
        """A collection of reports: nothing is judged or ranked."""
        return self.contest.kind == "collection"

    @property
    def max_total(self) -> Decimal:
        """The highest possible sheet total: Σ weight × max over the criteria."""
        return sum((c.weight * c.max for c in self.criteria), Decimal(0))

    def criterion(self, key: str) -> Criterion:
        for criterion in self.criteria:
            if criterion.key == key:
                return criterion
        raise KeyError(key)

    def round(self, key: str) -> RoundSpec:
        for spec in self.rounds:
            if spec.key == key:
                return spec
        raise KeyError(key)

    def for_round(self, key: str) -> Rubric:
        """The rubric as one round's judges and engine see it: the round's criteria, aggregation and
        ``judges_per_entry`` in place of the rubric's own (which they default to). A pass/fail round has
        no criteria and one check, :data:`PASS_CHECK`, that each judge answers. Not re-validated: the
        round was checked with the rubric."""
        spec = self.round(key)
        assignment = self.assignment
        if assignment is not None and spec.judges_per_entry is not None:
            assignment = assignment.model_copy(update={"judges_per_entry": spec.judges_per_entry})
        if spec.mode == "pass_fail":
            update: dict[str, Any] = {"criteria": (), "checks": (PASS_CHECK,), "awards": ()}
        else:
            update = {"criteria": spec.criteria or self.criteria, "aggregation": spec.aggregation or self.aggregation}
            if spec is not self.rounds[-1]:
                update["awards"] = ()
        rubric = self.model_copy(update={**update, "assignment": assignment, "rounds": ()})
        rubric._text, rubric._sha256, rubric._source = self._text, self._sha256, self._source
        return rubric


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
    elif kind == "collection":
        problems += _collection_problems(rubric)
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
    if rubric.collection and kind != "collection":
        problems.append(("collection", 'only for contest.kind = "collection"'))
    if rubric.vote:
        problems += _vote_problems(rubric, rubric.vote)
    problems += _round_problems(rubric)
    return problems


_NOT_COLLECTED = (
    "nomination",
    "categories",
    "criteria",
    "checks",
    "assignment",
    "aggregation",
    "awards",
    "parts",
    "ranking",
)
"""Sections a collection has no use for: nothing is judged, ranked, nominated or awarded."""


def _collection_problems(rubric: Rubric) -> list[tuple[str, str]]:
    """A collection needs ``[collection]`` and a document ``[entry]`` with one report per organisation; its
    figure keys must differ from the entry fields' keys (both are stored among the report's fields)."""
    problems: list[tuple[str, str]] = []
    if rubric.collection is None:
        problems.append(("collection", 'required when contest.kind = "collection"'))
    if rubric.entry is None:
        problems.append(("entry", 'required when contest.kind = "collection"'))
    else:
        if rubric.entry.media != "document":
            problems.append(("entry.media", 'must be "document" when contest.kind = "collection"'))
        if rubric.entry.quota_per_organization != 1:
            problems.append(("entry.quota_per_organization", 'must be 1 when contest.kind = "collection"'))
        if rubric.entry.entrant_kinds:
            problems.append(("entry.entrant_kinds", "not used by a collection: set collection.organizations"))
    for name in _NOT_COLLECTED:
        if getattr(rubric, name):
            problems.append((name, 'not used when contest.kind = "collection" (nothing is judged or ranked)'))
    if rubric.feedback.show != "none":
        problems.append(("feedback.show", 'entrants see feedback only when contest.kind = "work"'))
    if rubric.collection is not None:
        problems += _duplicates("collection.figures", rubric.collection.figures)
        field_keys = {field.key for field in rubric.entry.fields} if rubric.entry else set()
        for index, figure in enumerate(rubric.collection.figures):
            if figure.key in field_keys:
                problems.append((f"collection.figures[{index}].key", f"{figure.key!r} is also an entry field's key"))
    return problems


def _round_problems(rubric: Rubric) -> list[tuple[str, str]]:
    """Problems of ``[[rounds]]``: keys, the advance rule of every round but the last, and each scored
    round's own criteria and aggregation checked like the rubric's."""
    if not rubric.rounds:
        return []
    problems = _duplicates("rounds", rubric.rounds)
    if rubric.contest.kind != "work":
        problems.append(("rounds", 'only for contest.kind = "work"'))
    if len(rubric.rounds) < 2:
        problems.append(("rounds", "needs at least two rounds (a contest without [[rounds]] is judged in one)"))
    last = len(rubric.rounds) - 1
    for index, spec in enumerate(rubric.rounds):
        problems += _round_spec_problems(rubric, spec, f"rounds[{index}]", last=index == last)
    return problems


def _round_spec_problems(rubric: Rubric, spec: RoundSpec, path: str, *, last: bool) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if spec.mode == "pass_fail":
        for key in ("criteria", "aggregation"):
            if getattr(spec, key):
                problems.append((f"{path}.{key}", 'not used when mode = "pass_fail"'))
        if last:
            problems.append((f"{path}.mode", 'the last round gets the awards, so it must be "scored"'))
    criteria = spec.criteria or rubric.criteria
    problems += [(f"{path}.{p}", m) for p, m in _duplicates("criteria", spec.criteria)]
    for index, criterion in enumerate(spec.criteria):
        c_path = f"{path}.criteria[{index}]"
        if _decimal_places(criterion.step) > 2:
            problems.append((f"{c_path}.step", "must have at most two decimals"))
        elif criterion.max % criterion.step != 0:
            problems.append((f"{c_path}.max", f"must be a multiple of step ({format_points(criterion.step)})"))
    aggregation = spec.aggregation
    judges_per_entry = spec.judges_per_entry
    min_judges = (aggregation or rubric.aggregation or AggregationSpec(across_judges="mean")).min_judges
    if spec.mode == "scored" and isinstance(judges_per_entry, int) and judges_per_entry < min_judges:
        problems.append(
            (f"{path}.judges_per_entry", f"must be at least the round's aggregation.min_judges ({min_judges})")
        )
    if aggregation is not None:
        keys = {c.key for c in criteria}
        for index, key in enumerate(aggregation.tie_break):
            if key not in keys:
                problems.append((f"{path}.aggregation.tie_break[{index}]", f"unknown criterion {key!r}"))
        if aggregation.across_judges == "trimmed_mean":
            if aggregation.min_judges <= 2 * aggregation.trim:
                problems.append(
                    (
                        f"{path}.aggregation.min_judges",
                        f"must be greater than 2 × trim ({2 * aggregation.trim}) for trimmed_mean",
                    )
                )
        elif aggregation.trim:
            problems.append((f"{path}.aggregation.trim", 'applies only to across_judges = "trimmed_mean"'))
    advance = spec.advance
    if last:
        if advance is not None:
            problems.append((f"{path}.advance", "the last round has no advance rule: its result gets the awards"))
        return problems
    if advance is None:
        problems.append((f"{path}.advance", "required for every round but the last"))
        return problems
    given = [name for name in ("top", "share", "min_score") if getattr(advance, name) is not None]
    given += ["pick"] if advance.pick else []
    if len(given) != 1:
        problems.append(
            (f"{path}.advance", f"set exactly one of top, share, min_score, pick (found {', '.join(given) or 'none'})")
        )
    if advance.min_score is not None:
        if spec.mode == "pass_fail":
            if advance.min_score != advance.min_score.to_integral_value():
                problems.append((f"{path}.advance.min_score", "counts passes in a pass/fail round: a whole number"))
        else:
            highest = sum((c.weight * c.max for c in criteria), Decimal(0))
            if advance.min_score > highest:
                problems.append(
                    (f"{path}.advance.min_score", f"exceeds the highest possible total ({format_points(highest)})")
                )
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
