"""Login-throttle scores (table ``login_throttle``) for ``tutela.web.throttle``.

The store only reads and writes the rows; scores, their decay and the lockouts are computed in
``tutela.web.throttle`` (``docs/architecture.md``, packages and layers). Throttle rows are not
ledgered or audited. Keys are ``user:NAME``, ``ip:ADDR`` or ``device:NONCE`` (at most 300
characters); times are wall-clock epoch seconds (floats). Errors: ``StoreError``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tutela.store.engine import Store
from tutela.store.models import LoginThrottleRow

__all__ = ["ThrottleRecord", "throttle_record", "throttle_records", "update_throttle"]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class ThrottleRecord:
    """One key's row: ``failures`` the failure score as of ``updated_at`` (epoch s),
    ``locked_until`` (epoch s; 0: never locked), ``in_flight`` attempts reserved and not yet
    reported."""

    key: str
    failures: float
    updated_at: float
    locked_until: float
    in_flight: int

    @classmethod
    def from_row(cls, row: LoginThrottleRow) -> ThrottleRecord:
        """The record of one ``LoginThrottleRow`` (detached: safe after the session closes)."""
        return cls(row.key, row.failures, row.updated_at, row.locked_until, row.in_flight)


def throttle_records(store: Store, keys: Sequence[str]) -> list[ThrottleRecord]:
    """The stored rows of ``keys`` (missing keys are left out), in no particular order."""
    with store.session() as s:
        return [
            ThrottleRecord.from_row(r)
            for r in s.execute(
                select(LoginThrottleRow).where(LoginThrottleRow.key.in_(list(keys)))
            ).scalars()
        ]


def throttle_record(store: Store, key: str) -> ThrottleRecord | None:
    """The stored row of ``key``, or ``None``."""
    with store.session() as s:
        row = s.get(LoginThrottleRow, key)
        return None if row is None else ThrottleRecord.from_row(row)


def update_throttle(
    store: Store,
    keys: Sequence[str],
    now: float,
    change: Callable[[dict[str, ThrottleRecord]], tuple[_T, Mapping[str, ThrottleRecord]]],
    *,
    forget_before: float | None = None,
) -> _T:
    """Read and change the rows of ``keys`` in one write transaction, and return ``change``'s
    first value.

    With ``forget_before``, first delete every row last updated before it and not locked at
    ``now``. Then the rows of ``keys`` are locked for update, a missing one created empty (score
    0, ``updated_at=now``; ``INSERT ... ON CONFLICT DO NOTHING``, so two processes may create one
    key at once); ``change`` gets them as ``{key: record}`` (in ``keys`` order) and returns its
    result and the new records of the keys it changes, which are written back. An exception from
    ``change`` rolls everything back.
    """

    def _work(s: Session) -> _T:
        if forget_before is not None:
            s.execute(
                delete(LoginThrottleRow).where(
                    LoginThrottleRow.updated_at < forget_before,
                    LoginThrottleRow.locked_until < now,
                )
            )
        rows = _locked_rows(s, keys, now)
        result, changed = change({k: ThrottleRecord.from_row(r) for k, r in rows.items()})
        for key, new in changed.items():
            row = rows[key]
            row.failures = new.failures
            row.updated_at = new.updated_at
            row.locked_until = new.locked_until
            row.in_flight = new.in_flight
        return result

    return store.write(_work)


def _locked_rows(s: Session, keys: Sequence[str], now: float) -> dict[str, LoginThrottleRow]:
    """The rows of ``keys``, created when missing, locked for update."""
    rows: dict[str, LoginThrottleRow] = {}
    for key in keys:
        row = s.execute(
            select(LoginThrottleRow).where(LoginThrottleRow.key == key).with_for_update()
        ).scalar_one_or_none()
        if row is None:
            with s.begin_nested():  # another process may insert the same key meanwhile
                _insert_ignore(s, key, now)
            row = s.execute(
                select(LoginThrottleRow).where(LoginThrottleRow.key == key).with_for_update()
            ).scalar_one()
        rows[key] = row
    return rows


def _insert_ignore(s: Session, key: str, now: float) -> None:
    """``INSERT`` an empty row for ``key`` unless one exists (``ON CONFLICT DO NOTHING``)."""
    values = {"key": key, "failures": 0.0, "updated_at": now, "locked_until": 0.0, "in_flight": 0}
    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        s.execute(pg_insert(LoginThrottleRow).values(**values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        s.execute(sqlite_insert(LoginThrottleRow).values(**values).on_conflict_do_nothing())
    else:  # pragma: no cover - the store supports SQLite and PostgreSQL only
        s.add(LoginThrottleRow(**values))
        s.flush()
