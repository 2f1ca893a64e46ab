"""Reading an evidence package as hostile input: resource limits, zip checks, member reads.

A package is attacker-supplied input (OWASP File Upload Cheat Sheet; zip bombs, path traversal,
"Zip Slip"): member count, names and declared sizes are checked against ``ReadLimits`` from the
central directory before any member is decompressed (the data members, which are parsed in
memory, under a much smaller cap than the hashed-only reports); each member is decompressed in
chunks and its SHA-256 compared with the manifest as soon as it is read, so reading stops at the
first mismatch; the reports are only hashed, never kept; parsed JSON may nest at most
``MAX_JSON_DEPTH`` levels. The package must be a regular file (not a FIFO or device). The
member names are in :mod:`tutela.evidence.layout`; what the members must say is checked by
:mod:`tutela.evidence.checks`.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import lzma
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tutela.errors import InputError
from tutela.evidence.layout import (
    DATA_MEMBERS,
    DERIVED_MEMBERS,
    MANIFEST,
    OPTIONAL_MEMBERS,
    PACKAGE_FORMAT,
    PARSED_MEMBERS,
    RECORD_MEMBERS,
    SIGNATURE,
)
from tutela.files import open_regular
from tutela.ledger.errors import TamperError

__all__ = [
    "MAX_JSON_DEPTH",
    "ReadLimits",
    "parse_json",
    "parse_lines",
    "read_members",
    "read_package",
    "same_text",
]

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

    ``max_members``: entries in the zip (default 10,000; a package has 13 or 14); the central
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


def parse_json(data: bytes | str, what: str) -> Any:
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


def parse_lines(data: bytes, name: str) -> list[dict[str, Any]]:
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
            obj = parse_json(line, f"{name} line {i}")
        except InputError as e:
            raise TamperError(f"{name} line {i} is not JSON", expected="JSON", actual=str(e)) from e
        if not isinstance(obj, dict):
            raise TamperError(f"{name} line {i}", expected="a JSON object", actual=line[:80])
        out.append(obj)
    return out


def same_text(a: str, b: str) -> bool:
    """``a == b`` in constant time (hex digests, fingerprints: no timing oracle)."""
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


def _member_limit(name: str, limits: ReadLimits) -> tuple[int, str]:
    """(uncompressed byte limit, message text naming it) for member ``name``: 1 MiB for the
    manifest and its signature, ``max_parsed_member`` for a data member (held in memory and
    parsed), ``max_member_size`` for every other member (only hashed); never above
    ``max_member_size``."""
    if name in (MANIFEST, SIGNATURE) and limits.max_member_size > _SMALL_MEMBER:
        return _SMALL_MEMBER, f"limit of {_SMALL_MEMBER} bytes for {name}"
    if name in PARSED_MEMBERS and limits.max_member_size > limits.max_parsed_member:
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
    if expected_sha256 is not None and not same_text(found, expected_sha256):
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
    return read_members(zip_path, limits or ReadLimits(), keep=None)


def read_members(
    zip_path: str | Path, limits: ReadLimits, *, keep: frozenset[str] | None
) -> tuple[dict[str, Any], bytes, str, dict[str, bytes]]:
    """``read_package`` with the limits given; ``keep``: the members whose bytes are returned
    (``None``: all); the others are only hashed (``verify_package`` keeps ``PARSED_MEMBERS``).
    Same return value and errors as ``read_package``."""
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
            manifest = parse_json(raw_manifest, MANIFEST)
        except InputError as e:
            raise InputError(str(e), path=path) from e
        if not isinstance(manifest, dict) or manifest.get("format") != PACKAGE_FORMAT:
            raise InputError(f"not a {PACKAGE_FORMAT} package", path=path)
        declared = manifest.get("files")
        if not isinstance(declared, dict) or not all(isinstance(v, str) for v in declared.values()):
            raise TamperError(f"{MANIFEST} files", expected="{name: sha256}", actual=declared)
        required = set(DATA_MEMBERS) | set(DERIVED_MEMBERS)
        allowed = required | set(OPTIONAL_MEMBERS) | set(RECORD_MEMBERS)
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
