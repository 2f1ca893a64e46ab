"""Operator takeover: an analyst writes as the persona from the dashboard.

The dashboard (``tutela serve``) and the personas (``tutela run``) are separate processes, so the
queue lives in the store (table ``operator_messages``). Only text the outgoing guard released with
``origin="operator"`` is queued, and the engine releases it through its own guard again before
sending (a second check, in the process that owns the connector). Every queued and every sent text
is audited; the sent text is recorded like any persona message, with origin ``human:<operator>``
(:meth:`tutela.domain.MessageOrigin.operator`). The queue's reads and writes are
:mod:`tutela.store.queries.live`.

The dashboard checks a takeover text with the conversation's persona profile
(:func:`takeover_profile`). A conversation records only the persona's *id*; a custom persona's
profile lives in the YAML file ``tutela run`` was given, which the dashboard process does not have.
So only shipped personas (``load_personas``) can be taken over from the dashboard; for any other
id :class:`PersonaUnavailable` names the persona and why (the dashboard answers 409). A stored id
is never opened as a file path.
"""

from __future__ import annotations

from tutela.errors import ConfigError, SafetyError
from tutela.persona import GuardedText, PersonaProfile, load_personas
from tutela.store import Store
from tutela.store.queries.live import (
    QueuedText,
    pending_operator_texts,
    queue_operator_text,
    take_operator_texts,
)

__all__ = ["OperatorOutbox", "PersonaUnavailable", "QueuedText", "takeover_profile"]


class PersonaUnavailable(ConfigError):
    """The conversation's persona is not one the dashboard can check texts for (module
    docstring)."""


def takeover_profile(persona_id: str) -> PersonaProfile:
    """The shipped profile with id ``persona_id``, for the takeover guard.

    Raises :class:`PersonaUnavailable` for any other id (a custom YAML persona, or an id no
    longer shipped): the dashboard cannot check a text against a profile it does not have, and
    a stored id is never treated as a file path (unlike ``load_persona``).
    """
    shipped = load_personas()
    profile = shipped.get(persona_id) if isinstance(persona_id, str) else None
    if profile is None:
        raise PersonaUnavailable(
            f"persona {persona_id!r} is not a shipped persona (its profile is a YAML file "
            "given to 'tutela run'), so the dashboard cannot check operator texts against it; "
            "takeover is available for the shipped personas only"
        )
    return profile


class OperatorOutbox:
    """FIFO of guard-released operator texts per conversation, kept in the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def put(self, conversation_id: int, text: GuardedText, operator: str) -> QueuedText:
        """Queue a released text; ``SafetyError`` unless it is an intact operator
        ``GuardedText``."""
        if not isinstance(text, GuardedText) or not text.is_intact() or text.origin != "operator":
            raise SafetyError("only texts the outgoing guard released for an operator are queued")
        return queue_operator_text(self.store, conversation_id, text.text, operator)

    def pending(self, conversation_id: int | None = None) -> list[QueuedText]:
        """Queued texts (of one conversation, if given), oldest first."""
        return pending_operator_texts(self.store, conversation_id)

    def take(self, conversation_ids: list[int]) -> list[QueuedText]:
        """Mark the queued texts of these conversations taken and return them, oldest first."""
        return take_operator_texts(self.store, conversation_ids)

    def __len__(self) -> int:
        return len(self.pending())
