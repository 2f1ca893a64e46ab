"""Errors of the evidence package.

::

    TutelaError
    ├── InputError(ValueError)     (tutela.errors) a malformed entry, checkpoint, key or package
    ├── TamperError                a well-formed record whose hashes, order or signatures disagree
    ├── SigningKeyError            the signing key file is unusable (permissions, format)
    └── TimestampError             a time-stamping authority failed or replied with garbage

A malformed record is the caller's mistake (``InputError``); a well-formed record that does not
verify is evidence of tampering or corruption (``TamperError``). Keeping them apart lets a verifier
say which one it found (sigstore's split between a bad request and a failed verification).
"""

from __future__ import annotations

from tutela.errors import TutelaError

__all__ = ["SigningKeyError", "TamperError", "TimestampError"]


class TamperError(TutelaError):
    """A ledger, checkpoint or package does not verify.

    Attributes
    ----------
    seq: the ledger sequence number where the disagreement was found (``None`` if not tied to one).
    expected: the value the verifier derived (a hex digest, a sequence number, a fingerprint...).
    actual: the value the record holds.
    """

    def __init__(
        self, what: str, *, seq: int | None = None, expected: object = None, actual: object = None
    ) -> None:
        self.what = what
        self.seq = seq
        self.expected = expected
        self.actual = actual
        where = f"ledger entry {seq}: " if seq is not None else ""
        super().__init__(f"{where}{what}: expected {expected!r}, found {actual!r}")


class SigningKeyError(TutelaError):
    """The Ed25519 signing key file cannot be used (readable by others, unreadable, malformed)."""


class TimestampError(TutelaError):
    """An RFC 3161 time-stamping authority could not be reached or gave an unusable reply."""
