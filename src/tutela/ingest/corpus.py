"""Format detection and the one entry point, :func:`read_corpus`."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

from tutela.domain import Conversation
from tutela.errors import InputError

from ._files import check_file, iter_json_objects
from .jsonl import read_generic, read_pj, read_segments, read_segments_messages
from .pan12 import read_pan12

__all__ = ["FORMATS", "detect_format", "read_corpus"]

_Reader = Callable[..., Iterator[Conversation]]

_READERS: dict[str, _Reader] = {
    "pan12": read_pan12,
    "segments": read_segments,
    "segments-messages": read_segments_messages,
    "pj": read_pj,
    "generic": read_generic,
}

#: The format names :func:`read_corpus` accepts for ``fmt``.
FORMATS: tuple[str, ...] = tuple(_READERS)

_JSON_SUFFIXES = (".jsonl", ".json", ".ndjson")


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
        f"cannot tell the corpus format from the keys of the first line ({shown}); expected "
        '"conversation"+"author"+"text" (generic), "id"+"offender"+"messages" (pj), '
        '"id"+"messages" (segments-messages) or "id"+"text" (segments), or pass fmt=',
        path=str(path),
        line=line,
    )


def _first_byte(path: Path) -> bytes:
    """The first non-whitespace byte after an optional UTF-8 BOM (``b""`` for a blank file)."""
    try:
        with path.open("rb") as f:
            head = f.read(4096)
            while head and not head.lstrip():
                head = f.read(4096)
    except OSError as e:
        raise InputError(f"cannot read the file: {e.strerror or e}", path=str(path)) from e
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return head[:1]


def _detect(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".xml":
        return "pan12"
    if suffix not in _JSON_SUFFIXES:
        first = _first_byte(path)
        if first == b"<":
            return "pan12"
        if first != b"{":
            raise InputError(
                "cannot tell the corpus format: expected PAN12 XML (.xml) or JSON Lines "
                "(.jsonl); pass fmt=",
                path=str(path),
            )
    for lineno, obj in iter_json_objects(path):
        return _format_from_keys(set(obj), path, lineno)
    raise InputError("no conversations (the file is empty)", path=str(path))


def detect_format(path: str | os.PathLike[str]) -> str:
    """Name the corpus format of the file at ``path`` (one of :data:`FORMATS`).

    ``.xml`` is PAN12; ``.jsonl``/``.json``/``.ndjson`` are told apart by the keys of the first
    non-blank line; any other extension is sniffed (``<`` -> PAN12, ``{`` -> JSON Lines).
    Reads at most the first non-blank line.

    Raises
    ------
    InputError
        Missing file, a directory, an empty file, a first line that is not a JSON object, or keys
        that match no format.
    """
    return _detect(check_file(path))


def read_corpus(
    path: str | os.PathLike[str],
    *,
    fmt: str | None = None,
    max_message_chars: int = 100_000,
) -> Iterator[Conversation]:
    """Read a corpus file and yield its conversations.

    Parameters
    ----------
    path:
        One corpus file (a directory is refused).
    fmt:
        One of :data:`FORMATS` to force a format; ``None`` detects it (:func:`detect_format`).
    max_message_chars:
        Longest accepted message text, in characters; a longer one is an error.

    The path, the format and ``fmt`` are checked at once (before the first ``next``); content
    errors surface while iterating, at the conversation where they occur. PAN12 and the
    ``segments``, ``segments-messages`` and ``pj`` formats are read lazily (memory flat in corpus
    size); ``generic`` groups messages in memory. Nothing is written.

    Raises
    ------
    InputError
        See :func:`detect_format` and the per-format readers; also an unknown ``fmt`` or a
        ``max_message_chars`` below 1.
    """
    if fmt is not None and fmt not in _READERS:
        raise InputError(f"unknown corpus format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if isinstance(max_message_chars, bool) or not isinstance(max_message_chars, int):
        raise InputError("max_message_chars must be an integer")
    if max_message_chars < 1:
        raise InputError(f"max_message_chars must be at least 1, got {max_message_chars}")
    p = check_file(path)
    name = fmt if fmt is not None else _detect(p)
    return _READERS[name](p, max_message_chars=max_message_chars)
