"""The tamper-evident ledger: entries, canonical JSON, checkpoints and verification.

The ledger rows live in the store (``tutela.store``, table ``ledger_entries``); this package
defines what an entry is, how it is hashed and signed, and how a chain is verified. See
``tutela.evidence.entry`` for the entry format and the hashing rules.
"""

from __future__ import annotations

from tutela.evidence.canonical import canonical_json, format_risk
from tutela.evidence.contents import PackageContents
from tutela.evidence.entry import (
    ENTRY_DOMAIN,
    GENESIS_HASH,
    EntryKind,
    LedgerEntry,
    format_instant,
    sha256_hex,
)
from tutela.evidence.errors import SigningKeyError, TamperError, TimestampError
from tutela.evidence.package import (
    PACKAGE_FORMAT,
    PackageReport,
    export_package,
    verified_contents,
    verify_package,
)
from tutela.evidence.signing import (
    CHECKPOINT_DOMAIN,
    Checkpoint,
    Signer,
    checkpoint_message,
    default_key_path,
    fingerprint,
    key_path_for_db,
    load_public_key,
)
from tutela.evidence.verify import verify_chain

__all__ = [
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
