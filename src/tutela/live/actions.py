"""What the live engine sends: a reply from the reviewed bank, a deterrence warning, an
analyst's takeover text. :meth:`Actions.send` is the only call to ``connector.send``; it
sends only text the outgoing guard released and records it, with its
:class:`~tutela.domain.MessageOrigin`, after sending (see ``docs/architecture.md``, live path).
"""

from __future__ import annotations

from collections.abc import Mapping

from tutela.connectors.base import ChatConnector
from tutela.domain import Decision, MessageOrigin, is_warning
from tutela.errors import SafetyError
from tutela.live.clock import Clock
from tutela.live.session import Session
from tutela.live.takeover import OperatorOutbox
from tutela.persona import (
    ContactMessage,
    ConversationState,
    DeterrenceSent,
    DialogueManager,
    GuardedText,
    OutgoingGuard,
    ReplySent,
)
from tutela.policy import VariantAssigner
from tutela.store import MessageRecord, Recorder

__all__ = ["Actions"]


class Actions:
    """Sends for one persona on one connector.

    Parameters
    ----------
    recorder: the durable store's writer; connector: where texts are sent.
    clock: typing delays are waited on it; sent times are read from it.
    dialogue: the persona's dialogue manager (its guard releases every text).
    assigner: the deterrence-variant assigner, advanced once per warning sent.
    delay_scale: multiplier (>= 0) on the planned typing delays (seconds).
    end_after_deterrence: end the conversation once a warning was sent (policy parameter
        ``deterrence.end_after_deterrence``).
    """

    def __init__(
        self,
        *,
        recorder: Recorder,
        connector: ChatConnector,
        clock: Clock,
        dialogue: DialogueManager,
        assigner: VariantAssigner,
        delay_scale: float,
        end_after_deterrence: bool,
    ) -> None:
        self.recorder = recorder
        self.connector = connector
        self.clock = clock
        self.dialogue = dialogue
        self.guard: OutgoingGuard = dialogue.guard
        self.assigner = assigner
        self.delay_scale = delay_scale
        self.end_after_deterrence = end_after_deterrence

    async def send(
        self, live: Session, guarded: GuardedText, *, delay_s: float, origin: MessageOrigin
    ) -> MessageRecord:
        """The only call to ``connector.send``: guarded text only, recorded after sending.

        Waits ``delay_s * delay_scale`` seconds first. Raises ``SafetyError`` (nothing sent)
        for anything but an intact :class:`~tutela.persona.GuardedText`."""
        if not isinstance(guarded, GuardedText) or not guarded.is_intact():
            raise SafetyError("refusing to send text the outgoing guard did not release")
        await self.clock.sleep(delay_s * self.delay_scale)
        await self.connector.send(live.address, guarded.text)
        return self.recorder.record_outbound(
            conversation_id=live.record.id,
            text=guarded.text,
            origin=str(origin),
            sent_at=self.clock.now(),
        )

    async def reply(self, live: Session, text: str, decision: Decision) -> list[MessageRecord]:
        """Answer the contact's line ``text`` after ``decision``: a deterrence warning when the
        decision names a variant (the conversation then ends, if so configured), else a bank
        reply; nothing when the dialogue plans none. Updates the session's dialogue state."""
        state = self.dialogue.apply(live.dialogue, ContactMessage(text))
        if decision.variant is not None and is_warning(decision.action, decision.variant):
            return await self._deter(live, state, decision.variant)
        planned = self.dialogue.plan_reply(live.dialogue, text)
        live.dialogue = state
        if planned is None:
            return []
        sent = await self.send(
            live,
            self.guard.release(planned.text, origin="bank"),
            delay_s=planned.delay_s,
            origin=MessageOrigin.bank(planned.bank_key),
        )
        live.dialogue = self.dialogue.apply(state, ReplySent(planned.bank_key, planned.text))
        return [sent]

    async def _deter(
        self, live: Session, state: ConversationState, variant: str
    ) -> list[MessageRecord]:
        planned = self.dialogue.plan_deterrence(state, variant)
        if planned is None:
            live.dialogue = state
            return []
        self.assigner.advance()
        origin = MessageOrigin.deterrence(variant)
        sent = await self.send(
            live,
            self.guard.release(planned.text, origin="deterrence"),
            delay_s=planned.delay_s,
            origin=origin,
        )
        live.dialogue = self.dialogue.apply(state, DeterrenceSent(variant, planned.text))
        live.warned = True
        if self.end_after_deterrence:
            live.ended_at = self.clock.now()
            # the end reason is the same text as the warning's origin
            self.recorder.end_conversation(
                live.record.id, ended_at=live.ended_at, reason=str(origin)
            )
        return [sent]

    async def send_operator_texts(
        self, open_sessions: Mapping[int, Session], outbox: OperatorOutbox
    ) -> int:
        """Send the texts analysts queued for ``open_sessions`` (by conversation id).

        Each text is released again by this persona's guard (``origin="operator"``); a refused
        text is audited (``operator_message_refused``) and not sent; a sent one is recorded with
        origin ``human:<operator>`` and audited (``operator_message_sent``). Returns the number
        sent.
        """
        sent = 0
        for item in outbox.take(list(open_sessions)):
            live = open_sessions[item.conversation_id]
            try:
                guarded = self.guard.release(item.text, origin="operator")
            except SafetyError as e:
                self.recorder.record_audit(
                    "system",
                    "operator_message_refused",
                    f"conversation:{live.record.id}",
                    {"operator": item.operator, "reasons": list(getattr(e, "reasons", ()))},
                )
                continue
            async with live.lock:
                await self.send(
                    live, guarded, delay_s=0.0, origin=MessageOrigin.operator(item.operator)
                )
            self.recorder.record_audit(
                item.operator,
                "operator_message_sent",
                f"conversation:{live.record.id}",
                {"queued_id": item.id},
            )
            sent += 1
        return sent
