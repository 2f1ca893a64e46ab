"""Bounded reads of the small files a verifier or exporter is handed: PEM keys, TSA
certificates, passphrase and trusted-keys files, and the package zip itself.

Every such path comes from a command line, so it may name a FIFO (an open for reading blocks until
a writer appears), a device such as ``/dev/zero`` (endless) or a huge file. Reading it whole
(``Path.read_bytes``) then hangs or ends in ``MemoryError``. Here a path is opened with
``O_NONBLOCK`` (the open of a FIFO returns at once), judged by ``fstat`` of the open descriptor
(no race with a rename between the check and the read), refused unless it is a regular file
(``stat.S_ISREG``), and read up to a limit (OWASP Input Validation / Denial of Service cheat
sheets: bound every input read).
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

from tutela.errors import InputError, TutelaError

__all__ = ["MAX_SMALL_FILE", "open_regular", "read_small_file"]

MAX_SMALL_FILE = 1024**2
"""Most bytes read from a key, certificate, passphrase or trusted-keys file (1 MiB; a PEM key is
about 120 bytes, a certificate chain a few KB)."""

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    return next((kind for test, kind in _KINDS if test(mode)), "not a plain file")


def open_regular(
    path: str | os.PathLike[str], *, what: str = "file", error: type[TutelaError] = InputError
) -> io.BufferedReader:
    """Open ``path`` for binary reading; only a regular file is accepted.

    ``what`` names the file in messages (``"--tsa-cert file"``, ``"passphrase file"``). Raises
    ``error`` (``InputError`` by default; it is built with the message, and ``path=`` when it is
    an ``InputError``) when the path cannot be opened or is a folder, FIFO, device or socket.
    Never blocks on a FIFO.
    """
    shown = os.fspath(path)
    try:
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        fd = os.open(path, flags)
    except OSError as e:
        raise _error(error, f"cannot read {what}: {e.strerror or e}", shown) from e
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _error(error, f"{what} is {_kind(mode)}, not a regular file", shown)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_small_file(
    path: str | os.PathLike[str],
    *,
    what: str = "file",
    limit: int = MAX_SMALL_FILE,
    error: type[TutelaError] = InputError,
) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` (default 1 MiB).

    Raises ``error`` (see ``open_regular``) when it cannot be opened or read, is not a regular
    file, or holds more than ``limit`` bytes (the message names ``what`` and the limit).
    """
    shown = os.fspath(path)
    with open_regular(path, what=what, error=error) as fh:
        try:
            data = fh.read(limit + 1)
        except OSError as e:
            raise _error(error, f"cannot read {what}: {e.strerror or e}", shown) from e
    if len(data) > limit:
        raise _error(error, f"{what} is larger than the limit of {limit} bytes", shown)
    return data


def _error(error: type[TutelaError], message: str, path: str) -> TutelaError:
    if issubclass(error, InputError):
        return error(message, path=path)
    return error(f"{Path(path)}: {message}")
