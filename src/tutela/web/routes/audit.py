"""The audit log (supervisors and admins), newest first, filtered and paged by id (keyset).

Filters, all optional, in the query string: ``actor`` (exact), ``action`` (exact; lower-case
letters, digits and ``_``), ``target`` (a prefix: ``case:`` or ``case:12``), ``from`` and ``to``
(UTC days ``YYYY-MM-DD``, both included). ``before`` is the keyset cursor: the page holds the
rows with a smaller id, and the "older entries" link carries the same filters with the last id
shown. A bad value is answered 422 naming the problem (never echoing the value). Details are
shown as a key/value list, actions by their label (the code beside it), targets and
``case_id``/``contact_id`` values as links for the roles that may open them (supervisors; admins
read no case content).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from tutela.store.queries.dashboard import AuditRow, audit_actions, audit_log
from tutela.web.deps import CurrentUser, RequireRole, ServicesDep
from tutela.web.i18n import N_, gettext_for
from tutela.web.queries import DbIdQuery
from tutela.web.render import render

__all__ = ["ACTION_LABELS", "router"]

router = APIRouter()
PAGE = 200
MAX_FILTER = 200
_ACTION_RE = re.compile(r"[a-z0-9_]{1,100}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_LINKED_TARGETS = {"case": "/cases/", "contact": "/contacts/"}
_LINKED_KEYS = {"case_id": "/cases/", "contact_id": "/contacts/"}

ACTION_LABELS: dict[str, str] = {
    "case_opened": N_("Case opened"),
    "case_exported": N_("Case exported"),
    "dismiss": N_("Case dismissed"),
    "watch": N_("Kept watching"),
    "reopen": N_("Case reopened"),
    "propose_referral": N_("Referral proposed"),
    "approve_referral": N_("Referral approved"),
    "reject_referral": N_("Referral rejected"),
    "reveal": N_("Masked line revealed"),
    "purge": N_("Messages purged"),
    "identity_linked": N_("Identity linked"),
    "contacts_merged": N_("Contacts merged"),
    "export_draft": N_("Export drafted"),
    "import_started": N_("Import started"),
    "import_finished": N_("Import finished"),
    "legal_hold_set": N_("Legal hold set"),
    "legal_hold_released": N_("Legal hold released"),
    "preservation_request_written": N_("Preservation request written"),
    "login": N_("Logged in"),
    "logout": N_("Logged out"),
    "login_failed": N_("Login failed"),
    "login_locked": N_("Login locked"),
    "user_added": N_("User added"),
    "user_deactivated": N_("User deactivated"),
    "user_password_set": N_("Password set"),
    "user_totp_set": N_("Second factor set"),
    "user_role_set": N_("Role changed"),
    "user_lang_set": N_("Language changed"),
    "user_sessions_revoked": N_("Sessions revoked"),
    "operation_created": N_("Operation created"),
    "operation_access_granted": N_("Operation access granted"),
    "operation_access_revoked": N_("Operation access revoked"),
    "operator_message_queued": N_("Operator message queued"),
    "operator_message_sent": N_("Operator message sent"),
    "operator_message_refused": N_("Operator message refused"),
    "reply_withheld": N_("Persona reply withheld"),
    "media_flagged": N_("Media flagged (metadata only)"),
    "research_export": N_("Research export"),
    "research_export_refused": N_("Research export refused"),
    "shadow_policy_started": N_("Shadow policy started"),
    "trial_ended": N_("Trial ended"),
    "key_rotated": N_("Signing key rotated"),
    "exposure_limit_reached": N_("Exposure limit reached"),
    "case_note_added": N_("Note added"),
    "case_assigned": N_("Case assigned"),
}
"""Human labels of the audit actions the project writes (English msgids; unknown actions are
shown by their code with ``_`` as spaces)."""


@dataclass(frozen=True, slots=True)
class DetailItem:
    """One key/value of an audit row's details as the page shows it: ``value`` (shortened for a
    SHA-256: the first 12 hex digits; ``full`` holds the whole) and ``href`` (a link, or None)."""

    key: str
    value: str
    full: str | None = None
    href: str | None = None


@dataclass(frozen=True, slots=True)
class AuditLine:
    """An audit row for the page: the row, the action's label, the target's link, the details."""

    row: AuditRow
    label: str
    target_href: str | None
    details: tuple[DetailItem, ...]


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
        return ", ".join(str(v) for v in value)
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))


def _link(kind_prefixes: dict[str, str], kind: str, ident: Any) -> str | None:
    prefix = kind_prefixes.get(kind)
    if prefix is None:
        return None
    text = str(ident)
    return f"{prefix}{text}" if text.isdigit() and 0 < int(text) < 2**31 else None


def audit_line(row: AuditRow, _: Any, *, links: bool) -> AuditLine:
    """The page's view of ``row`` (labels translated with ``_``; links only when ``links``)."""
    label = ACTION_LABELS.get(row.action)
    kind, _sep, ident = row.target.partition(":")
    items = []
    for key in sorted(row.details):
        value = row.details[key]
        text = _text(value)
        full = text if _HEX64.fullmatch(text) else None
        shown = text[:12] + "…" if full else text
        href = _link(_LINKED_KEYS, key, value) if links else None
        items.append(DetailItem(key.replace("_", " "), shown, full, href))
    return AuditLine(
        row=row,
        label=_(label) if label else row.action.replace("_", " "),
        target_href=_link(_LINKED_TARGETS, kind, ident) if links else None,
        details=tuple(items),
    )


def _day(value: str) -> date | None:
    """The day ``YYYY-MM-DD`` in ``value``, or ``None`` when it is not one."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


Filter = Annotated[str | None, Query(max_length=MAX_FILTER)]


@router.get(
    "/audit",
    name="audit",
    response_class=HTMLResponse,
    dependencies=[RequireRole("supervisor", "admin")],
)
def audit(
    request: Request,
    services: ServicesDep,
    user: CurrentUser,
    before: DbIdQuery = None,
    actor: Filter = None,
    action: Filter = None,
    target: Filter = None,
    since: Annotated[str | None, Query(alias="from", max_length=20)] = None,
    until: Annotated[str | None, Query(alias="to", max_length=20)] = None,
) -> Response:
    _ = gettext_for(request)
    actor, action, target = (v.strip() or None if v else None for v in (actor, action, target))
    if action is not None and not _ACTION_RE.fullmatch(action):
        raise HTTPException(
            422, _("The action filter takes an action code: lower-case letters, digits and _.")
        )
    days: list[date | None] = []
    for raw in (since, until):
        day = _day(raw.strip()) if raw and raw.strip() else None
        if raw and raw.strip() and day is None:
            raise HTTPException(422, _("Dates in the filter are days written YYYY-MM-DD."))
        days.append(day)
    first, last = days
    if first is not None and last is not None and first > last:
        raise HTTPException(422, _("The start date of the filter is after its end date."))
    rows = audit_log(
        services.store,
        limit=PAGE + 1,
        before=before,
        actor=actor,
        action=action,
        target_prefix=target,
        since=None if first is None else datetime.combine(first, time(), UTC),
        until=None if last is None else datetime.combine(last + timedelta(days=1), time(), UTC),
    )
    older = rows[PAGE - 1].id if len(rows) > PAGE else None
    rows = rows[:PAGE]
    links = user.role != "admin"  # admins read no case content (tutela.cases.CASE_READERS)
    filters = {
        "actor": actor or "",
        "action": action or "",
        "target": target or "",
        "from": "" if first is None else first.isoformat(),
        "to": "" if last is None else last.isoformat(),
    }
    known = sorted(set(audit_actions(services.store)) | ({action} if action else set()))
    return render(
        request,
        "audit.html",
        {
            "lines": [audit_line(r, _, links=links) for r in rows],
            "older": older,
            "paged": before is not None,
            "filters": filters,
            "query": {k: v for k, v in filters.items() if v},
            "actions": [(a, _(ACTION_LABELS[a]) if a in ACTION_LABELS else a) for a in known],
        },
    )
