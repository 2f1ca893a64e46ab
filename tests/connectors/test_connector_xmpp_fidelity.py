"""XMPP protocol fidelity (issue 11): blank bodies, XEP-0359 ids, XEP-0203 delay stamps as the
sent time, XEP-0280 carbons (own lines from another device, copies to another device, forgeries).

Stanza-level unit tests build the stanzas by hand; the network tests run against Prosody.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import slixmpp
from slixmpp.xmlstream import ET

from connector_clients import XmppContact, eventually, run
from tutela.connectors import Address, InboundMessage
from tutela.connectors.base import OwnMessage
from tutela.connectors.xmpp import XmppConnector, parse_stamp

PW = "test-pw"
OWN = "mia@localhost"
NOW = datetime(2026, 5, 1, 10, 0, 0, tzinfo=UTC)


def _conn(**kw) -> XmppConnector:
    return XmppConnector(jid=OWN, password="x", now=lambda: NOW, **kw)


def _stanza(xml: str) -> slixmpp.Message:
    return slixmpp.Message(xml=ET.fromstring(xml))


def _chat(inner: str, frm: str = "bob@localhost/pc", extra: str = "") -> slixmpp.Message:
    return _stanza(
        f"<message xmlns='jabber:client' from='{frm}' to='{OWN}/r1' type='chat' {extra}>"
        f"{inner}</message>"
    )


def _carbon(kind: str, inner_from: str, inner_to: str, body: str, frm: str = OWN, ids: str = ""):
    return _stanza(
        f"<message xmlns='jabber:client' from='{frm}' to='{OWN}/r1' type='chat'>"
        f"<{kind} xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"
        f"<message xmlns='jabber:client' from='{inner_from}' to='{inner_to}' type='chat'>"
        f"<body>{body}</body>{ids}</message></forwarded></{kind}></message>"
    )


# ---------------------------------------------------------------------------------------------
# blank bodies


@pytest.mark.parametrize("body", ["<body>   </body>", "<body>\n\t </body>", "<body/>"])
def test_blank_body_is_not_a_message(body: str) -> None:
    conn = _conn()
    assert conn._translate(_chat(body)) is None
    assert conn.stats.empty_ignored == 1


def test_chat_state_without_body_is_not_counted_as_blank() -> None:
    conn = _conn()
    state = "<composing xmlns='http://jabber.org/protocol/chatstates'/>"
    assert conn._translate(_chat(state)) is None
    assert conn.stats.empty_ignored == 0


def test_blank_body_with_media_is_kept_as_media() -> None:
    url = "http://127.0.0.1:9/x/pic.png"
    msg = _conn()._translate(_chat(f"<body> </body><x xmlns='jabber:x:oob'><url>{url}</url></x>"))
    assert isinstance(msg, InboundMessage)
    assert [a.url for a in msg.attachments] == [url]


def test_blank_room_mention_is_ignored() -> None:
    conn = _conn(rooms=["lobby@conference.localhost"])
    room = _stanza(
        "<message xmlns='jabber:client' from='lobby@conference.localhost/bob' "
        "type='groupchat'><body>  </body></message>"
    )
    assert conn._translate(room) is None
    assert conn.stats.empty_ignored == 1


# ---------------------------------------------------------------------------------------------
# platform ids (XEP-0359)


SID = "urn:xmpp:sid:0"


@pytest.mark.parametrize(
    ("children", "attrs", "expected"),
    [
        (f"<origin-id xmlns='{SID}' id='o1'/><stanza-id xmlns='{SID}' by='{OWN}' id='s1'/>",
         "id='a1'", "o1"),
        (f"<stanza-id xmlns='{SID}' by='{OWN}' id='s1'/>", "id='a1'", "s1"),
        # a stanza-id by anyone but the account's own server is not trusted
        (f"<stanza-id xmlns='{SID}' by='eve@localhost' id='forged'/>", "id='a1'", None),
        (f"<stanza-id xmlns='{SID}' by='eve@localhost' id='forged'/>", "", None),
        # the stream-local id attribute is never a platform id
        (f"<origin-id xmlns='{SID}' id='  '/>", "id='a2'", None),
        ("", "id='1'", None),
        # a sender's forged stanza-id by the persona comes first; the server's is the last
        (f"<stanza-id xmlns='{SID}' by='{OWN}' id='FORGED'/>"
         f"<stanza-id xmlns='{SID}' by='{OWN}' id='server-1'/>", "id='x9'", "server-1"),
    ],
)  # fmt: skip
def test_platform_id_prefers_origin_id_then_own_stanza_id(children, attrs, expected) -> None:
    msg = _conn()._translate(_chat(f"<body>hi</body>{children}", extra=attrs))
    assert isinstance(msg, InboundMessage)
    assert msg.platform_id == expected


# ---------------------------------------------------------------------------------------------
# delay stamps (XEP-0203 / XEP-0082)


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2026-04-30T22:15:00Z", datetime(2026, 4, 30, 22, 15, tzinfo=UTC)),
        ("2026-04-30T22:15:00.123456789Z", datetime(2026, 4, 30, 22, 15, 0, 123456, tzinfo=UTC)),
        ("2026-04-30T22:15:00.5Z", datetime(2026, 4, 30, 22, 15, 0, 500000, tzinfo=UTC)),
        ("2026-05-01T00:15:00+02:00", datetime(2026, 4, 30, 22, 15, tzinfo=UTC)),
        ("2026-04-30T20:45:00-01:30", datetime(2026, 4, 30, 22, 15, tzinfo=UTC)),
    ],
)
def test_parse_stamp(stamp: str, expected: datetime) -> None:
    assert parse_stamp(stamp) == expected
    assert parse_stamp(stamp).utcoffset() == timedelta(0)


@pytest.mark.parametrize("bad", ["", "20260430T22:15:00", "2026-04-30 22:15:00Z", "yesterday"])
def test_parse_stamp_refuses_other_forms(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_stamp(bad)


def test_offline_direct_message_keeps_its_delay_stamp_as_sent_time() -> None:
    msg = _conn()._translate(
        _chat(
            "<body>sent while you were away</body>"
            "<delay xmlns='urn:xmpp:delay' from='localhost' stamp='2026-04-30T22:15:00Z'/>"
        )
    )
    assert isinstance(msg, InboundMessage)
    assert msg.sent_at == datetime(2026, 4, 30, 22, 15, tzinfo=UTC)
    assert msg.received_at == NOW
    assert (msg.text, msg.direct, msg.other_device) == ("sent while you were away", True, False)


def test_the_servers_delay_stamp_wins_over_a_senders_one() -> None:
    msg = _conn()._translate(
        _chat(
            "<body>hi</body>"
            "<delay xmlns='urn:xmpp:delay' from='bob@localhost/pc' stamp='2020-01-01T00:00:00Z'/>"
            "<delay xmlns='urn:xmpp:delay' from='localhost' stamp='2026-04-30T22:15:00Z'/>"
        )
    )
    assert isinstance(msg, InboundMessage)
    assert msg.sent_at == datetime(2026, 4, 30, 22, 15, tzinfo=UTC)
    assert msg.sent_by == "localhost"


def test_the_last_server_stamp_wins_over_one_the_sender_put_before_it() -> None:
    msg = _conn()._translate(
        _chat(
            "<body>hi</body>"
            "<delay xmlns='urn:xmpp:delay' from='localhost' stamp='2019-01-01T00:00:00Z'/>"
            "<delay xmlns='urn:xmpp:delay' from='localhost' stamp='2026-05-01T09:59:00Z'/>"
        )
    )
    assert isinstance(msg, InboundMessage)
    assert msg.sent_at == datetime(2026, 5, 1, 9, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    "delay",
    [
        "<delay xmlns='urn:xmpp:delay' from='mia@localhost' stamp='2026-04-01T00:00:00Z'/>",
        "<delay xmlns='urn:xmpp:delay' from='bob@localhost' stamp='2026-04-01T00:00:00Z'/>",
        "<delay xmlns='urn:xmpp:delay' from='evil.example' stamp='2026-04-01T00:00:00Z'/>",
        "<delay xmlns='urn:xmpp:delay' stamp='2026-04-01T00:00:00Z'/>",
        # later than the receive time: ignored, not a sent time from the future
        "<delay xmlns='urn:xmpp:delay' from='localhost' stamp='2035-01-01T00:00:00Z'/>",
    ],
)
def test_a_stamp_the_sender_chose_is_never_the_sent_time(delay: str) -> None:
    msg = _conn()._translate(_chat(f"<body>hi</body>{delay}"))
    assert isinstance(msg, InboundMessage)
    assert (msg.sent_at, msg.sent_by, msg.text) == (None, None, "hi")


def test_unreadable_delay_stamp_keeps_the_message_without_a_sent_time() -> None:
    msg = _conn()._translate(
        _chat("<body>hi</body><delay xmlns='urn:xmpp:delay' stamp='last tuesday'/>")
    )
    assert isinstance(msg, InboundMessage)
    assert msg.sent_at is None and msg.text == "hi"


def _room_line(body: str, delay: str) -> slixmpp.Message:
    return _stanza(
        "<message xmlns='jabber:client' from='lobby@conference.localhost/bob' type='groupchat'>"
        f"<body>{body}</body>{delay}</message>"
    )


def test_live_message_has_no_sent_time_and_room_history_stays_ignored() -> None:
    conn = _conn(rooms=["lobby@conference.localhost"])
    live = conn._translate(_chat("<body>hi</body>"))
    assert isinstance(live, InboundMessage) and live.sent_at is None
    history = _room_line(
        "mia old line",
        "<delay xmlns='urn:xmpp:delay' from='lobby@conference.localhost' "
        "stamp='2026-04-30T22:15:00Z'/>",
    )
    assert conn._translate(history) is None
    assert conn.stats.history_ignored == 1


def test_a_room_mention_with_a_delay_the_sender_added_is_delivered() -> None:
    conn = _conn(rooms=["lobby@conference.localhost"])
    for delay in (
        "<delay xmlns='urn:xmpp:delay' stamp='2026-05-01T09:00:00Z'/>",
        "<delay xmlns='urn:xmpp:delay' from='localhost' stamp='2026-05-01T09:00:00Z'/>",
        "<delay xmlns='urn:xmpp:delay' from='lobby@conference.localhost/bob' "
        "stamp='2026-05-01T09:00:00Z'/>",
    ):
        msg = conn._translate(_room_line("mia send me a pic", delay))
        assert isinstance(msg, InboundMessage), delay
        assert (msg.room, msg.sent_at, msg.answer) == ("lobby@conference.localhost", None, True)
    assert conn.stats.history_ignored == 0


def test_delayed_room_lines_before_the_subject_are_history() -> None:
    conn = _conn(rooms=["lobby@conference.localhost"])
    conn._history_open.add("lobby@conference.localhost")  # joined, history arriving
    delay = "<delay xmlns='urn:xmpp:delay' stamp='2026-05-01T09:00:00Z'/>"
    assert conn._translate(_room_line("mia old", delay)) is None
    subject = _stanza(
        "<message xmlns='jabber:client' from='lobby@conference.localhost' type='groupchat'>"
        "<subject>welcome</subject></message>"
    )
    assert conn._translate(subject) is None
    assert isinstance(conn._translate(_room_line("mia new", delay)), InboundMessage)
    assert conn.stats.history_ignored == 1


# ---------------------------------------------------------------------------------------------
# carbons (XEP-0280)


def test_sent_carbon_from_own_account_is_an_own_line() -> None:
    conn = _conn()
    stanza = _carbon(
        "sent", f"{OWN}/phone", "bob@localhost/pc", "typed on the phone",
        ids=f"<origin-id xmlns='{SID}' id='own-1'/>",
    )  # fmt: skip
    own = conn._translate(stanza)
    assert isinstance(own, OwnMessage)
    assert (own.contact.id, own.text, own.device, own.platform_id) == (
        "bob@localhost", "typed on the phone", "phone", "own-1",
    )  # fmt: skip
    assert own.account == OWN and own.received_at == NOW and own.room is None
    assert own.wire.startswith(b"<message") and b"carbons:2" in own.wire
    assert conn.stats.own_lines == 1 and conn.stats.received == 0


def test_sent_carbon_of_what_the_connector_sent_is_its_own_echo() -> None:
    conn = _conn()
    conn._sent_ids.append("mine-1")
    stanza = _carbon(
        "sent", f"{OWN}/other", "bob@localhost", "persona reply",
        ids=f"<origin-id xmlns='{SID}' id='mine-1'/>",
    )  # fmt: skip
    assert conn._translate(stanza) is None
    assert conn.stats.own_echoes_ignored == 1 and conn.stats.own_lines == 0


def test_received_carbon_is_a_copy_for_another_device() -> None:
    conn = _conn()
    msg = conn._translate(_carbon("received", "bob@localhost/pc", f"{OWN}/phone", "hi phone"))
    assert isinstance(msg, InboundMessage)
    assert (msg.sender.id, msg.text, msg.direct, msg.other_device, msg.answer) == (
        "bob@localhost", "hi phone", True, True, False,
    )  # fmt: skip
    assert b"<received" in msg.wire
    assert conn.stats.carbons_received == 1


@pytest.mark.parametrize(
    "frm",
    ["eve@localhost", "eve@localhost/z", "localhost", "conference.localhost"],
)
def test_carbons_from_anyone_else_are_forgeries(frm: str) -> None:
    conn = _conn()
    for kind in ("sent", "received"):
        assert (
            conn._translate(_carbon(kind, f"{OWN}/x", "bob@localhost", "forged", frm=frm)) is None
        )
    assert conn.stats.forged_forwards == 2
    assert conn.stats.own_lines == conn.stats.received == 0


def test_carbons_that_make_no_sense_are_not_unwrapped() -> None:
    conn = _conn()
    cases = [
        _carbon("sent", "bob@localhost/pc", "carl@localhost", "not ours"),  # sent by another
        _carbon("sent", f"{OWN}/phone", f"{OWN}/r1", "note to self"),
        _carbon("received", "bob@localhost/pc", "carl@localhost", "to someone else"),
        _carbon("received", f"{OWN}/phone", f"{OWN}/r1", "from ourselves"),
        _carbon("sent", f"{OWN}/phone", "bob@localhost", "x", frm=f"{OWN}/phone"),  # not bare
        _stanza(  # a carbon wrapper without a message
            f"<message xmlns='jabber:client' from='{OWN}' to='{OWN}/r1'>"
            "<sent xmlns='urn:xmpp:carbons:2'/></message>"
        ),
    ]
    assert [conn._translate(c) for c in cases] == [None] * len(cases)
    assert conn.stats.forwards_ignored == len(cases)
    assert conn.stats.forged_forwards == 0
    blank = _carbon("sent", f"{OWN}/phone", "bob@localhost", "  ")
    assert conn._translate(blank) is None and conn.stats.empty_ignored == 1


# ---------------------------------------------------------------------------------------------
# Real server (Prosody)


def _persona(server, user: str, **kwargs) -> XmppConnector:
    return XmppConnector(
        jid=server.jid(user) + "/tutela", password=PW, host=server.host, port=server.port,
        allow_plaintext=True, connect_timeout=10.0, **kwargs,
    )  # fmt: skip


def _accounts(server, unique: str, *names: str) -> list[str]:
    return [server.register(f"{n}{unique}", PW) and f"{n}{unique}" for n in names]


@pytest.mark.network
def test_prosody_blank_body_and_origin_id_on_sent_messages(xmpp_server, unique: str) -> None:
    mia, bob = _accounts(xmpp_server, unique, "fmia", "fbob")
    mia_jid = xmpp_server.jid(mia)

    async def go() -> None:
        persona = _persona(xmpp_server, mia)
        contact = XmppContact(xmpp_server.jid(bob), PW, xmpp_server.host, xmpp_server.port)
        await persona.start()
        await contact.start()
        try:
            assert persona.carbons_enabled
            contact.send_raw(f"<message to='{mia_jid}' type='chat'><body>  \n </body></message>")
            contact.say(mia_jid, "words at last")
            msg = await persona.next_message(timeout=10)
            assert isinstance(msg, InboundMessage) and msg.text == "words at last"
            assert persona.stats.empty_ignored == 1
            await persona.send(Address.reply_to(msg), "hello")
            got = await asyncio.wait_for(contact.inbox.get(), 10)
            origin = got.xml.find(f"{{{SID}}}origin-id")
            assert origin is not None and origin.get("id") == got["id"]
        finally:
            await contact.stop()
            await persona.stop()

    run(go())


@pytest.mark.network
def test_prosody_offline_message_carries_its_delay_stamp(xmpp_server, unique: str) -> None:
    mia, bob = _accounts(xmpp_server, unique, "omia", "obob")

    async def go() -> None:
        contact = XmppContact(xmpp_server.jid(bob), PW, xmpp_server.host, xmpp_server.port)
        await contact.start()
        try:
            before = datetime.now(UTC).replace(microsecond=0)
            contact.say(xmpp_server.jid(mia), "are you there")
            await asyncio.sleep(1.2)  # the persona logs in later: a visible gap
            persona = _persona(xmpp_server, mia)
            await persona.start()
            try:
                msg = await persona.next_message(timeout=10)
                assert isinstance(msg, InboundMessage) and msg.text == "are you there"
                assert msg.sent_at is not None
                assert before <= msg.sent_at <= before + timedelta(seconds=1)
                assert msg.received_at - msg.sent_at >= timedelta(seconds=1)
                assert b"urn:xmpp:delay" in msg.wire
            finally:
                await persona.stop()
        finally:
            await contact.stop()

    run(go())


@pytest.mark.network
def test_prosody_line_from_the_personas_second_device_is_an_own_line(
    xmpp_server, unique: str
) -> None:
    mia, bob = _accounts(xmpp_server, unique, "cmia", "cbob")
    mia_jid, bob_jid = xmpp_server.jid(mia), xmpp_server.jid(bob)

    async def go() -> None:
        persona = _persona(xmpp_server, mia)
        phone = XmppContact(mia_jid + "/phone", PW, xmpp_server.host, xmpp_server.port)
        contact = XmppContact(bob_jid, PW, xmpp_server.host, xmpp_server.port)
        await persona.start()
        await phone.start()
        await contact.start()
        try:
            phone.say(bob_jid, "hi, it is me on the phone")
            own = await persona.next_message(timeout=10)
            assert isinstance(own, OwnMessage)
            assert (own.contact.id, own.text, own.device) == (
                bob_jid, "hi, it is me on the phone", "phone",
            )  # fmt: skip
            assert own.platform_id  # Prosody's stanza-id by the account, or the stanza id
            # the persona's own reply is not reported back to it as someone else's line
            await persona.send(Address("xmpp", bob_jid), "and this is the persona")
            assert await contact.next_body() == "hi, it is me on the phone"
            assert await contact.next_body() == "and this is the persona"
            await asyncio.sleep(0.5)
            assert persona._queue.empty() and persona.stats.own_lines == 1
        finally:
            await contact.stop()
            await phone.stop()
            await persona.stop()

    run(go())


@pytest.mark.network
def test_prosody_message_to_another_device_arrives_as_a_copy(xmpp_server, unique: str) -> None:
    mia, bob = _accounts(xmpp_server, unique, "rmia", "rbob")
    mia_jid = xmpp_server.jid(mia)

    async def go() -> None:
        persona = _persona(xmpp_server, mia)
        phone = XmppContact(mia_jid + "/phone", PW, xmpp_server.host, xmpp_server.port)
        contact = XmppContact(xmpp_server.jid(bob), PW, xmpp_server.host, xmpp_server.port)
        await persona.start()
        await phone.start()
        await contact.start()
        try:
            contact.say(mia_jid + "/phone", "only for the phone")  # a full-JID message
            msg = await persona.next_message(timeout=10)
            assert isinstance(msg, InboundMessage)
            assert (msg.text, msg.other_device) == ("only for the phone", True)
            assert persona.stats.carbons_received == 1
            contact.say(mia_jid, "for everyone")  # bare JID: the persona gets the original
            msg = await persona.next_message(timeout=10)
            assert isinstance(msg, InboundMessage)
            assert (msg.text, msg.other_device) == ("for everyone", False)
        finally:
            await contact.stop()
            await phone.stop()
            await persona.stop()

    run(go())


@pytest.mark.network
def test_prosody_forged_sent_carbon_is_refused(xmpp_server, unique: str) -> None:
    mia, bob, eve = _accounts(xmpp_server, unique, "gmia", "gbob", "geve")
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
                f"<message xmlns='jabber:client' from='{mia_jid}/phone' to='{bob_jid}' "
                "type='chat'><body>words put in the persona's mouth</body></message>"
                "</forwarded></sent></message>"
            )
            attacker.say(mia_jid, "plain line")
            msg = await persona.next_message(timeout=10)
            assert isinstance(msg, InboundMessage) and msg.text == "plain line"
            await eventually(lambda: persona.stats.forged_forwards == 1)
            assert persona.stats.own_lines == 0
        finally:
            await attacker.stop()
            await persona.stop()

    run(go())


def _muc_pm(frm: str, to: str, body: str, kind: str | None = None) -> slixmpp.Message:
    inner = (
        f"<message xmlns='jabber:client' from='{frm}' to='{to}' type='chat'>"
        f"<body>{body}</body><x xmlns='http://jabber.org/protocol/muc#user'/></message>"
    )
    if kind is None:
        return _stanza(inner)
    return _stanza(
        f"<message xmlns='jabber:client' from='{OWN}' to='{OWN}/r1' type='chat'>"
        f"<{kind} xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>{inner}"
        f"</forwarded></{kind}></message>"
    )


def test_private_message_from_an_occupant_of_another_room_keeps_the_occupant() -> None:
    conn = _conn(rooms=["lobby@conference.localhost"])
    direct = conn._translate(_muc_pm("other@conference.localhost/eve", f"{OWN}/r1", "psst"))
    copy = conn._translate(
        _muc_pm("other@conference.localhost/eve", f"{OWN}/phone", "psst", "received")
    )
    for msg in (direct, copy):
        assert isinstance(msg, InboundMessage)
        assert msg.sender.id == "other@conference.localhost/eve" and msg.direct
    assert copy.answer is False


def test_sent_carbons_to_a_room_or_an_occupant_are_not_the_rooms_chat() -> None:
    conn = _conn(rooms=["lobby@conference.localhost"])
    to_room = _carbon("sent", f"{OWN}/phone", "lobby@conference.localhost", "hi")
    assert conn._translate(to_room) is None
    assert conn.stats.own_lines_not_stored == 1
    own = conn._translate(
        _muc_pm(f"{OWN}/phone", "other@conference.localhost/eve", "hello eve", "sent")
    )
    assert isinstance(own, OwnMessage) and own.contact.id == "other@conference.localhost/eve"


def test_a_pm_from_an_occupant_on_a_known_muc_service_and_a_room_invite() -> None:
    conn = _conn(rooms=["lobby@conference.localhost"])
    copy = conn._translate(
        _carbon("received", "other@conference.localhost/eve", f"{OWN}/phone", "psst")
    )
    assert isinstance(copy, InboundMessage)
    assert copy.sender.id == "other@conference.localhost/eve" and copy.answer is False
    invite = _stanza(
        f"<message xmlns='jabber:client' from='evil@muc.example' to='{OWN}'>"
        "<x xmlns='http://jabber.org/protocol/muc#user'><invite from='bob@localhost'>"
        "<reason>join</reason></invite></x><body>bob invites you</body></message>"
    )
    assert conn._translate(invite) is None
    assert conn.stats.room_messages_ignored == 1
