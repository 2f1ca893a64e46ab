"""Reads and writes of legal holds (``legal_holds``; the rules are ``tutela.cases.hold``).

A hold is *active* while its row's ``released_at`` is ``NULL``. While a case has an active hold
its messages are never purged (``tutela.cases.retention``) and no automatic persona reply is
sent in its conversations (``tutela.live.actions``). A conversation is under a hold when the case
of its contact, or the case of a contact merged into it (``Recorder`` identity rule: a merged
contact's conversations move to the survivor, its case may stay behind as ``merged``), has an
active hold.

Writes (:func:`set_hold`, :func:`release_hold`) commit the ``legal_holds`` row change and its
audit row (with the ``audit`` ledger entry) in ONE transaction of the recorder; the reason text
stays in the row, the audit details and the ledger hold its SHA-256 (``reason_sha256``), like
every free-text note of the case workflow. A ``check`` callback runs first in that transaction
with its reads (:class:`~tutela.store.queries.cases.CaseReads`), so the caller's rules (the
acting user re-read, roles, scope) hold at the instant of the write; what it raises rolls back
everything. Errors:
``NotFoundError`` (unknown case, no active hold to release), ``InputError`` (a second active
hold; details that are not canonical JSON), ``StoreError`` (database). Who may set or release
a hold and the reason rules are checked above the store (``tutela.cases.hold``).
See ``docs/architecture.md`` (store: the only SQL speaker).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from tutela.errors import InputError
from tutela.ledger import sha256_hex
from tutela.store.engine import Store
from tutela.store.errors import NotFoundError
from tutela.store.models import CaseRow, ContactRow, ConversationRow, LegalHoldRow
from tutela.store.queries.cases import CaseReads

if TYPE_CHECKING:
    from tutela.ledger import LedgerEntry
    from tutela.store.recorder import Recorder

__all__ = [
    "HOLD_RELEASED",
    "HOLD_SET",
    "HoldRecord",
    "active_hold",
    "held_case_ids",
    "held_contact",
    "held_conversation",
    "hold_history",
    "purge_unless_held",
    "release_hold",
    "set_hold",
]

HOLD_SET = "legal_hold_set"
"""Audit action of :func:`set_hold` (target ``case:<id>``)."""
HOLD_RELEASED = "legal_hold_released"
"""Audit action of :func:`release_hold` (target ``case:<id>``)."""


@dataclass(frozen=True, slots=True)
class HoldRecord:
    """One ``legal_holds`` row; ``active`` is ``released_at is None``."""

    id: int
    case_id: int
    reason: str
    set_by: str
    set_at: datetime
    released_by: str | None
    released_at: datetime | None
    release_reason: str | None

    @property
    def active(self) -> bool:
        """True while the hold is not released."""
        return self.released_at is None

    @classmethod
    def from_row(cls, row: LegalHoldRow) -> HoldRecord:
        """The record of one ``LegalHoldRow`` (detached)."""
        return cls(
            id=row.id,
            case_id=row.case_id,
            reason=row.reason,
            set_by=row.set_by,
            set_at=row.set_at,
            released_by=row.released_by,
            released_at=row.released_at,
            release_reason=row.release_reason,
        )


def _active_row(s: Session, case_id: int) -> LegalHoldRow | None:
    return (
        s.execute(
            select(LegalHoldRow)
            .where(LegalHoldRow.case_id == case_id, LegalHoldRow.released_at.is_(None))
            .order_by(LegalHoldRow.id.desc())
            .limit(1)
        )
        .scalars()
        .first()
    )


def active_hold(store: Store, case_id: int) -> HoldRecord | None:
    """The active hold of case ``case_id``, or ``None`` (also for an unknown case)."""
    with store.session() as s:
        row = _active_row(s, case_id)
        return None if row is None else HoldRecord.from_row(row)


def hold_history(store: Store, case_id: int) -> list[HoldRecord]:
    """Every hold of case ``case_id`` (active and released), oldest first."""
    with store.session() as s:
        rows = s.execute(
            select(LegalHoldRow).where(LegalHoldRow.case_id == case_id).order_by(LegalHoldRow.id)
        ).scalars()
        return [HoldRecord.from_row(r) for r in rows]


def held_case_ids(store: Store, case_ids: Iterable[int] | None = None) -> set[int]:
    """Ids of the cases (among ``case_ids``; all when ``None``) with an active hold."""
    q = select(LegalHoldRow.case_id).where(LegalHoldRow.released_at.is_(None))
    if case_ids is not None:
        q = q.where(LegalHoldRow.case_id.in_(set(case_ids)))
    with store.session() as s:
        return {int(c) for c in s.execute(q).scalars()}


# an active hold on the case of contact :cid or of a contact merged into it: the scan starts at
# the (few) hold rows and follows primary keys (cases, contacts)
_HELD_CONTACT = (
    select(LegalHoldRow.id)
    .join(CaseRow, CaseRow.id == LegalHoldRow.case_id)
    .join(ContactRow, ContactRow.id == CaseRow.contact_id)
    .where(
        LegalHoldRow.released_at.is_(None),
        or_(CaseRow.contact_id == bindparam("cid"), ContactRow.merged_into == bindparam("cid")),
    )
    .limit(1)
)
_CONVERSATION_CONTACT = select(ConversationRow.contact_id).where(
    ConversationRow.id == bindparam("conv")
)


def held_conversation(store: Store, conversation_id: int) -> bool:
    """True when conversation ``conversation_id`` is under an active hold (module docstring:
    the case of its contact or of a contact merged into it); ``False`` for an unknown
    conversation. One read session, two indexed queries (the conversation's contact, then the
    holds)."""
    with store.session() as s:
        contact = s.execute(_CONVERSATION_CONTACT, {"conv": conversation_id}).scalar()
        return (
            contact is not None and s.execute(_HELD_CONTACT, {"cid": contact}).first() is not None
        )


def held_contact(store: Store, contact_id: int) -> bool:
    """True when the conversations of contact ``contact_id`` are under an active hold (its
    case's, or that of a contact merged into it). One query."""
    with store.session() as s:
        return s.execute(_HELD_CONTACT, {"cid": contact_id}).first() is not None


def purge_unless_held(
    recorder: Recorder, contact_id: int, message_ids: Iterable[int], *, actor: str, reason: str
) -> tuple[bool, LedgerEntry | None]:
    """Retention's purge of a contact's messages, refused by an active hold *in the purge's own
    transaction* (the contact's case rows are locked first, as :func:`set_hold` locks the case
    it holds, so a hold set concurrently either commits before the check or waits for the
    purge): ``(True, None)`` when held (nothing purged), else ``(False, tombstone or None)``
    (``Recorder.purge_messages``)."""
    held = False

    def _held(s: Session) -> bool:
        nonlocal held
        s.execute(
            select(CaseRow.id)
            .join(ContactRow, ContactRow.id == CaseRow.contact_id)
            .where(or_(CaseRow.contact_id == contact_id, ContactRow.merged_into == contact_id))
            .with_for_update(of=CaseRow)  # the row set_hold locks (not contacts: merges lock those)
        ).all()
        held = s.execute(_HELD_CONTACT, {"cid": contact_id}).first() is not None
        return held

    tombstone = recorder.purge_messages(message_ids, actor=actor, reason=reason, unless=_held)
    return held, tombstone


def _run_check(s: Session, check: Callable[[CaseReads], None] | None) -> None:
    if check is not None:
        check(CaseReads(s))


def set_hold(
    recorder: Recorder,
    case_id: int,
    *,
    reason: str,
    actor: str,
    check: Callable[[CaseReads], None] | None = None,
) -> HoldRecord:
    """Put case ``case_id`` under a legal hold: ``check`` (module docstring), then the
    ``legal_holds`` row (``set_at`` = the recorder's clock) and a :data:`HOLD_SET` audit row
    ``{case_id, hold_id, reason_sha256}`` in one transaction. ``NotFoundError``: unknown case;
    ``InputError``: the case already has an active hold (nothing is written)."""

    def _work(s: Session) -> HoldRecord:
        # locked: a concurrent retention purge (purge_unless_held) waits, or this waits for it
        if s.get(CaseRow, case_id, with_for_update=True) is None:
            raise NotFoundError(f"case {case_id} does not exist")
        _run_check(s, check)
        current = _active_row(s, case_id)
        if current is not None:
            raise InputError(
                f"case {case_id} is already under a legal hold (set by {current.set_by} "
                f"at {current.set_at.isoformat()})"
            )
        row = LegalHoldRow(case_id=case_id, reason=reason, set_by=actor, set_at=recorder._now())
        s.add(row)
        s.flush()
        details = {"case_id": case_id, "hold_id": row.id, "reason_sha256": _sha(reason)}
        recorder._audit(s, actor, HOLD_SET, f"case:{case_id}", details)
        return HoldRecord.from_row(row)

    return recorder.store.write(_work)


def release_hold(
    recorder: Recorder,
    case_id: int,
    *,
    reason: str,
    actor: str,
    check: Callable[[CaseReads], None] | None = None,
) -> HoldRecord:
    """Release the active hold of case ``case_id``: ``check`` (module docstring), then
    ``released_by``/``released_at`` (the recorder's clock)/``release_reason`` and a
    :data:`HOLD_RELEASED` audit row ``{case_id, hold_id, reason_sha256, set_by}`` in one
    transaction. ``NotFoundError``: unknown case or no active hold (nothing is written)."""

    def _work(s: Session) -> HoldRecord:
        if s.get(CaseRow, case_id) is None:
            raise NotFoundError(f"case {case_id} does not exist")
        _run_check(s, check)
        row = _active_row(s, case_id)
        if row is None:
            raise NotFoundError(f"case {case_id} has no active legal hold")
        row.released_by = actor
        row.released_at = recorder._now()
        row.release_reason = reason
        s.flush()
        details = {
            "case_id": case_id,
            "hold_id": row.id,
            "reason_sha256": _sha(reason),
            "set_by": row.set_by,
        }
        recorder._audit(s, actor, HOLD_RELEASED, f"case:{case_id}", details)
        return HoldRecord.from_row(row)

    return recorder.store.write(_work)


def _sha(text: str) -> str:
    return sha256_hex(text.encode("utf-8"))
