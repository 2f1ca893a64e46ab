"""``tutela preservation CASE --out DIR``: preservation-request letters, one per platform.

A thin shell over :mod:`tutela.evidence.preservation` (every rule lives there). Exit status: 0
written; 2 usage error, unknown case, a case without conversations, a letter already in the
folder (``error: ...``).
"""

from __future__ import annotations

import getpass
import sys
from datetime import date
from pathlib import Path

import typer
from rich.markup import escape

from tutela.cli._app import app, err_console, out_console
from tutela.cli._help import examples
from tutela.cli._options import DbOption
from tutela.errors import InputError

__all__ = ["preservation"]


def _actor() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no user database entry (containers)
        return "unknown"


@app.command(
    epilog=examples(
        "tutela preservation 1 --out letters/",
        "tutela preservation 1 --out letters/ --date 2026-12-01 --json",
    )
)
def preservation(
    case_id: int = typer.Argument(..., min=1, max=2**31 - 1, metavar="CASE_ID", help="Case id."),
    out: Path = typer.Option(..., "--out", help="Folder to write the letters into."),
    letter_date: str | None = typer.Option(
        None, "--date", help="Date printed on the letters, YYYY-MM-DD (default: today, UTC)."
    ),
    actor: str | None = typer.Option(
        None, "--actor", help="Who prepares the letters (audited; default: the login name)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the index as JSON."),
    db: DbOption = None,
) -> None:
    """Write one preservation-request letter per platform the case's contact used (Markdown,
    preserve-until one year after the letter's date) and an index; each letter is audited.
    Nothing is sent: the officer checks, signs and sends them."""
    from tutela.evidence.preservation import write_preservation_requests
    from tutela.runtime import LEDGER_KEY, open_runtime

    when = None
    if letter_date is not None:
        try:
            when = date.fromisoformat(letter_date)
        except ValueError as e:
            raise InputError(f"--date: not a date YYYY-MM-DD: {letter_date!r}") from e
    runtime = open_runtime(db, signer=LEDGER_KEY, checkpoint_every=0)
    try:
        result = write_preservation_requests(
            runtime.store,
            case_id,
            out,
            recorder=runtime.recorder,
            actor=actor or _actor(),
            letter_date=when,
        )
        if runtime.recorder.signer is not None:  # the ledger's key is here: sign the audit now
            runtime.recorder.checkpoint()
    finally:
        runtime.store.close()
    if as_json:
        sys.stdout.write(result.index.read_text(encoding="utf-8"))
    else:
        for letter in result.letters:
            out_console.print(
                f"wrote {escape(str(out / letter.file))}: {escape(letter.platform)}, reference "
                f"{escape(letter.reference)}, {len(letter.identifiers)} identifier(s), "
                f"SHA-256 {letter.sha256}",
                soft_wrap=True,
                emoji=False,
            )
        out_console.print(
            f"index {escape(str(result.index))}; letters dated {result.letter_date}, preserve "
            f"until {result.preserve_until} (one year)",
            soft_wrap=True,
            emoji=False,
        )
    if not result.evidential:
        err_console.print(
            "[bold red]NOT FOR SENDING: the case was collected under a demonstration or "
            "non-evidential operation",
            soft_wrap=True,
        )
