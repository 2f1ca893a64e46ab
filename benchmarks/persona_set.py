"""The persona test set: load it, run a persona over it, judge each reply (issue 12).

The set (``tests/persona/data/persona_set.yaml``, see its header) holds synthetic contact lines in
en, nl, de and tl with the topic a good reply must address. :func:`run_set` answers the lines of
each language in conversations of ``conversation_length`` consecutive lines, with every shipped
persona whose main language it is and several seeds, through any *planner* (a callable that makes
``(profile) -> (start(seed) -> state, respond(state, text) -> (state, text | None), guard(text)
-> bool)``), so today's persona and the new one run on the same lines in the same process.

The judge (:func:`addressed`) is independent of the response bank: it reads only the reply text,
the set's own patterns and the persona profile's facts, never the bank's section names or keys.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tutela.persona import PersonaProfile, load_personas

SET_PATH = (
    Path(__file__).resolve().parent.parent / "tests" / "persona" / "data" / "persona_set.yaml"
)
LANGUAGES = ("en", "nl", "de", "tl")
SEEDS = (0, 1, 2)


def load_set(path: Path = SET_PATH) -> dict[str, Any]:
    """The parsed set (``ValueError`` for a line whose topic has no judging rule)."""
    data = yaml.safe_load(path.read_text("utf-8"))
    for lang, lines in data["lines"].items():
        for text, topic in lines:
            if topic not in data["topics"]:
                raise ValueError(f"{lang}: {text!r}: topic {topic!r} has no judging rule")
    return data


def _facts(profile: PersonaProfile) -> dict[str, str]:
    f = profile.facts

    def alt(values: Iterable[str]) -> str:
        vals = [v for v in values if v]
        return "(?:" + "|".join(re.escape(v.lower()) for v in vals) + ")" if vals else "(?!x)x"

    return {
        "age": str(profile.age),
        "name": alt([profile.display_name]),
        "region": alt([f.city_region]),
        "school_year": alt([f.school_year]),
        "school_type": alt([f.school_type]),
        "family": alt([f.family]),
        "hobbies": alt(f.hobbies),
        "pets": alt(f.pets),
        "games": alt(f.favourite_games),
        "music": alt(f.favourite_music),
    }


def _fill(pattern: str, facts: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: facts[m.group(1)], pattern)


def addressed(
    data: dict[str, Any], topic: str, lang: str, reply: str, profile: PersonaProfile
) -> bool:
    """True when ``reply`` addresses ``topic`` by the set's rules (module docstring)."""
    rule = data["topics"][topic]
    text = reply.lower()
    facts = _facts(profile)

    def any_match(spec: dict[str, list[str]] | None) -> bool:
        if not spec:
            return False
        patterns = [*spec.get("any", []), *spec.get(lang, [])]
        return any(re.search(_fill(p, facts), text) for p in patterns)

    if not any_match(rule.get("addressed")) or any_match(rule.get("spoils")):
        return False
    if topic in data["no_agreement"]:
        for word in data["agreement"]:
            if re.search(r"(?<!\w)" + re.escape(word) + r"(?!\w)", text):
                return False
    too_long = len(re.findall(r"\w+", text)) > rule.get("max_words", 10**6)
    return not ("max_words" in rule and (too_long or "?" in text))


def mentions_age(reply: str, profile: PersonaProfile) -> bool:
    """The reply states the persona's age (the number as a word of its own)."""
    return str(profile.age) in re.findall(r"\d+", reply)


@dataclass
class Tally:
    """Counts for one language (or all): replies addressed, age mentions, repeats, guard passes."""

    lines: int = 0
    replies: int = 0
    addressed: int = 0
    age_mentions: int = 0
    age_mentions_unasked: int = 0
    unasked: int = 0
    repeats: int = 0
    guard_passed: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for name in ("lines", "replies", "addressed", "age_mentions", "age_mentions_unasked",
                     "unasked", "repeats", "guard_passed"):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.misses.extend(other.misses)


Start = Callable[[int], Any]
Respond = Callable[[Any, str], tuple[Any, str | None]]
Guard = Callable[[str], bool]
Planner = Callable[[PersonaProfile], tuple[Start, Respond, Guard]]


def personas_for(lang: str) -> list[PersonaProfile]:
    """Shipped personas whose main language is ``lang``."""
    return [p for p in load_personas().values() if p.main_language == lang]


def run_set(
    data: dict[str, Any], planner: Planner, *, seeds: Iterable[int] = SEEDS
) -> dict[str, Tally]:
    """Per language (and ``"all"``) tallies of ``planner``'s replies to the set."""
    out: dict[str, Tally] = {}
    n = int(data["conversation_length"])
    for lang in LANGUAGES:
        tally = Tally()
        lines = data["lines"][lang]
        for profile in personas_for(lang):
            start, respond, guard = planner(profile)
            for seed in seeds:
                for i in range(0, len(lines), n):
                    state = start(seed * 1000 + i)
                    sent: set[str] = set()
                    for text, topic in lines[i : i + n]:
                        tally.lines += 1
                        state, reply = respond(state, text)
                        if reply is None:
                            tally.misses.append(f"{profile.id} {text!r}: no reply")
                            continue
                        tally.replies += 1
                        ok = addressed(data, topic, lang, reply, profile)
                        tally.addressed += ok
                        if not ok:
                            tally.misses.append(f"{profile.id} [{topic}] {text!r} -> {reply!r}")
                        age = mentions_age(reply, profile)
                        tally.age_mentions += age
                        if topic != "age":
                            tally.unasked += 1
                            tally.age_mentions_unasked += age
                        tally.repeats += reply in sent
                        sent.add(reply)
                        tally.guard_passed += guard(reply)
        out[lang] = tally
    total = Tally()
    for t in out.values():
        total.add(t)
    out["all"] = total
    return out


def current_planner(profile: PersonaProfile) -> tuple[Start, Respond, Guard]:
    """Today's working tree: ``tutela.persona`` with its shipped banks and guard."""
    from tutela.persona import DialogueManager, OutgoingGuard

    dm = DialogueManager(profile)
    guard = OutgoingGuard(profile)  # the connector-side guard: shipped banks only

    def respond(state: Any, text: str) -> tuple[Any, str | None]:
        state, planned = dm.respond(state, text)
        return state, None if planned is None else planned.text

    return (
        lambda seed: dm.start(rng_seed=seed),
        respond,
        lambda text: guard.check(text, origin="bank").allowed,
    )
