"""The line detector: tiers, cascade gate, calibration range, persistence, the shipped detector."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from tutela.detect.embedding import cached_embeddings
from tutela.detect.exemplars import Exemplar
from tutela.detect.lines import (
    ExemplarIndex,
    LinearLineModel,
    LineDetector,
    default_line_detector,
    load_line_model,
    save_line_model,
)
from tutela.errors import InputError, ModelError

SOLICITING = [
    "turn on your cam for me",
    "can you switch your webcam on",
    "send me a picture of you",
    "show me a photo of yourself",
    "lets meet at the park alone",
    "i can pick you up after school, just us",
    "i will pay you to go on cam",
    "want money for a private show",
]
BENIGN = [
    "how was school today",
    "did you finish the maths homework",
    "my cat is sleeping on my bed",
    "what game are you playing",
    "the bus was late again",
    "we had pasta for dinner",
    "see you at practice on monday",
    "i like that song too",
]
LABELS = ["media_request"] * 4 + ["meeting"] * 2 + ["paid_show"] * 2


class BagEncoder:
    """A deterministic stand-in for the sentence encoder: hashed bag of words, l2-normalised."""

    name = "test-bag"

    def __init__(self) -> None:
        self.calls = 0
        self.lines = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.lines += len(texts)
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.split():
                out[i, sum(map(ord, w)) % 64] += 1.0
        n = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(n == 0, 1, n)


@pytest.fixture
def linear() -> LinearLineModel:
    return LinearLineModel(calibration_folds=2).fit(SOLICITING + BENIGN, LABELS + ["none"] * 8)


@pytest.fixture
def index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ExemplarIndex:
    monkeypatch.setenv("TUTELA_CACHE_DIR", str(tmp_path / "cache"))
    pairs = enumerate(zip(SOLICITING, LABELS, strict=True))
    ex = [Exemplar(f"en.{lab}.{i}", "en", lab, t) for i, (t, lab) in pairs]
    ex += [Exemplar(f"en.benign_peer.{i}", "en", "benign_peer", t) for i, t in enumerate(BENIGN)]
    return ExemplarIndex(exemplars=ex, encoder=BagEncoder(), k=3)


def test_linear_tier_separates_and_names_the_label(linear: LinearLineModel) -> None:
    p, labels = linear.predict(["please turn your cam on for me", "how was the maths test"])
    assert p[0] > p[1]
    assert labels[0] == "media_request"
    assert np.all((p >= 0) & (p <= 1))


def test_linear_tier_needs_both_kinds_of_line() -> None:
    with pytest.raises(InputError):
        LinearLineModel().fit(SOLICITING, LABELS)


def test_embedding_tier_explains_with_the_nearest_exemplars(index: ExemplarIndex) -> None:
    [(p, nearest)] = index.score(["turn on your cam"])
    assert nearest[0].text == "turn on your cam for me" and nearest[0].label == "media_request"
    assert nearest[0].similarity == pytest.approx(max(n.similarity for n in nearest))
    [(q, _)] = index.score(["what did you have for dinner"])
    assert p > q


def test_cascade_embeds_only_lines_past_the_gate(linear, index) -> None:
    det = LineDetector(linear, index, tier="cascade", gate=0.5)
    assert index.vectors.shape[0] == 16  # exemplar vectors first
    before = index.encoder.lines
    scores = det.score(["turn on your cam for me please", "my cat is sleeping"])
    assert index.encoder.lines - before == 1  # the small talk was not embedded
    assert scores[0].embedding is not None and scores[0].nearest
    assert scores[1].embedding is None and not scores[1].nearest
    assert scores[0].probability == pytest.approx((scores[0].linear + scores[0].embedding) / 2)
    assert scores[0].label == "media_request"
    assert scores[1].label is None


def test_paid_show_reads_as_money_and_media(linear, index) -> None:
    det = LineDetector(linear, index, tier="embedding")
    s = det.score_line("want money for a private show")
    assert s.probability >= 0.5
    assert set(s.categories) >= {"gift_or_money", "media_request"}


def test_benign_context_is_reported_for_a_benign_line(linear, index) -> None:
    s = LineDetector(linear, index, tier="embedding").score_line("see you at practice on monday")
    assert s.probability < 0.5 and s.context == "benign_peer" and s.context_similarity > 0


def test_tier_arguments_are_checked(linear, index) -> None:
    with pytest.raises(InputError):
        LineDetector(linear, index, tier="magic")
    with pytest.raises(InputError):
        LineDetector(None, index, tier="cascade")
    with pytest.raises(InputError):
        LineDetector(linear, None, tier="embedding")


def test_exemplar_vectors_are_cached_and_recomputed_when_broken(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TUTELA_CACHE_DIR", str(tmp_path))
    enc = BagEncoder()
    a = cached_embeddings(enc, ["one line", "two lines"])
    b = cached_embeddings(enc, ["one line", "two lines"])
    assert enc.calls == 1 and np.array_equal(a, b)
    for f in tmp_path.glob("*.npy"):
        f.write_bytes(b"not numpy")
    cached_embeddings(enc, ["one line", "two lines"])
    assert enc.calls == 2
    cached_embeddings(enc, ["one line", "another"])  # changed text: a new key
    assert enc.calls == 3


def test_line_model_round_trip_and_bad_files(linear, tmp_path) -> None:
    path = save_line_model(linear, tmp_path / "m.skops", provenance={"lines": 16})
    again = load_line_model(path)
    np.testing.assert_allclose(again.predict(BENIGN)[0], linear.predict(BENIGN)[0])
    assert (tmp_path / "m.provenance.json").is_file()
    bad = tmp_path / "bad.skops"
    bad.write_bytes(b"garbage")
    with pytest.raises(ModelError):
        load_line_model(bad)
    with zipfile.ZipFile(tmp_path / "empty.skops", "w"):
        pass
    with pytest.raises(ModelError):
        load_line_model(tmp_path / "empty.skops")
    with pytest.raises(ModelError):
        load_line_model(tmp_path / "missing.skops")


# -- the shipped detector on short synthetic lines ------------------------------------------------

SHIPPED_SOLICITING = {
    "en": "could you put your camera on so i can see you",
    "nl": "doe je camera eens aan zodat ik je kan zien",
    "de": "kannst du deine kamera mal anmachen damit ich dich sehe",
    "tl": "buksan mo naman yung camera mo para makita kita",
}
SHIPPED_BENIGN = {
    "en": "did you do the science homework yet",
    "nl": "heb je je huiswerk voor aardrijkskunde al af",
    "de": "hast du die hausaufgaben in erdkunde schon gemacht",
    "tl": "tapos mo na ba yung assignment sa science",
}


@pytest.mark.parametrize("lang", sorted(SHIPPED_SOLICITING))
def test_shipped_detector_reads_a_camera_request_in_every_language(lang: str) -> None:
    det = default_line_detector(gate=0.0)
    sol, ben = det.score([SHIPPED_SOLICITING[lang], SHIPPED_BENIGN[lang]])
    assert sol.probability >= 0.7 and "media_request" in sol.categories, (lang, sol)
    assert ben.probability < 0.5, (lang, ben)
    assert sol.nearest and sol.nearest[0].label in ("media_request", "paid_show")


def test_shipped_detector_sees_through_combining_marks_and_confusables() -> None:
    det = default_line_detector(gate=0.0)
    plain = "turn on your webcam for me"
    marked = "turn on your " + "".join(c + "\u0332" for c in "webcam") + " for me"
    homoglyph = "turn on your w\u0435b\u0441\u0430m for me"
    a, b, c = det.score([plain, marked, homoglyph])
    assert b.probability == pytest.approx(a.probability, abs=1e-6)
    assert c.probability == pytest.approx(a.probability, abs=1e-6)
