"""Concurrency slots, the request rate, the shared 429 cool-down and adaptive limits."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest
from aiohttp import web

from asyncmailstats import Limits, RetryPolicy, Session, Timeout
from asyncmailstats._http import Request, Response
from asyncmailstats._limiter import Limiter
from asyncmailstats.testing import instant_retries

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")

#: Scheduling slack allowed below a computed delay (timers may fire a hair early).
SLACK = 0.002


async def test_never_more_than_max_concurrency_over_http(kit) -> None:
    """200 concurrent callers never put more than max_concurrency requests in flight."""
    callers, limit = 200, 8
    condition = asyncio.Condition()

    async def handler(_: web.Request) -> web.StreamResponse:
        # Hold each request until its batch is full (or nothing else can arrive), so the
        # limit is reached in every round and any excess would show.
        async with condition:
            condition.notify_all()
            await condition.wait_for(
                lambda: server.in_flight >= limit or server.in_flight >= callers - server.served
            )
            condition.notify_all()
        return web.json_response({"total": 1, "items": [0]})

    async with (
        kit.LoopbackServer(handler) as server,
        Session(limits=Limits(max_concurrency=limit)) as session,
    ):
        client = kit.make_client(session, base_url=server.url)
        async with asyncio.timeout(20):
            results = await asyncio.gather(
                *(client.call(kit.items_request(n, 1), kit.decode_json) for n in range(callers))
            )
        stats = session.statistics()
    assert len(results) == callers
    assert server.served == callers
    assert server.max_in_flight == limit
    assert stats.peak_in_flight == limit
    assert (stats.in_flight, stats.waiting) == (0, 0)


async def test_queueing_for_a_slot_does_not_count_toward_the_timeout(kit) -> None:
    """With one slot, requests queue far longer than Timeout.total yet none times out."""

    async def handler(_: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.15)
        return web.json_response({"total": 1, "items": [0]})

    async with (
        kit.LoopbackServer(handler) as server,
        Session(
            limits=Limits(max_concurrency=1),
            timeout=Timeout(total=0.5),
            retry=RetryPolicy(max_attempts=1),
        ) as session,
    ):
        client = kit.make_client(session, base_url=server.url)
        started = time.monotonic()
        results = await asyncio.gather(
            *(client.call(kit.items_request(n, 1), kit.decode_json) for n in range(6))
        )
        elapsed = time.monotonic() - started
    assert len(results) == 6
    # The last request waited about 0.75 s for its slot: more than the 0.5 s timeout.
    assert elapsed >= 6 * 0.15
    assert server.max_in_flight == 1


async def test_a_429_holds_back_every_pending_request_of_the_provider(
    session, memory_transport, kit
) -> None:
    """After a 429 with Retry-After, other requests of that provider wait it out; others don't."""
    cool_down = 0.2
    sent_at: dict[str, list[float]] = {}
    limited = asyncio.Event()

    def handler(request: Request) -> Response:
        tag = request.headers["X-Caller"]
        sent_at.setdefault(tag, []).append(time.monotonic())
        if tag == "first" and len(sent_at["first"]) == 1:
            limited.set()
            return Response(429, {"retry-after": str(cool_down)}, b"slow down")
        return Response(200, {}, b"{}")

    memory_transport.handler = handler
    client = kit.make_client(session, limits=Limits(max_concurrency=4, adaptive=False))
    other = kit.make_client(session, provider="other")

    def call(target, tag: str):
        request = Request("GET", "/x", headers={"X-Caller": tag}, endpoint="GET /x")
        return asyncio.create_task(target.call(request, kit.decode_json))

    first = call(client, "first")
    await limited.wait()
    limited_at = sent_at["first"][0]
    pending = [call(client, f"pending-{n}") for n in range(3)]
    elsewhere = call(other, "other-provider")
    await elsewhere
    assert len(sent_at["first"]) == 1, "another provider's call must not wait for the cool-down"
    await asyncio.gather(first, *pending)
    for n in range(3):
        assert sent_at[f"pending-{n}"][0] >= limited_at + cool_down - SLACK
    assert sent_at["first"][1] >= limited_at + cool_down - SLACK
    assert session.statistics().providers[0].rate_limited == 1


async def test_adaptive_limit_halves_on_429_and_recovers(session, memory_transport, kit) -> None:
    """With adaptive limits a 429 halves concurrency_limit; successes grow it back by one."""
    answers = [Response(429, {}, b"slow down")]
    memory_transport.handler = lambda _: answers.pop() if answers else Response(200, {}, b"{}")
    client = kit.make_client(session, limits=Limits(max_concurrency=8, adaptive=True))
    assert session.statistics().providers[0].concurrency_limit == 8
    with instant_retries():
        await client.call(kit.items_request(0, 1), kit.decode_json)
        limits_seen = [session.statistics().providers[0].concurrency_limit]
        assert limits_seen == [4]  # the retry's success is the first of the next run
        for _ in range(30):
            await client.call(kit.items_request(0, 1), kit.decode_json)
            limits_seen.append(session.statistics().providers[0].concurrency_limit)
    assert limits_seen == sorted(limits_seen)
    assert limits_seen[-1] == 8
    # One slot back after each run of successes as long as the current limit: 4+5+6+7.
    assert limits_seen.index(8) == 4 + 5 + 6 + 7 - 1


async def test_adaptive_limit_bounds_concurrency_after_429(session, memory_transport, kit) -> None:
    """Once lowered, the adaptive limit really caps the requests in flight."""
    gate = asyncio.Event()
    answers = [Response(429, {}, b"slow down")]

    async def handler(_: Request) -> Response:
        if answers:
            return answers.pop()
        await gate.wait()
        return Response(200, {}, b"{}")

    memory_transport.handler = handler
    client = kit.make_client(session, limits=Limits(max_concurrency=8, adaptive=True))
    with instant_retries():
        # The first call meets the 429, then its retry blocks at the gate holding a slot.
        first = asyncio.create_task(client.call(kit.items_request(0, 1), kit.decode_json))
        await kit.until(lambda: memory_transport.in_flight == 1)
        assert session.statistics().providers[0].concurrency_limit == 4
        tasks = [
            asyncio.create_task(client.call(kit.items_request(n, 1), kit.decode_json))
            for n in range(19)
        ]
        await kit.until(lambda: session.statistics().waiting == 16)
        stats = session.statistics().providers[0]
        assert (stats.in_flight, memory_transport.in_flight) == (4, 4)
        gate.set()
        await asyncio.gather(first, *tasks)
    assert memory_transport.max_in_flight <= 8


async def test_non_adaptive_limit_stays_put_after_429(session, memory_transport, kit) -> None:
    """Without adaptive limits a 429 leaves concurrency_limit unchanged."""
    answers = [Response(429, {}, b"slow down")]
    memory_transport.handler = lambda _: answers.pop() if answers else Response(200, {}, b"{}")
    client = kit.make_client(session, limits=Limits(max_concurrency=8, adaptive=False))
    with instant_retries():
        await client.call(kit.items_request(0, 1), kit.decode_json)
    stats = session.statistics().providers[0]
    assert (stats.concurrency_limit, stats.rate_limited) == (8, 1)


async def test_max_rate_spaces_request_starts(session, memory_transport, kit) -> None:
    """With max_rate=r, consecutive request starts are at least 1/r seconds apart."""
    rate = 40.0
    starts: list[float] = []

    def handler(_: Request) -> Response:
        starts.append(time.monotonic())
        return Response(200, {}, b"{}")

    memory_transport.handler = handler
    client = kit.make_client(session, limits=Limits(max_concurrency=10, max_rate=rate))
    await asyncio.gather(*(client.call(kit.items_request(n, 1), kit.decode_json) for n in range(6)))
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert len(gaps) == 5
    assert min(gaps) >= 1 / rate - SLACK


async def test_max_rate_allows_no_burst_after_a_stalled_loop(
    session, memory_transport, kit
) -> None:
    """If the loop stalls, requests queued for the rate still start 1/r apart afterwards."""
    rate = 20.0
    starts: list[float] = []

    def handler(_: Request) -> Response:
        starts.append(time.monotonic())
        if len(starts) == 2:
            time.sleep(0.2)  # block the whole event loop, as a heavy callback would
        return Response(200, {}, b"{}")

    memory_transport.handler = handler
    client = kit.make_client(session, limits=Limits(max_concurrency=10, max_rate=rate))
    await asyncio.gather(*(client.call(kit.items_request(n, 1), kit.decode_json) for n in range(4)))
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert min(gaps) >= 1 / rate - SLACK


async def test_max_rate_is_not_zeroed_by_instant_retries(session, memory_transport, kit) -> None:
    """instant_retries zeroes retry delays but keeps the configured request rate."""
    starts: list[float] = []

    def handler(_: Request) -> Response:
        starts.append(time.monotonic())
        return Response(200, {}, b"{}")

    memory_transport.handler = handler
    client = kit.make_client(session, limits=Limits(max_rate=50.0))
    with instant_retries():
        await asyncio.gather(
            *(client.call(kit.items_request(n, 1), kit.decode_json) for n in range(3))
        )
    assert starts[2] - starts[0] >= 2 / 50.0 - SLACK


async def test_slots_are_handed_out_first_come_first_served(kit) -> None:
    """Waiters get freed slots in the order they asked."""
    limiter = Limiter(Limits(max_concurrency=1))
    await limiter.acquire()
    order: list[int] = []

    async def wait(n: int) -> None:
        await limiter.acquire()
        order.append(n)
        limiter.release()

    tasks = [asyncio.create_task(wait(n)) for n in range(5)]
    await kit.until(lambda: limiter.waiting == 5)
    limiter.release()
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3, 4]
    assert (limiter.in_flight, limiter.waiting) == (0, 0)


async def test_cancelled_waiter_gives_up_its_place(kit) -> None:
    """A waiter cancelled in the queue leaves it; the slot goes to the next waiter."""
    limiter = Limiter(Limits(max_concurrency=1))
    await limiter.acquire()
    cancelled = asyncio.create_task(limiter.acquire())
    served = asyncio.create_task(limiter.acquire())
    await kit.until(lambda: limiter.waiting == 2)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    limiter.release()
    await served
    assert (limiter.in_flight, limiter.waiting) == (1, 0)
    limiter.release()
    assert limiter.in_flight == 0


async def test_waiter_cancelled_as_the_slot_frees_stays_cancelled(kit) -> None:
    """A waiter cancelled in the same turn a slot is released raises CancelledError only."""
    limiter = Limiter(Limits(max_concurrency=1))
    await limiter.acquire()
    waiter = asyncio.create_task(limiter.acquire())
    await kit.until(lambda: limiter.waiting == 1)
    waiter.cancel()
    limiter.release()  # before the cancelled waiter has had a chance to run
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert (limiter.in_flight, limiter.waiting) == (0, 0)
    await limiter.acquire()  # the slot is free again
    assert limiter.in_flight == 1
    limiter.release()


async def test_waiter_cancelled_after_being_handed_a_slot_returns_it(kit) -> None:
    """A waiter handed a slot and cancelled before it resumes gives the slot back."""
    limiter = Limiter(Limits(max_concurrency=1))
    await limiter.acquire()
    waiter = asyncio.create_task(limiter.acquire())
    await kit.until(lambda: limiter.waiting == 1)
    limiter.release()  # hands the slot to the waiter
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert (limiter.in_flight, limiter.waiting) == (0, 0)
