"""The dialogue manager: Rasa-like roles over the reviewed response bank.

* **Understanding** labels a contact message with an intent and a topic:
  :func:`tutela.persona.topics.understand` (the persona's intent rules plus the indicator
  categories detection reads in the same line; the live engine passes its ``LineReading``).
* **Policy** (:meth:`DialogueManager.plan_reply`, :meth:`DialogueManager.plan_deterrence`) maps
  (conversation state, persona, intent) to a frozen :class:`PlannedReply` and has no side effects:
  same state, same text, same plan.
* **State** is an immutable :class:`ConversationState` rebuilt from events
  (:class:`ContactMessage`, :class:`ReplySent`, :class:`DeterrenceSent`,
  :class:`ConversationEnded`) by the pure :meth:`DialogueManager.apply` /
  :meth:`DialogueManager.replay`. Whoever sends a planned reply (through the outgoing guard)
  records the event; :meth:`DialogueManager.respond` and :meth:`DialogueManager.deter` do plan +
  apply in one call for callers that do not need the split.

Policy rules, in order:

1. An ended conversation gets no reply (``None``).
2. The reply comes from the bank section of the line's topic when the bank has one for this
   persona, else of its intent (else ``unknown``), in the conversation's language: it answers
   what was asked ("what year are you in" -> the school year, "do you have pets" -> the pet,
   "see u at school tomorrow" -> confusion, never agreement).
3. The persona makes its age plain: when asked (``asl``, ``age_question``: every template states the
   age), in its first greeting ("hi, im lily, 13") or refusal ("no, im 13": the intents of
   :data:`tutela.persona.bank.AGE_SECTIONS`), and otherwise from reply
   :data:`AGE_DISCLOSURE_BY_REPLY` on (the brief's limit is 3): until the age is disclosed, only
   templates with ``{age}`` are used where the section has them. The age is said where it is the
   answer or stands on its own (an introduction, "lol. im 13 btw", the reason of a refusal):
   answer sections (school, hobbies, how are you... :data:`tutela.persona.bank.NO_AGE_SECTIONS`)
   have no ``{age}`` template, so the age is never glued into an unrelated answer (issue 12).
   A statement of four words or more that the persona does not read (``unknown``, no topic)
   is not used to push the age. Once it is disclosed, templates with ``{age}`` are used only when
   the age is asked again (where the section has others), so the age is not repeated in every
   other reply.
4. No verbatim repeat within a conversation where an alternative exists: unused templates first,
   and a text already sent is only reused when nothing else passes.
4a. Memory: what the persona said is read from the conversation's own sent replies
   (``state.replies``, rebuilt from the recorded outbound lines on resume). A slot with several
   profile values (hobby, pet, game, music) keeps the value the persona already said, so it does
   not contradict itself; every fact comes from the profile, never from the contact.
4b. "ok?" / "deal?" (the ``pressure`` topic) is answered from the ``pressure`` section ("i said
   no") only after a reply of :data:`REFUSAL_SECTIONS`; with nothing refused, the line's own intent
   answers (review P7).
5. Typing style with noise from a ``random.Random`` seeded by (conversation seed, turn, replies
   sent); the result must pass the outgoing guard (``origin="bank"``) or the plain styled text is
   tried, then the next template. A refusal (:data:`NO_EMOJI_INTENTS`, :data:`NO_EMOJI_TOPICS`)
   never gets an emoji: a "no" must not read as playful (review P5).
6. Delay (seconds): think time + typing time, clipped to the profile's ``reply_delay_s``. Think time
   is log-normal with median ``reply_delay_s.median / 2`` and sigma :data:`THINK_SIGMA`; typing
   time is ``len(text) / TYPING_CPS``.

After a deterrence message the persona stops the role-play: the conversation is ended and
:meth:`plan_reply` returns ``None`` from then on.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Literal

from tutela.errors import ConfigError
from tutela.persona.bank import (
    AGE_SECTIONS,
    BANK_LANGUAGES,
    ENDING,
    ResponseBank,
    can_render,
    load_bank,
    render,
    slot_values,
)
from tutela.persona.deterrence import (
    DEFAULT_ORGANISATION,
    DETERRENCE_LANGUAGES,
    DETERRENCE_VARIANTS,
    HelpLink,
    render_deterrence,
)
from tutela.persona.guard import OutgoingGuard
from tutela.persona.intents import Intent
from tutela.persona.profile import PersonaProfile
from tutela.persona.style import apply_style, base_style
from tutela.persona.topics import Understanding, understand

__all__ = [
    "AGE_DISCLOSURE_BY_REPLY",
    "NO_EMOJI_INTENTS",
    "NO_EMOJI_TOPICS",
    "REFUSAL_SECTIONS",
    "THINK_SIGMA",
    "TYPING_CPS",
    "ContactMessage",
    "ConversationEnded",
    "ConversationState",
    "DeterrenceSent",
    "DialogueManager",
    "Event",
    "PlannedReply",
    "ReplySent",
    "SentReply",
]

#: intents and topics whose replies are refusals (or keep a distance): never styled with an emoji,
#: so a "no" never reads as playful (review P5)
NO_EMOJI_INTENTS: frozenset[Intent] = frozenset(
    {Intent.WEBCAM_REQUEST, Intent.PHOTO_REQUEST, Intent.MEETING_REQUEST, Intent.MONEY_OR_GIFT,
     Intent.SECRECY, Intent.SEXUAL_CONTENT, Intent.ROMANTIC, Intent.CONTACT_REQUEST,
     Intent.REPEAT_REQUEST, Intent.THREAT, Intent.COMPLIMENT}
)  # fmt: skip
NO_EMOJI_TOPICS: frozenset[str] = frozenset(
    {"pressure", "contact_age", "isolation", "platform_switch"}
)
#: sections whose reply refused something: "ok?" / "deal?" is answered from the ``pressure``
#: section ("i said no") only after one of these (review P7)
REFUSAL_SECTIONS: frozenset[str] = frozenset(
    {*(i.value for i in NO_EMOJI_INTENTS), "pressure", "platform_switch", "contact_age"}
)

AGE_DISCLOSURE_BY_REPLY = 2
"""The persona states its age no later than this reply (1-based)."""
TYPING_CPS = 3.0
"""Typing speed, characters per second: about 36 words a minute, the mean mobile typing speed in
Palin et al. (2019), "How do people type on mobile devices?", MobileHCI '19."""
THINK_SIGMA = 0.5
"""Sigma of the log-normal think time (dimensionless)."""


@dataclass(frozen=True, slots=True)
class PlannedReply:
    """A reply the policy proposes; nothing is sent until the guard releases ``text``.

    text: the exact text to send. intent: the intent it answers. bank_key: the template it came
    from (``"en.greeting.0"``, ``"en.pets.1"``; ``"deterrence.{lang}.{variant}"`` for a
    warning). delay_s: seconds to wait before sending (typing delay). origin: the guard origin
    to release it under. topic: the topic it answers (``None``: the intent's own section).
    """

    text: str
    intent: Intent
    bank_key: str
    delay_s: float
    origin: Literal["bank", "deterrence"] = "bank"
    topic: str | None = None


@dataclass(frozen=True, slots=True)
class SentReply:
    """One reply as sent: its bank key and exact text."""

    bank_key: str
    text: str


@dataclass(frozen=True, slots=True)
class ConversationState:
    """The dialogue state of one conversation, rebuilt from events.

    turn: contact messages seen. replies: replies sent, oldest first. age_disclosed: a sent reply
    stated the persona's age. ended: no more replies (after a deterrence message or an end event).
    deterrence_variant: the variant sent, if any. rng_seed: the conversation's random seed.
    """

    persona_id: str
    lang: str
    rng_seed: int
    turn: int = 0
    replies: tuple[SentReply, ...] = ()
    age_disclosed: bool = False
    ended: bool = False
    deterrence_variant: str | None = None


@dataclass(frozen=True, slots=True)
class ContactMessage:
    """The contact wrote ``text``."""

    text: str


@dataclass(frozen=True, slots=True)
class ReplySent:
    """The persona sent ``text`` (from template ``bank_key``)."""

    bank_key: str
    text: str


@dataclass(frozen=True, slots=True)
class DeterrenceSent:
    """The persona sent the deterrence message ``variant``; the conversation ends."""

    variant: str
    text: str


@dataclass(frozen=True, slots=True)
class ConversationEnded:
    """The conversation was ended (by an operator, a policy decision...)."""

    reason: str = ""


Event = ContactMessage | ReplySent | DeterrenceSent | ConversationEnded


class DialogueManager:
    """Plans a persona's replies. Holds only configuration; all conversation data is in the state.

    Parameters
    ----------
    profile: the persona.
    bank: one ``ResponseBank``, or language -> bank; default: the shipped banks of the profile's
        languages. The manager's own guard accepts texts of these banks; the guard in front of the
        connectors should be built with the shipped banks only.
    rng_seed: default seed for :meth:`start`.
    organisation: named in deterrence messages.

    Raises ``ConfigError`` when none of the profile's languages has a bank.
    """

    def __init__(
        self,
        profile: PersonaProfile,
        *,
        bank: ResponseBank | Mapping[str, ResponseBank] | None = None,
        rng_seed: int = 0,
        organisation: str = DEFAULT_ORGANISATION,
    ) -> None:
        if bank is None:
            banks = {lang: load_bank(lang) for lang in profile.languages if lang in BANK_LANGUAGES}
        elif isinstance(bank, ResponseBank):
            banks = {bank.lang: bank}
        else:
            banks = dict(bank)
        if not banks:
            raise ConfigError(f"persona {profile.id!r}: no response bank for {profile.languages}")
        self.profile = profile
        self.banks: dict[str, ResponseBank] = banks
        self.rng_seed = rng_seed
        self.organisation = organisation
        self.guard = OutgoingGuard(profile, banks=banks, organisation=organisation)

    # -- state -----------------------------------------------------------------------------
    def start(self, *, lang: str | None = None, rng_seed: int | None = None) -> ConversationState:
        """A fresh conversation in ``lang`` (default: the profile's main language with a bank)."""
        if lang is None:
            lang = next(code for code in self.profile.languages if code in self.banks)
        if lang not in self.banks:
            raise ConfigError(f"persona {self.profile.id!r} has no bank for language {lang!r}")
        seed = self.rng_seed if rng_seed is None else rng_seed
        return ConversationState(self.profile.id, lang, seed)

    def apply(self, state: ConversationState, event: Event) -> ConversationState:
        """The state after ``event`` (pure; ``state`` is not changed)."""
        if isinstance(event, ContactMessage):
            return replace(state, turn=state.turn + 1)
        if isinstance(event, ReplySent):
            return replace(
                state,
                replies=(*state.replies, SentReply(event.bank_key, event.text)),
                age_disclosed=state.age_disclosed or self._states_age(event),
            )
        if isinstance(event, DeterrenceSent):
            return replace(state, ended=True, deterrence_variant=event.variant)
        if isinstance(event, ConversationEnded):
            return replace(state, ended=True)
        raise TypeError(f"not a dialogue event: {event!r}")

    def replay(
        self, events: Iterable[Event], *, lang: str | None = None, rng_seed: int | None = None
    ) -> ConversationState:
        """Rebuild a conversation's state from its events."""
        state = self.start(lang=lang, rng_seed=rng_seed)
        for event in events:
            state = self.apply(state, event)
        return state

    def _states_age(self, event: ReplySent) -> bool:
        lang = event.bank_key.split(".", 1)[0]
        bank = self.banks.get(lang)
        try:
            if bank is not None:
                return "{age}" in bank.template(event.bank_key)
        except (KeyError, IndexError, ValueError):
            pass
        return str(self.profile.age) in event.text.split()

    # -- policy ----------------------------------------------------------------------------
    def _delay(self, text: str, rng: random.Random) -> float:
        d = self.profile.reply_delay_s
        think = rng.lognormvariate(math.log(d.median / 2), THINK_SIGMA)
        return round(min(d.max, max(d.min, think + len(text) / TYPING_CPS)), 3)

    def understand(
        self, state: ConversationState, text: str, *, reading: object | None = None
    ) -> Understanding:
        """The intent and topic of ``text`` in the conversation's language (see
        :func:`tutela.persona.topics.understand`; ``reading``: detection's ``LineReading``)."""
        return understand(text, state.lang, reading=reading)

    def plan_reply(
        self, state: ConversationState, text: str, *, reading: object | None = None
    ) -> PlannedReply | None:
        """The reply to the contact message ``text``; ``None`` once the conversation has ended.

        ``state`` is the state *before* ``text`` is applied; ``reading``: detection's
        :class:`~tutela.detect.understand.LineReading` of this line, if the caller has it (used
        only when its ``text`` is ``text``). Pure: no side effects.
        """
        if state.ended:
            return None
        if reading is not None and getattr(reading, "text", None) != text:
            reading = None
        seen = self.understand(state, text, reading=reading)
        intent, topic = seen.intent, seen.topic
        bank = self.banks[state.lang]
        values = slot_values(self.profile, bank)
        entries: list[tuple[str, str]] = []
        if topic == "pressure" and not any(
            r.bank_key.split(".")[1] in REFUSAL_SECTIONS for r in state.replies
        ):
            topic = None  # nothing was refused: no "i said no" (review P7)
        if topic is not None and bank.has(topic):
            entries = [e for e in bank.entries(topic) if can_render(e[1], values)]
        if not entries:
            topic = None
            entries = [e for e in bank.entries(intent.value) if can_render(e[1], values)]
        if not entries:
            intent = Intent.UNKNOWN
            entries = [e for e in bank.entries(intent.value) if can_render(e[1], values)]
        # a statement the persona does not follow ("the library is open on thursday") gets a
        # flat "hmm", not the age pushed into it (rule 3: the age stands on its own)
        statement = intent is Intent.UNKNOWN and topic is None and len(text.split()) >= 4
        emoji = intent not in NO_EMOJI_INTENTS and topic not in NO_EMOJI_TOPICS
        planned = self._plan_from(state, intent, entries, push_age=not statement, emoji=emoji)
        return None if planned is None else replace(planned, topic=topic)

    def plan_ending(self, state: ConversationState) -> PlannedReply | None:
        """A short in-character closing line (``ending`` section); ``None`` once ended."""
        if state.ended:
            return None
        bank = self.banks[state.lang]
        values = slot_values(self.profile, bank)
        entries = [e for e in bank.entries(ENDING) if can_render(e[1], values)]
        return self._plan_from(state, Intent.GOODBYE, entries)

    def _plan_from(
        self,
        state: ConversationState,
        intent: Intent,
        entries: list[tuple[str, str]],
        *,
        push_age: bool = True,
        emoji: bool = True,
    ) -> PlannedReply | None:
        bank = self.banks[state.lang]
        reply_no = len(state.replies) + 1
        must_state_age = not state.age_disclosed and (
            (reply_no >= AGE_DISCLOSURE_BY_REPLY and push_age) or intent.value in AGE_SECTIONS
        )
        if must_state_age:
            entries = [e for e in entries if "{age}" in e[1]] or entries
        elif intent not in (Intent.ASL, Intent.AGE_QUESTION):
            # stated once (or not due yet): not in every other reply, unless asked
            entries = [e for e in entries if "{age}" not in e[1]] or entries
        rng = random.Random(f"{state.rng_seed}:{state.turn}:{len(state.replies)}")
        used = {r.bank_key for r in state.replies}
        sent = {r.text for r in state.replies}
        fresh = [e for e in entries if e[0] not in used]
        stale = [e for e in entries if e[0] in used]
        rng.shuffle(fresh)
        rng.shuffle(stale)
        candidates = []
        said = self._said_values(state, bank)
        for key, template in fresh + stale:
            rendered = render(template, self.profile, bank, rng, fixed=said)
            styled = apply_style(rendered, self.profile, rng, emoji=emoji)
            candidates.append((key, styled))
            candidates.append((key, base_style(rendered, self.profile)))
        for allow_repeat in (False, True):
            for key, styled in candidates:
                if not allow_repeat and styled in sent:
                    continue
                if self.guard.check(styled, origin="bank").allowed:
                    return PlannedReply(styled, intent, key, self._delay(styled, rng))
        return None

    def _said_values(self, state: ConversationState, bank: ResponseBank) -> dict[str, str]:
        """Slot values the persona already said in this conversation (memory, rule 4a): for each
        slot with several profile values, the first one found in a sent reply."""
        texts = [r.text.casefold() for r in state.replies]
        out: dict[str, str] = {}
        if not texts:
            return out
        for slot, options in slot_values(self.profile, bank).items():
            if len(options) < 2:
                continue
            for text in texts:
                hit = next((v for v in options if v.casefold() in text), None)
                if hit is not None:
                    out[slot] = hit
                    break
        return out

    def plan_deterrence(
        self,
        state: ConversationState,
        variant: str = "legal_trace",
        *,
        help_link: HelpLink | None = None,
    ) -> PlannedReply | None:
        """The deterrence message ``variant`` in the conversation's language (English when it has
        none) with the profile country's helpline (its URL replaced by ``help_link``'s for this
        variant and language, when given); ``None`` once ended. ``ConfigError`` for an
        unknown variant or a country without a helpline."""
        if state.ended:
            return None
        if variant not in DETERRENCE_VARIANTS:
            raise ConfigError(f"unknown deterrence variant {variant!r}")
        lang = state.lang if state.lang in DETERRENCE_LANGUAGES else "en"
        text = render_deterrence(
            lang,
            variant,
            country=self.profile.country,
            organisation=self.organisation,
            help_link=help_link,
        )
        return PlannedReply(
            text,
            Intent.UNKNOWN,
            f"deterrence.{lang}.{variant}",
            self.profile.reply_delay_s.min,
            origin="deterrence",
        )

    # -- conveniences ----------------------------------------------------------------------
    def respond(
        self, state: ConversationState, text: str, *, reading: object | None = None
    ) -> tuple[ConversationState, PlannedReply | None]:
        """Plan the reply to ``text`` and apply ``ContactMessage`` and (if any) ``ReplySent``."""
        planned = self.plan_reply(state, text, reading=reading)
        state = self.apply(state, ContactMessage(text))
        if planned is not None:
            state = self.apply(state, ReplySent(planned.bank_key, planned.text))
        return state, planned

    def deter(
        self, state: ConversationState, variant: str = "legal_trace"
    ) -> tuple[ConversationState, PlannedReply | None]:
        """Plan the deterrence message and apply ``DeterrenceSent`` (the conversation ends)."""
        planned = self.plan_deterrence(state, variant)
        if planned is None:
            return state, None
        return self.apply(state, DeterrenceSent(variant, planned.text)), planned
