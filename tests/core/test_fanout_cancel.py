"""fan_out() and cancellations: ones it did not cause become outcomes, its own stay silent."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from asyncmailstats import Outcome, fan_out

pytestmark = pytest.mark.usefixtures("no_loop_errors", "no_leaked_tasks")

#: Seconds a test gives the fan-out before failing: a hang fails fast instead of timing out.
LIMIT = 5
ITEMS = list(range(6))


@pytest.fixture
async def no_loop_errors(settle: Callable[[], Awaitable[None]]) -> AsyncIterator[None]:
    """Fail the test if the loop reports an error (a lost task, an exception never retrieved)."""
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: reported.append(context))
    try:
        yield
        await settle()
        assert not reported, reported
    finally:
        loop.set_exception_handler(previous)


async def collect(outcomes: AsyncIterable[Outcome[int, int]]) -> list[Outcome[int, int]]:
    """Return every outcome, failing with TimeoutError if the fan-out hangs."""
    async with asyncio.timeout(LIMIT):
        return [o async for o in outcomes]


def check(outcomes: list[Outcome[int, int]], cancelled: int, *, ordered: bool) -> None:
    """One outcome per item; *cancelled* holds a CancelledError, the others their square."""
    assert asyncio.current_task().cancelling() == 0  # the consumer was never cancelled
    assert sorted(o.item for o in outcomes) == ITEMS
    if ordered:
        assert [o.item for o in outcomes] == ITEMS
    by_item = {o.item: o for o in outcomes}
    failed = by_item.pop(cancelled)
    assert isinstance(failed.error, asyncio.CancelledError)
    assert failed.value is None
    assert not failed.ok
    with pytest.raises(asyncio.CancelledError):
        failed.unwrap()
    assert {n: o.unwrap() for n, o in by_item.items()} == {n: n * n for n in by_item}


@pytest.mark.parametrize("ordered", [True, False])
async def test_fn_awaiting_a_future_cancelled_elsewhere(ordered: bool) -> None:
    """fn awaits a future another task cancels: that item's outcome holds the CancelledError."""
    victim: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    awaiting = asyncio.Event()

    async def work(n: int) -> int:
        if n == 2:
            awaiting.set()
            return await victim
        await awaiting.wait()
        return n * n

    async def cancel_victim() -> None:
        await awaiting.wait()
        victim.cancel()

    canceller = asyncio.create_task(cancel_victim())
    outcomes = await collect(fan_out(work, ITEMS, concurrency=3, ordered=ordered))
    await canceller
    check(outcomes, 2, ordered=ordered)


@pytest.mark.parametrize("ordered", [True, False])
async def test_sync_fn_raising_cancelled_error(ordered: bool) -> None:
    """A plain function raising CancelledError gets an outcome holding it, like any error."""

    def work(n: int) -> int:
        if n == 4:
            raise asyncio.CancelledError
        return n * n

    outcomes = await collect(fan_out(work, ITEMS, concurrency=2, ordered=ordered))
    check(outcomes, 4, ordered=ordered)


@pytest.mark.parametrize("ordered", [True, False])
async def test_worker_task_cancelled_from_outside(ordered: bool) -> None:
    """Someone cancels the task running fn: its item's outcome holds the error, the rest go on."""
    tasks: dict[int, asyncio.Task[Any]] = {}
    blocked = asyncio.Event()
    release = asyncio.Event()

    async def work(n: int) -> int:
        if n == 1:
            tasks[n] = asyncio.current_task()
            blocked.set()
            await asyncio.Event().wait()
        await release.wait()
        return n * n

    consumer = asyncio.create_task(collect(fan_out(work, ITEMS, concurrency=3, ordered=ordered)))
    await blocked.wait()
    assert tasks[1] in asyncio.all_tasks()
    tasks[1].cancel()
    release.set()
    check(await consumer, 1, ordered=ordered)


@pytest.mark.parametrize("ordered", [True, False])
async def test_worker_task_cancelled_before_it_ran(ordered: bool) -> None:
    """A worker cancelled before fn was ever called still gets its item an outcome."""
    called: list[int] = []

    async def items() -> AsyncIterator[int]:
        yield 0
        before = asyncio.all_tasks()
        yield 1
        # The fan-out asks for item 2 in the loop turn that created item 1's worker: that
        # worker exists and has not started.
        (worker,) = asyncio.all_tasks() - before
        worker.cancel()
        for n in ITEMS[2:]:
            yield n

    async def work(n: int) -> int:
        called.append(n)
        return n * n

    outcomes = await collect(fan_out(work, items(), concurrency=3, ordered=ordered))
    check(outcomes, 1, ordered=ordered)
    assert sorted(called) == [n for n in ITEMS if n != 1]


@pytest.mark.parametrize("ordered", [True, False])
async def test_cancelled_consumer_waits_for_the_workers(ordered: bool) -> None:
    """Cancelling the consumer propagates only once every worker has finished unwinding."""
    running: list[int] = []
    unwound: list[int] = []
    all_running = asyncio.Event()

    async def work(n: int) -> int:
        running.append(n)
        if len(running) == 3:
            all_running.set()
        try:
            await asyncio.Event().wait()
        finally:
            for _ in range(5):  # clean-up that takes a few loop turns
                await asyncio.sleep(0)
            unwound.append(n)
        return n

    baseline = asyncio.all_tasks()
    consumer = asyncio.create_task(
        collect(fan_out(work, range(10), concurrency=3, ordered=ordered))
    )
    await all_running.wait()
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer
    assert sorted(unwound) == [0, 1, 2]
    assert [task for task in asyncio.all_tasks() - baseline if not task.done()] == []


@pytest.mark.parametrize("ordered", [True, False])
async def test_aclose_ends_a_wait_in_another_task(ordered: bool) -> None:
    """aclose() while another task waits for an outcome ends that wait: no outcome, no hang."""
    running: list[int] = []
    all_running = asyncio.Event()

    async def work(n: int) -> int:
        running.append(n)
        if len(running) == 3:
            all_running.set()
        await asyncio.Event().wait()
        return n

    outcomes = fan_out(work, range(10), concurrency=3, ordered=ordered)
    waiting = asyncio.create_task(anext(outcomes))
    await all_running.wait()
    await outcomes.aclose()
    with pytest.raises(StopAsyncIteration):
        async with asyncio.timeout(LIMIT):
            await waiting
    assert sorted(running) == [0, 1, 2]


async def test_second_concurrent_anext_is_refused() -> None:
    """anext() while another task is inside anext() raises RuntimeError; iteration goes on."""
    started = asyncio.Event()
    release = asyncio.Event()

    async def work(n: int) -> int:
        started.set()
        await release.wait()
        return n * n

    async with asyncio.timeout(LIMIT), fan_out(work, ITEMS, ordered=True) as outcomes:
        first = asyncio.create_task(anext(outcomes))
        await started.wait()  # the first anext() started the work and waits for it
        with pytest.raises(RuntimeError, match="already running"):
            await anext(outcomes)
        release.set()
        assert (await first).item == 0
        rest = [o.unwrap() async for o in outcomes]
    assert rest == [n * n for n in ITEMS[1:]]


@pytest.mark.parametrize("ordered", [True, False])
async def test_input_raising_cancelled_error_surfaces_after_its_outcomes(ordered: bool) -> None:
    """Input raising CancelledError (it awaited a cancelled future) ends the fan-out with it."""
    victim: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    victim.cancel()

    async def items() -> AsyncIterator[int]:
        yield 1
        yield 2
        yield await victim

    seen: list[int] = []
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(LIMIT):
            async for outcome in fan_out(lambda n: n, items(), ordered=ordered):
                seen.append(outcome.unwrap())
    assert sorted(seen) == [1, 2]
    assert asyncio.current_task().cancelling() == 0


class Halt(BaseException):
    """A BaseException that is not an Exception: it means stop, not "this item failed"."""


@pytest.mark.parametrize("ordered", [True, False])
async def test_base_exception_from_fn_reaches_the_consumer(ordered: bool) -> None:
    """fn raising a BaseException that is not an Exception raises it to the consumer."""

    def work(n: int) -> int:
        if n == 3:
            raise Halt
        return n

    with pytest.raises(Halt):
        await collect(fan_out(work, ITEMS, concurrency=2, ordered=ordered))
    gc.collect()  # a task whose exception nobody retrieved is reported when it is collected


async def test_closing_a_suspended_anext_cancels_without_awaiting() -> None:
    """A waiting anext() coroutine closed (its task destroyed) cancels the work, no await."""
    outcomes = fan_out(lambda n: n, [1, 2])
    step = outcomes.__anext__()
    waiter = step.send(None)  # starts the feeder, then waits for an outcome
    assert isinstance(waiter, asyncio.Future)
    step.close()  # would raise "coroutine ignored GeneratorExit" if it awaited here
    with pytest.raises(StopAsyncIteration):
        await anext(outcomes)


async def test_aclose_during_the_consumers_shutdown_cancels_no_worker_twice() -> None:
    """aclose() while the cancelled consumer waits for the workers leaves their clean-up alone."""
    running: list[int] = []
    cleaning: list[int] = []
    unwound: list[int] = []
    all_running = asyncio.Event()
    all_cleaning = asyncio.Event()

    async def work(n: int) -> int:
        running.append(n)
        if len(running) == 3:
            all_running.set()
        try:
            await asyncio.Event().wait()
        finally:
            cleaning.append(n)
            if len(cleaning) == 3:
                all_cleaning.set()
            for _ in range(5):  # clean-up that a second cancel would cut short
                await asyncio.sleep(0)
            unwound.append(n)
        return n

    outcomes = fan_out(work, range(10), concurrency=3)
    consumer = asyncio.create_task(collect(outcomes))
    await all_running.wait()
    consumer.cancel()
    await all_cleaning.wait()
    await outcomes.aclose()
    with pytest.raises(asyncio.CancelledError):
        await consumer
    assert sorted(unwound) == [0, 1, 2]


async def test_input_swallowing_the_shutdown_starts_no_more_calls() -> None:
    """An input that ignores the shutdown's cancellation and yields again starts no new call."""
    called: list[int] = []
    stuck = asyncio.Event()

    async def items() -> AsyncIterator[int]:
        yield 0
        try:
            stuck.set()
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            pass  # a badly behaved input: it goes on
        yield 1

    async def work(n: int) -> int:
        called.append(n)
        return n

    source = items()
    outcomes = fan_out(work, source)
    assert (await anext(outcomes)).item == 0
    await stuck.wait()
    await outcomes.aclose()
    assert called == [0]
    await source.aclose()
