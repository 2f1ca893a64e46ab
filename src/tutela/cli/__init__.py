"""The ``tutela`` command (Typer + Rich): a thin shell over the package.

Every :class:`~tutela.errors.TutelaError` is caught once here and printed as ``error: ...`` on
stderr with exit status 2 (tracebacks only with ``--verbose``). Commands that write a file write it
atomically, so an interrupted run leaves nothing half-written.
"""

from __future__ import annotations

import sys
import traceback
from typing import NoReturn

from tutela.cli import batch, cases, evidence, live, research, web  # noqa: F401  (register the commands)
from tutela.cli._app import app, state
from tutela.errors import TutelaError

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> NoReturn:
    """Console-script entry point.

    Typer/Click handle usage errors themselves (message and exit status 2, no traceback); a
    :class:`~tutela.errors.TutelaError` is printed as ``error: ...`` with exit status 2.
    """
    try:
        app(args=argv, prog_name="tutela", standalone_mode=True)
    except TutelaError as e:
        if state.verbose:
            traceback.print_exc()
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(0)
