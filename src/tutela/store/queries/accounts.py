"""User accounts and per-operation grants (tables ``users``, ``operation_access``) for
``tutela.accounts``.

The store only reads and writes the rows: password hashing, TOTP, the secret box and every rule of
who may do what stay in ``tutela.accounts`` (``docs/architecture.md``, packages and layers).
Every account change is written together with its audit row and ``audit`` ledger entry in one
transaction (``Recorder.store.write``), and every change that must end open dashboard sessions
also bumps ``users.session_epoch``, stamps ``credentials_changed_at`` and deletes the user's
``web_sessions`` rows in that same transaction. Times are aware UTC.

Errors: ``NotFoundError`` (unknown user or operation), ``StoreError`` (database),
``InputError`` (audit details that are not canonical JSON).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tutela.store.engine import Store
from tutela.store.errors import NotFoundError, StoreError
from tutela.store.models import OperationAccessRow, OperationRow, UserRow, WebSessionRow

if TYPE_CHECKING:
    from tutela.store.recorder import Recorder

__all__ = [
    "TotpUpdate",
    "UserRecord",
    "add_operation_grant",
    "add_user",
    "deactivate_user",
    "list_users",
    "operation_grants",
    "remove_operation_grant",
    "replace_password_hash",
    "revoke_user_sessions",
    "set_user_lang",
    "set_user_password",
    "set_user_role",
    "set_user_totp",
    "update_totp_locked",
    "user_by_id",
    "user_by_name",
]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class UserRecord:
    """One ``users`` row, detached from the session.

    ``role``: ``analyst``/``supervisor``/``admin`` as stored; ``password_hash``: the argon2id PHC
    string; ``totp_secret``: the stored (normally ``fernet:v1:``-encrypted) secret or ``None``;
    ``session_epoch``: bumped by every change that ends open sessions; ``totp_last_step``: the
    RFC 6238 step of the last accepted code or ``None``.
    """

    id: int
    name: str
    role: str
    password_hash: str
    totp_secret: str | None
    active: bool
    created_at: datetime
    session_epoch: int
    totp_last_step: int | None
    credentials_changed_at: datetime | None

    @classmethod
    def from_row(cls, row: UserRow) -> UserRecord:
        """The record of one ``UserRow`` (detached: safe after the session closes)."""
        return cls(
            id=row.id,
            name=row.name,
            role=row.role,
            password_hash=row.password_hash,
            totp_secret=row.totp_secret,
            active=row.active,
            created_at=row.created_at,
            session_epoch=row.session_epoch,
            totp_last_step=row.totp_last_step,
            credentials_changed_at=row.credentials_changed_at,
        )


@dataclass(frozen=True, slots=True)
class TotpUpdate:
    """What an accepted TOTP code changes on its user: the accepted step, and the re-encrypted
    secret when a legacy plain one was upgraded (``None``: keep the stored secret)."""

    totp_last_step: int
    totp_secret: str | None = None


# -- reads -------------------------------------------------------------------------------------
def user_by_name(store: Store, name: str) -> UserRecord | None:
    """The user called ``name``, or ``None``."""
    with store.session() as s:
        row = s.execute(select(UserRow).where(UserRow.name == name)).scalar_one_or_none()
        return None if row is None else UserRecord.from_row(row)


def user_by_id(store: Store, user_id: int) -> UserRecord | None:
    """The user with id ``user_id``, or ``None``."""
    with store.session() as s:
        row = s.get(UserRow, user_id)
        return None if row is None else UserRecord.from_row(row)


def list_users(store: Store) -> list[UserRecord]:
    """All users (active or not), by name."""
    with store.session() as s:
        return [
            UserRecord.from_row(r)
            for r in s.execute(select(UserRow).order_by(UserRow.name)).scalars()
        ]


def operation_grants(store: Store, user_id: int) -> frozenset[int]:
    """The operation ids granted to ``user_id`` (empty: none granted)."""
    with store.session() as s:
        return frozenset(
            s.execute(
                select(OperationAccessRow.operation_id).where(OperationAccessRow.user_id == user_id)
            ).scalars()
        )


# -- user writes -------------------------------------------------------------------------------
def add_user(
    recorder: Recorder,
    *,
    name: str,
    role: str,
    password_hash: str,
    created_at: datetime,
    actor: str,
) -> UserRecord | None:
    """Insert an active user without TOTP (epoch 0) with its audit row ``user_added``
    (target ``user:<id>``, details ``{"name", "role"}``) in one transaction; ``None`` (nothing
    written) when the name is taken, also when a concurrent insert took it first."""

    def _work(s: Session) -> UserRecord | None:
        if s.execute(select(UserRow.id).where(UserRow.name == name)).first() is not None:
            return None
        row = UserRow(
            name=name,
            role=role,
            password_hash=password_hash,
            totp_secret=None,
            active=True,
            created_at=created_at,
            session_epoch=0,
        )
        s.add(row)
        s.flush()
        recorder._audit(s, actor, "user_added", f"user:{row.id}", {"name": name, "role": role})
        return UserRecord.from_row(row)

    try:
        return recorder.store.write(_work)
    except StoreError as e:
        if isinstance(e.__cause__, IntegrityError):
            return None
        raise


def _locked(s: Session, name: str) -> UserRow:
    row = s.execute(
        select(UserRow).where(UserRow.name == name).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        raise NotFoundError(f"user {name!r} does not exist")
    return row


def _end_sessions(s: Session, row: UserRow, now: datetime) -> None:
    """Bump the epoch, stamp the change, drop the user's session rows."""
    row.session_epoch = (row.session_epoch or 0) + 1
    row.credentials_changed_at = now
    s.execute(delete(WebSessionRow).where(WebSessionRow.user_id == row.id))


def set_user_totp(
    recorder: Recorder, name: str, stored_secret: str, *, actor: str, now: datetime
) -> UserRecord:
    """Store ``stored_secret`` (already encrypted), forget the last accepted step, end the
    user's sessions; audit ``user_totp_set`` (details ``{"name"}``, never the secret)."""

    def _work(s: Session) -> UserRecord:
        row = _locked(s, name)
        row.totp_secret = stored_secret
        row.totp_last_step = None
        _end_sessions(s, row, now)
        recorder._audit(s, actor, "user_totp_set", f"user:{row.id}", {"name": name})
        return UserRecord.from_row(row)

    return recorder.store.write(_work)


def set_user_password(
    recorder: Recorder, name: str, password_hash: str, *, actor: str, now: datetime
) -> UserRecord:
    """Replace the password hash and end the user's sessions; audit ``user_password_set``."""

    def _work(s: Session) -> UserRecord:
        row = _locked(s, name)
        row.password_hash = password_hash
        _end_sessions(s, row, now)
        recorder._audit(s, actor, "user_password_set", f"user:{row.id}", {"name": name})
        return UserRecord.from_row(row)

    return recorder.store.write(_work)


def set_user_role(
    recorder: Recorder, name: str, role: str, *, actor: str, now: datetime
) -> UserRecord:
    """Give the user ``role`` and end their sessions; audit ``user_role_set`` (details
    ``{"name", "from", "to"}``)."""

    def _work(s: Session) -> UserRecord:
        row = _locked(s, name)
        old = row.role
        row.role = role
        _end_sessions(s, row, now)
        recorder._audit(
            s, actor, "user_role_set", f"user:{row.id}", {"name": name, "from": old, "to": role}
        )
        return UserRecord.from_row(row)

    return recorder.store.write(_work)


def deactivate_user(recorder: Recorder, name: str, *, actor: str, now: datetime) -> UserRecord:
    """Mark the user inactive and end their sessions (the row stays); audit
    ``user_deactivated``."""

    def _work(s: Session) -> UserRecord:
        row = _locked(s, name)
        row.active = False
        _end_sessions(s, row, now)
        recorder._audit(s, actor, "user_deactivated", f"user:{row.id}", {"name": name})
        return UserRecord.from_row(row)

    return recorder.store.write(_work)


def revoke_user_sessions(recorder: Recorder, name: str, *, actor: str, now: datetime) -> UserRecord:
    """End the user's sessions without other change; audit ``user_sessions_revoked``."""

    def _work(s: Session) -> UserRecord:
        row = _locked(s, name)
        _end_sessions(s, row, now)
        recorder._audit(s, actor, "user_sessions_revoked", f"user:{row.id}", {"name": name})
        return UserRecord.from_row(row)

    return recorder.store.write(_work)


def replace_password_hash(recorder: Recorder, user_id: int, old_hash: str, new_hash: str) -> None:
    """Replace the hash of ``user_id`` by ``new_hash`` if it still is ``old_hash`` (a re-hash
    with current parameters after a login; not audited, sessions stay)."""

    def _work(s: Session) -> None:
        r = s.get(UserRow, user_id)
        if r is not None and r.password_hash == old_hash:
            r.password_hash = new_hash

    recorder.store.write(_work)


def set_user_lang(recorder: Recorder, user_id: int, lang: str | None, *, actor: str) -> str | None:
    """Store the user's dashboard language (``users.lang``: ``None`` means "from the browser";
    which values are allowed is the caller's rule) with its audit row ``user_lang_set``
    (details ``{"name", "from", "to"}``; sessions stay) in one transaction; returns the
    previous value. ``NotFoundError`` for an unknown ``user_id``."""

    def _work(s: Session) -> str | None:
        row = s.get(UserRow, user_id, with_for_update=True)
        if row is None:
            raise NotFoundError(f"user {user_id} does not exist")
        old = row.lang
        row.lang = lang
        details = {"name": row.name, "from": old, "to": lang}
        recorder._audit(s, actor, "user_lang_set", f"user:{row.id}", details)
        return old

    return recorder.store.write(_work)


def update_totp_locked(
    recorder: Recorder,
    user_id: int,
    decide: Callable[[UserRecord | None], tuple[_T, TotpUpdate | None]],
) -> _T:
    """Read ``user_id`` locked for update (``None``: no such user), call ``decide`` on it and
    apply the :class:`TotpUpdate` it returns, all in one write transaction, so two concurrent
    uses of one code cannot both be accepted. Returns ``decide``'s first value; an exception
    from ``decide`` rolls the transaction back. Not audited (the login route audits logins)."""

    def _work(s: Session) -> _T:
        row = s.get(UserRow, user_id, with_for_update=True)
        result, change = decide(None if row is None else UserRecord.from_row(row))
        if row is not None and change is not None:
            row.totp_last_step = change.totp_last_step
            if change.totp_secret is not None:
                row.totp_secret = change.totp_secret
        return result

    return recorder.store.write(_work)


# -- operation grants --------------------------------------------------------------------------
def _check_ids(s: Session, user_id: int, operation_id: int) -> None:
    if s.get(UserRow, user_id) is None:
        raise NotFoundError(f"user {user_id} does not exist")
    if s.get(OperationRow, operation_id) is None:
        raise NotFoundError(f"operation {operation_id} does not exist")


def add_operation_grant(recorder: Recorder, user_id: int, operation_id: int, *, actor: str) -> bool:
    """Grant ``operation_id`` to ``user_id`` (granted now, by ``actor``) with its audit row
    ``operation_access_granted`` (target ``user:<id>``, details ``{"user_id",
    "operation_id"}``); ``False`` (nothing written) if it already was granted."""

    def _work(s: Session) -> bool:
        _check_ids(s, user_id, operation_id)
        if s.get(OperationAccessRow, (user_id, operation_id)) is not None:
            return False
        s.add(
            OperationAccessRow(
                user_id=user_id,
                operation_id=operation_id,
                granted_by=actor,
                granted_at=datetime.now(UTC),
            )
        )
        s.flush()
        recorder._audit(
            s,
            actor,
            "operation_access_granted",
            f"user:{user_id}",
            {"user_id": user_id, "operation_id": operation_id},
        )
        return True

    return recorder.store.write(_work)


def remove_operation_grant(
    recorder: Recorder, user_id: int, operation_id: int, *, actor: str
) -> bool:
    """Withdraw a grant with its audit row ``operation_access_revoked`` (details ``{"user_id",
    "operation_id", "unrestricted"}``: ``unrestricted`` when no grant is left); ``False``
    (nothing written) if there was none."""

    def _work(s: Session) -> bool:
        _check_ids(s, user_id, operation_id)
        result = s.execute(
            delete(OperationAccessRow).where(
                OperationAccessRow.user_id == user_id,
                OperationAccessRow.operation_id == operation_id,
            )
        )
        gone = cast("CursorResult[Any]", result).rowcount
        if not gone:
            return False
        left = s.execute(
            select(OperationAccessRow.operation_id).where(OperationAccessRow.user_id == user_id)
        ).first()
        recorder._audit(
            s,
            actor,
            "operation_access_revoked",
            f"user:{user_id}",
            {"user_id": user_id, "operation_id": operation_id, "unrestricted": left is None},
        )
        return True

    return recorder.store.write(_work)
