"""The persona package's public names are locked (the live engine imports them)."""

from __future__ import annotations

import tutela.persona as persona

EXPECTED = {
    "AGE_DISCLOSURE_BY_REPLY", "BANK_LANGUAGES", "DEFAULT_ORGANISATION", "DETERRENCE_LANGUAGES",
    "DETERRENCE_VARIANTS", "MAX_LENGTH", "PRIORITY", "SAFE_EMOJI", "ContactMessage",
    "ConversationEnded", "ConversationState", "DeterrenceSent", "DialogueManager", "Event",
    "GuardRefusal", "GuardVerdict", "GuardedText", "Helpline", "Intent", "Origin", "OutgoingGuard",
    "PersonaFacts", "PersonaProfile", "PlannedReply", "ReplyDelay", "ReplySent", "ResponseBank",
    "SentReply", "TypingStyle", "content_violations", "load_bank", "load_bank_file",
    "load_helplines", "load_persona", "load_personas", "persona_for_language", "recognize",
    "render_deterrence",
}  # fmt: skip


def test_public_names_are_locked() -> None:
    assert set(persona.__all__) == EXPECTED
    for name in persona.__all__:
        assert getattr(persona, name) is not None


def test_banks_have_review_headers_and_every_intent() -> None:
    for lang in persona.BANK_LANGUAGES:
        bank = persona.load_bank(lang)
        assert bank.reviewed_by == "pending human review"
        assert bank.version >= 1
        assert set(bank.templates) == {i.value for i in persona.Intent} | {"ending"}
