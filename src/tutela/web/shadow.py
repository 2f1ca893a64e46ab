"""The shadow-policy page (``GET /shadow``): per candidate policy evaluated beside the active one
(``tutela run --shadow-policy``, ``tutela.live.shadow``), the decisions compared, the agreement,
the extra and fewer warnings, the extra referral proposals and escalations, and the latest
disagreements (conversation, contact line, active vs shadow action, the shadow's rule), from
``tutela.store.queries.shadow.shadow_summary``. No texts are shown.

A read page for case workers (analyst, supervisor; 403 otherwise), like the review queue.
``?policy=SHA256`` shows one policy; ``?limit=N`` (1-1000, default 200) bounds each table.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from tutela.store.queries.shadow import shadow_summary
from tutela.web.deps import ActingUser, RequireRole, ServicesDep
from tutela.web.render import render

__all__ = ["router"]

router = APIRouter(prefix="/shadow")


@router.get(
    "",
    name="shadow",
    response_class=HTMLResponse,
    dependencies=[RequireRole("analyst", "supervisor")],
)
def shadow_page(
    request: Request,
    services: ServicesDep,
    actor: ActingUser,
    policy: Annotated[str | None, Query(pattern="^[0-9a-f]{64}$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Response:
    scope = services.workflow.reader_scope(actor)  # a user's operation grants (403 for admins)
    summaries = shadow_summary(services.store, policy, limit=limit, operations=scope)
    return render(request, "shadow.html", {"summaries": summaries, "limit": limit})
