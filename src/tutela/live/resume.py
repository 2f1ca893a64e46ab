"""Reloading a persona's conversations after a restart.

Open conversations, and those still in their quiet period, are rebuilt from the store: their
contact lines re-scored, their dialogue state replayed from the recorded replies (read from each
message's :class:`~tutela.domain.MessageOrigin`), their strongest decided action restored, and
the memory of a chat a human holds from another device rebuilt from the recorded device lines.
An inbound message that was recorded but not decided is handed back to the engine's pipeline,
which answers it only if it was to be answered (see ``docs/architecture.md``, live path).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from tutela.domain import Action, MessageOrigin, OriginKind
from tutela.live.session import Handled, Session, SessionKey, Sessions
from tutela.persona import ContactMessage, DeterrenceSent, DialogueManager, ReplySent
from tutela.store import ConversationRecord, DecisionRecord, MessageRecord, Recorder

__all__ = ["replay", "resume_conversations"]

Process = Callable[[Session, MessageRecord], Awaitable[Handled]]
"""The engine's pipeline for one recorded inbound message: score, decide, answer."""


def replay(
    live: Session,
    messages: Sequence[MessageRecord],
    decisions: Sequence[DecisionRecord],
    *,
    dialogue: DialogueManager,
    sessions: Sessions,
    key: SessionKey,
    since: datetime,
) -> list[MessageRecord]:
    """Replay a conversation's recorded ``messages`` (in order) and ``decisions`` into ``live``.

    A decided contact line is re-scored and applied to the dialogue; a bank reply and a
    deterrence warning are applied as sent (a warning marks the session warned); a line a human
    typed on another device at or after ``since`` is remembered as the human holding the chat
    ``key``; other outgoing lines change nothing. Returns the inbound messages recorded but not
    decided, in order, for the pipeline.
    """
    decided = {d.message_id for d in decisions}
    pending: list[MessageRecord] = []
    for m in messages:
        if m.direction == "in":
            live.contact_lines = max(live.contact_lines, m.contact_line or 0)
            if m.text is None:  # purged (retention): nothing left to assess or replay
                continue
            if m.id not in decided:
                pending.append(m)
                continue
            live.score(m, m.contact_line or 0)
            live.dialogue = dialogue.apply(live.dialogue, ContactMessage(m.text))
            continue
        origin = MessageOrigin.read(m.origin)
        if origin is None:
            continue
        if origin.kind is OriginKind.DETERRENCE:
            if m.text is not None:  # a purged text changes no dialogue state
                live.dialogue = dialogue.apply(live.dialogue, DeterrenceSent(origin.detail, m.text))
            live.warned = True
        elif origin.kind is OriginKind.BANK and m.text is not None:
            live.dialogue = dialogue.apply(live.dialogue, ReplySent(origin.detail, m.text))
        elif origin.kind is OriginKind.DEVICE and m.at >= since:
            sessions.remember_human_chat(key, m.at)  # a human holds it elsewhere
    for d in decisions:
        live.note_action(Action(d.action))
    return pending


async def resume_conversations(
    *,
    recorder: Recorder,
    sessions: Sessions,
    dialogue: DialogueManager,
    persona_id: str,
    since: datetime,
    process: Process,
) -> list[Handled]:
    """Reload ``persona_id``'s conversations open or ended at or after ``since`` into
    ``sessions`` and run ``process`` on each inbound message recorded but not decided (under
    its conversation's lock). Returns what ``process`` did with them, in order. A conversation
    whose recorded state names no contact is skipped."""
    done: list[Handled] = []
    for record in recorder.open_conversations(ended_since=since):
        if record.persona_id != persona_id:
            continue
        restored = _restore(recorder, sessions, dialogue, record, since)
        if restored is None:
            continue
        live, pending = restored
        for m in pending:
            async with live.lock:
                done.append(await process(live, m))
    return done


def _restore(
    recorder: Recorder,
    sessions: Sessions,
    dialogue: DialogueManager,
    record: ConversationRecord,
    since: datetime,
) -> tuple[Session, list[MessageRecord]] | None:
    messages = recorder.conversation_messages(record.id)
    decisions = recorder.conversation_decisions(record.id)
    contact = (record.state or {}).get("contact")
    if contact is None:
        return None
    live = sessions.restore(record, contact)
    key: SessionKey = (record.platform, record.account, contact, record.room)
    pending = replay(
        live, messages, decisions, dialogue=dialogue, sessions=sessions, key=key, since=since
    )
    sessions.live[key] = live
    return live, pending
