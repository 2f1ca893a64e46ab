"""Matrix connector: event translation with nio event objects (no server), sync processing with
a stand-in client, and end-to-end runs against a real Synapse on 127.0.0.1.

The end-to-end tests use the Synapse at ``TUTELA_TEST_MATRIX_URL`` (``.ci/run`` starts one with
``.ci/synapse.sh``) or start one from ``.venv-synapse``; without either they skip, or fail under
``TUTELA_REQUIRE_SERVERS=1`` (tests/servers.py).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import nio
import pytest

from connector_clients import eventually, run
from servers import MatrixServer, synapse_server
from tutela.connectors import (
    Address,
    AuthenticationError,
    Backoff,
    MatrixConnector,
    create_connector,
)
from tutela.connectors.matrix import canonical_json
from tutela.domain import Attachment
from tutela.errors import ConfigError, ConnectorError

ME = "@mia:localhost"
BOB = "@bob:localhost"
CAROL = "@carol:localhost"
TS = 1_700_000_000_123  # origin_server_ts, ms


def _conn(**kwargs: Any) -> MatrixConnector:
    return MatrixConnector(
        homeserver="http://127.0.0.1:8008",
        user_id=ME,
        password="x",
        allow_plaintext=True,
        **kwargs,
    )


def _room(room_id: str, *members: tuple[str, str | None]) -> nio.MatrixRoom:
    room = nio.MatrixRoom(room_id, ME)
    for user_id, display in members:
        room.add_member(user_id, display, None)
    return room


def _dm() -> nio.MatrixRoom:
    return _room("!dm:localhost", (ME, "Mia"), (BOB, "Bobby"))


def _group() -> nio.MatrixRoom:
    return _room("!group:localhost", (ME, "Mimi"), (BOB, "Bobby"), (CAROL, None))


_ids = iter(range(1, 10_000))


def _event(
    content: dict[str, Any],
    *,
    sender: str = BOB,
    etype: str = "m.room.message",
    **extra: Any,
) -> Any:
    source = {
        "type": etype,
        "sender": sender,
        "event_id": f"$ev{next(_ids)}",
        "origin_server_ts": TS,
        "content": content,
        "unsigned": {"age": 12},
        **extra,
    }
    return nio.Event.parse_event(source)


def _text(body: str, **content: Any) -> Any:
    return _event({"msgtype": "m.text", "body": body, **content})


# ---------------------------------------------------------------------------------------------
# Configuration


def test_plain_http_only_to_loopback_with_allow_plaintext() -> None:
    with pytest.raises(ConfigError, match="loopback"):
        MatrixConnector(
            homeserver="http://matrix.example.org", user_id=ME, password="x", allow_plaintext=True
        )
    with pytest.raises(ConfigError, match="allow_plaintext"):
        MatrixConnector(homeserver="http://127.0.0.1:8008", user_id=ME, password="x")
    for url in ("http://127.0.0.1:8008", "http://localhost:1", "http://[::1]:8008"):
        assert _conn().homeserver and MatrixConnector(
            homeserver=url, user_id=ME, password="x", allow_plaintext=True
        )
    conn = MatrixConnector(homeserver="https://matrix.example.org/", user_id=ME, password="x")
    assert conn.homeserver == "https://matrix.example.org"
    with pytest.raises(ConfigError, match="URL"):
        MatrixConnector(homeserver="ftp://matrix.example.org", user_id=ME, password="x")


def test_bad_user_id_or_no_credentials_are_config_errors() -> None:
    for bad in ("mia", "@mia", "mia:localhost", "@:localhost"):
        with pytest.raises(ConfigError, match="user id"):
            MatrixConnector(homeserver="https://m.example.org", user_id=bad, password="x")
    with pytest.raises(ConfigError, match="password or an access token"):
        MatrixConnector(homeserver="https://m.example.org", user_id=ME)
    conn = create_connector(
        "matrix", homeserver="https://m.example.org", user_id=ME, access_token="t"
    )
    assert isinstance(conn, MatrixConnector) and conn.account == ME
    assert conn.capabilities.supports_rooms and conn.capabilities.max_message_bytes == 4000
    with pytest.raises(ConfigError, match="matrix connector"):
        create_connector(
            "matrix", homeserver="https://m.example.org", user_id=ME, password="x", jid="x"
        )


# ---------------------------------------------------------------------------------------------
# Translation of single events


def test_direct_room_text_is_delivered_with_all_fields() -> None:
    conn = _conn()
    event = _text("hi there, how was school")
    msg = conn._translate(event, _dm())
    assert msg is not None
    assert (msg.platform, msg.account, msg.room, msg.direct, msg.mentioned) == (
        "matrix",
        ME,
        None,
        True,
        False,
    )
    assert (msg.sender.platform, msg.sender.id, msg.sender.display) == ("matrix", BOB, "Bobby")
    assert msg.text == "hi there, how was school"
    assert msg.platform_id == event.event_id
    assert msg.sent_at == datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)
    assert msg.wire == canonical_json(event.source)
    assert json.loads(msg.wire) == event.source
    assert b" " not in msg.wire.replace(b"hi there, how was school", b"")  # no spaces added
    assert msg.wire.index(b'"content"') < msg.wire.index(b'"event_id"')  # sorted keys
    assert msg.attachments == ()
    assert conn._dm == {BOB: "!dm:localhost"}


def test_wire_keeps_non_ascii_as_utf8() -> None:
    msg = _conn()._translate(_text("café ☕"), _dm())
    assert msg is not None and "café ☕".encode() in msg.wire


def test_room_messages_need_a_mention() -> None:
    conn = _conn()
    room = _group()
    for body in ("hello everyone", "mian is a word", "mimicry", "@mia:localhost.org"):
        assert conn._translate(_text(body), room) is None, body
    assert conn.stats.room_messages_ignored == 4
    delivered = [
        _text("hi Mia!"),  # localpart, any case
        _text("Mimi: you there?"),  # the persona's display name in this room
        _text("ping @mia:localhost"),  # the user id
        _text("hey you", **{"m.mentions": {"user_ids": [ME]}}),  # intentional mention
        _text(
            "hey you",
            format="org.matrix.custom.html",
            formatted_body='<a href="https://matrix.to/#/@mia:localhost">x</a> hey you',
        ),  # an older client's pill
    ]
    for event in delivered:
        msg = conn._translate(event, room)
        assert msg is not None, event.source["content"]
        assert (msg.room, msg.direct, msg.mentioned, msg.sender.id) == (
            "!group:localhost",
            False,
            True,
            BOB,
        )
    assert conn.stats.room_messages_ignored == 4
    other = _text("hey you", **{"m.mentions": {"user_ids": [CAROL]}})
    assert conn._translate(other, room) is None
    assert conn.stats.room_messages_ignored == 5
    assert conn._dm == {}  # room messages never make a room "direct"


def test_profile_display_name_counts_as_a_mention() -> None:
    conn = _conn(display_name="Sunny")
    room = _room("!g:localhost", (ME, None), (BOB, None), (CAROL, None))
    msg = conn._translate(_text("sunny, hi"), room)
    assert msg is not None and msg.mentioned
    assert msg.sender.display is None  # no display name known: none invented


def test_what_makes_a_room_direct() -> None:
    conn = _conn()
    two = _room("!two:localhost", (ME, None), (BOB, None))
    assert conn._translate(_text("hello"), two) is not None  # 2 members: direct
    conn._configured = {"#lobby:localhost": "!two:localhost", "!two:localhost": "!two:localhost"}
    assert conn._translate(_text("hello"), two) is None  # a configured room never is
    marked = _room("!m:localhost", (ME, None), (BOB, None))
    conn._direct_marked.add("!m:localhost")
    assert conn._translate(_text("hello"), marked).direct
    marked.add_member(CAROL, None, None)  # a DM that grew is a room: mentions only
    assert conn._translate(_text("hello"), marked) is None
    assert conn._translate(_text("mia hello"), marked).room == "!m:localhost"
    alone = _room("!alone:localhost", (ME, None))
    assert conn._translate(_text("hello"), alone) is None


def test_ignored_events_are_counted_and_not_delivered() -> None:
    conn = _conn()
    dm = _dm()
    ignored = [
        _event({"msgtype": "m.text", "body": "my own line"}, sender=ME),
        _event(
            {
                "msgtype": "m.text",
                "body": "* fixed",
                "m.new_content": {"msgtype": "m.text", "body": "fixed"},
                "m.relates_to": {"rel_type": "m.replace", "event_id": "$ev1"},
            }
        ),
        _event({"redacts": "$ev1"}, etype="m.room.redaction", redacts="$ev1"),
        _event(
            {},
            unsigned={
                "redacted_because": {"type": "m.room.redaction", "sender": BOB, "content": {}}
            },
        ),
        _event({"msgtype": "m.notice", "body": "I am a bot"}),
        _text("   \n\t "),
        _text(""),
        _event({"membership": "join", "displayname": "Bob"}, etype="m.room.member", state_key=BOB),
        _event(
            {"m.relates_to": {"rel_type": "m.annotation", "event_id": "$ev1", "key": "👍"}},
            etype="m.reaction",
        ),
        _event(
            {
                "algorithm": "m.megolm.v1.aes-sha2",
                "ciphertext": "AwgA",
                "sender_key": "k",
                "device_id": "D",
                "session_id": "s",
            },
            etype="m.room.encrypted",
        ),
    ]
    for event in ignored:
        assert conn._translate(event, dm) is None, event.source
    s, m = conn.stats, conn.matrix_stats
    assert s.own_echoes_ignored == 1
    assert (m.edits_ignored, m.redactions_ignored, m.notices_ignored) == (1, 2, 1)
    assert (m.empty_ignored, m.encrypted_ignored) == (2, 1)
    assert s.received == 0 and s.room_messages_ignored == 0


def test_media_events_give_metadata_only() -> None:
    conn = _conn()
    dm = _dm()
    image = conn._translate(
        _event(
            {
                "msgtype": "m.image",
                "body": "IMG_0001.png",
                "url": "mxc://localhost/AbCd",
                "info": {"mimetype": "image/png", "size": 12345, "w": 10, "h": 10},
            }
        ),
        dm,
    )
    assert image is not None and image.text == ""
    assert image.attachments == (
        Attachment(kind="image", url="mxc://localhost/AbCd", mime="image/png", size=12345),
    )
    cases = [
        ({"msgtype": "m.video", "body": "clip.mp4", "url": "mxc://l/v"}, "video", None, None),
        ({"msgtype": "m.audio", "body": "voice.ogg", "url": "mxc://l/a"}, "audio", None, None),
        (
            {
                "msgtype": "m.file",
                "body": "notes.pdf",
                "url": "mxc://l/f",
                "info": {"mimetype": "application/pdf", "size": True},
            },
            "file",
            "application/pdf",
            None,
        ),
        (
            {
                "msgtype": "m.file",
                "body": "x.jpg",
                "file": {"url": "mxc://l/enc", "v": "v2"},
                "info": {"mimetype": "image/jpeg", "size": 7},
            },
            "image",
            "image/jpeg",
            7,
        ),
    ]
    for content, kind, mime, size in cases:
        msg = conn._translate(_event(content), dm)
        assert msg is not None and msg.text == "", content
        (att,) = msg.attachments
        url = content.get("url") or content["file"]["url"]
        assert (att.kind, att.url, att.mime, att.size) == (kind, url, mime, size), content
    sticker = conn._translate(
        _event(
            {"body": "a waving cat", "url": "mxc://l/s", "info": {"mimetype": "image/webp"}},
            etype="m.sticker",
        ),
        dm,
    )
    assert sticker is not None and sticker.text == ""
    assert sticker.attachments[0].kind == "image"
    captioned = conn._translate(
        _event(
            {
                "msgtype": "m.image",
                "body": "look at this",
                "filename": "IMG_2.jpg",
                "url": "mxc://l/c",
            }
        ),
        dm,
    )
    assert captioned is not None and captioned.text == "look at this"
    assert conn.stats.received == 0  # _translate only translates; nothing was queued


def test_emote_reply_fallback_and_unknown_msgtype() -> None:
    conn = _conn()
    emote = conn._translate(_event({"msgtype": "m.emote", "body": "waves"}), _dm())
    assert emote is not None and emote.text == "/me waves"
    reply = {
        "msgtype": "m.text",
        "body": "> <@mia:localhost> what did you do today\n> more\n\nplayed football",
        "m.relates_to": {"m.in_reply_to": {"event_id": "$ev1"}},
    }
    msg = conn._translate(_event(reply), _dm())
    assert msg is not None and msg.text == "played football"
    # In a room, a reply quoting the persona addresses her (older clients: fallback only).
    in_room = conn._translate(_event(reply), _group())
    assert in_room is not None and in_room.mentioned and in_room.text == "played football"
    no_quote = {**reply, "body": "> not a fallback"}
    assert conn._translate(_event({**no_quote, "m.relates_to": {}}), _dm()).text == (
        "> not a fallback"
    )
    location = conn._translate(
        _event({"msgtype": "m.location", "body": "Park", "geo_uri": "geo:1,2"}), _dm()
    )
    assert location is not None and location.text == "Park"


# ---------------------------------------------------------------------------------------------
# Sync processing (stand-in client)


class _FakeClient:
    def __init__(self, *rooms: nio.MatrixRoom) -> None:
        self.rooms = {r.room_id: r for r in rooms}
        self.joined: list[str] = []
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def join(self, room_id: str) -> Any:
        self.joined.append(room_id)
        return nio.JoinResponse(room_id)

    async def room_send(self, room_id: str, etype: str, content: dict[str, Any]) -> Any:
        self.sent.append((room_id, content))
        return nio.RoomSendResponse(f"$sent{len(self.sent)}", room_id)


def _sync(
    join: dict[str, list[Any]] | None = None,
    invite: dict[str, list[Any]] | None = None,
    batch: str = "s1",
) -> Any:
    rooms = SimpleNamespace(
        join={
            r: SimpleNamespace(timeline=SimpleNamespace(events=ev))
            for r, ev in (join or {}).items()
        },
        invite={r: SimpleNamespace(invite_state=ev) for r, ev in (invite or {}).items()},
        leave={},
    )
    return SimpleNamespace(rooms=rooms, next_batch=batch, account_data_events=[])


def _invite(inviter: str, *, is_direct: bool | None) -> list[Any]:
    content: dict[str, Any] = {"membership": "invite"}
    if is_direct is not None:
        content["is_direct"] = is_direct
    return [
        nio.InviteMemberEvent.from_dict(
            {
                "type": "m.room.member",
                "sender": inviter,
                "state_key": inviter,
                "content": {"membership": "join"},
            }
        ),
        nio.InviteMemberEvent.from_dict(
            {"type": "m.room.member", "sender": inviter, "state_key": ME, "content": content}
        ),
    ]


def _own_join() -> Any:
    return _event({"membership": "join"}, sender=ME, etype="m.room.member", state_key=ME)


def test_first_sync_is_history_and_later_syncs_are_delivered() -> None:
    async def go() -> None:
        conn = _conn()
        client = _FakeClient(_dm(), _group())
        await conn._process_sync(
            client,
            _sync({"!dm:localhost": [_text("old line")], "!group:localhost": [_text("mia old")]}),
            history=True,
        )
        assert conn.stats.history_ignored == 2 and conn.stats.received == 0
        assert conn._since == "s1"
        marked = _sync(batch="s1")
        marked.account_data_events = [nio.UnknownAccountDataEvent("m.direct", {BOB: ["!x:l"]})]
        await conn._process_sync(client, marked, history=False)
        assert "!x:l" in conn._direct_marked
        await conn._process_sync(
            client, _sync({"!dm:localhost": [_text("new line")]}, batch="s2"), history=False
        )
        msg = await conn.next_message(timeout=1)
        assert msg.text == "new line" and conn._since == "s2"

    run(go())


def test_only_direct_invites_are_accepted() -> None:
    async def go() -> None:
        conn = _conn()
        client = _FakeClient()
        invites = {
            "!d:localhost": _invite(BOB, is_direct=True),
            "!g:localhost": _invite(CAROL, is_direct=None),
            "!f:localhost": _invite(CAROL, is_direct=False),
        }
        await conn._process_sync(client, _sync(invite=invites), history=True)
        assert client.joined == ["!d:localhost"]
        assert (conn.matrix_stats.invites_accepted, conn.matrix_stats.invites_ignored) == (1, 2)
        assert conn._dm == {BOB: "!d:localhost"} and "!d:localhost" in conn._direct_marked
        await conn._process_sync(client, _sync(invite=invites, batch="s2"), history=False)
        assert client.joined == ["!d:localhost"] and conn.matrix_stats.invites_ignored == 2
        conn._configured = {"#g:localhost": "!g:localhost", "!g:localhost": "!g:localhost"}
        conn._invites_seen.discard("!g:localhost")
        await conn._process_sync(client, _sync(invite=invites, batch="s3"), history=False)
        assert client.joined == ["!d:localhost", "!g:localhost"]  # a configured room's invite

    run(go())


def test_lines_before_the_join_count_only_in_direct_rooms() -> None:
    async def go() -> None:
        conn = _conn()
        dm = _room("!d:localhost", (ME, None), (BOB, "Bob"))
        group = _group()
        client = _FakeClient(dm, group)
        await conn._process_sync(
            client, _sync(invite={"!d:localhost": _invite(BOB, is_direct=True)}), history=False
        )
        timeline = [_text("hi, it's bob"), _own_join(), _text("are you there?")]
        group_timeline = [_text("mia: before you came"), _own_join(), _text("mia: welcome")]
        await conn._process_sync(
            client,
            _sync({"!d:localhost": timeline, "!group:localhost": group_timeline}, batch="s2"),
            history=False,
        )
        got = [await conn.next_message(timeout=1) for _ in range(3)]
        assert [(m.text, m.direct) for m in got] == [
            ("hi, it's bob", True),
            ("are you there?", True),
            ("mia: welcome", False),
        ]
        assert conn.stats.history_ignored == 1 and conn.stats.received == 3

    run(go())


def test_the_persona_never_opens_a_direct_room() -> None:
    async def go() -> None:
        conn = _conn()
        conn._client = client = _FakeClient(_dm(), _group())
        conn._joined = {"!dm:localhost", "!group:localhost"}
        with pytest.raises(ConnectorError, match="never opens"):
            await conn._send_part(Address("matrix", CAROL), "hello")
        await conn._send_part(Address("matrix", BOB), "hi bob")
        await conn._send_part(Address("matrix", BOB, room="!group:localhost"), "hi all")
        assert client.sent == [
            ("!dm:localhost", {"msgtype": "m.text", "body": "hi bob", "m.mentions": {}}),
            ("!group:localhost", {"msgtype": "m.text", "body": "hi all", "m.mentions": {}}),
        ]
        with pytest.raises(ConnectorError, match="not in room"):
            await conn._send_part(Address("matrix", BOB, room="!other:localhost"), "x")
        client.rooms["!dm:localhost"].encrypted = True
        with pytest.raises(ConnectorError, match="encrypted"):
            await conn._send_part(Address("matrix", BOB), "x")
        assert len(client.sent) == 2
        client.rooms["!dm:localhost"].encrypted = False
        # A room left (or a kick) is not written to any more.
        left = _sync()
        left.rooms.leave = {"!dm:localhost": None, "!group:localhost": None}
        await conn._process_sync(client, left, history=False)
        with pytest.raises(ConnectorError, match="never opens"):
            await conn._send_part(Address("matrix", BOB), "x")
        with pytest.raises(ConnectorError, match="not in room"):
            await conn._send_part(Address("matrix", BOB, room="!group:localhost"), "x")
        assert len(client.sent) == 2

    run(go())


# ---------------------------------------------------------------------------------------------
# Real Synapse

PW = "test-pw-1"


@pytest.fixture(scope="module")
def matrix_server() -> Iterator[MatrixServer]:
    """A Synapse on 127.0.0.1 (TUTELA_TEST_MATRIX_URL, or started from .venv-synapse)."""
    with synapse_server() as server:
        yield server


def _name(stem: str) -> str:
    return f"{stem}{uuid.uuid4().hex[:8]}"


def _persona(server: MatrixServer, user_id: str, **kwargs: Any) -> MatrixConnector:
    return MatrixConnector(
        homeserver=server.url,
        user_id=user_id,
        password=PW,
        allow_plaintext=True,
        connect_timeout=10.0,
        sync_timeout=5.0,
        **kwargs,
    )


class MatrixContact:
    """A contact's own nio client; reads its rooms by polling /sync."""

    def __init__(self, server: MatrixServer, user_id: str) -> None:
        self.client = nio.AsyncClient(server.url, user_id)

    async def start(self) -> MatrixContact:
        resp = await self.client.login(PW)
        assert isinstance(resp, nio.LoginResponse), resp
        await self.client.sync(timeout=0)
        return self

    async def close(self) -> None:
        await self.client.close()

    async def open_dm(self, persona: str) -> str:
        resp = await self.client.room_create(
            is_direct=True, invite=[persona], preset=nio.RoomPreset.trusted_private_chat
        )
        assert isinstance(resp, nio.RoomCreateResponse), resp
        return resp.room_id

    async def say(self, room_id: str, body: str, **content: Any) -> str:
        payload = {"msgtype": "m.text", "body": body, **content}
        resp = await self.client.room_send(room_id, "m.room.message", payload)
        assert isinstance(resp, nio.RoomSendResponse), resp
        return resp.event_id

    async def wait_for(self, room_id: str, sender: str, body: str, timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            resp = await self.client.sync(timeout=1000)
            info = resp.rooms.join.get(room_id) if isinstance(resp, nio.SyncResponse) else None
            for event in info.timeline.events if info else ():
                if event.sender == sender and event.source["content"].get("body") == body:
                    return event
        raise AssertionError(f"{body!r} from {sender} not seen in {room_id}")


@pytest.mark.network
@pytest.mark.slow
def test_direct_room_round_trip(matrix_server: MatrixServer) -> None:
    mia = matrix_server.register(_name("mia"), PW)
    bob = matrix_server.register(_name("bob"), PW)

    async def go() -> None:
        persona = _persona(matrix_server, mia, backoff=Backoff(initial=1.0, jitter=0))
        contact = await MatrixContact(matrix_server, bob).start()
        await persona.start()
        try:
            room = await contact.open_dm(mia)
            first = await contact.say(room, "hi, I'm bob")  # sent before the persona joined
            msg = await persona.next_message(timeout=10)
            assert (msg.text, msg.direct, msg.room, msg.platform_id) == (
                "hi, I'm bob",
                True,
                None,
                first,
            )
            assert (msg.sender.id, msg.account) == (bob, mia)
            assert msg.sender.display == bob[1:].split(":")[0]  # Synapse's default display name
            now = datetime.now(UTC)
            assert msg.sent_at is not None and now - timedelta(seconds=30) < msg.sent_at <= now
            assert json.loads(msg.wire)["event_id"] == first
            assert persona.matrix_stats.invites_accepted == 1

            await persona.send(Address.reply_to(msg), "hello bob")
            await contact.wait_for(room, mia, "hello bob")

            image = {
                "msgtype": "m.image",
                "url": "mxc://localhost/NotUploaded",
                "info": {"mimetype": "image/png", "size": 2048},
            }
            await contact.say(room, "photo.png", **image)
            pic = await persona.next_message(timeout=10)
            assert pic.text == "" and pic.attachments == (
                Attachment("image", "mxc://localhost/NotUploaded", "image/png", 2048),
            )

            # The session ends; what is sent meanwhile arrives after the reconnection.
            await persona._close_session()
            await eventually(lambda: not persona.online)
            gap = await contact.say(room, "sent while you were away")
            msg = await persona.next_message(timeout=15)
            assert (msg.text, msg.platform_id) == ("sent while you were away", gap)
            assert persona.stats.sessions == 2
        finally:
            await persona.stop()

        # A later run given the saved token gets what was sent while nothing ran.
        token = persona.sync_token
        assert token
        down = await contact.say(room, "sent while you were down")
        later = _persona(matrix_server, mia, since=token)
        await later.start()
        try:
            msg = await later.next_message(timeout=10)
            assert (msg.text, msg.platform_id, msg.direct) == (
                "sent while you were down",
                down,
                True,
            )
        finally:
            await later.stop()

        # A new connector without a token starts from the present: the past is history.
        again = _persona(matrix_server, mia)
        await again.start()
        try:
            await contact.say(room, "still there?")
            msg = await again.next_message(timeout=10)
            assert msg.text == "still there?" and again.stats.received == 1
            assert again.stats.history_ignored >= 1
            await again.send(Address.reply_to(msg), "yes")  # the DM is found again
            await contact.wait_for(room, mia, "yes")
        finally:
            await again.stop()
            await contact.close()

    run(go(), timeout=60)


@pytest.mark.network
@pytest.mark.slow
def test_group_room_mentions_and_invites(matrix_server: MatrixServer) -> None:
    mia = matrix_server.register(_name("mia"), PW)
    bob = matrix_server.register(_name("bob"), PW)
    alias_local = _name("lobby")

    async def go() -> None:
        contact = await MatrixContact(matrix_server, bob).start()
        created = await contact.client.room_create(
            alias=alias_local, preset=nio.RoomPreset.public_chat, name="Lobby"
        )
        assert isinstance(created, nio.RoomCreateResponse), created
        room = created.room_id
        own = nio.AsyncClient(matrix_server.url, mia)  # the operator sets the persona's name
        assert isinstance(await own.login(PW), nio.LoginResponse)
        await own.set_displayname("Mia")
        await own.logout()
        await own.close()

        persona = _persona(matrix_server, mia, rooms=[f"#{alias_local}:localhost"])
        await persona.start()
        try:
            await contact.say(room, "hello everyone")
            await contact.say(room, "Mia, are you around?")
            msg = await persona.next_message(timeout=10)
            assert (msg.text, msg.room, msg.direct, msg.mentioned) == (
                "Mia, are you around?",
                room,
                False,
                True,
            )
            assert persona.stats.room_messages_ignored == 1
            await contact.say(room, "you there?", **{"m.mentions": {"user_ids": [mia]}})
            msg = await persona.next_message(timeout=10)
            assert msg.text == "you there?" and msg.mentioned
            await persona.send(Address.reply_to(msg), "hi")
            await contact.wait_for(room, mia, "hi")

            # An invite that is not a direct chat is left pending.
            other = await contact.client.room_create(invite=[mia], name="Club")
            assert isinstance(other, nio.RoomCreateResponse), other
            await eventually(lambda: persona.matrix_stats.invites_ignored == 1)
            members = await contact.client.joined_members(other.room_id)
            assert mia not in [m.user_id for m in members.members]
            # ... and a direct room the persona never had cannot be written to.
            carol = matrix_server.register(_name("carol"), PW)
            with pytest.raises(ConnectorError, match="never opens"):
                await persona.send(Address("matrix", carol), "hello")
            assert persona.stats.received == 2
        finally:
            await persona.stop()
            await contact.close()

    run(go(), timeout=60)


@pytest.mark.network
def test_wrong_password_is_an_authentication_error(matrix_server: MatrixServer) -> None:
    mia = matrix_server.register(_name("mia"), PW)

    async def go() -> None:
        persona = MatrixConnector(
            homeserver=matrix_server.url,
            user_id=mia,
            password="wrong",
            allow_plaintext=True,
            connect_timeout=10.0,
        )
        with pytest.raises(AuthenticationError, match="refused"):
            await persona.start()
        assert persona.stats.connect_failures == 0  # not retried

    run(go())


def test_unreachable_homeserver_is_retried_then_reported() -> None:
    from servers import free_port

    async def go() -> None:
        persona = MatrixConnector(
            homeserver=f"http://127.0.0.1:{free_port()}",
            user_id=ME,
            password="x",
            allow_plaintext=True,
            connect_timeout=1.5,
            backoff=Backoff(initial=0.05, jitter=0),
        )
        with pytest.raises(ConnectorError, match="not connected"):
            await persona.start()
        assert persona.stats.connect_failures >= 1
        assert "cannot reach" in (persona.stats.last_error or "")

    run(go())
