"""Operator takeover: an analyst writes as the persona from the dashboard.

The dashboard (``tutela serve``) and the personas (``tutela run``) are separate processes, so the
queue lives in the store (table ``operator_messages``). Only text the outgoing guard released with
``origin="operator"`` is queued, and the engine releases it through its own guard again before
sending (a second check, in the process that owns the connector). Every queued and every sent text
is audited; the sent text is recorded like any persona message, with origin ``human:<operator>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update

from tutela.errors import SafetyError
from tutela.persona import GuardedText
from tutela.store import Store
from tutela.store.models import OperatorMessageRow

__all__ = ["OperatorOutbox", "QueuedText"]


@dataclass(frozen=True, slots=True)
class QueuedText:
    """One operator text waiting to be sent in ``conversation_id``."""

    id: int
    conversation_id: int
    text: str
    operator: str
    queued_at: datetime


def _queued(row: OperatorMessageRow) -> QueuedText:
    return QueuedText(row.id, row.conversation_id, row.text, row.operator, row.queued_at)


class OperatorOutbox:
    """FIFO of guard-released operator texts per conversation, kept in the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def put(self, conversation_id: int, text: GuardedText, operator: str) -> QueuedText:
        """Queue a released text; ``SafetyError`` unless it is an intact operator
        ``GuardedText``."""
        if not isinstance(text, GuardedText) or not text.is_intact() or text.origin != "operator":
            raise SafetyError("only texts the outgoing guard released for an operator are queued")

        def work(s):
            row = OperatorMessageRow(
                conversation_id=conversation_id,
                text=text.text,
                operator=operator,
                status="queued",
                queued_at=datetime.now(UTC),
            )
            s.add(row)
            s.flush()
            return _queued(row)

        return self.store.write(work)

    def pending(self, conversation_id: int | None = None) -> list[QueuedText]:
        """Queued texts (of one conversation, if given), oldest first."""
        q = select(OperatorMessageRow).where(OperatorMessageRow.status == "queued")
        if conversation_id is not None:
            q = q.where(OperatorMessageRow.conversation_id == conversation_id)
        with self.store.session() as s:
            return [_queued(r) for r in s.execute(q.order_by(OperatorMessageRow.id)).scalars()]

    def take(self, conversation_ids: list[int]) -> list[QueuedText]:
        """Mark the queued texts of these conversations taken and return them, oldest first."""
        if not conversation_ids:
            return []

        def work(s):
            rows = (
                s.execute(
                    select(OperatorMessageRow)
                    .where(
                        OperatorMessageRow.status == "queued",
                        OperatorMessageRow.conversation_id.in_(conversation_ids),
                    )
                    .order_by(OperatorMessageRow.id)
                )
                .scalars()
                .all()
            )
            if rows:
                s.execute(
                    update(OperatorMessageRow)
                    .where(OperatorMessageRow.id.in_([r.id for r in rows]))
                    .values(status="taken", taken_at=datetime.now(UTC))
                )
            return [_queued(r) for r in rows]

        return self.store.write(work)

    def __len__(self) -> int:
        return len(self.pending())
