"""DiscordChatExporter JSON reader (tutela.ingest.discord) on synthetic exports."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tutela.domain import Attachment
from tutela.errors import InputError
from tutela.ingest import detect_format, read_corpus
from tutela.ingest import discord as dc


def author(uid: str, name: str) -> dict:
    return {
        "id": uid,
        "name": name,
        "discriminator": "0000",
        "nickname": name.title(),
        "color": None,
        "isBot": False,
        "roles": [],
        "avatarUrl": "https://cdn.example/avatar.png",
    }


ALICE = author("100000000000000001", "sam")
BOB = author("100000000000000002", "sam")  # same display name, another account


def msg(mid: int, content="hello", *, who=ALICE, kind="Default", **extra) -> dict:
    m = {
        "id": str(900 + mid),
        "type": kind,
        "timestamp": f"2024-01-01T00:0{mid % 10}:00.123+02:00",
        "timestampEdited": None,
        "callEndedTimestamp": None,
        "isPinned": False,
        "content": content,
        "author": who,
        "attachments": [],
        "embeds": [],
        "stickers": [],
        "reactions": [],
        "mentions": [],
    }
    m.update(extra)
    return m


def export(messages: list[dict], channel_id="555000000000000001") -> dict:
    return {
        "guild": {"id": "444", "name": "A server", "iconUrl": "https://cdn.example/i.png"},
        "channel": {
            "id": channel_id,
            "type": "GuildTextChat",
            "categoryId": "1",
            "category": "Text",
            "name": "general",
            "topic": None,
        },
        "dateRange": {"after": None, "before": None},
        "exportedAt": "2024-02-01T10:00:00.000+00:00",
        "messages": messages,
        "messageCount": len(messages),
    }


def dump(doc: object) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False)


PNG = {
    "id": "1",
    "url": "https://cdn.discordapp.com/attachments/1/2/photo.PNG",
    "fileName": "photo.PNG",
    "fileSizeBytes": 12345,
}
PDF = {"id": "2", "url": "https://cdn.discordapp.com/a/notes.pdf", "fileName": "notes.pdf"}
STICKER = {"id": "3", "name": "wave", "format": "Png", "sourceUrl": "https://cdn.example/s.png"}


def test_reads_a_channel(write):
    doc = export(
        [
            msg(1, "hi all"),
            msg(2, "", kind="GuildMemberJoin", who=BOB),
            msg(3, "hello sam", who=BOB, kind="Reply", reference={"messageId": "901"}),
            msg(4, "", attachments=[PNG]),
            msg(5, "read this", who=BOB, attachments=[PDF]),
            msg(6, "", kind="ChannelPinnedMessage"),
            msg(7, "", stickers=[STICKER]),
            msg(8, "", kind="GuildMemberJoin"),
        ]
    )
    path = write("general.json", dump(doc))
    assert detect_format(path) == "discord"
    warnings: list = []
    (conv,) = read_corpus(path, warn=warnings.append)
    assert conv.id == "555000000000000001"
    assert conv.content_available
    a, b = ALICE["id"], BOB["id"]
    assert [m.author for m in conv.messages] == [a, b, a, b, a]
    assert conv.authors == [ALICE["id"], BOB["id"]]  # same name "sam", two people
    assert [m.text for m in conv.messages] == ["hi all", "hello sam", "", "read this", ""]
    assert [m.kind for m in conv.messages] == ["text", "text", "media", "text", "media"]
    assert [m.line for m in conv.messages] == [1, 2, 3, 4, 5]
    assert conv.messages[2].attachments == (Attachment(kind="image", url=PNG["url"], size=12345),)
    assert conv.messages[3].attachments == (Attachment(kind="file", url=PDF["url"]),)
    assert conv.messages[4].attachments == (Attachment(kind="image", url=STICKER["sourceUrl"]),)
    first = conv.messages[0]
    assert first.time == "2024-01-01T00:01:00.123+02:00"
    assert first.at == datetime(2023, 12, 31, 22, 1, 0, 123000, tzinfo=UTC)
    assert [str(w).split(": ", 1)[1] for w in warnings] == [
        "3 system messages (GuildMemberJoin ×2, ChannelPinnedMessage) are not anyone's words: "
        "skipped"
    ]


def test_source_names_the_line_of_the_message_object(write):
    text = dump(export([msg(1, "a"), msg(2, "", kind="GuildMemberJoin"), msg(3, "b")]))
    (conv,) = read_corpus(write("c.json", text))
    lines = text.splitlines()
    for m, mid in zip(conv.messages, (1, 3), strict=True):
        line = int(m.source.rpartition(":")[2])
        assert lines[line - 1].strip() == "{"
        assert lines[line].strip() == f'"id": "{900 + mid}",'


def test_export_without_message_content(write):
    doc = export([msg(1, ""), msg(2, "", who=BOB), msg(3, "", kind="GuildMemberJoin")])
    path = write("no-intent.json", dump(doc))
    warnings: list = []
    (conv,) = read_corpus(path, warn=warnings.append)
    assert conv.content_available is False
    assert [m.author for m in conv.messages] == [ALICE["id"], BOB["id"]]
    assert all(m.text == "" for m in conv.messages)
    assert conv.messages[0].at is not None  # who wrote when is kept
    (notice,) = [w for w in warnings if "no message content" in w.message]
    assert "not assessed" in notice.message
    assert "Message Content intent" in notice.message


def test_media_only_export_has_content(write):
    doc = export([msg(1, "", attachments=[PNG]), msg(2, "", stickers=[STICKER])])
    (conv,) = read_corpus(write("media.json", dump(doc)))
    assert conv.content_available


def test_some_blank_messages_are_counted(write):
    warnings: list = []
    doc = export([msg(1, "words"), msg(2, ""), msg(3, "more")])
    (conv,) = read_corpus(write("mixed.json", dump(doc)), warn=warnings.append)
    assert conv.content_available
    assert [m.text for m in conv.messages] == ["words", "", "more"]
    assert any("1 of 3 messages have no content" in str(w) for w in warnings)


def test_large_indented_export_is_detected_from_a_truncated_head(write):
    doc = export([msg(i, f"message {i}, plain and short") for i in range(1, 600)])
    text = dump(doc)
    assert len(text.encode()) > 2 * 64 * 1024
    head = text.encode()[: 64 * 1024].decode("utf-8", "ignore")
    with pytest.raises(json.JSONDecodeError):
        json.loads(head)
    assert dc.sniff(head)
    path = write("export.data", text)
    assert detect_format(path) == "discord"
    (conv,) = read_corpus(path)
    assert len(conv.messages) == 599


def test_naive_timestamp_gives_no_instant(write):
    warnings: list = []
    doc = export([msg(1, "a", timestamp="2024-01-01T00:00:00"), msg(2, "b")])
    (conv,) = read_corpus(write("t.json", dump(doc)), fmt="discord", warn=warnings.append)
    assert [m.at is None for m in conv.messages] == [True, False]
    assert conv.messages[0].time == "2024-01-01T00:00:00"
    assert any('1 message with a "timestamp" that has no UTC offset' in str(w) for w in warnings)


@pytest.mark.parametrize(
    "stamp", ["99999-13-01", "2024-13-01T00:00:00+00:00", "2024-02-30T10:00:00Z", "later", ""]
)
def test_impossible_timestamp_is_an_error_naming_path_and_line(write, stamp):
    text = dump(export([msg(1, "fine"), msg(2, "b", timestamp=stamp)]))
    with pytest.raises(InputError, match=r"messages\[1\]\.timestamp: .* is not a real date") as e:
        list(read_corpus(write("t.json", text), fmt="discord"))
    assert text.splitlines()[e.value.line - 1].strip().startswith('"timestamp":')


@pytest.mark.parametrize(
    ("mutate", "pattern", "line_text"),
    [
        (
            lambda m: m["author"].pop("id"),
            r'messages\[1\]\.author: missing required field "id"',
            '"author": {',
        ),
        (lambda m: m.pop("author"), r'messages\[1\]: missing required field "author"', "{"),
        (
            lambda m: m.update(content=7),
            r"messages\[1\]\.content: must be a string",
            '"content": 7',
        ),
        (lambda m: m.update(attachments={}), r"messages\[1\]\.attachments: must be an array", None),
        (
            lambda m: m.update(attachments=[{"fileName": 3}]),
            r"messages\[1\]\.attachments\[0\]\.fileName: must be a string",
            '"fileName": 3',
        ),
        (
            lambda m: m["author"].update(id=""),
            r"messages\[1\]\.author\.id: must not be empty",
            None,
        ),
    ],
)
def test_wrong_types_name_the_json_path_and_line(write, mutate, pattern, line_text):
    doc = export([msg(1, "fine"), msg(2, "to break", who=dict(BOB))])
    mutate(doc["messages"][1])
    text = dump(doc)
    with pytest.raises(InputError, match=pattern) as info:
        list(read_corpus(write("c.json", text)))
    if line_text is not None:
        assert text.splitlines()[info.value.line - 1].strip().startswith(line_text)


def test_errors(write):
    bad = dump(export([msg(1, "a")])).replace('"content": "a"', '"content": "a" "b"')
    with pytest.raises(InputError, match=r"malformed JSON: Expecting .*\(line \d+, column \d+\)"):
        list(read_corpus(write("bad.json", bad)))
    with pytest.raises(InputError, match=r"no messages anyone wrote \(only 1 system message\)"):
        list(read_corpus(write("sys.json", dump(export([msg(1, "", kind="GuildMemberJoin")])))))
    with pytest.raises(InputError, match=r"messages\[0\]\.content: message of 20 characters"):
        list(read_corpus(write("long.json", dump(export([msg(1, "y" * 20)]))), max_message_chars=5))
    with pytest.raises(InputError, match="not a DiscordChatExporter export"):
        list(
            read_corpus(
                write("other.json", json.dumps({"name": "x", "messages": []})), fmt="discord"
            )
        )


@pytest.mark.parametrize(
    "head",
    [
        '{\n "name": "Alice",\n "type": "personal_chat",\n "id": 1,\n "messages": [\n',
        '{\n  "participants": [{"name": "A"}],\n  "messages": [{"sender_name": "A"',
        '{"conversation": "c", "author": "a", "text": "t"}\n',
        "[1, 2]",
        "author,text\n",
    ],
)
def test_sniff_refuses_other_formats(head):
    assert not dc.sniff(head)


def test_bot_replies_to_commands_are_the_bots_words(write):
    bot = dict(author("300000000000000003", "helper"), isBot=True)
    doc = export(
        [
            msg(1, "/roll", kind="Default"),
            msg(2, "You rolled 4", who=bot, kind="ChatInputCommand"),
            msg(3, "Translated: hello", who=bot, kind="ContextMenuCommand"),
            msg(4, "Numbered as the exporter writes it", who=bot, kind="20"),
            msg(5, "", kind="GuildMemberJoin"),
            msg(6, "Joined.", kind="7"),
        ]
    )
    warnings: list = []
    (conv,) = read_corpus(write("c.json", dump(doc)), warn=warnings.append)
    assert [(m.author, m.text) for m in conv.messages] == [
        (ALICE["id"], "/roll"),
        (bot["id"], "You rolled 4"),
        (bot["id"], "Translated: hello"),
        (bot["id"], "Numbered as the exporter writes it"),
    ]
    assert any("2 system messages (7, GuildMemberJoin)" in str(w) for w in warnings)


TELEGRAM_SHAPE = {"name": "A", "type": "personal_chat", "id": 1, "messages": [{"id": 1}]}
MESSENGER_SHAPE = {"participants": [{"name": "A"}], "messages": [{"sender_name": "A"}]}


@pytest.mark.parametrize(
    ("doc", "found", "hint"),
    [
        (TELEGRAM_SHAPE, "found the keys id, messages, name, type", "use --format telegram"),
        (MESSENGER_SHAPE, "found the keys messages, participants", "use --format messenger"),
        ({"channel": {"id": "1"}, "messages": []}, "found the keys channel, messages", None),
        ({"name": "x", "messages": []}, "found the keys messages, name", None),
        ([1, 2], "found a JSON array", None),
    ],
)
def test_other_shapes_are_not_a_discord_export(write, doc, found, hint):
    with pytest.raises(InputError) as e:
        list(read_corpus(write("x.json", json.dumps(doc, indent=2)), fmt="discord"))
    text = str(e.value)
    assert 'not a DiscordChatExporter export (expected the keys "guild", "channel" and' in text
    assert found in text
    assert (hint in text) if hint else ("--format" not in text)


def test_control_characters_are_removed_with_a_warning_naming_the_message(write):
    text = dump(export([msg(1, "ok"), msg(2, "a\u0000b\u001bc\u0085d\r\ne\tf")]))
    warnings: list = []
    (conv,) = read_corpus(write("c.json", text), warn=warnings.append)
    assert [m.text for m in conv.messages] == ["ok", "abcd\r\ne\tf"]
    (w,) = [w for w in warnings if "control" in w.message]
    assert w.message.startswith("messages[1].content: removed 3 control characters")
    assert "U+0000, U+001B, U+0085" in w.message
    assert text.splitlines()[w.line].strip() == '"id": "902",'


def test_display_names_are_kept_beside_the_ids(write):
    doc = export([msg(1, "hi", who=ALICE), msg(2, "yo", who=BOB)])
    (conv,) = read_corpus(write("d.json", json.dumps(doc, indent=1)))
    assert [m.author for m in conv.messages] == [ALICE["id"], BOB["id"]]
    # two accounts with one display name stay two authors; the channel nickname is shown
    assert conv.author_names == {ALICE["id"]: "Sam", BOB["id"]: "Sam"}
