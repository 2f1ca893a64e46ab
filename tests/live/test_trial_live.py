"""The deterrence trial on the live path: a contact's arm is allocated and in the ledger before
its warning is sent, kept when it returns (other persona, other handle), never allocated in a
non-evidential operation; the warning carries the per-arm help link and passes the guard."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tutela.connectors import InMemoryConnector, MemoryHub
from tutela.ledger import EntryKind
from tutela.live.clock import SimulatedClock
from tutela.live.engine import PersonaEngine
from tutela.persona import OutgoingGuard, load_persona
from tutela.persona.deterrence import HelpLink
from tutela.runtime import Detection, LiveSystem, build_live, select_persona
from tutela.store import iter_ledger
from tutela.store.queries.trials import allocation_counts, allocation_for, register_trial

BASE = "https://help.example.org/tutela"
LINES = ["hi", "how old are you", "my email is tom.r@example.com", "turn on your webcam"]


def _system(tmp_path: Path, detection: Detection, clock: SimulatedClock) -> LiveSystem:
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"deterrence:\n  help_link_base: {BASE}\n")
    return build_live(
        f"sqlite:///{tmp_path / 't.db'}",
        detection=detection,
        policy=policy,
        signer=None,
        clock=clock.now,
    )


def _evidential(system: LiveSystem) -> int:
    return system.recorder.create_operation(
        organisation="Example Unit",
        jurisdiction="NL",
        legal_basis="synthetic test operation",
        authorisation_ref="AUTH-TRIAL-1",
        officer="officer-1",
        starts_at=datetime(2020, 1, 1, tzinfo=UTC),
    ).id


ARMS = ("combined", "legal_trace", "legal", "help")


def _link(trial_id: int, arm: str, lang: str = "en", country: str = "gb") -> str:
    return f"{BASE}/h/{trial_id}/{ARMS.index(arm) + 1}/{lang}/{country}"


def _trial(system: LiveSystem) -> int:
    return register_trial(
        system.recorder,
        name="trial-1",
        plan_text="# Plan\nPrimary outcome: re-contact within 90 days.\n",
        arms=ARMS,
        seed=1234,
        block_size=8,
        actor="test",
    ).id


def _engine(
    system: LiveSystem, hub: MemoryHub, clock: SimulatedClock, persona: str, op: int, **kw: Any
) -> tuple[InMemoryConnector, PersonaEngine]:
    conn = InMemoryConnector(hub, account=persona, now=clock.now)
    engine = system.engine(
        PersonaEngine,
        connector=conn,
        persona=select_persona(persona),
        operation_id=op,
        clock=clock,
        delay_scale=0.0,
        **kw,
    )
    return conn, engine


async def _talk(conn: InMemoryConnector, engine: PersonaEngine, hub: MemoryHub, who: str) -> list:
    contact = hub.client(who)
    out = []
    for text in LINES:
        await contact.say(conn.account, text)
        out.append(await engine.handle(await conn.next_message(timeout=5)))
        while contact.pending():
            await contact.next_reply(timeout=1)
    return out


def test_allocation_is_in_the_ledger_before_the_warning(tmp_path, detection) -> None:
    clock = SimulatedClock()
    hub = MemoryHub(now=clock.now)
    system = _system(tmp_path, detection, clock)
    op = _evidential(system)
    trial_id = _trial(system)
    conn, engine = _engine(system, hub, clock, "gb-ellie", op)

    async def go() -> list:
        await conn.start()
        try:
            return await _talk(conn, engine, hub, "tom@chat.example")
        finally:
            await conn.stop()

    handled = asyncio.run(go())
    last = handled[-1]
    assert last.decision.action.value == "deter"
    alloc = allocation_for(system.store, trial_id, last.contact_id)
    assert alloc is not None and alloc.stratum == "en" and alloc.block_index == 0
    assert last.decision.variant == alloc.arm  # the arm decides the variant, as recorded
    (warning,) = last.replies
    assert warning.origin == f"deterrence:{alloc.arm}"
    link = _link(trial_id, alloc.arm)
    assert link in (warning.text or "") and alloc.arm not in link  # the link names no arm
    guard = OutgoingGuard(load_persona("gb-ellie"))
    sent = HelpLink(BASE, trial_id, ARMS)
    assert guard.check(warning.text or "", origin="deterrence", help_link=sent).allowed
    # without the link the engine built for this send, no linked text passes the guard
    assert not guard.check(warning.text or "", origin="deterrence").allowed
    other_no = (ARMS.index(alloc.arm) + 1) % len(ARMS) + 1
    forgeries = [
        (warning.text or "").replace(link, link.replace(f"/h/{trial_id}/", f"/h/{trial_id}9/")),
        (warning.text or "").replace(link, f"{BASE}/h/{trial_id}/{other_no}/en/gb"),
        (warning.text or "").replace(BASE, "http://help.example.org"),
        (warning.text or "").replace(BASE, "https://evil.example/collect/tom-at-example.com"),
        (warning.text or "").replace(link, link + "?who=tom"),
    ]
    for forged in forgeries:
        assert forged != warning.text
        assert not guard.check(forged, origin="deterrence", help_link=sent).allowed, forged
        assert not guard.check(forged, origin="deterrence").allowed, forged
    assert not guard.check(
        warning.text or "", origin="deterrence", help_link=HelpLink(BASE, trial_id + 1, ARMS)
    ).allowed

    entries = list(iter_ledger(system.store))
    (allocated,) = [
        e
        for e in entries
        if e.kind is EntryKind.OPERATION and (e.payload or {}).get("event") == "trial_allocated"
    ]
    assert allocated.conversation == last.conversation_id
    assert allocated.payload is not None and allocated.payload["arm"] == alloc.arm
    assert allocated.seq == alloc.ledger_seq
    decision = next(
        e
        for e in entries
        if e.kind is EntryKind.DECISION and (e.payload or {}).get("variant") is not None
    )
    outbound = next(
        e
        for e in entries
        if e.kind is EntryKind.OUTBOUND
        and str((e.payload or {}).get("origin", "")).startswith("deterrence:")
    )
    assert allocated.seq < decision.seq < outbound.seq
    assert decision.payload is not None and decision.payload["variant"] == alloc.arm
    system.close()


def test_a_returning_contact_keeps_its_arm_across_personas(tmp_path, detection) -> None:
    clock = SimulatedClock()
    hub = MemoryHub(now=clock.now)
    system = _system(tmp_path, detection, clock)
    op = _evidential(system)
    trial_id = _trial(system)
    conn1, ellie = _engine(system, hub, clock, "gb-ellie", op)
    conn2, angel = _engine(system, hub, clock, "ph-angel", op, lang="en")

    async def go() -> tuple[list, list]:
        await conn1.start()
        await conn2.start()
        try:
            first = await _talk(conn1, ellie, hub, "tom@chat.example")
            # another persona, another handle; the same e-mail links (and merges) the two
            second = await _talk(conn2, angel, hub, "tommy99")
            return first, second
        finally:
            await conn1.stop()
            await conn2.stop()

    first, second = asyncio.run(go())
    assert first[-1].decision.action.value == "deter"
    assert second[-1].decision.variant is not None  # warned again (and escalated)
    assert second[-1].contact_id == first[-1].contact_id
    arm = first[-1].decision.variant
    assert second[-1].decision.variant == arm
    (reply,) = second[-1].replies
    assert reply.origin == f"deterrence:{arm}" and _link(trial_id, arm, country="ph") in (
        reply.text or ""
    )  # the second persona's own helpline country
    assert sum(allocation_counts(system.store, trial_id).values()) == 1  # allocated once
    system.close()


def test_no_allocation_in_a_non_evidential_operation(tmp_path, detection) -> None:
    clock = SimulatedClock()
    hub = MemoryHub(now=clock.now)
    system = _system(tmp_path, detection, clock)
    trial_id = _trial(system)
    demo_op = system.recorder.ensure_demo_operation().id
    system.assigner.advance()  # the rotation would give legal_trace next: the default wins
    conn, engine = _engine(system, hub, clock, "gb-ellie", demo_op)

    async def go() -> list:
        await conn.start()
        try:
            return await _talk(conn, engine, hub, "demo-contact")
        finally:
            await conn.stop()

    last = asyncio.run(go())[-1]
    assert last.decision.action.value == "deter"
    assert last.decision.variant == "combined"  # the default variant
    (warning,) = last.replies
    assert "/h/" not in (warning.text or "") and "https://www.stopitnow.org.uk" in (
        warning.text or ""
    )
    assert allocation_counts(system.store, trial_id) == {}
    events = [
        (e.payload or {}).get("event")
        for e in iter_ledger(system.store)
        if e.kind is EntryKind.OPERATION
    ]
    assert "trial_allocated" not in events
    system.close()


def test_without_a_trial_the_rotation_stays(tmp_path, detection) -> None:
    clock = SimulatedClock()
    hub = MemoryHub(now=clock.now)
    system = _system(tmp_path, detection, clock)
    op = _evidential(system)
    system.assigner.advance()
    conn, engine = _engine(system, hub, clock, "gb-ellie", op)

    async def go() -> list:
        await conn.start()
        try:
            return await _talk(conn, engine, hub, "no-trial")
        finally:
            await conn.stop()

    last = asyncio.run(go())[-1]
    assert last.decision.variant == "legal_trace"  # round robin, second variant
    (warning,) = last.replies
    assert "/h/" not in (warning.text or "")
    system.close()
