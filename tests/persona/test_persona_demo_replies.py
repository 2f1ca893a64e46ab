"""The persona in the shipped demos (issue 12, demo review): no goodbye unless the contact said
goodbye, no "no" to "are your parents home" glued to "someone is home", the age not glued into
unrelated answers, a detector's guess never turning small talk into a refusal.

The shipped scenarios' contact lines are read as the live engine reads them (``LineReader`` with
the shipped line detector, the reading passed to the persona) and answered by the scenario's
persona with several conversation seeds. The unit lines below are written for this file.
"""

from __future__ import annotations

import re

import pytest

from tutela.detect.lines import default_line_detector
from tutela.detect.understand import LineReader
from tutela.live.demo import load_scenario, shipped_scenarios
from tutela.persona import DialogueManager, Intent, load_personas
from tutela.persona.bank import NO_AGE_SECTIONS
from tutela.persona.topics import understand
from tutela.runtime import select_persona

SEEDS = range(6)
GOODBYE_SECTIONS = {"goodbye", "ending"}
BYE_WORDS = re.compile(r"\b(bye+|byee|cya|gtg|doei+|tschüss|tschuss|ciao|babay|ingat)\b")
#: a reply opening with a no-word (the contradiction "no, theres always someone home")
NO_FIRST = re.compile(r"^\W*(no|nope|nah|nee|nein|nö|hindi|hnd|wala)\b")
SOMEONE_HOME = re.compile(
    r"\b(someone|home|here|mum|mom|iemand|thuis|moeder|wer da|zuhause|mama|may tao|bahay)\b"
)
ASKS_AGE = {Intent.ASL, Intent.AGE_QUESTION}


def _section(bank_key: str) -> str:
    return bank_key.split(".")[1]


def _has_age(age: int, text: str) -> bool:
    return str(age) in re.findall(r"\d+", text)


@pytest.fixture(scope="module")
def detector():
    return default_line_detector(gate=0.0)


def _run(name: str, detector, seed: int):
    """(line, understanding as the live engine reads it, planned reply) for every contact line
    of shipped scenario ``name``, answered in one conversation."""
    scenario = load_scenario(name)
    profile = select_persona(scenario.persona, lang=scenario.lang)
    dm = DialogueManager(profile)
    reader = LineReader(detector, lang=scenario.lang)
    state = dm.start(lang=scenario.lang, rng_seed=seed)
    out = []
    for i, line in enumerate(scenario.lines):
        reading = reader.read(line, line=i)
        seen = dm.understand(state, line, reading=reading)
        state, planned = dm.respond(state, line, reading=reading)
        assert planned is not None
        assert dm.guard.check(planned.text, origin="bank").allowed
        out.append((line, seen, planned))
    return profile, scenario.lang, out


def test_every_shipped_scenario_is_covered() -> None:
    assert {"benign_peer_en", "benign_parent_en", "grooming_en", "grooming_nl", "grooming_de",
            "commercial_tl", "return_en"} <= set(shipped_scenarios())  # fmt: skip


@pytest.mark.parametrize("name", sorted(shipped_scenarios()))
def test_demo_replies_hold_a_conversation(name: str, detector) -> None:
    for seed in SEEDS:
        profile, lang, turns = _run(name, detector, seed)
        for line, seen, planned in turns:
            text, section = planned.text.lower(), _section(planned.bank_key)
            said_bye = understand(line, lang).intent is Intent.GOODBYE
            # 1. a goodbye only when the contact said goodbye
            if not said_bye:
                assert section not in GOODBYE_SECTIONS, (name, seed, line, text)
                assert not BYE_WORDS.search(text), (name, seed, line, text)
            # 2. never "no" + "someone is home" (and never "no" to "are your parents home")
            assert not (NO_FIRST.search(text) and SOMEONE_HOME.search(text)), (line, text)
            if seen.topic == "alone":
                assert not NO_FIRST.search(text), (name, seed, line, text)
            # 3. the age only where it is the answer or stands on its own
            if _has_age(profile.age, text) and seen.intent not in ASKS_AGE:
                assert section not in NO_AGE_SECTIONS, (name, seed, line, text)
            # 4. the detector's guess does not re-read a line the persona's rules understood
            own = understand(line, lang)
            if own.intent is not Intent.UNKNOWN or own.topic is not None:
                assert seen.intent is own.intent, (name, seed, line, text)


def test_benign_peer_demo_gets_answers_not_confusion(detector) -> None:
    for seed in SEEDS:
        profile, _, turns = _run("benign_peer_en", detector, seed)
        for line, _seen, planned in turns:
            assert _section(planned.bank_key) != "unknown", (seed, line, planned.text)
        homework = next(p for line, _, p in turns if "homework" in line)
        assert not _has_age(profile.age, homework.text)


def _manager(pid: str) -> DialogueManager:
    return DialogueManager(load_personas()[pid])


@pytest.mark.parametrize(
    ("pid", "line"),
    [
        ("gb-ellie", "r u going on fortnite later"),
        ("gb-ellie", "will u be online later"),
        ("nl-daan", "ga je straks nog gamen"),
        ("de-lena", "zockst du nachher noch"),
        ("ph-angel", "maglalaro ka ba mamaya"),
    ],
)
def test_later_in_a_question_is_not_a_goodbye(pid: str, line: str) -> None:
    dm = _manager(pid)
    for seed in SEEDS:
        state = dm.start(rng_seed=seed)
        state, _ = dm.respond(state, "hey")
        _, planned = dm.respond(state, line)
        assert planned is not None
        assert _section(planned.bank_key) not in GOODBYE_SECTIONS, planned
        assert not BYE_WORDS.search(planned.text.lower()), planned.text


@pytest.mark.parametrize(
    ("pid", "line"),
    [("gb-ellie", "ok talk later"), ("gb-ellie", "later!"), ("gb-ellie", "have a great day"),
     ("nl-daan", "fijne avond"), ("de-lena", "schönes wochenende")],
)  # fmt: skip
def test_goodbyes_still_get_a_goodbye(pid: str, line: str) -> None:
    dm = _manager(pid)
    _, planned = dm.respond(dm.start(), line)
    assert planned is not None and planned.intent is Intent.GOODBYE, planned


@pytest.mark.parametrize(
    ("pid", "line"),
    [
        ("gb-ellie", "is your dad home rn"),
        ("gb-ellie", "r ur parents out tonight"),
        ("gb-ellie", "are u alone"),
        ("nl-daan", "is je vader thuis"),
        ("de-lena", "sind deine eltern jetzt da"),
        ("ph-angel", "nasa bahay ba magulang mo"),
    ],
)
def test_parents_home_is_answered_without_no_or_contradiction(pid: str, line: str) -> None:
    dm = _manager(pid)
    for seed in SEEDS:
        state = dm.start(rng_seed=seed)
        state, _ = dm.respond(state, "hi")
        _, planned = dm.respond(state, line)
        assert planned is not None and planned.topic == "alone", (line, planned)
        assert _section(planned.bank_key) == "alone", planned
        assert not NO_FIRST.search(planned.text.lower()), planned.text


@pytest.mark.parametrize(
    ("pid", "lines"),
    [
        ("gb-ellie", ["hows school", "have u done the english homework", "fav subject?",
                      "what do u do for fun", "our class won the quiz"]),
        ("nl-daan", ["hoe is school", "heb je je werkstuk al af", "wat doe je graag"]),
        ("de-lena", ["wie ist die schule", "hast du das referat fertig", "was machst du gern"]),
    ],
)  # fmt: skip
def test_age_is_not_glued_into_answers(pid: str, lines: list[str]) -> None:
    """The contact never asks the age and never greets: no answer states it."""
    dm = _manager(pid)
    age = dm.profile.age
    for seed in SEEDS:
        state = dm.start(rng_seed=seed)
        for line in lines:
            state, planned = dm.respond(state, line)
            assert planned is not None
            assert not _has_age(age, planned.text), (seed, line, planned.text)


def test_age_is_said_in_the_first_greeting_on_its_own() -> None:
    dm = _manager("gb-ellie")
    for seed in SEEDS:
        state, planned = dm.respond(dm.start(rng_seed=seed), "heya")
        assert planned is not None and _section(planned.bank_key) == "greeting"
        assert _has_age(dm.profile.age, planned.text) and state.age_disclosed
        _, second = dm.respond(state, "did u finish the history project")
        assert second is not None and not _has_age(dm.profile.age, second.text)


def test_a_detector_label_does_not_turn_small_talk_into_a_refusal(detector) -> None:
    """A line the persona's own rules read keeps their intent whatever the detector guesses."""
    reader = LineReader(detector, lang="en")
    for line in ["hey its me, remember", "is someone there with u", "ur so grown up lol"]:
        own = understand(line, "en")
        seen = understand(line, "en", reading=reader.read(line, line=0))
        assert seen.intent is own.intent, (line, own, seen)


def test_the_age_is_not_pushed_into_a_statement_the_persona_does_not_follow() -> None:
    dm = _manager("gb-ellie")
    for seed in SEEDS:
        state = dm.start(rng_seed=seed)
        lines = ["good afternoon, its mr jones from class", "hows things going",
                 "the bus leaves at nine tomorrow", "the hall is closed on friday"]  # fmt: skip
        for line in lines:
            state, planned = dm.respond(state, line)
            assert planned is not None
            assert not _has_age(dm.profile.age, planned.text), (seed, line, planned.text)
