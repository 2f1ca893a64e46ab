"""Reads and the one write of ``tutela.evidence``: what a case covers in the ledger, its message
and operation rows as an evidence package writes them, and the ``export`` entry.

The store only fetches and records here (``docs/architecture.md``, store boundary): which
entries a package discloses, how it is laid out, signed and verified stay in
``tutela.evidence``. Rows come back as plain JSON-ready dicts, exactly the objects of the
package's ``messages.jsonl`` and ``operations.json`` (instants as ledger text,
``tutela.ledger.entry.format_instant``; wire bytes as base64).

Errors: ``NotFoundError`` (unknown case), ``InputError`` (a case without recorded
conversations, operations without their ledger entry, audit details that are not canonical
JSON), ``StoreError`` (database).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from tutela.errors import InputError
from tutela.ledger import (
    Checkpoint,
    EntryKind,
    ExportPayload,
    LedgerEntry,
    OperationCreatedPayload,
    Signer,
    format_instant,
)
from tutela.store import ledger
from tutela.store.engine import Store
from tutela.store.errors import NotFoundError, StoreError
from tutela.store.models import CaseRow, ConversationRow, LedgerEntryRow, MessageRow, OperationRow

if TYPE_CHECKING:
    from tutela.store.recorder import Recorder

__all__ = [
    "NOT_ANSWERED",
    "CaseScope",
    "ExportRecord",
    "case_scope",
    "message_rows",
    "operation_rows",
    "record_export",
]

NOT_ANSWERED = "not answered by design"
"""How a package and its report mark an inbound message stored with ``answer = false`` (the
engine's "never answer" choice; the ledger entry holds ``"answer": false`` and nothing more)."""


@dataclass(frozen=True, slots=True)
class CaseScope:
    """What one case covers in the ledger.

    ``conversations``/``operations``: ids, ascending. ``first_seq``: the earliest ledger entry
    that an export must include (the case's first conversation entry, or the ``operation_created``
    entry of one of its operations if earlier). ``operation_seqs``: operation id → seq of its
    ``operation_created`` entry. ``status``: the case's status when it was read.
    """

    case_id: int
    contact_id: int
    status: str
    conversations: tuple[int, ...]
    operations: tuple[int, ...]
    first_seq: int
    operation_seqs: dict[int, int]


@dataclass(frozen=True, slots=True)
class ExportRecord:
    """What :func:`record_export` committed: the ``export`` ledger entry and the checkpoint that
    signs it (``checkpoint.seq == entry.seq``)."""

    entry: LedgerEntry
    checkpoint: Checkpoint


def case_scope(store: Store, case_id: int) -> CaseScope:
    """The conversations, operations and first ledger entry of case ``case_id`` (one read
    session).

    Raises ``NotFoundError`` for an unknown case, ``InputError`` for a case without recorded
    conversations or with an operation that has no ``operation_created`` entry.
    """
    with store.session() as s:
        case = s.get(CaseRow, case_id)
        if case is None:
            raise NotFoundError(f"case {case_id} does not exist")
        contact_id, status = int(case.contact_id), str(case.status)
        convs = s.execute(
            select(ConversationRow.id, ConversationRow.operation_id)
            .where(ConversationRow.contact_id == contact_id)
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
        op_seqs = _operation_created_seqs(s, op_ids)
    if not conv_ids or first is None:
        raise InputError(f"case {case_id} has no recorded conversations to export")
    missing = sorted(set(op_ids) - set(op_seqs))
    if missing:
        raise InputError(f"case {case_id}: operations {missing} have no ledger entry")
    return CaseScope(
        case_id=case_id,
        contact_id=contact_id,
        status=status,
        conversations=conv_ids,
        operations=op_ids,
        first_seq=min([first, *op_seqs.values()]),
        operation_seqs=op_seqs,
    )


def _operation_created_seqs(s: Session, op_ids: Sequence[int]) -> dict[int, int]:
    """Operation id → seq of its first ``operation_created`` entry, for ``op_ids``."""
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
        if payload.get("event") != "operation_created":
            continue
        op = cast(OperationCreatedPayload, payload).get("operation_id")
        if op is not None and op in op_ids:
            op_seqs.setdefault(int(op), int(seq))
    return op_seqs


def _message_row(m: MessageRow) -> dict[str, Any]:
    purged = m.purged_at is not None
    row: dict[str, Any] = {
        "conversation": m.conversation_id,
        "message_seq": m.seq,
        "direction": m.direction,
        "contact_line": m.contact_line,
        "author": m.author,
        "text": None if purged else m.text,
        "wire": None if m.wire is None or purged else base64.b64encode(m.wire).decode("ascii"),
        "at": format_instant(m.at),
        "ledger_seq": m.ledger_seq,
        "purged": purged,
    }
    if m.direction == "in":
        row["sent_at"] = None if m.sent_at is None else format_instant(m.sent_at)
        if m.answer is False:
            row["answer"] = False
            row["answer_note"] = NOT_ANSWERED
    return row


def message_rows(
    store: Store, conversations: Iterable[int], *, max_seq: int
) -> list[dict[str, Any]]:
    """The messages of ``conversations`` recorded by ledger entries up to ``max_seq`` (later ones
    belong to a later export) as package rows (``messages.jsonl``), in order of conversation and
    message number.

    Shape: ``{conversation, message_seq, direction, contact_line, author, text, wire (base64 or
    None), at, ledger_seq, purged}``; inbound rows also ``sent_at``: the platform's own send stamp
    (ledger text) or ``None`` when it stated none (``at`` is when Tutela received the message),
    and, only for a message stored with ``answer = false`` (its ledger entry holds ``"answer":
    false``), ``answer: false`` with ``answer_note: "not answered by design"`` (all the ledger
    says). A purged row's ``text`` and ``wire`` are ``None`` whatever the table holds (the purge
    cleared them; anything there now was written after it and is not exported).
    """
    ids = list(conversations)
    with store.session() as s:
        rows = s.execute(
            select(MessageRow)
            .where(MessageRow.conversation_id.in_(ids), MessageRow.ledger_seq <= max_seq)
            .order_by(MessageRow.conversation_id, MessageRow.seq)
        ).scalars()
        return [_message_row(m) for m in rows]


def operation_rows(store: Store, operation_seqs: dict[int, int]) -> list[dict[str, Any]]:
    """The operation records (``operations.json``) for ``{operation id: ledger seq}``, by id.

    Shape: ``{id, organisation, jurisdiction, legal_basis, authorisation_ref, officer,
    starts_at, ends_at, evidential, ledger_seq}`` with instants as ledger text.
    """
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


def record_export(
    recorder: Recorder,
    *,
    signer: Signer,
    case_id: int,
    conversations: Sequence[int],
    operations: Sequence[int],
    actor: str,
    draft: bool = False,
    package_name: str = "",
) -> ExportRecord:
    """Record the export of case ``case_id`` and sign it, in ONE transaction of ``recorder``.

    In order, all at one instant of the recorder's clock: for a ``draft`` an ``export_draft``
    audit row (``target "case:<id>"``, details ``{case_id, draft: true, out: package_name}``)
    with its ``audit`` entry; the ``export`` entry ``{case_id, conversations, operations, actor}``
    (plus ``draft: true`` for a draft); a checkpoint over it signed by ``signer`` (the ledger's
    key). No automatic checkpoint is signed in between (the recorder's ``checkpoint_every`` does
    not apply), so the checkpoint signs exactly the export entry whatever else is being recorded
    concurrently. Raises ``InputError`` for ids or an actor that are not canonical JSON,
    ``StoreError`` on a database error (nothing is written then).
    """
    from tutela.store.recorder import Recorder

    payload: ExportPayload = {
        "case_id": case_id,
        "conversations": list(conversations),
        "operations": list(operations),
        "actor": actor,
    }
    if draft:
        payload["draft"] = True

    def _work(s: Session) -> ExportRecord:
        now: datetime = recorder._now()
        # the recorder's store and clock, frozen at ``now`` and without automatic checkpoints
        at_now = Recorder(recorder.store, checkpoint_every=0, clock=lambda: now)
        if draft:
            details = {"case_id": case_id, "draft": True, "out": package_name}
            at_now._audit(s, actor, "export_draft", f"case:{case_id}", details)
        entry = at_now._append(s, EntryKind.EXPORT, None, payload)
        cp = ledger.sign_head(s, signer, now)
        if cp is None or cp.seq != entry.seq:  # pragma: no cover - the head is the entry
            raise StoreError(f"the checkpoint does not sign the export entry {entry.seq}")
        return ExportRecord(entry=entry, checkpoint=cp)

    return recorder.store.write(_work)
