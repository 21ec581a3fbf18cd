"""Which entries are ranked, and why the others are not: the pass/fail checks and the sheet counts.

Pure. An entry is **excluded** when one of the rubric's checks fails by its rule
(:func:`~judging.scoring.rules.check_passes`), and **not ranked** when it has fewer valid sheets than
``min_judges`` (or, for ``trimmed_mean``, not more than 2 × ``trim``). The outcome is typed: a
:class:`RankStatus` per entry and, for each entry that is not ranked, its :class:`NotRankedReason`\\ s
with their numbers as data. The words for them live with the callers (the web's labels, the exports,
the command line), in the user's language.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd

from judging.rubric import Rubric
from judging.scoring.rules import check_passes
from judging.scoring.score_table import ScoreTable


class RankStatus(StrEnum):
    """Whether an entry is in the ranking. The value is a stable machine word."""

    RANKED = "ranked"
    EXCLUDED = "excluded"
    """A pass/fail check failed."""
    NOT_RANKED = "not_ranked"
    """Too few valid sheets to compute a score by the rubric's rules."""


RANK_STATUS_CODES: tuple[RankStatus, ...] = (RankStatus.RANKED, RankStatus.EXCLUDED, RankStatus.NOT_RANKED)
"""The status of each code in :func:`eligibility`'s array: ``RANK_STATUS_CODES[code]``."""


class ReasonKind(StrEnum):
    """Why an entry is not ranked. The value is a stable machine word."""

    FAILED_CHECK = "failed_check"
    """A pass/fail check failed by its rule (``check``, ``rule``, ``passes`` of ``answers``)."""
    TOO_FEW_SHEETS = "too_few_sheets"
    """Fewer valid sheets than ``min_judges`` (``valid_sheets`` of ``required``)."""
    TOO_FEW_TO_TRIM = "too_few_to_trim"
    """``trimmed_mean`` drops ``trim`` sheets at each end and needs more than 2 × trim valid sheets."""


@dataclass(frozen=True)
class NotRankedReason:
    """One reason an entry is not ranked, with the numbers behind it."""

    kind: ReasonKind
    check: str = ""
    """FAILED_CHECK: the check's key."""
    check_label: str = ""
    """FAILED_CHECK: the check's label, as the rubric gives it."""
    rule: str = ""
    """FAILED_CHECK: ``majority``, ``all`` or ``any``."""
    passes: int = 0
    """FAILED_CHECK: how many judges answered pass."""
    answers: int = 0
    """FAILED_CHECK: how many judges answered the check."""
    valid_sheets: int = 0
    """TOO_FEW_*: the entry's valid sheets."""
    required: int = 0
    """TOO_FEW_SHEETS: ``min_judges``; TOO_FEW_TO_TRIM: 2 × trim + 1."""
    trim: int = 0
    """TOO_FEW_TO_TRIM: the sheets dropped at each end."""
    incomplete_sheets: int = 0
    """TOO_FEW_*: the incomplete sheets that were dropped before counting."""

    def to_json_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"reason": self.kind.value}
        if self.kind is ReasonKind.FAILED_CHECK:
            data.update(check=self.check, rule=self.rule, passes=self.passes, answers=self.answers)
        else:
            data.update(valid_sheets=self.valid_sheets, required=self.required)
            if self.kind is ReasonKind.TOO_FEW_TO_TRIM:
                data["trim"] = self.trim
            if self.incomplete_sheets:
                data["incomplete_sheets"] = self.incomplete_sheets
        return data


def eligibility(
    table: ScoreTable,
    rubric: Rubric,
    checks: pd.DataFrame | None,
    n_valid: np.ndarray,
    sheet_entry: np.ndarray,
    sheet_valid: np.ndarray,
) -> tuple[dict[int, tuple[NotRankedReason, ...]], np.ndarray]:
    """The reasons of each entry that is not ranked (by entry index), and every entry's status code
    (see :data:`RANK_STATUS_CODES`): 0 ranked, 1 excluded (a check failed), 2 not ranked (too few
    valid sheets). A failed check wins over too few sheets; both are listed, checks first."""
    spec = rubric.aggregation
    assert spec is not None
    n_entries = len(table.entries)
    failed: dict[int, list[NotRankedReason]] = {}
    if checks is not None and rubric.checks:
        for entry, reason in _failed_checks(checks, rubric, table.entries):
            failed.setdefault(entry, []).append(reason)
    too_few = n_valid < spec.min_judges
    if spec.across_judges == "trimmed_mean":
        too_few_to_trim = ~too_few & (n_valid <= 2 * spec.trim)
    else:
        too_few_to_trim = np.zeros(n_entries, dtype=bool)
    incomplete = np.bincount(sheet_entry[~sheet_valid], minlength=n_entries)
    status = np.where(too_few | too_few_to_trim, 2, 0).astype(np.int8)
    status[list(failed)] = 1
    reasons: dict[int, tuple[NotRankedReason, ...]] = {}
    for e in np.flatnonzero(status).tolist():
        found = failed.get(e, [])
        if too_few[e]:
            found.append(
                NotRankedReason(
                    ReasonKind.TOO_FEW_SHEETS,
                    valid_sheets=int(n_valid[e]),
                    required=spec.min_judges,
                    incomplete_sheets=int(incomplete[e]),
                )
            )
        if too_few_to_trim[e]:
            found.append(
                NotRankedReason(
                    ReasonKind.TOO_FEW_TO_TRIM,
                    valid_sheets=int(n_valid[e]),
                    required=2 * spec.trim + 1,
                    trim=spec.trim,
                    incomplete_sheets=int(incomplete[e]),
                )
            )
        reasons[e] = tuple(found)
    return reasons, status


def _failed_checks(checks: pd.DataFrame, rubric: Rubric, entries: np.ndarray) -> Iterator[tuple[int, NotRankedReason]]:
    """(entry index, reason) for every check an entry fails; see :func:`check_passes`."""
    missing = [name for name in ("entry", "judge", "check", "passed") if name not in checks.columns]
    if missing:
        raise ValueError(f"checks: missing column {missing[0]!r} (entry, judge, check, passed)")
    keys = [check.key for check in rubric.checks]
    entry_index = pd.Index(entries.astype(str))
    entry = entry_index.get_indexer(checks["entry"].astype(str).str.strip())
    check = pd.Index(keys).get_indexer(checks["check"].astype(str).str.strip())
    unknown = np.flatnonzero(check < 0)
    if len(unknown):
        value = checks["check"].iloc[unknown[0]]
        raise ValueError(f"checks: row {unknown[0] + 2}: unknown check {value!r} (expected one of {', '.join(keys)})")
    passed = np.array([_passed(value, row + 2) for row, value in enumerate(checks["passed"])], dtype=bool)
    duplicated = checks.assign(_e=entry, _c=check, _j=checks["judge"].astype(str).str.strip()).duplicated(
        ["_e", "_j", "_c"]
    )
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise ValueError(f"checks: row {row + 2}: duplicate answer of one judge to one check for one entry")
    known = entry >= 0  # answers about entries without scores do not matter
    flat = entry[known] * len(keys) + check[known]
    answers = np.bincount(flat, minlength=len(entries) * len(keys)).reshape(len(entries), len(keys))
    passes = np.bincount(flat, weights=passed[known], minlength=len(entries) * len(keys))
    passes = passes.astype(np.int64).reshape(len(entries), len(keys))
    for k, definition in enumerate(rubric.checks):
        verdict = check_passes(passes[:, k], answers[:, k], definition.rule)
        for e in np.flatnonzero(~verdict):
            yield (
                int(e),
                NotRankedReason(
                    ReasonKind.FAILED_CHECK,
                    check=definition.key,
                    check_label=definition.label,
                    rule=definition.rule,
                    passes=int(passes[e, k]),
                    answers=int(answers[e, k]),
                ),
            )


_PASS_WORDS = {"true", "yes", "pass", "passed", "y", "1", "是", "通过", "符合"}
_FAIL_WORDS = {"false", "no", "fail", "failed", "n", "0", "否", "不通过", "不符合"}


def _passed(value: object, row: int) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _PASS_WORDS:
        return True
    if text in _FAIL_WORDS:
        return False
    raise ValueError(f"checks: row {row}: passed {value!r} is neither pass nor fail")
