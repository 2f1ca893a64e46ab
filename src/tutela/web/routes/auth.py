"""Login (password, then a TOTP code when the user has one), logout, and ``/healthz``.

Two-step TOTP: when the password check fails for a user who has TOTP and no code was sent, the
name and password wait in the (server-side, anonymous) session for ``PENDING_S`` seconds and the
page asks for the code only; the final check is one ``UserStore.authenticate`` call. Every
failure counts towards the throttle (per username and per client IP); during a lockout nothing is
checked and 429 is answered with ``Retry-After``.
"""

from __future__ import annotations

import math
import time
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tutela.web.deps import ServicesDep, SessionDep
from tutela.web.render import render

__all__ = ["PENDING_S", "router"]

router = APIRouter()
PENDING_S = 300.0
_PENDING = "pending_login"


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/healthz", name="healthz")
def healthz() -> dict[str, str]:
    """Liveness probe (no login; says nothing about the data)."""
    return {"status": "ok"}


@router.get("/login", name="login_form", response_class=HTMLResponse)
def login_form(request: Request, session: SessionDep) -> Response:
    if session.authenticated:
        return RedirectResponse("/queue", status_code=303)
    session.data.pop(_PENDING, None)
    return render(request, "login.html", {"step": "password"})


def _refuse(request: Request, step: str, message: str, status: int, **extra: object) -> Response:
    resp = render(request, "login.html", {"step": step, "error": message}, status)
    if "retry_after" in extra:
        resp.headers["Retry-After"] = str(extra["retry_after"])
    return resp


def _finish_login(
    request: Request, services: ServicesDep, user: object, old_token: str
) -> Response:
    services.sessions.delete(old_token)
    new = services.sessions.create(
        user_id=user.id,  # type: ignore[attr-defined]
        username=user.name,  # type: ignore[attr-defined]
        role=str(user.role),  # type: ignore[attr-defined]
    )
    request.state.session = new
    return RedirectResponse("/queue", status_code=303)


def _attempt(
    request: Request,
    services: ServicesDep,
    session: SessionDep,
    name: str,
    password: str,
    code: str | None,
    step: str,
) -> Response:
    keys = services.throttle.keys(name, _client_ip(request))
    wait = services.throttle.retry_after(*keys)
    if wait > 0:
        session.data.pop(_PENDING, None)
        return _refuse(
            request,
            "password",
            f"Too many failed logins. Try again in {math.ceil(wait)} seconds.",
            429,
            retry_after=math.ceil(wait),
        )
    user = services.users.authenticate(name, password, totp_code=code or None)
    if user is not None:
        services.throttle.success(keys[0])
        return _finish_login(request, services, user, session.token)
    if not code:
        known = services.users.get(name)
        if known is not None and known.has_totp and known.active:
            session.data[_PENDING] = (name, password, time.monotonic())
            return render(request, "login.html", {"step": "totp", "name": name})
    services.throttle.failure(*keys)
    session.data.pop(_PENDING, None)
    return _refuse(request, "password", "Wrong name, password or code.", 401)


@router.post("/login", name="login")
def login(
    request: Request,
    services: ServicesDep,
    session: SessionDep,
    name: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1024)],
    totp: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Check name and password (and code); on success a new session replaces the old one."""
    return _attempt(request, services, session, name.strip(), password, totp.strip(), "password")


@router.post("/login/totp", name="login_totp")
def login_totp(
    request: Request,
    services: ServicesDep,
    session: SessionDep,
    totp: Annotated[str, Form(max_length=16)],
) -> Response:
    """Second step: the code for the name and password kept in the session by ``/login``."""
    pending = session.data.pop(_PENDING, None)
    if not isinstance(pending, tuple) or time.monotonic() - pending[2] > PENDING_S:
        return _refuse(request, "password", "Please log in again.", 401)
    name, password, _ = pending
    code = totp.strip() or "-"  # an empty code is a wrong code here
    return _attempt(request, services, session, name, password, code, "totp")


@router.post("/logout", name="logout")
def logout(request: Request, services: ServicesDep, session: SessionDep) -> Response:
    services.sessions.delete(session.token)
    request.state.session = None
    return RedirectResponse("/login", status_code=303)
