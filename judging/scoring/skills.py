"""The skills-competition engine (``contest.kind = "skills"``): contestants ranked on weighted parts,
outstanding collectives, and skill-level certificates.

Pure: DataFrames in, a frozen result out; no Flask, no database, no sentences (what decided a place
is a :class:`Decision`, a missing part a :class:`MissingPart`, an award note an
:class:`~judging.scoring.awards.AwardNote`; the callers word them). Each rule is one function whose
docstring states it, pinned by ``tests/unit/test_skills.py``. Arithmetic is exact (``Fraction``), and
a score is rounded half up (四舍五入) once, at the end, to ``ranking.decimals``.

A part with ``source = "judged"`` is scored by a panel of judges, one task entry per contestant,
with the rubric's ``criteria`` and ``[aggregation]``: :func:`judging_rubric` is the rubric the judges'
engine (:func:`judging.scoring.ranking.rank_entries`) reads for those tasks, and
:func:`judged_part_score` turns a task's final score into the contestant's part score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

import numpy as np
import pandas as pd

from judging.rubric import TIME_TIE_BREAK, Category, Level, Part, Rubric, format_points
from judging.scoring.awards import AwardNote, allocate_awards
from judging.scoring.rules import DecidedBy

MISSING_TIME = 10**12
"""Stands in for an unknown time used: ranks after every known time in a ``time`` tie-break."""


class SkillsInputError(ValueError):
    """The contestants or part scores do not fit the rubric; the message names the row and value."""


def round_half_up(value: Fraction, decimals: int) -> Decimal:
    """``value`` rounded **half up** (四舍五入) to ``decimals`` places, exactly: 84.125 → 84.13."""
    scale = 10**decimals
    units = (value * scale * 2 + 1) // 2
    return Decimal(int(units)).scaleb(-decimals)


def judged_parts(rubric: Rubric) -> tuple[Part, ...]:
    """The parts of a skills rubric that judges score (``source = "judged"``), in rubric order."""
    return tuple(part for part in rubric.parts if part.source == "judged")


def judging_rubric(rubric: Rubric) -> Rubric:
    """The rubric the judges' engine reads for the task entries of a skills contest's judged parts.

    The same criteria, checks, assignment and aggregation; ``kind = "work"``; one category per judged
    part (a task entry's category is its part's key), so that each part's tasks are aggregated and
    ranked apart; no awards, since the awards of a skills contest go to contestants, not to tasks.
    The text and hash stay those of the skills rubric, which is what the sheets were scored against.
    """
    parts = judged_parts(rubric)
    if rubric.contest.kind != "skills" or not parts:
        raise ValueError(f'{rubric.slug}: no part has source = "judged"')
    return rubric.model_copy(
        update={
            "contest": rubric.contest.model_copy(update={"kind": "work"}),
            "categories": tuple(Category(key=part.key, label=part.label) for part in parts),
            "awards": (),
            "parts": (),
            "ranking": None,
            "collectives": None,
            "levels": (),
        }
    )


def judged_part_score(panel_score: Decimal, part: Part, max_total: Decimal) -> Fraction:
    """A contestant's score for a **judged part**: the final score of the contestant's task as the
    judges' engine gives it (aggregated across judges and rounded half up by ``[aggregation]``), put
    onto the part's scale: ``panel_score × part.max ÷ max_total``, where ``max_total`` is the highest
    possible sheet total (Σ weight × max over the criteria).

    When the criteria add up to the part's max (the usual case) the part score *is* the panel's score.
    Otherwise the scaling is kept exact, so no rounding is added: the weighted final score is rounded
    once, as always. A z-score panel score can lie outside the scale; it is held to 0…part.max.
    """
    scaled = Fraction(panel_score) * Fraction(part.max) / Fraction(max_total)
    return min(max(scaled, Fraction(0)), Fraction(part.max))


def weighted_final(scores: Mapping[str, Fraction], rubric: Rubric) -> Fraction:
    """A contestant's **final score** = Σ weight × (part score ÷ part max × 100) over the parts.

    Each part is first put on a 100-point scale, so that a part marked out of 200 weighs what its
    weight says; with every part out of 100 this is simply Σ weight × score (theory 30 % + practical
    70 %). The weights add up to 1 (the rubric validator enforces it), so the final is out of 100.
    """
    return sum(
        (Fraction(part.weight) * scores[part.key] * 100 / Fraction(part.max) for part in rubric.parts), Fraction(0)
    )


def time_over_parts(times: Mapping[str, int | None], timed_parts: set[str]) -> int | None:
    """A contestant's time used: the sum of its times in the timed parts; unknown (None) when there is no
    timed part or the contestant lacks a time in one of them. A part nobody was timed in (a theory exam
    without a clock) does not make everyone's time unknown."""
    if not timed_parts:
        return None
    seconds = [times.get(part) for part in sorted(timed_parts)]
    return None if None in seconds else sum(second or 0 for second in seconds)


def ranking_key(
    final: Decimal, scores: Mapping[str, Fraction], time_used: int | None, tie_break: Sequence[str]
) -> tuple:
    """The **ranking** key, compared in descending order of preference: the final score rounded to
    ``decimals``, then each ``tie_break`` in order — a part key compares that part's score (higher
    first), ``"time"`` compares the total time used (less first; unknown time last)."""
    key: list[object] = [-final]
    for name in tie_break:
        if name == TIME_TIE_BREAK:
            key.append(time_used if time_used is not None else MISSING_TIME)
        else:
            key.append(-scores[name])
    return tuple(key)


def competition_ranks(keys: Sequence[tuple]) -> list[int]:
    """**Shared ranks**, competition style, for keys already in ranking order: equal keys share a rank,
    any other contestant's rank is its 1-based position: 1, 2, 2, 4."""
    ranks: list[int] = []
    for position, key in enumerate(keys):
        ranks.append(ranks[-1] if position and key == keys[position - 1] else position + 1)
    return ranks


@dataclass(frozen=True)
class Decision:
    """What set a contestant apart from the one above: the final score, a tie-break (``key``: a part
    key or ``"time"``), or nothing (a shared rank)."""

    by: DecidedBy
    key: str | None = None

    @property
    def machine_word(self) -> str:
        """A stable machine word: ``final_score``, ``tie_break:<key>`` or ``shared_rank``."""
        return f"{self.by.value}:{self.key}" if self.key else self.by.value


@dataclass(frozen=True)
class MissingPart:
    """Why a contestant is not ranked: no score for ``part``; ``reason`` is the caller's own words for
    why (given to :func:`rank_contestants` as ``missing_reasons``), empty when it gave none."""

    part: str
    reason: str = ""


def deciding_reason(keys: Sequence[tuple], position: int, tie_break: Sequence[str]) -> Decision | None:
    """What set a contestant apart from the one above: the final score, the first ``tie_break`` that
    differs, or a shared rank when every key is equal (None for the first)."""
    if position == 0:
        return None
    above, own = keys[position - 1], keys[position]
    for index, (a, b) in enumerate(zip(above, own, strict=True)):
        if a != b:
            if index == 0:
                return Decision(DecidedBy.FINAL_SCORE)
            return Decision(DecidedBy.TIE_BREAK, tie_break[index - 1])
    return Decision(DecidedBy.SHARED_RANK)


def certificate_level(levels: Sequence[Level], declared: str | None, final: Decimal, rank: int) -> str | None:
    """The **certificate** a ranked contestant earns: the highest level (levels are listed highest
    first) that the declared eligibility covers and whose conditions hold.

    Eligibility declared for a level covers that level and every lower one, never a higher one; no
    declaration covers nothing. A level's conditions all have to hold: ``min_score`` (the final score
    as displayed is at least it) and ``max_rank`` (the rank is at most it)."""
    keys = [level.key for level in levels]
    if declared not in keys:
        return None
    for level in levels[keys.index(declared) :]:
        if level.min_score is not None and final < level.min_score:
            continue
        if level.max_rank is not None and rank > level.max_rank:
            continue
        return level.key
    return None


def collective_value(finals: Sequence[Fraction], rule: str, k: int) -> Fraction:
    """An organisation's **collective score** from its contestants' exact final scores:
    ``best_k_sum`` adds its best k, ``best_k_mean`` averages them (fewer than k: all it has)."""
    best = sorted(finals, reverse=True)[:k]
    total = sum(best, Fraction(0))
    return total if rule == "best_k_sum" else total / len(best)


@dataclass(frozen=True)
class SkillsResult:
    """Ranked contestants, the ones not ranked with why, and the organisations ranked as collectives.

    ``table``: rank, contestant, name, organization, final_score, award, one column per part, time_used,
    certificate, decided_by (a :class:`Decision`, None for the first). ``excluded``: contestant, name,
    organization, reasons (a tuple of :class:`MissingPart`). ``collectives``: rank, organization, value,
    contestants (counted), honoured (the collective award's name or ""). ``notes``: awards given beyond
    their places because of a shared rank.
    """

    table: pd.DataFrame
    excluded: pd.DataFrame
    collectives: pd.DataFrame
    notes: tuple[AwardNote, ...]
    decimals: int


def _exact(value: object, where: str) -> Fraction:
    if isinstance(value, Fraction):
        return value
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise SkillsInputError(f"{where}: score {value!r} is not a number") from None
    if not number.is_finite():
        raise SkillsInputError(f"{where}: score {value!r} is not a number")
    return Fraction(number)


def rank_contestants(
    rubric: Rubric,
    contestants: pd.DataFrame,
    part_scores: pd.DataFrame,
    missing_reasons: Mapping[tuple[str, str], str] | None = None,
) -> SkillsResult:
    """Rank a skills contest.

    ``contestants``: columns contestant (a unique id), name, organization, declared_level (may be
    empty). ``part_scores``: contestant, part, score (a number, or an exact ``Fraction`` such as a
    scaled judged part), and optionally time_used (seconds). A contestant's time is the sum over the
    *timed* parts (imported parts for which any contestant has a time: a written theory exam has none),
    unknown if it lacks a time in one of them; judged parts take no time. A contestant missing
    a part is not ranked, and ``excluded`` says which parts it misses, each with
    ``missing_reasons[(contestant, part)]`` when given (the caller's words, passed through). A score
    outside 0…max or a duplicate part raises :class:`SkillsInputError`.
    """
    if rubric.contest.kind != "skills" or rubric.ranking is None:
        raise SkillsInputError(f"{rubric.source}: not a skills rubric")
    decimals = rubric.ranking.decimals
    tie_break = rubric.ranking.tie_break
    parts = {part.key: part for part in rubric.parts}
    people = {str(row.contestant): row for row in contestants.itertuples(index=False)}

    scores: dict[str, dict[str, Fraction]] = {key: {} for key in people}
    times: dict[str, dict[str, int | None]] = {key: {} for key in people}
    has_time = "time_used" in part_scores.columns
    for index, row in enumerate(part_scores.itertuples(index=False), start=1):
        where = f"part scores row {index}"
        contestant, part = str(row.contestant), str(row.part)
        if contestant not in people:
            raise SkillsInputError(f"{where}: unknown contestant {contestant!r}")
        if part not in parts:
            raise SkillsInputError(f"{where}: unknown part {part!r} (expected one of {', '.join(parts)})")
        if part in scores[contestant]:
            raise SkillsInputError(f"{where}: a second {part!r} score for contestant {contestant!r}")
        value = _exact(row.score, where)
        if value < 0 or value > Fraction(parts[part].max):
            raise SkillsInputError(
                f"{where}: score {row.score} for part {part!r} is outside 0 to {format_points(parts[part].max)}"
            )
        scores[contestant][part] = value
        if parts[part].source == "judged":
            continue  # judges score a task's result, not the time it took
        raw_time = getattr(row, "time_used", None) if has_time else None
        times[contestant][part] = None if raw_time is None or pd.isna(raw_time) else int(raw_time)
    timed_parts = {part for by_part in times.values() for part, seconds in by_part.items() if seconds is not None}

    reasons = missing_reasons or {}
    ranked, excluded = [], []
    for key, person in people.items():
        missing = [part for part in parts if part not in scores[key]]
        if missing:
            given = [MissingPart(part, reasons[(key, part)]) for part in missing if (key, part) in reasons]
            given += [MissingPart(part) for part in missing if (key, part) not in reasons]
            excluded.append(
                {
                    "contestant": key,
                    "name": person.name,
                    "organization": person.organization,
                    "reasons": tuple(given),
                }
            )
            continue
        exact = weighted_final(scores[key], rubric)
        final = round_half_up(exact, decimals)
        time_used = time_over_parts(times[key], timed_parts)
        ranked.append((ranking_key(final, scores[key], time_used, tie_break), key, exact, final, time_used))
    ranked.sort(key=lambda item: (item[0], item[1]))
    keys = [item[0] for item in ranked]
    ranks = competition_ranks(keys)

    finals_units = np.array([int(item[3].scaleb(decimals)) for item in ranked], dtype=np.int64)
    allocation = allocate_awards(
        [""] * len(ranked),
        np.array(ranks, dtype=np.int64),
        finals_units,
        [item[1] for item in ranked],
        rubric.awards,
        decimals,
    )
    rows = []
    for position, (item, rank) in enumerate(zip(ranked, ranks, strict=True)):
        _key, contestant, _exact_final, final, time_used = item
        person = people[contestant]
        declared = person.declared_level if isinstance(person.declared_level, str) and person.declared_level else None
        row = {
            "rank": rank,
            "contestant": contestant,
            "name": person.name,
            "organization": person.organization,
            "final_score": final,
            "award": allocation.award[position],
        }
        for part in parts:
            row[part] = round_half_up(scores[contestant][part], 2)
        row.update(
            time_used=time_used,
            certificate=certificate_level(rubric.levels, declared, final, rank),
            decided_by=deciding_reason(keys, position, tie_break),
        )
        rows.append(row)
    table = pd.DataFrame(
        rows,
        columns=[
            "rank",
            "contestant",
            "name",
            "organization",
            "final_score",
            "award",
            *parts,
            "time_used",
            "certificate",
            "decided_by",
        ],
        dtype=object,  # plain Python values: Decimal scores, None for no time or no certificate
    )
    return SkillsResult(
        table=table,
        excluded=pd.DataFrame(excluded, columns=["contestant", "name", "organization", "reasons"]),
        collectives=rank_collectives(rubric, [(people[item[1]].organization, item[2]) for item in ranked]),
        notes=allocation.notes,
        decimals=decimals,
    )


def rank_collectives(rubric: Rubric, finals: Sequence[tuple[str, Fraction]]) -> pd.DataFrame:
    """**Outstanding collectives**: organisations with at least ``min_contestants`` ranked contestants,
    ranked by :func:`collective_value` (rounded half up to ``decimals``, descending, shared ranks
    competition style, ties listed by name); the first ``count`` are honoured, and organisations
    sharing the rank of the last honoured place are all honoured."""
    columns = ["rank", "organization", "value", "contestants", "honoured"]
    spec = rubric.collectives
    if spec is None or rubric.ranking is None:
        return pd.DataFrame(columns=columns)
    by_org: dict[str, list[Fraction]] = {}
    for organization, final in finals:
        by_org.setdefault(organization, []).append(final)
    decimals = rubric.ranking.decimals
    rows = [
        (round_half_up(collective_value(values, spec.rule, spec.k), decimals), organization, min(len(values), spec.k))
        for organization, values in by_org.items()
        if len(values) >= spec.min_contestants
    ]
    rows.sort(key=lambda row: (-row[0], row[1]))
    ranks = competition_ranks([(-row[0],) for row in rows])
    last_honoured = ranks[spec.count - 1] if len(rows) >= spec.count else (ranks[-1] if ranks else 0)
    return pd.DataFrame(
        [
            {
                "rank": rank,
                "organization": organization,
                "value": value,
                "contestants": counted,
                "honoured": spec.name if rank <= last_honoured else "",
            }
            for rank, (value, organization, counted) in zip(ranks, rows, strict=True)
        ],
        columns=columns,
    )
