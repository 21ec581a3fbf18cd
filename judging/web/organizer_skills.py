"""The organisers' pages of a skills competition: roster and score imports, task entries of the
judged parts, ranking, certificates."""

from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from judging.exports.certification_list import certification_list_xlsx
from judging.exports.import_templates import part_scores_template, roster_template
from judging.exports.workbook import XLSX_MIMETYPE
from judging.extensions import db
from judging.models import Role
from judging.rubric import TIME_TIE_BREAK, Rubric
from judging.scoring.skills import judged_parts
from judging.services import ServiceError, contests, skills
from judging.web.actions import attempt, flash_refusal
from judging.web.forms import ConfirmForm
from judging.web.lookups import imported_part_of, skills_contest_for_organizer
from judging.web.organizer_results import describe_method
from judging.web.permissions import role_required
from judging.web.table_uploads import (
    ConfirmImportForm,
    TableUploadForm,
    confirm_token,
    confirmed_upload,
    discard_upload,
    keep_upload,
)
from judging.workflow import Action

bp = Blueprint("organizer_skills", __name__, url_prefix="/organizer")
organizer_only = role_required(Role.ORGANIZER)


@bp.get("/contests/<slug>/contestants")
@organizer_only
def contestants(slug: str) -> ResponseReturnValue:
    contest = skills_contest_for_organizer(slug)
    rubric = contests.current_rubric(contest)
    listed = skills.contestants_page(db.session, contest, request.args.get("page", 1, type=int) or 1)
    return render_template(
        "organizer/contestants.html",
        contest=contest,
        rubric=rubric,
        listed=listed,
        contestants=listed.contestants,
        mask=skills.mask_id_number,
        roster_form=TableUploadForm(),
        scores_form=TableUploadForm(),
        judged=judged_parts(rubric),
        imported=[part for part in rubric.parts if part.source == "import"],
        frozen=not contests.allowed(Action.IMPORT_SCORES, contest),
        in_review=contests.allowed(Action.CREATE_TASKS, contest),
        task_codes=skills.task_codes(db.session, contest),
        tasks_form=ConfirmForm(),
    )


@bp.get("/contests/<slug>/contestants/roster-template.xlsx")
@organizer_only
def roster_template_download(slug: str) -> ResponseReturnValue:
    """The roster's columns as the import reads them, to fill in."""
    contest = skills_contest_for_organizer(slug)
    return _xlsx(roster_template(contests.current_rubric(contest)), _("roster") + f"-{contest.slug}.xlsx")


@bp.get("/contests/<slug>/scores-template/<part>.xlsx")
@organizer_only
def scores_template_download(slug: str, part: str) -> ResponseReturnValue:
    """An imported part's score sheet with every registered contestant's number, to fill in."""
    contest = skills_contest_for_organizer(slug)
    found = imported_part_of(contest, part)
    content = part_scores_template(found, skills.contestants_of(db.session, contest))
    return _xlsx(content, f"{contest.slug}-{found.key}.xlsx")


def _xlsx(content: bytes, name: str) -> ResponseReturnValue:
    return send_file(io.BytesIO(content), mimetype=XLSX_MIMETYPE, as_attachment=True, download_name=name)


@bp.post("/contests/<slug>/contestants/tasks")
@organizer_only
def create_tasks(slug: str) -> ResponseReturnValue:
    """One task entry per contestant for each judged part, for the contestants who have none yet."""
    contest = skills_contest_for_organizer(slug)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    outcome = attempt(lambda: skills.create_task_entries(db.session, current_user, contest))
    if outcome.ok:
        if outcome.value:
            flash(_("%(n)d task entries created.", n=outcome.value), "success")
        else:
            flash(_("Every contestant already has a task entry."), "info")
    return redirect(url_for("organizer_skills.contestants", slug=slug))


@bp.post("/contests/<slug>/contestants/roster")
@organizer_only
def import_roster(slug: str) -> ResponseReturnValue:
    contest = skills_contest_for_organizer(slug)
    form = TableUploadForm()
    if not form.validate_on_submit():
        flash(_("Please choose a .csv or .xlsx file."), "danger")
        return redirect(url_for("organizer_skills.contestants", slug=slug))
    path, name = keep_upload(form)
    try:
        outcome = attempt(lambda: skills.import_roster(db.session, current_user, contest, path, name))
    finally:
        discard_upload(path)
    if outcome.ok and outcome.value is not None:
        created, updated = outcome.value
        flash(_("%(created)d contestants added, %(updated)d updated.", created=created, updated=updated), "success")
    else:
        flash(_("Nothing was imported."), "warning")
    return redirect(url_for("organizer_skills.contestants", slug=slug))


@bp.post("/contests/<slug>/scores/preview")
@organizer_only
def preview_scores(slug: str) -> ResponseReturnValue:
    contest = skills_contest_for_organizer(slug)
    form = TableUploadForm()
    if not form.validate_on_submit():
        flash(_("Please choose a .csv or .xlsx file."), "danger")
        return redirect(url_for("organizer_skills.contestants", slug=slug))
    path, name = keep_upload(form)
    try:
        preview = skills.preview_part_scores(db.session, contest, path, name)
    except ServiceError as refusal:
        discard_upload(path)
        flash_refusal(refusal)
        flash(_("Nothing was imported."), "warning")
        return redirect(url_for("organizer_skills.contestants", slug=slug))
    confirm = ConfirmImportForm(token=confirm_token(path, name))
    part_labels = {part.key: part.label for part in contests.current_rubric(contest).parts}
    return render_template(
        "organizer/score_preview.html",
        contest=contest,
        preview=preview,
        form=confirm,
        file=name,
        part_labels=part_labels,
    )


@bp.post("/contests/<slug>/scores/confirm")
@organizer_only
def confirm_scores(slug: str) -> ResponseReturnValue:
    contest = skills_contest_for_organizer(slug)
    pending = confirmed_upload()
    if pending is None:
        return redirect(url_for("organizer_skills.contestants", slug=slug))
    path, name = pending
    try:
        outcome = attempt(lambda: skills.import_part_scores(db.session, current_user, contest, path, name))
    finally:
        discard_upload(path)
    if outcome.ok and outcome.value is not None:
        flash(_("%(n)d scores written.", n=len(outcome.value.changes)), "success")
    return redirect(url_for("organizer_skills.contestants", slug=slug))


def _tie_break_labels(rubric: Rubric) -> list[str]:
    """The ranking's tie-breaks as people read them: a part's label, or "less time used"."""
    labels = {part.key: part.label for part in rubric.parts}
    keys = rubric.ranking.tie_break if rubric.ranking else ()
    return [_("less time used") if key == TIME_TIE_BREAK else labels.get(key, key) for key in keys]


@bp.get("/contests/<slug>/skills-results")
@organizer_only
def results(slug: str) -> ResponseReturnValue:
    contest = skills_contest_for_organizer(slug)
    rubric = contests.current_rubric(contest)
    judged = skills.judged_parts_report(db.session, contest)
    return render_template(
        "organizer/skills_results.html",
        contest=contest,
        rubric=rubric,
        result=skills.skills_results(db.session, contest, judged=judged),
        judged=judged,
        method=describe_method(rubric.aggregation) if judged.progress and rubric.aggregation else "",
        tie_breaks=_tie_break_labels(rubric),
        level_labels={level.key: level.label for level in rubric.levels},
        part_labels={part.key: part.label for part in rubric.parts},
    )


@bp.get("/contests/<slug>/certificates.xlsx")
@organizer_only
def certificates_export(slug: str) -> ResponseReturnValue:
    """The list for the certification body: full identity numbers, for organisers only."""
    contest = skills_contest_for_organizer(slug)
    rubric = contests.current_rubric(contest)
    content = certification_list_xlsx(
        skills.skills_results(db.session, contest), skills.contestants_of(db.session, contest), rubric
    )
    return send_file(
        io.BytesIO(content),
        mimetype=XLSX_MIMETYPE,
        as_attachment=True,
        download_name=f"{contest.slug}-certificates.xlsx",
    )
