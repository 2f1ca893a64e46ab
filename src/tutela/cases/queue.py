"""The review queue's rules: severity order, returning contacts, filters, keyset pages.

Order (``sort="severity"``, the default, descending): the **strongest action** taken on the
case first, then **returns**, then calibrated **risk**, then latest **activity**, then the case
id (lower first among otherwise equal cases).

- Strongest action, strongest first: ``refer`` (a policy ``refer`` decision, or a referral
  proposed or approved -- a rejected proposal does not count, nor does a policy ``refer``
  decision recorded before a supervisor's latest ``reject_referral`` of the case, ledger
  order: such a decision counts as ``escalate``), ``escalate`` and ``deter``
  (policy decisions with those actions; a deterrence warning is a ``deter`` decision or a
  stronger one carrying a variant, ``tutela.domain.is_warning``), ``watch`` (an analyst's
  *keep watching* event); ``None`` when nothing was done yet. ``strongest_at`` is the latest
  time that level was reached (decision time, referral decision or proposal time, event time).
  A ``deter`` decision reaches ``deter`` whether or not a warning went out (a legal hold, an
  unanswered line or an ended conversation strip its variant): ``CaseSummary.warnings`` tells
  them apart and the dashboard says "warned" only when one was sent; within the level such a
  case is not ranked below warned ones (returns, then risk decide).
- Returns: how many of the contact's conversations (any persona, platform or linked identity:
  merged contacts share their conversations; with an inbound line) began **after** the
  contact's first warning, in ledger order (the conversation's first decision was recorded
  after the warning decision; clock-independent, as ``tutela.research.stats`` and the case
  page's timeline count them). A later conversation is what the live engine
  opens for a contact who writes again after a warning's quiet period (``tutela.live.session``),
  so this counts the times the contact came back after being warned.
- Risk: max decision risk over the contact's conversations (0.0 without decisions); activity:
  latest message time (the case's opening time when it has no message).

A **returning contact** re-opens its case for review (what analysts expect: a case they closed
comes back to them when the contact does). A *return decision* is a policy decision with action
``escalate`` or ``refer``, or a warning. When one is recorded for a contact whose case is

- ``dismissed`` (or ``purged``): the live engine reopens it (:func:`reopen_returned`): a
  ``reopen`` case event by ``system``, with its audit row and ``review`` ledger entry, naming the
  decision; the case is ``open`` again (and out of the retention purge, which takes only
  dismissed cases), so a ``refer`` decision then becomes a referral proposal as usual.
- ``referred``: it stays referred (the police already hold the referral; a new referral of the
  new material goes through *reopen* then *propose referral*), but is listed in the active
  queue. A user who has looked at the return and sees nothing new for the police
  *acknowledges* it (``CaseWorkflow.acknowledge_return``): a ``watch`` case event that keeps
  the status, with ``details["reason"] = "return_acknowledged"`` (audit row, ``review`` ledger
  entry); the case leaves the active queue until the contact returns again.

Either way the case is flagged **returned** (``CaseSummary.returned``) until a user acts on it
again: the flag is set while the latest case event by a user (not ``system``; revealing a line
is not acting) is a ``dismiss``, an ``approve_referral`` or an acknowledged return, and a
return decision was recorded after it (ledger order). The active queue (``REVIEW_STATUSES``)
also lists returned cases of any status.

Filters (all optional, combined with AND): ``search`` (a substring of an identity value of the
contact: handle, e-mail, phone, payment reference), ``text`` (a substring of a message text of
its conversations; only for roles that may read case content, ``CASE_READERS``, which
``CaseWorkflow`` requires of every queue reader), ``platforms``,
``personas``, ``languages``, ``operations`` (one conversation of the contact has one of them),
``actions`` (strongest action, ``"none"`` for none), ``active_from``/``active_to`` (latest
activity on those UTC days, both inclusive), ``min_risk`` (in [0, 1]). Sorting:
``severity``, ``risk``, ``activity``, ``case``, each ``descending`` or not (ascending reverses
the whole order). Pages are keyset pages of ``page_size`` (default 50, at most 200) with
opaque cursors; ``QueuePage.total`` counts every matching case, so nothing is silently cut off.

Errors: ``InputError`` for a bad filter, sort, page size or cursor (the dashboard answers 422),
``PermissionDenied`` for a reader who may not read case content.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tutela.cases.scope import MAX_ID, valid_id
from tutela.cases.transitions import (
    CaseStatus,
    EventAction,
    ReferralStatus,
    check_transition,
    record_transition,
)
from tutela.cases.views import SYSTEM, CaseEvent, CaseSummary
from tutela.domain import Action, Decision, is_warning
from tutela.errors import InputError
from tutela.store import CaseRecord, Recorder
from tutela.store.queries import cases as case_queries
from tutela.store.queries.queue import SORT_KEYS, QueueFilter, SeverityRules
from tutela.store.queries.queue import queue_page as _queue_page

__all__ = [
    "ACTION_LEVELS",
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "REOPEN_ON_RETURN",
    "SEVERITY",
    "SORT_KEYS",
    "QueuePage",
    "QueueQuery",
    "decode_cursor",
    "encode_cursor",
    "fetch_page",
    "is_return",
    "reopen_returned",
    "store_filter",
]

ACTION_LEVELS = ("refer", "escalate", "deter", "watch")
"""Strongest-action values, strongest first (``CaseSummary.strongest_action``)."""
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_SEARCH = 200
"""Longest search text (characters)."""
REOPEN_ON_RETURN = frozenset({CaseStatus.DISMISSED.value, CaseStatus.PURGED.value})
"""Statuses a return decision reopens (module docstring)."""
RETURN_ACTIONS = (Action.ESCALATE.value, Action.REFER.value)
RETURN_ACKNOWLEDGED = "return_acknowledged"
"""``details["reason"]`` of the ``watch`` event that acknowledges a referred case's return."""

SEVERITY = SeverityRules(
    levels=tuple(reversed(ACTION_LEVELS)),
    decision_levels=tuple(
        (a.value, a.value) for a in (Action.DETER, Action.ESCALATE, Action.REFER)
    ),
    event_levels=((EventAction.WATCH.value, "watch"),),
    referral_level="refer",
    referral_statuses=(ReferralStatus.PROPOSED.value, ReferralStatus.APPROVED.value),
    rejecting_events=(EventAction.REJECT_REFERRAL.value,),
    rejected_level="escalate",
    closing_reasons=(RETURN_ACKNOWLEDGED,),
    return_actions=RETURN_ACTIONS,
    closing_events=(EventAction.DISMISS.value, EventAction.APPROVE_REFERRAL.value),
    passive_events=(EventAction.REVEAL.value,),
    system_actor=SYSTEM,
)
"""The severity rules of the module docstring, as the store's query takes them."""


def is_return(action: Action | str, variant: str | None) -> bool:
    """True for a *return decision* (module docstring): ``escalate``, ``refer`` or a warning."""
    value = action.value if isinstance(action, Action) else action
    return value in RETURN_ACTIONS or is_warning(value, variant)


def _has_control(value: str) -> bool:
    """True when ``value`` holds a control character (NUL included; Unicode category ``Cc``)
    or a lone surrogate (``Cs``): PostgreSQL refuses NUL in text, and no identity, message
    text or filter value needs either."""
    return any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value)


@dataclass(frozen=True, slots=True)
class QueueQuery:
    """A queue request (module docstring); :meth:`validated` checks every field."""

    statuses: tuple[str, ...] = ("open", "watching", "referral_proposed")
    returned: bool = True
    search: str | None = None
    text: str | None = None
    platforms: tuple[str, ...] = ()
    personas: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    operations: tuple[int, ...] = ()
    actions: tuple[str, ...] = ()
    active_from: date | None = None
    active_to: date | None = None
    min_risk: float | None = None
    sort: str = "severity"
    descending: bool = True
    page_size: int = DEFAULT_PAGE_SIZE
    cursor: str | None = None

    def validated(self, *, max_page_size: int | None = MAX_PAGE_SIZE) -> QueueQuery:
        """This query checked; ``InputError`` naming the first bad field."""
        for st in self.statuses:
            if st not in {s.value for s in CaseStatus}:
                raise InputError(f"unknown case status {st!r}")
        if not self.statuses:
            raise InputError("at least one case status is required")
        for name in ("search", "text"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or len(value) > MAX_SEARCH):
                raise InputError(f"{name} must be text of at most {MAX_SEARCH} characters")
            if value is not None and _has_control(value):
                raise InputError(f"{name} must not contain control characters")
        for name in ("platforms", "personas", "languages"):
            for value in getattr(self, name):
                if not isinstance(value, str) or not value.strip() or len(value) > 300:
                    raise InputError(f"{name}: {value!r} is not a valid value")
                if _has_control(value):
                    raise InputError(f"{name}: a value must not contain control characters")
        for op in self.operations:
            if isinstance(op, bool) or not isinstance(op, int) or not 1 <= op <= 2**31 - 1:
                raise InputError(f"operations: {op!r} is not an operation id")
        for a in self.actions:
            if a not in (*ACTION_LEVELS, "none"):
                raise InputError(f"unknown action {a!r} (one of {', '.join(ACTION_LEVELS)}, none)")
        if self.min_risk is not None and (
            isinstance(self.min_risk, bool)
            or not isinstance(self.min_risk, int | float)
            or not 0.0 <= float(self.min_risk) <= 1.0
        ):
            raise InputError(f"min_risk must be between 0 and 1, got {self.min_risk!r}")
        for name in ("active_from", "active_to"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, date) or isinstance(value, datetime)):
                raise InputError(f"{name} must be a date")
        if self.active_from and self.active_to and self.active_from > self.active_to:
            raise InputError("active_from is after active_to")
        if self.sort not in SORT_KEYS:
            raise InputError(f"unknown sort {self.sort!r} (one of {', '.join(SORT_KEYS)})")
        size = self.page_size
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise InputError(f"page size must be a positive integer, got {size!r}")
        if max_page_size is not None and size > max_page_size:
            raise InputError(f"page size must be at most {max_page_size}, got {size}")
        if self.cursor is not None:
            decode_cursor(self.cursor, self.sort, self.descending)
        return self


@dataclass(frozen=True, slots=True)
class QueuePage:
    """One page of the queue: ``rows`` in order, ``total`` matching cases over all pages, and
    the opaque cursors of the next and previous pages (``None`` at an end)."""

    rows: tuple[CaseSummary, ...]
    total: int
    page_size: int
    next_cursor: str | None = None
    prev_cursor: str | None = None
    query: QueueQuery = field(default_factory=QueueQuery)


def _jsonable(value: Any) -> Any:
    return {"t": value.isoformat()} if isinstance(value, datetime) else value


_CURSOR_FIELDS = {
    "severity": ("rank", "returns", "risk", "activity", "case_id"),
    "risk": ("risk", "rank", "returns", "activity", "case_id"),
    "activity": ("activity", "case_id"),
    "case": ("case_id",),
}
"""The keyset fields of each sort (``tutela.store.queries.queue.row_key``)."""


def _count(value: Any, top: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
        raise ValueError("not a count in range")
    return value


def _risk(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("not a number")
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ValueError("risk out of range")
    return float(value)


def _time(value: Any) -> datetime:
    if not (isinstance(value, dict) and set(value) == {"t"} and isinstance(value["t"], str)):
        raise ValueError("not a time")
    at = datetime.fromisoformat(value["t"])
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("naive time")
    utc = at.astimezone(UTC)  # OverflowError near the ends of the calendar
    if not 1 <= utc.year <= 9998:
        raise ValueError("time out of range")
    return at


def _key_value(name: str, value: Any) -> Any:
    """One cursor key value checked for its field ``name``; ``ValueError``/``OverflowError``."""
    if name == "rank":
        return _count(value, len(ACTION_LEVELS))
    if name == "returns":
        return _count(value, MAX_ID)
    if name == "risk":
        return _risk(value)
    if name == "activity":
        return _time(value)
    if not valid_id(value):
        raise ValueError("not a case id")
    return value


def encode_cursor(
    key: Sequence[Any], sort: str, descending: bool, *, direction: str = "after"
) -> str:
    """An opaque, URL-safe cursor for the page after (``direction="after"``) or before the row
    with keyset ``key`` under ``sort``/``descending``."""
    data = {"s": sort, "d": descending, "w": direction, "k": [_jsonable(v) for v in key]}
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str, descending: bool) -> tuple[str, tuple[Any, ...]]:
    """``(direction, key)`` of ``cursor``; ``InputError`` when it is not one of ours, was made
    for another sort order, or a key value does not fit its field (per position: rank and
    returns whole numbers in range, risk a finite number in [0, 1], activity an aware time
    within the years 1-9998 in UTC, case id a valid row id), so a tampered cursor never
    reaches the database."""
    try:
        if not isinstance(cursor, str) or len(cursor) > 1000:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        if not isinstance(data, dict) or not isinstance(data.get("k"), list):
            raise ValueError("not a cursor")
        values = data["k"]
        direction = data.get("w")
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as e:
        raise InputError("the page cursor is not valid") from e
    if data.get("s") != sort or data.get("d") is not descending:
        raise InputError("the page cursor belongs to another sort order")
    fields = _CURSOR_FIELDS.get(sort)
    if direction not in ("after", "before") or fields is None or len(values) != len(fields):
        raise InputError("the page cursor is not valid")
    try:
        key = tuple(_key_value(n, v) for n, v in zip(fields, values, strict=True))
    except (ValueError, TypeError, OverflowError) as e:
        raise InputError("the page cursor is not valid") from e
    return str(direction), key


def _day_start(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=UTC)


def store_filter(query: QueueQuery, scope: frozenset[int] | None) -> QueueFilter:
    """The store's filter of a validated ``query`` for a reader restricted to ``scope``."""
    return QueueFilter(
        statuses=tuple(query.statuses),
        returned_statuses=(
            tuple(s.value for s in CaseStatus if s.value not in query.statuses)
            if query.returned
            else ()
        ),
        identity=(query.search or "").strip() or None,
        text=(query.text or "").strip() or None,
        platforms=tuple(query.platforms),
        personas=tuple(query.personas),
        languages=tuple(query.languages),
        operations=tuple(query.operations),
        levels=tuple(None if a == "none" else a for a in query.actions),
        active_from=None if query.active_from is None else _day_start(query.active_from),
        active_before=(
            # the last day of the calendar has no next day: no upper bound then
            None
            if query.active_to is None or query.active_to >= date.max
            else _day_start(query.active_to + timedelta(days=1))
        ),
        min_risk=None if query.min_risk is None else float(query.min_risk),
        scope=scope,
    )


def fetch_page(
    recorder: Recorder,
    query: QueueQuery,
    scope: frozenset[int] | None,
    summaries: Callable[[Iterable[int]], list[CaseSummary]],
) -> QueuePage:
    """One page of a validated ``query`` (``summaries``: the queue rows of case ids, in their
    order; ``tutela.cases.workflow.CaseWorkflow`` passes its own)."""
    after = before = None
    if query.cursor is not None:
        direction, key = decode_cursor(query.cursor, query.sort, query.descending)
        after, before = (key, None) if direction == "after" else (None, key)
    try:
        page = _queue_page(
            recorder.store,
            store_filter(query, scope),
            SEVERITY,
            sort=query.sort,
            descending=query.descending,
            after=after,
            before=before,
            limit=query.page_size,
        )
    except ValueError as e:  # a cursor key that does not fit this sort
        raise InputError("the page cursor is not valid") from e
    rows = summaries([r.case_id for r in page.rows])

    def cursor(key: tuple[Any, ...] | None, direction: str) -> str | None:
        if key is None:
            return None
        return encode_cursor(key, query.sort, query.descending, direction=direction)

    return QueuePage(
        rows=tuple(rows),
        total=page.total,
        page_size=query.page_size,
        next_cursor=cursor(page.next_key, "after"),
        prev_cursor=cursor(page.prev_key, "before"),
        query=query,
    )


def reopen_returned(
    recorder: Recorder,
    case: CaseRecord,
    decision: Decision,
    decision_id: int,
    *,
    clock: Callable[[], datetime] | None = None,
) -> CaseEvent | None:
    """Reopen ``case`` (dismissed or purged -> open) because its contact returned: ``decision``
    (recorded as ``decision_id``) is a return decision (:func:`is_return`). Recorded by
    ``system`` like every case action (event, audit row, ``review`` entry; the details name the
    decision). Returns the event, or ``None`` when nothing is to be done (not a return decision,
    or the case is not dismissed or purged, as read again in the write's transaction).
    ``clock``: the event time (default: wall clock)."""
    if not is_return(decision.action, decision.variant) or case.status not in REOPEN_ON_RETURN:
        return None
    now = (clock or (lambda: datetime.now(UTC)))()
    action = EventAction.REOPEN

    def _work(q: case_queries.CaseWrites) -> CaseEvent | None:
        current = q.case(case.id)
        if current is None or current.status not in REOPEN_ON_RETURN:
            return None
        if q.contact_decision(decision_id, current.contact_id) is None:
            raise InputError(f"decision {decision_id} is not part of case {case.id}")
        check_transition(current, action)
        note = f"the contact returned: policy decision {decision_id} ({decision.action.value})"
        details = {"decision_id": decision_id, "reason": "contact_returned"}
        return record_transition(q, current, None, action, note, details, now=now)

    return case_queries.writing(recorder, _work)
