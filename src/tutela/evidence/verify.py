"""Verifying an evidence package on a machine without the database: ``verify_package`` and
``verified_contents``.

Reading (limits, zip checks, member hashes) is :mod:`tutela.evidence.archive`; what the members
must say is :mod:`tutela.evidence.checks`; the RFC 3161 token is checked here, against the head
checkpoint. Integrity only: whether the key is trusted is the caller's decision
(``tutela.ledger.trust``; ``docs/architecture.md``, evidence).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from tutela.evidence.archive import ReadLimits, read_members
from tutela.evidence.checks import check_contents
from tutela.evidence.contents import PackageContents, PackageReport, package_report
from tutela.evidence.layout import PARSED_MEMBERS, TIMESTAMP
from tutela.ledger.canonical import canonical_json
from tutela.ledger.errors import TamperError

__all__ = ["verified_contents", "verify_package"]


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
    retention tombstone); that every conversation is complete (``tutela.evidence.completeness``:
    message numbers 1..n without gap or repeat, both parties, opening and end entries, decisions
    bound to recorded messages); the RFC 3161 token, if any, against the head checkpoint
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
    return package_report(contents, files, timestamp_trusted=trusted)


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
    manifest, raw_manifest, signature, data = read_members(
        zip_path, limits or ReadLimits(), keep=PARSED_MEMBERS
    )
    contents = check_contents(manifest, raw_manifest, signature, data, expected_fingerprint)
    if "data_digest" in manifest:  # signed; the digest every PDF footer shows (layout.data_digest)
        _check_digest(manifest["data_digest"], contents)
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
    return replace(c, timestamp=summary)


def _check_digest(declared: object, c: PackageContents) -> None:
    from tutela.evidence.layout import data_digest

    if declared != data_digest(c.data_hashes):
        raise TamperError(
            "manifest.json data_digest", expected=data_digest(c.data_hashes), actual=declared
        )
