"""Inter-rater reliability of a panel: how far the judges agree, and how harsh each one is.

Pure (no Flask, no database): a long table of sheet totals ``entry, judge, total`` in, a
JSON-serialisable dict out (see :func:`reliability_report`). This is the one float path of the
scoring package: the results are statistics about the panel, never a score or a rank, so the exact
arithmetic and half-up rounding of DESIGN.md §3 do not apply here.

The agreement statistics (ICC, Kendall's W) need every judge to have scored every entry, so they are
computed on the *complete block* of the panel chosen by :func:`complete_block`; the per-judge
statistics use every sheet (:func:`judge_statistics`).
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Hashable
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

COLUMNS = ("entry", "judge", "total")
ICC_FORMS = ("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")
DEFAULT_DECIMALS = 4

# A plain decimal number, optionally signed, optionally with an exponent. Stricter than float(),
# which would also accept "nan", "inf" and "1_000".
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def validate_totals(totals: pd.DataFrame) -> pd.DataFrame:
    """Check a long table of sheet totals and return it as ``entry, judge, value`` (float).

    Rules: the columns ``entry``, ``judge`` and ``total`` must exist; every row needs an entry and a
    judge label; an (entry, judge) pair may appear once; a total must be a finite number given as an
    int, float, :class:`~decimal.Decimal` or numeric string (booleans, blanks, ``"nan"`` and
    ``"inf"`` are refused). Any breach raises :class:`ValueError` naming the column, or the entry,
    judge and value concerned. Extra columns are ignored.
    """
    missing = [column for column in COLUMNS if column not in totals.columns]
    if missing:
        raise ValueError(f"totals is missing column(s): {', '.join(missing)} (expected columns: {', '.join(COLUMNS)})")

    for label in ("entry", "judge"):
        blank = totals[label].isna()
        if blank.any():
            raise ValueError(f"missing {label} label in row {totals.index[blank.argmax()]!r}")

    duplicated = totals.duplicated(subset=["entry", "judge"], keep="first")
    if duplicated.any():
        row = totals.loc[duplicated].iloc[0]
        raise ValueError(f"duplicate total for entry {_plain(row['entry'])!r} and judge {_plain(row['judge'])!r}")

    entries, judges, raw = (totals[column].to_numpy(dtype=object) for column in COLUMNS)
    if pd.api.types.is_numeric_dtype(totals["total"]) and not pd.api.types.is_bool_dtype(totals["total"]):
        values = totals["total"].to_numpy(dtype=float)  # fast path; only non-finite values need a closer look
        for row in np.flatnonzero(~np.isfinite(values)):
            _to_float(raw[row], entries[row], judges[row])
    else:
        values = np.array([_to_float(*row) for row in zip(raw, entries, judges, strict=True)], dtype=float)
    return pd.DataFrame({"entry": entries, "judge": judges, "value": values})


def complete_block(frame: pd.DataFrame) -> tuple[list[Hashable], list[Hashable]]:
    """Choose the complete part of the panel: the entries and judges on which ICC and W are computed.

    Rule: the block is a set of entries and a set of judges such that every judge in it scored every
    entry in it. Among the candidate blocks below, the one with the most totals (entries × judges)
    wins, preferring blocks of at least 2 entries and 2 judges, then more judges, then the earlier
    candidate. Candidates: order the judges by the number of entries they scored (most first, ties in
    order of first appearance); for each prefix of that order, take the entries every judge of the
    prefix scored, then every judge (in or out of the prefix) who scored all of those entries.

    So a fully scored table is its own block; an entry that one judge missed is dropped (it costs
    one total per judge, while dropping the judge would cost one total per entry); a judge who
    scored only a handful of entries is dropped rather than shrinking the block to that handful.
    Entries and judges are returned in order of first appearance.
    """
    entry_codes, entry_labels = pd.factorize(frame["entry"])  # labels in order of first appearance
    judge_codes, judge_labels = pd.factorize(frame["judge"])
    entries, judges = list(entry_labels), list(judge_labels)
    scored = np.zeros((len(entries), len(judges)), dtype=bool)
    scored[entry_codes, judge_codes] = True

    by_count = np.argsort(-scored.sum(axis=0), kind="stable")  # stable: ties keep first appearance
    best: tuple[tuple[bool, int, int], np.ndarray, np.ndarray] | None = None
    for size in range(1, len(judges) + 1):
        in_entries = np.asarray(scored[:, by_count[:size]].all(axis=1))
        if not in_entries.any():
            break  # longer prefixes only lose entries
        in_judges = np.asarray(scored[in_entries].all(axis=0))
        n_entries, n_judges = int(in_entries.sum()), int(in_judges.sum())
        key = (n_entries >= 2 and n_judges >= 2, n_entries * n_judges, n_judges)
        if best is None or key > best[0]:
            best = (key, in_entries, in_judges)
    if best is None:
        return [], []
    _, in_entries, in_judges = best
    return [e for e, kept in zip(entries, in_entries, strict=True) if kept], [
        j for j, kept in zip(judges, in_judges, strict=True) if kept
    ]


def anova_mean_squares(matrix: np.ndarray) -> dict[str, float]:
    """Mean squares of the two-way ANOVA of an n entries × k judges matrix (Shrout & Fleiss 1979, Table 1).

    With x̄ᵢ. the mean of entry i, x̄.ⱼ the mean of judge j and x̄ the grand mean:

    - BMS (between entries)  = k Σᵢ (x̄ᵢ. − x̄)² / (n − 1)
    - WMS (within entries)   = Σᵢⱼ (xᵢⱼ − x̄ᵢ.)² / (n (k − 1))
    - JMS (between judges)   = n Σⱼ (x̄.ⱼ − x̄)² / (k − 1)
    - EMS (residual)         = Σᵢⱼ (xᵢⱼ − x̄ᵢ. − x̄.ⱼ + x̄)² / ((n − 1)(k − 1))

    A sum of squares within float rounding noise of zero (as for a matrix of one repeated value)
    is taken as exactly zero. Needs n ≥ 2 and k ≥ 2.
    """
    n, k = matrix.shape
    grand = matrix.mean()
    entry_means = matrix.mean(axis=1, keepdims=True)
    judge_means = matrix.mean(axis=0, keepdims=True)
    # Deviations of floats of magnitude |x| carry noise of about 2⁻⁵² |x|; sums of squares below a
    # generous multiple of that noise are zero spread, not a tiny one.
    noise = matrix.size * (64 * np.finfo(float).eps * float(np.abs(matrix).max())) ** 2

    def sum_of_squares(deviations: np.ndarray) -> float:
        total = float(np.square(deviations).sum())
        return 0.0 if total <= noise else total

    return {
        "BMS": k * sum_of_squares(entry_means - grand) / (n - 1),
        "WMS": sum_of_squares(matrix - entry_means) / (n * (k - 1)),
        "JMS": n * sum_of_squares(judge_means - grand) / (k - 1),
        "EMS": sum_of_squares(matrix - entry_means - judge_means + grand) / ((n - 1) * (k - 1)),
    }


def shrout_fleiss_icc(mean_squares: dict[str, float], n: int, k: int) -> dict[str, float | None]:
    """The six intraclass correlations of Shrout & Fleiss (1979), named as pingouin names them.

    From the mean squares of :func:`anova_mean_squares` for n entries and k judges:

    - ICC1  (one-way random, single judge)                = (BMS − WMS) / (BMS + (k − 1) WMS)
    - ICC2  (two-way random, single, absolute agreement)  = (BMS − EMS) / (BMS + (k − 1) EMS + k (JMS − EMS) / n)
    - ICC3  (two-way mixed, single, consistency)          = (BMS − EMS) / (BMS + (k − 1) EMS)
    - ICC1k (one-way random, mean of k judges)            = (BMS − WMS) / BMS
    - ICC2k (two-way random, mean of k judges)            = (BMS − EMS) / (BMS + (JMS − EMS) / n)
    - ICC3k (two-way mixed, mean of k judges)             = (BMS − EMS) / BMS

    A form whose denominator is zero (no spread at all in the matrix) is None.
    """
    bms, wms, jms, ems = (mean_squares[name] for name in ("BMS", "WMS", "JMS", "EMS"))
    fractions = {
        "ICC1": (bms - wms, bms + (k - 1) * wms),
        "ICC2": (bms - ems, bms + (k - 1) * ems + k * (jms - ems) / n),
        "ICC3": (bms - ems, bms + (k - 1) * ems),
        "ICC1k": (bms - wms, bms),
        "ICC2k": (bms - ems, bms + (jms - ems) / n),
        "ICC3k": (bms - ems, bms),
    }
    return {
        form: (None if denominator == 0 else numerator / denominator)
        for form, (numerator, denominator) in fractions.items()
    }


def kendall_w(matrix: np.ndarray) -> float | None:
    """Kendall's coefficient of concordance W of an n entries × m judges matrix, corrected for ties.

    Each judge's totals are ranked across the entries (tied totals share the average of their
    ranks). With Rᵢ the sum of entry i's ranks, R̄ = m (n + 1) / 2 and S = Σᵢ (Rᵢ − R̄)²:

        W = 12 S / (m² (n³ − n) − m Σⱼ Tⱼ),   Tⱼ = Σ (t³ − t) over the groups of t tied totals of judge j.

    W is 1 when the judges rank the entries identically and 0 when their ranks cancel out. None
    when undefined: fewer than 2 entries or 2 judges, or every judge gave all entries the same total.
    """
    n, m = matrix.shape
    if n < 2 or m < 2:
        return None
    scores = pd.DataFrame(matrix)
    ranks = scores.rank(axis=0, method="average").to_numpy()
    rank_sums = ranks.sum(axis=1)
    s = float(np.square(rank_sums - m * (n + 1) / 2).sum())
    ties = sum(int((counts**3 - counts).sum()) for counts in (scores[j].value_counts().to_numpy() for j in scores))
    denominator = m**2 * (n**3 - n) - m * ties
    if denominator == 0:
        return None
    return 12 * s / denominator


def judge_statistics(frame: pd.DataFrame) -> pd.DataFrame:
    """Per judge, over all of the judge's totals: ``n``, ``mean``, ``sd`` and ``severity``.

    - ``sd`` is the population standard deviation √(Σ (x − mean)² / n), the spread the ``zscore``
      method of DESIGN.md §3 divides by (0 for a judge with one sheet).
    - ``severity`` = mean over the judge's entries e of (xₑ − panel meanₑ), where panel meanₑ is the
      mean of all judges' totals for entry e. Negative means harsher than the panel, positive more
      lenient; an entry only this judge scored contributes an offset of 0.

    ``frame`` is a validated table (``entry, judge, value``); judges come out in order of first
    appearance.
    """
    panel_mean = frame.groupby("entry", sort=False)["value"].transform("mean")
    with_offset = frame.assign(offset=frame["value"] - panel_mean)
    grouped = with_offset.groupby("judge", sort=False)
    return pd.DataFrame(
        {
            "n": grouped["value"].count(),
            "mean": grouped["value"].mean(),
            "sd": grouped["value"].std(ddof=0),
            "severity": grouped["offset"].mean(),
        }
    )


def reliability_report(totals: pd.DataFrame, decimals: int | None = DEFAULT_DECIMALS) -> dict[str, Any]:
    """Inter-rater reliability of the sheet totals ``entry, judge, total`` as a JSON-serialisable dict.

    Keys:

    - ``n_entries``, ``n_judges``: distinct entries and judges in the whole table.
    - ``complete``: True when every judge scored every entry.
    - ``n_complete_entries``, ``n_complete_judges``, ``excluded_entries``, ``excluded_judges``: the
      complete block the agreement statistics use (:func:`complete_block`) and what was left out.
    - ``icc``: the six Shrout & Fleiss forms ``ICC1 … ICC3k`` (:func:`shrout_fleiss_icc`) on the
      complete block, each None when the block has fewer than 2 entries or 2 judges or when its
      denominator is zero (no spread between the entries).
    - ``mean_squares``: ``BMS, WMS, JMS, EMS`` behind the ICCs (:func:`anova_mean_squares`), or None.
    - ``kendall_w``: Kendall's W with the correction for ties on the complete block (:func:`kendall_w`).
    - ``judges``: one ``{"judge", "n", "mean", "sd", "severity"}`` per judge, over all of the judge's
      sheets (:func:`judge_statistics`), in order of first appearance.
    - ``notes``: why a statistic is None or what the complete block left out, keyed ``"block"``,
      ``"icc"``, ``"kendall_w"`` (only the keys that apply).

    Floats are rounded to ``decimals`` places (Python's ``round``; None keeps full precision). Raises
    :class:`ValueError` for a malformed table (:func:`validate_totals`).
    """
    frame = validate_totals(totals)
    entries = list(pd.unique(frame["entry"]))
    judges = list(pd.unique(frame["judge"]))
    block_entries, block_judges = complete_block(frame)
    complete = len(frame) == len(entries) * len(judges)

    def number(value: float | None) -> float | None:
        if value is None or decimals is None:
            return value
        return round(value, decimals) + 0.0  # + 0.0 turns a rounded -0.0 into 0.0

    notes: dict[str, str] = {}
    in_block_entries, in_block_judges = set(block_entries), set(block_judges)
    excluded_entries = [entry for entry in entries if entry not in in_block_entries]
    excluded_judges = [judge for judge in judges if judge not in in_block_judges]
    if excluded_entries or excluded_judges:
        notes["block"] = (
            f"ICC and Kendall's W use the complete block of {len(block_entries)} × {len(block_judges)} "
            f"(entries × judges); entries left out: {len(excluded_entries)}, judges left out: {len(excluded_judges)}"
        )

    icc: dict[str, float | None] = dict.fromkeys(ICC_FORMS)
    mean_squares: dict[str, float] | None = None
    w: float | None = None
    if len(block_entries) >= 2 and len(block_judges) >= 2:
        matrix = (
            frame.pivot(index="entry", columns="judge", values="value")
            .reindex(index=block_entries, columns=block_judges)
            .to_numpy(dtype=float)
        )
        mean_squares = anova_mean_squares(matrix)
        icc = shrout_fleiss_icc(mean_squares, n=len(block_entries), k=len(block_judges))
        undefined = [form for form, value in icc.items() if value is None]
        if undefined:
            notes["icc"] = f"{', '.join(undefined)} undefined: no spread between the entries of the complete block"
        w = kendall_w(matrix)
        if w is None:
            notes["kendall_w"] = (
                "Kendall's W is undefined: every judge gave all entries of the complete block the same total"
            )
    else:
        reason = (
            f"the complete block is only {len(block_entries)} × {len(block_judges)} (entries × judges); "
            "at least 2 entries scored by the same 2 judges are needed"
        )
        notes["icc"] = f"ICC is undefined: {reason}"
        notes["kendall_w"] = f"Kendall's W is undefined: {reason}"

    per_judge = judge_statistics(frame)
    return {
        "n_entries": len(entries),
        "n_judges": len(judges),
        "complete": complete,
        "n_complete_entries": len(block_entries),
        "n_complete_judges": len(block_judges),
        "excluded_entries": [_plain(entry) for entry in excluded_entries],
        "excluded_judges": [_plain(judge) for judge in excluded_judges],
        "icc": {form: number(value) for form, value in icc.items()},
        "mean_squares": None if mean_squares is None else {name: number(v) for name, v in mean_squares.items()},
        "kendall_w": number(w),
        "judges": [
            {
                "judge": _plain(judge),
                "n": int(row["n"]),
                "mean": number(float(row["mean"])),
                "sd": number(float(row["sd"])),
                "severity": number(float(row["severity"])),
            }
            for judge, row in per_judge.iterrows()
        ],
        "notes": notes,
    }


def _to_float(value: object, entry: object, judge: object) -> float:
    """One total as a finite float, or ValueError naming the entry, the judge and the value."""
    number: float | None = None
    if isinstance(value, Decimal):
        number = float(value) if value.is_finite() else None
    elif isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_):
        number = float(value)
    elif isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        number = float(value.strip())
    if number is None or not math.isfinite(number):
        raise ValueError(f"non-numeric total {_plain(value)!r} for entry {_plain(entry)!r}, judge {_plain(judge)!r}")
    return number


def _plain(label: Any) -> Any:
    """A numpy scalar label as its Python value, so that the report is JSON-serialisable."""
    return label.item() if isinstance(label, np.generic) else label
