"""Legal holds on cases: while a case is under an active hold its messages are never purged
(``tutela.cases.retention`` skips it) and the persona sends no automatic reply in its
conversations, neither a bank reply nor a deterrence warning (``tutela.live.actions``); every
inbound message and every decision is still recorded. Texts an analyst queues on the dashboard
(takeover) are a human's choice and are still sent, each audited as before
(``operator_message_sent``).

Rules (checked here; the SQL is ``tutela.store.queries.holds``):

=================  =====================  ==================================================
action             roles                  rule
=================  =====================  ==================================================
``set``            analyst, supervisor    reason required; refused while a hold is active
``release``        supervisor             reason required; only an active hold
=================  =====================  ==================================================

Setting a hold keeps evidence and stops the persona, the cautious direction, so any case worker
may do it; releasing it lets retention delete the texts again, so only a supervisor may
(least privilege; the same split as referral approval, ``tutela.cases.transitions``). The acting
user is re-read in the write's transaction (deactivated or demoted accounts are refused) and one
with operation grants acts only on cases of those operations (``tutela.cases.scope``). Calls
without a ``user`` (the CLI, run by the store's operator) are not restricted and name the actor
``actor_name``. Set and release are audited (``legal_hold_set``/``legal_hold_released``, target
``case:<id>``, with the reason's SHA-256; who and when are the audit row's), the reason itself is
kept in the ``legal_holds`` row.

Errors: ``InputError`` (empty or too long reason, a second active hold), ``NotFoundError``
(unknown case, no active hold to release), ``PermissionDenied`` (role, inactive or unknown
user, case outside the user's operations).
"""

from __future__ import annotations

from collections.abc import Callable

from tutela.accounts.users import Role, User
from tutela.cases.scope import require_access, require_actor, valid_id
from tutela.cases.transitions import CASE_WORKERS, SUPERVISORS
from tutela.cases.views import SYSTEM
from tutela.errors import InputError
from tutela.store import NotFoundError, Recorder, Store
from tutela.store.queries import holds as queries
from tutela.store.queries.cases import CaseReads
from tutela.store.queries.holds import HoldRecord

__all__ = [
    "HOLD_RELEASERS",
    "HOLD_SETTERS",
    "MAX_REASON_CHARS",
    "HoldRecord",
    "case_hold",
    "case_holds",
    "conversation_held",
    "release_legal_hold",
    "set_legal_hold",
]

HOLD_SETTERS = CASE_WORKERS
"""Roles that may put a case under a legal hold (module docstring)."""
HOLD_RELEASERS = SUPERVISORS
"""Roles that may release a legal hold (module docstring)."""
MAX_REASON_CHARS = 4000
"""Longest reason (the dashboard's note limit, ``tutela.web.routes.cases``)."""


def _reason(what: str, text: object) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{what} is required")
    text = text.strip()
    if len(text) > MAX_REASON_CHARS:
        raise InputError(f"{what} is longer than {MAX_REASON_CHARS} characters")
    return text


def _case_id(case_id: int) -> int:
    if not valid_id(case_id):
        raise NotFoundError(f"case {case_id} does not exist")
    return case_id


def _checker(
    user: User | None, case_id: int, roles: frozenset[Role], what: str
) -> Callable[[CaseReads], None] | None:
    if user is None:
        return None

    def check(q: CaseReads) -> None:
        actor = require_actor(q, user, roles, what)
        case = q.case(case_id)
        if case is None:  # pragma: no cover - the store checked it in this transaction
            raise NotFoundError(f"case {case_id} does not exist")
        require_access(q, actor, case)

    return check


def set_legal_hold(
    recorder: Recorder,
    case_id: int,
    reason: str,
    *,
    user: User | None = None,
    actor_name: str = SYSTEM,
) -> HoldRecord:
    """Put case ``case_id`` under a legal hold for ``reason`` (required, at most
    :data:`MAX_REASON_CHARS`, stripped), by ``user`` (roles :data:`HOLD_SETTERS`) or, without a
    user, by ``actor_name``. Returns the new hold; errors as the module docstring."""
    text = _reason("a reason for the legal hold", reason)
    name = user.name if user is not None else actor_name
    check = _checker(user, _case_id(case_id), HOLD_SETTERS, "set a legal hold")
    return queries.set_hold(recorder, case_id, reason=text, actor=name, check=check)


def release_legal_hold(
    recorder: Recorder,
    case_id: int,
    reason: str,
    *,
    user: User | None = None,
    actor_name: str = SYSTEM,
) -> HoldRecord:
    """Release the active legal hold of case ``case_id`` for ``reason`` (required), by ``user``
    (roles :data:`HOLD_RELEASERS`) or, without a user, by ``actor_name``. Returns the released
    hold; errors as the module docstring."""
    text = _reason("a reason for releasing the legal hold", reason)
    name = user.name if user is not None else actor_name
    check = _checker(user, _case_id(case_id), HOLD_RELEASERS, "release a legal hold")
    return queries.release_hold(recorder, case_id, reason=text, actor=name, check=check)


def case_hold(store: Store, case_id: int) -> HoldRecord | None:
    """The active hold of case ``case_id`` (``None``: none, or no such case)."""
    return queries.active_hold(store, case_id) if valid_id(case_id) else None


def case_holds(store: Store, case_id: int) -> list[HoldRecord]:
    """Every hold of case ``case_id``, oldest first."""
    return queries.hold_history(store, case_id) if valid_id(case_id) else []


def conversation_held(store: Store, conversation_id: int) -> bool:
    """True while conversation ``conversation_id`` is under an active hold (its contact's case,
    or the case of a contact merged into it: ``tutela.store.queries.holds``). One query."""
    return queries.held_conversation(store, conversation_id)
