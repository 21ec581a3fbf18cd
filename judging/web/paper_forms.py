"""Forms of paper double entry: the clerk's sheet (the web sheet's fields plus judge, entry code and paper
number) and the third look's choice of value for each field on which two entries differ."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3, not in its stubs yet
from wtforms.validators import DataRequired, Length, Optional

from judging.rubric import Rubric
from judging.services.paper_sheets import PAPER_NUMBER_LENGTH, FieldDifference
from judging.web.forms import AppForm
from judging.web.sheet_forms import ScoreSheetForm, score_sheet_form

_paper_form_classes: dict[str, type[ScoreSheetForm]] = {}


def paper_sheet_form(rubric: Rubric, judges: list[tuple[int, str]], data: dict[str, Any] | None = None) -> Any:
    """The clerk's form: which judge, which entry, the paper sheet number, then the rubric's sheet fields
    (the same fields, limits and keyboard behaviour as the judge's web sheet)."""
    sheet_class = type(score_sheet_form(rubric, None))
    key = rubric.sha256 or ""
    form_class = _paper_form_classes.get(key) if key else None
    if form_class is None:

        class PaperSheetForm(sheet_class):  # type: ignore[valid-type, misc]
            judge_id = SelectField(_l("Judge (as signed on the sheet)"), coerce=int, choices=[])
            entry_code = StringField(_l("Entry code"), validators=[DataRequired(), Length(max=40)])
            paper_number = StringField(
                _l("Paper sheet number"), validators=[DataRequired(), Length(max=PAPER_NUMBER_LENGTH)]
            )
            record = SubmitField(_l("Record this entry"))

        form_class = PaperSheetForm
        if key:
            _paper_form_classes[key] = form_class
    form = form_class(data=data or {})
    form.rubric = rubric
    form.judge_id.choices = judges
    return form


class SettleForm(AppForm):
    """The reason every settlement needs; one choice per differing field is added by :func:`settle_form`."""

    reason = TextAreaField(_l("Why (what the paper sheet shows)"), validators=[DataRequired(), Length(max=1000)])
    settle = SubmitField(_l("Settle and count the sheet"))


def settle_form(differences: list[FieldDifference], formdata: Any = None) -> Any:
    """A settlement form with, for each differing field, a choice (first entry, second entry, typed value)
    and the typed value."""

    class Form(SettleForm):
        pass

    for difference in differences:
        setattr(
            Form,
            "choice_" + difference.field,
            RadioField(
                difference.label,
                choices=[
                    SelectChoice("first", _l("Entry 1")),
                    SelectChoice("second", _l("Entry 2")),
                    SelectChoice("typed", _l("Another value")),
                ],
                validators=[Optional()],
            ),
        )
        setattr(Form, "typed_" + difference.field, StringField(_l("Value on the paper"), validators=[Optional()]))
    return Form(formdata=formdata) if formdata is not None else Form()


def settlement_choices(form: Any, differences: list[FieldDifference]) -> dict[str, tuple[str, str]]:
    """What the settlement form chose for each field, as :func:`judging.services.paper_sheets.settle_pair`
    takes it."""
    return {
        difference.field: (
            form["choice_" + difference.field].data or "",
            (form["typed_" + difference.field].data or "").strip(),
        )
        for difference in differences
    }
