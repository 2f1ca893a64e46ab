"""Integration: read each real corpus file under ../shared/data (skipped when it is absent).

Only counts and structure are checked; no text from these files is copied into the project.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tutela.ingest import (
    detect_format,
    find_pan12_truth,
    read_corpus,
    read_pan12_lines,
    read_pan12_predators,
)

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is absent"),
]


def _one(folder: Path, pattern: str) -> Path:
    (path,) = folder.glob(pattern)
    return path


@pytest.mark.parametrize(
    ("split", "n_conversations", "n_messages", "n_predators", "n_lines"),
    [("test", 9, 551, 5, 15), ("train", 17, 871, 3, 36)],
)
def test_pan12_toy(split, n_conversations, n_messages, n_predators, n_lines):
    xml = _one(DATA / "pan12-toy" / split, "*.xml")
    assert detect_format(xml) == "pan12"
    convs = list(read_corpus(xml))
    assert len(convs) == n_conversations
    assert sum(len(c.messages) for c in convs) == n_messages
    assert all(m.source and m.source.startswith(f"{xml}:") for c in convs for m in c.messages)
    problem1, problem2 = find_pan12_truth(xml)
    assert problem1 is not None and problem2 is not None
    predators = read_pan12_predators(problem1)
    assert len(predators) == n_predators
    lines = read_pan12_lines(problem2)
    assert sum(len(v) for v in lines.values()) == n_lines
    # every problem-2 entry points at an existing message (the toy subsets do not keep every
    # predator of those conversations in the problem-1 list, so authors are not compared)
    by_id = {c.id: {m.line for m in c.messages} for c in convs}
    for cid, numbers in lines.items():
        assert numbers <= by_id[cid]


@pytest.mark.parametrize(
    ("rel", "fmt", "n", "n_positive"),
    [
        ("segments/en.dev.jsonl", "segments", 1186, 143),
        ("segments/nl.dev.jsonl", "segments-messages", 791, 96),
        ("segments/de.dev.jsonl", "segments-messages", 791, 96),
        ("pj/dev.jsonl", "pj", 628, 628),
    ],
)
def test_jsonl_files(rel, fmt, n, n_positive):
    path = DATA / rel
    assert detect_format(path) == fmt
    convs = list(read_corpus(path))
    assert len(convs) == n
    assert sum(c.label == 1 for c in convs) == n_positive
    assert all(c.label in (0, 1) for c in convs)
    if fmt == "segments":
        assert all(c.flattened and len(c.messages) == 1 and c.lang == "en" for c in convs)
    if fmt == "pj":
        assert all(set(c.authors) <= set(c.author_labels) for c in convs)
        assert sum(len(c.messages) for c in convs) == 12076
    if fmt == "segments-messages":
        assert sum(len(c.messages) for c in convs) == 42123
        assert all(m.author == m.author.lower() for c in convs for m in c.messages)
