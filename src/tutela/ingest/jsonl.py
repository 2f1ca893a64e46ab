"""Readers for the JSON Lines corpus formats (see :mod:`tutela.ingest` for each format's fields).

=====================  =========================================================  ==========
format                 one line holds                                             laziness
=====================  =========================================================  ==========
``segments``           ``{"id","lang","text","label"}``: one flattened segment    lazy
``segments-messages``  ``{"id","pair","lang","messages":[str],"label"}``          lazy
``pj``                 ``{"id","offender","messages":[{"author","time","text"}]}``  lazy
``generic``            ``{"conversation","author","time","text"}``: one message   in memory
=====================  =========================================================  ==========

Each reader takes a checked :class:`~pathlib.Path` and yields :class:`~tutela.domain.Conversation`
objects; ``Message.source`` is ``"path:line"`` with the JSONL line number. Errors are
:class:`~tutela.errors.InputError` naming the file and line.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from tutela.domain import Conversation, Message
from tutela.errors import InputError

from ._fields import Row, check_length
from ._files import iter_json_objects, json_type_name
from ._group import add_message

__all__ = [
    "HANDLE_MAX_CHARS",
    "read_generic",
    "read_pj",
    "read_segments",
    "read_segments_messages",
    "split_handle",
]

#: Longest text before ``": "`` that :func:`split_handle` accepts as an author handle.
HANDLE_MAX_CHARS = 40


def _rows(path: Path) -> Iterator[Row]:
    where = str(path)
    for lineno, obj in iter_json_objects(path):
        yield Row(obj, where, lineno)


def _no_conversations(path: Path) -> InputError:
    return InputError("no conversations (the file holds no JSON lines)", path=str(path))


def read_segments(path: Path, *, max_message_chars: int = 100_000) -> Iterator[Conversation]:
    """Read flattened segments: each line becomes a Conversation with one Message.

    Line shape: ``{"id": str, "lang": str, "text": str, "label": 0|1}`` (``lang`` and ``label``
    may be absent or null). The message has author ``""`` and line 1; the conversation is marked
    ``flattened=True`` because the source lost the message boundaries.
    """
    n = 0
    for row in _rows(path):
        cid = row.ident("id")
        text = row.text("text", max_chars=max_message_chars)
        message = Message(
            conversation=cid, author="", text=text, line=1, source=f"{row.path}:{row.line}"
        )
        n += 1
        yield Conversation(
            id=cid,
            messages=[message],
            label=row.opt_label("label"),
            lang=row.opt_text("lang"),
            flattened=True,
            source=row.path,
        )
    if n == 0:
        raise _no_conversations(path)


def split_handle(line: str) -> tuple[str, str]:
    """Split ``"handle: text"`` into ``(handle lower-cased, text)``; otherwise ``("", line)``.

    The part before the first ``": "`` counts as a handle when it is non-empty, holds no
    whitespace and is at most :data:`HANDLE_MAX_CHARS` characters long. Handles are lower-cased
    so that authors compare case-insensitively.
    """
    head, sep, rest = line.partition(": ")
    if sep and head and len(head) <= HANDLE_MAX_CHARS and not any(c.isspace() for c in head):
        return head.lower(), rest
    return "", line


def read_segments_messages(
    path: Path, *, max_message_chars: int = 100_000
) -> Iterator[Conversation]:
    """Read segments that kept their message boundaries.

    Line shape: ``{"id": str, "pair": str, "lang": str, "messages": [str, ...], "label": 0|1}``
    (``pair``, ``lang`` and ``label`` may be absent). Each string becomes one Message; an author
    handle is split off with :func:`split_handle` (author ``""`` when there is none). ``pair`` is
    read but not kept (Conversation has no field for it).
    """
    n = 0
    for row in _rows(path):
        cid = row.ident("id")
        row.opt_text("pair")  # validated only
        items = row.array("messages")
        messages: list[Message] = []
        source = f"{row.path}:{row.line}"
        for i, item in enumerate(items, start=1):
            if not isinstance(item, str):
                raise row.error(
                    f'"messages" item {i} must be a string, got a JSON {json_type_name(item)}'
                )
            check_length(item, max_message_chars, row.error)
            author, text = split_handle(item)
            messages.append(
                Message(conversation=cid, author=author, text=text, line=i, source=source)
            )
        n += 1
        yield Conversation(
            id=cid,
            messages=messages,
            label=row.opt_label("label"),
            lang=row.opt_text("lang"),
            source=row.path,
        )
    if n == 0:
        raise _no_conversations(path)


#: Author name of the decoy side in the ``pj`` format.
_DECOY = "decoy"


def read_pj(path: Path, *, max_message_chars: int = 100_000) -> Iterator[Conversation]:
    """Read offender/decoy chats: every chat is positive (``label=1``).

    Line shape: ``{"id": str, "offender": str, "messages": [{"author": str, "time": str|null,
    "text": str}, ...]}``. ``author_labels`` is ``{offender: 1, "decoy": 0}``; ``lang`` is ``None``
    (the source states none).
    """
    n = 0
    for row in _rows(path):
        cid = row.ident("id")
        offender = row.ident("offender")
        messages: list[Message] = []
        source = f"{row.path}:{row.line}"
        for i, item in enumerate(row.array("messages"), start=1):
            if not isinstance(item, dict):
                raise row.error(
                    f'"messages" item {i} must be an object, got a JSON {json_type_name(item)}'
                )
            sub = Row(item, row.path, row.line)
            try:
                author = sub.ident("author")
                text = sub.text("text", max_chars=max_message_chars)
                time = sub.opt_text("time")
            except InputError as e:
                raise row.error(f'"messages" item {i}: {_bare(e, row)}') from e
            messages.append(
                Message(
                    conversation=cid, author=author, text=text, line=i, time=time, source=source
                )
            )
        n += 1
        yield Conversation(
            id=cid,
            messages=messages,
            label=1,
            author_labels={offender: 1, _DECOY: 0},
            source=row.path,
        )
    if n == 0:
        raise _no_conversations(path)


def _bare(error: InputError, row: Row) -> str:
    """The message of ``error`` without its ``path:line:`` prefix."""
    prefix = f"{row.path}:{row.line}: "
    text = str(error)
    return text[len(prefix) :] if text.startswith(prefix) else text


def read_generic(path: Path, *, max_message_chars: int = 100_000) -> Iterator[Conversation]:
    """Read the generic one-message-per-line format (documented in :mod:`tutela.ingest`).

    Messages are grouped by ``conversation`` in memory; conversations come out in order of first
    appearance, messages in file order with ``line`` = 1..n. A conversation-level field
    (``label``, ``lang``) or an ``author_label`` that contradicts an earlier line is an error.
    """
    convs: dict[str, Conversation] = {}
    where = str(path)
    for row in _rows(path):
        cid = row.ident("conversation")
        author = row.ident("author")
        text = row.text("text", max_chars=max_message_chars)
        time = row.opt_text("time")
        label = row.opt_label("label")
        lang = row.opt_text("lang")
        author_label = row.opt_label("author_label")

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
            source=f"{where}:{row.line}",
            error=row.error,
        )
    if not convs:
        raise _no_conversations(path)
    yield from convs.values()
