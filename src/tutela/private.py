"""Private files and folders: the database, keys and secrets Tutela writes for one user.

Rule (OWASP ASVS V8.3 "sensitive private data"; POSIX permissions): folders Tutela creates for
its data are ``0700`` and files holding chat texts, hashes, secrets or keys are ``0600``, so other
accounts on the machine cannot read them. An existing folder that Tutela did not create (``/tmp``,
a project folder) is never changed, except Tutela's own data folder (:func:`data_dir`); an
existing private *file* with group or other bits is tightened to ``0600`` and a warning is
logged. On platforms without POSIX modes (Windows) the calls only create.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path

from tutela.errors import ConfigError

__all__ = [
    "FILE_MODE",
    "FOLDER_MODE",
    "data_dir",
    "private_file",
    "private_folder",
    "refuse_shared",
    "secret_file",
    "write_new_file",
]

FOLDER_MODE = 0o700
FILE_MODE = 0o600

log = logging.getLogger(__name__)


def data_dir() -> Path:
    """Tutela's own data folder (``platformdirs.user_data_dir("tutela")``), not created here.

    Being Tutela's own, it is the one existing folder :func:`private_folder` tightens to ``0700``.
    """
    from platformdirs import user_data_dir

    return Path(user_data_dir("tutela"))


def private_folder(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` (and missing parents) with mode ``0700``; returns it as a ``Path``.

    Only folders created here get the mode; existing ones are left as they are (module docstring).
    Raises ``OSError`` when the folder cannot be created.
    """
    folder = Path(path).expanduser()
    missing = []
    probe = folder
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    folder.mkdir(parents=True, exist_ok=True)
    for created in missing:
        os.chmod(created, FOLDER_MODE)
    own = data_dir()
    if os.name == "posix" and folder == own and stat.S_IMODE(folder.stat().st_mode) & 0o077:
        log.warning("tightening %s to %o (private data)", folder, FOLDER_MODE)
        os.chmod(folder, FOLDER_MODE)
    return folder


def private_file(path: str | os.PathLike[str], *, create: bool = True) -> Path:
    """Make ``path`` a ``0600`` file: create it empty (never truncating) when ``create`` and it is
    missing, else tighten an existing file that others may read (logged). Returns the ``Path``.

    Raises ``OSError`` when the file cannot be created or its mode changed.
    """
    file = Path(path).expanduser()
    if create or file.parent.exists():
        private_folder(file.parent)
    if not file.exists():
        if create:
            fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            os.close(fd)
        return file
    mode = stat.S_IMODE(file.stat().st_mode)
    if os.name == "posix" and file.is_file() and mode & 0o077:
        log.warning("tightening %s from %o to %o (private data)", file, mode, FILE_MODE)
        os.chmod(file, FILE_MODE)
    return file


def write_new_file(path: str | os.PathLike[str], data: bytes) -> Path:
    """Create ``path`` exclusively as a ``0600`` file holding ``data`` (its missing folders
    ``0700``), written and fsynced before returning it.

    Raises ``FileExistsError`` when the file already exists (another process made it first: read
    theirs) and ``OSError`` when it cannot be created or written.
    """
    file = Path(path).expanduser()
    private_folder(file.parent)
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return file


def refuse_shared(
    path: str | os.PathLike[str], *, what: str, error: type[Exception] = ConfigError
) -> None:
    """Raise ``error`` when the file at ``path`` is readable or writable by group or others
    (POSIX only): ``"FILE: {what} is accessible by group/others (mode 0644); run: chmod 600
    FILE"``. A secret is refused, not tightened: someone may already have copied it.

    Raises ``OSError`` when ``path`` cannot be examined (a missing file included).
    """
    file = Path(path).expanduser()
    mode = file.stat().st_mode
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise error(
            f"{file}: {what} is accessible by group/others "
            f"(mode {stat.S_IMODE(mode):04o}); run: chmod 600 {file}"
        )


def secret_file(
    path: str | os.PathLike[str], *, what: str, new: Callable[[], bytes] | None = None
) -> bytes:
    """The stripped bytes of the secret file at ``path`` (a key, a session secret).

    When the file is missing and ``new`` is given, it is created with ``new()`` (``0600``, its
    folders ``0700``, exclusively and fsynced: when two processes race, the first file wins and
    both read it; :func:`write_new_file`). A secret readable or writable by group or others is
    refused, not tightened (:func:`refuse_shared`). ``what`` names the file in messages.

    Raises ``ConfigError`` when the file cannot be created or read (a missing one included) or is
    accessible by group/others.
    """
    file = Path(path).expanduser()
    if new is not None and not file.exists():
        try:
            write_new_file(file, new())
        except FileExistsError:
            pass  # another process made it first: read theirs
        except OSError as e:
            raise ConfigError(f"{file}: cannot create {what}: {e}") from e
    try:
        refuse_shared(file, what=what)
        return file.read_bytes().strip()
    except OSError as e:
        raise ConfigError(f"{file}: cannot read {what}: {e}") from e
