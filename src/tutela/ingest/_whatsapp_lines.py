"""Timestamped lines of a WhatsApp export: their shapes, their dates, and the date order of a file.

Used by :mod:`tutela.ingest.whatsapp`, which documents the line shapes (WhatsApp FAQ "How to
export your chat history"; the test files of ``whatstk`` and ``chat-miner``). Here:

* :func:`parse_header` reads one line as an Android (``date, time - rest``) or iOS
  (``[date, time] rest``) header;
* :func:`looks_like_header` tells a line that starts like one but does not parse (a five-digit
  year, an hour of 25), which the reader keeps as text but names in a warning;
* :class:`DateOrder` gathers, in a first pass over the file, what each header's date says
  about the day/month order, and checks every date and time on the way;
* :func:`iso_date` and :func:`iso_clock` write a header's date (once the order is known) and
  time of day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from tutela.errors import InputError

from ._warn import ReadWarning, WarnFn

__all__ = [
    "LINE_MARKS",
    "DateOrder",
    "Header",
    "iso_clock",
    "iso_date",
    "looks_like_header",
    "parse_header",
]

#: Removed from the start of a line before it is matched as a header: U+200E (iOS puts one
#: before ``[``) and a BOM. Continuation lines keep them: they are part of the text.
LINE_MARKS = "\u200e\ufeff"

_SP = "[ \u00a0\u202f]"
_DATE = (
    r"(?P<date>(?P<y4>\d{4})(?P<ys>[./-])(?P<ym>\d{1,2})(?P=ys)(?P<yd>\d{1,2})"
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
#: A line that starts like a header: digits and date separators, digits and colons, then
#: `` - `` or ``] ``. Looser than the two shapes above on purpose.
_HEADER_LIKE = re.compile(
    r"^\[?\d{1,6}[./-]\d{1,6}[./-]\d{1,6}\.?,?" + _SP + r"*\d{1,3}[:.]\d{1,3}(?:[:.]\d{1,3})?"
    r"[^\]\n]{0,12}?(?:\]" + _SP + r"|" + _SP + r"[-\u2013]" + _SP + r")"
)


#: The groups :func:`parse_header` reads, fetched in one call (it runs on every line).
_GROUPS = ("y4", "ym", "yd", "ys", "a", "b", "y", "ds", "h", "mi", "s", "ampm", "date", "rest")


@dataclass(slots=True)
class Header:
    """A timestamped line: where it is, its raw date and time fields and the text after them."""

    lineno: int
    ios: bool
    year_first: bool
    fields: tuple[int, int, int]  # (y, m, d) when year_first, else (a, b, y)
    date_text: str
    sep: str
    hour: int
    minute: int
    second: int | None
    ampm: str | None
    rest: str


def parse_header(lineno: int, line: str, ios: bool | None) -> Header | None:
    """``line`` (marks already removed) as a header of the given shape, or ``None``.

    ``ios`` is ``True`` for the iOS shape only, ``False`` for Android only, ``None`` for either
    (the first line of a file, which decides its shape). Two-digit years are 20xx.
    """
    m = _ANDROID.match(line) if ios is not True else None
    is_ios = m is None
    if is_ios and ios is not False:
        m = _IOS.match(line)
    if m is None:
        return None
    y4, ym, yd, ys, a, b, y, ds, hour, minute, second, ampm, date_text, rest = m.group(*_GROUPS)
    if y4 is not None:
        fields = (int(y4), int(ym), int(yd))
        year_first, sep = True, ys
    else:
        fields = (int(a), int(b), int(y) + 2000 if len(y) == 2 else int(y))
        year_first, sep = False, ds
    return Header(
        lineno=lineno,
        ios=is_ios,
        year_first=year_first,
        fields=fields,
        date_text=date_text,
        sep=sep,
        hour=int(hour),
        minute=int(minute),
        second=int(second) if second is not None else None,
        ampm=ampm,
        rest=rest,
    )


def looks_like_header(line: str) -> bool:
    """True when ``line`` (marks removed) starts like a header: date, time, `` - `` or ``] ``."""
    return _HEADER_LIKE.match(line) is not None


def _valid(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _hour24(h: Header, path: str) -> int:
    """The header's hour on a 24-hour clock; an :class:`InputError` for a time no clock shows."""
    hour = h.hour
    if h.ampm is not None:
        if not 1 <= hour <= 12:
            raise InputError(
                f"invalid 12-hour time {h.hour}:{h.minute:02d}", path=path, line=h.lineno
            )
        hour = (hour % 12) + (12 if h.ampm[0] in "pP" else 0)
    if hour > 23 or h.minute > 59 or (h.second is not None and h.second > 59):
        raise InputError(f"invalid time {h.hour}:{h.minute:02d}", path=path, line=h.lineno)
    return hour


class DateOrder:
    """What the headers of one file say about its date order (first pass; no text is kept).

    :meth:`add` each header; :meth:`day_first` then decides. A date impossible in both orders
    (``31/13/2023``, ``30/02/2024``) and an impossible time are :class:`InputError` at once,
    naming the line.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.day_line: int | None = None  # first date only valid as day/month
        self.month_line: int | None = None  # first date only valid as month/day
        self.ambiguous = False
        self.dots = False
        self.us_clock = False
        self._seen: set[tuple[str, bool]] = set()  # dates already weighed (one per day)

    def add(self, h: Header) -> None:
        """Check one header's date and time and note what its date says about the order."""
        _hour24(h, self.path)
        key = (h.date_text, bool(h.ampm and h.ampm[0] in "AP"))
        if key in self._seen:
            return
        self._seen.add(key)
        if h.year_first:
            if not _valid(*h.fields):
                raise self._invalid(h)
            return
        a, b, year = h.fields
        day_month, month_day = _valid(year, b, a), _valid(year, a, b)
        if not (day_month or month_day):
            raise self._invalid(h)
        if day_month and not month_day:
            self.day_line = self.day_line or h.lineno
        elif month_day and not day_month:
            self.month_line = self.month_line or h.lineno
        else:
            self.ambiguous = True
            self.dots = self.dots or h.sep == "."
            self.us_clock = self.us_clock or (h.sep == "/" and bool(h.ampm and h.ampm[0] in "AP"))

    def _invalid(self, h: Header) -> InputError:
        return InputError(
            f"invalid date {h.date_text} in the timestamp (no day and month read either way)",
            path=self.path,
            line=h.lineno,
        )

    def day_first(self, warn: WarnFn) -> bool:
        """Whether ``a/b/y`` dates are day/month (True) or month/day (False), for the whole file.

        A date valid only as day/month anywhere means day-first; only as month/day means
        month-first; both in one file is an :class:`InputError` naming one line of each.
        When no date settles it the order is guessed, with a warning: dots (``31.12.23``)
        suggest day-first, ``/`` with an upper-case ``AM``/``PM`` month-first (en_US), and
        anything else is read day-first.
        """
        if self.day_line is not None and self.month_line is not None:
            raise InputError(
                f"the dates mix day/month order (line {self.day_line}) and month/day order "
                f"(line {self.month_line}); export the chat again or split the file",
                path=self.path,
                line=max(self.day_line, self.month_line),
            )
        if self.day_line is not None:
            return True
        if self.month_line is not None:
            return False
        if not self.ambiguous:  # no a/b/y date at all (year-first dates only)
            return True
        if self.dots:
            day_first, reason = True, "dates written with dots are day-first"
        elif self.us_clock:
            day_first, reason = False, "a 12-hour clock with AM/PM and slashes is US month-first"
        else:
            day_first, reason = True, "no hint in the file; day-first is the more common order"
        order = "day/month" if day_first else "month/day"
        warn(
            ReadWarning(
                self.path,
                None,
                f"date order guessed as {order}: no day above 12 in the file ({reason}); "
                "check the message times",
            )
        )
        return day_first


def iso_date(h: Header, day_first: bool, path: str) -> str:
    """The header's date as ISO 8601 (``2023-12-31``), once the order is known."""
    if h.year_first:
        year, month, day = h.fields
    else:
        a, b, year = h.fields
        day, month = (a, b) if day_first else (b, a)
    if not _valid(year, month, day):  # DateOrder has refused these already
        raise InputError(f"invalid date {h.date_text} in the timestamp", path=path, line=h.lineno)
    return f"{year:04d}-{month:02d}-{day:02d}"


def iso_clock(h: Header, path: str) -> str:
    """The header's time of day on a 24-hour clock: ``21:05`` or ``21:05:07``."""
    out = f"{_hour24(h, path):02d}:{h.minute:02d}"
    return out if h.second is None else f"{out}:{h.second:02d}"
