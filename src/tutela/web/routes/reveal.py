"""Revealing a whole conversation on the case page (analyst protection, issue 12).

With ``mask_contact_text`` (``tutela.web.settings``, default on) every contact line of a case
transcript is masked and its media metadata blurred; a line is revealed by the case page's
per-line reveal (``/cases/{case}/messages/{message}/reveal``), a whole conversation here. The
reveal is audited through ``CaseWorkflow.record_reveal`` (a ``reveal`` case event with the
conversation id and no message id) *before* the texts are returned, as an HTML fragment that
replaces the transcript (HTMX). Lines whose own indicators include a ``sexual_content`` one are
revealed with it: the analyst asked for every line of that conversation. The fragment is fixed:
it holds the lines read before the audit (the event records the largest message id among them,
``up_to_message_id``) and nothing is remembered, so a line that arrives later, and the next load
of the case page, are masked again.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from tutela.web.deps import ActingUser, RequireRole, ServicesDep
from tutela.web.queries import DbId
from tutela.web.render import render

__all__ = ["router"]

router = APIRouter()


@router.post(
    "/cases/{case_id}/conversations/{conversation_id}/reveal",
    name="reveal_conversation",
    response_class=HTMLResponse,
    dependencies=[RequireRole("analyst", "supervisor")],
)
def reveal_conversation(
    request: Request,
    case_id: DbId,
    conversation_id: DbId,
    actor: ActingUser,
    services: ServicesDep,
) -> Response:
    """Audit the reveal, then return the conversation's transcript unmasked (a fragment)."""
    detail = services.workflow.case_detail(case_id, reader=actor)  # 404 / 403
    conv = next((c for c in detail.conversations if c.id == conversation_id), None)
    if conv is None:
        raise HTTPException(status_code=404, detail="no such conversation in this case")
    up_to = max((m.id for m in conv.messages), default=None)
    services.workflow.record_reveal(
        case_id, actor, conversation_id=conversation_id, up_to_message_id=up_to
    )
    return render(request, "_transcript.html", {"conv": conv, "case_id": case_id})
