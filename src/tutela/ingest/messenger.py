"""Reader for Facebook Messenger and Instagram "Download your information" JSON (message_1.json).

Parser: written for Tutela. chat-miner 0.6.0's ``FacebookMessengerParser`` and
``InstagramJsonParser`` raise on any string that is already correct (they re-decode every string
unconditionally), drop media and read calls and unsent messages as words. ``ftfy`` (6.3) was
checked for the text repair and not used: its ``fix_text`` also rewrites text that was never
mis-encoded (curly quotes, HTML entities), and ``fix_encoding`` is a heuristic, where Meta's
mis-encoding is one exact, reversible step (below).

Shape (both services; a long thread is split into ``message_1.json``, ``message_2.json``...)::

    {"participants": [{"name"}], "messages": [{"sender_name", "timestamp_ms", "content",
     "photos": [{"uri", "creation_timestamp"}], "videos", "audio_files", "files", "gifs",
     "sticker": {"uri"}, "share": {"link"}, "type": "Generic"|"Share"|"Call"|...,
     "is_unsent"}], "title", "is_still_participant", "thread_path"|"thread_type",
     "magic_words"}

Quirks handled:

* Meta writes UTF-8 text as if its bytes were Latin-1 characters (``"\\u00c3\\u00a9"`` for
  "é", ``"\\u00f0\\u009f\\u0098\\u0080"`` for 😀): every string read (content, sender_name,
  participants, title, share link) is repaired with ``s.encode("latin-1").decode("utf-8")`` when
  that round trip succeeds, and left as it is when it fails (the string was already right). The
  repaired strings are counted in one warning per file;
* messages are newest first in the file: they are put in time order (stable sort by
  ``timestamp_ms`` of the reversed list, so equal times keep their order of writing);
* calls, subscribe/unsubscribe notices and every ``type`` but ``Generic`` and ``Share``, unsent
  messages (``is_unsent``) and Instagram's reaction notices ("Reacted 😂 to your message",
  "Liked a message", English only) are nobody's words: skipped, counted in one warning;
* media (``photos``, ``videos``, ``audio_files``, ``files``, ``gifs``, ``sticker``) become
  :class:`~tutela.domain.Attachment` metadata with ``url=None``; the ``uri`` files are never
  opened. "<sender> sent an attachment." is the export's placeholder, not words: such a message
  is ``kind="media"``, as is any message with media and no text;
* a ``share`` without ``content`` gives its link as the text;
* ``at`` is ``timestamp_ms`` as a UTC instant, ``time`` its ISO 8601 text.

Not handled: deleted accounts all appear as one name ("Facebook user", "Instagram User"), so they
cannot be told apart; Messenger's end-to-end-encrypted "secure storage" export (camelCase keys,
``senderName``/``timestamp``/``text``) is a different format and is not read.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tutela.domain import Attachment, Conversation, Message
from tutela.errors import InputError

from ._fields import check_length
from ._jsondoc import JsonDoc, JsonPath, counted, fix_surrogates, plural
from ._warn import ReadWarning, WarnFn

__all__ = ["WORD_TYPES", "read", "repair_mojibake", "sniff"]

#: Message types that carry someone's words; every other type is skipped.
WORD_TYPES = ("Generic", "Share")

_RE_SENDER = re.compile(r'"sender_name"\s*:\s*"')
_RE_TIMESTAMP = re.compile(r'"timestamp_ms"\s*:\s*\d')
_RE_PARTICIPANTS = re.compile(r'"participants"\s*:\s*\[\s*(?:\{\s*"name"\s*:|\])')
_RE_REACTION = re.compile(r"^(?:Reacted .{1,16} to your message|Liked a message)$", re.DOTALL)

#: Media list keys -> Attachment kind.
_MEDIA = (("photos", "image"), ("gifs", "image"), ("videos", "video"), ("audio_files", "audio"))
_MEDIA += (("files", "file"),)


def sniff(head: str) -> bool:
    """True when ``head`` looks like a Messenger/Instagram JSON export: a JSON object with
    ``"sender_name"`` and ``"timestamp_ms"``, or one starting ``"participants": [{"name": ...``
    (key patterns, so an indented export cut at 64 KiB is recognised)."""
    if not head.lstrip().startswith("{"):
        return False
    if _RE_SENDER.search(head) and _RE_TIMESTAMP.search(head):
        return True
    return bool(_RE_PARTICIPANTS.search(head)) and '"messages"' in head


def repair_mojibake(text: str) -> str:
    """Undo Meta's mis-encoding: ``text.encode("latin-1").decode("utf-8")`` when that succeeds,
    else ``text`` unchanged (it was not mis-encoded). ``"caf\\u00c3\\u00a9"`` -> ``"café"``."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


class _Strings:
    """Reads strings of one document, repairing each and counting the repairs."""

    def __init__(self, doc: JsonDoc) -> None:
        self.doc = doc
        self.repaired = 0
        self.surrogates = 0

    def fix(self, value: str) -> str:
        fixed = repair_mojibake(value)
        if fixed != value:
            self.repaired += 1
        clean = fix_surrogates(fixed)
        if clean != fixed:
            self.surrogates += 1
        return clean

    def get(self, obj: dict[str, Any], key: str, path: JsonPath, *, default: Any = ...) -> Any:
        value = self.doc.string(obj, key, path, default=default)
        return self.fix(value) if isinstance(value, str) else value


def _descend(path: JsonPath) -> bool:
    return path in ((), ("messages",))


def _attachments(doc: JsonDoc, m: dict[str, Any], mp: JsonPath) -> tuple[Attachment, ...]:
    out: list[Attachment] = []
    for key, kind in _MEDIA:
        value = m.get(key)
        if value is None:
            continue
        for j, item in enumerate(doc.array(value, (*mp, key))):
            doc.obj(item, (*mp, key, j))
            out.append(Attachment(kind=kind))
    if m.get("sticker") is not None:
        doc.obj(m["sticker"], (*mp, "sticker"))
        out.append(Attachment(kind="image"))
    return tuple(out)


def _timestamp(doc: JsonDoc, m: dict[str, Any], mp: JsonPath) -> int:
    value = doc.field(m, "timestamp_ms", mp)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise doc.wrong((*mp, "timestamp_ms"), "an integer (milliseconds since 1970)", value)
    return value


def read(
    path: Path, *, max_message_chars: int, warn: WarnFn, options: dict[str, str]
) -> Iterator[Conversation]:
    """Read one Messenger or Instagram ``message_N.json``: one Conversation.

    ``Conversation.id`` is ``thread_path`` (``"inbox/alice_abc123"``), else the repaired
    ``title``, else the folder holding the file; messages are in time order, numbered 1..n;
    authors are the repaired ``sender_name``; ``Message.source`` is ``"path:line"`` of the
    message object. ``options`` are not used. Warnings (repaired strings, skipped messages) are
    given before the conversation is yielded.

    Raises
    ------
    InputError
        Not UTF-8, malformed JSON (line, column), no ``messages`` array, a value of the wrong
        type (its JSON path, e.g. ``messages[3].timestamp_ms``, and line), a message longer than
        ``max_message_chars``, or no message anyone wrote.
    """
    del options
    doc = JsonDoc.load(path)
    root = doc.obj(doc.root, ())
    if "messages" not in root:
        keys = ", ".join(sorted(root)[:12]) or "none"
        raise doc.error(
            (),
            f'not a Messenger/Instagram export: expected "messages", found the keys {keys}',
        )
    strings = _Strings(doc)
    for j, p in enumerate(doc.array(root.get("participants") or [], ("participants",))):
        strings.get(doc.obj(p, ("participants", j)), "name", ("participants", j), default=None)
    cid = strings.get(root, "thread_path", (), default=None) or strings.get(
        root, "title", (), default=None
    )
    if not cid or not cid.strip():
        cid = path.parent.name or path.stem
    items = doc.array(root["messages"], ("messages",))
    lines = doc.lines(_descend)

    skipped: Counter[str] = Counter()
    kept: list[tuple[int, int, Message]] = []  # (timestamp_ms, reversed position, message)
    for i, item in enumerate(items):
        mp: JsonPath = ("messages", i)
        m = doc.obj(item, mp)
        author = strings.get(m, "sender_name", mp)
        ms = _timestamp(doc, m, mp)
        mtype = strings.get(m, "type", mp, default="Generic")
        if mtype not in WORD_TYPES:
            skipped[mtype] += 1
            continue
        if m.get("is_unsent") is True:
            skipped["unsent"] += 1
            continue
        text = strings.get(m, "content", mp, default="")
        if _RE_REACTION.match(text):
            skipped["reaction notice"] += 1
            continue
        attachments = _attachments(doc, m, mp)
        if text in (f"{author} sent an attachment.", "You sent an attachment."):
            text = ""
        share = m.get("share")
        if not text and share is not None:
            share = doc.obj(share, (*mp, "share"))
            text = strings.get(share, "link", (*mp, "share"), default="")
        if not text and not attachments:
            skipped["empty"] += 1
            continue
        check_length(text, max_message_chars, lambda msg, mp=mp: doc.error((*mp, "content"), msg))
        try:
            at = datetime.fromtimestamp(ms / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError) as e:
            raise doc.error((*mp, "timestamp_ms"), f"{ms} is out of range") from e
        message = Message(
            conversation=cid,
            author=author,
            text=text,
            line=0,
            time=at.isoformat(timespec="milliseconds"),
            source=f"{doc.where}:{lines[mp]}",
            at=at,
            attachments=attachments,
            kind="text" if text else "media",
        )
        kept.append((ms, len(items) - i, message))

    if not kept:
        why = f" ({counted(skipped)} skipped)" if skipped else ""
        raise InputError(f"no messages anyone wrote{why}", path=doc.where)
    kept.sort(key=lambda t: (t[0], t[1]))
    messages = [replace(message, line=n) for n, (_, _, message) in enumerate(kept, 1)]
    where = doc.where
    if strings.repaired:
        warn(
            ReadWarning(
                where,
                None,
                f"repaired {plural(strings.repaired, 'text')} that the export wrote as UTF-8 "
                "bytes read as Latin-1 (Meta's mis-encoding, 'Ã©' for 'é')",
            )
        )
    if skipped:
        n = sum(skipped.values())
        warn(
            ReadWarning(
                where,
                None,
                f"{plural(n, 'message')} ({counted(skipped)}) are not anyone's words: skipped",
            )
        )
    if strings.surrogates:
        warn(
            ReadWarning(
                where,
                None,
                f"{plural(strings.surrogates, 'text')} held unpaired UTF-16 surrogates (a cut "
                "emoji): replaced with U+FFFD",
            )
        )
    yield Conversation(id=cid, messages=messages, source=where)
