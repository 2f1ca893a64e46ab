"""Retention: the message texts of dismissed cases are deleted once the retention period has
passed since the latest dismissal, and the case becomes ``purged`` (``CaseWorkflow.purge_expired``,
``tutela cases retention``). The ledger keeps verifying: a purge leaves a ``retention_purge``
tombstone (``Recorder.purge_messages``) and the case a ``purge`` event, audit row and ``review``
entry (``docs/architecture.md``, cases). A case under an active legal hold (``tutela.cases.hold``)
is never purged: it is skipped until the hold is released.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from tutela.cases.scope import require_case
from tutela.cases.transitions import TRANSITIONS, CaseStatus, EventAction, record_transition
from tutela.cases.views import SYSTEM
from tutela.errors import InputError
from tutela.store import Recorder
from tutela.store.queries import cases as queries
from tutela.store.queries.cases import CaseWrites
from tutela.store.queries.holds import held_contact, purge_unless_held

__all__ = ["DEFAULT_RETENTION_DAYS", "purge_expired"]

DEFAULT_RETENTION_DAYS = 90
"""Days a dismissed case's message texts are kept before ``purge_expired`` deletes them
(counted from the latest dismissal). A project default, not a legal figure: set it to what the
operation's legal basis and data-protection assessment allow (``tutela cases retention --days``)."""


def purge_expired(
    recorder: Recorder,
    *,
    clock: Callable[[], datetime],
    retention_days: int = DEFAULT_RETENTION_DAYS,
    now: datetime | None = None,
    dry_run: bool = False,
    actor: str = SYSTEM,
) -> list[int]:
    """Purge the message texts of the cases dismissed more than ``retention_days`` (>= 0) days
    before ``now`` (default: ``clock()``, aware UTC), and mark them ``purged``.

    Texts, wire bytes and attachment metadata go through ``Recorder.purge_messages`` (one
    ``retention_purge`` tombstone per case); each case's ``purge`` decision is its own
    transaction, skipped when the case was reopened meanwhile; a case under a legal hold is
    skipped (module docstring). Returns the ids of the cases purged
    (or, with ``dry_run``, that would be), ascending. Safe to re-run after an interruption.
    ``InputError``: a bad ``retention_days`` or a naive ``now``.
    """
    if isinstance(retention_days, bool) or not isinstance(retention_days, int):
        raise InputError(f"retention_days must be an integer, got {retention_days!r}")
    if retention_days < 0:
        raise InputError("retention_days must be >= 0")
    now = now or clock()
    if now.tzinfo is None or now.utcoffset() is None:
        raise InputError("now must be an aware datetime")
    cutoff = now - timedelta(days=retention_days)
    expired = queries.expired_cases(
        recorder.store,
        cutoff=cutoff,
        status=CaseStatus.DISMISSED.value,
        action=EventAction.DISMISS.value,
    )
    if dry_run:
        return [cid for cid, contact in expired if not held_contact(recorder.store, contact)]
    purged = []
    reason = f"retention: dismissed more than {retention_days} days ago"
    for case_id, contact_id in expired:
        ids = queries.contact_message_ids(recorder.store, contact_id)
        # a legal hold refuses the purge inside its own transaction (a hold set meanwhile wins)
        held, tombstone = purge_unless_held(recorder, contact_id, ids, actor=actor, reason=reason)
        if held:
            continue
        tomb_seq = None if tombstone is None else tombstone.seq

        def _work(
            q: CaseWrites, case_id: int = case_id, n: int = len(ids), tomb: int | None = tomb_seq
        ) -> bool:
            case = require_case(q, case_id)
            if not TRANSITIONS[EventAction.PURGE].allows(case.status):  # reopened meanwhile
                return False
            record_transition(
                q,
                case,
                None,
                EventAction.PURGE,
                reason,
                {"retention_days": retention_days, "messages": n, "tombstone_seq": tomb},
                now=clock(),
                actor_name=actor,
            )
            return True

        if queries.writing(recorder, _work):
            purged.append(case_id)
    return purged
