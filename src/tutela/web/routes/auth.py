"""Login (password, then a TOTP code when the user has one), logout, and ``/healthz``.

Order of a login (OWASP Authentication Cheat Sheet):

1. The throttle reserves the attempt for the account and the client address
   (:meth:`~tutela.web.throttle.LoginThrottle.reserve`) *before* any argon2 work; a locked key
   answers 429 with ``Retry-After`` and checks nothing.
2. The password is checked (``UserStore.verify_password``). Every failure (unknown name, wrong
   password, inactive account) gets the **same** 401 page, so nothing tells which names exist or
   which of them use TOTP.
3. Only after the right password does a TOTP user see the code step: the session's ``data`` then
   holds ``{"user_id", "epoch", "at"}`` (never the password) for ``PENDING_S`` seconds, and
   ``/login/totp`` checks the code for that user, again through the throttle. A code is accepted
   once (``UserStore.verify_totp``), and not at all if the account changed meanwhile.
4. Success replaces the anonymous session with a new one (no session fixation).

Audited through ``Recorder.record_audit``: ``login`` (actor the user; details: address,
method), ``login_failed`` (details: address and a reason category -- ``unknown_user``,
``bad_password``, ``inactive``, ``bad_totp``, ``totp_replay``, ``credentials_changed``; for an
unknown name only a SHA-256 prefix of what was typed, which may be a mistyped password; never a
password or code), ``login_locked`` (a failure that locked the account or slowed the address:
scope and seconds) and ``logout``.
"""

from __future__ import annotations

import hashlib
import time
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tutela.web.deps import ServicesDep, SessionDep
from tutela.web.render import render
from tutela.web.throttle import Attempt

__all__ = ["GENERIC_FAILURE", "PENDING_S", "landing", "router"]

router = APIRouter()
PENDING_S = 300.0
"""Seconds the code step waits after the right password."""
GENERIC_FAILURE = "Wrong name, password or code."
_PENDING = "pending_login"


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/healthz", name="healthz")
def healthz() -> dict[str, str]:
    """Liveness probe (no login; says nothing about the data)."""
    return {"status": "ok"}


def landing(role: str | None) -> str:
    """Where a logged-in user starts: admins manage accounts and read no case content, so they
    land on the audit log; everyone else on the review queue."""
    return "/audit" if role == "admin" else "/queue"


def _drop_pending(services: ServicesDep, session: SessionDep) -> None:
    if session.data.pop(_PENDING, None) is not None:
        services.sessions.save(session)


@router.get("/login", name="login_form", response_class=HTMLResponse)
def login_form(request: Request, services: ServicesDep, session: SessionDep) -> Response:
    if session.authenticated:
        return RedirectResponse(landing(session.role), status_code=303)
    _drop_pending(services, session)
    return render(request, "login.html", {"step": "password"})


def _refuse(request: Request, message: str, status: int, retry_after: int = 0) -> Response:
    resp = render(request, "login.html", {"step": "password", "error": message}, status)
    if retry_after:
        resp.headers["Retry-After"] = str(retry_after)
    return resp


def _who(name: str, user: Any) -> tuple[str, str, dict[str, Any]]:
    """Actor, target and identifying details of a failed login (module docstring): the actor
    is ``anonymous`` (whoever typed it has not proven to be the account's owner)."""
    if user is not None:
        return "anonymous", f"user:{user.id}", {"name": user.name}
    digest = hashlib.sha256(name.encode("utf-8", "replace")).hexdigest()[:16]
    return "anonymous", "user:unknown", {"name_sha256": digest}


def _locked(request: Request, attempt: Attempt) -> Response:
    wait = attempt.retry_after
    return _refuse(
        request, f"Too many failed logins. Try again in {wait} seconds.", 429, retry_after=wait
    )


def _failed(
    request: Request,
    services: ServicesDep,
    attempt: Attempt,
    name: str,
    user: Any,
    reason: str | None,
) -> Response:
    locks = services.throttle.failed(attempt)
    actor, target, details = _who(name, user)
    address = _client_ip(request)
    services.recorder.record_audit(
        actor,
        "login_failed",
        target,
        {**details, "address": address, "reason": reason or "unknown"},
    )
    for scope, seconds in sorted(locks.items()):
        services.recorder.record_audit(
            actor,
            "login_locked",
            f"ip:{address}" if scope == "address" else target,
            {**details, "address": address, "scope": scope, "seconds": seconds},
        )
    return _refuse(request, GENERIC_FAILURE, 401)


def _finish_login(
    request: Request,
    services: ServicesDep,
    session: SessionDep,
    user: Any,
    epoch: int | None,
    method: str,
) -> Response:
    services.sessions.delete(session.token)
    new = services.sessions.create(
        user_id=user.id, username=user.name, role=str(user.role), user_epoch=epoch
    )
    request.state.session = new
    services.recorder.record_audit(
        user.name,
        "login",
        f"user:{user.id}",
        {"name": user.name, "address": _client_ip(request), "method": method},
    )
    return RedirectResponse(landing(str(user.role)), status_code=303)


@router.post("/login", name="login")
def login(
    request: Request,
    services: ServicesDep,
    session: SessionDep,
    name: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1024)],
    totp: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Check name and password (and a code sent along); a TOTP user without a code gets the code
    step. On success a new session replaces the old one."""
    name, code = name.strip(), totp.strip()
    _drop_pending(services, session)
    attempt = services.throttle.reserve(name, _client_ip(request))
    if not attempt.allowed:
        return _locked(request, attempt)
    check = services.users.verify_password(name, password)
    user = check.user
    if not check.ok or user is None:
        return _failed(request, services, attempt, name, user, check.reason)
    if not check.needs_totp:
        services.throttle.succeeded(attempt)
        return _finish_login(request, services, session, user, check.epoch, "password")
    if code:  # name, password and code in one form
        second = services.users.verify_totp(user.id, code, epoch=check.epoch)
        if not second.ok:
            return _failed(request, services, attempt, name, user, second.reason)
        services.throttle.succeeded(attempt)
        return _finish_login(request, services, session, user, second.epoch, "password+totp")
    services.throttle.neutral(attempt)  # the code step is throttled on its own
    session.data[_PENDING] = {"user_id": user.id, "epoch": check.epoch, "at": time.time()}
    services.sessions.save(session)
    return render(request, "login.html", {"step": "totp", "name": user.name})


def _pending(value: object) -> tuple[int, int] | None:
    """``(user_id, epoch)`` of a pending code step that has not expired, else ``None``."""
    if not isinstance(value, dict):
        return None
    user_id, epoch, at = value.get("user_id"), value.get("epoch"), value.get("at")
    if not (isinstance(user_id, int) and isinstance(epoch, int) and isinstance(at, int | float)):
        return None
    if not 0 <= time.time() - at <= PENDING_S:
        return None
    return user_id, epoch


@router.post("/login/totp", name="login_totp")
def login_totp(
    request: Request,
    services: ServicesDep,
    session: SessionDep,
    totp: Annotated[str, Form(max_length=16)],
) -> Response:
    """Second step: the code for the user whose password ``/login`` verified (one try; a wrong
    code sends the user back to the password)."""
    raw = session.data.pop(_PENDING, None)
    if raw is not None:
        services.sessions.save(session)
    pending = _pending(raw)
    user = services.users.get_by_id(pending[0]) if pending is not None else None
    if pending is None or user is None:
        return _refuse(request, "Please log in again.", 401)
    attempt = services.throttle.reserve(user.name, _client_ip(request))
    if not attempt.allowed:
        return _locked(request, attempt)
    second = services.users.verify_totp(user.id, totp, epoch=pending[1])
    if not second.ok:
        return _failed(request, services, attempt, user.name, user, second.reason)
    services.throttle.succeeded(attempt)
    return _finish_login(request, services, session, user, second.epoch, "password+totp")


@router.post("/logout", name="logout")
def logout(request: Request, services: ServicesDep, session: SessionDep) -> Response:
    """End the session (audited as ``logout``)."""
    if session.authenticated:
        services.recorder.record_audit(
            session.username or "unknown",
            "logout",
            f"user:{session.user_id}",
            {"name": session.username or "", "address": _client_ip(request)},
        )
    services.sessions.delete(session.token)
    request.state.session = None
    return RedirectResponse("/login", status_code=303)
