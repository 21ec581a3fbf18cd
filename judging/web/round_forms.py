"""Forms of the organiser's rounds page: placing a judge on a round's panel, and the picks of a round whose
entries advance by the organiser's pick (one checkbox and one reason per entry, built from the round)."""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, StringField, SubmitField
from wtforms.validators import Length, Optional

from judging.web.forms import AppForm

PICK_PREFIX = "pick_"
REASON_PREFIX = "reason_"


class PlaceJudgeForm(AppForm):
    judge_id = SelectField(_l("Judge"), coerce=int, choices=[])
    submit = SubmitField(_l("Put on this round's panel"))


class FreezeRoundForm(AppForm):
    """Freezing a round; for a pick round, one ``pick_<code>`` and one ``reason_<code>`` per entry."""

    codes: tuple[str, ...] = ()
    submit = SubmitField(_l("Freeze the round"))

    def picks(self) -> dict[str, str]:
        """Entry code → the reason typed, for every picked entry (an empty reason is refused by the service)."""
        return {
            code: (self[REASON_PREFIX + _field_key(code)].data or "")
            for code in self.codes
            if self[PICK_PREFIX + _field_key(code)].data
        }

    def pick_fields(self, code: str) -> tuple[object, object]:
        return self[PICK_PREFIX + _field_key(code)], self[REASON_PREFIX + _field_key(code)]


def _field_key(code: str) -> str:
    return code.replace("-", "_")


def freeze_round_form(codes: Sequence[str]) -> FreezeRoundForm:
    """The freeze form of a round with these entries (pick fields for each, used only by a pick round)."""

    class Form(FreezeRoundForm):
        pass

    Form.codes = tuple(codes)
    for code in codes:
        setattr(Form, PICK_PREFIX + _field_key(code), BooleanField(code))
        setattr(
            Form, REASON_PREFIX + _field_key(code), StringField(_l("Reason"), validators=[Optional(), Length(max=500)])
        )
    return Form()
