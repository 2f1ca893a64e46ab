"""The believable persona (issue 12): replies address what was asked, measured on the persona set.

The set (data/persona_set.yaml) and its judge (benchmarks/persona_set.py) are independent of the
response bank: the judge reads only the reply text, the set's patterns and the profile's facts.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from benchmarks.persona_set import LANGUAGES, addressed, current_planner, load_set, run_set
from persona_support import PROFILES, manager_for

from tutela.detect.understand import LineReader
from tutela.errors import ConfigError
from tutela.persona import DETERRENCE_LANGUAGES, DETERRENCE_VARIANTS, load_bank_file
from tutela.persona.deterrence import helpline_for, load_helplines, render_deterrence
from tutela.persona.topics import understand

MIN_ADDRESSED = 0.90  # overall share of replies that address the line's topic
MIN_ADDRESSED_LANG = 0.85  # per language
MAX_UNASKED_AGE = 0.30  # share of replies to lines that did not ask the age that state it
DATA = load_set()


def _profile(pid: str):
    return next(p for p in PROFILES if p.id == pid)


@pytest.fixture(scope="module")
def results():
    return run_set(DATA, current_planner)


def test_set_has_enough_lines_per_language() -> None:
    for lang in LANGUAGES:
        lines = DATA["lines"][lang]
        assert len(lines) >= 25, lang
        assert all(len(text) <= 80 for text, _ in lines)


def test_new_persona_addresses_the_set_and_every_reply_passes_the_guard(results) -> None:
    total = results["all"]
    assert total.replies == total.lines > 4 * 25
    assert total.guard_passed == total.replies
    assert total.repeats == 0
    assert total.addressed >= MIN_ADDRESSED * total.replies, total.misses[:20]
    for lang in LANGUAGES:
        t = results[lang]
        assert t.addressed >= MIN_ADDRESSED_LANG * t.replies, (lang, t.misses[:10])
    assert total.age_mentions_unasked <= MAX_UNASKED_AGE * total.unasked


def test_the_judge_rejects_non_sequiturs_and_agreement() -> None:
    ellie, daan = _profile("gb-ellie"), _profile("nl-daan")
    assert not addressed(DATA, "familiarity", "en", "no", ellie)
    assert not addressed(DATA, "familiarity", "en", "ok see u there", ellie)
    assert addressed(DATA, "familiarity", "en", "huh, i dont know u", ellie)
    assert not addressed(DATA, "secrecy", "nl", "ik heb een hond", daan)
    assert not addressed(DATA, "alone", "en", "just me and my cat", ellie)
    assert not addressed(DATA, "school_year", "en", "its boring lol", ellie)
    assert addressed(DATA, "school_year", "en", "year 8 lol", ellie)
    assert not addressed(DATA, "ack", "en", "wdym?", ellie)


@pytest.mark.parametrize(
    ("lang", "text", "topic"),
    [
        ("en", "see u at school tomorrow", "familiarity"),
        ("en", "are you home alone", "alone"),
        ("en", "add me on snap", "platform_switch"),
        ("nl", "niet aan je ouders vertellen", None),
        ("de", "hast du geschwister", "family"),
        ("tl", "may aso ka ba", "pets"),
        ("en", "send a pic of ur dog", None),  # a photo request stays one
    ],
)
def test_understanding_gives_intent_and_topic(lang: str, text: str, topic: str | None) -> None:
    seen = understand(text, lang)
    assert seen.topic == topic
    if text.startswith("send"):
        assert seen.intent.value == "photo_request"
    if text.startswith("niet"):
        assert seen.intent.value == "secrecy"


def test_see_you_at_school_gets_confusion_never_agreement() -> None:
    dm = manager_for(_profile("gb-ellie"))
    for seed in range(8):
        planned = dm.plan_reply(dm.start(rng_seed=seed), "see u at school tomorrow")
        assert planned is not None and planned.topic == "familiarity"
        assert not re.search(r"\b(ok|yes|sure|see (you|u))\b", planned.text)


def test_reply_reads_detections_line_reading_of_the_same_line() -> None:
    dm = manager_for(_profile("gb-ellie"))
    state = dm.start()
    reader = LineReader(None, lang="en")
    reading = reader.read("is anybody with u rn", line=1)
    assert dm.understand(state, reading.text, reading=reading).topic == "alone"
    planned = dm.plan_reply(state, reading.text, reading=reading)
    assert planned is not None and planned.topic == "alone"
    other = reader.read("hi", line=2)  # a reading of another line is not used
    assert dm.plan_reply(state, "wyd", reading=other) == dm.plan_reply(state, "wyd")


def test_memory_keeps_facts_already_said() -> None:
    angel = _profile("ph-angel")
    dm = manager_for(angel)
    games = angel.facts.favourite_games
    assert len(games) >= 2
    for seed in range(10):
        state = dm.start(lang="en", rng_seed=seed)
        said: set[str] = set()
        for line in ["what games do you play", "what do u play", "any games", "fav game"]:
            state, planned = dm.respond(state, line)
            assert planned is not None
            said.update(g for g in games if g in planned.text)
        assert len(said) <= 1, (seed, said)


def test_age_is_said_once_early_not_in_every_reply() -> None:
    lines = ["hi", "hows it going", "wyd", "cool", "what music do u like", "lol", "any pets"]
    for profile in PROFILES:
        if profile.main_language != "en":
            continue
        dm = manager_for(profile)
        for seed in range(6):
            state = dm.start(rng_seed=seed)
            with_age = 0
            for line in lines:
                state, planned = dm.respond(state, line)
                assert planned is not None
                with_age += str(profile.age) in re.findall(r"\d+", planned.text)
            assert with_age == 1, seed


def test_unknown_topic_section_is_a_config_error(tmp_path: Path) -> None:
    src = Path(__file__).resolve().parents[2] / "src/tutela/persona/banks/en.yaml"
    text = src.read_text("utf-8").replace("  ack:", "  chit_chat:")
    bad = tmp_path / "bank.yaml"
    bad.write_text(text, "utf-8")
    with pytest.raises(ConfigError, match="unknown topics"):
        load_bank_file(bad)
    no_age = src.read_text("utf-8").replace('"lol. im {age} btw"', '"lol btw"')
    bad.write_text(no_age, "utf-8")
    with pytest.raises(ConfigError, match="age"):
        load_bank_file(bad)


CONTRADICTION = {
    "en": ["may be illegal", "crime and may"],
    "nl": ["kan strafbaar zijn", "misdrijf en kan"],
    "de": ["strafbar sein", "straftat und kann"],
    "tl": ["maaaring labag sa batas"],
}


@pytest.mark.parametrize("lang", DETERRENCE_LANGUAGES)
def test_deterrence_texts_do_not_contradict_themselves(lang: str) -> None:
    for variant in DETERRENCE_VARIANTS:
        low = render_deterrence(lang, variant, country="GB").lower()
        assert not any(p in low for p in CONTRADICTION[lang]), (lang, variant)


def test_helplines_have_source_and_review_date_and_speak_the_language() -> None:
    today = date.today()
    entries = list(load_helplines().values())
    for profile in PROFILES:
        for lang in profile.languages:
            if lang not in DETERRENCE_LANGUAGES:
                continue
            helpline = helpline_for(profile.country, lang)
            assert helpline is not None, (profile.id, lang)
            assert lang in helpline.languages, (profile.id, lang, helpline.name)
            entries.append(helpline)
    for h in entries:
        assert h.source.startswith("https://") and h.check.strip()
        assert h.checked <= today and h.verify_before_deployment
    tagalog = render_deterrence("tl", "combined", country="PH")
    english = render_deterrence("en", "combined", country="PH")
    tl_line, en_line = helpline_for("PH", "tl"), helpline_for("PH", "en")
    assert tl_line is not None and en_line is not None and tl_line != en_line
    assert tl_line.name in tagalog and en_line.name not in tagalog
    assert en_line.name in english
    assert helpline_for("ZZ", "en") is None
