"""Batch analysis with evidence lines: short synthetic chats, odd input."""

from __future__ import annotations

import pytest

from tutela.detect.analyze import analyze
from tutela.detect.config import LineEvidenceConfig
from tutela.detect.persistence import load_model
from tutela.domain import Conversation, Message


def conv(cid: str, *lines: tuple[str, str]) -> Conversation:
    msgs = [Message(cid, a, t, i) for i, (a, t) in enumerate(lines, 1)]
    return Conversation(cid, msgs, lang="en")


@pytest.fixture(scope="module")
def model():
    return load_model(None)


GROOMING = conv(
    "g", ("adult", "hey"), ("kid", "hi"), ("adult", "how old are you"), ("kid", "12"),
    ("adult", "turn on your webcam for me"), ("adult", "dont tell your mum we talk"),
)  # fmt: skip
ADULTS = conv(
    "a", ("x", "hey"), ("y", "hi"), ("x", "turn on your webcam for me"), ("x", "miss you babe"),
)  # fmt: skip
BENIGN = conv(
    "b", ("mum", "hi love"), ("kid", "hi mum"), ("mum", "pick you up at 4"),
    ("mum", "send me a photo of your science project"), ("kid", "ok"),
)  # fmt: skip


def test_flags_need_an_evidence_line_after_a_minor_age(model) -> None:
    r = analyze([GROOMING, ADULTS, BENIGN], model)
    flags = {c.id: c.label for c in r.conversations}
    assert flags == {"g": True, "a": False, "b": False}
    g = r.conversations[0]
    assert g.evidence and g.evidence[0].line == 5 and g.evidence[0].author == "adult"
    assert g.evidence[0].score.nearest  # explained by the nearest exemplars
    authors = {a.id: a for a in r.authors}
    assert authors["adult"].label and not authors["kid"].label
    assert ("g", 5) in authors["adult"].lines
    d = r.to_dict()["conversations"][0]
    assert d["evidence"][0]["nearest"][0]["id"]


def test_without_the_age_requirement_adult_talk_is_read_too(model) -> None:
    r = analyze([ADULTS], model, lines=LineEvidenceConfig(require_minor_age=False))
    assert r.conversations[0].label


def test_odd_lines_do_not_break_analysis(model) -> None:
    odd = conv(
        "o", ("a", "how old are you"), ("b", "\u00b2"), ("a", "9" * 5000), ("b", "\ud800 hi"),
        ("a", ""), ("b", "\u0332\u0332\u0332"), ("a", "\U0001f600" * 50),
    )  # fmt: skip
    r = analyze([odd], model)
    assert len(r.conversations) == 1 and not r.conversations[0].label


def test_classifier_only_mode_is_the_first_version(model) -> None:
    r = analyze([GROOMING], model, lines=LineEvidenceConfig(enabled=False))
    c = r.conversations[0]
    assert c.evidence == [] and c.risk == pytest.approx(c.model_risk)
