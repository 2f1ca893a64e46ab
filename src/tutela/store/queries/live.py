"""The operator-takeover queue (table ``operator_messages``) for ``tutela.live.takeover``.

An analyst's takeover text is queued by the dashboard process and taken by the process that runs
the persona (``docs/architecture.md``, live path). The queue is not ledgered: the dashboard
audits each queued text and the engine records each sent text (ledger ``outbound``) and audits
it; these functions only move rows from ``queued`` to ``taken``. Times are aware UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tutela.store.engine import Store
from tutela.store.models import OperatorMessageRow

__all__ = ["QueuedText", "pending_operator_texts", "queue_operator_text", "take_operator_texts"]


@dataclass(frozen=True, slots=True)
class QueuedText:
    """One operator text waiting to be sent in ``conversation_id``.

    ``id``: the queue row's id; ``text``: exactly what the outgoing guard released;
    ``operator``: the analyst's user name; ``queued_at``: when it was queued (aware UTC).
    """

    id: int
    conversation_id: int
    text: str
    operator: str
    queued_at: datetime

    @classmethod
    def from_row(cls, row: OperatorMessageRow) -> QueuedText:
        """The record of one ``OperatorMessageRow`` (detached: safe after the session closes)."""
        return cls(row.id, row.conversation_id, row.text, row.operator, row.queued_at)


def queue_operator_text(store: Store, conversation_id: int, text: str, operator: str) -> QueuedText:
    """Queue ``text`` (already released by the outgoing guard) for ``conversation_id``, status
    ``queued``, queued now; one committed write. Raises ``StoreError`` on a database error
    (an unknown conversation where foreign keys are enforced)."""

    def work(s: Session) -> QueuedText:
        row = OperatorMessageRow(
            conversation_id=conversation_id,
            text=text,
            operator=operator,
            status="queued",
            queued_at=datetime.now(UTC),
        )
        s.add(row)
        s.flush()
        return QueuedText.from_row(row)

    return store.write(work)


def pending_operator_texts(store: Store, conversation_id: int | None = None) -> list[QueuedText]:
    """The queued (not yet taken) texts, of one conversation if given, oldest first."""
    q = select(OperatorMessageRow).where(OperatorMessageRow.status == "queued")
    if conversation_id is not None:
        q = q.where(OperatorMessageRow.conversation_id == conversation_id)
    with store.session() as s:
        return [
            QueuedText.from_row(r) for r in s.execute(q.order_by(OperatorMessageRow.id)).scalars()
        ]


def take_operator_texts(store: Store, conversation_ids: Sequence[int]) -> list[QueuedText]:
    """Mark the queued texts of ``conversation_ids`` ``taken`` (taken now) and return them,
    oldest first, in one committed write; ``[]`` (no write) for no ids. A text is taken once:
    a second call does not return it again."""
    ids = list(conversation_ids)
    if not ids:
        return []

    def work(s: Session) -> list[QueuedText]:
        rows = (
            s.execute(
                select(OperatorMessageRow)
                .where(
                    OperatorMessageRow.status == "queued",
                    OperatorMessageRow.conversation_id.in_(ids),
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
        return [QueuedText.from_row(r) for r in rows]

    return store.write(work)
