"""Language of a conversation, and the lexicons to match it with.

:func:`detect_language` runs py3langid (Lui & Baldwin 2012, langid.py; the py3langid port) with
probabilities normalised, over at most :data:`MAX_CHARS` characters of the joined text. langid is
trained mostly on edited text and misses Taglish (Tagalog-English code-switching), so a documented
heuristic comes first: when Tagalog function words (:data:`TAGALOG_FUNCTION_WORDS`) make up at
least :data:`TAGALOG_SHARE` of the tokens, and at least two different ones occur, the answer is
``"tl"``. Two distinct words are required because single ones also occur elsewhere (Dutch ``na``,
German ``na ja``). The 15 % share is a heuristic set on synthetic Taglish lines (in running Tagalog
these words make up roughly a third of tokens); it is not a published threshold.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from tutela.detect.normalize import tokens

__all__ = [
    "MAX_CHARS",
    "MIN_LETTERS",
    "TAGALOG_FUNCTION_WORDS",
    "TAGALOG_SHARE",
    "detect_language",
    "lexicon_languages",
]

#: At most this many characters of the joined text are classified (speed; langid is linear).
MAX_CHARS = 2000
#: Below this many letters the answer is ``("und", 0.0)``: too little text to tell.
MIN_LETTERS = 8
#: Tagalog function words used by the Taglish heuristic (normalised spellings).
TAGALOG_FUNCTION_WORDS: frozenset[str] = frozenset(
    {
        "ako",
        "ka",
        "mo",
        "ng",
        "na",
        "sa",
        "ang",
        "po",
        "kita",
        "ikaw",
        "naman",
        "lang",
        "ba",
        "yung",
    }
)
#: Share of tokens that must be Tagalog function words for the heuristic to answer ``"tl"``.
TAGALOG_SHARE = 0.15

_LEXICON_LANGUAGES: dict[str, tuple[str, ...]] = {
    "tl": ("tl", "en"),
    "nl": ("nl", "en"),
    "de": ("de", "en"),
    "en": ("en",),
}


@functools.cache
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _tagalog_share(words: list[str]) -> tuple[float, int]:
    hits = [w for w in words if w in TAGALOG_FUNCTION_WORDS]
    return (len(hits) / len(words) if words else 0.0), len(set(hits))


def detect_language(texts: Iterable[str] | str) -> tuple[str, float]:
    """ISO 639-1 code and confidence in [0, 1] for one text or several (joined by newlines).

    Returns ``("und", 0.0)`` when the text has fewer than :data:`MIN_LETTERS` letters. The Taglish
    heuristic (module docstring) answers ``"tl"`` with confidence ``min(1, 0.5 + share)``;
    otherwise py3langid's normalised probability of its best language is returned.
    """
    text = texts if isinstance(texts, str) else "\n".join(texts)
    text = text[:MAX_CHARS]
    if sum(c.isalpha() for c in text) < MIN_LETTERS:
        return "und", 0.0
    share, distinct = _tagalog_share(tokens(text))
    if share >= TAGALOG_SHARE and distinct >= 2:
        return "tl", min(1.0, 0.5 + share)
    lang, conf = _identifier().classify(text)
    return str(lang), float(conf)


def lexicon_languages(code: str) -> tuple[str, ...]:
    """Lexicons to load for a detected language, for :func:`~tutela.detect.lexicon.load_lexicons`.

    ``tl -> ("tl", "en")`` (Taglish), ``nl -> ("nl", "en")`` and ``de -> ("de", "en")`` (English
    chat slang), ``en -> ("en",)``; any other code (``"fil"`` counts as ``"tl"``), including
    ``"und"``, gives ``("en",)``.
    """
    code = code.strip().lower()
    if code == "fil":
        code = "tl"
    return _LEXICON_LANGUAGES.get(code, ("en",))
