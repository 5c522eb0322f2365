"""Retry rules: Retry-After parsing, full-jitter backoff, the delay decision, the attempt loop."""

from __future__ import annotations

import asyncio
import email.utils
import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncmailstats import RetryPolicy
from asyncmailstats._retry import (
    RETRYABLE_STATUSES,
    RetryHooks,
    backoff,
    is_retryable,
    parse_retry_after,
    retry_call,
    retry_delay,
)
from asyncmailstats.exceptions import (
    APIError,
    DecodeError,
    InvalidRequestError,
    MailStatsError,
    NotFoundError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    TransportError,
)
from asyncmailstats.testing import instant_retries

NOW = 1_700_000_000.0
POLICY = RetryPolicy(max_attempts=4, initial_delay=0.5, max_delay=8.0, max_retry_after=60.0)


def http_date(offset: float) -> str:
    return email.utils.formatdate(NOW + offset, usegmt=True)


def rate_limited(header: str | None) -> RateLimitError:
    return RateLimitError(
        "slow down", provider="test", retry_after=parse_retry_after(header, now=NOW)
    )


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param(None, None, id="absent"),
        pytest.param("", None, id="empty"),
        pytest.param("   ", None, id="blank"),
        pytest.param("0", 0.0, id="zero"),
        pytest.param("3", 3.0, id="seconds"),
        pytest.param(" 7 ", 7.0, id="seconds-padded"),
        pytest.param("1.5", 1.5, id="fractional-seconds"),
        pytest.param("120", 120.0, id="above-any-cap-still-parsed"),
        pytest.param("-1", None, id="negative"),
        pytest.param("-0.5", None, id="negative-fraction"),
        pytest.param("inf", None, id="infinite"),
        pytest.param("nan", None, id="not-a-number"),
        pytest.param("soon", None, id="garbage"),
        pytest.param(http_date(30), 30.0, id="http-date-future"),
        pytest.param(http_date(-30), 0.0, id="http-date-past"),
        pytest.param(http_date(0), 0.0, id="http-date-now"),
        pytest.param("Tue, 14 Nov 2023 22:13:50 -0000", None, id="http-date-without-zone"),
        pytest.param("Tue, 99 Nov 2023 22:13:50 GMT", None, id="http-date-invalid"),
    ],
)
def test_parse_retry_after_table(header: str | None, expected: float | None) -> None:
    """Retry-After is read as seconds or an HTTP date; negative or unparseable is ignored."""
    assert parse_retry_after(header, now=NOW) == expected


def test_parse_retry_after_uses_the_clock_without_now() -> None:
    """Without a fixed ``now``, an HTTP date is measured against the current time."""
    header = email.utils.formatdate(time.time() + 100, usegmt=True)
    delay = parse_retry_after(header)
    assert delay is not None
    assert 95 <= delay <= 100


@pytest.mark.parametrize(
    ("error", "attempt", "rand", "expected"),
    [
        pytest.param(rate_limited("3"), 1, 0.9, 3.0, id="retry-after-seconds"),
        pytest.param(rate_limited(http_date(12)), 1, 0.9, 12.0, id="retry-after-http-date"),
        pytest.param(rate_limited(http_date(-5)), 1, 0.9, 0.45, id="retry-after-past-date"),
        pytest.param(rate_limited("0"), 1, 0.5, 0.25, id="retry-after-0-first-step-jitter"),
        pytest.param(rate_limited("0"), 3, 0.5, 0.25, id="retry-after-0-floor-is-first-step"),
        pytest.param(rate_limited("0"), 1, 0.0, 0.0, id="retry-after-0-rand-0"),
        pytest.param(rate_limited("0.1"), 1, 0.9, 0.45, id="retry-after-below-floor"),
        pytest.param(rate_limited("0.4"), 1, 0.5, 0.4, id="retry-after-above-floor"),
        pytest.param(rate_limited("60"), 1, 0.9, 60.0, id="retry-after-at-cap"),
        pytest.param(rate_limited("61"), 1, 0.9, None, id="retry-after-above-cap"),
        pytest.param(rate_limited(http_date(3600)), 1, 0.9, None, id="date-above-cap"),
        pytest.param(rate_limited(None), 1, 0.5, 0.25, id="429-no-header-backoff"),
        pytest.param(rate_limited("-1"), 2, 0.5, 0.5, id="429-negative-header-backoff"),
        pytest.param(rate_limited("3"), 4, 0.5, None, id="429-out-of-attempts"),
        pytest.param(ServerError("boom", provider="t", status=503), 1, 0.5, 0.25, id="503-backoff"),
        pytest.param(ServerError("boom", provider="t", status=500), 3, 1.0, 2.0, id="500-third"),
        pytest.param(APIError("timeout", provider="t", status=408), 1, 1.0, 0.5, id="408"),
        pytest.param(TransportError("reset"), 2, 0.25, 0.25, id="transport-error"),
        pytest.param(RequestTimeoutError("slow"), 1, 0.0, 0.0, id="timeout"),
        pytest.param(ServerError("x", provider="t", status=501), 1, 0.5, None, id="501-no"),
        pytest.param(InvalidRequestError("x", provider="t", status=400), 1, 0.5, None, id="400"),
        pytest.param(NotFoundError("x", provider="t", status=404), 1, 0.5, None, id="404"),
        pytest.param(DecodeError("not json"), 1, 0.5, None, id="decode-error"),
        pytest.param(TransportError("reset"), 4, 0.5, None, id="out-of-attempts"),
    ],
)
def test_retry_delay_table(
    error: BaseException, attempt: int, rand: float, expected: float | None
) -> None:
    """The delay is Retry-After when within the cap, else full jitter; None means give up."""
    assert retry_delay(POLICY, attempt, error, rand) == expected


@pytest.mark.parametrize(
    ("initial", "maximum", "attempt", "ceiling"),
    [
        (0.5, 8.0, 1, 0.5),
        (0.5, 8.0, 2, 1.0),
        (0.5, 8.0, 3, 2.0),
        (0.5, 8.0, 4, 4.0),
        (0.5, 8.0, 5, 8.0),
        (0.5, 8.0, 6, 8.0),
        (0.5, 8.0, 10_000, 8.0),
        (1.0, 0.25, 1, 0.25),
        (0.0, 8.0, 7, 0.0),
        (0.1, 30.0, 4, 0.8),
    ],
)
def test_backoff_full_jitter_bounds_table(
    initial: float, maximum: float, attempt: int, ceiling: float
) -> None:
    """Backoff spans [0, min(max_delay, initial_delay * 2**(attempt-1))) linearly in rand."""
    policy = RetryPolicy(initial_delay=initial, max_delay=maximum)
    assert backoff(policy, attempt, 0.0) == 0.0
    assert backoff(policy, attempt, 0.5) == pytest.approx(ceiling / 2)
    assert backoff(policy, attempt, 0.999999) == pytest.approx(ceiling, rel=1e-5)
    assert backoff(policy, attempt, 0.999999) <= ceiling


@settings(derandomize=True, max_examples=200)
@given(
    attempt=st.integers(min_value=1, max_value=200),
    rand=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
    initial=st.floats(min_value=0.0, max_value=10.0),
    maximum=st.floats(min_value=0.0, max_value=100.0),
)
def test_backoff_never_leaves_its_bounds(
    attempt: int, rand: float, initial: float, maximum: float
) -> None:
    """Whatever the inputs, the jittered delay is between 0 and the capped ceiling."""
    policy = RetryPolicy(initial_delay=initial, max_delay=maximum)
    delay = backoff(policy, attempt, rand)
    assert 0.0 <= delay <= min(maximum, initial * 2.0 ** (attempt - 1))


@pytest.mark.parametrize("status", sorted(RETRYABLE_STATUSES))
def test_retryable_statuses(status: int) -> None:
    """Exactly 408, 429, 500, 502, 503 and 504 are retried among HTTP statuses."""
    assert is_retryable(APIError("x", provider="t", status=status))


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 501, 505])
def test_other_statuses_are_not_retryable(status: int) -> None:
    """Other 4xx and 5xx statuses are final."""
    assert not is_retryable(APIError("x", provider="t", status=status))


def test_retryable_statuses_are_exactly_the_documented_ones() -> None:
    """The retried set is the documented one, no more and no less."""
    assert frozenset({408, 429, 500, 502, 503, 504}) == RETRYABLE_STATUSES


class Recorder(RetryHooks):
    def __init__(self) -> None:
        self.retries: list[tuple[str, float]] = []
        self.rate_limited: list[float] = []
        self.failures: list[BaseException] = []

    def on_retry(self, error: BaseException, delay: float) -> None:
        self.retries.append((type(error).__name__, delay))

    def on_rate_limited(self, error: RateLimitError, delay: float) -> None:
        self.rate_limited.append(delay)

    def on_failure(self, error: BaseException) -> None:
        self.failures.append(error)


def failing(errors: list[BaseException], result: str = "ok") -> tuple[list[int], object]:
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(len(calls) + 1)
        if errors:
            raise errors.pop(0)
        return result

    return calls, attempt


async def test_retry_call_returns_after_transient_failures() -> None:
    """Transient errors are retried and the eventual success is returned."""
    calls, attempt = failing([TransportError("reset"), ServerError("x", provider="t", status=502)])
    hooks = Recorder()
    with instant_retries():
        result = await retry_call(attempt, POLICY, hooks=hooks, rng=random.Random(1))  # type: ignore[arg-type]
    assert result == "ok"
    assert calls == [1, 2, 3]
    assert [name for name, _ in hooks.retries] == ["TransportError", "ServerError"]
    assert hooks.failures == []


async def test_retry_call_jitter_comes_from_the_given_rng() -> None:
    """Delays are drawn from the supplied seeded generator, one draw per failed attempt."""
    errors: list[BaseException] = [TransportError("reset") for _ in range(3)]
    _, attempt = failing(errors)
    hooks = Recorder()
    with instant_retries():
        await retry_call(attempt, POLICY, hooks=hooks, rng=random.Random(42))  # type: ignore[arg-type]
    twin = random.Random(42)
    expected = [backoff(POLICY, n, twin.random()) for n in (1, 2, 3)]
    assert [delay for _, delay in hooks.retries] == expected


async def test_retry_call_sets_attempts_on_the_last_error() -> None:
    """When attempts run out the last error propagates with ``attempts`` set."""
    errors: list[BaseException] = [ServerError(f"n{n}", provider="t", status=500) for n in range(9)]
    calls, attempt = failing(errors)
    hooks = Recorder()
    with instant_retries(), pytest.raises(ServerError) as caught:
        await retry_call(attempt, POLICY, hooks=hooks)  # type: ignore[arg-type]
    assert caught.value.attempts == 4
    assert caught.value.message == "n3"
    assert calls == [1, 2, 3, 4]
    assert hooks.failures == [caught.value]


async def test_retry_after_above_the_cap_surfaces_at_once() -> None:
    """A 429 asking for longer than max_retry_after raises without another attempt."""
    calls, attempt = failing([rate_limited("600")])
    hooks = Recorder()
    with pytest.raises(RateLimitError) as caught:
        await retry_call(attempt, POLICY, hooks=hooks)  # type: ignore[arg-type]
    assert calls == [1]
    assert caught.value.attempts == 1
    assert caught.value.retry_after == 600.0
    assert hooks.rate_limited == [0.0]


async def test_rate_limit_reports_the_delay_it_will_wait() -> None:
    """A retried 429 is reported to the hooks with the Retry-After it will honour."""
    _, attempt = failing([rate_limited("7")])
    hooks = Recorder()
    with instant_retries():
        await retry_call(attempt, POLICY, hooks=hooks)  # type: ignore[arg-type]
    assert hooks.rate_limited == [7.0]
    assert hooks.retries == [("RateLimitError", 7.0)]


async def test_non_retryable_error_is_raised_after_one_attempt() -> None:
    """A 404 is not retried."""
    calls, attempt = failing([NotFoundError("gone", provider="t", status=404)])
    with pytest.raises(NotFoundError) as caught:
        await retry_call(attempt, POLICY)  # type: ignore[arg-type]
    assert calls == [1]
    assert caught.value.attempts == 1


async def test_foreign_exceptions_are_not_retried() -> None:
    """An exception outside the error tree (a bug, say) propagates at once, untouched."""
    calls, attempt = failing([KeyError("oops")])
    with pytest.raises(KeyError):
        await retry_call(attempt, POLICY)  # type: ignore[arg-type]
    assert calls == [1]


async def test_cancelled_error_is_never_retried() -> None:
    """CancelledError raised by an attempt goes straight through the loop."""
    calls, attempt = failing([asyncio.CancelledError()])
    with pytest.raises(asyncio.CancelledError):
        await retry_call(attempt, POLICY)  # type: ignore[arg-type]
    assert calls == [1]


async def test_retry_call_waits_the_retry_after_delay() -> None:
    """Outside instant_retries the loop really waits the delay before the next attempt."""
    stamps: list[float] = []
    errors: list[BaseException] = [rate_limited("0.05")]

    async def attempt() -> str:
        stamps.append(time.monotonic())
        if errors:
            raise errors.pop(0)
        return "ok"

    assert await retry_call(attempt, POLICY) == "ok"
    assert stamps[1] - stamps[0] >= 0.05 - 0.002


async def test_instant_retries_skips_every_delay() -> None:
    """Inside instant_retries even a 50-second Retry-After is not waited for."""
    errors: list[BaseException] = [rate_limited("50"), rate_limited("50")]
    calls, attempt = failing(errors)
    with instant_retries():
        async with asyncio.timeout(5):
            assert await retry_call(attempt, POLICY) == "ok"  # type: ignore[arg-type]
    assert calls == [1, 2, 3]


def test_instant_retries_restores_the_previous_setting() -> None:
    """The switch is off again after the block, also when nested."""
    from asyncmailstats._retry import delays_are_instant  # noqa: PLC0415

    assert not delays_are_instant()
    with instant_retries():
        with instant_retries():
            assert delays_are_instant()
        assert delays_are_instant()
    assert not delays_are_instant()


def test_mailstats_error_attempts_defaults_to_none() -> None:
    """An error that never went through the loop has no attempt count."""
    assert MailStatsError("x").attempts is None


class _FixedRandom(random.Random):
    """A random source whose every draw is the same number."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


async def test_retry_after_zero_still_waits_the_first_step_jitter() -> None:
    """A 429 with Retry-After: 0 waits rand * initial_delay before the next attempt."""
    policy = RetryPolicy(max_attempts=2, initial_delay=0.1, max_delay=8.0)
    stamps: list[float] = []
    errors: list[BaseException] = [rate_limited("0")]

    async def attempt() -> str:
        stamps.append(time.monotonic())
        if errors:
            raise errors.pop(0)
        return "ok"

    assert await retry_call(attempt, policy, rng=_FixedRandom(0.9)) == "ok"
    assert stamps[1] - stamps[0] >= 0.09 - 0.002


async def test_instant_retries_zeroes_the_retry_after_floor() -> None:
    """Inside instant_retries the floor under Retry-After: 0 is not waited for either."""
    policy = RetryPolicy(max_attempts=3, initial_delay=50.0, max_delay=60.0)
    errors: list[BaseException] = [rate_limited("0"), rate_limited("0")]
    calls, attempt = failing(errors)
    with instant_retries():
        async with asyncio.timeout(5):
            assert await retry_call(attempt, policy, rng=_FixedRandom(0.9)) == "ok"  # type: ignore[arg-type]
    assert calls == [1, 2, 3]
