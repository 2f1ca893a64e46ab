"""Metrics against hand-computed values and against scikit-learn."""

from __future__ import annotations

import math
import random

import pytest
from sklearn.metrics import (
    confusion_matrix,
    f1_score,
    fbeta_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from tutela.errors import InputError
from tutela.metrics import (
    DEFAULT_LATENCY_P,
    binary_metrics,
    early_metrics,
    f_beta,
    latency_penalty,
    roc_auc,
)


def test_binary_metrics_by_hand():
    y_true = [1, 1, 1, 0, 0, 0, 0, 1]
    y_pred = [1, 1, 0, 1, 0, 0, 0, 0]
    m = binary_metrics(y_true, y_pred)
    assert (m["n"], m["tp"], m["fp"], m["fn"], m["tn"]) == (8, 2, 1, 2, 3)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(1 / 2)
    assert m["f1"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))  # 4/7
    # F0.5 = 1.25 P R / (0.25 P + R) = 1.25 * 1/3 / (1/6 + 1/2) = 0.625
    assert m["f05"] == pytest.approx(0.625)
    assert m["roc_auc"] is None


def test_zero_division_gives_zero():
    m = binary_metrics([0, 0, 1], [0, 0, 0])
    assert (m["precision"], m["recall"], m["f1"], m["f05"]) == (0.0, 0.0, 0.0, 0.0)
    m = binary_metrics([], [])
    assert m["n"] == 0 and m["f1"] == 0.0
    assert f_beta(0.0, 0.0) == 0.0


def test_roc_auc_by_hand_with_ties():
    # positives 0.8, 0.4; negatives 0.4, 0.1: pairs (0.8>0.4, 0.8>0.1, 0.4=0.4, 0.4>0.1) = 3.5/4
    assert roc_auc([1, 1, 0, 0], [0.8, 0.4, 0.4, 0.1]) == pytest.approx(0.875)
    assert roc_auc([1, 0], [0.1, 0.9]) == 0.0
    assert roc_auc([1, 1], [0.1, 0.9]) is None
    m = binary_metrics([1, 1, 0, 0], [1, 0, 0, 0], scores=[0.8, 0.4, 0.4, 0.1])
    assert m["roc_auc"] == pytest.approx(0.875)
    assert binary_metrics([0, 0], [0, 1], scores=[0.2, 0.3])["roc_auc"] is None


@pytest.mark.parametrize("seed", range(5))
def test_binary_metrics_match_sklearn(seed):
    rng = random.Random(seed)
    n = 200
    y_true = [rng.random() < 0.3 for _ in range(n)]
    y_true = [int(v) for v in y_true]
    scores = [round(rng.random() + 0.4 * t, 1) for t in y_true]  # rounding makes ties
    y_pred = [int(s >= 0.7) for s in scores]
    m = binary_metrics(y_true, y_pred, scores)
    tn, fp, fn, tp = confusion_matrix(y_true, y_pred, labels=[0, 1]).ravel()
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (tp, fp, fn, tn)
    assert m["precision"] == pytest.approx(precision_score(y_true, y_pred, zero_division=0))
    assert m["recall"] == pytest.approx(recall_score(y_true, y_pred, zero_division=0))
    assert m["f1"] == pytest.approx(f1_score(y_true, y_pred, zero_division=0))
    assert m["f05"] == pytest.approx(fbeta_score(y_true, y_pred, beta=0.5, zero_division=0))
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y_true, scores))


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (([1, 0], [1]), "y_pred has 1"),
        (([1, 2], [1, 0]), "y_true[1] must be 0 or 1"),
        (([1, 0], [1, -1]), "y_pred[1] must be 0 or 1"),
        (([1, 0], [1, 0], [0.5]), "scores has 1"),
        (([1, 0], [1, 0], [0.5, math.nan]), "NaN"),
    ],
)
def test_binary_metrics_errors(args, needle):
    with pytest.raises(InputError, match=needle.replace("[", r"\[").replace("]", r"\]")):
        binary_metrics(*args)


def test_latency_penalty_values():
    assert math.isclose(DEFAULT_LATENCY_P, math.log(3) / 89)
    assert latency_penalty(1) == 0.0
    assert latency_penalty(90) == pytest.approx(0.5)
    # by hand: k = 10 -> -1 + 2 / (1 + 3 ** (-9 / 89))
    assert latency_penalty(10) == pytest.approx(-1 + 2 / (1 + 3 ** (-9 / 89)))
    assert latency_penalty(10_000) == pytest.approx(1.0, abs=1e-12)
    assert latency_penalty(2, p=1.0) == pytest.approx(-1 + 2 / (1 + math.exp(-1)))
    ks = [1, 2, 5, 50, 90, 500]
    values = [latency_penalty(k) for k in ks]
    assert values == sorted(values) and len(set(values)) == len(values)


@pytest.mark.parametrize(("k", "p"), [(0, DEFAULT_LATENCY_P), (-3, DEFAULT_LATENCY_P), (5, 0.0)])
def test_latency_penalty_errors(k, p):
    with pytest.raises(InputError):
        latency_penalty(k, p)


def test_early_metrics_by_hand():
    # chats: TP warned at 1, TP at 90, TP at 179, FN, FP at 3, TN
    y_true = [1, 1, 1, 1, 0, 0]
    warn_at = [1, 90, 179, None, 3, None]
    m = early_metrics(y_true, warn_at)
    assert (m["n"], m["tp"], m["fp"], m["fn"], m["tn"]) == (6, 3, 1, 1, 1)
    assert m["precision"] == pytest.approx(3 / 4)
    assert m["recall"] == pytest.approx(3 / 4)
    assert m["f1"] == pytest.approx(3 / 4)
    assert m["f05"] == pytest.approx(3 / 4)
    # penalties 0, 0.5, 0.8 (k=179: -1 + 2/(1 + 1/9) = 0.8); median 0.5 -> speed 0.5
    assert latency_penalty(179) == pytest.approx(0.8)
    assert m["speed"] == pytest.approx(0.5)
    assert m["f_latency"] == pytest.approx(0.375)
    assert m["median_warning_message"] == 90


def test_early_metrics_even_number_of_true_positives_averages_penalties():
    m = early_metrics([1, 1], [1, 179])
    assert m["speed"] == pytest.approx(1 - (0.0 + 0.8) / 2)
    assert m["median_warning_message"] == 90
    assert m["f_latency"] == pytest.approx(0.6)


def test_early_metrics_without_true_positives():
    m = early_metrics([1, 0, 0], [None, 5, None])
    assert m["tp"] == 0 and m["fp"] == 1
    assert (m["speed"], m["f_latency"], m["median_warning_message"]) == (0.0, 0.0, None)
    assert m["f1"] == 0.0


def test_early_metrics_agrees_with_binary_metrics_on_warned():
    rng = random.Random(7)
    y_true = [rng.randint(0, 1) for _ in range(100)]
    warn_at = [rng.choice([None, rng.randint(1, 300)]) for _ in range(100)]
    early = early_metrics(y_true, warn_at)
    binary = binary_metrics(y_true, [int(k is not None) for k in warn_at])
    for key in ("n", "tp", "fp", "fn", "tn", "precision", "recall", "f1", "f05"):
        assert early[key] == binary[key]


@pytest.mark.parametrize(
    ("y_true", "warn_at", "needle"),
    [
        ([1], [1, 2], "warn_at has 2"),
        ([1], [0], "warn_at"),
        ([1], [1.5], "warn_at"),
        ([1], [True], "warn_at"),
    ],
)
def test_early_metrics_errors(y_true, warn_at, needle):
    with pytest.raises(InputError, match=needle):
        early_metrics(y_true, warn_at)
