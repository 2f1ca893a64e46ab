"""Whole-document JSON exports (Telegram, Discord, Messenger): decoding, JSON paths and lines.

A chat export is one JSON document, not JSON Lines, so an error has to say *where* in it:
every :class:`~tutela.errors.InputError` raised through :class:`JsonDoc` names the file, the
1-based line of the offending value and its JSON path (``messages[3].from``).

:meth:`JsonDoc.load` reads the document with a shallow walk of its own: the containers a reader
names (the root, a full Telegram export's chat list) are built member by member, every other
value is decoded by the C :mod:`json` scanner (:meth:`json.JSONDecoder.raw_decode`). A message
array is *streamed*: the walk checks each element and keeps only its offset and line, and
:class:`JsonArray` decodes one element at a time when the reader asks for it, so the parsed
document and the reader's ``Message`` objects are never held in memory together (reading a
100 MB Telegram export peaks at about 350 MB, against 840 MB with a :func:`json.loads` tree and
a second walk for line numbers). Malformed JSON is reported with the message, line and column
:mod:`json` gives. Nothing in this module writes, and media
paths in a document are never opened.
"""

from __future__ import annotations

import json
import re
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from tutela.errors import InputError

from ._files import decode_utf8, json_type_name
from ._utf16 import refuse_utf16

__all__ = [
    "EXPORT_NAMES",
    "JsonArray",
    "JsonDoc",
    "JsonPath",
    "counted",
    "fix_surrogates",
    "format_path",
    "guess_export",
    "iso_instant",
    "plural",
]

#: A JSON path: object keys and array indexes from the root, ``()`` for the root itself.
JsonPath = tuple[str | int, ...]

_WS = re.compile(r"[ \t\n\r]*")
#: Always matches (``*``): ``_skip_ws(s, i).end()`` is past the whitespace.
_skip_ws = cast(Callable[[str, int], re.Match[str]], _WS.match)
_WS_CHARS = " \t\n\r"
_DECODER = json.JSONDecoder()
# typeshed leaves out json.decoder.scanstring and JSONDecoder.scan_once (the C scanner, set in
# JSONDecoder.__init__); both exist at run time in every CPython the project supports.
_scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]
_scan_once: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]
_BOM = b"\xef\xbb\xbf"


def format_path(path: JsonPath) -> str:
    """``("chats", "list", 0, "messages", 3)`` -> ``"chats.list[0].messages[3]"``.

    The root, ``()``, is ``"(root)"``.
    """
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "(root)"


def plural(n: int, word: str, words: str | None = None) -> str:
    """``"1 message"``, ``"3 messages"`` (``words`` for an irregular plural)."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


def counted(counts: dict[str, int], limit: int = 6) -> str:
    """``{"a": 3, "b": 1}`` -> ``"a ×3, b"`` (most frequent first, at most ``limit`` named)."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = [f"{k} ×{v}" if v > 1 else k for k, v in items[:limit]]
    if len(items) > limit:
        shown.append(f"{len(items) - limit} more")
    return ", ".join(shown)


def fix_surrogates(text: str) -> str:
    """``text`` with unpaired UTF-16 surrogates (a JSON ``"\\ud83d"`` cut from its pair, as
    exporters write when they truncate an emoji) replaced by U+FFFD; other text unchanged.

    Such a string cannot be encoded as UTF-8, so it would fail later, when it is stored.
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


#: The whole-document exports, by ``--format`` name.
EXPORT_NAMES = {
    "telegram": "Telegram Desktop",
    "discord": "DiscordChatExporter",
    "messenger": "Messenger/Instagram",
}


def guess_export(root: Any) -> str | None:
    """The ``--format`` name of the export whose top-level keys ``root`` has, or ``None``.

    DiscordChatExporter always writes ``guild``, ``channel`` and ``messages``; Meta's exports
    ``participants`` and ``messages``; Telegram Desktop ``type`` and ``messages`` for one
    chat, ``chats``/``left_chats`` for a whole account (``export_output_json.cpp``).
    """
    if not isinstance(root, dict):
        return None
    if {"guild", "channel", "messages"} <= root.keys():
        return "discord"
    if {"participants", "messages"} <= root.keys():
        return "messenger"
    if {"type", "messages"} <= root.keys() or "chats" in root or "left_chats" in root:
        return "telegram"
    return None


def _type_name(value: object) -> str:
    return "array" if isinstance(value, JsonArray) else json_type_name(value)


def iso_instant(value: str) -> datetime | None:
    """An ISO 8601 time with a UTC offset (``2023-12-31T21:05:07.123+00:00``, ``...Z``) as an
    aware UTC datetime; ``None`` when it has no offset or does not parse."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return None
    return parsed.astimezone(UTC)


def _walk(
    s: str,
    i: int,
    path: JsonPath,
    descend: Callable[[JsonPath], bool],
    out: list[tuple[JsonPath, int]],
) -> int:
    """Record ``(path, offset)`` of the value at ``s[i:]`` (and of the values inside it when
    ``descend(path)``); return the offset just past it. ``s`` is known to be valid JSON."""
    i = _skip_ws(s, i).end()
    out.append((path, i))
    c = s[i]
    if c == "{" and descend(path):
        i = _skip_ws(s, i + 1).end()
        if s[i] == "}":
            return i + 1
        while True:
            key, i = _scanstring(s, i + 1)
            i = _skip_ws(s, i).end() + 1  # past ":"
            i = _walk(s, i, (*path, key), descend, out)
            i = _skip_ws(s, i).end()
            if s[i] == "}":
                return i + 1
            i = _skip_ws(s, i + 1).end()  # past ","
    if c == "[" and descend(path):
        i = _skip_ws(s, i + 1).end()
        if s[i] == "]":
            return i + 1
        n = 0
        while True:
            i = _walk(s, i, (*path, n), descend, out)
            n += 1
            i = _skip_ws(s, i).end()
            if s[i] == "]":
                return i + 1
            i += 1  # past ","
    _, end = _DECODER.raw_decode(s, i)
    return end


class JsonArray:
    """A streamed JSON array: its elements are decoded one at a time, on iteration.

    ``path`` is the array's JSON path; ``len()`` its number of elements. Iterating yields
    ``(index, value, line)`` with ``line`` the 1-based line where the element starts. The
    document was checked when it was loaded, so iterating never fails.
    """

    __slots__ = ("_lines", "_offsets", "_text", "path")

    def __init__(self, text: str, path: JsonPath) -> None:
        self._text = text
        self.path = path
        self._offsets = array("q")
        self._lines = array("q")

    def __len__(self) -> int:
        return len(self._offsets)

    def __iter__(self) -> Iterator[tuple[int, Any, int]]:
        text, scan = self._text, _scan_once
        for i, (offset, line) in enumerate(zip(self._offsets, self._lines, strict=True)):
            value, _ = scan(text, offset)
            yield i, value, line

    def offset(self, index: int) -> int:
        """Where element ``index`` starts in the document."""
        return self._offsets[index]

    def line(self, index: int) -> int:
        """The line where element ``index`` starts."""
        return self._lines[index]


def _expecting(what: str, s: str, i: int) -> json.JSONDecodeError:
    return json.JSONDecodeError(f"Expecting {what}", s, i)


class _Scanner:
    """Decodes ``s`` as :func:`json.loads` would, building the containers ``build`` names and
    streaming the arrays ``stream`` names (:class:`JsonArray`); raises
    :class:`json.JSONDecodeError` (with :mod:`json`'s own messages) on malformed input."""

    def __init__(
        self, s: str, build: Callable[[JsonPath], bool], stream: Callable[[JsonPath], bool]
    ) -> None:
        self.s = s
        self.build = build
        self.stream = stream
        self.streams: dict[JsonPath, JsonArray] = {}
        self._line = 1
        self._at = 0

    def _line_of(self, offset: int) -> int:
        # offsets are asked for in document order, so one pass over the text counts every line
        self._line += self.s.count("\n", self._at, offset)
        self._at = offset
        return self._line

    def value(self, i: int, path: JsonPath) -> tuple[Any, int]:
        s = self.s
        i = _skip_ws(s, i).end()
        c = s[i : i + 1]
        if c == "{" and self.build(path):
            return self._object(i, path)
        if c == "[":
            if self.stream(path):
                return self._stream(i, path)
            if self.build(path):
                return self._array(i, path)
        return _DECODER.raw_decode(s, i)

    def _object(self, i: int, path: JsonPath) -> tuple[dict[str, Any], int]:
        s = self.s
        out: dict[str, Any] = {}
        i = _skip_ws(s, i + 1).end()
        if s[i : i + 1] == "}":
            return out, i + 1
        while True:
            if s[i : i + 1] != '"':
                raise _expecting("property name enclosed in double quotes", s, i)
            key, i = _scanstring(s, i + 1)
            i = _skip_ws(s, i).end()
            if s[i : i + 1] != ":":
                raise _expecting("':' delimiter", s, i)
            out[key], i = self.value(i + 1, (*path, key))
            i = _skip_ws(s, i).end()
            c = s[i : i + 1]
            if c == "}":
                return out, i + 1
            if c != ",":
                raise _expecting("',' delimiter", s, i)
            i = _skip_ws(s, i + 1).end()

    def _array(self, i: int, path: JsonPath) -> tuple[list[Any], int]:
        s = self.s
        out: list[Any] = []
        i = _skip_ws(s, i + 1).end()
        if s[i : i + 1] == "]":
            return out, i + 1
        while True:
            value, i = self.value(i, (*path, len(out)))
            out.append(value)
            i = _skip_ws(s, i).end()
            c = s[i : i + 1]
            if c == "]":
                return out, i + 1
            if c != ",":
                raise _expecting("',' delimiter", s, i)
            i += 1

    def _stream(self, i: int, path: JsonPath) -> tuple[JsonArray, int]:
        # the hot loop of a large export: one C scan per element, locals bound once
        s, scan, skip, count = self.s, _scan_once, _skip_ws, self.s.count
        out = self.streams[path] = JsonArray(s, path)
        offsets, lines = out._offsets, out._lines  # filled here only
        i = skip(s, i + 1).end()
        if s[i : i + 1] == "]":
            return out, i + 1
        line, at = self._line, self._at
        while True:
            try:
                _, end = scan(s, i)
            except StopIteration as e:
                raise _expecting("value", s, e.value) from None
            offsets.append(i)
            line += count("\n", at, i)
            at = i
            lines.append(line)
            c = s[end : end + 1]
            if c in _WS_CHARS and c:
                end = skip(s, end).end()
                c = s[end : end + 1]
            if c == "]":
                self._line, self._at = line, at
                return out, end + 1
            if c != ",":
                raise _expecting("',' delimiter", s, end)
            i = skip(s, end + 1).end()


def _never(_: JsonPath) -> bool:
    return False


@dataclass(slots=True)
class JsonDoc:
    """One decoded JSON export: ``root`` the value, ``text`` the document, ``where`` the file.

    Streamed arrays appear in ``root`` as :class:`JsonArray` objects.
    """

    where: str
    text: str
    root: Any
    streams: dict[JsonPath, JsonArray] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        path: Path,
        *,
        build: Callable[[JsonPath], bool] = _never,
        stream: Callable[[JsonPath], bool] = _never,
        fix_text: Callable[[str], str] | None = None,
    ) -> JsonDoc:
        """Read and decode the whole file (UTF-8, a BOM allowed).

        ``build(path)``: objects and arrays at ``path`` are walked member by member (give it
        for every container on the way to a streamed array, the root ``()`` included);
        ``stream(path)``: the array at ``path`` becomes a :class:`JsonArray`. ``fix_text``, when
        given, rewrites the decoded text before it is parsed (an exporter's own escaping quirk;
        it must keep every newline where it is, so lines stay right).

        Raises
        ------
        InputError
            The file cannot be read, is UTF-16 or not UTF-8 (line and column of the first bad
            byte), is malformed JSON (line and column, as :mod:`json` reports them) or nests
            too deeply to decode.
        """
        where = str(path)
        try:
            raw = path.read_bytes()
        except OSError as e:
            raise InputError(f"cannot read the file: {e.strerror or e}", path=where) from e
        refuse_utf16(path)
        raw = raw.removeprefix(_BOM)
        text = decode_utf8(raw, where)
        del raw
        if fix_text is not None:
            text = fix_text(text)
        scanner = _Scanner(text, build, stream)
        try:
            root, end = scanner.value(0, ())
            end = _skip_ws(text, end).end()
            if end != len(text):
                raise json.JSONDecodeError("Extra data", text, end)
        except json.JSONDecodeError as e:
            raise InputError(
                f"malformed JSON: {e.msg} (line {e.lineno}, column {e.colno})",
                path=where,
                line=e.lineno,
            ) from e
        except RecursionError as e:
            raise InputError("JSON nested too deeply", path=where) from e
        return cls(where, text, root, scanner.streams)

    # -- positions ---------------------------------------------------------------------------

    def line_of(self, path: JsonPath) -> int:
        """The line of the value at ``path`` (of its deepest existing ancestor if it is absent).

        Inside a streamed array the walk starts at the element, not at the top of the file.
        """
        base: JsonPath = ()
        start, line = 0, 1
        for n in range(len(path), 0, -1):
            head, index = path[: n - 1], path[n - 1]
            items = self.streams.get(head)
            if items is not None and isinstance(index, int) and 0 <= index < len(items):
                start, base, line = items.offset(index), path[:n], items.line(index)
                break
        out: list[tuple[JsonPath, int]] = []
        _walk(self.text, start, base, lambda p: p == path[: len(p)], out)
        found = dict(out)
        while path not in found and len(path) > len(base):
            path = path[:-1]
        offset = found.get(path, start)
        return line + self.text.count("\n", start, offset)

    # -- errors and typed access -------------------------------------------------------------

    def error(self, path: JsonPath, message: str, *, line: int | None = None) -> InputError:
        """``InputError("<json path>: <message>")`` at the line of ``path`` (or ``line``)."""
        return InputError(
            f"{format_path(path)}: {message}",
            path=self.where,
            line=line if line is not None else self.line_of(path),
        )

    def wrong(self, path: JsonPath, expected: str, value: object) -> InputError:
        """``"<path>" must be <expected>, got a JSON <type>``."""
        return self.error(path, f"must be {expected}, got a JSON {_type_name(value)}")

    def not_export(self, name: str, expected: str) -> InputError:
        """``"not a <name> export (expected <expected>; found the keys ...)"``, at the root, with
        a hint when the root has the keys of another export Tutela reads."""
        root = self.root
        if isinstance(root, dict):
            keys = sorted(root)
            shown = ", ".join(keys[:12]) + (f" and {len(keys) - 12} more" if len(keys) > 12 else "")
            found = f"found the keys {shown}" if keys else "found an empty object"
        else:
            found = f"found a JSON {_type_name(root)}"
        message = f"not a {name} export (expected {expected}; {found})"
        other = guess_export(root)
        if other is not None and EXPORT_NAMES[other] != name:
            message += f"; it looks like a {EXPORT_NAMES[other]} export: use --format {other}"
        return InputError(message, path=self.where, line=1)

    def obj(self, value: Any, path: JsonPath) -> dict[str, Any]:
        """``value`` if it is a JSON object, else an error naming ``path``."""
        if not isinstance(value, dict):
            raise self.wrong(path, "an object", value)
        return value

    def array(self, value: Any, path: JsonPath) -> list[Any]:
        """``value`` if it is a JSON array, else an error naming ``path``."""
        if not isinstance(value, list):
            raise self.wrong(path, "an array", value)
        return value

    def items(self, value: Any, path: JsonPath) -> JsonArray:
        """``value`` if it is a streamed array (:meth:`load`'s ``stream``), else an error naming
        ``path`` (a JSON value that is not an array)."""
        if not isinstance(value, JsonArray):
            raise self.wrong(path, "an array", value)
        return value

    def field(self, obj: dict[str, Any], key: str, path: JsonPath) -> Any:
        """``obj[key]``; a missing key is an error naming ``path`` (the object's path)."""
        if key not in obj:
            raise self.error(path, f'missing required field "{key}"')
        return obj[key]

    def string(self, obj: dict[str, Any], key: str, path: JsonPath, *, default: Any = ...) -> Any:
        """``obj[key]`` as a string; absent or null gives ``default`` (required when not given)."""
        value = obj.get(key)
        if value is None:
            if default is ...:
                if key in obj:
                    raise self.wrong((*path, key), "a string", value)
                raise self.error(path, f'missing required field "{key}"')
            return default
        if not isinstance(value, str):
            raise self.wrong((*path, key), "a string", value)
        return value

    def ident(self, obj: dict[str, Any], key: str, path: JsonPath) -> str:
        """A required id: a non-empty string or an integer (as its decimal string)."""
        value = self.field(obj, key, path)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            raise self.wrong((*path, key), "a string or an integer", value)
        if not value.strip():
            raise self.error((*path, key), "must not be empty")
        return value
