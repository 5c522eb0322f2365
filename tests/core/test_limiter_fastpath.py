"""The limiter's uncontended path, its once-per-burst decrease, and lowered limits holding."""

from __future__ import annotations

import asyncio

import pytest

from asyncmailstats import Limits
from asyncmailstats._http import Request, Response
from asyncmailstats._limiter import Limiter
from asyncmailstats.testing import instant_retries

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")


async def test_fast_path_stops_at_max_concurrency(kit) -> None:
    """Free slots are taken without waiting, up to max_concurrency and no further."""
    limiter = Limiter(Limits(max_concurrency=2))
    assert limiter.try_acquire()
    assert limiter.try_acquire()
    assert not limiter.try_acquire()
    assert (limiter.in_flight, limiter.peak_in_flight) == (2, 2)
    third = asyncio.create_task(limiter.acquire())
    await kit.until(lambda: limiter.waiting == 1)
    assert not third.done()
    limiter.release()
    assert await third == 0
    assert (limiter.in_flight, limiter.waiting) == (2, 0)
    limiter.release()
    limiter.release()
    assert limiter.in_flight == 0


async def test_fast_path_is_closed_during_a_cool_down() -> None:
    """A cool-down in force sends every request down the waiting path."""
    limiter = Limiter(Limits(max_concurrency=4))
    limiter.cool_down(60.0)
    assert not limiter.try_acquire()
    assert limiter.in_flight == 0
    with instant_retries():  # cool-downs are zeroed, so nothing stands in the way
        assert limiter.try_acquire()
    limiter.release()


async def test_fast_path_is_closed_when_a_rate_is_set() -> None:
    """With max_rate, every request waits for its turn: no request skips the rate."""
    limiter = Limiter(Limits(max_concurrency=4, max_rate=10.0))
    assert not limiter.try_acquire()
    await limiter.acquire()
    assert limiter.in_flight == 1
    limiter.release()


async def test_fast_path_never_overtakes_a_waiter(kit) -> None:
    """A slot freed while a request waits goes to that waiter, not to a newcomer."""
    limiter = Limiter(Limits(max_concurrency=1))
    assert limiter.try_acquire()
    order: list[str] = []

    async def wait(name: str) -> None:
        await limiter.acquire()
        order.append(name)
        limiter.release()

    first = asyncio.create_task(wait("first"))
    await kit.until(lambda: limiter.waiting == 1)
    limiter.release()  # handed to the waiter before it runs again
    assert not limiter.try_acquire()
    second = asyncio.create_task(wait("second"))
    await asyncio.gather(first, second)
    assert order == ["first", "second"]
    assert (limiter.in_flight, limiter.waiting) == (0, 0)


async def test_a_burst_of_429s_halves_the_limit_once() -> None:
    """429s answering requests sent under the same limit halve it once, not once each."""
    limiter = Limiter(Limits(max_concurrency=16))
    epochs = [await limiter.acquire() for _ in range(5)]
    assert epochs == [0] * 5
    for epoch in epochs:
        limiter.decrease(epoch)
    assert (limiter.limit, limiter.epoch) == (8, 1)
    for _ in epochs:
        limiter.release()
    later = await limiter.acquire()
    assert later == 1
    limiter.decrease(later)
    assert (limiter.limit, limiter.epoch) == (4, 2)
    limiter.release()


async def test_successes_from_before_a_decrease_do_not_grow_the_limit() -> None:
    """Only requests sent under the lowered limit count toward growing it back."""
    limiter = Limiter(Limits(max_concurrency=8))
    old = await limiter.acquire()
    limiter.release()
    limiter.decrease(old)
    assert limiter.limit == 4
    for _ in range(10):
        limiter.record_success(old)
    assert limiter.limit == 4
    for _ in range(4):
        limiter.record_success(limiter.epoch)
    assert limiter.limit == 5


async def test_non_adaptive_limits_ignore_decreases() -> None:
    """Without adaptive limits a 429 leaves the limit and the epoch alone."""
    limiter = Limiter(Limits(max_concurrency=8, adaptive=False))
    limiter.decrease(await limiter.acquire())
    assert (limiter.limit, limiter.epoch) == (8, 0)
    limiter.release()


async def test_slots_handed_over_before_a_decrease_are_given_back(kit) -> None:
    """Waiters handed a slot just before the limit halves queue again, first in line."""
    limiter = Limiter(Limits(max_concurrency=4))
    epoch = 0
    for _ in range(4):
        epoch = await limiter.acquire()
    granted: list[int] = []

    async def wait(n: int) -> None:
        await limiter.acquire()
        granted.append(n)

    waiters = [asyncio.create_task(wait(n)) for n in range(4)]
    await kit.until(lambda: limiter.waiting == 4)
    # Two requests end in the same turn: their slots go to the first two waiters, then
    # a 429 halves the limit before those waiters run.
    limiter.release()
    limiter.release()
    limiter.decrease(epoch)
    assert limiter.limit == 2
    await kit.until(lambda: limiter.in_flight == 2 and limiter.waiting == 4)
    assert granted == []  # two requests are still out: the lowered limit is full
    limiter.release()
    limiter.release()
    await kit.until(lambda: len(granted) == 2)
    assert granted == [0, 1]  # those who gave their slot back come first
    assert (limiter.in_flight, limiter.waiting) == (2, 2)
    for _ in range(2):
        limiter.release()
    await kit.until(lambda: len(granted) == 4)
    assert granted == [0, 1, 2, 3]
    await asyncio.gather(*waiters)
    for _ in range(2):
        limiter.release()
    assert (limiter.in_flight, limiter.waiting) == (0, 0)


async def test_a_lowered_limit_holds_over_http_calls(session, memory_transport, kit) -> None:
    """A slot handed to a waiter in the turn a 429 halves the limit sends nothing."""
    gates: dict[int, asyncio.Future[Response]] = {}
    loop = asyncio.get_running_loop()

    def handler(request: Request) -> asyncio.Future[Response]:
        offset = int(dict(request.params)["offset"])
        if offset in gates:  # a retry, or a request sent once the cool-down ended
            done = loop.create_future()
            done.set_result(Response(200, {}, b"{}"))
            return done
        gates[offset] = loop.create_future()
        return gates[offset]

    memory_transport.handler = handler
    client = kit.make_client(session, limits=Limits(max_concurrency=4))
    with instant_retries():
        calls = [
            asyncio.create_task(client.call(kit.items_request(n, 1), kit.decode_json))
            for n in range(8)
        ]
        await kit.until(lambda: memory_transport.in_flight == 4)
        # One request succeeds (its slot goes to a waiter) and another meets a 429 in
        # the same turn: the limit halves before that waiter runs.
        gates[0].set_result(Response(200, {}, b"{}"))
        gates[1].set_result(Response(429, {}, b"slow down"))
        await kit.until(lambda: session.statistics().providers[0].rate_limited == 1)
        for _ in range(20):  # let the waiter that was handed a slot run
            await asyncio.sleep(0)
        stats = session.statistics().providers[0]
        assert stats.concurrency_limit == 2
        # Only the two requests still out are in flight: the waiter gave its slot back
        # instead of sending a third, and the 429's retry queues behind it.
        assert (memory_transport.in_flight, stats.in_flight, stats.waiting) == (2, 2, 5)
        assert len(memory_transport.sent) == 4  # the retry has not gone out either
        memory_transport.handler = lambda _: Response(200, {}, b"{}")
        for gate in gates.values():
            if not gate.done():
                gate.set_result(Response(200, {}, b"{}"))
        await asyncio.gather(*calls)
    stats = session.statistics().providers[0]
    assert (stats.in_flight, stats.waiting, stats.failures) == (0, 0, 0)
