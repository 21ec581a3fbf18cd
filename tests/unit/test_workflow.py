"""The workflow table (judging/workflow.py): every phase move, every snapshot move and every rule, pinned."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from judging import workflow
from judging.workflow import (
    MOVES,
    RULES,
    SNAPSHOT_MOVES,
    Action,
    ContestState,
    Phase,
    Refusal,
    SnapshotStatus,
    allowed,
    refusal,
)

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
DR, OP, RE, NO, PU, AR = (Phase.DRAFT, Phase.OPEN, Phase.REVIEW, Phase.PUBLICITY, Phase.PUBLISHED, Phase.ARCHIVED)
FROZEN, WITHDRAWN, PUBLISHED, SUPERSEDED = (
    SnapshotStatus.FROZEN,
    SnapshotStatus.WITHDRAWN,
    SnapshotStatus.PUBLISHED,
    SnapshotStatus.SUPERSEDED,
)


def test_the_phase_moves_are_exactly_these() -> None:
    assert [(m.action, m.source, m.target, m.backwards, m.with_result, m.kinds) for m in MOVES] == [
        (Action.OPEN_ENTRIES, DR, OP, False, False, "both"),
        (Action.BACK_TO_PREPARATION, OP, DR, True, False, "both"),
        (Action.START_REVIEW, OP, RE, False, False, "judged"),
        (Action.REOPEN_ENTRIES, RE, OP, True, False, "judged"),
        (Action.FREEZE_RESULTS, RE, NO, False, True, "judged"),
        (Action.REOPEN_REVIEW, NO, RE, True, True, "judged"),
        (Action.PUBLISH_RESULTS, NO, PU, False, True, "judged"),
        (Action.START_CORRECTION, PU, RE, True, True, "judged"),
        (Action.ARCHIVE, PU, AR, False, False, "judged"),
        (Action.CLOSE_COLLECTION, OP, AR, False, False, "collection"),
        (Action.REOPEN_COLLECTION, AR, OP, True, False, "collection"),
    ]


def test_the_snapshot_moves_are_exactly_these() -> None:
    assert [(m.action, m.source, m.target, m.corrected) for m in SNAPSHOT_MOVES] == [
        (Action.FREEZE_RESULTS, None, FROZEN, False),
        (Action.REOPEN_REVIEW, FROZEN, WITHDRAWN, False),
        (Action.PUBLISH_RESULTS, FROZEN, PUBLISHED, False),
        (Action.PUBLISH_RESULTS, PUBLISHED, SUPERSEDED, True),
    ]


# (action) → (phases in which it is allowed, snapshot statuses it needs or None, clock or None)
EXPECTED_RULES = {
    Action.OPEN_ENTRIES: ({DR}, None, None),
    Action.BACK_TO_PREPARATION: ({OP}, None, None),
    Action.START_REVIEW: ({OP}, None, None),
    Action.REOPEN_ENTRIES: ({RE}, None, None),
    Action.FREEZE_RESULTS: ({RE}, None, None),
    Action.REOPEN_REVIEW: ({NO}, {FROZEN}, None),
    Action.PUBLISH_RESULTS: ({NO}, {FROZEN}, workflow.Clock.AFTER_NOTICE),
    Action.START_CORRECTION: ({PU}, {PUBLISHED}, None),
    Action.ARCHIVE: ({PU}, None, None),
    Action.CHANGE_ENTRIES: ({OP}, None, workflow.Clock.BEFORE_SUBMISSION_DEADLINE),
    Action.SAVE_SHEETS: ({RE}, None, workflow.Clock.BEFORE_REVIEW_DEADLINE),
    Action.REOPEN_SHEETS: ({RE}, None, None),
    Action.DECLARE_CONFLICTS: ({OP, RE}, None, None),
    Action.CHANGE_PANEL: ({OP, RE}, None, None),
    Action.CHANGE_ASSIGNMENT: ({OP, RE}, None, None),
    Action.DISQUALIFY_ENTRIES: ({DR, OP, RE}, None, None),
    Action.IMPORT_SCORES: ({DR, OP, RE}, None, None),
    Action.CREATE_TASKS: ({RE}, None, None),
    Action.FILE_OBJECTIONS: ({NO}, {FROZEN}, workflow.Clock.DURING_NOTICE),
    Action.OPEN_VOTE: ({RE}, None, None),
    Action.CLOSE_VOTE: ({RE}, None, None),
    Action.CAST_VOTE: ({RE}, None, workflow.Clock.DURING_VOTE),
    Action.VOID_VOTES: ({RE}, None, None),
}

V = workflow.VoteStatus
# (action) → the states of the public vote it needs (the actions not listed allow any)
EXPECTED_VOTE_RULES = {
    Action.FREEZE_RESULTS: {V.NOT_USED, V.CLOSED},
    Action.SAVE_SHEETS: {V.NOT_USED, V.NOT_OPENED},
    Action.REOPEN_SHEETS: {V.NOT_USED, V.NOT_OPENED},
    Action.OPEN_VOTE: {V.NOT_OPENED},
    Action.CLOSE_VOTE: {V.OPEN},
    Action.CAST_VOTE: {V.OPEN},
    Action.VOID_VOTES: {V.OPEN, V.CLOSED},
}


COLLECTION_ONLY = {Action.CLOSE_COLLECTION, Action.REOPEN_COLLECTION, Action.REOPEN_REPORTS, Action.REMIND_MISSING}
EXPECTED_COLLECTION_RULES = {
    Action.OPEN_ENTRIES: ({DR}, None, None),
    Action.BACK_TO_PREPARATION: ({OP}, None, None),
    Action.CLOSE_COLLECTION: ({OP}, None, None),
    Action.REOPEN_COLLECTION: ({AR}, None, None),
    Action.CHANGE_ENTRIES: ({OP}, None, workflow.Clock.BEFORE_SUBMISSION_DEADLINE),
    Action.REOPEN_REPORTS: ({OP}, None, None),
    Action.REMIND_MISSING: ({OP}, None, None),
}


def test_every_action_has_exactly_the_pinned_rule() -> None:
    assert set(RULES) == set(Action) - COLLECTION_ONLY
    actual = {
        action: (set(rule.phases), set(rule.results) if rule.results is not None else None, rule.clock)
        for action, rule in RULES.items()
    }
    assert actual == EXPECTED_RULES
    assert {action: set(rule.votes) for action, rule in RULES.items() if rule.votes is not None} == EXPECTED_VOTE_RULES


def test_a_moves_rule_is_its_source_phase() -> None:
    for move in MOVES:
        table = workflow.COLLECTION_RULES if move.kinds == "collection" else RULES
        assert table[move.action].phases == {move.source}


def test_a_collection_has_exactly_the_pinned_rules() -> None:
    actual = {
        action: (set(rule.phases), set(rule.results) if rule.results is not None else None, rule.clock)
        for action, rule in workflow.COLLECTION_RULES.items()
    }
    assert actual == EXPECTED_COLLECTION_RULES


@pytest.mark.parametrize("phase", list(Phase))
@pytest.mark.parametrize("action", sorted(set(Action) - set(EXPECTED_COLLECTION_RULES)))
def test_a_collection_refuses_judging_and_results_in_every_phase(phase: Phase, action: Action) -> None:
    """No judge saves a sheet, no result is frozen, published or objected to in a collection of reports."""
    state = ContestState(phase, snapshot_status=FROZEN, publicity_ends_at=NOW - timedelta(days=1), collection=True)
    assert refusal(action, state, NOW) is Refusal.WRONG_KIND


@pytest.mark.parametrize("action", sorted(COLLECTION_ONLY))
def test_a_judged_contest_has_no_collection_moves(action: Action) -> None:
    for phase in Phase:
        assert refusal(action, ContestState(phase), NOW) is Refusal.WRONG_KIND


def test_a_collection_moves_draft_open_closed_and_back() -> None:
    assert [m.target for m in workflow.moves_from(OP, collection=True)] == [DR, AR]
    assert [m.target for m in workflow.moves_from(AR, collection=True)] == [OP]
    assert workflow.moves_from(AR) == ()
    assert workflow.move_between(OP, RE, collection=True) is None
    assert workflow.move_between(OP, AR) is None


def test_a_reopened_report_may_change_until_its_grace_after_the_deadline() -> None:
    deadline = NOW - timedelta(hours=1)
    late = ContestState(OP, submission_deadline=deadline, collection=True)
    graced = ContestState(OP, submission_deadline=deadline, collection=True, grace_until=NOW + timedelta(hours=1))
    expired = ContestState(OP, submission_deadline=deadline, collection=True, grace_until=NOW - timedelta(minutes=1))
    assert refusal(Action.CHANGE_ENTRIES, late, NOW) is Refusal.SUBMISSION_DEADLINE_PASSED
    assert refusal(Action.CHANGE_ENTRIES, graced, NOW) is None
    assert refusal(Action.CHANGE_ENTRIES, expired, NOW) is Refusal.SUBMISSION_DEADLINE_PASSED
    assert refusal(Action.REOPEN_REPORTS, late, NOW) is None


def test_reporting_is_over_once_closed_or_past_the_deadline() -> None:
    past, future = NOW - timedelta(seconds=1), NOW + timedelta(seconds=1)
    assert workflow.reporting_over(ContestState(OP, submission_deadline=past, collection=True), NOW)
    assert not workflow.reporting_over(ContestState(OP, submission_deadline=future, collection=True), NOW)
    assert not workflow.reporting_over(ContestState(OP, collection=True), NOW)
    assert not workflow.reporting_over(ContestState(DR, submission_deadline=past, collection=True), NOW)
    assert workflow.reporting_over(ContestState(AR, collection=True), NOW)


@pytest.mark.parametrize("phase", list(Phase))
@pytest.mark.parametrize("action", sorted(EXPECTED_RULES))
def test_each_phase_and_action_gets_the_tables_answer(phase: Phase, action: Action) -> None:
    """With the snapshot the action needs and no deadline, only the phase decides."""
    phases, results, _clock = EXPECTED_RULES[action]
    status = next(iter(results)) if results else None
    ends = NOW - timedelta(days=1) if action is Action.PUBLISH_RESULTS else NOW + timedelta(days=1)
    votes = EXPECTED_VOTE_RULES.get(action, {V.NOT_USED})
    vote_status = V.NOT_USED if V.NOT_USED in votes else sorted(votes)[0]
    state = ContestState(
        phase,
        snapshot_status=status,
        publicity_ends_at=ends if status else None,
        vote_status=vote_status,
        vote_closes_at=NOW + timedelta(days=1),
    )
    assert allowed(action, state, NOW) is (phase in phases)
    assert refusal(action, state, NOW) is (None if phase in phases else Refusal.WRONG_PHASE)


@pytest.mark.parametrize("phase", [NO, PU, AR])
@pytest.mark.parametrize("action", [Action.CHANGE_PANEL, Action.CHANGE_ASSIGNMENT])
def test_the_panel_and_assignment_are_fixed_while_a_result_stands(phase: Phase, action: Action) -> None:
    """The bug of issue 13: a judge added during 公示 received tasks in a contest shown as finished."""
    for status in (None, *SnapshotStatus):
        assert refusal(action, ContestState(phase, snapshot_status=status), NOW) is Refusal.WRONG_PHASE


def test_the_panel_and_assignment_change_again_once_review_is_reopened() -> None:
    for status in (WITHDRAWN, PUBLISHED):  # an upheld objection; a correction
        state = ContestState(RE, snapshot_status=status)
        assert allowed(Action.CHANGE_PANEL, state, NOW)
        assert allowed(Action.CHANGE_ASSIGNMENT, state, NOW)


def test_entries_close_after_the_submission_deadline_inclusive() -> None:
    state = ContestState(OP, submission_deadline=NOW)
    assert allowed(Action.CHANGE_ENTRIES, state, NOW)
    later = NOW + timedelta(microseconds=1)
    assert refusal(Action.CHANGE_ENTRIES, state, later) is Refusal.SUBMISSION_DEADLINE_PASSED
    assert allowed(Action.CHANGE_ENTRIES, ContestState(OP), later)
    # The review deadline does not close entries, nor the submission deadline scoring.
    assert allowed(Action.CHANGE_ENTRIES, ContestState(OP, review_deadline=NOW), later)
    assert allowed(Action.SAVE_SHEETS, ContestState(RE, submission_deadline=NOW), later)


def test_sheets_close_after_the_review_deadline_inclusive() -> None:
    state = ContestState(RE, review_deadline=NOW)
    assert allowed(Action.SAVE_SHEETS, state, NOW)
    later = NOW + timedelta(seconds=1)
    assert refusal(Action.SAVE_SHEETS, state, later) is Refusal.REVIEW_DEADLINE_PASSED
    # Reopening a sheet and declaring a conflict do not depend on the deadline.
    assert allowed(Action.REOPEN_SHEETS, state, later)
    assert allowed(Action.DECLARE_CONFLICTS, state, later)


def test_publish_waits_for_the_end_of_the_notice_and_objections_stop_there() -> None:
    state = ContestState(NO, snapshot_status=FROZEN, publicity_ends_at=NOW)
    before = NOW - timedelta(seconds=1)
    assert refusal(Action.PUBLISH_RESULTS, state, before) is Refusal.NOTICE_RUNNING
    assert allowed(Action.FILE_OBJECTIONS, state, before)
    assert allowed(Action.PUBLISH_RESULTS, state, NOW)
    assert refusal(Action.FILE_OBJECTIONS, state, NOW) is Refusal.NOTICE_OVER
    # Reopening review does not wait for the notice's end.
    assert allowed(Action.REOPEN_REVIEW, state, before) and allowed(Action.REOPEN_REVIEW, state, NOW)


@pytest.mark.parametrize("status", [None, WITHDRAWN, PUBLISHED, SUPERSEDED])
def test_the_result_actions_need_the_snapshot_on_notice(status: SnapshotStatus | None) -> None:
    state = ContestState(NO, snapshot_status=status, publicity_ends_at=NOW - timedelta(days=1))
    for action in (Action.REOPEN_REVIEW, Action.PUBLISH_RESULTS, Action.FILE_OBJECTIONS):
        assert refusal(action, state, NOW - timedelta(days=2)) is Refusal.WRONG_RESULT_STATE


def test_a_correction_needs_the_published_snapshot() -> None:
    assert allowed(Action.START_CORRECTION, ContestState(PU, snapshot_status=PUBLISHED), NOW)
    for status in (None, FROZEN, WITHDRAWN, SUPERSEDED):
        assert refusal(Action.START_CORRECTION, ContestState(PU, snapshot_status=status), NOW) is (
            Refusal.WRONG_RESULT_STATE
        )


def test_the_lookups_read_the_table() -> None:
    assert workflow.move_between(RE, OP) == workflow.move_of(Action.REOPEN_ENTRIES)
    assert workflow.move_between(DR, RE) is None
    assert workflow.move_between(AR, PU) is None
    assert [m.target for m in workflow.moves_from(RE, with_result=False)] == [OP]
    assert [m.target for m in workflow.moves_from(RE, with_result=True)] == [NO]
    assert [m.action for m in workflow.moves_from(PU)] == [Action.START_CORRECTION, Action.ARCHIVE]
    assert workflow.moves_from(AR) == ()
    assert workflow.allowed_phases(Action.CHANGE_PANEL) == (OP, RE)
    assert [workflow.results_frozen(phase) for phase in Phase] == [False, False, False, True, True, True]
    assert workflow.snapshot_move(Action.PUBLISH_RESULTS, corrected=True).target is SUPERSEDED


def test_the_workflow_is_pure() -> None:
    tree = ast.parse((ROOT / "judging" / "workflow.py").read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    } | {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert imported <= {"__future__", "enum", "dataclasses", "datetime"}


def _phase_lists(path: Path) -> list[str]:
    """``x in (Phase.A, Phase.B)``-style lists and ``phase.value == '…'`` tests written outside the table."""
    found = []
    text = path.read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), 1):
        if ("phase.value" in line and ("==" in line or " in (" in line)) or (
            line.count("Phase.") >= 2 and " in (" in line
        ):
            found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
        if "contest.phase is" in line or "phase is not Phase" in line or ".phase is Phase" in line:
            found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


def test_no_phase_rule_is_written_outside_the_workflow_table() -> None:
    files = [*(ROOT / "judging").rglob("*.py"), *(ROOT / "templates").rglob("*.html")]
    found = [line for path in files if path.name != "workflow.py" for line in _phase_lists(path)]
    assert found == []


def test_votes_are_cast_only_while_the_vote_is_open_and_before_it_closes() -> None:
    open_until_now = ContestState(RE, vote_status=V.OPEN, vote_closes_at=NOW)
    assert refusal(Action.CAST_VOTE, open_until_now, NOW - timedelta(seconds=1)) is None
    assert refusal(Action.CAST_VOTE, open_until_now, NOW) is Refusal.VOTE_CLOSED
    for status in (V.NOT_USED, V.NOT_OPENED, V.CLOSED):
        state = ContestState(RE, vote_status=status, vote_closes_at=NOW + timedelta(days=1))
        assert refusal(Action.CAST_VOTE, state, NOW) is Refusal.WRONG_VOTE_STATE


def test_a_contest_with_a_vote_freezes_only_once_the_vote_is_closed() -> None:
    for status, expected in (
        (V.NOT_USED, None),
        (V.NOT_OPENED, Refusal.WRONG_VOTE_STATE),
        (V.OPEN, Refusal.WRONG_VOTE_STATE),
        (V.CLOSED, None),
    ):
        assert refusal(Action.FREEZE_RESULTS, ContestState(RE, vote_status=status), NOW) is expected


def test_sheets_are_settled_once_the_vote_opens() -> None:
    for status in (V.OPEN, V.CLOSED):
        assert refusal(Action.SAVE_SHEETS, ContestState(RE, vote_status=status), NOW) is Refusal.WRONG_VOTE_STATE
