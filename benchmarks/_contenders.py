"""The clients under test, each doing the same job against the same fake server.

Every function does its own set-up (client, session) outside the timed region and
returns a :class:`Sample` whose ``seconds`` cover only the work itself: the first
request, every page or call, decoding and consuming every record. Clients start with
cold connection pools each run.

Peer SDKs are pointed at the fake through their own base-URL options:

* postmark-python (the official SDK): ``ServerClient(server_token, base_url=...)`` — its
  constructor takes the base URL directly (it builds an ``httpx.AsyncClient`` on it).
* postmarker: ``PostmarkClient(server_token=..., root_api_url=url + "/")`` — it joins
  endpoint paths onto that root with ``urljoin``.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import itertools
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp
import orjson
from _harness import Sample
from postmark import ServerClient
from postmark.utils.pagination import paginate
from postmarker.core import PostmarkClient

import asyncmailstats as ams
from asyncmailstats.postmark._args import date_params
from asyncmailstats.postmark._streams import SLICE_TARGET, split_points

PAGE = 500
OFFSET_CEILING = 10_000


class _Clock:
    """Wall and process CPU time of the timed region."""

    __slots__ = ("cpu", "wall")

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def sample(self, records: int) -> Sample:
        wall = time.perf_counter() - self.wall
        cpu = time.process_time() - self.cpu
        return Sample(wall, records, {"cpu_seconds": cpu})


def _headers(token: str) -> dict[str, str]:
    return {"X-Postmark-Server-Token": token, "Accept": "application/json"}


# -- asyncmailstats ------------------------------------------------------------------------


async def ams_opens(url: str, token: str, *, limit: int, prefetch: int) -> Sample:
    """Stream *limit* opens with ``PostmarkAPI.opens()``."""
    async with ams.Session() as session:
        pm = session.postmark(server_token=token, base_url=url)
        clock = _Clock()
        records = 0
        async for _ in pm.opens(limit=limit, prefetch=prefetch):
            records += 1
        return clock.sample(records)


async def ams_messages(
    url: str,
    token: str,
    *,
    lower: dt.datetime,
    upper: dt.datetime,
    prefetch: int,
    limit: int | None = None,
) -> Sample:
    """Stream every outbound message of ``[lower, upper]`` with ``outbound_messages()``."""
    async with ams.Session() as session:
        pm = session.postmark(server_token=token, base_url=url)
        clock = _Clock()
        records = 0
        async for _ in pm.outbound_messages(
            from_date=lower, to_date=upper, prefetch=prefetch, limit=limit
        ):
            records += 1
        return clock.sample(records)


async def ams_details(url: str, token: str, ids: Sequence[str], *, concurrency: int) -> Sample:
    """Fetch every message's details with ``fan_out(pm.message_details, ...)``."""
    limits = ams.Limits(max_concurrency=concurrency)
    async with ams.Session(limits=limits) as session:
        pm = session.postmark(server_token=token, base_url=url)
        clock = _Clock()
        records = 0
        async with ams.fan_out(pm.message_details, ids, concurrency=concurrency) as outcomes:
            async for outcome in outcomes:
                outcome.unwrap()
                records += 1
        return clock.sample(records)


# -- the official SDK (postmark-python: httpx + pydantic) ----------------------------------


async def sdk_opens(url: str, token: str, *, limit: int) -> Sample:
    """Stream opens through the SDK's own sequential ``paginate`` over ``list_opens``."""
    async with ServerClient(token, base_url=url) as client:
        clock = _Clock()
        records = 0
        async for _ in paginate(client.outbound.list_opens, limit, PAGE):
            records += 1
        return clock.sample(records)


async def sdk_details(url: str, token: str, ids: Sequence[str], *, concurrency: int) -> Sample:
    """Fetch details with ``asyncio.gather`` under a semaphore (the SDK has no fan-out)."""
    async with ServerClient(token, base_url=url) as client:
        gate = asyncio.Semaphore(concurrency)

        async def one(message_id: str) -> Any:
            async with gate:
                return await client.outbound.get(message_id)

        clock = _Clock()
        results = await asyncio.gather(*(one(m) for m in ids))
        return clock.sample(len(results))


# -- postmarker (requests, synchronous; runs in a worker thread) ---------------------------


async def postmarker_opens(url: str, token: str, *, limit: int) -> Sample:
    """Read opens with postmarker's ``opens.all(count=...)`` (sequential pages)."""

    def work() -> Sample:
        client = PostmarkClient(server_token=token, root_api_url=url + "/")
        try:
            clock = _Clock()
            opens = client.messages.outbound.opens.all(count=limit)
            records = sum(1 for _ in opens)
            sample = clock.sample(records)
        finally:
            client.session.close()
        return sample

    return await asyncio.to_thread(work)


# -- the reference: plain aiohttp + orjson, decoding to dicts ------------------------------


async def _ordered_pages(
    fetch: Any,
    first_count: int,
    end_of: Any,
    *,
    in_flight: int,
    page: int = PAGE,
    first: tuple[list[dict[str, Any]], int] | None = None,
) -> AsyncIterator[list[dict[str, Any]]]:
    """Yield pages in order: the first alone, then up to *in_flight* requests at once."""
    items, total = first if first is not None else await fetch(0, first_count)
    yield items
    end = end_of(total)
    window: collections.deque[asyncio.Future[tuple[list[dict[str, Any]], int]]]
    window = collections.deque()
    offset = first_count
    try:
        while window or offset < end:
            while len(window) < in_flight and offset < end:
                count = min(page, end - offset)
                window.append(asyncio.ensure_future(fetch(offset, count)))
                offset += count
            items, _ = await window.popleft()
            yield items
    finally:
        for task in window:
            task.cancel()


def _reference_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))


async def _get_json(http: aiohttp.ClientSession, url: str, params: Any, headers: Any) -> Any:
    async with http.get(url, params=params, headers=headers) as response:
        body = await response.read()
        if response.status != 200:
            msg = f"HTTP {response.status}: {body[:200]!r}"
            raise RuntimeError(msg)
    return orjson.loads(body)


async def ref_opens(url: str, token: str, *, limit: int, in_flight: int) -> Sample:
    """Stream opens by hand: aiohttp + orjson, same page size and pages in flight."""
    headers = _headers(token)
    async with _reference_session() as http:

        async def fetch(offset: int, count: int) -> tuple[list[dict[str, Any]], int]:
            params = {"count": str(count), "offset": str(offset)}
            data = await _get_json(http, url + "/messages/outbound/opens", params, headers)
            return data["Opens"], data["TotalCount"]

        clock = _Clock()
        records = 0
        pages = _ordered_pages(
            fetch, min(PAGE, limit), lambda total: min(total, limit), in_flight=in_flight
        )
        async for items in pages:
            for _ in items:
                records += 1
        return clock.sample(records)


async def ref_messages(
    url: str, token: str, *, lower: dt.datetime, upper: dt.datetime, in_flight: int
) -> Sample:
    """Stream messages by hand over the same date windows as ``outbound_messages()``.

    The windows come from the library's own pure helpers (``split_points``,
    ``SLICE_TARGET`` and ``date_params``) and the same protocol, so both contenders send
    the same searches: every window is probed with a full page that becomes its first
    page; a window over the ceiling is cut into ``ceil(total / SLICE_TARGET)`` slices,
    again while a slice is over it; slices are read newest first, and while one is read
    the next ones are probed, at most ``max(2, in_flight)`` probes out at once.
    Transport, decoding (to dicts) and the duplicate check at window edges are written
    by hand.
    """
    headers = _headers(token)
    ahead = max(2, in_flight)
    async with _reference_session() as http:

        async def search(
            window: tuple[tuple[str, str], ...], offset: int, count: int
        ) -> tuple[list[dict[str, Any]], int]:
            params = (("count", str(count)), ("offset", str(offset)), *window)
            data = await _get_json(http, url + "/messages/outbound", params, headers)
            return data["Messages"], data["TotalCount"]

        def probe(window: _Probe) -> asyncio.Future[tuple[list[dict[str, Any]], int]]:
            window.task = asyncio.ensure_future(search(window.params, 0, PAGE))
            return window.task

        clock = _Clock()
        records = 0
        todo = [_Probe(lower, upper)]  # newest last
        out = 0  # probes sent ahead and not yet taken
        carried: set[str] = set()
        try:
            while todo:
                current = todo.pop()
                if current.task is None:
                    task = probe(current)
                else:
                    task, out = current.task, out - 1
                items, total = await task
                cuts: list[dt.datetime] = []
                if total > OFFSET_CEILING:
                    cuts = split_points(current.low, current.high, -(-total // SLICE_TARGET))
                if cuts:
                    bounds = [current.low, *cuts, current.high]
                    todo += [_Probe(low, high) for low, high in itertools.pairwise(bounds)]
                for waiting in reversed(todo):
                    if out >= ahead:
                        break
                    if waiting.task is None:
                        probe(waiting)
                        out += 1
                if cuts:
                    continue
                last: list[dict[str, Any]] = []
                if total:

                    async def fetch(
                        offset: int, count: int, window: Any = current.params
                    ) -> tuple[list[dict[str, Any]], int]:
                        return await search(window, offset, count)

                    async for page in _ordered_pages(
                        fetch,
                        PAGE,
                        lambda t: min(t, OFFSET_CEILING),
                        in_flight=in_flight,
                        first=(items, total),
                    ):
                        for item in page:
                            if item["MessageID"] not in carried:
                                records += 1
                        last = page
                # Neighbouring windows share one second: what the older window repeats
                # from it can only be among the newer window's oldest page.
                carried = {item["MessageID"] for item in last}
        finally:
            for waiting in todo:
                if waiting.task is not None:
                    waiting.task.cancel()
        return clock.sample(records)


class _Probe:
    """A window of the reference's stream and, once sent, the request for its first page."""

    __slots__ = ("high", "low", "params", "task")

    def __init__(self, low: dt.datetime, high: dt.datetime) -> None:
        self.low = low
        self.high = high
        self.params = date_params(low, high)
        self.task: asyncio.Future[tuple[list[dict[str, Any]], int]] | None = None


async def ref_details(url: str, token: str, ids: Sequence[str], *, concurrency: int) -> Sample:
    """Fetch details by hand: aiohttp + orjson, ``asyncio.gather`` under a semaphore."""
    headers = _headers(token)
    async with _reference_session() as http:
        gate = asyncio.Semaphore(concurrency)

        async def one(message_id: str) -> Any:
            async with gate:
                path = f"{url}/messages/outbound/{message_id}/details"
                return await _get_json(http, path, None, headers)

        clock = _Clock()
        results = await asyncio.gather(*(one(m) for m in ids))
        return clock.sample(len(results))
