"""fan_out(): every outcome despite failures, order, lazy input, cancellation, input errors."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest

from asyncmailstats import Outcome, fan_out

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")


async def slow_square(n: int) -> int:
    """Square *n* after a number of loop turns that shrinks as n grows."""
    for _ in range(max(0, 30 - 3 * n)):
        await asyncio.sleep(0)
    if n == 3:
        raise ValueError(f"item {n} failed")
    return n * n


@pytest.mark.parametrize("ordered", [True, False])
async def test_one_failing_item_does_not_stop_the_others(ordered) -> None:
    """Every item gets an outcome; the failing one carries its error."""
    outcomes = [o async for o in fan_out(slow_square, range(10), concurrency=4, ordered=ordered)]
    assert sorted(o.item for o in outcomes) == list(range(10))
    by_item = {o.item: o for o in outcomes}
    failed = by_item.pop(3)
    assert isinstance(failed.error, ValueError)
    assert failed.value is None
    assert not failed.ok
    assert {item: o.value for item, o in by_item.items()} == {n: n * n for n in by_item}
    assert all(o.error is None and o.ok for o in by_item.values())


async def test_ordered_outcomes_follow_input_order() -> None:
    """With ordered=True outcomes come in input order even when later items finish first."""
    finished: list[int] = []

    async def work(n: int) -> int:
        await slow_square(n if n != 3 else 4)
        finished.append(n)
        return n

    outcomes = [o async for o in fan_out(work, range(10), concurrency=5, ordered=True)]
    assert [o.item for o in outcomes] == list(range(10))
    assert finished != sorted(finished), "items should finish out of order"


async def test_unordered_outcomes_come_as_they_finish() -> None:
    """With ordered=False an item that finishes first is yielded first."""

    async def work(n: int) -> int:
        for _ in range(10 if n == 0 else 0):
            await asyncio.sleep(0)
        return n

    outcomes = [o.item async for o in fan_out(work, [0, 1, 2], concurrency=3)]
    assert outcomes[-1] == 0
    assert sorted(outcomes) == [0, 1, 2]


async def test_concurrency_bounds_the_work_in_progress() -> None:
    """No more than `concurrency` calls run at once."""
    running = 0
    peak = 0

    async def work(n: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        for _ in range(3):
            await asyncio.sleep(0)
        running -= 1
        return n

    outcomes = [o async for o in fan_out(work, range(50), concurrency=7)]
    assert len(outcomes) == 50
    assert peak == 7


async def test_async_iterable_input_is_pulled_lazily(settle) -> None:
    """Before the first outcome is consumed, at most concurrency + 1 items have been pulled."""
    pulled = 0
    gate = asyncio.Event()

    async def items() -> AsyncIterator[int]:
        nonlocal pulled
        for n in range(1_000_000):
            pulled += 1
            yield n

    async def work(n: int) -> int:
        await gate.wait()
        return n

    async with fan_out(work, items(), concurrency=4) as outcomes:
        first = asyncio.create_task(anext(outcomes))
        await settle()  # give the feeder every chance to run ahead
        # Four items are being worked on and a fifth waits for a free slot.
        assert pulled == 4 + 1
        gate.set()
        await first
        await settle()
        # Consuming one outcome frees one slot: the window moves by a bounded amount.
        assert pulled == 4 + 1 + 1
        second = await anext(outcomes)
        assert second.item != first.result().item


async def test_infinite_plain_iterable_is_never_materialised() -> None:
    """An endless iterator works: outcomes stream while items are pulled on demand."""
    counter = itertools.count()

    async with fan_out(lambda n: n * 2, counter, concurrency=3, ordered=True) as outcomes:
        values = [(await anext(outcomes)).value for _ in range(10)]
    assert values == [n * 2 for n in range(10)]
    assert next(counter) <= 10 + 3 + 1


async def test_sync_functions_are_accepted() -> None:
    """A plain function works like a coroutine function, errors included."""

    def half(n: int) -> float:
        if n == 0:
            raise ZeroDivisionError
        return n / 2

    outcomes = [o async for o in fan_out(half, [0, 1, 2], ordered=True)]
    assert isinstance(outcomes[0].error, ZeroDivisionError)
    assert [o.value for o in outcomes[1:]] == [0.5, 1.0]


async def test_cancelling_the_consumer_cancels_the_workers(kit) -> None:
    """Cancelling the task consuming a fan-out cancels every call in progress."""
    started: list[int] = []
    cancelled: list[int] = []

    async def work(n: int) -> int:
        started.append(n)
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(n)
            raise
        return n

    async def consume() -> None:
        async for _ in fan_out(work, range(100), concurrency=5):
            pass

    task = asyncio.create_task(consume())
    await kit.until(lambda: len(started) == 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await kit.until(lambda: len(cancelled) == 5)
    assert sorted(cancelled) == [0, 1, 2, 3, 4]
    assert len(started) == 5


async def test_aclose_cancels_the_workers(kit) -> None:
    """aclose() cancels the calls still in progress and waits for them to stop."""
    started: list[int] = []
    cancelled: list[int] = []

    async def work(n: int) -> int:
        started.append(n)
        if n == 0:
            return n
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(n)
            raise
        return n

    outcomes = fan_out(work, range(10), concurrency=3)
    assert (await anext(outcomes)).item == 0
    await kit.until(lambda: len(started) == 4)  # item 3 took the freed slot
    await outcomes.aclose()
    assert sorted(cancelled) == [1, 2, 3]
    with pytest.raises(StopAsyncIteration):
        await anext(outcomes)


async def test_breaking_out_cancels_the_workers(settle) -> None:
    """Leaving the loop early (without aclose) still cancels the calls in progress."""
    cancelled: list[int] = []

    async def work(n: int) -> int:
        if n == 0:
            return n
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(n)
            raise
        return n

    async for outcome in fan_out(work, range(10), concurrency=3):
        assert outcome.item == 0
        await settle()
        break
    await settle()
    assert sorted(cancelled) == [1, 2, 3]


@pytest.mark.parametrize("ordered", [True, False])
async def test_error_pulling_async_items_surfaces_after_their_outcomes(ordered) -> None:
    """An error raised by the input surfaces after the outcomes of the items before it."""

    async def items() -> AsyncIterator[int]:
        yield 1
        yield 2
        raise OSError("input broke")

    async def work(n: int) -> int:
        for _ in range(20):  # slower than the failing input
            await asyncio.sleep(0)
        return n

    seen: list[int] = []
    with pytest.raises(OSError, match="input broke"):
        async for outcome in fan_out(work, items(), concurrency=4, ordered=ordered):
            seen.append(outcome.unwrap())
    assert sorted(seen) == [1, 2]


async def test_error_pulling_sync_items_surfaces() -> None:
    """An error raised by a plain iterator reaches the consumer."""

    def items():
        yield 1
        raise KeyError("no more")

    with pytest.raises(KeyError, match="no more"):
        async for _ in fan_out(lambda n: n, items()):
            pass


async def test_empty_input_yields_nothing() -> None:
    """No items, no outcomes."""
    assert [o async for o in fan_out(lambda n: n, [])] == []


def test_outcome_unwrap() -> None:
    """unwrap() returns the value of a success and raises the error of a failure."""
    assert Outcome("a", value=1).unwrap() == 1
    error = ValueError("bad")
    with pytest.raises(ValueError, match="bad") as caught:
        Outcome("b", error=error).unwrap()
    assert caught.value is error
    assert Outcome("c", value=None).unwrap() is None


@pytest.mark.parametrize(
    ("fn", "items", "options", "error"),
    [
        (None, [1], {}, TypeError),
        ("not callable", [1], {}, TypeError),
        (abs, 5, {}, TypeError),
        (abs, None, {}, TypeError),
        (abs, "abc", {}, TypeError),
        (abs, [1], {"concurrency": 0}, ValueError),
        (abs, [1], {"concurrency": -1}, ValueError),
        (abs, [1], {"concurrency": 2.0}, TypeError),
        (abs, [1], {"concurrency": True}, TypeError),
        (abs, [1], {"ordered": "yes"}, TypeError),
    ],
)
def test_bad_arguments_fail_at_the_call(fn, items, options, error) -> None:
    """fan_out() validates its arguments when called, before any work starts."""
    with pytest.raises(error):
        fan_out(fn, items, **options)
