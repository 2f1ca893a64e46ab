"""Tests for tutela.detect.stage."""

from __future__ import annotations

import pytest

from tutela.detect import stage as stage_mod
from tutela.detect.lexicon import load_lexicon
from tutela.detect.stage import CATEGORY_STAGE, STAGE_THRESHOLDS, estimate_stage, stage_evidence
from tutela.domain import Category, GroomingStage, IndicatorHit


def _hit(category: Category, weight: float, line: int = 1, name: str = "x") -> IndicatorHit:
    return IndicatorHit(
        indicator=f"en.{category.value}.{name}",
        category=category,
        weight=weight,
        line=line,
        author="a",
    )


def test_every_category_has_a_stage() -> None:
    assert set(CATEGORY_STAGE) == set(Category)
    assert GroomingStage.NONE not in CATEGORY_STAGE.values()
    assert set(STAGE_THRESHOLDS) == set(GroomingStage) - {GroomingStage.NONE}


@pytest.mark.parametrize(
    ("category", "stage"),
    [
        (Category.AGE_PROBE, GroomingStage.FRIENDSHIP_FORMING),
        (Category.FLATTERY, GroomingStage.FRIENDSHIP_FORMING),
        (Category.TRUST_BUILDING, GroomingStage.RELATIONSHIP_FORMING),
        (Category.RISK_CHECK, GroomingStage.RISK_ASSESSMENT),
        (Category.POLICE_CHECK, GroomingStage.RISK_ASSESSMENT),
        (Category.SECRECY, GroomingStage.EXCLUSIVITY),
        (Category.PLATFORM_SWITCH, GroomingStage.EXCLUSIVITY),
        (Category.MEDIA_REQUEST, GroomingStage.SEXUAL),
        (Category.GIFT_OR_MONEY, GroomingStage.SEXUAL),
        (Category.MEETING, GroomingStage.MEETING),
    ],
)
def test_mapping(category: Category, stage: GroomingStage) -> None:
    assert CATEGORY_STAGE[category] is stage


def test_no_hits_is_none() -> None:
    assert estimate_stage([]) is GroomingStage.NONE


def test_furthest_stage_with_enough_evidence_wins() -> None:
    hits = [
        _hit(Category.AGE_PROBE, 0.5, 1),
        _hit(Category.RISK_CHECK, 0.7, 2),
        _hit(Category.SECRECY, 0.8, 3),
    ]
    assert estimate_stage(hits) is GroomingStage.EXCLUSIVITY


def test_weak_evidence_does_not_count() -> None:
    # a lone payment-channel word (0.5) stays below the sexual threshold (0.6)
    hits = [_hit(Category.AGE_PROBE, 0.5, 1), _hit(Category.GIFT_OR_MONEY, 0.5, 2)]
    assert estimate_stage(hits) is GroomingStage.FRIENDSHIP_FORMING
    # two weak trust hits add up; one does not
    assert estimate_stage([_hit(Category.TRUST_BUILDING, 0.3, 1)]) is GroomingStage.NONE
    two = [_hit(Category.TRUST_BUILDING, 0.3, 1), _hit(Category.TRUST_BUILDING, 0.3, 2)]
    assert estimate_stage(two) is GroomingStage.RELATIONSHIP_FORMING


def test_same_indicator_on_same_line_counts_once() -> None:
    hits = [_hit(Category.TRUST_BUILDING, 0.3, 1), _hit(Category.TRUST_BUILDING, 0.3, 1)]
    assert stage_evidence(hits) == {GroomingStage.RELATIONSHIP_FORMING: pytest.approx(0.3)}
    assert estimate_stage(hits) is GroomingStage.NONE


def test_stages_can_be_skipped() -> None:
    assert estimate_stage([_hit(Category.MEETING, 0.8)]) is GroomingStage.MEETING


def test_custom_thresholds() -> None:
    hits = [_hit(Category.MEETING, 0.8)]
    assert estimate_stage(hits, thresholds={GroomingStage.MEETING: 0.9}) is GroomingStage.NONE
    assert estimate_stage(hits, thresholds={}) is GroomingStage.NONE


def test_end_to_end_with_lexicon() -> None:
    en = load_lexicon("en")
    lines = ["how old are you", "are your parents home", "don't tell anyone", "can we meet"]
    hits = [h for i, t in enumerate(lines, 1) for h in en.hits(t, line=i, author="c")]
    assert estimate_stage(hits[:1]) is GroomingStage.FRIENDSHIP_FORMING
    assert estimate_stage(hits[:2]) is GroomingStage.RISK_ASSESSMENT
    assert estimate_stage(hits[:3]) is GroomingStage.EXCLUSIVITY
    assert estimate_stage(hits) is GroomingStage.MEETING


def test_public_names() -> None:
    assert set(stage_mod.__all__) == {
        "CATEGORY_STAGE",
        "STAGE_THRESHOLDS",
        "estimate_stage",
        "stage_evidence",
    }
