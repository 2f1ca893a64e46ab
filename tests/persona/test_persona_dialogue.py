"""Dialogue manager: age disclosure, consistency, no repeats, purity, replay, deterrence ending."""

from __future__ import annotations

import re

import pytest
from persona_support import PROFILE_IDS, PROFILES, manager_for
from test_persona_adversarial import SCRIPTS

from tutela.errors import ConfigError
from tutela.persona import (
    AGE_DISCLOSURE_BY_REPLY,
    ContactMessage,
    ConversationEnded,
    DialogueManager,
    Intent,
    PersonaProfile,
    PlannedReply,
    ReplySent,
)
from tutela.persona.style import _one_typo

SMALL_TALK = {
    "en": ["hi", "hows it going", "wyd", "cool", "nice", "lol", "same"],
    "nl": ["hoi", "hoe gaat het", "wat doe je", "cool", "leuk", "lol", "same"],
    "de": ["hallo", "wie gehts", "was machst du", "cool", "nice", "lol", "same"],
    "tl": ["hi", "kumusta", "ano ginagawa mo", "cool", "nice", "lol", "same"],
}
AGE_Q = {"en": "how old are you", "nl": "hoe oud ben je", "de": "wie alt bist du",
         "tl": "ilang taon ka na"}  # fmt: skip
LOC_Q = {"en": "where are you from", "nl": "waar woon je", "de": "wo wohnst du",
         "tl": "taga saan ka"}  # fmt: skip
SCHOOL_Q = {"en": "what school are you at", "nl": "welke school", "de": "welche schule",
            "tl": "anong school mo"}  # fmt: skip
HOBBY_Q = {"en": "any hobbies", "nl": "heb je hobbys", "de": "was sind deine hobbys",
           "tl": "ano hilig mo"}  # fmt: skip


SCHOOL_WORDS = ["school", "saai", "boring", "schule", "langweilig"]


def _profile(pid: str) -> PersonaProfile:
    return next(p for p in PROFILES if p.id == pid)


def _mentions(text: str, fact: str) -> bool:
    """``fact`` appears in ``text``, allowing the styler's typos (one per word)."""
    tokens = re.findall(r"[\w-]+", text)
    return all(any(t == w or _one_typo(w, t) for t in tokens) for w in re.findall(r"[\w-]+", fact))


def _has_age(profile: PersonaProfile, text: str) -> bool:
    return str(profile.age) in re.findall(r"\d+", text)


def _conversations(profile: PersonaProfile):
    dm = manager_for(profile)
    for lang in profile.languages:
        scripts = [SMALL_TALK[lang]] + [lines for lg, lines in SCRIPTS.values() if lg == lang]
        for lines in scripts:
            for seed in range(4):
                yield dm, lang, seed, lines


@pytest.mark.parametrize("pid", PROFILE_IDS)
def test_age_is_disclosed_within_first_three_replies(pid: str) -> None:
    profile = _profile(pid)
    n = 0
    for dm, lang, seed, lines in _conversations(profile):
        state = dm.start(lang=lang, rng_seed=seed)
        texts = []
        for line in lines[:3]:
            state, planned = dm.respond(state, line)
            assert planned is not None
            texts.append(planned.text)
        assert state.age_disclosed, (lang, lines, texts)
        assert any(_has_age(profile, t) for t in texts[:AGE_DISCLOSURE_BY_REPLY]), texts
        n += 1
    assert n >= 8


@pytest.mark.parametrize("pid", PROFILE_IDS)
def test_answers_about_age_location_school_hobbies_are_consistent(pid: str) -> None:
    profile = _profile(pid)
    dm = manager_for(profile)
    f = profile.facts
    for lang in profile.languages:
        for seed in range(6):
            state = dm.start(lang=lang, rng_seed=seed)
            for question, check in [
                (AGE_Q[lang], lambda t: _has_age(profile, t)),
                (LOC_Q[lang], lambda t: _mentions(t, f.city_region)),
                (
                    SCHOOL_Q[lang],
                    lambda t: any(_mentions(t, w) for w in [*SCHOOL_WORDS, f.school_year]),
                ),
                (
                    HOBBY_Q[lang],
                    lambda t: any(_mentions(t, h) for h in (*f.hobbies, *f.favourite_games)),
                ),
            ]:
                state, planned = dm.respond(state, question)
                assert planned is not None
                assert check(planned.text), (lang, question, planned.text)
                numbers = set(re.findall(r"\d+", planned.text))
                assert numbers <= {str(profile.age), *re.findall(r"\d+", f.school_year)}


@pytest.mark.parametrize("pid", PROFILE_IDS)
def test_no_verbatim_repeat_while_alternatives_exist(pid: str) -> None:
    profile = _profile(pid)
    dm = manager_for(profile)
    lang = profile.main_language
    request = {"en": "send me a pic", "nl": "stuur een foto", "de": "schick mir ein bild",
               "tl": "pasend ng pic"}[lang]  # fmt: skip
    n_templates = len(dm.banks[lang].templates[Intent.PHOTO_REQUEST.value])
    for seed in range(5):
        state = dm.start(rng_seed=seed)
        texts = []
        for _ in range(n_templates):
            state, planned = dm.respond(state, request)
            assert planned is not None and planned.intent is Intent.PHOTO_REQUEST
            texts.append(planned.text)
        assert len(set(texts)) == len(texts), texts


def test_policy_is_pure_and_state_is_rebuilt_from_events() -> None:
    profile = _profile("gb-ellie")
    dm = DialogueManager(profile, rng_seed=11)
    state = dm.start()
    first = dm.plan_reply(state, "hi")
    assert first == dm.plan_reply(state, "hi")  # same state, same text, same plan
    assert isinstance(first, PlannedReply)
    with pytest.raises(AttributeError):
        first.text = "x"  # type: ignore[misc]
    events = []
    live = state
    for line in ["hi", "asl", "send me a pic", "whats ur snap"]:
        planned = dm.plan_reply(live, line)
        assert planned is not None
        for event in (ContactMessage(line), ReplySent(planned.bank_key, planned.text)):
            events.append(event)
            live = dm.apply(live, event)
    assert dm.replay(events) == live
    assert live.turn == 4 and len(live.replies) == 4 and live.age_disclosed
    assert state.turn == 0 and state.replies == ()  # the original state is untouched


def test_delay_is_bounded_and_grows_with_length() -> None:
    profile = _profile("ph-angel")
    dm = manager_for(profile)
    d = profile.reply_delay_s
    delays = []
    for seed in range(30):
        state = dm.start(rng_seed=seed)
        for line in ["hi", "kumusta", "ano ginagawa mo"]:
            state, planned = dm.respond(state, line)
            assert planned is not None
            assert d.min <= planned.delay_s <= d.max
            delays.append((len(planned.text), planned.delay_s))
    short = [s for n, s in delays if n <= 6]
    long = [s for n, s in delays if n >= 25]
    assert short and long and sum(long) / len(long) > sum(short) / len(short)


@pytest.mark.parametrize("pid", PROFILE_IDS)
def test_deterrence_ends_the_conversation(pid: str) -> None:
    profile = _profile(pid)
    dm = manager_for(profile)
    state = dm.start()
    state, _ = dm.respond(state, "hi")
    state, planned = dm.deter(state, "legal_trace")
    assert planned is not None and planned.origin == "deterrence"
    assert planned.bank_key.startswith("deterrence.")
    assert dm.guard.check(planned.text, origin="deterrence").allowed
    assert state.ended and state.deterrence_variant == "legal_trace"
    assert dm.plan_reply(state, "wait what") is None
    assert dm.plan_deterrence(state) is None
    assert dm.plan_ending(state) is None


def test_ending_event_and_ending_line() -> None:
    dm = manager_for(_profile("nl-daan"))
    state = dm.start()
    ending = dm.plan_ending(state)
    assert ending is not None and dm.guard.check(ending.text, origin="bank").allowed
    state = dm.apply(state, ConversationEnded("operator"))
    assert state.ended and dm.plan_reply(state, "hoi") is None
    with pytest.raises(TypeError):
        dm.apply(state, "not an event")  # type: ignore[arg-type]


def test_unknown_language_and_variant_are_config_errors() -> None:
    dm = manager_for(_profile("gb-ellie"))
    with pytest.raises(ConfigError):
        dm.start(lang="nl")
    with pytest.raises(ConfigError):
        dm.plan_deterrence(dm.start(), "scare")
