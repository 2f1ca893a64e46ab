"""Reader for CSV files with a header row: one message per record, columns mapped to fields.

Parser: the standard library's :mod:`csv` (RFC 4180 quoting, ``strict=True`` so a broken quote
is an error rather than a silently merged record), with :class:`csv.Sniffer` for the delimiter.

Columns. ``options`` (``--columns "conversation=Chat,author=From,text=Body,time=Date"``) maps
the keys ``conversation``, ``author``, ``text``, ``time``, ``date``, ``label``, ``author_label``
and ``lang`` to header names (exact, else case- and punctuation-insensitive: ``Chat ID`` matches
``chat_id``); ``delimiter`` (``,``, ``;``, ``tab``) forces the delimiter. A key that is not
mapped is looked up among its synonyms (:data:`SYNONYMS`, first match wins); ``key=`` (empty)
says the file has no such column. ``author`` and ``text`` are required; without a
``conversation`` column the whole file is one conversation whose id is the file's stem.

Date and time in two columns (``Date,Time,Author,Message``, as many spreadsheet-made logs have
them): when the time column found by synonym is called ``time`` and the header also has a
``date`` (or ``day``) column, ``time`` is the two values joined as ``"DATE TIME"``
(``"2024-01-31 21:05"``, which gives ``at`` when the time part carries a UTC offset).
``--columns date=Day,time=Hour`` joins two columns explicitly. A single ``Date``, ``Timestamp``
or ``Datetime`` column is the time as it is, and a ``Date`` column beside a ``Timestamp`` is not
joined (the timestamp has its own date).

Values: ``author`` and ``conversation`` are stripped and must not be empty; ``text`` is kept as
written, except control characters (C0 but tab and line breaks, DEL, C1: a NUL byte included),
which are removed with a warning naming the line and column (:mod:`tutela.ingest._text`);
``time`` is kept as text and gives ``at`` when it is ISO 8601 with a UTC offset; ``label`` and
``author_label`` are ``0``, ``1`` or empty; ``lang`` empty means unknown. No field may be longer
than ``max_message_chars``. Records are grouped by conversation as the ``generic`` JSONL reader
does (order of first appearance, ``line`` 1..n, a contradicting ``label``/``lang``/
``author_label`` is an error).

Quirks handled: a UTF-8 BOM (Excel's "CSV UTF-8"); quoted fields spanning lines (errors and
``Message.source`` name the record's first line); ``,``, ``;`` (Excel in locales with a decimal
comma) or tab delimiters; trailing empty fields beyond the header; blank lines. Not UTF-8 (Excel's
plain "CSV" in a Windows code page) is an error naming the line: re-save as "CSV UTF-8".
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

from tutela.domain import Conversation
from tutela.errors import InputError

from ._fields import check_length
from ._files import decode_utf8
from ._group import add_message
from ._jsondoc import iso_instant
from ._text import Controls
from ._utf16 import refuse_utf16
from ._warn import ReadWarning, WarnFn

__all__ = ["COLUMN_KEYS", "OPTION_KEYS", "SYNONYMS", "read", "sniff"]

#: Header names (normalised: lower case, runs of non-word characters as ``_``) tried per key.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "conversation": (
        "conversation",
        "conversation_id",
        "chat",
        "chat_id",
        "thread",
        "thread_id",
    ),
    "author": ("author", "sender", "from", "user", "username", "nick", "nickname", "name"),
    "text": ("text", "message", "body", "content", "msg"),
    "time": ("time", "timestamp", "datetime", "date"),
    "date": ("date", "day"),
    "label": ("label",),
    "author_label": ("author_label",),
    "lang": ("lang", "language"),
}
#: The column keys ``options`` may map.
COLUMN_KEYS = tuple(SYNONYMS)
#: Every key ``options`` accepts.
OPTION_KEYS = (*COLUMN_KEYS, "delimiter")

_DELIMITERS = ",;\t"
_DELIMITER_NAMES = {",": ",", ";": ";", "tab": "\t", "\\t": "\t", "\t": "\t", "|": "|"}
_NON_WORD = re.compile(r"[\W_]+")


def _norm(name: str) -> str:
    return _NON_WORD.sub("_", name.strip().lstrip("\ufeff").casefold()).strip("_")


def _find(header: list[str], key: str, wanted: str | None) -> int | None:
    """Index of the column for ``key``: ``wanted`` (exact, then normalised) or a synonym."""
    if wanted is not None:
        if wanted in header:
            return header.index(wanted)
        names = [_norm(h) for h in header]
        return names.index(_norm(wanted)) if _norm(wanted) in names else None
    names = [_norm(h) for h in header]
    for synonym in SYNONYMS[key]:
        if synonym in names:
            return names.index(synonym)
    return None


def _maps_author_and_text(header: list[str], options: dict[str, str]) -> bool:
    author = _find(header, "author", options.get("author"))
    text = _find(header, "text", options.get("text"))
    return author is not None and text is not None and author != text


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line
    return ""


def sniff(head: str) -> bool:
    """True when the first non-blank line of ``head`` is a CSV header (``,``, ``;`` or tab)
    with an author and a text column among :data:`SYNONYMS`. JSON, XML and chat logs (whose
    first line does not consist of such names) are not claimed."""
    first = _first_line(head)
    if not first or first.lstrip()[0] in "{[<":
        return False
    for delimiter in _DELIMITERS:
        if delimiter in first:
            header = next(csv.reader([first], delimiter=delimiter))
            if _maps_author_and_text(header, {}):
                return True
    return False


def _decode(path: Path) -> str:
    where = str(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read the file: {e.strerror or e}", path=where) from e
    refuse_utf16(path)
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    return decode_utf8(raw, where, hint=" (in Excel: CSV UTF-8)")


def _delimiter(text: str, options: dict[str, str], where: str) -> str:
    given = options.get("delimiter")
    if given:
        delimiter = _DELIMITER_NAMES.get(given.strip().lower() if given.strip() else given)
        if delimiter is None:
            raise InputError(f"unknown delimiter {given!r}; expected one of: , ; tab |", path=where)
        return delimiter
    first = _first_line(text)
    sample = text[: 64 * 1024]
    try:
        sniffed: str | None = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        sniffed = None
    candidates = sorted(_DELIMITERS, key=lambda d: -first.count(d))
    if sniffed is not None:
        candidates.insert(0, sniffed)
    candidates = [d for d in dict.fromkeys(candidates) if d in first]
    for delimiter in candidates:
        if _maps_author_and_text(next(csv.reader([first], delimiter=delimiter)), options):
            return delimiter
    return candidates[0] if candidates else ","


def _label(value: str, column: str, where: str, line: int) -> int | None:
    value = value.strip()
    if not value:
        return None
    if value in ("0", "1"):
        return int(value)
    raise InputError(
        f'column "{column}" must be 0, 1 or empty, got {value!r}', path=where, line=line
    )


def read(
    path: Path, *, max_message_chars: int, warn: WarnFn, options: dict[str, str]
) -> Iterator[Conversation]:
    """Read a CSV file: conversations in order of first appearance, messages in file order.

    ``options`` is the column mapping (module docstring); ``Message.source`` is ``"path:line"``
    of the record's first line. ``warn`` gets one warning per text whose control characters
    were removed (line and column named). The whole file is read before the first conversation
    is yielded.

    The :mod:`csv` module's field size limit is process-wide; it is raised to the file's length
    for the read (so a long field is measured and reported as too long, not as a ``csv`` error)
    and put back afterwards, also on error.

    Raises
    ------
    InputError
        An unknown option or delimiter; not UTF-8 (line, column); malformed CSV (a broken
        quote); no author or text column, or a mapped column missing from the header (names
        the header's columns); a record with fewer fields than the header, or with non-empty
        fields beyond it; an empty author or conversation; a bad label; a contradicting label,
        lang or author_label; a message (or any other field) longer than ``max_message_chars``;
        no records.
    """
    where = str(path)
    unknown = sorted(set(options) - set(OPTION_KEYS))
    if unknown:
        raise InputError(
            f"unknown column option {', '.join(unknown)}; expected {', '.join(OPTION_KEYS)}",
            path=where,
        )
    text = _decode(path)
    delimiter = _delimiter(text, options, where)
    controls = Controls(where, warn)
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(text) + 1))
    try:
        convs = _records(text, delimiter, path, options, max_message_chars, controls)
    finally:
        csv.field_size_limit(limit)
    controls.finish()
    yield from convs.values()


def _records(
    text: str,
    delimiter: str,
    path: Path,
    options: dict[str, str],
    max_message_chars: int,
    controls: Controls,
) -> dict[str, Conversation]:
    where = str(path)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    header_line = 0
    columns: dict[str, int] = {}
    convs: dict[str, Conversation] = {}
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            raise InputError(f"malformed CSV: {e}", path=where, line=line) from e
        if not any(field.strip() for field in row):
            continue
        if header is None:
            header, header_line = row, line
            columns = _columns(header, options, where, line)
            unused = [h for i, h in enumerate(header) if i not in columns.values() and h.strip()]
            if unused:
                controls.warn(
                    ReadWarning(
                        where,
                        line,
                        f"column(s) not read: {', '.join(repr(h) for h in unused)} (map one with "
                        "--columns KEY=COLUMN, e.g. time=When)",
                    )
                )
            continue
        if len(row) < len(header):
            raise InputError(
                f"the record has {len(row)} fields, the header has {len(header)}",
                path=where,
                line=line,
            )
        if any(field.strip() for field in row[len(header) :]):
            raise InputError(
                f"the record has {len(row)} fields, the header has {len(header)} (an unquoted "
                f"{_shown(delimiter)} in a field?)",
                path=where,
                line=line,
            )
        _add(convs, row, columns, header, path, line, max_message_chars, controls)
    if header is None:
        raise InputError("no messages (the file is empty)", path=where)
    if not convs:
        raise InputError("no messages (only a header row)", path=where, line=header_line)
    return convs


def _shown(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else f'"{delimiter}"'


def _columns(header: list[str], options: dict[str, str], where: str, line: int) -> dict[str, int]:
    shown = ", ".join(f'"{h}"' for h in header)
    columns: dict[str, int] = {}
    for key in COLUMN_KEYS:
        wanted = options.get(key)
        if wanted is not None and not wanted.strip():
            continue  # "key=": no such column
        index = _find(header, key, wanted)
        if index is None:
            if wanted is not None:
                raise InputError(
                    f'no column "{wanted}" (for {key}) in the header; its columns are: {shown}',
                    path=where,
                    line=line,
                )
            continue
        columns[key] = index
    if "date" in columns and options.get("date") is None and not _time_of_day(header, columns):
        del columns["date"]  # a "Date" column found by synonym is the time itself, or unrelated
    missing = [key for key in ("author", "text") if key not in columns]
    if missing:
        raise InputError(
            f"no {' or '.join(missing)} column in the header (its columns are: {shown}); map "
            'them with --columns "author=COLUMN,text=COLUMN"',
            path=where,
            line=line,
        )
    used: dict[int, str] = {}
    for key, index in columns.items():
        if index in used:
            raise InputError(
                f'column "{header[index]}" is mapped to both {used[index]} and {key}; map the '
                "columns with --columns",
                path=where,
                line=line,
            )
        used[index] = key
    return columns


def _time_of_day(header: list[str], columns: dict[str, int]) -> bool:
    """The time column was found by synonym and is called "time": a date column goes with it."""
    index = columns.get("time")
    return index is not None and _norm(header[index]) == "time"


def _add(
    convs: dict[str, Conversation],
    row: list[str],
    columns: dict[str, int],
    header: list[str],
    path: Path,
    line: int,
    max_message_chars: int,
    controls: Controls,
) -> None:
    where = str(path)

    def value(key: str) -> str | None:
        index = columns.get(key)
        return None if index is None else row[index]

    def error(message: str) -> InputError:
        return InputError(message, path=where, line=line)

    author = (value("author") or "").strip()
    if not author:
        raise error(f'empty author (column "{header[columns["author"]]}")')
    raw_cid = value("conversation")
    if raw_cid is None:
        cid = path.stem
    else:
        cid = raw_cid.strip()
        if not cid:
            raise error(f'empty conversation id (column "{header[columns["conversation"]]}")')
    for key, index in columns.items():
        if key != "text" and len(row[index]) > max_message_chars:
            raise error(
                f'column "{header[index]}" ({key}): a value of {len(row[index]):,} characters '
                f"exceeds the limit of {max_message_chars:,} (max_message_chars)"
            )
    text = value("text") or ""
    check_length(text, max_message_chars, error)
    text = controls.clean(text, line, f'column "{header[columns["text"]]}"')
    when = ((value("date") or "").strip(), (value("time") or "").strip())
    time = " ".join(v for v in when if v) or None
    label_text, author_label_text = value("label"), value("author_label")
    label = None if label_text is None else _label(label_text, "label", where, line)
    author_label = (
        None
        if author_label_text is None
        else _label(author_label_text, "author_label", where, line)
    )
    lang = (value("lang") or "").strip() or None

    add_message(
        convs,
        cid=cid,
        author=author,
        text=text,
        time=time,
        label=label,
        lang=lang,
        author_label=author_label,
        where=where,
        source=f"{where}:{line}",
        error=error,
        at=iso_instant(time) if time else None,
    )
