"""The organisers' organisation pages: the tree, adding, editing, moving, retiring, and the xlsx
export, template and import (upload → preview → confirm)."""

from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from judging.exports.workbook import XLSX_MIMETYPE, Sheet, xlsx_bytes
from judging.extensions import db
from judging.models import Organization, OrganizationKind, Role
from judging.services import ServiceError, organization_import, organizations
from judging.web import lookups
from judging.web.actions import attempt, flash_refusal
from judging.web.forms import AppForm, ConfirmForm, NewOrganizationForm, organization_kind_choices
from judging.web.labels import organization_kind_label
from judging.web.pages import display_zone
from judging.web.permissions import role_required
from judging.web.table_uploads import (
    ConfirmImportForm,
    TableUploadForm,
    confirm_token,
    confirmed_upload,
    discard_upload,
    keep_upload,
)

bp = Blueprint("organizer_organizations", __name__, url_prefix="/organizer")
organizer_only = role_required(Role.ORGANIZER)


class EditOrganizationForm(AppForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=organizations.NAME_MAX)])
    kind = SelectField(_l("Kind"), choices=[])
    short_name = StringField(_l("Short name"), validators=[Length(max=organizations.SHORT_NAME_MAX)])
    english_name = StringField(_l("English name"), validators=[Length(max=organizations.ENGLISH_NAME_MAX)])
    aliases = TextAreaField(_l("Other names"), validators=[Length(max=4000)])
    submit = SubmitField(_l("Save"))


class MoveOrganizationForm(AppForm):
    parent_id = SelectField(_l("Belongs to"), coerce=int, choices=[])
    submit = SubmitField(_l("Move"))


class RetireForm(AppForm):
    deactivate_accounts = BooleanField(_l("Also deactivate its active accounts"))
    submit = SubmitField(_l("Retire"))


def kind_words() -> dict[str, OrganizationKind]:
    """Every way a file may name a kind, lower case: its key, and its label in each language."""
    words = {kind.value: kind for kind in OrganizationKind}
    for locale in ("zh_CN", "en"):
        with force_locale(locale):
            words.update({organization_kind_label(kind).lower(): kind for kind in OrganizationKind})
    return words


def _kind_names() -> list[str]:
    """The kinds a file may give, as the user reads them."""
    return [organization_kind_label(kind) for kind in OrganizationKind if kind is not OrganizationKind.ORGANIZER]


def _holders() -> list[Organization]:
    """Organisations a unit may be put under, not retired, in tree order."""
    return [
        org
        for org, _depth in organizations.organization_tree(db.session)
        if not org.retired
        and org.kind in (OrganizationKind.DISTRICT, OrganizationKind.INDUSTRY, OrganizationKind.COMPANY)
    ]


def _new_form() -> NewOrganizationForm:
    form = NewOrganizationForm()
    form.kind.choices = organization_kind_choices()
    form.parent_id.choices = [(0, "—")] + [(org.id, org.name) for org in _holders()]
    return form


def _list_page(form: NewOrganizationForm) -> str:
    tree = organizations.organization_tree(db.session)
    return render_template(
        "organizer/organizations.html",
        tree=tree,
        retired=sum(1 for org, _depth in tree if org.retired),
        form=form,
        upload_form=TableUploadForm(),
    )


@bp.get("/organizations")
@organizer_only
def organization_list() -> ResponseReturnValue:
    return _list_page(_new_form())


@bp.post("/organizations")
@organizer_only
def create_organization() -> ResponseReturnValue:
    form = _new_form()
    if form.validate_on_submit():
        parent_id = form.parent_id.data
        outcome = attempt(
            lambda: organizations.create_organization(
                db.session,
                current_user,
                name=form.name.data or "",
                kind=OrganizationKind(form.kind.data),
                parent=organizations.get_organization(db.session, parent_id) if parent_id else None,
            ),
            _("%(name)s has been added.", name=(form.name.data or "").strip()),
        )
        if outcome.ok:
            return redirect(url_for("organizer_organizations.organization_list"))
    else:
        for errors in form.errors.values():
            flash(errors[0], "danger")
    return _list_page(form), 400


def _kind_choices(org: Organization) -> list[tuple[str, str]]:
    if org.kind is OrganizationKind.ORGANIZER:
        return [(org.kind.value, organization_kind_label(org.kind))]
    return organization_kind_choices()


def _move_form(org: Organization) -> MoveOrganizationForm:
    form = MoveOrganizationForm(parent_id=org.parent_id or 0)
    # Its own units are offered too: choosing one is refused with the circle it would make, named.
    choices = [(0, _("— none: at the top —"))] + [(o.id, o.name) for o in _holders() if o.id != org.id]
    if org.parent is not None and org.parent_id not in {value for value, _label in choices}:
        choices.append((org.parent.id, org.parent.name))  # where it is now, even if retired since
    form.parent_id.choices = choices
    return form


def _edit_page(org: Organization, edit: EditOrganizationForm | None = None, status: int = 200) -> ResponseReturnValue:
    if edit is None:
        edit = EditOrganizationForm(
            name=org.name,
            kind=org.kind.value,
            short_name=org.short_name,
            english_name=org.english_name,
            aliases="\n".join(org.aliases or []),
        )
    edit.kind.choices = _kind_choices(org)
    check = organizations.retirement_blockers(db.session, org)
    return render_template(
        "organizer/organization.html",
        org=org,
        form=edit,
        move_form=_move_form(org),
        retire_form=RetireForm(),
        confirm=ConfirmForm(),
        check=check,
        blocking=check.problems(org.name, accounts_too=False),
        move_blockers=organizations.tree_blockers(db.session, org),
        units=sorted(org.children, key=lambda child: child.id),
    ), status


@bp.get("/organizations/<int:organization_id>")
@organizer_only
def organization(organization_id: int) -> ResponseReturnValue:
    return _edit_page(lookups.organization_for_organizer(organization_id))


@bp.post("/organizations/<int:organization_id>/edit")
@organizer_only
def edit_organization(organization_id: int) -> ResponseReturnValue:
    org = lookups.organization_for_organizer(organization_id)
    form = EditOrganizationForm()
    form.kind.choices = _kind_choices(org)
    if not form.validate_on_submit():
        for errors in form.errors.values():
            flash(errors[0], "danger")
        return _edit_page(org, form, 400)
    outcome = attempt(
        lambda: organizations.edit_organization(
            db.session,
            current_user,
            org,
            name=form.name.data or "",
            kind=OrganizationKind(form.kind.data),
            short_name=form.short_name.data or "",
            english_name=form.english_name.data or "",
            aliases=organizations.split_aliases(form.aliases.data or ""),
        )
    )
    if not outcome.ok:
        return _edit_page(org, form, 400)
    flash(_("%(name)s has been saved.", name=org.name) if outcome.value else _("Nothing was changed."), "success")
    return redirect(url_for("organizer_organizations.organization", organization_id=org.id))


@bp.post("/organizations/<int:organization_id>/move")
@organizer_only
def move_organization(organization_id: int) -> ResponseReturnValue:
    org = lookups.organization_for_organizer(organization_id)
    form = _move_form(org)
    if not form.validate_on_submit():
        flash(_("Please choose one of the organisations offered."), "danger")
        return redirect(url_for("organizer_organizations.organization", organization_id=org.id))
    parent_id = form.parent_id.data
    outcome = attempt(
        lambda: organizations.move_organization(
            db.session,
            current_user,
            org,
            organizations.get_organization(db.session, parent_id) if parent_id else None,
        )
    )
    if outcome.ok:
        if outcome.value:
            where = org.parent.name if org.parent else _("the top of the tree")
            flash(_("%(name)s now belongs to %(parent)s.", name=org.name, parent=where), "success")
        else:
            flash(_("Nothing was changed."), "info")
    return redirect(url_for("organizer_organizations.organization", organization_id=org.id))


@bp.post("/organizations/<int:organization_id>/retire")
@organizer_only
def retire_organization(organization_id: int) -> ResponseReturnValue:
    org = lookups.organization_for_organizer(organization_id)
    form = RetireForm()
    if not form.validate_on_submit():
        abort(400)
    outcome = attempt(
        lambda: organizations.retire_organization(
            db.session, current_user, org, deactivate_accounts=bool(form.deactivate_accounts.data)
        )
    )
    if outcome.ok:
        flash(
            _("%(name)s has been retired; %(n)d accounts were deactivated.", name=org.name, n=outcome.value or 0),
            "success",
        )
    return redirect(url_for("organizer_organizations.organization", organization_id=org.id))


@bp.post("/organizations/<int:organization_id>/unretire")
@organizer_only
def unretire_organization(organization_id: int) -> ResponseReturnValue:
    org = lookups.organization_for_organizer(organization_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    attempt(
        lambda: organizations.unretire_organization(db.session, current_user, org),
        _("%(name)s is in use again. Its accounts stay deactivated until you reactivate them.", name=org.name),
    )
    return redirect(url_for("organizer_organizations.organization", organization_id=org.id))


# --- xlsx ---------------------------------------------------------------------------------------------


def _xlsx(content: bytes, name: str) -> ResponseReturnValue:
    response = send_file(io.BytesIO(content), mimetype=XLSX_MIMETYPE, as_attachment=True, download_name=name)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/organizations.xlsx")
@organizer_only
def export_organizations() -> ResponseReturnValue:
    """Every organisation, retired ones too, in tree order: a file that imports back as unchanged."""
    headers, rows = organization_import.export_rows(db.session, organization_kind_label)
    return _xlsx(xlsx_bytes([Sheet(_("Organisations"), headers, rows)], display_zone()), "organisations.xlsx")


@bp.get("/organizations/template.xlsx")
@organizer_only
def import_template() -> ResponseReturnValue:
    """An empty organisations file with its header, and a second sheet saying how to fill it in."""
    headers, _rows = organization_import.export_rows(db.session, organization_kind_label)
    kinds = "、".join(
        organization_kind_label(kind) for kind in OrganizationKind if kind is not OrganizationKind.ORGANIZER
    )
    guide = [
        (headers[0], _("Required. An organisation already there (same name) is updated; a new name adds one.")),
        (headers[1], _("Required. One of: %(kinds)s.", kinds=kinds)),
        (
            headers[2],
            _(
                "The organisation it belongs to, in this file or already there; empty: at the top. "
                "A grassroots unit needs one."
            ),
        ),
        (headers[3], _("Optional; masked from blind judges like the name.")),
        (headers[4], _("Optional; masked from blind judges like the name.")),
        (headers[5], _("Optional; separated by semicolons; masked from blind judges like the name.")),
        (headers[6], _("Optional: yes retires it, no or empty keeps it in use.")),
    ]
    sheets = [
        Sheet(_("Organisations"), headers, []),
        Sheet(_("How to fill in"), [_("Column"), _("What to write")], guide),
    ]
    return _xlsx(xlsx_bytes(sheets), "organisations-template.xlsx")


@bp.post("/organizations/import/preview")
@organizer_only
def preview_import() -> ResponseReturnValue:
    form = TableUploadForm()
    if not form.validate_on_submit():
        flash(_("Please choose a .csv or .xlsx file."), "danger")
        return redirect(url_for("organizer_organizations.organization_list"))
    path, name = keep_upload(form)
    try:
        preview = organization_import.preview_import(db.session, path, name, kind_words(), _kind_names())
    except ServiceError as refusal:
        discard_upload(path)
        flash_refusal(refusal)
        flash(_("Nothing was imported."), "warning")
        return redirect(url_for("organizer_organizations.organization_list"))
    return render_template(
        "organizer/organizations_preview.html",
        preview=preview,
        file=name,
        form=ConfirmImportForm(token=confirm_token(path, name)),
        field_labels=_field_labels(),
    )


def _field_labels() -> dict[str, str]:
    return {
        "kind": _("Kind"),
        "parent": _("Belongs to"),
        "short_name": _("Short name"),
        "english_name": _("English name"),
        "aliases": _("Other names"),
        "retired": _("Retired"),
    }


@bp.post("/organizations/import/confirm")
@organizer_only
def confirm_import() -> ResponseReturnValue:
    pending = confirmed_upload()
    if pending is None:
        return redirect(url_for("organizer_organizations.organization_list"))
    path, name = pending
    try:
        outcome = attempt(
            lambda: organization_import.import_organizations(
                db.session, current_user, path, name, kind_words(), _kind_names()
            )
        )
    finally:
        discard_upload(path)
    if outcome.ok and outcome.value is not None:
        flash(
            _(
                "%(created)d organisations added, %(updated)d updated, %(same)d unchanged.",
                created=outcome.value.count("create"),
                updated=outcome.value.count("update"),
                same=outcome.value.count("unchanged"),
            ),
            "success",
        )
    else:
        flash(_("Nothing was imported."), "warning")
    return redirect(url_for("organizer_organizations.organization_list"))
