"""Server-side sessions held in memory.

The browser holds only a random token (``secrets.token_urlsafe(32)``), signed with the settings'
session secret, in an ``HttpOnly; SameSite=Strict`` cookie; everything else (user, role, CSRF
token) stays on the server. Sessions expire after ``ttl_s`` (absolute) or ``idle_s`` without use.

Sessions live in this process's memory only: **a restart logs everybody out**, and several
server processes do not share sessions (run one ``tutela serve`` process). No schema change was
wanted for them; a ``web_sessions`` table can replace :class:`SessionStore` later.

Anonymous sessions exist too (a visitor of ``/login`` gets one so the login form carries a CSRF
token); they are capped at ``max_anonymous`` (oldest dropped first). Logging in replaces the
session with a new token (no session fixation).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["COOKIE_NAME", "SessionStore", "WebSession"]

COOKIE_NAME = "tutela_session"


@dataclass(slots=True)
class WebSession:
    """One browser session. ``user_id``/``username``/``role`` are ``None`` before login."""

    token: str
    csrf_token: str
    created_at: float  # monotonic seconds
    last_seen: float
    user_id: int | None = None
    username: str | None = None
    role: str | None = None
    data: dict[str, object] = field(default_factory=dict)

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None


class SessionStore:
    """Thread-safe in-memory session table.

    ``clock``: monotonic seconds (injectable for tests).
    """

    def __init__(
        self,
        *,
        ttl_s: float,
        idle_s: float,
        max_anonymous: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.idle_s = idle_s
        self.max_anonymous = max_anonymous
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, WebSession] = OrderedDict()

    def _expired(self, s: WebSession, now: float) -> bool:
        return now - s.created_at > self.ttl_s or now - s.last_seen > self.idle_s

    def create(
        self, *, user_id: int | None = None, username: str | None = None, role: str | None = None
    ) -> WebSession:
        """A new session with fresh token and CSRF token."""
        now = self._clock()
        s = WebSession(
            token=secrets.token_urlsafe(32),
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen=now,
            user_id=user_id,
            username=username,
            role=role,
        )
        with self._lock:
            self._sessions[s.token] = s
            self._prune(now)
        return s

    def _prune(self, now: float) -> None:
        for token in [t for t, s in self._sessions.items() if self._expired(s, now)]:
            del self._sessions[token]
        anonymous = [t for t, s in self._sessions.items() if not s.authenticated]
        for token in anonymous[: max(0, len(anonymous) - self.max_anonymous)]:
            del self._sessions[token]

    def get(self, token: str | None) -> WebSession | None:
        """The live session for ``token`` (touching it), or ``None`` (unknown or expired)."""
        if not token:
            return None
        now = self._clock()
        with self._lock:
            s = self._sessions.get(token)
            if s is None:
                return None
            if self._expired(s, now):
                del self._sessions[token]
                return None
            s.last_seen = now
            return s

    def delete(self, token: str) -> None:
        with self._lock:
            self._sessions.pop(token, None)

    def delete_user(self, user_id: int) -> None:
        """End every session of a user."""
        with self._lock:
            for token in [t for t, s in self._sessions.items() if s.user_id == user_id]:
                del self._sessions[token]

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)
