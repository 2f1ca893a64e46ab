"""Server-side dashboard sessions in the database (table ``web_sessions``).

The browser holds only a random token (``secrets.token_urlsafe(32)``), signed with the settings'
session secret, in an ``HttpOnly; SameSite=Strict`` cookie; the database keeps only the token's
SHA-256 (a leaked database or backup does not hand out live sessions), the CSRF token, the user
id, the user's ``session_epoch`` at login and a small JSON ``data`` object. Several
``tutela serve`` processes over one database share the sessions, and a restart keeps them.

**Every lookup re-checks the account** (OWASP Session Management Cheat Sheet, "Renew the Session
ID After Any Privilege Level Change" and "Session expiration"): the session is ended (deleted;
the request continues as anonymous) unless the user still exists, is active, has the role the
session was opened with, and ``users.session_epoch`` still equals the session's ``user_epoch``
(``UserStore`` bumps it on deactivation, password, TOTP or role change and ``revoke_sessions``).
Sessions expire after ``ttl_s`` (absolute) or ``idle_s`` without use; ``last_seen`` is written at
most every ``touch_s`` seconds, so the idle limit is exact to within ``touch_s``.

Anonymous sessions exist too (a visitor of ``/login`` gets one so the login form carries a CSRF
token, and the pending TOTP step lives in its ``data``); they are capped at ``max_anonymous``
(least recently used dropped first; the cap only ever evicts anonymous sessions, never a
logged-in one). Logging in replaces the session with a new token (no session
fixation). Times are wall-clock epoch seconds (shared between processes).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tutela.store import Store
from tutela.store.queries import sessions as rows
from tutela.store.queries.sessions import SessionRecord

__all__ = ["COOKIE_NAME", "SessionStore", "WebSession", "token_digest"]

COOKIE_NAME = "tutela_session"
_ROLE = "role"  # key in ``data``: the role the session was opened with


def token_digest(token: str) -> str:
    """The stored form of a session token: lower-case hex SHA-256 of its ASCII bytes."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(slots=True)
class WebSession:
    """One browser session. ``user_id``/``username``/``role``/``user_epoch`` are ``None``
    before login. ``data``: JSON-able values kept with the session; write changes back with
    :meth:`SessionStore.save`."""

    token: str
    csrf_token: str
    created_at: float  # epoch seconds
    last_seen: float
    user_id: int | None = None
    username: str | None = None
    role: str | None = None
    user_epoch: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    lang: str | None = None  # the user's dashboard language (users.lang), read at each lookup

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None


class SessionStore:
    """Sessions in the store's ``web_sessions`` table (module docstring).

    ``ttl_s``/``idle_s``: absolute and idle lifetime in seconds; ``max_anonymous``: anonymous
    sessions kept; ``touch_s``: least interval between ``last_seen`` writes; ``clock``: epoch
    seconds (injectable for tests).
    """

    def __init__(
        self,
        store: Store,
        *,
        ttl_s: float,
        idle_s: float,
        max_anonymous: int = 10_000,
        touch_s: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self.idle_s = idle_s
        self.max_anonymous = max_anonymous
        self.touch_s = min(touch_s, idle_s / 10)
        self._clock = clock

    def _expired(self, created_at: float, last_seen: float, now: float) -> bool:
        return now - created_at > self.ttl_s or now - last_seen > self.idle_s

    def create(
        self,
        *,
        user_id: int | None = None,
        username: str | None = None,
        role: str | None = None,
        user_epoch: int | None = None,
    ) -> WebSession:
        """A new session with fresh token and CSRF token (stored before it is returned).

        For a logged-in session give ``user_id``, ``username``, ``role`` and the
        ``user_epoch`` read when the credentials were checked.
        """
        now = self._clock()
        s = WebSession(
            token=secrets.token_urlsafe(32),
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen=now,
            user_id=user_id,
            username=username,
            role=role,
            user_epoch=user_epoch if user_id is not None else None,
            data={_ROLE: role} if user_id is not None else {},
        )
        record = SessionRecord(
            token_sha256=token_digest(s.token),
            csrf_token=s.csrf_token,
            user_id=s.user_id,
            user_epoch=s.user_epoch,
            created_at=now,
            last_seen=now,
            data=dict(s.data),
        )
        # expired sessions and the least recently used anonymous ones beyond the cap go first
        rows.insert_session(
            self.store,
            record,
            created_before=now - self.ttl_s,
            seen_before=now - self.idle_s,
            max_anonymous=self.max_anonymous,
        )
        return s

    def get(self, token: str | None) -> WebSession | None:
        """The live session for ``token``, or ``None``: unknown, expired, or its account
        re-check failed (module docstring); expired and failed sessions are deleted."""
        if not token or not isinstance(token, str) or len(token) > 200:
            return None
        digest = token_digest(token)
        now = self._clock()
        found = rows.session_with_account(self.store, digest)
        if found is None:
            return None
        row, user = found
        session = WebSession(
            token=token,
            csrf_token=row.csrf_token,
            created_at=row.created_at,
            last_seen=row.last_seen,
            user_id=row.user_id,
            user_epoch=row.user_epoch,
            data=dict(row.data),
        )
        valid = not self._expired(row.created_at, row.last_seen, now)
        if valid and row.user_id is not None:
            valid = (
                user is not None
                and user.active
                and user.role == session.data.get(_ROLE)
                and user.session_epoch == row.user_epoch
            )
            if valid and user is not None:
                session.username, session.role = user.name, user.role
                session.lang = user.lang
        if not valid:
            rows.delete_session(self.store, digest)
            return None
        if now - session.last_seen >= self.touch_s:
            session.last_seen = now
            rows.touch_session(self.store, digest, now)
        return session

    def save(self, session: WebSession) -> None:
        """Write ``session.data`` back (a session deleted meanwhile stays deleted)."""
        rows.set_session_data(self.store, token_digest(session.token), dict(session.data))

    def take(self, session: WebSession, key: str) -> Any:
        """Remove ``key`` from the session's *stored* ``data`` and return its stored value, in
        one write transaction (row locked: ``SELECT ... FOR UPDATE`` on PostgreSQL, ``BEGIN
        IMMEDIATE`` on SQLite); ``None`` when the key (or the session) is gone. Of concurrent
        requests of one session at most one gets the value, whatever their in-memory copies
        hold, so a value kept here is single-use (the pending TOTP step). The key is also
        dropped from ``session.data``."""
        value = rows.take_session_value(self.store, token_digest(session.token), key)
        session.data.pop(key, None)
        return value

    def delete(self, token: str) -> None:
        """End one session (logout, or the anonymous session a login replaces)."""
        rows.delete_session(self.store, token_digest(token))

    def delete_user(self, user_id: int) -> int:
        """End every session of a user (explicit revocation); returns how many were ended.
        ``UserStore.revoke_sessions`` does the same and also bumps the user's epoch."""
        return rows.delete_user_sessions(self.store, user_id)

    def count(self, *, authenticated: bool | None = None) -> int:
        """Sessions stored (``authenticated``: only logged-in ones, or only anonymous ones)."""
        return rows.count_sessions(self.store, authenticated=authenticated)

    def __len__(self) -> int:
        return self.count()
