"""The ``tutela`` command (Typer + Rich): a thin shell over the package.

Every :class:`~tutela.errors.TutelaError` is caught once here and printed as ``error: ...`` on
stderr with exit status 2 (tracebacks only with ``--verbose``). Commands that write a file write it
atomically, so an interrupted run leaves nothing half-written.
"""

from __future__ import annotations

import sys
import traceback
from typing import NoReturn

from tutela import __version__
from tutela.cli import batch, cases, evidence, live, research, web  # noqa: F401  (register the commands)
from tutela.cli._app import app, state
from tutela.errors import TutelaError

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> NoReturn:
    """Console-script entry point."""
    try:
        app(args=argv, prog_name="tutela", standalone_mode=False)
    except TutelaError as e:
        if state.verbose:
            traceback.print_exc()
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as e:  # click usage errors and the like
        import click

        if isinstance(e, click.exceptions.Exit):
            sys.exit(e.exit_code)
        if isinstance(e, click.ClickException):
            e.show()
            sys.exit(e.exit_code)
        if isinstance(e, click.exceptions.Abort):
            print("aborted", file=sys.stderr)
            sys.exit(1)
        raise
    sys.exit(0)


_ = __version__
