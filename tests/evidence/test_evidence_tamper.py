"""Tamper tests: every kind of change to a chain or its checkpoints is a TamperError
(after pymerkle's tests/test_defense.py and sigstore's bad golden files)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from tutela.errors import InputError
from tutela.ledger import GENESIS_HASH, Checkpoint, LedgerEntry, Signer, TamperError, verify_chain

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SIGNER = Signer.generate()


def build(n: int = 6) -> list[LedgerEntry]:
    entries: list[LedgerEntry] = []
    prev = GENESIS_HASH
    for i in range(1, n + 1):
        e = LedgerEntry.create(
            seq=i,
            prev_hash=prev,
            at=T0 + timedelta(seconds=i),
            kind="inbound" if i % 2 else "decision",
            conversation=1,
            payload={"message_seq": i, "text_sha256": f"{i:064x}", "note": "synthetic"},
        )
        entries.append(e)
        prev = e.entry_hash
    return entries


def checkpoints(entries: list[LedgerEntry], every: int = 3) -> list[Checkpoint]:
    return [SIGNER.sign_checkpoint(e.seq, e.entry_hash, T0) for e in entries if e.seq % every == 0]


def rechain(entries: list[LedgerEntry]) -> list[LedgerEntry]:
    """Recompute every hash after an edit: what a forger with database access would do."""
    out: list[LedgerEntry] = []
    prev = GENESIS_HASH
    for i, e in enumerate(entries, start=1):
        n = LedgerEntry.create(
            seq=i,
            prev_hash=prev,
            at=e.at,
            kind=e.kind,
            conversation=e.conversation,
            payload=e.to_dict()["payload"],
        )
        out.append(n)
        prev = n.entry_hash
    return out


def replace(e: LedgerEntry, **kw: object) -> LedgerEntry:
    return dataclasses.replace(e, **kw)  # type: ignore[arg-type]


def test_intact_chain_verifies() -> None:
    entries = build()
    verify_chain(entries, checkpoints(entries), SIGNER.public_key, require_signed_head=True)
    verify_chain(entries, checkpoints(entries), SIGNER.public_key_bytes())
    verify_chain(entries, checkpoints(entries), SIGNER.public_key_pem())


def payload_with(e: LedgerEntry, **kw: object) -> dict[str, object]:
    p = dict(e.to_dict()["payload"])
    p.update(kw)
    return p


TAMPERS: dict[str, Callable[[list[LedgerEntry]], list[LedgerEntry]]] = {
    "payload byte": lambda es: [
        *es[:2],
        replace(es[2], payload=payload_with(es[2], note="synthetiC")),
        *es[3:],
    ],
    "payload_sha256 recomputed": lambda es: [
        *es[:2],
        LedgerEntry.create(
            seq=3,
            prev_hash=es[2].prev_hash,
            at=es[2].at,
            kind=es[2].kind,
            conversation=1,
            payload=payload_with(es[2], note="x"),
        ),
        *es[3:],
    ],
    "at changed": lambda es: [*es[:1], replace(es[1], at="2025-03-01T12:00:03.000000Z"), *es[2:]],
    "kind changed": lambda es: [*es[:1], replace(es[1], kind="inbound"), *es[2:]],
    "conversation changed": lambda es: [*es[:1], replace(es[1], conversation=2), *es[2:]],
    "entry_hash changed": lambda es: [*es[:4], replace(es[4], entry_hash="f" * 64), *es[5:]],
    "removed middle": lambda es: es[:2] + es[3:],
    "removed first": lambda es: es[1:],
    "removed tail": lambda es: es[:-1],
    "reordered": lambda es: [es[0], es[2], es[1], *es[3:]],
    "inserted": lambda es: [*es[:3], replace(es[3], seq=4), *es[3:]],
    "duplicated": lambda es: [*es[:3], es[2], *es[3:]],
    "renumbered": lambda es: [*es[:3], *(replace(e, seq=e.seq + 1) for e in es[3:])],
    "payload removed": lambda es: [*es[:1], es[1].redacted(), *es[2:]],
    "history rewritten and rehashed": lambda es: rechain(
        [*es[:1], replace(es[1], payload=payload_with(es[1], note="forged")), *es[2:]]
    ),
}


@pytest.mark.parametrize("name", sorted(TAMPERS))
def test_each_change_is_detected(name: str) -> None:
    entries = build()
    cps = checkpoints(entries)
    tampered = TAMPERS[name](entries)
    with pytest.raises(TamperError) as info:
        verify_chain(tampered, cps, SIGNER.public_key)
    assert info.value.seq is not None
    assert info.value.expected != info.value.actual


def test_error_names_expected_and_actual() -> None:
    entries = build()
    bad = [
        *entries[:2],
        replace(entries[2], payload=payload_with(entries[2], note="x")),
        *entries[3:],
    ]
    with pytest.raises(TamperError) as info:
        verify_chain(bad, [], SIGNER.public_key)
    err = info.value
    assert err.seq == 3
    assert err.actual == entries[2].payload_sha256
    assert err.expected == bad[2].computed_payload_sha256()
    assert "ledger entry 3" in str(err)


def test_every_flipped_character_in_any_hash_field_is_detected() -> None:
    entries = build(3)
    cps = checkpoints(entries, every=3)
    for i, e in enumerate(entries):
        for field in ("prev_hash", "payload_sha256", "entry_hash"):
            value = getattr(e, field)
            for pos in (0, 31, 63):
                flipped = value[:pos] + ("0" if value[pos] != "0" else "1") + value[pos + 1 :]
                bad = [*entries[:i], replace(e, **{field: flipped}), *entries[i + 1 :]]
                with pytest.raises(TamperError):
                    verify_chain(bad, cps, SIGNER.public_key)


CP_TAMPERS: dict[str, Callable[[list[Checkpoint]], list[Checkpoint]]] = {
    "signature byte": lambda cps: [
        replace(
            cps[0], signature=("0" if cps[0].signature[0] != "0" else "1") + cps[0].signature[1:]
        ),
        *cps[1:],
    ],
    "entry_hash": lambda cps: [replace(cps[0], entry_hash="a" * 64), *cps[1:]],
    "seq moved": lambda cps: [replace(cps[0], seq=2), *cps[1:]],
    "signed by another key": lambda cps: [
        Signer.generate().sign_checkpoint(cps[0].seq, cps[0].entry_hash, T0),
        *cps[1:],
    ],
    "other key, fingerprint faked": lambda cps: [
        replace(
            Signer.generate().sign_checkpoint(cps[0].seq, cps[0].entry_hash, T0),
            key_fingerprint=SIGNER.fingerprint(),
        ),
        *cps[1:],
    ],
    "beyond the end": lambda cps: [*cps, replace(cps[-1], seq=cps[-1].seq + 1)],
}


@pytest.mark.parametrize("name", sorted(CP_TAMPERS))
def test_each_checkpoint_change_is_detected(name: str) -> None:
    entries = build()
    with pytest.raises(TamperError):
        verify_chain(entries, CP_TAMPERS[name](checkpoints(entries)), SIGNER.public_key)


def test_swapped_verification_key_is_detected() -> None:
    entries = build()
    with pytest.raises(TamperError) as info:
        verify_chain(entries, checkpoints(entries), Signer.generate().public_key)
    assert info.value.actual == SIGNER.fingerprint()


def test_unsigned_head_detected_only_when_required() -> None:
    entries = build(5)
    cps = checkpoints(entries)  # covers seq 3 only
    verify_chain(entries, cps, SIGNER.public_key)
    with pytest.raises(TamperError):
        verify_chain(entries, cps, SIGNER.public_key, require_signed_head=True)


def test_excerpt_with_redacted_entries() -> None:
    entries = build()
    excerpt = [entries[2], entries[3].redacted(), entries[4], entries[5].redacted()]
    cps = checkpoints(entries)
    verify_chain(excerpt, cps, SIGNER.public_key, from_genesis=False, allow_redacted=True)
    forged = [replace(entries[2], payload=payload_with(entries[2], note="x")), *excerpt[1:]]
    with pytest.raises(TamperError):
        verify_chain(forged, cps, SIGNER.public_key, from_genesis=False, allow_redacted=True)
    with pytest.raises(TamperError):
        verify_chain(excerpt, cps, SIGNER.public_key, from_genesis=True, allow_redacted=True)


def test_malformed_input_is_input_error_not_tamper() -> None:
    entries = build(2)
    with pytest.raises(InputError):
        verify_chain([entries[0].to_dict()], [], SIGNER.public_key)  # type: ignore[list-item]
    with pytest.raises(InputError):
        verify_chain(entries, [], b"short")
    with pytest.raises(InputError):
        Checkpoint(seq=1, entry_hash="0" * 64, signature="zz", key_fingerprint="0" * 64, at="x")
