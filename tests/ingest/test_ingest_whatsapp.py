"""WhatsApp "Export chat" reader (``tutela.ingest.whatsapp``), on short synthetic exports.

Each test writes the line shapes of one export variant (Android/iOS, locale, 12/24-hour clock) and
reads it through :func:`tutela.ingest.read_corpus`, both detected and forced with ``fmt=``.
"""

from __future__ import annotations

import json

import pytest

from tutela.errors import InputError
from tutela.ingest import detect_format, read_corpus
from tutela.ingest import whatsapp as wa
from tutela.ingest._warn import ReadWarning

LRM = "\u200e"
NNBSP = "\u202f"
NBSP = "\u00a0"

PAN12 = (
    '<conversations><conversation id="c"><message line="1"><author>a</author>'
    "<time>10:00</time><text>hello</text></message></conversation></conversations>\n"
)
GENERIC = json.dumps({"conversation": "c", "author": "u", "time": None, "text": "t"}) + "\n"
CSV = "author,text\nalice,hello\nbob,hi there\n"


def _read(path, fmt=None, **kwargs):
    warnings: list[ReadWarning] = []
    convs = list(read_corpus(path, fmt=fmt, warn=warnings.append, **kwargs))
    return convs, warnings


def _one(path, fmt="whatsapp"):
    (conv,), warnings = _read(path, fmt=fmt)
    return conv, warnings


def _error(path, **kwargs) -> InputError:
    with pytest.raises(InputError) as info:
        list(read_corpus(path, fmt="whatsapp", **kwargs))
    return info.value


def _rows(conv):
    return [(m.author, m.text, m.kind, m.time, m.line) for m in conv.messages]


# --- line shapes ---------------------------------------------------------------------------


def test_android_us_12_hour_with_narrow_no_break_space(write):
    path = write(
        "Chat with Bob.txt",
        f"12/31/23, 9:05{NNBSP}PM - Alice: hi there\n"
        f"12/31/23, 9:06{NNBSP}PM - Bob: hello\n"
        "1/1/24, 12:01 AM - Alice: happy new year\n"
        "1/1/24, 12:30 PM - Bob: lunch?\n",
    )
    conv, warnings = _one(path)
    assert conv.id == "Chat with Bob"
    assert conv.source == str(path)
    assert _rows(conv) == [
        ("Alice", "hi there", "text", "2023-12-31T21:05", 1),
        ("Bob", "hello", "text", "2023-12-31T21:06", 2),
        ("Alice", "happy new year", "text", "2024-01-01T00:01", 3),
        ("Bob", "lunch?", "text", "2024-01-01T12:30", 4),
    ]
    assert [m.source for m in conv.messages] == [f"{path}:{n}" for n in (1, 2, 3, 4)]
    assert all(m.at is None for m in conv.messages)
    assert warnings == []  # "31" in the second field settles month/day


def test_android_german_dots_24_hour(write):
    path = write("de.txt", "31.12.23, 21:05 - Anna: Hallo\n01.01.24, 08:00 - Ben: Guten Morgen\n")
    conv, warnings = _one(path)
    assert _rows(conv) == [
        ("Anna", "Hallo", "text", "2023-12-31T21:05", 1),
        ("Ben", "Guten Morgen", "text", "2024-01-01T08:00", 2),
    ]
    assert warnings == []


def test_android_british_four_digit_year(write):
    path = write("gb.txt", "31/12/2023, 21:05 - Alice: hi\n02/01/2024, 07:15 - Bob: morning\n")
    conv, _ = _one(path)
    assert [m.time for m in conv.messages] == ["2023-12-31T21:05", "2024-01-02T07:15"]


def test_ios_24_hour_with_marks_at_line_start(write):
    path = write(
        "ios.txt",
        f"{LRM}[31/12/2023, 21:05:07] Alice: hi\n[31/12/2023, 21:05:30] Bob: {LRM}hello\n",
    )
    # a U+200E before words that read as no notice is removed and the words kept: a person
    # typing the invisible mark must not hide a message
    conv, _ = _one(path)
    assert _rows(conv) == [
        ("Alice", "hi", "text", "2023-12-31T21:05:07", 1),
        ("Bob", "hello", "text", "2023-12-31T21:05:30", 2),
    ]


def test_ios_12_hour(write):
    path = write(
        "ios12.txt",
        f"[12/31/23, 9:05:07{NNBSP}PM] Alice: hi\n[12/31/23, 11:59:59 PM] Bob: late\n",
    )
    conv, _ = _one(path)
    assert [m.time for m in conv.messages] == ["2023-12-31T21:05:07", "2023-12-31T23:59:59"]
    assert [m.author for m in conv.messages] == ["Alice", "Bob"]


@pytest.mark.parametrize(
    ("clock", "expected"),
    [
        ("9:05 pm", "T21:05"),
        (f"9:05{NBSP}PM", "T21:05"),
        (f"9:05{NNBSP}am", "T09:05"),
        ("9:05PM", "T21:05"),
        ("9:05 p.m.", "T21:05"),
        (f"9:05{NBSP}p.{NBSP}m.", "T21:05"),
        ("9:05 a. m.", "T09:05"),
        ("12:05 a.m.", "T00:05"),
        ("12:05 PM", "T12:05"),
        ("21:05", "T21:05"),
    ],
)
def test_clock_variants(write, clock, expected):
    path = write("c.txt", f"31/12/2023, {clock} - Alice: hi\n")
    conv, _ = _one(path)
    assert conv.messages[0].time == "2023-12-31" + expected
    assert conv.messages[0].text == "hi"


def test_year_first_dates(write):
    path = write("se.txt", "2023-12-31 21:05 - Alice: hej\n")
    conv, warnings = _one(path)
    assert conv.messages[0].time == "2023-12-31T21:05"
    assert warnings == []


def test_phone_number_author_loses_its_bidi_marks(write):
    path = write("p.txt", "31/12/2023, 21:05 - \u202a+49 170 1234567\u202c: hi\n")
    conv, _ = _one(path)
    assert conv.messages[0].author == "+49 170 1234567"


# --- multi-line messages -------------------------------------------------------------------


def test_continuation_lines_keep_their_newlines(write):
    path = write(
        "m.txt",
        "\n"
        "31/12/2023, 21:05 - Alice: first line\n"
        "second line\n"
        "\n"
        f"{LRM}third after a blank\n"
        "  - an indented item\n"
        "31/12/2023, 21:06 - Bob: one line\n"
        "\n",
    )
    conv, _ = _one(path)
    assert [m.text for m in conv.messages] == [
        f"first line\nsecond line\n\n{LRM}third after a blank\n  - an indented item",
        "one line",
    ]
    assert [m.source for m in conv.messages] == [f"{path}:2", f"{path}:7"]
    assert [m.line for m in conv.messages] == [1, 2]


def test_continuation_lines_are_kept_byte_exact(write):
    # only the line ending goes: a U+200E, a BOM-like mark or trailing blanks a person typed stay
    path = write(
        "x.txt",
        f"31/12/2023, 21:05 - Alice: one\n{LRM}{LRM}two\n\ufeffthree  \n\tfour\n",
    )
    conv, _ = _one(path)
    assert conv.messages[0].text == f"one\n{LRM}{LRM}two\n\ufeffthree  \n\tfour"


@pytest.mark.parametrize("space", ["", " "])
def test_name_and_colon_alone_starts_a_message_on_the_next_line(write, space):
    # an editor may strip the blank after "Mia:"; the lines below are still Mia's words
    path = write(
        "n.txt",
        "31/12/2023, 21:05 - Tom: hi\n"
        f"31/12/2023, 21:06 - Mia:{space}\n"
        "this starts on the next line\n"
        "and continues\n"
        "31/12/2023, 21:07 - Tom: ok\n",
    )
    conv, warnings = _one(path)
    assert [(m.author, m.text, m.source) for m in conv.messages] == [
        ("Tom", "hi", f"{path}:1"),
        ("Mia", "this starts on the next line\nand continues", f"{path}:2"),
        ("Tom", "ok", f"{path}:5"),
    ]
    assert warnings == []


def test_ios_name_and_colon_alone_starts_a_message_on_the_next_line(write):
    path = write("n.txt", "[31/12/2023, 21:05:07] Mia:\nnext line\n")
    conv, _ = _one(path)
    assert [(m.author, m.text) for m in conv.messages] == [("Mia", "next line")]


def test_line_like_a_header_that_does_not_parse_is_kept_and_named(write):
    # a five-digit year cannot be a WhatsApp timestamp: the line stays Tom's text, but a
    # warning names it, because it may be Mia's words in a damaged export
    path = write(
        "near.txt",
        "31/12/2023, 21:05 - Tom: hi\n"
        "31/12/99999, 21:12 - Mia: five digit year\n"
        "31/12/2023, 21:13:00:00 - Mia: a time of four parts\n"
        "31/12/2023, 21:13 - Mia: bye\n",
    )
    conv, warnings = _one(path)
    assert [(m.author, m.text) for m in conv.messages] == [
        (
            "Tom",
            "hi\n31/12/99999, 21:12 - Mia: five digit year\n"
            "31/12/2023, 21:13:00:00 - Mia: a time of four parts",
        ),
        ("Mia", "bye"),
    ]
    (w,) = warnings
    assert w.line == 2
    assert "2 line(s) look like a message line" in w.message
    assert "lines 2, 3" in w.message


def test_many_lines_like_headers_are_listed_up_to_twenty(write):
    bad = "".join(f"31/12/{99900 + n}, 21:05 - Mia: x\n" for n in range(25))
    path = write("many.txt", "31/12/2023, 21:05 - Tom: hi\n" + bad)
    conv, warnings = _one(path)
    assert conv.messages[0].text.count("\n") == 25
    (w,) = warnings
    assert "25 line(s)" in w.message
    assert "lines " + ", ".join(str(n) for n in range(2, 22)) + " and 5 more" in w.message


def test_header_of_the_other_platform_is_continuation_with_a_warning(write):
    # an Android export never holds an iOS line: such a line was pasted into a message
    path = write(
        "mixed.txt",
        "31/12/2023, 21:05 - Tom: look what she wrote\n"
        "[31/12/2023, 20:00:00] Mia: something\n"
        "31/12/2023, 21:06 - Mia: hm\n",
    )
    conv, warnings = _one(path)
    assert [(m.author, m.text) for m in conv.messages] == [
        ("Tom", "look what she wrote\n[31/12/2023, 20:00:00] Mia: something"),
        ("Mia", "hm"),
    ]
    (w,) = warnings
    assert w.line == 2 and "iOS" in w.message and "lines 2" in w.message


def test_continuation_that_looks_like_a_time_is_text(write):
    path = write("t.txt", "31/12/2023, 21:05 - Alice: meet at\n21:30 - near the park\n")
    conv, _ = _one(path)
    assert conv.messages[0].text == "meet at\n21:30 - near the park"


def test_text_after_a_colon_in_the_message_stays(write):
    path = write("c.txt", "31/12/2023, 21:05 - Alice: note: bring a book\n")
    conv, _ = _one(path)
    assert (conv.messages[0].author, conv.messages[0].text) == ("Alice", "note: bring a book")


# --- system lines ----------------------------------------------------------------------------


def test_android_system_lines_are_not_messages(write):
    path = write(
        "group.txt",
        "31/12/2023, 21:00 - Messages and calls are end-to-end encrypted. No one outside of this "
        "chat, not even WhatsApp, can read or listen to them. Tap to learn more.\n"
        '31/12/2023, 21:01 - Alice created group "Study club"\n'
        "31/12/2023, 21:02 - Alice added Bob\n"
        '31/12/2023, 21:03 - Alice changed the subject from "Study" to "Club: maths"\n'
        "31/12/2023, 21:04 - Your security code with Bob changed. Tap to learn more.\n"
        "31/12/2023, 21:05 - Bob: hi all\n"
        "31/12/2023, 21:06 - Bob: This message was deleted\n"
        "31/12/2023, 21:07 - Alice: You deleted this message\n"
        "31/12/2023, 21:08 - Bob left\n",
    )
    conv, warnings = _one(path)
    assert _rows(conv) == [("Bob", "hi all", "text", "2023-12-31T21:05", 1)]
    assert conv.messages[0].source == f"{path}:6"
    (w,) = warnings
    assert w.line == 1
    assert "6 system line(s)" in w.message
    assert "2 deleted-message marker(s)" in w.message


def test_ios_system_lines_carry_the_chat_name_and_a_mark(write):
    path = write(
        "ios-group.txt",
        f"{LRM}[31/12/2023, 21:00:00] Study club: {LRM}Messages and calls are end-to-end "
        "encrypted. No one outside of this chat can read or listen to them.\n"
        f"{LRM}[31/12/2023, 21:00:01] Study club: {LRM}Alice added Bob\n"
        f'{LRM}[31/12/2023, 21:00:02] Study club: {LRM}Alice changed the subject to "A: B"\n'
        f"[31/12/2023, 21:00:03] Bob: {LRM}Your security code with Alice changed. Tap to learn.\n"
        f"{LRM}[31/12/2023, 21:00:04] Alice: {LRM}Missed voice call\n"
        f"{LRM}[31/12/2023, 21:00:05] Bob: {LRM}This message was deleted.\n"
        "[31/12/2023, 21:00:06] Alice: hello Bob\n"
        f"{LRM}[31/12/2023, 21:00:07] Alice: {LRM}Location: https://maps.example.org/?q=1,2\n",
    )
    conv, warnings = _one(path)
    assert _rows(conv) == [
        ("Alice", "hello Bob", "text", "2023-12-31T21:00:06", 1),
        ("Alice", "Location: https://maps.example.org/?q=1,2", "text", "2023-12-31T21:00:07", 2),
    ]
    assert "Study club" not in conv.authors
    (w,) = warnings
    assert w.line == 1
    assert "5 system line(s)" in w.message
    assert "1 deleted-message marker(s)" in w.message


def test_marked_words_like_a_notice_but_unmarked_are_a_message(write):
    path = write(
        "u.txt",
        "[31/12/2023, 21:00:00] Alice: Bob added Carol\n"
        f"[31/12/2023, 21:00:01] Alice: {LRM}Bob added Carol\n",
    )
    conv, warnings = _one(path)
    assert [m.text for m in conv.messages] == ["Bob added Carol"]
    assert conv.messages[0].source == f"{path}:1"
    assert "1 system line(s)" in warnings[0].message


def test_continuation_of_a_system_line_is_counted_with_it(write):
    path = write(
        "s.txt",
        f"{LRM}[31/12/2023, 21:00:00] Club: {LRM}Alice changed the group description\n"
        "second line of the notice\n"
        "third line of the notice\n"
        "[31/12/2023, 21:00:05] Bob: hi\n",
    )
    conv, warnings = _one(path)
    assert [m.text for m in conv.messages] == ["hi"]
    (w,) = warnings
    assert w.line == 1
    assert "1 system line(s)" in w.message and "2 continuation line(s)" in w.message


def test_android_subject_change_continuation_is_counted(write):
    path = write(
        "s.txt",
        "31/12/2023, 21:05 - Tom: hi\n"
        '31/12/2023, 21:13 - Tom changed the subject from "a" to "b: c"\n'
        "continued subject\n",
    )
    conv, warnings = _one(path)
    assert [m.text for m in conv.messages] == ["hi"]
    (w,) = warnings
    assert w.line == 2
    assert "1 system line(s)" in w.message and "1 continuation line(s)" in w.message


@pytest.mark.parametrize(
    "words",
    [
        "Messages and calls are end-to-end encrypted, so nobody sees this",
        "Messages to this group are now secured with end-to-end encryption, he said",
        "Missed voice call",
        "Missed video call",
        "Tom's security code changed my mind",
        "Your security code with Bob changed. Tap to learn more.",
        "Bob added Carol",
        "Tom left",
    ],
)
def test_android_text_after_a_name_is_always_that_persons_words(write, words):
    # WhatsApp Android writes every notice without "Name: "; with one, it is someone's words
    path = write("w.txt", f"31/12/2023, 21:06 - Tom: {words}\nand you can tell me anything\n")
    conv, warnings = _one(path)
    assert [(m.author, m.text, m.kind) for m in conv.messages] == [
        ("Tom", words + "\nand you can tell me anything", "text")
    ]
    assert warnings == []


@pytest.mark.parametrize(
    "words",
    [
        "Messages and calls are end-to-end encrypted. No one outside of this chat can read them.",
        "Your security code with Bob changed. Tap to learn more.",
        "Missed voice call",
        "Bob added Carol",
        "This message was deleted.",
    ],
)
def test_ios_text_without_the_mark_is_words(write, words):
    path = write("w.txt", f"[31/12/2023, 21:06:00] Tom: {words}\n")
    conv, warnings = _one(path)
    assert [(m.author, m.text) for m in conv.messages] == [("Tom", words)]
    assert warnings == []


@pytest.mark.parametrize(
    "header",
    ["31/12/2023, 21:14 - Tom: ", f"[31/12/2023, 21:14:00] Tom: {LRM}"],
)
def test_deletion_marker_with_more_lines_is_words(write, header):
    path = write(
        "d.txt",
        f"{header}This message was deleted\nbut this second line is mine\n"
        f"{header}You deleted this message\n",
    )
    conv, warnings = _one(path)
    assert [(m.author, m.text) for m in conv.messages] == [
        ("Tom", "This message was deleted\nbut this second line is mine")
    ]
    (w,) = warnings
    assert w.line == 3 and "1 deleted-message marker(s)" in w.message


def test_only_system_lines_is_an_error(write):
    path = write(
        "empty.txt",
        "31/12/2023, 21:00 - Messages and calls are end-to-end encrypted.\n"
        "31/12/2023, 21:01 - Alice added Bob\n",
    )
    error = _error(path)
    assert "no messages" in str(error) and "2 system line(s)" in str(error)
    assert error.path == str(path)


# --- media placeholders --------------------------------------------------------------------


ANDROID_MEDIA = [
    ("<Media omitted>", "file", None),
    ("<Medien ausgeschlossen>", "file", None),
    ("IMG-20231231-WA0001.jpg (file attached)", "image", "image/jpeg"),
    ("VID-20231231-WA0002.mp4 (file attached)", "video", "video/mp4"),
    ("PTT-20231231-WA0003.opus (file attached)", "audio", "audio/ogg"),
    ("STK-20231231-WA0004.webp (file attached)", "image", "image/webp"),
    ("homework notes.pdf (file attached)", "file", "application/pdf"),
]


@pytest.mark.parametrize(("placeholder", "kind", "mime"), ANDROID_MEDIA)
def test_android_media_placeholders_are_media_without_words(write, placeholder, kind, mime):
    path = write(
        "media.txt",
        f"31/12/2023, 21:05 - Bob: {placeholder}\n31/12/2023, 21:06 - Bob: nice\n",
    )
    conv, warnings = _one(path)
    media, text = conv.messages
    assert (media.author, media.text, media.kind, media.time) == (
        "Bob",
        "",
        "media",
        "2023-12-31T21:05",
    )
    (att,) = media.attachments
    assert (att.kind, att.mime, att.url, att.size) == (kind, mime, None, None)
    assert (text.kind, text.text) == ("text", "nice")
    assert warnings == []


@pytest.mark.parametrize(
    ("placeholder", "kind", "mime"),
    [
        ("image omitted", "image", None),
        ("video omitted", "video", None),
        ("audio omitted", "audio", None),
        ("sticker omitted", "image", None),
        ("GIF omitted", "video", None),
        ("document omitted", "file", None),
        (f"notes.pdf • 3 pages {LRM}document omitted", "file", None),
        ("<attached: 00000012-PHOTO-2023-12-31-21-05-07.jpg>", "image", "image/jpeg"),
        ("<attached: 00000013-VIDEO-2023-12-31-21-05-08.mp4>", "video", "video/mp4"),
        ("<attached: 00000014-AUDIO-2023-12-31-21-05-09.opus>", "audio", "audio/ogg"),
        ("<attached: 00000015-GIF-2023-12-31-21-05-10.mp4>", "video", "video/mp4"),
        ("<attached: 00000016-notes.mkv>", "video", None),
    ],
)
@pytest.mark.parametrize("marked", [False, True])
def test_ios_media_placeholders_are_media_without_words(write, placeholder, kind, mime, marked):
    mark = LRM if marked else ""
    path = write(
        "media.txt",
        f"[31/12/2023, 21:05:07] Bob: {mark}{placeholder}\n[31/12/2023, 21:05:09] Bob: nice\n",
    )
    conv, warnings = _one(path)
    media, text = conv.messages
    assert (media.author, media.text, media.kind, media.line) == ("Bob", "", "media", 1)
    assert media.time == "2023-12-31T21:05:07"
    (att,) = media.attachments
    assert (att.kind, att.mime, att.url, att.size, att.declared_hash) == (
        kind,
        mime,
        None,
        None,
        None,
    )
    assert (text.kind, text.text, text.attachments) == ("text", "nice", ())
    assert warnings == []


IOS_ONLY = [
    "image omitted",
    "video omitted",
    "sticker omitted",
    "document omitted",
    "<attached: 00000012-PHOTO-2023-12-31-21-05-07.jpg>",
]


@pytest.mark.parametrize("words", IOS_ONLY)
def test_ios_placeholders_in_an_android_export_are_words(write, words):
    # Android never writes these: typed into an Android chat, they are what the person wrote
    path = write("a.txt", f"31/12/2023, 21:09 - Mia: {words}\n")
    conv, _ = _one(path)
    assert [(m.kind, m.text, m.attachments) for m in conv.messages] == [("text", words, ())]


@pytest.mark.parametrize("words", [p for p, _, _ in ANDROID_MEDIA])
def test_android_placeholders_in_an_ios_export_are_words(write, words):
    path = write("i.txt", f"[31/12/2023, 21:09:00] Mia: {words}\n")
    conv, _ = _one(path)
    assert [(m.kind, m.text, m.attachments) for m in conv.messages] == [("text", words, ())]


def test_media_file_is_never_opened(write, tmp_path):
    # a file of that name next to the export must not be read (only metadata is kept)
    (tmp_path / "IMG-20231231-WA0001.jpg").write_bytes(b"\xff\xd8 not read")
    path = write("m.txt", "31/12/2023, 21:05 - Bob: IMG-20231231-WA0001.jpg (file attached)\n")
    conv, _ = _one(path)
    (att,) = conv.messages[0].attachments
    assert att.size is None and att.declared_hash is None and att.url is None
    assert "IMG-" not in repr(conv.messages[0])


def test_caption_after_attachment_is_a_text_message(write):
    path = write(
        "cap.txt",
        "31/12/2023, 21:05 - Bob: IMG-20231231-WA0001.jpg (file attached)\n"
        "our class photo\n"
        "31/12/2023, 21:06 - Alice: lovely\n",
    )
    conv, _ = _one(path)
    assert [(m.kind, m.text, m.line, m.source) for m in conv.messages] == [
        ("media", "", 1, f"{path}:1"),
        ("text", "our class photo", 2, f"{path}:2"),
        ("text", "lovely", 3, f"{path}:3"),
    ]
    assert conv.messages[1].author == "Bob"
    assert conv.messages[1].time == "2023-12-31T21:05"


def test_placeholder_words_inside_a_sentence_are_text(write):
    path = write("t.txt", "31/12/2023, 21:05 - Bob: the image omitted nothing\n")
    conv, _ = _one(path)
    assert (conv.messages[0].kind, conv.messages[0].text) == ("text", "the image omitted nothing")


# --- date order ----------------------------------------------------------------------------


def test_day_first_evidence_late_in_the_file_applies_to_all_lines(write):
    path = write(
        "late.txt",
        "01/02/2024, 10:00 - Alice: early\n"  # ambiguous alone
        "13/02/2024, 10:00 - Alice: later\n",  # 13 can only be a day
    )
    conv, warnings = _one(path)
    assert [m.time for m in conv.messages] == ["2024-02-01T10:00", "2024-02-13T10:00"]
    assert warnings == []


def test_month_first_evidence_late_in_the_file_applies_to_all_lines(write):
    path = write(
        "late-us.txt",
        "01/02/2024, 10:00 - Alice: early\n02/13/2024, 10:00 - Alice: later\n",
    )
    conv, warnings = _one(path)
    assert [m.time for m in conv.messages] == ["2024-01-02T10:00", "2024-02-13T10:00"]
    assert warnings == []


@pytest.mark.parametrize(
    ("line", "expected", "order"),
    [
        ("01.02.24, 10:00 - Anna: hi", "2024-02-01T10:00", "day/month"),
        ("01/02/2024, 10:00 - Anna: hi", "2024-02-01T10:00", "day/month"),
        ("01/02/24, 10:00 AM - Anna: hi", "2024-01-02T10:00", "month/day"),
        ("01/02/24, 10:00 am - Anna: hi", "2024-02-01T10:00", "day/month"),
    ],
)
def test_ambiguous_date_order_is_guessed_with_a_warning(write, line, expected, order):
    path = write("amb.txt", line + "\n")
    conv, warnings = _one(path)
    assert conv.messages[0].time == expected
    (w,) = warnings
    assert w.path == str(path) and w.line is None
    assert f"date order guessed as {order}" in w.message


def test_both_date_orders_in_one_file_is_an_error(write):
    path = write(
        "mixed.txt",
        "13/01/2024, 10:00 - Alice: a\n01/13/2024, 10:00 - Alice: b\n",
    )
    error = _error(path)
    assert "line 1" in str(error) and "line 2" in str(error)
    assert error.line == 2


def test_impossible_date_is_an_error(write):
    path = write("bad.txt", "31/02/2024, 10:00 - Alice: a\n31/12/2024, 10:00 - Alice: b\n")
    error = _error(path)
    assert error.line == 1 and "invalid date" in str(error)


def test_date_impossible_in_either_order_is_an_invalid_date(write):
    # 31/13: neither day/month nor month/day; not a "mix" of orders with line 1
    path = write("bad.txt", "31/12/2023, 21:05 - Tom: a\n31/13/2023, 21:13 - Tom: month 13\n")
    error = _error(path)
    assert error.line == 2 and "invalid date 31/13/2023" in str(error)
    assert "mix" not in str(error)


def test_impossible_year_first_date_is_an_error(write):
    path = write("bad.txt", "2023-12-31 21:05 - Mia: a\n2023-31-12 21:14 - Mia: b\n")
    error = _error(path)
    assert error.line == 2 and "invalid date" in str(error)


def test_impossible_time_is_an_error(write):
    path = write("bad.txt", "31/12/2024, 13:00 PM - Alice: a\n")
    assert _error(path).line == 1


# --- errors --------------------------------------------------------------------------------


def test_not_utf8_is_an_error_naming_the_line(write):
    path = write("latin.txt", b"31/12/2023, 21:05 - Alice: ok\n" + b"caf\xe9\n")
    error = _error(path)
    assert error.line == 2 and "UTF-8" in str(error)


@pytest.mark.parametrize(
    "data",
    [
        "31/12/2023, 21:05 - Tom: hi\n".encode("utf-16"),  # with a BOM
        "31/12/2023, 21:05 - Tom: hi\n".encode("utf-16-le"),
        "31/12/2023, 21:05 - Tom: hi\n".encode("utf-16-be"),
    ],
)
def test_utf16_is_an_error_that_says_so(write, data):
    path = write("u16.txt", data)
    for read in (_error, _read_module):  # through read_corpus and the reader on its own
        error = read(path)
        assert "UTF-16" in str(error) and "UTF-8" in str(error)
        assert error.path == str(path)


def _read_module(path) -> InputError:
    with pytest.raises(InputError) as info:
        list(wa.read(path, max_message_chars=1000, warn=lambda w: None, options={}))
    return info.value


def test_too_long_message_is_an_error(write):
    path = write("long.txt", "31/12/2023, 21:05 - Alice: " + "a" * 30 + "\n")
    error = _error(path, max_message_chars=20)
    assert error.line == 1 and "max_message_chars" in str(error)


def test_too_long_multi_line_message_is_an_error_at_its_first_line(write):
    path = write(
        "long.txt",
        "31/12/2023, 21:04 - Bob: short\n31/12/2023, 21:05 - Alice: aaaa\n" + "bbbbbbbbbb\n" * 5,
    )
    error = _error(path, max_message_chars=30)
    assert error.line == 2


def test_continuation_before_any_message_is_an_error(write):
    path = write("orphan.txt", "\nhello there\n31/12/2023, 21:05 - Alice: hi\n")
    error = _error(path)
    assert error.line == 2 and "continues no message" in str(error)


def test_file_without_message_lines_is_an_error_when_forced(write):
    path = write("none.txt", "")
    with pytest.raises(InputError):
        list(read_corpus(path, fmt="whatsapp"))


# --- detection -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "first",
    [
        f"12/31/23, 9:05{NNBSP}PM - Alice: hi",
        "31.12.23, 21:05 - Anna: Hallo",
        "31/12/2023, 21:05 - Messages and calls are end-to-end encrypted.",
        f"{LRM}[31/12/2023, 21:05:07] Alice: hi",
        "[12/31/23, 9:05:07 PM] Alice: hi",
        "\ufeff[31/12/2023, 21:05:07] Alice: hi",
    ],
)
def test_sniff_accepts_export_first_lines(first):
    assert wa.sniff("\n" + first + "\nsecond line\n")


@pytest.mark.parametrize(
    "head",
    [
        PAN12,
        GENERIC,
        CSV,
        '{"name": "x", "type": "personal_chat", "messages": []}',
        "--- Log opened Tue Dec 01 10:00:00 2026\n10:00 < nick> hi\n",
        "2026-12-01 10:00:00\tnick\thello\n",
        "[10:00:00] <nick> hello\n",
        "Dec 01 10:00:00 <nick>\thello\n",
        "hello there\n31/12/2023, 21:05 - Alice: hi\n",  # the first line must be a message line
        "",
    ],
)
def test_sniff_refuses_other_formats(head):
    assert not wa.sniff(head)


def test_detected_and_read_without_fmt(write):
    path = write("WhatsApp Chat with Bob.txt", f"{LRM}[31/12/2023, 21:05:07] Bob: hi\n")
    assert detect_format(path) == "whatsapp"
    (conv,), _ = _read(path)
    assert (conv.id, conv.messages[0].text) == ("WhatsApp Chat with Bob", "hi")


def _detected(path) -> str | None:
    try:
        return detect_format(path)
    except InputError:
        return None


@pytest.mark.parametrize(
    ("name", "content"), [("c.xml", PAN12), ("g.jsonl", GENERIC), ("a.csv", CSV)]
)
def test_other_formats_are_not_detected_as_whatsapp(write, name, content):
    assert _detected(write(name, content)) != "whatsapp"
