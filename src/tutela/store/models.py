"""SQLAlchemy 2 models (typed ``Mapped[...]``). The schema itself is created by the Alembic
migrations in ``tutela/store/migrations``; a test checks models and migrations agree.

Only portable SQL types are used (SQLite and PostgreSQL). No business rules live here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from tutela.store.types import UTCDateTime

__all__ = [
    "AuditLogRow",
    "Base",
    "CaseAssignmentRow",
    "CaseEventRow",
    "CaseNoteRow",
    "CaseRow",
    "CheckpointRow",
    "ContactRow",
    "ConversationRow",
    "DecisionRow",
    "HelpLinkClickRow",
    "IdentityRow",
    "LedgerEntryRow",
    "LedgerHeadRow",
    "LegalHoldRow",
    "LoginThrottleRow",
    "MessageRow",
    "OperationAccessRow",
    "OperationRow",
    "OperatorMessageRow",
    "ReferralRow",
    "RoomCounterRow",
    "ShadowDecisionRow",
    "TrialAllocationRow",
    "TrialRow",
    "UserRow",
    "WebSessionRow",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy's documented class attribute
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


class OperationRow(Base):
    """An authorised operation under which personas run (legal basis, officer, period)."""

    __tablename__ = "operations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation: Mapped[str] = mapped_column(String(200))
    jurisdiction: Mapped[str] = mapped_column(String(100))
    legal_basis: Mapped[str] = mapped_column(Text)
    authorisation_ref: Mapped[str] = mapped_column(String(200))
    officer: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    evidential: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]


class ContactRow(Base):
    """A person behind one or more identities. ``merged_into`` points to the surviving contact
    after two contacts were found to share an identity."""

    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime]
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))


class IdentityRow(Base):
    """One identifier of a contact on one platform."""

    __tablename__ = "identities"
    __table_args__ = (
        UniqueConstraint("platform", "kind", "value"),
        CheckConstraint(
            "kind IN ('platform_id', 'email', 'phone', 'handle', 'payment_ref')", name="kind"
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    platform: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(500))
    source_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    created_at: Mapped[datetime]


class ConversationRow(Base):
    """A persona's conversation with one contact on one platform account (and room, if any)."""

    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_open", "ended_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operation_id: Mapped[int] = mapped_column(ForeignKey("operations.id"))
    persona_id: Mapped[str] = mapped_column(String(100))
    platform: Mapped[str] = mapped_column(String(100))
    account: Mapped[str] = mapped_column(String(300))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    room: Mapped[str | None] = mapped_column(String(300))
    lang: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    state: Mapped[dict[str, Any]]


class LedgerEntryRow(Base):
    """One ledger entry, exactly as hashed. Append-only (database triggers, see migration)."""

    __tablename__ = "ledger_entries"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    prev_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))
    conversation: Mapped[int | None] = mapped_column(Integer, index=True)
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON text (RFC 8785)
    payload_sha256: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class LedgerHeadRow(Base):
    """Single row (id 1) naming the last entry; locked ``FOR UPDATE`` to serialise appends."""

    __tablename__ = "ledger_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    entry_hash: Mapped[str] = mapped_column(String(64))


class CheckpointRow(Base):
    """An Ed25519-signed checkpoint over ``(seq, entry_hash)``. Append-only."""

    __tablename__ = "checkpoints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(ForeignKey("ledger_entries.seq"), index=True)
    entry_hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))
    key_fingerprint: Mapped[str] = mapped_column(String(64))
    at: Mapped[str] = mapped_column(String(40))


class MessageRow(Base):
    """A message addressed to or sent by a persona. ``seq`` runs over both directions of a
    conversation; ``contact_line`` numbers the contact's (inbound) lines from 1. ``text`` and
    ``wire`` are ``NULL`` after a retention purge (``purged_at``). ``sent_at`` (inbound only,
    migration 0006): when the platform says the message was sent, ``NULL`` when it says nothing;
    ``sent_by``: who stated it (the XEP-0203 ``from``), if named; ``answer``: ``False`` for an
    inbound message that must never be answered automatically, ``NULL`` otherwise;
    ``platform_msg_id`` is indexed for de-duplication (``Recorder.find_message``)."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        UniqueConstraint("conversation_id", "contact_line"),
        CheckConstraint("direction IN ('in', 'out')", name="direction"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    seq: Mapped[int] = mapped_column(Integer)
    direction: Mapped[str] = mapped_column(String(3))
    contact_line: Mapped[int | None] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(300))
    text: Mapped[str | None] = mapped_column(Text)
    wire: Mapped[bytes | None] = mapped_column(LargeBinary)
    platform_msg_id: Mapped[str | None] = mapped_column(String(300), index=True)
    origin: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime]  # received_at (inbound) or sent_at (outbound)
    sent_at: Mapped[datetime | None]  # inbound: the platform's own send stamp, if it gives one
    sent_by: Mapped[str | None] = mapped_column(String(300))  # who stated sent_at, if named
    answer: Mapped[bool | None] = mapped_column(Boolean)  # False: never answer (inbound)
    attachments: Mapped[list[Any]]
    ledger_seq: Mapped[int] = mapped_column(ForeignKey("ledger_entries.seq"))
    purged_at: Mapped[datetime | None]


class DecisionRow(Base):
    """A policy decision taken after an inbound message.

    ``indicators``: the conversation's distinct indicator ids so far (the ledger's ``decision``
    payload). ``line_indicators``: the ids the decided line raised itself (strongest first;
    since 0008), a display aid for masking and indicator chips on the dashboard
    (``tutela.cases.views.line_indicators``); *not* part of the ledger payload. ``NULL`` for
    decisions recorded before 0008 and for decisions that are not about one line (an imported
    conversation's one decision).
    """

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    after_line: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))
    risk: Mapped[float] = mapped_column(Float)
    indicators: Mapped[list[Any]]
    rule: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    variant: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]
    ledger_seq: Mapped[int] = mapped_column(ForeignKey("ledger_entries.seq"))
    line_indicators: Mapped[list[Any] | None] = mapped_column(JSON(none_as_null=True))


class CaseRow(Base):
    """A case file about one contact."""

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), unique=True)
    status: Mapped[str] = mapped_column(String(30))
    risk: Mapped[float] = mapped_column(Float)
    opened_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AuditLogRow(Base):
    """Who did what to which record; each row is mirrored by an ``audit`` ledger entry."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(300))
    details: Mapped[dict[str, Any]]
    ledger_seq: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.seq"))


class RoomCounterRow(Base):
    """Room traffic not addressed to a persona: counted, never stored (hard rule)."""

    __tablename__ = "room_counters"
    platform: Mapped[str] = mapped_column(String(100), primary_key=True)
    account: Mapped[str] = mapped_column(String(300), primary_key=True)
    room: Mapped[str] = mapped_column(String(300), primary_key=True)
    ignored_count: Mapped[int] = mapped_column(Integer)


class UserRow(Base):
    """A dashboard/CLI user. ``password_hash`` is an argon2id PHC string, never the password."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('analyst', 'supervisor', 'admin')", name="role"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(300))
    totp_secret: Mapped[str | None] = mapped_column(String(400))  # encrypted (tutela.accounts)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]
    session_epoch: Mapped[int] = mapped_column(Integer, server_default="0")
    """Bumped by every change that must end open sessions (password, TOTP, role, deactivation)."""
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    """The RFC 6238 time step of the last accepted code (a code is accepted once)."""
    credentials_changed_at: Mapped[datetime | None]
    lang: Mapped[str | None] = mapped_column(String(10))
    """Dashboard language (``en``/``nl``/``de``); ``None``: from the browser (migration 0008)."""


class WebSessionRow(Base):
    """A dashboard session. The browser holds the token; only its SHA-256 is stored."""

    __tablename__ = "web_sessions"
    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    csrf_token: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    user_epoch: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column(Float)  # epoch seconds
    last_seen: Mapped[float] = mapped_column(Float, index=True)
    data: Mapped[dict[str, Any]]


class LoginThrottleRow(Base):
    """Failed-login score of one key (``user:NAME`` or ``ip:ADDR``), decaying over time."""

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)  # epoch seconds
    locked_until: Mapped[float] = mapped_column(Float)
    in_flight: Mapped[int] = mapped_column(Integer)


class ReferralRow(Base):
    """A referral proposal and the human decision on it. ``proposed_by`` is ``NULL`` for a
    proposal made by the policy (``refer`` decision)."""

    __tablename__ = "referrals"
    __table_args__ = (
        CheckConstraint("status IN ('proposed', 'approved', 'rejected')", name="status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    proposed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)


class CaseEventRow(Base):
    """One human (or retention) action on a case; mirrored by an audit row and a ledger entry."""

    __tablename__ = "case_events"
    __table_args__ = (
        CheckConstraint(
            "action IN ('dismiss', 'watch', 'propose_referral', 'approve_referral', "
            "'reject_referral', 'reveal', 'purge', 'reopen')",
            name="action",
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(30))
    note: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]]


class OperatorMessageRow(Base):
    """An operator-takeover text released by the outgoing guard, waiting for the engine."""

    __tablename__ = "operator_messages"
    __table_args__ = (CheckConstraint("status IN ('queued', 'taken')", name="status"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    operator: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    queued_at: Mapped[datetime]
    taken_at: Mapped[datetime | None]


class OperationAccessRow(Base):
    """An operation a user is granted (``tutela.accounts.access``): a user with at least one row
    reads and acts only on the cases of their granted operations; one without rows on all."""

    __tablename__ = "operation_access"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    operation_id: Mapped[int] = mapped_column(ForeignKey("operations.id"), primary_key=True)
    granted_by: Mapped[str] = mapped_column(String(200))
    granted_at: Mapped[datetime]


class LegalHoldRow(Base):
    """A legal hold on a case (``tutela.cases.hold``): while ``released_at`` is ``NULL`` the
    case's messages are never purged and no persona reply is sent in its conversations. Setting
    and releasing a hold are audited (with the reason)."""

    __tablename__ = "legal_holds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    set_by: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime]
    released_by: Mapped[str | None] = mapped_column(String(200))
    released_at: Mapped[datetime | None]
    release_reason: Mapped[str | None] = mapped_column(Text)


class TrialRow(Base):
    """A registered deterrence trial: the analysis plan fixed in advance (its text and SHA-256,
    the RFC 3161 reply over that hash when a TSA stamped it), the arms and the allocation seed."""

    __tablename__ = "trials"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    plan_text: Mapped[str] = mapped_column(Text)
    plan_sha256: Mapped[str] = mapped_column(String(64))
    arms: Mapped[list[Any]]
    seed: Mapped[int] = mapped_column(Integer)
    block_size: Mapped[int] = mapped_column(Integer)
    timestamp_token: Mapped[bytes | None] = mapped_column(LargeBinary)
    timestamped_at: Mapped[datetime | None]
    registered_by: Mapped[str] = mapped_column(String(200))
    registered_at: Mapped[datetime]
    active: Mapped[bool] = mapped_column(Boolean)
    ledger_seq: Mapped[int] = mapped_column(ForeignKey("ledger_entries.seq"))


class TrialAllocationRow(Base):
    """One contact's arm in a trial, drawn once (stratified by language, permuted blocks) and
    written with its ``trial_allocated`` ledger entry before the first warning is sent."""

    __tablename__ = "trial_allocations"
    __table_args__ = (UniqueConstraint("trial_id", "contact_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    stratum: Mapped[str] = mapped_column(String(32))
    arm: Mapped[str] = mapped_column(String(100))
    block_index: Mapped[int] = mapped_column(Integer)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    allocated_at: Mapped[datetime]
    ledger_seq: Mapped[int] = mapped_column(ForeignKey("ledger_entries.seq"))


class HelpLinkClickRow(Base):
    """Clicks on a per-arm help link, counted per arm, language and UTC day: no address, no
    cookie, no contact (the redirect is non-identifying)."""

    __tablename__ = "help_link_clicks"
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), primary_key=True)
    arm: Mapped[str] = mapped_column(String(100), primary_key=True)
    lang: Mapped[str] = mapped_column(String(16), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD (UTC)
    clicks: Mapped[int] = mapped_column(Integer)


class ShadowDecisionRow(Base):
    """What a candidate (shadow) policy would have decided after an inbound message, beside the
    active policy's decision; never acted on."""

    __tablename__ = "shadow_decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    policy_sha256: Mapped[str] = mapped_column(String(64), index=True)
    policy_name: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(20))
    variant: Mapped[str | None] = mapped_column(String(100))
    rule: Mapped[str] = mapped_column(String(200))
    active_action: Mapped[str] = mapped_column(String(20))
    active_variant: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]


class CaseNoteRow(Base):
    """An analyst's note on a case; insert only (a correction is a new note), each written with
    an audit row (migration 0008)."""

    __tablename__ = "case_notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime]
    author: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)


class CaseAssignmentRow(Base):
    """One assignment of a case (the latest row per case is the current one; ``assignee``
    ``None``: unassigned); insert only, each written with an audit row (migration 0008)."""

    __tablename__ = "case_assignments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    assignee: Mapped[str | None] = mapped_column(String(100))
