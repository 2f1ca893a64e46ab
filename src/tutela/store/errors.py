"""Errors of the store.

::

    TutelaError
    └── StoreError            a database operation failed (driver error kept as ``__cause__``),
        └── NotFoundError     a referenced row does not exist (conversation, contact, case...)
"""

from __future__ import annotations

from tutela.errors import TutelaError

__all__ = ["NotFoundError", "StoreError"]


class StoreError(TutelaError):
    """A database operation failed; the driver's exception is chained as ``__cause__``."""


class NotFoundError(StoreError, LookupError):
    """A row the caller referred to does not exist."""
