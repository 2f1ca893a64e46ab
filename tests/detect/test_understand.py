"""One understanding step per line: skeleton, speaker, hits, detector evidence."""

from __future__ import annotations

import pytest
import structlog.testing

from tutela.detect.lines import default_line_detector
from tutela.detect.understand import LineReader
from tutela.domain import Category


@pytest.fixture(scope="module")
def reader() -> LineReader:
    return LineReader(default_line_detector(gate=0.0), lang="de")


def test_contact_line_is_read_with_skeleton_hits_and_evidence(reader: LineReader) -> None:
    text = "Hast du eine W\u0435bcam?"  # Cyrillic e
    r = reader.read(text, line=3, author="c1")
    assert r.text == text  # verbatim
    assert r.skeleton == "hast du eine webcam?"
    assert (r.speaker, r.addressed, r.lang, r.line) == ("contact", True, "de", 3)
    ev = r.evidence()
    assert ev is not None and ev.line == 3
    assert ev.probability == pytest.approx(r.score.probability)
    assert Category.MEDIA_REQUEST in ev.categories
    assert ev.nearest and ev.nearest[0] == r.score.nearest[0].id


def test_persona_and_operator_lines_are_not_scored(reader: LineReader) -> None:
    for speaker in ("persona", "operator"):
        r = reader.read("ich bin 13", line=1, speaker=speaker)
        assert r.score is None and r.evidence() is None


def test_unknown_speaker_is_an_error(reader: LineReader) -> None:
    with pytest.raises(ValueError, match="speaker"):
        reader.read("hi", line=1, speaker="bot")


def test_without_a_detector_only_lexicon_hits() -> None:
    r = LineReader(None, lang="en").read("how old are you", line=1)
    assert r.score is None and Category.AGE_PROBE in r.categories


def test_a_failing_detector_leaves_the_line_unscored_not_lost() -> None:
    class Broken:
        def score_line(self, text: str):
            raise RuntimeError("encoder weights missing")

    with structlog.testing.capture_logs() as logs:
        r = LineReader(Broken(), lang="en").read("turn on your cam", line=2)  # type: ignore[arg-type]
    assert [e["event"] for e in logs] == ["line_detector.failed"]
    assert r.score is None and r.evidence() is None
    assert Category.MEDIA_REQUEST in r.categories  # the lexicon still reads it
