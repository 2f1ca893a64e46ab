"""What the live engine sends: a reply from the reviewed bank, a deterrence warning, an
analyst's takeover text. :meth:`Actions.send` is the only call to ``connector.send``; it
sends only text the outgoing guard released and records it, with its
:class:`~tutela.domain.MessageOrigin`, after sending (see ``docs/architecture.md``, live path).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from tutela.connectors.base import ChatConnector
from tutela.domain import Decision, MessageOrigin, is_warning
from tutela.errors import InputError, SafetyError
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
from tutela.persona.deterrence import HelpLink
from tutela.policy import VariantAssigner
from tutela.policy.trial import TrialDesign
from tutela.store import MessageRecord, Recorder
from tutela.store.queries.holds import held_conversation
from tutela.store.queries.trials import TrialRecord, active_trial, allocate

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
        self._help_links: dict[int, HelpLink] = {}  # conversation id -> its warning's help link
        self._held: dict[int, bool] = {}  # conversation -> legal hold, read for this line

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
        reply; nothing when the dialogue plans none. Updates the session's dialogue state.

        Under a legal hold (``tutela.cases.hold``; read once per line, by :meth:`trial_decision`,
        so a hold set by another process applies to the very next line) nothing is sent,
        neither warning nor reply: the line still enters the dialogue state and a
        ``reply_withheld`` audit row (target ``conversation:<id>``) records what was withheld."""
        state = self.dialogue.apply(live.dialogue, ContactMessage(text))
        held = self._held.pop(live.record.id, None)  # read by trial_decision for this line
        if held is None:
            held = held_conversation(self.recorder.store, live.record.id)
        if held:
            live.dialogue = state
            self._help_links.pop(live.record.id, None)
            self.recorder.record_audit(
                "system",
                "reply_withheld",
                f"conversation:{live.record.id}",
                {
                    "why": "legal_hold",
                    "after_line": decision.after_line,
                    "action": decision.action.value,
                    "variant": decision.variant,
                },
            )
            return []
        if decision.variant is not None and is_warning(decision.action, decision.variant):
            return await self._deter(live, state, decision.variant)
        planned = self.dialogue.plan_reply(live.dialogue, text, reading=live.reading)
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

    def trial_decision(self, live: Session, decision: Decision, *, answer: bool) -> Decision:
        """``decision`` with the deterrence trial's variant; called before it is recorded.

        Only for a warning about to be sent (``answer``, the conversation open, no legal hold)
        while a trial is active (``tutela.store.queries.trials.active_trial``). In an
        evidential operation the contact is allocated (once per trial: a returning contact,
        merges resolved, keeps its arm) and the allocation commits with its
        ``trial_allocated`` ledger entry *now*, before the decision is recorded and the
        warning sent; the decision then carries the arm, and with ``deterrence.help_link_base``
        the warning the per-arm help link. In a demonstration or other non-evidential operation
        it carries the default variant (the first of ``deterrence.variants``) and nothing is
        allocated. A warning that will not be sent -- under a legal hold, for a line that is not
        answered (``answer`` False), in a conversation that has ended -- loses its variant, so it
        does not count as a warning (``tutela.domain.is_warning``: the ladder's prior warnings,
        the statistics), and its reason says why. Otherwise ``decision`` is returned unchanged
        (the assigner's variant). The legal hold is read once per line, here, and the same
        reading decides :meth:`reply` for this line (a hold set in between cannot split them)."""
        self._help_links.pop(live.record.id, None)  # a link is built for this line or none
        held = held_conversation(self.recorder.store, live.record.id)
        self._held[live.record.id] = held
        if decision.variant is None or not is_warning(decision.action, decision.variant):
            return decision
        unsent = (
            "legal hold"
            if held
            else "line not answered"
            if not answer
            else "conversation ended"
            if live.ended_at is not None or live.dialogue.ended
            else None
        )
        if unsent is not None:  # no warning will be sent: the decision must not read as one
            why = f"{decision.reason}; {unsent}: no warning sent"
            return dataclasses.replace(decision, variant=None, reason=why)
        trial = active_trial(self.recorder.store)
        if trial is None:
            return decision
        if not self.recorder.get_operation(live.record.operation_id).evidential:
            return dataclasses.replace(decision, variant=self.assigner.params.variants[0])
        stratum = live.record.lang

        def choose(t: TrialRecord, n: int) -> tuple[str, int]:
            place = TrialDesign(t.id, t.arms, t.seed, t.block_size).arm_at(stratum, n)
            return place.arm, place.block_index

        try:
            allocation = allocate(
                self.recorder,
                trial_id=trial.id,
                contact_id=live.contact_id,
                conversation_id=live.record.id,
                stratum=stratum,
                choose=choose,
            )
        except InputError:
            if active_trial(self.recorder.store) is None:
                return decision  # the trial ended since it was read: the rotation's variant
            raise  # anything else would send an unallocated warning during the trial
        base = self.assigner.params.help_link_base
        if base is not None:
            self._help_links[live.record.id] = HelpLink(base, trial.id, tuple(trial.arms))
        return dataclasses.replace(decision, variant=allocation.arm)

    async def _deter(
        self, live: Session, state: ConversationState, variant: str
    ) -> list[MessageRecord]:
        link = self._help_links.pop(live.record.id, None)  # set by trial_decision
        planned = self.dialogue.plan_deterrence(state, variant, help_link=link)
        if planned is None:
            live.dialogue = state
            return []
        self.assigner.advance()
        origin = MessageOrigin.deterrence(variant)
        sent = await self.send(
            live,
            self.guard.release(planned.text, origin="deterrence", help_link=link),
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
