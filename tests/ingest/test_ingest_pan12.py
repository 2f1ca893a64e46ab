"""PAN12 XML reader and ground-truth files, on synthetic files."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from tutela.errors import InputError
from tutela.ingest import (
    find_pan12_truth,
    read_corpus,
    read_pan12_lines,
    read_pan12_predators,
)

SMALL = """<conversations>
  <conversation id="c1">
    <message line="1">
      <author>aa11</author>
      <time>16:43</time>
      <text>hi there</text>
    </message>
    <message line="2">
      <author>bb22</author>
      <time>16:44</time>
      <text/>
    </message>
  </conversation>
  <conversation id="c2">
    <message line="1">
      <author>cc33</author>
      <time></time>
      <text>cats &amp; dogs &lt;3</text>
    </message>
  </conversation>
</conversations>
"""


def _conversation_xml(cid: str, n: int, *, start_line: int = 1) -> str:
    parts = [f'  <conversation id="{cid}">\n']
    for i in range(start_line, start_line + n):
        parts.append(
            f'    <message line="{i}">\n'
            f"      <author>a{i % 2}</author>\n"
            "      <time>10:00</time>\n"
            f"      <text>line number {i} of the homework chat</text>\n"
            "    </message>\n"
        )
    parts.append("  </conversation>\n")
    return "".join(parts)


def test_reads_conversations_messages_and_sources(write):
    path = write("corpus.xml", SMALL)
    convs = list(read_corpus(path))
    assert [c.id for c in convs] == ["c1", "c2"]
    c1, c2 = convs
    assert [(m.line, m.author, m.text, m.time) for m in c1.messages] == [
        (1, "aa11", "hi there", "16:43"),
        (2, "bb22", "", "16:44"),
    ]
    assert [m.source for m in c1.messages] == [f"{path}:3", f"{path}:8"]
    assert c1.messages[0].conversation == "c1"
    assert c1.label is None and c1.flattened is False and c1.source == str(path)
    assert c2.messages[0].text == "cats & dogs <3"
    assert c2.messages[0].time is None
    assert c2.messages[0].source == f"{path}:15"


def test_missing_line_attribute_uses_position(write):
    xml = (
        '<conversations><conversation id="x">'
        "<message><author>a</author><text>one</text></message>"
        "<message><author>b</author><text>two</text></message>"
        "</conversation></conversations>"
    )
    (conv,) = read_corpus(write("c.xml", xml))
    assert [m.line for m in conv.messages] == [1, 2]
    assert [m.time for m in conv.messages] == [None, None]


def test_sources_stay_exact_across_parser_chunks(write):
    # ~150 KB: several 16 KiB reads; the <message> line must still be exact.
    n = 1500
    path = write(
        "big.xml", "<conversations>\n" + _conversation_xml("big", n) + "</conversations>\n"
    )
    (conv,) = read_corpus(path)
    assert len(conv.messages) == n
    # line 1 is <conversations>, line 2 the <conversation>; each message takes 5 lines
    for m in (conv.messages[0], conv.messages[700], conv.messages[-1]):
        assert m.source == f"{path}:{3 + 5 * (m.line - 1)}"


def test_declared_latin1_encoding_is_honoured(write):
    xml = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n'
        '<conversations><conversation id="x"><message line="1"><author>a</author>'
        "<text>caf\xe9</text></message></conversation></conversations>\n"
    ).encode("latin-1")
    (conv,) = read_corpus(write("latin.xml", xml))
    assert conv.messages[0].text == "café"


def _error(path: Path, **kwargs) -> InputError:
    with pytest.raises(InputError) as info:
        list(read_corpus(path, **kwargs))
    return info.value


def test_billion_laughs_is_refused(write):
    bomb = (
        '<?xml version="1.0"?>\n'
        "<!DOCTYPE lolz [\n"
        ' <!ENTITY lol "lol">\n'
        ' <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n'
        ' <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">\n'
        "]>\n"
        '<conversations><conversation id="x"><message line="1"><author>a</author>'
        "<text>&lol3;</text></message></conversation></conversations>\n"
    )
    path = write("bomb.xml", bomb)
    err = _error(path)
    assert "refused: XML entities/DTD are not allowed" in str(err)
    assert err.path == str(path)
    assert err.line == 2


def test_external_entity_is_refused(write):
    xml = (
        '<?xml version="1.0"?>\n'
        '<!DOCTYPE c [ <!ENTITY ext SYSTEM "file:///etc/hostname"> ]>\n'
        '<conversations><conversation id="x"><message line="1"><author>a</author>'
        "<text>&ext;</text></message></conversation></conversations>\n"
    )
    err = _error(write("ext.xml", xml))
    assert "refused: XML entities/DTD are not allowed" in str(err)
    assert err.line == 2


def test_plain_doctype_is_refused(write):
    xml = '<!DOCTYPE conversations>\n<conversations><conversation id="x"/></conversations>\n'
    err = _error(write("dtd.xml", xml))
    assert "refused" in str(err)
    assert err.line == 1


def test_truncated_xml_is_reported_as_truncated(write):
    # cut after line 16 (inside conversation c2, between elements)
    path = write("cut.xml", "\n".join(SMALL.split("\n")[:16]))
    err = _error(path)
    assert "truncated" in str(err)
    assert err.path == str(path)
    assert err.line == 16


def test_xml_cut_inside_a_tag(write):
    path = write("cut.xml", SMALL[: SMALL.index('<conversation id="c2">') + 30])
    err = _error(path)
    assert "malformed XML" in str(err)
    assert err.line == 15


def test_malformed_xml_names_line_and_column(write):
    xml = '<conversations>\n<conversation id="x">\n<message line="1"></author>\n'
    err = _error(write("bad.xml", xml))
    assert "malformed XML" in str(err) and "mismatched tag" in str(err)
    assert err.line == 3
    assert "bad.xml:3:" in str(err)


def test_latin1_bytes_in_utf8_xml_name_the_line(write):
    xml = (
        b"<conversations>\n"
        b'<conversation id="x">\n'
        b'<message line="1"><author>a</author><text>caf\xe9</text></message>\n'
        b"</conversation>\n</conversations>\n"
    )
    err = _error(write("latin-in-utf8.xml", xml))
    assert "not valid UTF-8" in str(err) and "0xe9" in str(err)
    assert err.line == 3


@pytest.mark.parametrize(
    "content", ["", "   \n", "<conversations/>", "<conversations>\n</conversations>"]
)
def test_no_conversations(write, content):
    err = _error(write("empty.xml", content))
    assert "no conversations" in str(err)


@pytest.mark.parametrize(
    ("xml", "needle", "line"),
    [
        ("<chats>\n</chats>", "root element is <chats>", 1),
        ("<conversations>\n<conversation>\n</conversation></conversations>", "no id", 2),
        ("<conversations>\n<chat id='x'/></conversations>", "unexpected <chat>", 2),
        (
            "<conversations><conversation id='x'>\n<note/></conversation></conversations>",
            "unexpected <note>",
            2,
        ),
        (
            "<conversations><conversation id='x'>\n<message line='1'><text>t</text>"
            "</message></conversation></conversations>",
            "no <author>",
            2,
        ),
        (
            "<conversations><conversation id='x'>\n\n<message line='one'><author>a</author>"
            "</message></conversation></conversations>",
            "positive integer",
            3,
        ),
    ],
)
def test_structure_errors(write, xml, needle, line):
    err = _error(write("s.xml", xml))
    assert needle in str(err)
    assert err.line == line


def test_message_over_the_limit(write):
    xml = (
        "<conversations><conversation id='x'>\n<message line='1'><author>a</author>"
        f"<text>{'x' * 51}</text></message></conversation></conversations>"
    )
    path = write("long.xml", xml)
    assert len(next(iter(read_corpus(path, max_message_chars=51))).messages) == 1
    err = _error(path, max_message_chars=50)
    assert "exceeds the limit of 50" in str(err)
    assert err.line == 2


def test_streaming_yields_before_a_malformed_tail(write):
    # the first conversation, then >100 KB of valid XML, then garbage: the first conversation
    # must be returned before the reader gets anywhere near the tail.
    body = _conversation_xml("first", 3) + "".join(
        _conversation_xml(f"fill{i}", 50) for i in range(20)
    )
    path = write("tail.xml", "<conversations>\n" + body + "<conversation id='bad'>\n<<<\n")
    assert len(body) > 100_000
    stream = read_corpus(path)
    first = next(stream)
    assert first.id == "first" and len(first.messages) == 3
    with pytest.raises(InputError) as info:
        for _ in stream:
            pass
    assert info.value.line == body.count("\n") + 3


def test_memory_does_not_grow_with_corpus_size(write):
    def peak(n_conversations: int) -> int:
        path = write(
            f"m{n_conversations}.xml",
            "<conversations>\n"
            + "".join(_conversation_xml(f"c{i}", 20) for i in range(n_conversations))
            + "</conversations>\n",
        )
        tracemalloc.start()
        try:
            count = sum(len(c.messages) for c in read_corpus(path))
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            assert count == 20 * n_conversations

    small, large = peak(20), peak(400)
    # 20x the messages; a reader that kept the tree would need ~20x the memory
    assert large < 2 * small


def test_reading_writes_nothing(write, tmp_path):
    path = write("corpus.xml", SMALL)
    before = sorted(tmp_path.iterdir())
    list(read_corpus(path))
    assert sorted(tmp_path.iterdir()) == before


# --- ground truth ---------------------------------------------------------------------------


def _call_error(fn, *args) -> InputError:
    with pytest.raises(InputError) as info:
        fn(*args)
    return info.value


def test_read_predators(write):
    path = write("p.txt", "aa11\n\n  bb22  \r\ncc33")
    assert read_pan12_predators(path) == {"aa11", "bb22", "cc33"}


def test_predators_rejects_a_problem2_file(write):
    err = _call_error(read_pan12_predators, write("p.txt", "aa11\nc1\t3\n"))
    assert err.line == 2 and "one author id per line" in str(err)


def test_predators_empty_and_missing(write, tmp_path):
    with pytest.raises(InputError, match="no author ids"):
        read_pan12_predators(write("p.txt", "\n\n"))
    with pytest.raises(InputError, match="no such file"):
        read_pan12_predators(tmp_path / "absent.txt")


def test_read_lines(write):
    path = write("l.txt", "c1\t3\nc1\t5\nc2\t1\n\n\n")
    assert read_pan12_lines(path) == {"c1": {3, 5}, "c2": {1}}


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("c1\t3\nc1\n", "got 1 field"),
        ("c1\t3\nc1\tx\n", "positive integer"),
        ("c1\t0\n", "positive"),
    ],
)
def test_read_lines_errors(write, content, needle):
    err = _call_error(read_pan12_lines, write("l.txt", content))
    assert needle in str(err)
    assert err.line == content.rstrip("\n").count("\n") + 1


def test_truth_file_with_latin1_bytes(write):
    err = _call_error(read_pan12_predators, write("p.txt", b"aa\nb\xe9\n"))
    assert err.line == 2 and "not valid UTF-8" in str(err)


def test_find_truth_test_naming(write):
    xml = write("pan12-x-test-corpus-2012-05-17.xml", SMALL)
    p1 = write("pan12-x-groundtruth-problem1.txt", "aa11\n")
    p2 = write("pan12-x-groundtruth-problem2.txt", "c1\t1\n")
    assert find_pan12_truth(xml) == (p1.resolve(), p2.resolve())


def test_find_truth_training_naming(write):
    xml = write("pan12-x-training-corpus-2012-05-01.xml", SMALL)
    p1 = write("pan12-x-training-corpus-predators-2012-05-01.txt", "aa11\n")
    p2 = write("pan12-x-diff.txt", "c1\t1\n")
    assert find_pan12_truth(xml) == (p1.resolve(), p2.resolve())


def test_find_truth_absent_and_ambiguous(write):
    xml = write("corpus.xml", SMALL)
    assert find_pan12_truth(xml) == (None, None)
    write("a-groundtruth-problem1.txt", "x\n")
    write("b-predators.txt", "y\n")
    with pytest.raises(InputError, match="several ground-truth files"):
        find_pan12_truth(xml)
