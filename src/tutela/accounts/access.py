"""Per-operation access: which operations a dashboard user may read and act on.

A user without grants sees every case (as before per-operation access existed). A user with one or
more grants sees and acts only on cases whose conversations *all* belong to granted operations, and
only on live conversations of granted operations (``tutela.cases.workflow`` enforces this; a case
that spans two operations needs both). This is need-to-know separation between teams that work
under different authorisations (OWASP Authorization Cheat Sheet: least privilege, deny by default
once a restriction applies). Roles still apply on top: an admin reads no case content at all.

Every grant and revoke is an audit row with its ``audit`` ledger entry (``operation_access_granted``
/ ``operation_access_revoked``, target ``user:<id>``) in the same transaction as the change.
These functions take the store's :class:`~tutela.store.Recorder`, not a ``UserStore``.

Errors: ``NotFoundError`` (unknown user or operation), ``InputError`` (bad arguments).
"""

from __future__ import annotations

from tutela.errors import InputError
from tutela.store import Recorder, Store
from tutela.store.queries import accounts as rows

__all__ = ["grant_operation", "granted_operations", "revoke_operation"]


def _ids(user_id: object, operation_id: object) -> None:
    for what, value in (("user id", user_id), ("operation id", operation_id)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2**31 - 1:
            raise InputError(f"{what} must be a positive integer, got {value!r}")


def _actor(actor: object) -> str:
    if not isinstance(actor, str) or not actor.strip():
        raise InputError("actor (who grants or revokes) is required")
    return actor.strip()


def grant_operation(recorder: Recorder, user_id: int, operation_id: int, *, actor: str) -> bool:
    """Grant ``user_id`` access to ``operation_id``; ``True`` if newly granted, ``False`` if it
    already was (nothing is written then). Audited (module docstring)."""
    _ids(user_id, operation_id)
    return rows.add_operation_grant(recorder, user_id, operation_id, actor=_actor(actor))


def revoke_operation(recorder: Recorder, user_id: int, operation_id: int, *, actor: str) -> bool:
    """Withdraw a grant; ``True`` if there was one. Revoking a user's last grant makes them
    unrestricted again (module docstring): deactivate the account to lock it out. Audited."""
    _ids(user_id, operation_id)
    return rows.remove_operation_grant(recorder, user_id, operation_id, actor=_actor(actor))


def granted_operations(store: Store, user_id: int) -> frozenset[int]:
    """The operation ids granted to ``user_id`` (empty: unrestricted)."""
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        raise InputError(f"user id must be an integer, got {user_id!r}")
    return rows.operation_grants(store, user_id)
