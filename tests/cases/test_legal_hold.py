"""Legal holds (``tutela.cases.hold``): set and release are audited with their reasons, only
the allowed roles may take them, retention skips a held case, and the live engine sends nothing
in a held conversation while it still records every inbound line and every decision."""

from __future__ import annotations

import asyncio
import io
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from cases_support import Clock, Env, record_conversation

from tutela.cases.hold import (
    case_hold,
    case_holds,
    conversation_held,
    release_legal_hold,
    set_legal_hold,
)
from tutela.errors import InputError, PermissionDenied
from tutela.ledger import EntryKind, sha256_hex
from tutela.store import NotFoundError, iter_ledger, verify_store
from tutela.store.queries.holds import HOLD_RELEASED, HOLD_SET, held_case_ids

LINES = [("hi there", "continue", 0.1, []), ("how old are you", "deter", 0.6, [])]


def _audit(env: Env, action: str) -> list[dict]:
    return [
        e.payload
        for e in iter_ledger(env.store)
        if e.kind is EntryKind.AUDIT and e.payload["action"] == action
    ]


def test_set_and_release_are_audited_with_the_reason(env: Env) -> None:
    case = record_conversation(env, "held", LINES)
    assert case_hold(env.store, case) is None
    hold = set_legal_hold(env.recorder, case, "  court order 2025/17  ", user=env.analyst)
    assert hold.active and hold.reason == "court order 2025/17" and hold.set_by == "ana"
    assert hold.set_at == env.clock()
    assert case_hold(env.store, case) == hold
    (entry,) = _audit(env, HOLD_SET)
    assert entry["actor"] == "ana" and entry["target"] == f"case:{case}"
    assert entry["details"] == {
        "case_id": case,
        "hold_id": hold.id,
        "reason_sha256": sha256_hex(b"court order 2025/17"),
    }

    env.clock.advance(days=3)
    released = release_legal_hold(env.recorder, case, "order lifted", user=env.supervisor)
    assert not released.active and released.released_by == "sue"
    assert released.released_at == env.clock() and released.release_reason == "order lifted"
    assert case_hold(env.store, case) is None
    (entry,) = _audit(env, HOLD_RELEASED)
    assert entry["actor"] == "sue"
    assert entry["details"]["reason_sha256"] == sha256_hex(b"order lifted")
    assert entry["details"]["set_by"] == "ana"
    assert [h.id for h in case_holds(env.store, case)] == [hold.id]
    assert verify_store(env.store, env.signer.public_key) > 0

    again = set_legal_hold(env.recorder, case, "new order", actor_name="cli:op")
    assert again.id != hold.id and again.set_by == "cli:op"
    assert [h.active for h in case_holds(env.store, case)] == [False, True]


@pytest.mark.parametrize("reason", ["", "   ", "x" * 4001])
def test_a_reason_is_required(env: Env, reason: str) -> None:
    case = record_conversation(env, "r", LINES)
    with pytest.raises(InputError):
        set_legal_hold(env.recorder, case, reason, user=env.supervisor)
    set_legal_hold(env.recorder, case, "order", user=env.supervisor)
    with pytest.raises(InputError):
        release_legal_hold(env.recorder, case, reason, user=env.supervisor)
    assert case_hold(env.store, case) is not None
    assert len(_audit(env, HOLD_SET)) == 1 and _audit(env, HOLD_RELEASED) == []


def test_second_hold_and_release_without_hold_are_refused(env: Env) -> None:
    case = record_conversation(env, "two", LINES)
    with pytest.raises(NotFoundError):
        release_legal_hold(env.recorder, case, "nothing held", user=env.supervisor)
    set_legal_hold(env.recorder, case, "first", user=env.analyst)
    with pytest.raises(InputError, match="already under a legal hold"):
        set_legal_hold(env.recorder, case, "second", user=env.supervisor)
    with pytest.raises(NotFoundError):
        set_legal_hold(env.recorder, 999_999, "no such case", user=env.supervisor)
    assert len(case_holds(env.store, case)) == 1 and len(_audit(env, HOLD_SET)) == 1


def test_roles(env: Env) -> None:
    case = record_conversation(env, "roles", LINES)
    with pytest.raises(PermissionDenied):
        set_legal_hold(env.recorder, case, "admins take no case decisions", user=env.admin)
    set_legal_hold(env.recorder, case, "order", user=env.analyst2)
    with pytest.raises(PermissionDenied):  # releasing lets retention delete again: supervisors
        release_legal_hold(env.recorder, case, "done", user=env.analyst)
    env.users.deactivate("sam", actor="test")
    with pytest.raises(PermissionDenied):  # the actor is re-read in the write's transaction
        release_legal_hold(env.recorder, case, "done", user=env.supervisor2)
    assert case_hold(env.store, case) is not None
    release_legal_hold(env.recorder, case, "done", user=env.supervisor)
    assert _audit(env, HOLD_RELEASED)[0]["actor"] == "sue"


def test_retention_skips_a_held_case(env: Env) -> None:
    wf = env.workflow
    held = record_conversation(env, "held", LINES)
    free = record_conversation(env, "free", LINES)
    for case in (held, free):
        wf.dismiss(case, env.analyst, "harmless")
    set_legal_hold(env.recorder, held, "preserve for court", user=env.analyst)
    now = env.clock() + timedelta(days=2)
    assert wf.purge_expired(retention_days=1, now=now, dry_run=True) == [free]
    assert wf.purge_expired(retention_days=1, now=now) == [free]
    detail = wf.case_detail(held)
    assert detail.case.status == "dismissed"
    assert all(m.text for c in detail.conversations for m in c.messages)
    assert held_case_ids(env.store) == {held}

    release_legal_hold(env.recorder, held, "court released it", user=env.supervisor)
    assert wf.purge_expired(retention_days=1, now=now) == [held]
    assert all(m.text is None for c in wf.case_detail(held).conversations for m in c.messages)


def test_a_hold_follows_a_merged_contact(env: Env) -> None:
    """A held case whose contact is merged into another keeps its conversations held."""
    rec = env.recorder
    a_case = record_conversation(env, "a", LINES)
    b_case = record_conversation(env, "b", LINES)
    set_legal_hold(rec, b_case, "order", user=env.supervisor)
    b_contact = env.workflow.case_summary(b_case).contact_id
    a_contact = env.workflow.case_summary(a_case).contact_id
    b_conv = env.workflow.case_detail(b_case).conversations[0].id
    rec.link_identity(a_contact, "disclosed", "email", "same@example.org", None)
    rec.link_identity(b_contact, "disclosed", "email", "same@example.org", None)
    assert rec.resolve_contact(b_contact) == a_contact  # b absorbed into the older a
    assert conversation_held(env.store, b_conv)
    env.workflow.dismiss(a_case, env.analyst, "harmless")
    later = env.clock() + timedelta(days=1)  # a's case now holds b's held conversation
    assert env.workflow.purge_expired(retention_days=0, now=later, dry_run=True) == []


# -- the live engine -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def detection():
    from tutela.runtime import load_detection

    det = load_detection()
    det.tables  # noqa: B018
    return det


def test_engine_sends_nothing_in_a_held_conversation(tmp_path: Path, detection) -> None:
    from tutela.connectors import InMemoryConnector, MemoryHub
    from tutela.live.clock import SimulatedClock
    from tutela.live.engine import PersonaEngine
    from tutela.runtime import build_live, select_persona

    clock = SimulatedClock()
    hub = MemoryHub(now=clock.now)
    conn = InMemoryConnector(hub, account="gb-ellie", now=clock.now)
    system = build_live(
        f"sqlite:///{tmp_path / 'h.db'}", detection=detection, signer=None, clock=clock.now
    )
    rec = system.recorder
    engine = system.engine(
        PersonaEngine,
        connector=conn,
        persona=select_persona("gb-ellie"),
        operation_id=rec.ensure_demo_operation().id,
        clock=clock,
        delay_scale=0.0,
    )

    async def go():
        await conn.start()
        contact = hub.client("kim@chat.example")
        out = []
        for text in ["hi", "how old are you"]:
            await contact.say("gb-ellie", text)
            out.append(await engine.handle(await conn.next_message(timeout=5)))
            while contact.pending():
                await contact.next_reply(timeout=1)
        assert all(h.replies for h in out)  # answered before the hold
        case = rec.get_or_create_case(out[0].contact_id).id
        set_legal_hold(rec, case, "preserve", actor_name="cli:op")
        for text in ["turn on your webcam", "are you there"]:
            await contact.say("gb-ellie", text)
            out.append(await engine.handle(await conn.next_message(timeout=5)))
        pending = contact.pending()
        await conn.stop()
        return out, pending, case

    out, pending, case = asyncio.run(go())
    held = out[2:]
    assert held[0].decision.action.value == "deter"  # decided as without the hold ...
    assert all(h.replies == () for h in held) and not pending  # ... and nothing sent
    conv = out[0].conversation_id
    msgs = rec.conversation_messages(conv)
    assert [m.text for m in msgs if m.direction == "in"] == [
        "hi",
        "how old are you",
        "turn on your webcam",
        "are you there",
    ]
    assert [m.direction for m in msgs][-2:] == ["in", "in"]
    decisions = [e for e in iter_ledger(system.store) if e.kind is EntryKind.DECISION]
    assert len(decisions) == 4
    withheld = [
        e.payload
        for e in iter_ledger(system.store)
        if e.kind is EntryKind.AUDIT and e.payload["action"] == "reply_withheld"
    ]
    assert [w["details"]["after_line"] for w in withheld] == [3, 4]
    assert withheld[0]["details"]["action"] == "deter"
    assert not any((m.origin or "").startswith("deterrence") for m in msgs)  # no warning out
    # the withheld warning does not count as one (no variant recorded) and the rotation did
    # not advance: the next warning gets the variant this one would have had
    assert held[0].decision.variant is None and "legal hold" in held[0].decision.reason
    assert engine.assigner.peek() == engine.assigner.params.variants[0]
    assert system.recorder.warnings_issued() == 0
    assert engine.sessions.open_by_id()[conv].ended_at is None
    assert case_hold(system.store, case) is not None
    system.close()


# -- the CLI ---------------------------------------------------------------------------------
def _cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    from tutela.cli import main

    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def test_cli_hold_and_release(tmp_path: Path, monkeypatch, capsys) -> None:
    from types import SimpleNamespace

    from tutela.runtime import open_runtime

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    clock = Clock()
    with open_runtime(url, signer=None, clock=clock) as runtime:
        case = record_conversation(
            SimpleNamespace(recorder=runtime.recorder, clock=clock), "cli", LINES
        )

    code, out, err = _cli(monkeypatch, capsys, "cases", "hold", str(case), "--db", url)
    assert code == 2 and "--reason" in err  # the reason is required
    code, out, err = _cli(
        monkeypatch, capsys, "cases", "hold", str(case), "--reason", " ", "--db", url
    )
    assert code == 2 and "reason" in err
    code, out, _ = _cli(
        monkeypatch, capsys, "cases", "hold", str(case), "--reason", "order 7", "--db", url
    )
    assert code == 0 and f"case {case} is under legal hold" in out
    code, _, err = _cli(
        monkeypatch, capsys, "cases", "hold", str(case), "--reason", "again", "--db", url
    )
    assert code == 2 and "already under a legal hold" in err
    code, out, _ = _cli(
        monkeypatch, capsys, "cases", "release", str(case), "--reason", "lifted", "--db", url
    )
    assert code == 0 and "released legal hold" in out
    code, _, err = _cli(
        monkeypatch, capsys, "cases", "release", str(case), "--reason", "lifted", "--db", url
    )
    assert code == 2 and "no active legal hold" in err

    with open_runtime(url, signer=None) as rt:
        (hold,) = case_holds(rt.store, case)
        assert hold.reason == "order 7" and hold.release_reason == "lifted"
        assert hold.set_by.startswith("cli") and hold.released_by == hold.set_by
