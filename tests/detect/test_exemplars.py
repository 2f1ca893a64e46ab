"""The reviewed exemplar bank: shape checks and the shipped files."""

from __future__ import annotations

import pytest

from tutela.detect.exemplars import (
    BENIGN,
    EXEMPLAR_LANGUAGES,
    RAPPORT,
    SOLICITING,
    load_exemplars,
    parse_exemplars,
)
from tutela.errors import ConfigError


def test_parse_gives_ids_labels_and_languages() -> None:
    groups = {"meeting": ["lets meet at the mall"], "benign_peer": ["gg"]}
    ex = parse_exemplars({"language": "en", "exemplars": groups})
    assert [(e.id, e.label, e.soliciting) for e in ex] == [
        ("en.meeting.1", "meeting", True),
        ("en.benign_peer.1", "benign_peer", False),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "mapping"),
        ({"exemplars": {"meeting": ["x y"]}}, "language"),
        ({"language": "en", "exemplars": {}}, "exemplars"),
        ({"language": "en", "exemplars": {"flirting": ["hi there"]}}, "unknown label"),
        ({"language": "en", "exemplars": {"meeting": "lets meet"}}, "list"),
        ({"language": "en", "exemplars": {"meeting": ["  "]}}, "non-empty"),
        ({"language": "en", "exemplars": {"meeting": ["x" * 201]}}, "at most"),
        ({"language": "en", "exemplars": {"meeting": ["Meet me", "meet  me"]}}, "repeats"),
    ],
)
def test_bad_files_are_refused_with_a_reason(data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_exemplars(data, origin="x.yaml")


def test_shipped_banks_cover_every_label_in_every_language() -> None:
    for lang in EXEMPLAR_LANGUAGES:
        ex = load_exemplars([lang])
        labels = {e.label for e in ex}
        assert labels == set(SOLICITING) | BENIGN | RAPPORT, lang
        for label in labels:
            assert sum(e.label == label for e in ex) >= 15, (lang, label)
        assert all(len(e.text) <= 200 for e in ex)


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ConfigError, match="no shipped exemplars"):
        load_exemplars(["fr"])
