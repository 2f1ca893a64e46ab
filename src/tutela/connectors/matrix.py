"""Matrix connector (matrix-nio): direct rooms and room messages that mention the persona.

Only translates wire events, with the same contract as the XMPP and IRC connectors. References are
to sections of the Matrix Client-Server API specification (spec.matrix.org, v1.10 or later).

Sessions
    Logs in with a password (``m.login.password``) or uses a given access token, then long-polls
    ``/sync``. The access token and device of the first login are reused by later sessions (every
    password login creates a new device, which other users can see in the device list). The device
    gets no display name unless ``device_name`` is given (display names are visible to other users,
    so never name this software). A refused login (``M_FORBIDDEN``, ``M_USER_DEACTIVATED``,
    ``M_UNKNOWN_TOKEN`` with no password to fall back on) raises :class:`AuthenticationError`;
    anything else ends the session and :class:`BaseConnector` reconnects with back-off, resuming
    ``/sync`` from the last ``next_batch`` so nothing sent while disconnected is lost.

History
    The very first ``/sync`` of the connector (no ``since`` token given) only yields
    ``next_batch`` and the room state: its timelines are history and nothing of them is delivered
    (``stats.history_ignored``), as the XMPP connector ignores room history. In a room joined
    during the session, the events before the persona's own join are history too, except in a
    direct room: there they are what the contact wrote to the persona before the invite was
    accepted (clients send the invite and the first line together), and they are delivered.

Rooms and invites
    Rooms in ``rooms=[...]`` (ids or aliases) are joined at start. An invite is accepted only when
    its ``m.room.member`` event has ``is_direct: true`` ("Direct Messaging", the ``is_direct``
    flag that ``/createRoom`` sets for the invitees) or names a configured room. Any other invite
    is left pending, neither accepted nor declined, so that nothing visible happens and an
    operator can decide (``matrix_stats.invites_ignored``). The persona never creates a room.

Direct or room
    A joined room is direct when it was marked direct (an ``is_direct`` invite, or the account's
    ``m.direct`` account data, "Direct Messaging") and has at most two members (joined + invited),
    or when it is not a configured room and has exactly two members. Messages there are delivered
    with ``direct=True`` and ``room=None``. In any other joined room only messages that mention the
    persona are delivered: its user id in ``content["m.mentions"]["user_ids"]`` ("User and room
    mentions"), a ``https://matrix.to/#/<user id>`` link in ``formatted_body`` (older "pills"), or
    its user id, or its localpart or display name (profile or per-room) as a word in ``body``
    outside other user ids (``@mia:other.org`` is someone else). All other room traffic only
    increments ``stats.room_messages_ignored`` and is not kept.

Never delivered
    The persona's own events (``stats.own_echoes_ignored``); edits, ``m.relates_to`` with
    ``rel_type: m.replace`` ("Event replacements"); redactions and redacted events; ``m.notice``
    (the spec reserves it for automated clients, which must not be answered); empty or blank
    bodies; state events, reactions and calls (not words); ``m.room.encrypted`` events: end-to-end
    encryption is not supported (matrix-nio without its ``e2e`` extra), such messages are counted in
    ``matrix_stats.encrypted_ignored`` and logged once per room. Nothing is ever sent to an
    encrypted room (it would go out unencrypted).

Translation
    ``m.text`` gives its ``body``; ``m.emote`` gives ``"/me " + body`` (as IRC actions); a rich
    reply's fallback quote (leading ``> `` lines, "Rich replies") is removed from the text, but
    counts for the mention test. ``m.image``/``m.video``/``m.audio``/``m.file`` and ``m.sticker``
    become :class:`tutela.domain.Attachment` metadata: ``url`` the ``mxc://`` URI (``url``, or
    ``file.url`` for encrypted media), ``mime`` and ``size`` from ``info``. Nothing is downloaded.
    Their text is ``""`` unless ``filename`` differs from ``body``, in which case ``body`` is a
    caption ("Media captions", v1.10) and becomes the text. Unknown msgtypes with a ``body`` give
    the body (the spec's fallback rule). ``platform_id`` is the event id, ``sent_at`` the
    ``origin_server_ts`` (milliseconds, aware UTC), ``sender`` the user id with its display name,
    ``wire`` the event as received in canonical JSON (sorted keys, no spaces, UTF-8; "Canonical
    JSON" in the appendices).

Outgoing
    ``m.text`` with an empty ``m.mentions`` (v1.7 clients always send one). A direct reply
    (``Address.room is None``) goes to the direct room the contact last wrote from; with no direct
    room shared with that user :class:`ConnectorError` is raised: the persona never initiates.

Plain ``http://`` homeservers are refused unless ``allow_plaintext=True`` and the host is loopback
(test servers, see ``.ci/synapse.sh``). Importing this module does not import matrix-nio (about
0.8 s); the first session does.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from tutela.connectors.attachments import media_kind
from tutela.connectors.base import (
    Address,
    AuthenticationError,
    BaseConnector,
    Capabilities,
    Identity,
    InboundMessage,
    mentions,
)
from tutela.domain import Attachment
from tutela.errors import ConfigError, ConnectorError

if TYPE_CHECKING:  # pragma: no cover
    import nio

__all__ = ["MatrixConnector", "MatrixStats", "canonical_json"]

log = logging.getLogger(__name__)

#: Largest outgoing body. Synapse refuses events over 65536 bytes ("Size limits"), but like the
#: other connectors (XMPP 3000, IRC 400) a persona's line is split long before: chat lines are
#: short, and every connector stays within 4000 bytes (tests/connectors/test_connector_base.py).
MAX_BODY_BYTES = 4000
#: Login error codes that no retry can fix.
_AUTH_ERRORS = frozenset({"M_FORBIDDEN", "M_USER_DEACTIVATED", "M_INVALID_USERNAME"})
_MEDIA_KINDS = {"m.image": "image", "m.video": "video", "m.audio": "audio", "m.file": None}
#: Timeline events per room and sync (Synapse's default is 10; pre-join lines must not be lost).
_TIMELINE_LIMIT = 100
#: Something shaped like a user id ("Identifier Grammar", user identifiers), for mention tests.
_USER_ID = re.compile(r"@[A-Za-z0-9._=/+\-]+:[A-Za-z0-9.\-]+(?::[0-9]+)?")
_TRAILING = ".,;:!?)]}'\""


@dataclass(slots=True)
class MatrixStats:
    """Matrix-specific counters (since construction); nothing of the ignored events is kept."""

    edits_ignored: int = 0  # m.replace edits
    notices_ignored: int = 0  # m.notice messages (bots)
    redactions_ignored: int = 0  # m.room.redaction events and redacted events
    empty_ignored: int = 0  # blank bodies without media
    encrypted_ignored: int = 0  # m.room.encrypted events (no end-to-end support)
    invites_accepted: int = 0  # direct invites and invites to configured rooms
    invites_ignored: int = 0  # other invites, left pending


def canonical_json(obj: Any) -> bytes:
    """``obj`` as Matrix canonical JSON bytes: sorted keys, no insignificant spaces, UTF-8.

    (Matrix spec, appendices, "Canonical JSON"; the number rules do not matter for events as
    received, which carry integers only.)
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _nio() -> Any:
    import nio

    return nio


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _strip_reply_fallback(body: str) -> str:
    """``body`` without a rich reply's leading quote (``> `` lines up to the first blank line).

    Matrix spec, "Rich replies", stripping the fallback (fallbacks are no longer sent since v1.13
    but older clients still add them).
    """
    lines = body.split("\n")
    if not lines or not lines[0].startswith("> "):
        return body
    i = 0
    while i < len(lines) and lines[i].startswith(">"):
        i += 1
    if i < len(lines) and lines[i] == "":
        i += 1
    return "\n".join(lines[i:])


def _sent_at(source: dict[str, Any]) -> datetime | None:
    ts = source.get("origin_server_ts")
    if isinstance(ts, bool) or not isinstance(ts, int) or ts < 0:
        return None
    try:
        return datetime.fromtimestamp(ts / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _attachment(event_type: str, content: dict[str, Any]) -> Attachment:
    msgtype = content.get("msgtype")
    info = content.get("info") if isinstance(content.get("info"), dict) else {}
    url = content.get("url")
    if not isinstance(url, str):
        file = content.get("file")
        url = file.get("url") if isinstance(file, dict) else None
    url = url if isinstance(url, str) and url else None
    mime = info.get("mimetype") if isinstance(info.get("mimetype"), str) else None
    size = info.get("size")
    size = size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None
    kind = "image" if event_type == "m.sticker" else _MEDIA_KINDS.get(msgtype) or media_kind(mime)
    return Attachment(kind=kind, url=url, mime=mime, size=size)


class MatrixConnector(BaseConnector):
    """A persona's Matrix account.

    Parameters
    ----------
    homeserver: base URL of the homeserver (``https://matrix.example.org``).
    user_id: the persona's full user id (``@mia:example.org``).
    password: its password (``m.login.password``), or
    access_token: an access token of the account (``device_id`` should then name its device).
    device_id: device to log in as (reused by every session).
    device_name: display name of a new device; ``None`` (default) gives none. Visible to others.
    rooms: room ids or aliases to join at start; messages there must mention the persona.
    display_name: the name that counts as a mention; default: the account's profile name.
    since: a ``next_batch`` token saved from an earlier run (:attr:`sync_token`): the first
        ``/sync`` resumes there and delivers what came meanwhile instead of skipping history.
    allow_plaintext: allow ``http://`` to a loopback host (test servers only).
    sync_timeout: seconds one ``/sync`` long-poll may wait on the server.
    request_timeout: seconds any other request may take.
    **kwargs: :class:`~tutela.connectors.base.BaseConnector` options (back-off, rate, ...).

    Raises :class:`ConfigError` for a malformed user id or URL, plain HTTP to a non-loopback host,
    or neither password nor token.
    """

    name: ClassVar[str] = "matrix"
    capabilities: ClassVar[Capabilities] = Capabilities(
        max_message_bytes=MAX_BODY_BYTES, supports_rooms=True
    )
    default_rate: ClassVar[float] = 0.5  # Synapse's default rc_message is 0.2/s, burst 10
    default_burst: ClassVar[int] = 5

    def __init__(
        self,
        *,
        homeserver: str,
        user_id: str,
        password: str | None = None,
        access_token: str | None = None,
        device_id: str | None = None,
        device_name: str | None = None,
        rooms: Iterable[str] = (),
        display_name: str | None = None,
        since: str | None = None,
        allow_plaintext: bool = False,
        sync_timeout: float = 30.0,
        request_timeout: float = 30.0,
        **kwargs: Any,
    ) -> None:
        localpart, sep, server = user_id[1:].partition(":")
        if not user_id.startswith("@") or not sep or not localpart or not server:
            raise ConfigError(f"matrix: not a user id (@name:server): {user_id!r}")
        parts = urlsplit(homeserver)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ConfigError(f"matrix: homeserver must be an http(s) URL: {homeserver!r}")
        if parts.scheme == "http" and not (allow_plaintext and _is_loopback(parts.hostname)):
            raise ConfigError(
                "matrix: plain http:// is only allowed to a loopback host with "
                f"allow_plaintext=True (got {homeserver!r})"
            )
        if not password and not access_token:
            raise ConfigError("matrix: a password or an access token is required")
        super().__init__(account=user_id, **kwargs)
        self.homeserver = homeserver.rstrip("/")
        self.user_id = user_id
        self.localpart = localpart
        self._password = password
        self._token = access_token
        self.device_id = device_id
        self.device_name = device_name
        self.rooms = tuple(rooms)
        self.display_name = display_name
        self.allow_plaintext = allow_plaintext
        self.sync_timeout = sync_timeout
        self.request_timeout = request_timeout
        self.matrix_stats = MatrixStats()
        self._profile_name: str | None = None
        self._since: str | None = since or None  # next_batch of the last processed /sync
        self._joined: set[str] = set()  # rooms joined as of the last processed /sync
        self._configured: dict[str, str] = {}  # configured id/alias -> room id
        self._direct_marked: set[str] = set()
        self._dm: dict[str, str] = {}  # contact user id -> direct room it last wrote from
        self._invites_seen: set[str] = set()
        self._encrypted_warned: set[str] = set()
        self._client: Any = None
        self._closed: asyncio.Event | None = None

    @property
    def sync_token(self) -> str | None:
        """``next_batch`` of the last processed ``/sync`` (save it to resume a later run)."""
        return self._since

    # -- session -------------------------------------------------------------------------------

    def _make_client(self) -> nio.AsyncClient:
        nio = _nio()
        config = nio.AsyncClientConfig(
            encryption_enabled=False,
            store_sync_tokens=False,
            max_limit_exceeded=3,
            max_timeouts=2,
            request_timeout=self.request_timeout,
        )
        return nio.AsyncClient(
            self.homeserver, self.user_id, device_id=self.device_id or "", config=config
        )

    async def _login(self, client: nio.AsyncClient) -> None:
        nio = _nio()
        if self._token:
            client.restore_login(self.user_id, self.device_id or "", self._token)
            who = await client.whoami()
            if isinstance(who, nio.WhoamiResponse):
                if who.user_id != self.user_id:
                    raise AuthenticationError(
                        f"matrix: the access token belongs to {who.user_id}, not {self.user_id}"
                    )
                if who.device_id:
                    self.device_id = client.device_id = who.device_id
                return
            code = getattr(who, "status_code", None)
            if code != "M_UNKNOWN_TOKEN":
                raise ConnectorError(f"matrix: whoami failed: {who}")
            if not self._password:
                raise AuthenticationError(f"matrix: access token refused for {self.user_id}")
            self._token = None
            client.access_token = ""
        resp = await client.login(self._password, device_name=self.device_name or "")
        if isinstance(resp, nio.LoginResponse):
            self._token = resp.access_token
            self.device_id = resp.device_id
            return
        code = getattr(resp, "status_code", None)
        if code in _AUTH_ERRORS:
            raise AuthenticationError(f"matrix: login refused for {self.user_id}: {resp}")
        raise ConnectorError(f"matrix: login failed: {resp}")

    def _filter(self, *, first: bool) -> dict[str, Any]:
        # The first sync's timelines are history: one event per room is enough for next_batch.
        limit = 1 if first else _TIMELINE_LIMIT
        return {"room": {"timeline": {"limit": limit}}, "presence": {"not_types": ["*"]}}

    async def _sync(self, client: nio.AsyncClient, **kwargs: Any) -> Any:
        """One ``/sync``; ``None`` when the session was closed meanwhile."""
        assert self._closed is not None
        task = asyncio.ensure_future(client.sync(**kwargs))
        closed = asyncio.ensure_future(self._closed.wait())
        try:
            await asyncio.wait({task, closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            return None
        resp = task.result()
        if isinstance(resp, _nio().SyncError):
            if getattr(resp, "status_code", None) == "M_UNKNOWN_TOKEN":
                self._token = None  # log in again next session (if a password is known)
                if not self._password:
                    raise AuthenticationError(f"matrix: access token refused: {resp}")
            raise ConnectorError(f"matrix: sync failed: {resp}")
        return resp

    async def _run_session(self) -> None:
        self._closed = asyncio.Event()
        client = self._make_client()
        try:
            try:
                await self._login(client)
                if self.display_name is None:
                    profile = await client.get_displayname(self.user_id)
                    self._profile_name = getattr(profile, "displayname", None)
                first = self._since is None
                resp = await self._sync(
                    client,
                    timeout=0,
                    full_state=True,
                    since=self._since,
                    sync_filter=self._filter(first=first),
                )
                if resp is None:
                    return
                self._client = client
                await self._process_sync(client, resp, history=first)
                await self._join_configured(client)
            except (ConnectorError, asyncio.CancelledError):
                raise
            except Exception as e:  # aiohttp connection errors, timeouts
                raise ConnectorError(f"matrix: cannot reach {self.homeserver}: {e}") from e
            self._online()
            while not self._closed.is_set():
                resp = await self._sync(
                    client,
                    timeout=int(self.sync_timeout * 1000),
                    since=self._since,
                    sync_filter=self._filter(first=False),
                )
                if resp is None:
                    return
                await self._process_sync(client, resp, history=False)
        finally:
            self._client = None
            with contextlib.suppress(Exception):
                await client.close()

    async def _join_configured(self, client: nio.AsyncClient) -> None:
        nio = _nio()
        for room in self.rooms:
            resp = await client.join(room)
            if not isinstance(resp, nio.JoinResponse):
                raise ConnectorError(f"matrix: joining {room} failed: {resp}")
            self._configured[room] = resp.room_id
            self._configured[resp.room_id] = resp.room_id

    async def _close_session(self) -> None:
        if self._closed is not None:
            self._closed.set()

    # -- sync processing -----------------------------------------------------------------------

    async def _process_sync(self, client: Any, resp: Any, *, history: bool) -> None:
        """Handle one ``/sync`` response (nio has already updated ``client.rooms``)."""
        for event in getattr(resp, "account_data_events", ()):
            if getattr(event, "type", None) == "m.direct" and isinstance(event.content, dict):
                for rooms in event.content.values():
                    if isinstance(rooms, list):
                        self._direct_marked.update(r for r in rooms if isinstance(r, str))
        for room_id in resp.rooms.leave:  # left, kicked, banned or an invite withdrawn
            self._joined.discard(room_id)
            self._invites_seen.discard(room_id)
            self._dm = {user: r for user, r in self._dm.items() if r != room_id}
        for room_id, info in resp.rooms.join.items():
            room = client.rooms.get(room_id)
            if room is None:
                continue
            events = list(info.timeline.events)
            if history:
                self.stats.history_ignored += sum(1 for e in events if _is_message(e))
                self._joined.add(room_id)
                continue
            cut = 0
            if room_id not in self._joined:  # joined since the last sync: skip what came before
                for i, event in enumerate(events):
                    src = getattr(event, "source", {})
                    if (
                        src.get("type") == "m.room.member"
                        and src.get("state_key") == self.user_id
                        and (src.get("content") or {}).get("membership") == "join"
                    ):
                        cut = i + 1
            self._joined.add(room_id)
            for i, event in enumerate(events):
                if i < cut and _is_message(event) and not self._is_direct(room):
                    self.stats.history_ignored += 1
                    continue
                message = self._translate(event, room)
                if message is not None:
                    await self._deliver(message)
        for room_id, info in resp.rooms.invite.items():
            await self._on_invite(client, room_id, info)
        if resp.next_batch:
            self._since = resp.next_batch

    async def _on_invite(self, client: Any, room_id: str, info: Any) -> None:
        if room_id in self._invites_seen or room_id in self._joined:
            return
        invite = None
        for event in info.invite_state:
            if (
                getattr(event, "state_key", None) == self.user_id
                and getattr(event, "membership", None) == "invite"
            ):
                invite = event
        if invite is None:
            return
        self._invites_seen.add(room_id)
        content = getattr(invite, "content", None) or {}
        is_direct = content.get("is_direct") is True
        configured = room_id in self._configured.values()
        if not is_direct and not configured:
            self.matrix_stats.invites_ignored += 1
            log.info("matrix: left a non-direct invite to %s pending", room_id)
            return
        resp = await client.join(room_id)
        if not isinstance(resp, _nio().JoinResponse):
            self._invites_seen.discard(room_id)
            log.warning("matrix: accepting the invite to %s failed: %s", room_id, resp)
            return
        self.matrix_stats.invites_accepted += 1
        if is_direct:
            self._direct_marked.add(room_id)
            inviter = getattr(invite, "sender", None)
            if isinstance(inviter, str) and inviter != self.user_id:
                self._dm.setdefault(inviter, room_id)

    # -- translation ---------------------------------------------------------------------------

    def _is_direct(self, room: Any) -> bool:
        """Direct room rule (see the module docstring)."""
        count = room.member_count
        if room.room_id in self._direct_marked:
            return count <= 2
        if room.room_id in self._configured.values():
            return False
        return count == 2

    def _names(self, room: Any) -> list[str]:
        names = [self.user_id, self.localpart]
        for name in (self.display_name or self._profile_name, _display(room, self.user_id)):
            if name and name not in names:
                names.append(name)
        return names

    def _mentions_me(self, body: str, content: dict[str, Any], room: Any) -> bool:
        m = content.get("m.mentions")
        if isinstance(m, dict):
            ids = m.get("user_ids")
            if isinstance(ids, list) and self.user_id in ids:
                return True
        formatted = content.get("formatted_body")
        if isinstance(formatted, str) and (
            f"matrix.to/#/{self.user_id}" in formatted
            or f"matrix.to/#/{self.user_id.replace('@', '%40').replace(':', '%3A')}" in formatted
        ):
            return True
        if any(m.group(0).rstrip(_TRAILING) == self.user_id for m in _USER_ID.finditer(body)):
            return True
        # Someone else's user id (``@mia:other.org``) does not mention this persona's names.
        plain = _USER_ID.sub(" ", body)
        return any(mentions(plain, name) for name in self._names(room)[1:])

    def _translate(self, event: Any, room: Any) -> InboundMessage | None:
        """One timeline event of the joined ``room`` (a nio ``MatrixRoom``) as an
        :class:`InboundMessage`, or ``None`` when it is not delivered (rules in the module
        docstring). ``event`` is any nio event with a ``source`` dict (parsed or ``BadEvent``)."""
        src = getattr(event, "source", None)
        if not isinstance(src, dict):
            return None
        etype = src.get("type")
        sender = src.get("sender")
        if not isinstance(sender, str) or "state_key" in src:
            return None  # state events (membership, names...) are not words
        if sender == self.user_id:
            if etype in ("m.room.message", "m.sticker", "m.room.encrypted"):
                self.stats.own_echoes_ignored += 1
            return None
        if etype == "m.room.redaction":
            self.matrix_stats.redactions_ignored += 1
            return None
        if etype == "m.room.encrypted":
            self.matrix_stats.encrypted_ignored += 1
            if room.room_id not in self._encrypted_warned:
                self._encrypted_warned.add(room.room_id)
                log.warning(
                    "matrix: %s is end-to-end encrypted; its messages cannot be read",
                    room.room_id,
                )
            return None
        if etype not in ("m.room.message", "m.sticker"):
            return None  # reactions, calls, unknown types
        content = src.get("content")
        unsigned = src.get("unsigned")
        if (
            not isinstance(content, dict)
            or not content
            or (isinstance(unsigned, dict) and "redacted_because" in unsigned)
        ):
            self.matrix_stats.redactions_ignored += 1
            return None
        body = content.get("body")
        body = body if isinstance(body, str) else ""
        direct = self._is_direct(room)
        mentioned = self._mentions_me(body, content, room)
        if not direct and not mentioned:
            self._ignore_room_message()
            return None
        relates = content.get("m.relates_to")
        if isinstance(relates, dict) and relates.get("rel_type") == "m.replace":
            self.matrix_stats.edits_ignored += 1
            return None
        msgtype = content.get("msgtype")
        if msgtype == "m.notice":
            self.matrix_stats.notices_ignored += 1
            return None
        attachments: tuple[Attachment, ...] = ()
        if etype == "m.sticker" or msgtype in _MEDIA_KINDS:
            attachments = (_attachment(etype, content),)
            filename = content.get("filename")
            caption = isinstance(filename, str) and filename != body and body.strip()
            text = body if caption else ""
        else:
            if isinstance(relates, dict) and "m.in_reply_to" in relates:
                body = _strip_reply_fallback(body)
            if not body.strip():
                self.matrix_stats.empty_ignored += 1
                return None
            text = f"/me {body}" if msgtype == "m.emote" else body
        display = _display(room, sender)
        if direct:
            self._dm[sender] = room.room_id
        event_id = src.get("event_id")
        return InboundMessage(
            platform=self.name,
            account=self.user_id,
            sender=Identity(self.name, sender, display),
            room=None if direct else room.room_id,
            text=text,
            direct=direct,
            mentioned=mentioned,
            received_at=self._now(),
            wire=canonical_json(src),
            platform_id=event_id if isinstance(event_id, str) else None,
            attachments=attachments,
            sent_at=_sent_at(src),
        )

    # -- outbound ------------------------------------------------------------------------------

    def _direct_room_for(self, user_id: str) -> str:
        """The direct room shared with ``user_id``; :class:`ConnectorError` if there is none."""
        client = self._client
        rooms = client.rooms if client is not None else {}
        candidates = [self._dm[user_id]] if user_id in self._dm else []
        candidates += sorted(r for r in rooms if r not in candidates)
        for room_id in candidates:
            room = rooms.get(room_id)
            if (
                room is not None
                and room_id in self._joined
                and user_id in room.users
                and self._is_direct(room)
            ):
                return room_id
        raise ConnectorError(f"matrix: no direct room with {user_id}; the persona never opens one")

    async def _send_part(self, to: Address, text: str) -> None:
        client = self._client
        if client is None:
            raise ConnectorError("matrix: not connected")
        if to.room is not None:
            room_id = self._configured.get(to.room, to.room)
            if room_id not in client.rooms or room_id not in self._joined:
                raise ConnectorError(f"matrix: not in room {to.room}")
        else:
            room_id = self._direct_room_for(to.target)
        if client.rooms[room_id].encrypted:
            raise ConnectorError(f"matrix: {room_id} is encrypted; not sending in clear")
        content = {"msgtype": "m.text", "body": text, "m.mentions": {}}
        resp = await client.room_send(room_id, "m.room.message", content)
        if not isinstance(resp, _nio().RoomSendResponse):
            raise ConnectorError(f"matrix: sending to {room_id} failed: {resp}")


def _display(room: Any, user_id: str) -> str | None:
    user = getattr(room, "users", {}).get(user_id)
    name = getattr(user, "display_name", None)
    return name if isinstance(name, str) and name else None


def _is_message(event: Any) -> bool:
    src = getattr(event, "source", None)
    return isinstance(src, dict) and src.get("type") in ("m.room.message", "m.sticker")
