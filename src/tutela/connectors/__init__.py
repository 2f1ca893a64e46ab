"""Chat-platform connectors: one :class:`ChatConnector` protocol, in-memory, XMPP, IRC, Matrix.

Connectors translate wire events to :class:`InboundMessage` values and texts to wire messages;
they decide nothing (``docs/architecture.md``, "Packages and layers"). Create one by kind::

    conn = create_connector("xmpp", jid="mia@example.org", password="...", rooms=[...])

``CONNECTORS`` maps a kind to its class (importing this package imports slixmpp and pydle, about
0.2 s; import it lazily from command-line entry points that do not need it). The Matrix connector
imports matrix-nio (about 0.8 s) only when its first session starts.
"""

from __future__ import annotations

from typing import Any

from tutela.connectors.attachments import attachment_from_url, attachments_in_text, media_kind
from tutela.connectors.base import (
    Address,
    AuthenticationError,
    Backoff,
    BaseConnector,
    Capabilities,
    ChatConnector,
    ConnectorStats,
    Identity,
    InboundMessage,
    TokenBucket,
    mentions,
    split_text,
)
from tutela.connectors.irc import IrcConnector
from tutela.connectors.matrix import MatrixConnector
from tutela.connectors.memory import InMemoryConnector, MemoryClient, MemoryEvent, MemoryHub
from tutela.connectors.xmpp import XmppConnector
from tutela.errors import ConfigError

__all__ = [
    "CONNECTORS",
    "Address",
    "AuthenticationError",
    "Backoff",
    "BaseConnector",
    "Capabilities",
    "ChatConnector",
    "ConnectorStats",
    "Identity",
    "InMemoryConnector",
    "InboundMessage",
    "IrcConnector",
    "MatrixConnector",
    "MemoryClient",
    "MemoryEvent",
    "MemoryHub",
    "TokenBucket",
    "XmppConnector",
    "attachment_from_url",
    "attachments_in_text",
    "connector_class",
    "create_connector",
    "media_kind",
    "mentions",
    "split_text",
]

#: kind -> connector class. Add a platform by registering its class here.
CONNECTORS: dict[str, type[BaseConnector]] = {
    InMemoryConnector.name: InMemoryConnector,
    XmppConnector.name: XmppConnector,
    IrcConnector.name: IrcConnector,
    MatrixConnector.name: MatrixConnector,
}


def connector_class(kind: str) -> type:
    """The connector class registered for ``kind``; :class:`ConfigError` if unknown."""
    try:
        return CONNECTORS[kind]
    except KeyError:
        known = ", ".join(sorted(CONNECTORS))
        raise ConfigError(f"unknown connector kind {kind!r} (known: {known})") from None


def create_connector(kind: str, **config: Any) -> BaseConnector:
    """Build a connector of ``kind`` (``"memory"``, ``"xmpp"``, ``"irc"``, ``"matrix"``) from
    keyword config.

    Raises :class:`ConfigError` for an unknown kind or options the class does not accept.
    """
    cls = connector_class(kind)
    try:
        return cls(**config)
    except TypeError as e:
        raise ConfigError(f"{kind} connector: {e}") from e
