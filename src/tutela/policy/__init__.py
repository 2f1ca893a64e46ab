"""Policy: parameters (YAML, validated) -> :class:`tutela.domain.Decision`; sends nothing.

Public API::

    params = load_policy(path_or_None)        # PolicyParams; ConfigError on a bad file
    policy = Policy(params)                   # or Policy.load(path_or_None)
    assigner = VariantAssigner(params)        # round-robin or seeded random deterrence variants
    decision = policy.decide(ctx, variant=assigner.peek())
    if decision.variant is not None:
        assigner.advance()

See :mod:`tutela.policy.ladder` for the rule ids and their order.
"""

from __future__ import annotations

from tutela.policy.context import PolicyContext
from tutela.policy.ladder import Policy, Signals, ladder_rules, signals
from tutela.policy.params import (
    CommercialParams,
    DeterrenceParams,
    LadderParams,
    PolicyParams,
    SolicitationParams,
    ThreatParams,
    default_policy_path,
    load_policy,
)
from tutela.policy.rules import AllOf, AnyOf, Rule, RuleResult
from tutela.policy.variants import VariantAssigner

__all__ = [
    "AllOf",
    "AnyOf",
    "CommercialParams",
    "DeterrenceParams",
    "LadderParams",
    "Policy",
    "PolicyContext",
    "PolicyParams",
    "Rule",
    "RuleResult",
    "Signals",
    "SolicitationParams",
    "ThreatParams",
    "VariantAssigner",
    "default_policy_path",
    "ladder_rules",
    "load_policy",
    "signals",
]
