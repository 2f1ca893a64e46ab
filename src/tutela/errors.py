"""Tutela's exception tree.

::

    TutelaError                         root; the CLI prints "error: ..." and exits 2
    ├── InputError(ValueError)          a user's file or argument is wrong (names file and line)
    ├── ModelError                      a model file is missing, untrusted or from another version
    ├── ConfigError(ValueError)         a configuration file does not validate
    │   └── PersonaUnavailable          live.takeover: no such persona / not running here
    ├── SafetyError                     an outgoing text was refused by the outgoing guard
    │   └── GuardRefusal                persona.guard: which rule refused which text
    ├── ConnectorError                  a chat platform connection failed
    │   └── AuthenticationError         connectors.base: the platform refused the credentials
    ├── PermissionDenied                the user's role, grants or the four-eyes rule forbid it
    ├── InvalidTransition               cases: the action does not apply to the case's status
    ├── OperationInactive               cases.operations: outside the operation's authorised dates
    ├── StoreError                      store: the database refused or is inconsistent
    │   └── NotFoundError(LookupError)  store: no such record
    ├── TamperError                     ledger: a chain, checkpoint or package does not verify
    ├── SigningKeyError                 ledger: a signing key is missing, unreadable or wrong
    └── TimestampError                  ledger: an RFC 3161 time-stamp could not be had or read

Errors defined here are the ones several packages raise; the others live beside the code that
raises them (the module is named above) and ``tests/test_architecture.py`` checks that every
``TutelaError`` subclass in ``src/tutela`` is drawn in this tree.

Foreign errors are wrapped at the boundary with ``raise ... from e`` so the cause is kept.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "ConnectorError",
    "InputError",
    "ModelError",
    "PermissionDenied",
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


class PermissionDenied(TutelaError):
    """The acting user may not do this: role, per-operation grants, the four-eyes rule, an
    inactive or unknown account, or message texts asked for in a research export without an
    actor allowed to read them. Raised before anything is read or written."""
