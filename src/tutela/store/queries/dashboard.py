"""Read models of the dashboard (``tutela.web``) that the case workflow does not offer: a
contact's case and conversations, the open conversations with their latest lines, the audit log.

Plain SELECTs returning frozen records (``docs/architecture.md``, store boundary); what the
dashboard makes of them (masking explicit lines, paging links) stays in ``tutela.web``. Merged
contacts are followed to the surviving contact (``contacts.merged_into``). Times are aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tutela.store.engine import Store
from tutela.store.errors import NotFoundError
from tutela.store.models import (
    AuditLogRow,
    CaseRow,
    ContactRow,
    ConversationRow,
    DecisionRow,
    MessageRow,
)
from tutela.store.records import MessageRecord

__all__ = [
    "AuditRow",
    "ContactConversation",
    "OpenConversation",
    "audit_actions",
    "audit_log",
    "case_of_contact",
    "contact_conversations",
    "open_conversations",
]


@dataclass(frozen=True, slots=True)
class OpenConversation:
    """An open conversation and its latest lines (oldest first).

    ``contact_id``: the surviving contact; ``case_id``: that contact's case, if any;
    ``line_indicators``: ``(message id, indicator ids)`` of each of ``lines`` a decision was
    taken after (the indicators that decision lists: the conversation's so far);
    ``own_indicators``: ``(message id, indicator ids)`` of those decisions that recorded the
    line's own ids (``DecisionRow.line_indicators``; older decisions are not listed);
    ``seen_indicators``: those the latest decision before the first of ``lines`` lists, so a
    line's own indicators can be told apart (``tutela.cases.views.line_indicators``)."""

    id: int
    persona_id: str
    platform: str
    contact_id: int
    lang: str
    started_at: datetime
    case_id: int | None
    lines: tuple[MessageRecord, ...]
    line_indicators: tuple[tuple[int, tuple[str, ...]], ...] = ()
    seen_indicators: tuple[str, ...] = ()
    own_indicators: tuple[tuple[int, tuple[str, ...]], ...] = ()


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One audit-log row; ``ledger_seq``: the ledger entry it is chained to, if any."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    ledger_seq: int | None

    @classmethod
    def from_row(cls, r: AuditLogRow) -> AuditRow:
        """The record of one ``AuditLogRow`` (detached: safe after the session closes)."""
        return cls(r.id, r.at, r.actor, r.action, r.target, dict(r.details), r.ledger_seq)


@dataclass(frozen=True, slots=True)
class ContactConversation:
    """One conversation of a contact (``ended_at`` ``None`` while open)."""

    id: int
    persona_id: str
    platform: str
    started_at: datetime
    ended_at: datetime | None

    @classmethod
    def from_row(cls, r: ConversationRow) -> ContactConversation:
        """The record of one ``ConversationRow`` (detached: safe after the session closes)."""
        return cls(r.id, r.persona_id, r.platform, r.started_at, r.ended_at)


def _resolve(s: Session, contact_id: int) -> int:
    """The surviving contact of ``contact_id`` (itself when unknown or never merged)."""
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


def open_conversations(
    store: Store,
    *,
    last: int = 6,
    limit: int = 50,
    operations: frozenset[int] | None = None,
) -> list[OpenConversation]:
    """Open conversations (``ended_at`` unset), most recently started first, at most ``limit``,
    each with its ``last`` latest messages; ``operations``: only conversations of these
    operation ids (``None``: all). One read session."""
    out: list[OpenConversation] = []
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
            decided = s.execute(
                select(
                    DecisionRow.message_id, DecisionRow.indicators, DecisionRow.line_indicators
                ).where(DecisionRow.message_id.in_(ids))
            ).all()
            indicators = tuple((mid, tuple(str(i) for i in inds or ())) for mid, inds, _ in decided)
            own = tuple(
                (mid, tuple(str(i) for i in mine)) for mid, _, mine in decided if mine is not None
            )
            first = min((r.contact_line for r in rows if r.contact_line is not None), default=None)
            seen: tuple[str, ...] = ()
            if first is not None:
                before = s.execute(
                    select(DecisionRow.indicators)
                    .where(DecisionRow.conversation_id == c.id, DecisionRow.after_line < first)
                    .order_by(DecisionRow.after_line.desc(), DecisionRow.id.desc())
                    .limit(1)
                ).scalar()
                seen = tuple(str(i) for i in before or ())
            contact = _resolve(s, c.contact_id)
            case_id = s.execute(select(CaseRow.id).where(CaseRow.contact_id == contact)).scalar()
            out.append(
                OpenConversation(
                    id=c.id,
                    persona_id=c.persona_id,
                    platform=c.platform,
                    contact_id=contact,
                    lang=c.lang,
                    started_at=c.started_at,
                    case_id=case_id,
                    lines=tuple(MessageRecord.from_row(r) for r in reversed(rows)),
                    line_indicators=indicators,
                    seen_indicators=seen,
                    own_indicators=own,
                )
            )
    return out


def audit_log(
    store: Store,
    *,
    limit: int = 200,
    before: int | None = None,
    actor: str | None = None,
    action: str | None = None,
    target_prefix: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuditRow]:
    """Audit rows, newest first, at most ``limit``; ``before``: only rows with a smaller id
    (keyset paging: pass the last id of the previous page with the same filters). Filters
    (``None``: any): ``actor`` and ``action`` exact, ``target_prefix`` a literal prefix of
    ``target`` (``%`` and ``_`` match themselves), ``since`` <= ``at`` < ``until`` (aware)."""
    with store.session() as s:
        q = select(AuditLogRow).order_by(AuditLogRow.id.desc()).limit(limit)
        if before is not None:
            q = q.where(AuditLogRow.id < before)
        if actor is not None:
            q = q.where(AuditLogRow.actor == actor)
        if action is not None:
            q = q.where(AuditLogRow.action == action)
        if target_prefix:
            q = q.where(AuditLogRow.target.startswith(target_prefix, autoescape=True))
        if since is not None:
            q = q.where(AuditLogRow.at >= since)
        if until is not None:
            q = q.where(AuditLogRow.at < until)
        return [AuditRow.from_row(r) for r in s.execute(q).scalars()]


def audit_actions(store: Store) -> list[str]:
    """The distinct audit actions recorded, sorted (the audit page's action filter)."""
    with store.session() as s:
        return sorted(str(a) for a in s.execute(select(AuditLogRow.action).distinct()).scalars())


def contact_conversations(store: Store, contact_id: int) -> tuple[int, list[ContactConversation]]:
    """The surviving contact id and its conversations (oldest first).

    Raises ``NotFoundError`` if the contact does not exist."""
    with store.session() as s:
        if s.get(ContactRow, contact_id) is None:
            raise NotFoundError(f"contact {contact_id} does not exist")
        cid = _resolve(s, contact_id)
        rows = s.execute(
            select(ConversationRow)
            .where(ConversationRow.contact_id == cid)
            .order_by(ConversationRow.id)
        ).scalars()
        return cid, [ContactConversation.from_row(r) for r in rows]
