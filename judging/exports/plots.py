"""Charts of a contest's results, drawn with matplotlib as SVG text.

Pure (no Flask, no database): numbers and already-translated labels in, an SVG document out. Text is
kept as text in the SVG (``svg.fonttype = "none"``), so Chinese labels are drawn by the viewer's
fonts, stay selectable, and need no CJK font on the server. The figures are built on
:class:`matplotlib.figure.Figure` directly, never through ``pyplot``: no global state is shared
between requests.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import matplotlib
import numpy as np
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.typing import RcKeyType

matplotlib.use("Agg")

CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "Microsoft YaHei")
"""Fonts with Chinese glyphs, preferred in this order for measuring the labels; the SVG names the
installed ones and then the generic ``sans-serif``, which a browser resolves to a font that has them."""
_INSTALLED = {font.name for font in font_manager.fontManager.ttflist}
FONT_FAMILY = [*(name for name in CJK_FONTS if name in _INSTALLED), "sans-serif"]
PANEL_COLOR = "#6c757d"
JUDGE_COLOR = "#0d6efd"
AWARD_COLORS = ("#c9a227", "#8e9aaf", "#b0703c", "#2a9d8f", "#6a4c93", "#e76f51", "#457b9d")
NO_AWARD_COLOR = "#ced4da"
_STYLE: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "judging",
    "font.family": FONT_FAMILY,
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


@dataclass(frozen=True)
class RankedBar:
    """One ranked entry in :func:`ranked_scores_svg`."""

    label: str
    score: Decimal
    award: str


def judge_distributions_svg(
    totals_by_judge: Mapping[str, Sequence[float]], panel_label: str, axis_label: str, title: str
) -> str:
    """Each judge's sheet totals as a box with its points, beside the whole panel's (the first box).

    ``totals_by_judge`` maps a judge's display name to the judge's sheet totals; the panel box pools
    them all. Points are spread evenly across the box's width (no randomness: the same data draws
    the same picture).
    """
    names = [panel_label, *totals_by_judge]
    series = [np.concatenate([np.asarray(v, dtype=float) for v in totals_by_judge.values()] or [np.zeros(0)])]
    series += [np.asarray(values, dtype=float) for values in totals_by_judge.values()]
    with matplotlib.rc_context(_STYLE):
        figure = Figure(figsize=(max(4.0, 0.9 * len(names) + 1.5), 3.4), layout="constrained")
        axes = figure.add_subplot()
        boxes = axes.boxplot(
            series, tick_labels=names, widths=0.55, patch_artist=True, showfliers=False, medianprops={"color": "black"}
        )
        for index, box in enumerate(boxes["boxes"]):
            box.set_facecolor(PANEL_COLOR if index == 0 else JUDGE_COLOR)
            box.set_alpha(0.35)
        for position, values in enumerate(series, start=1):
            if len(values):
                spread = np.linspace(-0.18, 0.18, len(values)) if len(values) > 1 else np.zeros(1)
                order = np.argsort(values, kind="stable")
                axes.scatter(position + spread[np.argsort(order)], values, s=10, color="black", alpha=0.6, zorder=3)
        axes.set_ylabel(axis_label)
        axes.set_title(title)
        axes.tick_params(axis="x", labelrotation=30 if len(names) > 6 else 0)
        return _svg(figure)


def ranked_scores_svg(
    bars: Sequence[RankedBar], awards: Sequence[str], no_award_label: str, axis_label: str, title: str
) -> str:
    """The ranked entries of one category as horizontal bars, best at the top, each coloured by its
    award, with a shaded band behind every award's group of entries and the score at the bar's end.

    ``awards`` lists the award names in the rubric's order (it fixes the colours).
    """
    colors = {name: AWARD_COLORS[index % len(AWARD_COLORS)] for index, name in enumerate(awards)}
    with matplotlib.rc_context(_STYLE):
        figure = Figure(figsize=(7.0, max(2.2, 0.32 * len(bars) + 1.2)), layout="constrained")
        axes = figure.add_subplot()
        y = np.arange(len(bars))
        scores = [float(bar.score) for bar in bars]
        axes.barh(y, scores, color=[colors.get(bar.award, NO_AWARD_COLOR) for bar in bars], height=0.7, zorder=2)
        start = 0
        while start < len(bars):
            stop = start
            while stop + 1 < len(bars) and bars[stop + 1].award == bars[start].award:
                stop += 1
            award = bars[start].award
            if award:
                axes.axhspan(start - 0.5, stop + 0.5, color=colors.get(award, NO_AWARD_COLOR), alpha=0.15, zorder=1)
            start = stop + 1
        for position, bar in zip(y, bars, strict=True):
            axes.text(float(bar.score), float(position), f" {bar.score}", va="center", fontsize=8, zorder=3)
        axes.set_yticks(y, [bar.label for bar in bars])
        axes.invert_yaxis()
        axes.set_xlim(0, max(scores, default=1.0) * 1.12 or 1.0)
        axes.set_xlabel(axis_label)
        axes.set_title(title)
        used = [name for name in awards if any(bar.award == name for bar in bars)]
        handles = [Patch(color=colors[name], label=name) for name in used]
        if any(not bar.award for bar in bars):
            handles.append(Patch(color=NO_AWARD_COLOR, label=no_award_label))
        if handles:
            axes.legend(handles=handles, loc="lower right", fontsize=8, framealpha=0.9)
        return _svg(figure)


def _svg(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue().decode("utf-8")
