"""The frozen results of judging rounds, read back: which entries each round holds and every entry's path.

Read-only. A frozen round (:class:`~judging.models.JudgingRound` with a payload) is the only source of
the next round's entries and of the path an entry took (its result in each round and whether and why it
advanced): nothing is recomputed from sheets once a round is frozen, so a later change to a sheet can
never move an entry in or out of a later round. Both the rounds service and the contest's results read
this module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from judging.models import Contest, JudgingRound
from judging.rubric import Rubric, format_points

ROUND_PAYLOAD_FORMAT = 1


@dataclass(frozen=True)
class PathStep:
    """An entry's result in one frozen round: ``result`` a score or a number of passes (text, exact),
    ``judges`` how many sheets counted; ``advanced`` with its ``rule`` (top, share, min_score, pick),
    ``tied`` when it went on by sharing the last place, and the organiser's ``reason`` for a pick."""

    round_key: str
    round_label: str
    mode: str
    result: str | None
    rank: int | None
    judges: int
    advanced: bool
    rule: str
    rule_value: str
    tied: bool = False
    reason: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PathStep:
        """A step as a frozen result's payload keeps it (:meth:`as_dict`)."""
        return cls(
            round_key=data["round"],
            round_label=data["label"],
            mode=data["mode"],
            result=data["result"],
            rank=data["rank"],
            judges=data["judges"],
            advanced=data["advanced"],
            rule=data["rule"],
            rule_value=data["rule_value"],
            tied=data["tied"],
            reason=data["reason"],
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "round": self.round_key,
            "label": self.round_label,
            "mode": self.mode,
            "result": self.result,
            "rank": self.rank,
            "judges": self.judges,
            "advanced": self.advanced,
            "rule": self.rule,
            "rule_value": self.rule_value,
            "tied": self.tied,
            "reason": self.reason,
        }


def round_rows(session: Session, contest: Contest) -> dict[str, JudgingRound]:
    """The contest's opened rounds by key."""
    rows = session.scalars(select(JudgingRound).where(JudgingRound.contest_id == contest.id)).all()
    return {row.key: row for row in rows}


def payload_of_round(row: JudgingRound) -> dict[str, Any] | None:
    """A frozen round's recorded result (None while the round is not frozen)."""
    return json.loads(row.payload) if row.payload else None


def advancing_codes(payload: dict[str, Any]) -> list[str]:
    """The codes of the entries a frozen round sent on, in code order."""
    return sorted(line["entry"] for line in payload["entries"] if line["advanced"])


def round_codes(session: Session, contest: Contest, rubric: Rubric, key: str) -> list[str] | None:
    """The codes of the entries a round after the first holds: those the round before it sent on, from its
    frozen payload; None while that round is not frozen (the round's entries are not known yet). The first
    round holds every judgeable entry: None here, the caller lists them."""
    index = [spec.key for spec in rubric.rounds].index(key)
    if index == 0:
        return None
    row = round_rows(session, contest).get(rubric.rounds[index - 1].key)
    payload = payload_of_round(row) if row else None
    return advancing_codes(payload) if payload else None


def entry_paths(session: Session, contest: Contest, rubric: Rubric) -> dict[str, list[PathStep]]:
    """Every entry's path through the contest's frozen rounds, in round order (empty without rounds)."""
    if not rubric.rounds:
        return {}
    rows = round_rows(session, contest)
    paths: dict[str, list[PathStep]] = {}
    for spec in rubric.rounds:
        row = rows.get(spec.key)
        payload = payload_of_round(row) if row else None
        if payload is None:
            break
        for line in payload["entries"]:
            paths.setdefault(line["entry"], []).append(
                PathStep(
                    round_key=spec.key,
                    round_label=payload["label"],
                    mode=payload["mode"],
                    result=line["result"],
                    rank=line["rank"],
                    judges=line["judges"],
                    advanced=line["advanced"],
                    rule=payload["rule"]["name"],
                    rule_value=payload["rule"]["value"],
                    tied=line["tied"],
                    reason=line["reason"],
                )
            )
    return paths


def step_text(step: PathStep) -> str:
    """One round of an entry's path in the user's language, e.g. "初评: 2/3 passes, rank 4 — advanced (top 5)"."""
    if step.result is None:
        result = _("not ranked")
    elif step.mode == "pass_fail":
        result = _(
            "%(passes)s/%(judges)d passes, rank %(rank)s", passes=step.result, judges=step.judges, rank=step.rank
        )
    else:
        result = _("score %(score)s, rank %(rank)s", score=step.result, rank=step.rank)
    rule = rule_text(step.rule, step.rule_value)
    if step.advanced and step.rule == "pick":
        outcome = _("advanced: picked by the organiser (%(reason)s)", reason=step.reason)
    elif step.advanced and step.tied:
        outcome = _("advanced (%(rule)s, tied at the last place that advances)", rule=rule)
    elif step.advanced:
        outcome = _("advanced (%(rule)s)", rule=rule)
    else:
        outcome = _("eliminated in this round (%(rule)s)", rule=rule)
    return _("%(round)s: %(result)s — %(outcome)s", round=step.round_label, result=result, outcome=outcome)


def path_text(steps: list[dict[str, Any]]) -> str:
    """A frozen result's path of an entry (as the payload keeps it) in the user's language, rounds joined by
    the language's semicolon (“；” in Chinese)."""
    return _("; ").join(step_text(PathStep.from_dict(step)) for step in steps)


def entrant_path(
    steps: list[dict[str, Any]], last_round_label: str, rank: int | None, score: str | None, *, with_results: bool
) -> list[str]:
    """An entry's path as its entrant reads it once the result is published, one text per round: each frozen
    round the entry was judged in (the payload's ``path``), then the last round's rank if the entry reached
    it. With ``with_results`` (the rubric's feedback shows scores) a frozen round reads as the award list
    reads it (:func:`step_text`: result, rank, rule); without, only whether the entry went on ("初评：晋级",
    "初评：未晋级"), as the judges' numbers are not the entrant's to see."""
    path = [PathStep.from_dict(step) for step in steps]
    lines = []
    for step in path:
        if with_results:
            lines.append(step_text(step))
        elif step.advanced:
            lines.append(_("%(round)s: advanced", round=step.round_label))
        else:
            lines.append(_("%(round)s: did not advance", round=step.round_label))
    if all(step.advanced for step in path):
        if rank is None:
            lines.append(_("%(round)s: %(result)s", round=last_round_label, result=_("not ranked")))
        elif with_results and score is not None:
            result = _("score %(score)s, rank %(rank)s", score=score, rank=rank)
            lines.append(_("%(round)s: %(result)s", round=last_round_label, result=result))
        else:
            lines.append(_("%(round)s: rank %(rank)s", round=last_round_label, rank=rank))
    return lines


def stopped_in(steps: list[dict[str, Any]]) -> str:
    """The label of the round an entry did not go on from ("" when it reached the last round)."""
    return next((str(step["label"]) for step in steps if not step["advanced"]), "")


def rule_text(rule: str, value: str) -> str:
    """An advance rule in the user's language: "top 5", "top 30%", "at least 2", "the organiser's pick"."""
    if rule == "top":
        return _("top %(n)s", n=value)
    if rule == "share":
        return _("top %(percent)s%%", percent=format_points(100 * Decimal(value)))
    if rule == "min_score":
        return _("at least %(score)s", score=value)
    return _("the organiser's pick")
