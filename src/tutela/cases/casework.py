"""Case work beside the state machine: notes, assignment, and which actions a case page offers.

Rules (the SQL is ``tutela.store.queries.casework``):

==============  =====================  ======================================================
action          roles                  rule
==============  =====================  ======================================================
``add_note``    analyst, supervisor    text 1..``MAX_NOTE_CHARS`` characters after stripping,
                                       no control characters (line breaks and tabs allowed)
                                       and no bidirectional overrides; insert only
``assign``      analyst, supervisor    assignee: an active analyst or supervisor who may read
                                       the case (their operation grants cover it), or
                                       ``None`` to unassign; insert only
==============  =====================  ======================================================

Like every case action (``tutela.cases.workflow``), the acting user is re-read in the write's
transaction (deactivated or demoted accounts are refused), an admin takes no case work
(need-to-know: admins do not read case content) and a user with operation grants acts only on
the cases of those operations (``tutela.cases.scope``). Each write commits its row with an audit
row (``case_note_added`` with the text's SHA-256, ``case_assigned`` with the assignee and the
previous one; target ``case:<id>``) and its ``audit`` ledger entry in one transaction. The reads
(``notes``, ``assignment``) take an optional ``reader`` checked like ``CaseWorkflow.case_detail``.

:func:`case_actions` is the rule the case page renders its buttons by: an action of
``tutela.cases.transitions.TRANSITIONS`` is offered only when the table says it applies to the
case's status for the user's role and no pending referral proposal blocks it (the workflow
refuses dismiss/watch/propose/reopen while one is pending: a supervisor decides it first).

Errors: ``PermissionDenied`` (role, inactive or unknown actor, case outside the actor's or
reader's operations), ``InputError`` (bad note text, unknown/inactive/wrong-role assignee or one
who may not read the case), ``NotFoundError`` (unknown case).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime

from tutela.accounts.users import Role, User
from tutela.cases.hold import HOLD_RELEASERS, HOLD_SETTERS
from tutela.cases.scope import (
    in_scope,
    reader_scope,
    require_access,
    require_actor,
    require_case,
    require_scope,
    user_scope,
)
from tutela.cases.transitions import CASE_WORKERS, TRANSITIONS, CaseStatus, EventAction
from tutela.errors import InputError
from tutela.store import CaseRecord, Recorder
from tutela.store.queries import casework as queries
from tutela.store.queries.casework import AssignmentRecord, NoteRecord

__all__ = [
    "BLOCKED_BY_PENDING",
    "CASE_NOTERS",
    "MAX_NOTE_CHARS",
    "AssignmentRecord",
    "CaseWork",
    "NoteRecord",
    "case_actions",
    "clean_note",
]

MAX_NOTE_CHARS = 4000
"""Longest note (the dashboard's note limit, ``tutela.web.routes.cases``)."""
CASE_NOTERS = CASE_WORKERS
"""Roles that may add notes and assign cases (module docstring)."""
BLOCKED_BY_PENDING = frozenset(
    {EventAction.DISMISS, EventAction.WATCH, EventAction.PROPOSE_REFERRAL, EventAction.REOPEN}
)
"""Actions the workflow refuses while a referral proposal is pending (``_check_no_pending``)."""

_ALLOWED_CONTROLS = frozenset("\n\t")
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def clean_note(text: object, *, what: str = "a note") -> str:
    """``text`` stripped, with ``\\r\\n``/``\\r`` as ``\\n``; ``InputError`` when it is not
    text, empty, longer than :data:`MAX_NOTE_CHARS`, or holds a control character (Unicode
    category ``Cc`` other than line break and tab) or a bidirectional override/isolate
    (U+202A..U+202E, U+2066..U+2069: they can make a note read differently than it is stored)."""
    if not isinstance(text, str):
        raise InputError(f"{what} must be text")
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise InputError(f"{what} is required")
    if len(text) > MAX_NOTE_CHARS:
        raise InputError(f"{what} is longer than {MAX_NOTE_CHARS} characters")
    for ch in text:
        if ch in _BIDI or (unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS):
            raise InputError(f"{what} contains a control character (U+{ord(ch):04X})")
    return text


def case_actions(
    status: str,
    role: str,
    *,
    pending_referral: bool = False,
    hold_active: bool = False,
    returned: bool = False,
) -> frozenset[str]:
    """The actions a case page offers a user with ``role`` on a case with ``status``.

    Transitions (``EventAction`` values ``dismiss``, ``watch``, ``propose_referral``,
    ``reopen``, ``approve_referral``, ``reject_referral``): offered when ``TRANSITIONS`` allows
    the status and the role, and, for :data:`BLOCKED_BY_PENDING`, no referral is pending
    (``pending_referral``). Approving or rejecting also needs a pending proposal (four-eyes is
    checked per referral: the proposer is not offered it). ``reveal`` is not listed (it is a
    per-line button). Besides: ``note`` and ``assign`` (:data:`CASE_NOTERS`), ``set_hold``
    (no active hold, ``HOLD_SETTERS``) or ``release_hold`` (an active hold, ``HOLD_RELEASERS``),
    and ``acknowledge_return`` for a ``referred`` case flagged ``returned`` (case workers,
    ``CaseWorkflow.acknowledge_return``). An unknown role gets nothing.
    """
    try:
        r = Role(role)
    except ValueError:
        return frozenset()
    out: set[str] = set()
    for action in (
        EventAction.DISMISS,
        EventAction.WATCH,
        EventAction.PROPOSE_REFERRAL,
        EventAction.REOPEN,
        EventAction.APPROVE_REFERRAL,
        EventAction.REJECT_REFERRAL,
    ):
        t = TRANSITIONS[action]
        if r not in t.roles or not t.allows(status):
            continue
        if pending_referral and action in BLOCKED_BY_PENDING:
            continue
        if (
            action in (EventAction.APPROVE_REFERRAL, EventAction.REJECT_REFERRAL)
            and not pending_referral
        ):
            continue
        out.add(action.value)
    if returned and status == CaseStatus.REFERRED.value and r in CASE_WORKERS:
        out.add("acknowledge_return")
    if r in CASE_NOTERS:
        out.update(("note", "assign"))
    if hold_active and r in HOLD_RELEASERS:
        out.add("release_hold")
    if not hold_active and r in HOLD_SETTERS:
        out.add("set_hold")
    return frozenset(out)


class CaseWork:
    """Notes and assignment of cases (module docstring).

    Parameters
    ----------
    recorder: the store's ``Recorder`` (reads and writes; its ledger holds the audit entries).
    clock: "now" of the note and assignment rows (aware UTC); default wall clock.
    """

    def __init__(self, recorder: Recorder, *, clock: Callable[[], datetime] | None = None) -> None:
        self.recorder = recorder
        self.store = recorder.store
        self._clock = clock or (lambda: datetime.now(UTC))

    # -- writes ------------------------------------------------------------------------------
    def add_note(self, case_id: int, actor: User, text: str) -> NoteRecord:
        """Add a note (``text``: :func:`clean_note`) by ``actor`` to case ``case_id``; returns
        the stored note. Errors as the module docstring."""
        body = clean_note(text)

        def _work(q: queries.CaseworkWrites) -> NoteRecord:
            user = require_actor(q, actor, CASE_NOTERS, "add a note")
            case = require_case(q, case_id)
            require_access(q, user, case)
            return q.add_note(case.id, at=self._now(), author=user.name, text=body)

        return queries.writing(self.recorder, _work)

    def assign(self, case_id: int, actor: User, assignee: str | None) -> AssignmentRecord:
        """Assign case ``case_id`` to the user called ``assignee`` (``None``: unassign), by
        ``actor``. Assigning to the current assignee again writes nothing and returns the
        current row. Errors as the module docstring."""
        if assignee is not None and (not isinstance(assignee, str) or not assignee.strip()):
            raise InputError("the assignee must be a user name or None")
        name = None if assignee is None else assignee.strip()

        def _work(q: queries.CaseworkWrites) -> AssignmentRecord:
            user = require_actor(q, actor, CASE_NOTERS, "assign a case")
            case = require_case(q, case_id)
            require_access(q, user, case)
            history = q.assignments(case.id)
            if history and history[-1].assignee == name:
                return history[-1]
            if name is not None:
                target = q.user_named(name)
                if target is None or not target.active:
                    raise InputError(f"{name!r} is not an active account")
                if Role(target.role) not in CASE_NOTERS:
                    raise InputError(f"{name!r} is {target.role}: cases go to case workers")
                scope = user_scope(q, target)
                if scope is not None and not _covers(q, case, scope):
                    raise InputError(f"{name!r} may not read case {case.id} (operation grants)")
            return q.add_assignment(case.id, at=self._now(), actor=user.name, assignee=name)

        return queries.writing(self.recorder, _work)

    # -- reads -------------------------------------------------------------------------------
    def notes(self, case_id: int, *, reader: User | None = None) -> list[NoteRecord]:
        """The case's notes, oldest first; ``reader`` checked like ``case_detail``."""
        with queries.reading(self.store) as q:
            require_scope(q, require_case(q, case_id), reader_scope(q, reader))
            return q.notes(case_id)

    def assignments(self, case_id: int, *, reader: User | None = None) -> list[AssignmentRecord]:
        """The case's assignment history, oldest first (the last is current)."""
        with queries.reading(self.store) as q:
            require_scope(q, require_case(q, case_id), reader_scope(q, reader))
            return q.assignments(case_id)

    def assignment(self, case_id: int, *, reader: User | None = None) -> AssignmentRecord | None:
        """The case's current assignment row (``assignee`` ``None``: unassigned), or ``None``
        when it was never assigned."""
        history = self.assignments(case_id, reader=reader)
        return history[-1] if history else None

    def assignable(self, case_id: int) -> list[str]:
        """Names of the active analysts and supervisors who may read case ``case_id`` (the
        choices of the assignment form), by name."""
        with queries.reading(self.store) as q:
            case = require_case(q, case_id)
            out = []
            for u in q.active_users(r.value for r in CASE_NOTERS):
                scope = user_scope(q, u)
                if scope is None or _covers(q, case, scope):
                    out.append(u.name)
            return out

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None or now.utcoffset() is None:
            raise InputError(f"clock() must return an aware datetime, got {now!r}")
        return now


def _covers(q: queries.CaseworkReads, case: CaseRecord, scope: frozenset[int]) -> bool:
    """True when every conversation of ``case`` is in ``scope`` (``tutela.cases.scope``)."""
    return bool(in_scope(q, [case], scope))
