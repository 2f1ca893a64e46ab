"""Neutral chat types, the ``ChatConnector`` protocol and the shared ``BaseConnector``.

A connector only translates a platform's wire events into :class:`InboundMessage` values and
:class:`Address` + text into wire messages; it decides nothing (``docs/architecture.md``). The
base class owns what all platforms share (after errbot's ``errbot/backends/base.py``):

- **reconnection** with exponential back-off and jitter (:class:`Backoff`);
- **outgoing rate limiting** with a token bucket (:class:`TokenBucket`), one per connector unless
  several connectors of the same platform share one;
- **splitting** of long texts at word boundaries below the platform's byte limit
  (:func:`split_text`);
- **the inbound queue**: only messages addressed to the persona (direct messages, and room messages
  that mention its nick) are queued; any other room message only increments
  ``stats.room_messages_ignored`` and is not kept anywhere (hard rule).

Subclasses implement :meth:`BaseConnector._run_session` (connect, call ``self._online()`` once
usable, return or raise when the connection ends), :meth:`BaseConnector._send_part` and
:meth:`BaseConnector._close_session`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar, Protocol, runtime_checkable

from tutela.connectors.messages import (  # re-exported: the values connectors produce
    Address,
    Capabilities,
    ConnectorStats,
    Identity,
    InboundMessage,
    OwnMessage,
)
from tutela.errors import ConnectorError

__all__ = [
    "Address",
    "AuthenticationError",
    "Backoff",
    "BaseConnector",
    "Capabilities",
    "ChatConnector",
    "ConnectorStats",
    "Identity",
    "InboundMessage",
    "OwnMessage",
    "TokenBucket",
    "mentions",
    "split_text",
]

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class AuthenticationError(ConnectorError):
    """The platform refused the persona's credentials. Not retried: reconnecting cannot help."""


# ---------------------------------------------------------------------------------------------
# Helpers


def mentions(text: str, nick: str) -> bool:
    """True when ``nick`` occurs in ``text`` as a whole word, ignoring case.

    "Word" means not preceded or followed by a letter, digit or underscore, so ``"mia:"``,
    ``"@mia"`` and ``"hi Mia!"`` mention ``mia`` but ``"mian"`` does not.
    """
    if not nick:
        return False
    pattern = r"(?<![\w])" + re.escape(nick.casefold()) + r"(?![\w])"
    return re.search(pattern, text.casefold()) is not None


def _utf8_prefix(word: str, limit: int) -> int:
    """Number of characters of ``word`` whose UTF-8 encoding fits in ``limit`` bytes (>= 1)."""
    size = 0
    for i, ch in enumerate(word):
        size += len(ch.encode("utf-8"))
        if size > limit:
            return max(i, 1)
    return len(word)


def split_text(text: str, max_bytes: int, *, keep_newlines: bool = True) -> list[str]:
    """Split ``text`` into parts of at most ``max_bytes`` UTF-8 bytes, at word boundaries.

    Whitespace between two parts is dropped; a word longer than ``max_bytes`` is cut at character
    boundaries. With ``keep_newlines=False`` every line becomes its own part(s) and no part
    contains ``\\r`` or ``\\n`` (IRC). Empty lines are dropped. An empty or blank ``text`` gives
    ``[]``. Raises ``ValueError`` if ``max_bytes < 4`` (one UTF-8 character must fit).
    """
    if max_bytes < 4:
        raise ValueError("max_bytes must be at least 4")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks = [text] if keep_newlines else text.split("\n")
    parts: list[str] = []
    for block in blocks:
        if len(block.encode("utf-8")) <= max_bytes:
            if block.strip():
                parts.append(block)
            continue
        current = ""
        for word in block.split():
            candidate = f"{current} {word}" if current else word
            if len(candidate.encode("utf-8")) <= max_bytes:
                current = candidate
                continue
            if current:
                parts.append(current)
            while len(word.encode("utf-8")) > max_bytes:
                cut = _utf8_prefix(word, max_bytes)
                parts.append(word[:cut])
                word = word[cut:]
            current = word
        if current:
            parts.append(current)
    return parts


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential back-off with jitter for reconnection.

    Delay before retry ``n`` (0-based) is ``min(maximum, initial * factor**n)`` scaled by a random
    factor in ``[1 - jitter, 1]`` ("equal jitter" when ``jitter=0.5``; M. Brooker, "Exponential
    Backoff And Jitter", AWS Architecture Blog, 2015). Seconds. The counter restarts after a
    session that came online. ``jitter=0`` gives deterministic delays (tests).
    """

    initial: float = 1.0
    factor: float = 2.0
    maximum: float = 60.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.initial < 0 or self.maximum < 0 or self.factor < 1 or not 0 <= self.jitter <= 1:
            raise ValueError("Backoff needs initial, maximum >= 0, factor >= 1, 0 <= jitter <= 1")

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        base = min(self.maximum, self.initial * self.factor ** min(attempt, 64))
        return base * (1.0 - self.jitter * rand())


class TokenBucket:
    """Outgoing rate limiter: on average ``rate`` messages per second, bursts of ``burst``.

    Share one instance between the connectors of one platform to limit them together.
    ``clock`` (monotonic seconds) and ``sleep`` are injectable for tests.
    """

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("TokenBucket needs rate > 0 and burst >= 1")
        self.rate = float(rate)
        self.burst = int(burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._last = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now

    async def acquire(self) -> None:
        """Wait until one message may be sent, then take its token."""
        async with self._lock:
            self._refill()
            while self._tokens < 1.0:
                await self._sleep((1.0 - self._tokens) / self.rate)
                self._refill()
            self._tokens -= 1.0


# ---------------------------------------------------------------------------------------------
# Protocol and base class


@runtime_checkable
class ChatConnector(Protocol):
    """What the engine uses: one persona account on one platform.

    ``name`` and ``capabilities`` are read-only (class attributes of a :class:`BaseConnector`).
    """

    @property
    def name(self) -> str: ...

    @property
    def capabilities(self) -> Capabilities: ...

    stats: ConnectorStats

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def inbound(self) -> AsyncIterator[InboundMessage | OwnMessage]: ...

    async def send(self, to: Address, text: str) -> None: ...


_STOP = object()


class BaseConnector(ABC):
    """Reconnection, rate limiting, splitting and the inbound queue for every connector.

    Parameters
    ----------
    account: the persona's own id on the platform.
    backoff: reconnection delays (default ``Backoff()``: 1 s doubling to 60 s, equal jitter).
    rate: outgoing messages per second (default: the class's ``default_rate``).
    burst: token-bucket size (default: the class's ``default_burst``).
    rate_limiter: a shared :class:`TokenBucket` (overrides ``rate``/``burst``).
    connect_timeout: seconds :meth:`start` waits for the first session (and :meth:`send` waits
        for a reconnection) before raising :class:`ConnectorError`.
    sleep, rand: injectable ``asyncio.sleep`` and ``random.random`` for the back-off (tests).
    now: injectable aware-UTC clock for ``received_at``.
    queue_size: bound of the inbound queue (a full queue applies back-pressure, never drops).
    """

    name: ClassVar[str] = "base"
    capabilities: ClassVar[Capabilities] = Capabilities(max_message_bytes=4096, supports_rooms=True)
    default_rate: ClassVar[float] = 2.0
    default_burst: ClassVar[int] = 5

    def __init__(
        self,
        *,
        account: str,
        backoff: Backoff | None = None,
        rate: float | None = None,
        burst: int | None = None,
        rate_limiter: TokenBucket | None = None,
        connect_timeout: float = 30.0,
        sleep: Sleep = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        queue_size: int = 1000,
    ) -> None:
        self.account = account
        self.backoff = backoff if backoff is not None else Backoff()
        self.rate_limiter = rate_limiter or TokenBucket(
            rate if rate is not None else self.default_rate,
            burst if burst is not None else self.default_burst,
        )
        self.connect_timeout = connect_timeout
        self.stats = ConnectorStats()
        self._sleep = sleep
        self._rand = rand
        self._now = now
        self._queue: asyncio.Queue[object] = asyncio.Queue(maxsize=queue_size)
        self._online_event = asyncio.Event()
        self._session_online = False
        self._stopping = False
        self._fatal: BaseException | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._in_backoff = False

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def online(self) -> bool:
        """True while a session is connected and usable."""
        return self._online_event.is_set()

    async def start(self) -> None:
        """Connect and keep connected; return once the first session is online.

        Raises :class:`AuthenticationError` if the credentials are refused and
        :class:`ConnectorError` if no session came online within ``connect_timeout`` seconds (the
        connector is stopped in both cases).
        """
        if self._supervisor is not None:
            return
        self._stopping = False
        self._supervisor = asyncio.create_task(self._supervise(), name=f"{self.name}-supervisor")
        try:
            await self._wait_online(self.connect_timeout)
        except ConnectorError:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Disconnect, stop reconnecting and end :meth:`inbound`. Idempotent."""
        self._stopping = True
        task, self._supervisor = self._supervisor, None
        if task is not None:
            if self._in_backoff:
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._close_session(), timeout=5.0)
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=5.0)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            except Exception:  # the supervisor logs its own errors
                pass
        self._online_event.clear()
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(_STOP)

    async def _wait_online(self, timeout: float) -> None:
        waiter = asyncio.create_task(self._online_event.wait())
        done: set[asyncio.Task[object]] = set()
        watched: list[asyncio.Task[object]] = [waiter]
        if self._supervisor is not None:
            watched.append(self._supervisor)
        try:
            done, _ = await asyncio.wait(
                watched, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waiter.cancel()
        if self._online_event.is_set():
            return
        if self._fatal is not None:
            raise self._fatal
        if not done:
            raise ConnectorError(
                f"{self.name}: not connected after {timeout} s"
                + (f" (last error: {self.stats.last_error})" if self.stats.last_error else "")
            )
        raise ConnectorError(f"{self.name}: connector stopped")

    async def _supervise(self) -> None:
        attempt = 0
        while not self._stopping:
            self._session_online = False
            try:
                await self._run_session()
            except AuthenticationError as e:
                self._fatal = e
                self.stats.last_error = str(e)
                log.error("%s: %s; not retrying", self.name, e)
                self._online_event.clear()
                return
            except asyncio.CancelledError:
                self._online_event.clear()
                raise
            except Exception as e:
                self.stats.last_error = f"{type(e).__name__}: {e}"
                log.warning("%s: session failed: %s", self.name, self.stats.last_error)
            self._online_event.clear()
            if self._stopping:
                return
            self.stats.connect_failures += 1
            if self._session_online:
                attempt = 0
            delay = self.backoff.delay(attempt, self._rand)
            attempt += 1
            log.info("%s: reconnecting in %.2f s (attempt %d)", self.name, delay, attempt)
            self._in_backoff = True
            try:
                await self._sleep(delay)
            finally:
                self._in_backoff = False

    def _online(self) -> None:
        """Subclasses call this once a session is usable (logged in, rooms joined)."""
        self._session_online = True
        self.stats.sessions += 1
        self._online_event.set()

    # -- inbound -------------------------------------------------------------------------------

    async def inbound(self) -> AsyncIterator[InboundMessage | OwnMessage]:
        """Messages addressed to the persona, and lines a human sent from another device of
        the account (:class:`OwnMessage`), in arrival order, until :meth:`stop`."""
        while True:
            item = await self._queue.get()
            if item is _STOP:
                return
            assert isinstance(item, InboundMessage | OwnMessage)
            yield item

    async def next_message(self, timeout: float | None = None) -> InboundMessage | OwnMessage:
        """The next queued item (see :meth:`inbound`); raises ``TimeoutError`` after ``timeout``
        seconds and :class:`ConnectorError` if the connector was stopped."""
        item = await asyncio.wait_for(self._queue.get(), timeout)
        if item is _STOP:
            self._queue.put_nowait(_STOP)
            raise ConnectorError(f"{self.name}: connector stopped")
        assert isinstance(item, InboundMessage | OwnMessage)
        return item

    async def _deliver(self, message: InboundMessage | OwnMessage) -> None:
        """Queue a message addressed to the persona, or an own line (subclasses call this)."""
        if isinstance(message, InboundMessage):
            self.stats.received += 1
        await self._queue.put(message)

    def _ignore_room_message(self) -> None:
        """Count a room message that does not address the persona; nothing of it is kept."""
        self.stats.room_messages_ignored += 1

    # -- outbound ------------------------------------------------------------------------------

    def _max_part_bytes(self, to: Address) -> int:
        """Largest UTF-8 payload of one wire message to ``to`` (subclasses refine per target)."""
        return self.capabilities.max_message_bytes

    async def send(self, to: Address, text: str) -> None:
        """Send ``text`` to ``to``, split at word boundaries below the platform's limit.

        Each part waits for the rate limiter. Waits up to ``connect_timeout`` seconds for a
        reconnection. Raises :class:`ConnectorError` if the address is for another platform, the
        connector is stopped or offline too long, or the platform refuses the message.
        """
        if to.platform != self.name:
            raise ConnectorError(f"{self.name}: cannot send to a {to.platform!r} address")
        if to.room is not None and not self.capabilities.supports_rooms:
            raise ConnectorError(f"{self.name}: rooms are not supported")
        parts = split_text(
            text, self._max_part_bytes(to), keep_newlines=self.capabilities.keeps_newlines
        )
        for part in parts:
            if self._stopping or self._supervisor is None:
                raise ConnectorError(f"{self.name}: connector is not running")
            if not self.online:
                await self._wait_online(self.connect_timeout)
            await self.rate_limiter.acquire()
            try:
                await self._send_part(to, part)
            except ConnectorError:
                raise
            except Exception as e:
                raise ConnectorError(f"{self.name}: sending failed: {e}") from e
            self.stats.sent_parts += 1
        self.stats.sent += 1

    # -- subclass hooks ------------------------------------------------------------------------

    @abstractmethod
    async def _run_session(self) -> None:
        """Connect, call ``self._online()`` when usable, and return (or raise) when the
        connection ends. Raise :class:`AuthenticationError` for refused credentials."""

    @abstractmethod
    async def _send_part(self, to: Address, text: str) -> None:
        """Send one part (already within the byte limit, no newline if the platform forbids)."""

    @abstractmethod
    async def _close_session(self) -> None:
        """Ask the current session, if any, to end so that ``_run_session`` returns."""
