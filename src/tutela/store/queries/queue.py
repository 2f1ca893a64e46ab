"""The review queue in SQL: per-case severity facts, search, filters, sorting and keyset pages.

The rules of severity are the workflow's (``tutela.cases.queue``, which documents them); they
are handed in as a :class:`SeverityRules` value, so this module holds no business rule, only
their SQL form. Per case it computes, in one statement on SQLite and PostgreSQL:

- ``rank``: the strongest level reached (1-based index into ``SeverityRules.levels``, 0: none)
  over the contact's policy decisions (by action; a decision at ``referral_level`` recorded
  before the case's latest ``rejecting_events`` event counts as ``rejected_level``), the
  case's referrals (by status) and its case events (by action); ``strongest_at``: the latest
  time that level was reached (decision ``created_at``, referral ``decided_at`` or else
  ``proposed_at``, event ``at``).
- ``returns``: the contact's conversations (with an inbound line) whose first decision has a
  larger ledger sequence number than the contact's first warning (``warning_clause``): ledger
  order, whatever clock stamped the messages (as ``tutela.research.stats`` and
  ``tutela.web.timeline.returns``).
- ``returned``: the latest case event by a user (actor not ``system_actor``, action not one of
  ``passive_events``) is one of ``closing_events`` (or has a ``closing_reasons`` reason) and
  a *return decision* (action in ``return_actions``, or a warning) was recorded after it.
  "After" compares ledger sequence numbers (``decisions.ledger_seq`` against the event's
  ``review_seq``), which order every write whatever clock stamped it.
- ``risk``: max decision risk (0.0 without decisions); ``last_activity``: latest message time;
  ``activity_key``: ``last_activity``, or the case's ``opened_at`` without messages (sort and
  date filter key, never NULL).

Pages are keyset pages (no OFFSET): a page starts strictly after (or ends strictly before) the
sort key of a row, so concurrent inserts never duplicate or skip rows already seen
(Winand, *SQL Performance Explained*, "Paging Through Results"). See ``docs/architecture.md``
(store: the only SQL speaker).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import Subquery

from tutela.store.engine import Store
from tutela.store.models import (
    CaseEventRow,
    CaseRow,
    ConversationRow,
    DecisionRow,
    IdentityRow,
    MessageRow,
    OperationRow,
    ReferralRow,
)
from tutela.store.queries.common import warning_clause

__all__ = [
    "SORT_KEYS",
    "QueueChoices",
    "QueueFilter",
    "QueuePage",
    "QueueRow",
    "SeverityRules",
    "queue_choices",
    "queue_page",
    "row_key",
    "severity_facts",
]

SORT_KEYS = ("severity", "risk", "activity", "case")
"""Sort orders of :func:`queue_page` (module docstring of ``tutela.cases.queue``)."""


@dataclass(frozen=True, slots=True)
class SeverityRules:
    """The workflow's severity rules as plain values (``tutela.cases.queue.SEVERITY``).

    ``levels``: level names, weakest first; ``decision_levels``/``event_levels``: ``(action,
    level)`` pairs; ``referral_statuses``: referral statuses that reach ``referral_level``;
    ``return_actions``: decision actions that make a contact *return* (warnings always do);
    ``closing_events``: user event actions that take a case out of review; ``passive_events``:
    user event actions that are not acting on the case; ``system_actor``: the actor name of
    what no user did; ``rejecting_events``: case event actions (a supervisor's rejection)
    after which earlier decisions at ``referral_level`` reach ``rejected_level`` instead
    (``None``: no level), ledger order; ``closing_reasons``: ``details["reason"]`` values that
    make any user event a closing one (an acknowledged return)."""

    levels: tuple[str, ...]
    decision_levels: tuple[tuple[str, str], ...]
    event_levels: tuple[tuple[str, str], ...]
    referral_level: str
    referral_statuses: tuple[str, ...]
    return_actions: tuple[str, ...]
    closing_events: tuple[str, ...]
    passive_events: tuple[str, ...]
    system_actor: str
    rejecting_events: tuple[str, ...] = ()
    rejected_level: str | None = None
    closing_reasons: tuple[str, ...] = ()

    def rank(self, level: str | None) -> int:
        """1-based rank of ``level`` (0 for ``None``); ``KeyError`` for an unknown level."""
        if level is None:
            return 0
        if level not in self.levels:
            raise KeyError(level)
        return self.levels.index(level) + 1

    def level(self, rank: int) -> str | None:
        """The level of ``rank`` (``None`` for 0)."""
        return self.levels[rank - 1] if rank > 0 else None


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """Which cases a page lists; every field given must match (empty tuple / ``None``: any).

    ``statuses``: case statuses; ``returned_statuses``: further statuses listed when the case
    is *returned*. ``identity``/``text``: substrings (case-insensitive, ``%``/``_`` literal) of
    an identity value of the contact / of a message text of its conversations. ``platforms``,
    ``personas``, ``languages``, ``operations``: one of the contact's conversations has one of
    them. ``levels``: strongest level (``None`` in it: no action yet). ``active_from``/
    ``active_before``: ``activity_key`` in ``[from, before)``. ``min_risk``: ``risk >=``.
    ``scope``: operation ids every conversation of the contact must belong to (``None``: any).
    """

    statuses: tuple[str, ...]
    returned_statuses: tuple[str, ...] = ()
    identity: str | None = None
    text: str | None = None
    platforms: tuple[str, ...] = ()
    personas: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    operations: tuple[int, ...] = ()
    levels: tuple[str | None, ...] = ()
    active_from: datetime | None = None
    active_before: datetime | None = None
    min_risk: float | None = None
    scope: frozenset[int] | None = None


@dataclass(frozen=True, slots=True)
class QueueRow:
    """The severity facts of one case (module docstring); ``strongest``: level name or None."""

    case_id: int
    contact_id: int
    status: str
    strongest: str | None
    strongest_at: datetime | None
    returns: int
    returned: bool
    risk: float
    last_activity: datetime | None
    activity_key: datetime


@dataclass(frozen=True, slots=True)
class QueuePage:
    """One page: ``rows`` in sort order, ``total`` matching cases (all pages), and the keys to
    ask for the next page (``after``) and the previous one (``before``), ``None`` at an end."""

    rows: tuple[QueueRow, ...]
    total: int
    next_key: tuple[Any, ...] | None = None
    prev_key: tuple[Any, ...] | None = None


def _key_fields(sort: str) -> list[str]:
    return {
        "severity": ["rank", "returns", "risk", "activity_key", "case_id"],
        "risk": ["risk", "rank", "returns", "activity_key", "case_id"],
        "activity": ["activity_key", "case_id"],
        "case": ["case_id"],
    }[sort]


def _facts_select(rules: SeverityRules) -> Select[Any]:
    """One row per case with the columns of :class:`QueueRow` (module docstring)."""
    conv = ConversationRow
    dec_levels = dict(rules.decision_levels)
    ev_levels = dict(rules.event_levels)
    event_seq = CaseEventRow.details["review_seq"].as_integer()
    rejected = (
        exists()
        .where(
            CaseEventRow.case_id == CaseRow.id,
            CaseEventRow.action.in_(rules.rejecting_events),
            event_seq > DecisionRow.ledger_seq,
        )
        .correlate(CaseRow, DecisionRow)
    )
    dec_rank = sql_case(
        *(
            (
                DecisionRow.action == a,
                (
                    sql_case((rejected, rules.rank(rules.rejected_level)), else_=rules.rank(lv))
                    if lv == rules.referral_level and rules.rejecting_events
                    else rules.rank(lv)
                ),
            )
            for a, lv in dec_levels.items()
        ),
        else_=0,
    )
    ev_rank = sql_case(
        *((CaseEventRow.action == a, rules.rank(lv)) for a, lv in ev_levels.items()), else_=0
    )
    acts = union_all(
        select(
            CaseRow.id.label("case_id"),
            dec_rank.label("rank"),
            DecisionRow.created_at.label("at"),
        )
        .join(conv, conv.contact_id == CaseRow.contact_id)
        .join(DecisionRow, DecisionRow.conversation_id == conv.id)
        .where(DecisionRow.action.in_(list(dec_levels))),
        select(
            ReferralRow.case_id,
            literal(rules.rank(rules.referral_level)),
            func.coalesce(ReferralRow.decided_at, ReferralRow.proposed_at),
        ).where(ReferralRow.status.in_(rules.referral_statuses)),
        select(CaseEventRow.case_id, ev_rank, CaseEventRow.at).where(
            CaseEventRow.action.in_(list(ev_levels))
        ),
    ).subquery("acts")
    best = (
        select(acts.c.case_id, func.max(acts.c.rank).label("rank"))
        .group_by(acts.c.case_id)
        .subquery("best")
    )
    best_at = (
        select(acts.c.case_id, best.c.rank, func.max(acts.c.at).label("at"))
        .join(best, and_(best.c.case_id == acts.c.case_id, best.c.rank == acts.c.rank))
        .group_by(acts.c.case_id, best.c.rank)
        .subquery("best_at")
    )
    risk = (
        select(conv.contact_id, func.max(DecisionRow.risk).label("risk"))
        .join(conv, conv.id == DecisionRow.conversation_id)
        .group_by(conv.contact_id)
        .subquery("risk")
    )
    activity = (
        select(conv.contact_id, func.max(MessageRow.at).label("at"))
        .join(conv, conv.id == MessageRow.conversation_id)
        .group_by(conv.contact_id)
        .subquery("activity")
    )
    first_warn = (
        select(conv.contact_id, func.min(DecisionRow.ledger_seq).label("seq"))
        .join(conv, conv.id == DecisionRow.conversation_id)
        .where(warning_clause())
        .group_by(conv.contact_id)
        .subquery("first_warn")
    )
    has_inbound = exists().where(
        MessageRow.conversation_id == DecisionRow.conversation_id, MessageRow.direction == "in"
    )
    began = (
        select(
            DecisionRow.conversation_id,
            conv.contact_id,
            func.min(DecisionRow.ledger_seq).label("seq"),
        )
        .join(conv, conv.id == DecisionRow.conversation_id)
        .where(has_inbound)
        .group_by(DecisionRow.conversation_id, conv.contact_id)
        .subquery("began")
    )
    returns = (
        select(began.c.contact_id, func.count().label("n"))
        .join(first_warn, first_warn.c.contact_id == began.c.contact_id)
        .where(began.c.seq > first_warn.c.seq)
        .group_by(began.c.contact_id)
        .subquery("returns")
    )
    last_user = (
        select(CaseEventRow.case_id, func.max(CaseEventRow.id).label("id"))
        .where(
            CaseEventRow.actor != rules.system_actor,
            CaseEventRow.action.not_in(rules.passive_events),
        )
        .group_by(CaseEventRow.case_id)
        .subquery("last_user")
    )
    last_event = (
        select(
            CaseEventRow.case_id,
            CaseEventRow.action,
            CaseEventRow.details["reason"].as_string().label("reason"),
            CaseEventRow.details["review_seq"].as_integer().label("seq"),
        )
        .join(last_user, last_user.c.id == CaseEventRow.id)
        .subquery("last_event")
    )
    came_back = (
        exists()
        .where(
            conv.contact_id == CaseRow.contact_id,
            DecisionRow.conversation_id == conv.id,
            or_(DecisionRow.action.in_(rules.return_actions), warning_clause()),
            DecisionRow.ledger_seq > last_event.c.seq,
        )
        .correlate(CaseRow, last_event)
    )
    closing: ColumnElement[bool] = last_event.c.action.in_(rules.closing_events)
    if rules.closing_reasons:
        closing = or_(closing, last_event.c.reason.in_(rules.closing_reasons))
    returned = sql_case((and_(closing, came_back), 1), else_=0)
    return (
        select(
            CaseRow.id.label("case_id"),
            CaseRow.contact_id.label("contact_id"),
            CaseRow.status.label("status"),
            func.coalesce(best_at.c.rank, 0).label("rank"),
            best_at.c.at.label("strongest_at"),
            func.coalesce(returns.c.n, 0).label("returns"),
            returned.label("returned"),
            func.coalesce(risk.c.risk, 0.0).label("risk"),
            activity.c.at.label("last_activity"),
            func.coalesce(activity.c.at, CaseRow.opened_at).label("activity_key"),
        )
        .outerjoin(best_at, best_at.c.case_id == CaseRow.id)
        .outerjoin(returns, returns.c.contact_id == CaseRow.contact_id)
        .outerjoin(risk, risk.c.contact_id == CaseRow.contact_id)
        .outerjoin(activity, activity.c.contact_id == CaseRow.contact_id)
        .outerjoin(last_event, last_event.c.case_id == CaseRow.id)
    )


def _row(rules: SeverityRules, r: Any) -> QueueRow:
    return QueueRow(
        case_id=int(r.case_id),
        contact_id=int(r.contact_id),
        status=str(r.status),
        strongest=rules.level(int(r.rank)),
        strongest_at=r.strongest_at,
        returns=int(r.returns),
        returned=bool(r.returned),
        risk=float(r.risk),
        last_activity=r.last_activity,
        activity_key=r.activity_key,
    )


def severity_facts(
    session: Session, case_ids: Sequence[int], rules: SeverityRules
) -> dict[int, QueueRow]:
    """``{case id: QueueRow}`` of the existing cases among ``case_ids``, in ``session``."""
    if not case_ids:
        return {}
    facts = _facts_select(rules).subquery("facts")
    rows = session.execute(select(facts).where(facts.c.case_id.in_(list(case_ids)))).all()
    return {int(r.case_id): _row(rules, r) for r in rows}


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(f: QueueFilter, facts: Subquery, rules: SeverityRules) -> list[ColumnElement[bool]]:
    conv = ConversationRow
    of_contact = conv.contact_id == facts.c.contact_id
    status: ColumnElement[bool] = facts.c.status.in_(f.statuses)
    if f.returned_statuses:
        status = or_(status, and_(facts.c.returned == 1, facts.c.status.in_(f.returned_statuses)))
    out: list[ColumnElement[bool]] = [status]
    if f.scope is not None:
        outside = exists().where(of_contact, conv.operation_id.not_in(sorted(f.scope)))
        out.append(~outside)
    for values, column in (
        (f.platforms, conv.platform),
        (f.personas, conv.persona_id),
        (f.languages, conv.lang),
        (f.operations, conv.operation_id),
    ):
        if values:
            out.append(exists().where(of_contact, column.in_(list(values))))
    if f.identity:
        out.append(
            exists().where(
                IdentityRow.contact_id == facts.c.contact_id,
                IdentityRow.value.ilike(_like(f.identity), escape="\\"),
            )
        )
    if f.text:
        out.append(
            exists().where(
                of_contact,
                MessageRow.conversation_id == conv.id,
                MessageRow.text.ilike(_like(f.text), escape="\\"),
            )
        )
    if f.levels:
        out.append(facts.c.rank.in_([rules.rank(lv) for lv in f.levels]))
    if f.active_from is not None:
        out.append(facts.c.activity_key >= f.active_from)
    if f.active_before is not None:
        out.append(facts.c.activity_key < f.active_before)
    if f.min_risk is not None:
        out.append(facts.c.risk >= f.min_risk)
    return out


def _order(facts: Subquery, sort: str, descending: bool) -> list[tuple[Any, bool]]:
    """``(column, descending)`` per key; the case id tie-break runs against the main order
    (lower ids first among equal cases when descending), except when it is the main key."""
    cols = _key_fields(sort)
    out = []
    for name in cols:
        flip = name == "case_id" and len(cols) > 1
        out.append((facts.c[name], descending != flip))
    return out


def _after(order: list[tuple[Any, bool]], key: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after ``key`` in ``order`` (an OR of prefixes, for mixed directions)."""
    terms: list[ColumnElement[bool]] = []
    for i, (col, desc) in enumerate(order):
        equal = [c == key[j] for j, (c, _) in enumerate(order[:i])]
        terms.append(and_(*equal, col < key[i] if desc else col > key[i]))
    return or_(*terms) if terms else false()


def queue_page(
    store: Store,
    flt: QueueFilter,
    rules: SeverityRules,
    *,
    sort: str = "severity",
    descending: bool = True,
    after: Sequence[Any] | None = None,
    before: Sequence[Any] | None = None,
    limit: int = 50,
) -> QueuePage:
    """One keyset page of the cases matching ``flt`` in ``sort`` order (:data:`SORT_KEYS`;
    ``descending`` reverses every key), at most ``limit`` rows, strictly after the key
    ``after`` or strictly before ``before`` (at most one of them; keys as
    :func:`row_key` gives them). ``KeyError``/``ValueError`` for a sort or key that does
    not fit (the caller validates first)."""
    if sort not in SORT_KEYS:
        raise KeyError(sort)
    if after is not None and before is not None:
        raise ValueError("give after or before, not both")
    facts = _facts_select(rules).subquery("facts")
    order = _order(facts, sort, descending)
    key = after if after is not None else before
    if key is not None and len(key) != len(order):
        raise ValueError("the key does not fit the sort")
    conditions = _conditions(flt, facts, rules)
    backwards = before is not None
    with store.session() as s:
        total = int(
            s.execute(select(func.count()).select_from(facts).where(*conditions)).scalar_one()
        )
        page = select(facts).where(*conditions)
        if key is not None:
            flipped = [(c, not d) for c, d in order] if backwards else order
            page = page.where(_after(flipped, key))
        by = [(c.desc() if d != backwards else c.asc()) for c, d in order]
        found = [_row(rules, r) for r in s.execute(page.order_by(*by).limit(limit + 1)).all()]
    more = len(found) > limit
    rows = found[:limit]
    if backwards:
        rows.reverse()
    keyed = [row_key(rules, sort, r) for r in rows]
    if backwards:
        prev_key = keyed[0] if more and rows else None
        next_key = keyed[-1] if rows else None
    else:
        next_key = keyed[-1] if more else None
        prev_key = keyed[0] if after is not None and rows else None
    return QueuePage(rows=tuple(rows), total=total, next_key=next_key, prev_key=prev_key)


def row_key(rules: SeverityRules, sort: str, row: QueueRow) -> tuple[Any, ...]:
    """The keyset key of ``row`` under ``sort``: ``(rank, returns, risk, activity_key,
    case_id)`` for ``severity``, ``(risk, rank, returns, activity_key, case_id)`` for ``risk``,
    ``(activity_key, case_id)`` for ``activity``, ``(case_id,)`` for ``case``."""
    values = {
        "rank": rules.rank(row.strongest),
        "returns": row.returns,
        "risk": row.risk,
        "activity_key": row.activity_key,
        "case_id": row.case_id,
    }
    return tuple(values[name] for name in _key_fields(sort))


@dataclass(frozen=True, slots=True)
class QueueChoices:
    """The values the queue's filters can take: ``platforms``, ``personas``, ``languages`` of
    the conversations, and ``operations`` as ``(id, label)`` (``organisation · authorisation
    reference``), each sorted."""

    platforms: tuple[str, ...]
    personas: tuple[str, ...]
    languages: tuple[str, ...]
    operations: tuple[tuple[int, str], ...]


def queue_choices(store: Store, scope: frozenset[int] | None = None) -> QueueChoices:
    """The filter values of the conversations in ``scope`` (operation ids; ``None``: all)."""
    conv = ConversationRow
    where = [] if scope is None else [conv.operation_id.in_(sorted(scope))]
    with store.session() as s:

        def distinct(column: Any) -> tuple[str, ...]:
            rows = s.execute(select(column).where(*where).distinct()).scalars()
            return tuple(sorted(str(v) for v in rows))

        ops = s.execute(
            select(OperationRow.id, OperationRow.organisation, OperationRow.authorisation_ref)
            .where(OperationRow.id.in_(select(conv.operation_id).where(*where)))
            .order_by(OperationRow.id)
        ).all()
        return QueueChoices(
            platforms=distinct(conv.platform),
            personas=distinct(conv.persona_id),
            languages=distinct(conv.lang),
            operations=tuple((int(i), f"{org} · {ref}") for i, org, ref in ops),
        )
