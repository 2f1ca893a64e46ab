"""Login throttling in the database (table ``login_throttle``): per account and per address,
or per known browser (device cookie).

Every key holds a failure *score* that decays exponentially: it halves every ``decay_s``
seconds (the "observation window" of the OWASP Authentication Cheat Sheet, "Account Lockout",
as a smooth window instead of a fixed reset). An attempt without a device cookie is charged to
two keys:

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

``device:NONCE`` (a browser that logged in to the account before)
    The OWASP "Device Cookies" design (OWASP Authentication Cheat Sheet, "Slow brute-force
    attacks"; the OWASP "Slow Down Online Guessing Attacks with Device Cookies" proposal): a
    successful login gives the browser a signed cookie naming the account and a random nonce
    (:class:`DeviceCookies`). An attempt that presents a valid device cookie *for the account
    it logs into* is charged only to ``device:NONCE`` (the account's limits: ``max_failures``,
    ``base_s`` ... ``max_s``) and is **not** refused by the account lockout or the address
    ceiling; every other attempt is charged to ``user:NAME`` and ``ip:ADDR`` as above. So an
    attacker who guesses passwords, sprays names or deliberately keeps an account locked
    cannot lock out users from browsers they have logged in with before; a brand-new browser
    (or one whose cookie expired or was cleared) of a locked account still waits for the lock
    to end, and every browser behind a slowed shared address waits the address pause until it
    has logged in once. A success through a device clears only that device's score (the
    untrusted-client lockout of the account keeps running and decays: a legitimate login must
    not hand a guesser fresh tries); a success without one clears the account as before.

**Atomic, before the password hash is computed**: :meth:`LoginThrottle.reserve` checks its keys
and charges the attempt as a failure in one write transaction (``SELECT ... FOR UPDATE`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so of N concurrent attempts at most ``max_failures``
per account (or per device) reach the argon2 check; the rest are refused (429) without it. The
caller then reports the outcome: :meth:`succeeded` (clears the account, or the device),
:meth:`failed` (the charge stands) or :meth:`neutral` (password right, second factor pending:
the charge is refunded). A process that dies in between
leaves its charge as a failure (it decays). ``in_flight`` counts reserved attempts not yet
reported (bookkeeping; entries older than ``STALE_S`` are forgotten).

An attempt refused during a lockout checks nothing and does not count; the lockout itself is
audited by the login route (``login_locked``), the refusals are not (an attacker could otherwise
fill the append-only audit trail).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from itsdangerous import BadData, URLSafeTimedSerializer

from tutela.errors import InputError
from tutela.store import Store
from tutela.store.queries import throttle as rows
from tutela.store.queries.throttle import ThrottleRecord

__all__ = ["DEVICE_COOKIE_PREFIX", "STALE_S", "Attempt", "DeviceCookies", "LoginThrottle"]

STALE_S = 300.0
"""Seconds after which a reserved attempt that was never reported no longer counts as in flight."""
_PRUNE_EVERY = 64  # reservations between clean-ups of forgotten keys


@dataclass(frozen=True, slots=True)
class Attempt:
    """One reserved (or refused) login attempt.

    ``allowed``: the password may be checked; else ``retry_after`` (whole seconds, >= 1) and
    ``scope`` (``"account"``, ``"address"`` or ``"device"``) say what is locked. ``locks``: the
    lockouts this attempt's charge set, as ``{scope: seconds}`` (they stand if the attempt
    fails). ``device_key``: ``device:NONCE`` when the attempt came with a valid device cookie
    for the account (then only that key is charged), else ``None``.
    """

    allowed: bool
    account_key: str
    address_key: str
    retry_after: int = 0
    scope: str | None = None
    locks: dict[str, int] = field(default_factory=dict)
    device_key: str | None = None

    @property
    def charged(self) -> dict[str, str]:
        """The keys this attempt is charged to, as ``{key: scope}``."""
        if self.device_key is not None:
            return {self.device_key: "device"}
        return {self.account_key: "account", self.address_key: "address"}


class LoginThrottle:
    """Failure scores per ``user:NAME``, ``ip:ADDR`` and ``device:NONCE`` (module docstring).

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
    def _score(self, row: ThrottleRecord, now: float) -> float:
        age = max(0.0, now - row.updated_at)
        return row.failures * 0.5 ** (age / self.decay_s)

    def _in_flight(self, row: ThrottleRecord, now: float) -> int:
        return row.in_flight if now - row.updated_at <= STALE_S else 0

    def _lock_for(self, scope: str, score: float) -> float:
        """The lockout (seconds) a key reaching ``score`` gets, 0 below its ceiling. The score is
        rounded to whole failures first, so five quick failures count as five although the
        first ones have decayed by a hair."""
        failures = math.floor(score + 0.5)
        if scope in ("account", "device"):
            if failures < self.max_failures:
                return 0.0
            return min(self.base_s * 2 ** (failures - self.max_failures), self.max_s)
        return self.address_slow_s if failures >= self.address_max_failures else 0.0

    # -- the protocol ------------------------------------------------------------------------
    def reserve(self, username: str, client_ip: str, *, device: str | None = None) -> Attempt:
        """Check and charge one attempt (module docstring) in one write transaction.

        ``device``: the nonce of a valid device cookie for ``username``
        (:meth:`DeviceCookies.nonce`); the attempt is then checked and charged against
        ``device:<nonce>`` only, never against the account or the address.
        """
        account_key, address_key = self.keys(username, client_ip)
        device_key = f"device:{device}"[:300] if device else None
        now = self._clock()
        self._reservations += 1
        prune = self._reservations % _PRUNE_EVERY == 0
        refused = Attempt(
            allowed=False, account_key=account_key, address_key=address_key, device_key=device_key
        )
        scopes = refused.charged

        def _charge(
            found: dict[str, ThrottleRecord],
        ) -> tuple[Attempt, dict[str, ThrottleRecord]]:
            waits = [
                (row.locked_until - now, scopes[key])
                for key, row in found.items()
                if row.locked_until > now
            ]
            if waits:
                wait, scope = max(waits)
                return replace(refused, retry_after=max(1, math.ceil(wait)), scope=scope), {}
            locks: dict[str, int] = {}
            changed: dict[str, ThrottleRecord] = {}
            for key, row in found.items():
                score = self._score(row, now) + 1.0
                lock = self._lock_for(scopes[key], score)
                changed[key] = replace(
                    row,
                    in_flight=self._in_flight(row, now) + 1,
                    failures=score,
                    updated_at=now,
                    locked_until=now + lock if lock > 0 else row.locked_until,
                )
                if lock > 0:
                    locks[scopes[key]] = max(1, math.ceil(lock))
            return replace(refused, allowed=True, locks=locks), changed

        # keys whose score has decayed to nothing (2 ** -20 of one failure) are forgotten
        forget = now - 20 * self.decay_s if prune else None
        return rows.update_throttle(self.store, list(scopes), now, _charge, forget_before=forget)

    def succeeded(self, attempt: Attempt) -> None:
        """The login succeeded: clear the account's score and lock and refund the address, or,
        for an attempt through a device cookie, clear that device's score only."""
        self._settle(attempt, clear=True, refund=True)

    def neutral(self, attempt: Attempt) -> None:
        """The password was right but a second factor is still due: refund the charges."""
        self._settle(attempt, clear=False, refund=True)

    def failed(self, attempt: Attempt) -> dict[str, int]:
        """The attempt failed: its charge stands. Returns the lockouts it set
        (``{scope: seconds}``, for the audit trail)."""
        self._settle(attempt, clear=False, refund=False)
        return dict(attempt.locks)

    def _settle(self, attempt: Attempt, *, clear: bool, refund: bool) -> None:
        if not attempt.allowed:
            return
        now = self._clock()
        keys = attempt.charged

        def _settle(found: dict[str, ThrottleRecord]) -> tuple[None, dict[str, ThrottleRecord]]:
            changed: dict[str, ThrottleRecord] = {}
            for key, row in found.items():
                failures, locked_until = row.failures, row.locked_until
                if clear and keys[key] in ("account", "device"):
                    failures, locked_until = 0.0, 0.0
                elif refund:
                    failures = max(0.0, self._score(row, now) - 1.0)
                    if self._lock_for(keys[key], failures) == 0:
                        locked_until = min(locked_until, now)
                else:
                    failures = self._score(row, now)
                changed[key] = replace(
                    row,
                    in_flight=max(0, self._in_flight(row, now) - 1),
                    failures=failures,
                    locked_until=locked_until,
                    updated_at=now,
                )
            return None, changed

        rows.update_throttle(self.store, list(keys), now, _settle)

    # -- inspection --------------------------------------------------------------------------
    def retry_after(self, *keys: str) -> float:
        """Seconds until every key is unlocked (0 when none is locked)."""
        now = self._clock()
        found = rows.throttle_records(self.store, keys)
        return max((r.locked_until - now for r in found if r.locked_until > now), default=0.0)

    def score(self, key: str) -> float:
        """The key's current (decayed) failure score; 0 for an unknown key."""
        now = self._clock()
        row = rows.throttle_record(self.store, key)
        return 0.0 if row is None else self._score(row, now)


DEVICE_COOKIE_PREFIX = "tutela_device_"
"""Device cookie names: this plus 16 hex characters, one per account (:class:`DeviceCookies`)."""
_DEVICE_SALT = "tutela-device-cookie"
_NONCE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class DeviceCookies:
    """Signed device cookies (module docstring; OWASP Authentication Cheat Sheet, "Slow
    brute-force attacks", and the OWASP "Device Cookies" proposal).

    A browser keeps one cookie per account it logged in to, named ``tutela_device_<hex>``
    (16 hex characters of HMAC-SHA256 of the account name under ``secret``). Its value is
    ``itsdangerous.URLSafeTimedSerializer(secret, salt="tutela-device-cookie")`` over
    ``{"u": NAME, "n": NONCE}`` (``NAME`` stripped and lower-cased as in
    :meth:`LoginThrottle.keys`, ``NONCE`` = ``secrets.token_urlsafe(16)``): signed and
    time-stamped, not encrypted, and nothing secret in it. The cookie authenticates nobody; it
    only moves its browser's login attempts for that account onto their own throttle key
    ``device:NONCE``. It is valid ``max_age_s`` seconds after issue and re-issued with a new
    nonce at every successful login. It names the account by name, not id: a new account that
    reuses a deleted one's name inherits its known browsers (for throttling only). ``InputError``
    for a short secret or a non-positive age.
    """

    def __init__(self, secret: str, *, max_age_s: int) -> None:
        if not isinstance(secret, str) or len(secret) < 32:
            raise InputError("device cookies: the secret must have at least 32 characters")
        if not (isinstance(max_age_s, int) and max_age_s > 0):
            raise InputError(f"device cookies: max_age_s must be positive, got {max_age_s!r}")
        self._key = secret.encode("utf-8")
        self._serializer = URLSafeTimedSerializer(secret, salt=_DEVICE_SALT)
        self.max_age_s = max_age_s

    @staticmethod
    def account(username: str) -> str:
        """The account as a device cookie names it: stripped, lower case, <= 200 characters."""
        return username.strip().lower()[:200]

    def cookie_name(self, username: str) -> str:
        """``tutela_device_`` + 16 hex characters of HMAC-SHA256(secret, account name)."""
        label = b"tutela-device-cookie-name\x00" + self.account(username).encode("utf-8")
        return DEVICE_COOKIE_PREFIX + hmac.new(self._key, label, hashlib.sha256).hexdigest()[:16]

    def issue(self, username: str) -> tuple[str, str]:
        """A new device cookie for ``username``: ``(cookie name, signed value)``."""
        value = self._serializer.dumps(
            {"u": self.account(username), "n": secrets.token_urlsafe(16)}
        )
        return self.cookie_name(username), value

    def nonce(self, cookies: Mapping[str, str], username: str) -> str | None:
        """The nonce of a valid device cookie for ``username`` among the request's
        ``cookies``, else ``None`` (missing, forged, expired, or naming another account)."""
        raw = cookies.get(self.cookie_name(username))
        if not isinstance(raw, str) or not raw or len(raw) > 512:
            return None
        try:
            payload = self._serializer.loads(raw, max_age=self.max_age_s)
        except BadData:
            return None
        if not isinstance(payload, dict) or payload.get("u") != self.account(username):
            return None
        nonce = payload.get("n")
        if not (isinstance(nonce, str) and 16 <= len(nonce) <= 64 and set(nonce) <= _NONCE_CHARS):
            return None
        return nonce
