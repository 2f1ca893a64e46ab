"""Ledger rows in the database: appending inside a write transaction, reading, verifying.

The chain is global (one sequence for the whole store). ``append`` must run inside a write
transaction (``Store.write`` or ``Store.write_session``): it locks the ``ledger_head`` row,
builds the next ``LedgerEntry``, inserts it and advances the head in the caller's transaction, so
the entry commits or rolls back together with the row it records. A duplicate ``seq`` or
``entry_hash`` violates a unique key and fails the transaction; rows cannot be updated or deleted
(triggers).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from tutela.evidence import (
    Checkpoint,
    EntryKind,
    LedgerEntry,
    Signer,
    TamperError,
    sha256_hex,
    verify_chain,
)
from tutela.store.engine import Store
from tutela.store.models import CheckpointRow, LedgerEntryRow, LedgerHeadRow, MessageRow

_LEDGER = LedgerEntryRow.__table__
_HEAD = LedgerHeadRow.__table__
# Statements built once: per-call construction dominates the cost of a write otherwise.
_HEAD_FOR_UPDATE = select(_HEAD.c.seq, _HEAD.c.entry_hash).where(_HEAD.c.id == 1).with_for_update()
_INSERT_ENTRY = _LEDGER.insert()
_UPDATE_HEAD = (
    _HEAD.update()
    .where(_HEAD.c.id == 1)
    .values(seq=bindparam("new_seq"), entry_hash=bindparam("new_hash"))
)

__all__ = ["append", "iter_checkpoints", "iter_ledger", "sign_head", "verify_store"]


def _row_to_entry(row: LedgerEntryRow) -> LedgerEntry:
    return LedgerEntry(
        seq=row.seq,
        prev_hash=row.prev_hash,
        at=row.at,
        kind=EntryKind(row.kind),
        conversation=row.conversation,
        payload=json.loads(row.payload),
        payload_sha256=row.payload_sha256,
        entry_hash=row.entry_hash,
    )


def _row_to_checkpoint(row: CheckpointRow) -> Checkpoint:
    return Checkpoint(
        seq=row.seq,
        entry_hash=row.entry_hash,
        signature=row.signature,
        key_fingerprint=row.key_fingerprint,
        at=row.at,
    )


def append(
    s: Session,
    *,
    kind: EntryKind,
    conversation: int | None,
    payload: Mapping[str, Any],
    at: datetime,
    signer: Signer | None = None,
    checkpoint_every: int = 0,
) -> LedgerEntry:
    """Append one entry in the session's (write) transaction and return it.

    Signs a checkpoint in the same transaction when ``signer`` is given and ``seq`` is a multiple
    of ``checkpoint_every`` (> 0). Raises ``InputError`` for a payload that cannot be hashed.
    """
    head_seq, head_hash = s.connection().execute(_HEAD_FOR_UPDATE).one()
    entry = LedgerEntry.create(
        seq=head_seq + 1,
        prev_hash=head_hash,
        at=at,
        kind=kind,
        conversation=conversation,
        payload=payload,
    )
    # Core statements: this is the hot path of every recorded message (no unit-of-work cost).
    s.connection().execute(
        _INSERT_ENTRY,
        {
            "seq": entry.seq,
            "prev_hash": entry.prev_hash,
            "at": entry.at,
            "kind": entry.kind.value,
            "conversation": entry.conversation,
            "payload": entry.payload_json() or "",
            "payload_sha256": entry.payload_sha256,
            "entry_hash": entry.entry_hash,
        },
    )
    s.connection().execute(_UPDATE_HEAD, {"new_seq": entry.seq, "new_hash": entry.entry_hash})
    if signer is not None and checkpoint_every > 0 and entry.seq % checkpoint_every == 0:
        _add_checkpoint(s, signer.sign_checkpoint(entry.seq, entry.entry_hash, at))
    return entry


def _add_checkpoint(s: Session, cp: Checkpoint) -> None:
    s.execute(
        CheckpointRow.__table__.insert().values(
            seq=cp.seq,
            entry_hash=cp.entry_hash,
            signature=cp.signature,
            key_fingerprint=cp.key_fingerprint,
            at=cp.at,
        )
    )


def sign_head(s: Session, signer: Signer, at: datetime) -> Checkpoint | None:
    """Sign the current head in the session's write transaction; ``None`` if the ledger is empty."""
    head_seq, head_hash = s.connection().execute(_HEAD_FOR_UPDATE).one()
    if head_seq == 0:
        return None
    cp = signer.sign_checkpoint(head_seq, head_hash, at)
    _add_checkpoint(s, cp)
    return cp


def iter_ledger(
    store: Store, *, start: int = 1, end: int | None = None, batch: int = 1000
) -> Iterator[LedgerEntry]:
    """Entries with ``start <= seq <= end`` (``end=None``: to the head), ascending, in batches."""
    nxt = start
    while end is None or nxt <= end:
        with store.session() as s:
            q = select(LedgerEntryRow).where(LedgerEntryRow.seq >= nxt)
            if end is not None:
                q = q.where(LedgerEntryRow.seq <= end)
            rows = s.execute(q.order_by(LedgerEntryRow.seq).limit(batch)).scalars().all()
            entries = [_row_to_entry(r) for r in rows]
        yield from entries
        if len(entries) < batch:
            return
        nxt = entries[-1].seq + 1


def iter_checkpoints(store: Store) -> list[Checkpoint]:
    """All checkpoints, ascending by ``seq``."""
    with store.session() as s:
        rows = s.execute(select(CheckpointRow).order_by(CheckpointRow.seq, CheckpointRow.id))
        return [_row_to_checkpoint(r) for r in rows.scalars()]


def verify_store(
    store: Store,
    public_key: Ed25519PublicKey | bytes | str,
    *,
    require_signed_head: bool = False,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Verify the whole ledger of ``store`` and every stored message against it.

    Checks the chain and checkpoints (``verify_chain``), then that each message row's text, wire
    bytes and author hash to the values its ledger entry holds (purged rows are skipped: their
    ``retention_purge`` tombstone is in the chain). Returns the number of entries verified; raises
    ``TamperError`` on the first disagreement.
    """
    count = 0

    def counted() -> Iterator[LedgerEntry]:
        nonlocal count
        for e in iter_ledger(store):
            count += 1
            if progress is not None and count % 10000 == 0:
                progress(count)
            yield e

    verify_chain(
        counted(), iter_checkpoints(store), public_key, require_signed_head=require_signed_head
    )
    with store.session() as s:
        rows = s.execute(
            select(MessageRow, LedgerEntryRow.payload)
            .join(LedgerEntryRow, LedgerEntryRow.seq == MessageRow.ledger_seq)
            .where(MessageRow.purged_at.is_(None))
        )
        for msg, payload_text in rows:
            payload = json.loads(payload_text)
            checks = {
                "text_sha256": sha256_hex((msg.text or "").encode("utf-8")),
                "author_sha256": sha256_hex(msg.author.encode("utf-8")),
                "message_seq": msg.seq,
            }
            if msg.wire is not None:
                checks["wire_sha256"] = sha256_hex(msg.wire)
            for name, actual in checks.items():
                if payload.get(name) != actual:
                    raise TamperError(
                        f"message {msg.id} {name}",
                        seq=msg.ledger_seq,
                        expected=payload.get(name),
                        actual=actual,
                    )
    return count
