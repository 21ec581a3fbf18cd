"""Organisers make contests in the browser: from a template, or as the next edition of a series; and
archive (or bring back) a contest."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from judging.extensions import db
from judging.models import Contest, Role
from judging.services import contests, editions
from judging.web import lookups
from judging.web.actions import attempt
from judging.web.contest_forms import CopyEditionForm, TemplateContestForm
from judging.web.forms import ConfirmForm
from judging.web.permissions import role_required

bp = Blueprint("organizer_contests", __name__, url_prefix="/organizer")
organizer_only = role_required(Role.ORGANIZER)


def _folder() -> str:
    return str(current_app.config["RUBRICS_FOLDER"])


def _template_form() -> TemplateContestForm:
    form = TemplateContestForm()
    form.template.choices = [(t.name, t.title) for t in editions.list_templates(_folder())]
    return form


@bp.get("/contests/new")
@organizer_only
def new_contest() -> ResponseReturnValue:
    return _new_contest_page(_template_form())


def _new_contest_page(form: TemplateContestForm) -> str:
    return render_template(
        "organizer/new_contest.html",
        templates=editions.list_templates(_folder()),
        series=editions.series_of(contests.list_contests(db.session)),
        form=form,
    )


@bp.post("/contests/new")
@organizer_only
def create_from_template() -> ResponseReturnValue:
    form = _template_form()
    if not form.validate_on_submit():
        return _new_contest_page(form), 400
    template = editions.template_named(_folder(), form.template.data or "")
    edition = (form.edition.data or "").strip()

    def create() -> Contest:
        slug = form.slug.data or editions.suggest_slug(db.session, template.slug, edition)
        prefix = form.code_prefix.data or editions.suggest_code_prefix(db.session, template.code_prefix, edition)
        return editions.create_from_template(
            db.session,
            current_user,
            _folder(),
            template.name,
            title=form.title.data or "",
            edition=edition,
            slug=slug.strip(),
            code_prefix=prefix.strip(),
        )

    outcome = attempt(
        create,
        _("The contest has been created in preparation: set its deadlines, then open it for entries."),
    )
    if not outcome.ok or outcome.value is None:
        return _new_contest_page(form), 400
    return redirect(url_for("organizer.contest", slug=outcome.value.slug))


@bp.route("/contests/<slug>/copy", methods=["GET", "POST"])
@organizer_only
def copy_edition(slug: str) -> ResponseReturnValue:
    source = lookups.contest_for_organizer(slug)
    form = CopyEditionForm()
    if request.method == "GET":
        form.edition.data = request.args.get("edition", "").strip()[:40] or editions.next_edition_label(source)
        if form.edition.data:
            form.slug.data = editions.suggest_slug(db.session, source.series or source.slug, form.edition.data)
            form.code_prefix.data = editions.suggest_code_prefix(db.session, source.code_prefix, form.edition.data)
        return render_template("organizer/copy_edition.html", source=source, form=form)
    if not form.validate_on_submit():
        return render_template("organizer/copy_edition.html", source=source, form=form), 400
    edition = (form.edition.data or "").strip()

    def copy() -> Contest:
        new_slug = form.slug.data or editions.suggest_slug(db.session, source.series or source.slug, edition)
        prefix = form.code_prefix.data or editions.suggest_code_prefix(db.session, source.code_prefix, edition)
        return editions.copy_edition(
            db.session, current_user, source, edition=edition, slug=new_slug.strip(), code_prefix=prefix.strip()
        )

    outcome = attempt(
        copy,
        _("The new edition has been created in preparation: set its deadlines, then open it for entries."),
    )
    if not outcome.ok or outcome.value is None:
        return render_template("organizer/copy_edition.html", source=source, form=form), 400
    return redirect(url_for("organizer.contest", slug=outcome.value.slug))


@bp.post("/contests/<slug>/archive")
@organizer_only
def archive(slug: str) -> ResponseReturnValue:
    found = lookups.contest_for_organizer(slug)
    if ConfirmForm().validate_on_submit():
        attempt(
            lambda: contests.archive(db.session, current_user, found),
            _("The contest is archived: hidden from the public and entrants, and read-only."),
        )
    else:
        flash(_("The form has expired. Please reload and retry."), "danger")
    return redirect(url_for("organizer.contest", slug=slug))


@bp.post("/contests/<slug>/unarchive")
@organizer_only
def unarchive(slug: str) -> ResponseReturnValue:
    found = lookups.contest_for_organizer(slug)
    if ConfirmForm().validate_on_submit():
        attempt(
            lambda: contests.unarchive(db.session, current_user, found),
            _("The contest is back in its phase and visible again."),
        )
    else:
        flash(_("The form has expired. Please reload and retry."), "danger")
    return redirect(url_for("organizer.contest", slug=slug))
