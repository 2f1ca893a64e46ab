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
answers 409 with the reason instead of a 500. A refused text answers 422 with the guard's
reasons in the fragment; the page's htmx configuration (``base.html``, ``responseHandling``)
swaps 4xx/5xx answers, so the reason is shown where the result would be.

Masking on the feed (``tutela.web.settings``): lines whose own indicators include a
``sexual_content`` one (``reveal_masking``) and, with ``mask_contact_text`` (default), every contact
line are masked, attachments' metadata blurred, until an analyst reveals the line or the
conversation; each reveal is audited (``CaseWorkflow.record_reveal`` with ``shown_on="live"``
when the contact has a case, else an audit row ``reveal`` on ``conversation:<id>``) and kept in
the dashboard session (``data`` keys ``revealed_lines``/``revealed_conversations``, the latest
:data:`REVEALS_KEPT`), so the next poll of the feed does not mask them again. A conversation
reveal covers the lines that existed when it was made: the session keeps
``[conversation id, largest message id at the reveal]``, and a line that arrives later is masked
again until it (or the conversation, again) is revealed, audited anew.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from tutela.ledger import sha256_hex
from tutela.live.takeover import PersonaUnavailable, takeover_profile
from tutela.persona import GuardRefusal, OutgoingGuard, load_personas
from tutela.store import NotFoundError
from tutela.web.deps import ActingUser, RequireRole, ServicesDep
from tutela.web.queries import DbId, case_of_contact, live_conversations
from tutela.web.render import render

__all__ = ["REVEALS_KEPT", "router"]

router = APIRouter(prefix="/live")

REVEALS_KEPT = 500
"""How many revealed line ids (and conversation ids) a dashboard session keeps."""
_LINES, _CONVS = "revealed_lines", "revealed_conversations"


def _revealed(request: Request, key: str) -> list[int]:
    session = getattr(request.state, "session", None)
    value = session.data.get(key, []) if session is not None else []
    return [int(v) for v in value if isinstance(v, int)] if isinstance(value, list) else []


def _revealed_convs(request: Request) -> dict[int, int]:
    """Conversation id -> the largest message id its reveal covered (session entries
    ``[conversation id, message id]``; anything else, e.g. a bare id kept before reveals had a
    bound, is dropped: that conversation is masked again)."""
    session = getattr(request.state, "session", None)
    value = session.data.get(_CONVS, []) if session is not None else []
    out: dict[int, int] = {}
    for v in value if isinstance(value, list) else []:
        if (
            isinstance(v, list)
            and len(v) == 2
            and all(isinstance(x, int) and not isinstance(x, bool) for x in v)
        ):
            out[v[0]] = v[1]
    return out


def _context(request: Request, services: ServicesDep, actor: ActingUser) -> dict[str, object]:
    scope = services.workflow.reader_scope(actor)  # PermissionDenied (403) for admins
    convs = live_conversations(services.store, operations=scope)
    queued = {c.id: services.outbox.pending(c.id) for c in convs}
    shipped = load_personas()
    return {
        "convs": convs,
        "queued": queued,
        "poll_s": services.settings.live_poll_s,
        "can_take_over": {c.id: c.persona_id in shipped for c in convs},
        "masking": services.settings.reveal_masking,
        "mask_contact": services.settings.mask_contact_text,
        "revealed_lines": frozenset(_revealed(request, _LINES)),
        "revealed_convs": _revealed_convs(request),
    }


@router.get("", name="live", response_class=HTMLResponse)
def live_page(request: Request, actor: ActingUser, services: ServicesDep) -> Response:
    return render(request, "live.html", _context(request, services, actor))


@router.get("/feed", name="live_feed", response_class=HTMLResponse)
def live_feed(request: Request, actor: ActingUser, services: ServicesDep) -> Response:
    """The conversations fragment the live page polls every ``live_poll_s`` seconds."""
    return render(request, "_live_feed.html", _context(request, services, actor))


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


def _reveal(
    request: Request,
    services: ServicesDep,
    user: ActingUser,
    conversation_id: int,
    message_id: int | None,
) -> Response:
    """Audit a reveal on the live feed, remember it in the session, answer the feed fragment."""
    services.workflow.check_conversation_access(conversation_id, user)  # 404 / 403
    conv = services.recorder.conversation(conversation_id)
    message_ids = [m.id for m in services.recorder.conversation_messages(conversation_id)]
    if message_id is not None and message_id not in message_ids:
        raise HTTPException(status_code=404, detail="no such message in this conversation")
    up_to = max(message_ids, default=0)  # a conversation reveal covers these lines only
    case_id = case_of_contact(services.store, conv.contact_id)
    recorded = False
    if case_id is not None:
        try:
            services.workflow.record_reveal(
                case_id,
                user,
                message_id,
                shown_on="live",
                conversation_id=None if message_id is not None else conversation_id,
                up_to_message_id=None if message_id is not None else up_to,
            )
            recorded = True
        except NotFoundError:  # not (or no longer) one of that case's conversations
            recorded = False
    if not recorded:
        details: dict[str, object] = {"conversation": conversation_id, "shown_on": "live"}
        if message_id is not None:
            details["message_id"] = message_id
        else:
            details["up_to_message_id"] = up_to
        services.recorder.record_audit(
            user.name, "reveal", f"conversation:{conversation_id}", details
        )
    session = getattr(request.state, "session", None)
    if session is not None:
        if message_id is not None:
            lines = [v for v in _revealed(request, _LINES) if v != message_id] + [message_id]
            session.data[_LINES] = lines[-REVEALS_KEPT:]
        else:
            convs = [[c, m] for c, m in _revealed_convs(request).items() if c != conversation_id]
            session.data[_CONVS] = [*convs, [conversation_id, up_to]][-REVEALS_KEPT:]
        services.sessions.save(session)
    return render(request, "_live_feed.html", _context(request, services, user))


@router.post(
    "/{conversation_id}/reveal",
    name="live_reveal_conversation",
    response_class=HTMLResponse,
    dependencies=[RequireRole("analyst", "supervisor")],
)
def reveal_conversation(
    request: Request, conversation_id: DbId, user: ActingUser, services: ServicesDep
) -> Response:
    """Reveal every line the conversation has now on the live feed (audited; later lines are
    masked again); the feed fragment."""
    return _reveal(request, services, user, conversation_id, None)


@router.post(
    "/{conversation_id}/messages/{message_id}/reveal",
    name="live_reveal_line",
    response_class=HTMLResponse,
    dependencies=[RequireRole("analyst", "supervisor")],
)
def reveal_line(
    request: Request,
    conversation_id: DbId,
    message_id: DbId,
    user: ActingUser,
    services: ServicesDep,
) -> Response:
    """Reveal one line of the live feed (audited); the feed fragment."""
    return _reveal(request, services, user, conversation_id, message_id)
