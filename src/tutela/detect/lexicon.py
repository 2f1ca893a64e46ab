"""Indicator lexicons: data files per language, validated at load time, matched in one regex.

A lexicon file (``lexicons/<lang>.yaml``, package data) holds a provenance header and a list of
indicators::

    language: en
    version: "1"
    sources: ["O'Connell (2003) ...", ...]
    reviewed: "who checked it, and how"
    indicators:
      - id: en.age_probe.how_old          # "<lang>.<category>.<name>", unique
        category: age_probe              # a tutela.domain.Category value
        weight: 0.5                      # relative severity in [0, 1]
        source: "category from ..."
        patterns: ["how old are you", "re:how\\s+old\\s+r\\s+u"]

Patterns match *normalised* text (:func:`tutela.detect.normalize.normalize`) on word boundaries:

* a plain phrase is normalised when loaded (so ``"Straße"`` and ``"strasse"`` are the same),
  each letter may appear once or twice in the text (``"hey"`` matches ``"heyy"``; normalised text
  never repeats a letter more than twice), an apostrophe is optional (``"don't"`` matches
  ``"dont"``) and a space matches any run of non-word characters (``"how old, r u"``);
* ``re:`` starts a regular expression, written against normalised text; use ``(?:...)``, not
  capturing groups with names.

Load-time validation raises :class:`tutela.errors.ConfigError` (file, line and key, the format
of :mod:`tutela.configfile`) for: a missing header field, an
unknown category, a weight outside [0, 1], a pattern that does not compile or matches the empty
string, a duplicate id, and a pattern listed twice (under two categories this is the conflict
Rasa's keyword intent classifier refuses; under one category it is a copy-paste slip).

Matching. All plain phrases of a lexicon are compiled into one trie-shaped alternation (shared
prefixes merged, one empty named group marking the end of each phrase), followed by the ``re:``
patterns, each in its own named group; the whole is anchored on a word start. At one position the
trie prefers the longest phrase (``"where do you live exactly"`` over ``"where do you live"``) and
phrases win over ``re:`` patterns. :meth:`Lexicon.match` returns non-overlapping matches in text
order (``re.finditer``): a short chat line costs a few microseconds.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from tutela.configfile import YamlDocument, located, read_resource
from tutela.detect.normalize import normalize
from tutela.domain import Category, IndicatorHit
from tutela.errors import ConfigError

__all__ = [
    "SUPPORTED_LANGUAGES",
    "IndicatorDef",
    "Lexicon",
    "load_lexicon",
    "load_lexicons",
    "mentions_minor_age",
    "parse_lexicon",
]

#: Languages with a shipped lexicon file. Anything else falls back to ``"en"``.
SUPPORTED_LANGUAGES: tuple[str, ...] = ("en", "nl", "de", "tl")
_ALIASES = {"fil": "tl", "tgl": "tl", "eng": "en", "nld": "nl", "deu": "de", "ger": "de"}
_HEADER = ("language", "version", "sources", "reviewed", "indicators")
_INDICATOR_KEYS = frozenset({"id", "category", "weight", "patterns", "source"})
_CATEGORIES = {c.value: c for c in Category}


@dataclass(frozen=True, slots=True)
class IndicatorDef:
    """One indicator of a lexicon.

    Attributes
    ----------
    id: ``"<lang>.<category>.<name>"``, e.g. ``"en.age_probe.how_old"``.
    category: the :class:`~tutela.domain.Category` it signals.
    weight: relative severity in [0, 1].
    patterns: plain phrases or ``re:`` regular expressions, as written in the file.
    source: the literature the category (not the wording) comes from.
    lang: the lexicon language it was loaded from.
    """

    id: str
    category: Category
    weight: float
    patterns: tuple[str, ...]
    source: str
    lang: str


# --- compiling ---------------------------------------------------------------------------------

_END = ""  # trie key marking the end of a phrase


def _phrase_units(phrase: str) -> list[str]:
    """Regex units of a normalised phrase: a letter run -> ``xx?`` / ``xx``, space -> ``\\W+``."""
    units: list[str] = []
    for m in re.finditer(r"(.)\1*", phrase):
        run = m.group(0)
        ch = run[0]
        if ch == " ":
            units.append(r"\W+")
        elif ch == "'":
            units.append("'?")
        elif ch.isalpha():
            esc = re.escape(ch)
            units.append(esc + esc if len(run) >= 2 else esc + esc + "?")
        else:
            units.append(re.escape(run))
    return units


def _trie_regex(node: dict[str, Any]) -> str:
    branches: list[str] = []
    for unit, child in node.items():
        if unit == _END:
            continue
        branches.append(unit + _trie_regex(child))
    if _END in node:
        branches.append(rf"(?![^\W_])(?P<{node[_END]}>)")
    if len(branches) == 1:
        return branches[0]
    return "(?:" + "|".join(branches) + ")"


class Lexicon:
    """A validated set of indicators with one compiled matcher.

    Build one with :func:`load_lexicon`, :func:`load_lexicons` or :func:`parse_lexicon`.

    Attributes
    ----------
    indicators: the indicators, in file order (merged lexicons: in the order of the languages).
    langs: the languages merged into it.
    """

    __slots__ = ("_by_group", "_by_id", "_regex", "indicators", "langs")

    def __init__(self, indicators: Iterable[IndicatorDef], *, langs: Iterable[str] = ()) -> None:
        self.indicators: tuple[IndicatorDef, ...] = tuple(indicators)
        self.langs: tuple[str, ...] = tuple(langs)
        self._by_id: dict[str, IndicatorDef] = {}
        self._by_group: dict[str, IndicatorDef] = {}
        trie: dict[str, Any] = {}
        regexes: list[str] = []
        owner: dict[str, IndicatorDef] = {}  # normalised pattern -> indicator
        for ind in self.indicators:
            if ind.id in self._by_id:
                raise ConfigError(f"duplicate indicator id {ind.id!r}")
            self._by_id[ind.id] = ind
            for pattern in ind.patterns:
                key = _pattern_key(pattern, ind.id)
                first = owner.get(key)
                if first is not None:
                    if first.category != ind.category:
                        raise ConfigError(
                            f"pattern {pattern!r} is listed under two categories: "
                            f"{first.id} ({first.category}) and {ind.id} ({ind.category})"
                        )
                    if first.lang == ind.lang:
                        raise ConfigError(
                            f"pattern {pattern!r} is listed twice: {first.id} and {ind.id}"
                        )
                    continue  # same phrase in two merged languages, same category: keep first
                owner[key] = ind
                group = f"g{len(self._by_group)}"
                self._by_group[group] = ind
                if pattern.startswith("re:"):
                    regexes.append(rf"(?P<{group}>{pattern[3:]})(?![^\W_])")
                else:
                    node = trie
                    for unit in _phrase_units(key):
                        node = node.setdefault(unit, {})
                    node[_END] = group
        alternatives = ([_trie_regex(trie)] if trie else []) + regexes
        source = r"(?<![^\W_])(?:" + "|".join(alternatives) + ")" if alternatives else r"(?!x)x"
        try:
            self._regex = re.compile(source)
        except re.error as e:  # pragma: no cover - each pattern was compiled alone first
            raise ConfigError(f"lexicon patterns do not compile together: {e}") from e

    def __len__(self) -> int:
        return len(self.indicators)

    def __repr__(self) -> str:
        return f"Lexicon(langs={self.langs!r}, indicators={len(self.indicators)})"

    def get(self, indicator_id: str) -> IndicatorDef:
        """The indicator with this id; ``KeyError`` if there is none."""
        return self._by_id[indicator_id]

    @property
    def categories(self) -> frozenset[Category]:
        """Categories that have at least one indicator."""
        return frozenset(ind.category for ind in self.indicators)

    def _iter(self, text: str) -> Iterator[tuple[IndicatorDef, int, int]]:
        by_group = self._by_group
        for m in self._regex.finditer(text):
            group = m.lastgroup
            if group is None:  # pragma: no cover - every alternative ends in a named group
                continue
            yield by_group[group], m.start(), m.end()

    def match(self, normalised_text: str) -> list[tuple[IndicatorDef, int, int]]:
        """Non-overlapping matches in ``normalised_text`` as ``(indicator, start, end)``.

        Ordered by position (leftmost first); offsets are character offsets into the given text,
        which must already be normalised (see :meth:`hits` for raw text).
        """
        return list(self._iter(normalised_text))

    def hits(
        self, text: str, *, line: int, author: str, normalised: bool = False
    ) -> list[IndicatorHit]:
        """Indicator hits of one chat line, in text order.

        ``text`` is normalised first unless ``normalised`` is true; ``start``/``end`` of each
        :class:`~tutela.domain.IndicatorHit` are offsets into the normalised text.
        """
        if not normalised:
            text = normalize(text)
        return [
            IndicatorHit(
                indicator=ind.id,
                category=ind.category,
                weight=ind.weight,
                line=line,
                author=author,
                start=start,
                end=end,
            )
            for ind, start, end in self._iter(text)
        ]


def _pattern_key(pattern: str, indicator_id: str) -> str:
    """Normalised form of a plain phrase; a ``re:`` pattern stays as written."""
    if pattern.startswith("re:"):
        return pattern
    key = normalize(pattern)
    if not key:
        raise ConfigError(f"{indicator_id}: pattern {pattern!r} is empty after normalisation")
    return key


# --- parsing and validation --------------------------------------------------------------------


def _check_indicator(raw: object, lang: str, doc: YamlDocument, index: int) -> IndicatorDef:
    at = ("indicators", index)
    if not isinstance(raw, Mapping):
        raise doc.error(at, f"an indicator must be a mapping, got {type(raw).__name__}")
    missing = _INDICATOR_KEYS - raw.keys()
    if missing:
        raise doc.error(at, f"indicator lacks {sorted(missing)}")
    ind_id = raw["id"]
    if not isinstance(ind_id, str) or not ind_id.startswith(f"{lang}."):
        raise doc.error((*at, "id"), f"id {ind_id!r} must be a string starting with {lang!r}.")
    category = _CATEGORIES.get(raw["category"]) if isinstance(raw["category"], str) else None
    if category is None:
        raise doc.error(
            (*at, "category"),
            f"{ind_id}: unknown category {raw['category']!r} (known: {', '.join(_CATEGORIES)})",
        )
    weight = raw["weight"]
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= 1:
        raise doc.error((*at, "weight"), f"{ind_id}: weight {weight!r} is not a number in [0, 1]")
    patterns = raw["patterns"]
    if (
        not isinstance(patterns, list)
        or not patterns
        or not all(isinstance(p, str) and p.strip() for p in patterns)
    ):
        raise doc.error(
            (*at, "patterns"), f"{ind_id}: patterns must be a non-empty list of strings"
        )
    for i, p in enumerate(patterns):
        if p.startswith("re:"):
            where = (*at, "patterns", i)
            try:
                compiled = re.compile(p[3:])
            except re.error as e:
                raise doc.error(where, f"{ind_id}: pattern {p!r} does not compile: {e}") from e
            if compiled.groupindex:
                raise doc.error(where, f"{ind_id}: pattern {p!r} uses named groups")
            if compiled.fullmatch(""):
                raise doc.error(where, f"{ind_id}: pattern {p!r} matches the empty string")
    source = raw["source"]
    if not isinstance(source, str) or not source.strip():
        raise doc.error((*at, "source"), f"{ind_id}: source must be a non-empty string")
    return IndicatorDef(
        id=ind_id,
        category=category,
        weight=float(weight),
        patterns=tuple(patterns),
        source=source,
        lang=lang,
    )


def parse_lexicon(data: object, *, origin: str | YamlDocument = "<memory>") -> Lexicon:
    """Validate a decoded lexicon file (the mapping described in the module docstring).

    ``origin`` names the file in error messages; a :class:`~tutela.configfile.YamlDocument` (the
    parsed file ``data`` came from) also gives the line. Raises
    :class:`~tutela.errors.ConfigError` in the format of :mod:`tutela.configfile`.
    """
    doc = located(origin, data)
    if not isinstance(data, Mapping):
        raise doc.error((), "a lexicon must be a mapping")
    missing = [k for k in _HEADER if k not in data]
    if missing:
        raise doc.error((), f"missing header field(s) {missing}")
    lang = data["language"]
    if not isinstance(lang, str) or not lang:
        raise doc.error(("language",), "language must be a non-empty string")
    sources = data["sources"]
    if not isinstance(sources, list) or not sources or not all(isinstance(s, str) for s in sources):
        raise doc.error(("sources",), "sources must be a non-empty list of strings")
    if not isinstance(data["indicators"], list):
        raise doc.error(("indicators",), "indicators must be a list")
    indicators = [_check_indicator(raw, lang, doc, i) for i, raw in enumerate(data["indicators"])]
    try:
        return Lexicon(indicators, langs=(lang,))
    except ConfigError as e:
        raise doc.error(("indicators",), str(e)) from e


def _canonical(lang: str) -> str:
    lang = lang.strip().lower()
    lang = _ALIASES.get(lang, lang)
    return lang if lang in SUPPORTED_LANGUAGES else "en"


@functools.cache
def _load(lang: str) -> Lexicon:
    doc = read_resource("tutela.detect", "lexicons", f"{lang}.yaml", name=f"lexicons/{lang}.yaml")
    lexicon = parse_lexicon(doc.data, origin=doc)
    if lexicon.langs != (lang,):
        raise doc.error(("language",), f"states language {lexicon.langs[0]!r}")
    return lexicon


def load_lexicon(lang: str) -> Lexicon:
    """The shipped lexicon for ``lang`` (ISO 639-1; ``"fil"`` is read as ``"tl"``).

    An unsupported language falls back to ``"en"`` without error. Cached: the same object is
    returned on every call. Raises :class:`~tutela.errors.ConfigError` if the file is invalid.
    """
    return _load(_canonical(lang))


@functools.cache
def _merge(langs: tuple[str, ...]) -> Lexicon:
    parts = [_load(lang) for lang in langs]
    if len(parts) == 1:
        return parts[0]
    return Lexicon((ind for part in parts for ind in part.indicators), langs=langs)


def load_lexicons(langs: Iterable[str]) -> Lexicon:
    """One lexicon merging the shipped lexicons of ``langs``, in the given order.

    Use :func:`tutela.detect.language.lexicon_languages` to pick them: Taglish is ``("tl", "en")``;
    Dutch and German chat mix in English slang, so ``("nl", "en")`` and ``("de", "en")``.
    Unsupported languages count as ``"en"``; duplicates are dropped; empty input gives ``"en"``.
    A phrase present in two languages under the same category is kept once (the first
    language's indicator); under two categories it is a :class:`~tutela.errors.ConfigError`.
    Cached per language tuple.
    """
    canonical = tuple(dict.fromkeys(_canonical(lang) for lang in langs)) or ("en",)
    return _merge(canonical)


# --- stated ages -------------------------------------------------------------------------------

_AGE_WORDS = {
    # en
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    # nl
    "acht": 8, "negen": 9, "tien": 10, "elf": 11, "twaalf": 12, "dertien": 13, "veertien": 14,
    "vijftien": 15, "zestien": 16, "zeventien": 17,
    # de (after normalisation: "zwölf" stays, "dreizehn" ...)
    "neun": 9, "zehn": 10, "zwölf": 12, "dreizehn": 13, "vierzehn": 14, "fünfzehn": 15,
    "sechzehn": 16, "siebzehn": 17,
}  # fmt: skip
_AGE_ALT = "[0-9]{1,2}|" + "|".join(sorted(_AGE_WORDS, key=len, reverse=True))
_NOT_UNIT = (
    r"(?!\s*(?:min|minutes?|minuten|mins?|hours?|hrs?|uur|stunden?|oras|km|kg|cm|euros?|eur|"
    r"dollars?|pesos?|php|%|:|[.,][0-9]|am\b|pm\b|x\b|times|keer|mal\b|people|mensen|leute))"
)
_END_AGE = r"(?![\w:.,])"
_AGE_FORMS = (
    # en: "i'm 13", "im 13", "i am 13", "i'm only 13", "i just turned 13"
    r"(?:i'?m|i am|i just turned|just turned)\s+(?:only\s+|just\s+)?{age}" + _END_AGE,
    # nl: "ik ben 13", "ben pas 13"; de: "ich bin 13", "bin erst 13"
    r"(?:ik ben|ben|ich bin|bin)\s+(?:pas\s+|net\s+|maar\s+|erst\s+|gerade\s+|nur\s+)?{age}"
    + _END_AGE,
    # number + unit: "13 yo", "13yo", "13 y/o", "13 years old", "13 jaar", "13 jahre", "13 taon"
    r"{age}\s*(?:y/?o+|yrs?(?:\s*old)?|years?\s*old|yr\s*old|jaar|jr|jahre?(?:\s*alt)?|j|taon|"
    r"yrs?old|yearsold)(?!\w)",
    # asl: "13/f", "13 f", "13m"
    r"{age}\s*/?\s*[fmw](?!\w)",
    # tl: "13 na ako", "13 pa lang ako", "13 lang ako", "13 palang ako"
    r"{age}\s+(?:na\s+ako|pa\s+lang\s+ako|palang\s+ako|lang\s+ako|pa\s+lang\s+po|na\s+po)",
    # "age: 13", "leeftijd 13", "alter 13", "edad ko 13", "ako ay 13"
    r"(?:ako\s+ay|age\s*:?|age\s+is|leeftijd\s*:?|alter\s*:?|edad\s+ko\s*:?|edad\s*:?)\s*{age}"
    + _END_AGE,
)
_AGE_RE = re.compile(
    r"(?<![\w.,:/])(?:"
    + "|".join(form.format(age=f"(?P<a{i}>{_AGE_ALT})") for i, form in enumerate(_AGE_FORMS))
    + ")"
    + _NOT_UNIT
)


def mentions_minor_age(text: str) -> int | None:
    """The first age from 8 to 17 that ``text`` states about the writer, else ``None``.

    ``text`` must be normalised. Recognised: ``"im 13"``, ``"i'm only 13"``, ``"13 yo"``,
    ``"13 years old"``, ``"13/f"``, ``"ik ben 13"``, ``"13 jaar"``, ``"ich bin 13"``,
    ``"13 jahre"``, ``"13 na ako"``, ``"13 pa lang ako"``, ``"13 taon"``, and the number words
    eight..seventeen in en/nl/de. A number followed by a unit (``"im 13 minutes away"``) does not
    count. The policy uses it to know a persona's age was made plain.
    """
    for m in _AGE_RE.finditer(text):
        raw = next(g for g in m.groups() if g is not None)
        age = int(raw) if raw.isdigit() else _AGE_WORDS[raw]
        if 8 <= age <= 17:
            return age
    return None
