"""Read model of ``tutela demo`` (``tutela.live.demo``): the latest instant a database records.

A demo run over a reused database starts its simulated clock after this instant, so the times of
a contact's case (opened, updated, referral proposed) never run backwards across runs.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from tutela.store.engine import Store
from tutela.store.models import LedgerEntryRow

__all__ = ["latest_instant"]

_LEDGER_INSTANT = "%Y-%m-%dT%H:%M:%S.%fZ"  # tutela.ledger.format_instant


def latest_instant(store: Store) -> datetime | None:
    """The latest ``at`` of any ledger entry (aware UTC), ``None`` for an empty ledger. Every
    recorded row (message, decision, case event, referral, audit row) is written with a ledger
    entry stamped by the same clock, so this bounds every recorded time. One SELECT."""
    with store.session() as s:
        text = s.execute(select(func.max(LedgerEntryRow.at))).scalar()
    if text is None:
        return None
    return datetime.strptime(text, _LEDGER_INSTANT).replace(tzinfo=UTC)
