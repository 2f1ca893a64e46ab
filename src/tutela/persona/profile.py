"""Persona profiles: invented decoy children, one YAML file each under ``persona/profiles/``.

Every fact is invented; ``city_region`` is a vague region, never an address or a school name. A
profile whose facts trip the outgoing guard's content checks (a phone number, an e-mail address,
a street address, a romantic word...) does not load.

Public API: :class:`PersonaProfile` (with :class:`PersonaFacts`, :class:`TypingStyle`,
:class:`ReplyDelay`), :func:`load_personas`, :func:`load_persona`, :func:`persona_for_language`.
All loaders raise :class:`tutela.errors.ConfigError` naming the file, line and key on any problem
(the format of :mod:`tutela.configfile`).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tutela.configfile import YamlDocument, parse_yaml, read_yaml, validate
from tutela.errors import ConfigError
from tutela.persona._codes import ISO_639_1, ISO_3166_ALPHA2

__all__ = [
    "PersonaFacts",
    "PersonaProfile",
    "ReplyDelay",
    "TypingStyle",
    "load_persona",
    "load_personas",
    "persona_for_language",
]

_PROFILE_DIR = "profiles"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PersonaFacts(_Strict):
    """Invented facts the persona may tell. Strings are written as the persona would type them."""

    school_year: str = Field(min_length=1, max_length=40)  # "year 8", "groep 8", "grade 7"
    school_type: str = Field(min_length=1, max_length=40)  # "secondary school", "basisschool"
    city_region: str = Field(min_length=1, max_length=40)  # a vague region: "west yorkshire"
    hobbies: tuple[str, ...] = Field(min_length=1)
    pets: tuple[str, ...] = ()  # bare nouns: "dog", "konijn"
    favourite_games: tuple[str, ...] = Field(min_length=1)
    favourite_music: tuple[str, ...] = Field(min_length=1)
    family: str = Field(min_length=1, max_length=60)  # "my mum and my older brother"


class TypingStyle(_Strict):
    """How the persona types.

    casing: ``"lower"`` lower-cases every reply, ``"normal"`` keeps the bank's casing.
    abbreviations: whole-word replacements applied to every reply (``{"you": "u"}``).
    emoji_rate: probability in [0, 1] that a reply ends with one emoji from the safe list.
    typo_rate: probability in [0, 1] that a word of >= 4 letters gets one typo (at most 2 a reply).
    """

    casing: Literal["lower", "normal"] = "lower"
    abbreviations: dict[str, str] = Field(default_factory=dict)
    emoji_rate: float = Field(default=0.1, ge=0.0, le=1.0)
    typo_rate: float = Field(default=0.03, ge=0.0, le=1.0)

    @field_validator("abbreviations")
    @classmethod
    def _lower_keys(cls, v: dict[str, str]) -> dict[str, str]:
        for key, value in v.items():
            if not key.strip() or not value.strip() or key != key.lower():
                raise ValueError(
                    f"abbreviation {key!r} -> {value!r}: keys lower-case, both non-empty"
                )
        return v


class ReplyDelay(_Strict):
    """Reply delay bounds in seconds: ``min <= median <= max``."""

    min: float = Field(gt=0)
    median: float = Field(gt=0)
    max: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> ReplyDelay:
        if not self.min <= self.median <= self.max:
            raise ValueError("reply_delay_s needs min <= median <= max")
        return self


class PersonaProfile(_Strict):
    """One decoy persona.

    id: stable id (file stem), e.g. ``"gb-ellie"``.
    age: 12..14 (years).
    country: ISO 3166-1 alpha-2, upper case (selects the deterrence helpline).
    languages: ISO 639-1 codes, the first is the main language.
    """

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,40}$")
    display_name: str = Field(min_length=1, max_length=30)
    age: int = Field(ge=12, le=14)
    gender: Literal["female", "male"]
    country: str
    languages: tuple[str, ...] = Field(min_length=1)
    facts: PersonaFacts
    typing: TypingStyle = Field(default_factory=TypingStyle)
    reply_delay_s: ReplyDelay

    @field_validator("country")
    @classmethod
    def _iso_country(cls, v: str) -> str:
        if v not in ISO_3166_ALPHA2:
            raise ValueError(f"{v!r} is not an ISO 3166-1 alpha-2 country code (upper case)")
        return v

    @field_validator("languages")
    @classmethod
    def _iso_languages(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [lang for lang in v if lang not in ISO_639_1]
        if bad:
            raise ValueError(f"not ISO 639-1 language codes: {bad}")
        if len(set(v)) != len(v):
            raise ValueError("languages must not repeat")
        return v

    @property
    def main_language(self) -> str:
        """The first language."""
        return self.languages[0]

    def fact_strings(self) -> tuple[str, ...]:
        """Every fact string the persona may say (used for validation)."""
        f = self.facts
        return (
            self.display_name,
            f.school_year,
            f.school_type,
            f.city_region,
            f.family,
            *f.hobbies,
            *f.pets,
            *f.favourite_games,
            *f.favourite_music,
        )


def _check_facts(profile: PersonaProfile, doc: YamlDocument) -> None:
    from tutela.persona.content import content_violations

    f = profile.facts
    named: list[tuple[tuple[str | int, ...], str]] = [
        (("display_name",), profile.display_name),
        *((("facts", k), getattr(f, k)) for k in _SINGLE_FACTS),
        *((("facts", k, i), v) for k in _LIST_FACTS for i, v in enumerate(getattr(f, k))),
    ]
    for key, fact in named:
        reasons = content_violations(fact)
        if reasons:
            raise doc.error(key, f"fact {fact!r} is not allowed: {'; '.join(reasons)}")


_SINGLE_FACTS = ("school_year", "school_type", "city_region", "family")
_LIST_FACTS = ("hobbies", "pets", "favourite_games", "favourite_music")


def _parse(doc: YamlDocument, *, stem: str | None) -> PersonaProfile:
    profile = validate(doc, PersonaProfile, what="persona profile")
    if stem is not None and profile.id != stem:
        raise doc.error(("id",), f"id {profile.id!r} must equal the file name {stem!r}")
    _check_facts(profile, doc)
    return profile


@cache
def load_personas() -> dict[str, PersonaProfile]:
    """The shipped personas by id, sorted by id. Raises ``ConfigError`` naming a bad file."""
    folder = resources.files("tutela.persona").joinpath(_PROFILE_DIR)
    out: dict[str, PersonaProfile] = {}
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".yaml"):
            continue
        stem = entry.name.removesuffix(".yaml")
        where = f"persona/{_PROFILE_DIR}/{entry.name}"
        out[stem] = _parse(parse_yaml(entry.read_bytes(), name=where), stem=stem)
    return out


def load_persona(id_or_path: str | Path) -> PersonaProfile:
    """A shipped persona by id, or a profile from a YAML file path.

    Raises ``ConfigError`` when the id is unknown, the file is missing, or it does not validate.
    """
    shipped = load_personas()
    if isinstance(id_or_path, str) and id_or_path in shipped:
        return shipped[id_or_path]
    path = Path(id_or_path)
    if path.suffix not in (".yaml", ".yml") or not path.is_file():
        raise ConfigError(
            f"{id_or_path}: no shipped persona with this id and no such YAML file "
            f"(shipped: {', '.join(shipped)})"
        )
    return _parse(read_yaml(path, what="persona profile"), stem=None)


def persona_for_language(lang: str) -> PersonaProfile:
    """The first shipped persona (by id) whose main language is ``lang``; else the first that speaks
    it at all. Raises ``ConfigError`` when no shipped persona speaks ``lang``."""
    personas = list(load_personas().values())
    for profile in personas:
        if profile.main_language == lang:
            return profile
    for profile in personas:
        if lang in profile.languages:
            return profile
    raise ConfigError(f"no shipped persona speaks {lang!r}")
