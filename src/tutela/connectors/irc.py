"""IRC connector (pydle): private messages and channel messages that mention the nick.

Only translates wire events. Channel messages that do not mention the persona's nick are counted
in ``stats.room_messages_ignored`` and dropped; lines that are empty or whitespace only (after
IRC formatting) are nobody's words and only counted (``stats.empty_ignored``), as XMPP does.
``wire`` is the raw line as received (bytes, including the line terminator).

Never answered (``InboundMessage.answer`` False, recorded and decided): a ``NOTICE`` from a user
to the persona (or to a channel, mentioning its nick): RFC 2812 section 3.3.2, "automatic replies
MUST NEVER be sent in response to a NOTICE message" (``stats.notices``; notices from the server
itself and CTCP replies are ignored); a CTCP ``DCC SEND`` file offer (``stats.file_offers``),
recorded with its text as received and the offered file as attachment metadata (kind from the
file name's extension, the declared size; no URL): the offer's address is never connected to
(hard rule 2). Other ``DCC`` requests (``CHAT``, ``RESUME``...) are CTCP requests like the others
and get no answer.

Order and timing: pydle handles every received line in a task of its own, and for a nick it has
not seen it first waits for a WHOIS reply (servers without WHOX, e.g. ngircd and miniircd), so a
new contact's first line used to come out after its later ones, seconds late. Here each
``PRIVMSG`` is stamped (``received_at``) and put on one ordered intake queue synchronously, as
its line is parsed, before anything is awaited; one task per session translates the queue in
arrival order; pydle's user bookkeeping (and its WHOIS) runs beside it, never in front of a line.

Decoding (per line): UTF-8; a line that is not valid UTF-8 is Windows-1252 (what mIRC, HexChat on
Windows and old irssi set-ups send: 0x92 is U+2019, not the C1 control U+0092 that pydle's
Latin-1 fallback gives), its five undefined bytes U+FFFD. No C1 control (U+0080–U+009F) is ever
kept in the text: any left (valid UTF-8 can encode them) becomes U+FFFD. ``wire`` keeps the bytes.

Unmasking protection (a decoy must not reveal the software behind it): pydle answers CTCP
``VERSION`` with its own name by default. Here ``VERSION`` is answered with ``ctcp_version``
(a generic client string, or nothing when ``None``), ``PING`` is echoed like every client
does, and every other CTCP request (``TIME``, ``CLIENTINFO``, ``SOURCE``, ``USERINFO``,
``FINGER``...) gets no answer. CTCP ``ACTION`` (``/me``) is a normal message and is delivered
as ``"/me " + text``.

Long texts are split at word boundaries so that the whole relayed line (``:nick!user@host PRIVMSG
target :text\\r\\n``) stays within IRC's 512 bytes (ngircd closes the connection on longer lines),
and no part exceeds 400 bytes. Newlines always start a new line (they would end the command).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mimetypes
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

import pydle
from pydle.features.ctcp import construct_ctcp, is_ctcp, parse_ctcp
from pydle.features.rfc1459.parsing import RFC1459Message

from tutela.connectors.attachments import attachments_in_text
from tutela.connectors.base import (
    Address,
    BaseConnector,
    Capabilities,
    Identity,
    InboundMessage,
    mentions,
)
from tutela.domain import Attachment
from tutela.encodings import decode_utf8_or_cp1252
from tutela.errors import ConnectorError

__all__ = ["DEFAULT_CTCP_VERSION", "IRC_LINE_BYTES", "IrcConnector", "decode_line"]

log = logging.getLogger(__name__)

#: RFC 1459 section 2.3: a message is at most 512 bytes including the trailing CR LF.
IRC_LINE_BYTES = 512
#: Upper bound of one PRIVMSG payload, leaving room for the relay prefix.
MAX_PAYLOAD_BYTES = 400
#: Host part length assumed when estimating the relay prefix (RFC 2812 hostnames: 63 per label).
_HOST_BYTES = 63
#: What CTCP VERSION answers by default: a common desktop client, nothing about this software.
DEFAULT_CTCP_VERSION = "HexChat 2.16.1 / Linux"

#: mIRC formatting codes (bold, colour with its digits, reset, reverse, italic, underline...):
#: a line of nothing else is blank
_FORMATTING = re.compile(r"\x03(?:\d{1,2}(?:,\d{1,2})?)?|[\x02\x0f\x11\x16\x1d\x1e\x1f]")


def decode_line(raw: bytes) -> str:
    """One IRC line's bytes as text: UTF-8, else Windows-1252 (undefined bytes 0x81, 0x8D, 0x8F,
    0x90, 0x9D as U+FFFD); any C1 control (U+0080–U+009F) left is replaced by U+FFFD.

    IRC has no declared encoding (RFC 2812 section 2.2 only fixes the octets of the protocol);
    clients that do not send UTF-8 send their system's code page, mostly Windows-1252, whose
    0x80–0x9F are punctuation (0x92 ’, 0x93 “, 0x85 …) where Latin-1 has C1 controls.
    """
    return decode_utf8_or_cp1252(raw)[0]


@dataclass(frozen=True, slots=True)
class _Line:
    """A PRIVMSG as parsed, waiting on the intake queue (arrival order)."""

    nick: str
    target: str
    text: str
    wire: bytes
    received_at: datetime
    notice: bool = False


#: pydle's client class with its feature set, built at import time (pydle has no type hints).
_PydleClient: Any = pydle.featurize(*pydle.features.LITE)


class _Client(_PydleClient):
    """pydle client that reports to an :class:`IrcConnector` and never reconnects by itself."""

    RECONNECT_ON_ERROR = False
    _receive_buffer: bytes  # pydle's buffer of received bytes not yet split into lines

    def __init__(self, owner: IrcConnector, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._owner = owner
        self.ready = asyncio.Event()
        self.ended = asyncio.Event()
        self.intake: asyncio.Queue[_Line] = asyncio.Queue()
        self.background: set[asyncio.Task[Any]] = set()

    # Keep the raw bytes and the arrival time of every line (pydle keeps only the text), and
    # decode it ourselves (decode_line) instead of pydle's UTF-8-else-Latin-1.
    def _parse_message(self) -> RFC1459Message:
        line, _, rest = self._receive_buffer.partition(b"\n")
        self._receive_buffer = rest
        wire = line + b"\n"
        message = RFC1459Message.parse(decode_line(wire).encode("utf-8"), encoding="utf-8")
        message._wire = wire
        message._received_at = self._owner._now()
        return message

    async def on_connect(self) -> None:
        await super().on_connect()  # joins the autojoin channels
        self.ready.set()

    async def on_disconnect(self, expected: bool) -> None:
        self.ended.set()

    async def on_unknown(self, message: Any) -> None:
        log.debug("irc: unhandled %s %s", message.command, message.params)

    async def on_raw_privmsg(self, message: Any) -> None:
        # Nothing is awaited before the line is queued: lines keep their arrival order (module
        # docstring). pydle's user bookkeeping, which may WHOIS a new nick, runs beside it.
        nick, metadata = self._parse_user(message.source)
        target, text = message.params
        received_at = getattr(message, "_received_at", None) or self._owner._now()
        wire = getattr(message, "_wire", str(message).encode("utf-8"))
        self.intake.put_nowait(_Line(nick, target, text, wire, received_at))
        self.in_background(self._sync_user(nick, metadata))

    async def on_raw_notice(self, message: Any) -> None:
        # a user's NOTICE joins the same ordered intake (never answered, module docstring);
        # the server's own notices (no nick!user@host source) and CTCP replies are not messages
        if "!" not in (message.source or "") or len(message.params) < 2:
            return
        nick, metadata = self._parse_user(message.source)
        target, text = message.params[0], message.params[-1]
        if is_ctcp(text):
            return
        received_at = getattr(message, "_received_at", None) or self._owner._now()
        wire = getattr(message, "_wire", str(message).encode("utf-8"))
        self.intake.put_nowait(_Line(nick, target, text, wire, received_at, notice=True))
        self.in_background(self._sync_user(nick, metadata))

    def in_background(self, coro: Any) -> None:
        """Run ``coro`` beside the intake; cancelled when the session ends."""
        task = asyncio.get_running_loop().create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def pump(self) -> None:
        """Translate the intake queue, one line after the other, for the session's lifetime."""
        while True:
            line = await self.intake.get()
            try:
                if line.notice:
                    await self._owner._on_privmsg(self, line, line.text, answer=False)
                elif is_ctcp(line.text):
                    kind, contents = parse_ctcp(line.text)
                    await self._owner._on_ctcp(self, line, str(kind).upper(), contents)
                else:
                    await self._owner._on_privmsg(self, line, line.text)
            except Exception:  # one odd line must not stop the others
                log.exception("irc: cannot translate a line")

    # pydle's own CTCP handlers are never reached (PRIVMSG is handled above); make sure of it.
    async def on_ctcp_version(self, by: str, target: str, contents: Any) -> None:
        return None


class IrcConnector(BaseConnector):
    """A persona's IRC nick on one server.

    Parameters
    ----------
    host, port: the server.
    nick: the persona's nick (also what channel messages must mention).
    channels: channels to join (``"#name"``).
    username, realname: USER fields (default: the nick).
    password: server password (PASS), if any.
    tls, tls_verify: TLS to the server.
    ctcp_version: answer to CTCP VERSION; ``None`` answers nothing.
    **kwargs: :class:`~tutela.connectors.base.BaseConnector` options.
    """

    name: ClassVar[str] = "irc"
    capabilities: ClassVar[Capabilities] = Capabilities(
        max_message_bytes=MAX_PAYLOAD_BYTES, supports_rooms=True, keeps_newlines=False
    )
    default_rate: ClassVar[float] = 1.0  # common flood limits allow about 1 line/s sustained
    default_burst: ClassVar[int] = 4

    def __init__(
        self,
        *,
        host: str,
        port: int = 6667,
        nick: str,
        channels: Iterable[str] = (),
        username: str | None = None,
        realname: str | None = None,
        password: str | None = None,
        tls: bool = False,
        tls_verify: bool = True,
        ctcp_version: str | None = DEFAULT_CTCP_VERSION,
        **kwargs: Any,
    ) -> None:
        super().__init__(account=nick, **kwargs)
        self.host = host
        self.port = port
        self.nick = nick
        self.channels = tuple(channels)
        self.username = username or nick.lower()
        self.realname = realname or nick
        self._password = password
        self.tls = tls
        self.tls_verify = tls_verify
        self.ctcp_version = ctcp_version
        self._client: _Client | None = None

    # -- session -------------------------------------------------------------------------------

    async def _run_session(self) -> None:
        client = _Client(self, self.nick, username=self.username, realname=self.realname)
        self._client = client
        pump = asyncio.create_task(client.pump(), name="irc-intake")
        try:
            kwargs: dict[str, Any] = {"channels": list(self.channels)}
            if self.tls:
                kwargs.update(tls=True, tls_verify=self.tls_verify)
            try:
                await client.connect(self.host, self.port, password=self._password, **kwargs)
            except (OSError, TimeoutError) as e:
                raise ConnectorError(f"irc: cannot connect to {self.host}:{self.port}: {e}") from e
            ready = asyncio.create_task(client.ready.wait())
            ended = asyncio.create_task(client.ended.wait())
            try:
                await asyncio.wait(
                    [ready, ended], timeout=self.connect_timeout, return_when="FIRST_COMPLETED"
                )
            finally:
                ready.cancel()
                ended.cancel()
            if not client.ready.is_set():
                raise ConnectorError("irc: registration did not complete")
            if not client.ended.is_set():
                self._online()
                await client.ended.wait()
        finally:
            pump.cancel()
            for task in list(client.background):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
            self._client = None
            if client.connected:
                with contextlib.suppress(Exception):
                    await client.disconnect(expected=True)

    async def _close_session(self) -> None:
        client = self._client
        if client is None:
            return
        if client.connected:
            with contextlib.suppress(Exception):
                await client.quit()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(client.ended.wait(), 2.0)
            if client.connected:
                await client.disconnect(expected=True)
        client.ended.set()

    # -- outbound ------------------------------------------------------------------------------

    def _max_part_bytes(self, to: Address) -> int:
        """Payload bytes so that ``:nick!user@host PRIVMSG target :payload\\r\\n`` <= 512."""
        target = to.room if to.room is not None else to.target
        nick = self._client.nickname if self._client is not None else self.nick
        prefix = f":{nick}!{self.username}@{'h' * _HOST_BYTES} PRIVMSG {target} :"
        room = IRC_LINE_BYTES - 2 - len(prefix.encode("utf-8"))
        return max(16, min(MAX_PAYLOAD_BYTES, room))

    async def _send_part(self, to: Address, text: str) -> None:
        client = self._client
        if client is None or not client.connected:
            raise ConnectorError("irc: not connected")
        target = to.room if to.room is not None else to.target
        if any(c in target for c in " \r\n\0,"):
            raise ConnectorError(f"irc: invalid target {target!r}")
        payload = text.replace("\r", " ").replace("\n", " ").replace("\0", " ")
        await client.rawmsg("PRIVMSG", target, payload)

    # -- inbound -------------------------------------------------------------------------------

    async def _on_privmsg(
        self,
        client: _Client,
        line: _Line,
        text: str,
        *,
        answer: bool = True,
        attachments: tuple[Attachment, ...] | None = None,
    ) -> None:
        if client.is_same_nick(line.nick, client.nickname):
            return
        if not attachments and not _FORMATTING.sub("", text).strip():
            self.stats.empty_ignored += 1  # a blank line is nobody's words
            return
        if client.is_channel(line.target):
            if not mentions(text, client.nickname):
                self._ignore_room_message()
                return
            room: str | None = line.target
        else:
            room = None
        if line.notice:
            self.stats.notices += 1
        await self._emit(
            client, line, room, text, direct=room is None, answer=answer, attachments=attachments
        )

    async def _on_ctcp(self, client: _Client, line: _Line, kind: str, contents: str | None) -> None:
        nick = line.nick
        if kind == "ACTION":
            await self._on_privmsg(client, line, f"/me {contents or ''}".rstrip())
            return
        offer = _dcc_offer(contents) if kind == "DCC" else None
        if offer is not None:
            self.stats.file_offers += 1
            text = f"DCC {contents}".strip()
            await self._on_privmsg(client, line, text, answer=False, attachments=(offer,))
            return
        self.stats.ctcp_queries += 1
        reply: str | None = None
        if kind == "VERSION":
            reply = self.ctcp_version
        elif kind == "PING":
            reply = (contents or "")[:64]
        if reply is None:
            return
        with contextlib.suppress(Exception):
            await client.rawmsg("NOTICE", nick, construct_ctcp(kind, reply))

    async def _emit(
        self,
        client: _Client,
        line: _Line,
        room: str | None,
        text: str,
        *,
        direct: bool,
        answer: bool = True,
        attachments: tuple[Attachment, ...] | None = None,
    ) -> None:
        await self._deliver(
            InboundMessage(
                platform=self.name,
                account=client.nickname or self.nick,
                sender=Identity(self.name, line.nick, line.nick),
                room=room,
                text=text,
                direct=direct,
                mentioned=mentions(text, client.nickname),
                received_at=line.received_at,
                wire=line.wire,
                platform_id=None,
                attachments=attachments_in_text(text) if attachments is None else attachments,
                answer=answer,
            )
        )


def _dcc_offer(contents: str | None) -> Attachment | None:
    """The file a CTCP ``DCC SEND`` offers, as metadata, or ``None`` for anything else.

    Form (the de-facto DCC protocol of irchelp.org's "DCC" description and the CTCP drafts):
    ``SEND <filename> <ip> <port> [<size>]``, the file name in double quotes when it holds
    spaces. ``kind`` from the name's extension (``mimetypes``), ``size`` the declared one;
    the address is dropped (never connected to).
    """
    if not contents:
        return None
    rest = contents.strip()
    verb, _, rest = rest.partition(" ")
    if verb.upper() != "SEND":
        return None
    rest = rest.strip()
    if rest.startswith('"'):
        name, _, tail = rest[1:].partition('"')
    else:
        name, _, tail = rest.partition(" ")
    fields = tail.split()
    if not name or len(fields) < 2:
        return None
    size = None
    if len(fields) >= 3 and fields[2].isdigit():
        size = int(fields[2])
    mime, _ = mimetypes.guess_type(name, strict=False)
    major = (mime or "").split("/", 1)[0]
    kind = major if major in ("image", "video", "audio") else "file"
    return Attachment(kind=kind, mime=mime, size=size)
