"""Opening corpus files and reading them line by line, with errors a user can act on.

Every failure here is an :class:`~tutela.errors.InputError` that names the file and, where it
applies, the 1-based line. Nothing in this module writes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tutela.errors import InputError

__all__ = [
    "check_file",
    "decode_utf8",
    "iter_json_objects",
    "iter_text_lines",
    "json_type_name",
    "utf8_problem",
]


def check_file(path: str | os.PathLike[str]) -> Path:
    """Return ``path`` as a :class:`Path` after checking that it is a readable regular file.

    Raises
    ------
    InputError
        The path does not exist, is a directory, is not a regular file or cannot be read.
    """
    try:
        p = Path(path)
    except TypeError as e:
        raise InputError(f"expected a file path, got {type(path).__name__}") from e
    where = str(p)
    if not p.exists():
        raise InputError("no such file", path=where)
    if p.is_dir():
        raise InputError("is a directory; give one corpus file", path=where)
    if not p.is_file():
        raise InputError("not a regular file", path=where)
    if not os.access(p, os.R_OK):
        raise InputError("permission denied: cannot read the file", path=where)
    return p


def utf8_problem(raw: bytes) -> str | None:
    """Describe why ``raw`` is not UTF-8 (``"byte 0xe9 at column 7"``), or ``None`` if it is."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        column = len(raw[: e.start].decode("utf-8", "replace")) + 1
        return f"byte 0x{raw[e.start]:02x} at column {column}"
    return None


def decode_utf8(raw: bytes, where: str, *, hint: str = "") -> str:
    """``raw`` (a whole file, BOM already removed) decoded as UTF-8.

    Raises
    ------
    InputError
        Not UTF-8: names the line and column of the first bad byte, and the byte; ``hint`` is
        appended to the advice (e.g. ``" (in Excel: CSV UTF-8)"``).
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line_start = raw.rfind(b"\n", 0, e.start) + 1
        column = len(raw[line_start : e.start].decode("utf-8", "replace")) + 1
        raise InputError(
            f"not valid UTF-8 (byte 0x{raw[e.start]:02x} at column {column}); save the file as "
            f"UTF-8{hint}",
            path=where,
            line=raw.count(b"\n", 0, e.start) + 1,
        ) from e


def iter_text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield ``(line number, text)`` for every line of a UTF-8 (or UTF-8 with BOM) file.

    Lines are split on ``\\n`` only (a ``\\r`` before it is dropped), so a Unicode line separator
    inside a JSON string does not break a line. Lazy: one line in memory at a time.

    Raises
    ------
    InputError
        A line is not valid UTF-8 (names the line, byte and column), or the file cannot be read.
    """
    where = str(path)
    lineno = 0
    try:
        with path.open("rb") as f:
            for lineno, raw in enumerate(f, start=1):
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    problem = utf8_problem(raw)
                    raise InputError(
                        f"not valid UTF-8 ({problem}); save the file as UTF-8",
                        path=where,
                        line=lineno,
                    ) from e
                if lineno == 1 and text.startswith("\ufeff"):
                    text = text[1:]
                yield lineno, text.rstrip("\r\n")
    except OSError as e:
        raise InputError(
            f"cannot read the file: {e.strerror or e}", path=where, line=lineno or None
        ) from e


def json_type_name(value: object) -> str:
    """The JSON name of a decoded value's type (``"object"``, ``"array"``, ``"string"``...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    return "number"


def iter_json_objects(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, object)`` for every non-blank line of a JSON Lines file.

    Raises
    ------
    InputError
        Malformed JSON (line and column), a line that is not a JSON object (a whole-file JSON
        array is named as such), nesting too deep to decode, or any error of
        :func:`iter_text_lines`.
    """
    where = str(path)
    for lineno, text in iter_text_lines(path):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            if text.lstrip().startswith("[") and e.msg.startswith("Expecting"):
                raise InputError(
                    "expected JSON Lines (one JSON object per line), found the start of a JSON "
                    "array",
                    path=where,
                    line=lineno,
                ) from e
            raise InputError(
                f"malformed JSON: {e.msg} (column {e.colno})", path=where, line=lineno
            ) from e
        except RecursionError as e:
            raise InputError("JSON nested too deeply", path=where, line=lineno) from e
        if not isinstance(obj, dict):
            raise InputError(
                f"expected a JSON object on each line, got a JSON {json_type_name(obj)}",
                path=where,
                line=lineno,
            )
        yield lineno, obj
