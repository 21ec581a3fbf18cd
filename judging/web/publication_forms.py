"""Forms of the publication workflow: freezing, answering objections, filing one, verifying a certificate."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    IntegerField,
    MultipleFileField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # new in WTForms 3.3, not in its stubs yet
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from judging.services.objections import CONTACT_MAX, NAME_MAX, REASON_MAX, REASON_MIN
from judging.services.publication import MAX_PUBLICITY_DAYS, MIN_PUBLICITY_DAYS
from judging.web.forms import AppForm


class FreezeForm(AppForm):
    publicity_days = IntegerField(
        _l("Notice period (days)"),
        validators=[InputRequired(), NumberRange(min=MIN_PUBLICITY_DAYS, max=MAX_PUBLICITY_DAYS)],
        default=5,
    )
    submit = SubmitField(_l("Freeze the results and start the public notice"))


class AnswerForm(AppForm):
    decision = RadioField(
        _l("Decision"),
        choices=[
            SelectChoice("reject", _l("Reject: the result stands")),
            SelectChoice("uphold", _l("Uphold: reopen review")),
        ],
        validators=[InputRequired()],
    )
    answer = TextAreaField(_l("Answer (kept on record)"), validators=[DataRequired(), Length(max=4000)])
    submit = SubmitField(_l("Record the answer"))


class BulkAnswerForm(AnswerForm):
    """One answer for several ticked objections against the result on notice."""

    objection_ids = SelectMultipleField(_l("Objections"), coerce=int, choices=[])
    submit = SubmitField(_l("Answer the ticked objections"))


class ObjectionForm(AppForm):
    name = StringField(_l("Name (person or organisation)"), validators=[DataRequired(), Length(max=NAME_MAX)])
    contact = StringField(_l("Telephone or e-mail"), validators=[DataRequired(), Length(max=CONTACT_MAX)])
    subject = SelectField(_l("The award concerned"), choices=[], validators=[InputRequired()])
    reason = TextAreaField(
        _l("Reason and evidence"), validators=[DataRequired(), Length(min=REASON_MIN, max=REASON_MAX)]
    )
    evidence = MultipleFileField(_l("Evidence files (optional)"))
    submit = SubmitField(_l("File the objection"))


class TrackObjectionForm(AppForm):
    """The reference number and the contact given when filing: both are needed to read the answer."""

    reference = StringField(_l("Reference number"), validators=[DataRequired(), Length(max=32)])
    contact = StringField(
        _l("Telephone or e-mail given with the objection"), validators=[DataRequired(), Length(max=CONTACT_MAX)]
    )
    submit = SubmitField(_l("Show the objection"))


class VerifyForm(AppForm):
    class Meta:
        csrf = False  # a GET lookup that changes nothing

    code = StringField(_l("Serial number or verification code"), validators=[DataRequired(), Length(max=60)])
    submit = SubmitField(_l("Verify"))
