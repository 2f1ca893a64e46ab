"""IRC protocol fidelity (issue 11): a new contact's lines in arrival order whatever WHOIS takes,
and per-line decoding (UTF-8, else Windows-1252; never a C1 control in the text).

Network tests run against miniircd (a pip test dependency) and, where installed, ngircd (the
strict Debian server on which the first line used to come 4-5 s late and out of order). ngircd is
optional (``.ci/install-services.sh`` installs it with ``TUTELA_WITH_NGIRCD=1``): without it its
test is skipped, or fails when both ``TUTELA_WITH_NGIRCD=1`` and ``TUTELA_REQUIRE_SERVERS=1``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from connector_clients import IrcContact, run
from servers import LOOPBACK, _terminate, free_port, missing_server, wait_listening
from tutela.connectors import InboundMessage
from tutela.connectors.irc import IrcConnector, decode_line

# ---------------------------------------------------------------------------------------------
# decoding


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"plain ascii", "plain ascii"),
        ("héllo wörld ’ok’".encode(), "héllo wörld ’ok’"),
        (b"it\x92s fine", "it’s fine"),  # Windows-1252 right single quotation mark
        (b"\x93quoted\x94 \x85 \x80", "“quoted” … €"),
        (b"caf\xe9", "café"),  # not UTF-8: Windows-1252 agrees with Latin-1 here
        (b"odd \x81\x8d\x8f\x90\x9d bytes", "odd \ufffd\ufffd\ufffd\ufffd\ufffd bytes"),
        ("a \u0092 b".encode(), "a \ufffd b"),  # valid UTF-8 that encodes a C1 control
    ],
)
def test_decode_line(raw: bytes, text: str) -> None:
    assert decode_line(raw) == text


def test_decode_line_never_yields_a_c1_control() -> None:
    for byte in range(0x80, 0xA0):
        for raw in (bytes([byte]), b"x" + bytes([byte]) + b"y", chr(byte).encode()):
            assert not any(0x80 <= ord(c) <= 0x9F for c in decode_line(raw)), raw


# ---------------------------------------------------------------------------------------------
# servers


def _persona(host: str, port: int, nick: str, **kwargs) -> IrcConnector:
    kwargs.setdefault("rate", 50.0)
    return IrcConnector(host=host, port=port, nick=nick, connect_timeout=20.0, **kwargs)


async def _three_quick_lines(host: str, port: int, mia: str, bob: str) -> list[float]:
    """A contact the persona has never seen sends three lines in one write; returns each line's
    delay (s) from that write to its delivery, after checking order, texts and stamps."""
    persona = _persona(host, port, mia)
    await persona.start()
    contact = await IrcContact(host, port, bob).start()
    try:
        texts = ["first line", "second line", "third line"]
        assert contact.writer is not None
        t0 = time.monotonic()
        contact.writer.write(b"".join(f"PRIVMSG {mia} :{t}\r\n".encode() for t in texts))
        await contact.writer.drain()
        got: list[InboundMessage] = []
        delays: list[float] = []
        for _ in texts:
            msg = await persona.next_message(timeout=30)
            assert isinstance(msg, InboundMessage)
            delays.append(time.monotonic() - t0)
            got.append(msg)
        assert [m.text for m in got] == texts
        assert [m.sender.id for m in got] == [bob] * 3
        stamps = [m.received_at for m in got]
        assert stamps == sorted(stamps)
        return delays
    finally:
        await contact.stop()
        await persona.stop()


@pytest.mark.network
def test_new_contacts_quick_lines_in_order_on_miniircd(irc_server, unique: str) -> None:
    delays = run(
        _three_quick_lines(irc_server.host, irc_server.port, f"omia{unique}", f"ob{unique}")
    )
    print(f"miniircd: delay of each line after the write: {[round(d, 3) for d in delays]} s")
    assert delays[-1] < 2.0  # nothing waits for WHOIS


@pytest.mark.network
def test_windows_1252_byte_is_decoded_not_kept_as_c1(irc_server, unique: str) -> None:
    mia, bob = f"wmia{unique}", f"wb{unique}"

    async def go() -> None:
        persona = _persona(irc_server.host, irc_server.port, mia)
        await persona.start()
        contact = await IrcContact(irc_server.host, irc_server.port, bob).start()
        try:
            assert contact.writer is not None
            contact.writer.write(f"PRIVMSG {mia} :it".encode() + b"\x92s ok\r\n")
            contact.writer.write(f"PRIVMSG {mia} :d\xe9j\xe0 vu \u2013 fine\r\n".encode())
            await contact.writer.drain()
            first = await persona.next_message(timeout=10)
            second = await persona.next_message(timeout=10)
            assert isinstance(first, InboundMessage) and isinstance(second, InboundMessage)
            assert first.text == "it\u2019s ok"
            assert first.wire.endswith(b" :it\x92s ok\r\n")  # the bytes as received
            assert second.text == "d\xe9j\xe0 vu \u2013 fine"  # UTF-8 stays UTF-8
        finally:
            await contact.stop()
            await persona.stop()

    run(go())


_NGIRCD_CONF = """\
[Global]
	Name = irc.tutela.test
	Info = Tutela test server
	Listen = {host}
	Ports = {port}
	PidFile = {dir}/ngircd.pid
	MotdPhrase = "Tutela test server"
[Limits]
	MaxNickLength = 30
[Options]
	DNS = no
	Ident = no
	PAM = no
"""


def _ngircd_binary() -> str:
    found = shutil.which("ngircd") or next(
        (p for p in ("/usr/sbin/ngircd", "/usr/local/sbin/ngircd") if Path(p).exists()), None
    )
    if found is None:
        if os.environ.get("TUTELA_WITH_NGIRCD") == "1":
            missing_server("ngircd")  # fails under TUTELA_REQUIRE_SERVERS=1
        pytest.skip("ngircd is not installed (optional: TUTELA_WITH_NGIRCD=1)")
    return found


@contextmanager
def _ngircd() -> Iterator[tuple[str, int]]:
    binary = _ngircd_binary()
    directory = Path(tempfile.mkdtemp(prefix="tutela-ngircd-"))
    os.chmod(directory, 0o777)  # ngircd may drop to another user to write its pid file
    port = free_port()
    conf = directory / "ngircd.conf"
    conf.write_text(_NGIRCD_CONF.format(host=LOOPBACK, port=port, dir=directory))
    conf.chmod(0o644)
    log = open(directory / "ngircd.log", "ab")  # noqa: SIM115 (held by the process)
    proc = subprocess.Popen(
        [binary, "--nodaemon", "--config", str(conf)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    try:
        try:
            wait_listening(port, proc=proc)
        except RuntimeError as e:
            tail = (directory / "ngircd.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"ngircd did not start: {e}\n{tail}") from e
        yield LOOPBACK, port
    finally:
        _terminate(proc)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.network
def test_new_contacts_quick_lines_in_order_on_ngircd(unique: str) -> None:
    with _ngircd() as (host, port):
        delays = run(_three_quick_lines(host, port, f"nmia{unique}", f"nb{unique}"), timeout=90)
    print(f"ngircd: delay of each line after the write: {[round(d, 3) for d in delays]} s")
    # ngircd may pace the contact's own lines, but the first is never held back for a WHOIS
    assert delays[0] <= delays[1] <= delays[2]
    assert delays[0] < 2.0


def test_first_line_is_not_held_back_by_a_slow_whois() -> None:
    """Without a server: a WHOIS that never answers does not delay or reorder lines."""

    async def go() -> None:
        conn = IrcConnector(host="127.0.0.1", nick="mia")
        from tutela.connectors.irc import _Client

        client = _Client(conn, "mia", username="mia", realname="mia")
        conn._client = client
        client.registered = True
        client.nickname = "mia"
        client.encoding = "utf-8"  # set by connect()
        hang = asyncio.Event()

        async def slow_whois(nickname: str) -> None:
            await hang.wait()  # never answered

        client.whois = slow_whois  # type: ignore[method-assign]
        pump = asyncio.create_task(client.pump())
        client._receive_buffer = (
            b":bob!b@h PRIVMSG mia :one\r\n:bob!b@h PRIVMSG mia :two\r\n"
            b":bob!b@h PRIVMSG mia :thr\x92ee\r\n"
        )
        tasks = []
        while client._has_message():
            tasks.append(asyncio.create_task(client.on_raw(client._parse_message())))
        await asyncio.gather(*tasks)
        texts = [(await conn.next_message(timeout=1)).text for _ in range(3)]
        assert texts == ["one", "two", "thr\u2019ee"]
        assert client.background  # the WHOIS is still waiting, beside the intake
        pump.cancel()
        for t in list(client.background):
            t.cancel()
        await asyncio.gather(pump, *client.background, return_exceptions=True)

    run(go(), timeout=10)


# ---------------------------------------------------------------------------------------------
# blank lines, NOTICE and DCC file offers (review of issue 11)


async def _feed(raw: bytes) -> tuple[IrcConnector, list[InboundMessage]]:
    """Parse ``raw`` lines through a session-less client; the queued messages, in order."""
    from tutela.connectors.irc import _Client

    conn = IrcConnector(host="127.0.0.1", nick="mia")
    client = _Client(conn, "mia", username="mia", realname="mia")
    conn._client = client
    client.registered = True
    client.nickname = "mia"
    client.encoding = "utf-8"

    async def no_whois(nickname: str) -> None:
        return None

    client.whois = no_whois  # type: ignore[method-assign]
    pump = asyncio.create_task(client.pump())
    client._receive_buffer = raw + b":bob!b@h PRIVMSG mia :end\r\n"
    while client._has_message():
        await client.on_raw(client._parse_message())
    out: list[InboundMessage] = []
    while not out or out[-1].text != "end":
        item = await conn.next_message(timeout=2)
        assert isinstance(item, InboundMessage)
        out.append(item)
    pump.cancel()
    for t in list(client.background):
        t.cancel()
    await asyncio.gather(pump, *client.background, return_exceptions=True)
    return conn, out[:-1]


def test_blank_lines_are_counted_not_delivered() -> None:
    async def go() -> None:
        conn, got = await _feed(
            b":bob!b@h PRIVMSG mia :   \r\n:bob!b@h PRIVMSG mia :\t\r\n"
            b":bob!b@h PRIVMSG mia :\x02\x0304,01 \x0f\r\n:bob!b@h PRIVMSG #c :  \r\n"
            b":bob!b@h PRIVMSG mia :\x02hi\x02\r\n"
        )
        assert [m.text for m in got] == ["\x02hi\x02"]
        assert conn.stats.empty_ignored == 4

    run(go(), timeout=10)


def test_a_users_notice_is_recorded_never_answered() -> None:
    async def go() -> None:
        conn, got = await _feed(
            b":irc.example NOTICE mia :*** Looking up your hostname\r\n"
            b":bob!b@h NOTICE mia :\x01VERSION someclient\x01\r\n"  # a CTCP reply
            b":bob!b@h NOTICE mia :are you home alone?\r\n"
            b":bob!b@h NOTICE #c :hello all\r\n"  # channel notice without the nick
            b":bob!b@h NOTICE #c :mia look\r\n"
        )
        assert [(m.text, m.room, m.direct, m.answer) for m in got] == [
            ("are you home alone?", None, True, False),
            ("mia look", "#c", False, False),
        ]
        assert got[0].wire == b":bob!b@h NOTICE mia :are you home alone?\r\n"
        assert conn.stats.notices == 2 and conn.stats.room_messages_ignored == 1

    run(go(), timeout=10)


def test_a_dcc_file_offer_is_metadata_never_answered_never_connected() -> None:
    async def go() -> None:
        conn, got = await _feed(
            b":bob!b@h PRIVMSG mia :\x01DCC SEND pic.jpg 2130706433 5000 12345\x01\r\n"
            b':bob!b@h PRIVMSG mia :\x01DCC SEND "my file.zip" 2130706433 5001\x01\r\n'
            b":bob!b@h PRIVMSG mia :\x01DCC CHAT chat 2130706433 5002\x01\r\n"
        )
        assert [(m.text, m.answer) for m in got] == [
            ("DCC SEND pic.jpg 2130706433 5000 12345", False),
            ('DCC SEND "my file.zip" 2130706433 5001', False),
        ]
        (pic,), (zipped,) = (m.attachments for m in got)
        assert (pic.kind, pic.mime, pic.size, pic.url) == ("image", "image/jpeg", 12345, None)
        assert (zipped.kind, zipped.size, zipped.url) == ("file", None, None)
        assert conn.stats.file_offers == 2 and conn.stats.ctcp_queries == 1  # DCC CHAT

    run(go(), timeout=10)


@pytest.mark.network
def test_blank_notice_and_dcc_on_miniircd(irc_server, unique: str) -> None:
    async def go() -> None:
        persona = IrcConnector(
            host=irc_server.host, port=irc_server.port, nick=f"m{unique}"[:9], connect_timeout=10
        )
        await persona.start()
        contact = await IrcContact(irc_server.host, irc_server.port, f"b{unique}"[:9]).start()
        try:
            nick = persona.nick
            await contact.send(f"PRIVMSG {nick} :   ")
            await contact.send(f"NOTICE {nick} :are you home alone?")
            await contact.send(f"PRIVMSG {nick} :\x01DCC SEND pic.jpg 2130706433 5000 12\x01")
            await contact.send(f"PRIVMSG {nick} :end")
            got = []
            while not got or got[-1].text != "end":
                got.append(await persona.next_message(timeout=5))
            assert [(m.text, m.answer) for m in got] == [
                ("are you home alone?", False),
                ("DCC SEND pic.jpg 2130706433 5000 12", False),
                ("end", True),
            ]
            assert persona.stats.empty_ignored == 1
        finally:
            await contact.stop()
            await persona.stop()

    run(go(), timeout=30)
