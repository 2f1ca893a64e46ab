"""Scripted contacts for the network tests: an XMPP client (slixmpp) and a raw IRC client.

Both are deliberately small and independent of the code under test (the IRC one speaks the
protocol by hand so the tests see exactly what went over the wire).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import slixmpp

TIMEOUT = 10.0


def run(coro: Any, timeout: float = 45.0) -> Any:
    """Run ``coro`` in a fresh event loop with an overall time limit (seconds)."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def eventually(predicate: Any, timeout: float = TIMEOUT, interval: float = 0.05) -> None:
    """Wait until ``predicate()`` is true; ``AssertionError`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


class XmppContact:
    """A contact's XMPP client over plaintext loopback; records every message it receives."""

    def __init__(self, jid: str, password: str, host: str, port: int) -> None:
        self.client = slixmpp.ClientXMPP(
            jid,
            password,
            plugin_config={
                "feature_mechanisms": {"unencrypted_plain": True, "unencrypted_scram": True}
            },
        )
        self.client.enable_starttls = False
        self.client.enable_direct_tls = False
        self.client.enable_plaintext = True
        self.client.register_plugin("xep_0030")
        self.client.register_plugin("xep_0045")
        self.host, self.port = host, port
        self.inbox: asyncio.Queue[Any] = asyncio.Queue()
        self._started = asyncio.Event()
        self.client.add_event_handler("message", self.inbox.put_nowait)
        self.client.add_event_handler("session_start", self._on_start)

    def _on_start(self, _: Any) -> None:
        self.client.send_presence()
        self._started.set()

    async def start(self) -> XmppContact:
        self.client.connect(self.host, self.port)
        await asyncio.wait_for(self._started.wait(), TIMEOUT)
        return self

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.client.disconnect(wait=1.0), 3.0)

    def say(self, to: str, text: str, mtype: str = "chat") -> None:
        self.client.send_message(mto=slixmpp.JID(to), mbody=text, mtype=mtype)

    def send_raw(self, xml: str) -> None:
        self.client.send_raw(xml)

    async def join(self, room: str, nick: str) -> None:
        await self.client.plugin["xep_0045"].join_muc_wait(
            slixmpp.JID(room), nick, maxstanzas=0, timeout=TIMEOUT
        )

    async def next_body(self, timeout: float = TIMEOUT, *, nick: str | None = None) -> str:
        """Body of the next message with a body (other stanzas are skipped); with ``nick``, only
        room messages from that occupant count."""
        deadline = time.monotonic() + timeout
        while True:
            msg = await asyncio.wait_for(self.inbox.get(), max(0.01, deadline - time.monotonic()))
            if msg["body"] and (nick is None or msg["from"].resource == nick):
                return str(msg["body"])


class IrcContact:
    """A hand-written IRC client: registers, joins, sends raw lines, reads raw lines."""

    def __init__(self, host: str, port: int, nick: str) -> None:
        self.host, self.port, self.nick = host, port, nick
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def start(self) -> IrcContact:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        await self.send(f"NICK {self.nick}")
        await self.send(f"USER {self.nick} 0 * :{self.nick}")
        await self.read_until(lambda line: b" 376 " in line or b" 422 " in line)
        return self

    async def send(self, line: str) -> None:
        assert self.writer is not None
        self.writer.write(line.encode("utf-8") + b"\r\n")
        await self.writer.drain()

    async def join(self, channel: str) -> None:
        await self.send(f"JOIN {channel}")
        await self.read_until(lambda line: b" 366 " in line)  # end of NAMES

    async def read_line(self, timeout: float = TIMEOUT) -> bytes:
        assert self.reader is not None
        line = await asyncio.wait_for(self.reader.readline(), timeout)
        if not line:
            raise ConnectionError("server closed the connection")
        if line.startswith(b"PING"):
            await self.send("PONG" + line[4:].decode().rstrip("\r\n"))
        return line

    async def read_until(self, predicate: Any, timeout: float = TIMEOUT) -> bytes:
        deadline = time.monotonic() + timeout
        while True:
            line = await self.read_line(max(0.01, deadline - time.monotonic()))
            if predicate(line):
                return line

    async def privmsgs_from(self, nick: str, count: int, timeout: float = TIMEOUT) -> list[bytes]:
        """The next ``count`` PRIVMSG lines sent by ``nick`` (raw, with CRLF)."""
        prefix = f":{nick}!".encode()
        return [
            await self.read_until(lambda ln: ln.startswith(prefix) and b" PRIVMSG " in ln, timeout)
            for _ in range(count)
        ]

    async def stop(self) -> None:
        if self.writer is not None:
            with contextlib.suppress(Exception):
                await self.send("QUIT :bye")
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
            self.writer = None


def payload(line: bytes) -> str:
    """The trailing parameter of a raw IRC line."""
    return line.decode("utf-8").rstrip("\r\n").split(" :", 1)[1]
