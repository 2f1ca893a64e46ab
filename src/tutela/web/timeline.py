"""The timeline of a case: everything that happened to it, in the order of the recorded times.

:func:`case_timeline` is a pure function of what the case page already holds (the workflow's
``CaseDetail``, the case's notes, assignments and legal holds); it reads nothing. One clock: each
item carries the time *recorded* with its row (a message's ``at``, a decision's ``created_at``,
an event's ``at``, a referral's ``proposed_at``/``decided_at``, a hold's ``set_at``/
``released_at``, a note's or assignment's ``at``); nothing is re-timed. Items with the same time
keep the order in which they happened (a line before the decision taken after it, the return
before the line it is), then their ids.

Kinds (:data:`KINDS`):

``message``            a line in or out (``message`` holds the ``MessageView``, so the page masks
                       it exactly like the transcript: ``MessageView.explicit`` and the page's
                       masking switch; the timeline itself carries no text)
``decision``           a policy decision other than ``continue`` that sent no warning (``action``)
``warning``            a decision that sent a deterrence warning (``tutela.domain.is_warning``;
                       ``action``, ``detail`` the variant)
``return``             the contact came back after a warning: the first line of a conversation
                       opened after a warning recorded in another of the contact's conversations,
                       in *ledger* order (the rule of ``tutela.research.stats``' return after a
                       warning: clock-independent); once per conversation
``referral_proposed``  a referral proposal (``actor`` the proposer; ``detail`` its grounds)
``referral_approved``/``referral_rejected``  its decision (``actor`` the supervisor)
``event``              a case event other than the referral steps (``action``: watch, dismiss,
                       reopen, reveal, purge; ``detail`` its note)
``hold_set``/``hold_released``  a legal hold set or released (``detail`` the reason)
``note``               an analyst's note (``detail`` its text)
``assignment``         an assignment (``detail`` the assignee, ``None``: unassigned)

Continue decisions are left out (the risk chart shows their risk).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from tutela.cases.hold import HoldRecord
from tutela.cases.views import CaseDetail, MessageView
from tutela.domain import is_warning
from tutela.store.queries.casework import AssignmentRecord, NoteRecord

__all__ = ["KINDS", "REFERRAL_EVENTS", "TimelineItem", "case_timeline", "returns"]

KINDS = (
    "return",
    "message",
    "decision",
    "warning",
    "referral_proposed",
    "referral_approved",
    "referral_rejected",
    "event",
    "hold_set",
    "hold_released",
    "note",
    "assignment",
)
"""Item kinds, in their order among items recorded at the same instant."""
REFERRAL_EVENTS = frozenset({"propose_referral", "approve_referral", "reject_referral"})
"""Case-event actions shown as referral steps (from the referral rows) instead of as events."""
_RANK = {k: n for n, k in enumerate(KINDS)}


@dataclass(frozen=True, slots=True)
class TimelineItem:
    """One entry of a case's timeline (module docstring for the kinds).

    ``at``: the recorded time (aware UTC); ``actor``: who (user name, ``"system"``, or the
    message's author); ``conversation_id``: the conversation it belongs to, if any;
    ``message``: the line (``message`` and ``return`` items); ``action``: the decision's or
    event's action; ``risk``: the decision's risk in [0, 1]; ``detail``: the note, reason,
    variant or assignee; ``ref``: the id of the row it comes from (message, decision, referral,
    event, hold, note or assignment)."""

    at: datetime
    kind: str
    ref: int
    actor: str | None = None
    conversation_id: int | None = None
    message: MessageView | None = None
    action: str | None = None
    risk: float | None = None
    detail: str | None = None

    @property
    def sort_key(self) -> tuple[float, int, int]:
        """``(time, kind rank, id)``: the timeline's order."""
        return (self.at.timestamp(), _RANK[self.kind], self.ref)


def returns(detail: CaseDetail) -> list[tuple[int, MessageView]]:
    """``(conversation id, first inbound line)`` of each conversation that began after a
    warning recorded in another of the contact's conversations, in conversation order.

    "Began after" is ledger order, as in ``tutela.research.stats``: the conversation's first
    decision (the one taken after its first line) has a larger ``ledger_seq`` than the warning
    decision's. (The case page's views carry no message ledger positions; the first decision
    follows the first line at once.) A conversation without decisions counts as no return."""
    warned = [
        (d.ledger_seq, c.id)
        for c in detail.conversations
        for d in c.decisions
        if is_warning(d.action, d.variant)
    ]
    out: list[tuple[int, MessageView]] = []
    for c in detail.conversations:
        inbound = [m for m in c.messages if m.direction == "in"]
        if not inbound or not c.decisions:
            continue
        began = min(d.ledger_seq for d in c.decisions)
        if any(seq < began and conv != c.id for seq, conv in warned):
            out.append((c.id, inbound[0]))
    return out


def case_timeline(
    detail: CaseDetail,
    *,
    notes: Iterable[NoteRecord] = (),
    assignments: Iterable[AssignmentRecord] = (),
    holds: Iterable[HoldRecord] = (),
) -> list[TimelineItem]:
    """The case's timeline, oldest first (module docstring)."""
    items: list[TimelineItem] = []
    for c in detail.conversations:
        for m in c.messages:
            items.append(
                TimelineItem(m.at, "message", m.id, m.author, c.id, message=m, action=m.direction)
            )
        for d in c.decisions:
            if is_warning(d.action, d.variant):
                kind = "warning"
            elif d.action != "continue":
                kind = "decision"
            else:
                continue
            items.append(
                TimelineItem(
                    d.created_at,
                    kind,
                    d.id,
                    "system",
                    c.id,
                    action=d.action,
                    risk=d.risk,
                    detail=d.variant if kind == "warning" else d.rule,
                )
            )
    for conv_id, m in returns(detail):
        items.append(TimelineItem(m.at, "return", m.id, m.author, conv_id, message=m))
    for r in detail.referrals:
        items.append(
            TimelineItem(
                r.proposed_at, "referral_proposed", r.id, r.proposed_by_name, detail=r.note
            )
        )
        if r.decided_at is not None and r.status in ("approved", "rejected"):
            items.append(
                TimelineItem(
                    r.decided_at,
                    f"referral_{r.status}",
                    r.id,
                    r.decided_by_name,
                    detail=r.decision_note or None,
                )
            )
    for e in detail.events:
        if e.action in REFERRAL_EVENTS:
            continue
        items.append(
            TimelineItem(e.at, "event", e.id, e.actor, action=e.action, detail=e.note or None)
        )
    for h in holds:
        items.append(TimelineItem(h.set_at, "hold_set", h.id, h.set_by, detail=h.reason))
        if h.released_at is not None:
            items.append(
                TimelineItem(
                    h.released_at, "hold_released", h.id, h.released_by, detail=h.release_reason
                )
            )
    for n in notes:
        items.append(TimelineItem(n.at, "note", n.id, n.author, detail=n.text))
    for a in assignments:
        items.append(TimelineItem(a.at, "assignment", a.id, a.actor, detail=a.assignee))
    items.sort(key=lambda i: i.sort_key)
    return items
