"""Frozen records of the case workflow's reads (``tutela.store.queries.cases``), each with a
``from_row`` builder where it mirrors one table. Import them from ``tutela.store.queries.cases``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tutela.store.models import CaseEventRow, IdentityRow, MessageRow, ReferralRow, UserRow
from tutela.store.records import CaseRecord, MessageRecord

__all__ = [
    "CaseActor",
    "CaseEventRecord",
    "CaseFacts",
    "ContactDecision",
    "ContactMessage",
    "DecisionLine",
    "IdentityRecord",
    "ReferralRecord",
]


@dataclass(frozen=True, slots=True)
class CaseActor:
    """A user account as the workflow checks it (``role``: ``users.role`` text)."""

    id: int
    name: str
    role: str
    active: bool

    @classmethod
    def from_row(cls, row: UserRow) -> CaseActor:
        """The record of one ``UserRow`` (no password hash, no TOTP secret)."""
        return cls(id=row.id, name=row.name, role=row.role, active=row.active)


@dataclass(frozen=True, slots=True)
class ReferralRecord:
    """A ``referrals`` row. ``proposed_by_name``/``decided_by_name``: the users' names where
    the read joins them (:meth:`CaseReads.referrals`), ``None`` for no user or elsewhere."""

    id: int
    case_id: int
    status: str
    proposed_by: int | None
    proposed_at: datetime
    note: str
    decided_by: int | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    proposed_by_name: str | None = None
    decided_by_name: str | None = None

    @classmethod
    def from_row(
        cls,
        row: ReferralRow,
        proposed_by_name: str | None = None,
        decided_by_name: str | None = None,
    ) -> ReferralRecord:
        """The record of one ``ReferralRow`` (detached: safe after the session closes)."""
        return cls(
            id=row.id,
            case_id=row.case_id,
            status=row.status,
            proposed_by=row.proposed_by,
            proposed_at=row.proposed_at,
            note=row.note,
            decided_by=row.decided_by,
            decided_at=row.decided_at,
            decision_note=row.decision_note,
            proposed_by_name=proposed_by_name,
            decided_by_name=decided_by_name,
        )


@dataclass(frozen=True, slots=True)
class CaseEventRecord:
    """A ``case_events`` row (``actor``: user name or ``"system"``; ``details``: a copy)."""

    id: int
    case_id: int
    at: datetime
    actor: str
    action: str
    note: str
    details: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: CaseEventRow) -> CaseEventRecord:
        """The record of one ``CaseEventRow`` (detached: safe after the session closes)."""
        return cls(
            id=row.id,
            case_id=row.case_id,
            at=row.at,
            actor=row.actor,
            action=row.action,
            note=row.note,
            details=dict(row.details),
        )


@dataclass(frozen=True, slots=True)
class IdentityRecord:
    """A linked identity and the message it was read from (``source``: ``None`` without a
    source message)."""

    id: int
    contact_id: int
    platform: str
    kind: str
    value: str
    created_at: datetime
    source_message_id: int | None
    source: MessageRecord | None = None

    @classmethod
    def from_row(cls, row: IdentityRow, source: MessageRow | None = None) -> IdentityRecord:
        """The record of one ``IdentityRow`` with its joined source ``MessageRow``."""
        return cls(
            id=row.id,
            contact_id=row.contact_id,
            platform=row.platform,
            kind=row.kind,
            value=row.value,
            created_at=row.created_at,
            source_message_id=row.source_message_id,
            source=None if source is None else MessageRecord.from_row(source),
        )


@dataclass(frozen=True, slots=True)
class DecisionLine:
    """The indicators of the decision taken after contact line ``after_line`` (the
    conversation's so far) and ``line_indicators``, those that line raised itself (``None``:
    not recorded, a decision from before migration 0008)."""

    conversation_id: int
    after_line: int
    indicators: tuple[str, ...]
    line_indicators: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ContactMessage:
    """Where a message of a contact sits: its conversation and 1-based ``seq``."""

    id: int
    conversation_id: int
    seq: int


@dataclass(frozen=True, slots=True)
class ContactDecision:
    """A decision of a contact's conversations: its action and rule id."""

    id: int
    action: str
    rule: str


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What the review queue shows of a case, from the contact's conversations.

    ``pairs``: ``(persona_id, platform)`` per conversation; ``max_risk``: max decision risk
    (``None`` without decisions); ``warnings``: decisions with a deterrence variant;
    ``last_action``: action of the latest decision; ``last_activity``: latest message time;
    ``identities``: identity rows; ``last_event``: action of the latest case event;
    ``pending_referral``: largest id of the case's referrals with the pending status asked for.
    ``strongest``/``strongest_at``/``returns``/``returned``: the severity facts of
    ``tutela.store.queries.queue`` (defaults when the read was not given severity rules).
    """

    case: CaseRecord
    pairs: tuple[tuple[str, str], ...]
    max_risk: float | None
    warnings: int
    last_action: str | None
    last_activity: datetime | None
    identities: int
    last_event: str | None
    pending_referral: int | None
    strongest: str | None = None
    strongest_at: datetime | None = None
    returns: int = 0
    returned: bool = False
