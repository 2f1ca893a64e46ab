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
``acknowledge_return``  analyst, supervisor    referred and returned (status unchanged; a
                                               ``watch`` event, ``tutela.cases.queue``)
retention purge         system                 dismissed (older than retention) -> purged
======================  =====================  ===============================================

The roles and the from/to columns are data: ``tutela.cases.transitions.TRANSITIONS``, which every
action reads; the other rules above (notes, four-eyes, pending proposals) are checked here.

Reading case content (the queue, case and contact pages, the live texts, exports: every method
taking a ``reader``) needs the role analyst or supervisor (``CASE_READERS``): admins manage
accounts, read the audit log (hashes, no texts) and neither take case decisions nor read case
content (need-to-know; OWASP Authorization Cheat Sheet, least privilege). A reader or actor who has
been granted operations (``tutela.accounts.access``) sees and acts only on cases whose conversations
all belong to those operations (``PermissionDenied`` otherwise); one without grants sees every
case. Calls without a ``reader`` (the CLI, run by the store's operator) are not restricted.

A case with a pending referral proposal cannot be dismissed or set to watching: a supervisor
decides the proposal first. A policy ``refer`` decision is itself a referral proposal awaiting a
human (``docs/architecture.md``): ``record_policy_proposal`` stores it with proposer ``system``;
any active supervisor may then decide it.

The module is the facade of the package's parts: the state machine as data
(``tutela.cases.transitions``), the view types (``tutela.cases.views``), who may read and act
(``tutela.cases.scope``) and retention (``tutela.cases.retention``); the SQL is the store's
(``tutela.store.queries.cases``).

Errors: ``PermissionDenied`` (role, four-eyes, inactive or unknown actor, operation not granted),
``InputError`` (missing reason/note, bad arguments), ``NotFoundError`` (unknown case, referral or
message, or an id beyond ``MAX_ID``), ``InvalidTransition`` (the action does not apply to the
case's or referral's current status).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from tutela.accounts.users import User
from tutela.cases.queue import (
    MAX_PAGE_SIZE,
    RETURN_ACKNOWLEDGED,
    SEVERITY,
    QueuePage,
    QueueQuery,
    fetch_page,
)
from tutela.cases.retention import DEFAULT_RETENTION_DAYS
from tutela.cases.retention import purge_expired as _purge_expired
from tutela.cases.scope import (
    MAX_ID,
    in_scope,
    reader_scope,
    require_access,
    require_actor,
    require_case,
    require_contact_scope,
    require_conversation,
    require_scope,
    valid_id,
)
from tutela.cases.transitions import (
    CASE_READERS,
    TRANSITIONS,
    CaseStatus,
    EventAction,
    InvalidTransition,
    ReferralStatus,
    check_transition,
    record_transition,
)
from tutela.cases.views import (
    SYSTEM,
    CaseDetail,
    CaseEvent,
    CaseSummary,
    ConversationView,
    IdentityView,
    MessageView,
    Referral,
    conversation_view,
    event_view,
    explicit_messages,
    identity_views,
    referral_view,
    summary_view,
)
from tutela.errors import InputError, PermissionDenied
from tutela.store import CaseRecord, DecisionRecord, MessageRecord, NotFoundError, Recorder
from tutela.store.queries import cases as queries
from tutela.store.queries.cases import CaseReads, CaseWrites

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

REVIEW_STATUSES = ("open", "watching", "referral_proposed")


def _required(what: str, text: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{what} is required")
    return text.strip()


def _optional(what: str, text: str) -> str:
    if not isinstance(text, str):
        raise InputError(f"{what} must be text")
    return text.strip()


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


def _check_no_pending(q: CaseReads, case_id: int) -> None:
    pending = q.first_referral(case_id, ReferralStatus.PROPOSED.value)
    if pending is not None:
        raise InvalidTransition(
            f"case {case_id} has a pending referral proposal ({pending.id}): "
            "a supervisor decides it first"
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
        returned: bool | None = None,
        **filters: Any,
    ) -> list[CaseSummary]:
        """The first ``limit`` (>= 1) cases with one of ``statuses``, most severe first
        (``tutela.cases.queue``: strongest action, returns, risk, latest activity, case id).
        ``returned``: also list returned cases of other statuses (default: when ``statuses``
        hold every review status, i.e. the active queue). ``filters``: the other fields of
        ``QueueQuery`` (``search``, ``text``, ``platforms``, ``sort``, ...). ``InputError`` for an
        unknown status or bad filter. ``reader``: only the cases they may read (module
        docstring); ``PermissionDenied`` for an admin."""
        wanted = tuple(_statuses(statuses))
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InputError(f"limit must be a positive integer, got {limit!r}")
        if returned is None:
            returned = set(REVIEW_STATUSES) <= set(wanted)
        query = QueueQuery(statuses=wanted, returned=returned, page_size=limit, **filters)
        return list(self.queue_page(query, reader=reader, max_page_size=None).rows)

    def queue_page(
        self,
        query: QueueQuery,
        *,
        reader: User | None = None,
        max_page_size: int | None = MAX_PAGE_SIZE,
    ) -> QueuePage:
        """One keyset page of the review queue (``tutela.cases.queue``: order, filters, cursors,
        the total count). ``InputError`` for a bad query; ``PermissionDenied`` for a reader who
        may not read case content (message-text search included); grants restrict the rows."""
        query = query.validated(max_page_size=max_page_size)
        with queries.reading(self.store) as q:
            scope = reader_scope(q, reader)
        return fetch_page(self.recorder, query, scope, self._summaries_of)

    def case_summary(self, case_id: int) -> CaseSummary:
        """The queue row of one case (strongest action, returns, returned flag included);
        ``NotFoundError`` if absent."""
        with queries.reading(self.store) as q:
            return self._summaries(q, [require_case(q, case_id)])[0]

    def case_detail(self, case_id: int, *, reader: User | None = None) -> CaseDetail:
        """The case page: the case, its contact's identities (with the message each was read
        from), conversations with messages and decisions, referrals and history.
        ``NotFoundError`` if absent; ``PermissionDenied`` when ``reader`` may not read it."""
        with queries.reading(self.store) as q:
            case = require_case(q, case_id)
            require_scope(q, case, reader_scope(q, reader))
            convs = q.contact_conversations(case.contact_id)
            conv_ids = [c.id for c in convs]
            msgs: dict[int, list[MessageRecord]] = defaultdict(list)
            decs: dict[int, list[DecisionRecord]] = defaultdict(list)
            for m in q.messages(conv_ids):
                msgs[m.conversation_id].append(m)
            for d in q.decisions(conv_ids):
                decs[d.conversation_id].append(d)
            conversations = tuple(conversation_view(c, msgs[c.id], decs[c.id]) for c in convs)
            ids = q.identities(case.contact_id)
            sources = [i.source for i in ids if i.source is not None]
            lined = {m.conversation_id for m in sources if m.contact_line is not None}
            explicit = explicit_messages(sources, q.decision_lines(lined) if lined else ())
            return CaseDetail(
                case=case,
                risk=max((c.risk for c in conversations), default=0.0),
                identities=identity_views(ids, explicit),
                conversations=conversations,
                referrals=tuple(referral_view(r) for r in q.referrals(case_id=case_id)),
                events=tuple(event_view(e) for e in q.case_events(case_id)),
            )

    def referral(self, referral_id: int) -> Referral:
        """One referral; ``NotFoundError`` if absent."""
        found = []
        if valid_id(referral_id):
            with queries.reading(self.store) as q:
                found = q.referrals(referral_id=referral_id)
        if not found:
            raise NotFoundError(f"referral {referral_id} does not exist")
        return referral_view(found[0])

    def pending_referrals(self, *, reader: User | None = None) -> list[Referral]:
        """Referral proposals awaiting a decision, oldest first (the supervisor's queue); with
        ``reader``, only those of cases they may read."""
        with queries.reading(self.store) as q:
            scope = reader_scope(q, reader)
            found = [referral_view(r) for r in q.referrals(status=ReferralStatus.PROPOSED.value)]
            if scope is None:
                return found
            cases = q.cases_by_id({r.case_id for r in found})
            visible = {c.id for c in in_scope(q, cases, scope)}
            return [r for r in found if r.case_id in visible]

    # -- who may read what -------------------------------------------------------------------
    def reader_scope(self, reader: User) -> frozenset[int] | None:
        """The operation ids ``reader`` is restricted to (``None``: no grants, every case).
        ``PermissionDenied`` unless ``reader`` is an active analyst or supervisor."""
        with queries.reading(self.store) as q:
            return reader_scope(q, reader)

    def check_case_access(self, case_id: int, reader: User) -> None:
        """``PermissionDenied`` unless ``reader`` may read case ``case_id`` (module docstring);
        ``NotFoundError`` for an unknown case."""
        with queries.reading(self.store) as q:
            require_scope(q, require_case(q, case_id), reader_scope(q, reader))

    def check_contact_access(self, contact_id: int, reader: User) -> None:
        """``PermissionDenied`` unless ``reader`` may read what is recorded about contact
        ``contact_id`` (every conversation in a granted operation, when they have grants)."""
        with queries.reading(self.store) as q:
            require_contact_scope(q, contact_id, reader_scope(q, reader))

    def check_conversation_access(self, conversation_id: int, reader: User) -> None:
        """``PermissionDenied`` unless ``reader`` may read conversation ``conversation_id`` (its
        operation granted, when they have grants); ``NotFoundError`` if it does not exist."""
        with queries.reading(self.store) as q:
            scope = reader_scope(q, reader)
            conv = require_conversation(q, conversation_id)
            if scope is not None and conv.operation_id not in scope:
                raise PermissionDenied(f"conversation {conversation_id} is outside your operations")

    def case_events(self, case_id: int) -> list[CaseEvent]:
        """A case's history, oldest first; ``NotFoundError`` for an unknown case."""
        with queries.reading(self.store) as q:
            require_case(q, case_id)
            return [event_view(e) for e in q.case_events(case_id)]

    def referral_ready(self, case_id: int) -> bool:
        """True only when the case has an approved referral whose approval is recorded in the
        audit log (an evidence package for a referral is exported only then). ``False`` for an
        unknown case."""
        with queries.reading(self.store) as q:
            return q.audited_referral(
                case_id,
                status=ReferralStatus.APPROVED.value,
                action=EventAction.APPROVE_REFERRAL.value,
            )

    # -- human actions -----------------------------------------------------------------------
    def dismiss(self, case_id: int, actor: User, reason: str) -> CaseEvent:
        """Close a case as not needing action (open/watching -> dismissed); its texts are purged
        after the retention period. ``reason`` is required."""
        reason = _required("a reason for dismissing", reason)
        return self._case_action(case_id, actor, EventAction.DISMISS, reason)

    def keep_watching(self, case_id: int, actor: User, note: str = "") -> CaseEvent:
        """Mark a case as reviewed and kept under watch (open/watching -> watching)."""
        return self._case_action(case_id, actor, EventAction.WATCH, _optional("note", note))

    def reopen(self, case_id: int, actor: User, note: str) -> CaseEvent:
        """Reopen a dismissed, purged or referred case (-> open). ``note`` is required."""
        note = _required("a note for reopening", note)
        return self._case_action(case_id, actor, EventAction.REOPEN, note)

    def acknowledge_return(self, case_id: int, actor: User, note: str = "") -> CaseEvent:
        """Acknowledge that a referred case's contact returned (``tutela.cases.queue``): a
        ``watch`` event that keeps the status ``referred``, ``details["reason"] =
        "return_acknowledged"`` (audit row, ``review`` entry), so the case leaves the active
        queue until the contact returns again. ``InvalidTransition`` when the case is not
        referred or not returned; role and scope as for *keep watching*."""
        note = _optional("note", note)
        action = EventAction.WATCH

        def _work(q: CaseWrites) -> CaseEvent:
            user = require_actor(q, actor, TRANSITIONS[action].roles, action)
            case = require_case(q, case_id)
            require_access(q, user, case)
            returned = self._summaries(q, [case])[0].returned
            if case.status != CaseStatus.REFERRED.value or not returned:
                raise InvalidTransition(f"case {case.id} is no referred case that returned")
            details = {"reason": RETURN_ACKNOWLEDGED}
            return record_transition(
                q, case, user, action, note, details, now=self._now(), keep_status=True
            )

        return queries.writing(self.recorder, _work)

    def record_reveal(
        self,
        case_id: int,
        actor: User,
        message_id: int | None = None,
        *,
        shown_on: str = "case",
        conversation_id: int | None = None,
        up_to_message_id: int | None = None,
    ) -> CaseEvent:
        """Record that ``actor`` revealed masked message ``message_id`` of this case, or with
        ``conversation_id`` instead every line of that conversation (status unchanged).
        ``shown_on``: the page it was revealed on (``"case"``, ``"contact"`` for an identity's
        source line, ``"live"`` for the live feed), kept in the event details (``message_id``,
        ``conversation``, ``message_seq``; a conversation reveal has no ``message_id``, and
        ``up_to_message_id`` when given: the largest message id the reveal covered).
        ``NotFoundError`` when the message or conversation is not one of the case's;
        ``InputError`` unless exactly one of ``message_id`` and ``conversation_id`` is given."""
        if shown_on not in ("case", "contact", "live"):
            raise InputError(f"shown_on must be 'case', 'contact' or 'live', got {shown_on!r}")
        if (message_id is None) == (conversation_id is None):
            raise InputError("reveal one message or one conversation")
        wanted = message_id if message_id is not None else conversation_id
        what = "message" if message_id is not None else "conversation"
        if not valid_id(wanted):
            raise NotFoundError(f"{what} {wanted} is not part of case {case_id}")
        action = EventAction.REVEAL

        def _work(q: CaseWrites) -> CaseEvent:
            user = require_actor(q, actor, TRANSITIONS[action].roles, action)
            case = require_case(q, case_id)
            require_access(q, user, case)
            check_transition(case, action)
            details: dict[str, object]
            if message_id is not None:
                msg = q.contact_message(message_id, case.contact_id)
                if msg is None:
                    raise NotFoundError(f"message {message_id} is not part of case {case_id}")
                details = {
                    "message_id": msg.id,
                    "conversation": msg.conversation_id,
                    "message_seq": msg.seq,
                    "shown_on": shown_on,
                }
            else:
                if all(c.id != conversation_id for c in q.contact_conversations(case.contact_id)):
                    raise NotFoundError(
                        f"conversation {conversation_id} is not part of case {case_id}"
                    )
                details = {"conversation": conversation_id, "shown_on": shown_on}
                if up_to_message_id is not None:
                    details["up_to_message_id"] = up_to_message_id
            return record_transition(q, case, user, action, "", details, now=self._now())

        return queries.writing(self.recorder, _work)

    def propose_referral(self, case_id: int, actor: User, note: str) -> Referral:
        """Propose referring the case to the police (open/watching -> referral_proposed).
        ``note`` (the grounds) is required; a supervisor other than ``actor`` decides."""
        note = _required("a note giving the grounds for referral", note)
        action = EventAction.PROPOSE_REFERRAL

        def _work(q: CaseWrites) -> int:
            user = require_actor(q, actor, TRANSITIONS[action].roles, action)
            case = require_case(q, case_id)
            require_access(q, user, case)
            check_transition(case, action)
            _check_no_pending(q, case.id)
            ref_id = q.add_referral(
                case_id=case.id,
                status=ReferralStatus.PROPOSED.value,
                proposed_by=user.id,
                proposed_at=self._now(),
                note=note,
            )
            record_transition(q, case, user, action, note, {"referral_id": ref_id}, now=self._now())
            return ref_id

        return self.referral(queries.writing(self.recorder, _work))

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
        action = EventAction.PROPOSE_REFERRAL

        def _work(q: CaseWrites) -> int:
            case = require_case(q, case_id)
            dec = q.contact_decision(decision_id, case.contact_id)
            if dec is None:
                raise NotFoundError(f"decision {decision_id} is not part of case {case_id}")
            if dec.action != "refer":
                raise InputError(f"decision {decision_id} is {dec.action!r}, not 'refer'")
            pending = q.first_referral(case.id, ReferralStatus.PROPOSED.value)
            if pending is not None:
                return pending.id
            check_transition(case, action)
            text = note.strip() or f"policy decision {decision_id} ({dec.rule})"
            ref_id = q.add_referral(
                case_id=case.id,
                status=ReferralStatus.PROPOSED.value,
                proposed_by=None,
                proposed_at=self._now(),
                note=text,
            )
            details = {"referral_id": ref_id, "decision_id": decision_id}
            record_transition(q, case, None, action, text, details, now=self._now())
            return ref_id

        return self.referral(queries.writing(self.recorder, _work))

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
        with ``dry_run``, that would be), ascending. Safe to re-run after an interruption
        (``tutela.cases.retention.purge_expired``).
        """
        return _purge_expired(
            self.recorder,
            clock=self._now,
            retention_days=retention_days,
            now=now,
            dry_run=dry_run,
            actor=actor,
        )

    # -- internals ---------------------------------------------------------------------------
    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None or now.utcoffset() is None:
            raise InputError(f"clock() must return an aware datetime, got {now!r}")
        return now

    @staticmethod
    def _summaries(q: CaseReads, cases: Iterable[CaseRecord]) -> list[CaseSummary]:
        facts = q.case_facts(cases, pending_status=ReferralStatus.PROPOSED.value, severity=SEVERITY)
        return [summary_view(f) for f in facts]

    def _summaries_of(self, case_ids: Iterable[int]) -> list[CaseSummary]:
        """The queue rows of ``case_ids``, in that order (vanished cases left out)."""
        ids = list(case_ids)
        with queries.reading(self.store) as q:
            found = {c.id: c for c in q.cases_by_id(ids)}
            return self._summaries(q, [found[i] for i in ids if i in found])

    def _case_action(self, case_id: int, actor: User, action: EventAction, note: str) -> CaseEvent:
        """A transition of the table that needs no referral: role, scope, from-status and no
        pending proposal checked, then recorded, in one transaction."""

        def _work(q: CaseWrites) -> CaseEvent:
            user = require_actor(q, actor, TRANSITIONS[action].roles, action)
            case = require_case(q, case_id)
            require_access(q, user, case)
            check_transition(case, action)
            _check_no_pending(q, case.id)
            return record_transition(q, case, user, action, note, {}, now=self._now())

        return queries.writing(self.recorder, _work)

    def _decide(self, referral_id: int, actor: User, note: str, *, approve: bool) -> Referral:
        action = EventAction.APPROVE_REFERRAL if approve else EventAction.REJECT_REFERRAL

        def _work(q: CaseWrites) -> int:
            user = require_actor(q, actor, TRANSITIONS[action].roles, action)
            ref = q.referral(referral_id) if valid_id(referral_id) else None
            if ref is None:
                raise NotFoundError(f"referral {referral_id} does not exist")
            if ref.proposed_by == user.id:
                raise PermissionDenied(
                    f"{user.name!r} proposed referral {ref.id} and cannot also decide it "
                    "(four-eyes rule)"
                )
            if ref.status != ReferralStatus.PROPOSED.value:
                raise InvalidTransition(f"referral {ref.id} is already {ref.status}")
            case = require_case(q, ref.case_id)
            require_access(q, user, case)
            check_transition(case, action)
            q.decide_referral(
                ref.id,
                status=(ReferralStatus.APPROVED if approve else ReferralStatus.REJECTED).value,
                decided_by=user.id,
                decided_at=self._now(),
                note=note,
            )
            details = {"referral_id": ref.id, "proposed_by": ref.proposed_by}
            record_transition(
                q, case, user, action, note, details, now=self._now(), target=f"referral:{ref.id}"
            )
            return ref.id

        return self.referral(queries.writing(self.recorder, _work))
