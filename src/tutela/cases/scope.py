"""Who may act on and read which cases: the acting user re-read in the action's transaction, role
checks, and per-operation scope (``tutela.accounts.access``).

A user with operation grants sees and acts only on cases whose conversations *all* belong to
granted operations; one without grants sees every case (``docs/architecture.md``, cases).
Every function takes the unit of work of the current transaction (``tutela.store.queries.cases``).

Errors: ``PermissionDenied`` (unknown, deactivated or wrong-role user; case, contact or
conversation outside the granted operations), ``InputError`` (``actor`` not a ``User``),
``NotFoundError`` (unknown case or conversation, or an id beyond ``MAX_ID``).
"""

from __future__ import annotations

from collections.abc import Iterable

from tutela.accounts.users import Role, User
from tutela.cases.transitions import CASE_READERS, EventAction
from tutela.errors import InputError, PermissionDenied
from tutela.store import CaseRecord, ConversationRecord, NotFoundError
from tutela.store.queries.cases import CaseActor, CaseReads

__all__ = [
    "MAX_ID",
    "READ",
    "in_scope",
    "reader_scope",
    "require_access",
    "require_actor",
    "require_case",
    "require_contact_scope",
    "require_conversation",
    "require_scope",
    "user_scope",
    "valid_id",
]

MAX_ID = 2**31 - 1
"""Largest row id (``INTEGER`` columns; PostgreSQL's is 32-bit): larger ids are unknown ids."""
READ = "read case content"


def valid_id(value: object) -> bool:
    """A row id the database can hold (``bool`` excluded): larger ones cannot exist."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def require_case(q: CaseReads, case_id: int) -> CaseRecord:
    """Case ``case_id``; ``NotFoundError`` if absent."""
    case = q.case(case_id) if valid_id(case_id) else None
    if case is None:
        raise NotFoundError(f"case {case_id} does not exist")
    return case


def require_conversation(q: CaseReads, conversation_id: int) -> ConversationRecord:
    """Conversation ``conversation_id``; ``NotFoundError`` if absent."""
    conv = q.conversation(conversation_id) if valid_id(conversation_id) else None
    if conv is None:
        raise NotFoundError(f"conversation {conversation_id} does not exist")
    return conv


def require_actor(
    q: CaseReads, actor: User, roles: frozenset[Role], action: EventAction | str
) -> CaseActor:
    """``actor`` as stored now: known (same id and name), active, with one of ``roles``."""
    what = action.value if isinstance(action, EventAction) else action
    if not isinstance(actor, User):
        raise InputError(f"actor must be a User, got {type(actor).__name__}")
    row = q.user(actor.id)
    if row is None or row.name != actor.name:
        raise PermissionDenied(f"user {actor.name!r} is not a known account")
    if not row.active:
        raise PermissionDenied(f"user {row.name!r} is deactivated")
    if Role(row.role) not in roles:
        allowed = " or ".join(sorted(r.value for r in roles))
        raise PermissionDenied(f"{what} needs the role {allowed}; {row.name!r} is {row.role}")
    return row


def user_scope(q: CaseReads, user: CaseActor) -> frozenset[int] | None:
    """The operations granted to ``user``; ``None`` without grants (no restriction)."""
    return q.granted_operations(user.id) or None


def reader_scope(q: CaseReads, reader: User | None) -> frozenset[int] | None:
    """``None`` (no restriction) without a reader or for one without grants; else the granted
    operation ids. ``PermissionDenied`` for a reader who may not read content."""
    if reader is None:
        return None
    return user_scope(q, require_actor(q, reader, CASE_READERS, READ))


def in_scope(
    q: CaseReads, cases: Iterable[CaseRecord], scope: frozenset[int] | None
) -> list[CaseRecord]:
    """The cases whose conversations all belong to ``scope`` (every case for ``None``)."""
    cases = list(cases)
    if scope is None:
        return cases
    ops = q.contact_operations({c.contact_id for c in cases})
    return [c for c in cases if ops.get(c.contact_id, frozenset()) <= scope]


def require_scope(q: CaseReads, case: CaseRecord, scope: frozenset[int] | None) -> None:
    """``PermissionDenied`` unless ``case`` is in ``scope``."""
    if not in_scope(q, [case], scope):
        raise PermissionDenied(f"case {case.id} is outside your operations")


def require_access(q: CaseReads, user: CaseActor, case: CaseRecord) -> None:
    """An actor with operation grants acts only on the cases they may read."""
    require_scope(q, case, user_scope(q, user))


def require_contact_scope(q: CaseReads, contact_id: int, scope: frozenset[int] | None) -> None:
    """``PermissionDenied`` unless every conversation of the contact is in ``scope``."""
    if (
        scope is not None
        and not q.contact_operations([contact_id]).get(contact_id, frozenset()) <= scope
    ):
        raise PermissionDenied(f"contact {contact_id} is outside your operations")
