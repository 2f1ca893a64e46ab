"""The tamper-evident ledger: entries, canonical JSON, signing, checkpoints and verification.

This package is pure: it defines what an entry is, how it is hashed and signed, how a chain and
its checkpoints are verified, and how RFC 3161 time-stamps and trusted keys are checked. It never
opens a database (the rows live in ``tutela.store``, table ``ledger_entries``) and never builds an
evidence package (``tutela.evidence``, above the store). See ``docs/architecture.md``.
See :mod:`tutela.ledger.entry` for the entry format and the hashing rules, and
:mod:`tutela.ledger.payloads` for the payload keys of each entry kind.
"""

from __future__ import annotations

from tutela.ledger.canonical import canonical_json, format_risk
from tutela.ledger.entry import (
    ENTRY_DOMAIN,
    GENESIS_HASH,
    EntryKind,
    LedgerEntry,
    format_instant,
    sha256_hex,
)
from tutela.ledger.errors import SigningKeyError, TamperError, TimestampError
from tutela.ledger.payloads import (
    OPERATION_EVENTS,
    PAYLOAD_TYPES,
    AttachmentPayload,
    AuditPayload,
    ConversationEndedPayload,
    ConversationOpenedPayload,
    DecisionPayload,
    ExportPayload,
    InboundPayload,
    KeyRotatedPayload,
    OperationCreatedPayload,
    OperationEventPayload,
    OperationPayload,
    OutboundPayload,
    PurgedMessage,
    RetentionPurgePayload,
    ReviewPayload,
    payload_type,
)
from tutela.ledger.signing import (
    CHECKPOINT_DOMAIN,
    Checkpoint,
    Signer,
    checkpoint_message,
    default_key_path,
    fingerprint,
    key_path_for_db,
    load_public_key,
)
from tutela.ledger.verify import verify_chain

__all__ = [
    "CHECKPOINT_DOMAIN",
    "ENTRY_DOMAIN",
    "GENESIS_HASH",
    "OPERATION_EVENTS",
    "PAYLOAD_TYPES",
    "AttachmentPayload",
    "AuditPayload",
    "Checkpoint",
    "ConversationEndedPayload",
    "ConversationOpenedPayload",
    "DecisionPayload",
    "EntryKind",
    "ExportPayload",
    "InboundPayload",
    "KeyRotatedPayload",
    "LedgerEntry",
    "OperationCreatedPayload",
    "OperationEventPayload",
    "OperationPayload",
    "OutboundPayload",
    "PurgedMessage",
    "RetentionPurgePayload",
    "ReviewPayload",
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
    "payload_type",
    "sha256_hex",
    "verify_chain",
]
