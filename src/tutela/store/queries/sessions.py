"""Dashboard sessions (table ``web_sessions``) for ``tutela.web.sessions``.

The store only reads and writes the rows; the lifetimes, the anonymous cap and the account
re-check of every lookup are decided in ``tutela.web.sessions`` (``docs/architecture.md``,
packages and layers). Sessions are not ledgered or audited. Rows are keyed by the lower-case hex
SHA-256 of the browser's token (``token_sha256``), never the token; times are wall-clock epoch
seconds (floats). Every function is one committed transaction. Errors: ``StoreError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, or_, select, update
from sqlalchemy.orm import Session

from tutela.store.engine import Store
from tutela.store.models import UserRow, WebSessionRow

__all__ = [
    "SessionAccount",
    "SessionRecord",
    "count_sessions",
    "delete_session",
    "delete_user_sessions",
    "insert_session",
    "session_with_account",
    "set_session_data",
    "take_session_value",
    "touch_session",
]


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One ``web_sessions`` row. ``user_id``/``user_epoch``: ``None`` for an anonymous session;
    ``data``: the session's JSON object (a copy)."""

    token_sha256: str
    csrf_token: str
    user_id: int | None
    user_epoch: int | None
    created_at: float
    last_seen: float
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: WebSessionRow) -> SessionRecord:
        """The record of one ``WebSessionRow`` (detached: safe after the session closes)."""
        return cls(
            token_sha256=row.token_sha256,
            csrf_token=row.csrf_token,
            user_id=row.user_id,
            user_epoch=row.user_epoch,
            created_at=row.created_at,
            last_seen=row.last_seen,
            data=dict(row.data or {}),
        )


@dataclass(frozen=True, slots=True)
class SessionAccount:
    """What a session lookup re-checks of its user: name, role, active flag, ``session_epoch``;
    and ``lang``, the user's dashboard language (``None``: from the browser)."""

    name: str
    role: str
    active: bool
    session_epoch: int
    lang: str | None = None

    @classmethod
    def from_row(cls, row: UserRow) -> SessionAccount:
        """The account fields of one ``UserRow``."""
        return cls(
            name=row.name,
            role=row.role,
            active=row.active,
            session_epoch=row.session_epoch,
            lang=row.lang,
        )


def insert_session(
    store: Store,
    record: SessionRecord,
    *,
    created_before: float,
    seen_before: float,
    max_anonymous: int,
) -> None:
    """Store ``record`` after pruning, in one write transaction: delete the sessions created
    before ``created_before`` or last seen before ``seen_before``, then the least recently seen
    anonymous sessions beyond ``max_anonymous - 1`` (room for one more)."""

    def _work(db: Session) -> None:
        db.execute(
            delete(WebSessionRow).where(
                or_(
                    WebSessionRow.created_at < created_before,
                    WebSessionRow.last_seen < seen_before,
                )
            )
        )
        anonymous = db.execute(
            select(func.count()).select_from(WebSessionRow).where(WebSessionRow.user_id.is_(None))
        ).scalar_one()
        excess = anonymous + 1 - max_anonymous
        if excess > 0:
            oldest = (
                select(WebSessionRow.token_sha256)
                .where(WebSessionRow.user_id.is_(None))
                .order_by(WebSessionRow.last_seen)
                .limit(excess)
            )
            db.execute(
                delete(WebSessionRow).where(
                    WebSessionRow.token_sha256.in_(oldest.scalar_subquery())
                )
            )
        db.add(
            WebSessionRow(
                token_sha256=record.token_sha256,
                csrf_token=record.csrf_token,
                user_id=record.user_id,
                user_epoch=record.user_epoch,
                created_at=record.created_at,
                last_seen=record.last_seen,
                data=dict(record.data),
            )
        )

    store.write(_work)


def session_with_account(
    store: Store, digest: str
) -> tuple[SessionRecord, SessionAccount | None] | None:
    """The session stored under ``digest`` and its user's account (``None`` for an anonymous
    session or a user that no longer exists), read together; ``None`` for no such session."""
    with store.session() as db:
        row = db.get(WebSessionRow, digest)
        if row is None:
            return None
        user = db.get(UserRow, row.user_id) if row.user_id is not None else None
        return SessionRecord.from_row(row), None if user is None else SessionAccount.from_row(user)


def touch_session(store: Store, digest: str, last_seen: float) -> None:
    """Set ``last_seen`` of the session under ``digest`` (nothing if it is gone)."""

    def _work(db: Session) -> None:
        db.execute(
            update(WebSessionRow)
            .where(WebSessionRow.token_sha256 == digest)
            .values(last_seen=last_seen)
        )

    store.write(_work)


def set_session_data(store: Store, digest: str, data: dict[str, Any]) -> None:
    """Replace the ``data`` of the session under ``digest`` (nothing if it is gone)."""
    data = dict(data)

    def _work(db: Session) -> None:
        db.execute(
            update(WebSessionRow).where(WebSessionRow.token_sha256 == digest).values(data=data)
        )

    store.write(_work)


def take_session_value(store: Store, digest: str, key: str) -> Any:
    """Remove ``key`` from the stored ``data`` of the session under ``digest`` and return its
    value, in one write transaction with the row locked (``SELECT ... FOR UPDATE`` on
    PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite); ``None`` when the key or the session is gone."""

    def _work(db: Session) -> Any:
        row = db.execute(
            select(WebSessionRow).where(WebSessionRow.token_sha256 == digest).with_for_update()
        ).scalar_one_or_none()
        if row is None or not isinstance(row.data, dict) or key not in row.data:
            return None
        data = dict(row.data)
        value = data.pop(key)
        row.data = data
        return value

    return store.write(_work)


def delete_session(store: Store, digest: str) -> None:
    """Delete the session under ``digest`` (nothing if it is gone)."""

    def _work(db: Session) -> None:
        db.execute(delete(WebSessionRow).where(WebSessionRow.token_sha256 == digest))

    store.write(_work)


def delete_user_sessions(store: Store, user_id: int) -> int:
    """Delete every session of ``user_id``; returns how many there were."""

    def _work(db: Session) -> int:
        result = db.execute(delete(WebSessionRow).where(WebSessionRow.user_id == user_id))
        return int(cast("CursorResult[Any]", result).rowcount or 0)

    return store.write(_work)


def count_sessions(store: Store, *, authenticated: bool | None = None) -> int:
    """Sessions stored (``authenticated``: only logged-in ones, or only anonymous ones)."""
    q = select(func.count()).select_from(WebSessionRow)
    if authenticated is True:
        q = q.where(WebSessionRow.user_id.is_not(None))
    elif authenticated is False:
        q = q.where(WebSessionRow.user_id.is_(None))
    with store.session() as db:
        return int(db.execute(q).scalar_one())
