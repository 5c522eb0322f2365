"""Per-provider concurrency slots, optional request rate, and the shared 429 cool-down.

A request takes a slot *before* its per-attempt timeout starts, so time spent queueing
never times a request out. A 429 sets a cool-down that every request of that provider
waits out before taking the network again, and (when adaptive) halves the provider's
effective concurrency, which then grows back by one slot per window of successes.

A lowered limit holds at once: a request that was handed a slot under the old limit but
has not been sent yet gives it back and queues again, ahead of later requests. Without
that, the requests holding slots through a cool-down would all start together when it
ends, as many as the old limit allowed, and meet the provider's ceiling again.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import math
import time
from typing import Any

import attrs

from ._retry import delays_are_instant

#: Changes of the adaptive concurrency limit; a child of the ``asyncmailstats`` logger.
_log = logging.getLogger("asyncmailstats.limits")


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
            A burst of 429s answering requests sent under the same limit halves it once.
    """

    max_concurrency: int = attrs.field(default=16, validator=_check_concurrency)
    max_rate: float | None = attrs.field(default=None, validator=_check_rate)
    adaptive: bool = attrs.field(default=True, validator=attrs.validators.instance_of(bool))


class Limiter:
    """Hands out concurrency slots for one provider client, first come first served.

    ``epoch`` counts the adaptive decreases so far. :meth:`acquire` returns the epoch a
    request is sent in, so a 429 (or a success) of a request sent under an older, higher
    limit can be told apart from one sent under the current limit.
    """

    def __init__(self, limits: Limits, *, name: str = "") -> None:
        self.limits = limits
        #: The provider's name, for log lines.
        self.name = name
        self.limit = limits.max_concurrency
        self.in_flight = 0
        self.peak_in_flight = 0
        self.waiting = 0
        self.epoch = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        # Waiters that gave back a slot taken before the limit came down: served first.
        self._returned: collections.deque[asyncio.Future[None]] = collections.deque()
        self._resume_at = 0.0
        self._next_start = 0.0
        self._interval = 1.0 / limits.max_rate if limits.max_rate else 0.0
        self._rate_lock = asyncio.Lock()
        self._successes = 0

    def try_acquire(self) -> bool:
        """Take a slot at once if nothing stands in the way, and return whether it did.

        The uncontended path awaits nothing: it succeeds only when a slot is free, nobody
        is queued for one, no cool-down is in force and no request rate is set.
        """
        if (
            self.in_flight >= self.limit
            or self._waiters
            or self._returned
            or self._interval
            or (self._resume_at > time.monotonic() and not delays_are_instant())
        ):
            return False
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        return True

    async def acquire(self) -> int:
        """Wait for a free slot, then for any cool-down and the rate limit.

        Returns:
            The epoch the request goes out in (see :meth:`decrease`).
        """
        if self.try_acquire():
            return self.epoch
        self.waiting += 1
        try:
            await self._take_slot(self._waiters)
            while True:
                try:
                    await self._wait_cool_down()
                except BaseException:
                    self.release()
                    raise
                if self.in_flight <= self.limit:
                    break
                # The limit came down while this slot was handed over or waited out a
                # cool-down: keeping it would send more than the new limit allows at
                # once. Give it back and queue again, ahead of later requests.
                self.release()
                await self._take_slot(self._returned)
            if self._interval:
                try:
                    await self._wait_rate()
                except BaseException:
                    self.release()
                    raise
        finally:
            self.waiting -= 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        return self.epoch

    async def _take_slot(self, queue: collections.deque[asyncio.Future[None]]) -> None:
        if not self._waiters and not self._returned and self.in_flight < self.limit:
            self.in_flight += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the slot was handed over just as we were cancelled
            elif waiter in queue:  # release() may have dropped it already
                queue.remove(waiter)
            raise

    async def _wait_cool_down(self) -> None:
        # A cool-down is a retry delay (zeroed by instant_retries).
        while not delays_are_instant():
            remaining = self._resume_at - time.monotonic()
            if remaining <= 0:
                break
            await asyncio.sleep(remaining)

    async def _wait_rate(self) -> None:
        # The rate is a limit, kept under instant_retries too. One request at a time
        # waits for its turn (first come, first served), and the next turn is measured
        # from the actual start: a late wake-up must not let the requests queued behind
        # it start in a burst.
        async with self._rate_lock:
            delay = self._next_start - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self._next_start = time.monotonic() + self._interval

    def release(self) -> None:
        """Give a slot back and hand it to the longest waiter, if the limit allows."""
        self.in_flight -= 1
        if not self._waiters and not self._returned:
            return
        while self.in_flight < self.limit:
            if self._returned:
                waiter = self._returned.popleft()
            elif self._waiters:
                waiter = self._waiters.popleft()
            else:
                break
            if not waiter.done():
                self.in_flight += 1
                waiter.set_result(None)

    def cool_down(self, seconds: float) -> None:
        """Hold every request of this provider back for *seconds* from now."""
        if seconds > 0:
            self._resume_at = max(self._resume_at, time.monotonic() + seconds)

    def decrease(self, epoch: int) -> None:
        """React to a 429 answering a request sent in *epoch*: halve an adaptive limit.

        Only a request sent under the current limit says that limit is too high. The
        429s of requests sent before the last decrease were caused by the higher limit
        that decrease already corrected, so they change nothing: a burst of 429s halves
        the limit once, not once per answer.
        """
        if not self.limits.adaptive or epoch != self.epoch:
            return
        self.epoch += 1
        before, self.limit = self.limit, max(1, self.limit // 2)
        self._successes = 0
        if self.limit != before:
            _log.info(
                "%s: concurrency limit lowered from %d to %d after a 429 (configured %d)",
                self.name,
                before,
                self.limit,
                self.limits.max_concurrency,
            )

    def record_success(self, epoch: int) -> None:
        """Count a success; grow an adaptively lowered limit by one after enough of them.

        Only successes of requests sent under the current limit count: those sent before
        the last decrease say nothing about whether the lowered limit can grow.
        """
        if self.limit >= self.limits.max_concurrency or epoch != self.epoch:
            return
        self._successes += 1
        if self._successes >= self.limit:
            self._successes = 0
            self.limit += 1
            _log.log(
                logging.INFO if self.limit == self.limits.max_concurrency else logging.DEBUG,
                "%s: concurrency limit raised to %d (configured %d)",
                self.name,
                self.limit,
                self.limits.max_concurrency,
            )
            self.release_pending()

    def release_pending(self) -> None:
        """Wake waiters that a raised limit now admits."""
        self.in_flight += 1
        self.release()
