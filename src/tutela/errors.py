"""Tutela's exception tree.

::

    TutelaError                       root; the CLI prints its message and exits non-zero
    ├── InputError(ValueError)        a user's file or argument is wrong (names file and line)
    ├── ModelError                    a model file is missing, untrusted or from another version
    ├── ConfigError(ValueError)       a configuration file does not validate
    ├── SafetyError                   an outgoing text was refused by the outgoing guard
    └── ConnectorError                a chat platform connection failed

Foreign errors are wrapped at the boundary with ``raise ... from e`` so the cause is kept.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "ConnectorError",
    "InputError",
    "ModelError",
    "SafetyError",
    "TutelaError",
]


class TutelaError(Exception):
    """Root of every error Tutela raises on purpose."""


class InputError(TutelaError, ValueError):
    """Bad user input: a malformed file, a missing field, a wrong encoding.

    Parameters
    ----------
    message:
        What is wrong, in words a user can act on.
    path:
        The file concerned, if any.
    line:
        1-based line number in ``path`` where the problem was found, if known.
    """

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(f"{where}{message}")


class ModelError(TutelaError):
    """A model file is missing, refers to untrusted types, or cannot be used."""


class ConfigError(TutelaError, ValueError):
    """A configuration file (policy, persona, run config) does not validate."""


class SafetyError(TutelaError):
    """The outgoing guard refused a text; it was not sent."""


class ConnectorError(TutelaError):
    """A chat-platform connector failed (connection, authentication, protocol)."""
