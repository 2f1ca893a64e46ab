"""Telegram Desktop JSON export reader (tutela.ingest.telegram) on synthetic result.json files."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tutela.domain import Attachment
from tutela.errors import InputError
from tutela.ingest import detect_format, read_corpus
from tutela.ingest import telegram as tg

T0 = 1704056707  # 2023-12-31T21:05:07Z


def msg(mid: int, text="hello", *, author="Alice", from_id="user111", **extra) -> dict:
    m = {
        "id": mid,
        "type": "message",
        "date": "2023-12-31T22:05:07",
        "date_unixtime": str(T0 + mid),
        "from": author,
        "from_id": from_id,
        "text": text,
        "text_entities": [],
    }
    m.update(extra)
    return m


def service(mid: int, action: str) -> dict:
    return {
        "id": mid,
        "type": "service",
        "date": "2023-12-31T22:05:07",
        "date_unixtime": str(T0 + mid),
        "actor": "Alice",
        "actor_id": "user111",
        "action": action,
        "text": "",
        "text_entities": [],
    }


def chat(messages: list[dict], *, cid=4242, name="Alice", kind="personal_chat") -> dict:
    return {"name": name, "type": kind, "id": cid, "messages": messages}


def dump(doc: object) -> str:
    # Telegram Desktop writes one space of indentation per level
    return json.dumps(doc, indent=1, ensure_ascii=False)


CHAT = chat(
    [
        msg(1, "hi there", author="Alice", from_id="user111"),
        service(2, "phone_call"),
        msg(
            3,
            ["see ", {"type": "bold", "text": "this"}, " at ", {"type": "link", "text": "x.org"}],
            author="Bob",
            from_id="user222",
        ),
        msg(4, "", photo="photos/photo_1@31-12-2023.jpg", photo_file_size=2048, width=1, height=1),
        msg(
            5,
            "",
            file="voice_messages/audio_1.ogg",
            media_type="voice_message",
            mime_type="audio/ogg",
            file_size=999,
            duration_seconds=3,
        ),
        msg(6, "report attached", file="files/report.pdf", mime_type="application/pdf"),
        msg(7, "quoted words", author="Bob", from_id="user222", forwarded_from="Carol"),
        msg(8, "I left", author=None, from_id="user333"),
        service(9, "pin_message"),
        service(10, "phone_call"),
        msg(11, "", file="stickers/s.webp", media_type="sticker", sticker_emoji="🙂"),
    ]
)


def test_single_chat(write):
    path = write("result.json", dump(CHAT))
    assert detect_format(path) == "telegram"
    warnings: list = []
    (conv,) = read_corpus(path, warn=warnings.append)
    assert conv.id == "4242"
    assert conv.content_available
    assert [m.line for m in conv.messages] == list(range(1, 9))
    assert [m.author for m in conv.messages] == [
        "user111",
        "user222",
        "user111",
        "user111",
        "user111",
        "user222",
        "user333",
        "user111",
    ]
    texts = [m.text for m in conv.messages]
    assert texts == [
        "hi there",
        "see this at x.org",
        "",
        "",
        "report attached",
        "quoted words",
        "I left",
        "",
    ]
    kinds = [m.kind for m in conv.messages]
    assert kinds == ["text", "text", "media", "media", "text", "text", "text", "media"]
    photo, voice, pdf, sticker = (conv.messages[i] for i in (2, 3, 4, 7))
    assert photo.attachments == (Attachment(kind="image", size=2048),)
    assert voice.attachments == (Attachment(kind="audio", mime="audio/ogg", size=999),)
    assert pdf.attachments == (Attachment(kind="file", mime="application/pdf"),)
    assert sticker.attachments == (Attachment(kind="image"),)
    first = conv.messages[0]
    assert first.time == "2023-12-31T22:05:07"
    assert first.at == datetime(2023, 12, 31, 21, 5, 8, tzinfo=UTC)
    text = [str(w) for w in warnings]
    assert any("3 service messages (phone_call ×2, pin_message)" in w for w in text)
    assert any("1 forwarded message" in w and "Carol" in w and "forwarder" in w for w in text)
    assert any("deleted accounts" in w and "user333" in w for w in text)
    assert all(w.path == str(path) for w in warnings)


def test_message_source_names_the_line_of_the_message_object(write):
    text = dump(CHAT)
    path = write("result.json", text)
    (conv,) = read_corpus(path)
    lines = text.splitlines()
    for m, mid in zip(conv.messages, (1, 3, 4, 5, 6, 7, 8, 11), strict=True):
        where, _, line = m.source.rpartition(":")
        assert where == str(path)
        assert lines[int(line) - 1].strip() == "{"
        assert lines[int(line)].strip() == f'"id": {mid},'


def test_deleted_account_keeps_a_stable_id_from_from_id(write):
    doc = chat(
        [
            msg(1, "first", author=None, from_id="user900"),
            msg(2, "second", author="Dana", from_id="user901"),
            msg(3, "third", author=None, from_id="user900"),
        ]
    )
    (conv,) = read_corpus(write("result.json", dump(doc)))
    assert [m.author for m in conv.messages] == ["user900", "user901", "user900"]
    assert conv.authors == ["user900", "user901"]


def test_author_falls_back_to_from_in_old_exports(write):
    m = msg(1, "old style")
    del m["from_id"], m["date_unixtime"]
    warnings: list = []
    (conv,) = read_corpus(
        write("result.json", dump(chat([m]))), fmt="telegram", warn=warnings.append
    )
    assert conv.messages[0].author == "Alice"
    assert conv.messages[0].at is None
    assert conv.messages[0].time == "2023-12-31T22:05:07"
    assert any("date_unixtime" in str(w) for w in warnings)


def test_large_indented_export_is_detected_from_a_truncated_head(write):
    messages = [msg(i, f"line number {i} of a long and ordinary chat") for i in range(1, 1500)]
    text = dump(chat(messages))
    assert len(text.encode()) > 3 * 64 * 1024
    head = text.encode()[: 64 * 1024].decode("utf-8", "ignore")
    with pytest.raises(json.JSONDecodeError):
        json.loads(head)
    assert tg.sniff(head)
    path = write("export.txt", text)
    assert detect_format(path) == "telegram"
    (conv,) = read_corpus(path)
    assert len(conv.messages) == 1499
    assert conv.messages[-1].text == "line number 1499 of a long and ordinary chat"


def test_full_account_export(write):
    left = chat([msg(1, "bye", from_id="user5")], cid=77, name="Old group", kind="private_group")
    doc = {
        "about": "Here is the data you requested.",
        "personal_information": {"user_id": 1, "first_name": "Me"},
        "contacts": {"about": "contacts", "list": [{"first_name": "X", "phone_number": "1"}]},
        "chats": {
            "about": "chats",
            "list": [
                chat([msg(1, "one")], cid=1, name="A"),
                chat([service(1, "create_group")], cid=2, name="Only service"),
                chat([msg(1, "two", from_id="user9"), msg(2, "three")], cid=3, name="B"),
            ],
        },
        "left_chats": {"about": "left", "list": [left]},
    }
    path = write("result.json", dump(doc))
    assert detect_format(path) == "telegram"
    warnings: list = []
    convs = list(read_corpus(path, warn=warnings.append))
    assert [c.id for c in convs] == ["1", "3", "77"]
    assert [m.text for m in convs[1].messages] == ["two", "three"]
    assert convs[1].authors == ["user9", "user111"]
    assert any("1 chat hold no message anyone wrote" in str(w) and "2" in str(w) for w in warnings)
    # an error in a later chat names its JSON path and line
    doc["chats"]["list"][2]["messages"][1]["text"] = 5
    text = dump(doc)
    with pytest.raises(InputError, match=r"chats\.list\[2\]\.messages\[1\]\.text: must be") as e:
        list(read_corpus(write("bad.json", text)))
    assert text.splitlines()[e.value.line - 1].strip() == '"text": 5,'


def test_full_account_sniff_from_the_start_alone():
    head = '{\n "about": "Here is the data you requested.",\n "personal_information": {\n'
    assert tg.sniff(head)


@pytest.mark.parametrize(
    ("mutate", "pattern", "line_text"),
    [
        (
            lambda m: m.update(from_id=[1]),
            r"messages\[1\]\.from_id: must be a string",
            '"from_id": [',
        ),
        (
            lambda m: m.update(text=["a", 3]),
            r"messages\[1\]\.text\[1\]: must be a string or an object, got a JSON number",
            "3",
        ),
        (
            lambda m: m.update(text=[{"type": "bold"}]),
            r"messages\[1\]\.text\[0\]\.text: must be a string, got a JSON null",
            "{",
        ),
        (
            lambda m: m.update(text={"x": 1}),
            r"messages\[1\]\.text: must be a string or an array",
            None,
        ),
        (
            lambda m: m.update(date_unixtime="soon"),
            r"messages\[1\]\.date_unixtime: must be a Unix time",
            '"date_unixtime": "soon",',
        ),
        (lambda m: m.update(**{"from": None, "from_id": None}), r"messages\[1\]: no author", "{"),
    ],
)
def test_wrong_types_name_the_json_path_and_line(write, mutate, pattern, line_text):
    doc = chat([msg(1, "fine"), msg(2, "to break")])
    mutate(doc["messages"][1])
    text = dump(doc)
    with pytest.raises(InputError, match=pattern) as info:
        list(read_corpus(write("result.json", text)))
    assert info.value.path.endswith("result.json")
    if line_text is not None:
        assert text.splitlines()[info.value.line - 1].strip().startswith(line_text)


def test_malformed_json_names_line_and_column(write):
    text = dump(CHAT).replace('"text": "hi there",', '"text": "hi there",,', 1)
    path = write("result.json", text)
    assert detect_format(path) == "telegram"  # recognised by its head, then refused
    with pytest.raises(InputError, match=r"malformed JSON: .*\(line \d+, column \d+\)") as info:
        list(read_corpus(path))
    assert '"text": "hi there",,' in text.splitlines()[info.value.line - 1]


def test_message_too_long(write):
    path = write("result.json", dump(chat([msg(1, "x" * 50)])))
    with pytest.raises(InputError, match=r"messages\[0\]\.text: message of 50 characters"):
        list(read_corpus(path, max_message_chars=10))


def test_no_messages(write):
    with pytest.raises(InputError, match=r"no messages anyone wrote \(only 2 service messages\)"):
        list(read_corpus(write("a.json", dump(chat([service(1, "phone_call"), service(2, "x")])))))
    with pytest.raises(InputError, match="no messages anyone wrote"):
        list(read_corpus(write("b.json", dump(chat([])))))


def test_forced_on_another_json_shape(write):
    path = write("x.json", json.dumps({"guild": {}, "channel": {"id": "1"}}))
    with pytest.raises(InputError, match="not a Telegram Desktop export"):
        list(read_corpus(path, fmt="telegram"))


def test_unpaired_surrogate_is_replaced(write):
    text = dump(chat([msg(1, "x")])).replace('"text": "x"', '"text": "cut \\ud83d here"')
    warnings: list = []
    (conv,) = read_corpus(write("result.json", text), warn=warnings.append)
    assert conv.messages[0].text == "cut \ufffd here"
    assert any("surrogates" in str(w) for w in warnings)


def test_poll_question_is_the_text(write):
    m = msg(1, "", poll={"question": "Which day?", "answers": [{"text": "Monday"}]})
    (conv,) = read_corpus(write("result.json", dump(chat([m]))))
    assert (conv.messages[0].text, conv.messages[0].kind) == ("Which day?", "text")


@pytest.mark.parametrize(
    "head",
    [
        '{\n  "guild": {"id": "1"},\n  "channel": {"id": "2"},\n  "messages": [\n',
        '{\n  "participants": [{"name": "A"}],\n  "messages": [{"sender_name": "A", '
        '"timestamp_ms": 1, "type": "Generic"}',
        '{"conversation": "c", "author": "a", "text": "t"}\n',
        '{"id": "p", "offender": "o", "messages": [{"author": "o", "time": "1", "text": "t"}]}\n',
        "12/31/23, 9:05 PM - Alice: hello\n",
        "Chat,From,Body\n",
        "<conversations>",
        "",
    ],
)
def test_sniff_refuses_other_formats(head):
    assert not tg.sniff(head)


@pytest.mark.parametrize("date", ["99999-13-40T25:61", "2023-02-30T10:00:00", "yesterday", ""])
def test_impossible_date_is_an_error_naming_path_and_line(write, date):
    text = dump(chat([msg(1, "fine"), msg(2, "b", date=date)]))
    with pytest.raises(InputError, match=r"messages\[1\]\.date: .* is not a real date") as e:
        list(read_corpus(write("result.json", text)))
    assert text.splitlines()[e.value.line - 1].strip().startswith('"date":')


DISCORD_SHAPE = {"guild": {"id": "1"}, "channel": {"id": "9"}, "messages": [{"type": "Default"}]}
MESSENGER_SHAPE = {"participants": [{"name": "A"}], "messages": [{"sender_name": "A"}]}


@pytest.mark.parametrize(
    ("doc", "found", "hint"),
    [
        (DISCORD_SHAPE, "found the keys channel, guild, messages", "use --format discord"),
        (MESSENGER_SHAPE, "found the keys messages, participants", "use --format messenger"),
        ({"name": "x", "messages": [msg(1)]}, "found the keys messages, name", None),
        ({"a": 1}, "found the keys a", None),
        ({}, "found an empty object", None),
        ([msg(1)], "found a JSON array", None),
    ],
)
def test_other_shapes_are_not_a_telegram_export(write, doc, found, hint):
    path = write("x.json", json.dumps(doc, indent=1))
    with pytest.raises(InputError) as e:
        list(read_corpus(path, fmt="telegram"))
    text = str(e.value)
    assert 'not a Telegram Desktop export (expected the keys "type" and "messages"' in text
    assert found in text
    assert (hint in text) if hint else ("--format" not in text)
    assert "service message" not in text


def test_control_characters_are_removed_with_a_warning_naming_the_message(write):
    doc = chat(
        [
            msg(1, "plain"),
            msg(2, "nul\u0000here"),
            msg(3, ["bell\u0007 ", {"type": "bold", "text": "x\u009by"}, "\ttab\nkept"]),
        ]
    )
    text = dump(doc)
    warnings: list = []
    (conv,) = read_corpus(write("result.json", text), warn=warnings.append)
    assert [m.text for m in conv.messages] == ["plain", "nulhere", "bell xy\ttab\nkept"]
    named = [w for w in warnings if "control character" in w.message]
    assert [w.message.split(":")[0] for w in named] == ["messages[1].text", "messages[2].text"]
    assert "U+0000" in named[0].message
    assert "U+0007, U+009B" in named[1].message
    lines = text.splitlines()
    assert [lines[w.line].strip() for w in named] == ['"id": 2,', '"id": 3,']


def test_telegram_x_escape_of_a_control_character_is_read(write):
    # Telegram Desktop writes a vertical tab as "\x0B", which json.loads refuses
    text = dump(chat([msg(1, "VT"), msg(2, "back\\slash \\x41")])).replace(
        '"text": "VT"', '"text": "line\\x0Bbreak"'
    )
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    warnings: list = []
    (conv,) = read_corpus(write("result.json", text), warn=warnings.append)
    assert [m.text for m in conv.messages] == ["linebreak", "back\\slash \\x41"]
    assert any("messages[0].text: removed 1 control character (U+000B)" in str(w) for w in warnings)


@pytest.mark.parametrize(
    "text",
    [
        '{"type": "personal_chat", "id": 1, "messages": [\n{"id": 1}\n{"id": 2}]}',
        '{"type": "personal_chat", "id": 1, "messages": [\n{"id": 1},\n]}',
        '{"type": "personal_chat", "id": 1\n "messages": []}',
        '{"type": "personal_chat", "id": 1,\n}',
        '{"type" "personal_chat"}',
        '{"type": "personal_chat", "id": 1, "messages": [\n{"id": 1}',
        '{"type": "personal_chat", "id": 1, "messages": []}\n{}',
        '{"type": "personal_chat", "id": 1, "messages": [{"text": "a\tb"}]}',
        '{"chats": {"list": [\n{"id": 1, "messages": [1 2]}]}}',
        "",
        "   \n",
    ],
)
def test_malformed_json_is_located_as_json_locates_it(write, text):
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(InputError, match=r"^.*malformed JSON: ") as got:
        list(read_corpus(write("bad.json", text), fmt="telegram"))
    assert str(got.value).endswith(
        f"malformed JSON: {expected.value.msg} (line {expected.value.lineno}, column "
        f"{expected.value.colno})"
    )
    assert got.value.line == expected.value.lineno


def test_messages_are_streamed_not_decoded_as_one_tree(write, monkeypatch):
    # json.loads of the whole document is never called: each message is decoded on its own
    calls: list = []
    real = json.loads
    monkeypatch.setattr(json, "loads", lambda *a, **k: calls.append(1) or real(*a, **k))
    path = write("result.json", dump(chat([msg(i) for i in range(1, 50)])))
    (conv,) = read_corpus(path, fmt="telegram")
    assert len(conv.messages) == 49
    assert calls == []


def test_a_chat_without_an_id_is_read_under_its_name(write):
    doc = chat([msg(1, "hi")])
    del doc["id"]
    (conv,) = read_corpus(write("result.json", dump(doc)), fmt="telegram")
    assert (conv.id, conv.messages[0].text) == ("Alice", "hi")


def test_display_names_are_kept_beside_the_stable_ids(write):
    messages = [
        msg(1, "hi", author="Alice", from_id="user111"),
        msg(2, "hey", author="Bob", from_id="user222"),
        msg(3, "gone", author=None, from_id="user333"),
    ]
    (conv,) = read_corpus(write("result.json", dump(chat(messages))))
    assert [m.author for m in conv.messages] == ["user111", "user222", "user333"]
    assert conv.author_names == {"user111": "Alice", "user222": "Bob"}  # a deleted one has none
