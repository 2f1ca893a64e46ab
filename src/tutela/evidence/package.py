"""Evidence packages: one case's ledger excerpt, texts, operations, checkpoints, key and reports
in a zip that anyone can verify offline (``tutela verify``).

Layout (``format = "tutela-evidence-package-v1"``)::

    manifest.json       canonical JSON {format, case_id, contact_id, conversations, operations,
                        first_seq, last_seq, key_fingerprint, created_at, exported_by, tool,
                        files: {member name: sha256 hex}}; lists every member but itself and
                        manifest.sig
    manifest.sig        Ed25519 signature (128 hex digits) of manifest.json by the ledger key
                        (``tutela.ledger.signing.manifest_message``)
    entries.jsonl       ledger entries first_seq..last_seq, one canonical JSON object a line;
                        in full: the case's conversations, its operations' ``operation_created``
                        entries, its ``review`` entries, retention tombstones and the closing
                        ``export`` entry; all others
                        redacted (payload null: they prove continuity without disclosing other
                        cases)
    checkpoints.jsonl   Ed25519 checkpoints within that range; the last signs last_seq
    messages.jsonl      the case's messages: conversation, message_seq, direction, contact_line,
                        author, text, wire (base64), at, ledger_seq, purged; inbound rows also
                        sent_at (the platform's send stamp, null when it stated none; ``at``
                        is the receive time; rows of packages written before it lack the key)
    operations.json     the operations the conversations were collected under (organisation,
                        jurisdiction, legal basis, authorisation reference, officer, dates,
                        evidential flag), each bound to its ``operation_created`` ledger entry
    public_key.pem      the ledger key (compare its fingerprint with the published one!)
    timestamp.tsr       optional: RFC 3161 TimeStampResp over the head checkpoint
                        (``tutela.ledger.timestamp``)
    report.html         human-readable report (derived from the members above)
    report.pdf          the same report as PDF
    case.jsonld         CASE 1.x / UCO 1.x JSON-LD (``tutela.evidence.caseuco``)

Exporting appends an ``export`` ledger entry (case, conversations, operations, actor) and signs a
checkpoint over it, so the excerpt ends with signed proof of its own export and of what it claims.
The manifest signature binds every member, the derived reports included: a changed byte anywhere
fails verification even when the manifest hash was fixed up. Whoever holds another key can re-sign
a forged package consistently; only comparing the key fingerprint with one published out of band
(``expected_fingerprint``) or with a trusted key (``tutela.ledger.trust``) detects that.

Reading a package treats it as hostile input: member count, names and declared sizes are checked
against ``ReadLimits`` from the central directory before any member is decompressed (the data
members, which are parsed in memory, under a much smaller cap than the hashed-only reports); each
member is decompressed in chunks and its SHA-256 compared with the manifest as soon as it is read,
so reading stops at the first mismatch; the reports are only hashed, never kept; parsed JSON may
nest at most ``MAX_JSON_DEPTH`` levels. The package must be a regular file (not a FIFO or device).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import json
import lzma
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutela import __version__
from tutela.errors import InputError
from tutela.evidence.contents import PackageContents
from tutela.files import open_regular
from tutela.ledger.canonical import canonical_json, to_plain
from tutela.ledger.entry import EntryKind, LedgerEntry, format_instant, sha256_hex
from tutela.ledger.errors import SigningKeyError, TamperError
from tutela.ledger.signing import (
    Checkpoint,
    Signer,
    fingerprint,
    load_public_key,
    verify_manifest_signature,
)
from tutela.ledger.verify import verify_chain
from tutela.private import private_file

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tutela.store import Store

__all__ = [
    "DATA_MEMBERS",
    "DERIVED_MEMBERS",
    "MAX_JSON_DEPTH",
    "PACKAGE_FORMAT",
    "PackageReport",
    "ReadLimits",
    "TimestampTransport",
    "export_package",
    "read_package",
    "verified_contents",
    "verify_package",
]

PACKAGE_FORMAT = "tutela-evidence-package-v1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
TIMESTAMP = "timestamp.tsr"
DATA_MEMBERS = (
    "entries.jsonl",
    "checkpoints.jsonl",
    "messages.jsonl",
    "operations.json",
    "public_key.pem",
)
DERIVED_MEMBERS = ("report.html", "report.pdf", "case.jsonld")
_OPTIONAL = (TIMESTAMP,)
_OPERATION_FIELDS = (
    "organisation",
    "jurisdiction",
    "legal_basis",
    "authorisation_ref",
    "officer",
    "starts_at",
    "ends_at",
    "evidential",
)

DRAFT_STATUS = "DRAFT — not evidential"
"""Manifest ``status`` (and report tool line) of a package exported with ``draft=True``."""

TimestampTransport = Callable[[bytes], bytes]
"""Sends a DER ``TimeStampReq`` to a TSA and returns its DER ``TimeStampResp``."""


@dataclass(frozen=True, slots=True)
class PackageReport:
    """What ``verify_package`` checked (or ``export_package`` wrote).

    ``evidential`` is False for a draft or when any operation of the case is non-evidential (a
    demonstration); ``operations_evidential`` only the latter; ``timestamp`` is the RFC 3161
    generation time (ledger text) when a token was present;
    ``timestamp_trusted`` tells whether its certificate chain was checked against a given TSA
    certificate (otherwise only the imprint and the token's own signature were checked).
    """

    case_id: int
    conversations: tuple[int, ...]
    operations: tuple[int, ...]
    first_seq: int
    last_seq: int
    entries: int
    case_entries: int
    messages: int
    purged_messages: int
    key_fingerprint: str
    evidential: bool
    files: tuple[str, ...]
    timestamp: str | None = None
    timestamp_trusted: bool = False
    operations_evidential: bool = True


def _disclosed(
    entry: LedgerEntry, case_id: int, conversations: set[int], op_seqs: set[int]
) -> bool:
    """Entries shown in full: the case's conversations, its operations' creation, its reviews
    (``review`` entries naming the case: status changes, referral decisions), and every
    retention tombstone (it holds only conversation ids and message numbers)."""
    return (
        entry.conversation in conversations
        or entry.kind is EntryKind.RETENTION_PURGE
        or entry.seq in op_seqs
        or (
            entry.kind is EntryKind.REVIEW
            and entry.payload is not None
            and entry.payload.get("case_id") == case_id
        )
    )


def _jsonl(rows: list[Mapping[str, Any]]) -> bytes:
    return b"".join(canonical_json(r) + b"\n" for r in rows)


def export_package(
    store: Store,
    case_id: int,
    out_zip: str | Path,
    *,
    signer: Signer,
    actor: str = "system",
    timestamper: TimestampTransport | None = None,
    draft: bool = False,
) -> PackageReport:
    """Write the evidence package of case ``case_id`` to ``out_zip`` and return its summary.

    Before anything is signed, the live ledger is verified from the case's first entry to the
    head (``tutela.store.ledger_verify.verify_ledger``: chain, ``ledger_head``, checkpoints, the
    witness file) and every message of the case against its ledger entry; a disagreement raises
    ``TamperError`` naming the entry and message, and nothing is appended or written.

    Appends an ``export`` entry and signs a checkpoint over it (with ``signer``, which must be the
    ledger's key, or a key its ``key_rotated`` entries hand over to). Only checkpoints by
    ``signer`` go into the package (the head one signs the whole excerpt). ``timestamper``: when
    given, the head checkpoint is timestamped (RFC 3161) and the reply stored as
    ``timestamp.tsr``. ``draft``: a working copy, not evidence — the signed export entry and the
    manifest carry ``"draft": true`` (manifest ``"status": "DRAFT — not evidential"``), the report
    names it in the tool line, and an ``export_draft`` audit row is recorded with the export
    entry. The zip is written to a temporary name and renamed. Raises ``NotFoundError`` for an
    unknown case, ``InputError`` for a case without recorded conversations,
    ``SigningKeyError`` when the ledger's checkpoints were signed by another key (nothing is
    appended then), ``TamperError`` (above), ``TimestampError`` when the TSA fails.
    """
    from tutela.evidence import caseuco, report
    from tutela.evidence._collect import case_scope, message_rows, operation_rows
    from tutela.store import ledger, ledger_verify
    from tutela.store.ledger import iter_checkpoints, iter_ledger

    scope = case_scope(store, case_id)
    known = {signer.fingerprint(), *ledger_verify.rotation_fingerprints(store)}
    foreign = sorted({c.key_fingerprint for c in iter_checkpoints(store)} - known)
    if foreign:
        raise SigningKeyError(
            f"the ledger's checkpoints were signed by {', '.join(foreign)}, not by this key "
            f"({signer.fingerprint()}): export with the ledger's signing key"
        )
    _verify_before_export(store, scope, signer)
    payload: dict[str, Any] = {
        "case_id": case_id,
        "conversations": list(scope.conversations),
        "operations": list(scope.operations),
        "actor": actor,
    }
    if draft:
        payload["draft"] = True

    def _append_and_sign(s: Session) -> tuple[LedgerEntry, Checkpoint]:
        # one transaction: the checkpoint signs exactly the export entry, whatever else is
        # being recorded concurrently
        now = datetime.now(UTC)
        if draft:
            from tutela.store import Recorder

            audit = {"case_id": case_id, "draft": True, "out": Path(out_zip).name}
            Recorder(store, checkpoint_every=0, clock=lambda: now)._audit(
                s, actor, "export_draft", f"case:{case_id}", audit
            )
        entry = ledger.append(s, kind=EntryKind.EXPORT, conversation=None, payload=payload, at=now)
        cp = ledger.sign_head(s, signer, now)
        assert cp is not None and cp.seq == entry.seq
        return entry, cp

    export_entry, head = store.write(_append_and_sign)
    first, last = scope.first_seq, export_entry.seq
    wanted = set(scope.conversations)
    op_seqs = set(scope.operation_seqs.values())
    entries = [
        e if _disclosed(e, case_id, wanted, op_seqs) or e.seq == last else e.redacted()
        for e in iter_ledger(store, start=first, end=last)
    ]
    cps = [
        c
        for c in iter_checkpoints(store)
        if first <= c.seq <= last and c.key_fingerprint == signer.fingerprint()
    ]
    messages = message_rows(store, scope.conversations, max_seq=last)
    operations = operation_rows(store, scope.operation_seqs)
    files: dict[str, bytes] = {
        "entries.jsonl": _jsonl([e.to_dict() for e in entries]),
        "checkpoints.jsonl": _jsonl([c.to_dict() for c in cps]),
        "messages.jsonl": _jsonl(messages),
        "operations.json": canonical_json(operations),
        "public_key.pem": signer.public_key_pem().encode("ascii"),
    }
    ts_summary = None
    if timestamper is not None:
        from tutela.ledger.timestamp import request_timestamp, timestamp_summary

        files[TIMESTAMP] = request_timestamp(canonical_json(head.to_dict()), timestamper)
        ts_summary = timestamp_summary(files[TIMESTAMP])
    created_at = format_instant(datetime.now(UTC))
    contents = PackageContents(
        case_id=case_id,
        contact_id=scope.contact_id,
        conversations=scope.conversations,
        operation_ids=scope.operations,
        created_at=created_at,
        exported_by=actor,
        tool=f"tutela {__version__}" + (f" ({DRAFT_STATUS})" if draft else ""),
        entries=tuple(entries),
        checkpoints=tuple(cps),
        messages=tuple(messages),
        operations=tuple(operations),
        key_fingerprint=signer.fingerprint(),
        public_key_pem=signer.public_key_pem(),
        timestamp=ts_summary,
        data_hashes={name: sha256_hex(data) for name, data in files.items()},
    )
    files["report.html"] = report.render_html(contents).encode("utf-8")
    files["report.pdf"] = report.render_pdf(contents)
    files["case.jsonld"] = json.dumps(
        caseuco.case_jsonld(contents), ensure_ascii=False, indent=1, sort_keys=True
    ).encode("utf-8")
    manifest = canonical_json(
        {
            "format": PACKAGE_FORMAT,
            "case_id": case_id,
            "contact_id": scope.contact_id,
            "conversations": list(scope.conversations),
            "operations": list(scope.operations),
            "first_seq": first,
            "last_seq": last,
            "key_fingerprint": signer.fingerprint(),
            "created_at": created_at,
            "exported_by": actor,
            "tool": contents.tool,
            **({"draft": True, "status": DRAFT_STATUS} if draft else {}),
            "files": {name: sha256_hex(data) for name, data in files.items()},
        }
    )
    out = Path(out_zip)
    tmp = out.with_name(f".{out.name}.part")
    try:
        tmp.unlink(missing_ok=True)
        private_file(tmp)  # 0600: the package holds the case's message texts
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr(MANIFEST, manifest)
            z.writestr(SIGNATURE, signer.sign_manifest(manifest) + "\n")
            for name, data in files.items():
                z.writestr(name, data)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return _summary(contents, tuple(files), timestamp_trusted=False)


def _verify_before_export(store: Store, scope: Any, signer: Signer) -> None:
    """The live ledger from the case's first entry, and the case's messages, verify (see
    ``export_package``); ``TamperError`` naming the entry (and message) otherwise."""
    from tutela.store.ledger_verify import verify_ledger

    try:
        verify_ledger(
            store, [signer.public_key], start=scope.first_seq, conversations=scope.conversations
        )
    except TamperError as e:
        raise TamperError(
            f"refusing to export case {scope.case_id}: the live ledger does not verify: {e.what}",
            seq=e.seq,
            expected=e.expected,
            actual=e.actual,
        ) from e


def _summary(
    c: PackageContents, files: tuple[str, ...], *, timestamp_trusted: bool
) -> PackageReport:
    return PackageReport(
        case_id=c.case_id,
        conversations=c.conversations,
        operations=c.operation_ids,
        first_seq=c.entries[0].seq,
        last_seq=c.entries[-1].seq,
        entries=len(c.entries),
        case_entries=sum(1 for e in c.entries if e.payload is not None),
        messages=len(c.messages),
        purged_messages=sum(1 for m in c.messages if m.get("purged")),
        key_fingerprint=c.key_fingerprint,
        evidential=c.evidential,
        operations_evidential=c.operations_evidential,
        files=tuple(sorted(files)),
        timestamp=None if c.timestamp is None else str(c.timestamp["gen_time"]),
        timestamp_trusted=timestamp_trusted,
    )


# -- reading ---------------------------------------------------------------------------------
# A package is attacker-supplied input (OWASP File Upload Cheat Sheet; zip bombs, path traversal,
# "Zip Slip"): sizes and names are judged from the central directory before any member is
# decompressed, members are decompressed in chunks and compared with the manifest one by one
# (the first mismatch stops the reading), and parsed JSON has a bounded depth.
MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays/objects accepted in a parsed member (a Tutela payload needs ~4)."""
_SMALL_MEMBER = 1024**2  # manifest.json and manifest.sig: a few hundred bytes when genuine
_CHUNK = 1024**2
_DIRECTORY_BYTES_PER_MEMBER = 1024
_S_IFMT, _S_IFLNK = 0o170000, 0o120000
_DRIVE = re.compile(r"[A-Za-z]:")


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """Resource limits for reading a package, checked against the zip's central directory
    before any member is decompressed (and again while decompressing, against the bytes
    actually produced).

    ``max_members``: entries in the zip (default 10,000; a package has 10 or 11); the central
    directory itself may take at most ``max_members`` KiB. ``max_total_size``: declared
    uncompressed bytes of all members together (default 2 GiB). ``max_member_size``: declared
    uncompressed bytes of one member (default 512 MiB; the reports and ``case.jsonld`` are only
    hashed in 1 MiB chunks, never held). ``max_parsed_member``: uncompressed bytes of one data
    member that is read into memory and parsed (``DATA_MEMBERS`` and ``timestamp.tsr``; default
    64 MiB — genuine ones are kilobytes to a few megabytes; a case whose ``messages.jsonl`` or
    ``entries.jsonl`` is larger needs a higher ``--max-parsed-member``, and its reader needs about
    five times that in memory). ``manifest.json`` and ``manifest.sig`` may take at most 1 MiB.
    Exceeding one is an ``InputError`` naming the member and the limit (``tutela verify
    --max-members/--max-total-size/--max-member-size/--max-parsed-member``). Raises
    ``InputError`` for a limit that is not a positive integer.
    """

    max_members: int = 10_000
    max_total_size: int = 2 * 1024**3
    max_member_size: int = 512 * 1024**2
    max_parsed_member: int = 64 * 1024**2

    def __post_init__(self) -> None:
        for name in ("max_members", "max_total_size", "max_member_size", "max_parsed_member"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{name} must be a positive integer, got {value!r}")


def _too_deep(obj: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when ``obj`` nests lists/dicts deeper than ``limit`` (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children)
    return False


def _loads(data: bytes | str, what: str) -> Any:
    """``json.loads`` with a depth limit; ``InputError`` naming ``what`` for malformed JSON or
    nesting deeper than ``MAX_JSON_DEPTH`` (never ``RecursionError``)."""
    try:
        obj = json.loads(data)
    except RecursionError:
        obj = None
        deep = True
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{what} is not JSON: {e}") from e
    else:
        deep = _too_deep(obj)
    if deep:
        raise InputError(f"{what} nests arrays/objects deeper than {MAX_JSON_DEPTH} levels")
    return obj


def _lines(data: bytes, name: str) -> list[dict[str, Any]]:
    """The JSON objects of a JSON Lines member, one per line ended by a line feed (JSON Lines;
    not ``str.splitlines``, which would also split at U+2028, U+0085 ... inside a string that
    canonical JSON leaves unescaped). Lines are decoded one at a time, so the member's text is
    never copied whole. ``TamperError`` naming the line for bad UTF-8, bad JSON or a non-object."""
    out = []
    for i, raw in enumerate(io.BytesIO(data), start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise TamperError(
                f"{name} is not UTF-8 (line {i})", expected="UTF-8", actual=str(e)
            ) from e
        try:
            obj = _loads(line, f"{name} line {i}")
        except InputError as e:
            raise TamperError(f"{name} line {i} is not JSON", expected="JSON", actual=str(e)) from e
        if not isinstance(obj, dict):
            raise TamperError(f"{name} line {i}", expected="a JSON object", actual=line[:80])
        out.append(obj)
    return out


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))


def _unsafe_name(info: zipfile.ZipInfo) -> str | None:
    """Why a member name is unsafe to extract (or ``None``): absolute, ``..``, backslash, drive
    letter, control character, or a symbolic link (Unix mode in ``external_attr``)."""
    name, raw = info.filename, info.orig_filename
    if not name:
        return "empty name"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in raw):
        return "control character in the name"
    if "\\" in raw:
        return "backslash in the name"
    if raw.startswith("/"):
        return "absolute path"
    if _DRIVE.match(raw):
        return "drive letter"
    if ".." in raw.split("/"):
        return "'..' component (path traversal)"
    if (info.external_attr >> 16) & _S_IFMT == _S_IFLNK:
        return "symbolic link entry"
    return None


def _declared_directory(fh: Any) -> tuple[int, int] | None:
    """(entries, central directory bytes) as the end-of-central-directory record (or its ZIP64
    form) declares them, read from the file's tail; ``None`` when not found (zipfile decides)."""
    fh.seek(0, 2)
    size = fh.tell()
    tail_len = min(size, 22 + 0xFFFF + 20)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    i = tail.rfind(b"PK\x05\x06")
    if i < 0 or len(tail) - i < 22:
        return None
    entries, cd_size = struct.unpack_from("<HL", tail, i + 10)
    j = i - 20
    if (entries == 0xFFFF or cd_size == 0xFFFFFFFF) and j >= 0 and tail[j : j + 4] == b"PK\x06\x07":
        (offset,) = struct.unpack_from("<Q", tail, j + 8)
        fh.seek(offset)
        record = fh.read(56)
        if len(record) == 56 and record[:4] == b"PK\x06\x06":
            entries, cd_size = struct.unpack_from("<QQ", record, 32)
    return int(entries), int(cd_size)


def _open_zip(fh: io.BufferedReader, limits: ReadLimits, path: str) -> zipfile.ZipFile:
    """The zip read from ``fh`` (``open_regular``), after checking the member count and
    directory size its end-of-central-directory record declares. The caller closes ``fh``
    (``zipfile`` does not close a file object it was given)."""
    try:
        declared = _declared_directory(fh)
    except (OSError, ValueError, struct.error) as e:
        raise InputError(f"not a readable zip file: {e}", path=path) from e
    if declared is not None:
        entries, cd_size = declared
        if entries > limits.max_members:
            raise InputError(
                f"the zip declares {entries} members, over the limit of {limits.max_members} "
                "(max_members, tutela verify --max-members)",
                path=path,
            )
        if cd_size > limits.max_members * _DIRECTORY_BYTES_PER_MEMBER:
            raise InputError(
                f"the zip's central directory of {cd_size} bytes exceeds "
                f"{_DIRECTORY_BYTES_PER_MEMBER} bytes per member allowed by the limit of "
                f"{limits.max_members} members (max_members, tutela verify --max-members)",
                path=path,
            )
    try:
        fh.seek(0)
        return zipfile.ZipFile(fh)
    except (OSError, zipfile.BadZipFile, ValueError, RuntimeError, NotImplementedError) as e:
        raise InputError(f"not a readable zip file: {e}", path=path) from e


def _check_directory(infos: list[zipfile.ZipInfo], limits: ReadLimits, path: str) -> None:
    """Member count, names, duplicates (one set: O(n)) and declared sizes, before any read."""
    if len(infos) > limits.max_members:
        raise InputError(
            f"{len(infos)} members, over the limit of {limits.max_members} "
            "(max_members, tutela verify --max-members)",
            path=path,
        )
    seen: set[str] = set()
    dupes: set[str] = set()
    total = 0
    for info in infos:
        why = _unsafe_name(info)
        if why is not None:
            raise TamperError(
                f"unsafe member name {info.orig_filename!r}: {why}",
                expected="a plain relative member name",
                actual=info.orig_filename,
            )
        if info.filename in seen:
            dupes.add(info.filename)
        seen.add(info.filename)
    if dupes:
        raise TamperError("duplicated members", expected="each name once", actual=sorted(dupes))
    for info in infos:
        limit, which = _member_limit(info.filename, limits)
        if info.file_size > limit:
            raise InputError(
                f"member {info.filename!r} declares {info.file_size} bytes uncompressed, over the "
                f"{which}",
                path=path,
            )
        total += info.file_size
    if total > limits.max_total_size:
        raise InputError(
            f"members declare {total} bytes uncompressed in all, over the limit of "
            f"{limits.max_total_size} bytes (max_total_size, tutela verify --max-total-size)",
            path=path,
        )


_PARSED = frozenset((*DATA_MEMBERS, *_OPTIONAL))


def _member_limit(name: str, limits: ReadLimits) -> tuple[int, str]:
    """(uncompressed byte limit, message text naming it) for member ``name``: 1 MiB for the
    manifest and its signature, ``max_parsed_member`` for a data member (held in memory and
    parsed), ``max_member_size`` for every other member (only hashed); never above
    ``max_member_size``."""
    if name in (MANIFEST, SIGNATURE) and limits.max_member_size > _SMALL_MEMBER:
        return _SMALL_MEMBER, f"limit of {_SMALL_MEMBER} bytes for {name}"
    if name in _PARSED and limits.max_member_size > limits.max_parsed_member:
        return limits.max_parsed_member, (
            f"limit of {limits.max_parsed_member} bytes for a data member read into memory "
            "(max_parsed_member, tutela verify --max-parsed-member)"
        )
    return limits.max_member_size, (
        f"per-member limit of {limits.max_member_size} bytes "
        "(max_member_size, tutela verify --max-member-size)"
    )


def _read_member(
    z: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    *,
    keep: bool,
    limits: ReadLimits,
    path: str,
    expected_sha256: str | None = None,
) -> bytes | None:
    """Decompress a member in 1 MiB chunks, hashing it; return its bytes when ``keep`` (else
    ``None``: nothing is held).

    Kept bytes are gathered in one ``io.BytesIO`` whose buffer becomes the returned ``bytes``
    without a copy, so a member takes about its own size once. ``expected_sha256``: the
    manifest's hex digest, compared (in constant time) as soon as the member is read — a
    ``TamperError`` naming the member then, before any other member is read. ``InputError``
    naming the member and the limit (``_member_limit``) when it cannot be decompressed or yields
    more bytes than the limit (whatever its directory entry declared).
    """
    limit, which = _member_limit(info.filename, limits)
    digest = hashlib.sha256()
    kept = io.BytesIO() if keep else None
    size = 0
    try:
        with z.open(info) as fh:
            while chunk := fh.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    break
                digest.update(chunk)
                if kept is not None:
                    kept.write(chunk)
    except (
        zipfile.BadZipFile,
        OSError,
        EOFError,
        RuntimeError,
        NotImplementedError,
        zlib.error,
        lzma.LZMAError,
        ValueError,
    ) as e:
        raise InputError(f"cannot read member {info.filename!r}: {e}", path=path) from e
    if size > limit:
        raise InputError(
            f"member {info.filename!r} yields more bytes than its directory entry declares, over "
            f"the {which}",
            path=path,
        )
    found = digest.hexdigest()
    if expected_sha256 is not None and not _same(found, expected_sha256):
        raise TamperError(
            f"SHA-256 of {info.filename} differs from the manifest",
            expected={info.filename: expected_sha256},
            actual={info.filename: found},
        )
    return None if kept is None else kept.getvalue()


def read_package(
    zip_path: str | Path, *, limits: ReadLimits | None = None
) -> tuple[dict[str, Any], bytes, str, dict[str, bytes]]:
    """Open a package and check its member list and member hashes against the manifest.

    Returns ``(manifest, manifest bytes, signature hex, {member: bytes})`` with every member
    (all held in memory: for re-rendering; ``verify_package`` keeps only the data members);
    does not check the signature or the content. Members are read in name order and each is
    compared with the manifest as soon as it is read. Raises ``InputError`` when the path is
    not a regular file or not a readable zip, exceeds ``limits`` (default ``ReadLimits()``) or
    has no parseable ``tutela-evidence-package-v1`` manifest, ``TamperError`` for an unsafe
    member name, missing, unexpected or duplicated members (all named), or the first member
    whose SHA-256 disagrees with the manifest (named; later members are not read).
    """
    return _read(zip_path, limits or ReadLimits(), keep=None)


def _read(
    zip_path: str | Path, limits: ReadLimits, *, keep: frozenset[str] | None
) -> tuple[dict[str, Any], bytes, str, dict[str, bytes]]:
    """``read_package``; ``keep``: the members whose bytes are returned (``None``: all); the
    others are only hashed."""
    path = str(zip_path)
    with open_regular(zip_path, what="package") as fh, _open_zip(fh, limits, path) as z:
        infos = z.infolist()
        _check_directory(infos, limits, path)
        by_name = {i.filename: i for i in infos}
        if MANIFEST not in by_name:
            raise InputError(f"not an evidence package: no {MANIFEST}", path=path)
        raw_manifest = _read_member(z, by_name[MANIFEST], keep=True, limits=limits, path=path)
        assert raw_manifest is not None
        try:
            manifest = _loads(raw_manifest, MANIFEST)
        except InputError as e:
            raise InputError(str(e), path=path) from e
        if not isinstance(manifest, dict) or manifest.get("format") != PACKAGE_FORMAT:
            raise InputError(f"not a {PACKAGE_FORMAT} package", path=path)
        declared = manifest.get("files")
        if not isinstance(declared, dict) or not all(isinstance(v, str) for v in declared.values()):
            raise TamperError(f"{MANIFEST} files", expected="{name: sha256}", actual=declared)
        required = set(DATA_MEMBERS) | set(DERIVED_MEMBERS)
        allowed = required | set(_OPTIONAL)
        if not required <= set(declared) or not set(declared) <= allowed:
            raise TamperError(
                f"{MANIFEST} member list",
                expected=sorted(required),
                actual=sorted(declared),
            )
        if SIGNATURE not in by_name:
            raise TamperError(f"member missing: {SIGNATURE}", expected=SIGNATURE, actual=None)
        present = set(by_name) - {MANIFEST, SIGNATURE}
        missing = sorted(set(declared) - present)
        if missing:
            raise TamperError(
                f"member(s) missing: {', '.join(missing)}",
                expected=sorted(declared),
                actual=sorted(present),
            )
        unexpected = sorted(present - set(declared))
        if unexpected:
            raise TamperError(
                f"unexpected member(s) not in the manifest: {', '.join(unexpected)}",
                expected=sorted(declared),
                actual=sorted(present),
            )
        raw_sig = _read_member(z, by_name[SIGNATURE], keep=True, limits=limits, path=path)
        assert raw_sig is not None
        signature = raw_sig.decode("ascii", "replace").strip()
        data: dict[str, bytes] = {}
        for name in sorted(declared):
            content = _read_member(
                z,
                by_name[name],
                keep=keep is None or name in keep,
                limits=limits,
                path=path,
                expected_sha256=declared[name],
            )
            if content is not None:
                data[name] = content
    return manifest, raw_manifest, signature, data


def verify_package(
    zip_path: str | Path,
    *,
    expected_fingerprint: str | None = None,
    tsa_certificates: list[bytes] | None = None,
    limits: ReadLimits | None = None,
) -> PackageReport:
    """Verify an evidence package; return what was verified or raise.

    Checks, in order: member list and SHA-256 of every member against the manifest; the key
    fingerprint against ``expected_fingerprint`` (the signing key's published fingerprint;
    without it the package's own key is trusted — compare ``PackageReport.key_fingerprint``
    yourself); the manifest signature; the ledger chain and checkpoints (head signed); that the
    signed export entry names the manifest's case, conversations and operations; every case entry
    disclosed; each operation record against its ``operation_created`` entry; each message's
    text, author, wire bytes, time and order against its ledger entry (purged ones against a
    retention tombstone); the RFC 3161 token, if any, against the head checkpoint
    (``tsa_certificates``: PEM or DER certificates, the TSA's first, then its issuers up to a
    root; without them only the imprint is checked).

    Integrity only: whether the key is *trusted* is the caller's decision
    (``tutela.ledger.trust``; ``tutela verify`` exits 3 for an intact package signed by an
    untrusted key). ``limits``: resource limits checked before any member is decompressed
    (default ``ReadLimits()``); data members (at most ``max_parsed_member`` bytes each, default
    64 MiB) are parsed in memory, derived members (``report.*``, ``case.jsonld``) only hashed in
    chunks; the first member whose hash disagrees with the manifest stops the reading.

    Raises ``TamperError`` (names the member or ledger entry, expected vs found; also an unsafe
    or duplicated member name) or ``InputError`` (not a regular file, not a zip, over a limit —
    the member and the limit are named —, no manifest, not a package, a manifest nested deeper
    than ``MAX_JSON_DEPTH``).
    """
    contents, files, trusted = _verify(zip_path, expected_fingerprint, tsa_certificates, limits)
    return _summary(contents, files, timestamp_trusted=trusted)


def verified_contents(
    zip_path: str | Path,
    *,
    expected_fingerprint: str | None = None,
    tsa_certificates: list[bytes] | None = None,
    limits: ReadLimits | None = None,
) -> PackageContents:
    """Verify like ``verify_package`` and return the package's parsed, verified data members
    (to show or re-render them). Same errors as ``verify_package``."""
    return _verify(zip_path, expected_fingerprint, tsa_certificates, limits)[0]


def _verify(
    zip_path: str | Path,
    expected_fingerprint: str | None,
    tsa_certificates: list[bytes] | None,
    limits: ReadLimits | None,
) -> tuple[PackageContents, tuple[str, ...], bool]:
    manifest, raw_manifest, signature, data = _read(
        zip_path, limits or ReadLimits(), keep=frozenset((*DATA_MEMBERS, *_OPTIONAL))
    )
    contents = _check_contents(manifest, raw_manifest, signature, data, expected_fingerprint)
    trusted = False
    if TIMESTAMP in data:
        from tutela.ledger.timestamp import verify_timestamp

        head = contents.checkpoints[-1]
        summary = verify_timestamp(
            data[TIMESTAMP], canonical_json(head.to_dict()), certificates=tsa_certificates
        )
        trusted = bool(tsa_certificates)
        contents = _with_timestamp(contents, summary)
    elif tsa_certificates:
        raise TamperError(f"member missing: {TIMESTAMP}", expected=TIMESTAMP, actual=None)
    return contents, tuple(manifest["files"]), trusted


def _with_timestamp(c: PackageContents, summary: Mapping[str, Any]) -> PackageContents:
    from dataclasses import replace

    return replace(c, timestamp=summary)


def _check_contents(
    manifest: dict[str, Any],
    raw_manifest: bytes,
    signature: str,
    data: dict[str, bytes],
    expected_fingerprint: str | None,
) -> PackageContents:
    try:
        key = load_public_key(data["public_key.pem"])
    except InputError as e:
        raise TamperError("public_key.pem", expected="Ed25519 PEM", actual=str(e)) from e
    key_fp = fingerprint(key)
    if expected_fingerprint is not None and not _same(key_fp, expected_fingerprint.lower()):
        raise TamperError(
            "public_key.pem is not the expected signing key (fingerprint)",
            expected=expected_fingerprint.lower(),
            actual=key_fp,
        )
    if not _same(key_fp, str(manifest.get("key_fingerprint"))):
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
        entries = [LedgerEntry.from_dict(d) for d in _lines(data["entries.jsonl"], "entries.jsonl")]
        cps = [Checkpoint(**d) for d in _lines(data["checkpoints.jsonl"], "checkpoints.jsonl")]
        messages = _lines(data["messages.jsonl"], "messages.jsonl")
        operations = _loads(data["operations.json"], "operations.json")
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
    signed_draft = entries[-1].payload is not None and entries[-1].payload.get("draft") is True
    if signed_draft != (manifest.get("draft") is True):
        raise TamperError(
            f"{MANIFEST} draft flag disagrees with the signed export entry",
            seq=entries[-1].seq,
            expected=signed_draft,
            actual=manifest.get("draft"),
        )
    wanted = set(conv_ids)
    for e in entries:
        if e.conversation in wanted and e.payload is None:
            raise TamperError("case entry redacted", seq=e.seq, expected="payload", actual=None)
    _check_operations(operations, op_ids, by_seq, entries, wanted)
    _check_messages(messages, by_seq, entries, wanted)
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
        data_hashes={n: sha256_hex(data[n]) for n in (*DATA_MEMBERS, *_OPTIONAL) if n in data},
    )


def _check_export(
    export: LedgerEntry, case_id: int, conv_ids: tuple[int, ...], op_ids: tuple[int, ...]
) -> None:
    """The signed export entry binds the case, its conversations and operations."""
    expected = {"case_id": case_id, "conversations": list(conv_ids), "operations": list(op_ids)}
    actual = (
        None
        if export.payload is None
        else {
            k: to_plain(export.payload.get(k)) for k in ("case_id", "conversations", "operations")
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
        p = None if entry is None else entry.payload
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
        for name in _OPERATION_FIELDS:
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
        if e.payload.get("operation_id") not in op_ids:  # type: ignore[union-attr]
            raise TamperError(
                f"conversation {conv} was opened under an operation not in the package",
                seq=e.seq,
                expected=list(op_ids),
                actual=e.payload.get("operation_id"),  # type: ignore[union-attr]
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
        for item in e.payload.get("messages", ())
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
        payload = entry.payload
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
        checks: dict[str, tuple[object, object]] = {
            "message_seq": (payload.get("message_seq"), m.get("message_seq")),
            "at": (payload.get("received_at" if inbound else "sent_at"), m.get("at")),
            # an inbound entry names the platform's send stamp only when there was one (older
            # entries never): absent and null agree; an outbound row has none (``at`` is it)
            "sent_at": (payload.get("sent_at") if inbound else None, m.get("sent_at")),
        }
        if inbound:
            checks["contact_line"] = (payload.get("contact_line"), m.get("contact_line"))
        # "never answer": only a row whose entry holds "answer": false is marked (the key is
        # absent otherwise, and in packages written before it)
        quiet = inbound and payload.get("answer") is False
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
