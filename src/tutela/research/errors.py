"""Errors of the research package.

::

    TutelaError
    └── InputError(ValueError)
        └── PermissionDenied       the actor's role may not do what was asked (e.g. export texts)
"""

from __future__ import annotations

from tutela.errors import InputError

__all__ = ["PermissionDenied"]


class PermissionDenied(InputError):
    """The caller's role does not permit the request (message texts in a research export).

    A subclass of :class:`~tutela.errors.InputError`, so the CLI prints it and exits 2.
    """
