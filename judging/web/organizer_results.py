"""The organisers' results preview: ranking, explanations, reliability, robustness, plots and the xlsx.

The results come from the sheets submitted so far (see :mod:`judging.services.results`): the tables are
read on every request; the engine runs, and the ranking with its charts is rendered, once per distinct
table (nothing is written to the database). Judges never see this page, so the organiser
sees the organisation and title beside each blind code. The workbook is made by a background job, once
per state of the data (:func:`judging.web.organizer_jobs.prepared_export`).
"""

from __future__ import annotations

import base64
import hashlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup

from judging.exports.plots import RankedBar, judge_distributions_svg, ranked_scores_svg
from judging.extensions import db
from judging.models import Role
from judging.rubric import AggregationSpec
from judging.services import ServiceError, results, votes
from judging.services.results import ContestResults
from judging.web import lookups
from judging.web.organizer_jobs import prepared_export
from judging.web.permissions import role_required

bp = Blueprint("organizer_results", __name__, url_prefix="/organizer")
organizer_only = role_required(Role.ORGANIZER)


@bp.get("/contests/<slug>/results")
@organizer_only
def results_page(slug: str) -> ResponseReturnValue:
    contest = lookups.contest_for_organizer(slug)
    try:
        computed = results.compute_results(db.session, contest)
    except ServiceError as refusal:
        flash(refusal.message, "warning")
        return redirect(url_for("organizer.contest", slug=slug))
    # With a public vote the awards follow the combined score: the preview shows it beside the experts' ranking.
    combined = votes.combined_preview(db.session, contest) if computed.ranking is not None else None
    return render_template(
        "organizer/results.html", contest=contest, results=computed, body=_body(computed), combined=combined
    )


@bp.get("/contests/<slug>/results.xlsx")
@organizer_only
def results_xlsx(slug: str) -> ResponseReturnValue:
    """The results workbook: made by a job once per state of the data (it grows with entries × judges)."""
    return prepared_export(slug, "results.xlsx")


# --- presentation --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CategorySection:
    """The ranked rows and the unranked entries of one category (key "" without categories)."""

    key: str
    label: str
    rows: list[dict[str, Any]]
    not_ranked: list[dict[str, Any]]


def _category_sections(computed: ContestResults) -> list[CategorySection]:
    ranking = computed.ranking
    if ranking is None:
        return []
    keys = [category.key for category in computed.rubric.categories] or [""]
    sections = []
    for key in keys:
        table = ranking.table if not key else ranking.table[ranking.table["category"] == key]
        excluded = ranking.excluded if not key else ranking.excluded[ranking.excluded["category"] == key]
        sections.append(
            CategorySection(
                key=key,
                label=computed.category_label(key) if key else "",
                rows=table.to_dict(orient="records"),
                not_ranked=excluded.to_dict(orient="records"),
            )
        )
    return sections


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


_RENDERED: OrderedDict[str, Markup] = OrderedDict()
RENDERED_KEPT = 16


def _version(computed: ContestResults) -> str:
    """What the body shows beyond the page's head: the engine's inputs (its key), the language, and the
    names the organiser sees beside codes and judges. Equal versions, equal markup."""
    parts = [
        computed.engine_key,
        str(get_locale()),
        *sorted(f"{user}={name}" for user, name in computed.judges.items()),
        *(f"{line.code}={line.organization}={line.title}={line.category}" for line in computed.entries.values()),
        *computed.unscored,
        *sorted(f"{entry}={judge}={origin}" for (entry, judge), origin in computed.paper_sheets.items()),
    ]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def _body(computed: ContestResults) -> Markup:
    """The ranking, explanations, robustness, reliability and charts, rendered once per :func:`_version`
    (the 200 rows and their explanations cost more than the ranking; the charts more still); the most
    recent few are kept in this process. Without a ranking nothing is kept: the page is short."""
    if computed.ranking is None or not computed.engine_key:
        return _render_body(computed)
    key = _version(computed)
    found = _RENDERED.get(key)
    if found is None:
        found = _RENDERED[key] = _render_body(computed)
        while len(_RENDERED) > RENDERED_KEPT:
            _RENDERED.popitem(last=False)
    _RENDERED.move_to_end(key)
    return found


def _render_body(computed: ContestResults) -> Markup:
    # A template's own output, escaped by Jinja as it rendered: markup already.
    return Markup(  # noqa: S704  # nosec B704
        render_template(
            "organizer/_results_body.html",
            results=computed,
            sections=_category_sections(computed),
            plots=_draw_plots(computed),
            describe_method=describe_method,
            criterion_labels={criterion.key: criterion.label for criterion in computed.rubric.criteria},
            labels_of=labels_of,
        )
    )


def _draw_plots(computed: ContestResults) -> Mapping[str, Any]:
    """The judges' distributions, and the ranked scores per category."""
    ranking = computed.ranking
    if ranking is None:
        return {}
    sheets = ranking.sheet_table()
    sheets = sheets[sheets["total"].notna()]
    totals_by_judge = {
        computed.judge_name(str(judge)): [float(total) for total in group["total"]]
        for judge, group in sheets.groupby("judge", sort=True)
    }
    distributions = judge_distributions_svg(
        totals_by_judge, _("Whole panel"), _("Sheet total"), _("Each judge's sheet totals beside the panel's")
    )
    awards = [award.name for award in computed.rubric.awards]
    ranked = {}
    for section in _category_sections(computed):
        if not section.rows:
            continue
        bars = [RankedBar(str(row["entry"]), row["final_score"], str(row["award"])) for row in section.rows]
        title = _("Ranked final scores with award bands")
        if section.label:
            title = f"{title} · {section.label}"
        ranked[section.key] = _data_uri(ranked_scores_svg(bars, awards, _("No award"), _("Final score"), title))
    return {"distributions": _data_uri(distributions), "ranked": ranked}


def labels_of(keys: Sequence[str], labels: Mapping[str, str]) -> str:
    """Keys shown by their labels (a key without one as itself), separated by commas."""
    return _(", ").join(labels.get(key, key) for key in keys)


def describe_method(spec: AggregationSpec) -> str:
    """How the final score is computed, in the user's language."""
    method = {
        "mean": _("the mean"),
        "trimmed_mean": _("the trimmed mean (dropping the %(trim)d lowest and %(trim)d highest)", trim=spec.trim),
        "median": _("the median"),
        "zscore": _("the mean z-score, mapped back to points"),
    }[spec.across_judges]
    if spec.level == "criterion":
        return _(
            "Each criterion is aggregated across judges by %(method)s; the final score is their weighted sum.",
            method=method,
        )
    return _("Each judge's sheet total (weighted sum of the criteria) is aggregated by %(method)s.", method=method)
