"""Evidence packages (skeleton): one case's ledger excerpt, texts, checkpoints and key in a zip.

Layout (``format = "tutela-evidence-package-v1"``)::

    manifest.json       {format, case_id, contact_id, conversations, first_seq, last_seq,
                         key_fingerprint, created_at, files: {name: sha256 hex}}
    entries.jsonl       ledger entries first_seq..last_seq, one canonical JSON object a line;
                        entries of the case's conversations in full, all others redacted
                        (payload null: they prove continuity without disclosing other cases)
    checkpoints.jsonl   Ed25519 checkpoints within that range; the last covers last_seq
    messages.jsonl      the case's message rows: conversation, message_seq, direction, author,
                        text, wire (base64), at, purged
    public_key.pem      the checkpoint key (compare its fingerprint with the published one!)
    report.txt          a short human-readable summary

Exporting appends an ``export`` ledger entry (case id and conversation ids) and signs a checkpoint
over it first, so the package ends with signed proof of its own export and of which
conversations it claims; the manifest itself is not signed and only guards transfer.
``verify_package`` re-derives every file hash, the chain, the signatures, and each message's
text/author/wire against the hashes in its ledger entry.

Not yet: CASE/UCO JSON-LD, RFC 3161 timestamps, the full HTML/PDF report (DESIGN.md, Evidence).
"""

from __future__ import annotations

import base64
import binascii
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutela.errors import InputError
from tutela.evidence.canonical import canonical_json, to_plain
from tutela.evidence.entry import EntryKind, LedgerEntry, format_instant, sha256_hex
from tutela.evidence.errors import TamperError
from tutela.evidence.signing import Checkpoint, Signer, fingerprint, load_public_key
from tutela.evidence.verify import verify_chain

if TYPE_CHECKING:
    from tutela.store import Store

__all__ = ["PACKAGE_FORMAT", "PackageReport", "export_package", "verify_package"]

PACKAGE_FORMAT = "tutela-evidence-package-v1"
_FILES = ("entries.jsonl", "checkpoints.jsonl", "messages.jsonl", "public_key.pem", "report.txt")
_MAX_MEMBER = 2 * 1024**3  # refuse absurd members (zip bombs)


@dataclass(frozen=True, slots=True)
class PackageReport:
    """What ``verify_package`` checked: the case, the entry range, counts and the key."""

    case_id: int
    conversations: tuple[int, ...]
    first_seq: int
    last_seq: int
    entries: int
    case_entries: int
    messages: int
    purged_messages: int
    key_fingerprint: str


def _disclosed(entry: LedgerEntry, conversations: set[int]) -> bool:
    """Entries shown in full: the case's conversations and every retention tombstone (which
    holds only conversation ids and message numbers, so a purge of the case can be checked)."""
    return entry.conversation in conversations or entry.kind is EntryKind.RETENTION_PURGE


def _jsonl(rows: list[Mapping[str, Any]]) -> bytes:
    return b"".join(canonical_json(r) + b"\n" for r in rows)


def export_package(
    store: Store, case_id: int, out_zip: str | Path, *, signer: Signer, actor: str = "system"
) -> PackageReport:
    """Write the evidence package of case ``case_id`` to ``out_zip`` and return its summary.

    Appends an ``export`` entry and a checkpoint (by ``signer``) first. Raises ``NotFoundError``
    for an unknown case, ``InputError`` for a case without recorded conversations.
    """
    from sqlalchemy import select

    from tutela.store.ledger import iter_checkpoints, iter_ledger
    from tutela.store.models import ConversationRow, LedgerEntryRow, MessageRow
    from tutela.store.recorder import Recorder

    recorder = Recorder(store, signer=signer, checkpoint_every=0)
    case = recorder.get_case(case_id)
    with store.session() as s:
        conv_ids = tuple(
            s.execute(
                select(ConversationRow.id)
                .where(ConversationRow.contact_id == case.contact_id)
                .order_by(ConversationRow.id)
            ).scalars()
        )
        first = s.execute(
            select(LedgerEntryRow.seq)
            .where(LedgerEntryRow.conversation.in_(conv_ids))
            .order_by(LedgerEntryRow.seq)
            .limit(1)
        ).scalar_one_or_none()
    if not conv_ids or first is None:
        raise InputError(f"case {case_id} has no recorded conversations to export")
    export_entry = recorder.append_entry(
        EntryKind.EXPORT,
        None,
        {"case_id": case_id, "conversations": list(conv_ids), "actor": actor},
    )
    recorder.checkpoint()
    last = export_entry.seq
    wanted = set(conv_ids)
    entries = [
        e if _disclosed(e, wanted) or e.seq == last else e.redacted()
        for e in iter_ledger(store, start=first, end=last)
    ]
    cps = [c for c in iter_checkpoints(store) if first <= c.seq <= last]
    with store.session() as s:
        rows = s.execute(
            select(MessageRow)
            .where(MessageRow.conversation_id.in_(conv_ids))
            .order_by(MessageRow.conversation_id, MessageRow.seq)
        ).scalars()
        messages = [
            {
                "conversation": m.conversation_id,
                "message_seq": m.seq,
                "direction": m.direction,
                "author": m.author,
                "text": m.text,
                "wire": None if m.wire is None else base64.b64encode(m.wire).decode("ascii"),
                "at": format_instant(m.at),
                "ledger_seq": m.ledger_seq,
                "purged": m.purged_at is not None,
            }
            for m in rows
        ]
    files = {
        "entries.jsonl": _jsonl([e.to_dict() for e in entries]),
        "checkpoints.jsonl": _jsonl([c.to_dict() for c in cps]),
        "messages.jsonl": _jsonl(messages),
        "public_key.pem": signer.public_key_pem().encode("ascii"),
    }
    files["report.txt"] = (
        f"Tutela evidence package\ncase: {case_id} (contact {case.contact_id})\n"
        f"conversations: {', '.join(map(str, conv_ids))}\n"
        f"ledger entries {first}..{last} ({len(entries)}; other cases' entries redacted)\n"
        f"messages: {len(messages)}\nsigning key fingerprint (SHA-256): {signer.fingerprint()}\n"
        "Verify with: tutela verify <this file>\n"
    ).encode()
    manifest = {
        "format": PACKAGE_FORMAT,
        "case_id": case_id,
        "contact_id": case.contact_id,
        "conversations": list(conv_ids),
        "first_seq": first,
        "last_seq": last,
        "key_fingerprint": signer.fingerprint(),
        "created_at": format_instant(datetime.now(UTC)),
        "files": {name: sha256_hex(data) for name, data in files.items()},
    }
    out = Path(out_zip)
    tmp = out.with_name(out.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", canonical_json(manifest))
        for name, data in files.items():
            z.writestr(name, data)
    tmp.replace(out)
    return PackageReport(
        case_id=case_id,
        conversations=conv_ids,
        first_seq=first,
        last_seq=last,
        entries=len(entries),
        case_entries=sum(1 for e in entries if e.payload is not None),
        messages=len(messages),
        purged_messages=sum(1 for m in messages if m["purged"]),
        key_fingerprint=signer.fingerprint(),
    )


def _read(z: zipfile.ZipFile, name: str) -> bytes:
    try:
        info = z.getinfo(name)
    except KeyError as e:
        raise InputError(f"package lacks {name}") from e
    if info.file_size > _MAX_MEMBER:
        raise InputError(f"{name} is too large ({info.file_size} bytes)")
    return z.read(info)


def _lines(data: bytes, name: str) -> list[dict[str, Any]]:
    out = []
    for i, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"not JSON: {e}", path=name, line=i) from e
        if not isinstance(obj, dict):
            raise InputError("expected a JSON object", path=name, line=i)
        out.append(obj)
    return out


def verify_package(
    zip_path: str | Path, *, expected_fingerprint: str | None = None
) -> PackageReport:
    """Verify an evidence package; return what was verified or raise.

    ``expected_fingerprint``: the signing key's published fingerprint; without it the package's
    own key is trusted (compare ``PackageReport.key_fingerprint`` yourself).
    Raises ``TamperError`` (hash, chain, signature or text mismatch) or ``InputError`` (not a
    package, malformed member).
    """
    try:
        z = zipfile.ZipFile(zip_path)
    except (OSError, zipfile.BadZipFile) as e:
        raise InputError(f"not a readable zip file: {e}", path=str(zip_path)) from e
    with z:
        try:
            manifest = json.loads(_read(z, "manifest.json"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise InputError("manifest.json is not JSON", path=str(zip_path)) from e
        if not isinstance(manifest, dict) or manifest.get("format") != PACKAGE_FORMAT:
            raise InputError(f"not a {PACKAGE_FORMAT} package", path=str(zip_path))
        declared = manifest.get("files")
        if not isinstance(declared, dict) or set(declared) != set(_FILES):
            raise TamperError("manifest file list", expected=sorted(_FILES), actual=declared)
        data = {name: _read(z, name) for name in _FILES}
    for name in _FILES:
        actual = sha256_hex(data[name])
        if actual != declared[name]:
            raise TamperError(f"{name} sha256", expected=declared[name], actual=actual)
    try:
        key = load_public_key(data["public_key.pem"])
        entries = [LedgerEntry.from_dict(d) for d in _lines(data["entries.jsonl"], "entries")]
        cps = [Checkpoint(**d) for d in _lines(data["checkpoints.jsonl"], "checkpoints")]
        messages = _lines(data["messages.jsonl"], "messages.jsonl")
        conv_ids = tuple(int(c) for c in manifest["conversations"])
        case_id = int(manifest["case_id"])
    except (TypeError, KeyError, ValueError) as e:
        if isinstance(e, InputError):
            raise
        raise InputError(f"malformed package member: {e}", path=str(zip_path)) from e
    key_fp = fingerprint(key)
    if expected_fingerprint is not None and key_fp != expected_fingerprint:
        raise TamperError("signing key", expected=expected_fingerprint, actual=key_fp)
    if key_fp != manifest.get("key_fingerprint"):
        raise TamperError(
            "manifest key fingerprint", expected=key_fp, actual=manifest.get("key_fingerprint")
        )
    if (
        not entries
        or entries[0].seq != manifest.get("first_seq")
        or entries[-1].seq != manifest.get("last_seq")
    ):
        raise TamperError(
            "entry range",
            expected=(manifest.get("first_seq"), manifest.get("last_seq")),
            actual=(entries[0].seq, entries[-1].seq) if entries else None,
        )
    verify_chain(
        entries, cps, key, from_genesis=False, allow_redacted=True, require_signed_head=True
    )
    export = entries[-1]  # signed: binds the case and its conversations to the chain
    expected_export = {"case_id": case_id, "conversations": list(conv_ids)}
    actual_export = (
        None
        if export.payload is None
        else {k: to_plain(export.payload.get(k)) for k in ("case_id", "conversations")}
    )
    if export.kind is not EntryKind.EXPORT or actual_export != expected_export:
        raise TamperError(
            "manifest disagrees with the signed export entry",
            seq=export.seq,
            expected=actual_export,
            actual=expected_export,
        )
    wanted = set(conv_ids)
    by_seq = {e.seq: e for e in entries}
    for e in entries:
        if e.conversation in wanted and e.payload is None:
            raise TamperError("case entry redacted", seq=e.seq, expected="payload", actual=None)
    tombstones = {
        (item.get("conversation"), item.get("message_seq"))
        for e in entries
        if e.kind is EntryKind.RETENTION_PURGE and e.payload is not None
        for item in e.payload.get("messages", ())
        if isinstance(item, Mapping)
    }
    purged = 0
    for m in messages:
        try:
            entry = by_seq[int(m["ledger_seq"])]
        except (KeyError, TypeError, ValueError) as err:
            raise TamperError(
                "message without its ledger entry", expected="entry", actual=m.get("ledger_seq")
            ) from err
        payload = entry.payload
        if (
            payload is None
            or entry.conversation != m.get("conversation")
            or entry.kind
            not in (
                EntryKind.INBOUND,
                EntryKind.OUTBOUND,
            )
        ):
            raise TamperError(
                "message entry", seq=entry.seq, expected="case message", actual=entry.kind.value
            )
        if payload.get("message_seq") != m.get("message_seq"):
            raise TamperError(
                "message_seq",
                seq=entry.seq,
                expected=payload.get("message_seq"),
                actual=m.get("message_seq"),
            )
        if m.get("purged"):
            if (m.get("conversation"), m.get("message_seq")) not in tombstones:
                raise TamperError(
                    "purged message without a retention_purge entry",
                    seq=entry.seq,
                    expected="tombstone",
                    actual=None,
                )
            purged += 1
            continue
        checks = {
            "text_sha256": sha256_hex(str(m.get("text")).encode("utf-8")),
            "author_sha256": sha256_hex(str(m.get("author")).encode("utf-8")),
        }
        if entry.kind is EntryKind.INBOUND:
            try:
                wire = base64.b64decode(m.get("wire") or "", validate=True)
            except (binascii.Error, ValueError) as err:
                raise InputError("wire is not base64", path="messages.jsonl") from err
            checks["wire_sha256"] = sha256_hex(wire)
        for name, actual in checks.items():
            if payload.get(name) != actual:
                raise TamperError(
                    f"message {name}", seq=entry.seq, expected=payload.get(name), actual=actual
                )
    return PackageReport(
        case_id=case_id,
        conversations=conv_ids,
        first_seq=entries[0].seq,
        last_seq=entries[-1].seq,
        entries=len(entries),
        case_entries=sum(1 for e in entries if e.payload is not None),
        messages=len(messages),
        purged_messages=purged,
        key_fingerprint=key_fp,
    )
