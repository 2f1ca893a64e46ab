"""Live conversations (HTMX polling) and operator takeover.

A takeover text goes through ``OutgoingGuard(profile).release(text, origin="operator")``: refused
texts are shown with the guard's reasons and go nowhere; released ones are queued in the
store-backed :class:`~tutela.live.takeover.OperatorOutbox` and audited
(``operator_message_queued``, with the text's SHA-256 only, like every personal content in the
audit trail). ``tutela run`` takes the queued texts and sends them through its own guard.

The live texts are case content: admins get 403, and a user with operation grants sees (and takes
over) only conversations of their operations. Takeover needs the conversation's persona profile
for the guard; the dashboard knows only the shipped personas
(:func:`~tutela.live.takeover.takeover_profile`), so a conversation of a custom (YAML) persona
answers 409 with the reason instead of a 500.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from tutela.ledger import sha256_hex
from tutela.live.takeover import PersonaUnavailable, takeover_profile
from tutela.persona import GuardRefusal, OutgoingGuard, load_personas
from tutela.web.deps import ActingUser, RequireRole, ServicesDep
from tutela.web.queries import DbId, live_conversations
from tutela.web.render import render

__all__ = ["router"]

router = APIRouter(prefix="/live")


def _context(services: ServicesDep, actor: ActingUser) -> dict[str, object]:
    scope = services.workflow.reader_scope(actor)  # PermissionDenied (403) for admins
    convs = live_conversations(services.store, operations=scope)
    queued = {c.id: services.outbox.pending(c.id) for c in convs}
    shipped = load_personas()
    return {
        "convs": convs,
        "queued": queued,
        "poll_s": services.settings.live_poll_s,
        "can_take_over": {c.id: c.persona_id in shipped for c in convs},
    }


@router.get("", name="live", response_class=HTMLResponse)
def live_page(request: Request, actor: ActingUser, services: ServicesDep) -> Response:
    return render(request, "live.html", _context(services, actor))


@router.get("/feed", name="live_feed", response_class=HTMLResponse)
def live_feed(request: Request, actor: ActingUser, services: ServicesDep) -> Response:
    """The conversations fragment the live page polls every ``live_poll_s`` seconds."""
    return render(request, "_live_feed.html", _context(services, actor))


@router.post(
    "/{conversation_id}/takeover",
    name="takeover",
    response_class=HTMLResponse,
    dependencies=[RequireRole("analyst", "supervisor")],
)
def takeover(
    request: Request,
    conversation_id: DbId,
    user: ActingUser,
    services: ServicesDep,
    text: Annotated[str, Form(max_length=2000)],
) -> Response:
    services.workflow.check_conversation_access(conversation_id, user)  # 404 / 403
    conv = services.recorder.conversation(conversation_id)
    try:
        profile = takeover_profile(conv.persona_id)
    except PersonaUnavailable as e:
        raise HTTPException(status_code=409, detail=str(e)) from e
    guard = OutgoingGuard(profile)
    try:
        released = guard.release(text, origin="operator")
    except GuardRefusal as e:
        ctx = {"conv_id": conversation_id, "refused": e.reasons, "text": text}
        return render(request, "_takeover_result.html", ctx, 422)
    services.recorder.record_audit(
        user.name,
        "operator_message_queued",
        f"conversation:{conversation_id}",
        {"text_sha256": sha256_hex(released.text.encode("utf-8")), "origin": "operator"},
    )
    services.outbox.put(conversation_id, released, user.name)
    ctx = {"conv_id": conversation_id, "queued": released.text}
    return render(request, "_takeover_result.html", ctx)
