"""Read models of ``tutela.research``: the rows its statistics and tables group, as frozen records.

The store only fetches here (``docs/architecture.md``, store boundary): grouping, resolving
merged contacts, pseudonymising and deciding what is a solicitation stay in ``tutela.research``.
Each function runs in one read session, so the records it returns are one consistent snapshot
(a bundle such as :class:`InboundActivity` holds everything one statistic needs), and each scan
is one query per table, never one per row. Times are aware UTC ``datetime`` values.

"A warning" is :func:`tutela.domain.is_warning`; its SQL form,
:func:`tutela.store.queries.common.warning_clause`, is used by every count of warnings in the store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tutela.store.engine import Store
from tutela.store.models import (
    ContactRow,
    ConversationRow,
    DecisionRow,
    LedgerEntryRow,
    MessageRow,
)
from tutela.store.queries.common import warning_clause

__all__ = [
    "ContactGraph",
    "ContactLink",
    "ConversationFacts",
    "ConversationOpened",
    "DecisionFacts",
    "InboundActivity",
    "InboundLine",
    "IndicatorListing",
    "MessageCount",
    "MessageFacts",
    "ResearchTableRows",
    "SolicitationCandidate",
    "StoreTotals",
    "WarningDecision",
    "WarningReturns",
    "contact_graph",
    "decision_indicators",
    "inbound_activity",
    "research_table_rows",
    "solicitation_candidates",
    "store_totals",
    "warning_decisions",
    "warning_returns",
]


def _indicators(value: Iterable[Any] | None) -> tuple[str, ...]:
    return tuple(str(i) for i in value or ())


# -- records ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContactLink:
    """One contact and the contact it was merged into (``None``: not merged)."""

    contact_id: int
    merged_into: int | None


@dataclass(frozen=True, slots=True)
class ConversationFacts:
    """A conversation's de-identifiable facts; ``contact_id`` as recorded (merges unresolved)."""

    id: int
    contact_id: int
    persona_id: str
    platform: str
    lang: str
    started_at: datetime


@dataclass(frozen=True, slots=True)
class ContactGraph:
    """Every contact's merge link and every conversation, read together."""

    links: tuple[ContactLink, ...]
    conversations: tuple[ConversationFacts, ...]


@dataclass(frozen=True, slots=True)
class InboundLine:
    """One message a contact sent to a persona (``direction = 'in'``), received at ``at``."""

    conversation_id: int
    at: datetime


@dataclass(frozen=True, slots=True)
class InboundActivity:
    """The contact graph and every inbound message, from one snapshot."""

    graph: ContactGraph
    lines: tuple[InboundLine, ...]


@dataclass(frozen=True, slots=True)
class SolicitationCandidate:
    """A decision with its line's time and its conversation's start.

    ``after_line``: contact lines up to and including the deciding line; ``at``: that line's
    ``received_at``; ``started_at``: the conversation's start; ``indicators``: indicator ids."""

    conversation_id: int
    after_line: int
    action: str
    indicators: tuple[str, ...]
    at: datetime
    started_at: datetime


@dataclass(frozen=True, slots=True)
class IndicatorListing:
    """The indicator ids one decision of a conversation lists."""

    conversation_id: int
    indicators: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WarningDecision:
    """A decision that sent a warning (:func:`warning_clause`)."""

    conversation_id: int
    variant: str
    created_at: datetime
    ledger_seq: int


@dataclass(frozen=True, slots=True)
class ConversationOpened:
    """The ledger sequence number of a conversation's first ledger entry."""

    conversation_id: int
    first_seq: int


@dataclass(frozen=True, slots=True)
class WarningReturns:
    """What the deterrence-outcome statistic reads: the contact graph, every warning in ledger
    order and when (ledger order) each conversation was opened."""

    graph: ContactGraph
    warnings: tuple[WarningDecision, ...]
    opened: tuple[ConversationOpened, ...]


@dataclass(frozen=True, slots=True)
class StoreTotals:
    """Counts over the whole store plus the contact graph (to count surviving contacts)."""

    graph: ContactGraph
    messages_in: int
    messages_out: int
    decisions: int
    warnings: int


@dataclass(frozen=True, slots=True)
class MessageCount:
    """Number of messages of one conversation in one direction (``"in"`` | ``"out"``)."""

    conversation_id: int
    direction: str
    n: int


@dataclass(frozen=True, slots=True)
class DecisionFacts:
    """A decision without its free-text reason (``risk`` in [0, 1])."""

    conversation_id: int
    message_id: int
    after_line: int
    action: str
    risk: float
    indicators: tuple[str, ...]
    rule: str
    variant: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """A message without author, platform ids, wire bytes or attachment details.

    ``attachments``: number of media items declared; ``text``: ``None`` unless asked for (and
    after a retention purge)."""

    id: int
    conversation_id: int
    seq: int
    direction: str
    at: datetime
    contact_line: int | None
    attachments: int
    text: str | None


@dataclass(frozen=True, slots=True)
class ResearchTableRows:
    """Everything the research tables read, from one snapshot; decisions in recording order."""

    graph: ContactGraph
    counts: tuple[MessageCount, ...]
    decisions: tuple[DecisionFacts, ...]
    messages: tuple[MessageFacts, ...]


# -- queries ---------------------------------------------------------------------------------


def _graph(s: Session) -> ContactGraph:
    links = tuple(
        ContactLink(cid, merged)
        for cid, merged in s.execute(select(ContactRow.id, ContactRow.merged_into))
    )
    convs = tuple(
        ConversationFacts(r.id, r.contact_id, r.persona_id, r.platform, r.lang, r.started_at)
        for r in s.execute(
            select(
                ConversationRow.id,
                ConversationRow.contact_id,
                ConversationRow.persona_id,
                ConversationRow.platform,
                ConversationRow.lang,
                ConversationRow.started_at,
            )
        )
    )
    return ContactGraph(links, convs)


def _warnings(s: Session) -> tuple[WarningDecision, ...]:
    return tuple(
        WarningDecision(conv, str(variant), at, seq)  # variant is set: warning_clause
        for conv, variant, at, seq in s.execute(
            select(
                DecisionRow.conversation_id,
                DecisionRow.variant,
                DecisionRow.created_at,
                DecisionRow.ledger_seq,
            )
            .where(warning_clause())
            .order_by(DecisionRow.ledger_seq)
        )
    )


def contact_graph(store: Store) -> ContactGraph:
    """Every contact's merge link and every conversation (two scans, one session)."""
    with store.session() as s:
        return _graph(s)


def inbound_activity(store: Store) -> InboundActivity:
    """The contact graph and every inbound message (``direction = 'in'``), one snapshot."""
    with store.session() as s:
        graph = _graph(s)
        lines = tuple(
            InboundLine(conv, at)
            for conv, at in s.execute(
                select(MessageRow.conversation_id, MessageRow.at).where(
                    MessageRow.direction == "in"
                )
            )
        )
    return InboundActivity(graph, lines)


def solicitation_candidates(store: Store) -> tuple[SolicitationCandidate, ...]:
    """Every decision with its line's ``received_at`` and its conversation's ``started_at``,
    ordered by conversation id, then recording order (one joined query)."""
    with store.session() as s:
        rows = s.execute(
            select(
                DecisionRow.conversation_id,
                DecisionRow.after_line,
                DecisionRow.action,
                DecisionRow.indicators,
                MessageRow.at,
                ConversationRow.started_at,
            )
            .join(MessageRow, MessageRow.id == DecisionRow.message_id)
            .join(ConversationRow, ConversationRow.id == DecisionRow.conversation_id)
            .order_by(DecisionRow.conversation_id, DecisionRow.id)
        )
        return tuple(
            SolicitationCandidate(conv, line, action, _indicators(inds), at, started)
            for conv, line, action, inds, at, started in rows
        )


def decision_indicators(store: Store) -> tuple[IndicatorListing, ...]:
    """The indicator ids every decision lists, with its conversation (one scan)."""
    with store.session() as s:
        return tuple(
            IndicatorListing(conv, _indicators(inds))
            for conv, inds in s.execute(select(DecisionRow.conversation_id, DecisionRow.indicators))
        )


def warning_decisions(store: Store) -> tuple[WarningDecision, ...]:
    """Every decision that sent a warning (:func:`warning_clause`), in ledger order."""
    with store.session() as s:
        return _warnings(s)


def warning_returns(store: Store) -> WarningReturns:
    """The contact graph, every warning (ledger order) and each conversation's first ledger
    sequence number, one snapshot."""
    with store.session() as s:
        graph = _graph(s)
        opened = tuple(
            ConversationOpened(conv, seq)
            for conv, seq in s.execute(
                select(LedgerEntryRow.conversation, func.min(LedgerEntryRow.seq))
                .where(LedgerEntryRow.conversation.is_not(None))
                .group_by(LedgerEntryRow.conversation)
            )
            if conv is not None  # the WHERE clause leaves none out; this tells the type checker
        )
        warned = _warnings(s)
    return WarningReturns(graph, warned, opened)


def store_totals(store: Store) -> StoreTotals:
    """Messages per direction, decisions and warnings (counted in SQL) and the contact graph,
    one snapshot."""
    with store.session() as s:
        graph = _graph(s)
        by_dir = dict(
            s.execute(
                select(MessageRow.direction, func.count(MessageRow.id)).group_by(
                    MessageRow.direction
                )
            ).all()
        )
        n_decisions = s.execute(select(func.count(DecisionRow.id))).scalar_one()
        n_warnings = s.execute(
            select(func.count(DecisionRow.id)).where(warning_clause())
        ).scalar_one()
    return StoreTotals(
        graph=graph,
        messages_in=int(by_dir.get("in", 0)),
        messages_out=int(by_dir.get("out", 0)),
        decisions=int(n_decisions),
        warnings=int(n_warnings),
    )


def research_table_rows(store: Store, *, include_text: bool = False) -> ResearchTableRows:
    """The contact graph, message counts per conversation and direction, every decision
    (recording order) and every message (``text`` only with ``include_text``), one snapshot."""
    with store.session() as s:
        graph = _graph(s)
        counts = tuple(
            MessageCount(conv, direction, int(n))
            for conv, direction, n in s.execute(
                select(
                    MessageRow.conversation_id, MessageRow.direction, func.count(MessageRow.id)
                ).group_by(MessageRow.conversation_id, MessageRow.direction)
            )
        )
        decisions = tuple(
            DecisionFacts(
                conversation_id=d.conversation_id,
                message_id=d.message_id,
                after_line=d.after_line,
                action=d.action,
                risk=float(d.risk),
                indicators=_indicators(d.indicators),
                rule=d.rule,
                variant=d.variant,
                created_at=d.created_at,
            )
            for d in s.execute(
                select(
                    DecisionRow.conversation_id,
                    DecisionRow.message_id,
                    DecisionRow.after_line,
                    DecisionRow.action,
                    DecisionRow.risk,
                    DecisionRow.indicators,
                    DecisionRow.rule,
                    DecisionRow.variant,
                    DecisionRow.created_at,
                ).order_by(DecisionRow.id)
            )
        )
        cols: list[Any] = [
            MessageRow.id,
            MessageRow.conversation_id,
            MessageRow.seq,
            MessageRow.direction,
            MessageRow.at,
            MessageRow.contact_line,
            MessageRow.attachments,
        ]
        if include_text:
            cols.append(MessageRow.text)
        messages = tuple(
            MessageFacts(
                id=m.id,
                conversation_id=m.conversation_id,
                seq=m.seq,
                direction=m.direction,
                at=m.at,
                contact_line=m.contact_line,
                attachments=len(m.attachments or ()),
                text=m.text if include_text else None,
            )
            for m in s.execute(select(*cols))
        )
    return ResearchTableRows(graph, counts, decisions, messages)
