"""Messenger / Instagram JSON reader (tutela.ingest.messenger) on synthetic message_1.json files."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tutela.domain import Attachment
from tutela.errors import InputError
from tutela.ingest import detect_format, read_corpus
from tutela.ingest import messenger as fb
from tutela.ingest import telegram as tg
from tutela.ingest.discord import sniff as discord_sniff

T0 = 1704056707000  # 2023-12-31T21:05:07Z in milliseconds


def meta(text: str) -> str:
    """``text`` as Meta's exporter writes it: its UTF-8 bytes read as Latin-1 characters."""
    return text.encode("utf-8").decode("latin-1")


def msg(sender: str, offset_s: int, content: str | None = "hi", **extra) -> dict:
    m: dict = {"sender_name": meta(sender), "timestamp_ms": T0 + 1000 * offset_s}
    if content is not None:
        m["content"] = meta(content)
    m.update(is_geoblocked_for_viewer=False, **extra)
    return m


def thread(messages: list[dict], **extra) -> dict:
    doc = {
        "participants": [{"name": meta("Zoë")}, {"name": "Sam"}],
        "messages": messages,
        "title": meta("Zoë"),
        "is_still_participant": True,
        "thread_path": "inbox/zoe_abc123",
        "magic_words": [],
    }
    doc.update(extra)
    return doc


def dump(doc: object) -> str:
    return json.dumps(doc, indent=2)  # ensure_ascii: "\u00c3\u00a9", as Meta writes


def test_reads_a_messenger_thread_in_time_order_and_repairs_text(write):
    # newest first, as the export writes it
    messages = [
        msg("Sam", 9, "ok 😀"),
        msg(
            "Zoë",
            8,
            None,
            photos=[{"uri": "messages/inbox/zoe/photos/1.jpg", "creation_timestamp": 1}],
        ),
        msg("Sam", 7, "Sam started a call", type="Call", call_duration=30),
        msg("Zoë", 6, "oops", is_unsent=True),
        msg("Zoë", 5, "", share={"link": "https://example.org/page"}, type="Share"),
        msg("Sam", 4, "Sam sent an attachment.", files=[{"uri": "f/notes.pdf"}]),
        msg("Zoë", 3, "second at the same time"),
        msg("Zoë", 3, "first at the same time"),
        msg("Sam", 1, "café tonight?"),
    ]
    path = write("message_1.json", dump(thread(messages)))
    assert "\\u00c3\\u00a9" in path.read_text()  # the fixture really is mis-encoded
    assert detect_format(path) == "messenger"
    warnings: list = []
    (conv,) = read_corpus(path, warn=warnings.append)
    assert conv.id == "inbox/zoe_abc123"
    assert [m.text for m in conv.messages] == [
        "café tonight?",
        "first at the same time",
        "second at the same time",
        "",
        "https://example.org/page",
        "",
        "ok 😀",
    ]
    assert [m.author for m in conv.messages] == ["Sam", "Zoë", "Zoë", "Sam", "Zoë", "Zoë", "Sam"]
    assert [m.kind for m in conv.messages] == [
        "text",
        "text",
        "text",
        "media",
        "text",
        "media",
        "text",
    ]
    assert [m.line for m in conv.messages] == list(range(1, 8))
    assert conv.messages[3].attachments == (Attachment(kind="file"),)
    assert conv.messages[5].attachments == (Attachment(kind="image"),)
    first = conv.messages[0]
    assert first.at == datetime(2023, 12, 31, 21, 5, 8, tzinfo=UTC)
    assert first.time == "2023-12-31T21:05:08.000+00:00"
    texts = [str(w) for w in warnings]
    assert any("repaired" in w and "Latin-1" in w for w in texts)
    assert any("2 messages (Call, unsent) are not anyone's words" in w for w in texts)


def test_already_correct_strings_are_left_alone(write):
    # a file re-saved with correct UTF-8: é (U+00E9) alone is not valid UTF-8 as bytes, the emoji
    # is not Latin-1: both round trips fail, so nothing changes and no repair is reported
    doc = thread([], title="Zoë", participants=[{"name": "Zoë"}, {"name": "Sam"}])
    doc["messages"] = [{"sender_name": "Zoë", "timestamp_ms": T0, "content": "déjà vu 😀"}]
    warnings: list = []
    (conv,) = read_corpus(
        write("message_1.json", json.dumps(doc, ensure_ascii=False)), warn=warnings.append
    )
    assert conv.messages[0].text == "déjà vu 😀"
    assert conv.messages[0].author == "Zoë"
    assert not any("repaired" in str(w) for w in warnings)


def test_repair_rule():
    assert fb.repair_mojibake("caf\u00c3\u00a9") == "café"
    assert fb.repair_mojibake("\u00f0\u009f\u0098\u0080") == "😀"
    assert fb.repair_mojibake("café") == "café"
    assert fb.repair_mojibake("plain") == "plain"
    assert fb.repair_mojibake("ok 😀") == "ok 😀"


def test_instagram_thread(write):
    doc = {
        "participants": [{"name": "pat.k"}, {"name": meta("rené")}],
        "messages": [
            msg("pat.k", 5, "Liked a message"),
            msg("rené", 4, "Reacted 😂 to your message"),
            msg("pat.k", 3, "ça va"),
            msg("rené", 2, None, videos=[{"uri": "v.mp4"}], audio_files=[{"uri": "a.m4a"}]),
        ],
        "title": meta("rené"),
        "is_still_participant": True,
        "thread_type": "Regular",
        "magic_words": [],
    }
    warnings: list = []
    (conv,) = read_corpus(write("message_1.json", dump(doc)), warn=warnings.append)
    assert conv.id == "rené"
    # the export gives reaction notices no marker, so they cannot be told from typed words
    assert [(m.author, m.text, m.kind) for m in conv.messages] == [
        ("rené", "", "media"),
        ("pat.k", "ça va", "text"),
        ("rené", "Reacted 😂 to your message", "text"),
        ("pat.k", "Liked a message", "text"),
    ]
    assert conv.messages[0].attachments == (Attachment(kind="video"), Attachment(kind="audio"))
    assert any("2 messages read like Instagram's reaction notices" in str(w) for w in warnings)
    assert not any("skipped" in str(w) for w in warnings)


def test_large_indented_export_is_detected_from_a_truncated_head(write):
    messages = [msg("Sam" if i % 2 else "Zoë", 2000 - i, f"message number {i}") for i in range(900)]
    text = dump(thread(messages))
    assert len(text.encode()) > 2 * 64 * 1024
    head = text.encode()[: 64 * 1024].decode("utf-8", "ignore")
    with pytest.raises(json.JSONDecodeError):
        json.loads(head)
    assert fb.sniff(head)
    assert not tg.sniff(head)
    assert not discord_sniff(head)
    path = write("message_1.json", text)
    assert detect_format(path) == "messenger"
    (conv,) = read_corpus(path)
    assert len(conv.messages) == 900
    assert conv.messages[0].text == "message number 899"
    assert conv.messages[-1].text == "message number 0"
    line = int(conv.messages[0].source.rpartition(":")[2])
    assert text.splitlines()[line].strip() == '"sender_name": "Sam",'


def test_conversation_id_falls_back_to_the_folder(write, tmp_path):
    doc = thread([msg("Sam", 1)])
    del doc["thread_path"], doc["title"]
    (tmp_path / "sam_xyz").mkdir()
    path = tmp_path / "sam_xyz" / "message_1.json"
    path.write_text(dump(doc))
    (conv,) = read_corpus(path)
    assert conv.id == "sam_xyz"


@pytest.mark.parametrize(
    ("mutate", "pattern", "line_text"),
    [
        (
            lambda m: m.update(timestamp_ms="1704056707000"),
            r"messages\[1\]\.timestamp_ms: must be an integer",
            '"timestamp_ms": "1704056707000"',
        ),
        (
            lambda m: m.pop("sender_name"),
            r'messages\[1\]: missing required field "sender_name"',
            "{",
        ),
        (
            lambda m: m.update(content=["x"]),
            r"messages\[1\]\.content: must be a string",
            '"content": [',
        ),
        (lambda m: m.update(photos=[1]), r"messages\[1\]\.photos\[0\]: must be an object", "1"),
    ],
)
def test_wrong_types_name_the_json_path_and_line(write, mutate, pattern, line_text):
    doc = thread([msg("Sam", 2, "fine"), msg("Zoë", 1, "to break")])
    mutate(doc["messages"][1])
    text = dump(doc)
    with pytest.raises(InputError, match=pattern) as info:
        list(read_corpus(write("message_1.json", text)))
    assert text.splitlines()[info.value.line - 1].strip().startswith(line_text)


def test_errors(write):
    with pytest.raises(InputError, match=r"no messages anyone wrote \(Call, unsent skipped\)"):
        list(
            read_corpus(
                write(
                    "a.json",
                    dump(
                        thread(
                            [msg("Sam", 1, "call", type="Call"), msg("Sam", 0, "x", is_unsent=True)]
                        )
                    ),
                )
            )
        )
    with pytest.raises(InputError, match=r"messages\[0\]\.content: message of 9 characters"):
        list(
            read_corpus(
                write("b.json", dump(thread([msg("Sam", 1, "123456789")]))), max_message_chars=3
            )
        )
    with pytest.raises(InputError, match=r"malformed JSON: .*\(line 3, column \d+\)") as info:
        list(
            read_corpus(
                write("c.json", '{\n  "participants": [],\n  "messages": [,]\n}\n'), fmt="messenger"
            )
        )
    assert info.value.line == 3
    with pytest.raises(InputError, match=r"not valid UTF-8 \(byte 0xe9 at column 18\)") as info:
        list(
            read_corpus(
                write("d.json", b'{"messages": [\n {"content": "caf\xe9"}]}'), fmt="messenger"
            )
        )
    assert info.value.line == 2
    with pytest.raises(InputError, match="not a Messenger/Instagram export"):
        list(read_corpus(write("e.json", "{}"), fmt="messenger"))


@pytest.mark.parametrize(
    "head",
    [
        '{\n "name": "Alice",\n "type": "personal_chat",\n "id": 1,\n "messages": [\n',
        '{\n  "guild": {"id": "1"},\n  "channel": {"id": "2"},\n  "messages": [\n',
        '{"conversation": "c", "author": "a", "text": "t"}\n',
        '{"id": "p", "offender": "o", "messages": [{"author": "o", "time": "1", "text": "t"}]}\n',
        "sender_name,timestamp_ms,content\n",
    ],
)
def test_sniff_refuses_other_formats(head):
    assert not fb.sniff(head)


TELEGRAM_SHAPE = {"name": "A", "type": "personal_chat", "id": 1, "messages": [{"id": 1}]}
DISCORD_SHAPE = {"guild": {"id": "1"}, "channel": {"id": "9"}, "messages": []}


@pytest.mark.parametrize(
    ("doc", "found", "hint"),
    [
        (TELEGRAM_SHAPE, "found the keys id, messages, name, type", "use --format telegram"),
        (DISCORD_SHAPE, "found the keys channel, guild, messages", "use --format discord"),
        ({"messages": [{"sender_name": "a", "timestamp_ms": 1}]}, "found the keys messages", None),
        ({"x": 1}, "found the keys x", None),
        ("text", "found a JSON string", None),
    ],
)
def test_other_shapes_are_not_a_messenger_export(write, doc, found, hint):
    with pytest.raises(InputError) as e:
        list(read_corpus(write("x.json", json.dumps(doc, indent=2)), fmt="messenger"))
    text = str(e.value)
    assert (
        'not a Messenger/Instagram export (expected the keys "participants" and "messages"' in text
    )
    assert found in text
    assert (hint in text) if hint else ("--format" not in text)


def test_typed_lookalike_of_mis_encoding_in_a_correct_file_is_kept(write):
    # a file saved with correct UTF-8: "café" cannot be mis-encoded, so the typed "Â£5 or Ã©"
    # is what someone wrote, not a mis-encoded "£5 or é"
    doc = thread([], title="Zoë", participants=[{"name": "Zoë"}, {"name": "Sam"}])
    doc["messages"] = [
        {"sender_name": "Sam", "timestamp_ms": T0 + 2, "content": "Â£5 or Ã©"},
        {"sender_name": "Zoë", "timestamp_ms": T0 + 1, "content": "café"},
    ]
    warnings: list = []
    (conv,) = read_corpus(
        write("message_1.json", json.dumps(doc, ensure_ascii=False)), warn=warnings.append
    )
    assert [m.text for m in conv.messages] == ["café", "Â£5 or Ã©"]
    assert [m.author for m in conv.messages] == ["Zoë", "Sam"]
    assert not any(w.message.startswith("repaired") for w in warnings)
    assert any("all kept as written" in str(w) for w in warnings)


def test_mis_encoded_pound_and_accent_are_repaired(write):
    # the same words as Meta writes them: every string of the file round-trips
    doc = thread([msg("Sam", 2, "£5 or é"), msg("Zoë", 1, "café")])
    warnings: list = []
    (conv,) = read_corpus(write("message_1.json", dump(doc)), warn=warnings.append)
    assert [m.text for m in conv.messages] == ["café", "£5 or é"]
    assert conv.id == "inbox/zoe_abc123"
    assert any(w.message.startswith("repaired") for w in warnings)
    # and a typed "Ã©" inside a mis-encoded file is mis-encoded itself, so it comes back as typed
    doc = thread([msg("Sam", 1, "Â£5 or Ã©"), msg("Zoë", 0, "ça va")])
    (conv,) = read_corpus(write("message_2.json", dump(doc)))
    assert [m.text for m in conv.messages] == ["ça va", "Â£5 or Ã©"]


def test_control_characters_are_removed_after_the_repair(write):
    # the mis-encoded form of "é" and "😀" is full of C1 characters: they are not removed
    # before the repair; a real control character (here U+0000 and U+0085) is, after it
    text = dump(thread([msg("Sam", 2, "ok 😀"), msg("Zoë", 1, "caf\u00e9\u0000 \u0085x")]))
    warnings: list = []
    (conv,) = read_corpus(write("message_1.json", text), warn=warnings.append)
    assert [m.text for m in conv.messages] == ["café x", "ok 😀"]
    (w,) = [w for w in warnings if "control" in w.message]
    assert w.message.startswith("messages[1].content: removed 2 control characters")
    assert text.splitlines()[w.line].strip().startswith('"sender_name":')


def test_a_call_without_a_type_field_is_not_words(write):
    # newer exports write no "type"; a call still carries its duration
    messages = [
        msg("Sam", 3, "see you"),
        msg("Zoë", 2, "Zoë called you.", call_duration=12),
        msg("Sam", 1, "hi"),
    ]
    for m in messages:
        m.pop("type", None)
    warnings: list = []
    (conv,) = read_corpus(write("message_1.json", dump(thread(messages))), warn=warnings.append)
    assert [m.text for m in conv.messages] == ["hi", "see you"]
    assert any("Call" in str(w) for w in warnings)
