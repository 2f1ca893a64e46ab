"""Contact profile: identities (with the message each was read from), conversations, the case."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tutela.web.deps import CurrentUser, ServicesDep
from tutela.web.queries import case_of_contact, contact_conversations
from tutela.web.render import render

__all__ = ["router"]

router = APIRouter(prefix="/contacts")


@router.get("/{contact_id}", name="contact", response_class=HTMLResponse)
def contact_page(
    request: Request, contact_id: int, user: CurrentUser, services: ServicesDep
) -> Response:
    cid, conversations = contact_conversations(services.store, contact_id)
    case_id = case_of_contact(services.store, cid)
    detail = services.workflow.case_detail(case_id) if case_id is not None else None
    return render(
        request,
        "contact.html",
        {
            "contact_id": cid,
            "asked_id": contact_id,
            "conversations": conversations,
            "case_id": case_id,
            "identities": detail.identities if detail is not None else (),
        },
    )
