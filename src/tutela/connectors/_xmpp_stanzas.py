"""Reading XMPP stanzas: the namespaces, XEP-0082 stamps and the pieces of a ``<message/>`` the
connector needs (forwards and carbons, the stable id, the room marker, out-of-band media).

Pure functions over slixmpp stanzas (``stanza.xml`` is an ElementTree element); no network, no
state. Used by :mod:`tutela.connectors.xmpp`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "NS_CARBONS",
    "NS_CLIENT",
    "NS_DELAY",
    "NS_FORWARD",
    "NS_MAM_PREFIX",
    "NS_MUC_USER",
    "NS_OOB",
    "NS_SID",
    "carbon",
    "from_occupant",
    "is_forward",
    "oob_urls",
    "parse_stamp",
    "platform_id",
]

NS_CLIENT = "jabber:client"
NS_FORWARD = "urn:xmpp:forward:0"
NS_CARBONS = "urn:xmpp:carbons:2"
NS_MAM_PREFIX = "urn:xmpp:mam:"
NS_DELAY = "urn:xmpp:delay"
NS_OOB = "jabber:x:oob"
NS_SID = "urn:xmpp:sid:0"
NS_MUC_USER = "http://jabber.org/protocol/muc#user"

#: XEP-0082 DateTime profile (``CCYY-MM-DDThh:mm:ss[.sss]TZD``), the form of XEP-0203 stamps.
_STAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})"
)


def parse_stamp(text: str) -> datetime:
    """An XEP-0082 DateTime (the XEP-0203 ``stamp`` attribute) as an aware UTC datetime.

    Accepts ``2024-05-01T10:00:00Z``, fractions of any length (cut to microseconds) and a
    ``±hh:mm`` offset. Raises ``ValueError`` for anything else, the legacy XEP-0091 form
    ``20240501T10:00:00`` included (deprecated, and it states no zone).
    """
    m = _STAMP.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"not an XEP-0082 DateTime: {text!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
    at = datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)
    zone = m.group(8)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        at -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    return at


def is_forward(stanza: Any) -> bool:
    """True when the stanza wraps another message (carbons, MAM result, any forward)."""
    for child in stanza.xml.iter():
        tag = child.tag
        if not isinstance(tag, str) or not tag.startswith("{"):
            continue
        ns = tag[1:].split("}", 1)[0]
        if ns in (NS_FORWARD, NS_CARBONS) or ns.startswith(NS_MAM_PREFIX):
            return True
    return False


def carbon(stanza: Any) -> tuple[str, Any] | None:
    """``(kind, inner)`` for an XEP-0280 carbon: ``kind`` is ``"sent"`` or ``"received"``,
    ``inner`` the forwarded ``<message/>`` element (``None`` when the wrapper holds none);
    ``None`` when the stanza is not a carbon."""
    for kind in ("sent", "received"):
        wrapper = stanza.xml.find(f"{{{NS_CARBONS}}}{kind}")
        if wrapper is not None:
            return kind, wrapper.find(f"{{{NS_FORWARD}}}forwarded/{{{NS_CLIENT}}}message")
    return None


def platform_id(stanza: Any, own_bare: str) -> str | None:
    """The message's stable id (module docstring): the origin-id, else the *last* stanza-id
    ``by`` ``own_bare``, else ``None`` (never the stream-local ``id`` attribute)."""
    origin = stanza.xml.find(f"{{{NS_SID}}}origin-id")
    if origin is not None and (origin.get("id") or "").strip():
        return str(origin.get("id"))
    found = None
    for sid in stanza.xml.findall(f"{{{NS_SID}}}stanza-id"):
        if sid.get("by") == own_bare and (sid.get("id") or "").strip():
            found = str(sid.get("id"))
    return found


def from_occupant(stanza: Any) -> bool:
    """True when a private message says it comes through a room (XEP-0045 section 7.5)."""
    return stanza.xml.find(f"{{{NS_MUC_USER}}}x") is not None


def oob_urls(stanza: Any) -> list[str]:
    """The URLs of XEP-0066 out-of-band data in the stanza (metadata only; never fetched)."""
    urls = []
    for x in stanza.xml.findall(f"{{{NS_OOB}}}x"):
        url = x.findtext(f"{{{NS_OOB}}}url")
        if url and url.strip():
            urls.append(url.strip())
    return urls
