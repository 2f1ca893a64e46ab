"""Intent recognition per language, and the priority of safety-relevant intents."""

from __future__ import annotations

import pytest

from tutela.persona import PRIORITY, Intent, recognize

I = Intent  # noqa: E741

CASES = [
    ("en", "hey there", I.GREETING),
    ("en", "asl?", I.ASL),
    ("en", "a/s/l pls", I.ASL),
    ("en", "how old r u", I.AGE_QUESTION),
    ("en", "where are you from", I.LOCATION_QUESTION),
    ("en", "wyd", I.WHAT_DOING),
    ("en", "what year are you in at school", I.SCHOOL),
    ("en", "what do you do for fun", I.HOBBIES),
    ("en", "ur so pretty", I.COMPLIMENT),
    ("en", "turn on your cam", I.WEBCAM_REQUEST),
    ("en", "send me a selfie", I.PHOTO_REQUEST),
    ("en", "whats ur snap", I.CONTACT_REQUEST),
    ("en", "we should meet up", I.MEETING_REQUEST),
    ("en", "ill buy u robux", I.MONEY_OR_GIFT),
    ("en", "dont tell your mum about me", I.SECRECY),
    ("en", "have u ever seen a naked guy", I.SEXUAL_CONTENT),
    ("en", "i know where you live", I.THREAT),
    ("en", "gtg bye", I.GOODBYE),
    ("en", "say 'i love you'", I.REPEAT_REQUEST),
    ("en", "be my girlfriend", I.ROMANTIC),
    ("en", "the weather is grey", I.UNKNOWN),
    ("nl", "hoi", I.GREETING),
    ("nl", "hoe oud ben je", I.AGE_QUESTION),
    ("nl", "waar woon je", I.LOCATION_QUESTION),
    ("nl", "zet je cam aan", I.WEBCAM_REQUEST),
    ("nl", "stuur eens een fotootje", I.PHOTO_REQUEST),
    ("nl", "zullen we afspreken", I.MEETING_REQUEST),
    ("nl", "mag ik je nummer", I.CONTACT_REQUEST),
    ("nl", "ik geef je geld", I.MONEY_OR_GIFT),
    ("nl", "ik hou van je", I.ROMANTIC),
    ("nl", "wat doe je graag", I.HOBBIES),
    ("nl", "doei", I.GOODBYE),
    ("de", "hallo", I.GREETING),
    ("de", "wie alt bist du", I.AGE_QUESTION),
    ("de", "wollen wir uns treffen", I.MEETING_REQUEST),
    ("de", "schick mir ein bild", I.PHOTO_REQUEST),
    ("de", "gib mir deine handynummer", I.CONTACT_REQUEST),
    ("de", "ich liebe dich", I.ROMANTIC),
    ("de", "tschüss", I.GOODBYE),
    ("tl", "uy hello", I.GREETING),
    ("tl", "ilang taon ka na", I.AGE_QUESTION),
    ("tl", "taga saan ka", I.LOCATION_QUESTION),
    ("tl", "kita tayo bukas", I.MEETING_REQUEST),
    ("tl", "pasend ng pic", I.PHOTO_REQUEST),
    ("tl", "gcash mo", I.MONEY_OR_GIFT),
    ("tl", "mahal kita", I.ROMANTIC),
    ("tl", "kumusta ka", I.HOW_ARE_YOU),
]


@pytest.mark.parametrize(("lang", "text", "intent"), CASES)
def test_recognize(lang: str, text: str, intent: Intent) -> None:
    assert recognize(text, lang) is intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("hi, send me a pic", I.PHOTO_REQUEST),
        ("how old are you? lets meet", I.MEETING_REQUEST),
        ("ur cute, whats ur number", I.CONTACT_REQUEST),
        ("hey sexy", I.SEXUAL_CONTENT),
        ("send a pic or else", I.THREAT),
        ("where do you live, ill come over", I.MEETING_REQUEST),
    ],
)
def test_safety_intents_win_over_small_talk(text: str, intent: Intent) -> None:
    assert recognize(text, "en") is intent


def test_priority_lists_every_intent_once_safety_first() -> None:
    assert sorted(PRIORITY) == sorted(Intent)
    assert PRIORITY.index(I.THREAT) == 0
    small_talk = min(PRIORITY.index(i) for i in (I.GREETING, I.ASL, I.HOBBIES, I.SCHOOL))
    for safety in (I.SEXUAL_CONTENT, I.WEBCAM_REQUEST, I.MEETING_REQUEST, I.MONEY_OR_GIFT):
        assert PRIORITY.index(safety) < small_talk
    assert PRIORITY[-1] is I.UNKNOWN


def test_english_rules_apply_to_every_language_and_obfuscation_is_folded() -> None:
    assert recognize("send me a pic", "nl") is I.PHOTO_REQUEST
    assert recognize("lets meet", "tl") is I.MEETING_REQUEST
    assert recognize("SEND ME A ΡIC", "de") is I.PHOTO_REQUEST  # Greek capital rho
    assert recognize("hiiiii", "en") is I.GREETING
    assert recognize("", "en") is I.UNKNOWN
