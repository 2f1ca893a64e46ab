"""What the review queue, the case page and the history show: frozen view types, and the builders
that make them from the store's records (``tutela.store.queries.cases``).

**A line's own indicators** (:func:`line_indicators`): since migration 0008 a decision records
the ids its line raised itself (``DecisionRecord.line_indicators``, filled by the live engine
from the assessment's hits on that line; a display aid, not part of the ledger payload), and a
contact line shows exactly those, a repeated indicator included. Older decisions (``None``) list
only the distinct indicators of the conversation *so far* (``tutela.policy.Policy.decide``: every
hit up to its line), so for them the own indicators are derived: those the decision lists that
no decision after an earlier line of the conversation listed (no re-scoring; an indicator raised
again on a later line shows only on the line that raised it first). An imported conversation's
one decision (``tutela.cases.imports``) lists categories, shown on the line it follows.

The masking rule lives here too (:func:`explicit_lines`): a line is *explicit* when its own
indicators include one of category ``sexual_content`` (indicator ids are
``<lang>.<category>.<name>``), not because an earlier line was; the dashboard masks such a line
until an analyst reveals it (``CaseWorkflow.record_reveal``). For a decision without recorded own
indicators the derivation cannot tell whether a later line repeated an explicit indicator, so it
masks conservatively: such a line is explicit as soon as its decision lists a ``sexual_content``
indicator, i.e. every line from the first explicit one on (innocent later lines of such an old
conversation are masked too; their chips still show the derived indicators).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tutela.domain import Attachment, Category
from tutela.store import CaseRecord, ConversationRecord, DecisionRecord, MessageRecord
from tutela.store.queries.cases import (
    CaseEventRecord,
    CaseFacts,
    DecisionLine,
    IdentityRecord,
    ReferralRecord,
)

__all__ = [
    "EXPLICIT_CATEGORY",
    "SYSTEM",
    "CaseDetail",
    "CaseEvent",
    "CaseSummary",
    "ConversationView",
    "IdentityView",
    "MessageView",
    "Referral",
    "conversation_view",
    "event_view",
    "explicit_lines",
    "explicit_messages",
    "identity_views",
    "is_explicit",
    "line_indicators",
    "referral_view",
    "summary_view",
]

SYSTEM = "system"
"""The actor name of what no user did (a policy proposal, a retention purge)."""
EXPLICIT_CATEGORY = Category.SEXUAL_CONTENT.value


@dataclass(frozen=True, slots=True)
class CaseSummary:
    """One row of the review queue.

    ``risk``: max decision risk over the contact's conversations, in [0, 1] (0.0 without
    decisions). ``last_activity``: latest message time (aware UTC) or ``None``. ``warnings``:
    deterrence warnings sent (``tutela.domain.is_warning``). ``last_action``: action of the latest
    policy decision (``continue``/``deter``/``escalate``/``refer``) or ``None``. ``last_event``:
    latest human action (``EventAction`` value) or ``None``. ``identities``: number of linked
    identities. ``pending_referral``: id of the referral awaiting a decision, if any.
    ``strongest_action``: the strongest action taken on the case (``refer`` > ``escalate`` >
    ``deter`` > ``watch``; ``None``: none yet) and ``strongest_at`` its time (aware UTC);
    ``returns``: how many times the contact came back after a warning (the queue's second key);
    ``returned``: the contact came back (escalated, warned or referred again) after the case was
    dismissed or referred, and no user has acted on it since (``tutela.cases.queue``).
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
    strongest_action: str | None = None
    strongest_at: datetime | None = None
    returns: int = 0
    returned: bool = False


@dataclass(frozen=True, slots=True)
class IdentityView:
    """A linked identity and the message it was read from (``source_*`` ``None`` when it came
    from the platform itself, e.g. the sender id, or the message was purged).
    ``source_explicit``: that line's own indicators (:func:`line_indicators`) include a
    ``sexual_content`` one, so
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
    ``indicators``: the indicator ids this line itself raised (inbound only; the module
    docstring's rule, :func:`line_indicators`).
    ``explicit``: one of them is of category ``sexual_content`` (or, for a decision without
    recorded own indicators, the conservative rule of :func:`explicit_lines`): the dashboard
    masks the text until an analyst reveals it (``CaseWorkflow.record_reveal``).
    ``conversation_id``: the conversation it belongs to (``None`` only for a view built without
    one).
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
    conversation_id: int | None = None


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


def is_explicit(indicator_id: str) -> bool:
    """True for an indicator id whose category (second dotted part) is ``sexual_content``."""
    parts = indicator_id.split(".")
    return len(parts) >= 2 and parts[1] == EXPLICIT_CATEGORY


def event_view(record: CaseEventRecord) -> CaseEvent:
    """The history entry of one stored case event."""
    return CaseEvent(
        id=record.id,
        case_id=record.case_id,
        at=record.at,
        actor=record.actor,
        action=record.action,
        note=record.note,
        details=dict(record.details),
    )


def referral_view(record: ReferralRecord) -> Referral:
    """The referral of one stored row (a proposal without a proposer is ``system``'s)."""
    return Referral(
        id=record.id,
        case_id=record.case_id,
        status=record.status,
        proposed_by=record.proposed_by,
        proposed_by_name=record.proposed_by_name or SYSTEM,
        proposed_at=record.proposed_at,
        note=record.note,
        decided_by=record.decided_by,
        decided_by_name=record.decided_by_name,
        decided_at=record.decided_at,
        decision_note=record.decision_note,
    )


def summary_view(facts: CaseFacts) -> CaseSummary:
    """The queue row of one case (``risk`` 0.0 without decisions; strongest action, returns
    and the returned flag as ``facts`` has them, ``tutela.cases.queue``)."""
    c = facts.case
    return CaseSummary(
        case_id=c.id,
        contact_id=c.contact_id,
        status=c.status,
        risk=facts.max_risk if facts.max_risk is not None else 0.0,
        last_activity=facts.last_activity,
        n_conversations=len(facts.pairs),
        platforms=tuple(sorted({p for _, p in facts.pairs})),
        personas=tuple(sorted({p for p, _ in facts.pairs})),
        warnings=facts.warnings,
        last_action=facts.last_action,
        identities=facts.identities,
        last_event=facts.last_event,
        pending_referral=facts.pending_referral,
        strongest_action=facts.strongest,
        strongest_at=facts.strongest_at,
        returns=facts.returns,
        returned=facts.returned,
    )


DecisionIndicators = tuple[int, Sequence[str]] | tuple[int, Sequence[str], Sequence[str] | None]
"""One decision as :func:`line_indicators` reads it: ``(after_line, indicator ids so far)`` or
``(after_line, indicator ids so far, the line's own ids or None)``."""


def _per_line(
    decisions: Iterable[DecisionIndicators],
) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """``({after_line: ids listed so far}, {after_line: own ids, where recorded}})``."""
    listed: dict[int, list[str]] = defaultdict(list)
    own: dict[int, list[str]] = {}
    for d in decisions:
        after_line, inds = d[0], d[1]
        for ind in inds:
            if str(ind) not in listed[after_line]:
                listed[after_line].append(str(ind))
        mine = d[2] if len(d) > 2 else None
        if mine is not None:
            kept = own.setdefault(after_line, [])
            kept.extend(str(i) for i in mine if str(i) not in kept)
    return listed, own


def line_indicators(
    decisions: Iterable[DecisionIndicators], *, seen: Iterable[str] = ()
) -> dict[int, tuple[str, ...]]:
    """Each contact line's own indicators (the module docstring's rule).

    ``decisions``: one conversation's decisions, any order (:data:`DecisionIndicators`; a third
    item, the line's recorded own ids, is used as is); ``seen``: indicators already listed by
    decisions before the earliest of them (the live feed shows only the latest lines). Returns
    ``{after_line: own ids}`` in the decision's own order (strongest first); a line whose
    decision raised nothing (new, when derived) maps to ``()``."""
    listed, own = _per_line(decisions)
    known = {str(i) for i in seen}
    out: dict[int, tuple[str, ...]] = {}
    for line in sorted(listed):
        if line in own:
            out[line] = tuple(own[line])
        else:
            out[line] = tuple(i for i in listed[line] if i not in known)
        known.update(listed[line])
        known.update(own.get(line, ()))
    return out


def explicit_lines(decisions: Iterable[DecisionIndicators]) -> set[int]:
    """The ``after_line`` of each decided line to mask as explicit (the module docstring's
    rule): its recorded own ids include a ``sexual_content`` one or, not recorded, the ids its
    decision lists (the conversation's so far) do."""
    listed, own = _per_line(decisions)
    return {
        line for line, inds in listed.items() if any(is_explicit(i) for i in own.get(line, inds))
    }


def conversation_view(
    c: ConversationRecord, msgs: Sequence[MessageRecord], decs: Sequence[DecisionRecord]
) -> ConversationView:
    """A conversation with its messages (``seq`` order) and decisions (taken order); each
    inbound line carries the indicators it raised itself (:func:`line_indicators`)."""
    decided = [(d.after_line, d.indicators, d.line_indicators) for d in decs]
    by_line = line_indicators(decided)
    explicit = explicit_lines(decided)
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
                explicit=m.contact_line is not None and m.contact_line in explicit,
                purged=m.purged_at is not None,
                attachments=m.attachments,
                conversation_id=m.conversation_id,
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
        decisions=tuple(decs),
        provenance=(c.state or {}).get("provenance"),
    )


def explicit_messages(messages: Iterable[MessageRecord], lines: Iterable[DecisionLine]) -> set[int]:
    """Ids of the inbound ``messages`` masked as explicit (:func:`explicit_lines` over
    ``lines``, all decisions of their conversations; the rule of ``MessageView.explicit``)."""
    wanted = {
        (m.conversation_id, m.contact_line): m.id for m in messages if m.contact_line is not None
    }
    per_conv: dict[int, list[DecisionIndicators]] = defaultdict(list)
    for line in lines:
        per_conv[line.conversation_id].append(
            (line.after_line, line.indicators, line.line_indicators)
        )
    out: set[int] = set()
    for conv, decs in per_conv.items():
        for after_line in explicit_lines(decs):
            mid = wanted.get((conv, after_line))
            if mid is not None:
                out.add(mid)
    return out


def identity_views(
    identities: Iterable[IdentityRecord], explicit: set[int]
) -> tuple[IdentityView, ...]:
    """The identity list of a case page (``explicit``: ids of masked source lines)."""
    out = []
    for i in identities:
        m = i.source
        out.append(
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
                source_explicit=m is not None and m.id in explicit,
            )
        )
    return tuple(out)
