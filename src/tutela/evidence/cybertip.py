"""``tutela export CASE --format cybertip``: a CyberTipline-style report of one case.

The report (``report.xml``) follows the element names of NCMEC's CyberTipline Reporting API as
open-source reporting clients use them, in a Tutela subset kept in this repository
(``tutela/evidence/schemas/cybertip.xsd``; its header says what differs: no victim block, the
decoy statement and the transcripts as Tutela extensions). A receiving hotline's own schema is
authoritative; this file is what Tutela hands over for it to map. Beside the report, one message
CSV per conversation (``report.conversation-<id>.csv``), each named with its SHA-256 in the XML.
What each field is filled from: :mod:`tutela.evidence.cybertip_build`.

Rules, the same as the evidence package's (``tutela.evidence.export``, ``tutela export``): only a
case whose referral was approved and audited (``CaseWorkflow.referral_ready``) unless ``draft``
(then the report says ``DRAFT — not evidential``); with a ``signer`` the live ledger and every
message of the case are verified first (``TamperError``, nothing written); every report is
validated against the schema before anything is written (an invalid one is refused); the export
is audited (``case_exported``, details with the format and the SHA-256 of every file); the files
are written ``0600`` under temporary names and renamed, CSVs first, the report last.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from tutela import __version__
from tutela.errors import InputError
from tutela.evidence.cybertip_build import (
    Transcript,
    build_report,
    contact_handle,
    conversation_csv,
    csv_name,
)
from tutela.evidence.layout import DRAFT_STATUS
from tutela.ledger.entry import sha256_hex
from tutela.ledger.errors import SigningKeyError, TamperError
from tutela.ledger.signing import Signer
from tutela.private import private_file
from tutela.store import Recorder, Store
from tutela.store.ledger_verify import verify_ledger
from tutela.store.queries.case_records import ReferralRecord
from tutela.store.queries.cybertip import CyberTipFacts, cybertip_facts
from tutela.store.queries.evidence import case_scope
from tutela.store.queries.signing import ledger_key_fingerprints

if TYPE_CHECKING:
    import xmlschema

__all__ = [
    "APPROVED_STATUS",
    "CYBERTIP_FORMAT",
    "CyberTipReport",
    "cybertip_schema",
    "export_cybertip",
    "validate_cybertip",
]

CYBERTIP_FORMAT = "cybertip"
"""The ``--format`` name (and the audit row's ``format``)."""

APPROVED_STATUS = "referral approved"
"""``tutelaExport/status`` of a report of a case with an approved, audited referral."""

SCHEMA_FILE = "cybertip.xsd"


@dataclass(frozen=True, slots=True)
class CyberTipReport:
    """What :func:`export_cybertip` wrote: the report, its SHA-256, the CSVs ``(path, sha256)``
    in conversation order, whether it is a draft and whether it asks for high priority."""

    path: Path
    sha256: str
    case_id: int
    transcripts: tuple[tuple[Path, str], ...]
    draft: bool
    high_priority: bool
    evidential_operations: bool


@lru_cache(maxsize=1)
def cybertip_schema() -> xmlschema.XMLSchema10:
    """The report schema (``schemas/cybertip.xsd`` in this package), loaded once."""
    import xmlschema

    src = resources.files("tutela.evidence").joinpath("schemas", SCHEMA_FILE)
    return xmlschema.XMLSchema10(src.read_text(encoding="utf-8"))


def validate_cybertip(data: bytes) -> None:
    """Check report bytes against :func:`cybertip_schema`; ``InputError`` naming the first
    problem (its path in the document and the reason) when they do not validate."""
    import xmlschema

    schema = cybertip_schema()
    try:
        error = next(iter(schema.iter_errors(data.decode("utf-8"))), None)
    except (UnicodeDecodeError, ET.ParseError, xmlschema.XMLSchemaException) as e:
        raise InputError(f"the report is not well-formed XML: {e}") from e
    if error is not None:
        raise InputError(
            f"the report does not validate against {SCHEMA_FILE}: {error.path or '/'}: "
            f"{error.reason or error.message}"
        )


def _serialise(root: ET.Element) -> bytes:
    ET.indent(root, space="  ")
    text = ET.tostring(root, encoding="unicode")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + text.encode("utf-8") + b"\n"


def _approved(facts: CyberTipFacts) -> list[ReferralRecord]:
    from tutela.cases.transitions import ReferralStatus

    return [
        r
        for r in facts.referrals
        if r.status == ReferralStatus.APPROVED.value and r.decided_at is not None
    ]


def _verify(store: Store, case_id: int, signer: Signer) -> None:
    """The live ledger from the case's first entry, and its messages, verify against the
    ledger's key (``SigningKeyError`` for another key, ``TamperError`` otherwise)."""
    current = ledger_key_fingerprints(store)
    if current and signer.fingerprint() not in current:
        raise SigningKeyError(
            f"the ledger's checkpoints are signed by {', '.join(sorted(current))} (its current "
            f"key), not by this key ({signer.fingerprint()}): export with the ledger's signing key"
        )
    scope = case_scope(store, case_id)
    try:
        verify_ledger(
            store, [signer.public_key], start=scope.first_seq, conversations=scope.conversations
        )
    except TamperError as e:
        raise TamperError(
            f"refusing to export case {case_id}: the live ledger does not verify: {e.what}",
            seq=e.seq,
            expected=e.expected,
            actual=e.actual,
        ) from e


def export_cybertip(
    store: Store,
    case_id: int,
    out: str | Path,
    *,
    recorder: Recorder,
    actor: str,
    draft: bool = False,
    signer: Signer | None = None,
    via: str = "cli",
) -> CyberTipReport:
    """Write the CyberTipline-style report of case ``case_id`` to ``out`` and its message CSVs
    beside it (module docstring); returns what was written.

    ``recorder`` (of ``store``) records the audit row: ``case_exported``, target
    ``case:<id>``, details ``{via, format: "cybertip", draft, report, report_sha256, files:
    {name: sha256}}``; the caller signs it (``Recorder.checkpoint``). ``signer``: when given,
    the ledger's key; the live ledger and the case's messages are verified with it first.

    Raises ``NotFoundError`` (unknown case), ``InputError`` (no recorded conversations; no
    approved referral and not ``draft``; a report that does not validate against the schema;
    ``out`` a folder or unwritable), ``SigningKeyError``/``TamperError`` (above). Nothing is
    written or audited when it raises before the files are renamed.
    """
    from tutela.cases.workflow import CaseWorkflow

    if recorder.store is not store:
        raise InputError("export_cybertip: the recorder writes to another store")
    out = Path(out)
    if out.is_dir():
        raise InputError("--out is a folder, not a report file to write", path=str(out))
    facts = cybertip_facts(store, case_id)
    if not facts.conversations:
        raise InputError(f"case {case_id} has no recorded conversations to export")
    if not draft and not CaseWorkflow(recorder).referral_ready(case_id):
        raise InputError(
            f"case {case_id} has no approved referral: nothing to report yet (approve the "
            "referral in the dashboard, or export a non-evidential --draft)"
        )
    if signer is not None:
        _verify(store, case_id, signer)

    transcripts = []
    for conv in facts.conversations:
        msgs = [m for m in facts.messages if m.conversation_id == conv.id]
        data = conversation_csv(conv, msgs, contact_handle(conv, msgs, facts.identities))
        transcripts.append(Transcript(conv.id, csv_name(out.name, conv.id), data, sha256_hex(data)))
    evidential = all(op.evidential for op in facts.operations)
    notes = [DRAFT_STATUS.upper() + "."] if draft else []
    if not evidential:
        notes.append("NON-EVIDENTIAL: collected under a demonstration/non-evidential operation.")
    root = build_report(
        facts,
        transcripts,
        exported_at=datetime.now(UTC),
        exported_by=actor,
        tool=f"tutela {__version__}",
        status=DRAFT_STATUS if draft else APPROVED_STATUS,
        approved=_approved(facts),
        notes=notes,
    )
    xml = _serialise(root)
    validate_cybertip(xml)  # refuse an invalid report before anything is written
    report_sha = sha256_hex(xml)
    files = {t.name: t.sha256 for t in transcripts}
    paths = [(out.with_name(t.name), t.data) for t in transcripts] + [(out, xml)]
    temps = [p.with_name(f".{p.name}.part") for p, _ in paths]
    for path, _ in paths:
        if path.is_dir():
            raise InputError("a folder is in the way of the report's files", path=str(path))
    placed: list[Path] = []
    try:
        for (_, data), tmp in zip(paths, temps, strict=True):
            tmp.unlink(missing_ok=True)
            private_file(tmp)
            tmp.write_bytes(data)
        for (path, _), tmp in zip(paths, temps, strict=True):
            tmp.replace(path)
            placed.append(path)
        recorder.record_audit(  # last: a report that is not in place is not audited as written
            actor,
            "case_exported",
            f"case:{case_id}",
            {
                "via": via,
                "format": CYBERTIP_FORMAT,
                "draft": draft,
                "report": out.name,
                "report_sha256": report_sha,
                "files": files,
            },
        )
    except BaseException as e:
        for path in placed:  # nothing half-written stays behind, nothing unaudited either
            path.unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise InputError(f"cannot write the report: {e.strerror or e}", path=str(out)) from e
        raise
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
    return CyberTipReport(
        path=out,
        sha256=report_sha,
        case_id=case_id,
        transcripts=tuple((out.with_name(t.name), t.sha256) for t in transcripts),
        draft=draft,
        high_priority=root.find("incidentSummary/escalateToHighPriority") is not None,
        evidential_operations=evidential,
    )
