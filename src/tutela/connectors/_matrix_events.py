"""Pure helpers of the Matrix connector (:mod:`tutela.connectors.matrix`): event fields, rich
reply fallbacks, mentions, media metadata and room membership seen in a sync batch.

References are to sections of the Matrix Client-Server API specification (spec.matrix.org,
v1.10 or later). Nothing here does I/O or imports matrix-nio.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from tutela.connectors.attachments import media_kind
from tutela.connectors.base import ConnectorStats, Identity, InboundMessage
from tutela.domain import Attachment

log = logging.getLogger("tutela.connectors.matrix")

_MEDIA_KINDS = {"m.image": "image", "m.video": "video", "m.audio": "audio", "m.file": None}
MEDIA_MSGTYPES = frozenset(_MEDIA_KINDS)
#: Something shaped like a user id ("Identifier Grammar", user identifiers), for mention tests.
_USER_ID = re.compile(r"@[A-Za-z0-9._=/+\-]+:[A-Za-z0-9.\-]+(?::[0-9]+)?")
_TRAILING = ".,;:!?)]}'\""
_TAG = re.compile(r"<[^>]*>")
_MX_REPLY = re.compile(r"<mx-reply>.*?</mx-reply>", re.DOTALL | re.IGNORECASE)
_WORD = re.compile(r"\w+")
#: Memberships that put a user in a room's member list, now or once (``leave``/``ban`` of a
#: former member; "Room membership").
_WAS_MEMBER = frozenset({"join", "invite", "leave", "ban"})


@dataclass(slots=True)
class MatrixStats:
    """Matrix-specific counters (since construction)."""

    edits_recorded: int = 0  # m.replace edits, delivered with answer=False
    notices_recorded: int = 0  # m.notice messages, delivered with answer=False
    redactions_ignored: int = 0  # m.room.redaction events and redacted events (nothing removed)
    empty_ignored: int = 0  # blank bodies without media
    encrypted_ignored: int = 0  # m.room.encrypted events (no end-to-end support)
    invites_accepted: int = 0  # direct invites and invites to configured rooms
    invites_ignored: int = 0  # other invites, left pending
    formatted_differs: int = 0  # formatted_body with words that body lacks (body kept as text)
    backfilled: int = 0  # events fetched with /messages behind a limited sync timeline
    history_gaps: int = 0  # limited timelines not fully paged back (older events not delivered)


def canonical_json(obj: Any) -> bytes:
    """``obj`` as Matrix canonical JSON bytes: sorted keys, no insignificant spaces, UTF-8.

    (Matrix spec, appendices, "Canonical JSON"; the number rules do not matter for events as
    received, which carry integers only.)
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def strip_reply_fallback(body: str, formatted: str | None) -> str:
    """``body`` without a rich reply's fallback quote, or ``body`` unchanged.

    Matrix spec, "Rich replies" (fallbacks are no longer sent since v1.13 but older clients still
    add them): the fallback is the leading ``> `` lines followed by one blank line. They are
    removed only when the event really has that shape: ``formatted_body`` carries an
    ``<mx-reply>`` block, or the quote lines are followed by a blank line and more text. A reply
    whose whole body is ``> `` lines (a Markdown quote typed by the sender) keeps them: they are
    the sender's words. Never returns a blank string for a non-blank ``body``.
    """
    lines = body.split("\n")
    if not lines or not lines[0].startswith(">"):
        return body
    i = 0
    while i < len(lines) and lines[i].startswith(">"):
        i += 1
    shaped = i < len(lines) and lines[i] == ""
    marked = isinstance(formatted, str) and "<mx-reply>" in formatted.lower()
    if not (shaped or marked):
        return body
    rest = "\n".join(lines[i + 1 if shaped else i :])
    return rest if rest.strip() else body


def formatted_words_missing(body: str, formatted: Any) -> bool:
    """True when ``formatted`` (an HTML ``formatted_body``) shows words that ``body`` lacks.

    Tags and the ``<mx-reply>`` block are removed and entities decoded first; words are compared
    case-folded (``\\w+`` runs), so Markdown and pills that render the same words are no
    difference. ("Rich text": clients send the Markdown source as ``body`` and its HTML.)
    """
    if not isinstance(formatted, str) or not formatted:
        return False
    plain = html.unescape(_TAG.sub(" ", _MX_REPLY.sub(" ", formatted)))
    have = set(_WORD.findall(body.casefold()))
    return any(w not in have for w in _WORD.findall(plain.casefold()))


def _word(text: str, name: str) -> bool:
    """``name`` as a whole word of ``text``, case-sensitive."""
    return re.search(r"(?<!\w)" + re.escape(name) + r"(?!\w)", text) is not None


def mentions_user(
    body: str, content: dict[str, Any], *, user_id: str, localpart: str, names: Iterable[str]
) -> bool:
    """True when an event's ``content`` (with text ``body``) mentions ``user_id``.

    * ``content["m.mentions"]`` present (a dict, "User and room mentions", v1.7): authoritative,
      a mention only when ``user_ids`` lists ``user_id``; ``room: true`` (@room) is not a
      mention of the persona.
    * otherwise (older clients): a ``https://matrix.to/#/<user id>`` pill in ``formatted_body``;
      the full user id in ``body``; one of ``names`` (display names) as a case-sensitive whole
      word outside other user ids; or the ``localpart`` in an address shape only, ``@mia`` or
      ``mia:`` / ``mia,`` at the start of a line (any case), since a bare localpart is often a
      common word (``mia`` is Italian for "my"). A display name equal to the localpart (Synapse's
      default) follows the localpart rule.
    """
    m = content.get("m.mentions")
    if isinstance(m, dict):
        ids = m.get("user_ids")
        return isinstance(ids, list) and user_id in ids
    formatted = content.get("formatted_body")
    if isinstance(formatted, str) and (
        f"matrix.to/#/{user_id}" in formatted
        or f"matrix.to/#/{user_id.replace('@', '%40').replace(':', '%3A')}" in formatted
    ):
        return True
    if any(u.group(0).rstrip(_TRAILING) == user_id for u in _USER_ID.finditer(body)):
        return True
    plain = _USER_ID.sub(" ", body)  # someone else's id (@mia:other.org) is not this persona
    if any(name and name != localpart and _word(plain, name) for name in names):
        return True
    lp = re.escape(localpart)
    return (
        re.search(r"(?<![\w@])@" + lp + r"(?![\w:])", plain, re.IGNORECASE) is not None
        or re.search(r"(?m)^[ \t]*" + lp + r"[:,](?!\S)", plain, re.IGNORECASE) is not None
    )


def _obj(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def sent_at(source: dict[str, Any]) -> datetime | None:
    """``origin_server_ts`` (ms since the epoch) as an aware UTC instant; ``None`` if unusable."""
    ts = source.get("origin_server_ts")
    if isinstance(ts, bool) or not isinstance(ts, int) or ts < 0:
        return None
    try:
        return datetime.fromtimestamp(ts / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def attachment(event_type: str, content: dict[str, Any]) -> Attachment:
    """Metadata of a media event (``m.image``... or ``m.sticker``): ``url`` the ``mxc://`` URI
    (``url``, or ``file.url`` for encrypted media), ``mime`` and ``size`` from ``info``.
    Nothing is downloaded."""
    msgtype = content.get("msgtype")
    info = _obj(content.get("info"))
    url = content.get("url")
    if not isinstance(url, str):
        file = content.get("file")
        url = file.get("url") if isinstance(file, dict) else None
    url = url if isinstance(url, str) and url else None
    mime = info.get("mimetype") if isinstance(info.get("mimetype"), str) else None
    size = info.get("size")
    size = size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None
    listed = _MEDIA_KINDS.get(msgtype) if isinstance(msgtype, str) else None
    kind = "image" if event_type == "m.sticker" else listed or media_kind(mime)
    return Attachment(kind=kind, url=url, mime=mime, size=size)


def display(room: Any, user_id: str) -> str | None:
    """``user_id``'s display name in a nio ``MatrixRoom``, or ``None``."""
    user = getattr(room, "users", {}).get(user_id)
    name = getattr(user, "display_name", None)
    return name if isinstance(name, str) and name else None


def is_message(event: Any) -> bool:
    """True for a nio event whose source is an ``m.room.message`` or ``m.sticker``."""
    src = getattr(event, "source", None)
    return isinstance(src, dict) and src.get("type") in ("m.room.message", "m.sticker")


def members_seen(events: Iterable[Any], own: str) -> set[str]:
    """User ids other than ``own`` that are or were members according to ``events`` (nio events
    of a room's state or timeline): ``m.room.member`` state keys with a membership in
    ``join``/``invite``/``leave``/``ban`` (also the previous membership in ``unsigned``), and
    senders of messages."""
    seen: set[str] = set()
    for event in events:
        src = getattr(event, "source", None)
        if not isinstance(src, dict):
            continue
        if src.get("type") == "m.room.member":
            key = src.get("state_key")
            content = _obj(src.get("content"))
            prev = _obj(_obj(src.get("unsigned")).get("prev_content")).get("membership")
            if isinstance(key, str) and (
                content.get("membership") in _WAS_MEMBER or prev in _WAS_MEMBER
            ):
                seen.add(key)
        elif src.get("type") in ("m.room.message", "m.sticker", "m.room.encrypted"):
            sender = src.get("sender")
            if isinstance(sender, str):
                seen.add(sender)
    seen.discard(own)
    return seen


class RoomRules:
    """The direct-room, mention and translation rules of :class:`MatrixConnector` (its module
    docstring), kept apart from the session code. Pure: state lives on the connector."""

    name: ClassVar[str]
    user_id: str
    localpart: str
    display_name: str | None
    stats: ConnectorStats
    matrix_stats: MatrixStats
    _profile_name: str | None
    _configured: dict[str, str]
    _direct_marked: set[str]
    _others: dict[str, set[str]]
    _grown: set[str]
    _dm: dict[str, str]
    _encrypted_warned: set[str]
    _now: Any
    _ignore_room_message: Any

    def _note_members(self, room: Any, events: Iterable[Any]) -> None:
        """Remember who is or was in ``room``; more than one other member makes it a group room
        for good (a direct room that grew, or a group that shrank to two)."""
        others = self._others.setdefault(room.room_id, set())
        others.update(members_seen(events, self.user_id))
        others.update(u for u in getattr(room, "users", {}) if u != self.user_id)
        if len(others) > 1 or room.member_count > 2:
            self._grown.add(room.room_id)

    def _is_direct(self, room: Any, sender: str | None = None) -> bool:
        """Direct room rule (module docstring); with ``sender``, also: the line is direct."""
        room_id = room.room_id
        if room_id in self._configured.values() or room_id in self._grown:
            return False
        count = room.member_count
        if count > 2:
            self._grown.add(room_id)
            return False
        if (
            sender is not None
            and sender not in getattr(room, "users", {})
            and self._others.get(room_id) != {sender}
        ):
            return False  # not the other member now, nor the only one there ever was
        if room_id in self._direct_marked:
            return True
        return count == 2

    def _mentions_me(self, body: str, content: dict[str, Any], room: Any) -> bool:
        names = (self.display_name or self._profile_name, display(room, self.user_id))
        return mentions_user(
            body,
            content,
            user_id=self.user_id,
            localpart=self.localpart,
            names=[n for n in names if n],
        )

    def _translate(self, event: Any, room: Any) -> InboundMessage | None:
        """One timeline event of the joined ``room`` (a nio ``MatrixRoom``) as an
        :class:`InboundMessage`, or ``None`` when it is not delivered (rules in the module
        docstring). ``event`` is any nio event with a ``source`` dict (parsed or ``BadEvent``)."""
        src = getattr(event, "source", None)
        if not isinstance(src, dict):
            return None
        etype = src.get("type")
        sender = src.get("sender")
        if not isinstance(sender, str) or "state_key" in src:
            return None  # state events (membership, names...) are not words
        if sender == self.user_id:
            if etype in ("m.room.message", "m.sticker", "m.room.encrypted"):
                self.stats.own_echoes_ignored += 1
            return None
        if etype == "m.room.redaction":
            self.matrix_stats.redactions_ignored += 1  # the redacted line stays recorded
            return None
        if etype == "m.room.encrypted":
            self.matrix_stats.encrypted_ignored += 1
            if room.room_id not in self._encrypted_warned:
                self._encrypted_warned.add(room.room_id)
                log.warning(
                    "matrix: %s is end-to-end encrypted; its messages cannot be read",
                    room.room_id,
                )
            return None
        if etype not in ("m.room.message", "m.sticker"):
            return None  # reactions, calls, unknown types
        content = src.get("content")
        unsigned = src.get("unsigned")
        if (
            not isinstance(content, dict)
            or not content
            or (isinstance(unsigned, dict) and "redacted_because" in unsigned)
        ):
            self.matrix_stats.redactions_ignored += 1
            return None
        relates = content.get("m.relates_to")
        relates = relates if isinstance(relates, dict) else {}
        edit = relates.get("rel_type") == "m.replace"
        shown = content  # what the event says, for an edit its new content
        if edit and isinstance(content.get("m.new_content"), dict):
            shown = content["m.new_content"]
        body = shown.get("body")
        body = body if isinstance(body, str) else ""
        direct = self._is_direct(room, sender)
        mentioned = self._mentions_me(body, shown, room) or (
            shown is not content and self._mentions_me(body, content, room)
        )
        if not direct and not mentioned:
            self._ignore_room_message()
            return None
        msgtype = shown.get("msgtype")
        attachments: tuple[Attachment, ...] = ()
        if etype == "m.sticker" or msgtype in MEDIA_MSGTYPES:
            attachments = (attachment(etype, shown),)
            filename = shown.get("filename")
            caption = isinstance(filename, str) and filename != body and body.strip()
            text = body if caption else ""
        else:
            formatted = shown.get("formatted_body")
            if "m.in_reply_to" in relates and not edit:
                body = strip_reply_fallback(body, formatted)
            if not body.strip():
                self.matrix_stats.empty_ignored += 1
                return None
            if formatted_words_missing(body, formatted):
                self.matrix_stats.formatted_differs += 1
                log.info("matrix: formatted_body of %s differs from its body", src.get("event_id"))
            text = f"/me {body}" if msgtype == "m.emote" else body
        answer = not edit and msgtype != "m.notice"
        self.matrix_stats.edits_recorded += edit
        self.matrix_stats.notices_recorded += msgtype == "m.notice"
        if direct:
            self._dm[sender] = room.room_id
        event_id = src.get("event_id")
        return InboundMessage(
            platform=self.name,
            account=self.user_id,
            sender=Identity(self.name, sender, display(room, sender)),
            room=None if direct else room.room_id,
            text=text,
            direct=direct,
            mentioned=mentioned,
            received_at=self._now(),
            wire=canonical_json(src),
            platform_id=event_id if isinstance(event_id, str) else None,
            attachments=attachments,
            sent_at=sent_at(src),
            answer=answer,
        )
