"""Per-conversation state of the live engine: who the conversation is with, its scorer, its
dialogue, what was decided so far, and the memory of chats a human holds from another device.

A conversation is keyed by :data:`SessionKey`, ``(platform, account, contact, room)``: a contact
who writes again within the quiet period after the conversation ended is still in it; a later
line opens a new conversation (a *returning* contact). See ``docs/architecture.md``, live path.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from tutela.connectors.base import Address, InboundMessage, OwnMessage
from tutela.detect.incremental import IncrementalScorer, ScoringTables, WarningRule
from tutela.detect.lines import LineDetector
from tutela.detect.understand import LineReader, LineReading
from tutela.domain import Action, Assessment, Category, Decision, LineEvidence, Message
from tutela.persona import ConversationState, DialogueManager
from tutela.store import ConversationRecord, MessageRecord, Recorder

__all__ = [
    "Handled",
    "Session",
    "SessionKey",
    "Sessions",
    "contact_of",
    "conversation_seed",
    "session_key",
]

log = structlog.get_logger("tutela.live")

SessionKey = tuple[str, str, str, str | None]
"""``(platform, account, contact id, room)`` of one conversation (``room`` ``None`` for a
direct chat)."""

#: how many chats held by a human elsewhere are remembered before expired ones are forgotten
_HUMAN_CHATS_MAX = 10_000


def contact_of(msg: InboundMessage | OwnMessage) -> str:
    """The contact's id: the sender of an inbound message, the addressee of an own line."""
    return msg.sender.id if isinstance(msg, InboundMessage) else msg.contact.id


def session_key(msg: InboundMessage | OwnMessage) -> SessionKey:
    """The key of the conversation ``msg`` belongs to."""
    return (msg.platform, msg.account, contact_of(msg), msg.room)


def conversation_seed(msg: InboundMessage | OwnMessage, persona_id: str = "") -> int:
    """The dialogue's random seed for a conversation opened by ``msg``: the first 32 bits of
    SHA-256 over platform, account, persona, contact and the first message's text. The same
    scenario gives the same replies on every run (the first version used Python's per-process
    string ``hash`` and the arrival time); the seed is recorded in the conversation's state, and a
    resumed conversation reads it from there."""
    key = "\x00".join((msg.platform, msg.account, persona_id, contact_of(msg), msg.text or ""))
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:4], "big")


@dataclass(frozen=True, slots=True)
class Handled:
    """What the engine did with one inbound message."""

    conversation_id: int
    contact_id: int
    inbound: MessageRecord
    decision: Decision
    replies: tuple[MessageRecord, ...] = ()
    case_id: int | None = None


@dataclass(slots=True)
class Session:
    """The live state of one conversation.

    ``contact_lines``: contact lines recorded so far; ``evidence``: the line detector's readings
    the policy sees; ``categories``: indicator categories seen; ``warned``: a deterrence warning
    was sent in it; ``strongest``: the strongest action decided in it; ``ended_at``: when it
    ended (after a warning), else ``None``; ``lock``: keeps its messages in order.
    """

    record: ConversationRecord
    contact_id: int
    address: Address
    scorer: IncrementalScorer
    dialogue: ConversationState
    prior_warnings: int
    reader: LineReader
    contact_lines: int = 0
    evidence: list[LineEvidence] = field(default_factory=list)
    categories: set[Category] = field(default_factory=set)
    warned: bool = False
    strongest: Action = Action.CONTINUE
    ended_at: datetime | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    reading: LineReading | None = None  # the latest contact line as detection read it

    def score(self, message: MessageRecord, line: int) -> Assessment:
        """Feed one contact line (``line``: its 1-based contact line number) to the scorer and the
        line reader (live and on resume alike); returns the scorer's assessment."""
        assessment = self.scorer.update(
            Message(
                conversation=str(self.record.id),
                author=message.author,
                text=message.text or "",
                line=line,
                at=message.at,
            )
        )
        self.categories.update(h.category for h in assessment.indicators)
        reading = self.reader.read(message.text or "", line=line, author=message.author)
        self.reading = reading  # the persona's reply reads the same understanding
        evidence = reading.evidence()
        if evidence is not None:
            self.evidence.append(evidence)
        return assessment

    def note_action(self, action: Action) -> None:
        """Keep ``action`` as :attr:`strongest` when it is stronger."""
        if action.rank > self.strongest.rank:
            self.strongest = action

    def past_quiet_period(self, at: datetime, quiet_period: timedelta) -> bool:
        """True when the conversation ended more than ``quiet_period`` before ``at``."""
        return self.ended_at is not None and at - self.ended_at > quiet_period


class Sessions:
    """The engine's conversations by :data:`SessionKey`, and the chats a human holds.

    Parameters
    ----------
    recorder: the durable store's writer (contacts and conversations are recorded here).
    connector_name: the connector replies go back through.
    persona_id, operation_id: recorded with every conversation opened.
    dialogue: the persona's dialogue manager; lang: conversation language (``None``: the
        persona's main language).
    tables, rule: scoring tables and early-warning rule of each conversation's scorer.
    detector: the line detector of each conversation's reader (``None``: disabled).
    quiet_period: how long after its end a conversation still takes the contact's lines, and
        how long a human's line from another device holds the chat.
    """

    def __init__(
        self,
        *,
        recorder: Recorder,
        connector_name: str,
        persona_id: str,
        operation_id: int,
        dialogue: DialogueManager,
        lang: str | None,
        tables: ScoringTables,
        rule: WarningRule,
        detector: LineDetector | None,
        quiet_period: timedelta,
    ) -> None:
        self.recorder = recorder
        self.connector_name = connector_name
        self.persona_id = persona_id
        self.operation_id = operation_id
        self.dialogue = dialogue
        self.lang = lang
        self.tables = tables
        self.rule = rule
        self.detector = detector
        self.quiet_period = quiet_period
        self.live: dict[SessionKey, Session] = {}
        """The conversations held, by key (the latest one of each contact)."""
        self._human_chats: dict[SessionKey, datetime] = {}

    # -- conversations -------------------------------------------------------------------------
    def prior_warnings(self, contact_id: int, conversation_id: int | None) -> int:
        """Warnings the contact received in other conversations than ``conversation_id``."""
        return self.recorder.contact_summary(
            contact_id, exclude_conversation=conversation_id
        ).warnings

    def _scorer(self, record: ConversationRecord) -> IncrementalScorer:
        return IncrementalScorer(
            self.tables,
            subject=str(record.contact_id),
            kind="author",
            lang=record.lang,
            rule=self.rule,
        )

    def _session(
        self,
        record: ConversationRecord,
        contact: str,
        state: ConversationState,
        *,
        contact_id: int,
        prior: int,
    ) -> Session:
        return Session(
            record=record,
            contact_id=contact_id,
            # replies go back through this engine's connector, whatever platform name the
            # contact's identity is recorded under
            address=Address(self.connector_name, contact, record.room),
            scorer=self._scorer(record),
            dialogue=state,
            prior_warnings=prior,
            reader=LineReader(self.detector, lang=record.lang),
        )

    def open(self, msg: InboundMessage | OwnMessage) -> Session:
        """Record a new conversation opened by ``msg`` (and its contact, if new)."""
        now = msg.received_at
        contact = contact_of(msg)
        contact_id = self.recorder.get_or_create_contact(msg.platform, contact, seen_at=now)
        prior = self.prior_warnings(contact_id, None)
        seed = conversation_seed(msg, self.persona_id)
        state = self.dialogue.start(lang=self.lang, rng_seed=seed)
        record = self.recorder.open_conversation(
            operation_id=self.operation_id,
            persona_id=self.persona_id,
            platform=msg.platform,
            account=msg.account,
            contact_id=contact_id,
            lang=state.lang,
            started_at=now,
            room=msg.room,
            state={"rng_seed": state.rng_seed, "contact": contact},
        )
        live = self._session(record, contact, state, contact_id=contact_id, prior=prior)
        log.info("conversation.opened", conversation=record.id, contact=contact_id, prior=prior)
        return live

    def restore(self, record: ConversationRecord, contact: str) -> Session:
        """The state of a recorded conversation with ``contact`` as it was opened (its dialogue
        seeded from the recorded state), before any of its messages is replayed."""
        state = self.dialogue.start(
            lang=record.lang, rng_seed=int((record.state or {}).get("rng_seed", 0))
        )
        live = self._session(
            record,
            contact,
            state,
            contact_id=record.contact_id,
            prior=self.prior_warnings(record.contact_id, record.id),
        )
        live.ended_at = record.ended_at
        return live

    def for_message(self, msg: InboundMessage | OwnMessage) -> Session:
        """The conversation ``msg`` belongs to, opened (and recorded) when there is none or the
        contact returns after the quiet period."""
        key = session_key(msg)
        live = self.live.get(key)
        if live is not None and live.past_quiet_period(msg.received_at, self.quiet_period):
            live = None  # the contact returns after the quiet period: a new conversation
        if live is None:
            live = self.open(msg)
            self.live[key] = live
        return live

    def current(self, msg: OwnMessage) -> Session | None:
        """The conversation an own line ``msg`` belongs to: one the contact wrote in that has
        not ended more than the quiet period ago, else ``None`` (no conversation is opened)."""
        live = self.live.get(session_key(msg))
        if (
            live is None
            or live.contact_lines == 0
            or live.past_quiet_period(msg.received_at, self.quiet_period)
        ):
            return None
        return live

    def open_by_id(self) -> dict[int, Session]:
        """The conversations not ended, by conversation id."""
        return {live.record.id: live for live in self.live.values() if live.ended_at is None}

    # -- chats a human holds from another device -----------------------------------------------
    def remember_human_chat(self, key: SessionKey, at: datetime) -> None:
        """Remember that a human wrote in the chat ``key`` from another device at ``at`` (the
        latest time wins); chats past their quiet period are forgotten once 10,000 are held."""
        if len(self._human_chats) >= _HUMAN_CHATS_MAX:
            cutoff = at - self.quiet_period
            self._human_chats = {k: t for k, t in self._human_chats.items() if t >= cutoff}
        self._human_chats[key] = max(at, self._human_chats.get(key, at))

    def in_human_chat(self, key: SessionKey, at: datetime) -> bool:
        """True when a human wrote in the chat ``key`` from another device within the quiet
        period before ``at``; an expired memory is forgotten."""
        since = self._human_chats.get(key)
        if since is None:
            return False
        if at - since > self.quiet_period:
            del self._human_chats[key]
            return False
        return True
