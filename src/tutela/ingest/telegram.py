"""Reader for Telegram Desktop's "Export chat history" in machine-readable JSON (``result.json``).

Parser: written for Tutela. The one maintained PyPI parser, chat-miner 0.6.0
(``TelegramJsonParser``), does not handle the quirks below: it joins the pieces of a ``text``
list with spaces, names authors by display name (every deleted account merges under ``null``),
drops media and reads service messages as words.

The format is Telegram Desktop's own (Settings > Advanced > Export Telegram data, or a chat's
"Export chat history", format "Machine-readable JSON"); there is no published schema, the shapes
below are those Telegram Desktop 4.x writes (one space of indentation per level):

* one chat: ``{"name", "type": "personal_chat"|"private_group"|..., "id", "messages": [...]}``;
* a full-account export: ``{"about", "personal_information", ..., "chats": {"about", "list":
  [chat, ...]}, "left_chats": {"about", "list": [...]}}`` -- one Conversation per chat.

A message: ``{"id", "type": "message"|"service", "date": "2023-12-31T21:05:07", "date_unixtime":
"1704056707", "from": "Name"|null, "from_id": "user123", "text": str | [str | {"type", "text"}],
"text_entities", "forwarded_from", "photo", "file", "media_type", "mime_type", "file_size"}``.

Quirks handled:

* ``text`` is a string, or a list of strings and entity objects (bold, link, mention...): the
  pieces are joined as they are, with nothing added (``text_entities`` when ``text`` is absent);
* service messages (``"type": "service"``: calls, pins, joins...) are nobody's words: skipped,
  counted in one warning per file;
* forwarded messages are kept as the forwarder's message (author ``from_id``), and one warning
  per file says how many there were and whose words they quote;
* the author is ``from_id`` (``"user123"``), stable across renames; a deleted account has
  ``"from": null`` and is kept under its ``from_id`` (counted in a warning); ``from`` is the
  fallback only when an old export has no ``from_id``;
* media (``photo``, ``file``, ``media_type``): :class:`~tutela.domain.Attachment` metadata only
  (kind from ``media_type`` or ``mime_type``, ``size`` from ``file_size``/``photo_file_size``,
  ``url`` ``None``); the files the paths name are never opened. A message with no text is
  ``kind="media"`` (also a location, contact or other payload that is not text);
* a poll without text gives its question as the text;
* ``time`` is ``date`` as written (local time of the exporting machine, no zone); ``at`` comes
  from ``date_unixtime`` (UTC) and is ``None`` in old exports without it (counted in a warning);
* ``date`` must be a real date and time (Telegram Desktop writes Qt's ``ISODate``,
  ``YYYY-MM-DDTHH:MM:SS``); anything else is an error naming the message's JSON path and line;
* Telegram Desktop writes a control character in a text (a vertical tab pasted from a word
  processor...) as ``"\\x0B"``, which is not a JSON escape (``SerializeString`` in
  ``export_output_json.cpp``), so such a file is not valid JSON: those escapes are read as the
  characters they stand for (:func:`fix_x_escapes`), and the controls are then removed like any
  other (below);
* control characters other than tab and line breaks are removed from texts, each text named in a
  warning (:mod:`tutela.ingest._text`);
* unpaired UTF-16 surrogates are replaced with U+FFFD (counted in a warning).

The document must have the shape Telegram Desktop always writes (``JsonWriter::writeDialogStart``
in ``export_output_json.cpp``): ``type`` (the chat type) and ``messages`` for one chat (``id``
too, but a chat without one is read under its ``name``), ``chats`` or ``left_chats`` for a whole
account. Anything else (a Discord or Messenger export given with
``--format telegram``) is refused as "not a Telegram Desktop export", naming the keys found.

Not read: reactions, edits (``edited``), replies (``reply_to_message_id``), inline buttons.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tutela.domain import Attachment, Conversation, Message
from tutela.errors import InputError

from ._fields import check_length
from ._jsondoc import JsonDoc, JsonPath, counted, fix_surrogates, format_path, plural
from ._media import declared_size, kind_from_mime, kind_from_name
from ._text import Controls
from ._warn import ReadWarning, WarnFn

__all__ = ["fix_x_escapes", "read", "sniff"]

_CHAT_TYPES = (
    "personal_chat|bot_chat|private_group|private_supergroup|public_supergroup|"
    "private_channel|public_channel|saved_messages"
)
_RE_CHAT_TYPE = re.compile(r'"type"\s*:\s*"(?:' + _CHAT_TYPES + r')"')
_RE_MESSAGES = re.compile(r'"messages"\s*:\s*\[')
_RE_MESSAGE = re.compile(r'"type"\s*:\s*"(?:message|service)"\s*,\s*"date"\s*:\s*"')
_RE_UNIXTIME = re.compile(r'"date_unixtime"\s*:\s*"\d+"')
_RE_FROM_ID = re.compile(r'"(?:from_id|actor_id)"\s*:\s*"(?:user|channel|chat)\d+"')
_RE_ACCOUNT = re.compile(r'^\s*\{\s*"about"\s*:\s*"[^"]*"\s*,\s*"(?:personal_information|chats)"')

#: ``media_type`` -> Attachment kind (``sticker`` is an image unless its MIME type says video).
_MEDIA_KINDS = {
    "animation": "video",
    "video_file": "video",
    "video_message": "video",
    "voice_message": "audio",
    "audio_file": "audio",
    "sticker": "image",
}
_SECTIONS = ("chats", "left_chats")


def sniff(head: str) -> bool:
    """True when ``head`` (the file's first 64 KiB) looks like a Telegram Desktop JSON export.

    Key patterns only (the head of a large, indented export ends mid-document): a
    ``"messages"`` array with a chat ``"type"`` (``personal_chat``...), a message's ``"type":
    "message"|"service", "date": "`` sequence, ``"date_unixtime"`` or a ``from_id`` of the form
    ``user123``; or the ``{"about": ..., "personal_information"`` start of a full-account
    export.
    """
    if not head.lstrip().startswith("{"):
        return False
    if _RE_ACCOUNT.search(head):
        return True
    if not _RE_MESSAGES.search(head):
        return False
    return bool(
        _RE_CHAT_TYPE.search(head)
        or _RE_MESSAGE.search(head)
        or _RE_UNIXTIME.search(head)
        or _RE_FROM_ID.search(head)
    )


def _build(path: JsonPath) -> bool:
    """Containers walked member by member: the root, the chat sections, lists and chats."""
    return not path or (path[0] in _SECTIONS and len(path) <= 3)


def _stream(path: JsonPath) -> bool:
    """Arrays decoded one element at a time: the message arrays."""
    if path == ("messages",):
        return True
    return len(path) == 4 and path[0] in _SECTIONS and path[3] == "messages"


#: Telegram Desktop's ``\xHH`` for a control character: an odd run of backslashes before ``x``
#: (``\\x41`` is an escaped backslash, then "x41", and is left alone).
_RE_X_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\x([01][0-9A-Fa-f])")


def fix_x_escapes(text: str) -> str:
    r"""``text`` (a JSON document) with Telegram Desktop's invalid ``\x0B`` escapes rewritten as
    the JSON escape ``\u000B``; newlines are untouched, so lines stay right. Text without
    ``\x`` is returned as it is (one fast search)."""
    if "\\x" not in text:
        return text
    return _RE_X_ESCAPE.sub(r"\1\\u00\2", text)


_EXPECTED = (
    'the keys "type" and "messages" of one chat, or "chats"/"left_chats" of a full-account export'
)


def _chats(doc: JsonDoc) -> Iterator[tuple[JsonPath, dict[str, Any]]]:
    root = doc.root
    if not isinstance(root, dict):
        raise doc.not_export("Telegram Desktop", _EXPECTED)
    if "messages" in root:
        if "type" not in root:
            raise doc.not_export("Telegram Desktop", _EXPECTED)
        yield (), root
        return
    if not any(key in root for key in _SECTIONS):
        raise doc.not_export("Telegram Desktop", _EXPECTED)
    for key in _SECTIONS:
        if key not in root:
            continue
        section = doc.obj(root[key], (key,))
        items = doc.array(doc.field(section, "list", (key,)), (key, "list"))
        for i, chat in enumerate(items):
            yield (key, "list", i), doc.obj(chat, (key, "list", i))


def _text(doc: JsonDoc, m: dict[str, Any], mp: JsonPath) -> str:
    key = "text" if "text" in m else "text_entities" if "text_entities" in m else None
    if key is None:
        return ""
    value = m[key]
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise doc.wrong((*mp, key), "a string or an array", value)
    parts: list[str] = []
    for j, item in enumerate(value):
        if isinstance(item, str):
            parts.append(item)
        elif isinstance(item, dict):
            piece = item.get("text")
            if not isinstance(piece, str):
                raise doc.wrong((*mp, key, j, "text"), "a string", piece)
            parts.append(piece)
        else:
            raise doc.wrong((*mp, key, j), "a string or an object", item)
    return "".join(parts)


def _attachments(doc: JsonDoc, m: dict[str, Any], mp: JsonPath) -> tuple[Attachment, ...]:
    out: list[Attachment] = []
    if m.get("photo") is not None:
        out.append(Attachment(kind="image", size=declared_size(m.get("photo_file_size"))))
    if m.get("file") is not None or m.get("media_type") is not None:
        media_type = doc.string(m, "media_type", mp, default=None)
        mime = doc.string(m, "mime_type", mp, default=None)
        kind = kind_from_mime(mime) if media_type in (None, "sticker") else None
        kind = kind or _MEDIA_KINDS.get(media_type or "")
        if kind is None:
            name = m.get("file_name") or m.get("file")
            kind = kind_from_name(name if isinstance(name, str) else None)
        out.append(Attachment(kind=kind, mime=mime, size=declared_size(m.get("file_size"))))
    return tuple(out)


def _at(doc: JsonDoc, m: dict[str, Any], mp: JsonPath) -> datetime | None:
    value = m.get("date_unixtime")
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise doc.error((*mp, "date_unixtime"), f"must be a Unix time in seconds, got {value!r}")
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError) as e:
        raise doc.error((*mp, "date_unixtime"), f"Unix time {value} is out of range") from e


def _author(doc: JsonDoc, m: dict[str, Any], mp: JsonPath) -> str:
    from_id = m.get("from_id")
    if from_id is not None:
        if isinstance(from_id, int) and not isinstance(from_id, bool):
            return str(from_id)
        if not isinstance(from_id, str):
            raise doc.wrong((*mp, "from_id"), "a string", from_id)
        if from_id.strip():
            return from_id
    name = m.get("from")
    if isinstance(name, str) and name.strip():
        return name
    if name is not None and not isinstance(name, str):
        raise doc.wrong((*mp, "from"), "a string or null", name)
    raise doc.error(mp, 'no author: "from_id" is missing or empty and "from" is null or empty')


class _Tally:
    """What one file's messages needed; turned into warnings at the end."""

    def __init__(self) -> None:
        self.service: Counter[str] = Counter()
        self.forwarded: Counter[str] = Counter()
        self.deleted: Counter[str] = Counter()
        self.no_unixtime = 0
        self.surrogates = 0
        self.empty_chats: list[str] = []

    def warnings(self, where: str) -> Iterator[ReadWarning]:
        if self.service:
            n = sum(self.service.values())
            yield ReadWarning(
                where,
                None,
                f"{plural(n, 'service message')} ({counted(self.service)}) are not anyone's "
                "words: skipped",
            )
        if self.forwarded:
            n = sum(self.forwarded.values())
            yield ReadWarning(
                where,
                None,
                f"{plural(n, 'forwarded message')}: their words are quoted from "
                f"{counted(self.forwarded)}, attributed to the forwarder",
            )
        if self.deleted:
            n = sum(self.deleted.values())
            yield ReadWarning(
                where,
                None,
                f'{plural(n, "message")} from deleted accounts ("from" is null) kept under '
                f"their stable from_id: {counted(self.deleted)}",
            )
        if self.no_unixtime:
            yield ReadWarning(
                where,
                None,
                f'{plural(self.no_unixtime, "message")} without "date_unixtime" (an older '
                'export): their "date" is local time with no zone, so no UTC instant is given',
            )
        if self.surrogates:
            yield ReadWarning(
                where,
                None,
                f"{plural(self.surrogates, 'text')} held unpaired UTF-16 surrogates (a cut "
                "emoji): replaced with U+FFFD",
            )
        if self.empty_chats:
            shown = ", ".join(self.empty_chats[:6])
            more = f" and {len(self.empty_chats) - 6} more" if len(self.empty_chats) > 6 else ""
            yield ReadWarning(
                where,
                None,
                f"{plural(len(self.empty_chats), 'chat')} hold no message anyone wrote, "
                f"skipped: {shown}{more}",
            )


def _date(doc: JsonDoc, m: dict[str, Any], mp: JsonPath) -> str | None:
    """``date`` as written, after checking that it is a real date and time."""
    value = doc.string(m, "date", mp, default=None)
    if value is None:
        return None
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise doc.error(
            (*mp, "date"),
            f"{value!r} is not a real date and time (Telegram Desktop writes YYYY-MM-DDTHH:MM:SS)",
        ) from None
    return value


def _conversation(
    doc: JsonDoc,
    cp: JsonPath,
    chat: dict[str, Any],
    tally: _Tally,
    controls: Controls,
    stem: str,
    max_message_chars: int,
) -> Conversation:
    raw_id = chat.get("id")
    if isinstance(raw_id, (int, str)) and not isinstance(raw_id, bool) and str(raw_id).strip():
        cid = str(raw_id)
    else:
        name = chat.get("name")
        cid = name if isinstance(name, str) and name.strip() else f"{stem}#{format_path(cp)}"
    items = doc.items(doc.field(chat, "messages", cp), (*cp, "messages"))
    messages: list[Message] = []
    names: dict[str, str] = {}
    for i, item, line in items:
        mp: JsonPath = (*cp, "messages", i)
        m = doc.obj(item, mp)
        mtype = doc.string(m, "type", mp, default="message")
        if mtype != "message":
            action = m.get("action")
            tally.service[action if isinstance(action, str) and action else mtype] += 1
            continue
        author = _author(doc, m, mp)
        if "from" in m and m["from"] is None:
            tally.deleted[author] += 1
        shown = m.get("from")
        if isinstance(shown, str) and shown.strip() and shown != author:
            names[author] = shown
        if "forwarded_from" in m:
            origin = m["forwarded_from"]
            tally.forwarded[
                origin if isinstance(origin, str) and origin else "a hidden sender"
            ] += 1
        text = _text(doc, m, mp)
        if not text and isinstance(m.get("poll"), dict):
            question = m["poll"].get("question")
            text = question if isinstance(question, str) else ""
        fixed = fix_surrogates(text)
        if fixed != text:
            tally.surrogates += 1
            text = fixed
        check_length(text, max_message_chars, lambda msg, mp=mp: doc.error((*mp, "text"), msg))
        text = controls.clean(text, line, (*mp, "text"))
        at = _at(doc, m, mp)
        if at is None:
            tally.no_unixtime += 1
        messages.append(
            Message(
                conversation=cid,
                author=author,
                text=text,
                line=len(messages) + 1,
                time=_date(doc, m, mp),
                source=f"{doc.where}:{line}",
                at=at,
                attachments=_attachments(doc, m, mp),
                kind="text" if text else "media",
            )
        )
    return Conversation(id=cid, messages=messages, source=doc.where, author_names=names)


def read(
    path: Path, *, max_message_chars: int, warn: WarnFn, options: dict[str, str]
) -> Iterator[Conversation]:
    """Read a Telegram Desktop JSON export: one Conversation per chat with messages.

    ``Conversation.id`` is the chat's ``id`` as a string (its ``name`` when it has none);
    messages are numbered 1..n in file order; ``Message.source`` is ``"path:line"`` of the
    message object. ``options`` are not used. Conversations are yielded chat by chat (a
    full-account export is never held whole as Message objects); the per-file warnings (skipped
    service messages, forwarded messages, deleted accounts, missing Unix times, repaired
    surrogates, chats with no messages) come after the last one, a removed control character
    as it is met.

    Raises
    ------
    InputError
        Not UTF-8, malformed JSON (line, column), not a Telegram export (the keys expected and
        found), a value of the wrong type or a ``date`` that is not a real date and time (naming
        its JSON path, e.g. ``messages[3].from_id``, and line), a message longer than
        ``max_message_chars``, or no message anyone wrote in the whole file.
    """
    del options
    doc = JsonDoc.load(path, build=_build, stream=_stream, fix_text=fix_x_escapes)
    chats = list(_chats(doc))
    tally = _Tally()
    controls = Controls(doc.where, warn)
    yielded = 0
    for cp, chat in chats:
        conv = _conversation(doc, cp, chat, tally, controls, path.stem, max_message_chars)
        if conv.messages:
            yielded += 1
            yield conv
        else:
            tally.empty_chats.append(conv.id)
    if not yielded:
        skipped = sum(tally.service.values())
        why = f" (only {plural(skipped, 'service message')})" if skipped else ""
        raise InputError(f"no messages anyone wrote{why}", path=doc.where)
    controls.finish()
    for warning in tally.warnings(doc.where):
        warn(warning)
