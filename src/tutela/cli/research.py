"""``tutela research export`` and ``tutela research stats``: de-identified research outputs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from tutela.cli._app import app, out_console

__all__ = ["research_app"]

research_app = typer.Typer(
    help="De-identified research statistics and exports (keyed pseudonyms, days only).",
    no_args_is_help=True,
)
app.add_typer(research_app, name="research")

_DB = typer.Option(
    None, "--db", envvar="TUTELA_DB", help="Database URL (default: a file in the user data dir)."
)
_KEY = typer.Option(
    None,
    "--key-file",
    help="Pseudonym key file (created with mode 0600 if absent; default: in the user data dir).",
)


@research_app.command("export")
def export(
    out: Path = typer.Option(..., "--out", help="Export folder to create."),
    db: str | None = _DB,
    include_text: bool = typer.Option(
        False, "--include-text", help="Include message texts (needs --role supervisor or admin)."
    ),
    role: str | None = typer.Option(None, "--role", help="Your role, for --include-text."),
    key_file: Path | None = _KEY,
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing export folder."),
) -> None:
    """Write CSV tables, statistics, PNG plots and a README into a new folder."""
    from tutela.research import export_research, load_or_create_key
    from tutela.research.errors import PermissionDenied
    from tutela.research.export import TEXT_ROLES
    from tutela.store import open_store

    if include_text and role not in TEXT_ROLES:  # refuse before opening anything
        raise PermissionDenied(
            f"--include-text needs --role {' or '.join(sorted(TEXT_ROLES))}, not {role!r}"
        )
    key = load_or_create_key(key_file)
    with open_store(db) as store:
        report = export_research(
            store, out, key=key, include_text=include_text, actor_role=role, overwrite=overwrite
        )
    rows = ", ".join(f"{n} {name}" for name, n in report.rows.items())
    out_console.print(
        f"wrote {len(report.files)} files to {report.out_dir} ({rows}); key id {report.key_id}"
        + ("; includes message texts" if report.include_text else "")
    )


@research_app.command("stats")
def stats_cmd(db: str | None = _DB, key_file: Path | None = _KEY) -> None:
    """Print the research statistics as JSON (pseudonyms match exports with the same key)."""
    from tutela.research import load_or_create_key
    from tutela.research.stats import summary
    from tutela.store import open_store

    key = load_or_create_key(key_file)
    with open_store(db) as store:
        result = summary(store, key=key)
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
