"""The review queue: most severe cases first, with search, filters, sorting and keyset pages
(order, filters and cursors: ``tutela.cases.queue``; rows: ``CaseWorkflow.queue_page``).

Only for roles that may read case content (not admin: 403), and only the cases of the user's
operations when they have operation grants (``tutela.accounts.access``).

Query parameters (GET; every one optional, an empty value is the same as none): ``show``
(``active``, ``all``, ``referred``, ``dismissed``), ``q`` (contact handle or identity value),
``text`` (message text), ``platform``, ``persona``, ``lang``, ``operation`` (repeatable),
``action`` (strongest action: ``refer``, ``escalate``, ``deter``, ``watch``, ``none``;
repeatable), ``from``/``to`` (last activity, ``YYYY-MM-DD``, UTC, inclusive), ``min_risk``
(percent, 0-100), ``sort`` (``severity``, ``risk``, ``activity``, ``case``), ``order``
(``desc``, ``asc``), ``size`` (page size, 1-200, default 50), ``cursor`` (from the page links).
A bad value answers 422 with the reason (never echoing the value).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tutela.cases.queue import (
    ACTION_LEVELS,
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    SORT_KEYS,
    QueueQuery,
)
from tutela.errors import InputError
from tutela.store.queries.queue import queue_choices
from tutela.web.deps import ActingUser, CurrentUser, ServicesDep
from tutela.web.i18n import N_
from tutela.web.render import render

__all__ = ["router"]

router = APIRouter()

STATUS_SETS = {
    "active": ("open", "watching", "referral_proposed"),
    "all": ("open", "watching", "referral_proposed", "referred", "dismissed", "purged"),
    "referred": ("referred",),
    "dismissed": ("dismissed", "purged"),
}
LISTS = ("platform", "persona", "lang", "operation", "action")
SINGLE = ("show", "q", "text", "from", "to", "min_risk", "sort", "order", "size", "cursor")

# reasons of a 422 (constant texts, translated by error.html; values are never echoed)
BAD_SHOW = N_("show must be one of: active, all, referred, dismissed")
BAD_SORT = N_("sort must be one of: severity, risk, activity, case")
BAD_ORDER = N_("order must be desc or asc")
BAD_SIZE = N_("size must be a whole number from 1 to 200")
BAD_RISK = N_("min_risk must be a number from 0 to 100 (percent)")
BAD_DATE = N_("from and to must be dates written YYYY-MM-DD")
BAD_RANGE = N_("from must not be after to")
BAD_ACTION = N_("action must be one of: refer, escalate, deter, watch, none")
BAD_OPERATION = N_("operation must be an operation id")
BAD_TEXT = N_("search texts must be at most 200 characters")
BAD_CURSOR = N_("the page link is not valid for this sort order: start from the first page")
BAD_FILTER = N_("a filter value is not valid")
BAD_REPEAT = N_("a parameter that takes one value was given more than once")


_DIGITS = re.compile(r"[0-9]{1,10}")
"""A whole number in ASCII digits (``str.isdigit`` also takes superscripts and other scripts'
digits, which ``int`` refuses or reads differently)."""


def _bad(reason: str) -> HTTPException:
    return HTTPException(status_code=422, detail=reason)


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as e:
        raise _bad(BAD_DATE) from e


def _params(request: Request) -> dict[str, Any]:
    """The query parameters, blanks dropped: lists for :data:`LISTS`, strings otherwise."""
    qp = request.query_params
    out: dict[str, Any] = {}
    for name in LISTS:
        out[name] = [v.strip() for v in qp.getlist(name) if v.strip()]
    for name in SINGLE:
        values = [v.strip() for v in qp.getlist(name) if v.strip()]
        if len(values) > 1:
            raise _bad(BAD_REPEAT)
        out[name] = values[0] if values else None
    return out


def parse_query(p: dict[str, Any]) -> tuple[str, QueueQuery]:
    """``(show, QueueQuery)`` of the parameters; ``HTTPException(422)`` with the reason."""
    show = p["show"] or "active"
    if show not in STATUS_SETS:
        raise _bad(BAD_SHOW)
    sort = p["sort"] or "severity"
    if sort not in SORT_KEYS:
        raise _bad(BAD_SORT)
    order = p["order"] or "desc"
    if order not in ("desc", "asc"):
        raise _bad(BAD_ORDER)
    size = DEFAULT_PAGE_SIZE
    if p["size"] is not None:
        if not _DIGITS.fullmatch(p["size"]) or not 1 <= int(p["size"]) <= MAX_PAGE_SIZE:
            raise _bad(BAD_SIZE)
        size = int(p["size"])
    min_risk = None
    if p["min_risk"] is not None:
        try:
            pct = float(p["min_risk"])
        except ValueError as e:
            raise _bad(BAD_RISK) from e
        if not 0.0 <= pct <= 100.0:  # NaN fails too
            raise _bad(BAD_RISK)
        min_risk = pct / 100.0
    start, end = _date(p["from"]), _date(p["to"])
    if start and end and start > end:
        raise _bad(BAD_RANGE)
    if any(a not in (*ACTION_LEVELS, "none") for a in p["action"]):
        raise _bad(BAD_ACTION)
    if any(not _DIGITS.fullmatch(o) or not 1 <= int(o) <= 2**31 - 1 for o in p["operation"]):
        raise _bad(BAD_OPERATION)
    if any(len(p[n] or "") > 200 for n in ("q", "text")):
        raise _bad(BAD_TEXT)
    query = QueueQuery(
        statuses=STATUS_SETS[show],
        returned=show == "active",
        search=p["q"],
        text=p["text"],
        platforms=tuple(p["platform"]),
        personas=tuple(p["persona"]),
        languages=tuple(p["lang"]),
        operations=tuple(int(o) for o in p["operation"]),
        actions=tuple(p["action"]),
        active_from=start,
        active_to=end,
        min_risk=min_risk,
        sort=sort,
        descending=order == "desc",
        page_size=size,
        cursor=p["cursor"],
    )
    return show, query


def _link(p: dict[str, Any], **changes: Any) -> str:
    """``/queue?...`` with the current parameters and ``changes`` (``None`` drops one)."""
    merged = {**p, **changes}
    pairs: list[tuple[str, str]] = []
    for name in (*SINGLE, *LISTS):
        value = merged.get(name)
        if isinstance(value, list):
            pairs.extend((name, v) for v in value)
        elif value is not None:
            pairs.append((name, str(value)))
    return "/queue" + ("?" + urlencode(pairs) if pairs else "")


@router.get("/", name="home")
def home(user: CurrentUser) -> Response:
    """To the review queue; admins (who read no case content) to the audit log."""
    return RedirectResponse("/audit" if user.role == "admin" else "/queue", status_code=303)


@router.get("/queue", name="queue", response_class=HTMLResponse)
def queue(request: Request, actor: ActingUser, services: ServicesDep) -> Response:
    workflow = services.workflow
    scope = workflow.reader_scope(actor)  # 403 for an admin, before anything is parsed
    p = _params(request)
    show, query = parse_query(p)
    try:
        page = workflow.queue_page(query, reader=actor)
    except InputError as e:
        raise _bad(BAD_CURSOR if "cursor" in str(e) else BAD_FILTER) from e
    pending = workflow.pending_referrals(reader=actor)
    return render(
        request,
        "queue.html",
        {
            "page": page,
            "rows": page.rows,
            "show": show,
            "shows": list(STATUS_SETS),
            "pending": pending,
            "p": p,
            "choices": queue_choices(services.store, scope),
            "actions": ACTION_LEVELS,
            "sorts": SORT_KEYS,
            "next_link": page.next_cursor and _link(p, cursor=page.next_cursor),
            "prev_link": page.prev_cursor and _link(p, cursor=page.prev_cursor),
            "first_link": _link(p, cursor=None) if p["cursor"] else None,
            "show_links": {s: _link({"show": s}) for s in STATUS_SETS},
            "filtered": any(p[n] for n in LISTS) or any(p[n] for n in SINGLE if n != "show"),
        },
    )
