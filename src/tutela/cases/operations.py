"""Operations: the legal authority personas work under (organisation, jurisdiction, legal basis,
authorisation reference, responsible officer, period).

Personas only run inside an active operation: ``starts_at <= now`` and (``ends_at`` is ``None`` or
``now < ends_at``). The built-in demonstration operation (``evidential=False``, authorisation ref
``tutela-demo``) never authorises a real run unless ``include_demo=True``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from tutela.errors import InputError, TutelaError
from tutela.store import OperationRecord, Recorder
from tutela.store.queries import operations as queries
from tutela.store.queries.operations import DEMO_AUTHORISATION_REF, check_aware

__all__ = [
    "OperationInactive",
    "active_operation",
    "add_operation",
    "is_active",
    "list_operations",
    "require_active",
]


class OperationInactive(TutelaError):
    """No operation authorises work now (none, not started yet, or ended)."""


class _Dated(Protocol):
    @property
    def starts_at(self) -> datetime: ...

    @property
    def ends_at(self) -> datetime | None: ...


def is_active(operation: _Dated, now: datetime) -> bool:
    """``starts_at <= now < ends_at`` (no end: open-ended), for a stored operation or a run
    configuration's operation section."""
    check_aware("now", now)
    if now < operation.starts_at:
        return False
    return operation.ends_at is None or now < operation.ends_at


def require_active(operation: OperationRecord | None, now: datetime) -> OperationRecord:
    """Return ``operation`` when it is active at ``now``; raise ``OperationInactive`` otherwise
    (also for ``None``: no operation)."""
    if operation is None:
        raise OperationInactive(
            "no operation authorises this work: add one (tutela operations add)"
        )
    if not is_active(operation, now):
        end = "open-ended" if operation.ends_at is None else operation.ends_at.isoformat()
        raise OperationInactive(
            f"operation {operation.id} ({operation.authorisation_ref!r}) is not active at "
            f"{now.isoformat()}: it runs from {operation.starts_at.isoformat()} to {end}"
        )
    return operation


def list_operations(recorder: Recorder) -> list[OperationRecord]:
    """Every operation, oldest first."""
    return queries.list_operations(recorder.store)


def active_operation(
    recorder: Recorder,
    now: datetime,
    *,
    authorisation_ref: str | None = None,
    include_demo: bool = False,
) -> OperationRecord | None:
    """The operation active at ``now`` (the one that started latest, ties: the newest record),
    optionally only with ``authorisation_ref``; ``None`` when none is active."""
    check_aware("now", now)
    active = [
        op
        for op in list_operations(recorder)
        if is_active(op, now)
        and (authorisation_ref is None or op.authorisation_ref == authorisation_ref)
        and (include_demo or op.evidential or op.authorisation_ref != DEMO_AUTHORISATION_REF)
    ]
    if not active:
        return None
    return max(active, key=lambda op: (op.starts_at, op.id))


def add_operation(
    recorder: Recorder,
    *,
    organisation: str,
    jurisdiction: str,
    legal_basis: str,
    authorisation_ref: str,
    officer: str,
    starts_at: datetime,
    ends_at: datetime | None = None,
    evidential: bool = True,
) -> OperationRecord:
    """Validate and create an operation (``Recorder.create_operation``; ledger ``operation``).

    ``InputError``: an empty field, naive times, ``ends_at <= starts_at``, or the reserved demo
    authorisation reference.
    """
    fields = {
        "organisation": organisation,
        "jurisdiction": jurisdiction,
        "legal_basis": legal_basis,
        "authorisation_ref": authorisation_ref,
        "officer": officer,
    }
    for name, value in fields.items():
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"{name} must not be empty")
    if authorisation_ref.strip() == DEMO_AUTHORISATION_REF:
        raise InputError(f"authorisation reference {DEMO_AUTHORISATION_REF!r} is reserved")
    check_aware("starts_at", starts_at)
    if ends_at is not None:
        check_aware("ends_at", ends_at)
        if ends_at <= starts_at:
            raise InputError("ends_at must be after starts_at")
    return recorder.create_operation(
        organisation=organisation.strip(),
        jurisdiction=jurisdiction.strip(),
        legal_basis=legal_basis.strip(),
        authorisation_ref=authorisation_ref.strip(),
        officer=officer.strip(),
        starts_at=starts_at,
        ends_at=ends_at,
        evidential=evidential,
    )
