"""Retry rules: pure backoff math, Retry-After parsing, and the one attempt loop.

The delay math is a pure function of the policy, the attempt number, the error and a
random number, so it is tested by table. Sleeping happens only in :func:`retry_call`;
:func:`instant_retries` zeroes every delay for tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Final, TypeVar

import attrs

from ._validate import int_validator
from .exceptions import APIError, MailStatsError, RateLimitError, TransportError

T = TypeVar("T")

#: Retries, 429s and cool-downs (INFO); a child of the ``asyncmailstats`` logger.
_log = logging.getLogger("asyncmailstats.retry")

#: HTTP statuses worth another attempt.
RETRYABLE_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504})


def _non_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{attribute.name} must be a number, got {type(value).__name__}"
        raise TypeError(msg)
    if not math.isfinite(value) or value < 0:
        msg = f"{attribute.name} must be a finite number >= 0, got {value}"
        raise ValueError(msg)


@attrs.frozen
class RetryPolicy:
    """How failed attempts are retried.

    Args:
        max_attempts: Attempts in all, the first included (1 disables retries).
        initial_delay: Upper bound of the first backoff, in seconds.
        max_delay: Cap on any backoff, in seconds.
        max_retry_after: The longest ``Retry-After`` we are willing to wait; a provider
            asking for more makes :class:`~asyncmailstats.RateLimitError` surface at once.
    """

    max_attempts: int = attrs.field(default=4, validator=int_validator(1))
    initial_delay: float = attrs.field(default=0.5, validator=_non_negative)
    max_delay: float = attrs.field(default=8.0, validator=_non_negative)
    max_retry_after: float = attrs.field(default=60.0, validator=_non_negative)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:  # noqa: PLR0911
    """Return the delay a ``Retry-After`` header asks for, in seconds, or ``None``.

    Accepts delta-seconds (``"3"``, ``"1.5"``) and HTTP dates; a date in the past means 0.
    Anything unparseable, negative or non-finite is ignored (``None``).
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds) or seconds < 0:
            return None
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def backoff(policy: RetryPolicy, attempt: int, rand: float) -> float:
    """Return the full-jitter delay after failed attempt number *attempt* (1-based).

    ``rand`` is a number in [0, 1): the delay is ``rand * min(max_delay,
    initial_delay * 2 ** (attempt - 1))``.
    """
    ceiling = min(policy.max_delay, policy.initial_delay * (2.0 ** min(attempt - 1, 62)))
    return rand * ceiling


def is_retryable(error: BaseException) -> bool:
    """Return whether *error* is worth another attempt."""
    if isinstance(error, TransportError):
        return True
    return isinstance(error, APIError) and error.status in RETRYABLE_STATUSES


def retry_delay(
    policy: RetryPolicy, attempt: int, error: BaseException, rand: float
) -> float | None:
    """Return how long to wait before the next attempt, or ``None`` to give up now.

    A ``Retry-After`` within ``max_retry_after`` is honoured, but never below
    ``rand * initial_delay`` (the first backoff step), so ``Retry-After: 0`` still waits
    a little; other retryable errors wait the full-jitter :func:`backoff`.

    Args:
        policy: The retry policy in force.
        attempt: How many attempts have failed so far (1 after the first).
        error: The error the last attempt raised.
        rand: A number in [0, 1) for the jitter.
    """
    if attempt >= policy.max_attempts or not is_retryable(error):
        return None
    if isinstance(error, RateLimitError) and error.retry_after is not None:
        if error.retry_after > policy.max_retry_after:
            return None
        # "Retry-After: 0" (or a date already past) must not mean a burst of instant
        # retries: the wait is at least the full jitter of the first backoff step.
        return max(error.retry_after, backoff(policy, 1, rand))
    return backoff(policy, attempt, rand)


_instant = False


@contextlib.contextmanager
def instant_retries() -> Iterator[None]:
    """Make every retry delay and rate-limit cool-down zero inside the ``with`` block.

    For tests: retries still happen, in the same number, without waiting.
    """
    global _instant  # noqa: PLW0603 - a process-wide testing switch, like stamina's
    previous = _instant
    _instant = True
    try:
        yield
    finally:
        _instant = previous


def delays_are_instant() -> bool:
    """Return whether :func:`instant_retries` is in force."""
    return _instant


class RetryHooks:
    """What the attempt loop reports to its owner; the defaults do nothing."""

    def on_retry(self, error: BaseException, delay: float) -> None:
        """Called before sleeping *delay* seconds for another attempt."""

    def on_rate_limited(self, error: RateLimitError, delay: float) -> None:
        """Called when a 429 arrives, with the delay that will follow."""

    def on_failure(self, error: BaseException) -> None:
        """Called when the error will propagate to the caller."""


async def retry_call(
    attempt_once: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    hooks: RetryHooks | None = None,
    rng: random.Random | None = None,
    label: str = "",
) -> T:
    """Run *attempt_once* until it succeeds or the policy says stop.

    The last error propagates with ``attempts`` set. ``CancelledError`` is never caught.
    """
    hooks = hooks or RetryHooks()
    draw = (rng or random).random
    attempt = 0
    while True:
        attempt += 1
        try:
            return await attempt_once()
        except MailStatsError as error:
            delay = retry_delay(policy, attempt, error, draw())
            if isinstance(error, RateLimitError):
                hooks.on_rate_limited(error, delay or 0.0)
            if delay is None:
                error.attempts = attempt
                hooks.on_failure(error)
                if attempt > 1:
                    _log.info(
                        "%s failed after %d attempts (%s: %s); giving up",
                        label,
                        attempt,
                        type(error).__name__,
                        error,
                    )
                raise
            hooks.on_retry(error, delay)
            _log.info(
                "%s failed on attempt %d (%s: %s); retrying in %.3f s",
                label,
                attempt,
                type(error).__name__,
                error,
                delay,
            )
        if not _instant and delay > 0:
            await asyncio.sleep(delay)
