"""Reads and writes of the deterrence trial (``trials``, ``trial_allocations``).

Writes commit their rows with their ledger entry (or audit row) in ONE transaction of the
recorder (``docs/architecture.md``, store):

* :func:`register_trial`: the ``trials`` row and the ``operation`` / ``trial_registered`` entry
  (``TrialRegisteredPayload``: the plan's SHA-256, the arms, the block size, the seed's digest,
  the digest of the RFC 3161 reply over the plan's hash). Refused (``InputError``) while another
  trial is active, under a name already used, and for a plan registered before (a plan is
  registered once, so its allocation cannot be re-drawn with another seed). A limit: after a
  trial ends, a *changed* plan can be registered as a new trial; its analysis is then that of
  a new trial (``tutela research trial-report --trial NAME``), and contacts of the first trial
  may get another arm in the second.
* :func:`allocate`: one contact's arm (``choose(n)``, the caller's design: allocation ``n`` of
  its stratum, ``n`` = the allocations of that stratum so far; ``tutela.policy.trial`` above the
  store computes it) and the ``operation`` /
  ``trial_allocated`` entry whose ``conversation`` is where the warning is about to be sent.
  Idempotent: a contact already allocated in the trial (itself, or a contact merged into it or
  that it was merged into: ``Recorder.resolve_contact``) gets its first allocation back, nothing
  is written. The trial row is locked first (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite
  writers are serialised by ``BEGIN IMMEDIATE``), so two allocations never get the same place in
  a stratum; the unique constraint (trial, contact) catches the rest.
* :func:`end_trial`: ``active = false`` and a ``trial_ended`` audit row (target
  ``trial:<id>``).

The design (arms, seed, block size) is checked above the store
(``tutela.policy.trial.check_design``, called by ``tutela trial register``); here only its shape.
Errors: ``NotFoundError`` (no such trial), ``InputError`` (refused as above, an ended trial,
a malformed design), ``StoreError`` (database).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tutela.errors import InputError
from tutela.ledger import EntryKind, sha256_hex
from tutela.ledger.payloads import TrialAllocatedPayload, TrialRegisteredPayload
from tutela.store.engine import Store
from tutela.store.errors import NotFoundError, StoreError
from tutela.store.models import ContactRow, TrialAllocationRow, TrialRow

if TYPE_CHECKING:
    from tutela.store.recorder import Recorder

__all__ = [
    "TRIAL_ENDED",
    "AllocationRecord",
    "TrialRecord",
    "active_trial",
    "allocate",
    "allocation_counts",
    "allocation_for",
    "end_trial",
    "get_trial",
    "list_trials",
    "register_trial",
]

TRIAL_ENDED = "trial_ended"
"""Audit action of :func:`end_trial` (target ``trial:<id>``)."""


@dataclass(frozen=True, slots=True)
class TrialRecord:
    """One ``trials`` row. ``arms`` in registration order; ``timestamp_token``: the DER RFC 3161
    reply over the plan's SHA-256 (``None`` when not stamped), ``timestamped_at`` its genTime."""

    id: int
    name: str
    plan_text: str
    plan_sha256: str
    arms: tuple[str, ...]
    seed: int
    block_size: int
    timestamp_token: bytes | None
    timestamped_at: datetime | None
    registered_by: str
    registered_at: datetime
    active: bool
    ledger_seq: int

    @classmethod
    def from_row(cls, row: TrialRow) -> TrialRecord:
        """The record of one ``TrialRow``."""
        return cls(
            id=row.id,
            name=row.name,
            plan_text=row.plan_text,
            plan_sha256=row.plan_sha256,
            arms=tuple(str(a) for a in row.arms),
            seed=row.seed,
            block_size=row.block_size,
            timestamp_token=row.timestamp_token,
            timestamped_at=row.timestamped_at,
            registered_by=row.registered_by,
            registered_at=row.registered_at,
            active=bool(row.active),
            ledger_seq=row.ledger_seq,
        )


@dataclass(frozen=True, slots=True)
class AllocationRecord:
    """One ``trial_allocations`` row; ``created``: this call wrote it (``False``: the contact's
    earlier allocation, returned again)."""

    trial_id: int
    contact_id: int
    stratum: str
    arm: str
    block_index: int
    conversation_id: int | None
    allocated_at: datetime
    ledger_seq: int
    created: bool = False

    @classmethod
    def from_row(cls, row: TrialAllocationRow, *, created: bool = False) -> AllocationRecord:
        """The record of one ``TrialAllocationRow``."""
        return cls(
            trial_id=row.trial_id,
            contact_id=row.contact_id,
            stratum=row.stratum,
            arm=row.arm,
            block_index=row.block_index,
            conversation_id=row.conversation_id,
            allocated_at=row.allocated_at,
            ledger_seq=row.ledger_seq,
            created=created,
        )


# -- reads -------------------------------------------------------------------------------------
def active_trial(store: Store) -> TrialRecord | None:
    """The active trial (at most one), or ``None``."""
    with store.session() as s:
        row = s.execute(
            select(TrialRow).where(TrialRow.active.is_(True)).order_by(TrialRow.id).limit(1)
        ).scalar_one_or_none()
        return None if row is None else TrialRecord.from_row(row)


def get_trial(store: Store, trial: int | str) -> TrialRecord:
    """The trial with id ``trial`` (an ``int``) or name ``trial`` (a ``str``); ``NotFoundError``."""
    with store.session() as s:
        if isinstance(trial, int):
            row = s.get(TrialRow, trial)
        else:
            row = s.execute(select(TrialRow).where(TrialRow.name == trial)).scalar_one_or_none()
        if row is None:
            raise NotFoundError(f"trial {trial!r} does not exist")
        return TrialRecord.from_row(row)


def list_trials(store: Store) -> list[TrialRecord]:
    """Every trial, oldest first."""
    with store.session() as s:
        rows = s.execute(select(TrialRow).order_by(TrialRow.id)).scalars()
        return [TrialRecord.from_row(r) for r in rows]


def _same_person(s: Session, contact_id: int) -> list[int]:
    """``contact_id``'s survivor and every contact merged into it (merges are flattened:
    ``Recorder._merge`` repoints the absorbed contacts' ``merged_into`` at the survivor)."""
    row = s.get(ContactRow, contact_id)
    seen: set[int] = set()
    while row is not None and row.merged_into is not None and row.id not in seen:
        seen.add(row.id)
        row = s.get(ContactRow, row.merged_into)
    if row is None:
        raise NotFoundError(f"contact {contact_id} does not exist")
    absorbed = s.execute(select(ContactRow.id).where(ContactRow.merged_into == row.id)).scalars()
    return [row.id, *absorbed]


def _allocation_of(s: Session, trial_id: int, contact_id: int) -> TrialAllocationRow | None:
    ids = _same_person(s, contact_id)
    return s.execute(
        select(TrialAllocationRow)
        .where(TrialAllocationRow.trial_id == trial_id, TrialAllocationRow.contact_id.in_(ids))
        .order_by(TrialAllocationRow.ledger_seq)
        .limit(1)
    ).scalar_one_or_none()


def allocation_for(store: Store, trial_id: int, contact_id: int) -> AllocationRecord | None:
    """The contact's allocation in the trial, merges resolved (the earliest, should two contacts
    allocated apart have been merged since), or ``None``."""
    with store.session() as s:
        row = _allocation_of(s, trial_id, contact_id)
        return None if row is None else AllocationRecord.from_row(row)


def allocation_counts(store: Store, trial_id: int) -> dict[tuple[str, str], int]:
    """``(stratum, arm) -> allocations`` of the trial (counts only; never contact ids)."""
    with store.session() as s:
        rows = s.execute(
            select(TrialAllocationRow.stratum, TrialAllocationRow.arm, func.count())
            .where(TrialAllocationRow.trial_id == trial_id)
            .group_by(TrialAllocationRow.stratum, TrialAllocationRow.arm)
            .order_by(TrialAllocationRow.stratum, TrialAllocationRow.arm)
        ).all()
        return {(str(st), str(arm)): int(n) for st, arm, n in rows}


# -- writes ------------------------------------------------------------------------------------
def register_trial(
    recorder: Recorder,
    *,
    name: str,
    plan_text: str,
    arms: tuple[str, ...] | list[str],
    seed: int,
    block_size: int,
    timestamp_token: bytes | None = None,
    timestamped_at: datetime | None = None,
    actor: str,
) -> TrialRecord:
    """Register a trial (module docstring): one transaction writes the ``trial_registered``
    entry and the ``trials`` row (``active``). The design is checked by the caller
    (``tutela.policy.trial.check_design``).

    Raises ``InputError`` for a malformed design (fewer than two arms, non-positive block
    size, negative seed), an empty name or plan, a name in use, another active trial, or a
    plan registered before (by any trial, ended or not).
    """
    arms = tuple(arms)
    if len(arms) < 2 or not all(isinstance(a, str) and a for a in arms):
        raise InputError(f"a trial needs at least two named arms, got {list(arms)}")
    if block_size < 1 or seed < 0:
        raise InputError(f"block size must be >= 1 and seed >= 0 ({block_size}, {seed})")
    size = block_size
    name = name.strip()
    if not name or len(name) > 100 or "\n" in name:
        raise InputError(f"trial name {name!r}: 1-100 characters on one line")
    if not plan_text.strip():
        raise InputError("the analysis plan is empty")
    if not actor or len(actor) > 200:
        raise InputError("the registering actor must be 1-200 characters")
    plan_sha = sha256_hex(plan_text.encode("utf-8"))

    def _work(s: Session) -> TrialRecord:
        active = s.execute(select(TrialRow.name).where(TrialRow.active.is_(True))).first()
        if active is not None:
            raise InputError(f"trial {active[0]!r} is active: end it first (tutela trial end)")
        if s.execute(select(TrialRow.id).where(TrialRow.name == name)).first() is not None:
            raise InputError(f"a trial named {name!r} exists already")
        again = s.execute(
            select(TrialRow.name).where(TrialRow.plan_sha256 == plan_sha).limit(1)
        ).first()
        if again is not None:
            raise InputError(
                f"this plan (SHA-256 {plan_sha}) was registered already, by trial {again[0]!r}: "
                "a plan is registered once (a new seed or design needs a new plan, so nobody can "
                "re-draw the allocation after seeing data)"
            )
        # the id goes into the entry written before the row (the row cites the entry's seq)
        trial_id = int(s.execute(select(func.coalesce(func.max(TrialRow.id), 0))).scalar_one())
        trial_id += 1
        payload: TrialRegisteredPayload = {
            "event": "trial_registered",
            "trial_id": trial_id,
            "name": name,
            "plan_sha256": plan_sha,
            "arms": list(arms),
            "block_size": size,
            "seed_sha256": sha256_hex(str(seed).encode("ascii")),
            "timestamp_sha256": None if timestamp_token is None else sha256_hex(timestamp_token),
            "actor": actor,
        }
        entry = recorder._append(s, EntryKind.OPERATION, None, payload)
        row = TrialRow(
            id=trial_id,
            name=name,
            plan_text=plan_text,
            plan_sha256=plan_sha,
            arms=list(arms),
            seed=seed,
            block_size=size,
            timestamp_token=timestamp_token,
            timestamped_at=timestamped_at,
            registered_by=actor,
            registered_at=datetime.fromisoformat(entry.at),
            active=True,
            ledger_seq=entry.seq,
        )
        s.add(row)
        s.flush()
        return TrialRecord.from_row(row)

    return recorder.store.write(_work)


def allocate(
    recorder: Recorder,
    *,
    trial_id: int,
    contact_id: int,
    conversation_id: int,
    stratum: str,
    choose: Callable[[TrialRecord, int], tuple[str, int]],
) -> AllocationRecord:
    """The contact's arm in the trial, allocated now if it has none (module docstring): the
    ``trial_allocated`` entry (entry's conversation: ``conversation_id``) and the row, in one
    transaction. ``choose(trial, n)`` gives ``(arm, block_index)`` of allocation ``n`` (0-based)
    of ``stratum`` (``tutela.policy.trial.TrialDesign.arm_at``); it runs inside the transaction,
    after the trial row is locked. Returns the record (``created`` True when written by this
    call).

    Raises ``NotFoundError`` (trial, contact), ``InputError`` (the trial has ended; an arm
    ``choose`` gave that is not one of the trial's; what ``choose`` raises), ``StoreError``.
    """

    def _work(s: Session) -> AllocationRecord:
        trial = s.execute(
            select(TrialRow).where(TrialRow.id == trial_id).with_for_update()
        ).scalar_one_or_none()
        if trial is None:
            raise NotFoundError(f"trial {trial_id} does not exist")
        existing = _allocation_of(s, trial_id, contact_id)
        if existing is not None:
            return AllocationRecord.from_row(existing)
        if not trial.active:
            raise InputError(f"trial {trial.name!r} has ended: nothing is allocated")
        record = TrialRecord.from_row(trial)
        survivor = _same_person(s, contact_id)[0]
        n = int(
            s.execute(
                select(func.count()).where(
                    TrialAllocationRow.trial_id == trial_id,
                    TrialAllocationRow.stratum == stratum,
                )
            ).scalar_one()
        )
        arm, block_index = choose(record, n)
        if arm not in record.arms:
            raise InputError(f"arm {arm!r} is not one of trial {trial.name!r}'s {record.arms}")
        payload: TrialAllocatedPayload = {
            "event": "trial_allocated",
            "trial_id": trial_id,
            "plan_sha256": trial.plan_sha256,
            "contact_id": survivor,
            "stratum": stratum,
            "arm": arm,
            "block_index": block_index,
        }
        entry = recorder._append(s, EntryKind.OPERATION, conversation_id, payload)
        row = TrialAllocationRow(
            trial_id=trial_id,
            contact_id=survivor,
            stratum=stratum,
            arm=arm,
            block_index=block_index,
            conversation_id=conversation_id,
            allocated_at=datetime.fromisoformat(entry.at),
            ledger_seq=entry.seq,
        )
        s.add(row)
        s.flush()
        return AllocationRecord.from_row(row, created=True)

    try:
        return recorder.store.write(_work)
    except (StoreError, IntegrityError) as e:
        cause = e if isinstance(e, IntegrityError) else e.__cause__
        if not isinstance(cause, IntegrityError):
            raise
        # another writer allocated this contact meanwhile: its allocation stands
        found = allocation_for(recorder.store, trial_id, contact_id)
        if found is None:
            raise
        return found


def end_trial(recorder: Recorder, trial_id: int, *, actor: str, reason: str = "") -> TrialRecord:
    """End the trial (no more allocations; its rows stay): ``active = false`` and a
    ``trial_ended`` audit row ``{trial_id, name, plan_sha256, allocations, reason_sha256}``, in
    one transaction. Raises ``NotFoundError``, ``InputError`` (already ended)."""

    def _work(s: Session) -> TrialRecord:
        row = s.execute(
            select(TrialRow).where(TrialRow.id == trial_id).with_for_update()
        ).scalar_one_or_none()
        if row is None:
            raise NotFoundError(f"trial {trial_id} does not exist")
        if not row.active:
            raise InputError(f"trial {row.name!r} has ended already")
        n = s.execute(
            select(func.count()).where(TrialAllocationRow.trial_id == trial_id)
        ).scalar_one()
        row.active = False
        details = {
            "trial_id": trial_id,
            "name": row.name,
            "plan_sha256": row.plan_sha256,
            "allocations": int(n),
            "reason_sha256": sha256_hex(reason.encode("utf-8")),
        }
        recorder._audit(s, actor, TRIAL_ENDED, f"trial:{trial_id}", details)
        s.flush()
        return TrialRecord.from_row(row)

    return recorder.store.write(_work)
