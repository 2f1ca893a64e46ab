"""Reads from the store that an evidence export needs (read-only; the export entry is appended
by ``package.export_package`` through ``Recorder``).

``tutela.store`` imports ``tutela.evidence``, so the store is imported inside the functions.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tutela.errors import InputError
from tutela.ledger.entry import EntryKind, format_instant

if TYPE_CHECKING:
    from tutela.store import Store

__all__ = ["NOT_ANSWERED", "CaseScope", "case_scope", "message_rows", "operation_rows"]

NOT_ANSWERED = "not answered by design"
"""How a package and its report mark an inbound message stored with ``answer = false`` (the
engine's "never answer" choice; the ledger entry holds ``"answer": false`` and nothing more)."""


@dataclass(frozen=True, slots=True)
class CaseScope:
    """What one case covers in the ledger.

    ``conversations``/``operations``: ids, ascending. ``first_seq``: the earliest ledger entry
    that an export must include (the case's first conversation entry, or the ``operation_created``
    entry of one of its operations if earlier). ``operation_seqs``: operation id → seq of its
    ``operation_created`` entry.
    """

    case_id: int
    contact_id: int
    status: str
    conversations: tuple[int, ...]
    operations: tuple[int, ...]
    first_seq: int
    operation_seqs: dict[int, int]


def case_scope(store: Store, case_id: int) -> CaseScope:
    """The conversations, operations and first ledger entry of case ``case_id``.

    Raises ``NotFoundError`` for an unknown case, ``InputError`` for a case without recorded
    conversations.
    """
    from sqlalchemy import select

    from tutela.store.models import CaseRow, ConversationRow, LedgerEntryRow
    from tutela.store.recorder import Recorder

    case = Recorder(store, checkpoint_every=0).get_case(case_id)
    with store.session() as s:
        convs = s.execute(
            select(ConversationRow.id, ConversationRow.operation_id)
            .where(ConversationRow.contact_id == case.contact_id)
            .order_by(ConversationRow.id)
        ).all()
        conv_ids = tuple(int(c.id) for c in convs)
        op_ids = tuple(sorted({int(c.operation_id) for c in convs}))
        first = s.execute(
            select(LedgerEntryRow.seq)
            .where(LedgerEntryRow.conversation.in_(conv_ids))
            .order_by(LedgerEntryRow.seq)
            .limit(1)
        ).scalar_one_or_none()
        # operation_created entries have no conversation; there are few operations
        op_seqs: dict[int, int] = {}
        rows = s.execute(
            select(LedgerEntryRow.seq, LedgerEntryRow.payload).where(
                LedgerEntryRow.kind == EntryKind.OPERATION.value,
                LedgerEntryRow.conversation.is_(None),
            )
        )
        for seq, payload_text in rows:
            payload = json.loads(payload_text)
            op = payload.get("operation_id")
            if payload.get("event") == "operation_created" and op in op_ids:
                op_seqs.setdefault(int(op), int(seq))
        status = s.get(CaseRow, case_id).status  # type: ignore[union-attr]
    if not conv_ids or first is None:
        raise InputError(f"case {case_id} has no recorded conversations to export")
    missing = sorted(set(op_ids) - set(op_seqs))
    if missing:
        raise InputError(f"case {case_id}: operations {missing} have no ledger entry")
    return CaseScope(
        case_id=case_id,
        contact_id=case.contact_id,
        status=status,
        conversations=conv_ids,
        operations=op_ids,
        first_seq=min([first, *op_seqs.values()]),
        operation_seqs=op_seqs,
    )


def message_rows(
    store: Store, conversations: Iterable[int], *, max_seq: int
) -> list[dict[str, Any]]:
    """The messages of ``conversations`` recorded by ledger entries up to ``max_seq`` (later ones
    belong to a later export) as package rows (``messages.jsonl``), in order of conversation and
    message number. Shape: ``{conversation, message_seq, direction,
    contact_line, author, text, wire (base64 or None), at, ledger_seq, purged}``; inbound rows
    also ``sent_at``: the platform's own send stamp (ledger text) or ``None`` when it stated none
    (``at`` is when Tutela received the message), and, only for a message stored with
    ``answer = false`` (its ledger entry holds ``"answer": false``), ``answer: false`` with
    ``answer_note: "not answered by design"`` (all the ledger says). A purged row's ``text`` and
    ``wire`` are ``None`` whatever the table holds (the purge cleared them; anything there now
    was written after it and is not exported)."""
    from sqlalchemy import select

    from tutela.store.models import MessageRow

    ids = list(conversations)
    with store.session() as s:
        rows = s.execute(
            select(MessageRow)
            .where(MessageRow.conversation_id.in_(ids), MessageRow.ledger_seq <= max_seq)
            .order_by(MessageRow.conversation_id, MessageRow.seq)
        ).scalars()
        return [
            {
                "conversation": m.conversation_id,
                "message_seq": m.seq,
                "direction": m.direction,
                "contact_line": m.contact_line,
                "author": m.author,
                "text": None if m.purged_at is not None else m.text,
                "wire": (
                    None
                    if m.wire is None or m.purged_at is not None
                    else base64.b64encode(m.wire).decode("ascii")
                ),
                "at": format_instant(m.at),
                "ledger_seq": m.ledger_seq,
                "purged": m.purged_at is not None,
                **(
                    {"sent_at": None if m.sent_at is None else format_instant(m.sent_at)}
                    if m.direction == "in"
                    else {}
                ),
                **(
                    {"answer": False, "answer_note": NOT_ANSWERED}
                    if m.direction == "in" and m.answer is False
                    else {}
                ),
            }
            for m in rows
        ]


def operation_rows(store: Store, operation_seqs: dict[int, int]) -> list[dict[str, Any]]:
    """The operation records (``operations.json``) for ``{operation id: ledger seq}``, by id.

    Shape: ``{id, organisation, jurisdiction, legal_basis, authorisation_ref, officer,
    starts_at, ends_at, evidential, ledger_seq}`` with instants as ledger text.
    """
    from sqlalchemy import select

    from tutela.store.models import OperationRow

    with store.session() as s:
        rows = s.execute(
            select(OperationRow)
            .where(OperationRow.id.in_(list(operation_seqs)))
            .order_by(OperationRow.id)
        ).scalars()
        return [
            {
                "id": r.id,
                "organisation": r.organisation,
                "jurisdiction": r.jurisdiction,
                "legal_basis": r.legal_basis,
                "authorisation_ref": r.authorisation_ref,
                "officer": r.officer,
                "starts_at": format_instant(r.starts_at),
                "ends_at": None if r.ends_at is None else format_instant(r.ends_at),
                "evidential": bool(r.evidential),
                "ledger_seq": operation_seqs[r.id],
            }
            for r in rows
        ]
