"""The form of the organiser's API tokens page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # new in WTForms 3.3, not in its stubs yet
from wtforms.validators import DataRequired, Length

from judging.services.api_tokens import NAME_LENGTH
from judging.web.forms import AppForm


class NewApiTokenForm(AppForm):
    name = StringField(_l("Name (what the token is for)"), validators=[DataRequired(), Length(max=NAME_LENGTH)])
    scope = SelectField(
        _l("Scope"),
        choices=[
            SelectChoice("read", _l("Read: contests, entries, sheets, results preview")),
            SelectChoice("write", _l("Write: also import skills part scores")),
        ],
    )
    submit = SubmitField(_l("Create token"))
