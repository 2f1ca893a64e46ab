"""IRC log reader (``tutela.ingest.irclog``): irssi, WeeChat, HexChat and ZNC, on synthetic logs.

Each client's default log shape is written out line by line and read through
:func:`tutela.ingest.read_corpus`, both detected and forced with ``fmt="irc"``.
"""

from __future__ import annotations

import json

import pytest

from tutela.errors import InputError
from tutela.ingest import detect_format, irclog, read_corpus
from tutela.ingest._warn import ReadWarning

PAN12 = (
    '<conversations><conversation id="c"><message line="1"><author>a</author>'
    "<time>10:00</time><text>hello</text></message></conversation></conversations>\n"
)
GENERIC = json.dumps({"conversation": "c", "author": "u", "time": None, "text": "t"}) + "\n"
CSV = "author,text\nalice,hello\nbob,hi there\n"

IRSSI = (
    "--- Log opened Tue Dec 01 10:00:00 2026\n"
    "10:00 -!- Alice [alice@example.org] has joined #room\n"
    "10:00 < Alice> hello everyone\n"
    "10:01 <@Bob> hi Alice\n"
    "10:01 <+carol> hey\n"
    "10:02  * Alice waves\n"
    "10:02 -!- mode/#room [+o carol] by Bob\n"
    "10:03 -!- Bob is now known as Bobby\n"
    "10:04 -!- carol [c@example.org] has quit [Quit: bye]\n"
    "10:04 -!- dave [d@example.org] has left #room []\n"
    "--- Day changed Wed Dec 02 2026\n"
    "09:00 <%Alice> morning\n"
    "09:01 -Bobby(bob@example.org)- a notice\n"
    "--- Log closed Wed Dec 02 09:05:00 2026\n"
)
WEECHAT = (
    "2026-12-01 10:00:00\t-->\tAlice (~a@example.org) has joined #room\n"
    "2026-12-01 10:00:05\tAlice\thello\n"
    "2026-12-01 10:00:06\t@Bob\thi there\n"
    "2026-12-01 10:00:07\t *\tAlice waves\n"
    "2026-12-01 10:00:08\t--\tBob is now known as Bobby\n"
    "2026-12-01 10:00:09\t<--\tcarol (~c@example.org) has quit (bye)\n"
    "2026-12-01 10:00:10\t=!=\tcannot join\n"
    "2026-12-01 10:00:11\t+carol\ta\ttab inside\n"
)
HEXCHAT = (
    "**** BEGIN LOGGING AT Thu Dec 31 23:59:00 2026\n"
    "Dec 31 23:59:00 *\tNow talking on #room\n"
    "Dec 31 23:59:00 *\tTopic for #room is: homework help\n"
    "Dec 31 23:59:01 -->\tAlice (~a@example.org) has joined #room\n"
    "Dec 31 23:59:02 <Alice>\thello\n"
    "Dec 31 23:59:03 <@Bob>\thi\n"
    "Jan 01 00:00:01 *\tAlice waves\n"
    "Jan 01 00:00:02 ---\tBob is now known as Bobby\n"
    "Jan 01 00:00:03 <--\tcarol (~c@example.org) has quit (bye)\n"
    "Jan 01 00:00:04 -Bobby-\ta notice\n"
    "**** ENDING LOGGING AT Fri Jan  1 00:01:00 2027\n"
)
ZNC = (
    "[10:00:00] *** Joins: Alice (~a@example.org)\n"
    "[10:00:01] <Alice> hello\n"
    "[10:00:02] <@Bob> hi\n"
    "[10:00:03] * Alice waves\n"
    "[10:00:04] *** Bob is now known as Bobby\n"
    "[10:00:05] *** Quits: carol (~c@example.org) (bye)\n"
    "[10:00:06] *** Parts: dave (~d@example.org) ()\n"
    "[10:00:07] -Bobby- a notice\n"
)


def _read(path, fmt="irc", **kwargs):
    warnings: list[ReadWarning] = []
    (conv,) = read_corpus(path, fmt=fmt, warn=warnings.append, **kwargs)
    return conv, warnings


def _error(path, **kwargs) -> InputError:
    with pytest.raises(InputError) as info:
        list(read_corpus(path, fmt="irc", **kwargs))
    return info.value


def _rows(conv):
    return [(m.author, m.text, m.kind, m.time) for m in conv.messages]


def _events(warnings, count, first):
    """The one warning that counts the event lines, checked for ``count`` and ``first``."""
    (w,) = [w for w in warnings if "event line(s)" in w.message]
    assert w.message.startswith(f"{count} event line(s)"), w.message
    assert w.line == first
    return [x for x in warnings if x is not w]


# --- clients -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["irc", None])
def test_irssi(write, fmt):
    path = write("#room.log", IRSSI)
    conv, warnings = _read(path, fmt=fmt)
    assert conv.id == "#room" and conv.source == str(path)
    assert _rows(conv) == [
        ("alice", "hello everyone", "text", "2026-12-01T10:00"),
        ("bob", "hi Alice", "text", "2026-12-01T10:01"),
        ("carol", "hey", "text", "2026-12-01T10:01"),
        ("alice", "waves", "action", "2026-12-01T10:02"),
        ("alice", "morning", "text", "2026-12-02T09:00"),
        ("bobby", "a notice", "text", "2026-12-02T09:01"),
    ]
    assert [m.line for m in conv.messages] == [1, 2, 3, 4, 5, 6]
    assert [m.source for m in conv.messages] == [f"{path}:{n}" for n in (3, 4, 5, 6, 12, 13)]
    assert all(m.at is None and m.attachments == () for m in conv.messages)
    assert conv.authors == ["alice", "bob", "carol", "bobby"]
    # log opened, join, mode, nick, quit, part, day changed, log closed
    assert _events(warnings, 8, 1) == []


def test_irssi_with_seconds_and_no_date_line(write):
    path = write("q.log", "10:00:05 < Alice> hi\n10:00:09  * bob nods slowly\n")
    conv, _ = _read(path)
    assert _rows(conv) == [
        ("alice", "hi", "text", "10:00:05"),
        ("bob", "nods slowly", "action", "10:00:09"),
    ]


def test_irssi_date_line_in_another_language_is_warned(write):
    path = write("x.log", "--- Log opened Di Dez 01 10:00:00 2026\n10:00 < alice> hallo\n")
    conv, warnings = _read(path)
    assert conv.messages[0].time == "10:00"
    (w,) = _events(warnings, 1, 1)
    assert w.line == 1 and "date line not understood" in w.message


@pytest.mark.parametrize("fmt", ["irc", None])
def test_weechat(write, fmt):
    path = write("irc.libera.#room.weechatlog", WEECHAT)
    conv, warnings = _read(path, fmt=fmt)
    assert _rows(conv) == [
        ("alice", "hello", "text", "2026-12-01T10:00:05"),
        ("bob", "hi there", "text", "2026-12-01T10:00:06"),
        ("alice", "waves", "action", "2026-12-01T10:00:07"),
        ("carol", "a\ttab inside", "text", "2026-12-01T10:00:11"),
    ]
    assert [m.source for m in conv.messages] == [f"{path}:{n}" for n in (2, 3, 4, 8)]
    assert _events(warnings, 4, 1) == []


@pytest.mark.parametrize("fmt", ["irc", None])
def test_hexchat_year_from_begin_logging_rolls_over(write, fmt):
    path = write("libera-#room.log", HEXCHAT)
    conv, warnings = _read(path, fmt=fmt)
    assert _rows(conv) == [
        ("alice", "hello", "text", "2026-12-31T23:59:02"),
        ("bob", "hi", "text", "2026-12-31T23:59:03"),
        ("alice", "waves", "action", "2027-01-01T00:00:01"),
        ("bobby", "a notice", "text", "2027-01-01T00:00:04"),
    ]
    assert [m.source for m in conv.messages] == [f"{path}:{n}" for n in (5, 6, 7, 10)]
    assert _events(warnings, 7, 1) == []


def test_hexchat_line_dated_before_the_one_above_keeps_its_year_with_a_warning(write):
    path = write(
        "h.log",
        "**** BEGIN LOGGING AT Tue Dec 29 10:00:00 2026\n"
        "Dec 31 23:59:00 <tom>\tbye year\n"
        "Jan 01 00:00:01 <tom>\tnew year\n"
        "Dec 31 10:00:00 <tom>\tsame session\n"
        "Jan 01 00:00:02 <tom>\tback in order\n",
    )
    conv, warnings = _read(path)
    assert [m.time for m in conv.messages] == [
        "2026-12-31T23:59:00",
        "2027-01-01T00:00:01",
        "2026-12-31T10:00:00",  # not 2027-12-31: the nearest year, back from the line above
        "2027-01-01T00:00:02",
    ]
    (w,) = _events(warnings, 1, 1)
    assert w.line == 4 and "out of order" in w.message and w.message.startswith("1 line(s)")


def test_hexchat_month_going_back_does_not_add_a_year(write):
    path = write(
        "h.log",
        "**** BEGIN LOGGING AT Mon Mar 01 10:00:00 2027\n"
        "Mar 02 10:00:00 <tom>\tin march\n"
        "Feb 27 10:00:00 <tom>\tclock set back\n"
        "Nov 30 10:00:00 <tom>\tlater that year\n"
        "Jan 02 10:00:00 <tom>\tnext year, december was quiet\n",
    )
    conv, warnings = _read(path)
    assert [m.time for m in conv.messages] == [
        "2027-03-02T10:00:00",
        "2027-02-27T10:00:00",
        "2027-11-30T10:00:00",
        "2028-01-02T10:00:00",
    ]
    (w,) = _events(warnings, 1, 1)
    assert w.line == 3 and "out of order" in w.message


@pytest.mark.parametrize(
    ("log", "line"),
    [
        ("2026-12-01 10:00:00\ttom\thi\n2026-12-01 25:99:99\tmia\tbad time\n", 2),
        ("2026-12-01 10:00:00\ttom\thi\n2026-13-01 10:00:00\tmia\tbad date\n", 2),
        ("10:00 < tom> hi\n24:00 < mia> bad\n", 2),
        ("10:00:00 < tom> hi\n10:60:00 < mia> bad\n", 2),
        ("[10:00:00] <tom> hi\n[10:00:61] <mia> bad\n", 2),
        ("Dec 01 10:00:00 <tom>\thi\nDec 01 24:00:00 <mia>\tbad\n", 2),
        ("Feb 28 10:00:00 <tom>\thi\nFeb 30 10:00:00 <mia>\tbad\n", 2),
        (
            "**** BEGIN LOGGING AT Mon Feb 01 10:00:00 2027\n"
            "Feb 28 10:00:00 <tom>\thi\nFeb 29 10:00:00 <mia>\tnot in 2027\n",
            3,
        ),
    ],
)
def test_impossible_time_is_an_error_naming_the_line(write, log, line):
    error = _error(write("t.log", log))
    assert error.line == line
    assert "invalid" in str(error)


def test_hexchat_without_begin_logging_keeps_the_log_time(write):
    path = write("h.log", "Dec 01 10:00:00 <alice>\thello\n")
    conv, _ = _read(path)
    assert conv.messages[0].time == "Dec 01 10:00:00"


@pytest.mark.parametrize(
    ("name", "time"),
    [
        ("2026-12-01.log", "2026-12-01T10:00:01"),
        ("#room_20261201.log", "2026-12-01T10:00:01"),
        ("room.log", "10:00:01"),
    ],
)
def test_znc_date_from_the_file_name(write, name, time):
    path = write(name, ZNC)
    conv, warnings = _read(path, fmt=None)
    assert conv.messages[0].time == time
    assert [(m.author, m.text, m.kind) for m in conv.messages] == [
        ("alice", "hello", "text"),
        ("bob", "hi", "text"),
        ("alice", "waves", "action"),
        ("bobby", "a notice", "text"),
    ]
    assert [m.source for m in conv.messages] == [f"{path}:{n}" for n in (2, 3, 4, 8)]
    assert _events(warnings, 4, 1) == []


def test_mirc_style_star_events_are_not_actions(write):
    path = write(
        "m.log",
        "[10:00] * alice (~a@example.org) has joined #room\n"
        "[10:01] <alice> hi\n"
        "[10:02] * alice is now known as alice2\n"
        "[10:03] * alice2 sets mode: +v bob\n"
        "[10:04] * alice2 has joined the book club\n",
    )
    conv, warnings = _read(path)
    assert _rows(conv) == [
        ("alice", "hi", "text", "10:01"),
        ("alice2", "has joined the book club", "action", "10:04"),
    ]
    assert _events(warnings, 3, 1) == []


def test_star_lines_are_events_only_in_the_exact_event_grammar(write):
    # a /me action may start with the words of an event; only the client's own wording is one
    path = write(
        "#room_20261201.log",
        "[10:00:00] <tom> hi\n"
        "[10:00:05] * tom has quit IRC (bye)\n"
        "[10:00:06] * tom has left the chat, see you\n"
        "[10:00:07] * tom (~t@example.org) has left #room\n"
        "[10:00:08] * tom is now known as tommy\n"
        "[10:00:09] * tommy is now known as the best\n"
        "[10:00:10] * tommy sets mode: +o mia\n"
        "[10:00:11] * tommy has joined #room\n"
        "[10:00:12] * mia (~m@example.org) Quit (Ping timeout)\n"
        "[10:00:13] * tommy has quit because it is late\n"
        "[10:00:14] * tommy was kicked by mia (enough)\n"
        "[10:00:15] * tommy changes topic to 'homework'\n"
        "[10:00:16] * Joins: tom (~t@example.org)\n"  # mIRC: a nick never holds ":"
        "[10:00:17] * Quits: tom (~t@example.org) (bye)\n"
        "[10:00:18] * Now talking in #room\n"
        "[10:00:19] * Now what\n",
    )
    conv, warnings = _read(path)
    assert [(m.author, m.text, m.kind, m.source) for m in conv.messages] == [
        ("tom", "hi", "text", f"{path}:1"),
        ("tom", "has left the chat, see you", "action", f"{path}:3"),
        ("tommy", "is now known as the best", "action", f"{path}:6"),
        ("tommy", "has quit because it is late", "action", f"{path}:10"),
        ("now", "what", "action", f"{path}:16"),
    ]
    assert _events(warnings, 11, 2) == []


def test_hexchat_star_lines_are_events_only_in_hexchat_wording(write):
    path = write(
        "h.log",
        "**** BEGIN LOGGING AT Tue Dec 29 10:00:00 2026\n"
        "Dec 29 10:00:00 *\tNow talking on #room\n"
        "Dec 29 10:00:01 *\tWelcome to my place\n"
        "Dec 29 10:00:02 *\tTopic for #room is: homework help\n"
        "Dec 29 10:00:03 *\tNow talking on the phone\n"
        "Dec 29 10:00:04 *\tTopic for tonight is cats\n"
        "Dec 29 10:00:05 *\tLoaded log from Mon Dec 28 09:00:00 2026\n",
    )
    conv, warnings = _read(path)
    assert _rows(conv) == [
        ("welcome", "to my place", "action", "2026-12-29T10:00:01"),
        ("now", "talking on the phone", "action", "2026-12-29T10:00:03"),
        ("topic", "for tonight is cats", "action", "2026-12-29T10:00:04"),
    ]
    assert _events(warnings, 4, 1) == []


@pytest.mark.parametrize("mode", ["@", "+", "%", "&", "~", " ", ""])
def test_mode_prefixes_are_stripped_and_nicks_lower_cased(write, mode):
    path = write("p.log", f"10:00 <{mode}NickName> hi\n")
    conv, _ = _read(path)
    assert conv.messages[0].author == "nickname"


def test_empty_message_text(write):
    path = write("e.log", "[10:00:01] <alice>\n[10:00:02] <bob> x\n")
    conv, _ = _read(path)
    assert [m.text for m in conv.messages] == ["", "x"]


# --- decoding ------------------------------------------------------------------------------


def test_windows_1252_line_fallback_and_one_warning(write):
    path = write(
        "cp.log",
        "10:00 < alice> caf\u00e9 ok\n".encode()
        + b"10:01 < bob> it\x92s fine\n"
        + b"10:02 < bob> \x93quoted\x94 \x80 5\n",
    )
    conv, warnings = _read(path)
    assert [m.text for m in conv.messages] == [
        "caf\u00e9 ok",
        "it\u2019s fine",
        "\u201cquoted\u201d \u20ac 5",
    ]
    (w,) = warnings
    assert (w.line, w.path) == (2, str(path))
    assert "2 line(s) decoded as Windows-1252" in w.message


@pytest.mark.parametrize("byte", [0x81, 0x8D, 0x8F, 0x90, 0x9D])
def test_bytes_undefined_in_windows_1252_become_replacement_characters(write, byte):
    path = write("u.log", b"10:00 < bob> a" + bytes([byte]) + b"b\n")
    conv, _ = _read(path)
    assert conv.messages[0].text == "a\ufffdb"


def test_c1_controls_in_utf8_are_replaced(write):
    path = write("c1.log", "10:00 < bob> it\u0092s\n10:01 < bob> fine\n".encode())
    conv, warnings = _read(path)
    assert conv.messages[0].text == "it\ufffds"
    (w,) = warnings
    assert w.line == 1 and "C1 control" in w.message


def test_decode_line_never_returns_c1_controls():
    for value in range(256):
        text, _, _ = irclog.decode_line(b"x" + bytes([value]) + b"y\r\n")
        assert not any("\x80" <= ch <= "\x9f" for ch in text), hex(value)
    assert irclog.decode_line(b"\x92") == ("\u2019", True, False)
    assert irclog.decode_line("\u00e9".encode()) == ("\u00e9", False, False)


def test_formatting_codes_are_removed_with_a_warning(write):
    path = write("f.log", "10:00 < bob> \x02bold\x02 \x0304,01red\x03 \x1fplain\x0f\n")
    conv, warnings = _read(path)
    assert conv.messages[0].text == "bold red plain"
    (w,) = warnings
    assert w.line == 1 and "formatting" in w.message


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_is_an_error_that_says_so(write, encoding):
    # NUL bytes must not be stripped as control codes and the rest read as if it were text
    path = write("u16.log", "[10:00:01] <tom> hi\n[10:00:02] <mia> yo\n".encode(encoding))
    for error in (
        _error(path),
        _module_error(path),
    ):
        assert "UTF-16" in str(error) and "UTF-8" in str(error)
        assert error.path == str(path)


def _module_error(path) -> InputError:
    with pytest.raises(InputError) as info:
        list(irclog.read(path, max_message_chars=1000, warn=lambda w: None, options={}))
    return info.value


def test_bom_on_the_first_line_is_ignored(write):
    path = write("b.log", b"\xef\xbb\xbf[10:00:01] <alice> hi\n")
    conv, warnings = _read(path, fmt=None)
    assert conv.messages[0].text == "hi" and warnings == []


# --- errors and skipped lines --------------------------------------------------------------


def test_unknown_lines_are_skipped_with_a_warning(write):
    path = write("u.log", "garbage first\n10:00 < alice> hi\nnot a log line\n10:01 < bob> yo\n")
    conv, warnings = _read(path)
    assert [m.text for m in conv.messages] == ["hi", "yo"]
    (w,) = warnings
    assert w.line == 1 and w.message.startswith("2 line(s) of no IRC log shape")


def test_only_events_is_an_error(write):
    path = write(
        "j.log",
        "--- Log opened Tue Dec 01 10:00:00 2026\n"
        "10:00 -!- alice [a@example.org] has joined #room\n"
        "10:01 -!- alice [a@example.org] has quit [bye]\n",
    )
    error = _error(path)
    assert "no messages" in str(error) and "irssi" in str(error) and "3 event" in str(error)
    assert error.path == str(path)


def test_no_irc_line_at_all_is_an_error(write):
    error = _error(write("n.log", "hello\nworld\n"))
    assert "irssi, WeeChat, HexChat or ZNC" in str(error)


def test_too_long_message_is_an_error_naming_the_line(write):
    path = write("l.log", "[10:00:00] <alice> short\n[10:00:01] <bob> " + "a" * 50 + "\n")
    error = _error(path, max_message_chars=20)
    assert error.line == 2 and "max_message_chars" in str(error)


# --- detection -----------------------------------------------------------------------------


@pytest.mark.parametrize("log", [IRSSI, WEECHAT, HEXCHAT, ZNC])
def test_sniff_accepts_each_client(log):
    assert irclog.sniff(log)
    assert irclog.sniff("\n\n" + log)


def test_sniff_log_opened_alone_suffices():
    assert irclog.sniff("--- Log opened Tue Dec 01 10:00:00 2026\n")
    assert irclog.sniff("**** BEGIN LOGGING AT Tue Dec  1 10:00:00 2026\n")


@pytest.mark.parametrize(
    "head",
    [
        PAN12,
        GENERIC,
        CSV,
        '{"messages": [{"id": 1, "type": "message", "text": "hi"}]}',
        "[31/12/2023, 21:05:07] Alice: hi\n[31/12/2023, 21:05:08] Bob: yo\n",
        "12/31/23, 9:05\u202fPM - Alice: hi\n",
        "31.12.23, 21:05 - Anna: Hallo\n",
        "time,author,text\n10:00,alice,hi\n",
        # one IRC-shaped line among many others is not a log
        "[10:00:00] <alice> hi\n" + "some prose here\n" * 5,
        "",
    ],
)
def test_sniff_refuses_other_formats(head):
    assert not irclog.sniff(head)


@pytest.mark.parametrize(
    ("name", "content"), [("c.xml", PAN12), ("g.jsonl", GENERIC), ("a.csv", CSV)]
)
def test_other_formats_are_not_detected_as_irc(write, name, content):
    try:
        detected = detect_format(write(name, content))
    except InputError:
        detected = None
    assert detected != "irc"


@pytest.mark.parametrize("log", [IRSSI, WEECHAT, HEXCHAT, ZNC])
def test_detect_format_names_irc(write, log):
    assert detect_format(write("chan.log", log)) == "irc"


def test_whatsapp_export_is_not_detected_as_irc(write):
    path = write("wa.txt", "[31/12/2023, 21:05:07] Alice: hi\n")
    assert detect_format(path) == "whatsapp"
    assert not irclog.sniff(path.read_text(encoding="utf-8"))
