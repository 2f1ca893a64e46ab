"""The line-level solicitation detector: is *this* contact line soliciting, which kind, and why?

Three tiers, compared in ``benchmarks/bench_lines.py`` on the same folds:

* **linear** (:class:`LinearLineModel`): TF-IDF over character n-grams (2-5, within word
  boundaries) and word 1-2-grams of the matching skeleton
  (:func:`~tutela.detect.normalize.normalize`),
  a multinomial logistic regression over the labels of :mod:`tutela.detect.exemplars` plus
  ``"none"``; ``P(soliciting) = 1 - P(none)``, Platt-scaled on cross-validated outputs (Platt 1999;
  scikit-learn's ``cross_val_predict``). Trained on the reviewed exemplar lines and weak line labels
  from corpora (:func:`weak_line_labels`). Language-independent features: it carries Tagalog.
* **embedding** (:class:`ExemplarIndex`): multilingual sentence embeddings
  (:mod:`tutela.detect.embedding`) and the ``k`` nearest reviewed exemplars (cosine); the score is
  the similarity-weighted share of soliciting neighbours, calibrated by a logistic regression over
  ``(share, best soliciting similarity - best non-soliciting similarity)`` fitted leave-one-out
  on the exemplars themselves. The explanation is the nearest exemplars (as Roblox's Sentinel,
  2025).
* **cascade** (:class:`LineDetector`, the default): the linear tier on every line; lines with
  ``P_linear >= gate`` are embedded too and get ``(P_linear + P_embedding) / 2``. Below the gate the
  linear probability stands (no embedding cost for the small talk that makes up most of a chat).

A :class:`LineScore` is what the rest of Tutela sees: the calibrated probability, the soliciting
label (and its indicator category), the nearest benign context and the nearest exemplars.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from tutela.detect.embedding import SentenceEncoder, USEEncoder, cached_embeddings
from tutela.detect.exemplars import ALSO, BENIGN, SOLICITING, Exemplar, load_exemplars
from tutela.detect.normalize import normalize
from tutela.domain import Category, Conversation, Message
from tutela.errors import InputError, ModelError

__all__ = [
    "NONE",
    "TIERS",
    "ExemplarIndex",
    "LineDetector",
    "LineScore",
    "LinearLineModel",
    "Neighbour",
    "default_line_detector",
    "default_line_model_path",
    "load_line_model",
    "save_line_model",
    "weak_line_labels",
]

NONE = "none"
"""The label of a line that is not soliciting (benign contexts train as ``none`` too)."""
TIERS = ("linear", "embedding", "cascade")
GROOMING_ONLY: tuple[Category, ...] = (
    Category.AGE_PROBE,
    Category.PERSONAL_INFO_PROBE,
    Category.FLATTERY,
    Category.TRUST_BUILDING,
)
"""Indicator categories of the friendship- and relationship-forming stages (O'Connell 2003): an
offender's line whose only hits are of these is a weak ``none`` (grooming, not a solicitation)."""
LABEL_SHARE = 0.25
"""A soliciting label is read in a line when its neighbours hold at least this share of the
similarity-weighted soliciting votes (the first label always is)."""
N_NEAREST = 5
"""Nearest exemplars kept per embedded line (votes and explanation)."""

_EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def training_label(label: str) -> str:
    """The linear tier's target: soliciting labels stay, benign contexts become ``none``."""
    return label if label in SOLICITING else NONE


@dataclass(frozen=True, slots=True)
class Neighbour:
    """One reviewed exemplar near a line: its id, label, text and cosine similarity."""

    id: str
    label: str
    text: str
    similarity: float


@dataclass(frozen=True, slots=True)
class LineScore:
    """The detector's reading of one line.

    probability: calibrated P(the line is soliciting), in [0, 1]. label: the most likely soliciting
    label (``"media_request"``...) or ``None`` when ``probability < 0.5``. context: for a line
    with ``probability < 0.5`` whose nearest exemplar is a benign context, that context
    (``"benign_school"``...), with ``context_similarity`` its cosine similarity.
    labels: every soliciting label read in the line (:data:`LABEL_SHARE`), ``label`` first.
    linear, embedding: each tier's probability (``None`` when the tier did not run).
    nearest: the nearest exemplars, most similar first (empty when the line was not embedded).
    """

    probability: float
    label: str | None = None
    context: str | None = None
    linear: float | None = None
    embedding: float | None = None
    nearest: tuple[Neighbour, ...] = ()
    labels: tuple[str, ...] = ()
    context_similarity: float = 0.0

    @property
    def category(self) -> Category | None:
        """The indicator category of ``label`` (``None`` for no label or a threat)."""
        return SOLICITING.get(self.label) if self.label else None

    @property
    def categories(self) -> tuple[Category, ...]:
        """Indicator categories of ``labels`` (``label`` first): a paid show reads as both
        ``gift_or_money`` and ``media_request`` when its neighbours say so."""
        cats = [c for x in self.labels for c in (SOLICITING.get(x), *ALSO.get(x, ()))]
        return tuple(dict.fromkeys(c for c in cats if c is not None))

    def to_dict(self) -> dict:
        return {
            "probability": round(self.probability, 4),
            "label": self.label,
            "context": self.context,
            "linear": None if self.linear is None else round(self.linear, 4),
            "embedding": None if self.embedding is None else round(self.embedding, 4),
            "nearest": [
                {"id": n.id, "label": n.label, "text": n.text, "similarity": round(n.similarity, 3)}
                for n in self.nearest
            ],
        }


class LinearLineModel(BaseEstimator):
    """Tier (a): character/word n-gram multinomial logistic regression over line labels.

    Parameters
    ----------
    C: inverse regularisation strength of the logistic regression.
    char_range: character n-gram range (``char_wb`` analyzer).
    calibration_folds: folds of the cross-validated Platt scaling of ``P(soliciting)``.

    ``fit(texts, labels)`` takes raw lines (normalised here) and labels from
    :data:`~tutela.detect.exemplars.SOLICITING` or ``"none"``.
    """

    def __init__(
        self, C: float = 4.0, char_range: tuple[int, int] = (2, 5), calibration_folds: int = 5
    ) -> None:
        self.C = C
        self.char_range = char_range
        self.calibration_folds = calibration_folds

    def _vectorizers(self) -> tuple[TfidfVectorizer, TfidfVectorizer]:
        char = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=tuple(self.char_range),
            lowercase=False,
            sublinear_tf=True,
            min_df=2,
            dtype=np.float32,
        )
        word = TfidfVectorizer(
            analyzer="word",
            ngram_range=(1, 2),
            lowercase=False,
            sublinear_tf=True,
            token_pattern=r"(?u)\b\w+\b",
            dtype=np.float32,
        )
        return char, word

    def _features(self, skeletons: Sequence[str]) -> sparse.csr_matrix:
        return sparse.hstack(
            [self.char_.transform(skeletons), self.word_.transform(skeletons)], format="csr"
        )

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> LinearLineModel:
        skeletons = [normalize(t) for t in texts]
        y = np.asarray([training_label(x) for x in labels])
        if NONE not in set(y) or len(set(y)) < 2:
            raise InputError("the line model needs 'none' lines and soliciting lines")
        self.char_, self.word_ = self._vectorizers()
        self.char_.fit(skeletons)
        self.word_.fit(skeletons)
        X = self._features(skeletons)
        self.lr_ = LogisticRegression(C=self.C, max_iter=2000, class_weight="balanced")
        self.lr_.fit(X, y)
        self.classes_ = [str(c) for c in self.lr_.classes_]
        # Platt scaling of P(soliciting) on out-of-fold probabilities
        smallest = int(np.bincount(np.unique(y, return_inverse=True)[1]).min())
        folds = min(self.calibration_folds, smallest)
        if folds >= 2:
            oof = cross_val_predict(
                LogisticRegression(C=self.C, max_iter=2000, class_weight="balanced"),
                X,
                y,
                cv=StratifiedKFold(folds, shuffle=True, random_state=0),
                method="predict_proba",
            )
            none_col = self.classes_.index(NONE)
            z = _logit(1.0 - oof[:, none_col]).reshape(-1, 1)
            platt = LogisticRegression(C=1e4, max_iter=1000).fit(z, (y != NONE).astype(int))
            self.platt_ = (float(platt.coef_[0, 0]), float(platt.intercept_[0]))
        else:
            self.platt_ = (1.0, 0.0)
        return self

    def predict(self, texts: Sequence[str]) -> tuple[np.ndarray, list[str]]:
        """``(P(soliciting) per line, most likely soliciting label per line)``."""
        skeletons = [normalize(t) for t in texts]
        proba = self.lr_.predict_proba(self._features(skeletons))
        none_col = self.classes_.index(NONE)
        raw = 1.0 - proba[:, none_col]
        a, b = self.platt_
        p = _sigmoid(a * _logit(raw) + b)
        masked = proba.copy()
        masked[:, none_col] = -1.0
        labels = [self.classes_[int(i)] for i in masked.argmax(axis=1)]
        return p, labels


@dataclass
class ExemplarIndex:
    """Tier (b): nearest reviewed exemplars in a multilingual embedding space.

    Parameters
    ----------
    exemplars: the reviewed lines (default: every shipped language).
    encoder: the sentence encoder (default :class:`~tutela.detect.embedding.USEEncoder`).
    k: neighbours that vote. temperature: softmax temperature of the similarity weights.
    """

    exemplars: list[Exemplar] = field(default_factory=load_exemplars)
    encoder: SentenceEncoder = field(default_factory=USEEncoder)
    k: int = 7
    temperature: float = 0.05
    _vectors: np.ndarray | None = None
    _calibration: np.ndarray | None = None

    def __post_init__(self) -> None:
        if not self.exemplars:
            raise InputError("an exemplar index needs at least one exemplar")
        self._soliciting = np.asarray([e.soliciting for e in self.exemplars])

    @property
    def vectors(self) -> np.ndarray:
        if self._vectors is None:
            self._vectors = cached_embeddings(
                self.encoder, [normalize(e.text) for e in self.exemplars]
            )
        return self._vectors

    def _features(self, sims: np.ndarray, exclude_self: bool = False) -> np.ndarray:
        if exclude_self:
            np.fill_diagonal(sims, -1.0)
        k = min(self.k, sims.shape[1])
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        top_sims = np.take_along_axis(sims, top, axis=1)
        w = np.exp((top_sims - top_sims.max(axis=1, keepdims=True)) / self.temperature)
        share = (w * self._soliciting[top]).sum(axis=1) / w.sum(axis=1)
        pos = np.where(self._soliciting, sims, -1.0).max(axis=1)
        neg = np.where(~self._soliciting, sims, -1.0).max(axis=1)
        return np.column_stack([share, pos - neg])

    def _calibrate(self) -> np.ndarray:
        if self._calibration is None:
            v = self.vectors
            feats = self._features(v @ v.T, exclude_self=True)
            y = self._soliciting.astype(int)
            if len(set(y)) < 2:
                self._calibration = np.asarray([4.0, 4.0, -2.0])
            else:
                lr = LogisticRegression(C=10.0, max_iter=1000).fit(feats, y)
                self._calibration = np.concatenate([lr.coef_[0], lr.intercept_])
        return self._calibration

    def score(
        self, texts: Sequence[str], *, n_nearest: int = N_NEAREST
    ) -> list[tuple[float, list[Neighbour]]]:
        """Calibrated P(soliciting) and the nearest exemplars of each line."""
        if not texts:
            return []
        q = self.encoder.encode([normalize(t) for t in texts])
        sims = q @ self.vectors.T
        feats = self._features(sims.copy())
        c = self._calibrate()
        p = _sigmoid(feats @ c[:-1] + c[-1])
        out = []
        for i in range(len(texts)):
            order = np.argsort(-sims[i])[:n_nearest]
            out.append(
                (
                    float(p[i]),
                    [
                        Neighbour(
                            self.exemplars[j].id,
                            self.exemplars[j].label,
                            self.exemplars[j].text,
                            float(sims[i, j]),
                        )
                        for j in order
                    ],
                )
            )
        return out


class LineDetector:
    """Tier (c), the cascade (module docstring), or one tier alone with ``tier=``.

    Parameters
    ----------
    linear: a fitted :class:`LinearLineModel` (``None`` only with ``tier="embedding"``).
    index: the :class:`ExemplarIndex` (``None`` only with ``tier="linear"``).
    tier: ``"cascade"`` (default), ``"linear"`` or ``"embedding"``.
    gate: the cascade embeds a line when ``P_linear >= gate`` (default 0.1).
    """

    def __init__(
        self,
        linear: LinearLineModel | None,
        index: ExemplarIndex | None,
        *,
        tier: str = "cascade",
        gate: float = 0.1,
    ) -> None:
        if tier not in TIERS:
            raise InputError(f"unknown line-detector tier {tier!r}; choose one of {TIERS}")
        if tier != "embedding" and linear is None:
            raise InputError(f"tier {tier!r} needs the linear line model")
        if tier != "linear" and index is None:
            raise InputError(f"tier {tier!r} needs the exemplar index")
        self.linear = linear
        self.index = index
        self.tier = tier
        self.gate = gate

    def score(self, texts: Sequence[str]) -> list[LineScore]:
        """One :class:`LineScore` per line, in order."""
        texts = list(texts)
        if not texts:
            return []
        p_lin: np.ndarray | None = None
        lab_lin: list[str] = []
        if self.tier != "embedding":
            assert self.linear is not None
            p_lin, lab_lin = self.linear.predict(texts)
        if self.tier == "linear":
            embed_rows: list[int] = []
        elif self.tier == "embedding" or p_lin is None:
            embed_rows = list(range(len(texts)))
        else:
            embed_rows = [i for i in range(len(texts)) if p_lin[i] >= self.gate]
        embedded: dict[int, tuple[float, list[Neighbour]]] = {}
        if embed_rows:
            assert self.index is not None
            results = self.index.score([texts[i] for i in embed_rows])
            embedded = dict(zip(embed_rows, results, strict=True))
        out: list[LineScore] = []
        for i in range(len(texts)):
            lin = None if p_lin is None else float(p_lin[i])
            emb, nearest = embedded.get(i, (None, []))
            if lin is not None and emb is not None:
                p = (lin + emb) / 2
            else:
                p = lin if lin is not None else float(emb or 0.0)
            label = None
            labels: tuple[str, ...] = ()
            if p >= 0.5:
                votes: dict[str, float] = {}
                for n in nearest:
                    if n.label in SOLICITING:
                        votes[n.label] = votes.get(n.label, 0.0) + n.similarity
                if votes:
                    total = sum(votes.values())
                    ranked = sorted(votes, key=votes.__getitem__, reverse=True)
                    label = ranked[0]
                    labels = tuple(x for x in ranked if votes[x] >= LABEL_SHARE * total)
                elif lab_lin:
                    label = lab_lin[i]
                    labels = (label,)
            # a context only from a line whose nearest exemplar is itself a benign context
            ctx = nearest[0] if p < 0.5 and nearest and nearest[0].label in BENIGN else None
            out.append(
                LineScore(
                    p, label, ctx.label if ctx else None, lin, emb, tuple(nearest), labels,
                    ctx.similarity if ctx else 0.0,
                )
            )  # fmt: skip
        return out

    def score_line(self, text: str) -> LineScore:
        return self.score([text])[0]


def weak_line_labels(
    conversations: Iterable[Conversation], *, min_weight: float = 0.5, seed: int = 0
) -> tuple[list[str], list[str]]:
    """Weak line labels from labelled corpora, ``(texts, labels)``.

    * a line by a positive author (PJ offender, PAN12 predator) with a lexicon hit of a soliciting
      category (weight >= ``min_weight``) gets that category's label;
    * every line of a negative author (the PJ decoy side, authors of negative conversations)
      without such a hit gets ``"none"``;
    * a line by a positive author whose only lexicon hits are of :data:`GROOMING_ONLY` categories
      (an age probe, a compliment, a question about school) gets ``"none"``: grooming, but not a
      solicitation by itself;
    * other lines of positive authors are left out (unknown).

    Lexicon hits make the labels *weak*: the linear tier learns their context, and the held-out
    evaluation (live scenarios, exemplar folds) shows how far that generalises.
    """
    from tutela.detect.features import lexicon_for

    by_category = {c: label for label, c in SOLICITING.items() if c is not None}
    early = frozenset(GROOMING_ONLY)

    def grooming_only(m: Message) -> bool:
        other = lex.hits(m.text, line=m.line, author=m.author)
        return bool(other) and all(h.category in early for h in other)

    texts: list[str] = []
    labels: list[str] = []
    for conv in conversations:
        lex = lexicon_for(conv.lang)
        for m in conv.messages:
            positive = conv.author_labels.get(m.author, conv.label or 0)
            hits = [
                h
                for h in lex.hits(m.text, line=m.line, author=m.author)
                if h.category in by_category and h.weight >= min_weight
            ]
            if len(m.text) > 300:
                continue
            if positive and hits:
                best = max(hits, key=lambda h: h.weight)
                texts.append(m.text)
                labels.append(by_category[best.category])
            elif positive and grooming_only(m):
                texts.append(m.text)  # an age probe, flattery... is grooming, not solicitation
                labels.append(NONE)
            elif not positive and not hits:
                texts.append(m.text)
                labels.append(NONE)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(texts))
    return [texts[i] for i in order], [labels[i] for i in order]


# -- persistence -----------------------------------------------------------------------------------

LINE_MODEL = "lines.skops"
#: Types a line-model file may contain beyond skops' own defaults.
LINE_TRUSTED_TYPES: tuple[str, ...] = (
    "tutela.detect.lines.LinearLineModel",
    "numpy.dtype",
    "builtins.float",
    "builtins.int",
)


def default_line_model_path() -> Path:
    """The shipped linear tier: ``tutela/detect/models/lines.skops``."""
    return Path(str(resources.files("tutela.detect") / "models" / LINE_MODEL))


def save_line_model(
    model: LinearLineModel, path: str | Path | None = None, *, provenance: dict | None = None
) -> Path:
    """Write the linear tier with skops (atomic) and, when given, ``*.provenance.json`` beside
    it. Default path: the shipped model's."""
    import skops.io as sio

    target = Path(path) if path is not None else default_line_model_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    os.close(fd)
    try:
        sio.dump(model, tmp, compression=zipfile.ZIP_DEFLATED)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    if provenance is not None:
        target.with_suffix(".provenance.json").write_text(
            json.dumps(provenance, indent=2) + "\n", "utf-8"
        )
    return target


def load_line_model(path: str | Path | None = None) -> LinearLineModel:
    """Read a linear tier written by :func:`save_line_model` (default: the shipped one).

    Raises ``ModelError`` for a missing or unreadable file or an untrusted type inside it.
    """
    import skops.io as sio

    target = Path(path) if path is not None else default_line_model_path()
    try:
        untrusted = [t for t in sio.get_untrusted_types(file=target) if t not in LINE_TRUSTED_TYPES]
        if untrusted:
            raise ModelError(f"{target}: untrusted types in line model: {', '.join(untrusted)}")
        model = sio.load(target, trusted=list(sio.get_untrusted_types(file=target)))
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, TypeError) as e:
        raise ModelError(f"{target}: cannot load line model: {e}") from e
    if not isinstance(model, LinearLineModel):
        raise ModelError(f"{target}: not a line model")
    return model


@cache
def _shipped_components() -> tuple[LinearLineModel, ExemplarIndex]:
    return load_line_model(), ExemplarIndex()


def default_line_detector(tier: str = "cascade", gate: float = 0.1) -> LineDetector:
    """The shipped detector (shipped linear tier + shipped exemplars); the model, the exemplar
    index and the sentence encoder are loaded once per process and shared by every detector."""
    linear, index = _shipped_components()
    return LineDetector(linear, index, tier=tier, gate=gate)
