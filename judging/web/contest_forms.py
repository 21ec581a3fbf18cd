"""The forms that make a contest: from a template, or as the next edition of a series."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from judging.services.editions import MAX_EDITION_LENGTH
from judging.web.forms import AppForm


class EditionFields(AppForm):
    """What every new contest is asked: the edition's label, its address and its code prefix (left
    empty, the suggestion shown is taken)."""

    edition = StringField(
        _l("Edition label"), validators=[DataRequired(), Length(max=MAX_EDITION_LENGTH)], render_kw={"maxlength": 40}
    )
    slug = StringField(_l("Address (slug)"), validators=[Optional(), Length(max=80)], render_kw={"maxlength": 80})
    code_prefix = StringField(
        _l("Entry code prefix"), validators=[Optional(), Length(max=6)], render_kw={"maxlength": 6}
    )


class CopyEditionForm(EditionFields):
    submit = SubmitField(_l("Create the new edition"))


class TemplateContestForm(EditionFields):
    template = SelectField(_l("Template"), choices=[])
    title = StringField(_l("Title (leave empty to keep the template's)"), validators=[Optional(), Length(max=200)])
    submit = SubmitField(_l("Create the contest"))
