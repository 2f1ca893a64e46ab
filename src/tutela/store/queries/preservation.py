"""Reads and the one write of ``tutela.evidence.preservation``: what a preservation request of one
case names (its contact's conversations, identifiers and operations), and the audit rows of the
letters written.

The store only fetches and records here (``docs/architecture.md``, store boundary): which
platform gets which letter, and what it says, stay in ``tutela.evidence``. No message text is
read: a letter names accounts and dates, never content.

Errors: ``NotFoundError`` (unknown case), ``InputError`` (audit details that are not canonical
JSON), ``StoreError`` (database).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tutela.store.engine import Store
from tutela.store.errors import NotFoundError
from tutela.store.models import CaseRow, ConversationRow, IdentityRow, MessageRow, OperationRow
from tutela.store.records import OperationRecord

if TYPE_CHECKING:
    from tutela.store.recorder import Recorder

__all__ = [
    "PRESERVATION_AUDIT_ACTION",
    "PreservationConversation",
    "PreservationIdentifier",
    "PreservationScope",
    "preservation_scope",
    "record_preservation_letters",
]

PRESERVATION_AUDIT_ACTION = "preservation_request_written"
"""The audit-log action of one preservation-request letter (target ``case:<id>``)."""


@dataclass(frozen=True, slots=True)
class PreservationIdentifier:
    """One identifier of the case's contact: ``platform`` as linked (a chat platform, or the
    live engine's ``"disclosed"`` for an identifier the contact volunteered in a message), ``kind``
    one of ``platform_id``, ``email``, ``phone``, ``handle``, ``payment_ref``."""

    platform: str
    kind: str
    value: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PreservationConversation:
    """One conversation of the contact with a persona: where (``platform``, the persona's
    ``account``, ``room``), under which operation, and when (aware UTC instants: ``started_at``,
    ``ended_at`` or ``None`` while open, the first and last message times or ``None`` without
    messages); ``messages``/``inbound``: counts (all directions / from the contact)."""

    id: int
    operation_id: int
    persona_id: str
    platform: str
    account: str
    room: str | None
    started_at: datetime
    ended_at: datetime | None
    first_message_at: datetime | None
    last_message_at: datetime | None
    messages: int
    inbound: int


@dataclass(frozen=True, slots=True)
class PreservationScope:
    """What a preservation request of case ``case_id`` may name (one read session).

    ``conversations`` by start time then id; ``identifiers`` by id (every identifier linked to
    the contact, merges resolved: a merge moves identities and conversations to the survivor);
    ``operations`` those of the conversations, by id."""

    case_id: int
    contact_id: int
    status: str
    conversations: tuple[PreservationConversation, ...]
    identifiers: tuple[PreservationIdentifier, ...]
    operations: tuple[OperationRecord, ...]


def preservation_scope(store: Store, case_id: int) -> PreservationScope:
    """The :class:`PreservationScope` of case ``case_id``.

    Raises ``NotFoundError`` for an unknown case. A case whose contact has no conversation is
    returned with empty ``conversations`` and ``operations`` (the caller refuses it)."""
    with store.session() as s:
        case = s.get(CaseRow, case_id)
        if case is None:
            raise NotFoundError(f"case {case_id} does not exist")
        contact_id = int(case.contact_id)
        rows = s.execute(
            select(ConversationRow)
            .where(ConversationRow.contact_id == contact_id)
            .order_by(ConversationRow.started_at, ConversationRow.id)
        ).scalars()
        convs = [_conversation(s, r) for r in rows]
        idents = tuple(
            PreservationIdentifier(
                platform=i.platform, kind=i.kind, value=i.value, created_at=i.created_at
            )
            for i in s.execute(
                select(IdentityRow)
                .where(IdentityRow.contact_id == contact_id)
                .order_by(IdentityRow.id)
            ).scalars()
        )
        op_ids = sorted({c.operation_id for c in convs})
        ops = tuple(
            OperationRecord.from_row(r)
            for r in s.execute(
                select(OperationRow).where(OperationRow.id.in_(op_ids)).order_by(OperationRow.id)
            ).scalars()
        )
        return PreservationScope(
            case_id=case_id,
            contact_id=contact_id,
            status=str(case.status),
            conversations=tuple(convs),
            identifiers=idents,
            operations=ops,
        )


def _conversation(s: Session, r: ConversationRow) -> PreservationConversation:
    first, last, n = s.execute(
        select(func.min(MessageRow.at), func.max(MessageRow.at), func.count(MessageRow.id)).where(
            MessageRow.conversation_id == r.id
        )
    ).one()
    inbound = s.execute(
        select(func.count(MessageRow.id)).where(
            MessageRow.conversation_id == r.id, MessageRow.direction == "in"
        )
    ).scalar_one()
    return PreservationConversation(
        id=r.id,
        operation_id=r.operation_id,
        persona_id=r.persona_id,
        platform=r.platform,
        account=r.account,
        room=r.room,
        started_at=r.started_at,
        ended_at=r.ended_at,
        first_message_at=_aware(first),
        last_message_at=_aware(last),
        messages=int(n),
        inbound=int(inbound),
    )


def _aware(value: object) -> datetime | None:
    """An aggregate's value as the column type gives it (``MIN``/``MAX`` over an aware-UTC
    column may come back as naive UTC or as text on SQLite)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):  # pragma: no cover - no other type is stored
        raise TypeError(f"unexpected instant {value!r}")
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def record_preservation_letters(
    recorder: Recorder, *, case_id: int, actor: str, letters: Sequence[Mapping[str, Any]]
) -> tuple[int, ...]:
    """Record one ``preservation_request_written`` audit row (target ``case:<id>``, with its
    ``audit`` ledger entry) per letter, all in ONE transaction; returns the audit row ids.

    ``letters``: each letter's details (canonical JSON: no floats), e.g. ``{case_id, platform,
    reference, file, sha256, letter_date, preserve_until, identifiers}`` with ``identifiers`` a
    count (identifier values never enter the ledger). Raises ``InputError`` for details that
    are not canonical JSON, ``StoreError`` on a database error (nothing is written then)."""

    def _work(s: Session) -> tuple[int, ...]:
        return tuple(
            recorder._audit(s, actor, PRESERVATION_AUDIT_ACTION, f"case:{case_id}", dict(d)).id
            for d in letters
        )

    return recorder.store.write(_work)
