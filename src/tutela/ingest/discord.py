"""Reader for DiscordChatExporter's JSON export (Tyrrrz/DiscordChatExporter, ``--format Json``).

Parser: written for Tutela; no maintained PyPI package reads this format (chat-miner 0.6.0 has
no Discord parser).

Shape (DiscordChatExporter 2.x, ``JsonMessageWriter``; two spaces of indentation)::

    {"guild": {"id", "name"}, "channel": {"id", "type", "name", ...}, "dateRange",
     "exportedAt", "messages": [{"id", "type": "Default"|"Reply"|"GuildMemberJoin"|...,
     "timestamp": "2023-12-31T21:05:07.123+00:00", "timestampEdited", "content",
     "author": {"id", "name", "discriminator", "nickname", "isBot"},
     "attachments": [{"id", "url", "fileName", "fileSizeBytes"}], "embeds", "stickers",
     "reactions", "mentions", "reference"}], "messageCount"}

Quirks handled:

* authors are ``author.id`` (a snowflake, stable across renames), never the display name;
* system messages (every ``type`` but ``Default`` and ``Reply``: joins, pins, calls, thread
  creation...) are nobody's words: skipped, counted in one warning per file;
* attachments and stickers become :class:`~tutela.domain.Attachment` metadata (``url``, ``size``
  from ``fileSizeBytes``, kind from the file name's extension); nothing is fetched. A message
  without text but with media is ``kind="media"``;
* an export made without message content -- a bot token lacking the Message Content intent
  exports every ``content`` as ``""`` (Discord's "message content privileged intent", 2022) --
  is detected (every message has empty content and no attachment, embed or sticker): a warning
  says so and the Conversation has ``content_available=False``, so its authors are "not
  assessed", never "low risk". When only some messages are like that, a warning counts them;
* ``at`` is ``timestamp`` converted to UTC (the exporter writes the exporting machine's offset);
  ``time`` is the timestamp text;
* unpaired UTF-16 surrogates are replaced with U+FFFD (counted in a warning).

Not read: embeds' own text (link previews, bot cards), reactions, edits, mentions.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tutela.domain import Attachment, Conversation, Message
from tutela.errors import InputError

from ._fields import check_length
from ._jsondoc import JsonDoc, JsonPath, counted, fix_surrogates, iso_instant, plural
from ._media import kind_from_name
from ._warn import ReadWarning, WarnFn

__all__ = ["WORD_TYPES", "read", "sniff"]

#: Message types that carry someone's words; every other type is a system message.
WORD_TYPES = ("Default", "Reply")

_RE_GUILD = re.compile(r'"guild"\s*:\s*\{')
_RE_CHANNEL = re.compile(r'"channel"\s*:\s*\{')
_RE_MORE = re.compile(r'"exportedAt"\s*:|"messages"\s*:\s*\[')


def sniff(head: str) -> bool:
    """True when ``head`` looks like a DiscordChatExporter JSON export: a JSON object with
    ``"guild": {``, ``"channel": {`` and ``"exportedAt"`` or a ``"messages"`` array (key
    patterns, so an indented export cut at 64 KiB is recognised)."""
    return bool(
        head.lstrip().startswith("{")
        and _RE_GUILD.search(head)
        and _RE_CHANNEL.search(head)
        and _RE_MORE.search(head)
    )


def _descend(path: JsonPath) -> bool:
    return path in ((), ("messages",))


def _size(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _list(doc: JsonDoc, m: dict[str, Any], key: str, mp: JsonPath) -> list[Any]:
    value = m.get(key)
    if value is None:
        return []
    return doc.array(value, (*mp, key))


def _attachments(doc: JsonDoc, m: dict[str, Any], mp: JsonPath) -> tuple[Attachment, ...]:
    out: list[Attachment] = []
    for j, item in enumerate(_list(doc, m, "attachments", mp)):
        ap: JsonPath = (*mp, "attachments", j)
        a = doc.obj(item, ap)
        url = doc.string(a, "url", ap, default=None)
        name = doc.string(a, "fileName", ap, default=None)
        out.append(
            Attachment(
                kind=kind_from_name(name or url), url=url, size=_size(a.get("fileSizeBytes"))
            )
        )
    for j, item in enumerate(_list(doc, m, "stickers", mp)):
        sp: JsonPath = (*mp, "stickers", j)
        s = doc.obj(item, sp)
        out.append(Attachment(kind="image", url=doc.string(s, "sourceUrl", sp, default=None)))
    return tuple(out)


def read(
    path: Path, *, max_message_chars: int, warn: WarnFn, options: dict[str, str]
) -> Iterator[Conversation]:
    """Read a DiscordChatExporter JSON file: one Conversation, id ``channel.id``.

    Messages are numbered 1..n in file order (the exporter writes them oldest first);
    ``Message.source`` is ``"path:line"`` of the message object. ``options`` are not used.
    Warnings (skipped system messages, no message content, repaired surrogates, bad timestamps)
    are given before the conversation is yielded.

    Raises
    ------
    InputError
        Not UTF-8, malformed JSON (line, column), not a DiscordChatExporter export, a value of
        the wrong type (its JSON path, e.g. ``messages[3].author.id``, and line), a message longer
        than ``max_message_chars``, or no message anyone wrote.
    """
    del options
    doc = JsonDoc.load(path)
    root = doc.obj(doc.root, ())
    if "messages" not in root or "channel" not in root:
        keys = ", ".join(sorted(root)[:12]) or "none"
        raise doc.error(
            (),
            'not a DiscordChatExporter export: expected "channel" and "messages", found the '
            f"keys {keys}",
        )
    channel = doc.obj(root["channel"], ("channel",))
    cid = doc.ident(channel, "id", ("channel",))
    items = doc.array(root["messages"], ("messages",))
    lines = doc.lines(_descend)

    system: Counter[str] = Counter()
    surrogates = bad_times = 0
    blank = 0  # messages with no content and nothing attached or embedded
    messages: list[Message] = []
    for i, item in enumerate(items):
        mp: JsonPath = ("messages", i)
        m = doc.obj(item, mp)
        mtype = m.get("type", "Default")
        if mtype not in WORD_TYPES:
            system[str(mtype)] += 1
            continue
        author = doc.obj(doc.field(m, "author", mp), (*mp, "author"))
        author_id = doc.ident(author, "id", (*mp, "author"))
        text = doc.string(m, "content", mp, default="")
        fixed = fix_surrogates(text)
        if fixed != text:
            surrogates += 1
            text = fixed
        check_length(text, max_message_chars, lambda msg, mp=mp: doc.error((*mp, "content"), msg))
        attachments = _attachments(doc, m, mp)
        if not text and not attachments and not _list(doc, m, "embeds", mp):
            blank += 1
        stamp = doc.string(m, "timestamp", mp, default=None)
        at = iso_instant(stamp) if stamp is not None else None
        if stamp is not None and at is None:
            bad_times += 1
        messages.append(
            Message(
                conversation=cid,
                author=author_id,
                text=text,
                line=len(messages) + 1,
                time=stamp,
                source=f"{doc.where}:{lines[mp]}",
                at=at,
                attachments=attachments,
                kind="media" if attachments and not text else "text",
            )
        )

    if not messages:
        why = f" (only {plural(sum(system.values()), 'system message')})" if system else ""
        raise InputError(f"no messages anyone wrote{why}", path=doc.where)
    where = doc.where
    if system:
        n = sum(system.values())
        warn(
            ReadWarning(
                where,
                None,
                f"{plural(n, 'system message')} ({counted(system)}) are not anyone's words: "
                "skipped",
            )
        )
    content_available = blank < len(messages)
    if not content_available:
        warn(
            ReadWarning(
                where,
                None,
                f"this export holds no message content: all {plural(blank, 'message')} have an "
                'empty "content" and no attachment or embed (DiscordChatExporter run with a bot '
                "token that lacks the Message Content intent); who wrote when is kept, but its "
                "authors are not assessed",
            )
        )
    elif blank:
        warn(
            ReadWarning(
                where,
                None,
                f"{blank:,} of {plural(len(messages), 'message')} have no content, attachment or "
                "embed (polls, forwarded messages, or content withheld from a bot without the "
                "Message Content intent): kept without words",
            )
        )
    if surrogates:
        warn(
            ReadWarning(
                where,
                None,
                f"{plural(surrogates, 'text')} held unpaired UTF-16 surrogates (a cut emoji): "
                "replaced with U+FFFD",
            )
        )
    if bad_times:
        warn(
            ReadWarning(
                where,
                None,
                f'{plural(bad_times, "message")} with a "timestamp" that is not ISO 8601 with a '
                "UTC offset: kept as text, with no UTC instant",
            )
        )
    yield Conversation(id=cid, messages=messages, source=where, content_available=content_available)
