"""Reads of operations (``tutela.cases.operations``) and the aware-time check it shares with the
store. Operations are created through ``Recorder.create_operation`` (ledger ``operation``).
See ``docs/architecture.md`` (store: the only SQL speaker).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from tutela.store._base import DEMO_AUTHORISATION_REF, _check_aware
from tutela.store.engine import Store
from tutela.store.models import OperationRow
from tutela.store.records import OperationRecord

__all__ = ["DEMO_AUTHORISATION_REF", "check_aware", "list_operations"]


def check_aware(name: str, at: datetime) -> None:
    """``InputError`` unless ``at`` is a ``datetime`` with a UTC offset (the store's rule for
    every instant it records; ``name`` is the argument named in the message)."""
    _check_aware(name, at)


def list_operations(store: Store) -> list[OperationRecord]:
    """Every operation, oldest first (by id)."""
    with store.session() as s:
        rows = s.execute(select(OperationRow).order_by(OperationRow.id)).scalars()
        return [OperationRecord.from_row(r) for r in rows]
