"""Verifying the live ledger end to end: the chain, ``ledger_head``, checkpoints and keys, the
witness file, and every row that mirrors an entry (messages, audit rows, decisions, case events,
referrals). Appending, reading and the witness itself are in :mod:`tutela.store.ledger`.

Source of the checks: an append-only hash chain with signed checkpoints (the tamper-evident log of
Crosby & Wallach 2009, without the Merkle tree) and "trust, not only integrity": a checkpoint
counts only when a trusted key signed it. Digests are compared with ``hmac.compare_digest``.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select

from tutela.errors import InputError
from tutela.ledger import (
    Checkpoint,
    EntryKind,
    KeyRotatedPayload,
    LedgerEntry,
    RetentionPurgePayload,
    TamperError,
    canonical_json,
    fingerprint,
    format_instant,
    load_public_key,
    sha256_hex,
    verify_chain,
)
from tutela.ledger.signing import verify_checkpoint_signature, verify_handover
from tutela.store.engine import Store
from tutela.store.ledger import (
    KEY_ROTATED,
    iter_checkpoints,
    iter_ledger,
    read_witness,
    witness_path,
)
from tutela.store.ledger_rows import check_records
from tutela.store.models import LedgerEntryRow, LedgerHeadRow, MessageRow

__all__ = ["LedgerReport", "rotation_fingerprints", "verify_ledger", "verify_store"]


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
                rot = cast(KeyRotatedPayload, p)
                out += [str(rot.get("old_fingerprint")), str(rot.get("new_fingerprint"))]
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
    """The keys of a ``key_rotated`` entry (``KeyRotatedPayload``), checked; ``TamperError``."""
    p = cast(KeyRotatedPayload, entry.payload or {})
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
    author, wire, message number, times (``at`` and ``sent_at`` exactly as the entry writes
    them), contact line, origin, platform id, attachments, ``sent_by`` and ``answer``; purged
    rows against a retention tombstone; no row without its entry and no recorded message
    without its row; the same for audit rows, decisions, case events
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
    # (conversation, message_seq) as the purge entries list them (read from JSON, not checked)
    tombstones: set[tuple[object, object]] = set()
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
                for item in cast(RetentionPurgePayload, p).get("messages", ()):
                    if isinstance(item, Mapping):
                        tombstones.add((item.get("conversation"), item.get("message_seq")))
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
    records = check_records(store, start, last_seq, wanted)
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
    from tutela.ledger.timestamp import verify_timestamp

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


def _message_checks(msg: MessageRow, *, inbound: bool) -> dict[str, Any]:
    """What a message row's ledger payload states about it, computed from the row: every
    column the payload holds (``Recorder.record_inbound`` / ``record_outbound`` write them).
    Keys a payload holds only when set (``sent_at``/``sent_by``/``answer`` of an inbound entry,
    ``wire_sha256``/``platform_msg_id`` of an outbound one) are expected absent (``None``) when
    the row has none. Times compare as the payload writes them (``format_instant``).

    Columns the payload of a direction never holds are expected empty: ``origin`` of an inbound
    row, ``attachments`` of an outbound one (``[]``, compared as ``None``: no key). The
    ``sent_at`` column of an outbound row is checked by :func:`_row_only_faults` (the payload's
    ``sent_at`` of an outbound entry is the send time, stored in ``at``)."""
    checks: dict[str, Any] = {
        "text_sha256": sha256_hex((msg.text or "").encode("utf-8")),
        "author_sha256": sha256_hex(msg.author.encode("utf-8")),
        "message_seq": msg.seq,
        "platform_msg_id": msg.platform_msg_id,
    }
    if msg.wire is not None or inbound:
        checks["wire_sha256"] = sha256_hex(msg.wire or b"")
    if inbound:
        checks["received_at"] = format_instant(msg.at)
        checks["contact_line"] = msg.contact_line
        checks["attachments"] = list(msg.attachments or [])
        # the platform's stamp, who stated it, and "never answer" (migration 0006), if any
        checks["sent_at"] = None if msg.sent_at is None else format_instant(msg.sent_at)
        checks["sent_by"] = msg.sent_by
        checks["answer"] = False if msg.answer is False else None
        checks["origin"] = msg.origin  # no inbound entry names one: must stay NULL
    else:
        checks["sent_at"] = format_instant(msg.at)
        checks["origin"] = msg.origin
        checks["contact_line"] = msg.contact_line  # no entry names one: must stay NULL
        checks["sent_by"] = msg.sent_by
        checks["answer"] = None if msg.answer is None else msg.answer
        # no outbound entry lists attachments: a row with some fakes "the persona sent media"
        checks["attachments"] = list(msg.attachments) if msg.attachments else None
    return checks


def _row_only_faults(msg: MessageRow, *, inbound: bool) -> list[tuple[str, Any, Any]]:
    """Columns of a message row that must be empty whatever its payload says, as
    ``(column, expected, actual)`` for each that is not: the ``sent_at`` column of an outbound row
    (``record_outbound`` stores the send time in ``at``; the column holds an inbound platform
    stamp only), and the text, wire and attachments of a purged row (``purge_messages`` clears
    them; content on a purged row was fabricated after the purge)."""
    faults: list[tuple[str, Any, Any]] = []
    if not inbound and msg.sent_at is not None:
        faults.append(("sent_at column", None, format_instant(msg.sent_at)))
    if msg.purged_at is not None:
        if msg.text is not None:
            faults.append(("text of a purged message", None, sha256_hex(msg.text.encode())))
        if msg.wire is not None:
            faults.append(("wire of a purged message", None, sha256_hex(bytes(msg.wire))))
        if msg.attachments:
            faults.append(("attachments of a purged message", [], list(msg.attachments)))
    return faults


def _check_messages(
    store: Store,
    start: int,
    last_seq: int,
    wanted: set[int] | None,
    message_seqs: list[int],
    tombstones: set[tuple[object, object]],
) -> tuple[int, int]:
    checked = purged = 0
    seen: list[int] = []
    with store.session() as s:
        q = (
            select(
                MessageRow, LedgerEntryRow.payload, LedgerEntryRow.kind, LedgerEntryRow.conversation
            )
            .outerjoin(LedgerEntryRow, LedgerEntryRow.seq == MessageRow.ledger_seq)
            .where(MessageRow.ledger_seq >= start)
            .order_by(MessageRow.ledger_seq)
        )
        if wanted is not None:
            q = q.where(MessageRow.conversation_id.in_(sorted(wanted)))
        for msg, payload_text, kind, conversation in s.execute(q):
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
            if conversation != msg.conversation_id:
                raise TamperError(
                    f"message {msg.id} (message {msg.seq}) conversation differs from its ledger "
                    "entry (row moved into another conversation)",
                    seq=msg.ledger_seq, expected=conversation, actual=msg.conversation_id,
                )  # fmt: skip
            seen.append(msg.ledger_seq)
            inbound = expected_kind == "inbound"
            for name, want, actual in _row_only_faults(msg, inbound=inbound):
                raise TamperError(
                    f"message {msg.id} (conversation {msg.conversation_id}, "
                    f"message {msg.seq}) {name} must be empty (row edited)",
                    seq=msg.ledger_seq, expected=want, actual=actual,
                )  # fmt: skip
            checks = _message_checks(msg, inbound=inbound)
            if msg.purged_at is not None:
                purged += 1
                if (msg.conversation_id, msg.seq) not in tombstones:
                    raise TamperError(
                        f"message {msg.id} purged without a retention_purge entry",
                        seq=msg.ledger_seq, expected="tombstone", actual=None,
                    )  # fmt: skip
                # what the purge cleared (found empty above) no longer matches its digests
                for name in ("text_sha256", "wire_sha256", "attachments"):
                    checks.pop(name, None)
            else:
                checked += 1
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
