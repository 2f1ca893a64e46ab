"""Reader for WhatsApp "Export chat" text files (Android and iOS), written for Tutela.

Why not a maintained parser: ``whatstk`` 0.9.1 and ``chat-miner`` 0.6.0 (PyPI, checked for issue
11) both build pandas frames and pull in pandas/plotly/matplotlib. Neither keeps a message's line
number, nor tells media placeholders or the encryption and security-code notices apart from
words. ``chat-miner`` also joins a multi-line message without its newlines and NFKC-normalises the
text. The line shapes below come from WhatsApp's own exports (FAQ "How to export your chat
history") as they appear in the test files of both projects.

Line shapes (one chat per file; a line without a timestamp continues the message before it, and
its newline is kept)::

    12/31/23, 9:05 PM - Alice: text           Android, en_US (12-hour, U+202F before PM too)
    31.12.23, 21:05 - Alice: text             Android, de_DE
    31/12/2023, 21:05 - Alice: text           Android, en_GB
    [31/12/2023, 21:05:07] Alice: text        iOS, 24-hour
    [12/31/23, 9:05:07 PM] Alice: text        iOS, 12-hour
    12/31/23, 9:05 PM - Messages and calls are end-to-end encrypted. ...   system line (Android)
    [31/12/2023, 21:05:07] Family: <U+200E>Alice added Bob               system line (iOS)

Year-first dates (``2023-12-31 21:05 - ``) are read too. ``am``/``pm`` may be upper or lower case,
dotted (``p. m.``), and preceded by a space, U+00A0 or U+202F. A U+200E (left-to-right mark) or
BOM before a timestamp (iOS puts one before ``[``) is ignored; in a continuation line it is kept,
as every continuation line is kept byte for byte but for its line ending. The bidi marks WhatsApp
puts around phone-number authors (U+202A ... U+202C) are removed from the author.

The first line decides the file's shape, Android or iOS; a line of the other shape is never a
new message (an Android export holds no iOS line: such a line was pasted into a message). It is
kept as text of the message above, and named in a warning. So is a line that starts like a
timestamp but does not parse (``31/12/99999, 21:12 - Mia: ...``): it may be someone else's
words in a damaged export, so the reader says which lines to check (20 listed, then a count).

What becomes a message:

* ``Name: text`` → ``Message(kind="text")``, author = the name as written (stripped). A line
  ending ``Name:`` (an editor may have removed the space) starts a message on the next line.
* Media placeholders → ``Message(kind="media", text="", attachments=(Attachment(kind, mime),))``,
  each in the wording of its own platform only. Android: ``<Media omitted>`` (and a few of its
  translations) and ``IMG-...jpg (file attached)``. iOS: ``image omitted``, ``video omitted``,
  ``audio omitted``, ``sticker omitted``, ``GIF omitted``, ``document omitted``, ``Contact card
  omitted`` and ``<attached: NAME>``. The file name only sets ``kind`` and an obvious ``mime``;
  it is kept nowhere else and no media file is opened. A caption (lines after a placeholder)
  becomes a separate text message by the same author.
* Nobody's words are not messages. On Android these are the lines without ``Name: ``: WhatsApp
  writes every notice (encryption, security code, group changes, missed calls) without an
  author, so text after ``Name: `` is always that person's words, even when it reads like a
  notice. A subject or group-name change, whose new name may hold ``": "``, is also a system
  line. On iOS, where a notice carries the chat's name as author, text after ``Name: `` is a
  notice only when it starts with U+200E and reads as one (``X added Y``, ``Missed voice
  call``...); any other text is words (a U+200E before them removed). The deletion markers ``This
  message was deleted`` / ``You deleted this message`` are not words when they are the whole
  text (marked on iOS); with more lines below they are words. Skipped lines, and the
  continuation lines below them, are counted in one warning per file.

``time`` is ISO 8601 local time without an offset (``"2023-12-31T21:05:07"``, or
``"2023-12-31T21:05"`` when the export has no seconds); ``at`` is ``None`` because the export has
no time zone. Day/month order is inferred once per file, in a first pass over the header dates
(see :class:`~tutela.ingest._whatsapp_lines.DateOrder`); the second pass reads the messages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tutela.domain import Attachment, Conversation, Message
from tutela.errors import InputError

from ._files import iter_text_lines
from ._media import kind_from_name
from ._utf16 import refuse_utf16
from ._warn import ReadWarning, WarnFn
from ._whatsapp_lines import (
    LINE_MARKS,
    DateOrder,
    Header,
    iso_clock,
    iso_date,
    looks_like_header,
    parse_header,
)

__all__ = ["media_attachment", "read", "sniff"]

#: Bidi marks removed from the start of the text after ``Name: `` and from author names (LRM,
#: RLM, embeddings, isolates, BOM).
_MARKS = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
_LRM = "\u200e"

#: Android system lines that contain ": " (a subject or group name): an actor without ": " first.
_SYSTEM_WITH_COLON = re.compile(
    r"^(?:(?!: ).)+? (?:changed the subject |changed the group name |created group |"
    r"changed this group's )"
)
#: Notices iOS writes after ``ChatName: `` and a U+200E. Only read as notices when the text
#: starts with that mark, because a person could write the same words.
_IOS_NOTICE = re.compile(
    r"^(?:Messages and calls are end-to-end encrypted.*|"
    r"Messages to this group are now secured with end-to-end encryption.*|"
    r"Your security code with .+ changed.*|.+'s security code changed.*|"
    r"Missed (?:group )?(?:voice|video) call(?:[,.] ?\u200e?(?:Tap|Click) to call back)?\.?|"
    r".+ (?:added|removed) .+|.+ left|.+ joined using this group's invite link|.+ joined|"
    r"(?:You|.+) created (?:group|this group).*|"
    r"(?:You|.+) changed (?:the subject|this group's|the group|their phone number|to ).*|"
    r"(?:You|.+) deleted this group's icon|You were added.*|You're now an admin|"
    r"You are now an admin|.+ is a contact\.?|This chat is with a business account.*|"
    r"(?:You|.+) turned (?:on|off) disappearing .*|"
    r"Disappearing messages .*|Waiting for this message.*|You (?:un)?blocked this contact.*|"
    r".+ was removed)$"
)
_DELETED = re.compile(r"^(?:This message was deleted|You deleted this message)\.?$")

_OMITTED_ANDROID = {
    "<Media omitted>",
    "<Medien ausgeschlossen>",  # de
    "<Multimedia omitido>",  # es
    "<Médias omis>",  # fr
    "<Media omessi>",  # it
    "<Mídia oculta>",  # pt
    "<Media weggelaten>",  # nl
}
_FILE_ATTACHED = re.compile(
    r"^(?P<name>.+?) \((?:file attached|Datei angehängt|archivo adjunto|fichier joint|"
    r"arquivo anexado|bestand bijgevoegd|file allegato)\)$"
)
_ATTACHED_IOS = re.compile(r"^<attached: (?P<name>[^>]+)>$")
_OMITTED_IOS = {
    "image omitted": "image",
    "video omitted": "video",
    "audio omitted": "audio",
    "sticker omitted": "image",
    "GIF omitted": "video",
    "document omitted": "file",
    "Contact card omitted": "file",
}

_MIME = {
    "jpg": ("image", "image/jpeg"),
    "jpeg": ("image", "image/jpeg"),
    "png": ("image", "image/png"),
    "webp": ("image", "image/webp"),
    "gif": ("image", "image/gif"),
    "heic": ("image", "image/heic"),
    "mp4": ("video", "video/mp4"),
    "3gp": ("video", "video/3gpp"),
    "mov": ("video", "video/quicktime"),
    "opus": ("audio", "audio/ogg"),
    "ogg": ("audio", "audio/ogg"),
    "m4a": ("audio", "audio/mp4"),
    "mp3": ("audio", "audio/mpeg"),
    "aac": ("audio", "audio/aac"),
    "amr": ("audio", "audio/amr"),
    "wav": ("audio", "audio/wav"),
    "pdf": ("file", "application/pdf"),
    "vcf": ("file", "text/vcard"),
}
#: File-name parts WhatsApp uses for media it names itself (Android prefix, iOS infix).
_NAME_KIND = (
    ("IMG-", "image"),
    ("VID-", "video"),
    ("AUD-", "audio"),
    ("PTT-", "audio"),
    ("STK-", "image"),
    ("-PHOTO-", "image"),
    ("-VIDEO-", "video"),
    ("-AUDIO-", "audio"),
    ("-STICKER-", "image"),
    ("-GIF-", "video"),
)
#: Lines named in a warning about lines kept as text that look like a new message.
_LIST_AT_MOST = 20


def sniff(head: str) -> bool:
    """True when the first non-blank line of ``head`` is a WhatsApp message line.

    ``head`` is the file's start as text. U+200E and a BOM are removed from the line first.
    Both the Android (``date, time - ``) and iOS (``[date, time] ``) shapes count. IRC logs,
    CSV, JSON and PAN12 XML never match: none has a full date, a time and `` - `` or ``] ``.
    """
    for line in head.splitlines():
        line = line.lstrip(LINE_MARKS)
        if not line.strip():
            continue
        return parse_header(0, line, None) is not None
    return False


def media_attachment(text: str, *, ios: bool) -> Attachment | None:
    """The :class:`Attachment` a placeholder text stands for, or ``None`` if it is not one.

    ``text`` is the message text with leading bidi marks removed; ``ios`` the file's shape.
    Only the placeholders of that platform count: an Android export never writes ``image
    omitted`` or ``<attached: x>``, an iOS export never ``<Media omitted>`` or ``x (file
    attached)``; typed into the other, they are words. ``kind`` comes from WhatsApp's file
    naming (``IMG-``, ``-PHOTO-``...) or the extension; ``mime`` only when the extension makes
    it obvious. ``url`` stays ``None``: the file name is not kept.
    """
    body = text.strip()
    if ios:
        if body in _OMITTED_IOS:
            return Attachment(kind=_OMITTED_IOS[body])
        if body.endswith(_LRM + "document omitted"):  # "notes.pdf • 3 pages \u200edocument omitted"
            return Attachment(kind="file")
        m = _ATTACHED_IOS.match(body)
    else:
        if body in _OMITTED_ANDROID:
            return Attachment(kind="file")
        m = _FILE_ATTACHED.match(body)
    if m is None:
        return None
    name = m.group("name").strip(_MARKS + " ")
    ext = name.rpartition(".")[2].lower() if "." in name else ""
    kind, mime = _MIME.get(ext, (kind_from_name(name), None))
    for part, named_kind in _NAME_KIND:
        if part in name.upper():
            kind = named_kind
            break
    return Attachment(kind=kind, mime=mime)


@dataclass(slots=True)
class _Entry:
    """One timestamped line and the continuation lines that follow it (the one being read)."""

    header: Header
    kind: str  # "text" | "media" | "system" | "deleted"
    author: str = ""
    text: str = ""
    attachment: Attachment | None = None
    more: list[str] = field(default_factory=list)
    more_line: int | None = None
    size: int = 0
    dropped: int = 0  # continuation lines of a system line: counted, not kept


def _classify(h: Header) -> _Entry:
    """What a header line starts: someone's words, media, a notice or a deletion marker.

    A deletion marker is only provisional here: :func:`read` turns it into words when lines
    follow it.
    """
    rest = h.rest.lstrip(_MARKS)
    if not h.ios and _SYSTEM_WITH_COLON.match(rest):
        return _Entry(h, "system")
    name, sep, text = rest.partition(": ")
    if not sep and rest.endswith(":"):  # "Mia:" and the words on the next line
        name = rest[:-1]
    author = name.strip(_MARKS + " \t")
    if not (sep or rest.endswith(":")) or not author:
        return _Entry(h, "system")
    marked = text.startswith(_LRM)
    body = text.lstrip(_LRM)
    attachment = media_attachment(body, ios=h.ios)
    if attachment is not None:
        return _Entry(h, "media", author=author, attachment=attachment)
    if _DELETED.match(body.strip()) and (marked or not h.ios):
        return _Entry(h, "deleted", author=author, text=body, size=len(body))
    if h.ios and marked and _IOS_NOTICE.match(body):
        return _Entry(h, "system")
    return _Entry(h, "text", author=author, text=body, size=len(body))


def _too_long(size: int, limit: int, path: str, line: int) -> InputError:
    """The error ``_fields.check_length`` gives, for a size counted while reading."""
    return InputError(
        f"message of {size:,} characters exceeds the limit of {limit:,} (max_message_chars)",
        path=path,
        line=line,
    )


@dataclass(slots=True)
class _Lines:
    """Line numbers of one kind, for a warning: how many, and the first few."""

    count: int = 0
    listed: list[int] = field(default_factory=list)

    def add(self, lineno: int) -> None:
        self.count += 1
        if len(self.listed) < _LIST_AT_MOST:
            self.listed.append(lineno)

    def report(self, path: str, what: str, warn: WarnFn) -> None:
        if not self.count:
            return
        more = self.count - len(self.listed)
        names = ", ".join(map(str, self.listed)) + (f" and {more} more" if more else "")
        warn(ReadWarning(path, self.listed[0], f"{self.count} line(s) {what}: lines {names}"))


def _first_pass(path: Path, where: str, warn: WarnFn) -> tuple[bool, bool]:
    """``(ios, day_first)`` from the header lines alone; nothing else is kept.

    Raises the :class:`InputError` of :class:`DateOrder`, of :func:`iter_text_lines`, and one
    for text before the first timestamp or a file without any.
    """
    order = DateOrder(where)
    ios: bool | None = None
    for lineno, raw in iter_text_lines(path):
        line = raw.lstrip(LINE_MARKS)
        header = parse_header(lineno, line, ios)
        if header is not None:
            ios = header.ios
            order.add(header)
        elif ios is None and line.strip():
            what = (
                "a line like a WhatsApp message line whose date or time cannot be read"
                if looks_like_header(line)
                else "text that continues no message"
            )
            raise InputError(
                f"expected a WhatsApp message line (date, time, name), found {what}",
                path=where,
                line=lineno,
            )
    if ios is None:
        raise InputError("no messages (no WhatsApp message lines)", path=where)
    return ios, order.day_first(warn)


def read(
    path: Path, *, max_message_chars: int, warn: WarnFn, options: dict[str, str]
) -> Iterator[Conversation]:
    """Read one WhatsApp chat export into one :class:`Conversation` (id = the file stem).

    Two passes over the file: the first reads only the timestamps (shape, date order, every
    date and time checked), the second the messages, so no more than the messages is held.
    ``options`` is unused. Messages have ``line`` 1..n, ``source`` ``"path:lineno"`` of their
    first line, ``time`` ISO local without offset, ``at=None``. Warnings: how many system lines
    and deletion markers (and continuation lines below them) were not read as messages; which
    lines look like a new message but were kept as text; and when the date order was guessed.

    Raises
    ------
    InputError
        A UTF-16 file, a line that is not UTF-8, text before the first timestamp, dates in both
        day/month and month/day order, an impossible date or time, a message longer than
        ``max_message_chars``, or no messages at all.
    """
    del options
    where = str(path)
    refuse_utf16(path)
    ios, day_first = _first_pass(path, where, warn)
    other_shape, header_like = _Lines(), _Lines()
    skipped = {"system": 0, "deleted": 0}
    skipped_more = 0  # continuation lines of skipped entries
    first_skipped: int | None = None
    cid = path.stem
    messages: list[Message] = []
    authors: dict[str, str] = {}  # one string per author, shared by their messages
    dates: dict[str, str] = {}  # date text -> ISO date (one per day of the chat)
    last_time: tuple[tuple[object, ...], str] | None = None  # same minute, same string

    def add(
        author: str, text: str, lineno: int, time: str, attachment: Attachment | None = None
    ) -> None:
        if len(text) > max_message_chars:
            raise _too_long(len(text), max_message_chars, where, lineno)
        messages.append(
            Message(
                conversation=cid,
                author=authors.setdefault(author, author),
                text=text,
                line=len(messages) + 1,
                time=time,
                source=f"{where}:{lineno}",
                attachments=(attachment,) if attachment is not None else (),
                kind="media" if attachment is not None else "text",
            )
        )

    def close(e: _Entry) -> None:
        nonlocal skipped_more, first_skipped, last_time
        h = e.header
        if e.kind == "deleted" and any(e.more):
            e.kind = "text"  # a marker and more lines: the marker is the start of words
        if e.kind in skipped:
            skipped[e.kind] += 1
            skipped_more += len(e.more) + e.dropped
            first_skipped = first_skipped or h.lineno
            return
        key = (h.date_text, h.hour, h.minute, h.second, h.ampm)
        if last_time is None or last_time[0] != key:
            day = dates.get(h.date_text) or dates.setdefault(
                h.date_text, iso_date(h, day_first, where)
            )
            last_time = (key, f"{day}T{iso_clock(h, where)}")
        time = last_time[1]
        if e.kind == "media":
            add(e.author, "", h.lineno, time, e.attachment)
            caption = "\n".join(e.more).strip("\n")
            if caption and e.more_line is not None:
                add(e.author, caption, e.more_line, time)
            return
        lines = [e.text, *e.more] if e.text or not e.more else e.more
        add(e.author, "\n".join(lines).rstrip("\n"), h.lineno, time)

    current: _Entry | None = None
    for lineno, raw in iter_text_lines(path):
        probe = raw.lstrip(LINE_MARKS)
        header = parse_header(lineno, probe, ios)
        if header is not None:
            if current is not None:
                close(current)
            current = _classify(header)
            continue
        if current is None:  # blank lines before the first header (the first pass checked)
            continue
        if parse_header(lineno, probe, not ios) is not None:
            other_shape.add(lineno)
        elif looks_like_header(probe):
            header_like.add(lineno)
        if current.kind == "system":
            current.dropped += 1
            continue
        if current.more_line is None:
            current.more_line = lineno
        current.more.append(raw)
        current.size += len(raw) + 1
        if current.size > max_message_chars:  # stop early instead of holding a huge message
            raise _too_long(current.size, max_message_chars, where, current.header.lineno)
    if current is not None:
        close(current)

    this, other = ("iOS", "Android") if ios else ("Android", "iOS")
    other_shape.report(
        where,
        f"have the {other} line shape in an {this} export and were kept as text of the message "
        "above (pasted text?)",
        warn,
    )
    header_like.report(
        where,
        "look like a message line (date, time, name) but do not parse as one; each was kept "
        "as text of the message above it: check who wrote it",
        warn,
    )
    total = sum(skipped.values())
    if total:
        parts = []
        if skipped["system"]:
            parts.append(f"{skipped['system']} system line(s) (encryption notice, group changes)")
        if skipped["deleted"]:
            parts.append(f"{skipped['deleted']} deleted-message marker(s)")
        tail = f", with {skipped_more} continuation line(s) below them" if skipped_more else ""
        warn(
            ReadWarning(
                where,
                first_skipped,
                "not read as messages, being nobody's words: " + "; ".join(parts) + tail,
            )
        )
    if not messages:
        raise InputError(
            f"no messages (the file holds {total} system line(s) and nothing anyone wrote)",
            path=where,
        )
    yield Conversation(id=cid, messages=messages, source=where)
