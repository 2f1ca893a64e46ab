"""Rule composites: first-match AnyOf, strongest AllOf, empty composites fail closed."""

from __future__ import annotations

from tutela.domain import Action, Assessment, GroomingStage
from tutela.policy import AllOf, AnyOf, Policy, PolicyContext, PolicyParams, Rule, RuleResult


class UnsafeAlways:
    """Test-only: fires unconditionally with ``action``."""

    def __init__(self, action: Action, rule_id: str = "unsafe.always") -> None:
        self.action = action
        self.rule_id = rule_id

    def evaluate(self, ctx: PolicyContext) -> RuleResult | None:
        return RuleResult(self.action, self.rule_id, "Unsafe test rule fired.")


class UnsafeNever:
    """Test-only: never fires."""

    def evaluate(self, ctx: PolicyContext) -> RuleResult | None:
        return None


CTX = PolicyContext(
    assessment=Assessment(
        subject="c", kind="conversation", risk=0.0, label=False, stage=GroomingStage.NONE
    ),
    line=1,
)


def test_protocol_is_structural() -> None:
    assert isinstance(UnsafeAlways(Action.DETER), Rule)
    assert isinstance(AnyOf([]), Rule) and isinstance(AllOf([]), Rule)


def test_empty_composites_fail_closed() -> None:
    assert AnyOf([]).evaluate(CTX) is None
    assert AllOf([]).evaluate(CTX) is None
    assert AllOf([AllOf([]), UnsafeAlways(Action.DETER)]).evaluate(CTX) is None
    assert AnyOf([AnyOf([])]).evaluate(CTX) is None


def test_any_of_is_first_match() -> None:
    rule = AnyOf([UnsafeNever(), UnsafeAlways(Action.DETER, "a"), UnsafeAlways(Action.REFER, "b")])
    result = rule.evaluate(CTX)
    assert result is not None and result.rule_id == "a"


def test_all_of_needs_every_child_and_returns_the_strongest() -> None:
    assert AllOf([UnsafeAlways(Action.REFER), UnsafeNever()]).evaluate(CTX) is None
    result = AllOf(
        [
            UnsafeAlways(Action.DETER, "d"),
            UnsafeAlways(Action.REFER, "r1"),
            UnsafeAlways(Action.REFER, "r2"),
        ]
    ).evaluate(CTX)
    assert result is not None and result.rule_id == "r1"


def test_policy_with_empty_rule_set_continues() -> None:
    d = Policy(PolicyParams(), rules=AnyOf([])).decide(CTX)
    assert (d.action, d.rule, d.variant) == (Action.CONTINUE, "none", None)


def test_policy_uses_custom_rules() -> None:
    d = Policy(rules=UnsafeAlways(Action.ESCALATE)).decide(CTX)
    assert (d.action, d.rule, d.variant) == (Action.ESCALATE, "unsafe.always", None)
