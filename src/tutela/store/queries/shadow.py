"""Reads and writes of shadow-policy decisions (``shadow_decisions``): what a candidate policy
would have decided after an inbound message, beside what the active policy decided. Nothing
here acts: a shadow decision sends nothing, changes no case and is not a ledger decision.

Shadow decisions are research data about a policy, not evidence about a contact: they are not
chained in the ledger (an evidence package never discloses what a policy that did not run would
have done). What binds them to the policy file is the run-start audit row
(:func:`record_shadow_start`, with its ``audit`` ledger entry), naming the file's SHA-256 that
every shadow row repeats (``policy_sha256``).

Agreement (:func:`shadow_summary`): a shadow decision *agrees* with the active one when both have
the same action and both send a warning or neither does (``tutela.domain.is_warning``; the
variant's name is not compared, the rotation picks it). Errors: ``StoreError`` (database),
``NotFoundError`` (unknown message), ``InputError`` (audit details that are not canonical JSON).
See ``docs/architecture.md`` (store: the only SQL speaker).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tutela.domain import Action, is_warning
from tutela.store.engine import Store
from tutela.store.errors import NotFoundError, StoreError
from tutela.store.models import ConversationRow, MessageRow, ShadowDecisionRow

if TYPE_CHECKING:
    from tutela.store.recorder import Recorder

__all__ = [
    "SHADOW_STARTED",
    "ShadowDisagreement",
    "ShadowRecord",
    "ShadowSummary",
    "record_shadow",
    "record_shadow_start",
    "shadow_summary",
]

SHADOW_STARTED = "shadow_policy_started"
"""Audit action of :func:`record_shadow_start` (target ``policy:<sha256>``)."""


@dataclass(frozen=True, slots=True)
class ShadowRecord:
    """One ``shadow_decisions`` row."""

    id: int
    message_id: int
    conversation_id: int
    policy_sha256: str
    policy_name: str
    action: str
    variant: str | None
    rule: str
    active_action: str
    active_variant: str | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: ShadowDecisionRow) -> ShadowRecord:
        """The record of one ``ShadowDecisionRow`` (detached)."""
        return cls(
            id=row.id,
            message_id=row.message_id,
            conversation_id=row.conversation_id,
            policy_sha256=row.policy_sha256,
            policy_name=row.policy_name,
            action=row.action,
            variant=row.variant,
            rule=row.rule,
            active_action=row.active_action,
            active_variant=row.active_variant,
            created_at=row.created_at,
        )


@dataclass(frozen=True, slots=True)
class ShadowDisagreement:
    """A line where the shadow policy would have done otherwise: the conversation, the contact's
    line number (``None`` for a message without one), both decisions and the shadow's rule."""

    id: int
    conversation_id: int
    line: int | None
    active_action: str
    active_variant: str | None
    action: str
    variant: str | None
    rule: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ShadowSummary:
    """The comparison of one shadow policy (by file SHA-256) with the active decisions.

    ``compared``: shadow decisions recorded; ``agreed``: those agreeing (module docstring);
    ``agreement``: ``agreed / compared`` in [0, 1] (``None`` without decisions).
    ``extra_warnings``/``fewer_warnings``: the shadow would warn where the active did not / the
    active warned where the shadow would not; ``extra_referrals``/``extra_escalations``: the
    shadow's action is ``refer``/``escalate`` where the active's is not; ``stricter``/``looser``:
    the shadow's action ranks above/below the active's (``Action.rank``). ``disagreements``:
    the newest disagreeing lines, newest first (at most the ``limit`` given).
    """

    policy_sha256: str
    policy_name: str
    compared: int
    agreed: int
    extra_warnings: int
    fewer_warnings: int
    extra_referrals: int
    extra_escalations: int
    stricter: int
    looser: int
    first_at: datetime
    last_at: datetime
    disagreements: tuple[ShadowDisagreement, ...]

    @property
    def agreement(self) -> float | None:
        """``agreed / compared`` (``None`` when nothing was compared)."""
        return self.agreed / self.compared if self.compared else None


def record_shadow(
    recorder: Recorder,
    *,
    message_id: int,
    conversation_id: int,
    policy_sha256: str,
    policy_name: str,
    action: str,
    variant: str | None,
    rule: str,
    active_action: str,
    active_variant: str | None,
) -> ShadowRecord:
    """Record one shadow decision (``created_at`` = the recorder's clock) in one transaction;
    no ledger entry (module docstring). ``NotFoundError``: unknown message or conversation."""

    def _work(s: Session) -> ShadowRecord:
        row = ShadowDecisionRow(
            message_id=message_id,
            conversation_id=conversation_id,
            policy_sha256=policy_sha256,
            policy_name=policy_name[:200],
            action=action,
            variant=variant,
            rule=rule[:200],
            active_action=active_action,
            active_variant=active_variant,
            created_at=recorder._now(),
        )
        s.add(row)
        s.flush()
        return ShadowRecord.from_row(row)

    try:
        return recorder.store.write(_work)
    except StoreError as e:
        if isinstance(e.__cause__, IntegrityError):
            raise NotFoundError(f"message {message_id} does not exist") from e
        raise


def record_shadow_start(
    recorder: Recorder, *, policy_sha256: str, policy_name: str, path: str, actor: str = "system"
) -> int:
    """Audit that a run evaluates the shadow policy ``path`` (file SHA-256 ``policy_sha256``):
    a :data:`SHADOW_STARTED` audit row ``{policy_sha256, policy_name, path}`` with its ``audit``
    ledger entry, one transaction; returns the row id."""
    details = {"policy_sha256": policy_sha256, "policy_name": policy_name, "path": path}
    return recorder.record_audit(actor, SHADOW_STARTED, f"policy:{policy_sha256}", details)


def _warns(action: str, has_variant: bool) -> bool:
    """``is_warning`` of an action whose variant is only known to be set or not."""
    return is_warning(action, "variant" if has_variant else None)


def _agrees(action: str, warn: bool, active: str, active_warn: bool) -> bool:
    return action == active and warn == active_warn


def shadow_summary(
    store: Store,
    policy_sha256: str | None = None,
    *,
    limit: int = 200,
    operations: frozenset[int] | None = None,
) -> list[ShadowSummary]:
    """One :class:`ShadowSummary` per shadow policy (only ``policy_sha256`` when given), the
    most recently evaluated first; ``limit`` (>= 0) disagreements each. Counts come from one
    grouped query, the disagreements from one query per policy. ``operations``: only decisions
    in conversations of these operations (a reader's grants, ``tutela.cases.scope``); ``None``:
    all."""
    has_v = ShadowDecisionRow.variant.is_not(None)
    has_av = ShadowDecisionRow.active_variant.is_not(None)
    q = select(
        ShadowDecisionRow.policy_sha256,
        ShadowDecisionRow.action,
        has_v,
        ShadowDecisionRow.active_action,
        has_av,
        func.count(ShadowDecisionRow.id),
        func.max(ShadowDecisionRow.policy_name),
        func.min(ShadowDecisionRow.created_at),
        func.max(ShadowDecisionRow.created_at),
    ).group_by(
        ShadowDecisionRow.policy_sha256,
        ShadowDecisionRow.action,
        has_v,
        ShadowDecisionRow.active_action,
        has_av,
    )
    if policy_sha256 is not None:
        q = q.where(ShadowDecisionRow.policy_sha256 == policy_sha256)
    if operations is not None:
        q = q.where(_in_operations(operations))
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    names: dict[str, str] = {}
    spans: dict[str, tuple[datetime, datetime]] = {}
    with store.session() as s:
        for sha, action, v, active, av, n, name, first, last in s.execute(q).all():
            c = counts[sha]
            names[sha] = max(names.get(sha, ""), name)
            old = spans.get(sha, (first, last))
            spans[sha] = (min(old[0], first), max(old[1], last))
            c["compared"] += n
            warn, active_warn = _warns(action, bool(v)), _warns(active, bool(av))
            if _agrees(action, warn, active, active_warn):
                c["agreed"] += n
            c["extra_warnings"] += n if warn and not active_warn else 0
            c["fewer_warnings"] += n if active_warn and not warn else 0
            c["extra_referrals"] += n if action == Action.REFER and active != Action.REFER else 0
            c["extra_escalations"] += (
                n if action == Action.ESCALATE and active != Action.ESCALATE else 0
            )
            rank, active_rank = _rank(action), _rank(active)
            c["stricter"] += n if rank > active_rank else 0
            c["looser"] += n if rank < active_rank else 0
        out = []
        for sha in sorted(spans, key=lambda k: spans[k][1], reverse=True):
            c = counts[sha]
            out.append(
                ShadowSummary(
                    policy_sha256=sha,
                    policy_name=names[sha],
                    compared=c["compared"],
                    agreed=c["agreed"],
                    extra_warnings=c["extra_warnings"],
                    fewer_warnings=c["fewer_warnings"],
                    extra_referrals=c["extra_referrals"],
                    extra_escalations=c["extra_escalations"],
                    stricter=c["stricter"],
                    looser=c["looser"],
                    first_at=spans[sha][0],
                    last_at=spans[sha][1],
                    disagreements=_disagreements(s, sha, max(0, limit), operations),
                )
            )
    return out


def _rank(action: str) -> int:
    try:
        return Action(action).rank
    except ValueError:  # pragma: no cover - only the engine writes these rows
        return -1


def _in_operations(operations: frozenset[int]) -> Any:
    return ShadowDecisionRow.conversation_id.in_(
        select(ConversationRow.id).where(ConversationRow.operation_id.in_(sorted(operations)))
    )


def _disagreements(
    s: Session, sha: str, limit: int, operations: frozenset[int] | None
) -> tuple[ShadowDisagreement, ...]:
    if limit == 0:
        return ()
    r = ShadowDecisionRow
    scoped = () if operations is None else (_in_operations(operations),)
    rows = s.execute(
        select(r, MessageRow.contact_line)
        .join(MessageRow, MessageRow.id == r.message_id)
        .where(
            *scoped,
            r.policy_sha256 == sha,
            or_(
                r.action != r.active_action,
                r.variant.is_(None) != r.active_variant.is_(None),
            ),
        )
        .order_by(r.id.desc())
        .limit(limit)
    ).all()
    out = []
    for row, line in rows:
        warn = is_warning(row.action, row.variant)
        active_warn = is_warning(row.active_action, row.active_variant)
        if _agrees(row.action, warn, row.active_action, active_warn):
            continue  # a variant on a non-warning action: not a disagreement
        out.append(
            ShadowDisagreement(
                id=row.id,
                conversation_id=row.conversation_id,
                line=line,
                active_action=row.active_action,
                active_variant=row.active_variant,
                action=row.action,
                variant=row.variant,
                rule=row.rule,
                created_at=row.created_at,
            )
        )
    return tuple(out)
