"""The offset pager: ordered prefetch, limits, ceilings and early exits that cancel work."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest

from asyncmailstats import Page, Paginator, RetryPolicy
from asyncmailstats._http import Response
from asyncmailstats._paging import check_paging, offset_pages, offset_paginator
from asyncmailstats.exceptions import ResultWindowError, ServerError
from asyncmailstats.testing import instant_retries

pytestmark = pytest.mark.usefixtures("no_leaked_tasks")


class Source:
    """A paged result ``range(total)`` that records every fetch.

    ``hold_after`` makes fetches of any offset at or beyond it wait until ``release``
    is set (or they are cancelled, which is recorded). ``delay_turns`` makes a fetch
    take that many loop turns, so later pages can finish before earlier ones.
    """

    def __init__(self, total: int, *, hold_after: int | None = None) -> None:
        self.total = total
        self.hold_after = hold_after
        self.release = asyncio.Event()
        self.calls: list[tuple[int, int]] = []
        self.started: list[int] = []
        self.cancelled: list[int] = []
        self.finished: list[int] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.delay_turns: dict[int, int] = {}

    async def fetch(self, offset: int, count: int) -> tuple[Sequence[int], int]:
        self.calls.append((offset, count))
        self.started.append(offset)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.hold_after is not None and offset >= self.hold_after:
                await self.release.wait()
            for _ in range(self.delay_turns.get(offset, 0)):
                await asyncio.sleep(0)
        except asyncio.CancelledError:
            self.cancelled.append(offset)
            raise
        finally:
            self.in_flight -= 1
        self.finished.append(offset)
        return list(range(offset, min(offset + count, self.total))), self.total

    def paginator(self, **options: object) -> Paginator[int]:
        options.setdefault("limit", None)
        options.setdefault("page_size", 10)
        options.setdefault("max_page_size", 100)
        options.setdefault("prefetch", 4)
        return offset_paginator(self.fetch, **options)  # type: ignore[arg-type]


async def test_prefetch_yields_pages_in_order_with_bounded_window() -> None:
    """Pages finishing out of order are yielded in order; at most `prefetch` are in flight."""
    source = Source(200)
    for n, offset in enumerate(range(10, 200, 10)):
        source.delay_turns[offset] = 40 - 2 * (n % 5)  # later pages of a window finish first
    pages = [page async for page in source.paginator(prefetch=4).pages()]
    assert [page.offset for page in pages] == list(range(0, 200, 10))
    assert [item for page in pages for item in page.items] == list(range(200))
    assert all(page.total == 200 for page in pages)
    assert source.max_in_flight == 4
    assert source.finished != sorted(source.finished), "the pages should finish out of order"


async def test_prefetch_one_is_strictly_sequential() -> None:
    """With prefetch=1 only one page request is in flight at any time."""
    source = Source(55)
    items = [item async for item in source.paginator(prefetch=1)]
    assert items == list(range(55))
    assert source.max_in_flight == 1
    assert source.calls == [(0, 10), (10, 10), (20, 10), (30, 10), (40, 10), (50, 5)]


async def test_break_after_first_item_leaves_nothing_running(settle) -> None:
    """Breaking after one item cancels the window and requests no page beyond it."""
    source = Source(10_000)
    baseline = set(asyncio.all_tasks())
    async for item in source.paginator(prefetch=3):
        assert item == 0
        break
    await settle()
    current = asyncio.current_task()
    pending = [t for t in asyncio.all_tasks() if t not in baseline and t is not current]
    assert not [t for t in pending if not t.done()]
    assert max(source.started) < 10 * (1 + 3)
    assert source.started == [0]  # the window never got to run before the break
    assert source.in_flight == 0


async def test_break_with_requests_in_flight_cancels_them(settle) -> None:
    """Breaking while later pages are being fetched cancels those requests."""
    source = Source(1000, hold_after=10)
    async for item in source.paginator(prefetch=3):
        await settle()  # let the prefetched page requests start
        assert sorted(source.started) == [0, 10, 20, 30]
        assert item == 0
        break
    await settle()
    assert sorted(source.cancelled) == [10, 20, 30]
    assert source.in_flight == 0
    assert max(source.started) == 30


async def test_aclose_cancels_in_flight_pages(settle) -> None:
    """aclose() on a page iterator cancels every page request it has in flight."""
    source = Source(1000, hold_after=10)
    pages = source.paginator(prefetch=2).pages()
    first = await anext(pages)
    assert first.offset == 0
    await settle()
    assert sorted(source.started) == [0, 10, 20]
    await pages.aclose()
    assert sorted(source.cancelled) == [10, 20]  # done by the time aclose() returns
    assert source.in_flight == 0
    with pytest.raises(StopAsyncIteration):
        await anext(pages)
    assert len(source.started) == 3


async def test_paginator_aclose_closes_its_open_iterations(settle) -> None:
    """Paginator.aclose() closes every iteration of it still open."""
    source = Source(1000, hold_after=10)
    paginator = source.paginator(prefetch=2)
    items = aiter(paginator)
    assert await anext(items) == 0
    await settle()
    await paginator.aclose()
    assert sorted(source.cancelled) == [10, 20]
    with pytest.raises(StopAsyncIteration):
        await anext(items)


async def test_async_with_cancels_in_flight_pages(settle) -> None:
    """Leaving ``async with paginator`` cancels the page requests of its iterations."""
    source = Source(1000, hold_after=10)
    async with source.paginator(prefetch=3) as paginator:
        items = aiter(paginator)
        assert await anext(items) == 0
        await settle()
        assert sorted(source.started) == [0, 10, 20, 30]
    assert sorted(source.cancelled) == [10, 20, 30]
    assert source.in_flight == 0


async def test_async_with_exit_waits_for_pages_cancelled_by_a_break(settle) -> None:
    """After a break inside ``async with paginator``, every page request is over at exit."""
    source = Source(1000, hold_after=10)
    async with source.paginator(prefetch=3) as paginator:
        async for item in paginator:
            await settle()
            assert sorted(source.started) == [0, 10, 20, 30]
            assert item == 0
            break
    assert source.in_flight == 0
    assert sorted(source.cancelled) == [10, 20, 30]


async def test_async_with_exit_closes_a_composed_source_left_by_a_break(settle) -> None:
    """A page source written as an async generator is closed, and waited for, at exit."""
    source = Source(1000, hold_after=10)
    closed: list[bool] = []

    async def composed(limit: int | None) -> AsyncIterator[Page[int]]:
        pages = offset_pages(source.fetch, page_size=10, prefetch=2, limit=limit)
        try:
            async for page in pages:
                yield page
        finally:
            await pages.aclose()
            closed.append(True)

    async with Paginator(composed) as paginator:  # type: ignore[arg-type]
        async for _ in paginator:
            await settle()
            break
    assert closed == [True]
    assert source.in_flight == 0
    assert sorted(source.cancelled) == [10, 20]


async def test_exception_in_the_loop_cancels_in_flight_pages(settle) -> None:
    """An exception escaping the consumer's loop cancels the page requests in flight."""
    source = Source(1000, hold_after=10)
    with pytest.raises(LookupError):
        async for _ in source.paginator(prefetch=3):
            await settle()
            raise LookupError
    await settle()
    assert sorted(source.cancelled) == [10, 20, 30]
    assert source.in_flight == 0


async def test_cancelling_the_consumer_cancels_in_flight_pages(kit) -> None:
    """Cancelling the task that iterates cancels the page it waits for and the window."""
    source = Source(1000, hold_after=10)
    seen: list[int] = []

    async def consume() -> None:
        async for item in source.paginator(prefetch=3):
            seen.append(item)

    task = asyncio.create_task(consume())
    await kit.until(lambda: len(source.started) == 4 and len(seen) == 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await kit.until(lambda: source.in_flight == 0)
    assert sorted(source.cancelled) == [10, 20, 30]
    assert seen == list(range(10))


async def test_fetch_error_cancels_the_rest_of_the_window(kit) -> None:
    """A page that fails raises to the consumer and cancels the pages after it."""
    source = Source(1000, hold_after=20)

    async def fetch(offset: int, count: int) -> tuple[Sequence[int], int]:
        if offset == 10:
            await kit.until(lambda: len(source.started) == 3)  # pages 0, 20 and 30
            raise ServerError("boom", provider="test", status=500)
        return await source.fetch(offset, count)

    paginator = offset_paginator(fetch, limit=None, page_size=10, max_page_size=10, prefetch=3)
    seen: list[int] = []
    with pytest.raises(ServerError):
        async for item in paginator:
            seen.append(item)
    await kit.until(lambda: source.in_flight == 0)
    assert seen == list(range(10))
    assert sorted(source.cancelled) == [20, 30]


@pytest.mark.parametrize(
    ("limit", "expected_calls"),
    [
        (0, []),
        (1, [(0, 1)]),
        (10, [(0, 10)]),
        (25, [(0, 10), (10, 10), (20, 5)]),
        (47, [(0, 10), (10, 10), (20, 10), (30, 10), (40, 7)]),
        (100, [(0, 10), (10, 10), (20, 10), (30, 10), (40, 10)]),
        (None, [(0, 10), (10, 10), (20, 10), (30, 10), (40, 10)]),
    ],
)
async def test_limit_caps_items_and_requests(limit, expected_calls) -> None:
    """``limit`` caps the items yielded and no page beyond it is requested."""
    source = Source(50)
    items = await source.paginator(limit=limit).to_list()
    assert items == list(range(min(50, 50 if limit is None else limit)))
    assert sorted(source.calls) == expected_calls


async def test_limit_applies_to_pages_too() -> None:
    """The pages of a limited stream stop at the limit, the last one cut short."""
    source = Source(50)
    pages = [page async for page in source.paginator(limit=15, page_size=10).pages()]
    assert [len(page.items) for page in pages] == [10, 5]


async def test_page_size_defaults_to_the_maximum() -> None:
    """Without page_size, pages are requested at max_page_size."""
    source = Source(250)
    await source.paginator(page_size=None, max_page_size=100, prefetch=1).to_list()
    assert source.calls == [(0, 100), (100, 100), (200, 50)]


async def test_first_page_sends_exactly_one_request(settle) -> None:
    """first_page() returns page one and cancels the prefetched requests before they run."""
    source = Source(95)
    page = await source.paginator(prefetch=4).first_page()
    assert page == Page(tuple(range(10)), 0, 95)
    await settle()
    assert source.calls == [(0, 10)]


async def test_first_page_of_an_empty_result() -> None:
    """first_page() of an empty result is an empty page with total 0."""
    source = Source(0)
    page = await source.paginator().first_page()
    assert page == Page((), 0, 0)
    assert source.calls == [(0, 10)]


async def test_first_page_with_limit_zero_sends_nothing() -> None:
    """first_page() with limit=0 returns an empty page without a request."""
    source = Source(10)
    assert await source.paginator(limit=0).first_page() == Page((), 0, 0)
    assert source.calls == []


async def test_to_list_and_repeated_iteration() -> None:
    """to_list() returns every item; each iteration of a paginator starts over."""
    source = Source(33)
    paginator = source.paginator()
    assert await paginator.to_list() == list(range(33))
    assert [item async for item in paginator] == list(range(33))
    assert source.calls.count((0, 10)) == 2


async def test_nothing_is_requested_before_iteration() -> None:
    """Creating a paginator sends nothing."""
    source = Source(33)
    source.paginator()
    await asyncio.sleep(0)
    assert source.calls == []


async def test_ceiling_raises_result_window_error_after_the_reachable_items() -> None:
    """Past the offset ceiling the stream yields what it can, then ResultWindowError."""
    source = Source(120)
    seen: list[int] = []
    with pytest.raises(ResultWindowError) as caught:
        async for item in source.paginator(ceiling=50, narrow_hint="narrow the dates"):
            seen.append(item)
    assert seen == list(range(50))
    assert (caught.value.total, caught.value.ceiling) == (120, 50)
    assert "120" in str(caught.value)
    assert "narrow the dates" in str(caught.value)
    assert all(offset + count <= 50 for offset, count in source.calls)


@pytest.mark.parametrize("limit", [1, 49, 50])
async def test_limit_reached_before_the_ceiling_is_not_an_error(limit) -> None:
    """A limit reached at or before the ceiling ends the stream normally."""
    source = Source(120)
    assert await source.paginator(ceiling=50, limit=limit).to_list() == list(range(limit))


async def test_limit_beyond_the_ceiling_still_raises() -> None:
    """A limit the ceiling prevents from being reached raises ResultWindowError."""
    source = Source(120)
    with pytest.raises(ResultWindowError) as caught:
        await source.paginator(ceiling=50, limit=60).to_list()
    assert caught.value.total == 120


async def test_total_within_the_ceiling_is_fine() -> None:
    """A result no larger than the ceiling streams completely."""
    source = Source(50)
    assert await source.paginator(ceiling=50).to_list() == list(range(50))


async def test_ceiling_smaller_than_a_page_shrinks_the_request() -> None:
    """The first request never asks past the ceiling."""
    source = Source(500)
    with pytest.raises(ResultWindowError):
        await source.paginator(ceiling=5, page_size=10).to_list()
    assert source.calls == [(0, 5)]


async def test_a_short_page_before_the_total_is_not_the_end() -> None:
    """A page shorter than asked while the total says more: paging goes on from its end."""
    source = Source(200)

    async def fetch(offset: int, count: int) -> tuple[Sequence[int], int]:
        items, _ = await source.fetch(offset, count)
        return (items[:3] if offset == 20 else items), 200

    stream = offset_paginator(fetch, limit=None, page_size=10, max_page_size=10, prefetch=2)
    assert await stream.to_list() == list(range(200))
    assert (23, 10) in source.calls, "the page after the short one starts where it stopped"


async def test_a_shrunk_total_ends_the_stream_without_error() -> None:
    """A page that reaches the total its own reply reports ends the stream there."""
    source = Source(200)

    async def fetch(offset: int, count: int) -> tuple[Sequence[int], int]:
        items, _ = await source.fetch(offset, count)
        return (items[:3], 23) if offset == 20 else (items, 200)

    stream = offset_paginator(fetch, limit=None, page_size=10, max_page_size=10, prefetch=2)
    assert await stream.to_list() == [*range(20), 20, 21, 22]


async def test_offset_pages_can_be_composed_and_closed(settle) -> None:
    """offset_pages() is the same page stream without the Paginator; it closes on aclose()."""
    source = Source(100, hold_after=10)
    pages = offset_pages(source.fetch, page_size=10, prefetch=2, limit=None)
    assert (await anext(pages)).offset == 0
    await settle()
    await pages.aclose()
    assert sorted(source.cancelled) == [10, 20]


async def test_pages_through_the_client_with_retries(session, memory_transport, kit) -> None:
    """A stream over a real client retries a failed page and yields every item once, in order."""
    endpoint = kit.ItemsEndpoint(95)
    endpoint.faults[30] = [Response(503, {}, b"busy"), Response(429, {}, b"slow")]
    memory_transport.handler = endpoint
    client = kit.make_client(session, retry=RetryPolicy(max_attempts=3))
    stream = offset_paginator(
        kit.items_fetch(client), limit=None, page_size=10, max_page_size=20, prefetch=3
    )
    with instant_retries():
        items = await stream.to_list()
    assert items == list(range(95))
    offsets = [int(dict(r.params)["offset"]) for r in memory_transport.requests]
    assert offsets.count(30) == 3
    assert sorted(set(offsets)) == list(range(0, 95, 10))
    stats = session.statistics()
    assert (stats.requests, stats.retries, stats.rate_limited) == (12, 2, 1)
    assert memory_transport.max_in_flight <= 3


@pytest.mark.parametrize(
    ("limit", "page_size", "prefetch", "error"),
    [
        (-1, None, 4, ValueError),
        (None, 0, 4, ValueError),
        (None, 101, 4, ValueError),
        (None, None, 0, ValueError),
        (None, None, -3, ValueError),
        (1.5, None, 4, TypeError),
        (None, "10", 4, TypeError),
        (None, None, True, TypeError),
        (True, None, 4, TypeError),
    ],
)
def test_bad_paging_arguments_fail_at_the_call(limit, page_size, prefetch, error) -> None:
    """Bad limit, page_size or prefetch raise when the paginator is created."""
    source = Source(10)
    with pytest.raises(error):
        source.paginator(limit=limit, page_size=page_size, prefetch=prefetch)
    assert source.calls == []


def test_check_paging_resolves_the_page_size() -> None:
    """check_paging() returns the page size to use."""
    assert check_paging(None, None, 500, 4) == 500
    assert check_paging(10, 7, 500, 1) == 7
    assert check_paging(0, 500, 500, 1) == 500
