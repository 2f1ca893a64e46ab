"""Frozen records the store returns (detached from any session)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tutela.domain import Attachment
from tutela.store.models import CaseRow, ConversationRow, DecisionRow, MessageRow, OperationRow

__all__ = [
    "CaseRecord",
    "ContactSummary",
    "ConversationRecord",
    "DecisionRecord",
    "LinkResult",
    "MessageRecord",
    "OperationRecord",
]


@dataclass(frozen=True, slots=True)
class OperationRecord:
    """An operation: who authorised the personas' work, under which legal basis, when."""

    id: int
    organisation: str
    jurisdiction: str
    legal_basis: str
    authorisation_ref: str
    officer: str
    starts_at: datetime
    ends_at: datetime | None
    evidential: bool
    created_at: datetime

    @classmethod
    def from_row(cls, row: OperationRow) -> OperationRecord:
        """The record of one ``OperationRow`` (detached: safe after the session closes)."""
        return cls(
            id=row.id,
            organisation=row.organisation,
            jurisdiction=row.jurisdiction,
            legal_basis=row.legal_basis,
            authorisation_ref=row.authorisation_ref,
            officer=row.officer,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            evidential=row.evidential,
            created_at=row.created_at,
        )


@dataclass(frozen=True, slots=True)
class ConversationRecord:
    """A conversation row; ``state`` is the engine's resumable state (JSON object)."""

    id: int
    operation_id: int
    persona_id: str
    platform: str
    account: str
    contact_id: int
    room: str | None
    lang: str
    started_at: datetime
    ended_at: datetime | None
    state: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: ConversationRow) -> ConversationRecord:
        """The record of one ``ConversationRow`` (detached: safe after the session closes)."""
        return cls(
            id=row.id,
            operation_id=row.operation_id,
            persona_id=row.persona_id,
            platform=row.platform,
            account=row.account,
            contact_id=row.contact_id,
            room=row.room,
            lang=row.lang,
            started_at=row.started_at,
            ended_at=row.ended_at,
            state=dict(row.state),
        )


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """A stored message.

    ``seq``: 1-based position in the conversation over both directions. ``contact_line``: 1-based
    number of the contact's line (inbound only, else ``None``). ``at``: received_at (inbound) or
    sent_at (outbound), aware UTC. ``text``/``wire`` are ``None`` after a retention purge.
    ``origin``: what produced an outbound text (e.g. ``"bank:en.greeting.3"``, ``"human:alice"``).
    ``ledger_seq``: the ledger entry that records this message. ``sent_at``: for an inbound
    message, the aware UTC instant the platform says it was sent (XMPP XEP-0203 delay stamp,
    Matrix ``origin_server_ts``), ``None`` when the platform states none (IRC) and for outbound
    messages (their ``at`` is the send time). ``sent_by``: who stated ``sent_at`` when the
    platform names it (the XEP-0203 ``from`` of the stamp, e.g. the persona's server domain),
    else ``None``. ``answer``: ``False`` for an inbound message recorded and decided but never
    to be answered automatically (``InboundMessage.answer``); ``True`` otherwise.
    """

    id: int
    conversation_id: int
    seq: int
    direction: str  # "in" | "out"
    contact_line: int | None
    author: str
    text: str | None
    at: datetime
    platform_msg_id: str | None = None
    attachments: tuple[Attachment, ...] = ()
    origin: str | None = None
    wire: bytes | None = None
    ledger_seq: int = 0
    purged_at: datetime | None = None
    sent_at: datetime | None = None
    sent_by: str | None = None
    answer: bool = True

    @classmethod
    def from_row(cls, row: MessageRow) -> MessageRecord:
        """The record of one ``MessageRow`` (detached: safe after the session closes)."""
        return cls(
            id=row.id,
            conversation_id=row.conversation_id,
            seq=row.seq,
            direction=row.direction,
            contact_line=row.contact_line,
            author=row.author,
            text=row.text,
            at=row.at,
            platform_msg_id=row.platform_msg_id,
            attachments=tuple(Attachment(**a) for a in row.attachments),
            origin=row.origin,
            wire=row.wire,
            ledger_seq=row.ledger_seq,
            purged_at=row.purged_at,
            sent_at=row.sent_at,
            sent_by=row.sent_by,
            answer=row.answer is not False,
        )


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """A stored policy decision (``risk`` in [0, 1]; the ledger holds it as a 6-decimal string).

    ``line_indicators``: the ids the decided line raised itself (a display aid, not in the
    ledger payload; ``None`` for decisions recorded without them, ``DecisionRow``)."""

    id: int
    conversation_id: int
    message_id: int
    after_line: int
    action: str
    risk: float
    indicators: tuple[str, ...]
    rule: str
    reason: str
    variant: str | None
    created_at: datetime
    ledger_seq: int
    line_indicators: tuple[str, ...] | None = None

    @classmethod
    def from_row(cls, r: DecisionRow) -> DecisionRecord:
        """The record of one ``DecisionRow`` (detached: safe after the session closes)."""
        return cls(
            id=r.id,
            conversation_id=r.conversation_id,
            message_id=r.message_id,
            after_line=r.after_line,
            action=r.action,
            risk=r.risk,
            indicators=tuple(r.indicators),
            rule=r.rule,
            reason=r.reason,
            variant=r.variant,
            created_at=r.created_at,
            ledger_seq=r.ledger_seq,
            line_indicators=None if r.line_indicators is None else tuple(r.line_indicators),
        )


@dataclass(frozen=True, slots=True)
class CaseRecord:
    """A case file about one contact."""

    id: int
    contact_id: int
    status: str
    risk: float
    opened_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: CaseRow) -> CaseRecord:
        """The record of one ``CaseRow`` (detached: safe after the session closes)."""
        return cls(
            id=row.id,
            contact_id=row.contact_id,
            status=row.status,
            risk=row.risk,
            opened_at=row.opened_at,
            updated_at=row.updated_at,
        )


@dataclass(frozen=True, slots=True)
class ContactSummary:
    """What the policy ladder needs to know about a contact (merged contacts resolved).

    ``conversations``: number of conversations with the contact; ``personas``/``platforms``:
    distinct persona ids and platforms met, sorted; ``warnings``: number of decisions with action
    ``deter``, ``escalate`` or ``refer``; ``last_warning_at``: when the latest of them was taken.
    """

    contact_id: int
    conversations: int
    personas: tuple[str, ...]
    platforms: tuple[str, ...]
    warnings: int
    last_warning_at: datetime | None


@dataclass(frozen=True, slots=True)
class LinkResult:
    """Outcome of ``Recorder.link_identity``.

    ``contact_id``: the contact that now holds the identity (the survivor after a merge);
    ``created``: a new identity row was written; ``merged_from``: the contact absorbed by a merge.
    ``bool(result)`` is True when anything changed (new link or merge).
    """

    contact_id: int
    created: bool
    merged_from: int | None = None

    def __bool__(self) -> bool:
        return self.created or self.merged_from is not None
