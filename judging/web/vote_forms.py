"""The forms of the public vote: a visitor's vote, and the organiser's opening, voiding and restoring."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateTimeLocalField, HiddenField, SelectMultipleField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from judging.web.forms import DEADLINE_FORMATS, AppForm, WithinYears


class VoteForm(AppForm):
    """One vote: the solved proof of work and what the browser says of itself (filled in by its script).

    Its CSRF token is checked by CSRFProtect before the view, as every post's; the form does not sign a
    new one for each vote (the page renders it with ``csrf_token()``)."""

    class Meta:
        csrf = False

    token = HiddenField(validators=[Optional(), Length(max=200)])
    nonce = HiddenField(validators=[Optional(), Length(max=32)])
    screen = HiddenField(validators=[Optional(), Length(max=40)])
    time_zone = HiddenField(validators=[Optional(), Length(max=60)])
    submit = SubmitField(_l("Vote"))


class OpenVoteForm(AppForm):
    closes_at = DateTimeLocalField(
        _l("The vote closes at"), format=DEADLINE_FORMATS, validators=[DataRequired(), WithinYears(0, 2)]
    )
    picked = SelectMultipleField(_l("Works put to the vote"), coerce=int, choices=[], validate_choice=False)
    submit = SubmitField(_l("Open the vote"))


class VoidForm(AppForm):
    """Void (or restore) a selection of votes, or a whole flagged group, with a reason."""

    vote_ids = SelectMultipleField(coerce=int, choices=[], validate_choice=False)
    group = HiddenField(validators=[Optional(), Length(max=200)])
    """A flagged group named ``entry|kind|subject``: its votes as the detection finds them now."""
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Void these votes"))


class CloseVoteForm(AppForm):
    submit = SubmitField(_l("Close the vote"))
