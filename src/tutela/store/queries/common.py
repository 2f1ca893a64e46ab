"""SQL forms of the rules defined above the store, shared by the store's query modules."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import ColumnElement, and_

from tutela.domain import WARNING_ACTIONS
from tutela.store.models import DecisionRow

__all__ = ["resolve_merges", "warning_clause"]


def warning_clause() -> ColumnElement[bool]:
    """The SQL form of :func:`tutela.domain.is_warning` over ``decisions``: ``variant`` set and
    ``action`` in :data:`tutela.domain.WARNING_ACTIONS` (the one definition of a warning)."""
    return and_(DecisionRow.variant.is_not(None), DecisionRow.action.in_(WARNING_ACTIONS))


def resolve_merges(merged_into: Mapping[int, int | None]) -> dict[int, int]:
    """Contact id -> the surviving contact id, following ``contacts.merged_into`` chains (a
    contact not merged maps to itself; a cycle, which the store never writes, stops where it
    closes). ``merged_into``: every contact id -> its ``merged_into`` value."""
    out: dict[int, int] = {}
    for cid in merged_into:
        seen = [cid]
        cur = cid
        while (nxt := merged_into.get(cur)) is not None and nxt not in seen:
            cur = nxt
            seen.append(cur)
        for c in seen:
            out.setdefault(c, cur)
    return out
