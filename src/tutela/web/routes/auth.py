"""Login (password, then a TOTP code when the user has one), logout, and ``/healthz``.

Order of a login (OWASP Authentication Cheat Sheet):

1. The throttle reserves the attempt (:meth:`~tutela.web.throttle.LoginThrottle.reserve`)
   *before* any argon2 work; a locked key answers 429 with ``Retry-After`` and checks nothing.
   The keys: the browser's own ``device:NONCE`` when it presents a valid device cookie for the
   account it logs in to (OWASP "Device Cookies": it is not locked out by other clients'
   failures), else the account and the client address.
2. The password is checked (``UserStore.verify_password``). Every failure (unknown name, wrong
   password, inactive account) gets the **same** 401 page, so nothing tells which names exist or
   which of them use TOTP.
3. Only after the right password does a TOTP user see the code step: the session's ``data`` then
   holds ``{"user_id", "epoch", "at"}`` (never the password) for ``PENDING_S`` seconds, and
   ``/login/totp`` checks the code for that user, again through the throttle. A code is accepted
   once (``UserStore.verify_totp``), and not at all if the account changed meanwhile. The
   pending step is single-use: ``/login/totp`` claims it from the database in one write
   (``SessionStore.take``) before anything else, so two simultaneous posts get one try.
4. Success replaces the anonymous session with a new one (no session fixation) and sets a new
   device cookie (``tutela.web.throttle.DeviceCookies``: ``HttpOnly``, ``SameSite=Strict``,
   ``Secure`` as ``cookie_secure``, path ``/login``, ``device_cookie_max_age_s``).

Audited through ``Recorder.record_audit``: ``login`` (actor the user; details: address,
method, ``device`` -- whether a device cookie was presented), ``login_failed`` (details:
address, ``device`` and a reason category -- ``unknown_user``, ``bad_password``, ``inactive``,
``bad_totp``, ``totp_replay``, ``credentials_changed``; for an unknown name only
``name_hmac``, the first 16 hex characters of HMAC-SHA256 keyed by the session secret over
``b"tutela-audit-login-name\x00" + name`` (UTF-8), because what was typed may be a mistyped
password and a plain hash of it could be reversed offline; never a password or code),
``login_locked`` (a failure that locked the account, the device or slowed the address: scope
and seconds) and ``logout``.

``POST /settings/lang`` (logged in, CSRF-checked like every POST) stores the user's dashboard
language (``users.lang``: ``en``, ``nl``, ``de``, or ``auto`` for the browser's), audited as
``user_lang_set``, and returns to the page it was sent from (``next``, a local path only).
The login pages are in the browser's language (:mod:`tutela.web.i18n`).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tutela.store.queries.accounts import set_user_lang
from tutela.web.deps import CurrentUser, ServicesDep, SessionDep
from tutela.web.i18n import LANGUAGES, N_, gettext_for
from tutela.web.render import render
from tutela.web.throttle import Attempt, DeviceCookies

__all__ = ["GENERIC_FAILURE", "PENDING_S", "landing", "local_path", "name_hmac", "router"]

router = APIRouter()
PENDING_S = 300.0
"""Seconds the code step waits after the right password."""
GENERIC_FAILURE = N_("Wrong name, password or code.")
"""The one failure text of every refused login (shown in the request's language)."""
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
    if _PENDING in session.data:
        services.sessions.take(session, _PENDING)


def _devices(services: ServicesDep) -> DeviceCookies:
    settings = services.settings
    return DeviceCookies(
        settings.session_secret.get_secret_value(),
        max_age_s=settings.device_cookie_max_age_s,
    )


def _device_nonce(request: Request, services: ServicesDep, name: str) -> str | None:
    """The nonce of the request's valid device cookie for account ``name``, else ``None``."""
    return _devices(services).nonce(request.cookies, name)


@router.get("/login", name="login_form", response_class=HTMLResponse)
def login_form(request: Request, services: ServicesDep, session: SessionDep) -> Response:
    if session.authenticated:
        return RedirectResponse(landing(session.role), status_code=303)
    _drop_pending(services, session)
    return render(request, "login.html", {"step": "password"})


def _refuse(request: Request, message: str, status: int, retry_after: int = 0) -> Response:
    """The password form again with ``message`` (already translated)."""
    resp = render(request, "login.html", {"step": "password", "error": message}, status)
    if retry_after:
        resp.headers["Retry-After"] = str(retry_after)
    return resp


def name_hmac(secret: str, name: str) -> str:
    """How the audit log names an unknown login name: 16 hex characters of HMAC-SHA256 keyed by
    ``secret`` (the session secret) over ``b"tutela-audit-login-name\x00" + name`` (UTF-8).
    Equal names give equal values (repeated attempts can be correlated), but without the key
    a typed password cannot be recovered from the log by hashing guesses."""
    message = b"tutela-audit-login-name\x00" + name.encode("utf-8", "replace")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()[:16]


def _who(services: ServicesDep, name: str, user: Any) -> tuple[str, str, dict[str, Any]]:
    """Actor, target and identifying details of a failed login (module docstring): the actor
    is ``anonymous`` (whoever typed it has not proven to be the account's owner)."""
    if user is not None:
        return "anonymous", f"user:{user.id}", {"name": user.name}
    secret = services.settings.session_secret.get_secret_value()
    return "anonymous", "user:unknown", {"name_hmac": name_hmac(secret, name)}


def _locked(request: Request, attempt: Attempt) -> Response:
    wait = attempt.retry_after
    _ = gettext_for(request)
    message = _(
        "Too many failed logins. Try again in %(seconds)s seconds. (A browser you have logged "
        "in with before is not held back by others' failures.)"
    ) % {"seconds": wait}
    return _refuse(request, message, 429, retry_after=wait)


def _failed(
    request: Request,
    services: ServicesDep,
    attempt: Attempt,
    name: str,
    user: Any,
    reason: str | None,
) -> Response:
    locks = services.throttle.failed(attempt)
    actor, target, details = _who(services, name, user)
    address = _client_ip(request)
    device = attempt.device_key is not None
    services.recorder.record_audit(
        actor,
        "login_failed",
        target,
        {**details, "address": address, "device": device, "reason": reason or "unknown"},
    )
    for scope, seconds in sorted(locks.items()):
        services.recorder.record_audit(
            actor,
            "login_locked",
            f"ip:{address}" if scope == "address" else target,
            {**details, "address": address, "scope": scope, "seconds": seconds},
        )
    _ = gettext_for(request)
    return _refuse(request, _(GENERIC_FAILURE), 401)


def _finish_login(
    request: Request,
    services: ServicesDep,
    session: SessionDep,
    user: Any,
    epoch: int | None,
    method: str,
    attempt: Attempt,
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
        {
            "name": user.name,
            "address": _client_ip(request),
            "method": method,
            "device": attempt.device_key is not None,
        },
    )
    response = RedirectResponse(landing(str(user.role)), status_code=303)
    devices = _devices(services)
    cookie, value = devices.issue(user.name)  # a new nonce at every login
    response.set_cookie(
        cookie,
        value,
        max_age=devices.max_age_s,
        path="/login",  # sent to the login routes only
        httponly=True,
        samesite="strict",
        secure=services.settings.cookie_secure,
    )
    return response


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
    device = _device_nonce(request, services, name)
    attempt = services.throttle.reserve(name, _client_ip(request), device=device)
    if not attempt.allowed:
        return _locked(request, attempt)
    check = services.users.verify_password(name, password)
    user = check.user
    if not check.ok or user is None:
        return _failed(request, services, attempt, name, user, check.reason)
    if not check.needs_totp:
        services.throttle.succeeded(attempt)
        return _finish_login(request, services, session, user, check.epoch, "password", attempt)
    if code:  # name, password and code in one form
        second = services.users.verify_totp(user.id, code, epoch=check.epoch)
        if not second.ok:
            return _failed(request, services, attempt, name, user, second.reason)
        services.throttle.succeeded(attempt)
        return _finish_login(
            request, services, session, user, second.epoch, "password+totp", attempt
        )
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
    """Second step: the code for the user whose password ``/login`` verified (one try, claimed
    atomically from the database; a wrong code sends the user back to the password)."""
    pending = _pending(services.sessions.take(session, _PENDING))
    user = services.users.get_by_id(pending[0]) if pending is not None else None
    if pending is None or user is None:
        _ = gettext_for(request)
        return _refuse(request, _("Please log in again."), 401)
    device = _device_nonce(request, services, user.name)
    attempt = services.throttle.reserve(user.name, _client_ip(request), device=device)
    if not attempt.allowed:
        return _locked(request, attempt)
    second = services.users.verify_totp(user.id, totp, epoch=pending[1])
    if not second.ok:
        return _failed(request, services, attempt, user.name, user, second.reason)
    services.throttle.succeeded(attempt)
    return _finish_login(request, services, session, user, second.epoch, "password+totp", attempt)


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


def local_path(target: str | None, default: str) -> str:
    """``target`` when it is a path on this site (``/`` then not ``/`` or ``\\``: no other host,
    RFC 3986 §4.2 network-path references), else ``default``. Against open redirects."""
    if (
        not target
        or len(target) > 2000
        or not target.startswith("/")
        or target[1:2] in ("/", "\\")
        or any(c < " " for c in target)
    ):
        return default
    return target


@router.post("/settings/lang", name="set_language")
def set_language(
    request: Request,
    services: ServicesDep,
    user: CurrentUser,
    lang: Annotated[str, Form(max_length=10)],
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Store the user's dashboard language (``auto``: the browser's) and go back to ``next``;
    400 for another value. The next page is in the new language."""
    if lang != "auto" and lang not in LANGUAGES:
        raise HTTPException(status_code=400, detail=N_("unknown language"))
    set_user_lang(services.recorder, user.id, None if lang == "auto" else lang, actor=user.name)
    return RedirectResponse(local_path(next, landing(user.role)), status_code=303)
