"""XMPP connector (slixmpp): direct ``chat`` messages and MUC rooms.

Only translates wire events (after errbot's ``errbot/backends/xmpp.py``). What reaches
:meth:`~tutela.connectors.base.BaseConnector.inbound`:

- ``chat``/``normal`` messages with a body, from anyone but the account itself;
- ``groupchat`` messages from a joined room that mention the persona's room nick.

What never does:

- room messages that do not mention the nick (counted in ``stats.room_messages_ignored``);
- the persona's own room echoes and room history replays (anything with XEP-0203 ``<delay/>``);
- carbons (XEP-0280) and archive results (XEP-0313) or any other ``<forwarded/>`` wrapper: from
  the account's own bare JID they are the persona's own traffic (``stats.forwards_ignored``); from
  anyone else they are forgeries (CVE-2017-5591, ``stats.forged_forwards``). Neither is unwrapped.

Media (XEP-0066 out-of-band data and bare links to media files) become
:class:`tutela.domain.Attachment` metadata; nothing is downloaded. ``wire`` is
``str(stanza).encode()``.

Plaintext (no TLS) is only for loopback test servers (``allow_plaintext=True``, see RECIPES.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Any, ClassVar

import slixmpp
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from tutela.connectors.attachments import attachment_from_url, attachments_in_text
from tutela.connectors.base import (
    Address,
    AuthenticationError,
    BaseConnector,
    Capabilities,
    Identity,
    InboundMessage,
    mentions,
)
from tutela.errors import ConnectorError

__all__ = ["XmppConnector"]

log = logging.getLogger(__name__)

NS_CLIENT = "jabber:client"
NS_FORWARD = "urn:xmpp:forward:0"
NS_CARBONS = "urn:xmpp:carbons:2"
NS_MAM_PREFIX = "urn:xmpp:mam:"
NS_DELAY = "urn:xmpp:delay"
NS_OOB = "jabber:x:oob"


def _is_forward(stanza: Any) -> bool:
    """True when the stanza wraps another message (carbons, MAM result, any forward)."""
    for child in stanza.xml.iter():
        tag = child.tag
        if not isinstance(tag, str) or not tag.startswith("{"):
            continue
        ns = tag[1:].split("}", 1)[0]
        if ns in (NS_FORWARD, NS_CARBONS) or ns.startswith(NS_MAM_PREFIX):
            return True
    return False


def _oob_urls(stanza: Any) -> list[str]:
    urls = []
    for x in stanza.xml.findall(f"{{{NS_OOB}}}x"):
        url = x.findtext(f"{{{NS_OOB}}}url")
        if url and url.strip():
            urls.append(url.strip())
    return urls


class XmppConnector(BaseConnector):
    """A persona's XMPP account.

    Parameters
    ----------
    jid: the persona's JID (``user@domain``; a resource may be given).
    password: its password.
    host, port: server address; ``None`` uses DNS SRV records of the JID's domain.
    rooms: MUC rooms to join (bare JIDs, ``room@conference.domain``).
    nick: the room nick (default: the JID's local part). Room messages must mention it.
    allow_plaintext: no TLS and PLAIN/SCRAM over plaintext; for loopback test servers only.
    join_timeout: seconds to wait for each room join.
    **kwargs: :class:`~tutela.connectors.base.BaseConnector` options (back-off, rate, ...).
    """

    name: ClassVar[str] = "xmpp"
    capabilities: ClassVar[Capabilities] = Capabilities(max_message_bytes=3000, supports_rooms=True)
    default_rate: ClassVar[float] = 2.0
    default_burst: ClassVar[int] = 5

    def __init__(
        self,
        *,
        jid: str,
        password: str,
        host: str | None = None,
        port: int = 5222,
        rooms: Iterable[str] = (),
        nick: str | None = None,
        allow_plaintext: bool = False,
        join_timeout: float = 10.0,
        **kwargs: Any,
    ) -> None:
        parsed = slixmpp.JID(jid)
        if not parsed.user or not parsed.domain:
            raise ConnectorError(f"xmpp: not a user JID: {jid!r}")
        super().__init__(account=parsed.bare, **kwargs)
        self.jid = parsed
        self._password = password
        self.host = host
        self.port = port
        self.rooms = tuple(slixmpp.JID(r).bare for r in rooms)
        self.nick = nick or parsed.user
        self.allow_plaintext = allow_plaintext
        self.join_timeout = join_timeout
        self._client: slixmpp.ClientXMPP | None = None
        self._pending_puts: set[asyncio.Task[None]] = set()

    # -- session -------------------------------------------------------------------------------

    def _make_client(self) -> slixmpp.ClientXMPP:
        options: dict[str, Any] = {}
        if self.allow_plaintext:
            options["plugin_config"] = {
                "feature_mechanisms": {"unencrypted_plain": True, "unencrypted_scram": True}
            }
        client = slixmpp.ClientXMPP(str(self.jid), self._password, **options)
        if self.allow_plaintext:
            client.enable_starttls = False
            client.enable_direct_tls = False
            client.enable_plaintext = True
        client.register_plugin("xep_0030")  # service discovery
        client.register_plugin("xep_0045")  # MUC
        client.register_plugin("xep_0199")  # ping (answers server pings)
        client.register_handler(
            Callback(
                "tutela-message",
                MatchXPath(f"{{{NS_CLIENT}}}message"),
                self._on_stanza,
            )
        )
        return client

    async def _run_session(self) -> None:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        ended = asyncio.Event()
        client = self._make_client()

        def fail(exc: BaseException) -> None:
            if not ready.done():
                ready.set_exception(exc)

        async def on_session_start(_: Any) -> None:
            try:
                client.send_presence()
                muc = client.plugin["xep_0045"]
                for room in self.rooms:
                    await muc.join_muc_wait(
                        slixmpp.JID(room), self.nick, maxstanzas=0, timeout=self.join_timeout
                    )
            except Exception as e:
                fail(ConnectorError(f"xmpp: joining rooms failed: {e}"))
                return
            if not ready.done():
                ready.set_result(None)

        def on_failed_auth(_: Any) -> None:
            fail(AuthenticationError(f"xmpp: authentication failed for {self.account}"))

        def on_connection_failed(error: Any) -> None:
            fail(ConnectorError(f"xmpp: connection failed: {error}"))

        def on_disconnected(_: Any) -> None:
            ended.set()
            fail(ConnectorError("xmpp: disconnected before the session started"))

        client.add_event_handler("session_start", on_session_start)
        client.add_event_handler("failed_auth", on_failed_auth)
        client.add_event_handler("connection_failed", on_connection_failed)
        client.add_event_handler("disconnected", on_disconnected)

        self._client = client
        try:
            client.connect(self.host, self.port) if self.host else client.connect()
            try:
                await asyncio.wait_for(asyncio.shield(ready), self.connect_timeout)
            except TimeoutError as e:
                raise ConnectorError(f"xmpp: no session after {self.connect_timeout} s") from e
            self._online()
            await ended.wait()
        finally:
            self._client = None
            if not ready.done():
                ready.cancel()
            client.cancel_connection_attempt()
            if not ended.is_set():
                client.abort()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(ended.wait(), 2.0)

    async def _close_session(self) -> None:
        client = self._client
        if client is None:
            return
        client.cancel_connection_attempt()
        if client.transport is None:
            client.disconnect()  # fires "disconnected" at once
            return
        await client.disconnect(wait=1.0)

    # -- outbound ------------------------------------------------------------------------------

    async def _send_part(self, to: Address, text: str) -> None:
        client = self._client
        if client is None or client.transport is None:
            raise ConnectorError("xmpp: not connected")
        if to.room is not None:
            client.send_message(mto=slixmpp.JID(to.room), mbody=text, mtype="groupchat")
        else:
            client.send_message(mto=slixmpp.JID(to.target), mbody=text, mtype="chat")

    # -- inbound -------------------------------------------------------------------------------

    def _on_stanza(self, msg: Any) -> None:
        """Translate one ``<message/>`` stanza (synchronous slixmpp callback)."""
        try:
            inbound = self._translate(msg)
        except Exception:  # a malformed stanza must not stop the stream
            log.exception("xmpp: cannot translate a message stanza")
            return
        if inbound is not None:
            self.stats.received += 1
            try:
                self._queue.put_nowait(inbound)
            except asyncio.QueueFull:  # back-pressure: keep order, never drop
                task = asyncio.get_running_loop().create_task(self._queue.put(inbound))
                self._pending_puts.add(task)
                task.add_done_callback(self._pending_puts.discard)

    def _translate(self, msg: Any) -> InboundMessage | None:
        mtype = msg["type"] or "normal"
        sender: slixmpp.JID = msg["from"]
        own_bare = self.jid.bare
        if _is_forward(msg):
            # Never unwrap: own-account copies are our own traffic, others are forgeries.
            if not sender.bare or sender.bare == own_bare:
                self.stats.forwards_ignored += 1
            else:
                self.stats.forged_forwards += 1
                log.warning("xmpp: ignored a forged forward/carbon from %s", sender.bare)
            return None
        if mtype in ("error", "headline"):
            return None
        body = msg["body"]
        oob = _oob_urls(msg)
        if not body and not oob:
            return None  # chat states, receipts, subjects without text
        text = body or ""
        is_history = msg.xml.find(f"{{{NS_DELAY}}}delay") is not None

        if mtype == "groupchat":
            room = sender.bare
            if room not in self.rooms:
                return None
            if sender.resource == self.nick:
                self.stats.own_echoes_ignored += 1
                return None
            if is_history:
                self.stats.history_ignored += 1
                return None
            if not mentions(text, self.nick):
                self._ignore_room_message()
                return None
            return self._inbound(
                msg,
                Identity(self.name, str(sender), sender.resource or None),
                room=room,
                text=text,
                direct=False,
                oob=oob,
            )

        if sender.bare == own_bare or not sender.user:
            return None  # our own account (another device), the server or a component
        # A private message from a room occupant keeps the full occupant JID as the identity.
        if sender.bare in self.rooms:
            identity = Identity(self.name, str(sender), sender.resource or None)
        else:
            identity = Identity(self.name, sender.bare, None)
        return self._inbound(msg, identity, room=None, text=text, direct=True, oob=oob)

    def _inbound(
        self,
        msg: Any,
        sender: Identity,
        *,
        room: str | None,
        text: str,
        direct: bool,
        oob: list[str],
    ) -> InboundMessage:
        attachments = tuple(attachment_from_url(u) for u in oob)
        known = {a.url for a in attachments}
        attachments += tuple(a for a in attachments_in_text(text) if a.url not in known)
        return InboundMessage(
            platform=self.name,
            account=self.account,
            sender=sender,
            room=room,
            text=text,
            direct=direct,
            mentioned=mentions(text, self.nick),
            received_at=self._now(),
            wire=str(msg).encode("utf-8"),
            platform_id=msg["id"] or None,
            attachments=attachments,
        )
