"""Chain and checkpoint verification. Returns ``None`` or raises.

Source of the checks: the append-only hash chain of ``docs/architecture.md`` ("Evidence");
comparisons of digests use ``hmac.compare_digest``; error split after sigstore (``InputError``
for malformed input, ``TamperError`` for a record that does not verify).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tutela.errors import InputError
from tutela.ledger.entry import GENESIS_HASH, LedgerEntry
from tutela.ledger.errors import TamperError
from tutela.ledger.signing import (
    Checkpoint,
    fingerprint,
    load_public_key,
    verify_checkpoint_signature,
)

__all__ = ["verify_chain"]


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("ascii", "replace"), b.encode("ascii", "replace"))


def verify_chain(
    entries: Iterable[LedgerEntry],
    checkpoints: Iterable[Checkpoint],
    public_key: Ed25519PublicKey | bytes | str,
    *,
    from_genesis: bool = True,
    allow_redacted: bool = False,
    require_signed_head: bool = False,
) -> None:
    """Verify a run of consecutive ledger entries and the checkpoints over them.

    Parameters
    ----------
    entries: entries in ascending ``seq`` order, without gaps.
    checkpoints: signed checkpoints; each must fall within the entries' range (one beyond the last
        entry means entries were removed from the end; ones before the first entry are ignored when
        ``from_genesis`` is False).
    public_key: the Ed25519 key expected to have signed every checkpoint (object, 32 raw bytes or
        PEM); a checkpoint by another key is a ``TamperError``.
    from_genesis: the run must start at ``seq == 1`` with ``prev_hash == GENESIS_HASH``; when False
        the first entry's ``prev_hash`` is taken as the anchor (an excerpt of the chain).
    allow_redacted: accept entries without payloads (evidence packages); otherwise a missing
        payload is a ``TamperError``.
    require_signed_head: the last entry must be covered by a checkpoint at its ``seq``.

    Raises
    ------
    TamperError: a changed byte, a removed, inserted or reordered entry, a checkpoint whose hash,
        key or signature disagrees, an unsigned head when one is required.
    InputError: entries or checkpoints of the wrong type, or a malformed public key.
    """
    key = load_public_key(public_key)
    key_fp = fingerprint(key)
    by_seq: dict[int, str] = {}
    prev_seq: int | None = None
    prev_hash = GENESIS_HASH
    first_seq: int | None = None
    for entry in entries:
        if not isinstance(entry, LedgerEntry):
            raise InputError(f"expected LedgerEntry, got {type(entry).__name__}")
        seq = entry.seq
        if prev_seq is None:
            first_seq = seq
            if from_genesis:
                if seq != 1:
                    raise TamperError("chain does not start at 1", seq=seq, expected=1, actual=seq)
            else:
                prev_hash = entry.prev_hash
        elif seq != prev_seq + 1:
            raise TamperError(
                "sequence broken (entry removed, inserted or reordered)",
                seq=seq,
                expected=prev_seq + 1,
                actual=seq,
            )
        if not _same(entry.prev_hash, prev_hash):
            raise TamperError("prev_hash", seq=seq, expected=prev_hash, actual=entry.prev_hash)
        if entry.payload is None:
            if not allow_redacted:
                raise TamperError("payload missing", seq=seq, expected="payload", actual=None)
        else:
            computed = entry.computed_payload_sha256() or ""
            if not _same(computed, entry.payload_sha256):
                raise TamperError(
                    "payload_sha256", seq=seq, expected=computed, actual=entry.payload_sha256
                )
        computed_hash = entry.computed_entry_hash()
        if not _same(computed_hash, entry.entry_hash):
            raise TamperError(
                "entry_hash", seq=seq, expected=computed_hash, actual=entry.entry_hash
            )
        by_seq[seq] = entry.entry_hash
        prev_seq = seq
        prev_hash = entry.entry_hash

    last_seq = prev_seq if prev_seq is not None else 0
    head_signed = False
    for cp in checkpoints:
        if not isinstance(cp, Checkpoint):
            raise InputError(f"expected Checkpoint, got {type(cp).__name__}")
        if cp.seq > last_seq:
            raise TamperError(
                "checkpoint beyond the last entry (entries removed)",
                seq=cp.seq,
                expected=cp.seq,
                actual=last_seq,
            )
        if first_seq is not None and cp.seq < first_seq:
            continue  # outside an excerpt (from_genesis=False); nothing to compare with
        if not _same(cp.key_fingerprint, key_fp):
            raise TamperError(
                "checkpoint signed by another key",
                seq=cp.seq,
                expected=key_fp,
                actual=cp.key_fingerprint,
            )
        if not _same(cp.entry_hash, by_seq[cp.seq]):
            raise TamperError(
                "checkpoint entry_hash", seq=cp.seq, expected=by_seq[cp.seq], actual=cp.entry_hash
            )
        if not verify_checkpoint_signature(cp, key):
            raise TamperError(
                "checkpoint signature", seq=cp.seq, expected="valid Ed25519", actual=cp.signature
            )
        head_signed = head_signed or cp.seq == last_seq
    if require_signed_head and not head_signed:
        raise TamperError(
            "head not covered by a checkpoint", seq=last_seq, expected=last_seq, actual=None
        )
