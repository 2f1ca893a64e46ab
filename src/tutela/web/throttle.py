"""Login throttling in the database (table ``login_throttle``), per account and per address.

Every key holds a failure *score* that decays exponentially: it halves every ``decay_s``
seconds (the "observation window" of the OWASP Authentication Cheat Sheet, "Account Lockout",
as a smooth window instead of a fixed reset). Two keys are charged for each attempt:

``user:NAME`` (the account, whatever the address)
    Once the score (rounded to whole failures) reaches ``max_failures`` the account is locked for
    ``base_s * 2 ** (score - max_failures)`` seconds, capped at ``max_s`` (exponential back-off).
    This stops password guessing against one account from many addresses. A successful login
    clears it.

``ip:ADDR`` (the client address)
    A much higher ceiling, ``address_max_failures``, that only *slows* credential spraying across
    many names: past it, each further failure blocks the address for ``address_slow_s`` seconds
    (a fixed, short pause; it never grows into a lockout). One analyst's typos therefore never
    lock other users out of a shared address (staff behind the documented reverse proxy all
    share one), and even during a spray a correct login waits only seconds. A success gives the
    address back its own charge but does not clear the score, so an attacker who owns one account
    cannot reset the address by logging in between guesses.

**Atomic, before the password hash is computed**: :meth:`LoginThrottle.reserve` checks both keys
and charges the attempt as a failure in one write transaction (``SELECT ... FOR UPDATE`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so of N concurrent attempts at most ``max_failures``
reach the argon2 check; the rest are refused (429) without it. The caller then reports the outcome:
:meth:`succeeded` (clears the account), :meth:`failed` (the charge stands) or :meth:`neutral`
(password right, second factor pending: the charge is refunded). A process that dies in between
leaves its charge as a failure (it decays). ``in_flight`` counts reserved attempts not yet
reported (bookkeeping; entries older than ``STALE_S`` are forgotten).

An attempt refused during a lockout checks nothing and does not count; the lockout itself is
audited by the login route (``login_locked``), the refusals are not (an attacker could otherwise
fill the append-only audit trail).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tutela.errors import InputError
from tutela.store import Store
from tutela.store.models import LoginThrottleRow

__all__ = ["STALE_S", "Attempt", "LoginThrottle"]

STALE_S = 300.0
"""Seconds after which a reserved attempt that was never reported no longer counts as in flight."""
_PRUNE_EVERY = 64  # reservations between clean-ups of forgotten keys


@dataclass(frozen=True, slots=True)
class Attempt:
    """One reserved (or refused) login attempt.

    ``allowed``: the password may be checked; else ``retry_after`` (whole seconds, >= 1) and
    ``scope`` (``"account"`` or ``"address"``) say what is locked. ``locks``: the lockouts this
    attempt's charge set, as ``{scope: seconds}`` (they stand if the attempt fails).
    """

    allowed: bool
    account_key: str
    address_key: str
    retry_after: int = 0
    scope: str | None = None
    locks: dict[str, int] = field(default_factory=dict)


class LoginThrottle:
    """Failure scores per ``user:NAME`` and ``ip:ADDR`` (module docstring).

    Parameters (seconds unless said): ``max_failures`` account ceiling (>= 1); ``base_s``,
    ``max_s`` first and longest account lockout; ``decay_s`` half-life of a score;
    ``address_max_failures`` address ceiling (>= 1); ``address_slow_s`` pause of an address past
    its ceiling; ``clock`` epoch seconds (shared by processes; injectable for tests).
    ``InputError`` for non-positive values.
    """

    def __init__(
        self,
        store: Store,
        *,
        max_failures: int = 5,
        base_s: float = 30.0,
        max_s: float = 3600.0,
        decay_s: float = 900.0,
        address_max_failures: int = 50,
        address_slow_s: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        for label, value in (
            ("max_failures", max_failures),
            ("base_s", base_s),
            ("max_s", max_s),
            ("decay_s", decay_s),
            ("address_max_failures", address_max_failures),
            ("address_slow_s", address_slow_s),
        ):
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise InputError(f"login throttle: {label} must be positive, got {value!r}")
        self.store = store
        self.max_failures = max_failures
        self.base_s = float(base_s)
        self.max_s = float(max_s)
        self.decay_s = float(decay_s)
        self.address_max_failures = address_max_failures
        self.address_slow_s = float(address_slow_s)
        self._clock = clock
        self._reservations = 0

    @staticmethod
    def keys(username: str, client_ip: str) -> tuple[str, str]:
        """``("user:<name, stripped, lower-case>", "ip:<address>")`` (at most 300 characters)."""
        return (f"user:{username.strip().lower()}"[:300], f"ip:{client_ip}"[:300])

    # -- scores ------------------------------------------------------------------------------
    def _score(self, row: LoginThrottleRow, now: float) -> float:
        age = max(0.0, now - row.updated_at)
        return row.failures * 0.5 ** (age / self.decay_s)

    def _in_flight(self, row: LoginThrottleRow, now: float) -> int:
        return row.in_flight if now - row.updated_at <= STALE_S else 0

    def _lock_for(self, scope: str, score: float) -> float:
        """The lockout (seconds) a key reaching ``score`` gets, 0 below its ceiling. The score is
        rounded to whole failures first, so five quick failures count as five although the
        first ones have decayed by a hair."""
        failures = math.floor(score + 0.5)
        if scope == "account":
            if failures < self.max_failures:
                return 0.0
            return min(self.base_s * 2 ** (failures - self.max_failures), self.max_s)
        return self.address_slow_s if failures >= self.address_max_failures else 0.0

    @staticmethod
    def _rows(s: Session, keys: Sequence[str], now: float) -> dict[str, LoginThrottleRow]:
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

    # -- the protocol ------------------------------------------------------------------------
    def reserve(self, username: str, client_ip: str) -> Attempt:
        """Check and charge one attempt (module docstring) in one write transaction."""
        account_key, address_key = self.keys(username, client_ip)
        scopes = {account_key: "account", address_key: "address"}
        now = self._clock()
        self._reservations += 1
        prune = self._reservations % _PRUNE_EVERY == 0

        def _work(s: Session) -> Attempt:
            if prune:
                self._prune(s, now)
            rows = self._rows(s, [account_key, address_key], now)
            waits = [
                (row.locked_until - now, scopes[key])
                for key, row in rows.items()
                if row.locked_until > now
            ]
            if waits:
                wait, scope = max(waits)
                return Attempt(
                    allowed=False,
                    account_key=account_key,
                    address_key=address_key,
                    retry_after=max(1, math.ceil(wait)),
                    scope=scope,
                )
            locks: dict[str, int] = {}
            for key, row in rows.items():
                score = self._score(row, now) + 1.0
                row.in_flight = self._in_flight(row, now) + 1
                row.failures = score
                row.updated_at = now
                lock = self._lock_for(scopes[key], score)
                if lock > 0:
                    row.locked_until = now + lock
                    locks[scopes[key]] = max(1, math.ceil(lock))
            return Attempt(
                allowed=True, account_key=account_key, address_key=address_key, locks=locks
            )

        return self.store.write(_work)

    def succeeded(self, attempt: Attempt) -> None:
        """The login succeeded: clear the account's score and lock; refund the address."""
        self._settle(attempt, clear_account=True, refund=True)

    def neutral(self, attempt: Attempt) -> None:
        """The password was right but a second factor is still due: refund both charges."""
        self._settle(attempt, clear_account=False, refund=True)

    def failed(self, attempt: Attempt) -> dict[str, int]:
        """The attempt failed: its charge stands. Returns the lockouts it set
        (``{scope: seconds}``, for the audit trail)."""
        self._settle(attempt, clear_account=False, refund=False)
        return dict(attempt.locks)

    def _settle(self, attempt: Attempt, *, clear_account: bool, refund: bool) -> None:
        if not attempt.allowed:
            return
        now = self._clock()
        keys = {attempt.account_key: "account", attempt.address_key: "address"}

        def _work(s: Session) -> None:
            for key, row in self._rows(s, list(keys), now).items():
                row.in_flight = max(0, self._in_flight(row, now) - 1)
                if clear_account and keys[key] == "account":
                    row.failures, row.locked_until = 0.0, 0.0
                elif refund:
                    row.failures = max(0.0, self._score(row, now) - 1.0)
                    if self._lock_for(keys[key], row.failures) == 0:
                        row.locked_until = min(row.locked_until, now)
                else:
                    row.failures = self._score(row, now)
                row.updated_at = now

        self.store.write(_work)

    # -- inspection --------------------------------------------------------------------------
    def retry_after(self, *keys: str) -> float:
        """Seconds until every key is unlocked (0 when none is locked)."""
        now = self._clock()
        with self.store.session() as s:
            rows = s.execute(
                select(LoginThrottleRow).where(LoginThrottleRow.key.in_(keys))
            ).scalars()
            return max((r.locked_until - now for r in rows if r.locked_until > now), default=0.0)

    def score(self, key: str) -> float:
        """The key's current (decayed) failure score; 0 for an unknown key."""
        now = self._clock()
        with self.store.session() as s:
            row = s.get(LoginThrottleRow, key)
            return 0.0 if row is None else self._score(row, now)

    def _prune(self, s: Session, now: float) -> None:
        """Forget keys whose score has decayed to nothing (2 ** -20 of one failure)."""
        s.execute(
            delete(LoginThrottleRow).where(
                LoginThrottleRow.updated_at < now - 20 * self.decay_s,
                LoginThrottleRow.locked_until < now,
            )
        )


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
