"""Reads of ``tutela.evidence.cybertip``: everything a CyberTipline-style report of one case is
built from, taken in one read session (a consistent snapshot).

The store only fetches here (``docs/architecture.md``, store boundary): which fields a report
fills, how the decoy is stated and how the files are laid out stay in ``tutela.evidence``.
Records are the store's frozen ones (``tutela.store.records``,
``tutela.store.queries.case_records``), never ORM rows.

Errors: ``NotFoundError`` (unknown case), ``StoreError`` (database).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import aliased

from tutela.store.engine import Store
from tutela.store.errors import NotFoundError
from tutela.store.models import (
    CaseRow,
    ConversationRow,
    DecisionRow,
    IdentityRow,
    MessageRow,
    OperationRow,
    ReferralRow,
    UserRow,
)
from tutela.store.queries.case_records import IdentityRecord, ReferralRecord
from tutela.store.records import (
    CaseRecord,
    ConversationRecord,
    DecisionRecord,
    MessageRecord,
    OperationRecord,
)

__all__ = ["CyberTipFacts", "cybertip_facts"]


@dataclass(frozen=True, slots=True)
class CyberTipFacts:
    """One case as a CyberTipline-style report reads it (one snapshot).

    ``conversations``: the case contact's conversations, by start time then id (empty when the
    contact has none). ``messages``: their messages, by conversation then ``seq`` (both
    directions; a purged one has ``text is None``). ``decisions``: their policy decisions, in
    the order taken. ``operations``: the operations of those conversations, by id.
    ``identities``: the contact's identities (id order), each with the message it was read from
    when it has one. ``referrals``: the case's referrals with the proposer's and decider's user
    names, oldest first (any status: which one counts is the case workflow's rule).
    """

    case: CaseRecord
    conversations: tuple[ConversationRecord, ...]
    messages: tuple[MessageRecord, ...]
    decisions: tuple[DecisionRecord, ...]
    operations: tuple[OperationRecord, ...]
    identities: tuple[IdentityRecord, ...]
    referrals: tuple[ReferralRecord, ...]


def cybertip_facts(store: Store, case_id: int) -> CyberTipFacts:
    """The :class:`CyberTipFacts` of case ``case_id``, read in one session.

    Raises ``NotFoundError`` for an unknown case. A case whose contact has no conversation is
    returned with empty ``conversations``/``messages``/``decisions``/``operations`` (the caller
    decides what that means).
    """
    with store.session() as s:
        case_row = s.get(CaseRow, case_id)
        if case_row is None:
            raise NotFoundError(f"case {case_id} does not exist")
        case = CaseRecord.from_row(case_row)
        convs = tuple(
            ConversationRecord.from_row(r)
            for r in s.execute(
                select(ConversationRow)
                .where(ConversationRow.contact_id == case.contact_id)
                .order_by(ConversationRow.started_at, ConversationRow.id)
            ).scalars()
        )
        conv_ids = [c.id for c in convs]
        op_ids = sorted({c.operation_id for c in convs})
        messages: tuple[MessageRecord, ...] = ()
        decisions: tuple[DecisionRecord, ...] = ()
        operations: tuple[OperationRecord, ...] = ()
        if conv_ids:
            messages = tuple(
                MessageRecord.from_row(r)
                for r in s.execute(
                    select(MessageRow)
                    .where(MessageRow.conversation_id.in_(conv_ids))
                    .order_by(MessageRow.conversation_id, MessageRow.seq)
                ).scalars()
            )
            decisions = tuple(
                DecisionRecord.from_row(r)
                for r in s.execute(
                    select(DecisionRow)
                    .where(DecisionRow.conversation_id.in_(conv_ids))
                    .order_by(DecisionRow.id)
                ).scalars()
            )
            operations = tuple(
                OperationRecord.from_row(r)
                for r in s.execute(
                    select(OperationRow)
                    .where(OperationRow.id.in_(op_ids))
                    .order_by(OperationRow.id)
                ).scalars()
            )
        identities = tuple(
            IdentityRecord.from_row(i, m)
            for i, m in s.execute(
                select(IdentityRow, MessageRow)
                .outerjoin(MessageRow, MessageRow.id == IdentityRow.source_message_id)
                .where(IdentityRow.contact_id == case.contact_id)
                .order_by(IdentityRow.id)
            ).all()
        )
        proposer, decider = aliased(UserRow), aliased(UserRow)
        referrals = tuple(
            ReferralRecord.from_row(r, p, d)
            for r, p, d in s.execute(
                select(ReferralRow, proposer.name, decider.name)
                .outerjoin(proposer, proposer.id == ReferralRow.proposed_by)
                .outerjoin(decider, decider.id == ReferralRow.decided_by)
                .where(ReferralRow.case_id == case_id)
                .order_by(ReferralRow.proposed_at, ReferralRow.id)
            ).all()
        )
    return CyberTipFacts(
        case=case,
        conversations=convs,
        messages=messages,
        decisions=decisions,
        operations=operations,
        identities=identities,
        referrals=referrals,
    )
