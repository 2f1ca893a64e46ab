"""CSV reader with a column mapping (tutela.ingest.csvfile) on synthetic files."""

from __future__ import annotations

import csv
from datetime import UTC, datetime

import pytest

from tutela.errors import InputError
from tutela.ingest import csvfile, detect_format, read_corpus

EXPORT = (
    "Chat,From,Body,Date\r\n"
    "c1,alice,hello,2024-01-01T10:00:00+01:00\r\n"
    'c2,bob,"a line\r\nthat goes on, with a comma",2024-01-01T10:01:00Z\r\n'
    "\r\n"
    'c1,Bob ,"he said ""hi""",\r\n'
    "c1,alice,last,2024-01-01 10:05\r\n"
)


def test_synonyms_multiline_fields_and_grouping(write):
    path = write("chats.csv", EXPORT)
    assert detect_format(path) == "csv"
    c1, c2 = read_corpus(path)
    assert (c1.id, c2.id) == ("c1", "c2")
    assert [(m.author, m.text) for m in c1.messages] == [
        ("alice", "hello"),
        ("Bob", 'he said "hi"'),
        ("alice", "last"),
    ]
    assert [m.line for m in c1.messages] == [1, 2, 3]
    assert c2.messages[0].text == "a line\r\nthat goes on, with a comma"
    # the record's first line, counting the blank line and the line inside the quoted field
    assert [m.source.rpartition(":")[2] for m in c1.messages] == ["2", "6", "7"]
    assert c2.messages[0].source == f"{path}:3"
    assert c1.messages[0].time == "2024-01-01T10:00:00+01:00"
    assert c1.messages[0].at == datetime(2024, 1, 1, 9, 0, tzinfo=UTC)
    assert c2.messages[0].at == datetime(2024, 1, 1, 10, 1, tzinfo=UTC)
    assert c1.messages[1].time is None
    assert c1.messages[2].at is None  # no UTC offset: no instant is invented
    assert all(m.kind == "text" for m in c1.messages)


def test_explicit_mapping_with_labels(write):
    path = write(
        "labelled.txt",
        "Thread;Who;Said;L;AL;Language\nt1;u1;one;1;1;en\nt1;u2;two;;0;\nt2;u3;three;0;;nl\n",
    )
    options = {
        "conversation": "Thread",
        "author": "Who",
        "text": "Said",
        "label": "L",
        "author_label": "al",  # case-insensitive
        "lang": "Language",
    }
    t1, t2 = read_corpus(path, fmt="csv", options=options)
    assert (t1.label, t1.lang, t1.author_labels) == (1, "en", {"u1": 1, "u2": 0})
    assert (t2.label, t2.lang, t2.author_labels) == (0, "nl", {})
    assert [m.text for m in t1.messages] == ["one", "two"]


def test_bom_semicolon_and_one_conversation_per_file(write):
    path = write("session-7.csv", "\ufeffsender;message\nann;bonjour, ça va\nben;oui\n".encode())
    assert detect_format(path) == "csv"
    (conv,) = read_corpus(path)
    assert conv.id == "session-7"
    assert [(m.author, m.text) for m in conv.messages] == [
        ("ann", "bonjour, ça va"),
        ("ben", "oui"),
    ]


def test_tab_delimiter_and_forced_delimiter(write):
    path = write("t.tsv", "user\ttext\tchat_id\nx\thas; semicolons, and commas\tc\n")
    (conv,) = read_corpus(path)
    assert (conv.id, conv.messages[0].text) == ("c", "has; semicolons, and commas")
    path = write("p.csv", "author|text\na|b|\n")
    (conv,) = read_corpus(path, fmt="csv", options={"delimiter": "|"})
    assert (conv.messages[0].author, conv.messages[0].text) == ("a", "b")


def test_empty_mapping_value_means_no_column(write):
    path = write("x.csv", "chat,author,text\nA,u,one\nB,u,two\n")
    (conv,) = read_corpus(path, options={"conversation": ""})
    assert conv.id == "x"
    assert len(conv.messages) == 2


@pytest.mark.parametrize(
    ("content", "options", "pattern", "line"),
    [
        (b"author,text\nal,caf\xe9\n", {}, r"not valid UTF-8 \(byte 0xe9 at column 7\)", 2),
        (
            "author,text\nal,hi\n",
            {"text": "Body"},
            r'no column "Body" \(for text\) in the header; its columns are: "author", "text"',
            1,
        ),
        ("who,what\nal,hi\n", {}, r'no author or text column .*"who", "what"', 1),
        ("author,text,time\nal,hi\nbo,yo,1\n", {}, r"the record has 2 fields, the header has 3", 2),
        ("author,text\nal,hi,there\n", {}, r"the record has 3 fields, .*unquoted \",\"", 2),
        ('author,text\nal,hi\nbo,"open\nquote\n', {}, r"malformed CSV: unexpected end of data", 3),
        ('author,text\nal,"x"y\n', {}, r"malformed CSV: ',' expected after '\"'", 2),
        ("author,text\n ,hi\n", {}, r'empty author \(column "author"\)', 2),
        ("author,text,label\nal,hi,yes\n", {}, r'column "label" must be 0, 1 or empty', 2),
        ("chat,author,text,label\nc,a,x,1\nc,a,y,0\n", {}, r"\"label\" 0 contradicts label 1", 3),
        ("author,text\n", {}, r"no messages \(only a header row\)", 1),
        ("author,text\nal,hi\n", {"speaker": "x"}, r"unknown column option speaker", None),
        ("author,text\nal,hi\n", {"delimiter": "::"}, r"unknown delimiter", None),
        ("author,text\nal,0123456789ab\n", {}, r"message of 12 characters exceeds", 2),
    ],
)
def test_errors(write, content, options, pattern, line):
    path = write("bad.csv", content)
    with pytest.raises(InputError, match=pattern) as info:
        list(read_corpus(path, fmt="csv", options=options, max_message_chars=10))
    assert info.value.path == str(path)
    assert info.value.line == line


def test_long_field_within_the_limit(write):
    text = "y" * 200_000
    path = write("long.csv", f"author,text\na,{text}\n")
    (conv,) = read_corpus(path, fmt="csv", max_message_chars=300_000)
    assert conv.messages[0].text == text


@pytest.mark.parametrize(
    "head",
    [
        "author,text\nal,hi\n",
        "Chat ID;Sender;Message\n",
        "\n\nnick\tbody\n",
        '"From","Content","Timestamp"\n',
    ],
)
def test_sniff_accepts_headers(head):
    assert csvfile.sniff(head)


@pytest.mark.parametrize(
    "head",
    [
        '{"conversation": "c", "author": "a", "text": "t"}\n',
        '[{"author": "a", "text": "t"}]',
        "<conversations><conversation id='a'>",
        "12/31/23, 9:05 PM - Alice: hello, from me\n",
        "[31.12.23, 21:05:07] Alice: hi, text\n",
        "--- Log opened Sun Dec 31 21:05:07 2023\n",
        "21:05 <alice> author, text\n",
        "2023-12-31 21:05:07\talice\thello\n",
        "author,when\n",
        "text\n",
        "",
    ],
)
def test_sniff_refuses_other_content(head):
    assert not csvfile.sniff(head)


def test_nul_and_other_controls_are_removed_with_a_warning_naming_the_line(write):
    path = write("c.csv", 'author,text\ntom,hi\x00there\nann,fine\nbob,"a\x07b\x85c\td\r\ne"\n')
    warnings: list = []
    (conv,) = read_corpus(path, warn=warnings.append)
    assert [m.text for m in conv.messages] == ["hithere", "fine", "abc\td\r\ne"]
    assert [(w.line, w.message) for w in warnings] == [
        (2, 'column "text": removed 1 control character (U+0000); the rest of the text is kept'),
        (
            4,
            'column "text": removed 2 control characters (U+0007, U+0085); the rest of the '
            "text is kept",
        ),
    ]
    assert all(w.path == str(path) for w in warnings)


def test_many_cleaned_texts_end_in_one_summary(write):
    rows = "".join(f"u,x\x00{i}\n" for i in range(30))
    warnings: list = []
    (conv,) = read_corpus(write("c.csv", "author,text\n" + rows), warn=warnings.append)
    assert all("\x00" not in m.text for m in conv.messages)
    assert len(warnings) == 21
    assert "control characters removed from 30 texts in all" in warnings[-1].message


@pytest.mark.parametrize(
    ("content", "options", "times"),
    [
        # a date and a time column: joined (found by synonym)
        (
            "date,time,author,message\n2024-01-02,10:00,tom,hi\n2024-01-02,,ann,yo\n",
            {},
            ["2024-01-02 10:00", "2024-01-02"],
        ),
        # joined explicitly
        (
            "Day;Hour;Who;Said\n2024-01-02;10:00:05+01:00;tom;hi\n",
            {"date": "Day", "time": "Hour", "author": "Who", "text": "Said"},
            ["2024-01-02 10:00:05+01:00"],
        ),
        # one Date column is the time itself
        ("Date,From,Body\n2024-01-02T10:00Z,tom,hi\n", {}, ["2024-01-02T10:00Z"]),
        # a timestamp column carries its own date: a Date column beside it is not joined
        (
            "timestamp,date,author,text\n2024-01-02 10:00,2024-01-02,tom,hi\n",
            {},
            ["2024-01-02 10:00"],
        ),
    ],
)
def test_date_and_time_columns(write, content, options, times):
    (conv,) = read_corpus(write("dt.csv", content), fmt="csv", options=options)
    assert [m.time for m in conv.messages] == times


def test_joined_date_and_time_give_an_instant(write):
    path = write("dt.csv", "date,time,author,text\n2024-01-02,10:00+01:00,tom,hi\n")
    (conv,) = read_corpus(path)
    assert conv.messages[0].at == datetime(2024, 1, 2, 9, 0, tzinfo=UTC)


def test_date_and_time_mapped_to_one_column_is_an_error(write):
    path = write("dt.csv", "when,author,text\n2024-01-02,tom,hi\n")
    with pytest.raises(InputError, match=r'"when" is mapped to both time and date'):
        list(read_corpus(path, options={"date": "when", "time": "when"}))


def test_field_longer_than_the_csv_module_limit_is_reported_as_too_long(write):
    limit = csv.field_size_limit()
    n = limit + 50_000
    path = write("big.csv", f"author,text\na,{'y' * n}\n")
    with pytest.raises(InputError, match=f"message of {n:,} characters exceeds the limit of "):
        list(read_corpus(path, max_message_chars=100_000))
    assert csv.field_size_limit() == limit  # put back after an error
    (conv,) = read_corpus(path, max_message_chars=n)
    assert len(conv.messages[0].text) == n
    assert csv.field_size_limit() == limit  # and after a read


def test_other_fields_are_bounded_too(write):
    path = write("big.csv", f"author,text\n{'a' * 40},hi\n")
    with pytest.raises(
        InputError, match=r'column "author" \(author\): a value of 40 characters'
    ) as e:
        list(read_corpus(path, max_message_chars=20))
    assert e.value.line == 2


def test_columns_not_read_are_named_in_a_warning(write):
    path = write("x.csv", "When,author,text,Mood\n10:00,ann,hi,ok\n")
    warnings: list = []
    (conv,) = read_corpus(path, warn=warnings.append)
    assert conv.messages[0].time is None
    (w,) = [w for w in warnings if "not read" in w.message]
    assert "'When'" in w.message and "'Mood'" in w.message and w.line == 1
