"""WTForms forms of the web layer; labels and messages go through the translation layer."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Any

from babel import support
from flask import current_app
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, Field, HiddenField, PasswordField, SelectField, StringField, SubmitField
from wtforms.i18n import messages_path
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from judging.models import OrganizationKind, Phase, Role
from judging.web.labels import organization_kind_label, phase_label, role_label


@lru_cache(maxsize=16)
def _wtforms_catalogue(locale: str) -> support.NullTranslations:
    """WTForms' messages in ``locale``: what Flask-WTF loads from disk for every form, read once."""
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class AppForm(FlaskForm):
    """Every form of the app: a Flask-WTF form whose WTForms messages come from the per-process catalogue
    of the user's language (Flask-WTF reads and parses WTForms' catalogue file again on every request
    that builds a form: 0.2 ms of a vote)."""

    class Meta(FlaskForm.Meta):
        def get_translations(self, form: FlaskForm) -> Any:
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return _wtforms_catalogue(str(get_locale()))


class LoginForm(AppForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    next = HiddenField()
    submit = SubmitField(_l("Log in"))


class SetPasswordForm(AppForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The two passwords differ."))],
    )
    submit = SubmitField(_l("Set password"))


class ChangePasswordForm(SetPasswordForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Change password"))


def role_choices() -> list[tuple[str, str]]:
    return [(role.value, role_label(role)) for role in (Role.ENTRANT, Role.JUDGE, Role.ORGANIZER)]


def phase_choices(phases: tuple[Phase, ...]) -> list[tuple[str, str]]:
    return [(phase.value, phase_label(phase)) for phase in phases]


def organization_kind_choices() -> list[tuple[str, str]]:
    return [
        (kind.value, organization_kind_label(kind))
        for kind in OrganizationKind
        if kind is not OrganizationKind.ORGANIZER
    ]


class NewUserForm(AppForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(min=3, max=40)])
    display_name = StringField(_l("Name to display"), validators=[DataRequired(), Length(max=120)])
    role = SelectField(_l("Role"), choices=[])
    organization_id = SelectField(_l("Organisation"), coerce=int, choices=[])
    email = StringField(_l("E-mail (optional)"), validators=[Optional(), Length(max=254)])
    submit = SubmitField(_l("Create account and invitation link"))


class NewOrganizationForm(AppForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=[])
    parent_id = SelectField(_l("Belongs to"), coerce=int, choices=[])
    submit = SubmitField(_l("Add organisation"))


class PhaseForm(AppForm):
    phase = SelectField(_l("Move to phase"), choices=[])  # posted by the button of the chosen move


class WithinYears:
    """A date (or date and time) no more than ``back`` years before today and ``ahead`` years after it.

    A year such as 0001 or 9999 is a typing slip, and converting it to UTC or to the display time zone
    overflows; counted from today, so that no year is written into the code.
    """

    def __init__(self, back: int, ahead: int) -> None:
        self.back = back
        self.ahead = ahead

    def __call__(self, form: FlaskForm, field: Field) -> None:
        value = field.data
        if value is None:
            return
        today = date.today()
        earliest = today.replace(year=today.year - self.back, day=min(today.day, 28))
        latest = today.replace(year=today.year + self.ahead, day=min(today.day, 28))
        day = value.date() if isinstance(value, datetime) else value
        if not earliest <= day <= latest:
            raise ValidationError(
                _(
                    "Please enter a date between %(earliest)s and %(latest)s.",
                    earliest=format_date(earliest, "medium"),
                    latest=format_date(latest, "medium"),
                )
            )


# Deadlines are typed and shown to the minute; a browser that sends seconds is understood too.
DEADLINE_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


class DeadlinesForm(AppForm):
    submission_deadline = DateTimeLocalField(
        _l("Submission deadline"), format=DEADLINE_FORMATS, validators=[Optional(), WithinYears(10, 10)]
    )
    review_deadline = DateTimeLocalField(
        _l("Review deadline"), format=DEADLINE_FORMATS, validators=[Optional(), WithinYears(10, 10)]
    )
    submit = SubmitField(_l("Save deadlines"))


class AuditFilterForm(AppForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    action = SelectField(_l("Action"), choices=[], validate_choice=False)  # unknown values: no filter
    actor = SelectField(_l("Who"), choices=[], validate_choice=False)
    contest = SelectField(_l("Contest"), coerce=int, choices=[])


class ConfirmForm(AppForm):
    """A form with only the CSRF token, for buttons that post."""

    submit = SubmitField(_l("Confirm"))


class FirstOrganizerForm(SetPasswordForm):
    """The first-run page: the first organiser's account and organisation."""

    display_name = StringField(_l("Name to display"), validators=[DataRequired(), Length(max=120)])
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    organization = SelectField(_l("Organiser's organisation"), choices=[], validate_choice=False)
    new_organization = StringField(
        _l("Or the name of a new organiser organisation"), validators=[Optional(), Length(max=200)]
    )
    submit = SubmitField(_l("Create the organiser account"))

    def set_organizations(self, organizations: list[tuple[int, str]]) -> None:
        self.organization.choices = [("", _("— a new organisation (name it below) —"))] + [
            (str(org_id), name) for org_id, name in organizations
        ]

    def organization_id(self) -> int | None:
        value = self.organization.data or ""
        return int(value) if value.isdigit() else None
