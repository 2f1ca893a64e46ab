"""Dependencies shared by the route modules, as ``Annotated`` aliases.

``SessionDep`` the caller's server-side session (anonymous ones included; created on demand;
the session middleware has already re-checked its account, so a deactivated, changed or revoked
account's request arrives here anonymous: :mod:`tutela.web.sessions`);
``CurrentUser`` the logged-in :class:`Principal` (anonymous callers never reach a handler: the
app-wide :func:`require_login` refuses them first); ``RequireRole("supervisor", "admin")`` a
dependency that answers 403 to other roles; ``ServicesDep`` the app's :class:`Services`.

Anonymous callers get ``303 -> /login`` for pages and ``401`` for HTMX (``HX-Request``) or JSON
callers. State-changing requests (POST, PUT, PATCH, DELETE) must carry the session's CSRF token in
the ``X-CSRF-Token`` header or the ``csrf_token`` form field (:func:`check_csrf`), else 403.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request

from tutela.web.exposure import EXPOSURE_ROUTES
from tutela.web.exposure import enforce as enforce_exposure
from tutela.web.services import Services
from tutela.web.sessions import WebSession

__all__ = [
    "PUBLIC_ROUTES",
    "ActingUser",
    "CurrentUser",
    "NotAuthenticated",
    "Principal",
    "RequireRole",
    "ServicesDep",
    "SessionDep",
    "check_csrf",
    "require_login",
]

PUBLIC_ROUTES = frozenset({"login_form", "login", "login_totp", "healthz", "help_link"})
"""Route names reachable without logging in (plus the ``/static`` mount)."""

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class NotAuthenticated(Exception):
    """Raised for an anonymous request to a protected route; see the app's handler."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The logged-in user as the handlers see it."""

    id: int
    name: str
    role: str


def get_services(request: Request) -> Services:
    return request.app.state.services


def get_session(request: Request) -> WebSession:
    """The request's session, resolved once by the session middleware (anonymous if none)."""
    session = getattr(request.state, "session", None)
    if session is None:
        session = request.app.state.services.sessions.create()
        request.state.session = session
        request.state.new_session = True
    return session


ServicesDep = Annotated[Services, Depends(get_services)]
SessionDep = Annotated[WebSession, Depends(get_session)]


def require_login(request: Request) -> None:
    """App-wide: refuse anonymous callers on every route not named in ``PUBLIC_ROUTES``; on the
    routes that show case content, count the view against the exposure limits
    (``tutela.web.exposure.enforce``)."""
    route = request.scope.get("route")
    name = getattr(route, "name", None)
    if name in PUBLIC_ROUTES:
        return
    session = getattr(request.state, "session", None)
    if session is None or not session.authenticated:
        raise NotAuthenticated()
    if name in EXPOSURE_ROUTES:  # case content: the exposure limits (429 when one is reached)
        enforce_exposure(request)


async def check_csrf(request: Request) -> None:
    """App-wide: a state-changing request must carry the session's CSRF token (else 403)."""
    if request.method in SAFE_METHODS:
        return
    session = getattr(request.state, "session", None)
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token")
            sent = value if isinstance(value, str) else None
    if session is None or not sent or not hmac.compare_digest(sent, session.csrf_token):
        raise HTTPException(status_code=403, detail="missing or invalid CSRF token")


def current_user(request: Request) -> Principal:
    session = getattr(request.state, "session", None)
    if session is None or not session.authenticated:
        raise NotAuthenticated()
    return Principal(id=session.user_id, name=session.username, role=session.role)


CurrentUser = Annotated[Principal, Depends(current_user)]


def RequireRole(*roles: str) -> Any:
    """A dependency (use as ``Depends(RequireRole(...))`` or in ``dependencies=[...]``) that
    returns the :class:`Principal` when their role is one of ``roles``, else answers 403.

    This gates whole pages (the audit log); case decisions are checked by the workflow itself.
    """
    allowed = frozenset(roles)

    def _check(user: CurrentUser) -> Principal:
        if user.role not in allowed:
            raise HTTPException(status_code=403, detail="your role may not open this page")
        return user

    dep: Callable[..., Principal] = _check
    return Depends(dep)


def acting_user(user: CurrentUser, services: ServicesDep) -> Any:
    """The ``tutela.accounts.users.User`` behind the session (re-read; the workflow re-checks it
    again in its own transaction). A deleted account ends the request as anonymous."""
    found = services.users.get_by_id(user.id)
    if found is None:
        raise NotAuthenticated()
    return found


ActingUser = Annotated[Any, Depends(acting_user)]
