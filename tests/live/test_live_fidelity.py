"""The engine's side of issue 11: a message delivered twice is recorded and answered once (across a
restart too), the platform's sent time is stored beside the receive time, a copy addressed to
another device of the account is recorded but not answered, and a line a human typed on another
device is recorded as an operator line. Then the same over real Prosody and miniircd."""

from __future__ import annotations

import asyncio
import hashlib
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest

from tutela.connectors import Identity, InboundMessage, InMemoryConnector, MemoryHub
from tutela.connectors.base import Capabilities, OwnMessage
from tutela.connectors.irc import IrcConnector
from tutela.connectors.xmpp import XmppConnector
from tutela.ledger import Signer
from tutela.live.clock import SimulatedClock
from tutela.runtime import Detection
from tutela.store import Recorder, Store, iter_ledger, verify_store

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from live_support import live_engine  # noqa: E402

from connector_clients import IrcContact, XmppContact, eventually, run  # noqa: E402
from servers import miniircd_server, prosody_server  # noqa: E402

PERSONA = "gb-ellie"
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


class DurableMemory(InMemoryConnector):
    """The in-memory connector, but with message ids that name a message for good."""

    capabilities: ClassVar[Capabilities] = replace(
        InMemoryConnector.capabilities, durable_message_ids=True
    )


def _engine(
    db: str | Store, connector: Any, detection: Detection, clock: Any = None, signer: Any = None
):
    """A recorder and an engine built by the runtime (``tutela.runtime.build_live``) on ``db``, a
    SQLite URL (a new system) or the open store of one: a restarted process on that database."""
    system, engine = live_engine(
        db, connector, detection, clock=clock, signer=signer, delay_scale=0.0
    )
    return system.recorder, engine


def _msg(text: str, pid: str | None, **kw: Any) -> InboundMessage:
    kw.setdefault("received_at", T0)
    return InboundMessage(
        platform="memory", account=PERSONA, sender=Identity("memory", "c1", "c1"), room=None,
        text=text, direct=True, mentioned=False, wire=f"<{text}>".encode(), platform_id=pid,
        **kw,
    )  # fmt: skip


def _messages(recorder: Recorder) -> list:
    out = []
    for conv in recorder.open_conversations():
        out += recorder.conversation_messages(conv.id)
    return out


@pytest.fixture
def memory(tmp_path: Path, detection: Detection) -> Iterator[SimpleNamespace]:
    clock = SimulatedClock(T0)
    hub = MemoryHub(now=clock.now)
    conn = DurableMemory(hub, account=PERSONA, now=clock.now)
    recorder, engine = _engine(f"sqlite:///{tmp_path / 'f.db'}", conn, detection, clock)
    store = recorder.store
    yield SimpleNamespace(
        store=store, hub=hub, conn=conn, recorder=recorder, engine=engine, clock=clock
    )
    store.close()


# ---------------------------------------------------------------------------------------------
# de-duplication


def test_second_delivery_is_recorded_and_answered_once(memory) -> None:
    store, hub, conn, recorder, engine = (
        memory.store,
        memory.hub,
        memory.conn,
        memory.recorder,
        memory.engine,
    )
    contact = hub.client("c1")

    async def go() -> None:
        await conn.start()
        first = await engine.handle(_msg("hi there", "id-1"))
        again = await engine.handle(_msg("hi there", "id-1", received_at=T0 + timedelta(1)))
        assert first is not None and first.replies
        assert again is None
        assert engine.duplicates_dropped == 1
        replies = [await contact.next_reply(timeout=1)]
        with pytest.raises(TimeoutError):
            await contact.next_reply(timeout=0.2)
        assert len(replies) == 1
        await conn.stop()

    run(go())
    msgs = _messages(recorder)
    assert [m.direction for m in msgs] == ["in", "out"]
    assert sum(1 for e in iter_ledger(store) if e.kind.value == "decision") == 1


def test_duplicate_after_a_restart_is_dropped(memory, detection) -> None:
    store, conn, recorder, engine, clock = (
        memory.store,
        memory.conn,
        memory.recorder,
        memory.engine,
        memory.clock,
    )

    async def go() -> None:
        await conn.start()
        assert await engine.handle(_msg("hello", "id-7")) is not None
        # a new process: a new engine on the same store, the server replays the message
        _, engine2 = _engine(store, conn, detection, clock)
        await engine2.resume()
        assert await engine2.handle(_msg("hello", "id-7")) is None
        assert engine2.duplicates_dropped == 1
        assert await engine2.handle(_msg("hello again", "id-8")) is not None
        await conn.stop()

    run(go())
    assert [m.text for m in _messages(recorder) if m.direction == "in"] == ["hello", "hello again"]


def test_reused_id_with_other_words_and_messages_without_id_are_recorded(memory) -> None:
    conn, recorder, engine = memory.conn, memory.recorder, memory.engine

    async def go() -> None:
        await conn.start()
        for text, pid in [("one", "same"), ("two", "same"), ("x", None), ("x", None)]:
            assert await engine.handle(_msg(text, pid)) is not None
        assert engine.duplicates_dropped == 0
        # a second delivery of the second line under the reused id is still a duplicate
        assert await engine.handle(_msg("two", "same")) is None
        assert engine.duplicates_dropped == 1
        await conn.stop()

    run(go())
    assert [m.text for m in _messages(recorder) if m.direction == "in"] == ["one", "two", "x", "x"]


def test_ids_that_are_not_durable_are_never_deduplicated(tmp_path: Path, detection) -> None:
    clock = SimulatedClock(T0)
    hub = MemoryHub(now=clock.now)
    conn = InMemoryConnector(hub, account=PERSONA, now=clock.now)  # ids restart per process
    recorder, engine = _engine(f"sqlite:///{tmp_path / 'm.db'}", conn, detection, clock)
    store = recorder.store

    async def go() -> None:
        await conn.start()
        assert await engine.handle(_msg("hi", "m1")) is not None
        assert await engine.handle(_msg("hi", "m1")) is not None
        await conn.stop()

    try:
        run(go())
        assert len([m for m in _messages(recorder) if m.direction == "in"]) == 2
    finally:
        store.close()


# ---------------------------------------------------------------------------------------------
# times, other devices


def test_sent_time_is_recorded_beside_the_receive_time(memory) -> None:
    conn, recorder, engine = memory.conn, memory.recorder, memory.engine
    sent = T0 - timedelta(hours=2)

    async def go() -> None:
        await conn.start()
        handled = await engine.handle(_msg("left while offline", "id-s", sent_at=sent))
        assert handled is not None
        assert (handled.inbound.sent_at, handled.inbound.at) == (sent, T0)
        await conn.stop()

    run(go())
    (m,) = [m for m in _messages(recorder) if m.direction == "in"]
    assert (m.sent_at, m.at) == (sent, T0)


def test_copy_for_another_device_is_recorded_and_decided_not_answered(memory) -> None:
    conn, recorder, engine = memory.conn, memory.recorder, memory.engine

    async def go() -> None:
        await conn.start()
        handled = await engine.handle(_msg("hi phone", "c-1", other_device=True))
        assert handled is not None and handled.replies == ()
        assert handled.decision is not None
        await conn.stop()

    run(go())
    assert [m.direction for m in _messages(recorder)] == ["in"]


def test_line_from_another_device_is_an_operator_line(memory) -> None:
    store, conn, recorder, engine = memory.store, memory.conn, memory.recorder, memory.engine
    own = OwnMessage(
        platform="memory", account=PERSONA, contact=Identity("memory", "c1"), room=None,
        text="typed on the phone", device="phone", received_at=T0 + timedelta(minutes=1),
        wire=b"<carbon/>", platform_id="own-1",
    )  # fmt: skip

    async def go() -> None:
        await conn.start()
        assert await engine.handle(_msg("hi", "id-1")) is not None
        record = await engine.handle_own(own)
        assert record is not None and record.origin == "human:device:phone"
        assert await engine.handle_own(own) is None  # delivered twice: recorded once
        # a human writing to someone who never wrote to the persona: not stored at all
        other = replace(own, contact=Identity("memory", "c9"), platform_id="own-2")
        assert await engine.handle_own(other) is None
        assert engine.own_lines_not_stored == 1
        await conn.stop()

    run(go())
    convs = {c.state["contact"]: c.id for c in recorder.open_conversations()}
    assert set(convs) == {"c1"}
    lines = recorder.conversation_messages(convs["c1"])
    assert [(m.direction, m.origin) for m in lines] == [
        ("in", None), ("out", lines[1].origin), ("out", "human:device:phone"),
    ]  # fmt: skip
    assert lines[2].wire == b"<carbon/>" and lines[2].platform_msg_id == "own-1"
    audits = [
        e.payload for e in iter_ledger(store)
        if e.kind.value == "audit" and e.payload and e.payload["action"] == "own_account_line"
    ]  # fmt: skip
    assert len(audits) == 1 and audits[0]["details"]["device"] == "phone"


# ---------------------------------------------------------------------------------------------
# real servers


PW = "pw-f"


@pytest.fixture(scope="module")
def prosody(tmp_path_factory) -> Iterator[Any]:
    with prosody_server(tmp_path_factory.mktemp("xmpp")) as server:
        yield server


@pytest.fixture(scope="module")
def miniircd(tmp_path_factory) -> Iterator[Any]:
    with miniircd_server(tmp_path_factory.mktemp("irc")) as server:
        yield server


class _Live:
    """An engine on a real connector, run in the background, with its own store."""

    def __init__(self, tmp_path: Path, connector: Any, detection: Detection) -> None:
        self.connector = connector
        self.signer = Signer.generate()
        url = f"sqlite:///{tmp_path / 'live.db'}"
        self.recorder, self.engine = _engine(url, connector, detection, signer=self.signer)
        self.store = self.recorder.store
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> _Live:
        await self.connector.start()
        self.task = asyncio.create_task(self.engine.run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.connector.stop()
        if self.task is not None:
            await asyncio.wait_for(self.task, 10)
        self.recorder.checkpoint()
        verify_store(self.store, self.signer.public_key, require_signed_head=True)
        self.store.close()

    def messages(self) -> list:
        return _messages(self.recorder)


@pytest.mark.network
def test_prosody_blank_duplicate_offline_own_line_and_forgery(prosody, tmp_path, detection) -> None:
    for user in ("emia", "ebob", "eeve"):
        prosody.register(user, PW)
    mia, bob, eve = (prosody.jid(u) for u in ("emia", "ebob", "eeve"))

    async def go() -> None:
        contact = XmppContact(bob, PW, prosody.host, prosody.port)
        await contact.start()
        contact.say(mia, "sent before you logged in")  # stored offline by Prosody
        stored_at = datetime.now(UTC).replace(microsecond=0)
        await asyncio.sleep(1.2)
        persona = XmppConnector(
            jid=mia + "/tutela", password=PW, host=prosody.host, port=prosody.port,
            allow_plaintext=True, connect_timeout=10.0,
        )  # fmt: skip
        async with _Live(tmp_path, persona, detection) as live:
            assert await contact.next_body(timeout=15)  # the persona answers the offline line
            contact.send_raw(f"<message to='{mia}' type='chat'><body> \t </body></message>")
            dup = (
                f"<message to='{mia}' type='chat' id='d1'><body>are you there</body>"
                "<origin-id xmlns='urn:xmpp:sid:0' id='o-dup-1'/></message>"
            )
            contact.send_raw(dup)
            contact.send_raw(dup)  # a client's retransmission: same origin-id
            assert await contact.next_body(timeout=15)
            with pytest.raises(TimeoutError):
                await contact.next_body(timeout=2.0)  # no second reply
            phone = XmppContact(mia + "/phone", PW, prosody.host, prosody.port)
            await phone.start()
            phone.say(bob, "a human typing on the phone")
            attacker = XmppContact(eve, PW, prosody.host, prosody.port)
            await attacker.start()
            attacker.send_raw(
                f"<message to='{mia}' type='chat'><sent xmlns='urn:xmpp:carbons:2'>"
                "<forwarded xmlns='urn:xmpp:forward:0'>"
                f"<message xmlns='jabber:client' from='{mia}/phone' to='{bob}' type='chat'>"
                "<body>forged persona line</body></message></forwarded></sent></message>"
            )
            await eventually(lambda: persona.stats.forged_forwards == 1)
            await eventually(lambda: any(m.origin == "human:device:phone" for m in live.messages()))
            msgs = live.messages()
            await phone.stop()
            await attacker.stop()
        await contact.stop()
        inbound = [m for m in msgs if m.direction == "in"]
        assert [m.text for m in inbound] == ["sent before you logged in", "are you there"]
        offline, dup_line = inbound
        assert offline.sent_at is not None
        assert stored_at <= offline.sent_at <= stored_at + timedelta(seconds=1)
        assert offline.at - offline.sent_at >= timedelta(seconds=1)
        assert dup_line.sent_at is None and dup_line.platform_msg_id == "o-dup-1"
        human = [m for m in msgs if m.origin == "human:device:phone"]
        assert [m.text for m in human] == ["a human typing on the phone"]
        assert b"carbons:2" in (human[0].wire or b"")
        assert not any("forged" in (m.text or "") for m in msgs)
        assert persona.stats.empty_ignored == 1
        bank = [m for m in msgs if (m.origin or "").startswith("bank:")]
        assert len(bank) == 2  # one reply to each contact line, none to the duplicate

    run(go(), timeout=90)


@pytest.mark.network
def test_irc_lines_recorded_in_order_and_cp1252_stored(miniircd, tmp_path, detection) -> None:
    async def go() -> None:
        persona = IrcConnector(
            host=miniircd.host, port=miniircd.port, nick="lmia", rate=50.0, connect_timeout=10
        )
        async with _Live(tmp_path, persona, detection) as live:
            contact = await IrcContact(miniircd.host, miniircd.port, "lbob").start()
            assert contact.writer is not None
            t0 = time.monotonic()
            contact.writer.write(
                b"PRIVMSG lmia :one\r\nPRIVMSG lmia :two\r\nPRIVMSG lmia :it\x92s three\r\n"
            )
            await contact.writer.drain()
            await eventually(lambda: len([m for m in live.messages() if m.direction == "in"]) == 3)
            delay = time.monotonic() - t0
            print(f"miniircd via the engine: three lines recorded {delay:.3f} s after the write")
            await contact.stop()
            inbound = [m for m in live.messages() if m.direction == "in"]
        assert [m.text for m in inbound] == ["one", "two", "it\u2019s three"]
        assert [m.contact_line for m in inbound] == [1, 2, 3]
        assert inbound[2].wire == b":lbob!lbob@127.0.0.1 PRIVMSG lmia :it\x92s three\r\n"
        assert all(m.sent_at is None for m in inbound)  # IRC states no send time
        assert delay < 3.0

    run(go(), timeout=60)


# ---------------------------------------------------------------------------------------------
# review of issue 11: "record and decide, do not answer" survives a restart; own lines never
# open a conversation; reused ids with other media


def _own(contact: str, text: str, pid: str, minutes: int = 1) -> OwnMessage:
    return OwnMessage(
        platform="memory", account=PERSONA, contact=Identity("memory", contact), room=None,
        text=text, device="phone", received_at=T0 + timedelta(minutes=minutes),
        wire=b"<carbon/>", platform_id=pid,
    )  # fmt: skip


@pytest.mark.parametrize("flag", ["answer", "other_device"])
def test_resume_does_not_answer_a_message_not_to_be_answered(memory, detection, flag) -> None:
    store, conn, recorder, engine = memory.store, memory.conn, memory.recorder, memory.engine
    contact = memory.hub.client("c1")
    flags = {flag: flag != "answer"}  # answer=False, or other_device=True
    msg = _msg("are you alone?", "a2", received_at=T0 + timedelta(minutes=1), **flags)
    assert msg.answer is False

    async def go() -> None:
        await conn.start()
        assert await engine.handle(_msg("hi", "a1")) is not None
        await contact.next_reply(timeout=1)
        # a crash between recording and deciding: what handle() records before _process
        live = engine.sessions.for_message(msg)
        live.contact_lines += 1
        recorder.record_inbound(
            conversation_id=live.record.id, author="c1", text=msg.text, wire=msg.wire,
            received_at=msg.received_at, platform_msg_id="a2", contact_line=live.contact_lines,
            answer=msg.answer,
        )  # fmt: skip
        _, restarted = _engine(store, conn, detection, memory.clock)
        done = await restarted.resume()
        assert [h.inbound.text for h in done] == ["are you alone?"]
        assert done[0].replies == () and done[0].decision is not None
        assert done[0].inbound.answer is False
        with pytest.raises(TimeoutError):
            await contact.next_reply(timeout=0.3)
        await conn.stop()

    run(go())
    assert [m.direction for m in _messages(recorder)] == ["in", "out", "in"]


def test_not_answered_flag_is_stored_and_in_the_ledger(memory) -> None:
    conn, recorder, engine, store = memory.conn, memory.recorder, memory.engine, memory.store

    async def go() -> None:
        await conn.start()
        assert (await engine.handle(_msg("a notice", "n-1", answer=False))).replies == ()
        assert (await engine.handle(_msg("hi", "n-2"))).replies != ()
        await conn.stop()

    run(go())
    ins = [m for m in _messages(recorder) if m.direction == "in"]
    assert [m.answer for m in ins] == [False, True]
    payloads = [e.payload for e in iter_ledger(store) if e.kind.value == "inbound"]
    assert payloads[0]["answer"] is False and "answer" not in payloads[1]


def test_own_line_to_someone_who_never_wrote_is_not_stored_and_not_taken_over(memory) -> None:
    conn, recorder, engine, store = memory.conn, memory.recorder, memory.engine, memory.store
    mum = memory.hub.client("mum")

    async def go() -> None:
        await conn.start()
        assert await engine.handle_own(_own("mum", "home at six", "o1")) is None
        # mum writes back to the account: recorded and decided (it is addressed to the
        # account), never answered by the persona (a human holds that chat)
        back = replace(_msg("ok see you", "m1", received_at=T0 + timedelta(minutes=2)),
                       sender=Identity("memory", "mum", "mum"))  # fmt: skip
        first = await engine.handle(back)
        assert first is not None and first.replies == ()
        copy = await engine.handle(replace(back, platform_id="m2", other_device=True))
        assert copy is not None and copy.replies == ()
        with pytest.raises(TimeoutError):
            await mum.next_reply(timeout=0.3)
        # after the quiet period the persona answers again
        later = replace(back, text="are you there", platform_id="m3",
                        received_at=T0 + timedelta(hours=7))  # fmt: skip
        assert (await engine.handle(later)) is not None
        await conn.stop()

    run(go())
    # the copy that reached another device was never to be answered: only the direct line counts
    assert engine.own_lines_not_stored == 1 and engine.human_chats_ignored == 1
    rows = _messages(recorder)
    texts = [m.text for m in rows]
    assert "home at six" not in texts  # the human's own line to a non-contact is not stored
    assert texts.count("ok see you") == 2
    assert [m.answer for m in rows if m.text == "ok see you"] == [False, False]
    audits = [e for e in iter_ledger(store) if e.kind.value == "audit"]
    assert not any((e.payload or {}).get("action") == "own_account_line" for e in audits)


def test_a_human_reply_in_an_open_conversation_stops_the_persona_answering(memory) -> None:
    """No double answers: once a human wrote from another device, the contact's next lines are
    recorded, never answered by the persona, for the quiet period."""
    conn, recorder, engine = memory.conn, memory.recorder, memory.engine

    async def go() -> None:
        await conn.start()
        assert (await engine.handle(_msg("hi", "h1"))) is not None
        assert await engine.handle_own(_own("c1", "hey, me here", "o9", minutes=1)) is not None
        nxt = await engine.handle(_msg("who is this", "h2", received_at=T0 + timedelta(minutes=2)))
        assert nxt is not None and nxt.replies == ()
        await conn.stop()

    run(go())
    rows = _messages(recorder)
    assert [m.text for m in rows if m.direction == "in"] == ["hi", "who is this"]
    assert rows[-1].answer is False


def test_own_line_after_the_conversation_ended_long_ago_is_not_stored(memory) -> None:
    conn, recorder, engine = memory.conn, memory.recorder, memory.engine

    async def go() -> None:
        await conn.start()
        assert await engine.handle(_msg("hi", "e1")) is not None
        live = engine.sessions.live[("memory", PERSONA, "c1", None)]
        live.ended_at = T0
        assert await engine.handle_own(_own("c1", "still there?", "o2", minutes=7 * 60)) is None
        assert await engine.handle_own(_own("c1", "one more", "o3", minutes=30)) is not None
        await conn.stop()

    run(go())
    texts = [m.text for m in _messages(recorder)]
    assert "still there?" not in texts and "one more" in texts


def test_media_with_a_reused_id_is_recorded_and_a_resend_is_dropped(memory) -> None:
    from tutela.domain import Attachment

    conn, recorder, engine = memory.conn, memory.recorder, memory.engine
    a = (Attachment(kind="image", url="https://x.example/a.jpg"),)
    b = (Attachment(kind="image", url="https://x.example/b.jpg"),)

    async def go() -> None:
        await conn.start()
        assert await engine.handle(_msg("", "1", attachments=a)) is not None
        later = T0 + timedelta(hours=3)
        assert await engine.handle(_msg("", "1", attachments=b, received_at=later)) is not None
        # the same stanza delivered again (offline storage): dropped
        assert await engine.handle(_msg("", "1", attachments=b, received_at=later)) is None
        await conn.stop()

    run(go())
    ins = [m for m in _messages(recorder) if m.direction == "in"]
    assert [[x.url for x in m.attachments] for m in ins] == [
        ["https://x.example/a.jpg"], ["https://x.example/b.jpg"],
    ]  # fmt: skip
    assert engine.duplicates_dropped == 1


def test_a_blank_line_is_neither_recorded_nor_answered(memory) -> None:
    conn, recorder, engine = memory.conn, memory.recorder, memory.engine

    async def go() -> None:
        await conn.start()
        assert await engine.handle(_msg("  \t ", None)) is None
        await conn.stop()

    run(go())
    assert _messages(recorder) == [] and engine.blank_ignored == 1


def test_a_restart_remembers_a_conversation_in_its_quiet_period(memory, detection) -> None:
    """A line minutes after the conversation ended (e.g. after a deterrence warning) belongs to
    that ended conversation after a restart too: no new conversation, no persona reply."""
    store, conn, recorder, engine = memory.store, memory.conn, memory.recorder, memory.engine
    contact = memory.hub.client("c1")

    async def go() -> None:
        await conn.start()
        first = await engine.handle(_msg("hi", "q1"))
        await contact.next_reply(timeout=1)
        recorder.end_conversation(first.conversation_id, ended_at=T0 + timedelta(minutes=1))
        engine.sessions.live[("memory", PERSONA, "c1", None)].ended_at = T0 + timedelta(minutes=1)
        _, restarted = _engine(store, conn, detection, memory.clock)
        await restarted.resume()
        again = await restarted.handle(
            _msg("sorry, can we still chat?", "q2", received_at=T0 + timedelta(minutes=4))
        )
        assert again is not None and again.conversation_id == first.conversation_id
        assert again.replies == ()
        with pytest.raises(TimeoutError):
            await contact.next_reply(timeout=0.3)
        await conn.stop()

    run(go())


def test_every_dropped_copy_leaves_an_audit_entry(memory) -> None:
    conn, engine, store = memory.conn, memory.engine, memory.store

    async def go() -> None:
        await conn.start()
        assert await engine.handle(_msg("ok", "dup-1")) is not None
        resend = replace(_msg("ok", "dup-1", received_at=T0 + timedelta(hours=1)), wire=b"<2nd>")
        assert await engine.handle(resend) is None
        await conn.stop()

    run(go())
    drops = [
        e.payload
        for e in iter_ledger(store)
        if e.kind.value == "audit" and (e.payload or {}).get("action") == "duplicate_dropped"
    ]
    assert len(drops) == 1
    details = drops[0]["details"]
    assert details["platform_msg_id"] == "dup-1"
    assert details["wire_sha256"] == hashlib.sha256(b"<2nd>").hexdigest()
    assert details["received_at"].startswith((T0 + timedelta(hours=1)).isoformat()[:16])


def test_a_redelivered_copy_of_a_purged_message_is_not_recorded_again(memory) -> None:
    conn, recorder, engine = memory.conn, memory.recorder, memory.engine

    async def go() -> None:
        await conn.start()
        first = await engine.handle(_msg("old words", "pg-1"))
        recorder.purge_messages([first.inbound.id], actor="system", reason="retention")
        assert await engine.handle(_msg("old words", "pg-1")) is None
        await conn.stop()

    run(go())
    ins = [m for m in _messages(recorder) if m.direction == "in"]
    assert len(ins) == 1 and ins[0].text is None  # still only the purged original


def test_a_warning_on_a_line_not_answered_is_not_recorded_as_one(memory) -> None:
    """A solicitation that arrives as a copy for another device is decided (deter) but no
    warning is sent, so the decision carries no variant and counts as no warning (the ladder's
    prior warnings, the statistics: ``tutela.domain.is_warning``)."""
    conn, recorder, engine = memory.conn, memory.recorder, memory.engine

    async def go() -> list:
        await conn.start()
        out = []
        for i, (text, other) in enumerate(
            [("hi", False), ("how old are you", False), ("turn on your webcam", True)]
        ):
            out.append(
                await engine.handle(
                    _msg(text, f"w-{i}", other_device=other, received_at=T0 + timedelta(minutes=i))
                )
            )
        await conn.stop()
        return out

    handled = run(go())
    last = handled[-1]
    assert last is not None and last.replies == ()
    assert last.decision.action.value == "deter"
    assert last.decision.variant is None and "line not answered" in last.decision.reason
    assert recorder.warnings_issued() == 0
