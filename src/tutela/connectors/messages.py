"""The neutral chat values every connector produces and the engine consumes: who someone is
(:class:`Identity`), where a text goes (:class:`Address`), a message addressed to a persona
(:class:`InboundMessage`), a line a human typed from the persona's account elsewhere
(:class:`OwnMessage`), and what a platform allows (:class:`Capabilities`) and has counted
(:class:`ConnectorStats`). Re-exported by :mod:`tutela.connectors.base`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tutela.domain import Attachment

__all__ = [
    "Address",
    "Capabilities",
    "ConnectorStats",
    "Identity",
    "InboundMessage",
    "OwnMessage",
]


@dataclass(frozen=True, slots=True)
class Identity:
    """Who someone is on one platform.

    ``id`` is the platform's stable handle (XMPP bare JID, MUC occupant JID ``room@host/nick``,
    IRC nick); ``display`` a display name or nick when the platform gives one.
    """

    platform: str
    id: str
    display: str | None = None


@dataclass(frozen=True, slots=True)
class Address:
    """Where to send a text.

    ``room is None``: a direct message to ``target`` (a JID, a nick). Otherwise a message to the
    room ``room`` (MUC JID, IRC channel); ``target`` then names the contact being answered and is
    not added to the text (the caller decides the wording).
    """

    platform: str
    target: str
    room: str | None = None

    @classmethod
    def reply_to(cls, message: InboundMessage) -> Address:
        """Answer ``message`` where it came from: a DM for a DM, the room for a room mention."""
        return cls(message.platform, message.sender.id, message.room)


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A message addressed to the persona, as received.

    Attributes
    ----------
    platform: connector name (``"xmpp"``, ``"irc"``, ``"memory"``).
    account: the persona's own id on the platform (bare JID, nick, in-memory account).
    sender: the contact.
    room: room id for a room message (MUC bare JID, IRC channel), ``None`` for a direct message.
    text: the text as received (never normalised).
    direct: True for a direct/private message.
    mentioned: True when the text mentions the persona's nick (word match, case-insensitive).
    received_at: aware UTC instant of reception.
    wire: the raw bytes as received (XMPP stanza, IRC line incl. CRLF, JSON), kept for evidence.
    platform_id: the platform's message id, if any. Where the connector's capabilities say
        ``durable_message_ids``, the same message delivered again carries the same id and the
        engine records and answers it once (``Recorder.find_message``).
    attachments: media metadata (never the bytes).
    sent_at: aware UTC instant the platform says the message was sent (XMPP XEP-0203
        ``<delay stamp>``, a Matrix ``origin_server_ts``); ``None`` when the platform states none.
        It is the platform's claim; ``received_at`` is Tutela's own clock.
    sent_by: who made that claim, when the platform names it (the XEP-0203 ``from`` of the
        stamp: the persona's own server domain); ``None`` otherwise. Recorded with ``sent_at``
        so that the report can say whose stamp it is.
    other_device: True when the platform delivered a *copy* of a message addressed to another
        device of the persona's account (XMPP XEP-0280 received carbon). Kept for the record;
        such a copy always has ``answer=False``.
    answer: False when the message is recorded and decided but must never be answered
        automatically: a carbon copy that reached another device (that device is the one in the
        chat), an IRC ``NOTICE`` (RFC 2812 section 3.3.2: "automatic replies MUST NEVER be sent
        in response to a NOTICE"), a CTCP DCC file offer, a Matrix edit or ``m.notice``. The
        engine uses this flag (never ``other_device``) to decide whether to reply, and it is
        persisted so that :meth:`LiveEngine.resume` honours it after a restart.
    """

    platform: str
    account: str
    sender: Identity
    room: str | None
    text: str
    direct: bool
    mentioned: bool
    received_at: datetime
    wire: bytes
    platform_id: str | None = None
    attachments: tuple[Attachment, ...] = ()
    sent_at: datetime | None = None
    other_device: bool = False
    answer: bool = True
    sent_by: str | None = None

    def __post_init__(self) -> None:
        if self.other_device and self.answer:
            # a carbon copy is never answered, whatever the caller passed
            object.__setattr__(self, "answer", False)
        if self.received_at.tzinfo is None or self.received_at.utcoffset() is None:
            raise ValueError("InboundMessage.received_at must be an aware datetime (UTC)")
        if self.sent_at is not None and (
            self.sent_at.tzinfo is None or self.sent_at.utcoffset() is None
        ):
            raise ValueError("InboundMessage.sent_at must be an aware datetime (UTC) or None")
        if not isinstance(self.wire, bytes):
            raise TypeError("InboundMessage.wire must be bytes")


@dataclass(frozen=True, slots=True)
class OwnMessage:
    """A line sent from the persona's own account by another client: a human typing on another
    device logged into the account, as the platform reports it (XMPP XEP-0280 *sent* carbon,
    checked to come from the account's own bare JID). Never produced for what this connector
    sent itself. The engine records it as an operator line (origin ``human:device:DEVICE``) in
    the conversation with ``contact``; nothing is sent.

    Attributes
    ----------
    platform, account: as in :class:`InboundMessage`.
    contact: who the line was sent to.
    room: ``None`` (carbons copy direct messages only); kept for symmetry with the address.
    text: the line as sent.
    device: the other client's name on the platform (XMPP resource), ``""`` when unknown.
    received_at: aware UTC instant Tutela learnt of the line (the send time: carbons are live).
    wire: the raw copy as received (the whole carbon stanza), kept for evidence.
    platform_id: the line's stable id (XEP-0359 origin-id, else the stanza id), if any.
    """

    platform: str
    account: str
    contact: Identity
    room: str | None
    text: str
    device: str
    received_at: datetime
    wire: bytes
    platform_id: str | None = None

    def __post_init__(self) -> None:
        if self.received_at.tzinfo is None or self.received_at.utcoffset() is None:
            raise ValueError("OwnMessage.received_at must be an aware datetime (UTC)")
        if not isinstance(self.wire, bytes):
            raise TypeError("OwnMessage.wire must be bytes")


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a platform allows.

    ``max_message_bytes``: largest UTF-8 payload of one outgoing message; longer texts are split.
    ``supports_rooms``: rooms/channels exist. ``supports_media``: the connector can *send* media
    (always False: personas never send media). ``keeps_newlines``: a newline can travel inside one
    message (False for IRC, where each line is a separate message). ``durable_message_ids``:
    a message's ``platform_id`` names it uniquely and stays the same when the platform delivers
    it again, across sessions and restarts (XMPP stanza ids, Matrix event ids), so the engine
    de-duplicates on it durably; False where ids restart (the in-memory hub numbers its
    messages from 1 in every process).
    """

    max_message_bytes: int
    supports_rooms: bool
    supports_media: bool = False
    keeps_newlines: bool = True
    durable_message_ids: bool = True


@dataclass(slots=True)
class ConnectorStats:
    """Counters of one connector (since construction)."""

    received: int = 0  # messages queued for the engine (addressed to the persona)
    room_messages_ignored: int = 0  # room traffic not addressed to the persona (not kept)
    history_ignored: int = 0  # room history replays and delayed copies
    own_echoes_ignored: int = 0  # the persona's own messages reflected back (room, carbon)
    empty_ignored: int = 0  # messages without words or media (blank bodies)
    notices: int = 0  # IRC NOTICEs to the persona, queued with answer=False
    file_offers: int = 0  # CTCP DCC SEND offers, queued as attachment metadata, answer=False
    own_lines_not_stored: int = 0  # own-device lines to rooms/unmonitored rooms, not queued
    forwards_ignored: int = 0  # archive results and unusable forwards from the own JID
    forged_forwards: int = 0  # carbons / archive results from anyone else (CVE-2017-5591)
    carbons_received: int = 0  # copies of messages to another device of the account, queued
    own_lines: int = 0  # lines a human sent from another device of the account, queued
    ctcp_queries: int = 0  # CTCP requests received (IRC)
    sent: int = 0  # send() calls completed
    sent_parts: int = 0  # wire messages sent (a long text becomes several parts)
    sessions: int = 0  # connections that came online
    connect_failures: int = 0  # sessions that ended or failed (before or after coming online)
    last_error: str | None = None
