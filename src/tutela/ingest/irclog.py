"""Reader for IRC client logs: irssi, WeeChat, HexChat and ZNC (also mIRC-style ``[HH:MM]``).

No maintained parser on PyPI reads these (issue 11), so Tutela has its own. Each client's
default log format, as its documentation gives it:

irssi (``log_timestamp = "%H:%M "``, default theme; irssi.org "Logging")::

    --- Log opened Tue Dec 01 10:00:00 2026
    10:00 < nick> text          10:00 <@nick> text        (mode column: space @ + % & ~)
    10:00  * nick waves         /me action
    10:00 -!- nick [user@host] has joined #room           joins, quits, parts, modes, nicks
    --- Day changed Wed Dec 02 2026

WeeChat (logger plugin, ``logger.file.time_format = "%Y-%m-%d %H:%M:%S"``, tab-separated)::

    2026-12-01 10:00:00<TAB>@nick<TAB>text
    2026-12-01 10:00:00<TAB> *<TAB>nick waves                  action (weechat.look.prefix_action)
    2026-12-01 10:00:00<TAB>--><TAB>nick (~u@h) has joined #room     also <--, --, =!=

HexChat (``text.stamp_log_format = "%b %d %H:%M:%S "``, prefix and text separated by a tab)::

    **** BEGIN LOGGING AT Tue Dec  1 10:00:00 2026
    Dec 01 10:00:00 <nick><TAB>text
    Dec 01 10:00:00 *<TAB>nick waves
    Dec 01 10:00:00 --><TAB>nick (~u@h) has joined #room           also <--, ---

ZNC (``log`` module, ``[%H:%M:%S]``; the date is in the file name, ``2026-12-01.log`` or
``#room_20261201.log``)::

    [10:00:00] <nick> text
    [10:00:00] * nick waves
    [10:00:00] *** Joins: nick (~u@h)                  also Quits, Parts, nick and mode changes

Joins, quits, parts, nick and mode changes, topics, day changes and log opened/closed lines are
not messages; they are counted in one warning per file. A ``/me`` action is
``Message(kind="action", text=<the words after the nick>)``. Where a client writes events with the
``*`` prefix of actions (mIRC-style ``* nick has joined #room``; HexChat's ``*`` server lines),
a line is an event only in the client's exact wording (``has joined #room``, ``is now known as
x``, ``Now talking on #room``...); anything else there is someone's action, so
``* tom has left the chat, see you`` stays tom's words.
Notices from a nick (``-nick- text``) are text messages. Authors are nicks without their mode
prefix, lower-cased, because IRC nicks compare case-insensitively (RFC 1459 section 2.2).

Decoding is per line. UTF-8 comes first, else Windows-1252, and a byte that code page leaves
undefined becomes U+FFFD. Any C1 control left (U+0080-U+009F) is replaced by U+FFFD, and mIRC
formatting codes (bold, colour...) are removed. Each of these repairs gives one warning per file,
naming how many lines it touched and the first one. A UTF-16 file (Windows "Unicode" text) is
refused by name, before its NULs could be taken for control codes.

``time`` is ISO local time when the log gives the date: ``"2026-12-01T10:00"`` (irssi, from
``Log opened`` and ``Day changed``), ``"2026-12-01T10:00:00"`` (WeeChat; HexChat with the year of
``BEGIN LOGGING``; ZNC with the date of the file name). Otherwise it is the log's own time text
(``"10:00:00"``, ``"Dec 01 10:00:00"``). ``at`` is ``None``: logs carry no time zone. A time or
date no clock shows (``25:99:99``, ``Feb 30``) is an error naming the line.

HexChat's stamp has no year. Each line takes the year that puts it soonest after the line above
(``Dec 31`` then ``Jan 01`` is the new year). A line is read as earlier than the one above only
when that is under a quarter as far back as the next such date is ahead: ``Dec 31`` after
``Jan 01`` is the day before, not a year later. Such out-of-order lines are counted in a
warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from tutela.domain import Conversation, Message
from tutela.encodings import decode_utf8_or_cp1252
from tutela.errors import InputError

from ._utf16 import refuse_utf16
from ._warn import ReadWarning, WarnFn

__all__ = ["CLIENTS", "decode_line", "detect_client", "read", "sniff"]

#: The clients whose logs this module reads.
CLIENTS = ("irssi", "weechat", "hexchat", "znc")

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_MODES = "@+%&~! "
#: A nick: no space or angle bracket, not starting with a mode sign or the punctuation of
#: event prefixes (``-->``, ``--``, ``=!=``, ``*``).
_NICK = r"[^\s<>@+%&~!=*:\-][^\s<>]*"

# --- irssi ---------------------------------------------------------------------------------
_IRSSI_LOG = re.compile(r"^--- Log (?:opened|closed) (?P<when>.+)$")
_IRSSI_DAY = re.compile(r"^--- Day changed (?P<when>.+)$")
_IRSSI_LINE = re.compile(r"^(?P<t>\d{2}:\d{2}(?::\d{2})?) (?P<body>.*)$")
_IRSSI_MSG = re.compile(r"^<[ @+%&~!]?(?P<nick>" + _NICK + r")>(?: (?P<text>.*))?$")
_IRSSI_ACTION = re.compile(r"^ ?\* (?P<nick>" + _NICK + r")(?: (?P<text>.*))?$")
_IRSSI_EVENT = re.compile(r"^-!- ")
# -nick(user@host)- text (private notice), -nick:#room- text (channel notice)
_NOTICE = re.compile(r"^-(?P<nick>[^\s()<>:-][^\s()<>:]*?)(?:\([^)\s]*\)|:\S+?)?- (?P<text>.*)$")
_IRSSI_ANY = re.compile(
    r"^(?:--- (?:Log opened|Log closed|Day changed) |\d{2}:\d{2}(?::\d{2})? "
    r"(?:<[ @+%&~!]?" + _NICK + r">|-!- | ?\* \S|-\S+- ))"
)

# --- WeeChat -------------------------------------------------------------------------------
_WEECHAT_LINE = re.compile(
    r"^(?P<d>\d{4}-\d{2}-\d{2}) (?P<t>\d{2}:\d{2}:\d{2})\t(?P<prefix>[^\t]*)\t(?P<text>.*)$"
)

# --- HexChat -------------------------------------------------------------------------------
_HEXCHAT_LOG = re.compile(
    r"^\*\*\*\* (?:BEGIN|ENDING) LOGGING AT \w{3} (?P<mon>\w{3}) +(?P<day>\d{1,2}) "
    r"\d{2}:\d{2}:\d{2} (?P<year>\d{4})\s*$"
)
_HEXCHAT_LINE = re.compile(
    r"^(?P<mon>[A-Z][a-z]{2}) (?P<day>[ \d]\d) (?P<t>\d{2}:\d{2}:\d{2}) (?P<prefix>[^\t]*)\t"
    r"(?P<text>.*)$"
)
_HEXCHAT_ANY = re.compile(
    r"^(?:\*\*\*\* (?:BEGIN|ENDING) LOGGING AT |[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} [^\t]*\t)"
)
_CHAN = r"[#&+!]\S*"
#: HexChat text events printed with the ``*`` prefix that are not ``/me`` actions, in HexChat's
#: own English wording (``src/common/textevents.in``); the whole line must match.
_HEXCHAT_STAR_EVENT = re.compile(
    r"^(?:Now talking on " + _CHAN + r"|Topic for " + _CHAN + r" is: .*|"
    r"Topic for " + _CHAN + r" set by \S+(?: \(.*\))?|Disconnected \(.*\)\.?|"
    r"Connecting to \S+ \(.*\) port \d+\.{0,3}|Connected\. Now logging in\.{0,3}|"
    r"Looking up \S+\.{0,3}|Loaded log from .+|Cannot join " + _CHAN + r" \(.*\)\.?|"
    r"You are now known as \S+|Capabilities (?:acknowledged|requested|supported): .*|"
    r"Welcome to the .*(?:Network|IRC).*|Channel " + _CHAN + r" created on .+|"
    r"Channel " + _CHAN + r" modes: .*|Ping reply from \S+: .*|Received a CTCP .+ from \S+.*)$"
)

# --- ZNC (and mIRC) ------------------------------------------------------------------------
_ZNC_LINE = re.compile(r"^\[(?P<t>\d{2}:\d{2}(?::\d{2})?)\] (?P<body>.*)$")
_ZNC_MSG = re.compile(r"^<[@+%&~!]?(?P<nick>" + _NICK + r")>(?: (?P<text>.*))?$")
_ZNC_ACTION = re.compile(r"^\* (?P<nick>" + _NICK + r")(?: (?P<text>.*))?$")
_ZNC_ANY = re.compile(
    r"^\[\d{2}:\d{2}(?::\d{2})?\] (?:<[@+%&~!]?" + _NICK + r">|\*\*\* |\* \S|-\S+- )"
)
#: mIRC writes joins, quits and mode changes as ``* nick ...``, like an action. Only these exact
#: shapes (the text after the nick) are events; other text is a ``/me`` action.
_STAR_EVENT_TEXT = re.compile(
    r"^(?:\(\S*@\S*\) )?(?:has joined " + _CHAN + r"|has left " + _CHAN + r"(?: \(.*\))?|"
    r"Quit(?: \(.*\))?|has quit(?: IRC)?(?: \(.*\))?|is now known as \S+|"
    r"sets mode: [+-]\S*(?: .*)?|has kicked \S+ from " + _CHAN + r"(?: \(.*\))?|"
    r"was kicked (?:from " + _CHAN + r" )?by \S+(?: \(.*\))?|changes topic to '.*')$"
)
#: mIRC's own event lines after ``* ``: no nick (a nick never holds ":"), or the join banner.
_MIRC_STAR_EVENT = re.compile(
    r"^\* (?:(?:Joins|Parts|Quits): \S+(?: \(.*\))*|Now talking in " + _CHAN + r"|"
    r"Topic is '.*'|Set by \S+ on .+)$"
)
_FILE_DATE = re.compile(r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?!\d)")

_ANY = {
    "irssi": _IRSSI_ANY,
    "weechat": _WEECHAT_LINE,
    "hexchat": _HEXCHAT_ANY,
    "znc": _ZNC_ANY,
}

#: mIRC formatting: bold, colour (with its digits), hex colour, reset, monospace, reverse,
#: italic, strike-through, underline; and other C0 controls except the tab.
_FORMATTING = re.compile(
    "\x03(?:\\d{1,2}(?:,\\d{1,2})?)?|\x04(?:[0-9A-Fa-f]{6}(?:,[0-9A-Fa-f]{6})?)?"
    "|[\x00-\x02\x05-\x08\x0b-\x1f\x7f]"
)


def decode_line(raw: bytes) -> tuple[str, bool, bool]:
    """Decode one log line: ``(text, was_windows_1252, had_c1_controls)``.

    UTF-8 first; otherwise Windows-1252 (``0x92`` → U+2019), where the five bytes that code page
    leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) become U+FFFD. Any C1 control (U+0080 to
    U+009F) left, e.g. from UTF-8-encoded Latin-1 mojibake, is replaced by U+FFFD. The result never
    holds one. The line ending is removed.
    """
    return decode_utf8_or_cp1252(raw.rstrip(b"\r\n"))


def detect_client(lines: list[str]) -> str | None:
    """The client of the first of ``lines`` that matches one client's line patterns, or ``None``."""
    for line in lines:
        for client, pattern in _ANY.items():
            if pattern.match(line):
                return client
    return None


def sniff(head: str) -> bool:
    """True when ``head`` (the file's start) reads as one client's IRC log.

    The client is taken from the first of the first 20 non-blank lines that matches a client's
    patterns. More than half of those lines must then match that client. An irssi ``--- Log
    opened`` or HexChat ``**** BEGIN LOGGING`` first line is enough on its own. WhatsApp, CSV,
    JSON and XML never match: every pattern starts with a bare time, a ``[HH:MM]`` time, a
    WeeChat date and tab, or a HexChat month name.
    """
    lines = [line for line in head.splitlines() if line.strip()][:20]
    if not lines:
        return False
    client = detect_client(lines)
    if client is None:
        return False
    first = lines[0]
    if first.startswith(("--- Log opened ", "**** BEGIN LOGGING AT ")) and _ANY[client].match(
        first
    ):
        return True
    hits = sum(1 for line in lines if _ANY[client].match(line))
    return hits * 2 > len(lines)


@dataclass(slots=True)
class _Said:
    """One line someone wrote: ``kind`` "text" or "action"."""

    kind: str
    nick: str
    text: str
    time: str


def _month_day(mon: str, day: str) -> tuple[int, int] | None:
    month = _MONTHS.get(mon.lower())
    if month is None:
        return None
    return month, int(day)


def _iso(d: date | None, t: str, raw: str) -> str:
    return f"{d.isoformat()}T{t}" if d is not None else raw


def _irssi_date(when: str) -> date | None:
    """``Tue Dec 01 10:00:00 2026`` or ``Wed Dec 02 2026`` → a date (English names only)."""
    parts = when.split()
    if len(parts) < 4:
        return None
    md = _month_day(parts[1], parts[2]) if parts[2].isdigit() else None
    year = parts[-1]
    if md is None or not (year.isdigit() and len(year) == 4):
        return None
    try:
        return date(int(year), *md)
    except ValueError:
        return None


@dataclass(slots=True)
class _Tally:
    """Lines of one kind (a repair, an event): how many and the first."""

    what: str
    count: int = 0
    first: int | None = None

    def add(self, lineno: int) -> None:
        self.count += 1
        if self.first is None:
            self.first = lineno

    def report(self, path: str, warn: WarnFn) -> None:
        if self.count:
            warn(ReadWarning(path, self.first, f"{self.count} {self.what}"))


#: A line read as earlier than the one above must be this many times nearer than the next
#: date ahead (see :meth:`_Parser._hexchat_date`).
_BACKWARD_COST = 4


class _Parser:
    """Per-file state: the client, the date in force and what each line was."""

    def __init__(self, client: str, path: Path) -> None:
        self.client = client
        self.where = str(path)
        self.day: date | None = None
        self.hexchat_ref: date | None = None  # the date of the HexChat line above
        self.bad_date_line: int | None = None
        self.out_of_order = _Tally(
            "line(s) dated before the line above them: the log is out of order; each was "
            "given the year nearest the line above"
        )
        if client == "znc":
            m = _FILE_DATE.search(path.stem)
            if m is not None:
                try:
                    self.day = date(int(m[1]), int(m[2]), int(m[3]))
                except ValueError:
                    self.day = None

    def line(self, lineno: int, text: str) -> _Said | bool:
        """A :class:`_Said`, ``True`` for an event line (not a message), ``False`` if unknown."""
        return getattr(self, "_" + self.client)(lineno, text)

    def _invalid(self, what: str, lineno: int) -> InputError:
        return InputError(f"invalid {what} (no clock shows it)", path=self.where, line=lineno)

    def _clock(self, t: str, lineno: int) -> str:
        """``t`` (``HH:MM`` or ``HH:MM:SS``) when it is a time of day, else an InputError."""
        hour, minute, *second = (int(x) for x in t.split(":"))
        if hour > 23 or minute > 59 or (second and second[0] > 59):
            raise self._invalid(f"time {t}", lineno)
        return t

    def _hexchat_date(self, month: int, day: int, lineno: int) -> date | None:
        """The date of a HexChat ``Mon DD`` stamp, its year taken from the line above.

        Of the dates with that month and day in the year of the line above and the years
        either side, the soonest one after that line is taken, unless one before it is under
        ``1/_BACKWARD_COST`` as far back (a log out of order, counted). ``None`` while no year is
        known. An impossible month and day (``Feb 30``), or ``Feb 29`` outside a leap year, is
        an InputError.
        """
        try:
            date(2000, month, day)  # a leap year: only Feb 30, Apr 31... fail here
        except ValueError:
            raise self._invalid(f"date {month:02d}-{day:02d}", lineno) from None
        ref = self.hexchat_ref
        if ref is None:
            return None
        best: tuple[int, int] | None = None  # (cost, year)
        for year in (ref.year - 1, ref.year, ref.year + 1):
            try:
                when = date(year, month, day)
            except ValueError:  # Feb 29: measure from Mar 1 and refuse it below if chosen
                when = date(year, 3, 1)
            days = (when - ref).days
            cost = days if days >= 0 else -days * _BACKWARD_COST
            if best is None or cost < best[0]:
                best = (cost, year)
        assert best is not None
        try:
            when = date(best[1], month, day)
        except ValueError:
            raise self._invalid(f"date {best[1]}-{month:02d}-{day:02d}", lineno) from None
        if when < ref:
            self.out_of_order.add(lineno)
        self.hexchat_ref = when
        return when

    def _irssi(self, lineno: int, text: str) -> _Said | bool:
        m = _IRSSI_LOG.match(text) or _IRSSI_DAY.match(text)
        if m is not None:
            d = _irssi_date(m["when"])
            if d is None:
                self.bad_date_line = self.bad_date_line or lineno
            self.day = d or self.day
            return True
        m = _IRSSI_LINE.match(text)
        if m is None:
            return False
        t, body = self._clock(m["t"], lineno), m["body"]
        time = _iso(self.day, t, t)
        if _IRSSI_EVENT.match(body):
            return True
        for pattern, kind in ((_IRSSI_MSG, "text"), (_IRSSI_ACTION, "action"), (_NOTICE, "text")):
            b = pattern.match(body)
            if b is not None:
                return _Said(kind, b["nick"], b["text"] or "", time)
        return False

    def _weechat(self, lineno: int, text: str) -> _Said | bool:
        m = _WEECHAT_LINE.match(text)
        if m is None:
            return False
        try:
            date.fromisoformat(m["d"])
        except ValueError:
            raise self._invalid(f"date {m['d']}", lineno) from None
        time = f"{m['d']}T{self._clock(m['t'], lineno)}"
        prefix = m["prefix"].strip()
        body = m["text"]
        if prefix == "*":
            nick, _, words = body.partition(" ")
            return _Said("action", nick, words, time) if nick else False
        if prefix.startswith("<") and prefix.endswith(">"):
            prefix = prefix[1:-1]
        nick = prefix.lstrip(_MODES)
        if not nick or not re.fullmatch(_NICK, nick):
            return True  # -->, <--, --, =!= and other info prefixes
        return _Said("text", nick, body, time)

    def _hexchat(self, lineno: int, text: str) -> _Said | bool:
        m = _HEXCHAT_LOG.match(text)
        if m is not None:
            md = _month_day(m["mon"], m["day"])
            try:
                self.hexchat_ref = date(int(m["year"]), *md) if md else None
            except ValueError:
                self.hexchat_ref = None
            return True
        if text.startswith("**** "):
            return True
        m = _HEXCHAT_LINE.match(text)
        if m is None:
            return False
        raw_time = f"{m['mon']} {m['day']} {self._clock(m['t'], lineno)}"
        md = _month_day(m["mon"], m["day"].strip())
        when = self._hexchat_date(*md, lineno) if md is not None else None
        time = _iso(when, m["t"], raw_time)
        prefix, body = m["prefix"].strip(), m["text"]
        if prefix == "*":
            if _HEXCHAT_STAR_EVENT.match(body):
                return True
            nick, _, words = body.partition(" ")
            return _Said("action", nick, words, time) if nick else False
        if prefix.startswith("<") and prefix.endswith(">") and len(prefix) > 2:
            nick = prefix[1:-1].lstrip(_MODES)
            return _Said("text", nick, body, time) if nick else False
        if prefix.startswith("-") and prefix.endswith("-") and len(prefix) > 2:
            nick = prefix[1:-1]
            if re.fullmatch(_NICK, nick) and not set(nick) <= set("-!>"):
                return _Said("text", nick, body, time)
        return True  # -->, <--, ---, >nick< and other events

    def _znc(self, lineno: int, text: str) -> _Said | bool:
        m = _ZNC_LINE.match(text)
        if m is None:
            return False
        t, body = self._clock(m["t"], lineno), m["body"]
        time = _iso(self.day, t, t)
        if body.startswith("*** ") or _MIRC_STAR_EVENT.match(body):
            return True
        b = _ZNC_MSG.match(body)
        if b is not None:
            return _Said("text", b["nick"], b["text"] or "", time)
        b = _ZNC_ACTION.match(body)
        if b is not None:
            words = b["text"] or ""
            if _STAR_EVENT_TEXT.match(words):
                return True
            return _Said("action", b["nick"], words, time)
        b = _NOTICE.match(body)
        if b is not None:
            return _Said("text", b["nick"], b["text"], time)
        return False


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    where = str(path)
    lineno = 0
    try:
        with path.open("rb") as f:
            for lineno, raw in enumerate(f, start=1):
                if lineno == 1:
                    raw = raw.removeprefix(b"\xef\xbb\xbf")
                yield lineno, raw
    except OSError as e:
        raise InputError(
            f"cannot read the file: {e.strerror or e}", path=where, line=lineno or None
        ) from e


def read(
    path: Path, *, max_message_chars: int, warn: WarnFn, options: dict[str, str]
) -> Iterator[Conversation]:
    """Read one IRC log into one :class:`Conversation` (id = the file stem, all channels of it).

    The client is the one whose patterns the first recognised line matches. Lines of no known
    shape are skipped and counted in a warning. So are Windows-1252 lines, C1 controls and
    removed formatting codes. ``options`` is unused. Messages have ``line`` 1..n, ``source``
    ``"path:lineno"``, ``author`` the lower-cased nick, and ``kind`` "text" or "action".

    Event lines are counted in one warning; so are HexChat lines dated before the line
    above them.

    Raises
    ------
    InputError
        A UTF-16 file, no line of any known client, a time or date no clock shows, a message
        longer than ``max_message_chars``, or no messages at all (only joins, quits and other
        events).
    """
    del options
    where = str(path)
    refuse_utf16(path)
    cp1252 = _Tally("line(s) decoded as Windows-1252 (not UTF-8)")
    c1 = _Tally("line(s) held C1 control characters, replaced by U+FFFD")
    formatting = _Tally("line(s) held IRC formatting or control codes, removed")
    unknown = _Tally("line(s) of no IRC log shape known for this client, skipped")
    events = _Tally(
        "event line(s) not read as messages (joins, parts, quits, nick and mode changes, "
        "topics, day changes, log opened or closed)"
    )
    parser: _Parser | None = None
    pending: list[tuple[int, str]] = []  # lines before the client is known
    messages: list[Message] = []
    cid = path.stem

    def handle(lineno: int, text: str) -> None:
        assert parser is not None
        result = parser.line(lineno, text)
        if result is True:
            events.add(lineno)
            return
        if result is False:
            unknown.add(lineno)
            return
        if len(result.text) > max_message_chars:
            raise InputError(
                f"message of {len(result.text):,} characters exceeds the limit of "
                f"{max_message_chars:,} (max_message_chars)",
                path=where,
                line=lineno,
            )
        messages.append(
            Message(
                conversation=cid,
                author=result.nick.lower(),
                text=result.text,
                line=len(messages) + 1,
                time=result.time,
                source=f"{where}:{lineno}",
                kind=result.kind,
            )
        )

    for lineno, raw in _lines(path):
        text, legacy, had_c1 = decode_line(raw)
        if legacy:
            cp1252.add(lineno)
        if had_c1:
            c1.add(lineno)
        text, n = _FORMATTING.subn("", text)
        if n:
            formatting.add(lineno)
        if not text.strip():
            continue
        if parser is None:
            client = detect_client([text])
            if client is None:
                pending.append((lineno, text))
                continue
            parser = _Parser(client, path)
            for early in pending:
                unknown.add(early[0])
            pending.clear()
        handle(lineno, text)

    for tally in (cp1252, c1, formatting, unknown, events):
        tally.report(where, warn)
    if parser is None:
        raise InputError(
            "no line of an irssi, WeeChat, HexChat or ZNC log found", path=where, line=None
        )
    if parser.bad_date_line is not None:
        warn(
            ReadWarning(
                where,
                parser.bad_date_line,
                "date line not understood (English day and month names expected); times keep "
                "the previous date or the time of day only",
            )
        )
    parser.out_of_order.report(where, warn)
    if not messages:
        raise InputError(
            f"no messages (the {parser.client} log holds {events.count} event line(s): joins, "
            "quits and the like, and nothing anyone wrote)",
            path=where,
        )
    yield Conversation(id=cid, messages=messages, source=where)
