"""PAN12 fidelity: texts escaped twice are decoded exactly once more; control characters are
removed with a warning naming the line, and no conversation is lost."""

from __future__ import annotations

import pytest

from tutela.errors import InputError
from tutela.ingest import read_corpus
from tutela.ingest.pan12 import is_double_escaped


def _xml(*texts: str, cid: str = "c1") -> str:
    lines = "\n".join(
        f'<message line="{i}"><author>a{i % 2}</author><time>10:0{i}</time>'
        f"<text>{t}</text></message>"
        for i, t in enumerate(texts, start=1)
    )
    return f'<conversations>\n<conversation id="{cid}">\n{lines}\n</conversation>\n'


def _close(body: str) -> str:
    return body + "</conversations>\n"


def test_double_escaped_corpus_is_decoded_exactly_once_more(write):
    # the real corpus form: &amp;apos; in the file, &apos; after XML parsing
    path = write(
        "double.xml", _close(_xml("don&amp;apos;t tell", "&amp;amp;lt;3 &amp;quot;x&amp;quot;"))
    )
    warnings = []
    (conv,) = read_corpus(path, warn=warnings.append)
    assert [m.text for m in conv.messages] == ["don't tell", '&lt;3 "x"']
    assert len(warnings) == 1 and "escapes its texts twice" in warnings[0].message
    assert is_double_escaped(path)


def test_singly_escaped_corpus_is_left_as_parsed(write):
    path = write("single.xml", _close(_xml("don&apos;t tell", "&amp;lt;3 means love")))
    warnings = []
    (conv,) = read_corpus(path, warn=warnings.append)
    # escaped once: the parser's result is the text, "&lt;3" typed by the chatter stays
    assert [m.text for m in conv.messages] == ["don't tell", "&lt;3 means love"]
    assert warnings == []
    assert not is_double_escaped(path)


def test_double_escape_found_beyond_the_first_megabyte(write):
    filler = _xml(*(["plain words here"] * 40000), cid="big")
    late = (
        '<conversation id="late">\n<message line="1"><author>b</author>'
        "<text>it&amp;apos;s</text></message>\n</conversation>\n"
    )
    path = write("late.xml", _close(filler + late))
    assert path.stat().st_size > 1_100_000
    convs = list(read_corpus(path))
    assert convs[-1].messages[0].text == "it's"


def test_control_character_is_removed_and_named_not_fatal(write):
    body = _xml("first line", "bad\x01 line\x07", "ok")
    body += (
        '<conversation id="c2">\n<message line="1"><author>x</author><text>later</text>'
        "</message>\n</conversation>\n"
    )
    path = write("ctrl.xml", _close(body))
    warnings = []
    convs = list(read_corpus(path, warn=warnings.append))
    assert [c.id for c in convs] == ["c1", "c2"]  # nothing after the bad byte is lost
    assert convs[0].messages[1].text == "bad line"
    (w,) = warnings
    assert w.line == 4 and "control character" in w.message and "removed 2" in w.message


def test_character_reference_to_a_control_is_removed(write):
    path = write("ref.xml", _close(_xml("a&#1;b&#x1F;c", "tab&#9;kept")))
    warnings = []
    (conv,) = read_corpus(path, warn=warnings.append)
    assert [m.text for m in conv.messages] == ["abc", "tab\tkept"]
    assert warnings and warnings[0].line == 3


def test_real_xml_errors_still_stop_with_the_line(write):
    path = write(
        "broken.xml", "<conversations>\n<conversation id='c'>\n<message>\n</conversations>\n"
    )
    with pytest.raises(InputError, match="malformed XML") as info:
        list(read_corpus(path))
    assert info.value.line == 4
