"""The command-line options several commands share, defined once (``docs/architecture.md``,
"Command-line contract").

Each alias is a ``typing.Annotated`` type carrying its ``typer.Option``; a command declares
``db: DbOption = None``. Flag names, help texts, environment variables and defaults are the
CLI contract: change them here only together with the README. Where one flag means different
things to different commands (``--db`` of ``tutela demo`` has no ``TUTELA_DB``, ``--key`` of
``ledger verify`` is a trusted key, not a signing key), each meaning has its own alias.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = [
    "DbOption",
    "DemoDbOption",
    "DetectionConfigOption",
    "ModelOption",
    "PassphraseFileOption",
    "RotatePassphraseFileOption",
    "ServeDbOption",
    "SigningKeyOption",
    "TrustDbOption",
    "TrustedKeyOption",
    "TrustedKeyPassphraseFileOption",
]

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="TUTELA_DB",
        metavar="URL",
        help="Database URL (default: a file in the user data dir).",
    ),
]
"""``--db URL`` (``TUTELA_DB``; ``None``: ``tutela.store.default_url()``)."""

ServeDbOption = Annotated[
    str | None,
    typer.Option(
        "--db", envvar="TUTELA_DB", metavar="URL", help="Database URL (default: the user data dir)."
    ),
]
"""``tutela serve --db`` (the same option as :data:`DbOption`, with the dashboard's wording)."""

DemoDbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="URL",
        help="Database URL; default: a new SQLite file in a temporary folder.",
    ),
]
"""``tutela demo --db``: never ``TUTELA_DB`` (a demo must not write into the live database
unless told to); ``None``: a new ``tutela-demo-*`` temporary folder."""

TrustDbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="TUTELA_DB",
        metavar="URL",
        help="Also trust this database's own signing key (e.g. a tutela demo database's).",
    ),
]
"""``tutela verify --db``: a database whose own key (``tutela.ledger.trust``) is trusted too."""

ModelOption = Annotated[
    Path | None,
    typer.Option("--model", metavar="FILE", help="Model file (default: the shipped model)."),
]
"""``--model FILE`` (``None``: the detection config's ``model:``, else the shipped model)."""

DetectionConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        metavar="FILE",
        help="Detection parameters, YAML (default: the shipped detection.yaml).",
    ),
]
"""``--config FILE``: detection parameters over the packaged defaults (not ``tutela run``'s
run configuration)."""

SigningKeyOption = Annotated[
    Path | None,
    typer.Option(
        "--key",
        metavar="FILE",
        help="Ledger signing key (default: the database's demo key or the user's ledger key).",
    ),
]
"""``--key FILE``: the signing key (``None``: the rule of :mod:`tutela.runtime`)."""

PassphraseFileOption = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        metavar="FILE",
        help="File holding the signing key's passphrase (default: $TUTELA_KEY_PASSPHRASE).",
    ),
]
"""``--passphrase-file FILE``: the signing key's passphrase (first line)."""

RotatePassphraseFileOption = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        metavar="FILE",
        help="Passphrase of the current key; also protects the new one "
        "(default: $TUTELA_KEY_PASSPHRASE).",
    ),
]
"""``ledger rotate-key --passphrase-file``: the current key's passphrase, kept for the new one."""

TrustedKeyOption = Annotated[
    list[str] | None,
    typer.Option(
        "--key",
        metavar="KEY",
        help="Trusted ledger key: a PEM file (public or private) or its 64-hex fingerprint; "
        "repeatable (default: the database's own signing key).",
    ),
]
"""``ledger verify --key``: a key the ledger may be signed by (never created)."""

TrustedKeyPassphraseFileOption = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        metavar="FILE",
        help="Passphrase of a protected private key given as --key.",
    ),
]
"""``ledger verify --passphrase-file``."""
