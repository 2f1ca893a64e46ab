"""Evaluation metrics: binary classification and early detection (eSPD).

Pure functions over plain sequences; no state, no I/O.

Sources
-------
- Precision, recall, F-beta: van Rijsbergen (1979), *Information Retrieval*, ch. 7; PAN12 reports
  F1 and F0.5 (Inches & Crestani 2012, "Overview of the International Sexual Predator
  Identification Competition at PAN-2012", CLEF).
- ROC-AUC as the Mann-Whitney U statistic with ties counted one half: Hanley & McNeil (1982),
  "The meaning and use of the area under a receiver operating characteristic (ROC) curve",
  Radiology 143(1). Equal to ``sklearn.metrics.roc_auc_score``.
- Early detection: Vogt, Leser & Akbik (2021), "Early Detection of Sexual Predators in Chats",
  ACL-IJCNLP, section 3 (eSPD evaluation): latency penalty, speed and F_latency, which they take
  from Sadeque, Xu & Bethard (2018), "Measuring the Latency of Depression Detection in Social
  Media", WSDM.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from tutela.errors import InputError

__all__ = [
    "DEFAULT_LATENCY_P",
    "binary_metrics",
    "early_metrics",
    "f_beta",
    "latency_penalty",
    "roc_auc",
]

#: eSPD penalty steepness: ``penalty(90) == 0.5`` (Vogt et al. 2021, following Sadeque et al.).
DEFAULT_LATENCY_P = math.log(3) / 89


def _check_labels(values: Sequence[int], name: str) -> None:
    for i, v in enumerate(values):
        if v not in (0, 1):
            raise InputError(f"{name}[{i}] must be 0 or 1, got {v!r}")


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


def f_beta(precision: float, recall: float, beta: float = 1.0) -> float:
    """F-beta = (1 + b^2) P R / (b^2 P + R); 0.0 when P = R = 0 (van Rijsbergen 1979)."""
    b2 = beta * beta
    return _ratio((1 + b2) * precision * recall, b2 * precision + recall)


def roc_auc(y_true: Sequence[int], scores: Sequence[float]) -> float | None:
    """Area under the ROC curve, or ``None`` when ``y_true`` holds only one class.

    Computed as P(score of a random positive > score of a random negative) + 0.5 P(equal), via
    average ranks (Hanley & McNeil 1982); O(n log n).

    Raises
    ------
    InputError
        Different lengths, labels other than 0/1, or a NaN score.
    """
    if len(y_true) != len(scores):
        raise InputError(f"y_true has {len(y_true)} items but scores has {len(scores)}")
    _check_labels(y_true, "y_true")
    n_pos = sum(1 for y in y_true if y == 1)
    n_neg = len(y_true) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    values = [float(s) for s in scores]
    if any(math.isnan(s) for s in values):
        raise InputError("scores contain NaN")
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        average = (i + j) / 2 + 1  # 1-based average rank of the tie block
        for k in range(i, j + 1):
            ranks[order[k]] = average
        i = j + 1
    rank_sum = sum(r for r, y in zip(ranks, y_true, strict=True) if y == 1)
    u = rank_sum - n_pos * (n_pos + 1) / 2
    return u / (n_pos * n_neg)


def binary_metrics(
    y_true: Sequence[int],
    y_pred: Sequence[int],
    scores: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Confusion counts and scores of a binary prediction.

    Parameters
    ----------
    y_true, y_pred:
        0/1 labels, same length. Positive class is 1.
    scores:
        Optional real-valued scores (higher = more positive) for ROC-AUC.

    Returns
    -------
    dict
        ``n, tp, fp, fn, tn`` (int); ``precision, recall, f1, f05`` (float, 0.0 on zero
        division); ``roc_auc`` (float, or ``None`` without scores or with one class only).

    Raises
    ------
    InputError
        Different lengths or labels other than 0/1.
    """
    if len(y_true) != len(y_pred):
        raise InputError(f"y_true has {len(y_true)} items but y_pred has {len(y_pred)}")
    _check_labels(y_true, "y_true")
    _check_labels(y_pred, "y_pred")
    tp = fp = fn = tn = 0
    for t, p in zip(y_true, y_pred, strict=True):
        if p == 1:
            if t == 1:
                tp += 1
            else:
                fp += 1
        elif t == 1:
            fn += 1
        else:
            tn += 1
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    return {
        "n": len(y_true),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": precision,
        "recall": recall,
        "f1": f_beta(precision, recall, 1.0),
        "f05": f_beta(precision, recall, 0.5),
        "roc_auc": roc_auc(y_true, scores) if scores is not None else None,
    }


def latency_penalty(k: int, p: float = DEFAULT_LATENCY_P) -> float:
    """eSPD latency penalty of a warning raised after message ``k`` (1-based).

    ``penalty(k) = -1 + 2 / (1 + exp(-p (k - 1)))``: 0 at k = 1, rising towards 1; with the default
    ``p = ln(3) / 89`` the penalty is 0.5 at k = 90 (Vogt et al. 2021, sec. 3; Sadeque et al. 2018).

    Raises
    ------
    InputError
        ``k`` below 1 or ``p`` not positive.
    """
    if k < 1:
        raise InputError(f"k must be a 1-based message index (>= 1), got {k}")
    if not p > 0:
        raise InputError(f"p must be positive, got {p}")
    return -1.0 + 2.0 / (1.0 + math.exp(-p * (k - 1)))


def early_metrics(
    y_true: Sequence[int],
    warn_at: Sequence[int | None],
    *,
    p: float = DEFAULT_LATENCY_P,
) -> dict[str, Any]:
    """eSPD early-detection scores (Vogt, Leser & Akbik 2021, sec. 3).

    Parameters
    ----------
    y_true:
        0/1 label per chat.
    warn_at:
        Per chat, the 1-based index of the message after which the first warning was raised, or
        ``None`` when no warning was raised. A chat is predicted positive iff it was warned.
    p:
        Penalty steepness (see :func:`latency_penalty`).

    Returns
    -------
    dict
        ``n, tp, fp, fn, tn``; ``precision, recall, f1, f05``; ``speed`` = 1 - median penalty over
        true-positive warnings (0.0 when there is none); ``f_latency`` = ``f1 * speed``;
        ``median_warning_message`` = median ``k`` over true positives (``None`` when none).

    Raises
    ------
    InputError
        Different lengths, labels other than 0/1, or a warning index below 1.
    """
    if len(y_true) != len(warn_at):
        raise InputError(f"y_true has {len(y_true)} items but warn_at has {len(warn_at)}")
    for i, k in enumerate(warn_at):
        if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
            raise InputError(f"warn_at[{i}] must be a 1-based message index or None, got {k!r}")
    y_pred = [0 if k is None else 1 for k in warn_at]
    counts = binary_metrics(y_true, y_pred)
    tp_ks = [k for t, k in zip(y_true, warn_at, strict=True) if t == 1 and k is not None]
    if tp_ks:
        speed = 1.0 - statistics.median(latency_penalty(k, p) for k in tp_ks)
        median_k: float | None = statistics.median(tp_ks)
    else:
        speed, median_k = 0.0, None
    return {
        "n": counts["n"],
        "tp": counts["tp"],
        "fp": counts["fp"],
        "fn": counts["fn"],
        "tn": counts["tn"],
        "precision": counts["precision"],
        "recall": counts["recall"],
        "f1": counts["f1"],
        "f05": counts["f05"],
        "speed": speed,
        "f_latency": counts["f1"] * speed,
        "median_warning_message": median_k,
    }
