"""Clocks for the live engine: the wall clock, and a simulated one for ``tutela demo`` and tests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "SimulatedClock", "WallClock"]


class Clock(Protocol):
    """Source of aware UTC instants and of (possibly simulated) waiting."""

    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class WallClock:
    """Real time: ``now`` is ``datetime.now(UTC)``, ``sleep`` really waits."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class SimulatedClock:
    """Time that only moves when told: ``sleep`` advances it instantly (typing delays are recorded
    in timestamps, not waited for)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)
        if self._now.tzinfo is None:
            raise ValueError("SimulatedClock needs an aware start time")

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=max(0.0, seconds))

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        await asyncio.sleep(0)
