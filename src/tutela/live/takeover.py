"""Operator takeover: an analyst writes as the persona from the dashboard.

The dashboard (``tutela serve``) and the personas (``tutela run``) are separate processes, so the
queue lives in the store (table ``operator_messages``). Only text the outgoing guard released with
``origin="operator"`` is queued, and the engine releases it through its own guard again before
sending (a second check, in the process that owns the connector). Every queued and every sent text
is audited; the sent text is recorded like any persona message, with origin ``human:<operator>``.

The dashboard checks a takeover text with the conversation's persona profile
(:func:`takeover_profile`). A conversation records only the persona's *id*; a custom persona's
profile lives in the YAML file ``tutela run`` was given, which the dashboard process does not have.
So only shipped personas (``load_personas``) can be taken over from the dashboard; for any other
id :class:`PersonaUnavailable` names the persona and why (the dashboard answers 409). A stored id
is never opened as a file path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update

from tutela.errors import ConfigError, SafetyError
from tutela.persona import GuardedText, PersonaProfile, load_personas
from tutela.store import Store
from tutela.store.models import OperatorMessageRow

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


@dataclass(frozen=True, slots=True)
class QueuedText:
    """One operator text waiting to be sent in ``conversation_id``."""

    id: int
    conversation_id: int
    text: str
    operator: str
    queued_at: datetime


def _queued(row: OperatorMessageRow) -> QueuedText:
    return QueuedText(row.id, row.conversation_id, row.text, row.operator, row.queued_at)


class OperatorOutbox:
    """FIFO of guard-released operator texts per conversation, kept in the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def put(self, conversation_id: int, text: GuardedText, operator: str) -> QueuedText:
        """Queue a released text; ``SafetyError`` unless it is an intact operator
        ``GuardedText``."""
        if not isinstance(text, GuardedText) or not text.is_intact() or text.origin != "operator":
            raise SafetyError("only texts the outgoing guard released for an operator are queued")

        def work(s):
            row = OperatorMessageRow(
                conversation_id=conversation_id,
                text=text.text,
                operator=operator,
                status="queued",
                queued_at=datetime.now(UTC),
            )
            s.add(row)
            s.flush()
            return _queued(row)

        return self.store.write(work)

    def pending(self, conversation_id: int | None = None) -> list[QueuedText]:
        """Queued texts (of one conversation, if given), oldest first."""
        q = select(OperatorMessageRow).where(OperatorMessageRow.status == "queued")
        if conversation_id is not None:
            q = q.where(OperatorMessageRow.conversation_id == conversation_id)
        with self.store.session() as s:
            return [_queued(r) for r in s.execute(q.order_by(OperatorMessageRow.id)).scalars()]

    def take(self, conversation_ids: list[int]) -> list[QueuedText]:
        """Mark the queued texts of these conversations taken and return them, oldest first."""
        if not conversation_ids:
            return []

        def work(s):
            rows = (
                s.execute(
                    select(OperatorMessageRow)
                    .where(
                        OperatorMessageRow.status == "queued",
                        OperatorMessageRow.conversation_id.in_(conversation_ids),
                    )
                    .order_by(OperatorMessageRow.id)
                )
                .scalars()
                .all()
            )
            if rows:
                s.execute(
                    update(OperatorMessageRow)
                    .where(OperatorMessageRow.id.in_([r.id for r in rows]))
                    .values(status="taken", taken_at=datetime.now(UTC))
                )
            return [_queued(r) for r in rows]

        return self.store.write(work)

    def __len__(self) -> int:
        return len(self.pending())
