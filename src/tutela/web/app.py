"""``create_app(settings)``: the analyst dashboard (FastAPI + Jinja2 + HTMX, no JavaScript of our
own, no CDN: htmx is vendored under ``static/``).

Layers, outermost first: security headers and the server-side session (:mod:`.sessions`,
resolved from a signed cookie) in one middleware; then two app-wide dependencies on every route,
:func:`~tutela.web.deps.require_login` (anonymous callers: 303 to ``/login`` for pages, 401 for
HTMX/JSON) and :func:`~tutela.web.deps.check_csrf` (403 without the session's token on POST...).
Route modules under ``routes/`` render templates and call the case workflow, which holds every
rule; its ``PermissionDenied`` becomes 403 here, ``NotFoundError`` 404.
"""

from __future__ import annotations

import html
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib.resources import files

from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from itsdangerous import BadSignature, Signer
from starlette.exceptions import HTTPException

from tutela.errors import InputError
from tutela.store import NotFoundError
from tutela.web.deps import NotAuthenticated, check_csrf, require_login
from tutela.web.render import render
from tutela.web.services import Services
from tutela.web.sessions import COOKIE_NAME
from tutela.web.settings import WebSettings

__all__ = ["create_app"]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
"""Headers of every dynamic response (set by the middleware; the 500 page sets them itself)."""
_log = logging.getLogger("tutela.web")


def _workflow_errors() -> list[tuple[type[Exception], int]]:
    """``PermissionDenied`` -> 403, ``InvalidTransition`` -> 409 (the workflow's errors)."""
    from tutela.cases.workflow import InvalidTransition
    from tutela.errors import PermissionDenied

    return [(PermissionDenied, 403), (InvalidTransition, 409)]


def _wants_html(request: Request) -> bool:
    if request.headers.get("hx-request") == "true":
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept or "*/*" in accept or not accept


def create_app(settings: WebSettings, *, services: Services | None = None) -> FastAPI:
    """The dashboard application. ``services``: pre-built shared objects (tests); by default
    they are built from ``settings`` (opening and migrating the store)."""
    svc = services or Services.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        svc.close()

    app = FastAPI(
        title="Tutela dashboard",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
        dependencies=[Depends(require_login), Depends(check_csrf)],
    )
    app.state.services = svc
    app.state.settings = settings
    cookie_signer = Signer(settings.session_secret.get_secret_value(), salt="tutela-session")

    @app.middleware("http")
    async def session_and_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        from starlette.concurrency import run_in_threadpool

        raw = request.cookies.get(COOKIE_NAME)
        session = None
        if raw:
            try:
                token = cookie_signer.unsign(raw).decode("ascii")
            except (BadSignature, UnicodeDecodeError):
                token = None
            # a database read (and the account re-check) per request: off the event loop
            session = await run_in_threadpool(svc.sessions.get, token)
        request.state.session = session
        request.state.lang = session.lang if session is not None else None  # tutela.web.i18n
        request.state.new_session = False
        response = await call_next(request)
        new = request.state.session
        if new is None and (session is not None or raw):  # logged out, ended or unknown
            response.delete_cookie(COOKIE_NAME, path="/")
        elif new is not None and (request.state.new_session or new is not session):
            response.set_cookie(
                COOKIE_NAME,
                cookie_signer.sign(new.token).decode("ascii"),
                max_age=settings.session_ttl_s,
                path="/",
                httponly=True,
                samesite="strict",
                secure=settings.cookie_secure,
            )
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(NotAuthenticated)
    async def _anonymous(request: Request, exc: NotAuthenticated) -> Response:
        if _wants_html(request):
            return RedirectResponse("/login", status_code=303)
        headers = {"HX-Redirect": "/login"} if request.headers.get("hx-request") else {}
        return JSONResponse({"detail": "login required"}, status_code=401, headers=headers)

    def _error(request: Request, status: int, message: str) -> Response:
        if _wants_html(request):
            return render(request, "error.html", {"status": status, "message": message}, status)
        if request.headers.get("hx-request"):
            return HTMLResponse(
                f'<p class="error">{status}: {html.escape(message)}</p>', status_code=status
            )
        return JSONResponse({"detail": message}, status_code=status)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        return _error(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
        # e.g. an id beyond the database's INTEGER range: 422 naming the parameter, never
        # echoing the (attacker-chosen) value
        where = sorted({".".join(str(p) for p in e.get("loc", ())[1:]) for e in exc.errors()})
        return _error(request, 422, f"invalid request parameter: {', '.join(where) or '?'}")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # Starlette answers unhandled errors from its outermost middleware, outside
        # ``session_and_headers``: this page sets the security headers itself (OWASP Error
        # Handling Cheat Sheet: a generic message, details only in the server log).
        _log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        try:
            response = _error(request, 500, "internal error; it has been logged")
        except Exception:  # the error page itself failed (e.g. the database is gone)
            response = HTMLResponse("<p>500: internal error</p>", status_code=500)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(NotFoundError)
    async def _not_found(request: Request, exc: NotFoundError) -> Response:
        return _error(request, 404, str(exc))

    @app.exception_handler(InputError)
    async def _bad_input(request: Request, exc: InputError) -> Response:
        return _error(request, 400, str(exc))

    for error, status in _workflow_errors():

        async def _workflow_error(
            request: Request, exc: Exception, status: int = status
        ) -> Response:
            return _error(request, status, str(exc) or "not allowed")

        app.add_exception_handler(error, _workflow_error)

    app.mount("/static", StaticFiles(directory=str(files("tutela.web") / "static")), name="static")

    from tutela.web.routes import audit, auth, cases, contacts, live, personas, queue, stats

    for module in (auth, queue, cases, contacts, live, personas, stats, audit):
        app.include_router(module.router)
    from tutela.web.routes import reveal  # whole-conversation reveals on the case page

    app.include_router(reveal.router)
    from tutela.web import shadow  # the shadow-policy page

    app.include_router(shadow.router)
    from tutela.web import helplink  # the trial's public help-link redirect (no login)

    app.include_router(helplink.router)
    helplink.install_access_filter()
    return app
