"""Ledger rows in the database: appending inside a write transaction, reading, verifying.

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
import hmac
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import bindparam, event, func, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from tutela.errors import InputError
from tutela.evidence import (
    Checkpoint,
    EntryKind,
    LedgerEntry,
    Signer,
    TamperError,
    canonical_json,
    fingerprint,
    load_public_key,
    sha256_hex,
    verify_chain,
)
from tutela.evidence.signing import verify_checkpoint_signature, verify_handover
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

__all__ = [
    "KEY_ROTATED",
    "LedgerReport",
    "append",
    "iter_checkpoints",
    "iter_ledger",
    "read_witness",
    "rotation_fingerprints",
    "sign_head",
    "verify_ledger",
    "verify_store",
    "witness_path",
]

log = logging.getLogger(__name__)
KEY_ROTATED = "key_rotated"  # payload "event" of the ``operation`` entry recording a key rotation
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
        CheckpointRow.__table__.insert().values(
            seq=cp.seq,
            entry_hash=cp.entry_hash,
            signature=cp.signature,
            key_fingerprint=cp.key_fingerprint,
            at=cp.at,
        )
    )
    path = witness_path(s.get_bind().url)
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
    from tutela.private import private_folder

    line = canonical_json(record) + b"\n"
    with _witness_lock:
        if not path.parent.exists():
            private_folder(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
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
    from tutela.evidence.timestamp import http_transport

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
        from tutela.evidence.timestamp import request_timestamp

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


def verify_store(
    store: Store,
    public_key: Ed25519PublicKey | bytes | str,
    *,
    require_signed_head: bool = False,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Verify the whole ledger of ``store`` and every stored message against it.

    ``verify_ledger`` with ``public_key`` as the one trusted key (and the keys its rotation
    entries link to it). Returns the number of entries verified; raises ``TamperError`` on the
    first disagreement.
    """
    report = verify_ledger(
        store, [public_key], require_signed_head=require_signed_head, progress=progress
    )
    return report.entries


def rotation_fingerprints(store: Store) -> list[str]:
    """Fingerprints named by the ledger's ``key_rotated`` entries (old and new), in ledger order
    (not verified here: ``verify_ledger`` checks the handover signatures)."""
    out: list[str] = []
    with store.session() as s:
        rows = s.execute(
            select(LedgerEntryRow.payload)
            .where(
                LedgerEntryRow.kind == EntryKind.OPERATION.value,
                LedgerEntryRow.conversation.is_(None),
            )
            .order_by(LedgerEntryRow.seq)
        )
        for (text,) in rows:
            p = json.loads(text)
            if isinstance(p, dict) and p.get("event") == KEY_ROTATED:
                out += [str(p.get("old_fingerprint")), str(p.get("new_fingerprint"))]
    return out


# -- end-to-end verification of the live ledger ------------------------------------------------
@dataclass(frozen=True, slots=True)
class LedgerReport:
    """What ``verify_ledger`` checked.

    ``first_seq``/``head_seq``: the verified range; ``entries``: entries in it; ``checkpoints``:
    checkpoints verified; ``keys``: fingerprints of the keys that signed them, oldest first (a key
    rotation adds one); ``messages``/``purged``: message rows checked (purged ones against their
    retention tombstone); ``witness``: the witness file (``None``: none configured);
    ``witnessed``: witness checkpoints found in the database; ``timestamps``: RFC 3161 replies in
    the witness that cover a checkpoint; ``warnings``: what was not checked and why (including the
    entries after the last checkpoint, which no signature covers yet); ``records``: audit rows,
    decisions, case events and referrals checked against their entries.
    """

    first_seq: int
    head_seq: int
    entries: int
    checkpoints: int
    keys: tuple[str, ...]
    messages: int
    purged: int
    witness: str | None
    witnessed: int
    timestamps: int
    warnings: tuple[str, ...] = field(default=())
    records: int = 0


@dataclass(slots=True)
class _Rotation:
    seq: int
    old: Ed25519PublicKey
    new: Ed25519PublicKey
    old_fp: str
    new_fp: str


def _rotation(entry: LedgerEntry) -> _Rotation:
    p = entry.payload or {}
    try:
        old = load_public_key(bytes.fromhex(str(p["old_public_key"])))
        new = load_public_key(bytes.fromhex(str(p["new_public_key"])))
        sig = str(p["handover_signature"])
    except (KeyError, ValueError, TypeError) as e:
        raise TamperError(
            "key rotation entry malformed", seq=entry.seq, expected="old/new key", actual=str(e)
        ) from e
    rot = _Rotation(entry.seq, old, new, fingerprint(old), fingerprint(new))
    if p.get("old_fingerprint") != rot.old_fp or p.get("new_fingerprint") != rot.new_fp:
        raise TamperError(
            "key rotation fingerprints", seq=entry.seq, expected=(rot.old_fp, rot.new_fp),
            actual=(p.get("old_fingerprint"), p.get("new_fingerprint")),
        )  # fmt: skip
    if not verify_handover(old, new, sig):
        raise TamperError(
            "key rotation not signed by the old key", seq=entry.seq,
            expected=f"handover signature by {rot.old_fp}", actual=sig[:32],
        )  # fmt: skip
    return rot


def verify_ledger(
    store: Store,
    trusted: Iterable[Ed25519PublicKey | bytes | str] = (),
    *,
    trusted_fingerprints: Iterable[str] = (),
    start: int = 1,
    conversations: Iterable[int] | None = None,
    require_signed_head: bool = False,
    check_witness: bool = True,
    progress: Callable[[int], None] | None = None,
) -> LedgerReport:
    """Verify the live ledger of ``store`` end to end; return what was checked or raise.

    Checks, in order: the chain from ``start`` to the last entry (``start == 1``: from genesis;
    otherwise the entry at ``start`` anchors an excerpt, as an export needs) — order, links and
    hashes; that ``ledger_head`` names the last entry; every checkpoint in the range — hash,
    signature, and a key that is trusted or linked to a trusted key by the ledger's
    ``key_rotated`` entries (the old key signs the handover; a key is valid up to the rotation,
    its successor after it); that every checkpoint of the witness file is still in the database
    (truncation); every message row (of ``conversations`` when given) against its entry — text,
    author, wire, message number; purged rows against a retention tombstone; no row without its
    entry and no recorded message without its row; the same for audit rows, decisions, case events
    and referrals (proposer and decider against the review entries: four-eyes).

    ``trusted``: public keys (object, 32 raw bytes or PEM); ``trusted_fingerprints``: 64-hex
    fingerprints of keys whose public key the ledger's rotation entries carry. With neither, the
    checkpoints' own key is accepted (integrity only). Raises ``TamperError`` naming the first
    bad ledger entry (``seq``), ``InputError`` for a malformed key.
    """
    keys: dict[str, Ed25519PublicKey] = {}
    for k in trusted:
        pk = load_public_key(k)
        keys[fingerprint(pk)] = pk
    trust = set(keys) | {f.lower() for f in trusted_fingerprints}
    all_cps = iter_checkpoints(store)
    at_seq: dict[int, list[Checkpoint]] = {}
    for cp in all_cps:
        at_seq.setdefault(cp.seq, []).append(cp)
    hashes: dict[int, str] = {}
    rotations: list[_Rotation] = []
    message_seqs: list[int] = []
    tombstones: set[tuple[int, int]] = set()
    wanted = None if conversations is None else set(conversations)
    count = 0
    last: LedgerEntry | None = None

    def walk() -> Iterator[LedgerEntry]:
        nonlocal count, last
        for e in iter_ledger(store, start=start):
            if count == 0 and e.seq != start:
                raise TamperError(
                    "first entry missing (entry removed)", seq=start, expected=start, actual=e.seq
                )
            count += 1
            if progress is not None and count % 10000 == 0:
                progress(count)
            if e.seq in at_seq:
                hashes[e.seq] = e.entry_hash
            p = e.payload or {}
            if e.kind is EntryKind.OPERATION and p.get("event") == KEY_ROTATED:
                rotations.append(_rotation(e))
            elif e.kind in (EntryKind.INBOUND, EntryKind.OUTBOUND) and (
                wanted is None or e.conversation in wanted
            ):
                message_seqs.append(e.seq)
            elif e.kind is EntryKind.RETENTION_PURGE:
                for item in p.get("messages", ()):
                    if isinstance(item, Mapping):
                        tombstones.add((item.get("conversation"), item.get("message_seq")))  # type: ignore[arg-type]
            last = e
            yield e

    # chain only (checkpoints below, by several keys); the key argument is then unused
    verify_chain(walk(), (), Ed25519PrivateKey.generate().public_key(), from_genesis=start == 1)
    last_seq = last.seq if last is not None else (0 if start == 1 else start - 1)
    warnings: list[str] = []
    _check_head(store, last)

    # keys: the sequence of epoch keys the rotation entries define
    for r in rotations:
        keys.setdefault(r.old_fp, r.old)
        keys.setdefault(r.new_fp, r.new)
    for prev, nxt in pairwise(rotations):
        if prev.new_fp != nxt.old_fp:
            raise TamperError(
                "key rotation does not start from the current key",
                seq=nxt.seq, expected=prev.new_fp, actual=nxt.old_fp,
            )  # fmt: skip
    in_range = sorted((c for c in all_cps if c.seq >= start), key=lambda c: c.seq)
    signed_by: list[str] = []
    for cp in in_range:
        if cp.seq > last_seq:
            raise TamperError(
                f"checkpoint beyond the last entry {last_seq} (entries removed)",
                seq=cp.seq, expected=cp.seq, actual=last_seq,
            )  # fmt: skip
        if not _same(cp.entry_hash, hashes[cp.seq]):
            raise TamperError(
                "checkpoint entry_hash", seq=cp.seq, expected=hashes[cp.seq], actual=cp.entry_hash
            )
        epoch = _epoch_key(cp.seq, rotations, cp.key_fingerprint)
        if epoch is not None and not _same(cp.key_fingerprint, epoch):
            raise TamperError(
                "checkpoint signed by another key than the ledger's key at that point",
                seq=cp.seq, expected=epoch, actual=cp.key_fingerprint,
            )  # fmt: skip
        key = keys.get(cp.key_fingerprint)
        if key is None:
            if cp.key_fingerprint in trust or not trust:
                raise InputError(
                    f"ledger entry {cp.seq}: its checkpoint is signed by {cp.key_fingerprint}, "
                    "whose public key was not given: give it as a PEM file"
                )
            raise TamperError(
                "checkpoint signed by an untrusted key",
                seq=cp.seq, expected=sorted(trust), actual=cp.key_fingerprint,
            )  # fmt: skip
        if not verify_checkpoint_signature(cp, key):
            raise TamperError(
                "checkpoint signature", seq=cp.seq, expected="valid Ed25519", actual=cp.signature
            )
        if cp.key_fingerprint not in signed_by:
            signed_by.append(cp.key_fingerprint)
    _check_trust(trust, rotations, in_range)
    if require_signed_head and not any(c.seq == last_seq for c in in_range):
        raise TamperError(
            "head not covered by a checkpoint", seq=last_seq, expected=last_seq, actual=None
        )

    witness, witnessed, stamps = None, 0, 0
    if check_witness:
        path = witness_path(store.engine.url)
        if path is None:
            warnings.append("no witness file configured: truncation of the ledger not checked")
        else:
            witness = str(path)
            witnessed, stamps = _check_witness(path, all_cps, last_seq, warnings)
    checked, purged = _check_messages(store, start, last_seq, wanted, message_seqs, tombstones)
    records = _check_records(store, start, last_seq, wanted)
    signed_to = max((c.seq for c in in_range), default=0)
    if last_seq > signed_to:
        n = last_seq - signed_to
        warnings.append(
            f"{n} {'entry' if n == 1 else 'entries'} after the last checkpoint "
            f"({'none' if signed_to == 0 else f'entry {signed_to}'}) "
            f"{'is' if n == 1 else 'are'} not signed yet: "
            "whoever can write the database could still rewrite them"
        )
    return LedgerReport(
        first_seq=start,
        head_seq=last_seq,
        entries=count,
        checkpoints=len(in_range),
        keys=tuple(signed_by),
        messages=checked,
        purged=purged,
        witness=witness,
        witnessed=witnessed,
        timestamps=stamps,
        warnings=tuple(warnings),
        records=records,
    )


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("ascii", "replace"), b.encode("ascii", "replace"))


def _epoch_key(seq: int, rotations: list[_Rotation], found: str) -> str | None:
    """The fingerprint of the key that may sign a checkpoint at ``seq``: the old key of the first
    rotation at or after ``seq`` (it signs up to and including its rotation entry), else the last
    rotation's new key; ``None`` without rotations (any one trusted key)."""
    for r in rotations:
        if seq <= r.seq:
            # the rotation entry itself may be signed by the old key (handover) or the new one
            if seq == r.seq and found == r.new_fp:
                return r.new_fp
            return r.old_fp
    return rotations[-1].new_fp if rotations else None


def _check_trust(trust: set[str], rotations: list[_Rotation], cps: list[Checkpoint]) -> None:
    """At least one key in the ledger's key sequence is trusted; trust then follows the handover
    signatures forward and, backward, the checkpoints a trusted successor signed after the
    rotation (they sign the rotation entry naming its predecessor)."""
    if not trust or not cps:
        return
    if not rotations:
        bad = [c for c in cps if c.key_fingerprint not in trust]
        if bad:
            raise TamperError(
                "checkpoint signed by an untrusted key",
                seq=bad[0].seq, expected=sorted(trust), actual=bad[0].key_fingerprint,
            )  # fmt: skip
        return
    chain = [rotations[0].old_fp, *(r.new_fp for r in rotations)]
    ok = [fp in trust for fp in chain]
    for i in range(1, len(chain)):  # forward: the old key signed the handover
        ok[i] = ok[i] or ok[i - 1]
    for i in range(len(chain) - 2, -1, -1):  # backward: a trusted successor signed after it
        vouched = any(c.key_fingerprint == chain[i + 1] and c.seq >= rotations[i].seq for c in cps)
        ok[i] = ok[i] or (ok[i + 1] and vouched)
    for c in cps:
        if c.key_fingerprint in chain and not ok[chain.index(c.key_fingerprint)]:
            raise TamperError(
                "checkpoint signed by an untrusted key (not linked to a trusted key)",
                seq=c.seq, expected=sorted(trust), actual=c.key_fingerprint,
            )  # fmt: skip


def _check_head(store: Store, last: LedgerEntry | None) -> None:
    with store.session() as s:
        head = s.execute(select(LedgerHeadRow.seq, LedgerHeadRow.entry_hash)).all()
        top = s.execute(select(func.max(LedgerEntryRow.seq))).scalar_one_or_none() or 0
    if len(head) != 1:
        raise TamperError("ledger_head must be one row", expected=1, actual=len(head))
    seq, entry_hash = head[0]
    last_seq = last.seq if last is not None else top
    if seq != last_seq or (last is not None and not _same(entry_hash, last.entry_hash)):
        raise TamperError(
            f"ledger_head does not name the last entry {last_seq}"
            + (" (entries removed after it)" if seq > last_seq else ""),
            seq=seq, expected=(last_seq, None if last is None else last.entry_hash),
            actual=(seq, entry_hash),
        )  # fmt: skip


def _check_witness(
    path: Path, cps: list[Checkpoint], last_seq: int, warnings: list[str]
) -> tuple[int, int]:
    from tutela.evidence.timestamp import verify_timestamp

    witnessed, stamps = read_witness(path)
    if not path.exists():
        warnings.append(f"witness {path} does not exist yet: truncation not checked")
    have = {(c.seq, c.entry_hash, c.key_fingerprint, c.signature) for c in cps}
    for w in witnessed:
        if (w.seq, w.entry_hash, w.key_fingerprint, w.signature) not in have:
            why = f"entries after {last_seq} removed" if w.seq > last_seq else "checkpoint removed"
            raise TamperError(
                f"checkpoint witnessed in {path} is missing from the database ({why})",
                seq=w.seq, expected=w.entry_hash, actual=None,
            )  # fmt: skip
    by_seq = {w.seq: w for w in witnessed}
    for seq, tsr in stamps.items():
        cp = by_seq.get(seq)
        if cp is None:
            raise TamperError(
                f"RFC 3161 stamp in {path} for a checkpoint it does not witness",
                seq=seq, expected="witnessed checkpoint", actual=None,
            )  # fmt: skip
        verify_timestamp(tsr, canonical_json(cp.to_dict()))
    return len(witnessed), len(stamps)


def _check_messages(
    store: Store,
    start: int,
    last_seq: int,
    wanted: set[int] | None,
    message_seqs: list[int],
    tombstones: set[tuple[int, int]],
) -> tuple[int, int]:
    checked = purged = 0
    seen: list[int] = []
    with store.session() as s:
        q = (
            select(MessageRow, LedgerEntryRow.payload, LedgerEntryRow.kind)
            .outerjoin(LedgerEntryRow, LedgerEntryRow.seq == MessageRow.ledger_seq)
            .where(MessageRow.ledger_seq >= start)
            .order_by(MessageRow.ledger_seq)
        )
        if wanted is not None:
            q = q.where(MessageRow.conversation_id.in_(sorted(wanted)))
        for msg, payload_text, kind in s.execute(q):
            if payload_text is None or msg.ledger_seq > last_seq:
                raise TamperError(
                    f"message {msg.id} has no ledger entry (entries removed)",
                    seq=msg.ledger_seq, expected="an inbound/outbound entry", actual=None,
                )  # fmt: skip
            expected_kind = "inbound" if msg.direction == "in" else "outbound"
            payload = json.loads(payload_text)
            if kind != expected_kind:
                raise TamperError(
                    f"message {msg.id} is not the message its ledger entry records",
                    seq=msg.ledger_seq, expected=expected_kind, actual=kind,
                )  # fmt: skip
            seen.append(msg.ledger_seq)
            if msg.purged_at is not None:
                purged += 1
                if (msg.conversation_id, msg.seq) not in tombstones:
                    raise TamperError(
                        f"message {msg.id} purged without a retention_purge entry",
                        seq=msg.ledger_seq, expected="tombstone", actual=None,
                    )  # fmt: skip
                continue
            checked += 1
            checks = {
                "text_sha256": sha256_hex((msg.text or "").encode("utf-8")),
                "author_sha256": sha256_hex(msg.author.encode("utf-8")),
                "message_seq": msg.seq,
            }
            if msg.wire is not None or expected_kind == "inbound":
                checks["wire_sha256"] = sha256_hex(msg.wire or b"")
            for name, actual in checks.items():
                if payload.get(name) != actual:
                    raise TamperError(
                        f"message {msg.id} (conversation {msg.conversation_id}, "
                        f"message {msg.seq}) {name} differs from its ledger entry",
                        seq=msg.ledger_seq, expected=payload.get(name), actual=actual,
                    )  # fmt: skip
    missing = sorted(set(message_seqs) - set(seen))
    if missing:
        raise TamperError(
            "recorded message missing from the messages table",
            seq=missing[0], expected=missing[:10], actual=None,
        )  # fmt: skip
    return checked, purged


# -- rows that mirror ledger entries (audit log, decisions, case events, referrals) ------------
_REFERRAL_DECISIONS = ("approve_referral", "reject_referral")
_EVENTS = frozenset(
    ("dismiss", "watch", "propose_referral", "approve_referral", "reject_referral", "reveal",
     "purge", "reopen")
)  # fmt: skip
"""The case-event actions (``case_events.action``'s check constraint)."""


def _row_mismatch(seq: int, what: str, field_name: str, expected: object, actual: object) -> None:
    raise TamperError(
        f"{what} {field_name} differs from its ledger entry (row edited)",
        seq=seq, expected=expected, actual=actual,
    )  # fmt: skip


def _first_unmirrored(s: Session, kind: str, start: int, last_seq: int, column: Any) -> int | None:
    """The first entry of ``kind`` in the range with no row pointing at it (a deleted row)."""
    has_row = select(column).where(column == LedgerEntryRow.seq).exists()
    return s.execute(
        select(LedgerEntryRow.seq)
        .where(LedgerEntryRow.kind == kind, LedgerEntryRow.seq.between(start, last_seq), ~has_row)
        .order_by(LedgerEntryRow.seq)
        .limit(1)
    ).scalar_one_or_none()


def _check_records(store: Store, start: int, last_seq: int, wanted: set[int] | None) -> int:
    """Every audit row, decision, case event and referral against the ledger entry that records it,
    and every such entry against its row (a deleted row is found by its orphaned entry).

    The rows are what the dashboard, the workflow and exports read (``referral_ready`` reads the
    referral and audit tables); the entries are what the chain and the signed checkpoints cover.
    Decisions are limited to ``wanted`` conversations when given. Raises ``TamperError`` naming the
    entry; returns the number of rows checked.
    """
    from tutela.store.models import AuditLogRow, CaseEventRow, DecisionRow, ReferralRow

    checked = 0
    in_range = LedgerEntryRow.seq.between(start, last_seq)
    with store.session() as s:
        # audit rows
        q = (
            select(AuditLogRow, LedgerEntryRow.kind, LedgerEntryRow.payload)
            .outerjoin(LedgerEntryRow, LedgerEntryRow.seq == AuditLogRow.ledger_seq)
            .where((AuditLogRow.ledger_seq >= start) | AuditLogRow.ledger_seq.is_(None))
            .order_by(AuditLogRow.id)
        )
        for row, kind, payload_text in s.execute(q):
            what = f"audit row {row.id}"
            if row.ledger_seq is None or kind != EntryKind.AUDIT.value or row.ledger_seq > last_seq:
                raise TamperError(
                    f"{what} ({row.action}) has no audit entry in the ledger (row inserted)",
                    seq=row.ledger_seq, expected="an audit entry", actual=kind,
                )  # fmt: skip
            p = json.loads(payload_text)
            for name in ("actor", "action", "target"):
                if p.get(name) != getattr(row, name):
                    _row_mismatch(row.ledger_seq, what, name, p.get(name), getattr(row, name))
            if canonical_json(p.get("details")) != canonical_json(row.details):
                _row_mismatch(row.ledger_seq, what, "details", p.get("details"), row.details)
            checked += 1
        orphan = _first_unmirrored(
            s, EntryKind.AUDIT.value, start, last_seq, AuditLogRow.ledger_seq
        )
        if orphan is not None:
            raise TamperError(
                "audit entry without its audit row (row deleted)", seq=orphan,
                expected="an audit_log row", actual=None,
            )  # fmt: skip

        # decisions
        dq = (
            select(
                DecisionRow,
                LedgerEntryRow.kind,
                LedgerEntryRow.conversation,
                LedgerEntryRow.payload,
            )
            .outerjoin(LedgerEntryRow, LedgerEntryRow.seq == DecisionRow.ledger_seq)
            .where(DecisionRow.ledger_seq >= start)
            .order_by(DecisionRow.ledger_seq)
        )
        if wanted is not None:
            dq = dq.where(DecisionRow.conversation_id.in_(sorted(wanted)))
        for row, kind, conversation, payload_text in s.execute(dq):
            what = f"decision {row.id}"
            if kind != EntryKind.DECISION.value or row.ledger_seq > last_seq:
                raise TamperError(
                    f"{what} has no decision entry in the ledger (row inserted)",
                    seq=row.ledger_seq, expected="a decision entry", actual=kind,
                )  # fmt: skip
            p = json.loads(payload_text)
            if conversation != row.conversation_id:
                _row_mismatch(
                    row.ledger_seq, what, "conversation", conversation, row.conversation_id
                )
            for name in ("after_line", "action", "rule", "reason", "variant", "indicators"):
                if p.get(name) != getattr(row, name):
                    _row_mismatch(row.ledger_seq, what, name, p.get(name), getattr(row, name))
            try:
                same_risk = abs(float(p.get("risk")) - float(row.risk)) <= 5e-7
            except (TypeError, ValueError):
                same_risk = False
            if not same_risk:
                _row_mismatch(row.ledger_seq, what, "risk", p.get("risk"), row.risk)
            checked += 1
        dec_orphan = select(LedgerEntryRow.seq).where(
            LedgerEntryRow.kind == EntryKind.DECISION.value,
            in_range,
            ~select(DecisionRow.id).where(DecisionRow.ledger_seq == LedgerEntryRow.seq).exists(),
        )
        if wanted is not None:
            dec_orphan = dec_orphan.where(LedgerEntryRow.conversation.in_(sorted(wanted)))
        orphan = s.execute(dec_orphan.order_by(LedgerEntryRow.seq).limit(1)).scalar_one_or_none()
        if orphan is not None:
            raise TamperError(
                "decision entry without its decision row (row deleted)", seq=orphan,
                expected="a decisions row", actual=None,
            )  # fmt: skip

        # review entries (case events) and the referrals they decide
        reviews: dict[int, dict[str, Any]] = {
            seq: json.loads(text)
            for seq, text in s.execute(
                select(LedgerEntryRow.seq, LedgerEntryRow.payload).where(
                    LedgerEntryRow.kind == EntryKind.REVIEW.value, in_range
                )
            )
        }
        seen: set[int] = set()
        for row in s.execute(select(CaseEventRow).order_by(CaseEventRow.id)).scalars():
            seq = row.details.get("review_seq") if isinstance(row.details, dict) else None
            if isinstance(seq, int) and 0 < seq < start:
                continue  # before an excerpt
            p = reviews.get(seq) if isinstance(seq, int) else None
            what = f"case event {row.id}"
            if p is None:
                raise TamperError(
                    f"{what} ({row.action}) has no review entry in the ledger (row inserted)",
                    seq=seq if isinstance(seq, int) else None, expected="a review entry",
                    actual=None,
                )  # fmt: skip
            seen.add(seq)
            expected = {"case_id": row.case_id, "action": row.action, "actor": row.actor,
                        "note_sha256": sha256_hex(row.note.encode("utf-8"))}  # fmt: skip
            for name, actual in expected.items():
                if p.get(name) != actual:
                    _row_mismatch(seq, what, name, p.get(name), actual)
            checked += 1
        # a review entry of a case-event action always has its row (the workflow writes both);
        # other review entries (``Recorder.append_entry``) have none
        missing = sorted(
            seq for seq, p in reviews.items() if seq not in seen and p.get("action") in _EVENTS
        )
        if missing:
            raise TamperError(
                "review entry without its case event (row deleted)", seq=missing[0],
                expected="a case_events row", actual=None,
            )  # fmt: skip
        by_referral: dict[int, dict[str, dict[str, Any]]] = {}
        for p in reviews.values():
            ref_id = p.get("referral_id")
            if isinstance(ref_id, int):
                by_referral.setdefault(ref_id, {})[str(p.get("action"))] = p
        for ref in s.execute(select(ReferralRow).order_by(ReferralRow.id)).scalars():
            facts = by_referral.get(ref.id)
            if facts is None:
                if start > 1:
                    continue  # proposed before the excerpt, or another case's
                raise TamperError(
                    f"referral {ref.id} has no proposal in the ledger (row inserted)",
                    seq=None, expected="a propose_referral review entry", actual=None,
                )  # fmt: skip
            proposal = facts.get("propose_referral")
            if proposal is None and start == 1:
                raise TamperError(
                    f"referral {ref.id} has no proposal in the ledger (row inserted)",
                    seq=None, expected="a propose_referral review entry", actual=None,
                )  # fmt: skip
            if proposal is not None and proposal.get("actor_id") != ref.proposed_by:
                raise TamperError(
                    f"referral {ref.id} proposer differs from its ledger entry (row edited)",
                    seq=None, expected=proposal.get("actor_id"), actual=ref.proposed_by,
                )  # fmt: skip
            decision = next((facts[a] for a in _REFERRAL_DECISIONS if a in facts), None)
            if ref.status == "proposed":
                if decision is not None:
                    raise TamperError(
                        f"referral {ref.id} was decided in the ledger but reads 'proposed'",
                        seq=None, expected=decision.get("action"), actual=ref.status,
                    )  # fmt: skip
                continue
            want = "approve_referral" if ref.status == "approved" else "reject_referral"
            if decision is None or decision.get("action") != want:
                raise TamperError(
                    f"referral {ref.id} reads {ref.status!r} without that decision in the ledger "
                    "(row edited)",
                    seq=None,
                    expected=want,
                    actual=None if decision is None else decision["action"],
                )
            if decision.get("actor_id") != ref.decided_by or (
                ref.decided_by is not None and ref.decided_by == ref.proposed_by
            ):
                raise TamperError(
                    f"referral {ref.id} decider differs from its ledger entry or proposed it "
                    "(four-eyes)",
                    seq=None, expected=decision.get("actor_id"), actual=ref.decided_by,
                )  # fmt: skip
            checked += 1
    return checked
