"""Durable store: SQLAlchemy models, Alembic migrations, the transactional ``Recorder``.

SQLite (default) or PostgreSQL. ``open_store`` creates/upgrades the schema; ``Recorder`` writes
each record together with its ledger entry in one transaction. No business rules live here.
"""

from __future__ import annotations

from tutela.store.engine import Store, default_url, open_store
from tutela.store.errors import NotFoundError, StoreError
from tutela.store.ledger import iter_checkpoints, iter_ledger
from tutela.store.ledger_verify import verify_store
from tutela.store.recorder import IDENTITY_KINDS, WARNING_ACTIONS, Recorder
from tutela.store.records import (
    CaseRecord,
    ContactSummary,
    ConversationRecord,
    DecisionRecord,
    LinkResult,
    MessageRecord,
    OperationRecord,
)

__all__ = [
    "IDENTITY_KINDS",
    "WARNING_ACTIONS",
    "CaseRecord",
    "ContactSummary",
    "ConversationRecord",
    "DecisionRecord",
    "LinkResult",
    "MessageRecord",
    "NotFoundError",
    "OperationRecord",
    "Recorder",
    "Store",
    "StoreError",
    "default_url",
    "iter_checkpoints",
    "iter_ledger",
    "open_store",
    "verify_store",
]
