"""Live conversations (HTMX polling) and operator takeover.

A takeover text goes through ``OutgoingGuard(profile).release(text, origin="operator")``: refused
texts are shown with the guard's reasons and go nowhere; released ones are queued in the
store-backed :class:`~tutela.live.takeover.OperatorOutbox` and audited
(``operator_message_queued``, with the text's SHA-256 only, like every personal content in the
audit trail). ``tutela run`` takes the queued texts and sends them through its own guard.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from tutela.evidence import sha256_hex
from tutela.persona import GuardRefusal, OutgoingGuard, load_persona
from tutela.web.deps import CurrentUser, RequireRole, ServicesDep
from tutela.web.queries import live_conversations
from tutela.web.render import render

__all__ = ["router"]

router = APIRouter(prefix="/live")


def _context(services: ServicesDep) -> dict[str, object]:
    convs = live_conversations(services.store)
    queued = {c.id: services.outbox.pending(c.id) for c in convs}
    return {"convs": convs, "queued": queued, "poll_s": services.settings.live_poll_s}


@router.get("", name="live", response_class=HTMLResponse)
def live_page(request: Request, user: CurrentUser, services: ServicesDep) -> Response:
    return render(request, "live.html", _context(services))


@router.get("/feed", name="live_feed", response_class=HTMLResponse)
def live_feed(request: Request, user: CurrentUser, services: ServicesDep) -> Response:
    """The conversations fragment the live page polls every ``live_poll_s`` seconds."""
    return render(request, "_live_feed.html", _context(services))


@router.post(
    "/{conversation_id}/takeover",
    name="takeover",
    response_class=HTMLResponse,
    dependencies=[RequireRole("analyst", "supervisor")],
)
def takeover(
    request: Request,
    conversation_id: int,
    user: CurrentUser,
    services: ServicesDep,
    text: Annotated[str, Form(max_length=2000)],
) -> Response:
    conv = services.recorder.conversation(conversation_id)  # NotFoundError -> 404
    guard = OutgoingGuard(load_persona(conv.persona_id))
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
