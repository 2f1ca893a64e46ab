"""Authors of a source without message text are "not assessed", never "low risk"; truth-file ids
that match no author are reported."""

from __future__ import annotations

import pytest

from tutela.detect.analyze import analyze
from tutela.detect.evaluate import evaluate
from tutela.detect.persistence import load_model
from tutela.domain import Conversation, Message


@pytest.fixture(scope="module")
def model():
    return load_model()


def _conv(cid: str, lines: list[tuple[str, str]], *, content: bool = True) -> Conversation:
    return Conversation(
        id=cid,
        messages=[
            Message(conversation=cid, author=a, text=t, line=i)
            for i, (a, t) in enumerate(lines, start=1)
        ],
        lang="en",
        content_available=content,
    )


def test_authors_without_text_are_not_assessed(model):
    spoken = _conv("c1", [("amy", "hi how was school"), ("bo", "fine, lots of homework")])
    silent = _conv("c2", [("cy", ""), ("dee", "")], content=False)
    result = analyze([spoken, silent], model)
    by_id = {a.id: a.to_dict() for a in result.authors}
    for who in ("cy", "dee"):
        assert by_id[who]["assessed"] is False
        assert by_id[who]["risk"] is None and by_id[who]["label"] is None
    for who in ("amy", "bo"):
        assert by_id[who]["assessed"] is True and isinstance(by_id[who]["risk"], float)
    # not assessed authors come after every assessed one
    order = [a.id for a in result.authors]
    assert order.index("cy") > max(order.index("amy"), order.index("bo"))
    convs = {c.id: c.to_dict() for c in result.conversations}
    assert convs["c2"]["assessed"] is False and convs["c2"]["risk"] is None
    assert convs["c1"]["assessed"] is True


def test_author_seen_with_text_elsewhere_is_assessed(model):
    silent = _conv("c1", [("amy", "")], content=False)
    spoken = _conv("c2", [("amy", "hello there"), ("bo", "hi")])
    result = analyze([silent, spoken], model)
    amy = next(a for a in result.authors if a.id == "amy")
    assert amy.assessed and amy.conversations == 2


def test_truth_ids_matching_no_author_are_reported(model):
    convs = [
        _conv("c1", [("amy", "hi"), ("bo", "hello")]),
        _conv("c2", [("cy", "hey"), ("dee", "yo")]),
    ]
    m = evaluate(convs, model, task="authors", predators={"bo", "ghost1", "ghost2"})
    assert m["truth_ids_unmatched"] == 2
    assert m["truth_ids_unmatched_sample"] == ["ghost1", "ghost2"]


def test_no_unmatched_key_without_truth(model):
    convs = [_conv("c1", [("amy", "hi"), ("bo", "hello")])]
    convs[0].label = 0
    m = evaluate(convs, model, task="segments")
    assert "truth_ids_unmatched" not in m


def test_display_names_reach_the_result(model):
    conv = _conv("c1", [("user1", "hi"), ("user2", "hello")])
    conv.author_names = {"user1": "Sam"}
    result = analyze([conv], model)
    by_id = {a.id: a.to_dict() for a in result.authors}
    assert by_id["user1"]["name"] == "Sam" and by_id["user2"]["name"] is None
