"""The case page and the human actions on a case; every rule is the workflow's.

Lines whose decision lists a ``sexual_content`` indicator (``MessageView.explicit``) are masked
when ``settings.reveal_masking`` is on; the reveal button posts (HTMX) to the reveal route, which
audits through ``CaseWorkflow.record_reveal`` *before* returning the text.

Reading a case needs a role that may read case content (``CASE_READERS``: not admin) and, for a
user with operation grants, a case of their operations (the workflow's ``reader`` checks; 403).
Every export is audited (``case_exported``, with the package's SHA-256) besides its ledger entry.
Ids in paths are ``DbId`` (422 outside the database's range).

Case work (``tutela.cases.casework``): the page offers only the actions the case's status allows
for the user's role (``case_actions``: the transition table and the pending-referral rule), shows
the strongest action and its time (``CaseWorkflow.case_summary``), a risk-over-time chart
(``tutela.web.riskchart``, an SVG ``data:`` image) and the case's timeline
(``tutela.web.timeline``). Notes (``POST /cases/{id}/notes``, field ``text``) and assignment
(``POST /cases/{id}/assign``, field ``assignee``, empty to unassign) are CSRF-protected like every
POST and audited by the workflow; a note over ``MAX_NOTE_CHARS`` is 422, other bad input 400.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import AfterValidator
from starlette.background import BackgroundTask

from tutela.cases.casework import MAX_NOTE_CHARS, CaseWork, case_actions
from tutela.cases.hold import case_holds, release_legal_hold, set_legal_hold
from tutela.ledger import sha256_hex
from tutela.web.deps import ActingUser, RequireRole, ServicesDep
from tutela.web.i18n import gettext_for
from tutela.web.queries import DbId
from tutela.web.render import env, render
from tutela.web.riskchart import risk_chart_data_uri
from tutela.web.timeline import case_timeline

__all__ = ["router"]

router = APIRouter(prefix="/cases")


def _note_length(text: str) -> str:
    """``text`` with browser line breaks (``\\r\\n``, sent for every textarea line break) as
    ``\\n``; ``ValueError`` (422) when it is then longer than ``MAX_NOTE_CHARS`` after
    stripping, as ``clean_note`` counts it."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(text.strip()) > MAX_NOTE_CHARS:
        raise ValueError(f"a note may have at most {MAX_NOTE_CHARS} characters")
    return text


# the form field's own limit leaves room for a CR before every LF; the note's limit follows
Note = Annotated[str, Form(max_length=2 * MAX_NOTE_CHARS), AfterValidator(_note_length)]
Assignee = Annotated[str, Form(max_length=100)]


def _category(indicator_id: str) -> str:
    parts = indicator_id.split(".")
    return parts[1] if len(parts) >= 3 else indicator_id


env.filters["category"] = _category


@router.get("/{case_id}", name="case", response_class=HTMLResponse)
def case_page(
    request: Request, case_id: DbId, actor: ActingUser, services: ServicesDep
) -> Response:
    """The case page: header (status, strongest action and its time, returns, assignee), the
    actions the case's state allows (``tutela.cases.casework.case_actions``), the risk chart,
    the timeline (``tutela.web.timeline``), notes, referrals, transcripts, identities."""
    detail = services.workflow.case_detail(case_id, reader=actor)
    summary = services.workflow.case_summary(case_id)
    work = CaseWork(services.recorder)
    notes = work.notes(case_id, reader=actor)
    assignments = work.assignments(case_id, reader=actor)
    holds = case_holds(services.store, case_id)
    pending = any(r.status == "proposed" for r in detail.referrals)
    return render(
        request,
        "case.html",
        {
            "d": detail,
            "summary": summary,
            "masking": services.settings.reveal_masking,
            "export_ready": services.workflow.referral_ready(case_id),
            "holds": holds,
            "notes": notes,
            "assignment": assignments[-1] if assignments else None,
            "assignable": work.assignable(case_id),
            "allowed": case_actions(
                detail.case.status,
                str(actor.role),
                pending_referral=pending,
                hold_active=any(h.active for h in holds),
                returned=summary.returned,
            ),
            "timeline": case_timeline(detail, notes=notes, assignments=assignments, holds=holds),
            "risk_chart": risk_chart_data_uri(detail.conversations, gettext=gettext_for(request)),
            "max_note": MAX_NOTE_CHARS,
        },
    )


@router.post("/{case_id}/messages/{message_id}/reveal", name="reveal", response_class=HTMLResponse)
def reveal(
    request: Request, case_id: DbId, message_id: DbId, actor: ActingUser, services: ServicesDep
) -> Response:
    """Audit the reveal, then return the line unmasked (an HTML fragment for HTMX)."""
    detail = services.workflow.case_detail(case_id, reader=actor)
    msg = next(
        (m for c in detail.conversations for m in c.messages if m.id == message_id),
        None,
    )
    if msg is None:
        raise HTTPException(status_code=404, detail="no such message in this case")
    services.workflow.record_reveal(case_id, actor, message_id)
    return render(request, "_line.html", {"m": msg, "case_id": case_id, "revealed": True})


def _back(case_id: int) -> Response:
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/{case_id}/dismiss", name="dismiss")
def dismiss(case_id: DbId, actor: ActingUser, services: ServicesDep, reason: Note) -> Response:
    services.workflow.dismiss(case_id, actor, reason)
    return _back(case_id)


@router.post("/{case_id}/watch", name="keep_watching")
def keep_watching(
    case_id: DbId, actor: ActingUser, services: ServicesDep, note: Note = ""
) -> Response:
    services.workflow.keep_watching(case_id, actor, note)
    return _back(case_id)


@router.post("/{case_id}/reopen", name="reopen")
def reopen(case_id: DbId, actor: ActingUser, services: ServicesDep, note: Note) -> Response:
    services.workflow.reopen(case_id, actor, note)
    return _back(case_id)


@router.post("/{case_id}/acknowledge-return", name="acknowledge_return")
def acknowledge_return(
    case_id: DbId, actor: ActingUser, services: ServicesDep, note: Note = ""
) -> Response:
    """A referred case's return seen: it stays referred and leaves the active queue."""
    services.workflow.acknowledge_return(case_id, actor, note)
    return _back(case_id)


@router.post("/{case_id}/referrals", name="propose_referral")
def propose_referral(
    case_id: DbId, actor: ActingUser, services: ServicesDep, note: Note
) -> Response:
    services.workflow.propose_referral(case_id, actor, note)
    return _back(case_id)


@router.post("/{case_id}/referrals/{referral_id}/approve", name="approve_referral")
def approve_referral(
    case_id: DbId, referral_id: DbId, actor: ActingUser, services: ServicesDep, note: Note = ""
) -> Response:
    _check_referral(services, case_id, referral_id)
    services.workflow.approve_referral(referral_id, actor, note)
    return _back(case_id)


@router.post("/{case_id}/referrals/{referral_id}/reject", name="reject_referral")
def reject_referral(
    case_id: DbId, referral_id: DbId, actor: ActingUser, services: ServicesDep, reason: Note
) -> Response:
    _check_referral(services, case_id, referral_id)
    services.workflow.reject_referral(referral_id, actor, reason)
    return _back(case_id)


def _check_referral(services: ServicesDep, case_id: int, referral_id: int) -> None:
    if services.workflow.referral(referral_id).case_id != case_id:
        raise HTTPException(status_code=404, detail="no such referral in this case")


@router.post("/{case_id}/notes", name="add_note")
def add_note(case_id: DbId, actor: ActingUser, services: ServicesDep, text: Note) -> Response:
    """Add a note (``tutela.cases.casework``: roles, scope, text rules, audit); 422 over
    ``MAX_NOTE_CHARS``, 400 for an empty note or one with control characters."""
    CaseWork(services.recorder).add_note(case_id, actor, text)
    return RedirectResponse(f"/cases/{case_id}#notes", status_code=303)


@router.post("/{case_id}/assign", name="assign_case")
def assign_case(
    case_id: DbId, actor: ActingUser, services: ServicesDep, assignee: Assignee = ""
) -> Response:
    """Assign the case to ``assignee`` (a user name; empty: unassign); 400 when the assignee
    may not take it (``tutela.cases.casework.CaseWork.assign``)."""
    CaseWork(services.recorder).assign(case_id, actor, assignee.strip() or None)
    return _back(case_id)


@router.post("/{case_id}/hold", name="set_hold")
def set_hold(case_id: DbId, actor: ActingUser, services: ServicesDep, reason: Note) -> Response:
    """Put the case under a legal hold (``tutela.cases.hold``: roles, reason, audit)."""
    set_legal_hold(services.recorder, case_id, reason, user=actor)
    return _back(case_id)


@router.post("/{case_id}/hold/release", name="release_hold")
def release_hold(case_id: DbId, actor: ActingUser, services: ServicesDep, reason: Note) -> Response:
    """Release the case's legal hold (``tutela.cases.hold``: supervisors only, reason, audit)."""
    release_legal_hold(services.recorder, case_id, reason, user=actor)
    return _back(case_id)


@router.post(
    "/{case_id}/export",
    name="export_case",
    dependencies=[RequireRole("analyst", "supervisor")],
)
def export_case(case_id: DbId, actor: ActingUser, services: ServicesDep) -> Response:
    """Download the case's evidence package (``tutela.evidence.export_package``); only once the
    workflow says a referral was approved and audited (``referral_ready``), else 409; 403 when
    the user may not read the case. Audited as ``case_exported`` (target ``case:<id>``)."""
    from tutela.evidence import export_package

    services.workflow.check_case_access(case_id, actor)
    if not services.workflow.referral_ready(case_id):
        raise HTTPException(status_code=409, detail="no approved referral: nothing to export yet")
    folder = Path(tempfile.mkdtemp(prefix="tutela-export-"))
    out = folder / f"tutela-case-{case_id}.zip"
    try:
        export_package(
            services.store,
            case_id,
            out,
            signer=services.signer,
            actor=actor.name,
            recorder=services.recorder,
        )
        services.recorder.record_audit(
            actor.name,
            "case_exported",
            f"case:{case_id}",
            {"via": "dashboard", "package_sha256": sha256_hex(out.read_bytes())},
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        out,
        media_type="application/zip",
        filename=out.name,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )
