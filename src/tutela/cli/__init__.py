"""The ``tutela`` command (Typer + Rich): a thin shell over the package.

Every :class:`~tutela.errors.TutelaError` is caught once here and printed as ``error: ...`` on
stderr with exit status 2 (tracebacks only with ``--verbose``). Any other exception is a bug: it is
printed as one line ``error: internal error (<type>); run with --verbose for the traceback`` with
exit status :data:`EX_SOFTWARE` (70, BSD ``sysexits.h``), so no input ever ends in a traceback.
Commands that write a file write it atomically, so an interrupted run leaves nothing half-written.
"""

from __future__ import annotations

import errno
import sys
import traceback
from typing import NoReturn

import tutela.cli.preservation  # registers the command
import tutela.cli.trial  # noqa: F401  (register the commands)
from tutela.cli import batch, cases, evidence, ledger, live, research, web  # noqa: F401  (register the commands)
from tutela.cli._app import app, state, stdout_gone
from tutela.errors import TutelaError

__all__ = ["EX_SOFTWARE", "EX_USAGE", "app", "main"]

EX_USAGE = 2
"""Exit status of a user error (a bad argument or file): ``error: ...`` on stderr."""
EX_SOFTWARE = 70
"""Exit status of an unexpected exception (a bug), ``EX_SOFTWARE`` of BSD ``sysexits.h``."""


def _broken_pipe(exit_: SystemExit) -> bool:
    """True when ``exit_`` comes from a closed stdout, or stdout cannot be flushed any more.

    Click/Typer's standalone mode turns an ``EPIPE`` ``OSError`` into ``sys.exit(1)`` from
    inside its ``except`` block, so the exit's ``__context__`` is that error; status 1 would
    read as "tampered" for ``tutela verify``. Output still buffered in ``sys.stdout`` is flushed
    here, where a closed pipe can still be told apart, not at interpreter exit (status 120).
    """
    cause = exit_.__context__
    if isinstance(cause, OSError) and cause.errno == errno.EPIPE:
        return True
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        return True
    except (OSError, ValueError):  # a closed or odd stream: not ours to judge
        return False
    return False


def main(argv: list[str] | None = None) -> NoReturn:
    """Console-script entry point; never returns (``SystemExit``).

    Exit status: 0 success; what a command chose (``verify``: 1 tampered, 3 untrusted); 2
    (:data:`EX_USAGE`) for a usage error (Typer/Click print it) or a
    :class:`~tutela.errors.TutelaError` (printed as ``error: ...``); 70 (:data:`EX_SOFTWARE`) for
    any other exception, printed as one line naming its type; 130 on Ctrl-C; 141 (128 + SIGPIPE)
    when stdout is closed by its reader (``tutela verify good.zip | head -1``: never 1, the
    "tampered" code). ``--verbose`` adds the traceback.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    for position, arg in enumerate(args, start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:  # undecodable argv bytes arrive as lone surrogates (PEP 383)
            shown = arg.encode("utf-8", "backslashreplace").decode("ascii", "replace")
            print(
                f"error: argument {position} is not valid UTF-8 text ({shown}); Tutela reads its "
                "arguments as UTF-8 (use a UTF-8 locale, or rename the file)",
                file=sys.stderr,
            )
            sys.exit(EX_USAGE)
    try:
        app(args=args, prog_name="tutela", standalone_mode=True)
    except SystemExit as e:
        if _broken_pipe(e):
            stdout_gone()
        raise
    except TutelaError as e:
        if state.verbose:
            traceback.print_exc()
        print(f"error: {e}", file=sys.stderr)
        sys.exit(EX_USAGE)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        stdout_gone()
    except Exception as e:  # a bug: one line, never a traceback without --verbose
        if state.verbose:
            traceback.print_exc()
        print(
            f"error: internal error ({type(e).__name__}); run with --verbose for the traceback",
            file=sys.stderr,
        )
        sys.exit(EX_SOFTWARE)
    sys.exit(0)
