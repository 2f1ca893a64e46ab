"""Incremental early-warning scoring: one message in, the current risk out, O(1) amortised.

The state of a conversation is the n-gram *counts* seen so far plus two running sums per text
block: ``dot = Σ_j w_j·idf_j·tf(c_j)`` and ``sq = Σ_j (idf_j·tf(c_j))²`` with ``tf(c) = 1 + ln c``
(sublinear TF). A message changes only the counts of its own n-grams, so both sums are updated in
time proportional to the message's length, never the prefix's; the block's l2-normalised
contribution is
``dot / sqrt(sq)``. The result equals :meth:`GroomingClassifier.decision_function` on the whole
prefix (tested to 1e-9), without re-vectorising it.

The warning rule is the k-of-n vote of Vogt, Leser & Akbik (2021, "Early Detection of Sexual
Predators in Chats", ACL), which raises a warning once at least ``k`` of the last ``n`` per-message
decisions were positive; ``k = n = 1`` is a plain threshold.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from tutela.detect.features import DenseState, Line, char_ngrams, lexicon_for, word_ngrams
from tutela.detect.model import GroomingClassifier
from tutela.detect.normalize import normalize
from tutela.detect.stage import estimate_stage
from tutela.domain import Assessment, IndicatorHit, Message

__all__ = ["IncrementalScorer", "ScoringTables", "WarningRule"]


class WarningRule(BaseModel):
    """When the early-warning flag is raised (Vogt et al. 2021's k-of-n vote).

    Attributes
    ----------
    threshold: a message's decision is positive when the risk after it is ``>= threshold``;
        ``None`` uses the model's own decision threshold (``GroomingClassifier.threshold_``).
    k, n: warn once ``k`` of the last ``n`` decisions were positive (``1 <= k <= n``).
    min_messages: never warn before this many messages were seen.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    k: int = Field(default=2, ge=1)
    n: int = Field(default=3, ge=1)
    min_messages: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _k_le_n(self) -> Self:
        if self.k > self.n:
            raise ValueError(f"k ({self.k}) must not exceed n ({self.n})")
        return self


@dataclass(frozen=True, slots=True)
class _Block:
    table: dict[str, tuple[float, float]]  # term -> (w·idf, idf²)


class ScoringTables:
    """Per-term lookup tables derived once from a fitted :class:`GroomingClassifier`.

    Shared (read-only) by every conversation's scorer; build one per model and reuse it.
    """

    def __init__(self, model: GroomingClassifier) -> None:
        self.model = model
        self.word = _Block(self._table(model.word_vectorizer_, model.coef_word_))
        self.char = _Block(self._table(model.char_vectorizer_, model.coef_char_))
        scale = np.where(model.scaler_.scale_ == 0, 1.0, model.scaler_.scale_)
        self.dense_w = model.coef_dense_ * model.dense_weight / scale
        self.dense_b = float(
            -(model.scaler_.mean_ / scale) @ (model.coef_dense_ * model.dense_weight)
        )
        self.intercept = model.intercept_

    @staticmethod
    def _table(vec, coef: np.ndarray) -> dict[str, tuple[float, float]]:
        idf = vec.idf_
        return {
            term: (float(coef[j] * idf[j]), float(idf[j] * idf[j]))
            for term, j in vec.vocabulary_.items()
        }


def _tf(c: int) -> float:
    return 1.0 + math.log(c) if c > 0 else 0.0


# Increments of tf(c) and tf(c)² when a count goes from c to c + 1, precomputed for small counts
# (almost every count in a chat): the hot loop then does two list lookups instead of two logs.
_TABLE_SIZE = 4096
_D1 = [_tf(c + 1) - _tf(c) for c in range(_TABLE_SIZE)]
_D2 = [_tf(c + 1) ** 2 - _tf(c) ** 2 for c in range(_TABLE_SIZE)]


class _BlockState:
    __slots__ = ("counts", "dot", "sq")

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.dot = 0.0
        self.sq = 0.0

    def add(self, block: _Block, grams: list[str]) -> None:
        """Count each n-gram once more and update the two sums (O(len(grams)))."""
        get = block.table.get
        counts = self.counts
        cget = counts.get
        dot, sq = self.dot, self.sq
        d1, d2, size = _D1, _D2, _TABLE_SIZE
        for g in grams:
            entry = get(g)
            if entry is None:
                continue
            c = cget(g, 0)
            counts[g] = c + 1
            if c < size:
                dot += entry[0] * d1[c]
                sq += entry[1] * d2[c]
            else:
                f_old, f_new = _tf(c), _tf(c + 1)
                dot += entry[0] * (f_new - f_old)
                sq += entry[1] * (f_new * f_new - f_old * f_old)
        self.dot, self.sq = dot, sq

    def value(self) -> float:
        return self.dot / math.sqrt(self.sq) if self.sq > 0 else 0.0


class IncrementalScorer:
    """Scores one subject (a conversation, or one author's lines) message by message.

    Parameters
    ----------
    tables: :class:`ScoringTables` of the model (or a fitted model, tables are then built).
    subject: id reported in the :class:`Assessment` (author or conversation id).
    kind: ``"author"`` or ``"conversation"``.
    lang: conversation language for the indicator lexicons (``None`` → English).
    rule: the early-warning rule.

    ``update`` costs O(length of the message); memory grows with the number of *distinct* n-grams
    seen, not with the number of messages.
    """

    def __init__(
        self,
        tables: ScoringTables | GroomingClassifier,
        *,
        subject: str = "",
        kind: str = "conversation",
        lang: str | None = None,
        rule: WarningRule | None = None,
    ) -> None:
        self.tables = tables if isinstance(tables, ScoringTables) else ScoringTables(tables)
        self.subject = subject
        self.kind = kind
        self.rule = rule or WarningRule()
        self._threshold = (
            self.rule.threshold if self.rule.threshold is not None else self.tables.model.threshold_
        )
        self._lex = lexicon_for(lang)
        self._word = _BlockState()
        self._char = _BlockState()
        self._dense = DenseState()
        self._votes: deque[bool] = deque(maxlen=self.rule.n)
        self._hits: list[IndicatorHit] = []
        self._risky_lines: list[int] = []
        self.n_messages = 0
        self.risk = 0.0
        self.score = 0.0
        #: number of messages fed (1-based) when the warning rule first fired, else None
        self.warned_at: int | None = None

    def update(self, message: Message | Line) -> Assessment:
        """Add one message and return the assessment after it."""
        self.n_messages += 1
        line_no = message.line if isinstance(message, Message) else self.n_messages
        line = (
            message
            if isinstance(message, Line)
            else Line(message.author, message.text, message.time)
        )
        norm = normalize(line.text)
        hits = self._lex.hits(norm, line=line_no, author=line.author, normalised=True)
        self._word.add(self.tables.word, word_ngrams(norm))
        self._char.add(self.tables.char, char_ngrams(norm))
        self._dense.update(line, norm, hits)
        t = self.tables
        score = (
            t.intercept
            + self._word.value()
            + self._char.value()
            + float(self._dense.vector() @ t.dense_w)
            + t.dense_b
        )
        self.score = score
        self.risk = 1.0 / (1.0 + math.exp(-score))
        if hits:
            self._hits.extend(hits)
            self._risky_lines.append(line_no)
        positive = self.risk >= self._threshold
        self._votes.append(positive)
        if (
            self.warned_at is None
            and self.n_messages >= self.rule.min_messages
            and sum(self._votes) >= self.rule.k
        ):
            self.warned_at = self.n_messages
        return self.assessment()

    def assessment(self) -> Assessment:
        """The current :class:`Assessment` (strongest indicators first)."""
        hits = tuple(sorted(self._hits, key=lambda h: (-h.weight, h.line)))
        return Assessment(
            subject=self.subject,
            kind=self.kind,
            risk=self.risk,
            label=self.risk >= self.tables.model.threshold_,
            stage=estimate_stage(self._hits),
            indicators=hits,
            lines=tuple(self._risky_lines),
            n_messages=self.n_messages,
            warning=self.warned_at is not None,
        )
