"""Per-provider concurrency slots, optional request rate, and the shared 429 cool-down.

A request takes a slot *before* its per-attempt timeout starts, so time spent queueing
never times a request out. A 429 sets a cool-down that every request of that provider
waits out before taking the network again, and (when adaptive) halves the provider's
effective concurrency, which then grows back by one slot per window of successes.
"""

from __future__ import annotations

import asyncio
import collections
import math
import time
from types import TracebackType
from typing import Any

import attrs

from ._retry import delays_are_instant


def _check_concurrency(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{attribute.name} must be an int, got {type(value).__name__}"
        raise TypeError(msg)
    if value < 1:
        msg = f"{attribute.name} must be at least 1, got {value}"
        raise ValueError(msg)


def _check_rate(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{attribute.name} must be a number or None, got {type(value).__name__}"
        raise TypeError(msg)
    if not math.isfinite(value) or value <= 0:
        msg = f"{attribute.name} must be a finite number > 0, got {value}"
        raise ValueError(msg)


@attrs.frozen
class Limits:
    """How hard one provider client may hit its provider.

    Args:
        max_concurrency: Requests in flight at once, at most.
        max_rate: Requests started per second, at most (``None``: no rate limit).
        adaptive: On a 429, halve the effective concurrency (never below 1) and grow it
            back by one slot after each run of successes as long as the current limit.
    """

    max_concurrency: int = attrs.field(default=16, validator=_check_concurrency)
    max_rate: float | None = attrs.field(default=None, validator=_check_rate)
    adaptive: bool = attrs.field(default=True, validator=attrs.validators.instance_of(bool))


class Limiter:
    """Hands out concurrency slots for one provider client, first come first served."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.limit = limits.max_concurrency
        self.in_flight = 0
        self.peak_in_flight = 0
        self.waiting = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._resume_at = 0.0
        self._next_start = 0.0
        self._interval = 1.0 / limits.max_rate if limits.max_rate else 0.0
        self._rate_lock = asyncio.Lock()
        self._successes = 0

    def slot(self) -> _Slot:
        """Return an async context manager holding one slot for its duration."""
        return _Slot(self)

    async def acquire(self) -> None:
        """Wait for a free slot, then for any cool-down and the rate limit."""
        self.waiting += 1
        try:
            await self._take_slot()
            try:
                await self._wait_turn()
            except BaseException:
                self.release()
                raise
        finally:
            self.waiting -= 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    async def _take_slot(self) -> None:
        if not self._waiters and self.in_flight < self.limit:
            self.in_flight += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the slot was handed over just as we were cancelled
            elif waiter in self._waiters:  # release() may have dropped it already
                self._waiters.remove(waiter)
            raise

    async def _wait_turn(self) -> None:
        # A cool-down is a retry delay (zeroed by instant_retries); the rate is a limit.
        while not delays_are_instant():
            remaining = self._resume_at - time.monotonic()
            if remaining <= 0:
                break
            await asyncio.sleep(remaining)
        if self._interval:
            # One request at a time waits for its turn (first come, first served), and
            # the next turn is measured from the actual start: a late wake-up must not
            # let the requests queued behind it start in a burst.
            async with self._rate_lock:
                delay = self._next_start - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                self._next_start = time.monotonic() + self._interval

    def release(self) -> None:
        """Give a slot back and hand it to the longest waiter, if the limit allows."""
        self.in_flight -= 1
        while self._waiters and self.in_flight < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.in_flight += 1
                waiter.set_result(None)

    def cool_down(self, seconds: float) -> None:
        """Hold every request of this provider back for *seconds* from now."""
        if seconds > 0:
            self._resume_at = max(self._resume_at, time.monotonic() + seconds)
        if self.limits.adaptive:
            self.limit = max(1, self.limit // 2)
            self._successes = 0

    def record_success(self) -> None:
        """Count a success; grow an adaptively lowered limit by one after enough of them."""
        if self.limit >= self.limits.max_concurrency:
            return
        self._successes += 1
        if self._successes >= self.limit:
            self._successes = 0
            self.limit += 1
            self.release_pending()

    def release_pending(self) -> None:
        """Wake waiters that a raised limit now admits."""
        self.in_flight += 1
        self.release()


class _Slot:
    __slots__ = ("_limiter",)

    def __init__(self, limiter: Limiter) -> None:
        self._limiter = limiter

    async def __aenter__(self) -> None:
        await self._limiter.acquire()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._limiter.release()
