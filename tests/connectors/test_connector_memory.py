"""The in-memory connector: round trip, room filter, reconnection with back-off."""

from __future__ import annotations

import json

import pytest

from connector_clients import eventually, run
from tutela.connectors import Address, Backoff, InMemoryConnector, MemoryHub


def test_direct_round_trip(memory_hub: MemoryHub) -> None:
    async def go() -> None:
        persona = InMemoryConnector(memory_hub, account="p1")
        contact = memory_hub.client("contact-1")
        await persona.start()
        try:
            sent = await contact.say("p1", "hi, how old are you")
            msg = await persona.next_message(timeout=2)
            assert (msg.sender.id, msg.text, msg.direct, msg.room) == (
                "contact-1",
                "hi, how old are you",
                True,
                None,
            )
            assert msg.account == "p1" and msg.platform == "memory"
            assert msg.received_at.tzinfo is not None
            assert json.loads(msg.wire)["id"] == sent.id == msg.platform_id
            await persona.send(Address.reply_to(msg), "hey")
            reply = await contact.next_reply(timeout=2)
            assert (reply.sender, reply.to, reply.text) == ("p1", "contact-1", "hey")
            assert persona.stats.received == 1 and persona.stats.sent == 1
        finally:
            await persona.stop()

    run(go())


def test_room_messages_not_mentioning_the_persona_are_counted_not_kept(
    memory_hub: MemoryHub,
) -> None:
    async def go() -> None:
        persona = InMemoryConnector(memory_hub, account="p1", nick="mia", rooms=["lobby"])
        contact = memory_hub.client("c1")
        await persona.start()
        try:
            await contact.say_in_room("lobby", "anyone here into football")
            await contact.say_in_room("lobby", "mian is not a mention")
            await contact.say_in_room("lobby", "@Mia what school do you go to")
            msg = await persona.next_message(timeout=2)
            assert msg.text == "@Mia what school do you go to"
            assert (msg.room, msg.direct, msg.mentioned) == ("lobby", False, True)
            assert persona.stats.room_messages_ignored == 2
            assert persona.stats.received == 1
            assert persona._queue.empty()  # nothing else was kept
            await persona.send(Address.reply_to(msg), "hi")
            assert (await contact.next_reply(timeout=2)).room == "lobby"
        finally:
            await persona.stop()

    run(go())


def test_media_is_metadata(memory_hub: MemoryHub) -> None:
    async def go() -> None:
        persona = InMemoryConnector(memory_hub, account="p1")
        await persona.start()
        try:
            await memory_hub.client("c1").say("p1", "look", media=["https://example.org/x.png"])
            msg = await persona.next_message(timeout=2)
            assert [(a.kind, a.url) for a in msg.attachments] == [
                ("image", "https://example.org/x.png")
            ]
        finally:
            await persona.stop()

    run(go())


def test_reconnects_with_backoff_and_gets_offline_messages(memory_hub: MemoryHub) -> None:
    delays: list[float] = []

    async def go() -> None:
        release = __import__("asyncio").Event()

        async def fake_sleep(s: float) -> None:
            delays.append(s)
            await release.wait()
            release.clear()

        persona = InMemoryConnector(
            memory_hub,
            account="p1",
            backoff=Backoff(initial=1.0, factor=2.0, maximum=8.0, jitter=0.0),
            sleep=fake_sleep,
        )
        await persona.start()
        try:
            memory_hub.drop("p1")
            await eventually(lambda: len(delays) == 1)
            assert not persona.online
            await memory_hub.client("c1").say("p1", "are you there")  # queued by the hub
            release.set()
            await eventually(lambda: persona.online)
            msg = await persona.next_message(timeout=2)
            assert msg.text == "are you there"
            memory_hub.drop("p1")
            await eventually(lambda: len(delays) == 2)
            release.set()
            await eventually(lambda: persona.online)
            assert persona.stats.sessions == 3 and persona.stats.connect_failures == 2
        finally:
            await persona.stop()
        # The counter restarts after each session that came online: 1 s both times.
        assert delays == [1.0, 1.0]

    run(go())


def test_stop_ends_inbound_iteration(memory_hub: MemoryHub) -> None:
    async def go() -> list[str]:
        persona = InMemoryConnector(memory_hub, account="p1")
        await persona.start()
        await memory_hub.client("c1").say("p1", "one")
        got = []
        async for msg in persona.inbound():
            got.append(msg.text)
            await persona.stop()
        return got

    assert run(go()) == ["one"]


@pytest.mark.parametrize("text", ["x" * 9000])
def test_long_text_is_split_below_limit(memory_hub: MemoryHub, text: str) -> None:
    async def go() -> None:
        persona = InMemoryConnector(memory_hub, account="p1")
        contact = memory_hub.client("c1")
        await persona.start()
        try:
            await persona.send(Address("memory", "c1"), text)
            parts = [(await contact.next_reply(timeout=2)).text for _ in range(3)]
            assert "".join(parts) == text
            assert persona.stats.sent_parts == 3
        finally:
            await persona.stop()

    run(go())
