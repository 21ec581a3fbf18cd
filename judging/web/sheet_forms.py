"""Forms of the judging area: the score sheet built from a rubric, and the small reason forms.

The score sheet has one field per rubric criterion (a number input carrying the criterion's max and
step, so the browser helps) and one yes/no choice per check; the range and step are enforced on the
server by :func:`judging.services.sheets.parse_score`, whatever the browser sent.

Every score sheet is posted through these forms, so they are built for speed (issue 8's load target):
the form class of a rubric version is made once per process (the fields depend on the rubric's text
only; their labels are lazy strings, translated when shown), and WTForms' own messages are read from
the catalogue of the user's language loaded once per process, instead of from disk for every form.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # new in WTForms 3.3, not in its stubs yet
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import NumberInput

from judging.models import ScoreSheet
from judging.rubric import Rubric, format_points
from judging.services.sheets import SheetProblem
from judging.web.forms import AppForm

CRITERION_PREFIX = "score_"
CHECK_PREFIX = "check_"


class ScoreSheetForm(AppForm):
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

    def mark_problems(self, problems: list[SheetProblem]) -> None:
        """Put each refused value's message on its own field, where the sheet shows it."""
        prefixes = {"criterion": CRITERION_PREFIX, "check": CHECK_PREFIX}
        for problem in problems:
            field = self[prefixes[problem.part] + problem.key]
            field.errors = [*field.errors, problem.message]

    def problems(self) -> list[tuple[str, str]]:
        """Every field's messages in the order of the sheet, as (id of the control to focus, message): the
        summary at the top of the page links each message to its field."""
        found: list[tuple[str, str]] = []
        for field in [*self.criterion_fields(), *self.check_fields(), self.comment]:
            target = f"{field.id}-0" if field.type == "RadioField" else field.id
            found.extend((target, str(message)) for message in field.errors)
        return found

    def expected_version(self) -> int:
        try:
            return int(self.version.data or 0)
        except ValueError:
            return -1  # a tampered version can only ever be stale


_form_classes: dict[tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]], type[ScoreSheetForm]] = {}
"""The score sheet form class of each rubric text seen by this process, by the text's sha256."""


def score_sheet_form(rubric: Rubric, sheet: ScoreSheet | None) -> ScoreSheetForm:
    """A score sheet form for ``rubric``, filled from ``sheet`` (pass None to read only the posted data)."""
    # A judging round's view of the rubric shares its text (and sha256) but not its criteria and checks.
    key = (rubric.sha256, tuple(c.key for c in rubric.criteria), tuple((c.key, c.label) for c in rubric.checks))
    form_class = _form_classes.get(key) if rubric.sha256 else None
    if form_class is None:
        form_class = _score_sheet_form_class(rubric)
        if rubric.sha256:
            _form_classes[key] = form_class
    data: dict[str, Any] = {"version": str(sheet.version) if sheet else "0"}
    if sheet is not None:
        data["comment"] = sheet.comment
        for score in sheet.scores:
            data[CRITERION_PREFIX + score.criterion] = format_points(score.value)
        for answer in sheet.check_answers:
            data[CHECK_PREFIX + answer.check_key] = "yes" if answer.passed else "no"
    form = form_class(data=data)
    form.rubric = rubric
    return form


def _score_sheet_form_class(rubric: Rubric) -> type[ScoreSheetForm]:
    """The form class with one field per criterion and one yes/no choice per check of ``rubric``."""

    class Form(ScoreSheetForm):
        pass

    for criterion in rubric.criteria:
        widget = NumberInput(step=format_points(criterion.step), min=0, max=format_points(criterion.max))
        setattr(
            Form,
            CRITERION_PREFIX + criterion.key,
            StringField(
                # gettext, not lazy_gettext: Flask-Babel's lazy strings count as safe markup, and the label is the
                # organiser's text, which must be escaped like any other.
                _("%(label)s (0–%(max)s)", label=criterion.label, max=format_points(criterion.max)),
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
    return Form


class ReasonForm(AppForm):
    """A reason to give: declaring a conflict, overriding one, reopening a sheet."""

    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=1000)])
    submit = SubmitField(_l("Confirm"))


class ReopenForm(ReasonForm):
    assignment_id = SelectField(_l("Sheet"), coerce=int, choices=[])
    submit = SubmitField(_l("Reopen for the judge"))


class RemoveJudgeForm(AppForm):
    """Taking a judge off the panel: the judge's sheets leave the result unless kept, with a reason."""

    keep_sheets = BooleanField(_l("Keep this judge's submitted sheets in the result"))
    reason = StringField(_l("Reason for keeping them"), validators=[Optional(), Length(max=1000)])
    submit = SubmitField(_l("Remove"))


class RelationForm(AppForm):
    """An organisation a judge is related to (declared by the judge, or by an organiser for the judge)."""

    organization_id = SelectField(_l("Organisation"), coerce=int, choices=[])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Declare the relation"))


class OwnRelationForm(AppForm):
    """A judge's own declaration: the organisation is typed, so that no list of organisations is shown to
    a blind judge."""

    organization = StringField(_l("Organisation (its full name)"), validators=[DataRequired(), Length(max=200)])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Declare the relation"))


class AddJudgeForm(AppForm):
    judge_id = SelectField(_l("Judge"), coerce=int, choices=[])
    submit = SubmitField(_l("Add to the panel"))


class SpreadForm(AppForm):
    """The disagreement threshold on the organiser's dashboard (a GET form: no CSRF needed)."""

    class Meta:
        csrf = False

    spread = IntegerField(
        _l("Flag entries whose sheet totals differ by more than"),
        validators=[InputRequired(), NumberRange(min=0, max=1000)],
    )
