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
dotted (``p. m.``), and preceded by a space, U+00A0 or U+202F. A U+200E (left-to-right mark) at
the start of a line (iOS puts one before ``[``) is removed. So are the bidi marks WhatsApp puts
around phone-number authors (U+202A ... U+202C).

What becomes a message:

* ``Name: text`` → ``Message(kind="text")``, author = the name as written (stripped).
* Media placeholders → ``Message(kind="media", text="", attachments=(Attachment(kind, mime),))``.
  These are Android ``<Media omitted>`` (and a few of its translations), ``IMG-...jpg (file
  attached)``, and iOS ``image omitted``, ``video omitted``, ``audio omitted``, ``sticker
  omitted``, ``GIF omitted``, ``document omitted``, ``Contact card omitted`` and ``<attached:
  NAME>``. The file name only sets ``kind`` and an obvious ``mime``; it is kept nowhere else and
  no media file is opened. A caption (lines after an ``(file attached)`` line) becomes a separate
  text message by the same author.
* Nobody's words are not messages. These are Android lines without ``Name: `` (and a subject or
  group-name change, whose new name may hold ``": "``), the encryption and security-code
  notices, and the ``This message was deleted`` / ``You deleted this message`` markers. On iOS,
  where a notice carries the chat's name as author, text after ``Name: `` that starts with
  U+200E is a notice when it also reads as one (``X added Y``, ``Missed voice call``...). Any
  other text is kept as the author's words, mark removed, so an invisible U+200E typed by a
  person cannot hide a message. All of these are counted in one warning per file.

``time`` is ISO 8601 local time without an offset (``"2023-12-31T21:05:07"``, or
``"2023-12-31T21:05"`` when the export has no seconds); ``at`` is ``None`` because the export has
no time zone. Day/month order is inferred once per file; see :func:`infer_day_first`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from tutela.domain import Attachment, Conversation, Message
from tutela.errors import InputError

from ._files import iter_text_lines
from ._media import kind_from_name
from ._warn import ReadWarning, WarnFn

__all__ = ["infer_day_first", "media_attachment", "read", "sniff"]

#: Bidi marks removed from line starts and author names (LRM, RLM, embeddings, isolates, BOM).
_MARKS = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
_LRM = "\u200e"
#: Removed from the start of every line: U+200E (iOS puts it before ``[``) and a BOM.
_LINE_MARKS = "\u200e\ufeff"

_SP = "[ \u00a0\u202f]"
_DATE = (
    r"(?:(?P<y4>\d{4})(?P<ys>[./-])(?P<ym>\d{1,2})(?P=ys)(?P<yd>\d{1,2})"
    r"|(?P<a>\d{1,2})(?P<ds>[./-])(?P<b>\d{1,2})(?P=ds)(?P<y>\d{4}|\d{2}))\.?"
)
_TIME = (
    r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?"
    r"(?:" + _SP + r"?(?P<ampm>[aApP]\.?" + _SP + r"?[mM]\.?))?"
)
_ANDROID = re.compile(
    r"^" + _DATE + r",?" + _SP + _TIME + _SP + r"[-\u2013]" + _SP + r"(?P<rest>.*)$"
)
_IOS = re.compile(r"^\[" + _DATE + r",?" + _SP + _TIME + r"\]" + _SP + r"(?P<rest>.*)$")

#: Android system lines that contain ": " (a subject or group name): an actor without ": " first.
_SYSTEM_WITH_COLON = re.compile(
    r"^(?:(?!: ).)+? (?:changed the subject |changed the group name |created group |"
    r"changed this group's )"
)
#: Notices recognised in the text after ``Name: `` even without the U+200E mark.
_NOTICE = re.compile(
    r"^(?:Messages and calls are end-to-end encrypted|"
    r"Messages to this group are now secured with end-to-end encryption|"
    r"Your security code with .+ changed|.+'s security code changed|"
    r"Missed (?:group )?(?:voice|video) call$)"
)
#: Notices iOS writes after ``ChatName: `` and a U+200E (group changes, calls): only read as
#: notices when the text starts with that mark, because a person could write the same words.
_MARKED_NOTICE = re.compile(
    r"^(?:.+ (?:added|removed) .+|.+ left|.+ joined using this group's invite link|.+ joined|"
    r"(?:You|.+) created (?:group|this group).*|"
    r"(?:You|.+) changed (?:the subject|this group's|the group|their phone number|to ).*|"
    r"(?:You|.+) deleted this group's icon|You were added.*|You're now an admin|"
    r"You are now an admin|.+ is a contact\.?|This chat is with a business account.*|"
    r"Missed (?:group )?(?:voice|video) call.*|(?:You|.+) turned (?:on|off) disappearing .*|"
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


def sniff(head: str) -> bool:
    """True when the first non-blank line of ``head`` is a WhatsApp message line.

    ``head`` is the file's start as text. U+200E and a BOM are removed from the line first.
    Both the Android (``date, time - ``) and iOS (``[date, time] ``) shapes count. IRC logs,
    CSV, JSON and PAN12 XML never match: none has a full date, a time and `` - `` or ``] ``.
    """
    for line in head.splitlines():
        line = line.lstrip(_LINE_MARKS)
        if not line.strip():
            continue
        return bool(_ANDROID.match(line) or _IOS.match(line))
    return False


def media_attachment(text: str) -> Attachment | None:
    """The :class:`Attachment` a placeholder text stands for, or ``None`` if it is not one.

    ``text`` is the message text with leading bidi marks removed. ``kind`` comes from WhatsApp's
    file naming (``IMG-``, ``-PHOTO-``...) or the extension; ``mime`` only when the extension
    makes it obvious. ``url`` stays ``None``: the file name is not kept.
    """
    body = text.strip()
    if body in _OMITTED_ANDROID:
        return Attachment(kind="file")
    if body in _OMITTED_IOS:
        return Attachment(kind=_OMITTED_IOS[body])
    if body.endswith(_LRM + "document omitted"):  # "report.pdf • 3 pages \u200edocument omitted"
        return Attachment(kind="file")
    m = _FILE_ATTACHED.match(body) or _ATTACHED_IOS.match(body)
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
class _Header:
    """A timestamped line: where it is and its raw date and time fields."""

    lineno: int
    year_first: bool
    fields: tuple[int, int, int]  # (y, m, d) when year_first, else (a, b, y)
    sep: str
    hour: int
    minute: int
    second: int | None
    ampm: str | None
    rest: str
    ios: bool


def _header(lineno: int, line: str) -> _Header | None:
    ios = False
    m = _ANDROID.match(line)
    if m is None:
        m = _IOS.match(line)
        ios = True
    if m is None:
        return None
    if m.group("y4") is not None:
        fields = (int(m.group("y4")), int(m.group("ym")), int(m.group("yd")))
        year_first, sep = True, m.group("ys")
    else:
        y = m.group("y")
        year = int(y) + 2000 if len(y) == 2 else int(y)
        fields = (int(m.group("a")), int(m.group("b")), year)
        year_first, sep = False, m.group("ds")
    ampm = m.group("ampm")
    return _Header(
        lineno=lineno,
        year_first=year_first,
        fields=fields,
        sep=sep,
        hour=int(m.group("h")),
        minute=int(m.group("mi")),
        second=int(m.group("s")) if m.group("s") is not None else None,
        ampm=ampm,
        rest=m.group("rest"),
        ios=ios,
    )


def infer_day_first(headers: list[_Header], path: str, warn: WarnFn) -> bool:
    """Decide once per file whether ``a/b/y`` dates are day/month (True) or month/day (False).

    A first field above 12 anywhere means day-first; a second field above 12 means month-first;
    both in one file is an :class:`InputError` naming one line of each. When neither occurs the
    order is guessed, with a warning. Dots (``31.12.23``) suggest day-first. A ``/`` with an
    upper-case ``AM``/``PM`` suggests month-first (en_US). Anything else is read day-first.
    """
    day_line = month_line = None
    for h in headers:
        if h.year_first:
            continue
        a, b, _ = h.fields
        if a > 12 and day_line is None:
            day_line = h.lineno
        if b > 12 and month_line is None:
            month_line = h.lineno
    if day_line is not None and month_line is not None:
        raise InputError(
            f"the dates mix day/month order (line {day_line}) and month/day order "
            f"(line {month_line}); export the chat again or split the file",
            path=path,
            line=max(day_line, month_line),
        )
    if day_line is not None:
        return True
    if month_line is not None:
        return False
    ambiguous = [h for h in headers if not h.year_first]
    if not ambiguous:
        return True
    if any(h.sep == "." for h in ambiguous):
        day_first, reason = True, "dates written with dots are day-first"
    elif any(h.sep == "/" and h.ampm and h.ampm[0] in "AP" for h in ambiguous):
        day_first, reason = False, "a 12-hour clock with AM/PM and slashes is the US month-first"
    else:
        day_first, reason = True, "no hint in the file; day-first is the more common order"
    order = "day/month" if day_first else "month/day"
    warn(
        ReadWarning(
            path,
            None,
            f"date order guessed as {order}: no day above 12 in the file ({reason}); "
            "check the message times",
        )
    )
    return day_first


def _iso_time(h: _Header, day_first: bool, path: str) -> str:
    if h.year_first:
        year, month, day = h.fields
    else:
        a, b, year = h.fields
        day, month = (a, b) if day_first else (b, a)
    try:
        date(year, month, day)
    except ValueError:
        raise InputError(
            f"invalid date {'/'.join(map(str, h.fields))} in the timestamp",
            path=path,
            line=h.lineno,
        ) from None
    hour = h.hour
    if h.ampm is not None:
        if not 1 <= hour <= 12:
            raise InputError(
                f"invalid 12-hour time {h.hour}:{h.minute:02d}", path=path, line=h.lineno
            )
        pm = h.ampm[0] in "pP"
        hour = (hour % 12) + (12 if pm else 0)
    if hour > 23 or h.minute > 59 or (h.second is not None and h.second > 59):
        raise InputError(f"invalid time {h.hour}:{h.minute:02d}", path=path, line=h.lineno)
    out = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{h.minute:02d}"
    return out if h.second is None else f"{out}:{h.second:02d}"


@dataclass(slots=True)
class _Entry:
    """One timestamped line and the continuation lines that follow it."""

    header: _Header
    kind: str  # "text" | "media" | "system" | "deleted"
    author: str = ""
    text: str = ""
    attachment: Attachment | None = None
    more: list[str] = field(default_factory=list)
    more_line: int | None = None
    size: int = 0


def _classify(h: _Header) -> _Entry:
    rest = h.rest.lstrip(_MARKS)
    if _SYSTEM_WITH_COLON.match(rest):
        return _Entry(h, "system")
    name, sep, text = rest.partition(": ")
    author = name.strip(_MARKS + " \t")
    if not sep or not author:
        return _Entry(h, "system")
    marked = text.startswith(_LRM)
    body = text.lstrip(_LRM)
    attachment = media_attachment(body)
    if attachment is not None:
        return _Entry(h, "media", author=author, attachment=attachment)
    if _DELETED.match(body.strip()):
        return _Entry(h, "deleted")
    if _NOTICE.match(body) or (marked and _MARKED_NOTICE.match(body)):
        return _Entry(h, "system")
    return _Entry(h, "text", author=author, text=body, size=len(body))


def _too_long(size: int, limit: int, path: str, line: int) -> InputError:
    """The error ``_fields.check_length`` gives, for a size counted while reading."""
    return InputError(
        f"message of {size:,} characters exceeds the limit of {limit:,} (max_message_chars)",
        path=path,
        line=line,
    )


def read(
    path: Path, *, max_message_chars: int, warn: WarnFn, options: dict[str, str]
) -> Iterator[Conversation]:
    """Read one WhatsApp chat export into one :class:`Conversation` (id = the file stem).

    ``options`` is unused. Messages have ``line`` 1..n, ``source`` ``"path:lineno"`` of their
    first line, ``time`` ISO local without offset, ``at=None``. One warning tells how many
    system lines and deletion markers were not read as messages; another says when the date
    order was guessed.

    Raises
    ------
    InputError
        A line that is not UTF-8, a continuation line before the first timestamp, dates in both
        day/month and month/day order, an impossible date or time, a message longer than
        ``max_message_chars``, or no messages at all.
    """
    del options
    where = str(path)
    entries: list[_Entry] = []
    current: _Entry | None = None
    for lineno, raw in iter_text_lines(path):
        line = raw.lstrip(_LINE_MARKS)
        header = _header(lineno, line)
        if header is not None:
            current = _classify(header)
            entries.append(current)
            continue
        if current is None:
            if not line.strip():
                continue
            raise InputError(
                "expected a WhatsApp message line (date, time, name), found text that "
                "continues no message",
                path=where,
                line=lineno,
            )
        if current.kind in ("system", "deleted"):
            continue
        if current.more_line is None:
            current.more_line = lineno
        current.more.append(line)
        current.size += len(line) + 1
        if current.size > max_message_chars:  # stop early instead of holding a huge message
            raise _too_long(current.size, max_message_chars, where, current.header.lineno)

    day_first = infer_day_first([e.header for e in entries], where, warn)
    cid = path.stem
    messages: list[Message] = []
    skipped = {"system": 0, "deleted": 0}
    first_skipped: int | None = None

    def add(
        author: str, text: str, lineno: int, time: str, attachment: Attachment | None = None
    ) -> None:
        if len(text) > max_message_chars:
            raise _too_long(len(text), max_message_chars, where, lineno)
        messages.append(
            Message(
                conversation=cid,
                author=author,
                text=text,
                line=len(messages) + 1,
                time=time,
                source=f"{where}:{lineno}",
                attachments=(attachment,) if attachment is not None else (),
                kind="media" if attachment is not None else "text",
            )
        )

    for e in entries:
        time = _iso_time(e.header, day_first, where)
        if e.kind in skipped:
            skipped[e.kind] += 1
            if first_skipped is None:
                first_skipped = e.header.lineno
            continue
        if e.kind == "media":
            add(e.author, "", e.header.lineno, time, e.attachment)
            caption = "\n".join(e.more).strip("\n")
            if caption and e.more_line is not None:
                add(e.author, caption, e.more_line, time)
            continue
        text = "\n".join([e.text, *e.more]).rstrip("\n") if e.more else e.text
        add(e.author, text, e.header.lineno, time)

    total = sum(skipped.values())
    if total:
        parts = []
        if skipped["system"]:
            parts.append(f"{skipped['system']} system line(s) (encryption notice, group changes)")
        if skipped["deleted"]:
            parts.append(f"{skipped['deleted']} deleted-message marker(s)")
        warn(
            ReadWarning(
                where,
                first_skipped,
                "not read as messages, being nobody's words: " + "; ".join(parts),
            )
        )
    if not messages:
        raise InputError(
            f"no messages (the file holds {total} system line(s) and nothing anyone wrote)"
            if total
            else "no messages (no WhatsApp message lines)",
            path=where,
        )
    yield Conversation(id=cid, messages=messages, source=where)
