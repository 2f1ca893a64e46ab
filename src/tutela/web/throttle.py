"""Login throttling per username and per client IP.

After ``max_failures`` failed attempts for a key, that key is locked for
``base_s * 2 ** (failures - max_failures)`` seconds, capped at ``max_s`` (exponential back-off,
OWASP Authentication Cheat Sheet, "Account lockout"; an attempt during a lockout is refused without
checking the password and does not count). A success clears the username's count only: the
client's count is kept, so an attacker who owns one account cannot reset the per-IP limit by
logging in between guesses at other accounts. State is in memory (lost on restart).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["LoginThrottle"]


@dataclass(slots=True)
class _Entry:
    failures: int = 0
    locked_until: float = 0.0


class LoginThrottle:
    """Counts failures per key (``"user:NAME"``, ``"ip:ADDR"``) and locks keys out."""

    def __init__(
        self,
        *,
        max_failures: int = 5,
        base_s: float = 30.0,
        max_s: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.base_s = base_s
        self.max_s = max_s
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    @staticmethod
    def keys(username: str, client_ip: str) -> tuple[str, str]:
        return (f"user:{username.strip().lower()}", f"ip:{client_ip}")

    def retry_after(self, *keys: str) -> float:
        """Seconds until every key is unlocked (0 when none is locked)."""
        now = self._clock()
        with self._lock:
            waits = [
                e.locked_until - now
                for k in keys
                if (e := self._entries.get(k)) is not None and e.locked_until > now
            ]
        return max(waits, default=0.0)

    def failure(self, *keys: str) -> None:
        """Record one failed attempt for each key; lock those past the limit."""
        now = self._clock()
        with self._lock:
            for k in keys:
                e = self._entries.setdefault(k, _Entry())
                e.failures += 1
                if e.failures >= self.max_failures:
                    wait = self.base_s * 2 ** (e.failures - self.max_failures)
                    e.locked_until = now + min(wait, self.max_s)

    def success(self, *keys: str) -> None:
        """Clear the counts of the keys after a successful login."""
        with self._lock:
            for k in keys:
                self._entries.pop(k, None)
