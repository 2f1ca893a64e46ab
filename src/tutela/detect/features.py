"""Feature extraction shared by batch training and the incremental scorer.

A *document* is the sequence of chat lines of one subject: a conversation segment (both sides), or
one author's lines in one conversation. Each line is a :class:`Line` ``(author, text, time)``.

Three feature blocks, each computed **per line** and summed, so a document's features are the sum of
its lines' features and the incremental scorer can update them in O(1) amortised per message:

* word n-grams (1–2) over the normalised text of each line, n-grams never cross a line boundary;
* character n-grams (3–5, inside word boundaries, like scikit-learn's ``char_wb``) over the same
  text, which keeps obfuscated and misspelled words close to their clean forms;
* dense features: indicator weight per :class:`~tutela.domain.Category` (lexicons in
  ``tutela/detect/lexicons``) and conversation features — turn taking (share of lines whose author
  differs from the previous line's), question ratio, message rate (lines per minute, from ``HH:MM``
  or ISO times), mean line length and the number of lines (log-scaled). These follow the feature
  families of Villatoro-Tello et al. 2012 and Vogt et al. 2021 (behavioural and lexical cues).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from tutela.detect.language import lexicon_languages
from tutela.detect.lexicon import Lexicon, load_lexicons
from tutela.domain import Category, IndicatorHit

__all__ = [
    "CATEGORIES",
    "DENSE_FEATURE_NAMES",
    "DenseState",
    "Line",
    "char_ngrams",
    "lexicon_for",
    "line_analyzer_char",
    "line_analyzer_word",
    "word_ngrams",
]

CATEGORIES: tuple[Category, ...] = tuple(Category)
_CONVERSATION_FEATURES = (
    "log_lines",
    "turn_taking",
    "question_ratio",
    "log_rate_per_min",
    "log_mean_length",
)
DENSE_FEATURE_NAMES: tuple[str, ...] = tuple(f"indicator:{c.value}" for c in CATEGORIES) + (
    _CONVERSATION_FEATURES
)
_CAT_INDEX = {c: i for i, c in enumerate(CATEGORIES)}

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a document: ``author``, raw ``text`` and the source's ``time`` text (or None)."""

    author: str
    text: str
    time: str | None = None


def word_ngrams(normalised: str) -> list[str]:
    """Word unigrams and bigrams of one normalised line (bigrams joined by a space)."""
    toks = _WORD.findall(normalised)
    return toks + [f"{a} {b}" for a, b in itertools.pairwise(toks)]


def char_ngrams(normalised: str, lo: int = 3, hi: int = 5) -> list[str]:
    """Character n-grams of each word padded with spaces (scikit-learn's ``char_wb`` semantics)."""
    out: list[str] = []
    for w in normalised.split():
        w = f" {w} "
        n_w = len(w)
        for n in range(lo, hi + 1):
            if n > n_w:
                break
            out.extend(w[i : i + n] for i in range(n_w - n + 1))
    return out


def line_analyzer_word(doc: Sequence[str]) -> list[str]:
    """Analyzer for ``TfidfVectorizer``: ``doc`` is a sequence of *normalised* lines."""
    out: list[str] = []
    for text in doc:
        out.extend(word_ngrams(text))
    return out


def line_analyzer_char(doc: Sequence[str]) -> list[str]:
    """Analyzer for ``TfidfVectorizer``: ``doc`` is a sequence of *normalised* lines."""
    out: list[str] = []
    for text in doc:
        out.extend(char_ngrams(text))
    return out


def lexicon_for(lang: str | None) -> Lexicon:
    """The merged indicator lexicon for a conversation language (``None`` → English)."""
    return load_lexicons(lexicon_languages(lang or "en"))


def _minutes(time_text: str | None) -> float | None:
    """Minutes since midnight (``HH:MM``) or since the epoch (ISO 8601); ``None`` if unparsable."""
    if not time_text:
        return None
    t = time_text.strip()
    if len(t) <= 5 and ":" in t:
        hh, _, mm = t.partition(":")
        if hh.isdigit() and mm.isdigit():
            return int(hh) * 60 + int(mm)
        return None
    try:
        return datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() / 60.0
    except ValueError:
        return None


@dataclass(slots=True)
class DenseState:
    """Running sums behind the dense features; ``update`` is O(hits of the line).

    ``vector()`` returns the raw (unscaled) dense features, shape ``(len(DENSE_FEATURE_NAMES),)``.
    """

    indicator: np.ndarray = field(default_factory=lambda: np.zeros(len(CATEGORIES)))
    n: int = 0
    turns: int = 0
    questions: int = 0
    chars: int = 0
    last_author: str | None = None
    first_min: float | None = None
    last_min: float | None = None
    _day_offset: float = 0.0

    def update(self, line: Line, normalised: str, hits: Iterable[IndicatorHit]) -> None:
        """Add one line (its normalised text and indicator hits) to the sums."""
        for h in hits:
            self.indicator[_CAT_INDEX[h.category]] += h.weight
        if self.n and line.author != self.last_author:
            self.turns += 1
        self.n += 1
        self.last_author = line.author
        if "?" in line.text:
            self.questions += 1
        self.chars += len(normalised)
        m = _minutes(line.time)
        if m is not None:
            if self.first_min is None:
                self.first_min = m
            elif self.last_min is not None and m + self._day_offset < self.last_min - 720:
                self._day_offset += 1440.0  # HH:MM wrapped past midnight
            self.last_min = m + self._day_offset

    def vector(self) -> np.ndarray:
        """Raw dense features in the order of :data:`DENSE_FEATURE_NAMES`."""
        n = max(self.n, 1)
        if self.first_min is not None and self.last_min is not None:
            span = max(self.last_min - self.first_min, 1.0)
            rate = self.n / span
        else:
            rate = 0.0
        conv = (
            math.log1p(self.n),
            self.turns / max(self.n - 1, 1),
            self.questions / n,
            math.log1p(rate),
            math.log1p(self.chars / n),
        )
        return np.concatenate([np.log1p(self.indicator), np.asarray(conv, dtype=float)])
