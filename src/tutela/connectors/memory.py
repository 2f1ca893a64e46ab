"""An in-process chat platform: :class:`MemoryHub`, the persona's :class:`InMemoryConnector` and
scripted contacts (:class:`MemoryClient`), for tests and ``tutela demo``.

::

    hub = MemoryHub()
    persona = InMemoryConnector(hub, account="p1", rooms=["lobby"])
    contact = hub.client("contact-1")
    await persona.start()
    await contact.say("p1", "hi")                     # a direct message
    msg = await persona.next_message(timeout=1)       # InboundMessage
    await persona.send(Address.reply_to(msg), "hello")
    reply = await contact.next_reply(timeout=1)       # MemoryEvent(text="hello", ...)

Room messages reach the persona only when they mention its nick (the account id unless ``nick``
is given); the others are counted in ``stats.room_messages_ignored``. ``wire`` is the UTF-8 JSON
of the hub event. :meth:`MemoryHub.drop` cuts a persona's session to exercise reconnection.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from tutela.connectors.attachments import attachment_from_url, attachments_in_text
from tutela.connectors.base import (
    Address,
    BaseConnector,
    Capabilities,
    Identity,
    InboundMessage,
    mentions,
)
from tutela.errors import ConnectorError

__all__ = ["InMemoryConnector", "MemoryClient", "MemoryEvent", "MemoryHub"]


@dataclass(frozen=True, slots=True)
class MemoryEvent:
    """One message travelling through a :class:`MemoryHub`.

    ``to`` is the recipient account for a direct message, ``None`` for a room message (``room``
    set). ``media`` holds media URLs announced out of band. ``at`` is an aware UTC instant.
    """

    id: str
    sender: str
    to: str | None
    room: str | None
    text: str
    at: datetime
    media: tuple[str, ...] = ()

    def to_wire(self) -> bytes:
        """UTF-8 JSON with sorted keys (the event as the connector "received" it)."""
        data: dict[str, Any] = {
            "id": self.id,
            "from": self.sender,
            "to": self.to,
            "room": self.room,
            "text": self.text,
            "at": self.at.isoformat(),
        }
        if self.media:
            data["media"] = list(self.media)
        return json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8")


class MemoryHub:
    """The in-memory "server": routes direct and room messages between accounts.

    Direct messages to an account that is offline wait in the hub until it connects (like XMPP
    offline storage). ``now`` is an injectable aware-UTC clock.
    """

    def __init__(self, *, now: Any = None) -> None:
        self._now = now or (lambda: datetime.now(UTC))
        self._ids = itertools.count(1)
        self._connectors: dict[str, InMemoryConnector] = {}
        self._clients: dict[str, MemoryClient] = {}
        self._rooms: dict[str, set[str]] = {}
        self._pending: dict[str, list[MemoryEvent]] = {}

    def client(self, account: str, *, rooms: Iterable[str] = ()) -> MemoryClient:
        """A scripted participant named ``account`` (created once, then reused)."""
        if account in self._connectors:
            raise ValueError(f"{account!r} is a connector account")
        if account not in self._clients:
            self._clients[account] = MemoryClient(self, account)
        client = self._clients[account]
        for room in rooms:
            self.join(account, room)
        return client

    def join(self, account: str, room: str) -> None:
        """Make ``account`` a member of ``room`` (created on first use)."""
        self._rooms.setdefault(room, set()).add(account)

    def members(self, room: str) -> frozenset[str]:
        """Accounts in ``room``."""
        return frozenset(self._rooms.get(room, ()))

    def drop(self, account: str) -> None:
        """Cut the session of the connector ``account`` (it reconnects with its back-off)."""
        connector = self._connectors.get(account)
        if connector is not None:
            connector._session_closed.set()

    # -- internal ------------------------------------------------------------------------------

    def _event(
        self, sender: str, to: str | None, room: str | None, text: str, media: Sequence[str] = ()
    ) -> MemoryEvent:
        return MemoryEvent(
            id=f"m{next(self._ids)}",
            sender=sender,
            to=to,
            room=room,
            text=text,
            at=self._now(),
            media=tuple(media),
        )

    async def _attach(self, connector: InMemoryConnector) -> None:
        self._connectors[connector.account] = connector
        for event in self._pending.pop(connector.account, []):
            await connector._receive(event)

    def _detach(self, connector: InMemoryConnector) -> None:
        if self._connectors.get(connector.account) is connector:
            del self._connectors[connector.account]

    async def _route(self, event: MemoryEvent) -> None:
        if event.room is None:
            assert event.to is not None
            await self._deliver(event.to, event)
            return
        if event.sender not in self._rooms.get(event.room, set()):
            raise ConnectorError(f"memory: {event.sender!r} is not in room {event.room!r}")
        for member in sorted(self._rooms[event.room]):
            if member != event.sender:
                await self._deliver(member, event)

    async def _deliver(self, account: str, event: MemoryEvent) -> None:
        if account in self._connectors:
            await self._connectors[account]._receive(event)
        elif account in self._clients:
            self._clients[account]._inbox.put_nowait(event)
        elif event.room is None:
            self._pending.setdefault(account, []).append(event)


class MemoryClient:
    """A scripted contact on a :class:`MemoryHub` (create it with :meth:`MemoryHub.client`)."""

    def __init__(self, hub: MemoryHub, account: str) -> None:
        self.hub = hub
        self.account = account
        self._inbox: asyncio.Queue[MemoryEvent] = asyncio.Queue()

    async def say(self, to: str, text: str, *, media: Sequence[str] = ()) -> MemoryEvent:
        """Send a direct message to ``to``; ``media``: URLs announced out of band."""
        event = self.hub._event(self.account, to, None, text, media)
        await self.hub._route(event)
        return event

    async def say_in_room(self, room: str, text: str) -> MemoryEvent:
        """Post ``text`` in ``room`` (joined automatically)."""
        self.hub.join(self.account, room)
        event = self.hub._event(self.account, None, room, text)
        await self.hub._route(event)
        return event

    async def next_reply(self, timeout: float | None = None) -> MemoryEvent:
        """The next message that reached this client; ``TimeoutError`` after ``timeout`` s."""
        return await asyncio.wait_for(self._inbox.get(), timeout)

    def pending(self) -> int:
        """Messages received and not yet read with :meth:`next_reply`."""
        return self._inbox.qsize()


class InMemoryConnector(BaseConnector):
    """The persona's connector on a :class:`MemoryHub`.

    Parameters: ``hub``; ``account`` (the persona's id); ``rooms`` to join; ``nick`` used for
    mentions (default ``account``); further keyword arguments go to :class:`BaseConnector`.
    """

    name: ClassVar[str] = "memory"
    # the hub numbers messages from 1 in every process: ids are not durable
    capabilities: ClassVar[Capabilities] = Capabilities(
        max_message_bytes=4000, supports_rooms=True, durable_message_ids=False
    )
    default_rate: ClassVar[float] = 1000.0
    default_burst: ClassVar[int] = 1000

    def __init__(
        self,
        hub: MemoryHub,
        *,
        account: str,
        rooms: Iterable[str] = (),
        nick: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(account=account, **kwargs)
        self.hub = hub
        self.nick = nick or account
        self.rooms = tuple(rooms)
        self._session_closed = asyncio.Event()

    async def _run_session(self) -> None:
        self._session_closed.clear()
        for room in self.rooms:
            self.hub.join(self.account, room)
        await self.hub._attach(self)
        try:
            self._online()
            await self._session_closed.wait()
        finally:
            self.hub._detach(self)

    async def _close_session(self) -> None:
        self._session_closed.set()

    async def _send_part(self, to: Address, text: str) -> None:
        if to.room is not None:
            event = self.hub._event(self.account, None, to.room, text)
        else:
            event = self.hub._event(self.account, to.target, None, text)
        await self.hub._route(event)

    async def _receive(self, event: MemoryEvent) -> None:
        direct = event.room is None
        mentioned = mentions(event.text, self.nick)
        if not direct and not mentioned:
            self._ignore_room_message()
            return
        attachments = tuple(attachment_from_url(u) for u in event.media)
        known = {a.url for a in attachments}
        attachments += tuple(a for a in attachments_in_text(event.text) if a.url not in known)
        await self._deliver(
            InboundMessage(
                platform=self.name,
                account=self.account,
                sender=Identity(self.name, event.sender, event.sender),
                room=event.room,
                text=event.text,
                direct=direct,
                mentioned=mentioned,
                received_at=self._now(),
                wire=event.to_wire(),
                platform_id=event.id,
                attachments=attachments,
            )
        )
