"""The grooming/solicitation classifier: TF-IDF word and character n-grams + indicator and
conversation features, and a linear model (logistic regression).

Linear by default for speed and explainability (``docs/architecture.md``, "Detection"): every
score decomposes into per-feature and per-line contributions, and the same weights drive the
incremental scorer in :mod:`tutela.detect.incremental`. Character n-grams follow the PAN12
winners' and Vogt et al.'s observation that sub-word features are robust to chat spelling;
sublinear TF and l2 normalisation per block are scikit-learn's ``TfidfVectorizer`` semantics.

The estimator follows the scikit-learn contract: ``__init__`` only stores keyword parameters,
``fit`` learns attributes ending in ``_`` and returns ``self``, prediction checks it is fitted.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from tutela.detect.features import (
    DenseState,
    Line,
    lexicon_for,
    line_analyzer_char,
    line_analyzer_word,
)
from tutela.detect.normalize import normalize
from tutela.domain import Conversation, IndicatorHit
from tutela.errors import InputError

__all__ = ["Document", "GroomingClassifier", "PreparedDocument", "document_from_conversation"]


@dataclass(frozen=True, slots=True)
class Document:
    """What the classifier scores: the ``lines`` of one subject and the conversation language."""

    lines: tuple[Line, ...]
    lang: str | None = None


def document_from_conversation(
    conversation: Conversation, *, author: str | None = None
) -> Document:
    """The whole conversation (``author=None``) or one author's lines as a :class:`Document`."""
    msgs = conversation.messages
    if author is not None:
        msgs = [m for m in msgs if m.author == author]
    return Document(tuple(Line(m.author, m.text, m.time) for m in msgs), conversation.lang)


@dataclass(slots=True)
class PreparedDocument:
    """A document after normalisation and indicator matching (computed once, reused)."""

    normalised: list[str]
    hits: list[list[IndicatorHit]]
    dense: DenseState
    lines: tuple[Line, ...] = ()

    def prefix(self, k: int) -> PreparedDocument:
        """The first ``k`` lines as a prepared document (dense sums recomputed, O(k))."""
        dense = DenseState()
        for line, norm, hits in zip(
            self.lines[:k], self.normalised[:k], self.hits[:k], strict=True
        ):
            dense.update(line, norm, hits)
        return PreparedDocument(self.normalised[:k], self.hits[:k], dense, self.lines[:k])


def prepare(doc: Document) -> PreparedDocument:
    """Normalise every line, match the language's indicators and sum the dense features."""
    lex = lexicon_for(doc.lang)
    dense = DenseState()
    normalised: list[str] = []
    hits: list[list[IndicatorHit]] = []
    for i, line in enumerate(doc.lines, start=1):
        norm = normalize(line.text)
        h = lex.hits(norm, line=i, author=line.author, normalised=True)
        dense.update(line, norm, h)
        normalised.append(norm)
        hits.append(h)
    return PreparedDocument(normalised, hits, dense, doc.lines)


class GroomingClassifier(ClassifierMixin, BaseEstimator):
    """Linear grooming/solicitation classifier over :class:`Document` objects.

    Parameters
    ----------
    C:
        Inverse regularisation strength of the logistic regression.
    word_min_df, char_min_df:
        Minimum document frequency of a word / character n-gram to enter the vocabulary.
    char_max_features:
        Cap on the character vocabulary (most frequent first); bounds model size and memory.
    dense_weight:
        Multiplier on the standardised dense block (indicator + conversation features) relative to
        the two l2-normalised text blocks.
    class_weight:
        Passed to ``LogisticRegression``; ``"balanced"`` because positives are ~12 % of segments.
    threshold:
        Probability at or above which ``predict`` returns 1, or ``"auto"``: chosen in ``fit`` to
        maximise F1 on out-of-fold scores of an inner ``inner_folds``-fold cross-validation of the
        training data (grouped when ``fit`` gets ``groups``) — the training data only, never the
        data it is evaluated on (as scikit-learn's ``TunedThresholdClassifierCV``).
    inner_folds:
        Folds of that inner cross-validation.
    prefix_lengths:
        Early-detection training (eSPD): each training document longer than ``k`` lines also
        enters the training set as its first ``k`` lines, for every ``k`` here, with the
        document's label and group, so the model learns what the start of a grooming
        conversation looks like (the prefix idea of Vogt et al. 2021's early-warning setting).
        The threshold is still tuned on whole documents only.

    Attributes (after ``fit``)
    --------------------------
    word_vectorizer_, char_vectorizer_: fitted ``TfidfVectorizer`` (callable line analyzers).
    scaler_: ``StandardScaler`` over the dense block.
    coef_word_, coef_char_, coef_dense_: weights per block, shapes ``(n_word,)``, ``(n_char,)``,
    ``(n_dense,)``. intercept_: float. classes_: ``array([0, 1])``.
    threshold_: the decision threshold in use (``threshold``, or the tuned one).
    """

    def __init__(
        self,
        *,
        C: float = 30.0,
        word_min_df: int = 2,
        char_min_df: int = 2,
        char_max_features: int = 100_000,
        dense_weight: float = 0.25,
        class_weight: str | None = "balanced",
        threshold: float | str = "auto",
        inner_folds: int = 3,
        prefix_lengths: tuple[int, ...] = (),
    ) -> None:
        self.C = C
        self.word_min_df = word_min_df
        self.char_min_df = char_min_df
        self.char_max_features = char_max_features
        self.dense_weight = dense_weight
        self.class_weight = class_weight
        self.threshold = threshold
        self.inner_folds = inner_folds
        self.prefix_lengths = prefix_lengths

    # -- fitting ---------------------------------------------------------------------------------
    def fit(
        self,
        X: Sequence[Document] | Sequence[PreparedDocument],
        y: Sequence[int] | np.ndarray,
        groups: Sequence[str] | np.ndarray | None = None,
    ) -> GroomingClassifier:
        """Learn vocabularies, IDF, scaling, weights (and the threshold) from 0/1-labelled
        documents; ``groups`` keeps related documents in one inner fold. ``y`` and ``groups``
        have one item per document (lists or 1-D arrays)."""
        y_arr = np.asarray(y, dtype=int)
        if len(X) != len(y_arr):
            raise InputError(f"{len(X)} documents but {len(y_arr)} labels")
        if set(np.unique(y_arr)) != {0, 1}:
            raise InputError("training needs both classes (labels 0 and 1)")
        prepared = [d if isinstance(d, PreparedDocument) else prepare(d) for d in X]
        n_real = len(prepared)
        group_list = list(groups) if groups is not None else None
        extra_y: list[int] = []
        for k in self.prefix_lengths:
            for i in range(n_real):
                if len(prepared[i].lines) > k:
                    prepared.append(prepared[i].prefix(k))
                    extra_y.append(int(y_arr[i]))
                    if group_list is not None:
                        group_list.append(group_list[i])
        y_all = np.concatenate([y_arr, np.asarray(extra_y, dtype=int)])
        texts = [p.normalised for p in prepared]
        self.word_vectorizer_ = TfidfVectorizer(
            analyzer=line_analyzer_word, sublinear_tf=True, min_df=self.word_min_df
        )
        self.char_vectorizer_ = TfidfVectorizer(
            analyzer=line_analyzer_char,
            sublinear_tf=True,
            min_df=self.char_min_df,
            max_features=self.char_max_features,
        )
        xw = self.word_vectorizer_.fit_transform(texts)
        xc = self.char_vectorizer_.fit_transform(texts)
        dense = np.vstack([p.dense.vector() for p in prepared])
        self.scaler_ = StandardScaler().fit(dense)
        xd = sp.csr_matrix(self.scaler_.transform(dense) * self.dense_weight)
        x_all = sp.hstack([xw, xc, xd], format="csr")
        lr = self._linear().fit(x_all, y_all)
        self.threshold_ = self._tune_threshold(x_all, y_all, group_list, n_real)
        coef = lr.coef_.ravel()
        nw, nc = xw.shape[1], xc.shape[1]
        self.coef_word_ = coef[:nw].copy()
        self.coef_char_ = coef[nw : nw + nc].copy()
        self.coef_dense_ = coef[nw + nc :].copy()
        self.intercept_ = float(lr.intercept_[0])
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = 1
        return self

    def _linear(self) -> LogisticRegression:
        return LogisticRegression(
            C=self.C, class_weight=self.class_weight, max_iter=5000, solver="liblinear"
        )

    def _tune_threshold(
        self, x: sp.csr_matrix, y: np.ndarray, groups: Sequence[str] | None, n_real: int
    ) -> float:
        """F1-optimal threshold on out-of-fold scores of the first ``n_real`` (whole) documents;
        prefix copies train the inner models but are never scored."""
        if self.threshold != "auto":
            t = float(self.threshold)
            if not 0.0 <= t <= 1.0:
                raise InputError(f"threshold must be in [0, 1] or 'auto', got {self.threshold!r}")
            return t
        n_pos = int(y.sum())
        folds = min(self.inner_folds, n_pos, len(y) - n_pos)
        if folds < 2:
            return 0.5
        if groups is not None and len(set(groups)) >= folds:
            splits = StratifiedGroupKFold(folds, shuffle=True, random_state=0).split(x, y, groups)
        else:
            splits = StratifiedKFold(folds, shuffle=True, random_state=0).split(x, y)
        oof = np.zeros(len(y))
        for tr, te in splits:
            oof[te] = self._linear().fit(x[tr], y[tr]).predict_proba(x[te])[:, 1]
        oof, y = oof[:n_real], y[:n_real]
        best_t, best_f1 = 0.5, -1.0
        for t in np.round(np.arange(0.05, 0.951, 0.01), 2):
            pred = oof >= t
            tp = int((pred & (y == 1)).sum())
            fp = int((pred & (y == 0)).sum())
            fn = int((~pred & (y == 1)).sum())
            f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
            if f1 > best_f1 + 1e-12:
                best_t, best_f1 = float(t), f1
        return best_t

    # -- scoring ---------------------------------------------------------------------------------
    def decision_function(self, X: Sequence[Document] | Sequence[PreparedDocument]) -> np.ndarray:
        """Log-odds per document, shape ``(n_documents,)``."""
        check_is_fitted(self, "coef_word_")
        prepared = [d if isinstance(d, PreparedDocument) else prepare(d) for d in X]
        texts = [p.normalised for p in prepared]
        xw = self.word_vectorizer_.transform(texts)
        xc = self.char_vectorizer_.transform(texts)
        dense = np.vstack([p.dense.vector() for p in prepared]) if prepared else np.zeros((0, 0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            xd = self.scaler_.transform(dense) * self.dense_weight if prepared else dense
        return (
            xw @ self.coef_word_
            + xc @ self.coef_char_
            + (xd @ self.coef_dense_ if prepared else 0.0)
            + self.intercept_
        )

    def predict_proba(self, X: Sequence[Document] | Sequence[PreparedDocument]) -> np.ndarray:
        """Probabilities, shape ``(n_documents, 2)``; column 1 is the risk in [0, 1]."""
        s = self.decision_function(X)
        p = 1.0 / (1.0 + np.exp(-s))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Sequence[Document] | Sequence[PreparedDocument]) -> np.ndarray:
        """0/1 labels: risk ``>= threshold_``."""
        return (self.predict_proba(X)[:, 1] >= self.threshold_).astype(int)

    # -- explanation -----------------------------------------------------------------------------
    def line_scores(self, prepared: PreparedDocument) -> list[float]:
        """Each line's risk as if it stood alone (text blocks + intercept), in [0, 1].

        Used to point at the lines that carry a document's risk (PAN12 problem 2).
        """
        check_is_fitted(self, "coef_word_")
        if not prepared.normalised:
            return []
        xw = self.word_vectorizer_.transform([[t] for t in prepared.normalised])
        xc = self.char_vectorizer_.transform([[t] for t in prepared.normalised])
        s = xw @ self.coef_word_ + xc @ self.coef_char_ + self.intercept_
        return [1.0 / (1.0 + math.exp(-v)) for v in s]

    def top_terms(self, n: int = 20) -> dict[str, list[tuple[str, float]]]:
        """The ``n`` most positive and most negative word n-grams with their weights."""
        check_is_fitted(self, "coef_word_")
        vocab = self.word_vectorizer_.get_feature_names_out()
        order = np.argsort(self.coef_word_)
        return {
            "positive": [(str(vocab[i]), float(self.coef_word_[i])) for i in order[::-1][:n]],
            "negative": [(str(vocab[i]), float(self.coef_word_[i])) for i in order[:n]],
        }

    # -- persistence -----------------------------------------------------------------------------
    # A fitted TfidfVectorizer keeps its vocabulary as a dict of numpy integers, which skops writes
    # one array per term (minutes for 10^5 terms). The state instead holds the terms as one unicode
    # array and the IDF as another; ``__setstate__`` rebuilds the vectorizers.
    _VECTORIZERS = (
        ("word_vectorizer_", line_analyzer_word, "word_min_df", None),
        ("char_vectorizer_", line_analyzer_char, "char_min_df", "char_max_features"),
    )

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for name, _, _, _ in self._VECTORIZERS:
            vec = state.pop(name, None)
            if vec is not None:
                terms = vec.get_feature_names_out()
                state[name + "terms"] = np.asarray(terms, dtype=str)
                state[name + "idf"] = np.asarray(vec.idf_, dtype=float)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        for name, analyzer, min_df, max_features in self._VECTORIZERS:
            terms = state.pop(name + "terms", None)
            idf = state.pop(name + "idf", None)
            if terms is None or idf is None:
                continue
            vec = TfidfVectorizer(
                analyzer=analyzer,
                sublinear_tf=True,
                min_df=state.get(min_df, 1),
                max_features=state.get(max_features) if max_features else None,
            )
            vec.vocabulary_ = {str(t): i for i, t in enumerate(terms)}
            vec.idf_ = idf
            state[name] = vec
        state.setdefault("inner_folds", 3)  # files from before these parameters
        state.setdefault("prefix_lengths", ())
        if "threshold_" not in state and "coef_word_" in state:  # files from before threshold_
            t = state.get("threshold", 0.5)
            state["threshold_"] = float(t) if not isinstance(t, str) else 0.5
        self.__dict__.update(state)

    def __sklearn_tags__(self) -> Any:  # pragma: no cover - metadata for scikit-learn
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags
