"""The shadow policy on the live path: a candidate policy decides beside the active one after
every inbound message, and what it would have done is recorded (``shadow_decisions``,
``tutela.store.queries.shadow``). It never acts: no send, no case change, no ledger decision,
no advance of the deterrence rotation.

The shadow policy decides on the very :class:`~tutela.policy.PolicyContext` the active policy
decided on. Its repeat-contact history (prior warnings, a warning in this conversation, the
strongest action so far) is therefore the *active* policy's: a shadow policy sees what the active
policy did, not what it would itself have done (a known limit: a stricter shadow policy's
second-warning escalations are undercounted, a looser one's overcounted). Its warning variant is
the one the active rotation would give next when the shadow policy configures it, else its own
first variant.

A failing shadow policy (or a failing write of its decision) never breaks the live path: the
error is logged (``shadow.failed``) and counted (:attr:`ShadowEvaluator.failures`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from tutela.domain import Decision
from tutela.policy import PolicyContext
from tutela.store import Recorder
from tutela.store.queries.shadow import ShadowRecord, record_shadow

if TYPE_CHECKING:
    from tutela.runtime import ShadowPolicy

__all__ = ["ShadowEvaluator"]

log = structlog.get_logger("tutela.live.shadow")


class ShadowEvaluator:
    """Evaluates ``shadow`` (a :class:`tutela.runtime.ShadowPolicy`) beside the active policy and
    records its decisions through ``recorder``. ``evaluated``: decisions recorded; ``failures``:
    evaluations or writes that raised (logged, never propagated)."""

    def __init__(self, recorder: Recorder, shadow: ShadowPolicy) -> None:
        self.recorder = recorder
        self.shadow = shadow
        self.evaluated = 0
        self.failures = 0

    def observe(
        self,
        ctx: PolicyContext,
        variant: str | None,
        *,
        message_id: int,
        conversation_id: int,
        active: Decision,
    ) -> ShadowRecord | None:
        """Decide with the shadow policy on ``ctx`` (``variant``: the active rotation's next
        variant) and record it beside ``active``; ``None`` when it failed (module docstring)."""
        policy = self.shadow.policy
        try:
            own = variant if variant in policy.params.deterrence.variants else None
            decision = policy.decide(ctx, variant=own)
            record = record_shadow(
                self.recorder,
                message_id=message_id,
                conversation_id=conversation_id,
                policy_sha256=self.shadow.sha256,
                policy_name=self.shadow.name,
                action=decision.action.value,
                variant=decision.variant,
                rule=decision.rule,
                active_action=active.action.value,
                active_variant=active.variant,
            )
        except Exception:  # never the live path's problem
            self.failures += 1
            report = log.exception if self.failures == 1 else log.warning  # one traceback
            report(
                "shadow.failed",
                conversation=conversation_id,
                policy=self.shadow.sha256[:12],
                failures=self.failures,
            )
            return None
        self.evaluated += 1
        return record
