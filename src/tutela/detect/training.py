"""Training data assembly, grouped cross-validation and provenance for ``tutela train``.

Documents and labels:

* a conversation whose authors carry labels (PJ: offender 1, decoy 0; PAN12 XML with its
  predators/problem-1 file: predators 1, everyone else 0; generic JSONL with ``author_label``)
  gives one document **per author** — the author's lines, labelled by the author (PAN12 problem 1).
  This is also what the live path scores: the contact's lines only;
* any other labelled conversation (VTPAN segments, generic JSONL with ``label``) gives one
  document for the whole conversation, labelled by the conversation.

Cross-validation is *grouped*: a segment and its translations (same numeric suffix in
``id``/``pair``, e.g. ``en-0002``, ``x-0002``) and all chats of one PJ offender stay in the same
fold, so no fold is scored on a translation or a sibling of its own training data.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from tutela.detect.analyze import ensure_language
from tutela.detect.model import (
    GroomingClassifier,
    PreparedDocument,
    document_from_conversation,
    prepare,
)
from tutela.domain import Conversation
from tutela.errors import InputError
from tutela.ingest import find_pan12_truth, read_corpus, read_pan12_predators
from tutela.metrics import binary_metrics

__all__ = ["TrainingSet", "cross_validate", "git_commit", "group_key", "load_training_set"]

_SUFFIX = re.compile(r"^[A-Za-z]{1,3}-(\d+)$")


def group_key(conv: Conversation) -> str:
    """Cross-validation group of a conversation (see module docstring)."""
    m = _SUFFIX.match(conv.id)
    if m:
        return f"seg-{m.group(1)}"
    positives = [a for a, lab in conv.author_labels.items() if lab]
    if len(positives) == 1 and conv.id.startswith(positives[0]):
        return f"offender-{positives[0]}"
    return conv.id


@dataclass(slots=True)
class TrainingSet:
    """Prepared documents, labels, CV groups, languages and the files they came from."""

    docs: list[PreparedDocument]
    labels: np.ndarray
    groups: np.ndarray
    langs: list[str | None]
    files: list[str]
    sources: list[str]  # per document: the file stem it came from


def _conversations_with_labels(path: Path) -> Iterable[Conversation]:
    convs = read_corpus(path)
    if path.suffix.lower() == ".xml":
        predators_file, _ = find_pan12_truth(path)
        if predators_file is None:
            raise InputError(
                "PAN12 XML needs its predators/problem-1 file beside it", path=str(path)
            )
        predators = read_pan12_predators(predators_file)
        for c in convs:
            c.label = int(any(a in predators for a in c.authors))
            c.author_labels = {a: int(a in predators) for a in c.authors}
            yield c
        return
    yield from convs


def load_training_set(
    paths: Sequence[str | Path], *, progress: Callable[[int], None] | None = None
) -> TrainingSet:
    """Read, label and prepare (normalise + indicators) every conversation of ``paths``."""
    docs: list[PreparedDocument] = []
    labels: list[int] = []
    groups: list[str] = []
    langs: list[str | None] = []
    sources: list[str] = []
    for p in paths:
        path = Path(p)
        stem = path.name.split(".")[0] if path.suffix != ".xml" else "pan12"
        stem = f"{path.parent.name}/{stem}"
        for conv in _conversations_with_labels(path):
            ensure_language(conv)
            if conv.author_labels:
                units = [
                    (document_from_conversation(conv, author=a), lab)
                    for a, lab in conv.author_labels.items()
                    if any(m.author == a for m in conv.messages)
                ]
            elif conv.label is not None:
                units = [(document_from_conversation(conv), conv.label)]
            else:
                raise InputError(f"conversation {conv.id!r} has no label", path=str(path))
            for doc, lab in units:
                docs.append(prepare(doc))
                labels.append(int(lab))
                groups.append(group_key(conv))
                langs.append(conv.lang)
                sources.append(stem)
            if progress is not None:
                progress(len(conv.messages))
    if len(set(labels)) < 2:
        raise InputError("training needs both positive and negative documents")
    return TrainingSet(
        docs, np.asarray(labels), np.asarray(groups), langs, [str(p) for p in paths], sources
    )


def cross_validate(
    ts: TrainingSet,
    make_model: Callable[[], GroomingClassifier],
    *,
    folds: int = 5,
    seed: int = 0,
    min_language_docs: int = 50,
) -> dict:
    """Grouped, stratified k-fold CV; metrics overall and per language, mean ± std over folds.

    Languages with fewer than ``min_language_docs`` documents are reported together as "other".
    """
    counts: dict[str, int] = {}
    for lang in ts.langs:
        counts[lang or "und"] = counts.get(lang or "und", 0) + 1

    def lang_of(i: int) -> str:  # languages with few documents are pooled as "other"
        code = ts.langs[i] or "und"
        return code if counts[code] >= min_language_docs else "other"

    cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    per_fold: list[dict] = []
    by_lang: dict[str, list[dict]] = {}
    by_source: dict[str, list[dict]] = {}
    for train_idx, test_idx in cv.split(np.zeros(len(ts.labels)), ts.labels, ts.groups):
        model = make_model().fit(
            [ts.docs[i] for i in train_idx], ts.labels[train_idx], groups=ts.groups[train_idx]
        )
        scores = model.predict_proba([ts.docs[i] for i in test_idx])[:, 1]
        y = ts.labels[test_idx]
        pred = (scores >= model.threshold_).astype(int)
        per_fold.append(binary_metrics(y.tolist(), pred.tolist(), scores.tolist()))
        for key_of, table in ((lang_of, by_lang), (lambda i: ts.sources[i], by_source)):
            for key in sorted({key_of(i) for i in test_idx}):
                sel = [j for j, i in enumerate(test_idx) if key_of(i) == key]
                table.setdefault(key, []).append(
                    binary_metrics(y[sel].tolist(), pred[sel].tolist(), scores[sel].tolist())
                )
    return {
        "folds": folds,
        "overall": _summary(per_fold),
        "by_language": {lang: _summary(ms) for lang, ms in by_lang.items()},
        "by_source": {src: _summary(ms) for src, ms in by_source.items()},
    }


def _summary(metrics: list[dict]) -> dict:
    out: dict = {}
    for key in ("precision", "recall", "f1", "f05", "roc_auc"):
        vals = [m[key] for m in metrics if m.get(key) is not None]
        if vals:
            out[key] = {"mean": float(np.mean(vals)), "std": float(np.std(vals))}
    return out


def git_commit(cwd: Path | None = None) -> str | None:
    """The current git commit of the source tree, or ``None`` outside a checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
