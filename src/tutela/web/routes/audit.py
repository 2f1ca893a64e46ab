"""The audit log (supervisors and admins), newest first, paged by id."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tutela.web.deps import RequireRole, ServicesDep
from tutela.web.queries import DbIdQuery, audit_log
from tutela.web.render import render

__all__ = ["router"]

router = APIRouter()
PAGE = 200


@router.get(
    "/audit",
    name="audit",
    response_class=HTMLResponse,
    dependencies=[RequireRole("supervisor", "admin")],
)
def audit(request: Request, services: ServicesDep, before: DbIdQuery = None) -> Response:
    rows = audit_log(services.store, limit=PAGE, before=before)
    older = rows[-1].id if len(rows) == PAGE else None
    return render(request, "audit.html", {"rows": rows, "older": older})
