"""``tutela analyze / evaluate / train`` end to end through the console entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "chats.jsonl"


def tutela(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tutela", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def test_analyze_prints_ranked_table() -> None:
    r = tutela("analyze", str(EXAMPLE))
    assert r.returncode == 0, r.stderr
    assert "Authors by risk" in r.stdout
    # the three synthetic groomers outrank every benign author
    order = [a for a in ("mark_44", "tom_r", "paul_67", "jay_k", "zoe_plays") if a in r.stdout]
    assert set(order[:3]) == {"mark_44", "tom_r", "paul_67"}


def test_analyze_json_contract(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    r = tutela("analyze", str(EXAMPLE), "--json", "--out", str(out))
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert json.loads(out.read_text()) == data
    assert {"authors", "conversations"} <= data.keys()
    risks = [a["risk"] for a in data["authors"]]
    assert risks == sorted(risks, reverse=True)
    top = data["authors"][0]
    assert {"id", "risk", "label", "indicators", "lines"} <= top.keys()
    assert top["id"] in {"mark_44", "tom_r", "paul_67"}
    assert top["indicators"] and {"id", "category", "line"} <= top["indicators"][0].keys()
    assert all(0.0 <= a["risk"] <= 1.0 for a in data["authors"])


@pytest.mark.parametrize("task", ["segments", "authors", "early"])
def test_evaluate_json_keys(task: str) -> None:
    r = tutela("evaluate", str(EXAMPLE), "--task", task, "--json")
    assert r.returncode == 0, r.stderr
    m = json.loads(r.stdout)
    assert {"task", "n", "precision", "recall", "f1", "f05", "roc_auc"} <= m.keys()
    assert m["task"] == task
    if task == "early":
        assert {"speed", "f_latency", "median_warning_message"} <= m.keys()
    if task == "authors":
        assert m["n"] == 12  # every author of the example is scored


def test_evaluate_unknown_task_is_a_clear_error() -> None:
    r = tutela("evaluate", str(EXAMPLE), "--task", "nope")
    assert r.returncode == 2
    assert "unknown task" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", "empty"),
        (b'{"conversation": "c", "author": "a"\n', "bad.jsonl:1: malformed json"),
        (b"<conversations><conversation id='x'><message line='1'>", "xml"),
        (b'{"conversation": "c", "author": "a", "time": "1", "text": "caf\xe9"}\n', "utf-8"),
    ],
)
def test_bad_input_gives_clear_error_and_no_output(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    bad = tmp_path / ("bad.xml" if content.startswith(b"<") else "bad.jsonl")
    bad.write_bytes(content)
    out = tmp_path / "out.json"
    r = tutela("analyze", str(bad), "--out", str(out))
    assert r.returncode == 2
    assert r.stderr.startswith("error:") and "Traceback" not in r.stderr
    assert expected.lower() in r.stderr.lower()
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [bad]  # nothing half-written


def test_train_writes_model_and_provenance_then_evaluate_uses_it(tmp_path: Path) -> None:
    model = tmp_path / "m.skops"
    r = tutela("train", str(EXAMPLE), "--out", str(model), "--folds", "0", "--json")
    assert r.returncode == 0, r.stderr
    prov = json.loads((tmp_path / "m.provenance.json").read_text())
    # per-author documents: every author of the example carries an author_label
    assert prov["data_files"] == [str(EXAMPLE)] and prov["documents"] == 12
    assert prov["command"].startswith("tutela train")
    r = tutela("evaluate", str(EXAMPLE), "--model", str(model), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["f1"] == 1.0  # a model scores its own training data perfectly


def test_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    r = tutela("analyze", str(EXAMPLE), "--model", str(tmp_path / "none.skops"))
    assert r.returncode == 2 and "model file not found" in r.stderr


def test_cli_task_list_matches_the_evaluator() -> None:
    from tutela.cli.batch import TASKS as cli_tasks
    from tutela.detect.evaluate import TASKS

    assert cli_tasks == TASKS


def test_shipped_example_flags_the_groomers_only_and_says_why() -> None:
    r = tutela("analyze", str(EXAMPLE), "--json")
    assert r.returncode == 0, r.stderr
    p = json.loads(r.stdout)
    flagged = {a["id"] for a in p["authors"] if a["label"]}
    assert flagged == {"mark_44", "tom_r", "paul_67"}
    assert sum(c["label"] for c in p["conversations"]) == 3
    for a in p["authors"]:
        if a["label"]:
            assert a["evidence"] and a["evidence"][0]["nearest"], a["id"]


def test_out_to_an_unwritable_place_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", "utf-8")
    for target in (tmp_path, blocker / "under-a-file.json"):
        r = tutela("analyze", str(EXAMPLE), "--out", str(target))
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        assert "error:" in r.stderr


def test_an_age_question_in_another_language_still_counts(tmp_path: Path) -> None:
    chat = tmp_path / "switch.jsonl"
    rows = [
        {"conversation": "s", "author": "man", "text": "hoe oud ben je?", "lang": "en"},
        {"conversation": "s", "author": "kid", "text": "13"},
        {"conversation": "s", "author": "man", "text": "can you turn on your webcam for me"},
    ]
    chat.write_text("".join(json.dumps(x) + "\n" for x in rows), "utf-8")
    r = tutela("analyze", str(chat), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["conversations"][0]["label"] == 1
