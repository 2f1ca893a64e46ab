"""Grouping one-message-per-record files (generic JSONL, CSV) into conversations.

Both formats give each record a conversation id, an author and the conversation-level fields
(``label``, ``lang``) and ``author_label`` on any record; this is the one place that checks a
record against the earlier ones and appends its message.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from tutela.domain import Conversation, Message
from tutela.errors import InputError

__all__ = ["add_message"]


def add_message(
    convs: dict[str, Conversation],
    *,
    cid: str,
    author: str,
    text: str,
    time: str | None,
    label: int | None,
    lang: str | None,
    author_label: int | None,
    where: str,
    source: str,
    error: Callable[[str], InputError],
    at: datetime | None = None,
) -> None:
    """Append one message to conversation ``cid`` of ``convs`` (created on first sight).

    ``label``/``lang`` given for a conversation, or ``author_label`` for an author, must agree
    with every earlier record: a contradiction raises ``error(...)`` (the caller's
    :class:`InputError` naming its file and line). ``line`` numbers run 1..n per conversation.
    """
    conv = convs.get(cid)
    if conv is None:
        conv = convs[cid] = Conversation(id=cid, messages=[], source=where)
    if label is not None:
        if conv.label is not None and conv.label != label:
            raise error(
                f'"label" {label} contradicts label {conv.label} given earlier for '
                f'conversation "{cid}"'
            )
        conv.label = label
    if lang is not None:
        if conv.lang is not None and conv.lang != lang:
            raise error(
                f'"lang" "{lang}" contradicts "{conv.lang}" given earlier for conversation "{cid}"'
            )
        conv.lang = lang
    if author_label is not None:
        known = conv.author_labels.get(author)
        if known is not None and known != author_label:
            raise error(
                f'"author_label" {author_label} contradicts {known} given earlier for '
                f'author "{author}" in conversation "{cid}"'
            )
        conv.author_labels[author] = author_label
    conv.messages.append(
        Message(
            conversation=cid,
            author=author,
            text=text,
            line=len(conv.messages) + 1,
            time=time,
            source=source,
            at=at,
        )
    )
