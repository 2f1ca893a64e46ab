"""Which key signs a ledger now: read from the ledger itself, for the runtime's signer choice."""

from __future__ import annotations

from sqlalchemy import select

from tutela.store.engine import Store
from tutela.store.ledger_verify import rotation_fingerprints
from tutela.store.models import CheckpointRow

__all__ = ["ledger_key_fingerprints"]


def ledger_key_fingerprints(store: Store) -> frozenset[str]:
    """Fingerprints (SHA-256 hex of the raw Ed25519 public key) of the keys that may sign this
    ledger's next checkpoint: the key of its latest checkpoint and the new key of its latest
    ``key_rotated`` entry. Empty for a ledger nothing has signed yet.

    Source of the rule: ``tutela ledger verify`` accepts a change of signing key only through a
    recorded rotation (``tutela.store.ledger_verify``), so a checkpoint by any other key makes
    the ledger read as tampered.
    """
    with store.session() as s:
        latest = s.execute(
            select(CheckpointRow.key_fingerprint)
            .order_by(CheckpointRow.seq.desc(), CheckpointRow.id.desc())
            .limit(1)
        ).scalar_one_or_none()
    found = {latest} if latest is not None else set()
    rotations = rotation_fingerprints(store)
    if rotations:
        found.add(rotations[-1])
    return frozenset(found)
