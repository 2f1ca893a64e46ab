"""Ledger rows in the database: appending inside a write transaction, reading, and the witness
file. Verification is in :mod:`tutela.store.ledger_verify`.

The chain is global (one sequence for the whole store). ``append`` must run inside a write
transaction (``Store.write`` or ``Store.write_session``): it locks the ``ledger_head`` row,
builds the next ``LedgerEntry``, inserts it and advances the head in the caller's transaction, so
the entry commits or rolls back together with the row it records. A duplicate ``seq`` or
``entry_hash`` violates a unique key and fails the transaction; rows cannot be updated or deleted
(triggers).

Outside anchor (the *witness*): every checkpoint, once its transaction has committed, is also
appended as one canonical JSON line to an append-only file outside the database
(``witness_path``): beside a SQLite file ``<file>.checkpoints.jsonl``; for another database
``<user data dir>/witness/<dialect>-<sha256 of the URL without password, 16 hex>.jsonl``;
``TUTELA_LEDGER_WITNESS`` names another file (a different disk or host mount). The file is created
``0600`` (its folder ``0700``). ``verify_ledger`` checks that every witnessed checkpoint is still
in the database with the same hash, so deleting the last entries together with their checkpoints
(triggers dropped and recreated) is detected. With ``TUTELA_TSA_URL`` set, the witnessed
checkpoints are also RFC 3161 time-stamped on a schedule (``TUTELA_TSA_EVERY`` checkpoints,
default 1, or ``TUTELA_TSA_INTERVAL`` seconds, whichever comes first; the reply is stored in the
witness as a ``timestamp`` line), which proves to a third party that the ledger reached that
checkpoint no later than the TSA's time. Whoever can write both the database and the witness file
can still truncate both; put the witness where the database's writers cannot rewrite it.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Final, cast

from sqlalchemy import Table, bindparam, event, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from tutela.ledger import (
    Checkpoint,
    EntryKind,
    LedgerEntry,
    Signer,
    TamperError,
    canonical_json,
    sha256_hex,
)
from tutela.store.engine import Store
from tutela.store.models import CheckpointRow, LedgerEntryRow, LedgerHeadRow

# ``__table__`` is typed as any FromClause; these declarative models each map one Table.
_LEDGER = cast(Table, LedgerEntryRow.__table__)
_HEAD = cast(Table, LedgerHeadRow.__table__)
_CHECKPOINTS = cast(Table, CheckpointRow.__table__)
# Statements built once: per-call construction dominates the cost of a write otherwise.
_HEAD_FOR_UPDATE = select(_HEAD.c.seq, _HEAD.c.entry_hash).where(_HEAD.c.id == 1).with_for_update()
_INSERT_ENTRY = _LEDGER.insert()
_UPDATE_HEAD = (
    _HEAD.update()
    .where(_HEAD.c.id == 1)
    .values(seq=bindparam("new_seq"), entry_hash=bindparam("new_hash"))
)

__all__ = [
    "KEY_ROTATED",
    "append",
    "iter_checkpoints",
    "iter_ledger",
    "read_witness",
    "sign_head",
    "witness_path",
]

log = logging.getLogger(__name__)
# payload "event" of the ``operation`` entry recording a key rotation (``KeyRotatedPayload``)
KEY_ROTATED: Final = "key_rotated"
WITNESS_ENV = "TUTELA_LEDGER_WITNESS"


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
        _CHECKPOINTS.insert().values(
            seq=cp.seq,
            entry_hash=cp.entry_hash,
            signature=cp.signature,
            key_fingerprint=cp.key_fingerprint,
            at=cp.at,
        )
    )
    path = witness_path(s.get_bind().engine.url)
    if path is not None:  # written to the witness once the transaction has committed
        trans = s.get_nested_transaction() or s.get_transaction()
        s.info.setdefault(_PENDING, []).append((trans, cp, path))


# -- the witness file ------------------------------------------------------------------------
_PENDING = "tutela.ledger.witness"
_witness_lock = threading.Lock()


def witness_path(url: str | URL) -> Path | None:
    """The witness file of the database at ``url`` (module docstring); ``None`` for an in-memory
    SQLite database. ``TUTELA_LEDGER_WITNESS`` overrides the default (empty: no witness)."""
    env = os.environ.get(WITNESS_ENV)
    if env is not None:
        return Path(env).expanduser() if env.strip() else None
    u = make_url(url) if isinstance(url, str) else url
    if u.get_backend_name() == "sqlite":
        db = u.database or ""
        if not db or db == ":memory:" or db.startswith("file:"):
            return None
        return Path(db).with_name(Path(db).name + ".checkpoints.jsonl")
    from tutela.private import data_dir

    ident = sha256_hex(u.set(password=None).render_as_string(hide_password=False).encode())
    return data_dir() / "witness" / f"{u.get_backend_name()}-{ident[:16]}.jsonl"


def _within(trans: Any, ancestor: Any) -> bool:
    while trans is not None:
        if trans is ancestor:
            return True
        trans = trans.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(s: Session, previous: Any) -> None:
    pending = s.info.get(_PENDING)
    if pending:
        pending[:] = [p for p in pending if not _within(p[0], previous)]


@event.listens_for(Session, "after_rollback")
def _drop_all(s: Session) -> None:
    s.info.pop(_PENDING, None)


@event.listens_for(Session, "after_commit")
def _witness_committed(s: Session) -> None:
    if s.in_nested_transaction():  # a savepoint released: its checkpoints are not durable yet
        return
    pending = s.info.pop(_PENDING, None)
    for _trans, cp, path in pending or ():
        try:
            _append_witness(path, {"type": "checkpoint", **cp.to_dict()})
        except OSError as e:  # the commit stands; a missing witness line weakens, not breaks
            log.error("cannot write ledger witness %s: %s", path, e)
            continue
        _anchor.witnessed(path, cp)


def _append_witness(path: Path, record: Mapping[str, Any]) -> None:
    """Append one line (``O_APPEND``, fsync) to the witness, creating it ``0600``."""
    from tutela.private import FILE_MODE, private_folder

    line = canonical_json(record) + b"\n"
    with _witness_lock:
        if not path.parent.exists():
            private_folder(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)


def read_witness(path: Path) -> tuple[list[Checkpoint], dict[int, bytes]]:
    """The checkpoints and RFC 3161 replies (by checkpoint seq) recorded in a witness file.

    Missing file: ``([], {})``. Raises ``TamperError`` naming the line for a line that does not
    parse (the file is only ever appended to by Tutela; a torn last line after a crash is
    ignored)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], {}
    except OSError as e:
        raise TamperError(f"witness {path} unreadable", expected="readable", actual=str(e)) from e
    cps: list[Checkpoint] = []
    stamps: dict[int, bytes] = {}
    lines = data.split(b"\n")
    for i, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
            kind = obj.pop("type")
            if kind == "checkpoint":
                cps.append(Checkpoint(**obj))
            elif kind == "timestamp":
                stamps[int(obj["seq"])] = base64.b64decode(obj["tsr"], validate=True)
            else:
                raise ValueError(f"unknown line type {kind!r}")
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            if i == len(lines) and not data.endswith(b"\n"):
                break  # torn final write
            raise TamperError(
                f"witness {path} line {i} is malformed", expected="a witness record", actual=str(e)
            ) from e
    return cps, stamps


def _transport_for(url: str) -> Callable[[bytes], bytes]:
    """The RFC 3161 transport of the anchoring thread (HTTP POST to ``url``)."""
    from tutela.ledger.timestamp import http_transport

    return http_transport(url)


class _Anchor:
    """RFC 3161 stamps of witnessed checkpoints on a schedule, in a background thread so that no
    write transaction waits for the TSA (module docstring; ``TUTELA_TSA_*``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._since = 0
        self._last = 0.0
        self._queue: list[tuple[Path, Checkpoint]] = []
        self._worker: threading.Thread | None = None

    def witnessed(self, path: Path, cp: Checkpoint) -> None:
        url = os.environ.get("TUTELA_TSA_URL")
        if not url:
            return
        try:
            every = max(1, int(os.environ.get("TUTELA_TSA_EVERY", "1")))
            interval = float(os.environ.get("TUTELA_TSA_INTERVAL", "inf"))
        except ValueError:
            log.error("TUTELA_TSA_EVERY / TUTELA_TSA_INTERVAL must be numbers")
            return
        with self._lock:
            self._since += 1
            now = time.monotonic()
            if self._since < every and now - self._last < interval:
                return
            self._since, self._last = 0, now
            self._queue.append((path, cp))
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._run, args=(url,), name="tutela-tsa", daemon=False
                )
                self._worker.start()

    def _run(self, url: str) -> None:
        from tutela.errors import TutelaError
        from tutela.ledger.timestamp import request_timestamp

        transport = _transport_for(url)
        while True:
            with self._lock:
                if not self._queue:
                    return
                path, cp = self._queue.pop(0)
            try:
                tsr = request_timestamp(canonical_json(cp.to_dict()), transport)
                _append_witness(
                    path,
                    {
                        "type": "timestamp",
                        "seq": cp.seq,
                        "entry_hash": cp.entry_hash,
                        "tsr": base64.b64encode(tsr).decode("ascii"),
                    },
                )
            except (TutelaError, OSError) as e:
                log.error("RFC 3161 anchoring of checkpoint %s failed: %s", cp.seq, e)

    def join(self, timeout: float | None = None) -> None:
        """Wait for queued stamps (tests, orderly shutdown)."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)


_anchor = _Anchor()


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
