"""The engine records each decided line's own indicator ids with its decision (issue 12: the
dashboard masks and tags a line for what it raised itself, a repeat included); the decision's
``indicators`` (the conversation's so far, the ledger payload) are unchanged. Lines are short
synthetic texts written for this test."""

from __future__ import annotations

import asyncio
from pathlib import Path

from live_support import live_engine

from tutela.connectors import InMemoryConnector, MemoryHub
from tutela.live.clock import SimulatedClock
from tutela.runtime import Detection

LINES = ("how old are you", "hello there", "how old are you")


def test_each_decision_records_the_indicators_its_line_raised(
    tmp_path: Path, detection: Detection
) -> None:
    clock = SimulatedClock()
    hub = MemoryHub(now=clock.now)
    conn = InMemoryConnector(hub, account="gb-ellie", now=clock.now)
    system, engine = live_engine(f"sqlite:///{tmp_path / 'e.db'}", conn, detection, clock=clock)

    async def go() -> int:
        await conn.start()
        contact = hub.client("c1")
        conv = 0
        for text in LINES:
            await contact.say("gb-ellie", text)
            conv = (await engine.handle(await conn.next_message(timeout=5))).conversation_id
        await conn.stop()
        return conv

    conv = asyncio.run(go())
    decs = system.recorder.conversation_decisions(conv)
    assert [d.after_line for d in decs] == [1, 2, 3]
    first, between, repeat = (d.line_indicators for d in decs)
    assert first and all(".age_probe." in i for i in first)
    assert between == ()
    assert repeat == first  # the repeat is recorded on its own line
    assert set(first) <= set(decs[-1].indicators)  # the running list, as before
    system.store.close()
