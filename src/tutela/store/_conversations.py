"""Operations and conversations part of ``Recorder``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from tutela.ledger import (
    ConversationEndedPayload,
    ConversationOpenedPayload,
    EntryKind,
    OperationCreatedPayload,
    format_instant,
)
from tutela.store._base import (
    DEMO_AUTHORISATION_REF,
    RecorderBase,
    _check_aware,
)
from tutela.store.errors import NotFoundError
from tutela.store.models import (
    ConversationRow,
    DecisionRow,
    MessageRow,
    OperationRow,
)
from tutela.store.records import (
    ConversationRecord,
    DecisionRecord,
    MessageRecord,
    OperationRecord,
)

__all__ = ["ConversationsMixin"]


class ConversationsMixin(RecorderBase):
    """Operations, conversations and their messages/decisions as read back."""

    # -- operations and conversations --------------------------------------------------------
    def create_operation(
        self,
        *,
        organisation: str,
        jurisdiction: str,
        legal_basis: str,
        authorisation_ref: str,
        officer: str,
        starts_at: datetime,
        ends_at: datetime | None = None,
        evidential: bool = True,
    ) -> OperationRecord:
        """Create an operation (ledger: ``operation`` / ``operation_created``)."""
        _check_aware("starts_at", starts_at)
        if ends_at is not None:
            _check_aware("ends_at", ends_at)

        def _work(s: Session) -> OperationRecord:
            row = OperationRow(
                organisation=organisation,
                jurisdiction=jurisdiction,
                legal_basis=legal_basis,
                authorisation_ref=authorisation_ref,
                officer=officer,
                starts_at=starts_at,
                ends_at=ends_at,
                evidential=evidential,
                created_at=self._now(),
            )
            s.add(row)
            s.flush()
            payload: OperationCreatedPayload = {
                "event": "operation_created",
                "operation_id": row.id,
                "organisation": organisation,
                "jurisdiction": jurisdiction,
                "legal_basis": legal_basis,
                "authorisation_ref": authorisation_ref,
                "officer": officer,
                "starts_at": format_instant(starts_at),
                "ends_at": None if ends_at is None else format_instant(ends_at),
                "evidential": evidential,
            }
            self._append(s, EntryKind.OPERATION, None, payload)
            return OperationRecord.from_row(row)

        return self.store.write(_work)

    def find_or_create_operation(
        self,
        *,
        organisation: str,
        jurisdiction: str,
        legal_basis: str,
        authorisation_ref: str,
        officer: str,
        starts_at: datetime,
        ends_at: datetime | None = None,
        evidential: bool = True,
    ) -> OperationRecord:
        """The operation with this authorisation reference and these terms, created if new.

        A run configuration names its operation each time it starts; the same terms map to the
        same record. Changed terms under the same reference create a new operation (recorded in
        the ledger), so the record of what authorised earlier conversations never changes.
        """
        with self.store.session() as s:
            rows = (
                s.execute(
                    select(OperationRow)
                    .where(OperationRow.authorisation_ref == authorisation_ref)
                    .order_by(OperationRow.id.desc())
                )
                .scalars()
                .all()
            )
            for row in rows:
                rec = OperationRecord.from_row(row)
                if (
                    rec.organisation,
                    rec.jurisdiction,
                    rec.legal_basis,
                    rec.officer,
                    rec.starts_at,
                    rec.ends_at,
                    rec.evidential,
                ) == (
                    organisation,
                    jurisdiction,
                    legal_basis,
                    officer,
                    starts_at,
                    ends_at,
                    evidential,
                ):
                    return rec
        return self.create_operation(
            organisation=organisation,
            jurisdiction=jurisdiction,
            legal_basis=legal_basis,
            authorisation_ref=authorisation_ref,
            officer=officer,
            starts_at=starts_at,
            ends_at=ends_at,
            evidential=evidential,
        )

    def ensure_demo_operation(self) -> OperationRecord:
        """The built-in demonstration operation (``evidential=False``), created on first use."""
        with self.store.session() as s:
            row = s.execute(
                select(OperationRow)
                .where(
                    OperationRow.authorisation_ref == DEMO_AUTHORISATION_REF,
                    OperationRow.evidential.is_(False),
                )
                .order_by(OperationRow.id)
                .limit(1)
            ).scalar_one_or_none()
            if row is not None:
                return OperationRecord.from_row(row)
        return self.create_operation(
            organisation="Tutela demonstration",
            jurisdiction="none",
            legal_basis="Demonstration with synthetic contacts only; not evidence.",
            authorisation_ref=DEMO_AUTHORISATION_REF,
            officer="demo",
            starts_at=self._now(),
            evidential=False,
        )

    def get_operation(self, operation_id: int) -> OperationRecord:
        """One operation; ``NotFoundError`` if absent."""
        with self.store.session() as s:
            row = s.get(OperationRow, operation_id)
            if row is None:
                raise NotFoundError(f"operation {operation_id} does not exist")
            return OperationRecord.from_row(row)

    def has_account_conversations(self, *, platform: str, account: str, operation_id: int) -> bool:
        """True when ``operation_id`` holds a conversation of ``(platform, account)`` (an
        imported file is one account, so this tells whether it was imported already)."""
        with self.store.session() as s:
            found = s.execute(
                select(ConversationRow.id)
                .where(
                    ConversationRow.platform == platform,
                    ConversationRow.account == account,
                    ConversationRow.operation_id == operation_id,
                )
                .limit(1)
            ).first()
            return found is not None

    def open_conversation(
        self,
        *,
        operation_id: int,
        persona_id: str,
        platform: str,
        account: str,
        contact_id: int,
        lang: str,
        started_at: datetime,
        room: str | None = None,
        state: Mapping[str, Any] | None = None,
        provenance: Mapping[str, Any] | None = None,
    ) -> ConversationRecord:
        """Open a conversation (ledger: ``operation`` / ``conversation_opened``).

        ``provenance``: where the conversation came from when it was not held live (an imported
        file: its name, SHA-256 and format); kept in the ledger entry (so an evidence package
        proves it) and in ``state["provenance"]``. Live conversations leave it ``None`` and their
        ledger payload is unchanged.
        """
        _check_aware("started_at", started_at)

        def _work(s: Session) -> ConversationRecord:
            if s.get(OperationRow, operation_id) is None:
                raise NotFoundError(f"operation {operation_id} does not exist")
            contact = self._resolve_contact(s, contact_id)
            row = ConversationRow(
                operation_id=operation_id,
                persona_id=persona_id,
                platform=platform,
                account=account,
                contact_id=contact.id,
                room=room,
                lang=lang,
                started_at=started_at,
                ended_at=None,
                state=dict(state or {}) | ({"provenance": dict(provenance)} if provenance else {}),
            )
            s.add(row)
            s.flush()
            payload: ConversationOpenedPayload = {
                "event": "conversation_opened",
                "operation_id": operation_id,
                "persona_id": persona_id,
                "platform": platform,
                "account": account,
                "contact_id": contact.id,
                "room": room,
                "lang": lang,
                "started_at": format_instant(started_at),
            }
            if provenance:
                payload["provenance"] = dict(provenance)
            self._append(s, EntryKind.OPERATION, row.id, payload)
            return ConversationRecord.from_row(row)

        return self.store.write(_work)

    def end_conversation(
        self, conversation_id: int, *, ended_at: datetime, reason: str = ""
    ) -> ConversationRecord:
        """Mark a conversation ended (ledger: ``operation`` / ``conversation_ended``).
        Ending an already ended conversation changes nothing and appends nothing."""
        _check_aware("ended_at", ended_at)

        def _work(s: Session) -> ConversationRecord:
            row = self._conversation(s, conversation_id)
            if row.ended_at is None:
                row.ended_at = ended_at
                payload: ConversationEndedPayload = {
                    "event": "conversation_ended",
                    "ended_at": format_instant(ended_at),
                    "reason": reason,
                }
                self._append(s, EntryKind.OPERATION, conversation_id, payload)
            s.flush()
            return ConversationRecord.from_row(row)

        return self.store.write(_work)

    def save_state(self, conversation_id: int, state: Mapping[str, Any]) -> None:
        """Replace a conversation's resumable engine state (JSON object; not in the ledger)."""

        def _work(s: Session) -> None:
            self._conversation(s, conversation_id).state = dict(state)

        return self.store.write(_work)

    def conversation(self, conversation_id: int) -> ConversationRecord:
        """One conversation; ``NotFoundError`` if absent."""
        with self.store.session() as s:
            return ConversationRecord.from_row(self._conversation(s, conversation_id))

    def conversation_messages(self, conversation_id: int) -> list[MessageRecord]:
        """All messages of a conversation in ``seq`` order (to resume after a restart)."""
        with self.store.session() as s:
            rows = s.execute(
                select(MessageRow)
                .where(MessageRow.conversation_id == conversation_id)
                .order_by(MessageRow.seq)
            ).scalars()
            return [MessageRecord.from_row(r) for r in rows]

    def conversation_decisions(self, conversation_id: int) -> list[DecisionRecord]:
        """All decisions of a conversation in the order they were taken."""
        with self.store.session() as s:
            rows = s.execute(
                select(DecisionRow)
                .where(DecisionRow.conversation_id == conversation_id)
                .order_by(DecisionRow.id)
            ).scalars()
            return [DecisionRecord.from_row(r) for r in rows]

    def open_conversations(
        self, *, ended_since: datetime | None = None
    ) -> list[ConversationRecord]:
        """Conversations not yet ended, oldest first; with ``ended_since`` (aware UTC) also those
        that ended at or after it (a restart must remember a conversation still in its quiet
        period, e.g. just after a deterrence warning)."""
        if ended_since is not None:
            _check_aware("ended_since", ended_since)
        with self.store.session() as s:
            wanted: ColumnElement[bool] = ConversationRow.ended_at.is_(None)
            if ended_since is not None:
                wanted = wanted | (ConversationRow.ended_at >= ended_since)
            rows = s.execute(
                select(ConversationRow).where(wanted).order_by(ConversationRow.id)
            ).scalars()
            return [ConversationRecord.from_row(r) for r in rows]
