"""Format detection, ``read_corpus`` argument checks and the public surface of ``tutela.ingest``."""

from __future__ import annotations

import json

import pytest

import tutela.ingest
from tutela.errors import InputError
from tutela.ingest import FORMATS, detect_format, read_corpus

PAN12 = (
    '<conversations><conversation id="c"><message line="1"><author>a</author>'
    "<time>10:00</time><text>hello</text></message></conversation></conversations>\n"
)
ROWS = {
    "segments": {"id": "s", "lang": "en", "text": "t", "label": 0},
    "segments-messages": {"id": "s", "pair": "p", "lang": "nl", "messages": ["a: b"], "label": 0},
    "pj": {"id": "p", "offender": "o", "messages": [{"author": "o", "time": "1", "text": "t"}]},
    "generic": {"conversation": "c", "author": "u", "time": None, "text": "t"},
}


def test_public_names():
    assert set(FORMATS) == {
        "pan12",
        "segments",
        "segments-messages",
        "pj",
        "generic",
        "whatsapp",
        "telegram",
        "discord",
        "irc",
        "messenger",
        "csv",
    }


def test_every_reader_module_has_the_interface():
    for spec in tutela.ingest.READERS:
        module = spec.load()
        if spec.sniffs:
            assert callable(module.sniff), spec.name
            assert callable(module.read), spec.name


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".ndjson", ".txt", ""])
@pytest.mark.parametrize("fmt", sorted(ROWS))
def test_detects_jsonl_formats_from_keys(write, fmt, suffix):
    path = write(f"corpus{suffix}", "\n\n" + json.dumps(ROWS[fmt]) + "\n")
    assert detect_format(path) == fmt
    assert len(list(read_corpus(path))) == 1


@pytest.mark.parametrize("name", ["corpus.xml", "corpus.XML", "corpus.data"])
def test_detects_pan12(write, name):
    path = write(name, "\n  " + PAN12)
    assert detect_format(path) == "pan12"
    (conv,) = read_corpus(path)
    assert conv.messages[0].text == "hello"


def test_fmt_forces_a_format(write):
    # keys look like "segments", but the user says generic: the generic reader's errors apply
    path = write("x.jsonl", json.dumps(ROWS["segments"]) + "\n")
    with pytest.raises(InputError, match='missing required field "conversation"'):
        list(read_corpus(path, fmt="generic"))


def test_unknown_keys(write):
    path = write("x.jsonl", json.dumps({"who": "a", "said": "b"}) + "\n")
    with pytest.raises(InputError, match=r"cannot tell the corpus format .*\(said, who\)") as info:
        detect_format(path)
    assert info.value.line == 1


def test_unknown_content_without_known_extension(write):
    with pytest.raises(InputError, match="cannot tell the corpus format"):
        detect_format(write("notes.txt", "just some words\n"))


def test_first_line_not_an_object(write):
    with pytest.raises(InputError, match="got a JSON array") as info:
        detect_format(write("x.jsonl", "\n[1, 2]\n"))
    assert info.value.line == 2


def test_empty_jsonl_cannot_be_detected(write):
    with pytest.raises(InputError, match="no conversations"):
        detect_format(write("x.jsonl", "\n"))
    with pytest.raises(InputError, match="no conversations"):
        read_corpus(write("y.jsonl", ""))


def test_path_errors_are_raised_before_iteration(tmp_path):
    with pytest.raises(InputError, match="no such file") as info:
        read_corpus(tmp_path / "absent.jsonl")
    assert info.value.path == str(tmp_path / "absent.jsonl")
    with pytest.raises(InputError, match="is a directory"):
        read_corpus(tmp_path)
    with pytest.raises(InputError, match="is a directory"):
        detect_format(tmp_path)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"fmt": "xlsx"}, "unknown format 'xlsx'"),
        ({"max_message_chars": 0}, "at least 1"),
        ({"max_message_chars": 2.5}, "must be an integer"),
    ],
)
def test_bad_arguments(write, kwargs, needle):
    path = write("x.jsonl", json.dumps(ROWS["segments"]) + "\n")
    with pytest.raises(InputError, match=needle):
        read_corpus(path, **kwargs)


def test_input_error_is_a_value_error(tmp_path):
    with pytest.raises(ValueError):
        read_corpus(tmp_path / "absent.xml")


def test_valid_json_of_an_unknown_shape_is_not_called_malformed(write):
    doc = json.dumps({"title": "notes", "items": [1, 2, 3]}, indent=2)
    with pytest.raises(InputError, match="not a known export format") as info:
        detect_format(write("notes.json", doc))
    message = str(info.value)
    assert "malformed" not in message
    assert "items, title" in message
    for name in ("whatsapp", "telegram", "discord", "irc", "csv"):
        assert name in message  # names the formats Tutela reads
    assert "--format" in message and "fmt=" not in message


def test_whole_json_array_is_not_a_known_format(write):
    with pytest.raises(InputError, match=r"not a known export format .*a JSON array"):
        detect_format(write("list.json", '[\n  {"a": 1}\n]\n'))


def test_malformed_json_document_is_named_with_its_position(write):
    with pytest.raises(InputError, match=r"malformed JSON: .*line 3") as info:
        detect_format(write("bad.json", '{\n  "a": 1,\n  "b": ]\n}\n'))
    assert info.value.line == 3


def test_unknown_text_names_the_formats(write):
    with pytest.raises(InputError, match=r"Tutela reads: .*whatsapp") as info:
        detect_format(write("notes.txt", "just some words\nand more\n"))
    assert "--format" in str(info.value)


def test_parse_options():
    from tutela.ingest import parse_options

    assert parse_options("author=From, text=Body,") == {"author": "From", "text": "Body"}
    assert parse_options(None) == {}
    with pytest.raises(InputError, match="KEY=COLUMN"):
        parse_options("author")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
@pytest.mark.parametrize("fmt", [None, "irc", "whatsapp", "generic"])
def test_utf16_and_utf32_are_named(write, encoding, fmt):
    text = "31/12/2023, 21:05 - Mia: hello\n31/12/2023, 21:06 - Tom: hi there\n"
    path = write("chat.txt", text.encode(encoding))
    with pytest.raises(InputError, match="not UTF-8; save it as UTF-8"):
        list(read_corpus(path, fmt=fmt))


def test_html_export_is_named_as_html(write):
    path = write("messages.html", "<!DOCTYPE html>\n<html><head><title>Exported Data</title>")
    with pytest.raises(InputError, match="Machine-readable JSON"):
        detect_format(path)


@pytest.mark.parametrize(
    "extra",
    [
        {"sender_name": "x", "timestamp_ms": 1},
        {"guild": {"id": "1"}, "channel": {"id": "2"}, "messages": []},
        {"from_id": "user42", "messages": []},
    ],
)
def test_json_lines_with_export_like_keys_stay_json_lines(write, extra):
    rows = [
        {"conversation": "c", "author": "a", "text": "hi", **extra},
        {"conversation": "c", "author": "b", "text": "hello", **extra},
    ]
    path = write("x.data", "".join(json.dumps(r) + "\n" for r in rows))
    assert detect_format(path) == "generic"
    (conv,) = read_corpus(path)
    assert [m.text for m in conv.messages] == ["hi", "hello"]


def test_duplicate_conversation_ids_are_renamed_with_a_warning(write):
    xml = (
        '<conversations><conversation id="c"><message line="1"><author>a</author>'
        "<text>one</text></message></conversation>"
        '<conversation id="c"><message line="1"><author>b</author>'
        "<text>two</text></message></conversation></conversations>\n"
    )
    warnings = []
    first, second = read_corpus(write("dup.xml", xml), warn=warnings.append)
    assert (first.id, second.id) == ("c", "c#2")
    assert second.messages[0].conversation == "c#2"
    assert len(warnings) == 1 and "occurs again" in warnings[0].message
