"""Evaluation tasks behind ``tutela evaluate``.

* ``segments`` — one prediction per labelled conversation/segment (PAN12-style segment
  classification, VTPAN segments): precision, recall, F1, F0.5, ROC-AUC.
* ``authors`` — one prediction per author (PAN12 problem 1): truth from a PAN12 ground-truth file or
  from per-author labels in the JSONL (PJ: offender 1, decoy 0).
* ``early`` — eSPD (Vogt et al. 2021): messages are fed one at a time to the incremental scorer; a
  conversation is predicted positive when the warning rule fires, at message ``k``; speed and
  ``F_latency`` follow Vogt et al. (2021): penalty(k) = -1 + 2 / (1 + exp(-p (k - 1))),
  p = ln 3 / 89; speed = 1 - median penalty; F_latency = F1 * speed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from tutela.detect.analyze import analyze, ensure_language
from tutela.detect.config import LineEvidenceConfig
from tutela.detect.incremental import IncrementalScorer, ScoringTables, WarningRule
from tutela.detect.model import GroomingClassifier, document_from_conversation, prepare
from tutela.domain import Conversation
from tutela.errors import InputError
from tutela.metrics import binary_metrics, early_metrics

__all__ = ["TASKS", "evaluate"]

TASKS = ("segments", "authors", "early")


def _labelled(conversations: Iterable[Conversation], source: str) -> Iterable[Conversation]:
    any_seen = False
    for conv in conversations:
        any_seen = True
        if conv.label is None:
            raise InputError(
                f"conversation {conv.id!r} has no label; this task needs labelled data "
                "(a 'label' field, or a PAN12 ground-truth file via --truth)",
                path=source,
            )
        yield conv
    if not any_seen:
        raise InputError("no conversations to evaluate", path=source)


def evaluate(
    conversations: Iterable[Conversation],
    model: GroomingClassifier,
    *,
    task: str,
    predators: set[str] | None = None,
    rule: WarningRule | None = None,
    source: str = "<input>",
    progress: Callable[[int], None] | None = None,
    lines: LineEvidenceConfig | None = None,
) -> dict:
    """Run one evaluation task and return its metrics as a JSON-ready dict.

    Parameters
    ----------
    conversations: from :func:`tutela.ingest.read_corpus`.
    task: one of :data:`TASKS`.
    predators: author ids that are positive (PAN12 problem 1 truth); when given, a conversation's
        label is 1 iff one of its authors is a predator, and author labels come from this set.
        Ids that match no author of the corpus are reported, not dropped: the result carries
        ``truth_ids_unmatched`` (their number) and ``truth_ids_unmatched_sample`` (up to 10).
    rule: warning rule for ``early`` (default: :class:`WarningRule` defaults).
    lines: evidence-line settings for ``segments`` and ``authors`` (as :func:`analyze`; default the
        detection config's defaults; ``enabled=False`` scores the classifier alone).

    Raises
    ------
    InputError: unknown task, unlabelled data, or flattened segments for ``early``.
    """
    if task not in TASKS:
        raise InputError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")

    matched: set[str] = set()

    def labelled_from_truth(convs: Iterable[Conversation]) -> Iterable[Conversation]:
        for c in convs:
            if predators is not None:
                c.label = int(any(a in predators for a in c.authors))
                c.author_labels = {a: int(a in predators) for a in c.authors}
                matched.update(a for a in c.authors if a in predators)
            yield c

    convs = labelled_from_truth(conversations)
    if task == "authors":
        result = _authors(convs, model, source=source, progress=progress, lines=lines)
    else:
        convs = _labelled(convs, source)
        if task == "segments":
            if lines is None or lines.enabled:
                result = _segments_analyzed(convs, model, progress=progress, lines=lines)
            else:
                result = _segments(convs, model, progress=progress)
        else:
            result = _early(convs, model, rule or WarningRule(), source=source, progress=progress)
    if predators is not None:
        unmatched = sorted(predators - matched)
        result["truth_ids_unmatched"] = len(unmatched)
        result["truth_ids_unmatched_sample"] = unmatched[:10]
    return result


def _segments(convs, model, *, progress) -> dict:
    y_true: list[int] = []
    scores: list[float] = []
    batch: list = []

    def flush() -> None:
        if batch:
            scores.extend(float(p) for p in model.predict_proba(batch)[:, 1])
            batch.clear()

    for conv in convs:
        ensure_language(conv)
        y_true.append(int(conv.label))
        batch.append(prepare(document_from_conversation(conv)))
        if progress is not None:
            progress(len(conv.messages))
        if len(batch) >= 256:
            flush()
    flush()
    y_pred = [int(s >= model.threshold_) for s in scores]
    return {"task": "segments", **binary_metrics(y_true, y_pred, scores)}


def _segments_analyzed(convs, model, *, progress, lines) -> dict:
    result = analyze(convs, model, progress=progress, lines=lines)
    scored = [c for c in result.conversations if c.assessed]
    y_true = [int(c.truth or 0) for c in scored]
    y_pred = [int(c.label) for c in scored]
    scores = [c.risk for c in scored]
    return {"task": "segments", **binary_metrics(y_true, y_pred, scores)}


def _authors(convs, model, *, source: str, progress, lines=None) -> dict:
    author_truth: dict[str, int] = {}

    def collect(cs: Iterable[Conversation]) -> Iterable[Conversation]:
        for c in cs:
            for a, lab in c.author_labels.items():
                author_truth[a] = max(author_truth.get(a, 0), int(lab))
            yield c

    result = analyze(collect(convs), model, progress=progress, lines=lines)
    if not author_truth:
        raise InputError(
            "no author labels: give a PAN12 problem-1 file with --truth, or per-author labels",
            path=source,
        )
    scored = [a for a in result.authors if a.id in author_truth and a.assessed]
    y_true = [author_truth[a.id] for a in scored]
    y_pred = [int(a.label) for a in scored]
    scores = [a.risk for a in scored]
    return {"task": "authors", **binary_metrics(y_true, y_pred, scores)}


def _early(convs, model, rule: WarningRule, *, source: str, progress) -> dict:
    tables = ScoringTables(model)
    y_true: list[int] = []
    warn_at: list[int | None] = []
    peaks: list[float] = []  # highest risk reached; ranks chats for ROC-AUC
    for conv in convs:
        if conv.flattened:
            raise InputError(
                f"conversation {conv.id!r} has no message boundaries (flattened text); "
                "early detection needs messages one at a time",
                path=source,
            )
        ensure_language(conv)
        scorer = IncrementalScorer(tables, subject=conv.id, lang=conv.lang, rule=rule)
        peak = 0.0
        for msg in conv.messages:
            scorer.update(msg)
            peak = max(peak, scorer.risk)
        y_true.append(int(conv.label))
        warn_at.append(scorer.warned_at)
        peaks.append(peak)
        if progress is not None:
            progress(len(conv.messages))
    auc = binary_metrics(y_true, [int(k is not None) for k in warn_at], peaks)["roc_auc"]
    return {"task": "early", **early_metrics(y_true, warn_at), "roc_auc": auc}
