"""Grooming-stage estimate from indicator hits (O'Connell 2003).

O'Connell's typology orders online grooming into friendship forming, relationship forming, risk
assessment, exclusivity, sexual and (for some offenders) meeting stages; the stages are not always
passed in order, and offenders may skip some. :data:`CATEGORY_STAGE` maps every indicator category
to the stage it is evidence of:

* age probe, personal-information probe, flattery -> **friendship forming** (getting to know the
  child and its circumstances, compliments; O'Connell 2003; "personal information" and
  "compliment" codes of ChatCoder, Kontostathis et al. 2009);
* trust building -> **relationship forming** (talk of trust, care, being there for the child);
* risk check, police check -> **risk assessment** (is anyone watching: parents, other users of
  the computer, and, in decoy work, the police: Sweetie 2.0, Terre des Hommes 2016);
* secrecy, isolation, platform switch -> **exclusivity** (the "special" relationship kept from
  others; moving to a private channel is how that is done in practice, Lorenzo-Dus et al. 2016);
* sexual content, media request -> **sexual** (webcam and image requests are the sexual stage's
  online form in the Sweetie reports);
* gift or money -> **sexual**. O'Connell places bribes and gifts inside the relationship; in the
  commercial webcam exploitation Terre des Hommes documents (2013/2016) payment is offered *for* a
  webcam show, which makes an offer of money a sexual-exploitation signal, and Tutela's policy
  ladder treats commercial signals as grounds for a referral proposal. A bare payment-channel word
  (weight 0.5, e.g. "load", which also means phone credit) stays below the sexual threshold.
* meeting -> **meeting** (Lorenzo-Dus et al. 2016 call it "approach").

:func:`estimate_stage` returns the furthest stage whose evidence (summed weight of its distinct
``(indicator, line)`` hits) reaches :data:`STAGE_THRESHOLDS`. The thresholds are Tutela's defaults,
not published values: 0.5 lets one age probe (0.5) or one private-channel request (0.5) count,
while the sexual and meeting stages, which drive escalation, need 0.6: one strong indicator or two
weaker ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from tutela.domain import Category, GroomingStage, IndicatorHit

__all__ = ["CATEGORY_STAGE", "STAGE_THRESHOLDS", "estimate_stage", "stage_evidence"]

_S = GroomingStage
#: The stage each indicator category is evidence of (module docstring gives the reasons).
CATEGORY_STAGE: Mapping[Category, GroomingStage] = MappingProxyType(
    {
        Category.AGE_PROBE: _S.FRIENDSHIP_FORMING,
        Category.PERSONAL_INFO_PROBE: _S.FRIENDSHIP_FORMING,
        Category.FLATTERY: _S.FRIENDSHIP_FORMING,
        Category.TRUST_BUILDING: _S.RELATIONSHIP_FORMING,
        Category.RISK_CHECK: _S.RISK_ASSESSMENT,
        Category.POLICE_CHECK: _S.RISK_ASSESSMENT,
        Category.SECRECY: _S.EXCLUSIVITY,
        Category.ISOLATION: _S.EXCLUSIVITY,
        Category.PLATFORM_SWITCH: _S.EXCLUSIVITY,
        Category.SEXUAL_CONTENT: _S.SEXUAL,
        Category.MEDIA_REQUEST: _S.SEXUAL,
        Category.GIFT_OR_MONEY: _S.SEXUAL,
        Category.MEETING: _S.MEETING,
    }
)

#: Summed indicator weight a stage needs to count (Tutela defaults, see the module docstring).
STAGE_THRESHOLDS: Mapping[GroomingStage, float] = MappingProxyType(
    {
        _S.FRIENDSHIP_FORMING: 0.5,
        _S.RELATIONSHIP_FORMING: 0.5,
        _S.RISK_ASSESSMENT: 0.5,
        _S.EXCLUSIVITY: 0.5,
        _S.SEXUAL: 0.6,
        _S.MEETING: 0.6,
    }
)


def stage_evidence(hits: Iterable[IndicatorHit]) -> dict[GroomingStage, float]:
    """Summed weight per stage; each ``(indicator, line)`` pair counts once.

    Stages without hits are absent. ``GroomingStage.NONE`` never appears.
    """
    seen: set[tuple[str, int]] = set()
    evidence: dict[GroomingStage, float] = {}
    for hit in hits:
        key = (hit.indicator, hit.line)
        if key in seen:
            continue
        seen.add(key)
        stage = CATEGORY_STAGE[hit.category]
        evidence[stage] = evidence.get(stage, 0.0) + hit.weight
    return evidence


def estimate_stage(
    hits: Iterable[IndicatorHit],
    *,
    thresholds: Mapping[GroomingStage, float] = STAGE_THRESHOLDS,
) -> GroomingStage:
    """The furthest grooming stage with enough evidence, ``GroomingStage.NONE`` if none has.

    ``hits`` are the indicator hits of one subject (an author or a conversation) so far;
    ``thresholds`` gives the summed weight each stage needs (missing stages never count).
    A later stage wins even when earlier ones lack evidence (stages can be skipped, O'Connell
    2003).
    """
    evidence = stage_evidence(hits)
    best = GroomingStage.NONE
    for stage, total in evidence.items():
        needed = thresholds.get(stage)
        if needed is not None and total >= needed - 1e-9 and stage.rank > best.rank:
            best = stage
    return best
