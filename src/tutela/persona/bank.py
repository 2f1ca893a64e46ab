"""The reviewed response bank: what a persona may say, per language and intent.

One YAML file per language under ``persona/banks/`` (``en``, ``nl``, ``tl``, ``de``)::

    version: 1
    lang: en
    reviewed_by: pending human review
    rules: [...]                       # the review rules, for the human reviewer
    gender_words: {female: girl, male: boy}
    intents:
      greeting: ["hey", "hi, im {name}, {age}", ...]
      ...                              # one list for every Intent, plus "ending"
    topics:                            # optional: finer subjects (tutela.persona.topics.TOPICS)
      pets: ["i have a {pet}", ...]

Templates use the slots :data:`SLOTS`, filled from the profile. Load-time validation (any failure
is a ``ConfigError`` naming the file, line and key, as :mod:`tutela.configfile` formats them):
every :class:`~tutela.persona.intents.Intent` and ``ending`` has >= 2 templates, and so has every
topic section present (only names of :data:`~tutela.persona.topics.TOPICS`; a bank without a
topic answers from the intent's section). The age goes where it is the answer or stands on its
own (issue 12: never glued into an unrelated answer): every section of :data:`AGE_SECTIONS`
present has a template with ``{age}`` (the greeting's introduction, the age question, the
refusals: so the persona can always make its age plain), no section of
:data:`NO_AGE_SECTIONS` has one ("did you do the homework" is not answered with the age); only
known slots; templates at most 120 characters; no ``?`` in any
section (the persona asks nothing back, not even "what do you mean": a question after a grooming
line invites the contact to elaborate, review P2); every template, with its slots
blanked, passes the guard's content checks.

A *bank key* names one template: ``"{lang}.{section}.{index}"``, e.g. ``"en.webcam_request.2"``
or ``"en.pets.0"`` (intent and topic names never collide).
"""

from __future__ import annotations

import itertools
import random
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from tutela.configfile import YamlDocument, read_resource, read_yaml
from tutela.errors import ConfigError
from tutela.persona.content import content_violations
from tutela.persona.intents import Intent
from tutela.persona.profile import PersonaProfile
from tutela.persona.topics import TOPICS

__all__ = [
    "AGE_SECTIONS",
    "BANK_LANGUAGES",
    "ENDING",
    "NO_AGE_SECTIONS",
    "SLOTS",
    "ResponseBank",
    "load_bank",
    "load_bank_file",
    "render",
    "renderings",
    "slot_values",
]

BANK_LANGUAGES: tuple[str, ...] = ("de", "en", "nl", "tl")
ENDING = "ending"
SLOTS: frozenset[str] = frozenset(
    {"age", "name", "gender", "school_year", "school_type", "region", "family", "hobby", "pet",
     "game", "music"}
)  # fmt: skip
MAX_TEMPLATE_CHARS = 120
_SECTIONS: tuple[str, ...] = (*(i.value for i in Intent), ENDING)
AGE_SECTIONS: frozenset[str] = frozenset(
    {"greeting", "asl", "age_question", "compliment", "webcam_request", "photo_request",
     "contact_request", "meeting_request", "money_or_gift", "romantic", "sexual_content",
     "repeat_request", "threat", "ack", "pressure", "police_check", "contact_age",
     "platform_switch"}
)  # fmt: skip
"""Sections with a template that states the age: the age is the answer, an introduction, a
short line of its own ("lol. im 13 btw") or the reason of a refusal ("no, im 13")."""
NO_AGE_SECTIONS: frozenset[str] = frozenset(
    {"how_are_you", "location_question", "what_doing", "school", "hobbies",
     "personal_question", "goodbye", ENDING, "familiarity", "alone", "isolation",
     "looks", "pets", "family", "school_name", "school_year", "games", "music", "intro",
     "homework", "plans", "news", "feeling"}
)  # fmt: skip
"""Answers the age must not be glued into (issue 12: "boring, im 13 in year 8")."""


@dataclass(frozen=True, slots=True)
class ResponseBank:
    """One language's reviewed templates.

    templates: section (an intent value or ``"ending"``) -> templates, in file order.
    topics: topic (:data:`~tutela.persona.topics.TOPICS`) -> templates; only the topics the
    file has.
    """

    lang: str
    version: int
    reviewed_by: str
    gender_words: Mapping[str, str]
    templates: Mapping[str, tuple[str, ...]]
    source: str
    topics: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def _section(self, section: str) -> tuple[str, ...]:
        if section in self.templates:
            return self.templates[section]
        return self.topics[section]

    def has(self, section: str) -> bool:
        """True when the bank has the intent or topic section ``section``."""
        return section in self.templates or section in self.topics

    def entries(self, section: str) -> tuple[tuple[str, str], ...]:
        """``(bank_key, template)`` pairs of one intent or topic section (``KeyError`` when the
        bank has none of that name)."""
        return tuple(
            (f"{self.lang}.{section}.{i}", t) for i, t in enumerate(self._section(section))
        )

    def all_entries(self) -> tuple[tuple[str, str], ...]:
        """Every ``(bank_key, template)`` pair of the bank, intent sections then topics."""
        return tuple(e for s in (*self.templates, *self.topics) for e in self.entries(s))

    def template(self, bank_key: str) -> str:
        """The template a bank key names; ``KeyError`` when it names none."""
        lang, section, index = bank_key.split(".")
        if lang != self.lang:
            raise KeyError(bank_key)
        return self._section(section)[int(index)]


def template_slots(template: str) -> tuple[str, ...]:
    """Slot names used in a template, in order of first use."""
    names = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    return tuple(dict.fromkeys(names))


def _validate(doc: YamlDocument, lang: str | None) -> ResponseBank:
    data = doc.mapping(what="response bank")
    where = doc.name
    try:
        version = int(data["version"])
        reviewed_by = str(data["reviewed_by"])
        file_lang = str(data["lang"])
        gender_words = {str(k): str(v) for k, v in dict(data["gender_words"]).items()}
        sections = dict(data["intents"])
        topic_sections = dict(data.get("topics") or {})
    except (KeyError, TypeError, ValueError) as e:
        raise doc.error((), f"missing or malformed header field: {e}") from e
    if lang is not None and file_lang != lang:
        raise doc.error(("lang",), f"lang {file_lang!r} does not match the file name")
    if set(gender_words) != {"female", "male"}:
        raise doc.error(("gender_words",), "gender_words needs exactly 'female' and 'male'")
    unknown = set(sections) - set(_SECTIONS)
    if unknown:
        raise doc.error(("intents", sorted(unknown)[0]), f"unknown sections {sorted(unknown)}")
    unknown_topics = set(topic_sections) - set(TOPICS)
    if unknown_topics:
        bad = sorted(unknown_topics)[0]
        raise doc.error(("topics", bad), f"unknown topics {sorted(unknown_topics)}")
    templates = {s: _section(doc, ("intents", s), sections.get(s)) for s in _SECTIONS}
    topics = {
        s: _section(doc, ("topics", s), topic_sections[s]) for s in TOPICS if s in topic_sections
    }
    return ResponseBank(file_lang, version, reviewed_by, gender_words, templates, where, topics)


def _section(doc: YamlDocument, key: tuple[str, str], items: object) -> tuple[str, ...]:
    section = key[1]
    if not isinstance(items, list) or len(items) < 2:
        raise doc.error(key, f"section {section!r} needs a list of >= 2 templates")
    with_age = [str(t) for t in items if "{age}" in str(t)]
    if section in AGE_SECTIONS and not with_age:
        raise doc.error(key, f"section {section!r} needs a template with {{age}}")
    if section in NO_AGE_SECTIONS and with_age:
        raise doc.error(key, f"section {section!r} must not state the age ({with_age[0]!r})")
    for i, t in enumerate(items):
        at = (*key, i)
        if not isinstance(t, str) or not t.strip() or len(t) > MAX_TEMPLATE_CHARS:
            raise doc.error(at, f"bad template {t!r}")
        try:
            slots = set(template_slots(t))
        except ValueError as e:
            raise doc.error(at, f"malformed template {t!r}: {e}") from e
        if slots - SLOTS:
            raise doc.error(at, f"unknown slots {sorted(slots - SLOTS)}")
        if "?" in t:
            raise doc.error(at, f"replies never ask: {t!r}")
        blank = t.format(**{s: "zz" for s in slots})
        reasons = content_violations(blank)
        if reasons:
            raise doc.error(at, f"template {t!r} fails: {reasons}")
    return tuple(items)


@cache
def load_bank(lang: str) -> ResponseBank:
    """The shipped bank of ``lang`` (one of :data:`BANK_LANGUAGES`); else ``ConfigError``."""
    if lang not in BANK_LANGUAGES:
        raise ConfigError(f"no response bank for language {lang!r} (have {BANK_LANGUAGES})")
    doc = read_resource("tutela.persona", "banks", f"{lang}.yaml")
    return _validate(doc, lang)


def load_bank_file(path: str | Path) -> ResponseBank:
    """A bank from any YAML file (for review and tests); validated like the shipped ones.

    Raises ``ConfigError`` in the format of :mod:`tutela.configfile`.
    """
    return _validate(read_yaml(path, what="response bank"), None)


def slot_values(profile: PersonaProfile, bank: ResponseBank) -> dict[str, tuple[str, ...]]:
    """Every value each slot may take for ``profile`` (empty tuple: the slot cannot be filled)."""
    f = profile.facts
    return {
        "age": (str(profile.age),),
        "name": (profile.display_name,),
        "gender": (bank.gender_words[profile.gender],),
        "school_year": (f.school_year,),
        "school_type": (f.school_type,),
        "region": (f.city_region,),
        "family": (f.family,),
        "hobby": f.hobbies,
        "pet": f.pets,
        "game": f.favourite_games,
        "music": f.favourite_music,
    }


def can_render(template: str, values: Mapping[str, tuple[str, ...]]) -> bool:
    """True when every slot of ``template`` has at least one value."""
    return all(values[s] for s in template_slots(template))


def renderings(template: str, profile: PersonaProfile, bank: ResponseBank) -> tuple[str, ...]:
    """Every rendering of ``template`` for ``profile`` (all slot-value combinations)."""
    values = slot_values(profile, bank)
    slots = template_slots(template)
    if not can_render(template, values):
        return ()
    combos = itertools.product(*(values[s] for s in slots))
    return tuple(dict.fromkeys(template.format(**dict(zip(slots, c, strict=True))) for c in combos))


def render(
    template: str,
    profile: PersonaProfile,
    bank: ResponseBank,
    rng: random.Random,
    *,
    fixed: Mapping[str, str] | None = None,
) -> str:
    """One rendering of ``template``: each slot filled with a value drawn from ``rng``, or with
    ``fixed[slot]`` when that is one of the profile's values for the slot (the dialogue's memory
    of what was already said).

    Raises ``ConfigError`` when a slot has no value for this profile (see :func:`can_render`).
    """
    values = slot_values(profile, bank)
    if not can_render(template, values):
        raise ConfigError(f"template {template!r} cannot be filled for persona {profile.id!r}")
    fixed = fixed or {}
    chosen = {}
    for s in template_slots(template):
        pick = rng.choice(values[s])  # drawn always, so the rng sequence does not depend on memory
        chosen[s] = fixed[s] if fixed.get(s) in values[s] else pick
    return template.format(**chosen)
