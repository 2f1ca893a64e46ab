"""The review queue: open cases, highest risk first (order from ``CaseWorkflow.review_queue``).

Only for roles that may read case content (not admin: 403), and only the cases of the user's
operations when they have operation grants (``tutela.accounts.access``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tutela.web.deps import ActingUser, CurrentUser, ServicesDep
from tutela.web.render import render

__all__ = ["router"]

router = APIRouter()

STATUS_SETS = {
    "active": ("open", "watching", "referral_proposed"),
    "all": ("open", "watching", "referral_proposed", "referred", "dismissed", "purged"),
    "referred": ("referred",),
    "dismissed": ("dismissed", "purged"),
}


@router.get("/", name="home")
def home(user: CurrentUser) -> Response:
    """To the review queue; admins (who read no case content) to the audit log."""
    return RedirectResponse("/audit" if user.role == "admin" else "/queue", status_code=303)


@router.get("/queue", name="queue", response_class=HTMLResponse)
def queue(
    request: Request, actor: ActingUser, services: ServicesDep, show: str = "active"
) -> Response:
    statuses = STATUS_SETS.get(show, STATUS_SETS["active"])
    rows = services.workflow.review_queue(statuses=statuses, reader=actor)
    pending = services.workflow.pending_referrals(reader=actor)
    return render(
        request,
        "queue.html",
        {"rows": rows, "show": show, "shows": list(STATUS_SETS), "pending": pending},
    )
