"""IRC connector against a real miniircd on 127.0.0.1."""

from __future__ import annotations

import asyncio

import pytest

from connector_clients import IrcContact, eventually, payload, run
from servers import free_port
from tutela.connectors import Address, Backoff
from tutela.connectors.irc import IrcConnector
from tutela.errors import ConnectorError

pytestmark = pytest.mark.network

UNMASKING = ("pydle", "python", "tutela", "slixmpp", "bot")


def _persona(server, nick: str, **kwargs) -> IrcConnector:
    kwargs.setdefault("rate", 50.0)
    return IrcConnector(
        host=server.host, port=server.port, nick=nick, connect_timeout=10.0, **kwargs
    )


def test_private_message_round_trip(irc_server, unique: str) -> None:
    mia, bob = f"mia{unique}", f"bob{unique}"

    async def go() -> None:
        persona = _persona(irc_server, mia)
        await persona.start()
        contact = await IrcContact(irc_server.host, irc_server.port, bob).start()
        try:
            await contact.send(f"PRIVMSG {mia} :hi, what are you up to")
            msg = await persona.next_message(timeout=10)
            assert (msg.sender.id, msg.text, msg.direct, msg.room) == (
                bob,
                "hi, what are you up to",
                True,
                None,
            )
            assert msg.account == mia
            assert msg.wire.startswith(f":{bob}!".encode())
            assert msg.wire.endswith(f"PRIVMSG {mia} :hi, what are you up to\r\n".encode())
            await persona.send(Address.reply_to(msg), "homework")
            (line,) = await contact.privmsgs_from(mia, 1)
            assert payload(line) == "homework"
        finally:
            await contact.stop()
            await persona.stop()

    run(go())


def test_channel_mention_yielded_other_traffic_only_counted(irc_server, unique: str) -> None:
    mia, bob, chan = f"mia{unique}", f"bob{unique}", f"#lobby{unique}"

    async def go() -> None:
        persona = _persona(irc_server, mia, channels=[chan])
        await persona.start()
        contact = await IrcContact(irc_server.host, irc_server.port, bob).start()
        try:
            await contact.join(chan)
            await contact.send(f"PRIVMSG {chan} :anyone watching the match")
            await contact.send(f"PRIVMSG {chan} :{mia}: do you have a phone")
            msg = await persona.next_message(timeout=10)
            assert (msg.text, msg.room, msg.direct, msg.mentioned) == (
                f"{mia}: do you have a phone",
                chan,
                False,
                True,
            )
            assert persona.stats.room_messages_ignored == 1
            assert persona._queue.empty()
            await persona.send(Address.reply_to(msg), "why")
            (line,) = await contact.privmsgs_from(mia, 1)
            assert f" PRIVMSG {chan} :why".encode() in line
        finally:
            await contact.stop()
            await persona.stop()

    run(go())


def test_ctcp_does_not_unmask_the_persona(irc_server, unique: str) -> None:
    mia, bob = f"mia{unique}", f"bob{unique}"

    async def go() -> None:
        persona = _persona(irc_server, mia)
        await persona.start()
        contact = await IrcContact(irc_server.host, irc_server.port, bob).start()
        try:
            await contact.send(f"PRIVMSG {mia} :\x01VERSION\x01")
            reply = await contact.read_until(lambda ln: b" NOTICE " in ln and b"VERSION" in ln)
            assert all(word not in reply.decode().casefold() for word in UNMASKING), reply
            # Other CTCP requests get no answer; PING is echoed (as every client does), so the
            # first CTCP reply after TIME/CLIENTINFO/SOURCE must be the PING one.
            for kind in ("TIME", "CLIENTINFO", "SOURCE", "USERINFO"):
                await contact.send(f"PRIVMSG {mia} :\x01{kind}\x01")
            await contact.send(f"PRIVMSG {mia} :\x01PING 12345\x01")
            reply = await contact.read_until(lambda ln: b" NOTICE " in ln)
            assert payload(reply) == "\x01PING 12345\x01"
            assert persona.stats.ctcp_queries == 6
            assert persona.stats.received == 0  # CTCP is not a contact line
        finally:
            await contact.stop()
            await persona.stop()

    run(go())


def test_ctcp_version_can_be_silenced(irc_server, unique: str) -> None:
    mia, bob = f"mia{unique}", f"bob{unique}"

    async def go() -> None:
        persona = _persona(irc_server, mia, ctcp_version=None)
        await persona.start()
        contact = await IrcContact(irc_server.host, irc_server.port, bob).start()
        try:
            await contact.send(f"PRIVMSG {mia} :\x01VERSION\x01")
            await contact.send(f"PRIVMSG {mia} :\x01PING 1\x01")
            reply = await contact.read_until(lambda ln: b" NOTICE " in ln)
            assert payload(reply) == "\x01PING 1\x01"
        finally:
            await contact.stop()
            await persona.stop()

    run(go())


def test_long_text_arrives_complete_in_short_lines(irc_server, unique: str) -> None:
    mia, bob = f"mia{unique}", f"bob{unique}"
    words = [f"wörd{i}é" for i in range(200)]
    text = " ".join(words)
    assert len(text) >= 1500

    async def go() -> None:
        persona = _persona(irc_server, mia)
        await persona.start()
        contact = await IrcContact(irc_server.host, irc_server.port, bob).start()
        try:
            await persona.send(Address("irc", bob), text)
            n = persona.stats.sent_parts
            assert n >= 4
            lines = await contact.privmsgs_from(mia, n)
            assert all(len(line) <= 512 for line in lines)
            assert all(len(payload(line).encode()) <= 400 for line in lines)
            assert " ".join(payload(line) for line in lines).split() == words
            # Still connected: a newline in a text cannot smuggle a command either.
            await persona.send(Address("irc", bob), "one\r\nQUIT :gone")
            got = [payload(line) for line in await contact.privmsgs_from(mia, 2)]
            assert got == ["one", "QUIT :gone"]
            assert persona.online
            await contact.send(f"PRIVMSG {mia} :still there?")
            assert (await persona.next_message(timeout=10)).text == "still there?"
        finally:
            await contact.stop()
            await persona.stop()

    run(go())


def test_bare_media_link_is_metadata(irc_server, unique: str) -> None:
    mia, bob = f"mia{unique}", f"bob{unique}"

    async def go() -> None:
        persona = _persona(irc_server, mia)
        await persona.start()
        contact = await IrcContact(irc_server.host, irc_server.port, bob).start()
        try:
            await contact.send(f"PRIVMSG {mia} :look http://127.0.0.1:9/x/clip.mp4 ok")
            msg = await persona.next_message(timeout=10)
            assert [(a.kind, a.url) for a in msg.attachments] == [
                ("video", "http://127.0.0.1:9/x/clip.mp4")
            ]
        finally:
            await contact.stop()
            await persona.stop()

    run(go())


def test_reconnects_after_server_restart(irc_server, unique: str) -> None:
    mia, bob = f"mia{unique}", f"bob{unique}"

    async def go() -> None:
        persona = _persona(
            irc_server, mia, backoff=Backoff(initial=0.2, factor=2.0, maximum=1.0, jitter=0.0)
        )
        await persona.start()
        try:
            await asyncio.to_thread(irc_server.stop)
            await eventually(lambda: not persona.online)
            await asyncio.to_thread(irc_server.start)
            await eventually(lambda: persona.online, timeout=15)
            contact = await IrcContact(irc_server.host, irc_server.port, bob).start()
            try:
                await contact.send(f"PRIVMSG {mia} :back?")
                assert (await persona.next_message(timeout=10)).text == "back?"
            finally:
                await contact.stop()
        finally:
            await persona.stop()

    run(go(), timeout=60)


def test_start_fails_cleanly_without_a_server() -> None:
    async def go() -> None:
        persona = IrcConnector(
            host="127.0.0.1",
            port=free_port(),
            nick="mia",
            connect_timeout=1.0,
            backoff=Backoff(initial=0.05, maximum=0.1, jitter=0.0),
        )
        with pytest.raises(ConnectorError, match="not connected after"):
            await persona.start()
        assert persona.stats.connect_failures >= 2
        assert "cannot connect" in (persona.stats.last_error or "")

    run(go())
