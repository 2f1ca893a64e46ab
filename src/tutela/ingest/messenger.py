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

A document without ``participants`` and ``messages`` (a Telegram or Discord export given with
``--format messenger``) is refused as "not a Messenger/Instagram export", naming the keys found.

Quirks handled:

* Meta writes UTF-8 text as if its bytes were Latin-1 characters (``"\\u00c3\\u00a9"`` for
  "é", ``"\\u00f0\\u009f\\u0098\\u0080"`` for 😀), every string of the file alike. The repair,
  ``s.encode("latin-1").decode("utf-8")`` (:func:`repair_mojibake`), is decided **once per
  file**: it is applied to every string (content, sender_name, participants, title, share link)
  when every non-ASCII string of the file survives that round trip, and to none when one does
  not (a character above U+00FF, or bytes that are not UTF-8: the file was re-saved with correct
  text, and a typed "Ã©" in it is kept as typed). The repaired strings are counted in one
  warning; when the file holds both kinds, a warning says the repair was not made.
  Known limit: a correctly encoded file whose *only* non-ASCII text happens to read as UTF-8
  (nothing but a typed "Â£5 or Ã©") cannot be told from a mis-encoded one and is repaired;
* messages are newest first in the file: they are put in time order (stable sort by
  ``timestamp_ms`` of the reversed list, so equal times keep their order of writing);
* calls (``type: Call``, or a ``call_duration`` in exports without ``type``),
  subscribe/unsubscribe notices and every ``type`` but ``Generic`` and ``Share``, and unsent
  messages (``is_unsent``) are nobody's words: skipped, counted in one warning;
* Instagram's reaction notices ("Reacted 😂 to your message", "Liked a message") carry no marker
  in the export (they are ``Generic`` messages with that ``content``), so they cannot be told
  from someone typing those words: they are **kept** as words, and one warning counts the
  messages that read like a notice;
* media (``photos``, ``videos``, ``audio_files``, ``files``, ``gifs``, ``sticker``) become
  :class:`~tutela.domain.Attachment` metadata with ``url=None``; the ``uri`` files are never
  opened. "<sender> sent an attachment." is the export's placeholder, not words: such a message
  is ``kind="media"``, as is any message with media and no text;
* a ``share`` without ``content`` gives its link as the text;
* control characters other than tab and line breaks are removed from texts (after the repair,
  whose intermediate form is full of them), each text named in a warning
  (:mod:`tutela.ingest._text`);
* ``at`` is ``timestamp_ms`` as a UTC instant, ``time`` its ISO 8601 text.

Not handled: deleted accounts all appear as one name ("Facebook user", "Instagram User"), so they
cannot be told apart; Messenger's end-to-end-encrypted "secure storage" export (camelCase keys,
``senderName``/``timestamp``/``text``) is a different format and is not read.
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
from ._jsondoc import JsonDoc, JsonPath, counted, fix_surrogates, plural
from ._text import Controls
from ._warn import ReadWarning, WarnFn

__all__ = ["WORD_TYPES", "read", "repair_mojibake", "sniff"]

#: Message types that carry someone's words; every other type is skipped.
WORD_TYPES = ("Generic", "Share")

_RE_SENDER = re.compile(r'"sender_name"\s*:\s*"')
_RE_TIMESTAMP = re.compile(r'"timestamp_ms"\s*:\s*\d')
_RE_PARTICIPANTS = re.compile(r'"participants"\s*:\s*\[\s*(?:\{\s*"name"\s*:|\])')
_RE_REACTION = re.compile(r"^(?:Reacted .{1,16} to your message ?|Liked a message)$", re.DOTALL)

#: Media list keys -> Attachment kind.
_MEDIA = (
    ("photos", "image"),
    ("gifs", "image"),
    ("videos", "video"),
    ("audio_files", "audio"),
    ("files", "file"),
)


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
    """Undo Meta's mis-encoding of one string: ``text.encode("latin-1").decode("utf-8")`` when
    that succeeds, else ``text`` unchanged (it was not mis-encoded).
    ``"caf\\u00c3\\u00a9"`` -> ``"café"``.

    The per-file decision of :func:`read` (repair every string or none) is what tells a typed
    "Ã©" from a mis-encoded "é"; this function alone cannot.
    """
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


class _Strings:
    """The strings of one file: evidence for the per-file repair, then the repair itself."""

    def __init__(self) -> None:
        self.fits = 0  # non-ASCII strings that survive the Latin-1 -> UTF-8 round trip
        self.misfits = 0  # non-ASCII strings that cannot have been mis-encoded
        self.repair = False
        self.repaired = 0
        self.surrogates = 0

    def see(self, value: str) -> None:
        if value.isascii():
            return
        try:
            value.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            self.misfits += 1
        else:
            self.fits += 1

    def decide(self) -> None:
        self.repair = self.fits > 0 and self.misfits == 0

    def fix(self, value: str) -> str:
        if self.repair and not value.isascii():
            fixed = repair_mojibake(value)
            if fixed != value:
                self.repaired += 1
                value = fixed
        clean = fix_surrogates(value)
        if clean != value:
            self.surrogates += 1
        return clean


def _build(path: JsonPath) -> bool:
    return path == ()


def _stream(path: JsonPath) -> bool:
    return path == ("messages",)


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

    ``Conversation.id`` is ``thread_path`` (``"inbox/alice_abc123"``), else the (repaired)
    ``title``, else the folder holding the file; messages are in time order, numbered 1..n;
    authors are the (repaired) ``sender_name``; ``Message.source`` is ``"path:line"`` of the
    message object. ``options`` are not used. Warnings (repaired strings, skipped messages,
    messages that read like reaction notices, removed control characters) are given before the
    conversation is yielded.

    Raises
    ------
    InputError
        Not UTF-8, malformed JSON (line, column), not a Messenger/Instagram export (the keys
        expected and found), a value of the wrong type (its JSON path, e.g.
        ``messages[3].timestamp_ms``, and line), a message longer than ``max_message_chars``,
        or no message anyone wrote.
    """
    del options
    doc = JsonDoc.load(path, build=_build, stream=_stream)
    root = doc.root
    if not isinstance(root, dict) or not {"participants", "messages"} <= root.keys():
        raise doc.not_export("Messenger/Instagram", 'the keys "participants" and "messages"')
    strings = _Strings()
    participants = root["participants"]
    for j, p in enumerate(
        doc.array([] if participants is None else participants, ("participants",))
    ):
        name = doc.string(
            doc.obj(p, ("participants", j)), "name", ("participants", j), default=None
        )
        if name is not None:
            strings.see(name)
    raw_cid = doc.string(root, "thread_path", (), default=None) or doc.string(
        root, "title", (), default=None
    )
    if raw_cid is not None:
        strings.see(raw_cid)
    items = doc.items(root["messages"], ("messages",))

    skipped: Counter[str] = Counter()
    # (timestamp_ms, reversed position, at, index, line, sender_name, text, attachments); the
    # strings as written, repaired (or not) once the whole file has been seen
    kept: list[tuple[int, int, datetime, int, int, str, str, tuple[Attachment, ...]]] = []
    for i, item, line in items:
        mp: JsonPath = ("messages", i)
        m = doc.obj(item, mp)
        author = doc.string(m, "sender_name", mp)
        ms = _timestamp(doc, m, mp)
        mtype = doc.string(m, "type", mp, default="Generic")
        if mtype not in WORD_TYPES:
            skipped[mtype] += 1
            continue
        if "call_duration" in m:  # newer exports drop "type" but keep a call's duration
            skipped["Call"] += 1
            continue
        if m.get("is_unsent") is True:
            skipped["unsent"] += 1
            continue
        text = doc.string(m, "content", mp, default="")
        attachments = _attachments(doc, m, mp)
        if text in (f"{author} sent an attachment.", "You sent an attachment."):
            text = ""
        share = m.get("share")
        if not text and share is not None:
            share = doc.obj(share, (*mp, "share"))
            text = doc.string(share, "link", (*mp, "share"), default="")
        if not text and not attachments:
            skipped["empty"] += 1
            continue
        try:
            at = datetime.fromtimestamp(ms / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError) as e:
            raise doc.error((*mp, "timestamp_ms"), f"{ms} is out of range") from e
        strings.see(author)
        strings.see(text)
        kept.append((ms, len(items) - i, at, i, line, author, text, attachments))

    if not kept:
        why = f" ({counted(skipped)} skipped)" if skipped else ""
        raise InputError(f"no messages anyone wrote{why}", path=doc.where)
    kept.sort()  # by (timestamp_ms, reversed position): the position is unique, so it decides
    kept.reverse()  # popped from the end below, so each tuple is freed as its Message is made
    strings.decide()
    where = doc.where
    controls = Controls(where, warn)
    for p in participants or ():
        if isinstance(p, dict) and isinstance(p.get("name"), str):
            strings.fix(p["name"])  # counted with the other repairs
    cid = strings.fix(raw_cid) if raw_cid is not None else None
    if not cid or not cid.strip():
        cid = path.parent.name or path.stem
    reactions = 0
    messages: list[Message] = []
    for n in range(1, len(kept) + 1):
        _, _, at, i, line, raw_author, raw_text, attachments = kept.pop()
        text = strings.fix(raw_text)
        check_length(
            text, max_message_chars, lambda msg, i=i: doc.error(("messages", i, "content"), msg)
        )
        text = controls.clean(text, line, ("messages", i, "content"))
        if _RE_REACTION.match(text):
            reactions += 1
        messages.append(
            Message(
                conversation=cid,
                author=strings.fix(raw_author),
                text=text,
                line=n,
                time=at.isoformat(timespec="milliseconds"),
                source=f"{where}:{line}",
                at=at,
                attachments=attachments,
                kind="text" if text else "media",
            )
        )
    controls.finish()
    if strings.repaired:
        warn(
            ReadWarning(
                where,
                None,
                f"repaired {plural(strings.repaired, 'text')} that the export wrote as UTF-8 "
                "bytes read as Latin-1 (Meta's mis-encoding, 'Ã©' for 'é')",
            )
        )
    elif strings.fits:
        warn(
            ReadWarning(
                where,
                None,
                f"{plural(strings.fits, 'text')} would read as Meta's mis-encoding ('Ã©' for 'é') "
                f"but {plural(strings.misfits, 'other text')} of the file cannot be mis-encoded "
                "(the file was saved with correct text): all kept as written",
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
    if reactions:
        warn(
            ReadWarning(
                where,
                None,
                f"{plural(reactions, 'message')} read like Instagram's reaction notices "
                '("Liked a message", "Reacted … to your message"); the export does not mark '
                "them, so they are kept as words",
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
