"""The public names of tutela.evidence and tutela.store are locked."""

from __future__ import annotations

import tutela.evidence
import tutela.store


def test_evidence_exports() -> None:
    assert sorted(tutela.evidence.__all__) == sorted(
        [
            "CHECKPOINT_DOMAIN",
            "ENTRY_DOMAIN",
            "GENESIS_HASH",
            "PACKAGE_FORMAT",
            "Checkpoint",
            "EntryKind",
            "LedgerEntry",
            "PackageContents",
            "PackageReport",
            "Signer",
            "SigningKeyError",
            "TamperError",
            "TimestampError",
            "canonical_json",
            "checkpoint_message",
            "default_key_path",
            "export_package",
            "fingerprint",
            "format_instant",
            "format_risk",
            "key_path_for_db",
            "load_public_key",
            "sha256_hex",
            "verified_contents",
            "verify_chain",
            "verify_package",
        ]
    )
    for name in tutela.evidence.__all__:
        assert hasattr(tutela.evidence, name)


def test_store_exports() -> None:
    for name in tutela.store.__all__:
        assert hasattr(tutela.store, name)
    assert {"open_store", "Store", "Recorder", "StoreError", "verify_store"} <= set(
        tutela.store.__all__
    )
