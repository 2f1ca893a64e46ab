"""The live path: persona engines on chat connectors, the demo and the runner.

* :class:`PersonaEngine` (:mod:`tutela.live.engine`): one persona on one connector, from an
  inbound message to a guarded reply (record, score, decide, reply or deter, hand over, resume).
* :func:`run_demo` (:mod:`tutela.live.demo`, ``tutela demo``): a scripted contact over the
  in-memory connector; :func:`run_personas` (:mod:`tutela.live.runner`, ``tutela run``): the
  configured personas on real platforms.
* :func:`evaluate_live` (:mod:`tutela.live.scoring`): labelled scenarios through the live path.
* :class:`OperatorOutbox` (:mod:`tutela.live.takeover`): texts an operator queued for a
  conversation (dashboard takeover).

Both entry points build their store, signing key, detection and policy with
:mod:`tutela.runtime` (``docs/architecture.md``, "The runtime builder"). Names load on first
use, so importing one submodule does not import the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tutela.live.clock import Clock, SimulatedClock, WallClock
    from tutela.live.demo import Scenario, load_scenario, run_demo, shipped_scenarios
    from tutela.live.engine import Handled, PersonaEngine
    from tutela.live.runner import OperationConfig, RunConfig, load_run_config, run_personas
    from tutela.live.scoring import evaluate_live
    from tutela.live.takeover import OperatorOutbox, PersonaUnavailable, QueuedText

_WHERE = {
    "Clock": "clock",
    "SimulatedClock": "clock",
    "WallClock": "clock",
    "Scenario": "demo",
    "load_scenario": "demo",
    "run_demo": "demo",
    "shipped_scenarios": "demo",
    "Handled": "engine",
    "PersonaEngine": "engine",
    "OperationConfig": "runner",
    "RunConfig": "runner",
    "load_run_config": "runner",
    "run_personas": "runner",
    "evaluate_live": "scoring",
    "OperatorOutbox": "takeover",
    "PersonaUnavailable": "takeover",
    "QueuedText": "takeover",
}

__all__ = [
    "Clock",
    "Handled",
    "OperationConfig",
    "OperatorOutbox",
    "PersonaEngine",
    "PersonaUnavailable",
    "QueuedText",
    "RunConfig",
    "Scenario",
    "SimulatedClock",
    "WallClock",
    "evaluate_live",
    "load_run_config",
    "load_scenario",
    "run_demo",
    "run_personas",
    "shipped_scenarios",
]


def __getattr__(name: str) -> Any:
    """A public name, imported from its submodule on first use (PEP 562)."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'tutela.live' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"tutela.live.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
