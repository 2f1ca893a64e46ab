"""The layout of an evidence package (``format = "tutela-evidence-package-v1"``): member names.

A package is a zip that anyone can verify offline (``tutela verify``)::

    manifest.json       canonical JSON {format, case_id, contact_id, conversations, operations,
                        first_seq, last_seq, key_fingerprint, created_at, exported_by, tool,
                        data_digest (``data_digest``: SHA-256 over the data members' hashes),
                        annex {name, manifest_sha256} (the restricted annex written beside),
                        files: {member name: sha256 hex}}; lists every member but itself and
                        manifest.sig; a draft also has draft: true, status: DRAFT_STATUS
                        (packages written before the method record lack data_digest, annex
                        and the RECORD_MEMBERS)
    manifest.sig        Ed25519 signature (128 hex digits) of manifest.json by the ledger key
                        (``tutela.ledger.signing.manifest_message``)
    entries.jsonl       ledger entries first_seq..last_seq, one canonical JSON object a line;
                        in full: the case's conversations, its operations' ``operation_created``
                        entries, its ``review`` entries, retention tombstones and the closing
                        ``export`` entry; all others redacted (payload null: they prove
                        continuity without disclosing other cases)
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
    report.pdf          the same report as PDF, rendered from report.html (WeasyPrint)
    case.jsonld         CASE 1.x / UCO 1.x JSON-LD (``tutela.evidence.caseuco``)
    METHOD.md           ISO/IEC 27037 steps and the ISO/IEC 27041 method-validation record
                        (``tutela.evidence.method``)
    CERTIFICATE.md      certificate template for the receiving jurisdiction (the copy with the
                        manifest's SHA-256 filled in is written beside the package)
    redactions.jsonl    the redaction log: each item withheld from this disclosable bundle, why,
                        and the SHA-256 of the withheld content (``tutela.evidence.annex``)

Beside the package: ``<name>.annex.zip``, the restricted annex (tradecraft: persona profiles,
policy parameters, detection configuration and model id, deterrence texts, response-bank
versions) with its own manifest signed by the same key, bound by ``annex.manifest_sha256``;
optional to verify (``tutela verify PACKAGE --annex ANNEX``).

Written by :mod:`tutela.evidence.export`, read by :mod:`tutela.evidence.archive` and checked by
:mod:`tutela.evidence.checks` (``docs/architecture.md``, evidence).
"""

from __future__ import annotations

from collections.abc import Mapping

from tutela.ledger.canonical import canonical_json
from tutela.ledger.entry import sha256_hex

__all__ = [
    "CERTIFICATE",
    "DATA_MEMBERS",
    "DERIVED_MEMBERS",
    "DRAFT_STATUS",
    "MANIFEST",
    "METHOD",
    "OPTIONAL_MEMBERS",
    "PACKAGE_FORMAT",
    "PARSED_MEMBERS",
    "RECORD_MEMBERS",
    "REDACTIONS",
    "SIGNATURE",
    "TIMESTAMP",
    "data_digest",
]

PACKAGE_FORMAT = "tutela-evidence-package-v1"
"""The manifest's ``format``: a reader refuses any other."""
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
"""Members parsed in memory by a verifier (and hashed into the report's ``data_hashes``)."""
DERIVED_MEMBERS = ("report.html", "report.pdf", "case.jsonld")
"""Members derived from the data members; a verifier only hashes them."""
METHOD = "METHOD.md"
CERTIFICATE = "CERTIFICATE.md"
REDACTIONS = "redactions.jsonl"
RECORD_MEMBERS = (METHOD, CERTIFICATE, REDACTIONS)
"""Members about how the package was produced (method record, certificate template, redaction
log): hashed only, like the derived ones; absent from packages written before them."""
OPTIONAL_MEMBERS = (TIMESTAMP,)
PARSED_MEMBERS = frozenset((*DATA_MEMBERS, *OPTIONAL_MEMBERS))
"""Members a verifier holds in memory: the data members and the optional ones."""

DRAFT_STATUS = "DRAFT — not evidential"
"""Manifest ``status`` (and report tool line) of a package exported with ``draft=True``."""


def data_digest(data_hashes: Mapping[str, str]) -> str:
    """The package's *data digest*: SHA-256 (hex) of the canonical JSON (RFC 8785) of
    ``{data member name: SHA-256 hex}`` over the data members and the optional ones present
    (``PackageContents.data_hashes``). It names the evidence without naming the derived members,
    so the PDF's footer can carry it (the manifest cannot: it lists the PDF's own hash); the
    manifest repeats it as ``data_digest``."""
    return sha256_hex(canonical_json(dict(data_hashes)))
