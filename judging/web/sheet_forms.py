"""Forms of the judging area: the score sheet built from a rubric, and the small reason forms.

The score sheet has one field per rubric criterion (a number input carrying the criterion's max and
step, so the browser helps) and one yes/no choice per check; the range and step are enforced on the
server by :func:`judging.services.judging.parse_score`, whatever the browser sent.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import NumberInput

from judging.models import ScoreSheet
from judging.rubric import Rubric, format_points

CRITERION_PREFIX = "score_"
CHECK_PREFIX = "check_"


class ScoreSheetForm(FlaskForm):
    """The fields common to every rubric; :func:`score_sheet_form` adds the rubric's own."""

    version = HiddenField()
    comment = TextAreaField(_l("Comment"), validators=[Optional(), Length(max=4000)])
    save_draft = SubmitField(_l("Save draft"))
    submit_sheet = SubmitField(_l("Submit sheet"))

    rubric: Rubric

    def criterion_fields(self) -> list[Any]:
        return [self[CRITERION_PREFIX + c.key] for c in self.rubric.criteria]

    def check_fields(self) -> list[Any]:
        return [self[CHECK_PREFIX + c.key] for c in self.rubric.checks]

    def scores(self) -> dict[str, str]:
        return {c.key: (self[CRITERION_PREFIX + c.key].data or "").strip() for c in self.rubric.criteria}

    def checks(self) -> dict[str, bool]:
        answers = {}
        for check in self.rubric.checks:
            value = self[CHECK_PREFIX + check.key].data
            if value in ("yes", "no"):
                answers[check.key] = value == "yes"
        return answers

    def expected_version(self) -> int:
        try:
            return int(self.version.data or 0)
        except ValueError:
            return -1  # a tampered version can only ever be stale


def score_sheet_form(rubric: Rubric, sheet: ScoreSheet | None) -> ScoreSheetForm:
    """A score sheet form for ``rubric``, filled from ``sheet`` (pass None to read only the posted data)."""

    class Form(ScoreSheetForm):
        pass

    for criterion in rubric.criteria:
        widget = NumberInput(step=format_points(criterion.step), min=0, max=format_points(criterion.max))
        setattr(
            Form,
            CRITERION_PREFIX + criterion.key,
            StringField(
                f"{criterion.label}（0–{format_points(criterion.max)}）",
                widget=widget,
                render_kw={"inputmode": "decimal", "data-weight": format_points(criterion.weight)},
            ),
        )
    for check in rubric.checks:
        setattr(
            Form,
            CHECK_PREFIX + check.key,
            RadioField(
                check.label,
                choices=[SelectChoice("yes", _l("Yes")), SelectChoice("no", _l("No"))],
                validators=[Optional()],
            ),
        )
    data: dict[str, Any] = {"version": str(sheet.version) if sheet else "0"}
    if sheet is not None:
        data["comment"] = sheet.comment
        for score in sheet.scores:
            data[CRITERION_PREFIX + score.criterion] = format_points(score.value)
        for answer in sheet.check_answers:
            data[CHECK_PREFIX + answer.check_key] = "yes" if answer.passed else "no"
    form = Form(data=data)
    form.rubric = rubric
    return form


class ReasonForm(FlaskForm):
    """A reason to give: declaring a conflict, overriding one, reopening a sheet."""

    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=1000)])
    submit = SubmitField(_l("Confirm"))


class ReopenForm(ReasonForm):
    assignment_id = SelectField(_l("Sheet"), coerce=int, choices=[])
    submit = SubmitField(_l("Reopen for the judge"))


class AddJudgeForm(FlaskForm):
    judge_id = SelectField(_l("Judge"), coerce=int, choices=[])
    submit = SubmitField(_l("Add to the panel"))


class SpreadForm(FlaskForm):
    """The disagreement threshold on the organiser's dashboard (a GET form: no CSRF needed)."""

    class Meta:
        csrf = False

    spread = IntegerField(
        _l("Flag entries whose sheet totals differ by more than"),
        validators=[InputRequired(), NumberRange(min=0, max=1000)],
    )
