"""Read-only look-ups the workflow does not offer, for the dashboard routes: a contact's case and
conversations, open conversations with their latest lines, the audit log (read through
:mod:`tutela.store.queries.dashboard`); and the ``DbId`` / ``DbIdQuery`` parameter types every
route uses for a row id (1 .. ``MAX_ID``; anything else is answered 422 before the database is
asked, instead of an integer overflow and a 500)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from fastapi import Path, Query

from tutela.cases.views import explicit_lines, line_indicators
from tutela.store import MessageRecord, Store
from tutela.store.queries.dashboard import (
    AuditRow,
    ContactConversation,
    OpenConversation,
    audit_log,
    case_of_contact,
    contact_conversations,
    open_conversations,
)

__all__ = [
    "MAX_ID",
    "AuditRow",
    "ContactConversation",
    "DbId",
    "DbIdQuery",
    "LiveConversation",
    "audit_log",
    "case_of_contact",
    "contact_conversations",
    "live_conversations",
]

MAX_ID = 2**31 - 1
"""Largest row id: ids are ``INTEGER`` columns (PostgreSQL ``integer`` is 32-bit signed; SQLite
would take 64 bits, the smaller range holds for both)."""

DbId = Annotated[int, Path(ge=1, le=MAX_ID)]
"""A row id in a path (``/cases/{case_id}``): 422 outside 1 .. ``MAX_ID``."""

DbIdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
"""An optional row id in the query string (``/audit?before=``): 422 outside 1 .. ``MAX_ID``."""


@dataclass(frozen=True, slots=True)
class LiveConversation:
    """An open conversation and its latest lines (oldest first).

    ``indicators``: message id -> the indicators that line itself raised
    (``tutela.cases.views.line_indicators``: not the conversation's running set);
    ``explicit``: ids of the lines whose own indicators include a ``sexual_content`` one
    (``tutela.cases.views.explicit_lines``, conservative for decisions without recorded own
    indicators; masked on the live feed until revealed). ``ended_at``: ``None`` while open."""

    id: int
    persona_id: str
    platform: str
    contact_id: int
    lang: str
    started_at: datetime
    case_id: int | None
    lines: tuple[MessageRecord, ...]
    explicit: frozenset[int] = frozenset()
    indicators: Mapping[int, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, c: OpenConversation) -> LiveConversation:
        """The dashboard view of one open conversation (each line's own indicators, the
        explicit ones among them)."""
        line_of = {m.id: m.contact_line for m in c.lines if m.contact_line is not None}
        recorded = dict(c.own_indicators)
        decided: list[tuple[int, tuple[str, ...], tuple[str, ...] | None]] = [
            (line_of[mid], inds, recorded.get(mid))
            for mid, inds in c.line_indicators
            if mid in line_of
        ]
        own = line_indicators(decided, seen=c.seen_indicators)
        indicators = {mid: own.get(line, ()) for mid, line in line_of.items()}
        masked = explicit_lines(decided)
        explicit = frozenset(mid for mid, line in line_of.items() if line in masked)
        return cls(
            id=c.id,
            persona_id=c.persona_id,
            platform=c.platform,
            contact_id=c.contact_id,
            lang=c.lang,
            started_at=c.started_at,
            case_id=c.case_id,
            lines=c.lines,
            explicit=explicit,
            indicators={k: v for k, v in indicators.items() if v},
        )


def live_conversations(
    store: Store,
    *,
    last: int = 6,
    limit: int = 50,
    operations: frozenset[int] | None = None,
) -> list[LiveConversation]:
    """Open conversations, most recently started first (at most ``limit``), each with its
    ``last`` latest messages; ``operations``: only conversations of these operation ids
    (``None``: all)."""
    return [
        LiveConversation.of(c)
        for c in open_conversations(store, last=last, limit=limit, operations=operations)
    ]
