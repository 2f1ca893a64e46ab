"""The case workflow: review queue, case pages, human decisions on cases and referrals, retention.

Every action is a *human* decision and is recorded three times in ONE transaction (so none exists
without the others): a ``case_events`` row (the case's history), an ``audit_log`` row with its
``audit`` ledger entry (hard rule 3: no referral leaves the system without a human decision
recorded in the audit log) and a ``review`` ledger entry. Free-text notes are stored in the
``case_events``/``referrals`` rows; the ledger and audit details hold only their SHA-256
(``note_sha256``), like every other personal content in the ledger.

Role rules are enforced here (the web layer only calls these methods); the acting user is re-read
from the database in the action's transaction, so a deactivated or demoted account is refused even
if a caller holds an old ``User``:

======================  =====================  ===============================================
action                  roles                  case status: from -> to
======================  =====================  ===============================================
``dismiss``             analyst, supervisor    open, watching -> dismissed (reason required)
``keep_watching``       analyst, supervisor    open, watching -> watching
``propose_referral``    analyst, supervisor    open, watching -> referral_proposed (note req.)
``approve_referral``    supervisor, not the    referral_proposed -> referred
                        proposer (four-eyes)
``reject_referral``     supervisor, not the    referral_proposed -> watching (reason required)
                        proposer (four-eyes)
``reopen``              analyst, supervisor    dismissed, purged, referred -> open (note req.)
``record_reveal``       analyst, supervisor    any (status unchanged)
retention purge         system                 dismissed (older than retention) -> purged
======================  =====================  ===============================================

Reading case content (the queue, case and contact pages, the live texts, exports: every method
taking a ``reader``) needs the role analyst or supervisor (``CASE_READERS``): admins manage
accounts, read the audit log (hashes, no texts) and neither take case decisions nor read case
content (need-to-know; OWASP Authorization Cheat Sheet, least privilege). A reader or actor who has
been granted operations (``tutela.accounts.access``) sees and acts only on cases whose conversations
all belong to those operations (``PermissionDenied`` otherwise); one without grants sees every
case. Calls without a ``reader`` (the CLI, run by the store's operator) are not restricted.

A case with a pending referral proposal cannot be dismissed or set to watching: a supervisor
decides the proposal first. A policy ``refer`` decision is itself a referral proposal awaiting a
human (DESIGN.md): ``record_policy_proposal`` stores it with proposer ``system``; any active
supervisor may then decide it.

Errors: ``PermissionDenied`` (role, four-eyes, inactive or unknown actor, operation not granted),
``InputError`` (missing reason/note, bad arguments), ``NotFoundError`` (unknown case, referral or
message, or an id beyond ``MAX_ID``), ``InvalidTransition`` (the action does not apply to the
case's or referral's current status).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from tutela.accounts.users import Role, User
from tutela.domain import Attachment, Category
from tutela.errors import InputError, PermissionDenied, TutelaError
from tutela.ledger import EntryKind, sha256_hex
from tutela.store import CaseRecord, DecisionRecord, NotFoundError, Recorder
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

__all__ = [
    "CASE_READERS",
    "DEFAULT_RETENTION_DAYS",
    "MAX_ID",
    "REVIEW_STATUSES",
    "CaseDetail",
    "CaseEvent",
    "CaseStatus",
    "CaseSummary",
    "CaseWorkflow",
    "ConversationView",
    "EventAction",
    "IdentityView",
    "InvalidTransition",
    "MessageView",
    "PermissionDenied",
    "Referral",
    "ReferralStatus",
]

DEFAULT_RETENTION_DAYS = 90
"""Days a dismissed case's message texts are kept before ``purge_expired`` deletes them
(counted from the latest dismissal). A project default, not a legal figure: set it to what the
operation's legal basis and data-protection assessment allow (``tutela cases retention --days``)."""

REVIEW_STATUSES = ("open", "watching", "referral_proposed")
CASE_WORKERS = frozenset({Role.ANALYST, Role.SUPERVISOR})
CASE_READERS = CASE_WORKERS
"""Roles that may read case content (texts, identities, conversations; module docstring)."""
MAX_ID = 2**31 - 1
"""Largest row id (``INTEGER`` columns; PostgreSQL's is 32-bit): larger ids are unknown ids."""
READ = "read case content"
SUPERVISORS = frozenset({Role.SUPERVISOR})
SYSTEM = "system"
EXPLICIT_CATEGORY = Category.SEXUAL_CONTENT.value


class InvalidTransition(TutelaError):
    """The action does not apply to the current status (e.g. approving a decided referral)."""


class CaseStatus(StrEnum):
    """Statuses of a case (``cases.status``)."""

    OPEN = "open"
    WATCHING = "watching"
    REFERRAL_PROPOSED = "referral_proposed"
    REFERRED = "referred"
    DISMISSED = "dismissed"
    PURGED = "purged"
    MERGED = "merged"  # absorbed by another contact's case (store identity merge)


class ReferralStatus(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"


class EventAction(StrEnum):
    """``case_events.action`` values."""

    DISMISS = "dismiss"
    WATCH = "watch"
    PROPOSE_REFERRAL = "propose_referral"
    APPROVE_REFERRAL = "approve_referral"
    REJECT_REFERRAL = "reject_referral"
    REVEAL = "reveal"
    PURGE = "purge"
    REOPEN = "reopen"


@dataclass(frozen=True, slots=True)
class CaseSummary:
    """One row of the review queue.

    ``risk``: max decision risk over the contact's conversations, in [0, 1] (0.0 without
    decisions). ``last_activity``: latest message time (aware UTC) or ``None``. ``warnings``:
    deterrence warnings sent (decisions with a variant). ``last_action``: action of the latest
    policy decision (``continue``/``deter``/``escalate``/``refer``) or ``None``. ``last_event``:
    latest human action (``EventAction`` value) or ``None``. ``identities``: number of linked
    identities. ``pending_referral``: id of the referral awaiting a decision, if any.
    """

    case_id: int
    contact_id: int
    status: str
    risk: float
    last_activity: datetime | None
    n_conversations: int
    platforms: tuple[str, ...]
    personas: tuple[str, ...]
    warnings: int
    last_action: str | None
    identities: int
    last_event: str | None = None
    pending_referral: int | None = None


@dataclass(frozen=True, slots=True)
class IdentityView:
    """A linked identity and the message it was read from (``source_*`` ``None`` when it came
    from the platform itself, e.g. the sender id, or the message was purged).
    ``source_explicit``: the decision after that line lists a ``sexual_content`` indicator, so
    the dashboard masks ``source_text`` like the line on the case page (``MessageView.explicit``)
    until it is revealed (``CaseWorkflow.record_reveal``)."""

    id: int
    platform: str
    kind: str
    value: str
    created_at: datetime
    source_message_id: int | None = None
    source_conversation_id: int | None = None
    source_contact_line: int | None = None
    source_text: str | None = None
    source_explicit: bool = False


@dataclass(frozen=True, slots=True)
class MessageView:
    """A message on the case page.

    ``direction``: ``"in"`` (contact) or ``"out"`` (persona). ``contact_line``: 1-based number of
    the contact's line (inbound only). ``text``: ``None`` once purged (``purged=True``).
    ``indicators``: indicator ids of the decision taken after this line (inbound only).
    ``explicit``: one of them is of category ``sexual_content``: the dashboard masks the text
    until an analyst reveals it (``CaseWorkflow.record_reveal``).
    """

    id: int
    seq: int
    direction: str
    contact_line: int | None
    author: str
    text: str | None
    at: datetime
    indicators: tuple[str, ...] = ()
    explicit: bool = False
    purged: bool = False
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class ConversationView:
    """A conversation with its messages (``seq`` order) and decisions (taken order).
    ``risk``: max decision risk (0.0 without decisions)."""

    id: int
    operation_id: int
    persona_id: str
    platform: str
    account: str
    room: str | None
    lang: str
    started_at: datetime
    ended_at: datetime | None
    risk: float
    messages: tuple[MessageView, ...]
    decisions: tuple[DecisionRecord, ...]
    provenance: dict[str, Any] | None = None  # an imported file's name, format, SHA-256


@dataclass(frozen=True, slots=True)
class Referral:
    """A referral proposal and its decision.

    ``proposed_by``/``decided_by``: user ids (``proposed_by`` ``None`` for a policy proposal);
    ``proposed_by_name``/``decided_by_name``: their names (``"system"`` for a policy proposal).
    """

    id: int
    case_id: int
    status: str
    proposed_by: int | None
    proposed_by_name: str
    proposed_at: datetime
    note: str
    decided_by: int | None = None
    decided_by_name: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None


@dataclass(frozen=True, slots=True)
class CaseEvent:
    """One entry of a case's history (``actor``: user name, or ``"system"``)."""

    id: int
    case_id: int
    at: datetime
    actor: str
    action: str
    note: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CaseDetail:
    """Everything the case page shows. ``risk``: computed like ``CaseSummary.risk``."""

    case: CaseRecord
    risk: float
    identities: tuple[IdentityView, ...]
    conversations: tuple[ConversationView, ...]
    referrals: tuple[Referral, ...]
    events: tuple[CaseEvent, ...]


def _note_sha(note: str) -> str:
    return sha256_hex(note.encode("utf-8"))


def _required(what: str, text: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{what} is required")
    return text.strip()


def _optional(what: str, text: str) -> str:
    if not isinstance(text, str):
        raise InputError(f"{what} must be text")
    return text.strip()


def _valid_id(value: object) -> bool:
    """A row id the database can hold (``bool`` excluded): larger ones cannot exist."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def _is_explicit(indicator_id: str) -> bool:
    parts = indicator_id.split(".")
    return len(parts) >= 2 and parts[1] == EXPLICIT_CATEGORY


def _event(row: CaseEventRow) -> CaseEvent:
    return CaseEvent(
        id=row.id,
        case_id=row.case_id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        note=row.note,
        details=dict(row.details),
    )


class CaseWorkflow:
    """Review queue, case pages and the human actions on cases (module docstring).

    Parameters
    ----------
    recorder: the store's ``Recorder`` (its store is used for reads and writes; its ledger for
        the ``review`` and ``audit`` entries).
    clock: "now" for events and decisions (aware UTC); default wall clock.
    """

    def __init__(self, recorder: Recorder, *, clock: Callable[[], datetime] | None = None) -> None:
        self.recorder = recorder
        self.store = recorder.store
        self._clock = clock or (lambda: datetime.now(UTC))

    # -- reads -------------------------------------------------------------------------------
    def review_queue(
        self,
        *,
        statuses: Iterable[str] = REVIEW_STATUSES,
        limit: int = 200,
        reader: User | None = None,
    ) -> list[CaseSummary]:
        """Cases with one of ``statuses``, highest risk first (then latest activity, then id);
        at most ``limit`` (>= 1) of them. ``InputError`` for an unknown status. ``reader``: only
        the cases they may read (module docstring); ``PermissionDenied`` for an admin."""
        wanted = self._statuses(statuses)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InputError(f"limit must be a positive integer, got {limit!r}")
        with self.store.session() as s:
            scope = self._reader_scope(s, reader)
            rows = s.execute(select(CaseRow).where(CaseRow.status.in_(wanted))).scalars().all()
            rows = self._in_scope(s, rows, scope)
            summaries = self._summaries(s, rows)
        floor = datetime.min.replace(tzinfo=UTC)
        summaries.sort(key=lambda c: (-c.risk, -(c.last_activity or floor).timestamp(), c.case_id))
        return summaries[:limit]

    def case_summary(self, case_id: int) -> CaseSummary:
        """The queue row of one case; ``NotFoundError`` if absent."""
        with self.store.session() as s:
            return self._summaries(s, [self._case(s, case_id)])[0]

    def case_detail(self, case_id: int, *, reader: User | None = None) -> CaseDetail:
        """The case page: the case, its contact's identities (with the message each was read
        from), conversations with messages and decisions, referrals and history.
        ``NotFoundError`` if absent; ``PermissionDenied`` when ``reader`` may not read it."""
        with self.store.session() as s:
            case = self._case(s, case_id)
            self._require_scope(s, case, self._reader_scope(s, reader))
            conv_rows = (
                s.execute(
                    select(ConversationRow)
                    .where(ConversationRow.contact_id == case.contact_id)
                    .order_by(ConversationRow.started_at, ConversationRow.id)
                )
                .scalars()
                .all()
            )
            conv_ids = [c.id for c in conv_rows]
            msgs: dict[int, list[MessageRow]] = defaultdict(list)
            decs: dict[int, list[DecisionRow]] = defaultdict(list)
            if conv_ids:
                for m in s.execute(
                    select(MessageRow)
                    .where(MessageRow.conversation_id.in_(conv_ids))
                    .order_by(MessageRow.conversation_id, MessageRow.seq)
                ).scalars():
                    msgs[m.conversation_id].append(m)
                for d in s.execute(
                    select(DecisionRow)
                    .where(DecisionRow.conversation_id.in_(conv_ids))
                    .order_by(DecisionRow.id)
                ).scalars():
                    decs[d.conversation_id].append(d)
            conversations = tuple(
                self._conversation_view(c, msgs[c.id], decs[c.id]) for c in conv_rows
            )
            id_rows = s.execute(
                select(IdentityRow, MessageRow)
                .outerjoin(MessageRow, MessageRow.id == IdentityRow.source_message_id)
                .where(IdentityRow.contact_id == case.contact_id)
                .order_by(IdentityRow.id)
            ).all()
            explicit_lines = self._explicit_lines(s, [m for _, m in id_rows if m is not None])
            identities = tuple(
                IdentityView(
                    id=i.id,
                    platform=i.platform,
                    kind=i.kind,
                    value=i.value,
                    created_at=i.created_at,
                    source_message_id=i.source_message_id,
                    source_conversation_id=None if m is None else m.conversation_id,
                    source_contact_line=None if m is None else m.contact_line,
                    source_text=None if m is None else m.text,
                    source_explicit=m is not None and m.id in explicit_lines,
                )
                for i, m in id_rows
            )
            referrals = tuple(self._referrals(s, ReferralRow.case_id == case_id))
            events = tuple(
                _event(e)
                for e in s.execute(
                    select(CaseEventRow)
                    .where(CaseEventRow.case_id == case_id)
                    .order_by(CaseEventRow.id)
                ).scalars()
            )
            return CaseDetail(
                case=CaseRecord.from_row(case),
                risk=max((c.risk for c in conversations), default=0.0),
                identities=identities,
                conversations=conversations,
                referrals=referrals,
                events=events,
            )

    def referral(self, referral_id: int) -> Referral:
        """One referral; ``NotFoundError`` if absent."""
        found = []
        if _valid_id(referral_id):
            with self.store.session() as s:
                found = self._referrals(s, ReferralRow.id == referral_id)
        if not found:
            raise NotFoundError(f"referral {referral_id} does not exist")
        return found[0]

    def pending_referrals(self, *, reader: User | None = None) -> list[Referral]:
        """Referral proposals awaiting a decision, oldest first (the supervisor's queue); with
        ``reader``, only those of cases they may read."""
        with self.store.session() as s:
            scope = self._reader_scope(s, reader)
            found = self._referrals(s, ReferralRow.status == ReferralStatus.PROPOSED.value)
            if scope is None:
                return found
            cases = s.execute(
                select(CaseRow).where(CaseRow.id.in_({r.case_id for r in found}))
            ).scalars()
            visible = {c.id for c in self._in_scope(s, cases, scope)}
            return [r for r in found if r.case_id in visible]

    # -- who may read what -------------------------------------------------------------------
    def reader_scope(self, reader: User) -> frozenset[int] | None:
        """The operation ids ``reader`` is restricted to (``None``: no grants, every case).
        ``PermissionDenied`` unless ``reader`` is an active analyst or supervisor."""
        with self.store.session() as s:
            return self._reader_scope(s, reader)

    def check_case_access(self, case_id: int, reader: User) -> None:
        """``PermissionDenied`` unless ``reader`` may read case ``case_id`` (module docstring);
        ``NotFoundError`` for an unknown case."""
        with self.store.session() as s:
            self._require_scope(s, self._case(s, case_id), self._reader_scope(s, reader))

    def check_contact_access(self, contact_id: int, reader: User) -> None:
        """``PermissionDenied`` unless ``reader`` may read what is recorded about contact
        ``contact_id`` (every conversation in a granted operation, when they have grants)."""
        with self.store.session() as s:
            scope = self._reader_scope(s, reader)
            if (
                scope is not None
                and not self._contact_operations(s, [contact_id]).get(contact_id, set()) <= scope
            ):
                raise PermissionDenied(f"contact {contact_id} is outside your operations")

    def check_conversation_access(self, conversation_id: int, reader: User) -> None:
        """``PermissionDenied`` unless ``reader`` may read conversation ``conversation_id`` (its
        operation granted, when they have grants); ``NotFoundError`` if it does not exist."""
        with self.store.session() as s:
            scope = self._reader_scope(s, reader)
            conv = s.get(ConversationRow, conversation_id) if _valid_id(conversation_id) else None
            if conv is None:
                raise NotFoundError(f"conversation {conversation_id} does not exist")
            if scope is not None and conv.operation_id not in scope:
                raise PermissionDenied(f"conversation {conversation_id} is outside your operations")

    def case_events(self, case_id: int) -> list[CaseEvent]:
        """A case's history, oldest first; ``NotFoundError`` for an unknown case."""
        with self.store.session() as s:
            self._case(s, case_id)
            rows = s.execute(
                select(CaseEventRow)
                .where(CaseEventRow.case_id == case_id)
                .order_by(CaseEventRow.id)
            ).scalars()
            return [_event(r) for r in rows]

    def referral_ready(self, case_id: int) -> bool:
        """True only when the case has an approved referral whose approval is recorded in the
        audit log (an evidence package for a referral is exported only then). ``False`` for an
        unknown case."""
        with self.store.session() as s:
            approved = (
                s.execute(
                    select(ReferralRow.id).where(
                        ReferralRow.case_id == case_id,
                        ReferralRow.status == ReferralStatus.APPROVED.value,
                        ReferralRow.decided_by.is_not(None),
                    )
                )
                .scalars()
                .all()
            )
            if not approved:
                return False
            audited = s.execute(
                select(AuditLogRow.target).where(
                    AuditLogRow.action == EventAction.APPROVE_REFERRAL.value,
                    AuditLogRow.target.in_([f"referral:{r}" for r in approved]),
                    AuditLogRow.ledger_seq.is_not(None),
                )
            ).first()
            return audited is not None

    # -- human actions -----------------------------------------------------------------------
    def dismiss(self, case_id: int, actor: User, reason: str) -> CaseEvent:
        """Close a case as not needing action (open/watching -> dismissed); its texts are purged
        after the retention period. ``reason`` is required."""
        reason = _required("a reason for dismissing", reason)
        return self._case_action(
            case_id,
            actor,
            EventAction.DISMISS,
            reason,
            allowed_from=(CaseStatus.OPEN, CaseStatus.WATCHING),
            to=CaseStatus.DISMISSED,
        )

    def keep_watching(self, case_id: int, actor: User, note: str = "") -> CaseEvent:
        """Mark a case as reviewed and kept under watch (open/watching -> watching)."""
        return self._case_action(
            case_id,
            actor,
            EventAction.WATCH,
            _optional("note", note),
            allowed_from=(CaseStatus.OPEN, CaseStatus.WATCHING),
            to=CaseStatus.WATCHING,
        )

    def reopen(self, case_id: int, actor: User, note: str) -> CaseEvent:
        """Reopen a dismissed, purged or referred case (-> open). ``note`` is required."""
        return self._case_action(
            case_id,
            actor,
            EventAction.REOPEN,
            _required("a note for reopening", note),
            allowed_from=(CaseStatus.DISMISSED, CaseStatus.PURGED, CaseStatus.REFERRED),
            to=CaseStatus.OPEN,
        )

    def record_reveal(
        self, case_id: int, actor: User, message_id: int, *, shown_on: str = "case"
    ) -> CaseEvent:
        """Record that ``actor`` revealed masked message ``message_id`` of this case (status
        unchanged). ``shown_on``: the page it was revealed on (``"case"``, or ``"contact"`` for
        an identity's source line), kept in the event details. ``NotFoundError`` when the
        message is not one of the case's."""
        if shown_on not in ("case", "contact"):
            raise InputError(f"shown_on must be 'case' or 'contact', got {shown_on!r}")
        if not _valid_id(message_id):
            raise NotFoundError(f"message {message_id} is not part of case {case_id}")

        def _work(s: Session) -> CaseEvent:
            user = self._actor(s, actor, CASE_WORKERS, EventAction.REVEAL)
            case = self._case(s, case_id)
            self._require_access(s, user, case)
            msg = s.execute(
                select(MessageRow.id, MessageRow.conversation_id, MessageRow.seq)
                .join(ConversationRow, ConversationRow.id == MessageRow.conversation_id)
                .where(MessageRow.id == message_id, ConversationRow.contact_id == case.contact_id)
            ).one_or_none()
            if msg is None:
                raise NotFoundError(f"message {message_id} is not part of case {case_id}")
            return self._record(
                s,
                case,
                user,
                EventAction.REVEAL,
                "",
                {
                    "message_id": msg.id,
                    "conversation": msg.conversation_id,
                    "message_seq": msg.seq,
                    "shown_on": shown_on,
                },
            )

        return self.store.write(_work)

    def propose_referral(self, case_id: int, actor: User, note: str) -> Referral:
        """Propose referring the case to the police (open/watching -> referral_proposed).
        ``note`` (the grounds) is required; a supervisor other than ``actor`` decides."""
        note = _required("a note giving the grounds for referral", note)

        def _work(s: Session) -> int:
            user = self._actor(s, actor, CASE_WORKERS, EventAction.PROPOSE_REFERRAL)
            case = self._case(s, case_id)
            self._require_access(s, user, case)
            self._check_from(
                case, EventAction.PROPOSE_REFERRAL, (CaseStatus.OPEN, CaseStatus.WATCHING)
            )
            self._check_no_pending(s, case)
            ref = ReferralRow(
                case_id=case.id,
                status=ReferralStatus.PROPOSED.value,
                proposed_by=user.id,
                proposed_at=self._now(),
                note=note,
            )
            s.add(ref)
            s.flush()
            self._record(
                s,
                case,
                user,
                EventAction.PROPOSE_REFERRAL,
                note,
                {"referral_id": ref.id},
                to=CaseStatus.REFERRAL_PROPOSED,
            )
            return ref.id

        return self.referral(self.store.write(_work))

    def approve_referral(self, referral_id: int, actor: User, note: str = "") -> Referral:
        """Approve a pending proposal (case -> referred). Supervisors only, never the proposer
        (four-eyes). ``InvalidTransition`` when the referral is already decided."""
        return self._decide(referral_id, actor, _optional("note", note), approve=True)

    def reject_referral(self, referral_id: int, actor: User, reason: str) -> Referral:
        """Reject a pending proposal (case -> watching). Supervisors only, never the proposer;
        ``reason`` is required."""
        reason = _required("a reason for rejecting", reason)
        return self._decide(referral_id, actor, reason, approve=False)

    # -- system actions ----------------------------------------------------------------------
    def record_policy_proposal(self, case_id: int, *, decision_id: int, note: str = "") -> Referral:
        """Store a policy ``refer`` decision as a referral proposal by ``system`` (case ->
        referral_proposed) so a supervisor can decide it. Idempotent while a proposal is
        pending (returns it). ``NotFoundError`` when the decision is not one of the case's;
        ``InputError`` when its action is not ``refer``; ``InvalidTransition`` when the case is
        not open or watching."""

        def _work(s: Session) -> int:
            case = self._case(s, case_id)
            dec = s.execute(
                select(DecisionRow.action, DecisionRow.rule)
                .join(ConversationRow, ConversationRow.id == DecisionRow.conversation_id)
                .where(DecisionRow.id == decision_id, ConversationRow.contact_id == case.contact_id)
            ).one_or_none()
            if dec is None:
                raise NotFoundError(f"decision {decision_id} is not part of case {case_id}")
            if dec.action != "refer":
                raise InputError(f"decision {decision_id} is {dec.action!r}, not 'refer'")
            pending = self._pending(s, case.id)
            if pending is not None:
                return pending.id
            self._check_from(
                case, EventAction.PROPOSE_REFERRAL, (CaseStatus.OPEN, CaseStatus.WATCHING)
            )
            text = note.strip() or f"policy decision {decision_id} ({dec.rule})"
            ref = ReferralRow(
                case_id=case.id,
                status=ReferralStatus.PROPOSED.value,
                proposed_by=None,
                proposed_at=self._now(),
                note=text,
            )
            s.add(ref)
            s.flush()
            self._record(
                s,
                case,
                None,
                EventAction.PROPOSE_REFERRAL,
                text,
                {"referral_id": ref.id, "decision_id": decision_id},
                to=CaseStatus.REFERRAL_PROPOSED,
            )
            return ref.id

        return self.referral(self.store.write(_work))

    def purge_expired(
        self,
        *,
        retention_days: int = DEFAULT_RETENTION_DAYS,
        now: datetime | None = None,
        dry_run: bool = False,
        actor: str = SYSTEM,
    ) -> list[int]:
        """Purge the message texts of dismissed cases dismissed more than ``retention_days``
        (>= 0) days before ``now`` (default: the clock), and mark them ``purged``.

        Texts, wire bytes and attachment metadata go through ``Recorder.purge_messages`` (one
        ``retention_purge`` tombstone per case; the ledger keeps verifying); the case gets a
        ``purge`` event, audit row and ``review`` entry. Returns the ids of the cases purged (or,
        with ``dry_run``, that would be), ascending. Safe to re-run after an interruption.
        """
        if isinstance(retention_days, bool) or not isinstance(retention_days, int):
            raise InputError(f"retention_days must be an integer, got {retention_days!r}")
        if retention_days < 0:
            raise InputError("retention_days must be >= 0")
        now = now or self._now()
        if now.tzinfo is None or now.utcoffset() is None:
            raise InputError("now must be an aware datetime")
        cutoff = now - timedelta(days=retention_days)
        with self.store.session() as s:
            last_dismissal = (
                select(CaseEventRow.case_id, func.max(CaseEventRow.at).label("at"))
                .where(CaseEventRow.action == EventAction.DISMISS.value)
                .group_by(CaseEventRow.case_id)
                .subquery()
            )
            expired = s.execute(
                select(CaseRow.id, CaseRow.contact_id)
                .join(last_dismissal, last_dismissal.c.case_id == CaseRow.id)
                .where(CaseRow.status == CaseStatus.DISMISSED.value, last_dismissal.c.at <= cutoff)
                .order_by(CaseRow.id)
            ).all()
        if dry_run:
            return [cid for cid, _ in expired]
        purged = []
        reason = f"retention: dismissed more than {retention_days} days ago"
        for case_id, contact_id in expired:
            with self.store.session() as s:
                ids = (
                    s.execute(
                        select(MessageRow.id)
                        .join(ConversationRow, ConversationRow.id == MessageRow.conversation_id)
                        .where(ConversationRow.contact_id == contact_id)
                    )
                    .scalars()
                    .all()
                )
            tombstone = self.recorder.purge_messages(ids, actor=actor, reason=reason)
            tomb_seq = None if tombstone is None else tombstone.seq

            def _work(
                s: Session, case_id: int = case_id, n: int = len(ids), tomb: int | None = tomb_seq
            ) -> bool:
                case = self._case(s, case_id)
                if case.status != CaseStatus.DISMISSED.value:  # reopened meanwhile
                    return False
                self._record(
                    s,
                    case,
                    None,
                    EventAction.PURGE,
                    reason,
                    {
                        "retention_days": retention_days,
                        "messages": n,
                        "tombstone_seq": tomb,
                    },
                    actor_name=actor,
                    to=CaseStatus.PURGED,
                )
                return True

            if self.store.write(_work):
                purged.append(case_id)
        return purged

    # -- internals ---------------------------------------------------------------------------
    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None or now.utcoffset() is None:
            raise InputError(f"clock() must return an aware datetime, got {now!r}")
        return now

    @staticmethod
    def _statuses(statuses: Iterable[str]) -> list[str]:
        if isinstance(statuses, str):
            statuses = (statuses,)
        out = []
        for st in statuses:
            try:
                out.append(CaseStatus(st).value)
            except ValueError as e:
                raise InputError(f"unknown case status {st!r}") from e
        return out

    @staticmethod
    def _case(s: Session, case_id: int) -> CaseRow:
        row = s.get(CaseRow, case_id) if _valid_id(case_id) else None
        if row is None:
            raise NotFoundError(f"case {case_id} does not exist")
        return row

    @staticmethod
    def _actor(
        s: Session, actor: User, roles: frozenset[Role], action: EventAction | str
    ) -> UserRow:
        what = action.value if isinstance(action, EventAction) else action
        if not isinstance(actor, User):
            raise InputError(f"actor must be a User, got {type(actor).__name__}")
        row = s.get(UserRow, actor.id)
        if row is None or row.name != actor.name:
            raise PermissionDenied(f"user {actor.name!r} is not a known account")
        if not row.active:
            raise PermissionDenied(f"user {row.name!r} is deactivated")
        if Role(row.role) not in roles:
            allowed = " or ".join(sorted(r.value for r in roles))
            raise PermissionDenied(f"{what} needs the role {allowed}; {row.name!r} is {row.role}")
        return row

    def _reader_scope(self, s: Session, reader: User | None) -> frozenset[int] | None:
        """``None`` (no restriction) without a reader or for one without grants; else the
        granted operation ids. ``PermissionDenied`` for a reader who may not read content."""
        if reader is None:
            return None
        return self._scope(s, self._actor(s, reader, CASE_READERS, READ))

    @staticmethod
    def _scope(s: Session, user: UserRow) -> frozenset[int] | None:
        granted = frozenset(
            s.execute(
                select(OperationAccessRow.operation_id).where(OperationAccessRow.user_id == user.id)
            ).scalars()
        )
        return granted or None

    @staticmethod
    def _contact_operations(s: Session, contact_ids: Iterable[int]) -> dict[int, set[int]]:
        ops: dict[int, set[int]] = defaultdict(set)
        ids = list(contact_ids)
        if ids:
            for contact_id, op_id in s.execute(
                select(ConversationRow.contact_id, ConversationRow.operation_id)
                .where(ConversationRow.contact_id.in_(ids))
                .distinct()
            ).all():
                ops[contact_id].add(op_id)
        return ops

    def _in_scope(
        self, s: Session, cases: Iterable[CaseRow], scope: frozenset[int] | None
    ) -> list[CaseRow]:
        """The cases whose conversations all belong to ``scope`` (every case for ``None``)."""
        cases = list(cases)
        if scope is None:
            return cases
        ops = self._contact_operations(s, {c.contact_id for c in cases})
        return [c for c in cases if ops.get(c.contact_id, set()) <= scope]

    def _require_scope(self, s: Session, case: CaseRow, scope: frozenset[int] | None) -> None:
        if not self._in_scope(s, [case], scope):
            raise PermissionDenied(f"case {case.id} is outside your operations")

    def _require_access(self, s: Session, user: UserRow, case: CaseRow) -> None:
        """An actor with operation grants acts only on the cases they may read."""
        self._require_scope(s, case, self._scope(s, user))

    @staticmethod
    def _explicit_lines(s: Session, messages: Iterable[MessageRow]) -> set[int]:
        """Ids of ``messages`` (inbound) whose following decision lists a sexual-content
        indicator (the rule of ``MessageView.explicit``)."""
        wanted = {
            (m.conversation_id, m.contact_line): m.id
            for m in messages
            if m.contact_line is not None
        }
        if not wanted:
            return set()
        out: set[int] = set()
        for conv_id, after_line, inds in s.execute(
            select(
                DecisionRow.conversation_id, DecisionRow.after_line, DecisionRow.indicators
            ).where(DecisionRow.conversation_id.in_({c for c, _ in wanted}))
        ).all():
            mid = wanted.get((conv_id, after_line))
            if mid is not None and any(_is_explicit(str(i)) for i in inds):
                out.add(mid)
        return out

    @staticmethod
    def _check_from(case: CaseRow, action: EventAction, allowed: tuple[CaseStatus, ...]) -> None:
        if case.status not in {a.value for a in allowed}:
            raise InvalidTransition(
                f"cannot {action.value} case {case.id}: it is {case.status} "
                f"(allowed from {', '.join(a.value for a in allowed)})"
            )

    @staticmethod
    def _pending(s: Session, case_id: int) -> ReferralRow | None:
        return (
            s.execute(
                select(ReferralRow).where(
                    ReferralRow.case_id == case_id,
                    ReferralRow.status == ReferralStatus.PROPOSED.value,
                )
            )
            .scalars()
            .first()
        )

    def _check_no_pending(self, s: Session, case: CaseRow) -> None:
        pending = self._pending(s, case.id)
        if pending is not None:
            raise InvalidTransition(
                f"case {case.id} has a pending referral proposal ({pending.id}): "
                "a supervisor decides it first"
            )

    def _case_action(
        self,
        case_id: int,
        actor: User,
        action: EventAction,
        note: str,
        *,
        allowed_from: tuple[CaseStatus, ...],
        to: CaseStatus,
    ) -> CaseEvent:
        def _work(s: Session) -> CaseEvent:
            user = self._actor(s, actor, CASE_WORKERS, action)
            case = self._case(s, case_id)
            self._require_access(s, user, case)
            self._check_from(case, action, allowed_from)
            self._check_no_pending(s, case)
            return self._record(s, case, user, action, note, {}, to=to)

        return self.store.write(_work)

    def _decide(self, referral_id: int, actor: User, note: str, *, approve: bool) -> Referral:
        action = EventAction.APPROVE_REFERRAL if approve else EventAction.REJECT_REFERRAL

        def _work(s: Session) -> int:
            user = self._actor(s, actor, SUPERVISORS, action)
            ref = s.get(ReferralRow, referral_id) if _valid_id(referral_id) else None
            if ref is None:
                raise NotFoundError(f"referral {referral_id} does not exist")
            if ref.proposed_by == user.id:
                raise PermissionDenied(
                    f"{user.name!r} proposed referral {ref.id} and cannot also decide it "
                    "(four-eyes rule)"
                )
            if ref.status != ReferralStatus.PROPOSED.value:
                raise InvalidTransition(f"referral {ref.id} is already {ref.status}")
            case = self._case(s, ref.case_id)
            self._require_access(s, user, case)
            self._check_from(case, action, (CaseStatus.REFERRAL_PROPOSED,))
            ref.status = (ReferralStatus.APPROVED if approve else ReferralStatus.REJECTED).value
            ref.decided_by = user.id
            ref.decided_at = self._now()
            ref.decision_note = note
            self._record(
                s,
                case,
                user,
                action,
                note,
                {"referral_id": ref.id, "proposed_by": ref.proposed_by},
                to=CaseStatus.REFERRED if approve else CaseStatus.WATCHING,
                target=f"referral:{ref.id}",
            )
            return ref.id

        return self.referral(self.store.write(_work))

    def _record(
        self,
        s: Session,
        case: CaseRow,
        user: UserRow | None,
        action: EventAction,
        note: str,
        details: Mapping[str, Any],
        *,
        to: CaseStatus | None = None,
        target: str | None = None,
        actor_name: str | None = None,
    ) -> CaseEvent:
        """The case event, its ``review`` ledger entry and its audit row, in ``s``'s transaction
        (and the status change, if ``to`` is given)."""
        now = self._now()
        name = user.name if user is not None else (actor_name or SYSTEM)
        before = case.status
        if to is not None:
            case.status = to.value
            case.updated_at = now
        facts: dict[str, Any] = {
            "case_id": case.id,
            "action": action.value,
            "actor": name,
            "actor_id": None if user is None else user.id,
            "actor_role": SYSTEM if user is None else user.role,
            "status_from": before,
            "status_to": case.status,
            "note_sha256": _note_sha(note),
            **details,
        }
        entry = self.recorder._append(s, EntryKind.REVIEW, None, facts)
        audit = self.recorder._audit(
            s, name, action.value, target or f"case:{case.id}", {**facts, "review_seq": entry.seq}
        )
        row = CaseEventRow(
            case_id=case.id,
            at=now,
            actor=name,
            action=action.value,
            note=note,
            details={**facts, "review_seq": entry.seq, "audit_id": audit.id},
        )
        s.add(row)
        s.flush()
        return _event(row)

    @staticmethod
    def _referrals(s: Session, condition: Any) -> list[Referral]:
        proposer = aliased(UserRow)
        decider = aliased(UserRow)
        rows = s.execute(
            select(ReferralRow, proposer.name, decider.name)
            .outerjoin(proposer, proposer.id == ReferralRow.proposed_by)
            .outerjoin(decider, decider.id == ReferralRow.decided_by)
            .where(condition)
            .order_by(ReferralRow.proposed_at, ReferralRow.id)
        ).all()
        return [
            Referral(
                id=r.id,
                case_id=r.case_id,
                status=r.status,
                proposed_by=r.proposed_by,
                proposed_by_name=p_name or SYSTEM,
                proposed_at=r.proposed_at,
                note=r.note,
                decided_by=r.decided_by,
                decided_by_name=d_name,
                decided_at=r.decided_at,
                decision_note=r.decision_note,
            )
            for r, p_name, d_name in rows
        ]

    @staticmethod
    def _conversation_view(
        c: ConversationRow, msgs: list[MessageRow], decs: list[DecisionRow]
    ) -> ConversationView:
        by_line: dict[int, list[str]] = defaultdict(list)
        for d in decs:
            for ind in d.indicators:
                if ind not in by_line[d.after_line]:
                    by_line[d.after_line].append(str(ind))
        views = []
        for m in msgs:
            inds = tuple(by_line.get(m.contact_line, ())) if m.contact_line is not None else ()
            views.append(
                MessageView(
                    id=m.id,
                    seq=m.seq,
                    direction=m.direction,
                    contact_line=m.contact_line,
                    author=m.author,
                    text=m.text,
                    at=m.at,
                    indicators=inds,
                    explicit=any(_is_explicit(i) for i in inds),
                    purged=m.purged_at is not None,
                    attachments=tuple(Attachment(**a) for a in m.attachments),
                )
            )
        return ConversationView(
            id=c.id,
            operation_id=c.operation_id,
            persona_id=c.persona_id,
            platform=c.platform,
            account=c.account,
            room=c.room,
            lang=c.lang,
            started_at=c.started_at,
            ended_at=c.ended_at,
            risk=max((d.risk for d in decs), default=0.0),
            messages=tuple(views),
            decisions=tuple(DecisionRecord.from_row(d) for d in decs),
            provenance=(c.state or {}).get("provenance"),
        )

    @staticmethod
    def _summaries(s: Session, cases: Iterable[CaseRow]) -> list[CaseSummary]:
        cases = list(cases)
        if not cases:
            return []
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
                    func.count(DecisionRow.variant),
                    func.max(DecisionRow.id),
                )
                .join(ConversationRow, ConversationRow.id == DecisionRow.conversation_id)
                .where(ConversationRow.contact_id.in_(contacts))
                .group_by(ConversationRow.contact_id)
            ).all()
        }
        last_ids = [v[2] for v in dec_agg.values()]
        last_actions = (
            dict(
                s.execute(
                    select(DecisionRow.id, DecisionRow.action).where(DecisionRow.id.in_(last_ids))
                ).all()
            )
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
                .where(
                    ReferralRow.case_id.in_(case_ids),
                    ReferralRow.status == ReferralStatus.PROPOSED.value,
                )
                .group_by(ReferralRow.case_id)
            ).all()
        )
        out = []
        for c in cases:
            pairs = convs.get(c.contact_id, [])
            risk, warnings, last_id = dec_agg.get(c.contact_id, (None, 0, None))
            out.append(
                CaseSummary(
                    case_id=c.id,
                    contact_id=c.contact_id,
                    status=c.status,
                    risk=float(risk) if risk is not None else 0.0,
                    last_activity=activity.get(c.contact_id),
                    n_conversations=len(pairs),
                    platforms=tuple(sorted({p for _, p in pairs})),
                    personas=tuple(sorted({p for p, _ in pairs})),
                    warnings=int(warnings),
                    last_action=last_actions.get(last_id),
                    identities=int(n_ids.get(c.contact_id, 0)),
                    last_event=events.get(c.id),
                    pending_referral=pending.get(c.id),
                )
            )
        return out
