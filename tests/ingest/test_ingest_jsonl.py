"""JSON Lines readers (segments, segments-messages, pj, generic), on synthetic files."""

from __future__ import annotations

import json

import pytest

from tutela.errors import InputError
from tutela.ingest import read_corpus


def _error(path, **kwargs) -> InputError:
    with pytest.raises(InputError) as info:
        list(read_corpus(path, **kwargs))
    return info.value


# --- segments (flattened) ------------------------------------------------------------------


def test_segments_are_flattened_single_messages(write):
    path = write(
        "en.jsonl",
        json.dumps({"id": "s1", "lang": "en", "text": "hi how was school", "label": 0})
        + "\n\n"
        + json.dumps({"id": "s2", "lang": "en", "text": "fine thanks", "label": 1})
        + "\n",
    )
    s1, s2 = read_corpus(path)
    assert (s1.id, s1.label, s1.lang, s1.flattened) == ("s1", 0, "en", True)
    assert len(s1.messages) == 1
    m = s1.messages[0]
    assert (m.author, m.line, m.text, m.conversation) == ("", 1, "hi how was school", "s1")
    assert m.source == f"{path}:1"
    assert s2.label == 1 and s2.messages[0].source == f"{path}:3"
    assert s2.source == str(path)


def test_segments_label_and_lang_optional(write_jsonl):
    (s,) = read_corpus(write_jsonl("u.jsonl", [{"id": 7, "text": "t"}]))
    assert (s.id, s.label, s.lang) == ("7", None, None)


# --- segments with messages ----------------------------------------------------------------


def test_segments_messages_split_handles(write_jsonl):
    row = {
        "id": "nl-1",
        "pair": "x-1",
        "lang": "nl",
        "label": 1,
        "messages": [
            "Kim_12: hoi hoe gaat het",
            "kim_12: nog een bericht",
            "dit is geen handle: want er staan spaties in",
            "geen dubbele punt hier",
            "x" * 41 + ": te lang voor een handle",
            "zie http://example.org voor meer",
            ": lege handle",
        ],
    }
    (conv,) = read_corpus(write_jsonl("nl.jsonl", [row]))
    assert (conv.id, conv.lang, conv.label, conv.flattened) == ("nl-1", "nl", 1, False)
    got = [(m.line, m.author, m.text) for m in conv.messages]
    assert got == [
        (1, "kim_12", "hoi hoe gaat het"),
        (2, "kim_12", "nog een bericht"),
        (3, "", "dit is geen handle: want er staan spaties in"),
        (4, "", "geen dubbele punt hier"),
        (5, "", "x" * 41 + ": te lang voor een handle"),
        (6, "", "zie http://example.org voor meer"),
        (7, "", ": lege handle"),
    ]
    assert conv.authors == ["kim_12", ""]


def test_segments_messages_handle_of_exactly_40_chars(write_jsonl):
    handle = "h" * 40
    (conv,) = read_corpus(write_jsonl("de.jsonl", [{"id": "d", "messages": [f"{handle}: ok"]}]))
    assert conv.messages[0].author == handle


@pytest.mark.parametrize(
    ("row", "needle"),
    [
        ({"id": "a", "messages": "hello"}, 'field "messages" must be an array'),
        ({"id": "a", "messages": ["ok", 3]}, '"messages" item 2 must be a string'),
        ({"id": "a", "messages": ["ok"], "label": 2}, 'field "label" must be 0, 1 or null, got 2'),
        ({"id": "a", "messages": ["ok"], "pair": 5}, 'field "pair" must be a string'),
        ({"id": "", "messages": ["ok"]}, 'field "id" must not be empty'),
    ],
)
def test_segments_messages_field_errors(write_jsonl, row, needle):
    path = write_jsonl("x.jsonl", [{"id": "fine", "messages": ["ok"]}, row])
    err = _error(path, fmt="segments-messages")
    assert needle in str(err)
    assert err.line == 2


# --- pj ------------------------------------------------------------------------------------


def test_pj_chats_are_positive_with_author_labels(write_jsonl):
    row = {
        "id": "pj-1",
        "offender": "offender-01",
        "messages": [
            {"author": "offender-01", "time": "20:15", "text": "hey"},
            {"author": "decoy", "time": "20:16", "text": "hi who is this"},
        ],
    }
    (conv,) = read_corpus(write_jsonl("pj.jsonl", [row]))
    assert conv.label == 1 and conv.lang is None
    assert conv.author_labels == {"offender-01": 1, "decoy": 0}
    assert [(m.line, m.author, m.time, m.text) for m in conv.messages] == [
        (1, "offender-01", "20:15", "hey"),
        (2, "decoy", "20:16", "hi who is this"),
    ]


@pytest.mark.parametrize(
    ("messages", "needle"),
    [
        (["hey"], '"messages" item 1 must be an object'),
        ([{"author": "decoy"}], '"messages" item 1: missing required field "text"'),
        ([{"author": "decoy", "text": 5}], 'field "text" must be a string, got a JSON number'),
        ([{"author": "decoy", "text": "t", "time": 5}], 'field "time" must be a string or null'),
    ],
)
def test_pj_message_errors(write_jsonl, messages, needle):
    path = write_jsonl("pj.jsonl", [{"id": "p", "offender": "o", "messages": messages}])
    err = _error(path)
    assert needle in str(err)
    assert err.line == 1


# --- generic -------------------------------------------------------------------------------


def test_generic_groups_in_order_of_first_appearance(write_jsonl):
    rows = [
        {"conversation": "b", "author": "u1", "time": "t1", "text": "one"},
        {"conversation": "a", "author": "u2", "text": "two", "lang": "en"},
        {"conversation": "b", "author": "u3", "text": "three", "label": 1, "author_label": 1},
        {"conversation": 5, "author": 9, "text": "", "extra": "ignored"},
        {"conversation": "b", "author": "u1", "text": "four", "label": 1, "author_label": 0},
    ]
    path = write_jsonl("g.jsonl", rows)
    b, a, five = read_corpus(path)
    assert [c.id for c in (b, a, five)] == ["b", "a", "5"]
    assert [(m.line, m.author, m.text, m.time) for m in b.messages] == [
        (1, "u1", "one", "t1"),
        (2, "u3", "three", None),
        (3, "u1", "four", None),
    ]
    assert [m.source for m in b.messages] == [f"{path}:1", f"{path}:3", f"{path}:5"]
    assert (b.label, b.lang, b.author_labels) == (1, None, {"u3": 1, "u1": 0})
    assert (a.label, a.lang) == (None, "en")
    assert five.messages[0].author == "9" and five.messages[0].text == ""


@pytest.mark.parametrize(
    ("second", "needle"),
    [
        ({"label": 0}, '"label" 0 contradicts label 1'),
        ({"lang": "de"}, '"lang" "de" contradicts "en"'),
        ({"author_label": 0}, '"author_label" 0 contradicts 1 given earlier for author "u"'),
    ],
)
def test_generic_contradictions(write_jsonl, second, needle):
    first = {"conversation": "c", "author": "u", "text": "a", "label": 1, "lang": "en"}
    first["author_label"] = 1
    path = write_jsonl(
        "g.jsonl", [first, {"conversation": "c", "author": "u", "text": "b"} | second]
    )
    err = _error(path)
    assert needle in str(err)
    assert err.line == 2


@pytest.mark.parametrize(
    ("row", "needle"),
    [
        ({"conversation": "c", "author": "u"}, 'missing required field "text"'),
        ({"conversation": "c", "text": "t", "author": None}, 'field "author" must be a string'),
        ({"conversation": ["c"], "author": "u", "text": "t"}, "got a JSON array"),
        ({"conversation": "c", "author": "u", "text": "t", "label": True}, "got a JSON boolean"),
        ({"conversation": "c", "author": "u", "text": "t", "label": "1"}, "got a JSON string"),
        ({"conversation": "c", "author": "u", "text": "t", "lang": 1}, 'field "lang" must be'),
    ],
)
def test_generic_field_errors(write_jsonl, row, needle):
    ok = {"conversation": "c", "author": "u", "text": "t"}
    err = _error(write_jsonl("g.jsonl", [ok, row]), fmt="generic")
    assert needle in str(err)
    assert err.line == 2


# --- errors common to every JSONL format ---------------------------------------------------

SEGMENT = json.dumps({"id": "s", "text": "t", "label": 0})


def test_malformed_json_names_line_and_column(write):
    path = write("bad.jsonl", SEGMENT + "\n" + '{"id": "s2", "text": "t",}\n')
    err = _error(path)
    assert "malformed JSON" in str(err) and "column" in str(err)
    assert (err.path, err.line) == (str(path), 2)
    assert f"{path}:2:" in str(err)


@pytest.mark.parametrize(
    ("line", "kind"), [("[1, 2]", "array"), ('"text"', "string"), ("3", "number"), ("null", "null")]
)
def test_line_that_is_not_an_object(write, line, kind):
    err = _error(write("x.jsonl", SEGMENT + "\n" + line + "\n"), fmt="segments")
    assert f"expected a JSON object on each line, got a JSON {kind}" in str(err)
    assert err.line == 2


def test_whole_file_json_array_is_named(write):
    path = write("arr.json", '[\n  {"id": "s", "text": "t"}\n]\n')
    with pytest.raises(InputError, match="found the start of a JSON array") as info:
        list(read_corpus(path, fmt="segments"))
    assert info.value.line == 1


def test_latin1_bytes_in_utf8_jsonl(write):
    data = (SEGMENT + "\n").encode() + b'{"id": "s2", "text": "caf\xe9"}\n'
    err = _error(write("latin.jsonl", data), fmt="segments")
    assert "not valid UTF-8" in str(err) and "0xe9" in str(err) and "column 26" in str(err)
    assert err.line == 2


def test_utf8_bom_is_accepted(write):
    path = write("bom.jsonl", b"\xef\xbb\xbf" + SEGMENT.encode() + b"\r\n")
    (conv,) = read_corpus(path)
    assert conv.id == "s" and conv.messages[0].text == "t"


def test_line_separator_inside_a_string_does_not_split_the_line(write):
    path = write("sep.jsonl", json.dumps({"id": "s", "text": "a\u2028b"}, ensure_ascii=False))
    (conv,) = read_corpus(path)
    assert conv.messages[0].text == "a\u2028b"


@pytest.mark.parametrize("fmt", ["segments", "segments-messages", "pj", "generic"])
@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_empty_file_has_no_conversations(write, fmt, content):
    err = _error(write("empty.jsonl", content), fmt=fmt)
    assert "no conversations" in str(err)


@pytest.mark.parametrize(
    ("fmt", "row"),
    [
        ("segments", {"id": "s", "text": "x" * 11}),
        ("segments-messages", {"id": "s", "messages": ["ok", "x" * 11]}),
        ("pj", {"id": "p", "offender": "o", "messages": [{"author": "o", "text": "x" * 11}]}),
        ("generic", {"conversation": "c", "author": "u", "text": "x" * 11}),
    ],
)
def test_message_longer_than_the_limit(write_jsonl, fmt, row):
    path = write_jsonl("long.jsonl", [row])
    assert len(list(read_corpus(path, fmt=fmt, max_message_chars=11))) == 1
    err = _error(path, fmt=fmt, max_message_chars=10)
    assert "11 characters exceeds the limit of 10" in str(err)
    assert err.line == 1


@pytest.mark.parametrize(
    ("fmt", "good", "tail"),
    [
        ("segments", {"id": "s1", "text": "t"}, "{not json"),
        ("segments-messages", {"id": "s1", "messages": ["t"]}, "{not json"),
        ("pj", {"id": "p1", "offender": "o", "messages": []}, "{not json"),
    ],
)
def test_lazy_formats_yield_before_a_malformed_tail(write, fmt, good, tail):
    path = write("lazy.jsonl", json.dumps(good) + "\n" + tail + "\n")
    stream = read_corpus(path, fmt=fmt)
    assert next(stream).id == good["id"]
    with pytest.raises(InputError) as info:
        next(stream)
    assert info.value.line == 2
