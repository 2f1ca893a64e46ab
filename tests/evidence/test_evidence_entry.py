"""LedgerEntry: self-validation and the hashing rules, checked against an independent derivation."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tutela.errors import InputError
from tutela.ledger import GENESIS_HASH, EntryKind, LedgerEntry, format_instant

AT = datetime(2025, 3, 1, 12, 0, 0, 5, tzinfo=UTC)


def make(**kw: object) -> LedgerEntry:
    args: dict[str, object] = {
        "seq": 1,
        "prev_hash": GENESIS_HASH,
        "at": AT,
        "kind": "inbound",
        "conversation": 7,
        "payload": {"message_seq": 1, "text_sha256": "ab" * 32},
    }
    args.update(kw)
    return LedgerEntry.create(**args)  # type: ignore[arg-type]


def test_hashes_match_an_independent_derivation() -> None:
    e = make()
    payload_bytes = b'{"message_seq":1,"text_sha256":"' + b"ab" * 32 + b'"}'
    assert e.payload_sha256 == hashlib.sha256(payload_bytes).hexdigest()
    header = {
        "at": "2025-03-01T12:00:00.000005Z",
        "conversation": 7,
        "kind": "inbound",
        "payload_sha256": e.payload_sha256,
        "prev_hash": GENESIS_HASH,
        "seq": 1,
    }
    header_bytes = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    expected = hashlib.sha256(b"\x00tutela-ledger-entry-v1\x00" + header_bytes).hexdigest()
    assert e.entry_hash == expected


def test_entry_is_frozen_deeply() -> None:
    e = make(payload={"list": [1, 2], "obj": {"k": "v"}})
    with pytest.raises(AttributeError):
        e.seq = 2  # type: ignore[misc]
    assert e.payload is not None
    with pytest.raises(TypeError):
        e.payload["obj"]["k"] = "w"  # type: ignore[index]
    assert e.payload["list"] == (1, 2)


def test_round_trip_through_dict() -> None:
    e = make(kind=EntryKind.DECISION, conversation=None)
    assert LedgerEntry.from_dict(json.loads(json.dumps(e.to_dict()))) == e


def test_redacted_keeps_hashes() -> None:
    e = make()
    r = e.redacted()
    assert r.payload is None
    assert r.entry_hash == e.entry_hash == r.computed_entry_hash()


@pytest.mark.parametrize(
    "change",
    [
        {"seq": 0},
        {"seq": True},
        {"prev_hash": "0" * 63},
        {"prev_hash": "G" * 64},
        {"at": "2025-03-01T12:00:00+00:00"},
        {"at": "2025-13-01T12:00:00Z"},
        {"kind": "gossip"},
        {"conversation": "7"},
        {"payload": {"risk": 0.5}},
        {"payload": ["not", "an", "object"]},
    ],
)
def test_malformed_entries_raise_input_error(change: dict[str, object]) -> None:
    base = make().to_dict()
    base.update(change)
    with pytest.raises(InputError):
        LedgerEntry.from_dict(base)


def test_from_dict_requires_exact_fields() -> None:
    d = make().to_dict()
    d["extra"] = 1
    with pytest.raises(InputError):
        LedgerEntry.from_dict(d)


def test_format_instant_converts_to_utc_and_refuses_naive() -> None:
    cet = timezone(timedelta(hours=1))
    assert format_instant(datetime(2025, 1, 1, 13, 0, tzinfo=cet)) == "2025-01-01T12:00:00.000000Z"
    with pytest.raises(InputError):
        format_instant(datetime(2025, 1, 1, 12, 0))
