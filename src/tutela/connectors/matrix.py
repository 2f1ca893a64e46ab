"""Matrix connector (matrix-nio): direct rooms and room messages that mention the persona.

Only translates wire events, with the same contract as the XMPP and IRC connectors. References are
to sections of the Matrix Client-Server API specification (spec.matrix.org, v1.10 or later).
Pure helpers live in :mod:`tutela.connectors._matrix_events`.

Sessions
    Logs in with a password (``m.login.password``) or uses a given access token, then long-polls
    ``/sync``. The access token and device of the first login are reused by later sessions (every
    password login creates a new device, which other users can see in the device list). The device
    gets no display name unless ``device_name`` is given (display names are visible to other users,
    so never name this software). A refused login (``M_FORBIDDEN``, ``M_USER_DEACTIVATED``,
    ``M_UNKNOWN_TOKEN`` with no password to fall back on) raises :class:`AuthenticationError`;
    anything else ends the session and :class:`BaseConnector` reconnects with back-off, resuming
    ``/sync`` from the last ``next_batch``.

Nothing sent while Tutela was down is lost
    Every sync asks for up to 100 timeline events per room. The first ``/sync`` of a connector
    (no ``since`` token) delivers the timelines of the **direct** rooms again, addressed lines
    only, by the usual rules: lines already recorded carry the same event id and words and the
    engine drops them (``durable_message_ids``, ``Recorder.find_message``); what came while
    nothing ran is recorded and answered. Group rooms' first-sync timelines stay history
    (``stats.history_ignored``), as the XMPP connector ignores room history. A timeline the
    server marks ``limited`` is paged back with ``/messages`` (to the previous ``since`` token,
    or on a first sync up to 7 days back), at most 500 events per room; a larger gap is logged and
    counted (``matrix_stats.history_gaps``). A fresh persona account has no direct rooms, so its
    first start delivers nothing; an existing account's direct rooms give their last lines (up to
    500 or 7 days per room) to an engine that has never recorded them. ``since`` and
    :attr:`sync_token` remain for callers but are not needed for correctness. In a room joined
    during the session, the events before the persona's own join are history, except in a direct
    room: there they are what the contact wrote before the invite was accepted.

Rooms and invites
    Rooms in ``rooms=[...]`` (ids or aliases) are joined at start. An invite is accepted only when
    its ``m.room.member`` event has ``is_direct: true`` ("Direct Messaging") and its stripped state
    shows no other member than the inviter and no canonical alias, or when it names a configured
    room (a direct room found to hold more members once joined is a group room, see below). Any
    other invite is left pending, neither accepted nor declined, so that nothing visible happens
    and an operator can decide (``matrix_stats.invites_ignored``). The persona never creates a room.

Direct or room
    A joined room is direct when it is not a configured room, never had more than one member
    besides the persona (members, invitees, former members and senders in the room state and
    every timeline seen), and either was marked direct (an ``is_direct`` invite, or the account's
    ``m.direct`` account data) and has at most two members (joined + invited) now, or has exactly
    two. A line is direct only if its sender is the room's other member now (a line from someone
    who has since left was a group line). Messages there are delivered with ``direct=True`` and
    ``room=None``. In any other joined room only messages that mention the persona are delivered
    (rules in :func:`~tutela.connectors._matrix_events.mentions_user`: ``m.mentions`` is
    authoritative when present; otherwise a pill, the user id, a display name as a case-sensitive
    word, or the localpart as ``@mia`` / ``mia:``). All other room traffic only increments
    ``stats.room_messages_ignored`` and is not kept.

Recorded but never answered (``InboundMessage.answer=False``)
    Edits (``rel_type: m.replace``, "Event replacements"): the text is ``m.new_content.body`` (the
    body, ``* ...``, when there is none); the replaced event id stays in the wire
    (``content.m.relates_to.event_id``). ``m.notice`` ("the spec reserves it for automated
    clients, which must not be answered"), from anyone.

Never delivered
    The persona's own events (``stats.own_echoes_ignored``); redactions and redacted events
    (``matrix_stats.redactions_ignored``: nothing new is recorded and nothing recorded is
    removed); empty or blank bodies; state events, reactions and calls (not words);
    ``m.room.encrypted`` events: end-to-end encryption is not supported (matrix-nio without its
    ``e2e`` extra), such messages are counted in ``matrix_stats.encrypted_ignored`` and logged
    once per room. Nothing is ever sent to an encrypted room (it would go out unencrypted).

Translation
    ``m.text`` gives its ``body``; ``m.emote`` gives ``"/me " + body`` (as IRC actions); a rich
    reply's fallback quote is removed only where it has the fallback's shape
    (:func:`~tutela.connectors._matrix_events.strip_reply_fallback`), but counts for the mention
    test. ``body`` is the text even when ``formatted_body`` shows other words: nothing is
    appended, the event stays whole in the wire and ``matrix_stats.formatted_differs`` counts it.
    ``m.image``/``m.video``/``m.audio``/``m.file`` and ``m.sticker`` become
    :class:`tutela.domain.Attachment` metadata (``mxc://`` URI, ``mime`` and ``size`` from
    ``info``); nothing is downloaded. Their text is ``""`` unless ``filename`` differs from
    ``body``, in which case ``body`` is a caption ("Media captions", v1.10). Unknown msgtypes with
    a ``body`` give the body (the spec's fallback rule). ``platform_id`` is the event id,
    ``sent_at`` the ``origin_server_ts`` (aware UTC), ``sender`` the user id with its display name,
    ``wire`` the event as received in canonical JSON ("Canonical JSON" in the appendices).

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
import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from tutela.connectors._matrix_events import (
    MatrixStats,
    RoomRules,
    canonical_json,
    is_message,
    sent_at,
)
from tutela.connectors.base import (
    Address,
    AuthenticationError,
    BaseConnector,
    Capabilities,
)
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
#: Bounds of paging back behind a ``limited`` timeline (module docstring): events per room, and
#: how old the oldest event of a first sync may be.
BACKFILL_EVENTS = 500
BACKFILL_AGE = timedelta(days=7)


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


class MatrixConnector(RoomRules, BaseConnector):
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
        ``/sync`` resumes there and delivers what came meanwhile in every room. Not needed for
        direct rooms (module docstring, "Nothing sent while Tutela was down is lost").
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
        self._others: dict[str, set[str]] = {}  # room id -> other members ever seen
        self._grown: set[str] = set()  # rooms that ever had more than one other member
        self._timeline_limit = 100  # timeline events per room and /sync (Synapse's default: 10)
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

    def _filter(self) -> dict[str, Any]:
        timeline = {"limit": self._timeline_limit}
        return {"room": {"timeline": timeline}, "presence": {"not_types": ["*"]}}

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
                    sync_filter=self._filter(),
                )
                if resp is None:
                    return
                self._client = client
                await self._process_sync(client, resp, initial=first)
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
                    sync_filter=self._filter(),
                )
                if resp is None:
                    return
                await self._process_sync(client, resp, initial=False)
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

    async def _process_sync(self, client: Any, resp: Any, *, initial: bool) -> None:
        """Handle one ``/sync`` response (nio has already updated ``client.rooms``).

        ``initial``: the connector's first sync without a ``since`` token (module docstring).
        """
        for event in getattr(resp, "account_data_events", ()):
            if getattr(event, "type", None) == "m.direct" and isinstance(event.content, dict):
                for rooms in event.content.values():
                    if isinstance(rooms, list):
                        self._direct_marked.update(r for r in rooms if isinstance(r, str))
        for room_id in resp.rooms.leave:  # left, kicked, banned or an invite withdrawn
            self._joined.discard(room_id)
            self._invites_seen.discard(room_id)
            self._dm = {user: r for user, r in self._dm.items() if r != room_id}
        since = self._since
        for room_id, info in resp.rooms.join.items():
            room = client.rooms.get(room_id)
            if room is None:
                continue
            timeline = info.timeline
            events = list(timeline.events)
            self._note_members(room, [*getattr(info, "state", ()), *events])
            known = room_id in self._joined
            if initial and not self._is_direct(room):  # group history: not for the persona
                self.stats.history_ignored += sum(1 for e in events if is_message(e))
                self._joined.add(room_id)
                continue
            if getattr(timeline, "limited", False) and (known or self._is_direct(room)):
                older = await self._backfill(client, room_id, timeline.prev_batch, since)
                self._note_members(room, older)
                events = older + events
            cut = 0
            if not known:  # joined since the last sync: skip what came before
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
                if i < cut and is_message(event) and not self._is_direct(room):
                    self.stats.history_ignored += 1
                    continue
                message = self._translate(event, room)
                if message is not None:
                    await self._deliver(message)
        for room_id, info in resp.rooms.invite.items():
            await self._on_invite(client, room_id, info)
        if resp.next_batch:
            self._since = resp.next_batch

    async def _backfill(
        self, client: Any, room_id: str, token: str | None, since: str | None
    ) -> list[Any]:
        """Events behind a ``limited`` timeline, oldest first: ``/messages`` backwards from the
        timeline's ``prev_batch`` to ``since`` (or, without one, to :data:`BACKFILL_AGE` ago), at
        most :data:`BACKFILL_EVENTS`. A gap left larger is logged and counted."""
        nio = _nio()
        older: list[Any] = []
        oldest = self._now() - BACKFILL_AGE
        complete = False
        while token and len(older) < BACKFILL_EVENTS:
            limit = min(100, BACKFILL_EVENTS - len(older))
            resp = await client.room_messages(room_id, start=token, end=since, limit=limit)
            if not isinstance(resp, nio.RoomMessagesResponse):
                log.warning("matrix: paging back in %s failed: %s", room_id, resp)
                break
            for event in resp.chunk:  # newest first
                ts = sent_at(getattr(event, "source", {}) or {})
                if since is None and ts is not None and ts < oldest:
                    complete = True
                    break
                older.append(event)
            if complete or not resp.chunk or not resp.end or resp.end == token:
                complete = True
                break
            token = resp.end
        complete = complete or not token
        self.matrix_stats.backfilled += len(older)
        if not complete:
            self.matrix_stats.history_gaps += 1
            log.warning(
                "matrix: more than %d events missed in %s; older ones are not delivered",
                BACKFILL_EVENTS,
                room_id,
            )
        older.reverse()
        return older

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
        # stripped state (nio keeps members, name and alias): a direct chat has one other member
        # and no published alias
        members = {
            e.state_key
            for e in info.invite_state
            if getattr(e, "membership", None) in ("join", "invite")
            and getattr(e, "state_key", None) not in (None, self.user_id)
        }
        alias = any(getattr(e, "canonical_alias", None) for e in info.invite_state)
        is_direct = content.get("is_direct") is True and len(members) <= 1 and not alias
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
