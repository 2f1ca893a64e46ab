"""The classifier, its incremental scorer, and model files."""

from __future__ import annotations

import math

import numpy as np
import pytest
import skops.io as sio
from sklearn.exceptions import NotFittedError
from tests.detect._toy import toy_corpus

from tutela.detect.features import Line
from tutela.detect.incremental import IncrementalScorer, ScoringTables, WarningRule
from tutela.detect.model import Document, GroomingClassifier
from tutela.detect.persistence import load_model, save_model
from tutela.errors import InputError, ModelError


@pytest.fixture(scope="module")
def fitted() -> GroomingClassifier:
    docs, labels = toy_corpus(80)
    return GroomingClassifier(word_min_df=1, char_min_df=1).fit(docs, labels)


def test_separates_risky_from_benign(fitted: GroomingClassifier) -> None:
    docs, labels = toy_corpus(40, seed=7)
    risk = fitted.predict_proba(docs)[:, 1]
    pos = risk[np.asarray(labels) == 1]
    neg = risk[np.asarray(labels) == 0]
    assert pos.min() > neg.max()
    assert (fitted.predict(docs) == np.asarray(labels)).mean() >= 0.95  # tuned threshold


def test_predict_before_fit_raises() -> None:
    with pytest.raises(NotFittedError):
        GroomingClassifier().predict([Document((Line("a", "hi"),))])


def test_fit_needs_both_classes() -> None:
    docs, _ = toy_corpus(10)
    with pytest.raises(InputError, match="both classes"):
        GroomingClassifier().fit(docs, [1] * len(docs))


def test_init_only_stores_parameters() -> None:
    clf = GroomingClassifier(C=3.0, threshold=0.7)
    assert clf.get_params()["C"] == 3.0 and clf.get_params()["threshold"] == 0.7
    assert not hasattr(clf, "coef_word_")


def test_incremental_equals_batch_on_every_prefix(fitted: GroomingClassifier) -> None:
    docs, _ = toy_corpus(6, seed=3)
    tables = ScoringTables(fitted)
    for doc in docs:
        scorer = IncrementalScorer(tables, lang="en")
        for k, line in enumerate(doc.lines, start=1):
            scorer.update(line)
            batch = fitted.decision_function([Document(doc.lines[:k], "en")])[0]
            assert math.isclose(scorer.score, batch, rel_tol=1e-9, abs_tol=1e-9)


def test_incremental_equivalence_with_repeated_terms(fitted: GroomingClassifier) -> None:
    lines = [Line("a", "send me a pic send me a pic"), Line("a", "send me a pic")] * 3
    scorer = IncrementalScorer(fitted)
    for k, line in enumerate(lines, start=1):
        scorer.update(line)
        batch = fitted.decision_function([Document(tuple(lines[:k]), None)])[0]
        assert math.isclose(scorer.score, batch, rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize("k, n", [(1, 1), (2, 3), (3, 3), (2, 5)])
def test_warning_fires_at_first_k_of_last_n_votes(
    fitted: GroomingClassifier, k: int, n: int
) -> None:
    docs, _labels = toy_corpus(20, seed=11)
    fired = 0
    for doc in docs:
        rule = WarningRule(threshold=0.5, k=k, n=n)
        scorer = IncrementalScorer(fitted, rule=rule, lang="en")
        votes: list[bool] = []
        expected = None
        for i, line in enumerate(doc.lines, start=1):
            scorer.update(line)
            votes.append(scorer.risk >= 0.5)
            if expected is None and sum(votes[-n:]) >= k:
                expected = i
        assert scorer.warned_at == expected
        fired += expected is not None
    assert fired > 0


def test_assessment_reports_indicators_and_lines(fitted: GroomingClassifier) -> None:
    scorer = IncrementalScorer(fitted, lang="en")
    scorer.update(Line("a", "hi"))
    a = scorer.update(Line("a", "dont tell anyone, turn on your webcam"))
    assert a.n_messages == 2 and a.lines == (2,)
    cats = {h.category.value for h in a.indicators}
    assert {"secrecy", "media_request"} <= cats
    assert a.stage.value != "none"


def test_benign_conversation_never_warns(fitted: GroomingClassifier) -> None:
    scorer = IncrementalScorer(fitted, rule=WarningRule(threshold=0.5, k=1, n=1))
    for text in ["did you do the homework", "football practice is at five", "see you at school"]:
        scorer.update(Line("a", text))
    assert scorer.warned_at is None and scorer.risk < 0.5


def test_warning_rule_validation() -> None:
    with pytest.raises(ValueError, match="must not exceed"):
        WarningRule(k=3, n=2)


def test_save_load_round_trip(tmp_path, fitted: GroomingClassifier) -> None:
    path = save_model(fitted, tmp_path / "m.skops")
    loaded = load_model(path)
    docs, _ = toy_corpus(5, seed=9)
    np.testing.assert_allclose(loaded.decision_function(docs), fitted.decision_function(docs))


class Intruder:
    """A type no Tutela model file may contain."""

    def __init__(self) -> None:
        self.x = 1


def test_load_refuses_untrusted_types(tmp_path) -> None:
    path = tmp_path / "evil.skops"
    sio.dump({"payload": Intruder()}, path)
    with pytest.raises(ModelError, match="untrusted"):
        load_model(path)


def test_load_refuses_non_skops_and_missing(tmp_path) -> None:
    bad = tmp_path / "bad.skops"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(ModelError, match="not a readable"):
        load_model(bad)
    with pytest.raises(ModelError, match="not found"):
        load_model(tmp_path / "missing.skops")


def test_shipped_model_ranks_grooming_above_benign() -> None:
    model = load_model()
    risky = Document(
        (
            Line("a", "how old are you?"),
            Line("b", "13"),
            Line("a", "are your parents home?"),
            Line("a", "dont tell anyone we talk"),
            Line("a", "turn on your webcam"),
        ),
        "en",
    )
    benign = Document(
        (
            Line("a", "did you finish the homework?"),
            Line("b", "yes"),
            Line("a", "see you at football practice"),
            Line("b", "ok"),
        ),
        "en",
    )
    r = model.predict_proba([risky, benign])[:, 1]
    assert r[0] > r[1]


def test_threshold_fixed_or_tuned_on_training_folds() -> None:
    docs, labels = toy_corpus(60)
    fixed = GroomingClassifier(word_min_df=1, char_min_df=1, threshold=0.7).fit(docs, labels)
    assert fixed.threshold_ == 0.7
    tuned = GroomingClassifier(word_min_df=1, char_min_df=1).fit(docs, labels)
    assert 0.05 <= tuned.threshold_ <= 0.95
    with pytest.raises(InputError, match="threshold"):
        GroomingClassifier(threshold=1.5).fit(docs, labels)


def test_prefix_of_a_prepared_document_equals_preparing_the_prefix() -> None:
    from tutela.detect.model import prepare

    docs, _ = toy_corpus(3, seed=5)
    for doc in docs:
        whole = prepare(doc)
        for k in (1, 3, len(doc.lines)):
            cut = whole.prefix(k)
            fresh = prepare(Document(doc.lines[:k], doc.lang))
            assert cut.normalised == fresh.normalised and cut.hits == fresh.hits
            np.testing.assert_allclose(cut.dense.vector(), fresh.dense.vector())


def test_prefix_training_adds_documents_but_tunes_on_whole_ones() -> None:
    docs, labels = toy_corpus(40)
    plain = GroomingClassifier(word_min_df=1, char_min_df=1).fit(docs, labels)
    early = GroomingClassifier(word_min_df=1, char_min_df=1, prefix_lengths=(2, 4)).fit(
        docs, labels
    )
    assert 0.05 <= early.threshold_ <= 0.95
    assert not np.allclose(plain.coef_word_[:10], early.coef_word_[:10])
