"""Lock the public names of tutela.policy (the live engine imports them)."""

from __future__ import annotations

import tutela.policy

EXPECTED = {
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
}


def test_public_names() -> None:
    assert set(tutela.policy.__all__) == EXPECTED
    for name in EXPECTED:
        assert getattr(tutela.policy, name) is not None
