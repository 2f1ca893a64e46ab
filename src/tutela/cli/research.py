"""``tutela research export``, ``stats`` and ``trial-report``: de-identified research outputs.

``export --include-text`` logs in: ``--user NAME`` with the password from ``--password-stdin``,
``TUTELA_PASSWORD`` or a hidden prompt, and ``--totp-code`` (``TUTELA_TOTP_CODE``) for a user with
TOTP; only an active supervisor may export texts (:mod:`tutela.research.export`). Every export, and
every failed login for one, is audited.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from tutela.cli._app import app, check_output_path, out_console
from tutela.cli._help import examples
from tutela.cli._options import DbOption
from tutela.errors import InputError

__all__ = ["research_app"]

research_app = typer.Typer(
    help="De-identified research statistics and exports (keyed pseudonyms, days only).",
    epilog=examples("tutela research export --out export/", "tutela research stats"),
    no_args_is_help=True,
)
app.add_typer(research_app, name="research")

PASSWORD_ENV = "TUTELA_PASSWORD"
"""Environment variable ``research export --user`` reads the password from (after stdin)."""
TOTP_ENV = "TUTELA_TOTP_CODE"
MAX_NAME_SHOWN = 100  # characters of a refused login name kept in the audit record
_KEY = typer.Option(
    None,
    "--key-file",
    help="Pseudonym key file (created with mode 0600 if absent; default: in the user data dir).",
)


def _cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (containers)
        return "cli"


def _stdin_line(what: str) -> str:
    """The first line of stdin without its line end; ``InputError`` if it is not UTF-8."""
    buffer = getattr(sys.stdin, "buffer", None)
    raw: str | bytes = buffer.readline() if buffer is not None else sys.stdin.readline()
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise InputError(f"the {what} on stdin is not UTF-8 text") from e
    return raw.rstrip("\r\n")


def _password(password_stdin: bool) -> str:
    """``--password-stdin``, else ``TUTELA_PASSWORD``, else a hidden prompt at a terminal."""
    if password_stdin:
        return _stdin_line("password")
    env = os.environ.get(PASSWORD_ENV)
    if env is not None:
        return env
    if sys.stdin.isatty():
        return typer.prompt("password", hide_input=True)
    raise InputError(
        f"--user needs a password: --password-stdin, {PASSWORD_ENV}, or a terminal prompt"
    )


def _login(recorder: Any, name: str, password_stdin: bool, totp_code: str | None) -> Any:
    """The :class:`~tutela.accounts.users.User` ``name`` after checking its password and (if it
    has TOTP) a one-time code; ``PermissionDenied`` (audited through ``recorder``) when that
    fails."""
    from tutela.accounts.users import UserStore
    from tutela.errors import PermissionDenied

    users = UserStore(recorder.store, recorder=recorder)
    password = _password(password_stdin)
    known = users.get(name)
    if totp_code is None and known is not None and known.has_totp:
        if not sys.stdin.isatty():
            raise InputError(f"user {name!r} has TOTP: give --totp-code (or {TOTP_ENV})")
        totp_code = typer.prompt("TOTP code")
    user = users.authenticate(name, password, totp_code=totp_code)
    if user is None:
        recorder.record_audit(
            _cli_actor(),
            "research_export_refused",
            "research",
            {"user": name[:MAX_NAME_SHOWN], "reason": "login failed"},
        )
        raise PermissionDenied(f"login failed for user {name!r}")
    return user


@research_app.command(
    "export",
    epilog=examples(
        "tutela research export --out export/",
        "tutela research export --out export/ --include-text --user sam --password-stdin",
    ),
)
def export(
    out: Path = typer.Option(..., "--out", help="Export folder to create."),
    db: DbOption = None,
    include_text: bool = typer.Option(
        False,
        "--include-text",
        help="Include message texts (needs --user: an active supervisor; audited).",
    ),
    user: str | None = typer.Option(
        None, "--user", help="Log in as this user (required for --include-text)."
    ),
    password_stdin: bool = typer.Option(
        False,
        "--password-stdin",
        help=f"Read --user's password from the first line of stdin (else {PASSWORD_ENV} or a "
        "prompt).",
    ),
    totp_code: str | None = typer.Option(
        None, "--totp-code", envvar=TOTP_ENV, help="--user's current TOTP code, if it has TOTP."
    ),
    role: str | None = typer.Option(None, "--role", hidden=True),
    key_file: Path | None = _KEY,
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing export folder."),
) -> None:
    """Write CSV tables, statistics, PNG plots and a README into a new folder (audited).

    Message texts only with --include-text --user NAME, NAME being an active supervisor who logs
    in with a password (and TOTP code); the role is the account's, never typed.
    """
    from tutela.errors import PermissionDenied
    from tutela.research import export_research, load_or_create_key
    from tutela.runtime import LEDGER_KEY, open_runtime

    if role is not None:
        raise InputError(
            "--role is not accepted any more: log in with --user NAME (the account's role counts)"
        )
    if include_text and user is None:  # refuse before opening anything
        raise PermissionDenied("--include-text needs --user NAME (an active supervisor)")
    check_output_path(out, folder=True)
    key = load_or_create_key(key_file)
    # the audit entries are signed only by the ledger's own key (tutela.runtime.LEDGER_KEY)
    with open_runtime(db, signer=LEDGER_KEY) as runtime:
        recorder = runtime.recorder
        actor = _login(recorder, user, password_stdin, totp_code) if user is not None else None
        try:
            report = export_research(
                runtime.store,
                out,
                key=key,
                include_text=include_text,
                actor=actor if actor is not None else _cli_actor(),
                overwrite=overwrite,
                recorder=recorder,
            )
        except PermissionDenied as e:  # e.g. an analyst: logged in, but refused
            recorder.record_audit(
                actor.name if actor is not None else _cli_actor(),
                "research_export_refused",
                "research",
                {"user": (user or "")[:MAX_NAME_SHOWN], "reason": str(e)[:200]},
            )
            raise
    rows = ", ".join(f"{n} {name}" for name, n in report.rows.items())
    out_console.print(
        f"wrote {len(report.files)} files to {escape(str(report.out_dir))} ({rows}); key id "
        f"{report.key_id}" + ("; includes message texts" if report.include_text else ""),
        soft_wrap=True,
    )


_OPERATION = typer.Option(
    None,
    "--operation",
    help="Limit the deterrence outcomes to this operation id (repeatable; demo and "
    "non-evidential operations are always left out).",
)


@research_app.command(
    "stats", epilog=examples("tutela research stats", "tutela research stats --operation 1")
)
def stats_cmd(
    db: DbOption = None, key_file: Path | None = _KEY, operation: list[int] | None = _OPERATION
) -> None:
    """Print the research statistics as JSON (pseudonyms match exports with the same key)."""
    from tutela.research import load_or_create_key
    from tutela.research.stats import summary
    from tutela.runtime import open_runtime

    key = load_or_create_key(key_file)
    with open_runtime(db, signer=None) as runtime:  # reads only
        result = summary(runtime.store, key=key, operations=operation or None)
    sys.stdout.write(json.dumps(result, indent=2) + "\n")


@research_app.command(
    "trial-report",
    epilog=examples(
        "tutela research trial-report",
        "tutela research trial-report --trial pilot-2026 --markdown > report.md",
    ),
)
def trial_report_cmd(
    trial: str | None = typer.Option(
        None, "--trial", help="Trial name (default: the active trial, else the latest)."
    ),
    operation: list[int] | None = _OPERATION,
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    markdown: bool = typer.Option(False, "--markdown", help="Print the report as Markdown."),
    db: DbOption = None,
) -> None:
    """The deterrence trial's outcomes per arm with 95 % intervals and the achieved power.

    Only evidential operations count (never the demo); re-contact is a lower bound given the
    identity linker's recall (tutela.research.trial)."""
    from tutela.research.trial import analyse_trial
    from tutela.research.trial_report import render_report, report_dict
    from tutela.runtime import open_runtime

    with open_runtime(db, signer=None) as runtime:  # reads only
        report = analyse_trial(runtime.store, trial=trial, operations=operation or None)
    if as_json:
        sys.stdout.write(json.dumps(report_dict(report), indent=2) + "\n")
    else:
        sys.stdout.write(render_report(report, "markdown" if markdown else "text"))
