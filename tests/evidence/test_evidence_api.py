"""The public names of tutela.evidence, tutela.ledger and tutela.store are locked."""

from __future__ import annotations

import tutela.evidence
import tutela.ledger
import tutela.store


def test_evidence_exports() -> None:
    assert sorted(tutela.evidence.__all__) == sorted(
        [
            "PACKAGE_FORMAT",
            "PackageContents",
            "PackageReport",
            "export_package",
            "verified_contents",
            "verify_package",
        ]
    )
    for name in tutela.evidence.__all__:
        assert hasattr(tutela.evidence, name)


def test_ledger_exports() -> None:
    assert sorted(tutela.ledger.__all__) == sorted(
        [
            "CHECKPOINT_DOMAIN",
            "ENTRY_DOMAIN",
            "GENESIS_HASH",
            "Checkpoint",
            "EntryKind",
            "LedgerEntry",
            "Signer",
            "SigningKeyError",
            "TamperError",
            "TimestampError",
            "canonical_json",
            "checkpoint_message",
            "default_key_path",
            "fingerprint",
            "format_instant",
            "format_risk",
            "key_path_for_db",
            "load_public_key",
            "sha256_hex",
            "verify_chain",
        ]
    )
    for name in tutela.ledger.__all__:
        assert hasattr(tutela.ledger, name)


def test_store_exports() -> None:
    for name in tutela.store.__all__:
        assert hasattr(tutela.store, name)
    assert {"open_store", "Store", "Recorder", "StoreError", "verify_store"} <= set(
        tutela.store.__all__
    )
