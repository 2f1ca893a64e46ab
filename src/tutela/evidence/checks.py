"""What the members of an evidence package must say: the content checks of ``verify_package``.

:func:`check_contents` takes the manifest, its signature and the data members that
:mod:`tutela.evidence.archive` read (member list and hashes already checked) and returns the
verified :class:`~tutela.evidence.contents.PackageContents`, or raises ``TamperError`` naming
the member, line or ledger entry with what was expected and what was found. The checks, in
order: the key (against an expected fingerprint and the manifest), the manifest signature, the
ledger chain and checkpoints (head signed), the signed export entry against the manifest (case,
conversations, operations, draft flag), every case entry disclosed, each operation record
against its ``operation_created`` entry, each message row against its ledger entry, and the
completeness of every conversation (:mod:`tutela.evidence.completeness`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any, Literal, cast

from tutela.errors import InputError
from tutela.evidence.archive import parse_json, parse_lines, same_text
from tutela.evidence.completeness import check_completeness
from tutela.evidence.contents import PackageContents
from tutela.evidence.layout import DATA_MEMBERS, MANIFEST, OPTIONAL_MEMBERS, SIGNATURE
from tutela.ledger.canonical import to_plain
from tutela.ledger.entry import EntryKind, LedgerEntry, sha256_hex
from tutela.ledger.errors import TamperError
from tutela.ledger.payloads import (
    ConversationOpenedPayload,
    ExportPayload,
    InboundPayload,
    OperationCreatedPayload,
    OutboundPayload,
    RetentionPurgePayload,
)
from tutela.ledger.signing import (
    Checkpoint,
    fingerprint,
    load_public_key,
    verify_manifest_signature,
)
from tutela.ledger.verify import verify_chain

__all__ = ["OPERATION_FIELDS", "check_contents"]

_OperationField = Literal[
    "organisation", "jurisdiction", "legal_basis", "authorisation_ref", "officer", "starts_at",
    "ends_at", "evidential",
]  # fmt: skip
OPERATION_FIELDS: tuple[_OperationField, ...] = (
    "organisation",
    "jurisdiction",
    "legal_basis",
    "authorisation_ref",
    "officer",
    "starts_at",
    "ends_at",
    "evidential",
)
"""Fields of an ``operations.json`` record that must equal its ``operation_created`` payload."""


def check_contents(
    manifest: dict[str, Any],
    raw_manifest: bytes,
    signature: str,
    data: dict[str, bytes],
    expected_fingerprint: str | None,
) -> PackageContents:
    """The verified contents of a package whose member list and hashes were read and checked
    (``tutela.evidence.archive.read_members``: ``manifest`` parsed, ``raw_manifest`` its bytes,
    ``signature`` the hex of ``manifest.sig``, ``data`` the data members by name).

    ``expected_fingerprint``: the signing key's published fingerprint (64 hex; ``None``: the
    package's own key is taken). Checks in the order of the module docstring; raises
    ``TamperError`` at the first disagreement (malformed signed content included). The
    ``timestamp`` of the result is ``None``: the RFC 3161 token is checked by the caller.
    """
    try:
        key = load_public_key(data["public_key.pem"])
    except InputError as e:
        raise TamperError("public_key.pem", expected="Ed25519 PEM", actual=str(e)) from e
    key_fp = fingerprint(key)
    if expected_fingerprint is not None and not same_text(key_fp, expected_fingerprint.lower()):
        raise TamperError(
            "public_key.pem is not the expected signing key (fingerprint)",
            expected=expected_fingerprint.lower(),
            actual=key_fp,
        )
    if not same_text(key_fp, str(manifest.get("key_fingerprint"))):
        raise TamperError(
            f"{MANIFEST} key_fingerprint", expected=key_fp, actual=manifest.get("key_fingerprint")
        )
    if not verify_manifest_signature(raw_manifest, signature, key):
        raise TamperError(
            f"{SIGNATURE}: signature of {MANIFEST} does not verify with public_key.pem",
            expected=f"valid Ed25519 signature by {key_fp}",
            actual=signature[:32] + "...",
        )
    try:
        entries = [
            LedgerEntry.from_dict(d) for d in parse_lines(data["entries.jsonl"], "entries.jsonl")
        ]
        cps = [Checkpoint(**d) for d in parse_lines(data["checkpoints.jsonl"], "checkpoints.jsonl")]
        messages = parse_lines(data["messages.jsonl"], "messages.jsonl")
        operations = parse_json(data["operations.json"], "operations.json")
        conv_ids = tuple(int(c) for c in manifest["conversations"])
        op_ids = tuple(int(c) for c in manifest["operations"])
        case_id = int(manifest["case_id"])
        contact_id = int(manifest["contact_id"])
    except (TypeError, KeyError, ValueError) as e:
        # signed content that does not parse: produced by a broken exporter or a stolen key
        raise TamperError("malformed package member", expected="well-formed", actual=str(e)) from e
    if not isinstance(operations, list) or not all(isinstance(o, dict) for o in operations):
        raise TamperError("operations.json", expected="a list of objects", actual=operations)
    if (
        not entries
        or entries[0].seq != manifest.get("first_seq")
        or entries[-1].seq != manifest.get("last_seq")
    ):
        raise TamperError(
            "entries.jsonl range",
            expected=(manifest.get("first_seq"), manifest.get("last_seq")),
            actual=(entries[0].seq, entries[-1].seq) if entries else None,
        )
    verify_chain(
        entries, cps, key, from_genesis=False, allow_redacted=True, require_signed_head=True
    )
    by_seq = {e.seq: e for e in entries}
    _check_export(entries[-1], case_id, conv_ids, op_ids)
    signed = cast("ExportPayload | None", entries[-1].payload)  # an export (checked above)
    signed_draft = signed is not None and signed.get("draft") is True
    if signed_draft != (manifest.get("draft") is True):
        raise TamperError(
            f"{MANIFEST} draft flag disagrees with the signed export entry",
            seq=entries[-1].seq,
            expected=signed_draft,
            actual=manifest.get("draft"),
        )
    wanted = set(conv_ids)
    for entry in entries:
        if entry.conversation in wanted and entry.payload is None:
            raise TamperError("case entry redacted", seq=entry.seq, expected="payload", actual=None)
    _check_operations(operations, op_ids, by_seq, entries, wanted)
    _check_messages(messages, by_seq, entries, wanted)
    completeness = check_completeness(entries, messages, conv_ids)
    return PackageContents(
        case_id=case_id,
        contact_id=contact_id,
        conversations=conv_ids,
        operation_ids=op_ids,
        created_at=str(manifest.get("created_at")),
        exported_by=str(manifest.get("exported_by")),
        tool=str(manifest.get("tool")),
        entries=tuple(entries),
        checkpoints=tuple(cps),
        messages=tuple(messages),
        operations=tuple(operations),
        key_fingerprint=key_fp,
        public_key_pem=data["public_key.pem"].decode("ascii"),
        data_hashes={
            n: sha256_hex(data[n]) for n in (*DATA_MEMBERS, *OPTIONAL_MEMBERS) if n in data
        },
        completeness=completeness,
    )


def _check_export(
    export: LedgerEntry, case_id: int, conv_ids: tuple[int, ...], op_ids: tuple[int, ...]
) -> None:
    """The signed export entry binds the case, its conversations and operations."""
    expected = {"case_id": case_id, "conversations": list(conv_ids), "operations": list(op_ids)}
    p = cast("ExportPayload | None", export.payload)  # its kind is checked below
    actual = (
        None
        if p is None
        else {
            "case_id": to_plain(p.get("case_id")),
            "conversations": to_plain(p.get("conversations")),
            "operations": to_plain(p.get("operations")),
        }
    )
    if export.kind is not EntryKind.EXPORT or actual != expected:
        raise TamperError(
            f"{MANIFEST} disagrees with the signed export entry",
            seq=export.seq,
            expected=actual,
            actual=expected,
        )


def _check_operations(
    operations: list[dict[str, Any]],
    op_ids: tuple[int, ...],
    by_seq: dict[int, LedgerEntry],
    entries: list[LedgerEntry],
    conversations: set[int],
) -> None:
    """Each operation record equals its ``operation_created`` payload, and every conversation of
    the case was opened under one of them."""
    ids = [o.get("id") for o in operations]
    if ids != list(op_ids):
        raise TamperError("operations.json ids", expected=list(op_ids), actual=ids)
    for op in operations:
        entry = by_seq.get(op.get("ledger_seq"))  # type: ignore[arg-type]
        p = None if entry is None else cast(OperationCreatedPayload, entry.payload)
        if (
            entry is None
            or p is None
            or entry.kind is not EntryKind.OPERATION
            or p.get("event") != "operation_created"
            or p.get("operation_id") != op["id"]
        ):
            raise TamperError(
                f"operations.json: operation {op['id']} has no operation_created entry",
                seq=op.get("ledger_seq"),
                expected="operation_created",
                actual=None if entry is None else entry.kind.value,
            )
        for name in OPERATION_FIELDS:
            if to_plain(p.get(name)) != op.get(name):
                raise TamperError(
                    f"operations.json: operation {op['id']} {name}",
                    seq=entry.seq,
                    expected=p.get(name),
                    actual=op.get(name),
                )
    opened = {
        e.conversation: e
        for e in entries
        if e.conversation in conversations
        and e.kind is EntryKind.OPERATION
        and e.payload is not None
        and e.payload.get("event") == "conversation_opened"
    }
    for conv in sorted(conversations):
        e = opened.get(conv)
        if e is None:
            raise TamperError(
                f"conversation {conv} has no conversation_opened entry",
                expected="conversation_opened",
                actual=None,
            )
        opening = cast(ConversationOpenedPayload, e.payload or {})  # the payload is there (above)
        opened_under = opening.get("operation_id")
        if opened_under not in op_ids:
            raise TamperError(
                f"conversation {conv} was opened under an operation not in the package",
                seq=e.seq,
                expected=list(op_ids),
                actual=opened_under,
            )


def _check_messages(
    messages: list[dict[str, Any]],
    by_seq: dict[int, LedgerEntry],
    entries: list[LedgerEntry],
    conversations: set[int],
) -> None:
    """Every message row is bound to its ledger entry, and every recorded message is present."""
    tombstones = {
        (item.get("conversation"), item.get("message_seq"))
        for e in entries
        if e.kind is EntryKind.RETENTION_PURGE and e.payload is not None
        for item in cast(RetentionPurgePayload, e.payload).get("messages", ())
        if isinstance(item, Mapping)
    }
    recorded = {
        e.seq
        for e in entries
        if e.conversation in conversations and e.kind in (EntryKind.INBOUND, EntryKind.OUTBOUND)
    }
    seen: set[int] = set()
    for i, m in enumerate(messages, start=1):
        where = f"messages.jsonl line {i}"
        try:
            entry = by_seq[int(m["ledger_seq"])]
        except (KeyError, TypeError, ValueError) as err:
            raise TamperError(
                f"{where}: no ledger entry", expected="entry", actual=m.get("ledger_seq")
            ) from err
        # checked just below: an inbound or outbound entry (``inbound``: which one)
        payload = cast("InboundPayload | OutboundPayload | None", entry.payload)
        inbound = entry.kind is EntryKind.INBOUND
        if (
            payload is None
            or entry.conversation != m.get("conversation")
            or entry.kind not in (EntryKind.INBOUND, EntryKind.OUTBOUND)
            or m.get("direction") != ("in" if inbound else "out")
            or entry.seq in seen
        ):
            raise TamperError(
                f"{where}: not the case message its ledger entry records",
                seq=entry.seq,
                expected=f"{entry.kind.value} of conversation {entry.conversation}",
                actual=f"{m.get('direction')} of conversation {m.get('conversation')}",
            )
        seen.add(entry.seq)
        received = cast(InboundPayload, payload)  # read only when ``inbound``
        checks: dict[str, tuple[object, object]] = {
            "message_seq": (payload.get("message_seq"), m.get("message_seq")),
            "at": (received.get("received_at") if inbound else payload.get("sent_at"), m.get("at")),
            # an inbound entry names the platform's send stamp only when there was one (older
            # entries never): absent and null agree; an outbound row has none (``at`` is it)
            "sent_at": (payload.get("sent_at") if inbound else None, m.get("sent_at")),
        }
        if inbound:
            checks["contact_line"] = (received.get("contact_line"), m.get("contact_line"))
        # "never answer": only a row whose entry holds "answer": false is marked (the key is
        # absent otherwise, and in packages written before it)
        quiet = inbound and received.get("answer") is False
        checks["answer"] = (False if quiet else None, m.get("answer"))
        checks["answer_note"] = ("not answered by design" if quiet else None, m.get("answer_note"))
        if m.get("purged"):
            if (m.get("conversation"), m.get("message_seq")) not in tombstones:
                raise TamperError(
                    f"{where}: purged message without a retention_purge entry",
                    seq=entry.seq,
                    expected="tombstone",
                    actual=None,
                )
            # the purge cleared them: content on a purged row was written after it
            for name in ("text", "wire"):
                if m.get(name) is not None:
                    raise TamperError(
                        f"{where}: {name} of a purged message", seq=entry.seq,
                        expected=None, actual=m.get(name),
                    )  # fmt: skip
        else:
            checks["text_sha256"] = (
                payload.get("text_sha256"),
                sha256_hex(str(m.get("text")).encode("utf-8")),
            )
            checks["author_sha256"] = (
                payload.get("author_sha256"),
                sha256_hex(str(m.get("author")).encode("utf-8")),
            )
            # inbound rows always have wire bytes; an outbound one only for a line typed on
            # another device of the account (the platform's copy, ``human:device:...``)
            if inbound or "wire_sha256" in payload or m.get("wire") is not None:
                try:
                    wire = base64.b64decode(m.get("wire") or "", validate=True)
                except (binascii.Error, ValueError) as err:
                    raise TamperError(
                        f"{where}: wire", expected="base64", actual=m.get("wire")
                    ) from err
                checks["wire_sha256"] = (payload.get("wire_sha256"), sha256_hex(wire))
        for name, (expected, actual) in checks.items():
            if expected != actual:
                raise TamperError(
                    f"{where}: {name}", seq=entry.seq, expected=expected, actual=actual
                )
    missing = sorted(recorded - seen)
    if missing:
        raise TamperError(
            "messages.jsonl lacks recorded messages", seq=missing[0], expected=missing, actual=None
        )
    order = [(m["conversation"], m["message_seq"]) for m in messages]
    if order != sorted(order):
        raise TamperError("messages.jsonl order", expected=sorted(order), actual=order)
