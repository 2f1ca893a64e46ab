"""Decoy personas: profiles, intent recognition, the reviewed response bank, the dialogue manager,
deterrence messages and the outgoing guard (the only path to a connector).

Typical live use::

    profile = load_persona("gb-ellie")
    guard = OutgoingGuard(profile)                       # shipped, reviewed banks only
    dm = DialogueManager(profile)
    state = dm.start(rng_seed=conversation_seed)
    state, planned = dm.respond(state, contact_text)     # or plan_reply + apply
    if planned is not None:
        sendable = guard.release(planned.text, origin=planned.origin)   # GuardedText or raises
        connector.send(room, sendable)                   # after planned.delay_s seconds
"""

from __future__ import annotations

from tutela.persona.bank import BANK_LANGUAGES, ResponseBank, load_bank, load_bank_file
from tutela.persona.content import MAX_LENGTH, SAFE_EMOJI, content_violations
from tutela.persona.deterrence import (
    DEFAULT_ORGANISATION,
    DETERRENCE_LANGUAGES,
    DETERRENCE_VARIANTS,
    Helpline,
    load_helplines,
    render_deterrence,
)
from tutela.persona.dialogue import (
    AGE_DISCLOSURE_BY_REPLY,
    ContactMessage,
    ConversationEnded,
    ConversationState,
    DeterrenceSent,
    DialogueManager,
    Event,
    PlannedReply,
    ReplySent,
    SentReply,
)
from tutela.persona.guard import GuardedText, GuardRefusal, GuardVerdict, Origin, OutgoingGuard
from tutela.persona.intents import PRIORITY, Intent, recognize
from tutela.persona.profile import (
    PersonaFacts,
    PersonaProfile,
    ReplyDelay,
    TypingStyle,
    load_persona,
    load_personas,
    persona_for_language,
)

__all__ = [
    "AGE_DISCLOSURE_BY_REPLY",
    "BANK_LANGUAGES",
    "DEFAULT_ORGANISATION",
    "DETERRENCE_LANGUAGES",
    "DETERRENCE_VARIANTS",
    "MAX_LENGTH",
    "PRIORITY",
    "SAFE_EMOJI",
    "ContactMessage",
    "ConversationEnded",
    "ConversationState",
    "DeterrenceSent",
    "DialogueManager",
    "Event",
    "GuardRefusal",
    "GuardVerdict",
    "GuardedText",
    "Helpline",
    "Intent",
    "Origin",
    "OutgoingGuard",
    "PersonaFacts",
    "PersonaProfile",
    "PlannedReply",
    "ReplyDelay",
    "ReplySent",
    "ResponseBank",
    "SentReply",
    "TypingStyle",
    "content_violations",
    "load_bank",
    "load_bank_file",
    "load_helplines",
    "load_persona",
    "load_personas",
    "persona_for_language",
    "recognize",
    "render_deterrence",
]
