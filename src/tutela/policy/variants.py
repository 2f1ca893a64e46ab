"""Deterrence-variant assignment, kept apart so that ``Policy.decide`` stays pure.

Usage in the engine::

    decision = policy.decide(ctx, variant=assigner.peek())
    if decision.variant is not None:   # a warning is sent
        assigner.advance()

``peek`` does not consume; ``advance`` consumes the peeked variant. ``round_robin`` cycles through
``deterrence.variants`` in order; ``random`` draws uniformly from a ``random.Random(seed)``, so a
run is reproducible. Neither is persisted: pass ``issued`` (warnings already sent, e.g. counted in
the store) to resume the same sequence after a restart.

While a deterrence trial is active the assigner's variant is replaced before the decision is
recorded (``tutela.live.actions.Actions.trial_decision``): by the contact's allocated arm
(:mod:`tutela.policy.trial`) in an evidential operation, by the default variant (the first of
``deterrence.variants``) in a non-evidential one. The assigner still advances once per warning,
so its rotation resumes from the store's warning count as before.
"""

from __future__ import annotations

import random

from tutela.errors import InputError
from tutela.policy.params import DeterrenceParams, PolicyParams

__all__ = ["VariantAssigner"]


class VariantAssigner:
    """Stateful chooser of the next deterrence variant.

    Parameters
    ----------
    params: policy parameters (or just their ``deterrence`` section).
    issued: assignments already made (>= 0); the sequence is fast-forwarded past them.

    Raises
    ------
    InputError
        ``issued < 0``.
    """

    def __init__(self, params: PolicyParams | DeterrenceParams, *, issued: int = 0) -> None:
        self.params = params.deterrence if isinstance(params, PolicyParams) else params
        if issued < 0:
            raise InputError(f"issued must be >= 0, got {issued}")
        self._rng = random.Random(self.params.seed)
        self._count = 0
        self._pending: str | None = None
        for _ in range(issued):
            self.advance()

    @property
    def issued(self) -> int:
        """Assignments made so far (including ``issued`` given at construction)."""
        return self._count

    def peek(self) -> str:
        """The variant the next warning gets; does not consume it."""
        if self._pending is None:
            variants = self.params.variants
            if self.params.assignment == "round_robin":
                self._pending = variants[self._count % len(variants)]
            else:
                self._pending = self._rng.choice(variants)
        return self._pending

    def advance(self) -> str:
        """Consume and return the next variant (the one ``peek`` showed)."""
        variant = self.peek()
        self._pending = None
        self._count += 1
        return variant

    def next(self) -> str:
        """Alias of :meth:`advance`."""
        return self.advance()
