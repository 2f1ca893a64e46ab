"""The case state machine as data: statuses, actions, and the table of who may take each action
from which statuses and where it leads (``TRANSITIONS``), plus :func:`record_transition`, which
writes one decision the way every action writes it.

======================  =====================  ===============================================
action                  roles                  case status: from -> to
======================  =====================  ===============================================
``dismiss``             analyst, supervisor    open, watching -> dismissed
``watch``               analyst, supervisor    open, watching -> watching
``propose_referral``    analyst, supervisor    open, watching -> referral_proposed
``approve_referral``    supervisor             referral_proposed -> referred
``reject_referral``     supervisor             referral_proposed -> watching
``reopen``              analyst, supervisor    dismissed, purged, referred -> open
``reveal``              analyst, supervisor    any (status unchanged)
``purge``               system                 dismissed -> purged
======================  =====================  ===============================================

The roles are those of ``tutela.accounts.users`` (an admin takes no case decision); the rules on
top of the table (reasons and notes required, four-eyes, pending proposals, per-operation scope)
are checked by ``tutela.cases.workflow`` (``docs/architecture.md``, package ``cases``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from tutela.accounts.users import Role
from tutela.cases.views import SYSTEM, CaseEvent, event_view
from tutela.errors import TutelaError
from tutela.ledger import sha256_hex
from tutela.store import CaseRecord
from tutela.store.queries.cases import CaseActor, CaseWrites

__all__ = [
    "CASE_READERS",
    "CASE_WORKERS",
    "SUPERVISORS",
    "TRANSITIONS",
    "CaseStatus",
    "EventAction",
    "InvalidTransition",
    "ReferralStatus",
    "Transition",
    "check_transition",
    "record_transition",
]

CASE_WORKERS = frozenset({Role.ANALYST, Role.SUPERVISOR})
CASE_READERS = CASE_WORKERS
"""Roles that may read case content (texts, identities, conversations)."""
SUPERVISORS = frozenset({Role.SUPERVISOR})


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
class Transition:
    """One row of the table: ``roles`` that may take ``action`` (empty: only the system),
    the statuses it applies to (``None``: any) and the status it leads to (``None``: kept)."""

    action: EventAction
    roles: frozenset[Role]
    from_statuses: tuple[CaseStatus, ...] | None
    to: CaseStatus | None

    def allows(self, status: str) -> bool:
        """True when the action applies to a case with ``status``."""
        return self.from_statuses is None or status in {s.value for s in self.from_statuses}


_S = CaseStatus
TRANSITIONS: Mapping[EventAction, Transition] = {
    t.action: t
    for t in (
        Transition(EventAction.DISMISS, CASE_WORKERS, (_S.OPEN, _S.WATCHING), _S.DISMISSED),
        Transition(EventAction.WATCH, CASE_WORKERS, (_S.OPEN, _S.WATCHING), _S.WATCHING),
        Transition(
            EventAction.PROPOSE_REFERRAL,
            CASE_WORKERS,
            (_S.OPEN, _S.WATCHING),
            _S.REFERRAL_PROPOSED,
        ),
        Transition(EventAction.APPROVE_REFERRAL, SUPERVISORS, (_S.REFERRAL_PROPOSED,), _S.REFERRED),
        Transition(EventAction.REJECT_REFERRAL, SUPERVISORS, (_S.REFERRAL_PROPOSED,), _S.WATCHING),
        Transition(
            EventAction.REOPEN, CASE_WORKERS, (_S.DISMISSED, _S.PURGED, _S.REFERRED), _S.OPEN
        ),
        Transition(EventAction.REVEAL, CASE_WORKERS, None, None),
        Transition(EventAction.PURGE, frozenset(), (_S.DISMISSED,), _S.PURGED),
    )
}
"""The case state machine (module docstring); every action of the workflow reads it."""


def check_transition(case: CaseRecord, action: EventAction) -> Transition:
    """The table row of ``action``; ``InvalidTransition`` when it does not apply to ``case``."""
    t = TRANSITIONS[action]
    if not t.allows(case.status):
        allowed = ", ".join(s.value for s in t.from_statuses or ())
        raise InvalidTransition(
            f"cannot {action.value} case {case.id}: it is {case.status} (allowed from {allowed})"
        )
    return t


def record_transition(
    q: CaseWrites,
    case: CaseRecord,
    user: CaseActor | None,
    action: EventAction,
    note: str,
    details: Mapping[str, Any],
    *,
    now: datetime,
    target: str | None = None,
    actor_name: str | None = None,
    keep_status: bool = False,
) -> CaseEvent:
    """Record ``action`` on ``case`` in ``q``'s transaction: the status change of its table row,
    the ``review`` ledger entry, the audit row and the case event (``CaseWrites.record_event``).

    The entry's facts: case id, action, actor name/id/role (``system`` without a user),
    ``status_from``/``status_to``, ``note_sha256`` (the note itself stays in the event) and
    ``details``. ``target``: the audit target (default ``case:<id>``). ``keep_status``: record
    the action without its status change (acknowledging a referred case's return,
    ``CaseWorkflow.acknowledge_return``).
    """
    to = None if keep_status else TRANSITIONS[action].to
    name = user.name if user is not None else (actor_name or SYSTEM)
    facts: dict[str, Any] = {
        "case_id": case.id,
        "action": action.value,
        "actor": name,
        "actor_id": None if user is None else user.id,
        "actor_role": SYSTEM if user is None else user.role,
        "status_from": case.status,
        "status_to": case.status if to is None else to.value,
        "note_sha256": sha256_hex(note.encode("utf-8")),
        **details,
    }
    record = q.record_event(
        case.id,
        at=now,
        actor=name,
        action=action.value,
        note=note,
        facts=facts,
        target=target or f"case:{case.id}",
        to=None if to is None else to.value,
    )
    return event_view(record)
