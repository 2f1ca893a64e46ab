"""Retention: texts of long-dismissed cases are purged, a tombstone stays, the ledger verifies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cases_support import Env, record_conversation

from tutela.cases.workflow import DEFAULT_RETENTION_DAYS
from tutela.errors import InputError
from tutela.ledger import EntryKind
from tutela.store import iter_ledger, verify_store

LINES = [("hi there", "continue", 0.1, []), ("how old are you", "deter", 0.6, [])]


def test_purge_expired_dismissed_cases(env: Env) -> None:
    wf = env.workflow
    old = record_conversation(env, "old", LINES)
    kept = record_conversation(env, "kept", LINES)  # open: never purged
    wf.dismiss(old, env.analyst, "harmless")
    env.clock.advance(days=10)
    recent = record_conversation(env, "recent", LINES)
    wf.dismiss(recent, env.analyst, "harmless")
    now = env.clock() + timedelta(days=DEFAULT_RETENTION_DAYS - 5)  # old: 95 days, recent: 85

    assert wf.purge_expired(retention_days=DEFAULT_RETENTION_DAYS, now=now, dry_run=True) == [old]
    assert all(m.text for c in wf.case_detail(old).conversations for m in c.messages)

    assert wf.purge_expired(retention_days=DEFAULT_RETENTION_DAYS, now=now) == [old]
    detail = wf.case_detail(old)
    assert detail.case.status == "purged"
    msgs = [m for c in detail.conversations for m in c.messages]
    assert msgs and all(m.text is None and m.purged for m in msgs)
    assert detail.events[-1].action == "purge" and detail.events[-1].actor == "system"
    for other in (kept, recent):
        assert all(m.text for c in wf.case_detail(other).conversations for m in c.messages)

    tombstones = [e for e in iter_ledger(env.store) if e.kind is EntryKind.RETENTION_PURGE]
    assert len(tombstones) == 1
    assert len(tombstones[0].payload["messages"]) == len(msgs)
    assert detail.events[-1].details["tombstone_seq"] == tombstones[0].seq
    assert verify_store(env.store, env.signer.public_key) > 0
    # idempotent: nothing more to purge
    assert wf.purge_expired(retention_days=DEFAULT_RETENTION_DAYS, now=now) == []


def test_reopened_case_is_not_purged(env: Env) -> None:
    wf = env.workflow
    case = record_conversation(env, "back", LINES)
    wf.dismiss(case, env.analyst, "harmless")
    wf.reopen(case, env.analyst, "contact came back")
    assert wf.purge_expired(retention_days=0, now=env.clock() + timedelta(days=1)) == []


def test_purged_case_can_be_reopened(env: Env) -> None:
    wf = env.workflow
    case = record_conversation(env, "gone", LINES)
    wf.dismiss(case, env.analyst, "harmless")
    assert wf.purge_expired(retention_days=1, now=env.clock() + timedelta(days=2)) == [case]
    wf.reopen(case, env.supervisor, "contact returned")
    assert wf.case_summary(case).status == "open"


def test_bad_retention_arguments(env: Env) -> None:
    with pytest.raises(InputError):
        env.workflow.purge_expired(retention_days=-1)
    with pytest.raises(InputError):
        env.workflow.purge_expired(retention_days=90, now=env.clock().replace(tzinfo=None))
