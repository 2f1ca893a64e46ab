"""The ladder with line-detector evidence: corroboration, context weights, paired categories."""

from __future__ import annotations

import pytest

from tutela.domain import Action, Assessment, Category, GroomingStage, IndicatorHit, LineEvidence
from tutela.errors import ConfigError
from tutela.policy import Policy, PolicyContext, PolicyParams, load_policy
from tutela.policy.ladder import adjusted_probability, established_contexts

C = Category


def hit(category: Category, line: int, weight: float = 0.7) -> IndicatorHit:
    return IndicatorHit(f"en.{category.value}.t", category, weight, line, "contact")


def ev(line: int, p: float, *cats: Category, context: str | None = None) -> LineEvidence:
    return LineEvidence(line, p, tuple(cats), context, 0.8 if context else 0.0, ("x.1",))


def ctx(line: int, evidence: list[LineEvidence], *hits: IndicatorHit, **kw) -> PolicyContext:
    a = Assessment(
        "c", "author", 0.01, False, GroomingStage.NONE, tuple(hits),
        tuple(sorted({h.line for h in hits})), line,
    )  # fmt: skip
    kw.setdefault("age_disclosed", True)
    return PolicyContext(a, line, evidence=tuple(evidence), **kw)


@pytest.fixture
def policy() -> Policy:
    return Policy(PolicyParams())


def test_a_lexicon_hit_alone_is_not_enough(policy: Policy) -> None:
    d = policy.decide(ctx(2, [ev(1, 0.1), ev(2, 0.3)], hit(C.MEDIA_REQUEST, 2)))
    assert d.action is Action.CONTINUE


def test_detector_and_lexicon_together_warn(policy: Policy) -> None:
    d = policy.decide(ctx(2, [ev(1, 0.1), ev(2, 0.8, C.MEDIA_REQUEST)], hit(C.MEDIA_REQUEST, 2)))
    assert (d.action, d.rule) == (Action.DETER, "ladder.first_solicitation")
    assert d.risk == pytest.approx(0.8)
    assert "line detector 0.80" in d.reason and "nearest x.1" in d.reason


def test_a_very_confident_detector_warns_alone(policy: Policy) -> None:
    assert policy.decide(ctx(1, [ev(1, 0.97, C.MEETING)])).action is Action.DETER
    assert policy.decide(ctx(1, [ev(1, 0.9, C.MEETING)])).action is Action.CONTINUE


def test_two_lines_over_the_threshold_corroborate_each_other(policy: Policy) -> None:
    lines = [ev(1, 0.8, C.SEXUAL_CONTENT), ev(2, 0.75, C.MEDIA_REQUEST)]
    assert policy.decide(ctx(1, lines[:1])).action is Action.CONTINUE
    assert policy.decide(ctx(2, lines)).action is Action.DETER
    off = PolicyParams.model_validate({"line_evidence": {"sustained": False}})
    assert Policy(off).decide(ctx(2, lines)).action is Action.CONTINUE


def test_no_warning_before_the_age_is_known(policy: Policy) -> None:
    d = policy.decide(ctx(1, [ev(1, 0.99, C.MEDIA_REQUEST)], age_disclosed=False))
    assert (d.action, d.rule) == (Action.CONTINUE, "ladder.await_age")


def test_a_secret_alone_is_not_a_solicitation_but_with_company_it_is(policy: Policy) -> None:
    secret = [ev(1, 0.1), ev(2, 0.99, C.SECRECY)]
    assert policy.decide(ctx(2, secret)).action is Action.CONTINUE
    both = [ev(1, 0.99, C.PLATFORM_SWITCH), ev(2, 0.99, C.SECRECY)]
    assert policy.decide(ctx(2, both)).action is Action.DETER


def test_a_school_context_weighs_a_camera_request_down_but_not_out(policy: Policy) -> None:
    params = policy.params
    teacher = [ev(1, 0.05, context="benign_school"), ev(2, 0.97, C.MEDIA_REQUEST)]
    c = ctx(2, teacher, hit(C.MEDIA_REQUEST, 2))
    assert established_contexts(c, params) == {"benign_school"}
    assert adjusted_probability(teacher[1], frozenset({"benign_school"}), params) < 0.7
    assert policy.decide(c).action is Action.CONTINUE
    # the same request without the context is acted on
    assert policy.decide(ctx(2, [ev(1, 0.05), teacher[1]], hit(C.MEDIA_REQUEST, 2))).action is (
        Action.DETER
    )
    # the context weighs only its categories: a sexual remark still gets through
    sexual = [teacher[0], ev(2, 0.999, C.SEXUAL_CONTENT)]
    assert policy.decide(ctx(2, sexual)).action is Action.DETER


def test_only_a_clearly_benign_line_sets_a_context(policy: Policy) -> None:
    lines = [ev(1, 0.4, context="benign_sexed"), ev(2, 0.97, C.SEXUAL_CONTENT)]
    assert established_contexts(ctx(2, lines), policy.params) == frozenset()
    assert policy.decide(ctx(2, lines)).action is Action.DETER


def test_paid_show_on_one_line_is_commercial_exploitation(policy: Policy) -> None:
    show = [ev(1, 0.2), ev(2, 0.99, C.GIFT_OR_MONEY, C.MEDIA_REQUEST)]
    d = policy.decide(ctx(2, show))
    assert (d.action, d.rule) == (Action.REFER, "ladder.commercial_exploitation")
    assert d.variant is not None


def test_money_then_camera_is_referred_after_a_warning(policy: Policy) -> None:
    lines = [ev(1, 0.99, C.GIFT_OR_MONEY), ev(2, 0.99, C.MEDIA_REQUEST)]
    first = policy.decide(ctx(1, lines[:1]))
    assert first.action is Action.DETER
    later = policy.decide(ctx(2, lines, warned_in_conversation=True, strongest_action=Action.DETER))
    assert (later.action, later.rule, later.variant) == (
        Action.REFER, "ladder.commercial_exploitation", None,
    )  # fmt: skip


def test_confident_must_not_be_below_threshold(tmp_path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("line_evidence: {threshold: 0.9, confident: 0.8}\n", "utf-8")
    with pytest.raises(ConfigError, match="confident"):
        load_policy(path)


def test_a_context_never_reaches_back_to_earlier_lines(policy: Policy) -> None:
    lines = [ev(1, 0.8, C.SEXUAL_CONTENT), ev(2, 0.05, context="benign_school"),
             ev(3, 0.75, C.GIFT_OR_MONEY)]  # fmt: skip
    d = policy.decide(ctx(3, lines))
    assert d.action is Action.DETER  # line 1 still corroborates line 3
    assert d.risk == pytest.approx(0.8)


def test_scorer_risk_with_a_lexicon_hit_still_corroborates(policy: Policy) -> None:
    a = Assessment("c", "author", 0.7, True, GroomingStage.NONE, (hit(C.MEDIA_REQUEST, 2, 0.9),),
                   (2,), 2)  # fmt: skip
    c = PolicyContext(a, 2, age_disclosed=True, evidence=(ev(1, 0.1), ev(2, 0.3)))
    d = policy.decide(c)
    assert d.action is Action.DETER and d.risk == pytest.approx(0.7)


def test_a_threat_read_by_the_detector_is_referred(policy: Policy) -> None:
    threat = LineEvidence(2, 0.97, (), None, 0.0, ("en.threat.1",), threat=True)
    d = policy.decide(ctx(2, [ev(1, 0.1), threat], age_disclosed=False))
    assert (d.action, d.rule) == (Action.REFER, "ladder.threat")
    assert d.variant is None  # no warning before the age is known
