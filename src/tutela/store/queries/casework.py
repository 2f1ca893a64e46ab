"""Reads and writes of case work (``tutela.cases.casework``): case notes, case assignments, the
users a case may be assigned to, and the contact merges the contact page draws.

Like :mod:`tutela.store.queries.cases`, the workflow takes its rules (roles, scope, the assignee
check) *inside* one transaction, so this module hands it a unit of work: :func:`reading` yields
a :class:`CaseworkReads`, :func:`writing` runs ``fn(CaseworkWrites)`` in one ``Store.write``
transaction (rolled back as a whole when ``fn`` raises). Both are also a ``CaseReads``, so the
checks of ``tutela.cases.scope`` run on them.

``case_notes`` and ``case_assignments`` are insert only (migration 0008 adds triggers that
refuse ``UPDATE`` and ``DELETE``): a correction is a new note, a reassignment a new row (the
latest row per case is the current assignment; ``assignee`` ``None``: unassigned). Each write
commits its row with an ``audit_log`` row and that row's ``audit`` ledger entry in the same
transaction: :data:`NOTE_ADDED` ``{case_id, note_id, text_sha256, chars}`` (the note text stays in
its row; the audit log and the ledger hold its SHA-256, like every free-text note of the case
workflow) and :data:`CASE_ASSIGNED` ``{case_id, assignment_id, assignee, previous}``, both with
target ``case:<id>``. See ``docs/architecture.md`` (store: the only SQL speaker).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select

from tutela.ledger import sha256_hex
from tutela.store.engine import Store
from tutela.store.models import (
    AuditLogRow,
    CaseAssignmentRow,
    CaseNoteRow,
    ContactRow,
    UserRow,
)
from tutela.store.queries.case_records import CaseActor
from tutela.store.queries.cases import CaseReads, CaseWrites
from tutela.store.recorder import Recorder

__all__ = [
    "CASE_ASSIGNED",
    "CONTACTS_MERGED",
    "NOTE_ADDED",
    "AssignmentRecord",
    "CaseworkReads",
    "CaseworkWrites",
    "MergeRecord",
    "NoteRecord",
    "merged_contacts",
    "reading",
    "writing",
]

NOTE_ADDED = "case_note_added"
"""Audit action of :meth:`CaseworkWrites.add_note` (target ``case:<id>``)."""
CASE_ASSIGNED = "case_assigned"
"""Audit action of :meth:`CaseworkWrites.add_assignment` (target ``case:<id>``)."""
CONTACTS_MERGED = "contacts_merged"
"""Audit action of a contact merge (written by the ``Recorder``'s identity linking)."""

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class NoteRecord:
    """One ``case_notes`` row (``at``: aware UTC; ``author``: user name)."""

    id: int
    case_id: int
    at: datetime
    author: str
    text: str

    @classmethod
    def from_row(cls, row: CaseNoteRow) -> NoteRecord:
        """The record of one ``CaseNoteRow`` (detached)."""
        return cls(row.id, row.case_id, row.at, row.author, row.text)


@dataclass(frozen=True, slots=True)
class AssignmentRecord:
    """One ``case_assignments`` row (``assignee`` ``None``: the case was unassigned)."""

    id: int
    case_id: int
    at: datetime
    actor: str
    assignee: str | None

    @classmethod
    def from_row(cls, row: CaseAssignmentRow) -> AssignmentRecord:
        """The record of one ``CaseAssignmentRow`` (detached)."""
        return cls(row.id, row.case_id, row.at, row.actor, row.assignee)


@dataclass(frozen=True, slots=True)
class MergeRecord:
    """A contact merged into the surviving contact, with the evidence of the merge from its
    ``contacts_merged`` audit row (``None`` fields: the row is missing or names none).

    ``absorbed``: the merged contact's id; ``at``: when it was merged (audit time, aware UTC);
    ``platform``/``kind``: the shared identifier; ``value_sha256``: its SHA-256 (the audit log
    holds no value); ``source_message_id``: the line that repeated the identifier;
    ``identity_source_message_id``: the line that first volunteered it."""

    absorbed: int
    at: datetime | None = None
    platform: str | None = None
    kind: str | None = None
    value_sha256: str | None = None
    source_message_id: int | None = None
    identity_source_message_id: int | None = None


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


class CaseworkReads(CaseReads):
    """The reads of one transaction (create with :func:`reading` or :func:`writing`)."""

    def notes(self, case_id: int) -> list[NoteRecord]:
        """The case's notes, oldest first (insert order)."""
        rows = self._s.execute(
            select(CaseNoteRow).where(CaseNoteRow.case_id == case_id).order_by(CaseNoteRow.id)
        ).scalars()
        return [NoteRecord.from_row(r) for r in rows]

    def assignments(self, case_id: int) -> list[AssignmentRecord]:
        """The case's assignment history, oldest first; the last one is the current one."""
        rows = self._s.execute(
            select(CaseAssignmentRow)
            .where(CaseAssignmentRow.case_id == case_id)
            .order_by(CaseAssignmentRow.id)
        ).scalars()
        return [AssignmentRecord.from_row(r) for r in rows]

    def current_assignee(self, case_id: int) -> str | None:
        """The assignee of the case's latest assignment row (``None``: none or unassigned)."""
        return self._s.execute(
            select(CaseAssignmentRow.assignee)
            .where(CaseAssignmentRow.case_id == case_id)
            .order_by(CaseAssignmentRow.id.desc())
            .limit(1)
        ).scalar()

    def user_named(self, name: str) -> CaseActor | None:
        """The account called ``name`` (active or not), or ``None``."""
        row = self._s.execute(select(UserRow).where(UserRow.name == name)).scalar_one_or_none()
        return None if row is None else CaseActor.from_row(row)

    def active_users(self, roles: Iterable[str]) -> list[CaseActor]:
        """Active accounts with one of ``roles``, by name."""
        rows = self._s.execute(
            select(UserRow)
            .where(UserRow.active.is_(True), UserRow.role.in_(sorted(set(roles))))
            .order_by(UserRow.name)
        ).scalars()
        return [CaseActor.from_row(r) for r in rows]


class CaseworkWrites(CaseworkReads, CaseWrites):
    """The reads and writes of one write transaction (create with :func:`writing`)."""

    def add_note(self, case_id: int, *, at: datetime, author: str, text: str) -> NoteRecord:
        """Insert a note and its :data:`NOTE_ADDED` audit row (module docstring)."""
        row = CaseNoteRow(case_id=case_id, at=at, author=author, text=text)
        self._s.add(row)
        self._s.flush()
        details = {
            "case_id": case_id,
            "note_id": row.id,
            "text_sha256": sha256_hex(text.encode("utf-8")),
            "chars": len(text),
        }
        self._recorder._audit(self._s, author, NOTE_ADDED, f"case:{case_id}", details)
        return NoteRecord.from_row(row)

    def add_assignment(
        self, case_id: int, *, at: datetime, actor: str, assignee: str | None
    ) -> AssignmentRecord:
        """Insert an assignment row (``assignee`` ``None``: unassign) and its
        :data:`CASE_ASSIGNED` audit row, which names the previous assignee too."""
        previous = self.current_assignee(case_id)
        row = CaseAssignmentRow(case_id=case_id, at=at, actor=actor, assignee=assignee)
        self._s.add(row)
        self._s.flush()
        details = {
            "case_id": case_id,
            "assignment_id": row.id,
            "assignee": assignee,
            "previous": previous,
        }
        self._recorder._audit(self._s, actor, CASE_ASSIGNED, f"case:{case_id}", details)
        return AssignmentRecord.from_row(row)


@contextmanager
def reading(store: Store) -> Iterator[CaseworkReads]:
    """One read session (``Store.session``; ``StoreError`` on database errors)."""
    with store.session() as s:
        yield CaseworkReads(s)


def writing(recorder: Recorder, fn: Callable[[CaseworkWrites], _T]) -> _T:
    """``fn(CaseworkWrites)`` in one write transaction of ``recorder.store``; its result once
    committed. An exception from ``fn`` rolls back everything it wrote and is re-raised."""
    return recorder.store.write(lambda s: fn(CaseworkWrites(recorder, s)))


def merged_contacts(store: Store, contact_id: int) -> list[MergeRecord]:
    """The contacts merged into ``contact_id`` (a surviving contact; merges point straight at
    the survivor, ``Recorder`` identity rule), by id, each with its merge's audit evidence.
    Two queries: the absorbed contacts, then the ``contacts_merged`` audit rows whose target is
    the survivor or one of them (a survivor absorbed later keeps its own merges' rows)."""
    with store.session() as s:
        absorbed = sorted(
            int(i)
            for i in s.execute(
                select(ContactRow.id).where(ContactRow.merged_into == contact_id)
            ).scalars()
        )
        if not absorbed:
            return []
        targets = [f"contact:{i}" for i in (contact_id, *absorbed)]
        rows = s.execute(
            select(AuditLogRow)
            .where(AuditLogRow.action == CONTACTS_MERGED, AuditLogRow.target.in_(targets))
            .order_by(AuditLogRow.id)
        ).scalars()
        found: dict[int, MergeRecord] = {}
        for r in rows:
            d = dict(r.details or {})
            who = _int_or_none(d.get("absorbed"))
            if who is None or who not in absorbed or who in found:
                continue
            found[who] = MergeRecord(
                absorbed=who,
                at=r.at,
                platform=_str_or_none(d.get("platform")),
                kind=_str_or_none(d.get("kind")),
                value_sha256=_str_or_none(d.get("value_sha256")),
                source_message_id=_int_or_none(d.get("source_message_id")),
                identity_source_message_id=_int_or_none(d.get("identity_source_message_id")),
            )
        return [found.get(i, MergeRecord(absorbed=i)) for i in absorbed]
