"""Operator takeover: texts an analyst typed as the persona, released by the outgoing guard and
waiting for the running engine to send them.

The dashboard and the persona engine may run in different processes later; for now the lead wires
:class:`OperatorOutbox` to an engine running in the same process (``drain``). Only
:class:`~tutela.persona.GuardedText` objects enter the outbox, so nothing the guard refused can be
queued.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from tutela.errors import SafetyError
from tutela.persona import GuardedText

__all__ = ["OperatorOutbox", "QueuedText"]


@dataclass(frozen=True, slots=True)
class QueuedText:
    """One operator text waiting to be sent in ``conversation_id``."""

    conversation_id: int
    text: GuardedText
    operator: str
    queued_at: datetime


class OperatorOutbox:
    """Thread-safe FIFO of guard-released operator texts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: deque[QueuedText] = deque()

    def put(self, item: QueuedText) -> None:
        """Queue a released text; ``SafetyError`` if it is not an intact ``GuardedText``."""
        if not isinstance(item.text, GuardedText) or not item.text.is_intact():
            raise SafetyError("only texts released by the outgoing guard can be queued")
        with self._lock:
            self._items.append(item)

    def pending(self, conversation_id: int | None = None) -> list[QueuedText]:
        """Queued texts (of one conversation, if given), oldest first, without removing them."""
        with self._lock:
            return [
                i
                for i in self._items
                if conversation_id is None or i.conversation_id == conversation_id
            ]

    def drain(self, conversation_id: int | None = None) -> list[QueuedText]:
        """Remove and return the queued texts (of one conversation, if given), oldest first."""
        with self._lock:
            taken = [
                i
                for i in self._items
                if conversation_id is None or i.conversation_id == conversation_id
            ]
            gone = {id(i) for i in taken}
            self._items = deque(i for i in self._items if id(i) not in gone)
            return taken

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
