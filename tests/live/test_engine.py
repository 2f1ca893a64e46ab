"""The persona engine's safety properties on the in-memory connector."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from live_support import live_engine

from tutela.connectors import InMemoryConnector, MemoryHub
from tutela.domain import MessageOrigin
from tutela.errors import SafetyError
from tutela.live.clock import SimulatedClock
from tutela.persona import load_persona
from tutela.runtime import Detection


def _engine(tmp_path: Path, detection: Detection):
    """An engine on a new SQLite file, built by the runtime (``tutela.runtime.build_live``)."""
    clock = SimulatedClock()
    hub = MemoryHub(now=clock.now)
    conn = InMemoryConnector(hub, account="gb-ellie", now=clock.now)
    system, engine = live_engine(f"sqlite:///{tmp_path / 'e.db'}", conn, detection, clock=clock)
    return system.store, system.recorder, hub, conn, engine


def test_send_refuses_text_the_guard_did_not_release(tmp_path, detection) -> None:
    store, _, hub, conn, engine = _engine(tmp_path, detection)

    async def go() -> None:
        await conn.start()
        contact = hub.client("c1")
        await contact.say("gb-ellie", "hi")
        handled = await engine.handle(await conn.next_message(timeout=5))
        live = next(iter(engine.sessions.live.values()))
        with pytest.raises(SafetyError):
            await engine.actions.send(
                live, "ok lets meet", delay_s=0, origin=MessageOrigin.bank("forged")
            )
        assert handled.replies  # the normal path did reply, through the guard
        await conn.stop()

    asyncio.run(go())
    store.close()


def test_media_is_recorded_as_metadata_and_flagged(tmp_path, detection) -> None:
    store, recorder, hub, conn, engine = _engine(tmp_path, detection)

    async def go():
        await conn.start()
        contact = hub.client("c2")
        await contact.say("gb-ellie", "look at this", media=["https://img.example.net/a.jpg"])
        handled = await engine.handle(await conn.next_message(timeout=5))
        await conn.stop()
        return handled

    handled = asyncio.run(go())
    (att,) = handled.inbound.attachments
    assert att.kind == "image" and att.url == "https://img.example.net/a.jpg"
    assert handled.case_id is not None  # a human looks at it
    stored = recorder.conversation_messages(handled.conversation_id)[0]
    assert stored.attachments == handled.inbound.attachments
    store.close()


def test_every_inbound_is_recorded_before_the_decision(tmp_path, detection, monkeypatch) -> None:
    store, recorder, hub, conn, engine = _engine(tmp_path, detection)

    def explode(*args, **kwargs):
        raise RuntimeError("policy crashed")

    monkeypatch.setattr(engine.policy, "decide", explode)

    async def go() -> None:
        await conn.start()
        contact = hub.client("c3")
        await contact.say("gb-ellie", "hello there")
        with pytest.raises(RuntimeError):
            await engine.handle(await conn.next_message(timeout=5))
        await conn.stop()

    asyncio.run(go())
    (conv,) = recorder.open_conversations()
    assert [m.text for m in recorder.conversation_messages(conv.id)] == ["hello there"]
    store.close()


def test_operator_takeover_goes_through_the_guard_twice(tmp_path, detection) -> None:
    from tutela.live.takeover import OperatorOutbox
    from tutela.persona import OutgoingGuard
    from tutela.store.models import OperatorMessageRow

    store, recorder, hub, conn, engine = _engine(tmp_path, detection)
    outbox = OperatorOutbox(store)
    guard = OutgoingGuard(load_persona("gb-ellie"))

    async def go():
        await conn.start()
        contact = hub.client("c4")
        await contact.say("gb-ellie", "hi")
        handled = await engine.handle(await conn.next_message(timeout=5))
        await contact.next_reply(timeout=5)
        conv_id = handled.conversation_id
        with pytest.raises(SafetyError):  # only guard-released operator text can be queued
            outbox.put(conv_id, guard.release("haha yeah", origin="bank"), "ana")
        outbox.put(conv_id, guard.release("haha yeah i like drawing", origin="operator"), "ana")

        def forged(s):  # a row written around the dashboard: the engine's guard still refuses it
            from datetime import UTC, datetime

            s.add(
                OperatorMessageRow(
                    conversation_id=conv_id,
                    text="ok lets meet at the park",
                    operator="mallory",
                    status="queued",
                    queued_at=datetime.now(UTC),
                )
            )

        store.write(forged)
        sent = await engine.send_operator_texts(outbox)
        reply = await contact.next_reply(timeout=5)
        await conn.stop()
        return conv_id, sent, reply, contact.pending()

    conv_id, sent, reply, left = asyncio.run(go())
    assert sent == 1 and reply.text == "haha yeah i like drawing" and left == 0
    outs = [m for m in recorder.conversation_messages(conv_id) if m.direction == "out"]
    assert outs[-1].origin == "human:ana" and outs[-1].text == "haha yeah i like drawing"
    assert outbox.pending(conv_id) == []
    store.close()


def test_repeat_contact_across_platforms_via_disclosed_email(tmp_path, detection) -> None:
    import dataclasses

    store, recorder, hub, conn, engine = _engine(tmp_path, detection)
    lines = ["hi", "how old are you", "my email is tom.r@example.com", "turn on your webcam"]

    async def talk(platform: str, contact_id: str) -> list:
        contact = hub.client(contact_id)
        out = []
        for text in lines:
            await contact.say("gb-ellie", text)
            msg = await conn.next_message(timeout=5)
            msg = dataclasses.replace(
                msg, platform=platform, sender=dataclasses.replace(msg.sender, platform=platform)
            )
            out.append(await engine.handle(msg))
            while contact.pending():
                await contact.next_reply(timeout=1)
        return out

    async def go():
        await conn.start()
        first = await talk("xmpp", "tom@chat.example")
        second = await talk("irc", "tommy99")
        await conn.stop()
        return first, second

    first, second = asyncio.run(go())
    assert first[-1].decision.action.value == "deter"
    # a different platform and handle, linked by the disclosed e-mail: a returning contact
    assert second[-1].decision.action.value == "escalate"
    assert second[-1].contact_id == first[-1].contact_id
    summary = recorder.contact_summary(first[-1].contact_id)
    assert summary.platforms == ("irc", "xmpp") and summary.warnings == 2
    store.close()


@pytest.mark.parametrize(
    "text", ["bank:en.greeting.3", "deterrence:v2", "human:alice", "human:device:phone", "bank:"]
)
def test_message_origin_reads_back_the_stored_text(text) -> None:
    origin = MessageOrigin.parse(text)
    assert str(origin) == text
    assert MessageOrigin.read(text) == origin


def test_message_origin_kinds_and_unknown_texts() -> None:
    assert MessageOrigin.parse("human:device:pc") == MessageOrigin.device("pc")
    assert MessageOrigin.parse("human:bob") == MessageOrigin.operator("bob")
    assert str(MessageOrigin.deterrence("v1")) == "deterrence:v1"
    for text in ("operator", "human", "", "Bank:x"):
        with pytest.raises(ValueError):
            MessageOrigin.parse(text)
        assert MessageOrigin.read(text) is None
    assert MessageOrigin.read(None) is None
