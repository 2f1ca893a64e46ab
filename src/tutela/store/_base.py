"""Shared internals of ``Recorder``: constructor, ledger append, audit rows, row -> record
conversion. Import ``Recorder`` from ``tutela.store``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, func, select
from sqlalchemy.orm import Session

from tutela.domain import WARNING_ACTIONS, Attachment
from tutela.errors import InputError
from tutela.ledger import (
    AttachmentPayload,
    AuditPayload,
    EntryKind,
    LedgerEntry,
    Signer,
    canonical_json,
    sha256_hex,
)
from tutela.store import ledger
from tutela.store.engine import Store
from tutela.store.errors import NotFoundError, StoreError
from tutela.store.models import (
    AuditLogRow,
    ContactRow,
    ConversationRow,
    MessageRow,
)
from tutela.store.records import (
    MessageRecord,
)

__all__ = ["DEMO_AUTHORISATION_REF", "IDENTITY_KINDS", "SYSTEM", "WARNING_ACTIONS", "RecorderBase"]


IDENTITY_KINDS = ("platform_id", "email", "phone", "handle", "payment_ref")
DEMO_AUTHORISATION_REF = "tutela-demo"
SYSTEM = "system"

# Hot-path statements, built once (see ledger.py).
_INSERT_MESSAGE = cast(Table, MessageRow.__table__).insert()  # typed as any FromClause
_LAST_SEQ = select(func.max(MessageRow.seq)).where(MessageRow.conversation_id == bindparam("cid"))


def _inserted_id(res: CursorResult[Any]) -> int:
    """The primary key of the one row an ``INSERT`` added (``StoreError`` if none reported)."""
    key = res.inserted_primary_key
    if key is None:  # pragma: no cover - a single-row INSERT always reports its key
        raise StoreError("the database reported no primary key for an INSERT")
    return int(key[0])


def _sha(text: str) -> str:
    return sha256_hex(text.encode("utf-8"))


def _attachment_dict(a: Attachment | Mapping[str, Any]) -> AttachmentPayload:
    if isinstance(a, Attachment):
        return cast(AttachmentPayload, asdict(a))
    if isinstance(a, Mapping):
        try:
            return cast(AttachmentPayload, asdict(Attachment(**a)))
        except TypeError as e:
            raise InputError(f"attachment metadata has unknown fields: {sorted(a)}") from e
    raise InputError(f"attachment must be an Attachment, got {type(a).__name__}")


def _check_aware(name: str, at: datetime) -> None:
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise InputError(f"{name} must be an aware datetime, got {at!r}")


class RecorderBase:
    """Constructor and internals of ``Recorder`` (see its docstring for the parameters)."""

    def __init__(
        self,
        store: Store,
        *,
        signer: Signer | None = None,
        checkpoint_every: int = 100,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if checkpoint_every < 0:
            raise InputError("checkpoint_every must be >= 0")
        self.store = store
        self.signer = signer
        self.checkpoint_every = checkpoint_every
        self._clock = clock or (lambda: datetime.now(UTC))
        self._personas: dict[int, str] = {}  # conversation id -> persona id (never changes)

    # -- internals ---------------------------------------------------------------------------
    def _now(self) -> datetime:
        now = self._clock()
        _check_aware("clock()", now)
        return now

    def _append(
        self, s: Session, kind: EntryKind, conversation: int | None, payload: Mapping[str, Any]
    ) -> LedgerEntry:
        return ledger.append(
            s,
            kind=kind,
            conversation=conversation,
            payload=payload,
            at=self._now(),
            signer=self.signer,
            checkpoint_every=self.checkpoint_every,
        )

    def _audit(
        self, s: Session, actor: str, action: str, target: str, details: Mapping[str, Any]
    ) -> AuditLogRow:
        plain = dict(details)
        canonical_json(plain)  # InputError before anything is written
        payload: AuditPayload = {
            "actor": actor,
            "action": action,
            "target": target,
            "details": plain,
        }
        entry = self._append(s, EntryKind.AUDIT, None, payload)
        row = AuditLogRow(
            at=self._now(),
            actor=actor,
            action=action,
            target=target,
            details=plain,
            ledger_seq=entry.seq,
        )
        s.add(row)
        s.flush()
        return row

    def _persona_of(self, s: Session, conversation_id: int) -> str:
        """The persona of a conversation (immutable, so cached); ``NotFoundError`` if absent."""
        persona = self._personas.get(conversation_id)
        if persona is None:
            persona = s.execute(
                select(ConversationRow.persona_id).where(ConversationRow.id == conversation_id)
            ).scalar_one_or_none()
            if persona is None:
                raise NotFoundError(f"conversation {conversation_id} does not exist")
            self._personas[conversation_id] = persona
        return persona

    @staticmethod
    def _insert_message(
        s: Session, record: MessageRecord, attachments: Sequence[AttachmentPayload]
    ) -> MessageRecord:
        res = s.connection().execute(
            _INSERT_MESSAGE,
            {
                "conversation_id": record.conversation_id,
                "seq": record.seq,
                "direction": record.direction,
                "contact_line": record.contact_line,
                "author": record.author,
                "text": record.text,
                "wire": record.wire,
                "platform_msg_id": record.platform_msg_id,
                "origin": record.origin,
                "at": record.at,
                "sent_at": record.sent_at,
                "sent_by": record.sent_by,
                "answer": None if record.answer else False,
                "attachments": attachments,
                "ledger_seq": record.ledger_seq,
            },
        )
        return dataclasses.replace(record, id=_inserted_id(res))

    @staticmethod
    def _conversation(s: Session, conversation_id: int) -> ConversationRow:
        row = s.get(ConversationRow, conversation_id)
        if row is None:
            raise NotFoundError(f"conversation {conversation_id} does not exist")
        return row

    @staticmethod
    def _resolve_contact(s: Session, contact_id: int) -> ContactRow:
        row = s.get(ContactRow, contact_id)
        seen = set()
        while row is not None and row.merged_into is not None and row.id not in seen:
            seen.add(row.id)
            row = s.get(ContactRow, row.merged_into)
        if row is None:
            raise NotFoundError(f"contact {contact_id} does not exist")
        return row

    @staticmethod
    def _next_seq(s: Session, conversation_id: int) -> int:
        last = s.connection().execute(_LAST_SEQ, {"cid": conversation_id}).scalar_one()
        return (last or 0) + 1
