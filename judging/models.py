"""The data model: SQLAlchemy 2.0 typed models for all three kinds of contest.

Design notes:
- Times are stored in UTC (``UTCDateTime`` makes SQLite hand them back aware, like PostgreSQL);
  the UI shows them in the configured display time zone.
- Scores are ``Numeric(7, 2)``: criteria steps have at most two decimals, so no score is a float.
- Quotas are enforced by the database, not by a count-then-insert race: a submitted entry holds a
  numbered slot ``1..quota`` and ``(contest, organisation, slot)`` is unique; a nominated entry holds a
  nomination slot unique per nominating organisation. NULL slots (drafts, withdrawn) never collide.
- Models hold no I/O and no business rules; those live in ``judging.services``.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry, relationship

# The workflow's enums and the organisation kinds live in pure modules; imported from here too, as the columns use them.
from judging.organization_places import OrganizationKind
from judging.workflow import Phase, SnapshotStatus

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

NO_ROUND = ""
"""``Assignment.round_key`` of a contest judged without ``[[rounds]]``."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database (SQLite stores it naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware datetime (UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    # One registry carrying both the naming convention and the type map (Flask-SQLAlchemy subclasses
    # this base, which rules out a per-class type_annotation_map).
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON},
    )


def _enum(enum_class: type[enum.Enum], name: str) -> Enum:
    # Stored as the value strings, checked by a named CHECK constraint (portable, migration-friendly).
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=24,
        values_callable=lambda members: [member.value for member in members],
    )


class Role(enum.StrEnum):
    ORGANIZER = "organizer"
    JUDGE = "judge"
    ENTRANT = "entrant"


class EntryStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    NOMINATED = "nominated"
    WITHDRAWN = "withdrawn"
    DISQUALIFIED = "disqualified"


class AssignmentStatus(enum.StrEnum):
    ASSIGNED = "assigned"
    RECUSED = "recused"


class SheetStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


class ObjectionStatus(enum.StrEnum):
    PENDING = "pending"
    UPHELD = "upheld"
    REJECTED = "rejected"


class Organization(Base):
    __tablename__ = "organization"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[OrganizationKind] = mapped_column(_enum(OrganizationKind, "organization_kind"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id", ondelete="RESTRICT"), index=True)
    short_name: Mapped[str] = mapped_column(String(100), default="", server_default="")
    english_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    aliases: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    """Other names the organisation goes by: masked from blind judges like its name, short and English name."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]
    """Set when the organisation is retired: no new accounts or entries, hidden from pickers; its history stays."""

    parent: Mapped[Organization | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Organization]] = relationship(back_populates="parent", order_by="Organization.name")
    users: Mapped[list[User]] = relationship(back_populates="organization")

    @property
    def retired(self) -> bool:
        return self.retired_at is not None

    @property
    def other_names(self) -> list[str]:
        """Every name besides ``name`` it goes by (short, English, aliases), each once, in that order."""
        names = [self.short_name or "", self.english_name or "", *(a for a in self.aliases or [] if isinstance(a, str))]
        return list(dict.fromkeys(name for name in names if name and name != self.name))

    def __repr__(self) -> str:
        return f"<Organization {self.id} {self.name!r}>"


class User(Base):
    __tablename__ = "user_account"  # "user" is reserved in PostgreSQL

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id", ondelete="RESTRICT"), index=True)
    """An entrant's organisation; a judge's affiliation (used for automatic recusal)."""
    email: Mapped[str | None] = mapped_column(String(254))
    """Where invitations, reminders and notices go when a mail server is configured; optional."""
    password_hash: Mapped[str | None] = mapped_column(String(255))
    """None until the invitation is accepted: such an account cannot log in."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    session_token: Mapped[str] = mapped_column(String(64))
    """Part of the login session's identity: changing it (password change) signs out other sessions."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    usual_client: Mapped[str | None] = mapped_column(String(64))
    """The client address of the last successful login: login throttling of the account as a whole
    spares it, so an attacker elsewhere cannot lock the owner out (see ``services.login_throttle``)."""

    organization: Mapped[Organization | None] = relationship(back_populates="users")

    # Flask-Login's user protocol, kept here because it is about identity, not behaviour.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active and self.password_hash is not None

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username!r} {self.role}>"


class ApiToken(Base):
    """An organiser's personal token for the JSON API (``Authorization: Bearer …``).

    Only the sha256 of the token is stored: the token itself is shown once, when it is created, so that
    someone reading this table cannot call the API with it. ``scope`` is ``read`` or ``write`` (write
    includes read). A revoked token, or one whose owner is deactivated or no longer an organiser, is refused.
    """

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    scope: Mapped[str] = mapped_column(String(8))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    """The token's first characters, shown in the list so that its owner can tell tokens apart."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class LoginThrottle(Base):
    """Failed logins counted in one scope, and how long further attempts in it must wait.

    Scopes: an (account, client) pair, a client on its own, and an account tried from clients other than
    its usual one. ``username`` is what was typed, whether or not such an account exists.
    """

    __tablename__ = "login_throttle"
    __table_args__ = (UniqueConstraint("scope", "username", "client"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))
    username: Mapped[str] = mapped_column(String(80), default="")
    client: Mapped[str] = mapped_column(String(64), default="")
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime]
    blocked_until: Mapped[datetime | None]


class Invitation(Base):
    """A one-time link that lets a new account holder set a password (there may be no mail server)."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """sha256 of the token: the link itself is shown once and never stored."""
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class SetupToken(Base):
    """The one-time link to the first-run setup page, printed by ``flask init`` while no organiser exists."""

    __tablename__ = "setup_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """sha256 of the token: the link itself is printed once and never stored."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class Contest(Base):
    __tablename__ = "contest"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    ceremony: Mapped[str] = mapped_column(String(16))
    series: Mapped[str] = mapped_column(String(80), default="", server_default="", index=True)
    """The key of the series the contest is an edition of (``micro-video``): public pages group by it."""
    edition: Mapped[str] = mapped_column(String(40), default="")
    """The edition's label shown beside the title (free text: ``2027``, ``第三届``, ``Spring``)."""
    code_prefix: Mapped[str] = mapped_column(String(8), unique=True)
    """The prefix of its entries' codes (``MV27`` gives ``MV27-001``), unique across contests so that a
    code is never ambiguous between editions; kept equal to the current rubric's prefix."""
    archived_at: Mapped[datetime | None]
    """When an organiser archived it: hidden from the public and entrants, read-only for everyone."""
    phase: Mapped[Phase] = mapped_column(_enum(Phase, "phase"), default=Phase.DRAFT)
    submission_deadline: Mapped[datetime | None]
    review_deadline: Mapped[datetime | None]
    publicity_days: Mapped[int] = mapped_column(Integer, default=5)
    publicity_ends_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    rubric_versions: Mapped[list[RubricVersion]] = relationship(
        back_populates="contest", order_by="RubricVersion.version"
    )
    entries: Mapped[list[Entry]] = relationship(back_populates="contest")
    panel: Mapped[list[PanelMember]] = relationship(back_populates="contest")
    vote_window: Mapped[VoteWindow | None] = relationship(back_populates="contest", uselist=False)

    @property
    def current_rubric(self) -> RubricVersion:
        return self.rubric_versions[-1]

    def __repr__(self) -> str:
        return f"<Contest {self.slug} {self.phase}>"


class RubricVersion(Base):
    """The exact rubric text a contest was configured with; frozen once a score refers to it."""

    __tablename__ = "rubric_version"
    __table_args__ = (
        UniqueConstraint("contest_id", "version"),
        UniqueConstraint("contest_id", "sha256"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contest.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    frozen_at: Mapped[datetime | None]

    contest: Mapped[Contest] = relationship(back_populates="rubric_versions")


class Entry(Base):
    __tablename__ = "entry"
    __table_args__ = (
        UniqueConstraint("contest_id", "code"),
        UniqueConstraint("contest_id", "organization_id", "quota_slot"),
        UniqueConstraint("contest_id", "nominated_by_id", "nomination_slot"),
        CheckConstraint("quota_slot IS NULL OR quota_slot >= 1", name="quota_slot_positive"),
        CheckConstraint("nomination_slot IS NULL OR nomination_slot >= 1", name="nomination_slot_positive"),
        Index("ix_entry_contest_status", "contest_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contest.id", ondelete="RESTRICT"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="RESTRICT"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    """The blind code judges see, e.g. ``MV-007``."""
    category: Mapped[str | None] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    declarations: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[EntryStatus] = mapped_column(_enum(EntryStatus, "entry_status"), default=EntryStatus.DRAFT)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    coordinator_comment: Mapped[str] = mapped_column(Text, default="", server_default="")
    """The coordinating organisation's comment on a unit's case, read by the unit (two-tier nomination)."""
    quota_slot: Mapped[int | None]
    nominated_by_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id", ondelete="RESTRICT"))
    nomination_slot: Mapped[int | None]
    contestant_id: Mapped[int | None] = mapped_column(ForeignKey("contestant.id", ondelete="RESTRICT"))
    """For a judged part of a skills contest: the contestant whose task this entry is."""
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None]
    nominated_at: Mapped[datetime | None]
    reopened_until: Mapped[datetime | None]
    """A report the organiser reopened (a collection contest) may change until then, even after the deadline."""
    version: Mapped[int] = mapped_column(Integer, default=1)

    contest: Mapped[Contest] = relationship(back_populates="entries")
    organization: Mapped[Organization] = relationship(foreign_keys=[organization_id])
    nominated_by: Mapped[Organization | None] = relationship(foreign_keys=[nominated_by_id])
    files: Mapped[list[EntryFile]] = relationship(back_populates="entry", order_by="EntryFile.id")
    assignments: Mapped[list[Assignment]] = relationship(back_populates="entry")

    __mapper_args__ = {"version_id_col": version}


class EntryFile(Base):
    """An uploaded file, stored under a random key outside any static folder."""

    __tablename__ = "entry_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    """``work`` (the judged video or document), ``image``, ``attachment``."""
    storage_key: Mapped[str] = mapped_column(String(100), unique=True)
    original_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    duration_seconds: Mapped[Decimal | None] = mapped_column(Numeric(9, 2))
    width: Mapped[int | None]
    height: Mapped[int | None]
    codec: Mapped[str | None] = mapped_column(String(40))
    thumbnail_key: Mapped[str | None] = mapped_column(String(100))
    blind_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    """The cleaned copy made at upload for a blind contest (no container, document or image metadata):
    what judges receive instead of the stored original."""
    blind_size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    blind_sha256: Mapped[str | None] = mapped_column(String(64))
    document_text: Mapped[str | None] = mapped_column(Text)
    """The text of a document (PDF, Office), extracted at upload for the organiser's blind check."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    entry: Mapped[Entry] = relationship(back_populates="files")

    @property
    def stored_keys(self) -> tuple[str, ...]:
        """Every stored file of this row: the upload, its thumbnail and its blind copy."""
        return tuple(key for key in (self.storage_key, self.thumbnail_key, self.blind_key) if key)


class PartsUpload(Base):
    """A resumable upload under way: the file an entrant declared, sent in parts (to the object store
    directly, or to the app), until it is completed into an :class:`EntryFile` or expires."""

    __tablename__ = "parts_upload"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    """Random: names the upload in URLs and in the storage."""
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    original_name: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    """The size declared when it began; the parts must add up to it."""
    part_size: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str] = mapped_column(String(255), default="")
    """The storage's name for it (an S3 multipart upload id; empty on local disk)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    job_id: Mapped[int | None] = mapped_column(ForeignKey("background_job.id", ondelete="SET NULL"))
    """Set once completed: the background job verifying the joined file (the upload is then the entry's file
    "being checked" until the job attaches it as an :class:`EntryFile`, or refuses it)."""
    refusal: Mapped[str] = mapped_column(Text, default="", server_default="")
    """Why the verification refused the file (its object is deleted then), in the words shown to the entrant."""

    entry: Mapped[Entry] = relationship()
    job: Mapped[BackgroundJob | None] = relationship()


class PanelMember(Base):
    """A judge on a contest's expert panel."""

    __tablename__ = "panel_member"
    __table_args__ = (UniqueConstraint("contest_id", "judge_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contest.id", ondelete="CASCADE"))
    judge_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"), index=True)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)

    contest: Mapped[Contest] = relationship(back_populates="panel")
    judge: Mapped[User] = relationship()
    seats: Mapped[list[PanelRound]] = relationship(
        back_populates="member", cascade="all, delete-orphan", order_by="PanelRound.id"
    )
    """The judging rounds (``[[rounds]]``) the judge sits on: none without rounds, or not yet placed."""

    @property
    def round_keys(self) -> frozenset[str]:
        return frozenset(seat.round_key for seat in self.seats)


class PanelRound(Base):
    """A panel judge's seat on one judging round of the contest (``[[rounds]]``): the same judge may sit on
    the screening panel and the final panel. Taken off the contest's panel, the judge loses every seat
    (the rows go with the :class:`PanelMember`)."""

    __tablename__ = "panel_round"
    __table_args__ = (UniqueConstraint("member_id", "round_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("panel_member.id", ondelete="CASCADE"))
    round_key: Mapped[str] = mapped_column(String(40))
    placed_at: Mapped[datetime] = mapped_column(default=utcnow)

    member: Mapped[PanelMember] = relationship(back_populates="seats")


class PanelRemoval(Base):
    """A judge taken off a contest's panel: whether the organiser kept the judge's sheets in the result, and why.

    Off the panel a judge sees nothing of the contest; the judge's sheets stay stored and count only when
    ``sheets_kept`` (one row per judge and contest, updated when the judge is removed again).
    """

    __tablename__ = "panel_removal"
    __table_args__ = (UniqueConstraint("contest_id", "judge_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contest.id", ondelete="CASCADE"))
    judge_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"), index=True)
    removed_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    sheets_kept: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text, default="")

    judge: Mapped[User] = relationship(foreign_keys=[judge_id])


class JudgeRelation(Base):
    """An organisation a judge declared being related to: its entries (and those of the organisations
    above or under it, or nominated by it) are never assigned to the judge."""

    __tablename__ = "judge_relation"
    __table_args__ = (UniqueConstraint("judge_id", "organization_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="RESTRICT"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    judge: Mapped[User] = relationship(foreign_keys=[judge_id])
    organization: Mapped[Organization] = relationship()


class Assignment(Base):
    """One judge asked to score one entry; recusal keeps the row with its reason."""

    __tablename__ = "assignment"
    # One per entry, judge and round: a judge on both panels judges an entry the screening sent on again in
    # the final. "" (not NULL) for a contest without rounds, so that the database refuses a duplicate there
    # too (NULLs are distinct in a UNIQUE constraint).
    __table_args__ = (UniqueConstraint("entry_id", "judge_id", "round_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="CASCADE"))
    judge_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"), index=True)
    status: Mapped[AssignmentStatus] = mapped_column(
        _enum(AssignmentStatus, "assignment_status"), default=AssignmentStatus.ASSIGNED
    )
    recusal_reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    recused_at: Mapped[datetime | None]
    round_key: Mapped[str] = mapped_column(String(40), default=NO_ROUND, server_default=NO_ROUND)
    """The judging round the assignment belongs to (``[[rounds]]``); ``NO_ROUND`` ("") for a contest without
    rounds."""

    entry: Mapped[Entry] = relationship(back_populates="assignments")
    judge: Mapped[User] = relationship()
    sheet: Mapped[ScoreSheet | None] = relationship(back_populates="assignment", uselist=False)


class ScoreSheet(Base):
    """A judge's sheet for one entry: one :class:`Score` per criterion and one :class:`CheckAnswer` per check."""

    __tablename__ = "score_sheet"

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id", ondelete="RESTRICT"), unique=True)
    rubric_version_id: Mapped[int] = mapped_column(ForeignKey("rubric_version.id", ondelete="RESTRICT"))
    status: Mapped[SheetStatus] = mapped_column(_enum(SheetStatus, "sheet_status"), default=SheetStatus.DRAFT)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)
    """Optimistic lock: a save from a stale tab is refused instead of overwriting a newer one."""

    assignment: Mapped[Assignment] = relationship(back_populates="sheet")
    rubric_version: Mapped[RubricVersion] = relationship()
    # Sheets are almost always read with their scores: load them in one extra query, not one per sheet.
    scores: Mapped[list[Score]] = relationship(
        back_populates="sheet", cascade="all, delete-orphan", lazy="selectin", order_by="Score.id"
    )
    check_answers: Mapped[list[CheckAnswer]] = relationship(
        back_populates="sheet", cascade="all, delete-orphan", lazy="selectin", order_by="CheckAnswer.id"
    )

    __mapper_args__ = {"version_id_col": version}


class Score(Base):
    __tablename__ = "score"
    __table_args__ = (UniqueConstraint("sheet_id", "criterion"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sheet_id: Mapped[int] = mapped_column(ForeignKey("score_sheet.id", ondelete="CASCADE"))
    criterion: Mapped[str] = mapped_column(String(40))
    value: Mapped[Decimal] = mapped_column(Numeric(7, 2))

    sheet: Mapped[ScoreSheet] = relationship(back_populates="scores")


class CheckAnswer(Base):
    __tablename__ = "check_answer"
    __table_args__ = (UniqueConstraint("sheet_id", "check_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sheet_id: Mapped[int] = mapped_column(ForeignKey("score_sheet.id", ondelete="CASCADE"))
    check_key: Mapped[str] = mapped_column(String(40))
    passed: Mapped[bool] = mapped_column(Boolean)

    sheet: Mapped[ScoreSheet] = relationship(back_populates="check_answers")


class PaperClerk(Base):
    """An account named by an organiser to type a contest's paper score sheets (double entry).

    The grant is per contest, like a seat on the panel: the account keeps its role (a judge account that
    sits on no panel of the contest), and the clerk pages check this row. A contest with clerks takes
    paper sheets; removing the last clerk turns paper entry off again (entries already typed are kept).
    """

    __tablename__ = "paper_clerk"
    __table_args__ = (UniqueConstraint("contest_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contest.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"), index=True)
    named_at: Mapped[datetime] = mapped_column(default=utcnow)
    named_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class PaperEntry(Base):
    """One clerk's typing of one judge's paper sheet for one entry (an assignment).

    Two entries (``slot`` 1 and 2, by different clerks) make a pair; the database allows no third and no
    clerk twice. The values are kept as typed-and-validated plain data (scores as exact decimal text),
    the way the audit log records them, so that the two can be compared field by field.
    """

    __tablename__ = "paper_entry"
    __table_args__ = (
        UniqueConstraint("assignment_id", "slot"),
        UniqueConstraint("assignment_id", "clerk_id"),
        CheckConstraint("slot IN (1, 2)", name="slot_one_or_two"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignment.id", ondelete="RESTRICT"), index=True)
    slot: Mapped[int] = mapped_column(Integer)
    clerk_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"), index=True)
    paper_number: Mapped[str] = mapped_column(String(40))
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    checks: Mapped[dict[str, Any]] = mapped_column(default=dict)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    assignment: Mapped[Assignment] = relationship()
    clerk: Mapped[User] = relationship()


class PaperSheet(Base):
    """A judge's submitted sheet that came from paper: its paper number, the two clerks who typed it and,
    when they disagreed, who settled it, when and why (``settlement`` holds each settled field's two
    typed values and the value kept)."""

    __tablename__ = "paper_sheet"

    id: Mapped[int] = mapped_column(primary_key=True)
    sheet_id: Mapped[int] = mapped_column(ForeignKey("score_sheet.id", ondelete="CASCADE"), unique=True)
    paper_number: Mapped[str] = mapped_column(String(40))
    first_clerk_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    second_clerk_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    settled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    settled_at: Mapped[datetime | None]
    settlement_reason: Mapped[str] = mapped_column(Text, default="")
    settlement: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    sheet: Mapped[ScoreSheet] = relationship()
    first_clerk: Mapped[User] = relationship(foreign_keys=[first_clerk_id])
    second_clerk: Mapped[User] = relationship(foreign_keys=[second_clerk_id])
    settled_by: Mapped[User | None] = relationship(foreign_keys=[settled_by_id])


class JudgingRound(Base):
    """One round of a contest judged in ``[[rounds]]``: when it was opened and, once frozen, its result.

    ``payload`` is the canonical JSON of the round's result (every entry's standing and whether and why it
    advanced); ``digest`` its sha256. Both are written once, at freezing, and never change: the next
    round's entries are exactly the advancing entries of this payload.
    """

    __tablename__ = "judging_round"
    __table_args__ = (UniqueConstraint("contest_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contest.id", ondelete="RESTRICT"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    frozen_at: Mapped[datetime | None]
    frozen_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    rubric_sha256: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[str | None] = mapped_column(Text)
    digest: Mapped[str | None] = mapped_column(String(64))

    contest: Mapped[Contest] = relationship()


class Contestant(Base):
    """A contestant of a skills competition (e.g. ISG), registered by or for an organisation."""

    __tablename__ = "contestant"
    __table_args__ = (UniqueConstraint("contest_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contest.id", ondelete="RESTRICT"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="RESTRICT"), index=True)
    number: Mapped[str] = mapped_column(String(40))
    """The contestant number used by the contest platform's score exports."""
    name: Mapped[str] = mapped_column(String(120))
    team: Mapped[str] = mapped_column(String(120), default="")
    declared_level: Mapped[str | None] = mapped_column(String(40))
    """The certificate level key the contestant qualifies to apply for (申报条件)."""
    id_number: Mapped[str | None] = mapped_column(String(40))
    """Full identity number: shown masked everywhere except the organisers' certification export."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    contest: Mapped[Contest] = relationship()
    organization: Mapped[Organization] = relationship()
    part_scores: Mapped[list[PartScore]] = relationship(back_populates="contestant", lazy="selectin")


class PartScore(Base):
    __tablename__ = "part_score"
    __table_args__ = (UniqueConstraint("contestant_id", "part"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contestant_id: Mapped[int] = mapped_column(ForeignKey("contestant.id", ondelete="CASCADE"))
    part: Mapped[str] = mapped_column(String(40))
    value: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    time_used_seconds: Mapped[int | None]
    source: Mapped[str] = mapped_column(String(16), default="import")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    contestant: Mapped[Contestant] = relationship(back_populates="part_scores")


class AuditEvent(Base):
    """Append-only, hash-chained record of every change (see ``judging.services.audit``)."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    """1, 2, 3, …: a gap or a duplicate shows tampering, and the unique index serialises appends."""
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(String(120), default="")
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_type: Mapped[str] = mapped_column(String(40), default="")
    object_id: Mapped[str] = mapped_column(String(40), default="")
    contest_id: Mapped[int | None] = mapped_column(ForeignKey("contest.id", ondelete="SET NULL"), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash_version: Mapped[int] = mapped_column(Integer, server_default="1")
    """1: sha256, the events written before the log was keyed; 2: HMAC-SHA256 with the instance's audit key."""


class ResultSnapshot(Base):
    """A contest's results frozen for the public notice (公示) and, once published, for good.

    ``payload`` is the canonical JSON of everything the result rests on (rubric hash, every sheet or
    part score used, the ranking and awards); ``digest`` is its sha256, printed on every export. Rows
    are never deleted and a payload is never rewritten: reopening review withdraws a snapshot, and a
    correction is a new snapshot whose ``corrects`` is the publication it replaces.
    """

    __tablename__ = "result_snapshot"
    __table_args__ = (UniqueConstraint("contest_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contest.id", ondelete="RESTRICT"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    """1, 2, 3, … per contest, in order of freezing."""
    rubric_version_id: Mapped[int] = mapped_column(ForeignKey("rubric_version.id", ondelete="RESTRICT"))
    rubric_sha256: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[SnapshotStatus] = mapped_column(_enum(SnapshotStatus, "snapshot_status"))
    frozen_at: Mapped[datetime] = mapped_column(default=utcnow)
    frozen_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    publicity_ends_at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]
    withdrawn_reason: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime | None]
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("result_snapshot.id", ondelete="RESTRICT"))
    """The publication this one corrects (published results never change; a correction replaces them)."""
    correction_reason: Mapped[str] = mapped_column(Text, default="")
    published_chain_count: Mapped[int | None]
    published_chain_hash: Mapped[str | None] = mapped_column(String(64))
    """The audit chain's head when the result was published (the payload holds the head at freezing)."""

    contest: Mapped[Contest] = relationship()
    rubric_version: Mapped[RubricVersion] = relationship()
    corrects: Mapped[ResultSnapshot | None] = relationship(remote_side=[id])
    objections: Mapped[list[Objection]] = relationship(back_populates="snapshot", order_by="Objection.id")


class Objection(Base):
    """An objection (异议) filed by anyone against a result on public notice, and the organiser's answer."""

    __tablename__ = "objection"

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("result_snapshot.id", ondelete="RESTRICT"), index=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    """The reference number the objector is given, e.g. ``YY-3F7K-9QXM``."""
    name: Mapped[str] = mapped_column(String(100))
    contact: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(40))
    """The code of the entry (or contestant number) the objection concerns."""
    reason: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[datetime] = mapped_column(default=utcnow)
    client: Mapped[str] = mapped_column(String(64), default="", server_default="")
    """The address it was filed from: a client may file only a few objections against one result."""
    repeats: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """How often the same objection (same award, same reason) was filed again and folded into this one."""
    status: Mapped[ObjectionStatus] = mapped_column(
        _enum(ObjectionStatus, "objection_status"), default=ObjectionStatus.PENDING
    )
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    snapshot: Mapped[ResultSnapshot] = relationship(back_populates="objections")
    attachments: Mapped[list[ObjectionAttachment]] = relationship(
        back_populates="objection", cascade="all, delete-orphan", order_by="ObjectionAttachment.id"
    )


class ObjectionAttachment(Base):
    """Evidence filed with an objection (a PDF or an image, checked by content), stored under a random key;
    only the organisers open it."""

    __tablename__ = "objection_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    objection_id: Mapped[int] = mapped_column(ForeignKey("objection.id", ondelete="CASCADE"), index=True)
    storage_key: Mapped[str] = mapped_column(String(100), unique=True)
    original_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    objection: Mapped[Objection] = relationship(back_populates="attachments")


class Certificate(Base):
    """A certificate issued when a result is published: one per award holder (and per skill level)."""

    __tablename__ = "certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("result_snapshot.id", ondelete="RESTRICT"), index=True)
    serial: Mapped[str] = mapped_column(String(40), unique=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    """The verification code printed on the certificate and checked at ``/verify/<code>``."""
    kind: Mapped[str] = mapped_column(String(16), default="award")
    """``award`` (an award of the ranking or a collective honour) or ``level`` (a skill-level certificate)."""
    holder: Mapped[str] = mapped_column(String(200))
    organization: Mapped[str] = mapped_column(String(200), default="")
    award: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(40), default="")
    """The entry code or contestant number the certificate is for (empty for a collective)."""
    work_title: Mapped[str] = mapped_column(String(300), default="")
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)

    snapshot: Mapped[ResultSnapshot] = relationship()


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


JOB_TIMEOUT_SECONDS = 3600
"""The longest a background job may run: the queue stops it then (see :mod:`judging.services.jobs`)."""

JOB_MISSED_BEATS = 6
"""A running job whose process has not said it is alive for this many of its beats has lost that process."""


class BackgroundJob(Base):
    """A long piece of work done outside the request (a document of a published result), its progress and
    its stored outcome. ``key`` names the exact inputs, so the same request finds the same job (and its
    file) again instead of doing the work twice."""

    __tablename__ = "background_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    """What to do, e.g. ``document``."""
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    contest_id: Mapped[int | None] = mapped_column(ForeignKey("contest.id", ondelete="CASCADE"), index=True)
    status: Mapped[JobStatus] = mapped_column(_enum(JobStatus, "job_status"), default=JobStatus.QUEUED)
    done_steps: Mapped[int] = mapped_column(Integer, default=0)
    total_steps: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    """Why the job failed, in the words shown to the organiser."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    result_key: Mapped[str | None] = mapped_column(String(100))
    result_name: Mapped[str] = mapped_column(String(200), default="")
    result_type: Mapped[str] = mapped_column(String(100), default="")
    result_size: Mapped[int | None] = mapped_column(BigInteger)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    """When the process running the job last said it is alive (None before it ran, and on jobs that ran
    before heartbeats)."""
    heartbeat_seconds: Mapped[float | None] = mapped_column(Float)
    """How often that process promised to say so."""

    contest: Mapped[Contest | None] = relationship()

    @property
    def stalled(self) -> bool:
        """Marked running, but its process died (killed, out of memory, a host lost or frozen) without
        saying so: silent for :data:`JOB_MISSED_BEATS` of its heartbeats, or running for longer than any
        job may (the queue stops it at :data:`JOB_TIMEOUT_SECONDS`). It may be retried."""
        if self.status is not JobStatus.RUNNING:
            return False
        now = utcnow()
        if self.heartbeat_at is not None and self.heartbeat_seconds:
            if self.heartbeat_at <= now - timedelta(seconds=JOB_MISSED_BEATS * self.heartbeat_seconds):
                return True
        return self.started_at is not None and self.started_at <= now - timedelta(seconds=JOB_TIMEOUT_SECONDS)


class VoteWindow(Base):
    """A contest's public vote (issue 19): the shortlist it runs on and when it opened and closes.

    One per contest; the shortlist (entry ids, in the experts' order) is fixed when the vote opens."""

    __tablename__ = "vote_window"

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contest.id", ondelete="RESTRICT"), unique=True)
    shortlist: Mapped[list[Any]] = mapped_column(default=list)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closes_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))

    contest: Mapped[Contest] = relationship(back_populates="vote_window")


class Vote(Base):
    """One public vote with the signals it came with. The per-person limits are enforced by the database:
    a vote holds a numbered slot ``1..per_day`` of its voter's day and ``1..per_entry_per_day`` of its
    voter's day for the entry, each unique, so two concurrent votes cannot both take the last one. The
    proof-of-work challenge it used is unique too: a challenge counts once. A voided vote keeps its row
    (and its slots) with the reason and who voided it."""

    __tablename__ = "vote"
    __table_args__ = (
        UniqueConstraint("contest_id", "voter", "day", "day_slot"),
        UniqueConstraint("contest_id", "voter", "day", "entry_id", "entry_slot"),
        CheckConstraint("day_slot >= 1", name="day_slot_positive"),
        CheckConstraint("entry_slot >= 1", name="entry_slot_positive"),
        Index("ix_vote_entry_cast", "entry_id", "cast_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contest.id", ondelete="RESTRICT"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entry.id", ondelete="RESTRICT"))
    voter: Mapped[str] = mapped_column(String(80))
    """Who the limits count: ``account:<id>`` or ``device:<device hash>``."""
    account_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    device_hash: Mapped[str] = mapped_column(String(64), default="")
    """sha256 of the device cookie and the client's signals."""
    signature_hash: Mapped[str] = mapped_column(String(64), default="")
    """sha256 of the client's signals alone (user agent, language, screen, time zone): the same browser
    set-up with a fresh cookie has the same signature."""
    network: Mapped[str] = mapped_column(String(64), default="")
    """The client's network prefix: IPv4 /24, IPv6 /48."""
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    challenge: Mapped[str] = mapped_column(String(32), unique=True)
    """The random id of the proof-of-work challenge it used."""
    cast_at: Mapped[datetime] = mapped_column(default=utcnow)
    day: Mapped[str] = mapped_column(String(10))
    """The voting day (``YYYY-MM-DD``) in the display time zone: the per-day limits count by it."""
    day_slot: Mapped[int] = mapped_column(Integer)
    entry_slot: Mapped[int] = mapped_column(Integer)
    voided_at: Mapped[datetime | None]
    void_reason: Mapped[str] = mapped_column(Text, default="")
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
