"""Rules and their composites (after sigstore-python's ``sigstore/verify/policy.py``).

A :class:`Rule` has one method, ``evaluate(ctx) -> RuleResult | None``: a result means the rule
*fires* (passes) and proposes an action; ``None`` means it does not apply. Composites:

- :class:`AnyOf` fires with the result of its first child that fires (children are in priority
  order, so an ``AnyOf`` is a first-match rule list such as the ladder).
- :class:`AllOf` fires only when every child fires, with the strongest child result (highest
  ``Action.rank``; the first one on ties).

An empty composite fails closed: ``AnyOf([])`` and ``AllOf([])`` never fire, so a mis-built rule set
cannot turn into "everything passes". Permissive rules used only in tests are named ``Unsafe...``
and live in the tests, never in the package.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from tutela.domain import Action
from tutela.policy.context import PolicyContext

__all__ = ["AllOf", "AnyOf", "Rule", "RuleResult"]


@dataclass(frozen=True, slots=True)
class RuleResult:
    """What a firing rule proposes.

    Attributes
    ----------
    action: the proposed action.
    rule_id: stable id, e.g. ``"ladder.first_solicitation"`` (recorded in ``Decision.rule``).
    reason: one sentence for the audit log, naming the indicators, risk and rule.
    warn: a deterrence warning is sent with this action (the policy then sets ``Decision.variant``).
    """

    action: Action
    rule_id: str
    reason: str
    warn: bool = False


@runtime_checkable
class Rule(Protocol):
    """One policy rule: a pure function of the context."""

    def evaluate(self, ctx: PolicyContext) -> RuleResult | None:
        """Return a result when the rule fires, ``None`` when it does not apply."""
        ...


class AnyOf:
    """Fires with the first child's result that fires; an empty ``AnyOf`` never fires."""

    __slots__ = ("children",)

    def __init__(self, children: Iterable[Rule]) -> None:
        self.children: tuple[Rule, ...] = tuple(children)

    def evaluate(self, ctx: PolicyContext) -> RuleResult | None:
        for child in self.children:
            result = child.evaluate(ctx)
            if result is not None:
                return result
        return None

    def __repr__(self) -> str:
        return f"AnyOf({list(self.children)!r})"


class AllOf:
    """Fires when every child fires, with the strongest result; an empty ``AllOf`` never fires."""

    __slots__ = ("children",)

    def __init__(self, children: Iterable[Rule]) -> None:
        self.children: tuple[Rule, ...] = tuple(children)

    def evaluate(self, ctx: PolicyContext) -> RuleResult | None:
        if not self.children:
            return None  # fail closed
        results: list[RuleResult] = []
        for child in self.children:
            result = child.evaluate(ctx)
            if result is None:
                return None
            results.append(result)
        return max(results, key=lambda r: r.action.rank)  # max() keeps the first on ties

    def __repr__(self) -> str:
        return f"AllOf({list(self.children)!r})"
