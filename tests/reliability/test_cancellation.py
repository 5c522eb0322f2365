"""Leaving a stream while its pages are in flight leaves nothing behind.

For every stream of every provider, and for each way of leaving it — cancelling the
consuming task, ``break``, closing it with ``async with`` — the requests in flight are
cancelled: no task stays pending, no limiter slot stays taken, no connection stays
checked out, and the session then closes cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import types
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from asyncmailstats import Session, fan_out
from asyncmailstats.testing import FakeEmailConsul, FakeGetResponse, FakePostmark

NOW = dt.datetime(2024, 6, 1, 16, 0, 0, tzinfo=dt.UTC)
START = NOW - dt.timedelta(days=46)
GR_NOW = dt.datetime(2024, 6, 1, 12)  # noqa: DTZ001 - GetResponse's clock has no zone
PERIOD: dict[str, Any] = {"period_from": NOW - dt.timedelta(days=40), "period_to": NOW}
#: Long enough that later pages are still being served when the consumer leaves.
LATENCY = 0.05

Stream = Callable[[Any, Any], Any]


def pm_messages(pm: Any, fake: Any) -> Any:
    return pm.outbound_messages(from_date=START, to_date=NOW, page_size=20, prefetch=6)


def pm_opens(pm: Any, fake: Any) -> Any:
    return pm.opens(page_size=20, prefetch=6)


def pm_open_history(pm: Any, fake: Any) -> Any:
    return pm.open_history(from_date=START, to_date=NOW, concurrency=8)


def pm_details(pm: Any, fake: Any) -> Any:
    return fan_out(pm.message_details, fake.message_ids(), concurrency=8, ordered=True)


def ec_link_stats(ec: Any, fake: Any) -> Any:
    return ec.link_stats(**PERIOD, group="ip", page_size=20, prefetch=6)


def ec_deliveries(ec: Any, fake: Any) -> Any:
    return ec.delivery_timeseries(**PERIOD, page_size=2, prefetch=6)


def gr_stats_many(gr: Any, fake: Any) -> Any:
    return gr.message_stats_many(list(fake.messages), batch_size=4, concurrency=6)


def gr_fan_out(gr: Any, fake: Any) -> Any:
    return fan_out(gr.message_stats, list(fake.messages), concurrency=8)


STREAMS: dict[str, tuple[str, Stream]] = {
    "postmark outbound_messages": ("postmark", pm_messages),
    "postmark opens": ("postmark", pm_opens),
    "postmark open_history": ("postmark", pm_open_history),
    "postmark fan-out details": ("postmark", pm_details),
    "emailconsul link_stats": ("emailconsul", ec_link_stats),
    "emailconsul delivery_timeseries": ("emailconsul", ec_deliveries),
    "getresponse message_stats_many": ("getresponse", gr_stats_many),
    "getresponse fan-out message_stats": ("getresponse", gr_fan_out),
}


@contextlib.asynccontextmanager
async def provider(name: str, seed: int) -> AsyncIterator[tuple[Any, Any, Session]]:
    """Start the fake and a session; yield the fake, the API and the session."""
    session = Session()
    if name == "postmark":
        fake: Any = FakePostmark(messages=400, seed=seed, now=NOW, latency=LATENCY)
    elif name == "emailconsul":
        fake = FakeEmailConsul(
            link_logs=800, pixel_logs=0, deliveries=800, seed=seed, now=NOW, latency=LATENCY
        )
    else:
        fake = FakeGetResponse(
            messages=100, seed=seed, now=GR_NOW.replace(tzinfo=dt.UTC), latency=LATENCY
        )
    async with fake, session:
        api: Any
        if name == "postmark":
            api = session.postmark(server_token=fake.token, base_url=fake.url)
        elif name == "emailconsul":
            api = session.emailconsul(api_key=fake.api_key, base_url=fake.url)
        else:
            api = session.getresponse(api_key=fake.api_key, base_url=fake.url)
        yield fake, api, session


async def busy(session: Session, turns: int = 5) -> bool:
    """Let requests just scheduled start; return whether one of *session* is in flight."""
    for _ in range(turns):
        if session.statistics().in_flight > 0:
            return True
        await asyncio.sleep(0)
    return session.statistics().in_flight > 0


async def check_nothing_left(rel: types.SimpleNamespace, session: Session) -> None:
    await rel.settle()
    assert rel.pending_tasks() == []
    await rel.close_cleanly(session)


@pytest.mark.parametrize("stream", STREAMS)
async def test_cancelling_the_consumer_mid_page(stream: str, rel: types.SimpleNamespace) -> None:
    """Cancelling the task that reads a stream, with pages in flight, leaves nothing behind."""
    name, make = STREAMS[stream]
    async with provider(name, rel.seed) as (fake, api, session):
        arrived: asyncio.Queue[Any] = asyncio.Queue()

        async def consume() -> None:
            async for item in make(api, fake):
                arrived.put_nowait(item)

        task = asyncio.ensure_future(consume())
        got: list[Any] = []
        async with asyncio.timeout(10):
            # The consumer is now waiting for its next item; leave once requests are out.
            while not got or not await busy(session):
                got.append(await arrived.get())
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert got
        await check_nothing_left(rel, session)


@pytest.mark.parametrize("stream", STREAMS)
async def test_breaking_out_mid_page(stream: str, rel: types.SimpleNamespace) -> None:
    """``break`` out of a plain ``async for`` with pages in flight leaves nothing behind."""
    name, make = STREAMS[stream]
    async with provider(name, rel.seed) as (fake, api, session):
        left_busy = False
        async for _ in make(api, fake):
            if await busy(session):
                left_busy = True
                break
        assert left_busy
        await check_nothing_left(rel, session)


PAGINATORS = [s for s in STREAMS if "fan-out" not in s and "stats_many" not in s]


@pytest.mark.parametrize("stream", STREAMS)
async def test_closing_mid_page(stream: str, rel: types.SimpleNamespace) -> None:
    """Leaving ``async with stream`` early has stopped every request by the time it exits."""
    name, make = STREAMS[stream]
    async with provider(name, rel.seed) as (fake, api, session):
        left_busy = False
        async with make(api, fake) as items:
            async for _ in items:
                if await busy(session):
                    left_busy = True
                    break
        assert left_busy
        stats = session.statistics()
        assert (stats.in_flight, stats.waiting) == (0, 0)
        await check_nothing_left(rel, session)


@pytest.mark.parametrize("stream", PAGINATORS)
async def test_closing_pages_mid_page(stream: str, rel: types.SimpleNamespace) -> None:
    """Leaving ``async with stream.pages()`` early has stopped every request when it exits."""
    name, make = STREAMS[stream]
    async with provider(name, rel.seed) as (fake, api, session):
        left_busy = False
        async with make(api, fake).pages() as pages:
            async for page in pages:
                assert page.items
                if await busy(session):
                    left_busy = True
                    break
        assert left_busy
        stats = session.statistics()
        assert (stats.in_flight, stats.waiting) == (0, 0)
        await check_nothing_left(rel, session)


@pytest.mark.parametrize("stream", STREAMS)
async def test_an_error_in_the_loop_body(stream: str, rel: types.SimpleNamespace) -> None:
    """An exception raised by the consumer's own code mid-stream leaves nothing behind."""
    name, make = STREAMS[stream]

    class StopReadingError(Exception):
        pass

    async with provider(name, rel.seed) as (fake, api, session):
        with pytest.raises(StopReadingError):
            async for _ in make(api, fake):
                if await busy(session):
                    raise StopReadingError
        await check_nothing_left(rel, session)
