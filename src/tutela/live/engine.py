"""The live path: one persona on one connector, from inbound message to guarded reply.

For every message addressed to the persona, in this order (``docs/architecture.md``, data flow):

1. **record** it durably (store + hash-chained ledger, one committed transaction) — before anything
   else happens, so a crash after this point loses nothing;
2. link identifiers the contact disclosed (e-mail, phone, handles, payment references) to the
   contact profile, each pointing at the message it came from;
3. **score** it with the conversation's incremental scorer (the contact's lines only);
4. **decide** with the policy ladder (``tutela.policy``) and record the decision with its reasons;
5. **reply** through the outgoing guard only: a deterrence message when the decision carries a
   variant (the persona then ends the conversation), else a reply planned from the reviewed bank;
   the typing delay is waited on the engine's clock; the sent text is recorded.

**De-duplication** (every dropped copy leaves a ``duplicate_dropped`` audit entry with its
receive time and wire digest; a copy of a purged original is dropped too, so retention is never
undone by a redelivery): a message whose platform id was already recorded for the same account and
sender with the same text and the same attachment metadata (``Recorder.find_message``; only for
connectors whose capabilities say ``durable_message_ids``) is not recorded, decided or answered
again, across restarts too; it is counted in ``duplicates_dropped`` and logged
(``message.duplicate``). A message without a platform id is never de-duplicated; the same id with
other words or other media is recorded (``message.id_reused``), so a contact cannot make lines
vanish by reusing an id.

**Not answered**: a message with ``InboundMessage.answer`` False (a carbon copy that reached
another device of the account, an IRC ``NOTICE``, a file offer, a Matrix edit or ``m.notice``) is
recorded and decided but never answered; the flag is stored with it, so :meth:`resume` does not
answer it after a restart either.

**Lines from another device of the account** (XMPP sent carbons,
:class:`~tutela.connectors.base.OwnMessage`): recorded as an operator line (origin
``human:device:DEVICE``, with the platform's copy as wire bytes) and audited
(``own_account_line``) only in a conversation that already exists with a contact who wrote to the
persona. An own line never opens a conversation or creates a contact: the human's private chats
with anyone else are none of Tutela's business (only messages addressed to a persona are stored)
and the persona must not take over a chat it did not receive (it never initiates). Such a line
is counted in ``own_lines_not_stored`` and nothing of it is kept. The engine then remembers, for
the quiet period after the human's last line (recorded or not), that a human holds the chat with
that contact from another device: what the contact writes to the persona's account is still
recorded and decided (it is addressed to the account, and may be evidence), but never answered
by the persona (``human_chats_ignored`` counts these). After a restart the memory is rebuilt from
the recorded operator lines; the memory of unrecorded lines is lost (storing their addressee
would store the private chat), so such a contact's later line would be answered.

Conversation state is rebuilt from the store on start (:meth:`PersonaEngine.resume`): open
conversations are reloaded, their contact lines re-scored, their dialogue state replayed from the
recorded replies, and an inbound message that was recorded but not yet decided is processed then
(and answered only if it was to be answered).

This module is the pipeline and the run loop; the per-conversation state is
:mod:`tutela.live.session`, the sends (bank reply, deterrence warning, takeover text)
:mod:`tutela.live.actions`, the reload after a restart :mod:`tutela.live.resume`. What produced
an outgoing line is a :class:`~tutela.domain.MessageOrigin`, stored as its text.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import structlog

from tutela.cases.queue import reopen_returned
from tutela.cases.workflow import CaseWorkflow, InvalidTransition
from tutela.connectors.base import ChatConnector, InboundMessage, OwnMessage
from tutela.detect.identifiers import extract_identifiers
from tutela.detect.incremental import ScoringTables, WarningRule
from tutela.detect.lines import LineDetector, default_line_detector
from tutela.domain import Action, MessageOrigin
from tutela.errors import InputError
from tutela.live.actions import Actions
from tutela.live.clock import Clock, WallClock
from tutela.live.resume import resume_conversations
from tutela.live.session import (
    Handled,
    Session,
    Sessions,
    contact_of,
    conversation_seed,
    session_key,
)
from tutela.live.shadow import ShadowEvaluator
from tutela.live.takeover import OperatorOutbox
from tutela.persona import DialogueManager, Intent, OutgoingGuard, PersonaProfile, recognize
from tutela.policy import Policy, PolicyContext, VariantAssigner
from tutela.runtime import ShadowPolicy
from tutela.store import MessageRecord, Recorder
from tutela.store.errors import StoreError

__all__ = ["DISCLOSED", "Handled", "PersonaEngine", "conversation_seed"]

log = structlog.get_logger("tutela.live")

#: platform name under which identifiers a contact disclosed in text are linked
DISCLOSED = "disclosed"

_IDENTITY_KINDS = {
    "email": "email",
    "phone": "phone",
    "handle": "handle",
    "payment_ref": "payment_ref",
}


class PersonaEngine:
    """Runs one persona on one connector.

    Parameters
    ----------
    recorder: the durable store's writer.
    connector: any :class:`~tutela.connectors.ChatConnector`; only this engine calls ``send``, and
        only with text the outgoing guard released.
    persona: the persona's profile.
    operation_id: the operation (legal authority) every conversation belongs to.
    policy, assigner: the ladder and the deterrence-variant assigner.
    tables: scoring tables of the detection model; rule: the early-warning rule.
    clock: wall clock (live) or simulated (demo).
    quiet_period_s: after a conversation ended (deterrence), further lines from the same contact on
        the same account within this many seconds are recorded in it without reply; later ones
        open a new conversation, i.e. a *returning* contact (default 6 h).
    lang: conversation language (default: the persona's main language).
    organisation: the operating organisation named in deterrence messages.
    delay_scale: multiplier on the persona's typing delays (1 = human-like; 0 in tests).
    detector: the line detector of the understanding step (default: the shipped cascade with
        every line embedded, so nearest exemplars and benign contexts are known for each line);
        not used when the policy's ``line_evidence`` is disabled.
    shadow: a candidate policy decided beside the active one after every inbound message and
        recorded, never acted on (:mod:`tutela.live.shadow`; ``tutela run --shadow-policy``).
    """

    def __init__(
        self,
        *,
        recorder: Recorder,
        connector: ChatConnector,
        persona: PersonaProfile,
        operation_id: int,
        policy: Policy,
        assigner: VariantAssigner,
        tables: ScoringTables,
        rule: WarningRule,
        clock: Clock | None = None,
        quiet_period_s: float = 6 * 3600,
        lang: str | None = None,
        organisation: str | None = None,
        delay_scale: float = 1.0,
        detector: LineDetector | None = None,
        shadow: ShadowPolicy | None = None,
    ) -> None:
        self.recorder = recorder
        self.connector = connector
        self.persona = persona
        self.operation_id = operation_id
        self.policy = policy
        self.assigner = assigner
        self.tables = tables
        self.rule = rule
        self.clock = clock or WallClock()
        self.quiet_period = timedelta(seconds=quiet_period_s)
        kwargs: dict[str, Any] = {"organisation": organisation} if organisation else {}
        self.dialogue = DialogueManager(persona, **kwargs)
        self.guard: OutgoingGuard = self.dialogue.guard
        self.lang = lang
        self.delay_scale = max(0.0, delay_scale)
        self.end_after_deterrence = policy.params.deterrence.end_after_deterrence
        self.duplicates_dropped = 0
        """Messages not recorded again because their platform id was already recorded."""
        self.own_lines_not_stored = 0
        """Own-device lines not recorded: no conversation with that contact (module docstring)."""
        self.blank_ignored = 0
        """Inbound messages without words or media, not recorded."""
        self.human_chats_ignored = 0
        """Inbound messages recorded but not answered: a human holds that chat elsewhere."""
        if detector is None and policy.params.line_evidence.enabled:
            detector = default_line_detector(gate=0.0)
        self.detector = detector if policy.params.line_evidence.enabled else None
        self.shadow = None if shadow is None else ShadowEvaluator(recorder, shadow)
        """The shadow policy's evaluator (``None``: no shadow policy)."""
        self.sessions = Sessions(
            recorder=recorder,
            connector_name=connector.name,
            persona_id=persona.id,
            operation_id=operation_id,
            dialogue=self.dialogue,
            lang=lang,
            tables=tables,
            rule=rule,
            detector=self.detector,
            quiet_period=self.quiet_period,
        )
        """The conversations held (:class:`~tutela.live.session.Sessions`)."""
        self.actions = Actions(
            recorder=recorder,
            connector=connector,
            clock=self.clock,
            dialogue=self.dialogue,
            assigner=assigner,
            delay_scale=self.delay_scale,
            end_after_deterrence=self.end_after_deterrence,
        )
        """The sends: bank replies, deterrence warnings, takeover texts."""

    # -- de-duplication ------------------------------------------------------------------------
    def _already_recorded(self, msg: InboundMessage | OwnMessage, *, final: bool) -> bool:
        """True when ``msg`` is a second delivery of a recorded message (module docstring);
        counted and logged. ``final``: the check under the conversation's lock (the one that
        warns about an id reused with other words)."""
        if not msg.platform_id or not self.connector.capabilities.durable_message_ids:
            return False
        inbound = isinstance(msg, InboundMessage)
        query: dict[str, Any] = {
            "platform": msg.platform,
            "account": msg.account,
            "platform_msg_id": msg.platform_id,
            "direction": "in" if inbound else "out",
            "author": msg.sender.id if isinstance(msg, InboundMessage) else None,
        }
        same_id = self.recorder.find_message(**query)
        if same_id is None:
            return False  # the common case, a new message: one lookup
        # the same words and media under the same id
        found = self.recorder.find_message(
            **query,
            text=msg.text,
            attachments=msg.attachments if isinstance(msg, InboundMessage) else (),
        )
        if found is None:
            if same_id.text is not None:
                if final:
                    log.warning(
                        "message.id_reused", platform=msg.platform, platform_id=msg.platform_id
                    )
                return False
            found = same_id  # the original was purged (retention): never record it again
        self.duplicates_dropped += 1
        # a durable trace of every dropped copy: when it came and what its bytes were
        self.recorder.record_audit(
            "system",
            "duplicate_dropped",
            f"conversation:{found.conversation_id}",
            {
                "message_seq": found.seq,
                "platform_msg_id": msg.platform_id,
                "received_at": msg.received_at.isoformat(),
                "wire_sha256": hashlib.sha256(msg.wire).hexdigest(),
                "original_purged": found.text is None,
            },
        )
        log.info(
            "message.duplicate",
            platform=msg.platform,
            platform_id=msg.platform_id,
            conversation=found.conversation_id,
            message_seq=found.seq,
            dropped=self.duplicates_dropped,
        )
        return True

    # -- the pipeline --------------------------------------------------------------------------
    async def handle(self, msg: InboundMessage) -> Handled | None:
        """Record, score, decide and answer one inbound message (see the module docstring).

        Returns ``None`` for a message without words or media and a second delivery of a
        recorded message (nothing is recorded, decided or sent; module docstring). A message
        with ``answer`` False, or from a contact a human is chatting with from another device of
        the account, is recorded (with ``answer`` False) and decided, never answered.
        """
        if not (msg.text or "").strip() and not msg.attachments:
            # no words, no media: nobody's line (connectors drop these too; a second guard)
            self.blank_ignored += 1
            log.info("message.blank", platform=msg.platform)
            return None
        if msg.answer and self._in_human_chat(msg):
            # a human holds this chat from another device: the line is recorded and decided,
            # never answered by the persona (no double answers, no lost evidence)
            msg = dataclasses.replace(msg, answer=False)
        if self._already_recorded(msg, final=False):  # before a conversation is opened for it
            return None
        live = self.sessions.for_message(msg)
        async with live.lock:
            if self._already_recorded(msg, final=True):  # also a copy recorded meanwhile
                return None
            live.contact_lines += 1
            inbound = self.recorder.record_inbound(
                conversation_id=live.record.id,
                author=msg.sender.id,
                text=msg.text,
                wire=msg.wire,
                received_at=msg.received_at,
                platform_msg_id=msg.platform_id,
                attachments=msg.attachments,
                contact_line=live.contact_lines,
                sent_at=msg.sent_at,
                sent_by=msg.sent_by if msg.sent_at is not None else None,
                answer=msg.answer,
            )
            return await self._process(live, inbound)

    async def handle_own(self, msg: OwnMessage) -> MessageRecord | None:
        """Record a line a human sent from another device of the persona's account as an
        operator line (origin ``human:device:DEVICE``, ``sent_at`` = when it was seen, wire =
        the platform's copy) in the existing conversation with ``msg.contact``, and audit it
        (``own_account_line``). Nothing is sent. Returns the record, or ``None`` for a second
        delivery of a recorded line and for a line to anyone the persona has no conversation
        with (a contact who never wrote to it, or whose conversation ended more than the quiet
        period ago): that line is counted in ``own_lines_not_stored``, logged without its
        content or addressee, and not stored (module docstring)."""
        key = session_key(msg)
        live = self.sessions.current(msg)
        if live is None:
            self.own_lines_not_stored += 1
            self.sessions.remember_human_chat(key, msg.received_at)
            log.info("own_line.not_stored", reason="no conversation with that contact")
            return None
        if self._already_recorded(msg, final=False):
            return None
        async with live.lock:
            if self._already_recorded(msg, final=True):
                return None
            record = self.recorder.record_outbound(
                conversation_id=live.record.id,
                text=msg.text,
                origin=str(MessageOrigin.device(msg.device or "unknown")),
                sent_at=msg.received_at,
                wire=msg.wire,
                platform_msg_id=msg.platform_id,
            )
        self.sessions.remember_human_chat(key, msg.received_at)  # the persona stops answering
        self.recorder.record_audit(
            "system",
            "own_account_line",
            f"conversation:{live.record.id}",
            {"message_seq": record.seq, "device": msg.device, "platform": msg.platform},
        )
        log.info("own_line.recorded", conversation=live.record.id, device=msg.device)
        return record

    def _in_human_chat(self, msg: InboundMessage) -> bool:
        """True (counted, logged without content) when ``msg`` comes from a contact a human
        wrote to from another device of the account within the quiet period of the human's last
        line: the line is then recorded but not answered."""
        if not self.sessions.in_human_chat(session_key(msg), msg.received_at):
            return False
        self.human_chats_ignored += 1
        log.info("message.not_answered", reason="a human's chat from another device")
        return True

    async def _process(self, live: Session, inbound: MessageRecord) -> Handled:
        answer = inbound.answer  # as recorded: honoured on resume as on first receipt
        text = inbound.text or ""  # never None here: a line is decided before any purge
        line = inbound.contact_line or live.contact_lines
        self._link_identities(live, inbound)
        assessment = live.score(inbound, line)
        intent = recognize(text, live.dialogue.lang)
        ctx = PolicyContext(
            assessment=assessment,
            line=line,
            age_disclosed=live.dialogue.age_disclosed,
            prior_warnings=live.prior_warnings,
            warned_in_conversation=live.warned,
            threat=intent is Intent.THREAT,
            categories_seen=frozenset(live.categories),
            strongest_action=live.strongest,
            evidence=tuple(live.evidence),
        )
        decision = self.policy.decide(ctx, variant=self.assigner.peek())
        decision = self.actions.trial_decision(live, decision, answer=answer)  # trial arm first
        decision_record = self.recorder.record_decision(
            conversation_id=live.record.id,
            message_id=inbound.id,
            after_line=line,
            action=decision.action,
            risk=decision.risk,
            indicators=decision.indicators,
            rule=decision.rule,
            reason=decision.reason,
            variant=decision.variant,
            # the line's own hits (the decision lists the conversation's so far): display only
            line_indicators=tuple(
                dict.fromkeys(h.indicator for h in assessment.indicators if h.line == line)
            ),
        )
        live.note_action(decision.action)
        if self.shadow is not None:  # what a candidate policy would do, on the same context
            self.shadow.observe(
                ctx,
                self.assigner.peek(),
                message_id=inbound.id,
                conversation_id=live.record.id,
                active=decision,
            )
        case_id: int | None = None
        if decision.action is not Action.CONTINUE:
            case = self.recorder.get_or_create_case(live.contact_id)
            case_id = case.id  # a dismissed case whose contact returns is reopened first
            try:
                reopen_returned(
                    self.recorder, case, decision, decision_record.id, clock=self.clock.now
                )
            except (InvalidTransition, InputError, StoreError) as e:  # the line stays handled
                log.warning("case.not_reopened", case=case_id, reason=str(e))
            if decision.action is Action.REFER:
                self._propose_referral(case_id, decision_record.id)
        if inbound.attachments:
            # hard rule 2: media is never fetched; its metadata is kept and a human looks at it
            case_id = case_id or self.recorder.get_or_create_case(live.contact_id).id
            self.recorder.record_audit(
                "system",
                "media_flagged",
                f"conversation:{live.record.id}",
                {
                    "message_seq": inbound.seq,
                    "attachments": [
                        {
                            "kind": a.kind,
                            "mime": a.mime,
                            "size": a.size,
                            "url": a.url,
                            "declared_hash": a.declared_hash,
                        }
                        for a in inbound.attachments
                    ],
                },
            )
        replies: list[MessageRecord] = []
        if live.ended_at is None and answer:  # after a warning the persona has stopped role-play
            replies = await self.actions.reply(live, text, decision)
        log.info(
            "message.handled",
            conversation=live.record.id,
            line=line,
            action=decision.action.value,
            risk=round(decision.risk, 3),
            rule=decision.rule,
        )
        return Handled(
            conversation_id=live.record.id,
            contact_id=live.contact_id,
            inbound=inbound,
            decision=decision,
            replies=tuple(replies),
            case_id=case_id,
        )

    def _propose_referral(self, case_id: int, decision_id: int) -> None:
        """A ``refer`` decision becomes a referral *proposal* for a supervisor (hard rule 3)."""
        try:
            workflow = CaseWorkflow(self.recorder, clock=self.clock.now)  # one clock (demo)
            workflow.record_policy_proposal(case_id, decision_id=decision_id)
        except InvalidTransition as e:  # already referred or dismissed: a human has it
            log.info("referral.not_proposed", case=case_id, reason=str(e))

    def _link_identities(self, live: Session, inbound: MessageRecord) -> None:
        for ident in extract_identifiers(inbound.text or "", region=self.persona.country):
            kind = _IDENTITY_KINDS.get(ident.kind)
            if kind is None:
                continue
            # a disclosed e-mail, phone, handle or payment reference is the same identifier on
            # every platform: linked under DISCLOSED, so it joins contacts across platforms
            result = self.recorder.link_identity(
                live.contact_id, DISCLOSED, kind, ident.value, inbound.id
            )
            if result.contact_id != live.contact_id:
                live.contact_id = result.contact_id
                live.prior_warnings = self.sessions.prior_warnings(live.contact_id, live.record.id)

    # -- operator takeover ---------------------------------------------------------------------
    async def send_operator_texts(self, outbox: OperatorOutbox) -> int:
        """Send the texts analysts queued for this engine's open conversations (dashboard takeover).

        Each text is released again by this persona's guard (``origin="operator"``); a refused
        text is audited and not sent. Returns the number sent.
        """
        return await self.actions.send_operator_texts(self.sessions.open_by_id(), outbox)

    # -- running and resuming ------------------------------------------------------------------
    async def run(
        self,
        *,
        stop: asyncio.Event | None = None,
        on_handled: Callable[[Handled], None] | None = None,
        outbox: OperatorOutbox | None = None,
        poll_s: float = 1.0,
    ) -> None:
        """Handle inbound messages until the connector's stream ends or ``stop`` is set.

        Each conversation is processed in its own task so a typing delay in one does not hold up
        the others; messages of one conversation stay in order (a per-conversation lock). With an
        ``outbox``, operator takeover texts are sent every ``poll_s`` seconds.
        """
        tasks: set[asyncio.Task[None]] = set()

        async def poll_outbox(box: OperatorOutbox) -> None:
            while True:
                try:
                    await self.send_operator_texts(box)
                except Exception:
                    log.exception("takeover.failed")
                await asyncio.sleep(poll_s)

        poller = asyncio.create_task(poll_outbox(outbox)) if outbox is not None else None

        async def one(msg: InboundMessage | OwnMessage) -> None:
            try:
                if isinstance(msg, OwnMessage):
                    await self.handle_own(msg)
                    return
                handled = await self.handle(msg)
                if handled is not None and on_handled is not None:
                    on_handled(handled)
            except Exception:  # keep serving the other conversations; the message is recorded
                log.exception("message.failed", contact=contact_of(msg))

        async for msg in self.connector.inbound():
            task = asyncio.create_task(one(msg))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            if stop is not None and stop.is_set():
                break
        if poller is not None:
            poller.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def resume(self) -> list[Handled]:
        """Reload this persona's open conversations after a restart (see module docstring).

        Returns what was done with inbound messages that had been recorded but not decided.
        """
        # also the conversations still in their quiet period (just warned, just ended): a line
        # after the restart belongs to them, as it would have without the restart
        return await resume_conversations(
            recorder=self.recorder,
            sessions=self.sessions,
            dialogue=self.dialogue,
            persona_id=self.persona.id,
            since=self.clock.now() - self.quiet_period,
            process=self._process,
        )
