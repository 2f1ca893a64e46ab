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
* system messages (joins, pins, calls, thread creation, boosts...: every ``type`` but those of
  :data:`WORD_TYPES`) are nobody's words: skipped, counted in one warning per file. A bot's
  answer to a slash command or a context-menu command (Discord's message types 20
  ``CHAT_INPUT_COMMAND`` and 23 ``CONTEXT_MENU_COMMAND``) is words a bot wrote: kept, as a
  message of the bot's author id. DiscordChatExporter writes a type its ``MessageKind`` enum
  does not name as the number (``"20"``: ``message.Kind.ToString()`` in ``JsonMessageWriter``),
  so both spellings are read;
* attachments and stickers become :class:`~tutela.domain.Attachment` metadata (``url``, ``size``
  from ``fileSizeBytes``, kind from the file name's extension); nothing is fetched. A message
  without text but with media is ``kind="media"``;
* an export made without message content -- a bot token lacking the Message Content intent
  exports every ``content`` as ``""`` (Discord's "message content privileged intent", 2022) --
  is detected (every message has empty content and no attachment, embed or sticker): a warning
  says so and the Conversation has ``content_available=False``, so its authors are "not
  assessed", never "low risk". When only some messages are like that, a warning counts them;
* ``at`` is ``timestamp`` converted to UTC (the exporter writes the exporting machine's offset);
  ``time`` is the timestamp text. A timestamp that is not a real date and time (month 13, year
  99999, ``"later"``) is an error naming its JSON path and line; one without an offset is kept
  as text with ``at=None`` (counted in a warning);
* control characters other than tab and line breaks are removed from texts, each text named in a
  warning (:mod:`tutela.ingest._text`);
* unpaired UTF-16 surrogates are replaced with U+FFFD (counted in a warning).

The document must have the keys DiscordChatExporter always writes, ``guild``, ``channel`` and
``messages`` (``WritePreambleAsync``; a direct message has ``"guild": {"id": "0", "name":
"Direct Messages"}``); anything else is refused as "not a DiscordChatExporter export", naming
the keys found.

Not read: embeds' own text (link previews, bot cards), reactions, edits, mentions.
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
from ._media import declared_size, kind_from_name
from ._text import Controls
from ._warn import ReadWarning, WarnFn

__all__ = ["WORD_TYPES", "read", "sniff"]

#: Message types that carry someone's words (by name, and as DiscordChatExporter writes the types
#: its enum lacks: Discord's number); every other type is a system message.
WORD_TYPES = (
    "Default",
    "Reply",
    "ChatInputCommand",
    "ContextMenuCommand",
    "0",
    "19",
    "20",
    "23",
)

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


def _build(path: JsonPath) -> bool:
    return path == ()


def _stream(path: JsonPath) -> bool:
    return path == ("messages",)


def _instant(doc: JsonDoc, stamp: str, sp: JsonPath) -> datetime | None:
    """``timestamp`` as a UTC instant; ``None`` when it is a real date and time without an
    offset; an error when it is not a date and time at all."""
    try:
        parsed = datetime.fromisoformat(stamp)
    except ValueError:
        raise doc.error(
            sp,
            f"{stamp!r} is not a real date and time (DiscordChatExporter writes ISO 8601, "
            "2024-01-31T21:05:07.123+00:00)",
        ) from None
    if parsed.utcoffset() is None:
        return None
    return parsed.astimezone(UTC)


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
                kind=kind_from_name(name or url),
                url=url,
                size=declared_size(a.get("fileSizeBytes")),
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
    Warnings (skipped system messages, no message content, repaired surrogates, timestamps
    without a UTC offset, removed control characters) are given before the conversation is
    yielded.

    Raises
    ------
    InputError
        Not UTF-8, malformed JSON (line, column), not a DiscordChatExporter export (the keys
        expected and found), a value of the wrong type or a ``timestamp`` that is not a real
        date and time (its JSON path, e.g. ``messages[3].author.id``, and line), a message longer
        than ``max_message_chars``, or no message anyone wrote.
    """
    del options
    doc = JsonDoc.load(path, build=_build, stream=_stream)
    root = doc.root
    if not isinstance(root, dict) or not {"guild", "channel", "messages"} <= root.keys():
        raise doc.not_export("DiscordChatExporter", 'the keys "guild", "channel" and "messages"')
    channel = doc.obj(root["channel"], ("channel",))
    cid = doc.ident(channel, "id", ("channel",))
    items = doc.items(root["messages"], ("messages",))
    controls = Controls(doc.where, warn)

    system: Counter[str] = Counter()
    surrogates = naive_times = 0
    blank = 0  # messages with no content and nothing attached or embedded
    messages: list[Message] = []
    names: dict[str, str] = {}
    for i, item, line in items:
        mp: JsonPath = ("messages", i)
        m = doc.obj(item, mp)
        mtype = m.get("type", "Default")
        if mtype not in WORD_TYPES:
            system[str(mtype)] += 1
            continue
        author = doc.obj(doc.field(m, "author", mp), (*mp, "author"))
        author_id = doc.ident(author, "id", (*mp, "author"))
        for key in ("nickname", "name"):  # the name shown in the channel, else the account's
            shown = author.get(key)
            if isinstance(shown, str) and shown.strip():
                names[author_id] = shown
                break
        text = doc.string(m, "content", mp, default="")
        fixed = fix_surrogates(text)
        if fixed != text:
            surrogates += 1
            text = fixed
        check_length(text, max_message_chars, lambda msg, mp=mp: doc.error((*mp, "content"), msg))
        text = controls.clean(text, line, (*mp, "content"))
        attachments = _attachments(doc, m, mp)
        if not text and not attachments and not _list(doc, m, "embeds", mp):
            blank += 1
        stamp = doc.string(m, "timestamp", mp, default=None)
        at = None
        if stamp is not None:
            at = _instant(doc, stamp, (*mp, "timestamp"))
            if at is None:
                naive_times += 1
        messages.append(
            Message(
                conversation=cid,
                author=author_id,
                text=text,
                line=len(messages) + 1,
                time=stamp,
                source=f"{doc.where}:{line}",
                at=at,
                attachments=attachments,
                kind="media" if attachments and not text else "text",
            )
        )

    if not messages:
        why = f" (only {plural(sum(system.values()), 'system message')})" if system else ""
        raise InputError(f"no messages anyone wrote{why}", path=doc.where)
    where = doc.where
    controls.finish()
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
    if naive_times:
        warn(
            ReadWarning(
                where,
                None,
                f'{plural(naive_times, "message")} with a "timestamp" that has no UTC offset: '
                "kept as text, with no UTC instant",
            )
        )
    yield Conversation(
        id=cid,
        messages=messages,
        source=where,
        content_available=content_available,
        author_names=names,
    )
