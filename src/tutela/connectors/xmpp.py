"""XMPP connector (slixmpp): direct ``chat`` messages and MUC rooms.

Only translates wire events (after errbot's ``errbot/backends/xmpp.py``). What reaches
:meth:`~tutela.connectors.base.BaseConnector.inbound`:

- ``chat``/``normal`` messages with words or media, from anyone but the account itself; one
  delivered late from the server's offline storage carries its XEP-0203 ``<delay stamp>`` as
  ``sent_at`` (``received_at`` stays the moment it arrived), see *sent times* below;
- ``groupchat`` messages from a joined room that mention the persona's room nick, a delay stamp
  the *sender* added included (it is not history, see below);
- with carbons (XEP-0280, enabled after every login): a *received* carbon, the copy of a message
  a contact sent to another device of the account, as an ``InboundMessage`` with
  ``other_device=True`` and ``answer=False`` (recorded and decided, not answered); a *sent*
  carbon, a line a human typed on another device of the account, as an
  :class:`~tutela.connectors.base.OwnMessage` (the engine keeps it only in a conversation that
  exists). Both only when the wrapper comes from the account's own bare JID (XEP-0280 section
  11). A private message from a room occupant (the room is one of ``rooms``, its domain is the
  MUC service of one of them, or the message carries XEP-0045's ``<x
  xmlns='http://jabber.org/protocol/muc#user'/>``, section 7.5) keeps the full occupant JID as
  the contact, also in a carbon, never the room's bare JID. A message from a room itself (no
  occupant nick), such as a mediated invitation (section 7.8.2), is nobody's words and only
  counted (``stats.room_messages_ignored``).

What never does:

- bodies that are empty or whitespace only, without media (``stats.empty_ignored``);
- room messages that do not mention the nick (counted in ``stats.room_messages_ignored``);
- the persona's own room echoes, and room history replays (``stats.history_ignored``): a
  groupchat message with a ``<delay/>`` whose ``from`` is the room's bare JID (XEP-0045 section
  7.2.15: the room stamps the history it sends with its own JID), or any delayed groupchat
  message that arrives after the join and before the room's subject (the end of the history,
  section 7.2.16);
- carbons of what this connector itself sent (``stats.own_echoes_ignored``), and sent carbons of
  a ``chat`` to a room's bare JID (``stats.own_lines_not_stored``);
- carbons, archive results (XEP-0313) or any other ``<forwarded/>`` wrapper from anyone but the
  account's own bare JID: forgeries (CVE-2017-5591, ``stats.forged_forwards``), never unwrapped;
  archive results and carbons without a usable message from the own JID are not unwrapped
  either (``stats.forwards_ignored``).

``platform_id`` (the engine de-duplicates on it, together with the text and the media): the
sender's XEP-0359 ``<origin-id>`` (the same in every copy: a client's retransmission, an offline
replay, a carbon), else the *last* ``<stanza-id>`` whose ``by`` is the account's own bare JID
(XEP-0359 section 3: the server adds its own after whatever the sender put there, and section
5: only an id ``by`` one's own account may be trusted; Prosody does not strip a forged one, so a
sender's comes first; Prosody's mod_mam gives each copy it *receives* a new one, and a copy the
server replays from storage keeps it), else ``None``. The stanza's ``id`` attribute is never
used: it is unique only within one stream (RFC 6120 section 8.1.3), and a client restarting its
counter would make a new "ok" look like a copy of an old one. Every message this connector
sends carries an origin-id (also its stanza id), by which its carbons are recognised.

*Sent times* of direct messages: only a ``<delay>`` whose ``from`` is the persona's own server
domain counts (the server that stored the message while the account was offline; XEP-0203
section 3 and XEP-0160); the last one when there are several (servers append). A stamp from any
other ``from``, the sender's own JID and the persona's JID included, or without ``from`` is the
sender's claim and ignored. A stamp later than the receive time is ignored with a warning. Whether
a message really came out of offline storage cannot be told from the stanza (a sender can add a
``<delay from='server'>`` itself), so ``sent_by`` records the stamp's ``from`` and the report
says whose stamp it is.

Media (XEP-0066 out-of-band data and bare links to media files) become
:class:`tutela.domain.Attachment` metadata; nothing is downloaded. ``wire`` is
``str(stanza).encode()`` (for a carbon: the whole carbon stanza).

Plaintext (no TLS) is only for loopback test servers (``allow_plaintext=True``;
the test servers of ``.ci/install-services.sh`` listen on 127.0.0.1 only).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar

import slixmpp
from slixmpp.xmlstream import ET
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from tutela.connectors._xmpp_stanzas import (
    NS_CLIENT,
    NS_DELAY,
    NS_MUC_USER,
    NS_SID,
    carbon,
    from_occupant,
    is_forward,
    oob_urls,
    parse_stamp,
    platform_id,
)
from tutela.connectors.attachments import attachment_from_url, attachments_in_text
from tutela.connectors.base import (
    Address,
    AuthenticationError,
    BaseConnector,
    Capabilities,
    Identity,
    InboundMessage,
    OwnMessage,
    mentions,
)
from tutela.errors import ConnectorError

__all__ = ["XmppConnector", "parse_stamp"]

log = logging.getLogger(__name__)

#: how many ids of messages this connector sent are remembered (to recognise their carbons)
_SENT_IDS = 1000


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
    join_timeout: seconds to wait for each room join (and for the carbons request).
    **kwargs: :class:`~tutela.connectors.base.BaseConnector` options (back-off, rate, ...).

    ``carbons_enabled`` tells whether the server accepted carbons in the current session.
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
        # MUC services of the monitored rooms: their JIDs are rooms and occupants, never users
        self._muc_domains = frozenset(slixmpp.JID(r).domain for r in self.rooms)
        self.nick = nick or parsed.user
        self.allow_plaintext = allow_plaintext
        self.join_timeout = join_timeout
        self.carbons_enabled = False
        self._client: slixmpp.ClientXMPP | None = None
        self._pending_puts: set[asyncio.Task[None]] = set()
        self._sent_ids: deque[str] = deque(maxlen=_SENT_IDS)
        # rooms whose history is still arriving: joined, their subject not yet received
        self._history_open: set[str] = set()

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
        client.register_plugin("xep_0280")  # message carbons
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
                await self._enable_carbons(client)
                muc = client.plugin["xep_0045"]
                loop = asyncio.get_running_loop()
                for room in self.rooms:
                    self._history_open.add(room)
                    await muc.join_muc_wait(
                        slixmpp.JID(room), self.nick, maxstanzas=0, timeout=self.join_timeout
                    )
                    # a room that never sends its subject: its history is over by then
                    loop.call_later(self.join_timeout, self._history_open.discard, room)
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

    async def _enable_carbons(self, client: slixmpp.ClientXMPP) -> None:
        """Ask the server for carbons (XEP-0280); a server without them is logged, not fatal
        (lines typed on another device are then not seen)."""
        self.carbons_enabled = False
        try:
            await client.plugin["xep_0280"].enable(timeout=self.join_timeout)
        except Exception as e:  # IqError / IqTimeout
            self.stats.last_error = f"carbons not enabled: {e}"
            log.warning("xmpp: the server did not enable carbons: %s", e)
            return
        self.carbons_enabled = True

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
            msg = client.make_message(mto=slixmpp.JID(to.room), mbody=text, mtype="groupchat")
        else:
            msg = client.make_message(mto=slixmpp.JID(to.target), mbody=text, mtype="chat")
        # XEP-0359 origin-id, also used as the stanza id (as Conversations does): a carbon of
        # this message that comes back is recognised as the connector's own
        ident = uuid.uuid4().hex
        msg["id"] = ident
        ET.SubElement(msg.xml, f"{{{NS_SID}}}origin-id", {"id": ident})
        self._sent_ids.append(ident)
        msg.send()

    # -- inbound -------------------------------------------------------------------------------

    def _on_stanza(self, msg: Any) -> None:
        """Translate one ``<message/>`` stanza (synchronous slixmpp callback)."""
        try:
            item = self._translate(msg)
        except Exception:  # a malformed stanza must not stop the stream
            log.exception("xmpp: cannot translate a message stanza")
            return
        if item is None:
            return
        if isinstance(item, InboundMessage):
            self.stats.received += 1
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:  # back-pressure: keep order, never drop
            task = asyncio.get_running_loop().create_task(self._queue.put(item))
            self._pending_puts.add(task)
            task.add_done_callback(self._pending_puts.discard)

    def _translate(self, msg: Any) -> InboundMessage | OwnMessage | None:
        sender: slixmpp.JID = msg["from"]
        own_bare = self.jid.bare
        # RFC 6120 section 8.1.2.1: a stanza without 'from' comes from the user's own account
        from_own_account = not sender.bare or (sender.bare == own_bare and not sender.resource)
        wrapped = carbon(msg)
        if wrapped is not None and from_own_account and wrapped[1] is not None:
            return self._translate_carbon(msg, wrapped[0], slixmpp.Message(xml=wrapped[1]))
        if wrapped is not None or is_forward(msg):
            if not sender.bare or sender.bare == own_bare:
                self.stats.forwards_ignored += 1  # archive results, empty or odd wrappers
            else:
                self.stats.forged_forwards += 1
                log.warning("xmpp: ignored a forged forward/carbon from %s", sender.bare)
            return None
        return self._translate_plain(msg, wire=None, other_device=False)

    def _translate_carbon(
        self, outer: Any, kind: str, inner: Any
    ) -> InboundMessage | OwnMessage | None:
        """A carbon whose wrapper the account's own server sent (the caller checked ``from``)."""
        own_bare = self.jid.bare
        frm: slixmpp.JID = inner["from"]
        to: slixmpp.JID = inner["to"]
        wire = str(outer).encode("utf-8")
        if is_forward(inner) or (inner["type"] or "normal") not in ("chat", "normal"):
            self.stats.forwards_ignored += 1  # nested forwards; carbons never copy groupchat
            return None
        if kind == "received":  # a contact's message to another device of the account
            if to.bare != own_bare or not frm.user or frm.bare == own_bare:
                self.stats.forwards_ignored += 1
                return None
            out = self._translate_plain(inner, wire=wire, other_device=True)
            if out is not None:
                self.stats.carbons_received += 1
            return out
        # a sent carbon: a line the account sent from another client
        if frm.bare != own_bare or not to.user or to.bare == own_bare:
            self.stats.forwards_ignored += 1
            return None
        if to.bare in self.rooms and not to.resource:
            self.stats.own_lines_not_stored += 1  # a chat to a room itself: nobody's chat
            return None
        pid = platform_id(inner, own_bare)
        client = self._client
        ours = client is not None and str(frm) == str(client.boundjid)
        if ours or (pid is not None and pid in self._sent_ids):
            self.stats.own_echoes_ignored += 1  # what this connector sent itself
            return None
        body = inner["body"] or ""
        if not body.strip():
            self.stats.empty_ignored += 1
            return None
        occupant = to.resource and self._is_occupant(to, inner)
        contact = to if occupant else slixmpp.JID(to.bare)
        self.stats.own_lines += 1
        return OwnMessage(
            platform=self.name,
            account=self.account,
            contact=Identity(self.name, str(contact), contact.resource or None),
            room=None,
            text=body,
            device=frm.resource[:100],
            received_at=self._now(),
            wire=wire,
            platform_id=pid,
        )

    def _sent_at(self, msg: Any, received_at: datetime) -> tuple[datetime | None, str | None]:
        """``(sent_at, sent_by)`` of a direct message (module docstring, *sent times*): the
        last readable XEP-0203 stamp whose ``from`` is the persona's server domain, and that
        domain; ``(None, None)`` without one, and for a stamp later than ``received_at``
        (logged). Stamps from anyone else are the sender's and never used."""
        domain = self.jid.domain
        chosen: datetime | None = None
        for d in msg.xml.findall(f"{{{NS_DELAY}}}delay"):
            if d.get("from") != domain:
                continue  # the sender's own claim (any other from, or none)
            try:
                chosen = parse_stamp(d.get("stamp") or "")
            except ValueError:
                log.warning("xmpp: ignored an unreadable delay stamp %r", d.get("stamp"))
        if chosen is None:
            return None, None
        if chosen > received_at:
            log.warning(
                "xmpp: ignored a delay stamp %s later than the receive time %s",
                chosen.isoformat(), received_at.isoformat(),
            )  # fmt: skip
            return None, None
        return chosen, domain

    def _is_occupant(self, jid: slixmpp.JID, msg: Any) -> bool:
        """True when ``jid`` (with a resource) is a room occupant (module docstring)."""
        return jid.bare in self.rooms or jid.domain in self._muc_domains or from_occupant(msg)

    def _is_history(self, msg: Any, room: str) -> bool:
        """A groupchat message the room replays from its history (module docstring)."""
        delays = msg.xml.findall(f"{{{NS_DELAY}}}delay")
        if not delays:
            return False
        if room in self._history_open:
            return True
        for d in delays:
            try:
                by = slixmpp.JID(d.get("from") or "")
            except Exception:  # an unparsable from: not the room's stamp
                continue
            if by.bare == room and not by.resource:
                return True
        return False

    def _translate_plain(
        self, msg: Any, *, wire: bytes | None, other_device: bool
    ) -> InboundMessage | None:
        mtype = msg["type"] or "normal"
        sender: slixmpp.JID = msg["from"]
        own_bare = self.jid.bare
        if mtype in ("error", "headline"):
            return None
        if (
            mtype == "groupchat"
            and msg.xml.find(f"{{{NS_CLIENT}}}subject") is not None
            and msg.xml.find(f"{{{NS_CLIENT}}}body") is None
        ):
            self._history_open.discard(sender.bare)  # the subject ends the history
            return None
        body = msg["body"] or ""
        oob = oob_urls(msg)
        if not body.strip() and not oob:
            if msg.xml.find(f"{{{NS_CLIENT}}}body") is not None:
                self.stats.empty_ignored += 1  # a blank body is nobody's words
            return None  # also chat states, receipts, subjects: no body at all
        text = body or ""

        if mtype == "groupchat":
            room = sender.bare
            if room not in self.rooms:
                return None
            if sender.resource == self.nick:
                self.stats.own_echoes_ignored += 1
                return None
            if self._is_history(msg, room):
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
                wire=wire,
                other_device=other_device,
            )

        if sender.bare == own_bare or not sender.user:
            return None  # our own account (another device), the server or a component
        # A private message from a room occupant (a monitored room, or one the message names as
        # a room) keeps the full occupant JID as the identity, never the room's bare JID.
        if not sender.resource and (
            sender.bare in self.rooms
            or sender.domain in self._muc_domains
            or msg.xml.find(f"{{{NS_MUC_USER}}}x/{{{NS_MUC_USER}}}invite") is not None
        ):
            self._ignore_room_message()  # the room itself speaking (an invitation...)
            return None
        if sender.resource and self._is_occupant(sender, msg):
            identity = Identity(self.name, str(sender), sender.resource or None)
        else:
            identity = Identity(self.name, sender.bare, None)
        received_at = self._now()
        sent_at, sent_by = self._sent_at(msg, received_at)
        return self._inbound(
            msg,
            identity,
            room=None,
            text=text,
            direct=True,
            oob=oob,
            wire=wire,
            other_device=other_device,
            sent_at=sent_at,
            sent_by=sent_by,
            received_at=received_at,
        )

    def _inbound(
        self,
        msg: Any,
        sender: Identity,
        *,
        room: str | None,
        text: str,
        direct: bool,
        oob: list[str],
        wire: bytes | None,
        other_device: bool,
        sent_at: datetime | None = None,
        sent_by: str | None = None,
        received_at: datetime | None = None,
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
            received_at=self._now() if received_at is None else received_at,
            wire=str(msg).encode("utf-8") if wire is None else wire,
            platform_id=platform_id(msg, self.account),
            attachments=attachments,
            sent_at=sent_at,
            sent_by=sent_by,
            other_device=other_device,
            answer=not other_device,
        )
