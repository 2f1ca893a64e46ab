"""Unit tests of connector building blocks: splitting, mentions, back-off, rate limit, registry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connector_clients import run
from tutela.connectors import (
    CONNECTORS,
    Address,
    Backoff,
    Identity,
    InboundMessage,
    InMemoryConnector,
    TokenBucket,
    attachment_from_url,
    attachments_in_text,
    create_connector,
    mentions,
    split_text,
)
from tutela.errors import ConfigError, ConnectorError


@pytest.mark.parametrize("limit", [16, 50, 400])
def test_split_text_respects_byte_limit_and_word_boundaries(limit: int) -> None:
    words = [f"wörd{i}" for i in range(300)]
    text = " ".join(words)
    parts = split_text(text, limit)
    assert len(parts) > 1
    assert all(len(p.encode("utf-8")) <= limit for p in parts)
    assert " ".join(parts).split() == words  # no word cut, none lost, order kept


def test_split_text_cuts_overlong_words_at_character_boundaries() -> None:
    word = "é" * 30  # 60 bytes
    parts = split_text(word, 7)
    assert "".join(parts) == word
    assert all(len(p.encode("utf-8")) <= 7 for p in parts)


def test_split_text_newlines() -> None:
    assert split_text("hi\r\nthere\n\nyou", 100) == ["hi\nthere\n\nyou"]
    assert split_text("hi\r\nthere\n\nyou", 100, keep_newlines=False) == ["hi", "there", "you"]
    assert split_text("   ", 100) == []
    with pytest.raises(ValueError):
        split_text("x", 3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("mia: hi", True), ("hey @Mia!", True), ("MIA", True), ("mian here", False), ("", False)],
)
def test_mentions(text: str, expected: bool) -> None:
    assert mentions(text, "mia") is expected


def test_backoff_grows_to_maximum_with_bounded_jitter() -> None:
    b = Backoff(initial=1.0, factor=2.0, maximum=10.0, jitter=0.0)
    assert [b.delay(n) for n in range(6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    j = Backoff(initial=4.0, factor=2.0, maximum=60.0, jitter=0.5)
    assert j.delay(0, rand=lambda: 0.0) == 4.0
    assert j.delay(0, rand=lambda: 1.0) == 2.0
    with pytest.raises(ValueError):
        Backoff(jitter=2.0)


def test_token_bucket_waits_for_tokens() -> None:
    now = [0.0]
    slept: list[float] = []

    async def fake_sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    async def go() -> None:
        bucket = TokenBucket(2.0, burst=2, clock=lambda: now[0], sleep=fake_sleep)
        for _ in range(4):
            await bucket.acquire()

    run(go())
    assert slept == [pytest.approx(0.5), pytest.approx(0.5)]  # 2 free, then 1 per 0.5 s


def test_inbound_message_requires_aware_time() -> None:
    fields = dict(
        platform="memory",
        account="p1",
        sender=Identity("memory", "c1"),
        room=None,
        text="hi",
        direct=True,
        mentioned=False,
        wire=b"{}",
    )
    with pytest.raises(ValueError):
        InboundMessage(received_at=datetime(2024, 1, 1), **fields)
    msg = InboundMessage(received_at=datetime.now(UTC), **fields)
    assert Address.reply_to(msg) == Address("memory", "c1", None)


def test_registry_and_factory(memory_hub) -> None:
    conn = create_connector("memory", hub=memory_hub, account="p1")
    assert isinstance(conn, InMemoryConnector)
    assert sorted(CONNECTORS) == ["irc", "matrix", "memory", "xmpp"]
    assert CONNECTORS["xmpp"].__name__ == "XmppConnector"
    assert CONNECTORS["irc"].__name__ == "IrcConnector"
    with pytest.raises(ConfigError, match="unknown connector kind"):
        create_connector("carrier-pigeon")
    with pytest.raises(ConfigError):
        create_connector("memory", hub=memory_hub, account="p1", colour="red")


def test_media_metadata_only_from_urls() -> None:
    a = attachment_from_url("https://example.org/a/b/photo.JPG?x=1")
    assert (a.kind, a.mime, a.size) == ("image", "image/jpeg", None)
    assert attachment_from_url("https://example.org/x", mime="video/mp4").kind == "video"
    assert attachment_from_url("https://example.org/readme").kind == "file"
    found = attachments_in_text("see https://example.org/v.mp4, and https://example.org/page.")
    assert [(x.kind, x.url) for x in found] == [("video", "https://example.org/v.mp4")]


def test_send_to_other_platform_is_refused(memory_hub) -> None:
    async def go() -> None:
        conn = InMemoryConnector(memory_hub, account="p1")
        await conn.start()
        try:
            with pytest.raises(ConnectorError, match="cannot send"):
                await conn.send(Address("irc", "bob"), "hello")
        finally:
            await conn.stop()
        with pytest.raises(ConnectorError, match="not running"):
            await conn.send(Address("memory", "bob"), "hello")

    run(go())


def test_missing_server_skips_or_fails_under_require(monkeypatch) -> None:
    from servers import missing_server

    monkeypatch.delenv("TUTELA_REQUIRE_SERVERS", raising=False)
    with pytest.raises(pytest.skip.Exception):
        missing_server("prosody")
    monkeypatch.setenv("TUTELA_REQUIRE_SERVERS", "1")
    with pytest.raises(pytest.fail.Exception, match="TUTELA_REQUIRE_SERVERS"):
        missing_server("prosody")


def test_every_registered_connector_satisfies_the_protocol(memory_hub) -> None:
    from tutela.connectors import ChatConnector

    configs = {
        "memory": {"hub": memory_hub, "account": "p1"},
        "xmpp": {"jid": "mia@localhost", "password": "x"},
        "irc": {"host": "127.0.0.1", "nick": "mia"},
        "matrix": {"homeserver": "https://m.example.org", "user_id": "@mia:m.org", "password": "x"},
    }

    async def go() -> None:
        for kind, cls in CONNECTORS.items():
            conn = create_connector(kind, **configs[kind])
            assert isinstance(conn, cls) and isinstance(conn, ChatConnector)
            assert conn.name == kind
            assert conn.capabilities.supports_media is False  # personas never send media
            assert conn.capabilities.max_message_bytes <= 4000

    run(go())
