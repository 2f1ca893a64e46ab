"""Read-only look-ups the workflow does not offer (plain SELECTs, no rules): a contact's case and
identities, open conversations with their latest lines, the audit log; and the ``DbId`` /
``DbIdQuery`` parameter types every route uses for a row id (1 .. ``MAX_ID``; anything else is
answered 422 before the database is asked, instead of an integer overflow and a 500)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Path, Query
from sqlalchemy import select

from tutela.store import MessageRecord, Store
from tutela.store.models import (
    AuditLogRow,
    CaseRow,
    ContactRow,
    ConversationRow,
    DecisionRow,
    MessageRow,
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
    """An open conversation and its latest lines (oldest first)."""

    id: int
    persona_id: str
    platform: str
    contact_id: int
    lang: str
    started_at: datetime
    case_id: int | None
    lines: tuple[MessageRecord, ...]
    explicit: frozenset[int] = frozenset()  # ids of lines whose decision lists sexual content


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    ledger_seq: int | None


def _category(indicator_id: object) -> str | None:
    parts = str(indicator_id).split(".")
    return parts[1] if len(parts) >= 3 else None


def _resolve(s: Any, contact_id: int) -> int:
    seen: set[int] = set()
    cur = contact_id
    while cur not in seen:
        seen.add(cur)
        nxt = s.execute(select(ContactRow.merged_into).where(ContactRow.id == cur)).scalar()
        if nxt is None:
            break
        cur = nxt
    return cur


def case_of_contact(store: Store, contact_id: int) -> int | None:
    """The id of the case about ``contact_id`` (merges followed), or ``None``."""
    with store.session() as s:
        cid = _resolve(s, contact_id)
        return s.execute(select(CaseRow.id).where(CaseRow.contact_id == cid)).scalar()


def live_conversations(
    store: Store,
    *,
    last: int = 6,
    limit: int = 50,
    operations: frozenset[int] | None = None,
) -> list[LiveConversation]:
    """Open conversations, most recently started first, each with its ``last`` latest messages;
    ``operations``: only conversations of these operation ids (``None``: all)."""

    out: list[LiveConversation] = []
    with store.session() as s:
        q = select(ConversationRow).where(ConversationRow.ended_at.is_(None))
        if operations is not None:
            q = q.where(ConversationRow.operation_id.in_(sorted(operations)))
        convs = (
            s.execute(
                q.order_by(ConversationRow.started_at.desc(), ConversationRow.id.desc()).limit(
                    limit
                )
            )
            .scalars()
            .all()
        )
        for c in convs:
            rows = (
                s.execute(
                    select(MessageRow)
                    .where(MessageRow.conversation_id == c.id)
                    .order_by(MessageRow.seq.desc())
                    .limit(last)
                )
                .scalars()
                .all()
            )
            ids = [r.id for r in rows]
            explicit = frozenset(
                mid
                for mid, inds in s.execute(
                    select(DecisionRow.message_id, DecisionRow.indicators).where(
                        DecisionRow.message_id.in_(ids)
                    )
                ).all()
                if any(_category(i) == "sexual_content" for i in inds)
            )
            contact = _resolve(s, c.contact_id)
            case_id = s.execute(select(CaseRow.id).where(CaseRow.contact_id == contact)).scalar()
            out.append(
                LiveConversation(
                    id=c.id,
                    persona_id=c.persona_id,
                    platform=c.platform,
                    contact_id=contact,
                    lang=c.lang,
                    started_at=c.started_at,
                    case_id=case_id,
                    lines=tuple(MessageRecord.from_row(r) for r in reversed(rows)),
                    explicit=explicit,
                )
            )
    return out


def audit_log(store: Store, *, limit: int = 200, before: int | None = None) -> list[AuditRow]:
    """Audit rows, newest first; ``before``: only rows with a smaller id (paging)."""
    with store.session() as s:
        q = select(AuditLogRow).order_by(AuditLogRow.id.desc()).limit(limit)
        if before is not None:
            q = q.where(AuditLogRow.id < before)
        return [
            AuditRow(r.id, r.at, r.actor, r.action, r.target, dict(r.details), r.ledger_seq)
            for r in s.execute(q).scalars()
        ]


@dataclass(frozen=True, slots=True)
class ContactConversation:
    id: int
    persona_id: str
    platform: str
    started_at: datetime
    ended_at: datetime | None


def contact_conversations(store: Store, contact_id: int) -> tuple[int, list[ContactConversation]]:
    """The surviving contact id and its conversations (oldest first); ``NotFoundError`` if the
    contact does not exist."""
    from tutela.store import NotFoundError

    with store.session() as s:
        if s.get(ContactRow, contact_id) is None:
            raise NotFoundError(f"contact {contact_id} does not exist")
        cid = _resolve(s, contact_id)
        rows = s.execute(
            select(ConversationRow)
            .where(ConversationRow.contact_id == cid)
            .order_by(ConversationRow.id)
        ).scalars()
        return cid, [
            ContactConversation(r.id, r.persona_id, r.platform, r.started_at, r.ended_at)
            for r in rows
        ]
