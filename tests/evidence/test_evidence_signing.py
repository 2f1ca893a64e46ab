"""Signing keys: creation with 0600, refusal of loose permissions, fingerprints, messages."""

from __future__ import annotations

import hashlib
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tutela.errors import InputError
from tutela.evidence import (
    CHECKPOINT_DOMAIN,
    Signer,
    SigningKeyError,
    checkpoint_message,
    fingerprint,
)

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX-only")


@posix_only
def test_load_or_create_writes_0600_and_reloads_same_key(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "ledger.pem"
    first = Signer.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = Signer.load_or_create(path)
    assert first.fingerprint() == second.fingerprint()
    assert first.fingerprint() == hashlib.sha256(first.public_key_bytes()).hexdigest()
    assert fingerprint(first.public_key_pem()) == first.fingerprint()


@posix_only
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_key_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "ledger.pem"
    Signer.load_or_create(path)
    path.chmod(mode)
    with pytest.raises(SigningKeyError, match="chmod 600"):
        Signer.load_or_create(path)


@posix_only
def test_malformed_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.pem"
    path.write_bytes(b"not a key")
    path.chmod(0o600)
    with pytest.raises(SigningKeyError):
        Signer.load_or_create(path)


def test_checkpoint_message_layout() -> None:
    h = "ab" * 32
    assert checkpoint_message(258, h) == CHECKPOINT_DOMAIN + bytes(6) + b"\x01\x02" + bytes.fromhex(
        h
    )
    with pytest.raises(InputError):
        checkpoint_message(0, h)
    with pytest.raises(InputError):
        checkpoint_message(1, "AB" * 32)


def test_signature_verifies_over_the_documented_bytes() -> None:
    signer = Signer.generate()
    cp = signer.sign_checkpoint(5, "cd" * 32, datetime(2025, 1, 1, tzinfo=UTC))
    signer.public_key.verify(bytes.fromhex(cp.signature), checkpoint_message(5, "cd" * 32))
    assert cp.key_fingerprint == signer.fingerprint()
    assert cp.at == "2025-01-01T00:00:00.000000Z"
