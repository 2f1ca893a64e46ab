"""Whole-document JSON exports (Telegram, Discord, Messenger): load once, name JSON paths and lines.

A chat export is one JSON document, not JSON Lines, so an error has to say *where* in it:
every :class:`~tutela.errors.InputError` raised through :class:`JsonDoc` names the file, the
1-based line of the offending value and its JSON path (``messages[3].from``).

The document is decoded by the C :mod:`json` decoder; line numbers come from a second, shallow
walk (:meth:`JsonDoc.lines`) that steps into only the containers a reader asks for (the message
arrays) and lets :meth:`json.JSONDecoder.raw_decode` skip everything else, so it runs at the
decoder's speed. Nothing in this module writes, and media paths in a document are never opened.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from json.decoder import scanstring
from pathlib import Path
from typing import Any

from tutela.errors import InputError

from ._files import json_type_name

__all__ = [
    "JsonDoc",
    "JsonPath",
    "counted",
    "fix_surrogates",
    "format_path",
    "iso_instant",
    "plural",
]

#: A JSON path: object keys and array indexes from the root, ``()`` for the root itself.
JsonPath = tuple[str | int, ...]

_WS = re.compile(r"[ \t\n\r]*")
_skip_ws = _WS.match  # always matches (``*``): ``_skip_ws(s, i).end()`` is past the whitespace
_DECODER = json.JSONDecoder()
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
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


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
            key, i = scanstring(s, i + 1)
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


@dataclass(slots=True)
class JsonDoc:
    """One decoded JSON export: ``root`` the value, ``text`` the document, ``where`` the file."""

    where: str
    text: str
    root: Any

    @classmethod
    def load(cls, path: Path) -> JsonDoc:
        """Read and decode the whole file (UTF-8, a BOM allowed).

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
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise InputError("the file is UTF-16; save it as UTF-8", path=where)
        raw = raw.removeprefix(_BOM)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            line_start = raw.rfind(b"\n", 0, e.start) + 1
            column = len(raw[line_start : e.start].decode("utf-8", "replace")) + 1
            raise InputError(
                f"not valid UTF-8 (byte 0x{raw[e.start]:02x} at column {column}); "
                "save the file as UTF-8",
                path=where,
                line=raw.count(b"\n", 0, e.start) + 1,
            ) from e
        try:
            root = json.loads(text)
        except json.JSONDecodeError as e:
            raise InputError(
                f"malformed JSON: {e.msg} (line {e.lineno}, column {e.colno})",
                path=where,
                line=e.lineno,
            ) from e
        except RecursionError as e:
            raise InputError("JSON nested too deeply", path=where) from e
        return cls(where, text, root)

    # -- positions ---------------------------------------------------------------------------

    def lines(self, descend: Callable[[JsonPath], bool]) -> dict[JsonPath, int]:
        """The 1-based line of every value the walk visits: the root, and the members of each
        container for which ``descend(path)`` is true (containers it is false for are skipped
        whole). Keys are JSON paths."""
        out: list[tuple[JsonPath, int]] = []
        _walk(self.text, 0, (), descend, out)
        result: dict[JsonPath, int] = {}
        line, last = 1, 0
        for path, offset in out:
            line += self.text.count("\n", last, offset)
            last = offset
            result[path] = line
        return result

    def line_of(self, path: JsonPath) -> int:
        """The line of the value at ``path`` (of its deepest existing ancestor if it is absent)."""
        found = self.lines(lambda p: p == path[: len(p)])
        while path not in found:
            path = path[:-1]
        return found[path]

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
        return self.error(path, f"must be {expected}, got a JSON {json_type_name(value)}")

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
