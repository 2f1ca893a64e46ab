"""Jinja2 templates (package data under ``templates/``, autoescaped) and the ``render`` helper."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from tutela.web.i18n import negotiate, translations

__all__ = ["env", "render"]


def _when(value: datetime | None) -> str:
    """``2026-11-29 10:50 UTC`` (times are stored as aware UTC)."""
    if value is None:
        return ""
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.0f}%"


def _riskclass(value: float | None) -> str:
    """CSS class of a risk level: ``risk-high`` (>= 0.7), ``risk-mid`` (>= 0.4), ``risk-low``."""
    if value is None:
        return "risk-low"
    return "risk-high" if value >= 0.7 else "risk-mid" if value >= 0.4 else "risk-low"


env = Environment(
    loader=PackageLoader("tutela.web", "templates"),
    autoescape=select_autoescape(["html"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
    extensions=["jinja2.ext.i18n"],
)
env.filters["when"] = _when
env.filters["pct"] = _pct
env.filters["riskclass"] = _riskclass


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    """Render ``template`` with ``request``, the session's user and CSRF token in the context."""
    session = getattr(request.state, "session", None)
    lang = negotiate(request.headers.get("accept-language"), getattr(request.state, "lang", None))
    tr = translations(lang)
    ctx = {
        "lang": lang,
        "_": tr.gettext,
        "gettext": tr.gettext,
        "ngettext": tr.ngettext,
        "request": request,
        "user": session if session is not None and session.authenticated else None,
        "csrf_token": session.csrf_token if session is not None else "",
        **(context or {}),
    }
    return HTMLResponse(env.get_template(template).render(ctx), status_code=status)
