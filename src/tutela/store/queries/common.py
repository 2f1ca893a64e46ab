"""SQL forms of the rules defined above the store, shared by the store's query modules."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_

from tutela.domain import WARNING_ACTIONS
from tutela.store.models import DecisionRow

__all__ = ["warning_clause"]


def warning_clause() -> ColumnElement[bool]:
    """The SQL form of :func:`tutela.domain.is_warning` over ``decisions``: ``variant`` set and
    ``action`` in :data:`tutela.domain.WARNING_ACTIONS` (the one definition of a warning)."""
    return and_(DecisionRow.variant.is_not(None), DecisionRow.action.in_(WARNING_ACTIONS))
