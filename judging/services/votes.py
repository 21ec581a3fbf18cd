"""The public vote (issue 19): opening it on the experts' shortlist, casting votes within the rubric's
limits with a proof of work, voiding suspicious votes, and the combined result.

Rules of this module:
- The vote runs in review once the experts' result stands (:mod:`judging.workflow`: sheets are settled
  while it runs). Opening fixes the shortlist: the rubric's top N of the experts' ranking (every entry
  sharing the N-th rank included) or the organiser's pick.
- A vote needs a solved, unexpired, single-use challenge (:mod:`judging.vote_proof`). The voter is the
  account (when logged in and the rubric allows accounts) or the device (a cookie id hashed with the
  client's signals). The per-day limits are enforced by unique slots in the database (:class:`Vote`):
  a vote that loses a race for a slot retries on the next, and is refused when none is left.
- Votes are not written to the audit log (there may be a hundred thousand); opening, closing,
  voiding and restoring votes are, with their reason.
- A vote is cheap (:func:`cast_ballot`): what does not change while a vote runs (the shortlist, the
  rubric's limits) is kept per process in a :class:`BallotBox`, with the contest's state as last read
  (:class:`Ballot`). The workflow's rule judges the vote on that state, and the vote is one
  ``INSERT … SELECT`` that takes both slots when they are free and stores the vote only if the database
  still holds that very state (phase, deadlines, rubric version, the same open window, not archived).
  Whenever that insert stores nothing (a limit reached, a used challenge, a race, a state changed
  meanwhile), the full path (:func:`cast_vote`) reads everything again, decides, and says why.
- Nothing is committed here: the caller commits once. The one exception is that insert when the
  request has begun no transaction: one statement that writes one row, run in autocommit, so that the
  vote needs no BEGIN and no COMMIT round trip; it is atomic as a statement, and nothing else of the
  request is written with it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import Connection, Insert, Select, Table, and_, bindparam, case, exists, func, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, scoped_session

from judging import vote_proof, workflow
from judging.models import Contest, Entry, RubricVersion, User, Vote, VoteWindow, utcnow
from judging.rubric import Rubric, VoteSpec
from judging.scoring.score_table import parse_score_frame
from judging.scoring.votes import (
    CastVote,
    CombinedChange,
    CombinedLine,
    Flag,
    VoteTally,
    award_changes,
    combine,
    combined_awards,
    detect_rigging,
    leave_one_judge_out_combined,
)
from judging.services import NotFound, ServiceError, audit
from judging.services.contests import current_rubric, require, show_moment
from judging.services.results import compute_results
from judging.workflow import Action, ContestState, VoteStatus

MAX_REASON = 500
SLOT_ATTEMPTS = 5


def voting_contest(session: Session, slug: str) -> Contest:
    """The contest of a public vote page, with its rubric versions and vote window in the same query
    (a vote reads all three; one round trip instead of three), or NotFound."""
    contest = (
        session.scalars(
            select(Contest)
            .where(Contest.slug == slug, Contest.archived_at.is_(None))
            .options(joinedload(Contest.rubric_versions), joinedload(Contest.vote_window))
        )
        .unique()
        .one_or_none()
    )
    if contest is None or vote_spec(contest) is None or contest.vote_window is None:
        raise NotFound(_("This contest has no public vote."))
    return contest


def vote_spec(contest: Contest) -> VoteSpec | None:
    """The contest's ``[vote]`` settings, if its rubric has a public vote."""
    return current_rubric(contest).vote


def window_of(session: Session, contest: Contest) -> VoteWindow | None:
    """The contest's vote window (loaded once per session with the contest: every vote reads it)."""
    return contest.vote_window


def _require_spec(contest: Contest) -> VoteSpec:
    spec = vote_spec(contest)
    if spec is None:
        raise ServiceError(_("This contest has no public vote."))
    return spec


# --- opening and closing -------------------------------------------------------------------------


def expert_scores(session: Session, contest: Contest) -> dict[int, Decimal]:
    """The experts' final score of every ranked entry, by entry id, in ranking order."""
    results = compute_results(session, contest)
    if results.ranking is None:
        reason = "; ".join(results.problems) if results.problems else _("No submitted sheet yet.")
        raise ServiceError(_("There is no experts' ranking yet: %(reason)s", reason=reason))
    ids = {line.code: line.id for line in results.entries.values()}
    table = results.ranking.table
    return {ids[str(code)]: Decimal(score) for code, score in zip(table["entry"], table["final_score"], strict=True)}


def top_of_ranking(session: Session, contest: Contest, size: int) -> list[int]:
    """The entries ranked in the top ``size`` of the experts' result, with everyone sharing the last rank."""
    results = compute_results(session, contest)
    if results.ranking is None:
        return []
    ids = {line.code: line.id for line in results.entries.values()}
    table = results.ranking.table.sort_values(["rank"], kind="stable")
    ranks = [int(rank) for rank in table["rank"]]
    codes = [str(code) for code in table["entry"]]
    if len(ranks) <= size:
        return [ids[code] for code in codes]
    last = ranks[size - 1]
    return [ids[code] for code, rank in zip(codes, ranks, strict=True) if rank <= last]


def open_vote(
    session: Session,
    actor: User,
    contest: Contest,
    closes_at: datetime,
    picked: Sequence[int] = (),
    now: datetime | None = None,
) -> VoteWindow:
    """Open the public vote until ``closes_at`` on the shortlist (the rubric's top N, or ``picked``)."""
    now = now or utcnow()
    spec = _require_spec(contest)
    require(Action.OPEN_VOTE, contest, now=now)
    if closes_at <= now:
        raise ServiceError(_("The vote must close in the future."))
    scores = expert_scores(session, contest)
    if spec.shortlist == "top":
        assert spec.shortlist_size is not None  # the rubric requires it for a top-N shortlist
        shortlist = top_of_ranking(session, contest, spec.shortlist_size)
    else:
        unknown = [entry_id for entry_id in picked if entry_id not in scores]
        if not picked:
            raise ServiceError(_("Pick at least one ranked entry for the vote."))
        if unknown:
            raise ServiceError(_("Only entries ranked by the experts can be put to the vote."))
        shortlist = [entry_id for entry_id in scores if entry_id in set(picked)]
    if not shortlist:
        raise ServiceError(_("No work is ranked by the experts: there is nothing to put to the vote."))
    window = VoteWindow(contest=contest, shortlist=shortlist, opened_at=now, closes_at=closes_at, opened_by_id=actor.id)
    session.add(window)
    session.flush()
    audit.record(
        session,
        actor,
        "vote.open",
        object_type="contest",
        object_id=contest.id,
        contest_id=contest.id,
        data={"shortlist": shortlist, "closes_at": closes_at.isoformat()},
    )
    return window


def close_vote(session: Session, actor: User, contest: Contest, now: datetime | None = None) -> None:
    """Close the public vote now: no vote is accepted afterwards, and the combined result may be frozen."""
    now = now or utcnow()
    require(Action.CLOSE_VOTE, contest, now=now)
    window = window_of(session, contest)
    assert window is not None  # the workflow allows closing an open vote only
    window.closed_at = now
    counted = session.scalar(select(func.count()).where(Vote.contest_id == contest.id, Vote.voided_at.is_(None)))
    audit.record(
        session,
        actor,
        "vote.close",
        object_type="contest",
        object_id=contest.id,
        contest_id=contest.id,
        data={"votes": counted or 0},
    )


# --- casting -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Voter:
    """Who is voting, as the request shows it. ``device_id`` is the long random cookie id; the signals
    are what the client reports of itself."""

    account_id: int | None
    device_id: str
    address: str
    user_agent: str = ""
    language: str = ""
    screen: str = ""
    time_zone: str = ""


def network_prefix(address: str) -> str:
    """The network a client address belongs to: IPv4 /24, IPv6 /48 (an IPv4-mapped IPv6 address as IPv4)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return ""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    bits = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{bits}", strict=False))


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def signature_of(voter: Voter) -> str:
    """The device signature: the client's signals without its cookie."""
    return _digest(voter.user_agent, voter.language, voter.screen, voter.time_zone)


def device_of(voter: Voter) -> str:
    return _digest(voter.device_id, voter.user_agent, voter.language, voter.screen, voter.time_zone)


MIN_DEVICE_ID = 32


def _voter_key(spec: VoteSpec, voter: Voter) -> str:
    if voter.account_id is not None and spec.identity in ("account", "both"):
        return f"account:{voter.account_id}"
    if spec.identity == "account":
        raise ServiceError(_("Please log in to vote."))
    if len(voter.device_id) < MIN_DEVICE_ID or not voter.device_id.isalnum():
        raise ServiceError(
            _("Your browser did not identify itself. Allow cookies and JavaScript for this site, then vote again.")
        )
    return f"device:{device_of(voter)}"


def issue_challenge(contest: Contest, key: bytes, default_difficulty: int, now: datetime | None = None) -> str:
    """A fresh proof-of-work challenge for a vote in the contest, at the rubric's (or the default) difficulty."""
    return _challenge(_require_spec(contest), contest.id, key, default_difficulty, now)


def _challenge(spec: VoteSpec, contest_id: int, key: bytes, default_difficulty: int, now: datetime | None) -> str:
    difficulty = spec.pow_difficulty if spec.pow_difficulty is not None else default_difficulty
    return vote_proof.issue_challenge(key, contest_id, difficulty, int((now or utcnow()).timestamp()))


def _proof_message(problem: vote_proof.ProofProblem) -> str:
    if problem is vote_proof.ProofProblem.EXPIRED:
        return _("The vote's check expired. Please vote again.")
    if problem is vote_proof.ProofProblem.UNSOLVED:
        return _("The vote's check was not completed. Please wait until your browser finishes it and vote again.")
    return _("The vote's check is not valid. Please reload the page and vote again.")


def voting_day(now: datetime, zone: str) -> str:
    return now.astimezone(ZoneInfo(zone)).date().isoformat()


def cast_vote(
    session: Session,
    contest: Contest,
    entry_id: int,
    voter: Voter,
    token: str,
    nonce: str,
    key: bytes,
    zone: str,
    now: datetime | None = None,
) -> Vote:
    """Record one vote for a shortlisted entry, or refuse it (ServiceError, saying why) and store nothing.

    Checked in order: the vote is open, the entry is on the shortlist, the voter can be identified, the
    proof of work holds and was not used before, and the voter has a vote left today overall and for
    this entry (unique slots: see the module docstring)."""
    now = now or utcnow()
    spec = _require_spec(contest)
    require(Action.CAST_VOTE, contest, now=now)
    window = window_of(session, contest)
    assert window is not None  # the workflow allows votes only while one is open
    if entry_id not in window.shortlist:
        raise ServiceError(_("This work is not on the shortlist of the vote."))
    voter_key = _voter_key(spec, voter)
    proof = vote_proof.verify(key, token, nonce, contest.id, int(now.timestamp()))
    if isinstance(proof, vote_proof.ProofProblem):
        raise ServiceError(_proof_message(proof))
    used = _("This vote's check was already used. Please vote again.")
    day = voting_day(now, zone)
    mine_today = and_(Vote.contest_id == contest.id, Vote.voter == voter_key, Vote.day == day)
    for _attempt in range(SLOT_ATTEMPTS):
        # Both of today's counts in one query: the per-day slot and the per-entry slot to take next.
        day_count, entry_count = session.execute(
            select(func.count(), func.count(case((Vote.entry_id == entry_id, 1)))).where(mine_today)
        ).one()
        if day_count >= spec.per_day:
            raise ServiceError(
                _("You have used all %(n)d of today's votes. You can vote again tomorrow.", n=spec.per_day)
            )
        if entry_count >= spec.per_entry_per_day:
            raise ServiceError(
                _(
                    "You have already voted %(n)d times for this work today. You can vote for it again tomorrow.",
                    n=spec.per_entry_per_day,
                )
            )
        vote = Vote(
            **_vote_values(contest.id, entry_id, voter, voter_key, proof, now, day),
            day_slot=day_count + 1,
            entry_slot=entry_count + 1,
        )
        try:
            with session.begin_nested():
                session.add(vote)
        except IntegrityError:
            # Another vote took the slot (or the challenge) between the count and the insert.
            if session.scalar(select(Vote.id).where(Vote.challenge == proof.token_id)) is not None:
                raise ServiceError(used) from None
            continue
        return vote
    raise ServiceError(_("Too many votes at once. Please try again."))


VOTE_VALUES = (
    "contest_id",
    "entry_id",
    "voter",
    "account_id",
    "device_hash",
    "signature_hash",
    "network",
    "user_agent",
    "challenge",
    "cast_at",
    "day",
)
"""A vote's columns but its slots and voiding, as :func:`_vote_values` gives them."""


def _vote_values(
    contest_id: int,
    entry_id: int,
    voter: Voter,
    voter_key: str,
    proof: vote_proof.Challenge,
    now: datetime,
    day: str,
) -> dict[str, object]:
    """A vote's row but its slots: who, with which signals, on which challenge, when."""
    return {
        "contest_id": contest_id,
        "entry_id": entry_id,
        "voter": voter_key,
        "account_id": voter.account_id if voter_key.startswith("account:") else None,
        "device_hash": device_of(voter) if voter.device_id else "",
        "signature_hash": signature_of(voter),
        "network": network_prefix(voter.address),
        "user_agent": voter.user_agent[:300],
        "challenge": proof.token_id,
        "cast_at": now,
        "day": day,
    }


# --- the cheap path of a vote --------------------------------------------------------------------


@dataclass(frozen=True)
class BallotBox:
    """What the votes of an open public vote read and what does not change while it runs: the contest,
    its rubric version and vote settings, and the shortlist (fixed when the window opened). Kept per
    process by slug; :func:`ballot` checks it against the database on every vote."""

    contest_id: int
    rubric_version: int
    window_id: int
    opened_at: datetime
    spec: VoteSpec
    shortlist: dict[str, int]
    """Shortlisted entry codes → ids."""


@dataclass(frozen=True)
class Ballot:
    """One vote's view of its contest: the box and the workflow's state, read in one row."""

    slug: str
    box: BallotBox
    state: ContestState
    database: str

    def open(self, now: datetime | None = None) -> bool:
        return workflow.allowed(Action.CAST_VOTE, self.state, now or utcnow())

    def confirmation(self) -> dict[str, object]:
        """The state this ballot was judged on, as the parameters by which the vote's insert confirms
        that the database still holds it (:func:`_slots_insert`)."""
        return {
            "slug": self.slug,
            "phase": self.state.phase,
            "submission_deadline": self.state.submission_deadline,
            "review_deadline": self.state.review_deadline,
            "rubric_version": self.box.rubric_version,
            "window_id": self.box.window_id,
            "opened_at": self.box.opened_at,
            "closes_at": self.state.vote_closes_at,
        }


_BOXES: dict[tuple[str, str], BallotBox] = {}
"""By database and slug (a process may serve several databases: the tests do)."""
_BALLOTS: dict[tuple[str, str], Ballot] = {}
"""The last ballot read, by database and slug: what the next vote is judged on (and confirmed against)."""
_BOXES_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _ballot_query() -> Select[Any]:
    """The row a vote reads, on the tables (no ORM entity: a plain row, without the ORM's work around
    it), built once: building a select costs more than running this one."""
    contest, version, window = (model.__table__.c for model in (Contest, RubricVersion, VoteWindow))
    latest = select(func.max(version.version)).where(version.contest_id == contest.id).scalar_subquery()
    return (
        select(
            contest.id,
            contest.phase,
            contest.archived_at,
            contest.submission_deadline,
            contest.review_deadline,
            latest,
            window.id,
            window.opened_at,
            window.closes_at,
            window.closed_at,
        )
        .join_from(Contest.__table__, VoteWindow.__table__, window.contest_id == contest.id)
        .where(contest.slug == bindparam("slug"))
    )


def _place(session: Session, slug: str) -> tuple[str, str]:
    return (session.get_bind().engine.url.render_as_string(), slug)


def ballot(session: Session, slug: str) -> Ballot:
    """The ballot of the contest's public vote (NotFound when it has none): one row read of the contest,
    its latest rubric version and its vote window, and the process's box when that row still matches it.
    The ballot is kept as this process's last one (:func:`last_ballot`)."""
    row = session.connection().execute(_ballot_query(), {"slug": slug}).one_or_none()
    place = _place(session, slug)
    if row is None or row[2] is not None:  # an archived contest is hidden from the public (voting_contest)
        with _BOXES_LOCK:
            _BALLOTS.pop(place, None)
        raise NotFound(_("This contest has no public vote."))
    (contest_id, phase, archived_at, submission_deadline, review_deadline) = row[:5]
    (version, window_id, opened_at, closes_at, closed_at) = row[5:]
    box = _BOXES.get(place)
    if box is None or (box.contest_id, box.rubric_version, box.window_id, box.opened_at) != (
        contest_id,
        version,
        window_id,
        opened_at,
    ):
        box = _fill_box(session, place)
    # The state :func:`judging.services.contests.state_of` builds for a contest with a vote window (a
    # contest with a public vote is never a collection; no snapshot is acted on).
    state = ContestState(
        phase=phase,
        submission_deadline=submission_deadline,
        review_deadline=review_deadline,
        archived=archived_at is not None,
        vote_status=VoteStatus.CLOSED if closed_at is not None else VoteStatus.OPEN,
        vote_closes_at=closes_at,
    )
    read = Ballot(slug, box, state, place[0])
    with _BOXES_LOCK:
        _BALLOTS[place] = read
    return read


def last_ballot(session: Session, slug: str) -> Ballot:
    """The ballot this process last read for the contest, without reading (:func:`ballot` when there is
    none). What a vote is judged on: its insert stores it only if the database still holds that state,
    and a vote it does not store reads the ballot again (:func:`cast_ballot`)."""
    kept = _BALLOTS.get(_place(session, slug))
    return kept if kept is not None else ballot(session, slug)


def _forget(current: Ballot) -> None:
    """Read the ballot again for the next vote: this one may no longer be the database's."""
    with _BOXES_LOCK:
        if _BALLOTS.get((current.database, current.slug)) is current:
            del _BALLOTS[(current.database, current.slug)]


def _fill_box(session: Session, place: tuple[str, str]) -> BallotBox:
    contest = voting_contest(session, place[1])
    window = contest.vote_window
    assert window is not None  # voting_contest refuses a contest without one
    codes = dict(session.execute(select(Entry.id, Entry.code).where(Entry.id.in_(window.shortlist))).all())
    box = BallotBox(
        contest_id=contest.id,
        rubric_version=contest.current_rubric.version,
        window_id=window.id,
        opened_at=window.opened_at,
        spec=_require_spec(contest),
        shortlist={str(code): int(entry_id) for entry_id, code in codes.items()},
    )
    with _BOXES_LOCK:
        _BOXES[place] = box
    return box


def ballot_challenge(ballot: Ballot, key: bytes, default_difficulty: int, now: datetime | None = None) -> str:
    """A fresh proof-of-work challenge for the ballot's contest (as :func:`issue_challenge`)."""
    return _challenge(ballot.box.spec, ballot.box.contest_id, key, default_difficulty, now)


@lru_cache(maxsize=1)
def _ballot_unchanged() -> Any:
    """True while the database holds the ballot's state (:meth:`Ballot.confirmation`): the contest under
    its slug, in the same phase with the same deadlines, not archived, on the same latest rubric version,
    with the same vote window open and closing when it did."""
    contest, version, window = (model.__table__.c for model in (Contest, RubricVersion, VoteWindow))
    latest = select(func.max(version.version)).where(version.contest_id == contest.id).scalar_subquery()
    return exists(
        select(contest.id)
        .join_from(Contest.__table__, VoteWindow.__table__, window.contest_id == contest.id)
        .where(
            contest.id == bindparam("contest_id"),
            contest.slug == bindparam("slug"),
            contest.phase == bindparam("phase", type_=contest.phase.type),
            contest.archived_at.is_(None),
            contest.submission_deadline.is_not_distinct_from(
                bindparam("submission_deadline", type_=contest.submission_deadline.type)
            ),
            contest.review_deadline.is_not_distinct_from(
                bindparam("review_deadline", type_=contest.review_deadline.type)
            ),
            latest == bindparam("rubric_version"),
            window.id == bindparam("window_id"),
            window.opened_at == bindparam("opened_at", type_=window.opened_at.type),
            window.closes_at == bindparam("closes_at", type_=window.closes_at.type),
            window.closed_at.is_(None),
        )
    )


@lru_cache(maxsize=2)
def _slots_insert(dialect: str) -> Insert:
    """``INSERT … SELECT`` of one vote taking the next free day slot and entry slot of its voter, when both
    limits (``per_day``, ``per_entry_per_day``) leave one and the database still holds the state the vote
    was judged on (:func:`_ballot_unchanged`); inserting nothing when either limit is used up, the state
    changed, or a unique row (a slot taken meanwhile, the challenge used before) is already there. Built
    once per dialect, with the vote's values as parameters named as its columns."""
    table = Vote.__table__
    assert isinstance(table, Table)
    mine_today = (
        Vote.contest_id == bindparam("contest_id"),
        Vote.voter == bindparam("voter"),
        Vote.day == bindparam("day"),
    )
    day = select(func.count().label("n")).where(*mine_today).subquery("day_votes")
    for_entry = (*mine_today, Vote.entry_id == bindparam("entry_id"))
    entry = select(func.count().label("n")).where(*for_entry).subquery("entry_votes")
    rows = (
        select(
            *(bindparam(name, type_=table.c[name].type) for name in VOTE_VALUES),
            day.c.n + 1,
            entry.c.n + 1,
        )
        .select_from(day.join(entry, true()))  # two one-row counts side by side
        .where(day.c.n < bindparam("per_day"), entry.c.n < bindparam("per_entry_per_day"), _ballot_unchanged())
    )
    columns = [table.c[name] for name in VOTE_VALUES] + [table.c.day_slot, table.c.entry_slot]
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return insert.from_select(columns, rows).on_conflict_do_nothing().returning(table.c.id)


def cast_ballot(
    session: Session,
    current: Ballot,
    code: str,
    voter: Voter,
    token: str,
    nonce: str,
    key: bytes,
    zone: str,
    now: datetime | None = None,
) -> None:
    """Record one vote for the shortlisted work ``code`` as :func:`cast_vote` does (the same checks, limits
    and refusals): judged on ``current`` (:func:`last_ballot`), one insert when the vote is allowed and
    the database still holds that state; else the full path."""
    now = now or utcnow()
    box = current.box
    entry_id = box.shortlist.get(code)
    if entry_id is None or not current.open(now):
        _forget(current)
        _cast_in_full(session, current.slug, code, voter, token, nonce, key, zone, now)
        return
    voter_key = _voter_key(box.spec, voter)
    proof = vote_proof.verify(key, token, nonce, box.contest_id, int(now.timestamp()))
    if isinstance(proof, vote_proof.ProofProblem):
        raise ServiceError(_proof_message(proof))
    values = _vote_values(box.contest_id, entry_id, voter, voter_key, proof, now, voting_day(now, zone))
    limits = {"per_day": box.spec.per_day, "per_entry_per_day": box.spec.per_entry_per_day}
    alone = not _begun(session)
    connection = _vote_connection(session, alone)
    stored = connection.execute(_slots_insert(connection.dialect.name), values | limits | current.confirmation())
    if stored.first() is None:
        _forget(current)
        if alone:
            session.rollback()  # out of autocommit: the full path reads and writes in one transaction
        _cast_in_full(session, current.slug, code, voter, token, nonce, key, zone, now)


def _begun(session: Session) -> bool:
    """Whether the request's session has begun a transaction (the request's own session, when it is
    Flask-SQLAlchemy's scoped one)."""
    own = session() if isinstance(session, scoped_session) else session
    return own.in_transaction()


def _vote_connection(session: Session, alone: bool) -> Connection:
    """The connection of a vote's insert: in autocommit when the vote is the request's only statement
    (``alone``: no transaction begun), else in the request's transaction."""
    if alone:
        return session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return session.connection()


def _cast_in_full(
    session: Session,
    slug: str,
    code: str,
    voter: Voter,
    token: str,
    nonce: str,
    key: bytes,
    zone: str,
    now: datetime,
) -> None:
    """The full path of a vote the cheap one did not store: it stores it, or refuses it saying why."""
    contest = voting_contest(session, slug)
    entry_id = entry_id_of(session, contest, code)
    cast_vote(session, contest, entry_id if entry_id is not None else -1, voter, token, nonce, key, zone, now)


COUNTS_SECONDS = 1.0
"""How old the live count a vote's answer carries may be: the counts are read at most once a second per
process (not every row counted on every vote)."""
_COUNTS: dict[tuple[str, int, datetime], tuple[float, dict[int, int]]] = {}


def live_count(session: Session, ballot: Ballot, entry_id: int, *, voted: bool) -> int:
    """The counted votes of a shortlisted work for a vote's answer, after the vote (``voted``) was
    committed: read again when this process's counts are older than :data:`COUNTS_SECONDS` (they then
    hold the vote), else this process's counts with the vote added. A sync worker answers one vote at a
    time, so its own votes are never missed nor counted twice; other workers' show within the second."""
    box = ballot.box
    place = (ballot.database, box.window_id, box.opened_at)
    with _BOXES_LOCK:
        read = _COUNTS.get(place)
        if read is not None and time.monotonic() - read[0] <= COUNTS_SECONDS:
            if voted:
                read[1][entry_id] = read[1].get(entry_id, 0) + 1
            return read[1].get(entry_id, 0)
    rows = session.execute(
        select(Vote.entry_id, func.count())
        .where(Vote.contest_id == box.contest_id, Vote.voided_at.is_(None))
        .group_by(Vote.entry_id)
    ).all()
    counted = {int(counted_id): int(count) for counted_id, count in rows}
    with _BOXES_LOCK:
        _COUNTS[place] = (time.monotonic(), counted)
    return counted.get(entry_id, 0)


def shortlisted_entries(session: Session, contest: Contest) -> list[Entry]:
    """The works on the vote's shortlist, by code (not in the experts' order, which the public does not see)."""
    window = window_of(session, contest)
    if window is None or not window.shortlist:
        return []
    return list(session.scalars(select(Entry).where(Entry.id.in_(window.shortlist)).order_by(Entry.code)))


def entry_id_of(session: Session, contest: Contest, code: str) -> int | None:
    """The id of the contest's entry with this code, if there is one."""
    return session.scalar(select(Entry.id).where(Entry.contest_id == contest.id, Entry.code == code))


def on_public_vote(session: Session, entry: Entry) -> bool:
    """Whether the entry is on the shortlist of its contest's public vote (so everyone may see and play it)."""
    window = window_of(session, entry.contest)
    return window is not None and entry.id in window.shortlist


# --- counts, flags and voiding ------------------------------------------------------------------


def counts(session: Session, contest: Contest, entry_id: int | None = None) -> dict[int, int]:
    """Counted (not voided) votes per shortlisted entry id (of one entry only, when given)."""
    query = select(Vote.entry_id, func.count()).where(Vote.contest_id == contest.id, Vote.voided_at.is_(None))
    if entry_id is not None:
        query = query.where(Vote.entry_id == entry_id)
    rows = session.execute(query.group_by(Vote.entry_id)).all()
    return {int(entry_id): int(count) for entry_id, count in rows}


def voided(session: Session, contest: Contest) -> dict[int, dict[str, int]]:
    """Voided votes per entry id: reason → how many."""
    rows = session.execute(
        select(Vote.entry_id, Vote.void_reason, func.count())
        .where(Vote.contest_id == contest.id, Vote.voided_at.is_not(None))
        .group_by(Vote.entry_id, Vote.void_reason)
    ).all()
    out: defaultdict[int, dict[str, int]] = defaultdict(dict)
    for entry_id, reason, count in rows:
        out[int(entry_id)][str(reason)] = int(count)
    return dict(out)


def entry_codes(session: Session, contest: Contest) -> dict[int, str]:
    rows = session.execute(select(Entry.id, Entry.code).where(Entry.contest_id == contest.id)).all()
    return {int(entry_id): str(code) for entry_id, code in rows}


def rigging_flags(session: Session, contest: Contest) -> list[Flag]:
    """The rigging flags of the counted votes (:func:`judging.scoring.votes.detect_rigging`) under the rubric's
    ``[vote.flags]`` thresholds, entries by code."""
    thresholds = _require_spec(contest).flags
    codes = entry_codes(session, contest)
    rows = session.execute(
        select(Vote.id, Vote.entry_id, Vote.cast_at, Vote.network, Vote.signature_hash).where(
            Vote.contest_id == contest.id, Vote.voided_at.is_(None)
        )
    ).all()
    return detect_rigging((CastVote(int(i), codes[int(e)], at, net, sig) for i, e, at, net, sig in rows), thresholds)


def group_key(flag: Flag) -> str:
    """How a flagged group is named in a form: ``entry|kind|subject``."""
    return f"{flag.entry}|{flag.kind}|{flag.subject}"


def flagged_group(session: Session, contest: Contest, key: str) -> list[int]:
    """The votes of the flagged group ``key`` as the detection finds them now (none when it no longer does)."""
    flag = next((flag for flag in rigging_flags(session, contest) if group_key(flag) == key), None)
    if flag is None:
        raise ServiceError(_("This group is no longer flagged (its votes may have been voided already)."))
    return list(flag.vote_ids)


def voided_groups(session: Session, contest: Contest) -> list[tuple[str, str, list[int]]]:
    """The voided votes grouped by entry code and reason: (code, reason, vote ids)."""
    codes = entry_codes(session, contest)
    rows = session.execute(
        select(Vote.entry_id, Vote.void_reason, Vote.id)
        .where(Vote.contest_id == contest.id, Vote.voided_at.is_not(None))
        .order_by(Vote.entry_id, Vote.void_reason, Vote.id)
    ).all()
    groups: dict[tuple[str, str], list[int]] = {}
    for entry_id, reason, vote_id in rows:
        groups.setdefault((codes[int(entry_id)], str(reason)), []).append(int(vote_id))
    return [(code, reason, ids) for (code, reason), ids in groups.items()]


def votes_by_id(session: Session, ids: Sequence[int]) -> list[Vote]:
    return list(session.scalars(select(Vote).where(Vote.id.in_(ids)).order_by(Vote.cast_at, Vote.id)))


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ServiceError(_("Please give the reason."))
    if len(reason) > MAX_REASON:
        raise ServiceError(_("The reason is too long (at most %(n)d characters).", n=MAX_REASON))
    return reason


def _votes_of(session: Session, contest: Contest, vote_ids: Sequence[int]) -> list[Vote]:
    if not vote_ids:
        raise ServiceError(_("Select at least one vote."))
    found = list(session.scalars(select(Vote).where(Vote.contest_id == contest.id, Vote.id.in_(set(vote_ids)))))
    if len(found) != len(set(vote_ids)):
        raise NotFound(_("Some of the selected votes do not exist in this contest."))
    return found


def void_votes(
    session: Session, actor: User, contest: Contest, vote_ids: Sequence[int], reason: str, now: datetime | None = None
) -> int:
    """Void the selected votes with a reason (audited; votes already void are left as they are).
    Returns how many were voided now."""
    now = now or utcnow()
    reason = _reason(reason)
    require(Action.VOID_VOTES, contest, now=now)
    votes = [vote for vote in _votes_of(session, contest, vote_ids) if vote.voided_at is None]
    ids = sorted(vote.id for vote in votes)
    if ids:
        session.execute(
            update(Vote)
            .where(Vote.id.in_(ids))
            .values(voided_at=now, void_reason=reason, voided_by_id=actor.id)
            .execution_options(synchronize_session="fetch")
        )
        audit.record(
            session,
            actor,
            "vote.void",
            object_type="contest",
            object_id=contest.id,
            contest_id=contest.id,
            data={"votes": ids, "reason": reason, "per_entry": _per_entry(session, contest, votes)},
        )
    return len(ids)


def restore_votes(
    session: Session, actor: User, contest: Contest, vote_ids: Sequence[int], reason: str, now: datetime | None = None
) -> int:
    """Count voided votes again, with a reason (audited). Returns how many were restored."""
    now = now or utcnow()
    reason = _reason(reason)
    require(Action.VOID_VOTES, contest, now=now)
    votes = [vote for vote in _votes_of(session, contest, vote_ids) if vote.voided_at is not None]
    ids = sorted(vote.id for vote in votes)
    if ids:
        session.execute(
            update(Vote)
            .where(Vote.id.in_(ids))
            .values(voided_at=None, void_reason="", voided_by_id=None)
            .execution_options(synchronize_session="fetch")
        )
        audit.record(
            session,
            actor,
            "vote.restore",
            object_type="contest",
            object_id=contest.id,
            contest_id=contest.id,
            data={"votes": ids, "reason": reason, "per_entry": _per_entry(session, contest, votes)},
        )
    return len(ids)


def _per_entry(session: Session, contest: Contest, votes: Sequence[Vote]) -> dict[str, int]:
    codes = entry_codes(session, contest)
    return dict(Counter(codes[vote.entry_id] for vote in votes))


# --- the combined result -------------------------------------------------------------------------


@dataclass(frozen=True)
class CombinedResult:
    """The shortlist's combined result with its awards, and what-ifs: the result if the voided votes
    counted (and whose place or award would change so), and whose award would change if any single
    judge were left out of the experts' result."""

    spec: VoteSpec
    rubric: Rubric
    lines: list[CombinedLine]
    titles: dict[str, str]
    awards: dict[str, str] = field(default_factory=dict)
    if_voided_counted: list[CombinedLine] = field(default_factory=list)
    award_changes_if_voided_counted: list[CombinedChange] = field(default_factory=list)
    award_changes_without_a_judge: list[CombinedChange] = field(default_factory=list)

    @property
    def changed_if_voided_counted(self) -> list[str]:
        before = {line.entry: line.rank for line in self.lines}
        return [line.entry for line in self.if_voided_counted if before.get(line.entry) != line.rank]


def combined_result(session: Session, contest: Contest) -> CombinedResult:
    """The combined result of the shortlist (:func:`judging.scoring.votes.combine`): experts' final score
    (as their result shows it) and the counted votes, by the rubric's weights and normalisation."""
    spec = _require_spec(contest)
    rubric = current_rubric(contest)
    window = window_of(session, contest)
    if window is None:
        raise ServiceError(_("The vote has not been opened yet."))
    results = compute_results(session, contest)
    scores = expert_scores(session, contest)
    codes = entry_codes(session, contest)
    counted = counts(session, contest)
    void = voided(session, contest)
    decimals = rubric.aggregation.decimals if rubric.aggregation else 2
    shortlist = [entry_id for entry_id in window.shortlist if entry_id in scores]
    tallies = [VoteTally(codes[i], scores[i], counted.get(i, 0), void.get(i, {})) for i in shortlist]
    everything = [VoteTally(t.entry, t.expert_score, t.votes + t.voided_count, {}) for t in tallies]
    titles = {line.code: line.title for line in results.entries.values()}
    lines = combine(tallies, spec, rubric.max_total, decimals)
    if_counted = combine(everything, spec, rubric.max_total, decimals)
    table = parse_score_frame(results.scores, rubric)
    return CombinedResult(
        spec=spec,
        rubric=rubric,
        lines=lines,
        titles=titles,
        awards=combined_awards(lines, rubric.awards, decimals),
        if_voided_counted=if_counted,
        award_changes_if_voided_counted=award_changes(lines, if_counted, rubric.awards, decimals),
        award_changes_without_a_judge=leave_one_judge_out_combined(table, rubric, results.checks, tallies, lines),
    )


def combined_preview(session: Session, contest: Contest) -> CombinedResult | None:
    """The combined result as it stands, for the organiser's results preview: None when the contest has
    no public vote or the vote has not been opened yet (the experts' ranking is then all there is)."""
    if vote_spec(contest) is None or window_of(session, contest) is None:
        return None
    return combined_result(session, contest)


def combined_payload(result: CombinedResult) -> dict[str, Any]:
    """The combined result as plain JSON values (numbers as exact strings), for the frozen snapshot."""
    spec = result.spec
    return {
        "expert_weight": str(spec.expert_weight),
        "vote_weight": str(spec.vote_weight),
        "normalisation": spec.normalisation,
        "lines": [
            {
                "rank": line.rank,
                "entry": line.entry,
                "expert_score": str(line.expert_score),
                "votes": line.votes,
                "voided": line.voided_count,
                "voided_reasons": dict(line.voided),
                "vote_points": str(line.vote_points),
                "combined": str(line.combined),
                "award": result.awards.get(line.entry, ""),
            }
            for line in result.lines
        ],
    }


def vote_closing_text(window: VoteWindow) -> str:
    return show_moment(window.closes_at)
