"""Format detection and the one entry point, :func:`read_corpus`.

Every format is one :class:`ReaderSpec` in :data:`READERS`. A reader module provides

``read(path, *, max_message_chars, warn, options) -> Iterator[Conversation]``
    ``path`` a checked regular file, ``warn`` a :data:`~tutela.ingest._warn.WarnFn` for what it
    repaired, ``options`` the reader's own ``key=value`` settings (the CSV column mapping);
``sniff(head: str) -> bool`` (formats told apart by content)
    ``head`` is the file's first 64 KiB, decoded as UTF-8 with replacement and the BOM removed.

Detection is by content first, then by extension: ``<`` is PAN12; the whole-JSON exports
(Telegram, Discord, Messenger/Instagram) are sniffed before JSON Lines is tried, because a
one-line export is also a valid JSON Lines file; the line-oriented exports (WhatsApp, IRC logs)
and CSV are sniffed last; a ``.xml`` file nobody claims is read as PAN12.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tutela.domain import Conversation
from tutela.errors import InputError

from ._files import check_file, iter_json_objects
from ._utf16 import refuse_utf16
from ._warn import ReadWarning, WarnFn, ignore_warnings

__all__ = ["FORMATS", "READERS", "ReaderSpec", "detect_format", "read_corpus"]

#: Bytes of the file's start a sniffer sees.
HEAD_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class ReaderSpec:
    """One input format.

    ``name`` is what ``--format`` takes; ``module`` the reader module (imported on first use);
    ``sniffs`` whether ``module.sniff`` takes part in detection; ``summary`` one line for help
    and error messages; ``written`` who wrote the parser (``"tutela"`` or the wrapped package).
    """

    name: str
    module: str
    summary: str
    sniffs: bool = True
    written: str = "tutela"

    def load(self) -> Any:
        """The reader module."""
        return importlib.import_module(self.module)


_P = "tutela.ingest."

#: Every format, in the order detection tries the sniffers.
READERS: tuple[ReaderSpec, ...] = (
    ReaderSpec("telegram", _P + "telegram", "Telegram Desktop export (result.json)"),
    ReaderSpec("discord", _P + "discord", "DiscordChatExporter JSON"),
    ReaderSpec("messenger", _P + "messenger", "Facebook Messenger / Instagram JSON export"),
    ReaderSpec("pan12", _P + "pan12", "PAN 2012 XML", sniffs=False),
    ReaderSpec("segments", _P + "jsonl", "JSONL segments {id, text}", sniffs=False),
    ReaderSpec(
        "segments-messages", _P + "jsonl", "JSONL segments {id, messages: [str]}", sniffs=False
    ),
    ReaderSpec("pj", _P + "jsonl", "JSONL offender chats {id, offender, messages}", sniffs=False),
    ReaderSpec("generic", _P + "jsonl", "JSONL {conversation, author, text}", sniffs=False),
    ReaderSpec("whatsapp", _P + "whatsapp", "WhatsApp chat export (.txt, Android or iOS)"),
    ReaderSpec("irc", _P + "irclog", "IRC log (irssi, WeeChat, HexChat, ZNC)"),
    ReaderSpec("csv", _P + "csvfile", "CSV with a header row (column mapping: --columns)"),
)

_BY_NAME = {spec.name: spec for spec in READERS}

#: The format names :func:`read_corpus` accepts for ``fmt`` (``--format`` on the command line).
FORMATS: tuple[str, ...] = tuple(_BY_NAME)

_JSONL_SUFFIXES = (".jsonl", ".ndjson")
_JSONL_READERS = {"segments", "segments-messages", "pj", "generic"}


def _reader(name: str) -> Callable[..., Iterator[Conversation]]:
    spec = _BY_NAME[name]
    module = spec.load()
    if name in _JSONL_READERS:
        fn = {
            "segments": module.read_segments,
            "segments-messages": module.read_segments_messages,
            "pj": module.read_pj,
            "generic": module.read_generic,
        }[name]

        def read_jsonl(path: Path, *, max_message_chars: int, **_: Any) -> Iterator[Conversation]:
            return fn(path, max_message_chars=max_message_chars)

        return read_jsonl
    return module.read


def known_formats(*, exports_only: bool = False) -> str:
    """``"name (summary); ..."`` for error messages (``exports_only``: without the JSONL and
    PAN12 research formats)."""
    specs = [s for s in READERS if s.sniffs or not exports_only]
    return "; ".join(f"{s.name} ({s.summary})" for s in specs)


def _format_from_keys(keys: set[str], path: Path, line: int) -> str:
    if {"conversation", "author", "text"} <= keys:
        return "generic"
    if {"messages", "offender"} <= keys:
        return "pj"
    if "messages" in keys:
        return "segments-messages"
    if {"id", "text"} <= keys:
        return "segments"
    shown = ", ".join(sorted(keys)) or "none"
    raise InputError(
        f"cannot tell the corpus format from the keys of the first line ({shown}): not a known "
        'export format; expected "conversation"+"author"+"text" (generic), '
        '"id"+"offender"+"messages" (pj), "id"+"messages" (segments-messages) or "id"+"text" '
        f"(segments); the exports Tutela reads: {known_formats(exports_only=True)}; or force a "
        "format with --format NAME",
        path=str(path),
        line=line,
    )


def _head(path: Path) -> str:
    """The file's first :data:`HEAD_BYTES`, BOM removed, decoded with replacement."""
    try:
        with path.open("rb") as f:
            raw = f.read(HEAD_BYTES)
    except OSError as e:
        raise InputError(f"cannot read the file: {e.strerror or e}", path=str(path)) from e
    return raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace")


def _json_document_error(path: Path) -> InputError:
    """Why a file that starts like JSON is neither a known export nor JSON Lines."""
    where = str(path)
    try:
        with path.open("rb") as f:
            doc = json.loads(f.read().removeprefix(b"\xef\xbb\xbf"))
    except json.JSONDecodeError as e:
        return InputError(
            f"malformed JSON: {e.msg} (line {e.lineno}, column {e.colno})",
            path=where,
            line=e.lineno,
        )
    except UnicodeDecodeError:
        return InputError("not valid UTF-8; save the file as UTF-8", path=where)
    except RecursionError:
        return InputError("JSON nested too deeply", path=where)
    except OSError as e:
        return InputError(f"cannot read the file: {e.strerror or e}", path=where)
    if isinstance(doc, dict):
        keys = ", ".join(sorted(doc)[:12]) or "none"
        what = f"a JSON object with the keys {keys}"
    else:
        what = f"a JSON {type(doc).__name__.replace('list', 'array')}"
    return InputError(
        f"valid JSON, but not a known export format ({what}); Tutela reads: {known_formats()}; "
        "force a format with --format NAME",
        path=where,
    )


def _json_lines_start(stripped: str) -> bool:
    """True when the first two non-blank lines are each a whole JSON object (JSON Lines, not
    one JSON document), so a JSON Lines file that mentions an export's keys stays JSON Lines."""
    lines = [ln for ln in stripped.split("\n", 50)[:50] if ln.strip()][:2]
    if len(lines) < 2:
        return False
    for ln in lines:
        try:
            if not isinstance(json.loads(ln), dict):
                return False
        except (json.JSONDecodeError, RecursionError):
            return False
    return True


_HTML = re.compile(r"<!doctype\s+html|<html[\s>]", re.IGNORECASE)


def _detect(path: Path) -> str:
    """The format of a checked file that is not UTF-16/32 (the callers refuse those first)."""
    head = _head(path)
    stripped = head.lstrip()
    if not stripped:
        raise InputError("no conversations (the file is empty)", path=str(path))
    if _HTML.match(stripped):
        raise InputError(
            "an HTML page, not a chat export Tutela reads (Telegram Desktop's default export is "
            'HTML: export again with Format "Machine-readable JSON"; Facebook/Instagram: choose '
            "the JSON format when you download your information)",
            path=str(path),
        )
    if stripped.startswith("<"):
        return "pan12"
    if stripped.startswith("{") and _json_lines_start(stripped):
        for lineno, obj in iter_json_objects(path):
            return _format_from_keys(set(obj), path, lineno)
    for spec in READERS:
        if spec.sniffs and spec.load().sniff(head):
            return spec.name
    if path.suffix.lower() == ".xml":
        return "pan12"
    jsonl = path.suffix.lower() in _JSONL_SUFFIXES
    if stripped.startswith("{"):
        first_line = stripped.split("\n", 1)[0].strip()
        try:
            json.loads(first_line)
        except (json.JSONDecodeError, RecursionError):
            if not jsonl:  # a JSON document over several lines, of no known shape
                raise _json_document_error(path) from None
        # JSON Lines: its own errors name the line ("malformed JSON", "expected a JSON object")
        for lineno, obj in iter_json_objects(path):
            return _format_from_keys(set(obj), path, lineno)
    if stripped.startswith("["):
        if jsonl:
            for _ in iter_json_objects(path):  # names the line: "expected a JSON object ..."
                break
        raise _json_document_error(path)
    raise InputError(
        f"cannot tell the corpus format from its content; Tutela reads: {known_formats()}; "
        "force a format with --format NAME",
        path=str(path),
    )


def detect_format(path: str | os.PathLike[str]) -> str:
    """Name the format of the file at ``path`` (one of :data:`FORMATS`), by its content.

    Reads the first 64 KiB (and, for a JSON document of an unknown shape, the whole file to say
    whether it is malformed or only unknown).

    Raises
    ------
    InputError
        Missing file, a directory, an empty file, malformed JSON, JSON of an unknown shape ("not
        a known export format", naming the formats Tutela reads), or content no reader knows.
    """
    p = check_file(path)
    refuse_utf16(p)
    return _detect(p)


def parse_options(text: str | None) -> dict[str, str]:
    """``"a=b,c=d"`` -> ``{"a": "b", "c": "d"}`` (the ``--columns`` syntax).

    Raises :class:`InputError` for an item without ``=`` or an empty key.
    """
    out: dict[str, str] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"expected KEY=COLUMN, got {item.strip()!r}")
        out[key.strip()] = value.strip()
    return out


def read_corpus(
    path: str | os.PathLike[str],
    *,
    fmt: str | None = None,
    max_message_chars: int = 100_000,
    warn: WarnFn | None = None,
    options: Mapping[str, str] | None = None,
) -> Iterator[Conversation]:
    """Read a corpus file or chat export and yield its conversations.

    Parameters
    ----------
    path:
        One file (a directory is refused).
    fmt:
        One of :data:`FORMATS` to force a format; ``None`` detects it (:func:`detect_format`).
    max_message_chars:
        Longest accepted message text, in characters; a longer one is an error.
    warn:
        Called with each :class:`~tutela.ingest._warn.ReadWarning` (a repaired line, an inferred
        date order, an export without message content); default: dropped.
    options:
        Reader settings, e.g. the CSV column mapping ``{"author": "From", "text": "Body"}``.

    The path, the format and ``fmt`` are checked at once (before the first ``next``); content
    errors surface while iterating. Nothing is written.

    Raises
    ------
    InputError
        See :func:`detect_format` and the per-format readers; also an unknown ``fmt`` or a
        ``max_message_chars`` below 1.
    """
    if fmt is not None and fmt not in _BY_NAME:
        raise InputError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if isinstance(max_message_chars, bool) or not isinstance(max_message_chars, int):
        raise InputError("max_message_chars must be an integer")
    if max_message_chars < 1:
        raise InputError(f"max_message_chars must be at least 1, got {max_message_chars}")
    p = check_file(path)
    refuse_utf16(p)  # every reader expects UTF-8 (IRC logs: with a Windows-1252 fallback)
    name = fmt if fmt is not None else _detect(p)
    read = _reader(name)
    warn = warn or ignore_warnings
    return _unique_ids(
        read(p, max_message_chars=max_message_chars, warn=warn, options=dict(options or {})),
        p,
        warn,
    )


def _unique_ids(
    conversations: Iterator[Conversation], path: Path, warn: WarnFn
) -> Iterator[Conversation]:
    """Give a conversation whose id occurred before in the file a new id (``"7#2"``) with a
    warning: two conversations under one id would be merged or confused downstream (cases,
    provenance, evidence)."""
    seen: set[str] = set()
    for conv in conversations:
        if conv.id in seen:
            n = 2
            while f"{conv.id}#{n}" in seen:
                n += 1
            new = f"{conv.id}#{n}"
            warn(
                ReadWarning(
                    str(path),
                    None,
                    f"conversation id {conv.id!r} occurs again in the file; this one is read "
                    f"as {new!r}",
                )
            )
            conv.messages = [replace(m, conversation=new) for m in conv.messages]
            conv.id = new
        seen.add(conv.id)
        yield conv
