"""Reads of the deterrence trial's outcomes (``trials``, ``trial_allocations``, ``help_link_clicks``
and what happened to each allocated contact afterwards), as frozen records.

The store only fetches here (``docs/architecture.md``, store boundary): what counts as a further
solicitation, a re-contact or a censored follow-up window is decided in
:mod:`tutela.research.trial`. Each bundle is one read session (one consistent snapshot), one scan
per table. Times are aware UTC ``datetime`` values; ledger sequence numbers give the
clock-independent recording order.

Scope: an operation is *in the study* when it is evidential (``operations.evidential``) and not
the built-in demonstration operation (authorisation reference
:data:`~tutela.store.queries.operations.DEMO_AUTHORISATION_REF`, which is always non-evidential:
``Recorder.ensure_demo_operation``). :class:`OperationScope` carries both flags; the analysis
leaves out every other operation.

Contacts are resolved to the surviving contact (``contacts.merged_into``, followed to its end): a
trial allocation keeps the contact id it was written with, while a merge re-points the absorbed
contact's conversations and identities to the survivor (``Recorder`` identity rule).

Writes of the trial (registration, allocation) are ``tutela.store.queries.trials``; the help-link
counter is :mod:`tutela.store.queries.helplinks`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tutela.store._base import DEMO_AUTHORISATION_REF
from tutela.store.engine import Store
from tutela.store.errors import NotFoundError
from tutela.store.models import (
    CaseRow,
    ContactRow,
    ConversationRow,
    DecisionRow,
    HelpLinkClickRow,
    LedgerEntryRow,
    OperationRow,
    ReferralRow,
    TrialAllocationRow,
    TrialRow,
)
from tutela.store.queries.common import resolve_merges

__all__ = [
    "AllocationFacts",
    "CaseFacts",
    "ClickCount",
    "ConversationFacts",
    "DecisionFacts",
    "OperationScope",
    "ReferralFacts",
    "StudyScope",
    "TrialFacts",
    "TrialOutcomeFacts",
    "find_trial",
    "list_trials",
    "study_scope",
    "trial_outcome_facts",
]


# -- records ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrialFacts:
    """A registered trial without its allocation seed (the sequence stays undisclosed).

    ``plan_sha256``: SHA-256 hex of the analysis plan's UTF-8 text; ``timestamp_token``: the
    RFC 3161 reply (DER) over that hash, ``None`` when no TSA stamped it; ``timestamped_at``: the
    time the TSA asserts (``genTime``), ``None`` likewise; ``arms``: deterrence variant names in
    registration order; ``ledger_seq``: the ``trial_registered`` entry."""

    id: int
    name: str
    plan_sha256: str
    arms: tuple[str, ...]
    block_size: int
    timestamp_token: bytes | None
    timestamped_at: datetime | None
    registered_by: str
    registered_at: datetime
    active: bool
    ledger_seq: int


@dataclass(frozen=True, slots=True)
class OperationScope:
    """An operation's study flags: ``evidential`` as recorded, ``demo`` when it is the built-in
    demonstration operation. ``in_study``: evidential and not the demo."""

    id: int
    evidential: bool
    demo: bool

    @property
    def in_study(self) -> bool:
        return self.evidential and not self.demo


@dataclass(frozen=True, slots=True)
class AllocationFacts:
    """One allocated contact. ``contact_id``: the surviving contact now (merges followed);
    ``recorded_contact_id``: as written at allocation; ``operation_id``: the operation of the
    conversation the first warning was about to be sent in (``None`` without a conversation)."""

    contact_id: int
    recorded_contact_id: int
    stratum: str
    arm: str
    block_index: int
    conversation_id: int | None
    operation_id: int | None
    allocated_at: datetime
    ledger_seq: int


@dataclass(frozen=True, slots=True)
class ConversationFacts:
    """A conversation of an allocated contact: surviving ``contact_id``, ``started_at`` and
    ``first_seq`` (its first ledger entry: recording order)."""

    id: int
    contact_id: int
    operation_id: int
    started_at: datetime
    first_seq: int


@dataclass(frozen=True, slots=True)
class DecisionFacts:
    """A decision in a conversation of an allocated contact (recording order: ``ledger_seq``)."""

    conversation_id: int
    ledger_seq: int
    after_line: int
    action: str
    indicators: tuple[str, ...]
    variant: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """A case of an allocated contact (``contact_id`` resolved) and its status."""

    id: int
    contact_id: int
    status: str


@dataclass(frozen=True, slots=True)
class ReferralFacts:
    """A referral of such a case: ``status`` ``proposed`` | ``approved`` | ``rejected``."""

    case_id: int
    status: str
    proposed_at: datetime
    decided_at: datetime | None


@dataclass(frozen=True, slots=True)
class ClickCount:
    """Help-link clicks of one arm, language and UTC day (``YYYY-MM-DD``)."""

    arm: str
    lang: str
    day: str
    clicks: int


@dataclass(frozen=True, slots=True)
class TrialOutcomeFacts:
    """Everything the trial analysis reads, one snapshot: the trial, every operation's scope,
    every allocation, the conversations, decisions, cases and referrals of the allocated
    contacts, and the trial's help-link click counts. ``first_allocation_seq`` /
    ``first_allocated_at``: over *all* allocations of the trial (any operation), ``None`` when
    there is none."""

    trial: TrialFacts
    operations: tuple[OperationScope, ...]
    allocations: tuple[AllocationFacts, ...]
    conversations: tuple[ConversationFacts, ...]
    decisions: tuple[DecisionFacts, ...]
    cases: tuple[CaseFacts, ...]
    referrals: tuple[ReferralFacts, ...]
    clicks: tuple[ClickCount, ...]
    first_allocated_at: datetime | None
    first_allocation_seq: int | None


@dataclass(frozen=True, slots=True)
class StudyScope:
    """Every operation's scope and each conversation's operation, one snapshot (the research
    statistics' filter)."""

    operations: tuple[OperationScope, ...]
    conversation_operation: tuple[tuple[int, int], ...]  # (conversation id, operation id)

    def conversations_in(self, operations: Iterable[int] | None = None) -> frozenset[int]:
        """Ids of conversations of in-study operations (:attr:`OperationScope.in_study`), and of
        ``operations`` when given."""
        wanted = None if operations is None else frozenset(operations)
        ok = {o.id for o in self.operations if o.in_study and (wanted is None or o.id in wanted)}
        return frozenset(c for c, op in self.conversation_operation if op in ok)


# -- queries ---------------------------------------------------------------------------------


def _trial(row: TrialRow) -> TrialFacts:
    return TrialFacts(
        id=row.id,
        name=row.name,
        plan_sha256=row.plan_sha256,
        arms=tuple(str(a) for a in row.arms or ()),
        block_size=row.block_size,
        timestamp_token=row.timestamp_token,
        timestamped_at=row.timestamped_at,
        registered_by=row.registered_by,
        registered_at=row.registered_at,
        active=bool(row.active),
        ledger_seq=row.ledger_seq,
    )


def _operations(s: Session) -> tuple[OperationScope, ...]:
    return tuple(
        OperationScope(oid, bool(evidential), ref == DEMO_AUTHORISATION_REF)
        for oid, evidential, ref in s.execute(
            select(
                OperationRow.id, OperationRow.evidential, OperationRow.authorisation_ref
            ).order_by(OperationRow.id)
        )
    )


def _resolver(s: Session) -> dict[int, int]:
    rows = s.execute(select(ContactRow.id, ContactRow.merged_into))
    return resolve_merges({cid: merged for cid, merged in rows})


def list_trials(store: Store) -> list[TrialFacts]:
    """Every registered trial, oldest first (by id)."""
    with store.session() as s:
        return [_trial(r) for r in s.execute(select(TrialRow).order_by(TrialRow.id)).scalars()]


def find_trial(store: Store, name: str | None = None) -> TrialFacts:
    """The trial called ``name``; without a name the active trial (the most recently registered
    active one), else the most recently registered. ``NotFoundError`` when there is none."""
    trials = list_trials(store)
    if name is not None:
        for t in trials:
            if t.name == name:
                return t
        known = ", ".join(t.name for t in trials) or "none"
        raise NotFoundError(f"no trial named {name!r} (registered: {known})")
    if not trials:
        raise NotFoundError("no trial is registered in this database")
    active = [t for t in trials if t.active]
    return (active or trials)[-1]


def study_scope(store: Store) -> StudyScope:
    """Every operation's scope and every conversation's operation (two scans, one session)."""
    with store.session() as s:
        ops = _operations(s)
        pairs = tuple(
            (cid, op)
            for cid, op in s.execute(select(ConversationRow.id, ConversationRow.operation_id))
        )
    return StudyScope(ops, pairs)


def _indicators(value: Iterable[Any] | None) -> tuple[str, ...]:
    return tuple(str(i) for i in value or ())


def trial_outcome_facts(store: Store, trial_id: int) -> TrialOutcomeFacts:
    """The :class:`TrialOutcomeFacts` of trial ``trial_id`` (one snapshot); ``NotFoundError``
    for an unknown trial. Conversations, decisions, cases and referrals are those of the
    allocated contacts (after resolving merges), in every operation: the caller scopes them."""
    with store.session() as s:
        row = s.get(TrialRow, trial_id)
        if row is None:
            raise NotFoundError(f"trial {trial_id} does not exist")
        trial = _trial(row)
        ops = _operations(s)
        resolve = _resolver(s)
        conv_rows = s.execute(
            select(
                ConversationRow.id,
                ConversationRow.contact_id,
                ConversationRow.operation_id,
                ConversationRow.started_at,
            )
        ).all()
        op_of = {cid: op for cid, _, op, _ in conv_rows}
        allocations = tuple(
            AllocationFacts(
                contact_id=resolve.get(a.contact_id, a.contact_id),
                recorded_contact_id=a.contact_id,
                stratum=a.stratum,
                arm=a.arm,
                block_index=a.block_index,
                conversation_id=a.conversation_id,
                operation_id=None if a.conversation_id is None else op_of.get(a.conversation_id),
                allocated_at=a.allocated_at,
                ledger_seq=a.ledger_seq,
            )
            for a in s.execute(
                select(TrialAllocationRow)
                .where(TrialAllocationRow.trial_id == trial_id)
                .order_by(TrialAllocationRow.ledger_seq)
            ).scalars()
        )
        first_seq = min((a.ledger_seq for a in allocations), default=None)
        first_at = min((a.allocated_at for a in allocations), default=None)
        contacts = {a.contact_id for a in allocations}
        mine = {
            cid: (resolve.get(contact, contact), op, started)
            for cid, contact, op, started in conv_rows
            if resolve.get(contact, contact) in contacts
        }
        opened = dict(
            s.execute(
                select(LedgerEntryRow.conversation, func.min(LedgerEntryRow.seq))
                .where(LedgerEntryRow.conversation.is_not(None))
                .group_by(LedgerEntryRow.conversation)
            ).all()
        )
        conversations = tuple(
            ConversationFacts(cid, contact, op, started, int(opened.get(cid, 0)))
            for cid, (contact, op, started) in sorted(mine.items())
        )
        decisions = tuple(
            DecisionFacts(conv, seq, line, action, _indicators(inds), variant, at)
            for conv, seq, line, action, inds, variant, at in s.execute(
                select(
                    DecisionRow.conversation_id,
                    DecisionRow.ledger_seq,
                    DecisionRow.after_line,
                    DecisionRow.action,
                    DecisionRow.indicators,
                    DecisionRow.variant,
                    DecisionRow.created_at,
                ).order_by(DecisionRow.ledger_seq)
            )
            if conv in mine
        )
        cases = tuple(
            CaseFacts(cid, resolve.get(contact, contact), status)
            for cid, contact, status in s.execute(
                select(CaseRow.id, CaseRow.contact_id, CaseRow.status).order_by(CaseRow.id)
            )
            if resolve.get(contact, contact) in contacts
        )
        case_ids = {c.id for c in cases}
        referrals = tuple(
            ReferralFacts(case_id, status, proposed, decided)
            for case_id, status, proposed, decided in s.execute(
                select(
                    ReferralRow.case_id,
                    ReferralRow.status,
                    ReferralRow.proposed_at,
                    ReferralRow.decided_at,
                ).order_by(ReferralRow.id)
            )
            if case_id in case_ids
        )
        clicks = tuple(
            ClickCount(arm, lang, day, int(n))
            for arm, lang, day, n in s.execute(
                select(
                    HelpLinkClickRow.arm,
                    HelpLinkClickRow.lang,
                    HelpLinkClickRow.day,
                    HelpLinkClickRow.clicks,
                )
                .where(HelpLinkClickRow.trial_id == trial_id)
                .order_by(HelpLinkClickRow.arm, HelpLinkClickRow.lang, HelpLinkClickRow.day)
            )
        )
    return TrialOutcomeFacts(
        trial=trial,
        operations=ops,
        allocations=allocations,
        conversations=conversations,
        decisions=decisions,
        cases=cases,
        referrals=referrals,
        clicks=clicks,
        first_allocated_at=first_at,
        first_allocation_seq=first_seq,
    )
