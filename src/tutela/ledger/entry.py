"""Ledger entries: frozen, self-validating records chained by SHA-256.

Entry shape (``docs/architecture.md``, "Evidence")::

    {seq, prev_hash, at, kind, conversation, payload, payload_sha256, entry_hash}

- ``seq``: 1-based position in the one global chain (int).
- ``prev_hash``: ``entry_hash`` of entry ``seq - 1``; 64 zeros (``GENESIS_HASH``) for ``seq == 1``.
- ``at``: when the ledger recorded the entry, UTC ISO 8601 with ``Z``, microseconds
  (``2025-01-31T12:00:00.000000Z``; see ``format_instant``).
- ``kind``: an ``EntryKind``.
- ``conversation``: the conversation id the entry belongs to, or ``None``.
- ``payload``: a JSON object (no floats, see ``canonical``), or ``None`` in a *redacted* entry
  (an evidence package carries other cases' entries without their payloads).
- ``payload_sha256``: ``sha256(JCS(payload))``, lowercase hex.
- ``entry_hash``: ``sha256(b"\\x00tutela-ledger-entry-v1\\x00" + JCS(header))``, lowercase hex,
  where ``header`` is the entry without ``entry_hash`` and without ``payload``. The payload is bound
  through ``payload_sha256``, so every byte is covered while a redacted entry still verifies its
  place in the chain.

Messages' texts are **not** in the ledger: an inbound/outbound payload holds ``text_sha256`` (and
``wire_sha256``) and the text stays in the ``messages`` row. A retention purge deletes the text and
appends a ``retention_purge`` tombstone; the chain keeps verifying. An evidence package carries the
texts and its verifier checks each against its hash.

Construction validates shapes only and raises ``InputError``; hash agreement is checked by
``verify_chain`` (``TamperError``) so a tampered record can still be loaded and reported.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from tutela.errors import InputError
from tutela.ledger.canonical import canonical_json, to_plain

__all__ = [
    "ENTRY_DOMAIN",
    "GENESIS_HASH",
    "EntryKind",
    "LedgerEntry",
    "format_instant",
    "sha256_hex",
]

GENESIS_HASH = "0" * 64
ENTRY_DOMAIN = b"\x00tutela-ledger-entry-v1\x00"

_HEX64 = re.compile(r"[0-9a-f]{64}")
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")


class EntryKind(StrEnum):
    """What a ledger entry records."""

    INBOUND = "inbound"  # a message received by a persona
    OUTBOUND = "outbound"  # a message a persona (or a human taking over) sent
    DECISION = "decision"  # a policy decision after an inbound message
    REVIEW = "review"  # a human review of a case or referral proposal
    EXPORT = "export"  # an evidence package was produced
    RETENTION_PURGE = "retention_purge"  # message texts deleted under the retention rules
    OPERATION = "operation"  # operational context: operation created, conversation opened/ended
    AUDIT = "audit"  # an audit-log row (identity links, merges, case changes...)


def sha256_hex(data: bytes) -> str:
    """Lowercase hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def format_instant(at: datetime) -> str:
    """An aware instant as ledger text, UTC with microseconds: ``2025-01-31T12:00:00.000000Z``.

    Raises ``InputError`` for a naive datetime.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise InputError("ledger instants must be timezone-aware")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _check_hex(name: str, value: object) -> None:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise InputError(f"{name} must be 64 lowercase hex digits, got {value!r}")


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One ledger entry (see module docstring). Immutable; the payload is deep-frozen.

    Raises ``InputError`` when a field has the wrong type or form.
    """

    seq: int
    prev_hash: str
    at: str
    kind: EntryKind
    conversation: int | None
    payload: Mapping[str, Any] | None
    payload_sha256: str
    entry_hash: str

    def __post_init__(self) -> None:
        if isinstance(self.seq, bool) or not isinstance(self.seq, int) or self.seq < 1:
            raise InputError(f"seq must be a positive integer, got {self.seq!r}")
        _check_hex("prev_hash", self.prev_hash)
        _check_hex("payload_sha256", self.payload_sha256)
        _check_hex("entry_hash", self.entry_hash)
        if not isinstance(self.at, str) or not _INSTANT.fullmatch(self.at):
            raise InputError(f"at must be UTC ISO 8601 ending in 'Z', got {self.at!r}")
        try:
            datetime.fromisoformat(self.at[:-1] + "+00:00")
        except ValueError as e:
            raise InputError(f"at is not a valid instant: {self.at!r}") from e
        try:
            object.__setattr__(self, "kind", EntryKind(self.kind))
        except ValueError as e:
            raise InputError(f"unknown entry kind {self.kind!r}") from e
        conv = self.conversation
        if conv is not None and (isinstance(conv, bool) or not isinstance(conv, int)):
            raise InputError(f"conversation must be an integer id or None, got {conv!r}")
        if self.payload is not None:
            if not isinstance(self.payload, Mapping):
                raise InputError("payload must be a JSON object or None")
            object.__setattr__(self, "payload", _freeze(to_plain(self.payload)))

    # -- derived values ---------------------------------------------------------------------
    def header(self) -> dict[str, Any]:
        """The fields covered directly by ``entry_hash`` (all but ``payload``/``entry_hash``)."""
        return {
            "seq": self.seq,
            "prev_hash": self.prev_hash,
            "at": self.at,
            "kind": self.kind.value,
            "conversation": self.conversation,
            "payload_sha256": self.payload_sha256,
        }

    def computed_entry_hash(self) -> str:
        """``entry_hash`` re-derived from the header."""
        return sha256_hex(ENTRY_DOMAIN + canonical_json(self.header()))

    def computed_payload_sha256(self) -> str | None:
        """``payload_sha256`` re-derived from the payload; ``None`` for a redacted entry."""
        return None if self.payload is None else sha256_hex(canonical_json(self.payload))

    def payload_json(self) -> str | None:
        """The payload's canonical JSON text (as stored), or ``None`` when redacted."""
        return None if self.payload is None else canonical_json(self.payload).decode("utf-8")

    def to_dict(self) -> dict[str, Any]:
        """The entry as a plain JSON object (payload thawed)."""
        d = self.header()
        d["payload"] = None if self.payload is None else to_plain(self.payload)
        d["entry_hash"] = self.entry_hash
        return d

    def redacted(self) -> LedgerEntry:
        """A copy without the payload: it still proves its place in the chain."""
        return LedgerEntry(
            seq=self.seq,
            prev_hash=self.prev_hash,
            at=self.at,
            kind=self.kind,
            conversation=self.conversation,
            payload=None,
            payload_sha256=self.payload_sha256,
            entry_hash=self.entry_hash,
        )

    # -- constructors ------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        *,
        seq: int,
        prev_hash: str,
        at: datetime | str,
        kind: EntryKind | str,
        conversation: int | None,
        payload: Mapping[str, Any],
    ) -> LedgerEntry:
        """Build the next entry, computing ``payload_sha256`` and ``entry_hash``.

        ``at`` may be an aware datetime (formatted with ``format_instant``) or ledger text.
        Raises ``InputError`` for malformed fields or payload values (floats, ...).
        """
        at_text = format_instant(at) if isinstance(at, datetime) else at
        payload_sha = sha256_hex(canonical_json(payload))
        try:
            kind_value = EntryKind(kind)
        except ValueError as e:
            raise InputError(f"unknown entry kind {kind!r}") from e
        probe = cls(
            seq=seq,
            prev_hash=prev_hash,
            at=at_text,
            kind=kind_value,
            conversation=conversation,
            payload=payload,
            payload_sha256=payload_sha,
            entry_hash=GENESIS_HASH,
        )
        object.__setattr__(probe, "entry_hash", probe.computed_entry_hash())
        return probe

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LedgerEntry:
        """Parse an entry from a JSON object (e.g. a JSONL line); ``InputError`` if malformed."""
        if not isinstance(data, Mapping):
            raise InputError("ledger entry must be a JSON object")
        expected = {
            "seq",
            "prev_hash",
            "at",
            "kind",
            "conversation",
            "payload",
            "payload_sha256",
            "entry_hash",
        }
        if set(data) != expected:
            raise InputError(f"ledger entry fields must be {sorted(expected)}, got {sorted(data)}")
        return cls(**{k: data[k] for k in expected})
