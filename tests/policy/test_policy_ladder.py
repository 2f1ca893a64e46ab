"""The policy ladder on synthetic assessments (no detector involved)."""

from __future__ import annotations

import pytest

from tutela.domain import Action, Assessment, Category, GroomingStage, IndicatorHit
from tutela.errors import ConfigError, InputError
from tutela.policy import Policy, PolicyContext, PolicyParams, VariantAssigner

C = Category


def hit(
    category: Category, line: int, weight: float = 1.0, name: str | None = None
) -> IndicatorHit:
    return IndicatorHit(
        indicator=name or f"en.{category.value}.test",
        category=category,
        weight=weight,
        line=line,
        author="contact",
    )


def assessment(risk: float, *hits: IndicatorHit, warning: bool = False) -> Assessment:
    return Assessment(
        subject="conv-1",
        kind="conversation",
        risk=risk,
        label=risk >= 0.5,
        stage=GroomingStage.NONE,
        indicators=tuple(sorted(hits, key=lambda h: -h.weight)),
        lines=tuple(sorted({h.line for h in hits})),
        n_messages=max([h.line for h in hits], default=1),
        warning=warning,
    )


def ctx(a: Assessment, line: int, **kw: object) -> PolicyContext:
    kw.setdefault("age_disclosed", True)
    seen = frozenset(h.category for h in a.indicators)
    return PolicyContext(assessment=a, line=line, categories_seen=seen, **kw)  # type: ignore[arg-type]


@pytest.fixture
def policy() -> Policy:
    return Policy(PolicyParams())


def test_benign_continues(policy: Policy) -> None:
    a = assessment(0.1, hit(C.FLATTERY, 1, 0.4))
    d = policy.decide(ctx(a, 1))
    assert (d.action, d.rule, d.variant) == (Action.CONTINUE, "none", None)
    assert d.after_line == 1 and d.risk == pytest.approx(0.1)
    assert d.indicators == ("en.flattery.test",)
    assert d.reason.endswith(".") and "0.10" in d.reason


def test_solicitation_waits_for_age_then_deters(policy: Policy) -> None:
    a = assessment(0.7, hit(C.MEDIA_REQUEST, 3))
    before = policy.decide(ctx(a, 3, age_disclosed=False))
    assert (before.action, before.rule, before.variant) == (
        Action.CONTINUE,
        "ladder.await_age",
        None,
    )

    a2 = assessment(0.75, hit(C.MEDIA_REQUEST, 3), hit(C.MEETING, 4))
    after = policy.decide(ctx(a2, 4, age_disclosed=True), variant="help")
    assert (after.action, after.rule, after.variant) == (
        Action.DETER,
        "ladder.first_solicitation",
        "help",
    )
    assert "en.meeting.test" in after.reason and "0.75" in after.reason


def test_no_warning_for_what_was_said_before_the_age(policy: Policy) -> None:
    # The contact solicited on line 3 (before the age), line 4 carries nothing.
    a = assessment(0.7, hit(C.MEDIA_REQUEST, 3))
    d = policy.decide(ctx(a, 4, age_disclosed=True))
    assert d.action is Action.CONTINUE
    relaxed = PolicyParams.model_validate({"solicitation": {"require_line_evidence": False}})
    assert Policy(relaxed).decide(ctx(a, 4, age_disclosed=True)).action is Action.DETER


def test_low_risk_category_hit_is_not_solicitation(policy: Policy) -> None:
    a = assessment(0.3, hit(C.MEETING, 2, weight=0.6))
    assert policy.decide(ctx(a, 2)).action is Action.CONTINUE
    weak = assessment(0.8, hit(C.MEETING, 2, weight=0.2))
    assert policy.decide(ctx(weak, 2)).action is Action.CONTINUE


def test_explicit_request_is_solicitation_at_any_risk_when_switched_on() -> None:
    # the first version's single-hit trigger, now off by default (explicit_weight 1.5)
    policy = Policy(PolicyParams.model_validate({"solicitation": {"explicit_weight": 0.7}}))
    explicit = assessment(0.05, hit(C.MEDIA_REQUEST, 3, weight=0.7))
    d = policy.decide(ctx(explicit, 3))
    assert (d.action, d.rule) == (Action.DETER, "ladder.first_solicitation")
    assert Policy(PolicyParams()).decide(ctx(explicit, 3)).action is Action.CONTINUE
    before_age = policy.decide(ctx(explicit, 3, age_disclosed=False))
    assert (before_age.action, before_age.rule) == (Action.CONTINUE, "ladder.await_age")


def test_warning_rule_counts_as_solicitation_when_switched_on(policy: Policy) -> None:
    on = Policy(PolicyParams.model_validate({"solicitation": {"use_warning_rule": True}}))
    a = assessment(0.4, hit(C.SECRECY, 5, 0.6), warning=True)
    assert on.decide(ctx(a, 5)).rule == "ladder.first_solicitation"
    assert policy.decide(ctx(a, 5)).action is Action.CONTINUE  # off by default


def test_returning_contact_is_escalated_with_a_second_warning(policy: Policy) -> None:
    a = assessment(0.8, hit(C.SEXUAL_CONTENT, 2))
    d = policy.decide(ctx(a, 2, prior_warnings=1), variant="legal")
    assert (d.action, d.rule, d.variant) == (Action.ESCALATE, "ladder.repeat_contact", "legal")


def test_third_contact_is_referred(policy: Policy) -> None:
    a = assessment(0.8, hit(C.SEXUAL_CONTENT, 2))
    d = policy.decide(ctx(a, 2, prior_warnings=2))
    assert (d.action, d.rule, d.variant) == (Action.REFER, "ladder.repeat_referral", "combined")


def test_commercial_exploitation_refers_on_first_occurrence(policy: Policy) -> None:
    a = assessment(0.6, hit(C.MEDIA_REQUEST, 2), hit(C.GIFT_OR_MONEY, 4))
    d = policy.decide(ctx(a, 4, prior_warnings=0))
    assert (d.action, d.rule) == (Action.REFER, "ladder.commercial_exploitation")
    assert d.variant == "combined"
    assert "gift_or_money" in d.reason and "media_request" in d.reason
    # only the money half: plain first solicitation
    half = assessment(0.6, hit(C.GIFT_OR_MONEY, 4))
    assert policy.decide(ctx(half, 4)).rule == "ladder.first_solicitation"


def test_commercial_after_a_warning_still_refers_without_new_warning(policy: Policy) -> None:
    a = assessment(0.6, hit(C.MEDIA_REQUEST, 2), hit(C.GIFT_OR_MONEY, 4))
    d = policy.decide(ctx(a, 4, warned_in_conversation=True, strongest_action=Action.DETER))
    assert (d.action, d.variant) == (Action.REFER, None)
    again = policy.decide(ctx(a, 4, warned_in_conversation=True, strongest_action=Action.REFER))
    assert (again.action, again.rule) == (Action.CONTINUE, "ladder.already_warned")


def test_threat_refers_even_before_age_but_sends_no_warning(policy: Policy) -> None:
    a = assessment(0.2)
    d = policy.decide(ctx(a, 6, threat=True, age_disclosed=False))
    assert (d.action, d.rule, d.variant) == (Action.REFER, "ladder.threat", None)
    d2 = policy.decide(ctx(a, 6, threat=True, age_disclosed=True))
    assert (d2.action, d2.variant) == (Action.REFER, "combined")
    off = PolicyParams.model_validate({"threats": {"use_intent_flag": False}})
    assert Policy(off).decide(ctx(a, 6, threat=True)).action is Action.CONTINUE


def test_threat_category_from_params() -> None:
    params = PolicyParams.model_validate({"threats": {"categories": ["police_check"]}})
    a = assessment(0.2, hit(C.POLICE_CHECK, 3, 0.3))
    assert Policy(params).decide(ctx(a, 3)).rule == "ladder.threat"


def test_already_warned_continues(policy: Policy) -> None:
    a = assessment(0.9, hit(C.SEXUAL_CONTENT, 7))
    d = policy.decide(ctx(a, 7, warned_in_conversation=True, strongest_action=Action.DETER))
    assert (d.action, d.rule, d.variant) == (Action.CONTINUE, "ladder.already_warned", None)


def test_high_risk_without_solicitation_is_reviewed_once(policy: Policy) -> None:
    a = assessment(0.95, hit(C.RISK_CHECK, 3))
    d = policy.decide(ctx(a, 3))
    assert (d.action, d.rule, d.variant) == (Action.ESCALATE, "ladder.high_risk_review", None)
    later = policy.decide(ctx(a, 3, strongest_action=Action.ESCALATE))
    assert later.action is Action.CONTINUE
    off = PolicyParams.model_validate({"ladder": {"escalate_high_risk": False}})
    assert Policy(off).decide(ctx(a, 3)).action is Action.CONTINUE


def test_age_requirement_can_be_switched_off() -> None:
    params = PolicyParams.model_validate({"ladder": {"require_age_disclosed": False}})
    a = assessment(0.7, hit(C.MEDIA_REQUEST, 1))
    assert Policy(params).decide(ctx(a, 1, age_disclosed=False)).action is Action.DETER


def test_decide_is_pure(policy: Policy) -> None:
    a = assessment(0.7, hit(C.MEDIA_REQUEST, 3))
    c = ctx(a, 3)
    assert policy.decide(c, variant="legal") == policy.decide(c, variant="legal")


def test_unknown_variant_is_refused(policy: Policy) -> None:
    a = assessment(0.7, hit(C.MEDIA_REQUEST, 3))
    with pytest.raises(ConfigError, match="nope"):
        policy.decide(ctx(a, 3), variant="nope")


def test_engine_loop_with_assigner(policy: Policy) -> None:
    assigner = VariantAssigner(policy.params)
    sent = []
    for risk, line in [(0.1, 1), (0.7, 2), (0.8, 3)]:
        hits = () if line == 1 else (hit(C.MEETING, line),)
        d = policy.decide(ctx(assessment(risk, *hits), line), variant=assigner.peek())
        if d.variant is not None:
            sent.append(assigner.advance())
    # line 2 deters; line 3 would deter again (the engine ends the conversation after a warning)
    assert sent == ["combined", "legal_trace"]


@pytest.mark.parametrize("kw", [{"line": 0}, {"line": 1, "prior_warnings": -1}])
def test_context_validates(kw: dict[str, int]) -> None:
    with pytest.raises(InputError):
        PolicyContext(assessment=assessment(0.1), **kw)
