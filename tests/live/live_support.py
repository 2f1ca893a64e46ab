"""Helpers of the live tests: a persona engine built the way ``tutela demo`` and ``tutela run``
build theirs, through :func:`tutela.runtime.build_live` and :meth:`LiveSystem.engine`."""

from __future__ import annotations

from typing import Any

from tutela.ledger import Signer
from tutela.live.engine import PersonaEngine
from tutela.runtime import Detection, LiveSystem, build_live, select_persona
from tutela.store import Store

PERSONA = "gb-ellie"


def live_engine(
    db: str | Store,
    connector: Any,
    detection: Detection,
    *,
    clock: Any = None,
    signer: Signer | None = None,
    persona: str = PERSONA,
    **options: Any,
) -> tuple[LiveSystem, PersonaEngine]:
    """A live system on ``db`` (a SQLite URL the system opens, or an open store it shares, e.g.
    to restart an engine on the same database) and one engine of the shipped ``persona`` on
    ``connector`` in the demo operation.

    ``clock``: a :class:`tutela.live.clock.SimulatedClock` for the recorder and the engine
    (``None``: real time). ``signer``: the recorder's signer (``None``: unsigned, so no test
    touches the user's ledger key). ``options``: more keyword arguments of ``PersonaEngine``
    (``delay_scale``, ``lang``, ...). Closing the system closes the store.
    """
    url, store = (db, None) if isinstance(db, str) else (db.url, db)
    system = build_live(
        url,
        detection=detection,
        signer=signer,
        store=store,
        clock=None if clock is None else clock.now,
    )
    engine = system.engine(
        PersonaEngine,
        connector=connector,
        persona=select_persona(persona),
        operation_id=system.recorder.ensure_demo_operation().id,
        clock=clock,
        **options,
    )
    return system, engine
