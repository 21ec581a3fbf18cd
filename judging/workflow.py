"""The workflow of a contest (DESIGN.md §4): its phases, the states of its result snapshots, every move
between them and every rule that depends on them, as one table.

``draft → open → review → publicity (公示) → published → archived``; review can go back to open, open to
draft; publicity goes back to review when the result on notice is withdrawn (an upheld objection), and a
published contest goes back to review for a correction, which ends in a new, linked publication.

Services enforce these rules (``judging.services.contests.require``), views ask the same questions to
decide which buttons and forms to show, and the labels name the moves listed here: no other module
lists phases. Pure: no Flask, no database; the rules are functions of a :class:`ContestState` and the
time.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Phase(enum.StrEnum):
    """A contest's phase (DESIGN.md §4); each move is an organiser action, recorded in the audit log."""

    DRAFT = "draft"
    OPEN = "open"
    REVIEW = "review"
    PUBLICITY = "publicity"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class SnapshotStatus(enum.StrEnum):
    """A frozen result's life: on public notice, withdrawn (review reopened), published, or superseded
    by a correction. Whatever the status, the payload and its digest never change."""

    FROZEN = "frozen"
    WITHDRAWN = "withdrawn"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"


class VoteStatus(enum.StrEnum):
    """Where a contest's public vote stands: its rubric has none, it has one not opened yet, the vote
    is open (until its closing time), or it was closed by the organiser."""

    NOT_USED = "not_used"
    NOT_OPENED = "not_opened"
    OPEN = "open"
    CLOSED = "closed"


class Action(enum.StrEnum):
    """Everything whose permission depends on the workflow: the phase moves, then the work done in a phase."""

    # Phase moves (MOVES)
    OPEN_ENTRIES = "open_entries"
    BACK_TO_PREPARATION = "back_to_preparation"
    START_REVIEW = "start_review"
    REOPEN_ENTRIES = "reopen_entries"
    FREEZE_RESULTS = "freeze_results"
    REOPEN_REVIEW = "reopen_review"
    PUBLISH_RESULTS = "publish_results"
    START_CORRECTION = "start_correction"
    ARCHIVE = "archive"
    CLOSE_COLLECTION = "close_collection"
    REOPEN_COLLECTION = "reopen_collection"
    # Work within a phase
    CHANGE_ENTRIES = "change_entries"
    """Entrants create, edit, upload to, submit, withdraw and nominate entries."""
    SAVE_SHEETS = "save_sheets"
    """Judges save and submit score sheets."""
    REOPEN_SHEETS = "reopen_sheets"
    """Organisers send a submitted sheet back to its judge."""
    DECLARE_CONFLICTS = "declare_conflicts"
    """Judges declare a conflict of interest (回避)."""
    CHANGE_PANEL = "change_panel"
    """Organisers add judges to the panel or take them off."""
    CHANGE_ASSIGNMENT = "change_assignment"
    """Organisers run the assignment or override a recusal."""
    DISQUALIFY_ENTRIES = "disqualify_entries"
    """Organisers disqualify or reinstate entries."""
    IMPORT_SCORES = "import_scores"
    """Organisers import a skills contest's roster and part scores."""
    CREATE_TASKS = "create_tasks"
    """Organisers create the judged task entries of a skills contest."""
    FILE_OBJECTIONS = "file_objections"
    """Anyone objects to a result on public notice."""
    REOPEN_REPORTS = "reopen_reports"
    """Organisers send one organisation's submitted report back to it (a collection contest)."""
    REMIND_MISSING = "remind_missing"
    """Organisers remind the organisations that have not reported (a collection contest)."""
    OPEN_VOTE = "open_vote"
    """Organisers open the public vote on the shortlist of the experts' result."""
    CLOSE_VOTE = "close_vote"
    """Organisers close the public vote."""
    CAST_VOTE = "cast_vote"
    """The public votes for a shortlisted work."""
    VOID_VOTES = "void_votes"
    """Organisers void votes (or restore voided ones), with a reason."""


class Clock(enum.StrEnum):
    """A condition on the time, besides the phase."""

    BEFORE_SUBMISSION_DEADLINE = "before_submission_deadline"
    """Until the submission deadline, inclusive (always, without a deadline)."""
    BEFORE_REVIEW_DEADLINE = "before_review_deadline"
    """Until the review deadline, inclusive (always, without a deadline)."""
    DURING_NOTICE = "during_notice"
    """Before the snapshot's notice period ends."""
    AFTER_NOTICE = "after_notice"
    """Once the snapshot's notice period has ended."""
    DURING_VOTE = "during_vote"
    """Before the public vote's closing time."""


class Refusal(enum.StrEnum):
    """Why the workflow refuses an action; the services word it for people."""

    WRONG_PHASE = "wrong_phase"
    WRONG_RESULT_STATE = "wrong_result_state"
    SUBMISSION_DEADLINE_PASSED = "submission_deadline_passed"
    REVIEW_DEADLINE_PASSED = "review_deadline_passed"
    NOTICE_RUNNING = "notice_running"
    NOTICE_OVER = "notice_over"
    ARCHIVED = "archived"
    WRONG_KIND = "wrong_kind"
    """The action does not exist for this kind of contest (judging or results in a collection of reports,
    reminders about reports in a judged contest)."""
    WRONG_VOTE_STATE = "wrong_vote_state"
    VOTE_CLOSED = "vote_closed"


@dataclass(frozen=True)
class ContestState:
    """What the rules look at: the contest's phase and deadlines and, for the actions on a result, the
    status and notice end of the snapshot in question (the one acted on, else the contest's latest)."""

    phase: Phase
    submission_deadline: datetime | None = None
    review_deadline: datetime | None = None
    snapshot_status: SnapshotStatus | None = None
    publicity_ends_at: datetime | None = None
    archived: bool = False
    """An archived contest is read-only: every action is refused until it is unarchived."""
    collection: bool = False
    """A collection of reports (``kind = "collection"``): its own table, :data:`COLLECTION_RULES`."""
    grace_until: datetime | None = None
    """For one report the organiser reopened: it may change until then, even after the submission deadline."""
    vote_status: VoteStatus = VoteStatus.NOT_USED
    vote_closes_at: datetime | None = None


@dataclass(frozen=True)
class Rule:
    """When an action is allowed: in one of ``phases``, with the snapshot in one of ``results`` (any when
    ``None``), and when ``clock`` says so."""

    phases: frozenset[Phase]
    results: frozenset[SnapshotStatus] | None = None
    clock: Clock | None = None
    votes: frozenset[VoteStatus] | None = None
    """The states of the public vote in which the action is allowed (any when ``None``)."""


@dataclass(frozen=True)
class Move:
    """A phase move. ``backwards`` moves are shown as warnings, never as the obvious next step.
    ``with_result`` moves freeze, withdraw or publish a result: they are made on the publication desk
    through the publication service only, never as a plain phase change, so that none can skip the
    snapshot, the notice period or the certificates."""

    action: Action
    source: Phase
    target: Phase
    backwards: bool
    with_result: bool = False
    results: frozenset[SnapshotStatus] | None = None
    clock: Clock | None = None
    kinds: str = "judged"
    """Which contests make the move: ``judged`` (work and skills), ``collection``, or ``both``."""
    votes: frozenset[VoteStatus] | None = None

    @property
    def rule(self) -> Rule:
        return Rule(frozenset({self.source}), self.results, self.clock, self.votes)


@dataclass(frozen=True)
class SnapshotMove:
    """A change of a snapshot's status made by an action; ``source`` ``None``: the action creates it.
    ``corrected``: the move applies to the publication that the acted-on snapshot corrects."""

    action: Action
    source: SnapshotStatus | None
    target: SnapshotStatus
    corrected: bool = False


_ON_NOTICE = frozenset({SnapshotStatus.FROZEN})
_VOTE_SETTLED = frozenset({VoteStatus.NOT_USED, VoteStatus.CLOSED})
"""A result may be frozen without a public vote, or once the vote is closed (never before it ran)."""
_BEFORE_VOTE = frozenset({VoteStatus.NOT_USED, VoteStatus.NOT_OPENED})
"""The experts' result changes only before the vote opens: the shortlist rests on it."""

MOVES: tuple[Move, ...] = (
    Move(Action.OPEN_ENTRIES, Phase.DRAFT, Phase.OPEN, backwards=False, kinds="both"),
    Move(Action.BACK_TO_PREPARATION, Phase.OPEN, Phase.DRAFT, backwards=True, kinds="both"),
    Move(Action.START_REVIEW, Phase.OPEN, Phase.REVIEW, backwards=False),
    Move(Action.REOPEN_ENTRIES, Phase.REVIEW, Phase.OPEN, backwards=True),
    Move(Action.FREEZE_RESULTS, Phase.REVIEW, Phase.PUBLICITY, backwards=False, with_result=True, votes=_VOTE_SETTLED),
    Move(Action.REOPEN_REVIEW, Phase.PUBLICITY, Phase.REVIEW, backwards=True, with_result=True, results=_ON_NOTICE),
    Move(
        Action.PUBLISH_RESULTS,
        Phase.PUBLICITY,
        Phase.PUBLISHED,
        backwards=False,
        with_result=True,
        results=_ON_NOTICE,
        clock=Clock.AFTER_NOTICE,
    ),
    Move(
        Action.START_CORRECTION,
        Phase.PUBLISHED,
        Phase.REVIEW,
        backwards=True,
        with_result=True,
        results=frozenset({SnapshotStatus.PUBLISHED}),
    ),
    Move(Action.ARCHIVE, Phase.PUBLISHED, Phase.ARCHIVED, backwards=False),
    Move(Action.CLOSE_COLLECTION, Phase.OPEN, Phase.ARCHIVED, backwards=False, kinds="collection"),
    Move(Action.REOPEN_COLLECTION, Phase.ARCHIVED, Phase.OPEN, backwards=True, kinds="collection"),
)
"""Every phase move of a contest. A collection of reports goes ``draft → open (until the deadline) →
closed`` (the archived phase) and may be reopened; it has no review, notice or publication. Publish also
needs every objection answered; the publication service checks that, as it is about the objections
rather than the workflow."""

SNAPSHOT_MOVES: tuple[SnapshotMove, ...] = (
    SnapshotMove(Action.FREEZE_RESULTS, None, SnapshotStatus.FROZEN),
    SnapshotMove(Action.REOPEN_REVIEW, SnapshotStatus.FROZEN, SnapshotStatus.WITHDRAWN),
    SnapshotMove(Action.PUBLISH_RESULTS, SnapshotStatus.FROZEN, SnapshotStatus.PUBLISHED),
    SnapshotMove(Action.PUBLISH_RESULTS, SnapshotStatus.PUBLISHED, SnapshotStatus.SUPERSEDED, corrected=True),
)
"""Every change of a result snapshot's status. A snapshot's payload never changes."""

RESULT_FROZEN: frozenset[Phase] = frozenset({Phase.PUBLICITY, Phase.PUBLISHED, Phase.ARCHIVED})
"""The phases in which a frozen result stands: what it rests on (the entries, the roster, the panel and
its assignments, the scores) stays as it is until review is reopened or a correction starts."""

_BEFORE_RESULT = frozenset(Phase) - RESULT_FROZEN
_TAKING_SHAPE = frozenset({Phase.OPEN, Phase.REVIEW})
_REVIEW = frozenset({Phase.REVIEW})


def _makes(move: Move, collection: bool) -> bool:
    return move.kinds == "both" or move.kinds == ("collection" if collection else "judged")


RULES: dict[Action, Rule] = {
    **{move.action: move.rule for move in MOVES if _makes(move, collection=False)},
    Action.CHANGE_ENTRIES: Rule(frozenset({Phase.OPEN}), clock=Clock.BEFORE_SUBMISSION_DEADLINE),
    Action.SAVE_SHEETS: Rule(_REVIEW, clock=Clock.BEFORE_REVIEW_DEADLINE, votes=_BEFORE_VOTE),
    Action.REOPEN_SHEETS: Rule(_REVIEW, votes=_BEFORE_VOTE),
    Action.DECLARE_CONFLICTS: Rule(_TAKING_SHAPE),
    Action.CHANGE_PANEL: Rule(_TAKING_SHAPE),
    Action.CHANGE_ASSIGNMENT: Rule(_TAKING_SHAPE),
    Action.DISQUALIFY_ENTRIES: Rule(_BEFORE_RESULT),
    Action.IMPORT_SCORES: Rule(_BEFORE_RESULT),
    Action.CREATE_TASKS: Rule(_REVIEW),
    Action.FILE_OBJECTIONS: Rule(frozenset({Phase.PUBLICITY}), _ON_NOTICE, Clock.DURING_NOTICE),
    Action.OPEN_VOTE: Rule(_REVIEW, votes=frozenset({VoteStatus.NOT_OPENED})),
    Action.CLOSE_VOTE: Rule(_REVIEW, votes=frozenset({VoteStatus.OPEN})),
    Action.CAST_VOTE: Rule(_REVIEW, clock=Clock.DURING_VOTE, votes=frozenset({VoteStatus.OPEN})),
    Action.VOID_VOTES: Rule(_REVIEW, votes=frozenset({VoteStatus.OPEN, VoteStatus.CLOSED})),
}
"""When each action is allowed. The panel and the assignment change only while the contest is open or
in review (so again after an upheld objection reopens review), never while a result stands. The public
vote opens in review on the experts' result (sheets are then settled), votes are cast until it closes, and
votes are voided until the combined result is frozen. Task
entries of a skills contest are created in review only: before it an entrant could still withdraw a
submitted entry of its organisation."""


COLLECTION_RULES: dict[Action, Rule] = {
    **{move.action: move.rule for move in MOVES if _makes(move, collection=True)},
    Action.CHANGE_ENTRIES: Rule(frozenset({Phase.OPEN}), clock=Clock.BEFORE_SUBMISSION_DEADLINE),
    Action.REOPEN_REPORTS: Rule(frozenset({Phase.OPEN})),
    Action.REMIND_MISSING: Rule(frozenset({Phase.OPEN})),
}
"""When each action is allowed in a collection of reports (``kind = "collection"``); every action not
listed (judging, results, objections) is refused for it. Organisations report while the collection is
open, until the deadline; the organiser may reopen one report and remind the missing organisations
while it is open, after the deadline too (a reopened report gets its own later deadline,
:attr:`ContestState.grace_until`)."""


def rules_for(state: ContestState) -> dict[Action, Rule]:
    """The table that governs the contest: :data:`COLLECTION_RULES` or :data:`RULES`."""
    return COLLECTION_RULES if state.collection else RULES


def refusal(action: Action, state: ContestState, now: datetime) -> Refusal | None:
    """Why the workflow refuses ``action`` in ``state`` at ``now``; ``None`` when it allows it.

    An archived contest refuses everything; an action the contest's kind has no rule for is refused;
    otherwise the phase is checked first, then the snapshot's status, then the public vote's state, then
    the time. The submission deadline of a report the organiser reopened is the later of the contest's and
    its grace.
    """
    if state.archived:
        return Refusal.ARCHIVED
    rule = rules_for(state).get(action)
    if rule is None:
        return Refusal.WRONG_KIND
    if state.phase not in rule.phases:
        return Refusal.WRONG_PHASE
    if rule.results is not None and state.snapshot_status not in rule.results:
        return Refusal.WRONG_RESULT_STATE
    if rule.votes is not None and state.vote_status not in rule.votes:
        return Refusal.WRONG_VOTE_STATE
    if rule.clock is Clock.BEFORE_SUBMISSION_DEADLINE:
        deadline = state.submission_deadline
        if deadline is not None and state.grace_until is not None:
            deadline = max(deadline, state.grace_until)
        if deadline is not None and now > deadline:
            return Refusal.SUBMISSION_DEADLINE_PASSED
    elif rule.clock is Clock.BEFORE_REVIEW_DEADLINE:
        if state.review_deadline is not None and now > state.review_deadline:
            return Refusal.REVIEW_DEADLINE_PASSED
    elif rule.clock is Clock.DURING_NOTICE:
        if state.publicity_ends_at is None or now >= state.publicity_ends_at:
            return Refusal.NOTICE_OVER
    elif rule.clock is Clock.AFTER_NOTICE:
        if state.publicity_ends_at is not None and now < state.publicity_ends_at:
            return Refusal.NOTICE_RUNNING
    elif rule.clock is Clock.DURING_VOTE:
        if state.vote_closes_at is None or now >= state.vote_closes_at:
            return Refusal.VOTE_CLOSED
    return None


def reporting_over(state: ContestState, now: datetime) -> bool:
    """Whether a collection's reporting is over: closed, or open past its submission deadline. An expected
    organisation without a submitted report is then *missing* (before, it is merely not done yet)."""
    if state.phase is Phase.ARCHIVED:
        return True
    return state.phase is Phase.OPEN and state.submission_deadline is not None and now > state.submission_deadline


def allowed(action: Action, state: ContestState, now: datetime) -> bool:
    """Whether the workflow allows ``action`` in ``state`` at ``now`` (see :data:`RULES`)."""
    return refusal(action, state, now) is None


def allowed_phases(action: Action, *, collection: bool = False) -> tuple[Phase, ...]:
    """The phases in which ``action`` may be allowed, in workflow order."""
    rule = (COLLECTION_RULES if collection else RULES).get(action)
    return tuple(phase for phase in Phase if rule is not None and phase in rule.phases)


def results_frozen(phase: Phase) -> bool:
    """Whether a frozen result stands in ``phase`` (on notice, published or archived)."""
    return phase in RESULT_FROZEN


def move_of(action: Action) -> Move:
    """The phase move an action makes."""
    return next(move for move in MOVES if move.action is action)


def move_between(source: Phase, target: Phase, *, collection: bool = False) -> Move | None:
    """The move from ``source`` to ``target``, if the workflow of a judged contest (or of a collection) has one."""
    return next(
        (
            move
            for move in MOVES
            if move.source is source and move.target is target and _makes(move, collection=collection)
        ),
        None,
    )


def moves_from(phase: Phase, *, with_result: bool | None = None, collection: bool = False) -> tuple[Move, ...]:
    """The moves out of ``phase`` of a judged contest (or of a collection): all, or only those made with
    (``True``) or without (``False``) a result."""
    return tuple(
        move
        for move in MOVES
        if move.source is phase
        and _makes(move, collection=collection)
        and (with_result is None or move.with_result is with_result)
    )


def snapshot_move(action: Action, *, corrected: bool = False) -> SnapshotMove:
    """The snapshot move an action makes (on the acted-on snapshot, or on the publication it corrects)."""
    return next(move for move in SNAPSHOT_MOVES if move.action is action and move.corrected is corrected)


SETTLED: frozenset[Phase] = frozenset({Phase.PUBLISHED, Phase.ARCHIVED})
"""The phases in which a contest's entries are settled: its result is published (and keeps the names and
places it was frozen with), so organisations may move or retire under it."""
JUDGED_BY_TREE: frozenset[Phase] = frozenset({Phase.REVIEW, Phase.PUBLICITY})
"""The phases in which the judges were assigned by the organisation tree as it stood (conflicts of
interest follow the tree), so the tree must not change under the entries before the panel."""


def settled(phase: Phase) -> bool:
    """Whether a contest in ``phase`` is over: its entries no longer depend on the organisation tree."""
    return phase in SETTLED


# --- judging rounds ------------------------------------------------------------------------------
#
# A contest with ``[[rounds]]`` runs them inside the review phase, one after the other: the organiser
# opens a round (the first once review starts, each next one once the previous round's result is frozen),
# places judges on its panel and assigns them the round's entries, judges save sheets only while their
# round is open, and freezing a round records its result and who advances. The last round is never
# frozen on its own: the contest's result (``FREEZE_RESULTS``) is its result. Rounds are a sub-state of
# review rather than phases of their own, so every other rule of the table above stays as it is.


class RoundStatus(enum.StrEnum):
    """Where one round stands: not opened yet, open (judges judge), or frozen (its result recorded)."""

    WAITING = "waiting"
    OPEN = "open"
    FROZEN = "frozen"


class RoundAction(enum.StrEnum):
    OPEN_ROUND = "open_round"
    """Organisers open a round: its entries are every judgeable entry, or the previous round's advancing ones."""
    PLACE_JUDGES = "place_judges"
    """Organisers place judges on a round's panel (before it opens, or while it is open)."""
    ASSIGN_ROUND = "assign_round"
    """Organisers assign the round's panel the round's entries."""
    SAVE_ROUND_SHEETS = "save_round_sheets"
    """Judges save and submit sheets of a round (besides ``SAVE_SHEETS`` for the contest)."""
    FREEZE_ROUND = "freeze_round"
    """Organisers freeze a round's result and with it the entries that advance (not the last round)."""


@dataclass(frozen=True)
class RoundRule:
    """When a round action is allowed: in one of ``phases``, with the round in one of ``statuses`` and the
    round before it (if any) in one of ``previous`` (any when ``None``)."""

    phases: frozenset[Phase]
    statuses: frozenset[RoundStatus]
    previous: frozenset[RoundStatus] | None = None


ROUND_RULES: dict[RoundAction, RoundRule] = {
    RoundAction.OPEN_ROUND: RoundRule(_REVIEW, frozenset({RoundStatus.WAITING}), frozenset({RoundStatus.FROZEN})),
    RoundAction.PLACE_JUDGES: RoundRule(_REVIEW, frozenset({RoundStatus.WAITING, RoundStatus.OPEN})),
    RoundAction.ASSIGN_ROUND: RoundRule(_REVIEW, frozenset({RoundStatus.OPEN})),
    RoundAction.SAVE_ROUND_SHEETS: RoundRule(_REVIEW, frozenset({RoundStatus.OPEN})),
    RoundAction.FREEZE_ROUND: RoundRule(_REVIEW, frozenset({RoundStatus.OPEN})),
}
"""When each round action is allowed. A round opens only once the round before it is frozen; a frozen
round's sheets never change again (a reopened contest keeps its frozen rounds)."""


class RoundRefusal(enum.StrEnum):
    WRONG_PHASE = "wrong_phase"
    ROUND_NOT_OPEN = "round_not_open"
    ROUND_ALREADY_OPEN = "round_already_open"
    ROUND_FROZEN = "round_frozen"
    PREVIOUS_NOT_FROZEN = "previous_not_frozen"


def round_refusal(
    action: RoundAction, phase: Phase, status: RoundStatus, previous: RoundStatus | None
) -> RoundRefusal | None:
    """Why the workflow refuses a round action (``previous``: the status of the round before, ``None``
    for the first round); ``None`` when it allows it. The phase is checked first, then the round before,
    then the round itself."""
    rule = ROUND_RULES[action]
    if phase not in rule.phases:
        return RoundRefusal.WRONG_PHASE
    if rule.previous is not None and previous is not None and previous not in rule.previous:
        return RoundRefusal.PREVIOUS_NOT_FROZEN
    if status not in rule.statuses:
        if status is RoundStatus.FROZEN:
            return RoundRefusal.ROUND_FROZEN
        if status is RoundStatus.OPEN:
            return RoundRefusal.ROUND_ALREADY_OPEN
        return RoundRefusal.ROUND_NOT_OPEN
    return None
