"""``tutela export`` and ``tutela verify``: evidence packages.

Exit status of ``verify`` (trust, not only integrity: ``tutela.ledger.trust``):

====  =====================================================================================
0     intact (every hash, link and signature checks) *and* signed by a trusted key: the local
      store's own keys (default signing key, the ``--db`` database's key), a key in a
      trusted-keys file (``--trusted-keys``; default ``trusted-keys.txt`` beside the default
      signing key) or the ``--expect-fingerprint`` key
1     tampered with, or not signed by the ``--expect-fingerprint`` key (the finding is printed:
      member or ledger entry, expected vs found; an unsafe or duplicated member name)
2     not a readable package (also a FIFO or device), over a ``--max-*`` limit (the member and
      the limit are named), or a usage error (``error: ...``)
3     intact, but signed by an untrusted key (``intact, but signed by an untrusted key FP``)
141   stdout was closed by its reader before the result was written (``| head``); never 1
====  =====================================================================================

With ``--json`` one object is printed: ``ok`` (true only for 0), ``intact``, ``trusted``,
``trusted_by``, the report's fields (``completeness``: per conversation, what
``tutela.evidence.completeness`` proved; the table output prints its ``statement`` lines), or
``problem``/``error``. Paths and member names are printed
with Rich markup escaped.
``SystemExit`` is raised directly: ``tutela.cli.main`` runs Typer in standalone mode,
where click returns (and the caller drops) the code of a ``typer.Exit``.
"""

from __future__ import annotations

import getpass
import json
import sys
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.markup import escape
from rich.table import Table

from tutela.cli._app import app, err_console, out_console
from tutela.cli._help import examples
from tutela.cli._options import (
    DbOption,
    PassphraseFileOption,
    SigningKeyOption,
    TrustDbOption,
)
from tutela.errors import InputError, TutelaError
from tutela.evidence.package import ReadLimits

if TYPE_CHECKING:
    from tutela.ledger import Signer
    from tutela.runtime import Runtime

__all__ = ["export", "verify"]

# documented defaults: 10,000 members, 2 GiB in all, 512 MiB a member, 64 MiB a parsed data member
_LIMITS = ReadLimits()


def _actor() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no user database entry (containers)
        return "unknown"


class ExportFormat(StrEnum):
    """``tutela export --format``: the verifiable package, or a CyberTipline-style report."""

    PACKAGE = "package"
    CYBERTIP = "cybertip"


def _export_cybertip(
    runtime: Runtime, case_id: int, out: Path, signer: Signer, actor: str, draft: bool
) -> None:
    """``--format cybertip``: write, audit and sign (``tutela.evidence.cybertip``)."""
    from tutela.evidence.cybertip import export_cybertip

    store, recorder = runtime.store, runtime.recorder
    r = export_cybertip(
        store, case_id, out, recorder=recorder, actor=actor, draft=draft, signer=signer
    )
    recorder.checkpoint()  # the audit entry is signed now, not left as an unsigned tail
    out_console.print(
        f"wrote {escape(str(out))}: case {case_id}, report SHA-256 {r.sha256}", soft_wrap=True
    )
    for path, digest in r.transcripts:
        out_console.print(f"  {escape(str(path))} SHA-256 {digest}", soft_wrap=True)
    if r.high_priority:
        out_console.print("escalateToHighPriority: set (a referral proposal of the policy)")
    if draft:
        err_console.print("[bold red]DRAFT — not evidential (audited)", soft_wrap=True)
    if not r.evidential_operations:
        err_console.print(
            "[bold red]NON-EVIDENTIAL: collected under a demonstration/non-evidential operation",
            soft_wrap=True,
        )


@app.command(
    epilog=examples(
        "tutela export 1 --out case-1.zip",
        "tutela export 1 --draft --out draft-1.zip",
        "tutela export 1 --format cybertip --out report.xml",
    )
)
def export(
    case_id: int = typer.Argument(
        ..., min=1, max=2**31 - 1, help="Case id (see the dashboard or `tutela demo`)."
    ),
    out: Path = typer.Option(
        ..., "--out", help="Package file to write (.zip); the report (.xml) for cybertip."
    ),
    fmt: ExportFormat = typer.Option(
        ExportFormat.PACKAGE,
        "--format",
        help="package: the signed evidence package; cybertip: a CyberTipline-style report "
        "(XML, schema-validated) and one message CSV per conversation beside it.",
    ),
    db: DbOption = None,
    key: SigningKeyOption = None,
    actor: str | None = typer.Option(
        None, "--actor", help="Who exports (recorded in the ledger; default: the login name)."
    ),
    tsa_url: str | None = typer.Option(
        None, "--tsa-url", help="RFC 3161 time-stamping authority URL (timestamps the head)."
    ),
    draft: bool = typer.Option(
        False,
        "--draft",
        help="Export a case without an approved referral as a DRAFT, marked not evidential "
        "(manifest and report) and audited.",
    ),
    passphrase_file: PassphraseFileOption = None,
) -> None:
    """Write the verifiable evidence package of one case (appends a signed export entry).

    Only a case whose referral was approved (and the approval audited) is exported, the rule of
    the dashboard (``CaseWorkflow.referral_ready``); ``--draft`` exports any case as a
    non-evidential, audited draft. The live ledger and the case's messages are verified first
    (``export_package``). Exit status: 0 written; 1 the ledger or a message does not verify
    (nothing written); 2 usage error, unknown case, no approved referral, unusable key.

    ``--format cybertip`` writes instead a CyberTipline-style report to ``--out`` (``report.xml``,
    validated against ``tutela/evidence/schemas/cybertip.xsd``, refused if invalid) and one
    message CSV per conversation beside it (``report.conversation-<id>.csv``, SHA-256 in the
    XML); the decoy is stated as a decoy (no victim block). Same rules (approved referral or
    ``--draft``, ledger verified first), audited (``case_exported`` with the format and the
    report's SHA-256); ``tutela.evidence.cybertip``. ``--tsa-url`` applies to packages only.
    """
    from tutela.cases.workflow import CaseWorkflow
    from tutela.evidence import export_package
    from tutela.ledger import TamperError, sha256_hex
    from tutela.runtime import load_signer, open_runtime, resolve_url

    if out.is_dir():
        raise InputError("--out is a directory, not a package file to write", path=str(out))
    if fmt is ExportFormat.CYBERTIP and tsa_url:
        raise InputError("--tsa-url applies to --format package only")
    url = resolve_url(db)
    signer = load_signer(url, key, passphrase_file=passphrase_file)
    timestamper = None
    if tsa_url:
        from tutela.ledger.timestamp import http_transport

        timestamper = http_transport(tsa_url)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot create the folder: {e.strerror or e}", path=str(out)) from e
    runtime = open_runtime(url, signer=signer, checkpoint_every=0)
    store, recorder = runtime.store, runtime.recorder
    try:  # export_package writes to a temporary name and renames: no half-written package
        recorder.get_case(case_id)  # NotFoundError (exit 2) for an unknown case
        if not draft and not CaseWorkflow(recorder).referral_ready(case_id):
            raise InputError(
                f"case {case_id} has no approved referral: nothing to export as evidence yet "
                "(approve the referral in the dashboard, or export a non-evidential --draft)"
            )
        try:
            if fmt is ExportFormat.CYBERTIP:
                _export_cybertip(runtime, case_id, out, signer, actor or _actor(), draft)
                return
            report = export_package(
                store,
                case_id,
                out,
                signer=signer,
                actor=actor or _actor(),
                timestamper=timestamper,
                draft=draft,
                recorder=recorder,
            )
            recorder.record_audit(  # as the dashboard's export: who exported which package
                actor or _actor(),
                "case_exported",
                f"case:{case_id}",
                {"via": "cli", "draft": draft, "package_sha256": sha256_hex(out.read_bytes())},
            )
            recorder.checkpoint()  # the audit entry is signed now, not left as an unsigned tail
        except TamperError as e:
            err_console.print(f"[bold red]TAMPERED[/bold red] {escape(str(e))}", soft_wrap=True)
            err_console.print(f"nothing written to {escape(str(out))}", soft_wrap=True)
            raise SystemExit(1) from e
    finally:
        store.close()
    out_console.print(
        f"wrote {escape(str(out))}: case {report.case_id}, conversations "
        f"{', '.join(map(str, report.conversations))}, ledger entries "
        f"{report.first_seq}..{report.last_seq}, {report.messages} messages",
        soft_wrap=True,
    )
    out_console.print(
        f"signing key fingerprint (SHA-256): {report.key_fingerprint}", soft_wrap=True
    )
    from tutela.evidence.annex import annex_path
    from tutela.evidence.export import certificate_path

    out_console.print(  # restricted annex (tradecraft) and the certificate to fill in and sign
        f"restricted annex: {escape(str(annex_path(out)))}; certificate: "
        f"{escape(str(certificate_path(out)))}",
        soft_wrap=True,
    )
    if report.timestamp:
        out_console.print(f"RFC 3161 timestamp: {report.timestamp}")
    if draft:
        err_console.print("[bold red]DRAFT — not evidential (audited)", soft_wrap=True)
    if not report.operations_evidential:  # a draft of an evidential operation says DRAFT only
        err_console.print(
            "[bold red]NON-EVIDENTIAL: collected under a demonstration/non-evidential operation",
            soft_wrap=True,
        )


@app.command(
    epilog=examples(
        "tutela verify case-1.zip",
        "tutela verify case-1.zip --expect-fingerprint 3f9a...e1   # 64 hex digits",
        "tutela verify case-1.zip --trusted-keys partners.txt --json",
        note="Exit status: 0 intact and trusted; 1 tampered; 2 unreadable or over a size "
        "limit; 3 intact but signed by an untrusted key.",
    )
)
def verify(
    package: Path = typer.Argument(..., help="Evidence package (.zip)."),
    expect_fingerprint: str | None = typer.Option(
        None,
        "--expect-fingerprint",
        help="The signing key's published SHA-256 fingerprint (64 hex digits); then the only "
        "trusted key.",
    ),
    trusted_keys_file: list[Path] | None = typer.Option(
        None,
        "--trusted-keys",
        help="File of trusted key fingerprints or PEM public keys, one per entry, # comments; "
        "repeatable; default: trusted-keys.txt beside the default signing key, if present.",
    ),
    db: TrustDbOption = None,
    tsa_cert: list[Path] | None = typer.Option(
        None,
        "--tsa-cert",
        help="TSA certificate chain file (PEM/DER), root included; repeatable.",
    ),
    max_members: int = typer.Option(
        _LIMITS.max_members, "--max-members", min=1, help="Refuse zips with more members."
    ),
    max_total_size: int = typer.Option(
        _LIMITS.max_total_size,
        "--max-total-size",
        min=1,
        help="Refuse zips declaring more uncompressed bytes in all (default 2 GiB).",
    ),
    max_member_size: int = typer.Option(
        _LIMITS.max_member_size,
        "--max-member-size",
        min=1,
        help="Refuse zips with a member declaring more uncompressed bytes (default 512 MiB).",
    ),
    max_parsed_member: int = typer.Option(
        _LIMITS.max_parsed_member,
        "--max-parsed-member",
        min=1,
        help="Refuse a data member (entries, messages, checkpoints, operations, key, timestamp; "
        "read into memory and parsed) of more uncompressed bytes (default 64 MiB).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    annex: Path | None = typer.Option(
        None, "--annex", help="Also check this restricted annex (.annex.zip) against the package."
    ),
) -> None:
    """Re-derive every hash and signature of an evidence package and check that its key is
    trusted (exit 0 only if intact and trusted; 3: intact, untrusted key)."""
    from tutela.evidence import verify_package
    from tutela.files import read_small_file
    from tutela.ledger import TamperError
    from tutela.ledger.trust import default_trusted_keys_path, trusted_keys

    shown = escape(str(package))

    def fail(code: int, payload: dict[str, object], cause: BaseException) -> NoReturn:
        sys.stdout.write(
            json.dumps({"ok": False, "package": str(package), **payload}, default=str) + "\n"
        )
        raise SystemExit(code) from cause

    try:
        trust = trusted_keys(
            expect_fingerprint=expect_fingerprint, db_url=db, trusted_key_files=trusted_keys_file
        )
        # a regular file of at most 1 MiB each (never blocks on a FIFO, never reads /dev/zero)
        certs = [read_small_file(p, what="--tsa-cert file") for p in tsa_cert or []]
        report = verify_package(
            package,
            expected_fingerprint=None if expect_fingerprint is None else trust.expected,
            tsa_certificates=certs or None,
            limits=ReadLimits(
                max_members=max_members,
                max_total_size=max_total_size,
                max_member_size=max_member_size,
                max_parsed_member=max_parsed_member,
            ),
        )
        if annex is not None:  # tampered: exit 1 below; the note on stderr keeps --json whole
            from tutela.evidence.annex import verify_annex

            checked_annex = verify_annex(annex, package)
            err_console.print(f"annex {escape(str(annex))}: intact, bound to the package "
                              f"({checked_annex['members']} members)", soft_wrap=True)  # fmt: skip
    except TamperError as e:
        finding = {"what": e.what, "ledger_seq": e.seq, "expected": e.expected, "found": e.actual}
        if as_json:
            fail(1, {"intact": False, "trusted": None, "problem": finding}, e)
        err_console.print(
            f"[bold red]TAMPERED[/bold red] {shown}: {escape(str(e))}", soft_wrap=True, emoji=False
        )
        raise SystemExit(1) from e
    except (TutelaError, RecursionError) as e:
        # RecursionError: a last guard; readers bound JSON depth (MAX_JSON_DEPTH) themselves
        message = str(e) if isinstance(e, TutelaError) else "input nested too deeply"
        if as_json:
            fail(2, {"error": message}, e)
        if isinstance(e, TutelaError):
            raise
        raise InputError(message, path=str(package)) from e
    for warning in trust.warnings:
        err_console.print(f"warning: {escape(warning)}", soft_wrap=True, emoji=False)
    fp = report.key_fingerprint
    source = trust.source(fp)
    untrusted = f"intact, but signed by an untrusted key {fp}"
    if as_json:
        data = asdict(report)
        data.update(
            ok=source is not None,
            intact=True,
            trusted=source is not None,
            trusted_by=source,
            package=str(package),
            fingerprint_checked=expect_fingerprint is not None,
        )
        if source is None:
            data["problem"] = {"what": untrusted, "found": fp}
        sys.stdout.write(json.dumps(data) + "\n")
        if source is None:
            raise SystemExit(3)
        return
    out_console.print(
        f"{shown}: {'intact' if source else 'intact, UNTRUSTED signing key'}",
        soft_wrap=True,
        emoji=False,
    )
    table = Table(show_header=False)
    table.add_column("what", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_row("case", str(report.case_id))
    table.add_row("conversations", ", ".join(map(str, report.conversations)))
    table.add_row("operations", ", ".join(map(str, report.operations)))
    table.add_row("ledger entries", f"{report.first_seq}..{report.last_seq} ({report.entries})")
    table.add_row("messages", f"{report.messages} ({report.purged_messages} purged)")
    if report.timestamp:
        ts = "chain verified" if report.timestamp_trusted else "imprint only; chain not checked"
        table.add_row("RFC 3161 timestamp", escape(f"{report.timestamp} ({ts})"))
    out_console.print(table)
    for conv in report.completeness.conversations if report.completeness else ():
        out_console.print(escape(conv.statement), soft_wrap=True, emoji=False)
    if source == "--expect-fingerprint":
        checked = "matches --expect-fingerprint"
    else:
        checked = f"trusted: {source}" if source else "NOT trusted"
    out_console.print(
        f"signing key fingerprint (SHA-256): {fp} ({escape(checked)})", soft_wrap=True, emoji=False
    )
    if not report.evidential:
        err_console.print(
            "[bold red]NON-EVIDENTIAL package (demonstration operation or draft export)"
        )
    if source is None:
        err_console.print(
            f"[bold red]UNTRUSTED[/bold red] {shown}: {untrusted}; compare it with the "
            "fingerprint the exporter published, then pass --expect-fingerprint "
            f"{fp} or add it to {escape(str(default_trusted_keys_path()))} (or a --trusted-keys "
            "file)",
            soft_wrap=True,
            emoji=False,
        )
        raise SystemExit(3)
