"""XMPP connector against a real Prosody on 127.0.0.1 (plus stanza-level unit tests)."""

from __future__ import annotations

import asyncio

import pytest
import slixmpp
from slixmpp.xmlstream import ET

from connector_clients import XmppContact, eventually, run
from tutela.connectors import Address, AuthenticationError, Backoff
from tutela.connectors.xmpp import XmppConnector

PW = "test-pw"


def _persona(server, user: str, **kwargs) -> XmppConnector:
    return XmppConnector(
        jid=server.jid(user),
        password=PW,
        host=server.host,
        port=server.port,
        allow_plaintext=True,
        connect_timeout=10.0,
        **kwargs,
    )


def _accounts(server, unique: str, *names: str) -> list[str]:
    return [server.register(f"{n}{unique}", PW) and f"{n}{unique}" for n in names]


# ---------------------------------------------------------------------------------------------
# Stanza translation (no server)


def _stanza(xml: str) -> slixmpp.Message:
    return slixmpp.Message(xml=ET.fromstring(xml))


OWN = "mia@localhost"
CARBON = (
    "<message xmlns='jabber:client' from='{frm}' to='mia@localhost/r1' type='chat'>"
    "<received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"
    "<message xmlns='jabber:client' from='bob@localhost/x' to='mia@localhost' type='chat'>"
    "<body>a line that was never sent</body></message></forwarded></received></message>"
)
MAM = (
    "<message xmlns='jabber:client' from='{frm}' to='mia@localhost/r1'>"
    "<result xmlns='urn:xmpp:mam:2' id='1'><forwarded xmlns='urn:xmpp:forward:0'>"
    "<message xmlns='jabber:client' from='bob@localhost/x' type='chat'>"
    "<body>archived</body></message></forwarded></result></message>"
)


def test_archive_results_and_forged_forwards_are_never_unwrapped() -> None:
    """Archive results are never unwrapped; carbons only from the account's own bare JID (its
    received carbons are tested in test_connector_xmpp_fidelity.py)."""
    conn = XmppConnector(jid=OWN, password="x", rooms=["lobby@conference.localhost"])
    assert conn._translate(_stanza(MAM.format(frm=OWN))) is None
    assert conn.stats.forwards_ignored == 1
    assert conn._translate(_stanza(CARBON.format(frm="eve@localhost/z"))) is None
    assert conn._translate(_stanza(MAM.format(frm="eve@localhost"))) is None
    assert conn.stats.forged_forwards == 2


def test_room_history_own_echo_and_non_mentions_are_not_kept() -> None:
    conn = XmppConnector(jid=OWN, password="x", rooms=["lobby@conference.localhost"])
    room = (
        "<message xmlns='jabber:client' from='lobby@conference.localhost/{nick}' type='groupchat'>"
    )
    delayed = (
        room.format(nick="bob")
        + "<body>mia old line</body><delay xmlns='urn:xmpp:delay' "
        + "from='lobby@conference.localhost' stamp='2024-01-01T00:00:00Z'/>"
        + "</message>"
    )
    assert conn._translate(_stanza(delayed)) is None
    assert conn.stats.history_ignored == 1
    assert (
        conn._translate(_stanza(room.format(nick="mia") + "<body>mia hi</body></message>")) is None
    )
    assert conn.stats.own_echoes_ignored == 1
    assert (
        conn._translate(_stanza(room.format(nick="bob") + "<body>hi all</body></message>")) is None
    )
    assert conn.stats.room_messages_ignored == 1
    other = "<message xmlns='jabber:client' from='x@conference.localhost/bob' type='groupchat'>"
    assert conn._translate(_stanza(other + "<body>mia hi</body></message>")) is None
    msg = conn._translate(_stanza(room.format(nick="bob") + "<body>Mia: hi</body></message>"))
    assert msg is not None
    assert (msg.room, msg.sender.id, msg.sender.display, msg.direct, msg.mentioned) == (
        "lobby@conference.localhost",
        "lobby@conference.localhost/bob",
        "bob",
        False,
        True,
    )
    assert msg.wire.startswith(b"<message") and b"Mia: hi" in msg.wire


# ---------------------------------------------------------------------------------------------
# Real server


@pytest.mark.network
def test_direct_message_round_trip(xmpp_server, unique: str) -> None:
    mia, bob = _accounts(xmpp_server, unique, "mia", "bob")

    async def go() -> None:
        persona = _persona(xmpp_server, mia)
        contact = XmppContact(xmpp_server.jid(bob), PW, xmpp_server.host, xmpp_server.port)
        await persona.start()
        await contact.start()
        try:
            contact.say(xmpp_server.jid(mia), "hi there, how was school")
            msg = await persona.next_message(timeout=10)
            assert msg.sender.id == xmpp_server.jid(bob)
            assert (msg.text, msg.direct, msg.room) == ("hi there, how was school", True, None)
            assert msg.account == xmpp_server.jid(mia)
            assert b"<body>hi there, how was school</body>" in msg.wire
            assert msg.platform_id
            await persona.send(Address.reply_to(msg), "it was ok")
            assert await contact.next_body() == "it was ok"
        finally:
            await contact.stop()
            await persona.stop()

    run(go())


@pytest.mark.network
def test_muc_mention_is_yielded_other_room_traffic_only_counted(xmpp_server, unique) -> None:
    mia, bob = _accounts(xmpp_server, unique, "mia", "bob")
    room = f"lobby{unique}@{xmpp_server.muc_domain}"

    async def go() -> None:
        persona = _persona(xmpp_server, mia, rooms=[room], nick="mia")
        contact = XmppContact(xmpp_server.jid(bob), PW, xmpp_server.host, xmpp_server.port)
        await persona.start()
        await contact.start()
        try:
            await contact.join(room, "bob")
            contact.say(room, "who likes minecraft", mtype="groupchat")
            contact.say(room, "mia how old are you", mtype="groupchat")
            msg = await persona.next_message(timeout=10)
            assert (msg.text, msg.room, msg.direct, msg.mentioned) == (
                "mia how old are you",
                room,
                False,
                True,
            )
            assert msg.sender.display == "bob"
            assert persona.stats.room_messages_ignored == 1
            await persona.send(Address.reply_to(msg), "why do you ask")
            assert await contact.next_body(nick="mia") == "why do you ask"
            # The persona's own echo came back from the room and was not queued.
            await eventually(lambda: persona.stats.own_echoes_ignored == 1)
            assert persona._queue.empty()
        finally:
            await contact.stop()
            await persona.stop()

    run(go())


@pytest.mark.network
def test_forged_carbon_from_another_jid_is_ignored(xmpp_server, unique) -> None:
    mia, bob, eve = _accounts(xmpp_server, unique, "mia", "bob", "eve")
    mia_jid, bob_jid = xmpp_server.jid(mia), xmpp_server.jid(bob)

    async def go() -> None:
        persona = _persona(xmpp_server, mia)
        attacker = XmppContact(xmpp_server.jid(eve), PW, xmpp_server.host, xmpp_server.port)
        await persona.start()
        await attacker.start()
        try:
            attacker.send_raw(
                f"<message to='{mia_jid}' type='chat'>"
                "<sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"
                f"<message xmlns='jabber:client' from='{mia_jid}' to='{bob_jid}' type='chat'>"
                "<body>forged persona line</body></message></forwarded></sent></message>"
            )
            attacker.say(mia_jid, "plain line")
            msg = await persona.next_message(timeout=10)
            assert msg.text == "plain line"
            assert persona.stats.forged_forwards == 1
            assert persona.stats.received == 1
        finally:
            await attacker.stop()
            await persona.stop()

    run(go())


@pytest.mark.network
def test_oob_media_becomes_metadata(xmpp_server, unique) -> None:
    mia, bob = _accounts(xmpp_server, unique, "mia", "bob")
    url = "http://127.0.0.1:9/never-fetched/pic.jpg"  # port 9 (discard): nothing serves it

    async def go() -> None:
        persona = _persona(xmpp_server, mia)
        contact = XmppContact(xmpp_server.jid(bob), PW, xmpp_server.host, xmpp_server.port)
        await persona.start()
        await contact.start()
        try:
            contact.send_raw(
                f"<message to='{xmpp_server.jid(mia)}' type='chat'><body>{url}</body>"
                f"<x xmlns='jabber:x:oob'><url>{url}</url></x></message>"
            )
            msg = await persona.next_message(timeout=10)
            assert [(a.kind, a.url, a.mime, a.size) for a in msg.attachments] == [
                ("image", url, "image/jpeg", None)
            ]
        finally:
            await contact.stop()
            await persona.stop()

    run(go())


@pytest.mark.network
def test_wrong_password_is_not_retried(xmpp_server, unique) -> None:
    (mia,) = _accounts(xmpp_server, unique, "mia")

    async def go() -> None:
        persona = XmppConnector(
            jid=xmpp_server.jid(mia),
            password="wrong",
            host=xmpp_server.host,
            port=xmpp_server.port,
            allow_plaintext=True,
            connect_timeout=10.0,
        )
        with pytest.raises(AuthenticationError):
            await persona.start()
        assert persona.stats.sessions == 0

    run(go())


@pytest.mark.network
def test_reconnects_after_server_restart(xmpp_server, unique) -> None:
    mia, bob = _accounts(xmpp_server, unique, "mia", "bob")

    async def go() -> None:
        persona = _persona(
            xmpp_server, mia, backoff=Backoff(initial=0.2, factor=2.0, maximum=1.0, jitter=0.0)
        )
        await persona.start()
        try:
            await asyncio.to_thread(xmpp_server.stop)
            await eventually(lambda: not persona.online)
            await asyncio.to_thread(xmpp_server.start)
            await eventually(lambda: persona.online, timeout=15)
            assert persona.stats.sessions >= 2
            contact = XmppContact(xmpp_server.jid(bob), PW, xmpp_server.host, xmpp_server.port)
            await contact.start()
            try:
                contact.say(xmpp_server.jid(mia), "back again")
                msg = await persona.next_message(timeout=10)
                assert msg.text == "back again"
            finally:
                await contact.stop()
        finally:
            await persona.stop()

    run(go(), timeout=60)
