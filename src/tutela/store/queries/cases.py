"""Reads and writes of the case workflow (``tutela.cases``): the only SQL it needs.

The workflow keeps its rules (roles, four-eyes, the transition table, per-operation scope) and
takes them *inside* one transaction, so this module hands it a unit of work instead of single
calls: :func:`reading` opens one read session and yields a :class:`CaseReads`; :func:`writing`
runs ``fn(CaseWrites)`` in one ``Store.write`` transaction (group-committed, rolled back as a
whole when ``fn`` raises). Both return frozen records only (``tutela.store.records`` and
``tutela.store.queries.case_records``, re-exported here), never ORM rows; a record is a snapshot
taken in that transaction.

:meth:`CaseWrites.record_event` writes what every human or system decision on a case writes, in
this order and in the caller's transaction: the status change (when given), the ``review`` ledger
entry, the ``audit_log`` row with its ``audit`` entry (details + ``review_seq``) and the
``case_events`` row (details + ``review_seq`` + ``audit_id``). Status and action values are the
workflow's (``tutela.cases.transitions``); they are passed in, not defined here.
See ``docs/architecture.md`` (store: the only SQL speaker).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, func, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session, aliased

from tutela.ledger import EntryKind
from tutela.store.engine import Store
from tutela.store.models import (
    AuditLogRow,
    CaseEventRow,
    CaseRow,
    ConversationRow,
    DecisionRow,
    IdentityRow,
    MessageRow,
    OperationAccessRow,
    ReferralRow,
    UserRow,
)
from tutela.store.queries.case_records import (
    CaseActor,
    CaseEventRecord,
    CaseFacts,
    ContactDecision,
    ContactMessage,
    DecisionLine,
    IdentityRecord,
    ReferralRecord,
)
from tutela.store.queries.common import warning_clause
from tutela.store.queries.queue import SeverityRules, severity_facts
from tutela.store.recorder import Recorder
from tutela.store.records import CaseRecord, ConversationRecord, DecisionRecord, MessageRecord

__all__ = [
    "CaseActor",
    "CaseEventRecord",
    "CaseFacts",
    "CaseReads",
    "CaseWrites",
    "ContactDecision",
    "ContactMessage",
    "DecisionLine",
    "IdentityRecord",
    "ReferralRecord",
    "contact_message_ids",
    "expired_cases",
    "reading",
    "writing",
]

_T = TypeVar("_T")


class CaseReads:
    """The reads of one transaction (create with :func:`reading` or :func:`writing`)."""

    def __init__(self, session: Session) -> None:
        self._s = session

    # -- single rows -------------------------------------------------------------------------
    def case(self, case_id: int) -> CaseRecord | None:
        """Case ``case_id`` or ``None``."""
        row = self._s.get(CaseRow, case_id)
        return None if row is None else CaseRecord.from_row(row)

    def user(self, user_id: int) -> CaseActor | None:
        """User ``user_id`` or ``None``."""
        row = self._s.get(UserRow, user_id)
        return None if row is None else CaseActor.from_row(row)

    def conversation(self, conversation_id: int) -> ConversationRecord | None:
        """Conversation ``conversation_id`` or ``None``."""
        row = self._s.get(ConversationRow, conversation_id)
        return None if row is None else ConversationRecord.from_row(row)

    def referral(self, referral_id: int) -> ReferralRecord | None:
        """Referral ``referral_id`` (without names) or ``None``."""
        row = self._s.get(ReferralRow, referral_id)
        return None if row is None else ReferralRecord.from_row(row)

    # -- cases -------------------------------------------------------------------------------
    def cases_with_status(self, statuses: Iterable[str]) -> list[CaseRecord]:
        """Cases whose status is one of ``statuses`` (no order)."""
        rows = self._s.execute(select(CaseRow).where(CaseRow.status.in_(list(statuses))))
        return [CaseRecord.from_row(r) for r in rows.scalars()]

    def cases_by_id(self, case_ids: Iterable[int]) -> list[CaseRecord]:
        """The existing cases among ``case_ids`` (no order)."""
        rows = self._s.execute(select(CaseRow).where(CaseRow.id.in_(set(case_ids))))
        return [CaseRecord.from_row(r) for r in rows.scalars()]

    def case_events(self, case_id: int) -> list[CaseEventRecord]:
        """The case's history, oldest first."""
        rows = self._s.execute(
            select(CaseEventRow).where(CaseEventRow.case_id == case_id).order_by(CaseEventRow.id)
        ).scalars()
        return [CaseEventRecord.from_row(r) for r in rows]

    def case_facts(
        self,
        cases: Iterable[CaseRecord],
        *,
        pending_status: str,
        severity: SeverityRules | None = None,
    ) -> list[CaseFacts]:
        """:class:`CaseFacts` of each of ``cases``, in their order (a few grouped queries);
        with ``severity``, also their severity facts (``tutela.store.queries.queue``)."""
        cases = list(cases)
        if not cases:
            return []
        s = self._s
        contacts = {c.contact_id for c in cases}
        case_ids = [c.id for c in cases]
        convs: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for contact_id, persona, platform in s.execute(
            select(
                ConversationRow.contact_id, ConversationRow.persona_id, ConversationRow.platform
            ).where(ConversationRow.contact_id.in_(contacts))
        ).all():
            convs[contact_id].append((persona, platform))
        dec_agg = {
            contact_id: (risk, warnings, last_id)
            for contact_id, risk, warnings, last_id in s.execute(
                select(
                    ConversationRow.contact_id,
                    func.max(DecisionRow.risk),
                    func.count(sql_case((warning_clause(), DecisionRow.id))),
                    func.max(DecisionRow.id),
                )
                .join(ConversationRow, ConversationRow.id == DecisionRow.conversation_id)
                .where(ConversationRow.contact_id.in_(contacts))
                .group_by(ConversationRow.contact_id)
            ).all()
        }
        last_ids = [v[2] for v in dec_agg.values()]
        last_actions: dict[int, str] = (
            {
                int(k): str(v)
                for k, v in s.execute(
                    select(DecisionRow.id, DecisionRow.action).where(DecisionRow.id.in_(last_ids))
                ).all()
            }
            if last_ids
            else {}
        )
        activity = dict(
            s.execute(
                select(ConversationRow.contact_id, func.max(MessageRow.at))
                .join(ConversationRow, ConversationRow.id == MessageRow.conversation_id)
                .where(ConversationRow.contact_id.in_(contacts))
                .group_by(ConversationRow.contact_id)
            ).all()
        )
        n_ids = dict(
            s.execute(
                select(IdentityRow.contact_id, func.count(IdentityRow.id))
                .where(IdentityRow.contact_id.in_(contacts))
                .group_by(IdentityRow.contact_id)
            ).all()
        )
        last_event_id = (
            select(func.max(CaseEventRow.id))
            .where(CaseEventRow.case_id.in_(case_ids))
            .group_by(CaseEventRow.case_id)
        )
        events = dict(
            s.execute(
                select(CaseEventRow.case_id, CaseEventRow.action).where(
                    CaseEventRow.id.in_(last_event_id)
                )
            ).all()
        )
        pending = dict(
            s.execute(
                select(ReferralRow.case_id, func.max(ReferralRow.id))
                .where(ReferralRow.case_id.in_(case_ids), ReferralRow.status == pending_status)
                .group_by(ReferralRow.case_id)
            ).all()
        )
        sev = {} if severity is None else severity_facts(s, case_ids, severity)
        out = []
        for c in cases:
            risk, warnings, last_id = dec_agg.get(c.contact_id, (None, 0, None))
            fact = sev.get(c.id)
            out.append(
                CaseFacts(
                    case=c,
                    pairs=tuple(convs.get(c.contact_id, [])),
                    max_risk=None if risk is None else float(risk),
                    warnings=int(warnings),
                    last_action=None if last_id is None else last_actions.get(last_id),
                    last_activity=activity.get(c.contact_id),
                    identities=int(n_ids.get(c.contact_id, 0)),
                    last_event=events.get(c.id),
                    pending_referral=pending.get(c.id),
                    strongest=None if fact is None else fact.strongest,
                    strongest_at=None if fact is None else fact.strongest_at,
                    returns=0 if fact is None else fact.returns,
                    returned=fact is not None and fact.returned,
                )
            )
        return out

    # -- a contact's records -----------------------------------------------------------------
    def contact_conversations(self, contact_id: int) -> list[ConversationRecord]:
        """The contact's conversations, by start time then id."""
        rows = self._s.execute(
            select(ConversationRow)
            .where(ConversationRow.contact_id == contact_id)
            .order_by(ConversationRow.started_at, ConversationRow.id)
        ).scalars()
        return [ConversationRecord.from_row(r) for r in rows]

    def messages(self, conversation_ids: Iterable[int]) -> list[MessageRecord]:
        """The messages of ``conversation_ids``, by conversation then ``seq``."""
        ids = list(conversation_ids)
        if not ids:
            return []
        rows = self._s.execute(
            select(MessageRow)
            .where(MessageRow.conversation_id.in_(ids))
            .order_by(MessageRow.conversation_id, MessageRow.seq)
        ).scalars()
        return [MessageRecord.from_row(r) for r in rows]

    def decisions(self, conversation_ids: Iterable[int]) -> list[DecisionRecord]:
        """The decisions of ``conversation_ids``, in the order taken (id)."""
        ids = list(conversation_ids)
        if not ids:
            return []
        rows = self._s.execute(
            select(DecisionRow).where(DecisionRow.conversation_id.in_(ids)).order_by(DecisionRow.id)
        ).scalars()
        return [DecisionRecord.from_row(r) for r in rows]

    def decision_lines(self, conversation_ids: Iterable[int]) -> list[DecisionLine]:
        """``(conversation, after_line, indicators, line_indicators)`` of every decision of
        ``conversation_ids``."""
        ids = set(conversation_ids)
        if not ids:
            return []
        rows = self._s.execute(
            select(
                DecisionRow.conversation_id,
                DecisionRow.after_line,
                DecisionRow.indicators,
                DecisionRow.line_indicators,
            ).where(DecisionRow.conversation_id.in_(ids))
        ).all()
        return [
            DecisionLine(
                c,
                line,
                tuple(str(i) for i in inds),
                None if own is None else tuple(str(i) for i in own),
            )
            for c, line, inds, own in rows
        ]

    def identities(self, contact_id: int) -> list[IdentityRecord]:
        """The contact's identities (id order), each with its source message if any."""
        rows = self._s.execute(
            select(IdentityRow, MessageRow)
            .outerjoin(MessageRow, MessageRow.id == IdentityRow.source_message_id)
            .where(IdentityRow.contact_id == contact_id)
            .order_by(IdentityRow.id)
        ).all()
        return [IdentityRecord.from_row(i, m) for i, m in rows]

    def contact_operations(self, contact_ids: Iterable[int]) -> dict[int, frozenset[int]]:
        """``{contact id: operation ids of its conversations}`` (contacts without any absent)."""
        ops: dict[int, set[int]] = defaultdict(set)
        ids = list(contact_ids)
        if ids:
            for contact_id, op_id in self._s.execute(
                select(ConversationRow.contact_id, ConversationRow.operation_id)
                .where(ConversationRow.contact_id.in_(ids))
                .distinct()
            ).all():
                ops[contact_id].add(op_id)
        return {k: frozenset(v) for k, v in ops.items()}

    def contact_message(self, message_id: int, contact_id: int) -> ContactMessage | None:
        """Message ``message_id`` if it belongs to one of the contact's conversations."""
        row = self._s.execute(
            select(MessageRow.id, MessageRow.conversation_id, MessageRow.seq)
            .join(ConversationRow, ConversationRow.id == MessageRow.conversation_id)
            .where(MessageRow.id == message_id, ConversationRow.contact_id == contact_id)
        ).one_or_none()
        return None if row is None else ContactMessage(row.id, row.conversation_id, row.seq)

    def contact_decision(self, decision_id: int, contact_id: int) -> ContactDecision | None:
        """Decision ``decision_id`` if it belongs to one of the contact's conversations."""
        row = self._s.execute(
            select(DecisionRow.action, DecisionRow.rule)
            .join(ConversationRow, ConversationRow.id == DecisionRow.conversation_id)
            .where(DecisionRow.id == decision_id, ConversationRow.contact_id == contact_id)
        ).one_or_none()
        return None if row is None else ContactDecision(decision_id, row.action, row.rule)

    # -- access and referrals ----------------------------------------------------------------
    def granted_operations(self, user_id: int) -> frozenset[int]:
        """The operation ids granted to ``user_id`` (empty: no grants)."""
        return frozenset(
            self._s.execute(
                select(OperationAccessRow.operation_id).where(OperationAccessRow.user_id == user_id)
            ).scalars()
        )

    def referrals(
        self,
        *,
        case_id: int | None = None,
        referral_id: int | None = None,
        status: str | None = None,
    ) -> list[ReferralRecord]:
        """Referrals matching every filter given, with the users' names, oldest first."""
        proposer = aliased(UserRow)
        decider = aliased(UserRow)
        conditions: list[ColumnElement[bool]] = []
        if case_id is not None:
            conditions.append(ReferralRow.case_id == case_id)
        if referral_id is not None:
            conditions.append(ReferralRow.id == referral_id)
        if status is not None:
            conditions.append(ReferralRow.status == status)
        rows = self._s.execute(
            select(ReferralRow, proposer.name, decider.name)
            .outerjoin(proposer, proposer.id == ReferralRow.proposed_by)
            .outerjoin(decider, decider.id == ReferralRow.decided_by)
            .where(*conditions)
            .order_by(ReferralRow.proposed_at, ReferralRow.id)
        ).all()
        return [ReferralRecord.from_row(r, p, d) for r, p, d in rows]

    def first_referral(self, case_id: int, status: str) -> ReferralRecord | None:
        """A referral of the case with ``status`` (the first the database returns), or ``None``."""
        row = (
            self._s.execute(
                select(ReferralRow).where(
                    ReferralRow.case_id == case_id, ReferralRow.status == status
                )
            )
            .scalars()
            .first()
        )
        return None if row is None else ReferralRecord.from_row(row)

    def audited_referral(self, case_id: int, *, status: str, action: str) -> bool:
        """True when the case has a referral with ``status`` decided by a user whose decision
        has an audit row with ``action``, target ``referral:<id>`` and a ledger entry."""
        approved = (
            self._s.execute(
                select(ReferralRow.id).where(
                    ReferralRow.case_id == case_id,
                    ReferralRow.status == status,
                    ReferralRow.decided_by.is_not(None),
                )
            )
            .scalars()
            .all()
        )
        if not approved:
            return False
        audited = self._s.execute(
            select(AuditLogRow.target).where(
                AuditLogRow.action == action,
                AuditLogRow.target.in_([f"referral:{r}" for r in approved]),
                AuditLogRow.ledger_seq.is_not(None),
            )
        ).first()
        return audited is not None


class CaseWrites(CaseReads):
    """The reads and writes of one write transaction (create with :func:`writing`)."""

    def __init__(self, recorder: Recorder, session: Session) -> None:
        super().__init__(session)
        self._recorder = recorder

    def add_referral(
        self,
        *,
        case_id: int,
        status: str,
        proposed_by: int | None,
        proposed_at: datetime,
        note: str,
    ) -> int:
        """Insert a referral row; returns its id (the caller records the case event)."""
        ref = ReferralRow(
            case_id=case_id,
            status=status,
            proposed_by=proposed_by,
            proposed_at=proposed_at,
            note=note,
        )
        self._s.add(ref)
        self._s.flush()
        return ref.id

    def decide_referral(
        self, referral_id: int, *, status: str, decided_by: int, decided_at: datetime, note: str
    ) -> None:
        """Set a referral's decision (the caller records the case event)."""
        ref = self._s.get(ReferralRow, referral_id)
        if ref is None:  # pragma: no cover - the caller read it in this transaction
            raise LookupError(f"referral {referral_id} vanished")
        ref.status = status
        ref.decided_by = decided_by
        ref.decided_at = decided_at
        ref.decision_note = note

    def record_event(
        self,
        case_id: int,
        *,
        at: datetime,
        actor: str,
        action: str,
        note: str,
        facts: Mapping[str, Any],
        target: str,
        to: str | None = None,
    ) -> CaseEventRecord:
        """Write one case decision (module docstring): status ``to`` (and ``updated_at`` =
        ``at``) when given, the ``review`` entry with ``facts``, the audit row and the event."""
        case = self._s.get(CaseRow, case_id)
        if case is None:  # pragma: no cover - the caller read it in this transaction
            raise LookupError(f"case {case_id} vanished")
        if to is not None:
            case.status = to
            case.updated_at = at
        entry = self._recorder._append(self._s, EntryKind.REVIEW, None, facts)
        audit = self._recorder._audit(
            self._s, actor, action, target, {**facts, "review_seq": entry.seq}
        )
        row = CaseEventRow(
            case_id=case_id,
            at=at,
            actor=actor,
            action=action,
            note=note,
            details={**facts, "review_seq": entry.seq, "audit_id": audit.id},
        )
        self._s.add(row)
        self._s.flush()
        return CaseEventRecord.from_row(row)


@contextmanager
def reading(store: Store) -> Iterator[CaseReads]:
    """One read session (``Store.session``; ``StoreError`` on database errors)."""
    with store.session() as s:
        yield CaseReads(s)


def writing(recorder: Recorder, fn: Callable[[CaseWrites], _T]) -> _T:
    """``fn(CaseWrites)`` in one write transaction of ``recorder.store``; its result once
    committed. An exception from ``fn`` rolls back everything it wrote and is re-raised."""
    return recorder.store.write(lambda s: fn(CaseWrites(recorder, s)))


# -- retention -------------------------------------------------------------------------------
def expired_cases(
    store: Store, *, cutoff: datetime, status: str, action: str
) -> list[tuple[int, int]]:
    """``(case id, contact id)`` of the cases with ``status`` whose latest event ``action``
    happened at or before ``cutoff``, by case id."""
    with store.session() as s:
        latest = (
            select(CaseEventRow.case_id, func.max(CaseEventRow.at).label("at"))
            .where(CaseEventRow.action == action)
            .group_by(CaseEventRow.case_id)
            .subquery()
        )
        rows = s.execute(
            select(CaseRow.id, CaseRow.contact_id)
            .join(latest, latest.c.case_id == CaseRow.id)
            .where(CaseRow.status == status, latest.c.at <= cutoff)
            .order_by(CaseRow.id)
        ).all()
        return [(int(case_id), int(contact_id)) for case_id, contact_id in rows]


def contact_message_ids(store: Store, contact_id: int) -> list[int]:
    """Ids of every message of the contact's conversations."""
    with store.session() as s:
        return list(
            s.execute(
                select(MessageRow.id)
                .join(ConversationRow, ConversationRow.id == MessageRow.conversation_id)
                .where(ConversationRow.contact_id == contact_id)
            )
            .scalars()
            .all()
        )
