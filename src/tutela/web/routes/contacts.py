"""Contact profile: identities (with the line each was read from), conversations, the case.

Reading it needs a role that may read case content (not admin) and, for a user with operation
grants, a contact whose conversations are all in their operations (403 otherwise). An identity's
source line whose decision lists a ``sexual_content`` indicator (``IdentityView.source_explicit``)
is masked exactly like the line on the case page while ``settings.reveal_masking`` is on; its
reveal button posts (HTMX) to the reveal route here, which records the reveal through
``CaseWorkflow.record_reveal`` (a ``reveal`` case event, audit row and ledger entry, with
``shown_on: "contact"``) *before* returning the text.

The page draws the contact's identity graph (``tutela.web.contactgraph``): its identities, the
personas and platforms it spoke to and the contacts merged into it
(``tutela.store.queries.casework.merged_contacts``), each link with its evidence line, as
inline SVG (no script) and as a nested list that carries the lines' texts, masked as above.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from tutela.store.queries.casework import merged_contacts
from tutela.web.contactgraph import contact_graph, graph_svg
from tutela.web.deps import ActingUser, ServicesDep
from tutela.web.i18n import gettext_for, ngettext_for
from tutela.web.queries import DbId, case_of_contact, contact_conversations
from tutela.web.render import render

__all__ = ["router"]

router = APIRouter(prefix="/contacts")


@router.get("/{contact_id}", name="contact", response_class=HTMLResponse)
def contact_page(
    request: Request, contact_id: DbId, actor: ActingUser, services: ServicesDep
) -> Response:
    services.workflow.reader_scope(actor)  # admins: 403 before anything is read
    cid, conversations = contact_conversations(services.store, contact_id)
    services.workflow.check_contact_access(cid, actor)
    case_id = case_of_contact(services.store, cid)
    detail = services.workflow.case_detail(case_id, reader=actor) if case_id is not None else None
    graph = contact_graph(
        cid,
        case_id=case_id,
        detail=detail,
        conversations=conversations,
        merges=merged_contacts(services.store, cid),
    )
    return render(
        request,
        "contact.html",
        {
            "contact_id": cid,
            "asked_id": contact_id,
            "conversations": conversations,
            "case_id": case_id,
            "identities": detail.identities if detail is not None else (),
            "masking": services.settings.reveal_masking,
            "graph": graph,
            "graph_svg": graph_svg(
                graph, gettext=gettext_for(request), ngettext=ngettext_for(request)
            ),
        },
    )


@router.post(
    "/{contact_id}/identities/{identity_id}/reveal",
    name="reveal_identity_source",
    response_class=HTMLResponse,
)
def reveal_identity_source(
    request: Request,
    contact_id: DbId,
    identity_id: DbId,
    actor: ActingUser,
    services: ServicesDep,
) -> Response:
    """Record the reveal of an identity's source line, then return it unmasked (HTMX fragment).
    404 when the identity is not the contact's or was not read from a line."""
    services.workflow.reader_scope(actor)
    cid, _ = contact_conversations(services.store, contact_id)
    case_id = case_of_contact(services.store, cid)
    if case_id is None:
        raise HTTPException(status_code=404, detail="this contact has no case file")
    detail = services.workflow.case_detail(case_id, reader=actor)
    ident = next((i for i in detail.identities if i.id == identity_id), None)
    if ident is None or ident.source_message_id is None:
        raise HTTPException(status_code=404, detail="no such identity source line")
    services.workflow.record_reveal(case_id, actor, ident.source_message_id, shown_on="contact")
    return render(
        request,
        "_identity_source.html",
        {"i": ident, "contact_id": cid, "masking": True, "revealed": True},
    )
