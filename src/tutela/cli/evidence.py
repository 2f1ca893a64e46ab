"""``tutela export`` and ``tutela verify``: evidence packages.

Exit status of ``verify``: 0 when every hash, link and signature checks; 1 when the package was
tampered with or does not match ``--expect-fingerprint`` (the finding is printed: member or ledger
entry, expected vs found); 2 when the file is not a readable package (``error: ...``).
``SystemExit`` is raised directly: ``tutela.cli.main`` runs Typer with ``standalone_mode=False``,
where click returns (and the caller drops) the code of a ``typer.Exit``.
"""

from __future__ import annotations

import getpass
import json
import sys
from dataclasses import asdict
from pathlib import Path

import typer
from rich.table import Table

from tutela.cli._app import app, err_console, out_console
from tutela.errors import InputError

__all__ = ["export", "verify"]


def _actor() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no user database entry (containers)
        return "unknown"


@app.command()
def export(
    case_id: int = typer.Argument(..., help="Case id (see the dashboard or `tutela demo`)."),
    out: Path = typer.Option(..., "--out", help="Package file to write (.zip)."),
    db: str | None = typer.Option(
        None,
        "--db",
        envvar="TUTELA_DB",
        help="Database URL (default: a file in the user data dir).",
    ),
    key: Path | None = typer.Option(
        None,
        "--key",
        help="Ledger signing key (default: the database's demo key or the user's ledger key).",
    ),
    actor: str | None = typer.Option(
        None, "--actor", help="Who exports (recorded in the ledger; default: the login name)."
    ),
    tsa_url: str | None = typer.Option(
        None, "--tsa-url", help="RFC 3161 time-stamping authority URL (timestamps the head)."
    ),
) -> None:
    """Write the verifiable evidence package of one case (appends a signed export entry)."""
    from tutela.evidence import Signer, export_package, key_path_for_db
    from tutela.store import default_url, open_store

    url = db or default_url()
    signer = Signer.load_or_create(key if key is not None else key_path_for_db(url))
    timestamper = None
    if tsa_url:
        from tutela.evidence.timestamp import http_transport

        timestamper = http_transport(tsa_url)
    out.parent.mkdir(parents=True, exist_ok=True)
    store = open_store(url)
    try:  # export_package writes to a temporary name and renames: no half-written package
        report = export_package(
            store, case_id, out, signer=signer, actor=actor or _actor(), timestamper=timestamper
        )
    finally:
        store.close()
    out_console.print(
        f"wrote {out}: case {report.case_id}, conversations "
        f"{', '.join(map(str, report.conversations))}, ledger entries "
        f"{report.first_seq}..{report.last_seq}, {report.messages} messages"
    )
    out_console.print(
        f"signing key fingerprint (SHA-256): {report.key_fingerprint}", soft_wrap=True
    )
    if report.timestamp:
        out_console.print(f"RFC 3161 timestamp: {report.timestamp}")
    if not report.evidential:
        err_console.print(
            "[bold red]NON-EVIDENTIAL: collected under a demonstration/non-evidential operation",
            soft_wrap=True,
        )


@app.command()
def verify(
    package: Path = typer.Argument(..., help="Evidence package (.zip)."),
    expect_fingerprint: str | None = typer.Option(
        None,
        "--expect-fingerprint",
        help="The signing key's published SHA-256 fingerprint (64 hex digits).",
    ),
    tsa_cert: list[Path] | None = typer.Option(
        None,
        "--tsa-cert",
        help="TSA certificate chain file (PEM/DER), root included; repeatable.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Re-derive every hash and signature of an evidence package (exit 0 only if intact)."""
    from tutela.evidence import TamperError, verify_package

    if expect_fingerprint is not None and (
        len(expect_fingerprint) != 64
        or any(ch not in "0123456789abcdef" for ch in expect_fingerprint.lower())
    ):
        raise InputError("--expect-fingerprint must be 64 hex digits")
    certs = []
    for p in tsa_cert or []:
        try:
            certs.append(p.read_bytes())
        except OSError as e:
            raise InputError(f"cannot read: {e.strerror or e}", path=str(p)) from e
    try:
        report = verify_package(
            package, expected_fingerprint=expect_fingerprint, tsa_certificates=certs or None
        )
    except TamperError as e:
        finding = {
            "what": e.what,
            "ledger_seq": e.seq,
            "expected": e.expected,
            "found": e.actual,
        }
        if as_json:
            sys.stdout.write(
                json.dumps({"ok": False, "package": str(package), "problem": finding}, default=str)
                + "\n"
            )
        else:
            err_console.print(f"[bold red]TAMPERED[/bold red] {package}: {e}", soft_wrap=True)
        raise SystemExit(1) from e
    except InputError as e:
        if as_json:
            sys.stdout.write(
                json.dumps({"ok": False, "package": str(package), "error": str(e)}) + "\n"
            )
            raise SystemExit(2) from e
        raise
    if as_json:
        data = asdict(report)
        data.update(
            ok=True, package=str(package), fingerprint_checked=expect_fingerprint is not None
        )
        sys.stdout.write(json.dumps(data) + "\n")
        return
    table = Table(title=f"{package}: intact", show_header=False)
    table.add_column("what", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_row("case", str(report.case_id))
    table.add_row("conversations", ", ".join(map(str, report.conversations)))
    table.add_row("operations", ", ".join(map(str, report.operations)))
    table.add_row("ledger entries", f"{report.first_seq}..{report.last_seq} ({report.entries})")
    table.add_row("messages", f"{report.messages} ({report.purged_messages} purged)")
    if report.timestamp:
        trust = "chain verified" if report.timestamp_trusted else "imprint only; chain not checked"
        table.add_row("RFC 3161 timestamp", f"{report.timestamp} ({trust})")
    out_console.print(table)
    checked = "matches --expect-fingerprint" if expect_fingerprint else "NOT checked"
    out_console.print(
        f"signing key fingerprint (SHA-256): {report.key_fingerprint} ({checked})", soft_wrap=True
    )
    if expect_fingerprint is None:
        err_console.print(
            "warning: no --expect-fingerprint given: the package's own key was trusted; compare "
            f"{report.key_fingerprint} with the fingerprint the exporter published",
            soft_wrap=True,
        )
    if not report.evidential:
        err_console.print("[bold red]NON-EVIDENTIAL package (demonstration operation)")
