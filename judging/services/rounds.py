"""Running the judging rounds of a contest with ``[[rounds]]`` (初评 → 终评), inside the review phase.

The organiser opens a round (the first once review starts, each next one only once the round before it is
frozen), places judges on its panel (a judge may sit on several rounds, with a seat, assignments and sheets
in each) and assigns them the round's entries: every judgeable entry in the first round, exactly the
entries the previous round's frozen result sent on after it. Judges see and judge only their rounds'
assignments, and save sheets only while the assignment's round is open.
Freezing a round (not the last: the contest's own freeze is the last round's) records its standings and
who advances as a payload with a sha256 digest, audited; from then on its sheets never change. Every
rule that depends on the phase or a round's status is in :mod:`judging.workflow` (``ROUND_RULES``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from judging.assignment import assign_balanced
from judging.models import (
    Assignment,
    AssignmentStatus,
    Contest,
    Entry,
    JudgingRound,
    PanelMember,
    PanelRound,
    ScoreSheet,
    SheetStatus,
    User,
    utcnow,
)
from judging.rubric import PASS_CHECK, RoundSpec, Rubric, format_points
from judging.scoring.rounds import (
    AdvanceError,
    Advancement,
    Standing,
    advance_rule,
    pass_fail_standings,
    select_advancing,
)
from judging.services import NotFound, ServiceError, audit, exclusions
from judging.services.contests import current_rubric
from judging.services.entries import judgeable_entries
from judging.services.results import engine_run, score_frames
from judging.services.round_paths import ROUND_PAYLOAD_FORMAT, payload_of_round, round_codes, round_rows
from judging.workflow import RoundAction, RoundRefusal, RoundStatus, round_refusal


@dataclass(frozen=True)
class RoundView:
    """One round of the rubric with where it stands: ``row`` None until it is opened."""

    spec: RoundSpec
    index: int
    row: JudgingRound | None

    @property
    def status(self) -> RoundStatus:
        if self.row is None:
            return RoundStatus.WAITING
        return RoundStatus.FROZEN if self.row.payload else RoundStatus.OPEN


@dataclass(frozen=True)
class RoundOutcome:
    """A round's result as it stands (or as frozen): standings, and who advances (None for the last
    round, or a pick not made yet); ``drafts`` saved but unsubmitted sheets."""

    view: RoundView
    standings: tuple[Standing, ...]
    advancement: Mapping[str, Advancement] | None
    drafts: int
    problems: tuple[str, ...] = ()


def round_views(session: Session, contest: Contest) -> list[RoundView]:
    """The contest's rounds in rubric order (empty for a contest without ``[[rounds]]``)."""
    rows = round_rows(session, contest)
    return [RoundView(spec, index, rows.get(spec.key)) for index, spec in enumerate(current_rubric(contest).rounds)]


def round_view(session: Session, contest: Contest, key: str) -> RoundView:
    for view in round_views(session, contest):
        if view.spec.key == key:
            return view
    raise NotFound(_("This contest has no such judging round."))


def round_allowed(action: RoundAction, contest: Contest, view: RoundView, views: list[RoundView]) -> bool:
    """Whether the workflow's round rules allow ``action`` on this round now (pages show buttons by it)."""
    previous = views[view.index - 1].status if view.index > 0 else None
    return round_refusal(action, contest.phase, view.status, previous) is None


def require_round(action: RoundAction, contest: Contest, view: RoundView, views: list[RoundView]) -> None:
    """Refuse (ServiceError, saying why) what the workflow's round rules do not allow now."""
    previous = views[view.index - 1].status if view.index > 0 else None
    refusal = round_refusal(action, contest.phase, view.status, previous)
    if refusal is None:
        return
    label = view.spec.label
    messages = {
        RoundRefusal.WRONG_PHASE: _("Judging rounds run while the contest is in review."),
        RoundRefusal.ROUND_NOT_OPEN: _("The round “%(round)s” is not open.", round=label),
        RoundRefusal.ROUND_ALREADY_OPEN: _("The round “%(round)s” is already open.", round=label),
        RoundRefusal.ROUND_FROZEN: _("The round “%(round)s” is frozen: its result can no longer change.", round=label),
        RoundRefusal.PREVIOUS_NOT_FROZEN: _(
            "The round “%(round)s” can open only once the round before it, “%(previous)s”, is frozen.",
            round=label,
            previous=views[view.index - 1].spec.label if view.index else "",
        ),
    }
    raise ServiceError(messages[refusal])


def open_round(session: Session, actor: User, contest: Contest, key: str) -> JudgingRound:
    """Open a round: from now its panel may be assigned and its judges may judge its entries."""
    views = round_views(session, contest)
    view = round_view(session, contest, key)
    require_round(RoundAction.OPEN_ROUND, contest, view, views)
    row = JudgingRound(contest_id=contest.id, key=key, opened_by_id=actor.id)
    session.add(row)
    session.flush()
    audit.record(session, actor, "round.open", object_type="round", object_id=key, contest_id=contest.id)
    return row


def round_entries(session: Session, contest: Contest, key: str) -> list[Entry]:
    """The entries a round holds: every judgeable entry in the first round; after it, exactly the
    entries the round before sent on (none while it is not frozen)."""
    entries = judgeable_entries(session, contest)
    codes = round_codes(session, contest, current_rubric(contest), key)
    if round_view(session, contest, key).index == 0:
        return entries
    wanted = set(codes or ())
    return [entry for entry in entries if entry.code in wanted]


def _member(session: Session, contest: Contest, judge: User) -> PanelMember:
    member = session.scalar(
        select(PanelMember).where(PanelMember.contest_id == contest.id, PanelMember.judge_id == judge.id)
    )
    if member is None:
        raise ServiceError(_("Add the judge to the contest's panel first."))
    return member


def round_judges(contest: Contest, key: str) -> list[User]:
    """The judges who sit on the round's panel, in the order they joined the contest's panel."""
    members = sorted(contest.panel, key=lambda m: (m.joined_at, m.judge_id))
    return [member.judge for member in members if key in member.round_keys]


def place_judge(session: Session, actor: User, contest: Contest, judge: User, key: str) -> None:
    """Put a panel judge on one round's panel. A judge may sit on several rounds (the same expert often
    screens and judges the final): each round then has its own assignments and sheets for the judge."""
    views = round_views(session, contest)
    view = round_view(session, contest, key)
    require_round(RoundAction.PLACE_JUDGES, contest, view, views)
    member = _member(session, contest, judge)
    if key in member.round_keys:
        raise ServiceError(
            _("%(judge)s already sits on the round “%(round)s”.", judge=judge.display_name, round=view.spec.label)
        )
    member.seats.append(PanelRound(round_key=key))
    session.flush()
    audit.record(
        session,
        actor,
        "round.place_judge",
        object_type="round",
        object_id=key,
        contest_id=contest.id,
        data={"judge": judge.username, "rounds": sorted(member.round_keys)},
    )


def started_seats(session: Session, contest: Contest) -> set[tuple[str, int]]:
    """(round key, judge id) of every round that has started for a judge: the judge has assignments in it
    (recused ones too), so the judge stays on that round's panel."""
    return {
        (key, judge_id)
        for key, judge_id in session.execute(
            select(Assignment.round_key, Assignment.judge_id)
            .join(Entry, Assignment.entry_id == Entry.id)
            .where(Entry.contest_id == contest.id)
            .distinct()
        )
    }


def unplace_judge(session: Session, actor: User, contest: Contest, judge: User, key: str) -> None:
    """Take a judge off one round's panel, while the round has not started for the judge (no assignment
    of the judge in it); the judge's seats on other rounds stay."""
    views = round_views(session, contest)
    view = round_view(session, contest, key)
    require_round(RoundAction.PLACE_JUDGES, contest, view, views)
    member = _member(session, contest, judge)
    seat = next((seat for seat in member.seats if seat.round_key == key), None)
    if seat is None:
        raise ServiceError(
            _("%(judge)s does not sit on the round “%(round)s”.", judge=judge.display_name, round=view.spec.label)
        )
    if (key, judge.id) in started_seats(session, contest):
        raise ServiceError(
            _(
                "%(judge)s already has entries to judge in the round “%(round)s”, so stays on its panel.",
                judge=judge.display_name,
                round=view.spec.label,
            )
        )
    member.seats.remove(seat)
    session.flush()
    audit.record(
        session,
        actor,
        "round.unplace_judge",
        object_type="round",
        object_id=key,
        contest_id=contest.id,
        data={"judge": judge.username, "rounds": sorted(member.round_keys)},
    )


def assign_round(session: Session, actor: User, contest: Contest, key: str) -> int:
    """Assign the round's panel to the round's entries by the round's ``judges_per_entry`` ("all", or a
    balanced k), never a conflicted or recused pair; a recusal in an earlier round carries over (the judge
    declared the conflict for the entry, not for a round). An assignment that has a sheet is kept. Returns
    the number of assignments created."""
    views = round_views(session, contest)
    view = round_view(session, contest, key)
    require_round(RoundAction.ASSIGN_ROUND, contest, view, views)
    rubric = current_rubric(contest).for_round(key)
    judges = round_judges(contest, key)
    if not judges:
        raise ServiceError(_("Place judges on the round's panel first."))
    entries = round_entries(session, contest, key)
    existing = {
        (a.entry_id, a.judge_id): a
        for a in session.scalars(
            select(Assignment).join(Entry).where(Entry.contest_id == contest.id, Assignment.round_key == key)
        )
    }
    excluded = exclusions.excluded_pairs(session, contest, rubric, judges, entries)
    conflicts = {(pair.entry.id, pair.judge.id) for pair in excluded}
    conflicts |= {pair for pair, a in existing.items() if a.status is AssignmentStatus.RECUSED}
    k = rubric.assignment.judges_per_entry if rubric.assignment else "all"
    if k == "all":
        wanted = {(e.id, j.id) for e in entries for j in judges if (e.id, j.id) not in conflicts}
    else:
        keep = {p for p, a in existing.items() if a.status is AssignmentStatus.ASSIGNED and a.sheet is not None}
        target = assign_balanced(
            [e.id for e in entries], [j.id for j in judges], int(k), conflicts=conflicts, keep=keep
        )
        wanted = {(entry_id, judge_id) for entry_id, panel in target.items() for judge_id in panel}
    for pair, assignment in existing.items():
        if assignment.status is AssignmentStatus.ASSIGNED and assignment.sheet is None and pair not in wanted:
            session.delete(assignment)
    created = 0
    for entry_id, judge_id in sorted(wanted - set(existing)):
        session.add(Assignment(entry_id=entry_id, judge_id=judge_id, round_key=key))
        created += 1
    session.flush()
    audit.record(
        session,
        actor,
        "round.assign",
        object_type="round",
        object_id=key,
        contest_id=contest.id,
        data={
            "k": k,
            "created": created,
            "excluded": [[p.entry.code, p.judge.username, p.reason.value] for p in excluded],
        },
    )
    return created


def rubric_for_assignment(contest: Contest, assignment: Assignment) -> Rubric:
    """The rubric a judge's sheet is made with: the round's view of it for an assignment of a round."""
    rubric = current_rubric(contest)
    if assignment.round_key and rubric.rounds:
        view = rubric.for_round(assignment.round_key)
        if view.checks == (PASS_CHECK,):  # the pass/fail question, in the judge's language
            view = view.model_copy(
                update={"checks": (PASS_CHECK.model_copy(update={"label": _("Passes to the next round")}),)}
            )
        return view
    return rubric


def require_sheet_round_open(session: Session, contest: Contest, assignment: Assignment) -> None:
    """Refuse a sheet change in a round that is not open (never opened, or frozen: its result stands)."""
    if not assignment.round_key or not current_rubric(contest).rounds:
        return
    views = round_views(session, contest)
    view = round_view(session, contest, assignment.round_key)
    require_round(RoundAction.SAVE_ROUND_SHEETS, contest, view, views)


def sheet_round_refusal(session: Session, contest: Contest, assignment: Assignment) -> str | None:
    """Why the assignment's sheet cannot be saved as far as its round goes (its round is frozen, or not
    open), as :func:`require_sheet_round_open` says it; None when it can. The judge's page shows a frozen
    round's sheet read-only with this."""
    try:
        require_sheet_round_open(session, contest, assignment)
    except ServiceError as refusal:
        return refusal.message
    return None


def round_label(contest: Contest, key: str) -> str:
    """The label of the contest's round ``key`` ("" without rounds, or for a round the rubric no longer has)."""
    return next((spec.label for spec in current_rubric(contest).rounds if spec.key == key), "")


def round_outcome(session: Session, contest: Contest, key: str, picks: Mapping[str, str] | None = None) -> RoundOutcome:
    """A round's result: as recorded once frozen, else as it stands from the round's submitted sheets."""
    view = round_view(session, contest, key)
    if view.row is not None and view.row.payload:
        payload = payload_of_round(view.row)
        assert payload is not None
        return _outcome_of_payload(view, payload)
    rubric = current_rubric(contest).for_round(key)
    scores, checks = score_frames(session, contest, rubric, key)
    codes = {entry.code: entry.category or "" for entry in round_entries(session, contest, key)}
    drafts = session.scalar(
        select(func.count(ScoreSheet.id))
        .join(Assignment, ScoreSheet.assignment_id == Assignment.id)
        .where(
            Assignment.round_key == key,
            Assignment.status == AssignmentStatus.ASSIGNED,
            Assignment.entry_id.in_(select(Entry.id).where(Entry.contest_id == contest.id)),
            ScoreSheet.status == SheetStatus.DRAFT,
        )
    )
    problems: tuple[str, ...] = ()
    if view.spec.mode == "pass_fail":
        answers: dict[str, list[bool]] = {code: [] for code in codes}
        for row in checks.to_dict("records"):
            if row["entry"] in answers:
                answers[str(row["entry"])].append(bool(row["passed"]))
        standings = pass_fail_standings(answers, codes)
    else:
        standings, problems = _scored_standings(rubric, scores, checks, codes, contest.slug)
    advancement = None
    if view.spec.advance is not None and (not view.spec.advance.pick or picks):
        try:
            advancement = select_advancing(standings, view.spec.advance, picks)
        except AdvanceError as problem:
            raise ServiceError(_pick_message(problem)) from None
    return RoundOutcome(view, tuple(standings), advancement, int(drafts or 0), problems)


def _scored_standings(
    rubric: Rubric, scores: Any, checks: Any, codes: Mapping[str, str], source: str
) -> tuple[list[Standing], tuple[str, ...]]:
    counted = scores[["entry", "judge"]].drop_duplicates().groupby("entry").size().to_dict() if len(scores) else {}
    ranked: dict[str, Standing] = {}
    problems: tuple[str, ...] = ()
    if len(scores):
        run = engine_run(rubric, scores, checks, source)
        problems = run.problems
        if run.ranking is not None:
            for row in run.ranking.table.to_dict("records"):
                code = str(row["entry"])
                ranked[code] = Standing(
                    code,
                    str(row.get("category") or ""),
                    Decimal(row["final_score"]),
                    int(row["rank"]),
                    int(row["n_sheets"]),
                )
    standings = [ranked[code] for code in sorted(ranked, key=lambda c: (ranked[c].rank or 0, c))]
    standings += [
        Standing(code, codes[code], None, None, int(counted.get(code, 0)))
        for code in sorted(codes)
        if code not in ranked
    ]
    return standings, problems


def _pick_message(problem: AdvanceError) -> str:
    if problem.kind == "missing_reason":
        return _("Give a reason for picking %(entry)s.", entry=problem.entry)
    if problem.kind == "unknown_entry":
        return _("%(entry)s is not an entry of this round.", entry=problem.entry)
    return _("Pick at least one entry to go on to the next round.")


def freeze_round(
    session: Session, actor: User, contest: Contest, key: str, picks: Mapping[str, str] | None = None
) -> JudgingRound:
    """Freeze a round's result: its standings and the entries that advance, recorded as a payload with its
    sha256 digest and audited. Refused for the last round (the contest's freeze is its result), with
    sheets saved but not submitted, or with nothing ranked."""
    views = round_views(session, contest)
    view = round_view(session, contest, key)
    require_round(RoundAction.FREEZE_ROUND, contest, view, views)
    if view.spec.advance is None:
        raise ServiceError(_("The last round's result is the contest's result: freeze it on the publication desk."))
    if view.spec.advance.pick and not picks:
        raise ServiceError(_("Pick at least one entry to go on to the next round."))
    outcome = round_outcome(session, contest, key, picks)
    if outcome.drafts:
        raise ServiceError(
            _(
                "%(n)d score sheets of this round are saved but not submitted. Ask the judges to submit them "
                "before freezing the round.",
                n=outcome.drafts,
            )
        )
    if outcome.advancement is None or (not any(s.rank is not None for s in outcome.standings) and not picks):
        raise ServiceError(_("Nothing is ranked in this round yet, so it cannot be frozen."))
    payload = _round_payload(contest, view, outcome)
    assert view.row is not None
    row = view.row
    row.payload = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    row.digest = hashlib.sha256(row.payload.encode("utf-8")).hexdigest()
    row.rubric_sha256 = contest.current_rubric.sha256
    row.frozen_at = utcnow()
    row.frozen_by_id = actor.id
    session.flush()
    audit.record(
        session,
        actor,
        "round.freeze",
        object_type="round",
        object_id=key,
        contest_id=contest.id,
        data={
            "digest": row.digest,
            "advanced": sorted(code for code, a in outcome.advancement.items() if a.advanced),
            "picks": dict(picks or {}),
        },
    )
    return row


def _round_payload(contest: Contest, view: RoundView, outcome: RoundOutcome) -> dict[str, Any]:
    spec = view.spec
    assert spec.advance is not None and outcome.advancement is not None
    rule = advance_rule(spec.advance)
    value = getattr(spec.advance, rule.value)
    return {
        "format": ROUND_PAYLOAD_FORMAT,
        "contest": contest.slug,
        "rubric_sha256": contest.current_rubric.sha256,
        "round": spec.key,
        "label": spec.label,
        "mode": spec.mode,
        "rule": {"name": rule.value, "value": "" if rule.value == "pick" else format_points(Decimal(value))},
        "ties": "entries sharing the last place that advances all advance",
        "entries": [
            {
                "entry": standing.entry,
                "category": standing.category,
                "result": None if standing.result is None else format_points(standing.result),
                "rank": standing.rank,
                "judges": standing.judges,
                "advanced": outcome.advancement[standing.entry].advanced,
                "tied": outcome.advancement[standing.entry].tied,
                "reason": outcome.advancement[standing.entry].reason,
            }
            for standing in outcome.standings
        ],
    }


def _outcome_of_payload(view: RoundView, payload: dict[str, Any]) -> RoundOutcome:
    rule = advance_rule(view.spec.advance) if view.spec.advance else None
    standings = tuple(
        Standing(
            line["entry"],
            line["category"],
            None if line["result"] is None else Decimal(line["result"]),
            line["rank"],
            line["judges"],
        )
        for line in payload["entries"]
    )
    advancement = (
        {
            line["entry"]: Advancement(line["entry"], line["advanced"], rule, line["tied"], line["reason"])
            for line in payload["entries"]
        }
        if rule
        else None
    )
    return RoundOutcome(view, standings, advancement, 0)
