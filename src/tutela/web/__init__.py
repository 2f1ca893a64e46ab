"""The analyst dashboard (``tutela serve``): FastAPI + Jinja2 + vendored HTMX.

``create_app(WebSettings.load(db_url=...))`` builds it; see :mod:`tutela.web.app` for the layers.
Sessions and the login throttle are server-side, in the database (shared by several processes,
kept over a restart; :mod:`tutela.web.sessions`); role and four-eyes rules live in
``tutela.cases.workflow``, never here.
"""

from __future__ import annotations

from tutela.live.takeover import OperatorOutbox, QueuedText
from tutela.web.app import create_app
from tutela.web.settings import WebSettings

__all__ = ["OperatorOutbox", "QueuedText", "WebSettings", "create_app"]
