"""Exporting one case from the store as an evidence package (``tutela export``, the dashboard).

The case's records are read through :mod:`tutela.store.queries.evidence` and the ledger
through ``tutela.store``; the export itself is recorded through a ``Recorder``
(``record_export``: the ``export`` entry, the checkpoint that signs it and, for a draft, its
audit row, in one transaction), so the excerpt ends with signed proof of its own export and of
what it claims. The layout is :mod:`tutela.evidence.layout`; the manifest signature binds every
member, the derived reports included (``docs/architecture.md``, evidence). Beside the package
the export writes the restricted annex (:mod:`tutela.evidence.annex`) and the certificate with
the manifest's SHA-256 filled in (:mod:`tutela.evidence.method`).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from tutela import __version__
from tutela.errors import InputError
from tutela.evidence.annex import annex_members, annex_path, redaction_log, write_annex
from tutela.evidence.caseuco import case_jsonld
from tutela.evidence.contents import PackageContents, PackageReport, package_report
from tutela.evidence.layout import (
    CERTIFICATE,
    DRAFT_STATUS,
    MANIFEST,
    METHOD,
    PACKAGE_FORMAT,
    REDACTIONS,
    SIGNATURE,
    TIMESTAMP,
    data_digest,
)
from tutela.evidence.method import render_certificate, render_method
from tutela.evidence.report import render_html, render_pdf
from tutela.ledger.canonical import canonical_json
from tutela.ledger.entry import EntryKind, LedgerEntry, format_instant, sha256_hex
from tutela.ledger.errors import SigningKeyError, TamperError
from tutela.ledger.payloads import ReviewPayload
from tutela.ledger.signing import Signer
from tutela.private import private_file
from tutela.store import Recorder, Store, iter_checkpoints, iter_ledger
from tutela.store.ledger_verify import verify_ledger
from tutela.store.queries.evidence import (
    CaseScope,
    case_scope,
    message_rows,
    operation_rows,
    record_export,
)
from tutela.store.queries.signing import ledger_key_fingerprints

__all__ = ["TimestampTransport", "certificate_path", "export_package"]

TimestampTransport = Callable[[bytes], bytes]
"""Sends a DER ``TimeStampReq`` to a TSA and returns its DER ``TimeStampResp``."""


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
            and cast(ReviewPayload, entry.payload).get("case_id") == case_id
        )
    )


def certificate_path(package: str | Path) -> Path:
    """``<name>.certificate.md`` beside ``package``: the certificate with the manifest's SHA-256
    filled in (``case-1.zip`` -> ``case-1.certificate.md``)."""
    p = Path(package)
    stem = p.name[: -len(".zip")] if p.name.lower().endswith(".zip") else p.name
    return p.with_name(f"{stem}.certificate.md")


def _jsonl(rows: Sequence[Mapping[str, Any]]) -> bytes:
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
    recorder: Recorder | None = None,
) -> PackageReport:
    """Write the evidence package of case ``case_id`` to ``out_zip`` and return its summary.

    Before anything is signed, the live ledger is verified from the case's first entry to the
    head (``tutela.store.ledger_verify.verify_ledger``: chain, ``ledger_head``, checkpoints, the
    witness file) and every message of the case against its ledger entry; a disagreement raises
    ``TamperError`` naming the entry and message, and nothing is appended or written.

    Appends an ``export`` entry and signs a checkpoint over it (with ``signer``, which must be the
    ledger's key, or a key its ``key_rotated`` entries hand over to), in one transaction of
    ``recorder`` (default: a ``Recorder`` of ``store`` with ``signer``; its clock stamps the
    entries; ``tutela.store.queries.evidence.record_export``). Only checkpoints by
    ``signer`` go into the package (the head one signs the whole excerpt). ``timestamper``: when
    given, the head checkpoint is timestamped (RFC 3161) and the reply stored as
    ``timestamp.tsr``. ``draft``: a working copy, not evidence — the signed export entry and the
    manifest carry ``"draft": true`` (manifest ``"status": "DRAFT — not evidential"``), the report
    names it in the tool line, and an ``export_draft`` audit row is recorded with the export
    entry. The zip is written to a temporary name and renamed.

    Beside ``out_zip`` (``0600``): the restricted annex ``<name>.annex.zip`` (tradecraft withheld
    from the package, listed in its ``redactions.jsonl``; the manifest names the annex manifest's
    SHA-256) and ``<name>.certificate.md`` (``CERTIFICATE.md`` with the manifest's SHA-256 filled
    in). The package holds ``METHOD.md`` (ISO/IEC 27037/27041 record).

    Raises ``NotFoundError`` for an unknown case, ``InputError`` for a case without recorded
    conversations or a ``recorder`` of another store, ``SigningKeyError`` when the ledger's
    checkpoints were signed by another key (nothing is appended then), ``TamperError`` (above),
    ``TimestampError`` when the TSA fails.
    """
    if recorder is None:
        recorder = Recorder(store, signer=signer, checkpoint_every=0)
    elif recorder.store is not store:
        raise InputError("export_package: the recorder writes to another store")
    scope = case_scope(store, case_id)
    # only the key the ledger is signed with now (not a retired one: its checkpoint after the
    # rotation would make the ledger read as tampered)
    current = ledger_key_fingerprints(store)
    if current and signer.fingerprint() not in current:
        raise SigningKeyError(
            f"the ledger's checkpoints are signed by {', '.join(sorted(current))} (its current "
            f"key), not by this key ({signer.fingerprint()}): export with the ledger's signing key"
        )
    _verify_before_export(store, scope, signer)
    exported = record_export(
        recorder,
        signer=signer,
        case_id=case_id,
        conversations=scope.conversations,
        operations=scope.operations,
        actor=actor,
        draft=draft,
        package_name=Path(out_zip).name,
    )
    head = exported.checkpoint
    first, last = scope.first_seq, exported.entry.seq
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
    digest = data_digest(contents.data_hashes)
    out = Path(out_zip)
    annex_out = annex_path(out)
    annex, sources = annex_members(contents)
    annex_tmp = annex_out.with_name(f".{annex_out.name}.part")
    try:
        annex_manifest = write_annex(
            annex_tmp, c=contents, package_name=out.name, members=annex, sources=sources,
            signer=signer,
        )  # fmt: skip
        annex_sha = sha256_hex(annex_manifest)
        html = render_html(contents)
        files["report.html"] = html.encode("utf-8")
        files["report.pdf"] = render_pdf(contents, html)
        files["case.jsonld"] = json.dumps(
            case_jsonld(contents), ensure_ascii=False, indent=1, sort_keys=True
        ).encode("utf-8")
        files[REDACTIONS] = redaction_log(contents, annex)
        withheld = files[REDACTIONS].count(b"\n")
        files[METHOD] = render_method(
            contents, members=[*files, METHOD, CERTIFICATE], digest=digest,
            annex_name=annex_out.name, annex_manifest_sha256=annex_sha, withheld=withheld,
        ).encode("utf-8")  # fmt: skip
        files[CERTIFICATE] = render_certificate(
            contents, package_name=out.name, digest=digest, manifest_sha256=None
        ).encode("utf-8")
        manifest = _manifest(contents, scope, first, last, digest, annex_out.name, annex_sha, files)
        _write_zip(out, manifest, signer.sign_manifest(manifest) + "\n", files)
        annex_tmp.replace(annex_out)
    finally:
        annex_tmp.unlink(missing_ok=True)
    certificate = render_certificate(
        contents, package_name=out.name, digest=digest, manifest_sha256=sha256_hex(manifest)
    )
    private_file(certificate_path(out)).write_text(certificate, encoding="utf-8")
    return package_report(contents, tuple(files), timestamp_trusted=False)


def _manifest(
    contents: PackageContents,
    scope: CaseScope,
    first: int,
    last: int,
    digest: str,
    annex_name: str,
    annex_sha: str,
    files: Mapping[str, bytes],
) -> bytes:
    """The canonical JSON manifest (layout: :mod:`tutela.evidence.layout`)."""
    return canonical_json(
        {
            "format": PACKAGE_FORMAT,
            "case_id": contents.case_id,
            "contact_id": scope.contact_id,
            "conversations": list(scope.conversations),
            "operations": list(scope.operations),
            "first_seq": first,
            "last_seq": last,
            "key_fingerprint": contents.key_fingerprint,
            "created_at": contents.created_at,
            "exported_by": contents.exported_by,
            "tool": contents.tool,
            **({"draft": True, "status": DRAFT_STATUS} if contents.draft else {}),
            "data_digest": digest,
            "annex": {"name": annex_name, "manifest_sha256": annex_sha},
            "files": {name: sha256_hex(data) for name, data in files.items()},
        }
    )


def _write_zip(out: Path, manifest: bytes, signature: str, files: Mapping[str, bytes]) -> None:
    """Write the package to ``.<name>.part`` beside ``out`` (``0600``: it holds the case's
    message texts), manifest and signature first, then rename it to ``out``."""
    tmp = out.with_name(f".{out.name}.part")
    try:
        tmp.unlink(missing_ok=True)
        private_file(tmp)
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr(MANIFEST, manifest)
            z.writestr(SIGNATURE, signature)
            for name, data in files.items():
                z.writestr(name, data)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)


def _verify_before_export(store: Store, scope: CaseScope, signer: Signer) -> None:
    """The live ledger from the case's first entry, and the case's messages, verify (see
    ``export_package``); ``TamperError`` naming the entry (and message) otherwise."""
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
