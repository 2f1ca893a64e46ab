"""Atomic read-modify-write of one key of a dashboard session's ``data`` (``web_sessions``), with
an optional audit row in the same transaction.

Used by the dashboard's exposure limits (``tutela.web.exposure``): every counted case view
updates the session's counters, and the view that reaches a limit writes its
``exposure_limit_reached`` audit row in the same transaction, so several ``tutela serve``
processes over one database agree on the counts and no limit event is lost or doubled. The rule
that decides the new value runs above the store (the ``update`` callback is a pure function of
the stored value; ``docs/architecture.md``, store: the only SQL speaker). Errors: ``StoreError``
(database), ``InputError`` (audit details that are not canonical JSON: nothing is written).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tutela.store.models import WebSessionRow

if TYPE_CHECKING:
    from tutela.store.recorder import Recorder

__all__ = ["AuditNote", "SessionValueUpdate", "update_session_value"]


@dataclass(frozen=True, slots=True)
class AuditNote:
    """An audit row to write with the update: ``actor``, ``action``, ``target``, ``details``
    (canonical JSON: no floats)."""

    actor: str
    action: str
    target: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SessionValueUpdate:
    """What an ``update`` callback returns: the new stored ``value`` (JSON-able), an ``audit``
    row to write with it (or ``None``) and a ``result`` handed back to the caller."""

    value: Any
    result: Any = None
    audit: AuditNote | None = None


def update_session_value(
    recorder: Recorder,
    digest: str,
    key: str,
    update: Callable[[Any], SessionValueUpdate],
) -> tuple[bool, Any, Any]:
    """Lock the session stored under ``digest`` (``SELECT ... FOR UPDATE`` on PostgreSQL; the
    store's write transaction on SQLite), call ``update(stored value of key or None)``, store its
    ``value`` under ``key`` and write its ``audit`` row (with the ``audit`` ledger entry), all in
    one transaction.

    Returns ``(found, value, result)``: ``found`` False (and ``update`` not called, nothing
    written) when the session is gone; else the new value and ``update``'s ``result``. What
    ``update`` raises rolls everything back.
    """

    def _work(s: Session) -> tuple[bool, Any, Any]:
        row = s.execute(
            select(WebSessionRow).where(WebSessionRow.token_sha256 == digest).with_for_update()
        ).scalar_one_or_none()
        if row is None:
            return False, None, None
        data = dict(row.data) if isinstance(row.data, dict) else {}
        out = update(data.get(key))
        if out.audit is not None:
            a = out.audit
            recorder._audit(s, a.actor, a.action, a.target, dict(a.details))
        data[key] = out.value
        row.data = data
        return True, out.value, out.result

    return recorder.store.write(_work)
