"""``tutela ledger verify`` and ``tutela ledger rotate-key``: the live database's ledger.

``verify`` checks the whole chain end to end (``tutela.store.ledger_verify.verify_ledger``): order,
links and hashes of every entry, that ``ledger_head`` names the last one, every checkpoint's hash,
signature and key (trusted, or handed over to by a ``key_rotated`` entry), that every checkpoint
of the witness file (``<sqlite file>.checkpoints.jsonl``, ``$TUTELA_LEDGER_WITNESS``) is still in
the database — deleting the last entries and their checkpoints is caught — and every message row
against its entry. Exit status: 0 intact; 1 tampered (the first bad ledger entry is named);
2 usage error (``error: ...``).

``rotate-key`` replaces the signing key: the old key signs the handover, a ``key_rotated`` entry
with both fingerprints is appended and checkpointed by both keys, the old key file is kept as
``<key>.retired-<fingerprint prefix>`` (0600) and the new one takes its place.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from tutela.cli._app import app, err_console, out_console
from tutela.cli._help import examples
from tutela.cli._options import (
    DbOption,
    RotatePassphraseFileOption,
    TrustedKeyOption,
    TrustedKeyPassphraseFileOption,
)
from tutela.errors import InputError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = ["ledger_app"]

ledger_app = typer.Typer(
    help="The live database's tamper-evident ledger: verify, rotate the key.",
    epilog=examples("tutela ledger verify", "tutela ledger rotate-key --reason 'yearly'"),
)
app.add_typer(ledger_app, name="ledger")

_FINGERPRINT = re.compile(r"[0-9a-fA-F]{64}")


def _trusted(
    keys: list[str], url: str, passphrase_file: Path | None
) -> tuple[list[Ed25519PublicKey], list[str]]:
    """Public keys and fingerprints from ``--key`` values (PEM file or 64 hex digits); without
    any, the database's own signing key (never created here)."""
    from tutela.files import read_small_file
    from tutela.ledger.signing import Signer, load_public_key, read_passphrase_file
    from tutela.runtime import signing_key_path

    secret = None if passphrase_file is None else read_passphrase_file(passphrase_file)
    publics: list[Ed25519PublicKey] = []
    fps: list[str] = []
    if not keys:
        path = signing_key_path(url)  # the rule of tutela.runtime, never created here
        if not path.exists():
            raise InputError(
                f"no signing key at {path}: give the ledger's key with --key (PEM or fingerprint)"
            )
        return [Signer.load(path, passphrase=secret).public_key], []
    for value in keys:
        if _FINGERPRINT.fullmatch(value):
            fps.append(value.lower())
            continue
        p = Path(value)
        try:  # a regular file of at most 1 MiB: never blocks on a FIFO, never reads /dev/zero
            data = read_small_file(p, what="--key PEM file")
        except InputError as e:
            raise InputError(f"--key is neither 64 hex digits nor a usable PEM file: {e}") from e
        if b"PRIVATE KEY" in data:
            publics.append(Signer.load(p, passphrase=secret).public_key)
        else:
            try:
                publics.append(load_public_key(data))
            except InputError as e:
                raise InputError(f"--key: {e}", path=value) from e
    return publics, fps


def _existing(url: str) -> None:
    """A SQLite file must exist: verifying must not create an empty database. ``StoreError``
    (exit 2) for a URL that is not one or names an unsupported database."""
    from tutela.store.engine import parse_url

    u = parse_url(url)
    db = u.database or ""
    if u.get_backend_name() == "sqlite" and db not in ("", ":memory:") and not Path(db).exists():
        raise InputError("no database here", path=db)


@ledger_app.command(
    "verify",
    epilog=examples(
        "tutela ledger verify",
        "tutela ledger verify --db sqlite:////srv/tutela.db --json",
        "tutela ledger verify --key 3f9a...e1   # a trusted fingerprint",
    ),
)
def verify_cmd(
    db: DbOption = None,
    key: TrustedKeyOption = None,
    passphrase_file: TrustedKeyPassphraseFileOption = None,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Verify the live ledger end to end (exit 0 intact, 1 tampered, 2 usage error)."""
    from tutela.ledger import TamperError
    from tutela.runtime import open_runtime, resolve_url
    from tutela.store.ledger_verify import verify_ledger

    url = resolve_url(db)
    _existing(url)  # the database first: a wrong URL is not a missing key
    publics, fps = _trusted(list(key or []), url, passphrase_file)
    runtime = open_runtime(url, signer=None)  # verifying signs nothing
    try:
        report = verify_ledger(runtime.store, publics, trusted_fingerprints=fps)
    except TamperError as e:
        if as_json:
            finding = {
                "what": e.what,
                "ledger_seq": e.seq,
                "expected": e.expected,
                "found": e.actual,
            }
            sys.stdout.write(json.dumps({"ok": False, "problem": finding}, default=str) + "\n")
        else:
            err_console.print(f"[bold red]TAMPERED[/bold red] {escape(str(e))}", soft_wrap=True)
        raise SystemExit(1) from e
    finally:
        runtime.close()
    if as_json:
        sys.stdout.write(json.dumps({"ok": True, **asdict(report)}) + "\n")
        return
    out_console.print(
        f"ledger intact: entries {report.first_seq}..{report.head_seq} ({report.entries}), "
        f"{report.checkpoints} checkpoints by {', '.join(report.keys) or 'no key'}, "
        f"{report.messages} messages ({report.purged} purged)",
        soft_wrap=True,
    )
    if report.witness is not None:
        out_console.print(
            f"witness {escape(report.witness)}: {report.witnessed} checkpoints present, "
            f"{report.timestamps} RFC 3161 stamps",
            soft_wrap=True,
        )
    for w in report.warnings:
        err_console.print(f"warning: {escape(w)}", soft_wrap=True)


@ledger_app.command(
    "rotate-key",
    epilog=examples("tutela ledger rotate-key --reason 'yearly rotation' --actor ana"),
)
def rotate_key_cmd(
    db: DbOption = None,
    key: Path | None = typer.Option(
        None, "--key", help="The current signing key file (default: the database's key)."
    ),
    actor: str | None = typer.Option(None, "--actor", help="Who rotates (recorded)."),
    reason: str = typer.Option("", "--reason", help="Why (recorded in the ledger)."),
    passphrase_file: RotatePassphraseFileOption = None,
) -> None:
    """Replace the signing key; the handover is signed by the old key and recorded."""
    from tutela.cli.evidence import _actor
    from tutela.ledger.signing import Signer, SigningKeyError, read_passphrase_file
    from tutela.runtime import open_runtime, require_ledger_key, resolve_url, signing_key_path

    url = resolve_url(db)
    path = signing_key_path(url, key)
    if not path.exists():
        raise InputError("no signing key to rotate", path=str(path))
    secret = None if passphrase_file is None else read_passphrase_file(passphrase_file)
    old = Signer.load(path, passphrase=secret)
    _existing(url)
    staged = path.with_name(path.name + ".new")
    if staged.exists():
        raise SigningKeyError(f"{staged} exists (an interrupted rotation?): remove it first")
    runtime = open_runtime(url, signer=old)
    try:  # only the ledger's current key may hand over (another's handover reads as tampered)
        require_ledger_key(runtime.store, old)
    except BaseException:
        runtime.close()
        raise
    new = Signer.create(staged, passphrase=secret)
    try:
        entry = runtime.recorder.rotate_key(new, actor=actor or _actor(), reason=reason)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    finally:
        runtime.close()
    retired = path.with_name(f"{path.name}.retired-{old.fingerprint()[:16]}")
    os.replace(path, retired)
    os.replace(staged, path)
    out_console.print(f"rotated the ledger key at entry {entry.seq}", soft_wrap=True)
    out_console.print(f"old fingerprint: {old.fingerprint()} (kept as {escape(str(retired))})")
    out_console.print(f"new fingerprint: {new.fingerprint()} (publish it)", soft_wrap=True)
