"""The Typer application object and the global options shared by every command (the options
several commands share are in :mod:`tutela.cli._options`)."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import structlog
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from tutela import __version__
from tutela.cli._help import TutelaGroup, examples
from tutela.errors import InputError

__all__ = [
    "EX_PIPE",
    "NARROW",
    "app",
    "atomic_write",
    "check_output_path",
    "err_console",
    "out_console",
    "progress_bar",
    "state",
    "stdout_gone",
]

app = typer.Typer(
    name="tutela",
    help="Tutela: grooming and solicitation risk detection, decoy personas, deterrence, evidence.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    cls=TutelaGroup,
    epilog=examples(
        "tutela analyze examples/chats.jsonl",
        "tutela demo --scenario grooming_en",
        "tutela --show-completion bash > ~/.local/share/bash-completion/completions/tutela",
        note="tutela COMMAND --help shows each command's options and examples.",
    ),
)


class _Console(Console):
    """``rich.console.Console`` whose broken pipe exits 141, not 1.

    Rich's default ``on_broken_pipe`` (its documented hook) raises ``SystemExit(1)``, which
    ``tutela verify`` would report as "tampered" when its reader closes early
    (``tutela verify good.zip | head -1``). This one points stdout at the null device (so the
    interpreter's final flush cannot fail again) and exits 141 (128 + SIGPIPE), as a shell reports
    a writer killed by a closed pipe and as ``tutela.cli.main`` does for every other broken pipe.
    """

    def on_broken_pipe(self) -> None:
        self.quiet = True
        stdout_gone()


NARROW = 120
"""Terminal width (columns) below which tables drop their least useful columns; every table
fits an 80-column terminal (long values fold onto the next line, never cut)."""

EX_PIPE = 141
"""Exit status when the reader closed stdout: 128 + SIGPIPE, what a shell reports."""


def stdout_gone() -> NoReturn:
    """stdout was closed by its reader (``tutela ... | head``): point it at the null device, so
    the interpreter's final flush cannot fail again, and exit :data:`EX_PIPE` quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file descriptor behind stdout
        pass
    raise SystemExit(EX_PIPE)


out_console: Console = _Console()
err_console: Console = _Console(stderr=True)


class _State:
    verbose: bool = False


state = _State()


def _version(value: bool) -> None:
    if value:
        out_console.print(f"tutela {__version__}")
        raise typer.Exit()


def _stderr_logger(*_: object) -> structlog.PrintLogger:
    """A logger on the *current* ``sys.stderr`` (looked up at each use, not at configuration:
    a stream replaced and closed later, as by an embedding caller or a test, is never written)."""
    return structlog.PrintLogger(sys.stderr)


def configure_logging(verbose: bool) -> None:
    """structlog to stderr (stdout stays for results): warnings, or everything with --verbose."""
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.DEBUG if verbose else logging.WARNING
        ),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )


@app.callback()
def _root(
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Log activity and show tracebacks on errors."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    state.verbose = verbose
    configure_logging(verbose)


@contextmanager
def progress_bar(description: str, *, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """A Rich progress display on stderr counting messages; yields ``advance(n)``.

    Shown only when stderr is a terminal, so logs and pipes stay clean."""
    if not enabled or not err_console.is_terminal:
        yield lambda n: None
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f} messages"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as prog:
        task = prog.add_task(description, total=None)
        yield lambda n: prog.advance(task, n)


def check_output_path(path: Path, option: str = "--out", *, folder: bool = False) -> None:
    """Refuse, before any work is done, an output path that cannot be written.

    ``path`` is a file to write (``folder=False``) or a folder to create (``folder=True``); missing
    folders above it are fine (they are created when writing). Raises ``InputError`` naming
    ``option`` and the path when a file target is an existing folder, when the nearest existing
    ancestor is not a folder (a file in the way), or when that folder is not writable.
    """
    if not folder and path.is_dir():
        raise InputError(f"{option}: is a folder, not a file to write", path=str(path))
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(f"{option}: {ancestor} is not a folder", path=str(path))
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise InputError(f"{option}: folder {ancestor} is not writable", path=str(path))


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename.

    Raises ``InputError`` naming the path when it cannot be written (missing or read-only
    folder, a directory in the way)."""
    if path.is_dir():
        raise InputError("is a directory, not a file to write", path=str(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise InputError(f"cannot write here: {e.strerror or e}", path=str(path)) from e
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
