"""``tutela evaluate`` on every labelled file of ../shared/data (skips cleanly when absent).

These assert that each file evaluates end to end and that the shipped model is far better than
chance; they are not the quality benchmark (benchmarks/bench_quality.py cross-validates).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]


def evaluate(*args: str) -> dict:
    r = subprocess.run(
        [sys.executable, "-m", "tutela", "evaluate", *args, "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.mark.parametrize("lang", ["en", "nl", "de"])
def test_segments(shared_data, lang: str) -> None:
    m = evaluate(str(shared_data / "segments" / f"{lang}.dev.jsonl"), "--task", "segments")
    assert m["task"] == "segments" and m["n"] > 700
    assert m["roc_auc"] > 0.9 and m["f1"] > 0.8


@pytest.mark.parametrize("lang", ["nl", "de"])
def test_early(shared_data, lang: str) -> None:
    m = evaluate(str(shared_data / "segments" / f"{lang}.dev.jsonl"), "--task", "early")
    assert {"speed", "f_latency", "median_warning_message"} <= m.keys()
    assert 0.0 < m["speed"] <= 1.0 and m["f_latency"] > 0.5


def test_pan12_authors_with_found_truth(shared_data) -> None:
    xml = next((shared_data / "pan12-toy" / "test").glob("*.xml"))
    m = evaluate(str(xml), "--task", "authors")
    assert m["task"] == "authors" and m["tp"] + m["fn"] == 5  # the five predators of the toy test
    assert m["roc_auc"] > 0.5  # better than chance on 22 authors; see the benchmark for figures


def test_pj_authors_offender_vs_decoy(shared_data) -> None:
    m = evaluate(str(shared_data / "pj" / "dev.jsonl"), "--task", "authors")
    assert m["n"] == 17  # 16 offenders and the decoy side
    assert m["roc_auc"] is not None


def test_analyze_pan12_prints_ranked_table(shared_data) -> None:
    xml = next((shared_data / "pan12-toy" / "test").glob("*.xml"))
    r = subprocess.run(
        [sys.executable, "-m", "tutela", "analyze", str(xml)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    assert "Authors by risk" in r.stdout and "RISK" in r.stdout
