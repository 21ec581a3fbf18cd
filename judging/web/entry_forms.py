"""Entry forms built from the rubric: one WTForms field per ``entry.fields`` item, typed and checked
on the server (text, int, url, date; required or optional), plus the category when the rubric has any.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    Field,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    URLField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # new in WTForms 3.3, not in its stubs yet
from wtforms.validators import URL, DataRequired, InputRequired, Length, NumberRange, Optional

from judging.models import Entry
from judging.rubric import EntryField, Figure, Rubric
from judging.web.forms import AppForm, WithinYears

FIELD_PREFIX = "field_"


def _rubric_field(spec: EntryField) -> Field:
    presence = [InputRequired()] if spec.required else [Optional()]
    if spec.type == "int":
        return IntegerField(
            spec.label,
            validators=[*presence, NumberRange(min=0)],
            render_kw={"inputmode": "numeric"},
        )
    if spec.type == "url":
        return URLField(
            spec.label,
            validators=[
                *presence,
                Length(max=500),
                URL(message=_l("Please enter a web address (http:// or https://).")),
            ],
        )
    if spec.type == "date":
        return DateField(spec.label, validators=[*presence, WithinYears(150, 10)])
    return StringField(spec.label, validators=[*presence, Length(max=500)])


def _figure_field(spec: Figure) -> Field:
    label = f"{spec.label}（{spec.unit}）" if spec.unit else spec.label
    return IntegerField(
        label,
        validators=[
            InputRequired() if spec.required else Optional(),
            NumberRange(min=0, max=spec.max, message=_l("Please enter a whole number from %(min)s to %(max)s.")),
        ],
        render_kw={"inputmode": "numeric"},
    )


def report_figures(rubric: Rubric) -> tuple[Figure, ...]:
    """The figures a report of this rubric gives (none outside a collection)."""
    return rubric.collection.figures if rubric.collection else ()


def entry_form_class(rubric: Rubric) -> type[FlaskForm]:
    """A form class for the rubric's entries: title, summary, category (if any) and the rubric fields."""

    class EntryForm(AppForm):
        title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
        summary = TextAreaField(_l("Summary"), validators=[Optional(), Length(max=5000)], render_kw={"rows": 4})
        submit = SubmitField(_l("Save draft"))

    if rubric.categories:
        EntryForm.category = SelectField(
            _l("Category"),
            choices=[SelectChoice(c.key, c.label) for c in rubric.categories],
            validators=[DataRequired()],
        )
    assert rubric.entry is not None
    for spec in rubric.entry.fields:
        setattr(EntryForm, FIELD_PREFIX + spec.key, _rubric_field(spec))
    for figure in report_figures(rubric):
        setattr(EntryForm, FIELD_PREFIX + figure.key, _figure_field(figure))
    return EntryForm


def field_values(form: FlaskForm, rubric: Rubric) -> dict[str, Any]:
    """The rubric fields of a validated form, JSON-ready (dates as ISO strings, empty ones left out)."""
    assert rubric.entry is not None
    values: dict[str, Any] = {}
    for spec in rubric.entry.fields:
        value = form[FIELD_PREFIX + spec.key].data
        if value is None or value == "":
            continue
        values[spec.key] = value.isoformat() if isinstance(value, date) else value
    for figure in report_figures(rubric):
        value = form[FIELD_PREFIX + figure.key].data
        if value is not None:
            values[figure.key] = value
    return values


def form_data_of(entry: Entry, rubric: Rubric) -> dict[str, Any]:
    """An entry's stored values as the form's initial data."""
    assert rubric.entry is not None
    data: dict[str, Any] = {"title": entry.title, "summary": entry.summary, "category": entry.category}
    for spec in rubric.entry.fields:
        value = entry.fields.get(spec.key)
        if spec.type == "date" and isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                value = None
        data[FIELD_PREFIX + spec.key] = value
    for figure in report_figures(rubric):
        data[FIELD_PREFIX + figure.key] = entry.fields.get(figure.key)
    return data


class CommentForm(AppForm):
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=2000)], render_kw={"rows": 2})
    submit = SubmitField(_l("Save comment"))


class UploadForm(AppForm):
    file = FileField(_l("File"), validators=[FileRequired(message=_l("Please choose a file."))])
    submit = SubmitField(_l("Upload"))


def submit_form_class(rubric: Rubric) -> type[FlaskForm]:
    """The submission form: one checkbox per declaration of the rubric (each must be ticked)."""

    class SubmitEntryForm(AppForm):
        submit = SubmitField(_l("Submit the report") if rubric.collection else _l("Submit entry"))

    assert rubric.entry is not None
    for index, text in enumerate(rubric.entry.declarations):
        setattr(SubmitEntryForm, f"declaration_{index}", BooleanField(text))
    return SubmitEntryForm


def ticked_declarations(form: FlaskForm, rubric: Rubric) -> list[str]:
    assert rubric.entry is not None
    return [text for index, text in enumerate(rubric.entry.declarations) if form[f"declaration_{index}"].data]
